/* The serial-port hub: the channel on which write_shim.so, in the host
 * process, announces the length of each write() (so the pty byte stream can
 * be cut back into USB transfers), and the testbed's /sys/class/tty. */
#define _GNU_SOURCE
#include "tty_internal.h"

#include "write_shim.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static emu_tty_t *tty_by_rdev(tty_hub_t *h, uint32_t maj, uint32_t min)
{
    if (maj < 136 || maj > 143)
        return NULL;
    int pts = (int)((maj - 136) * 256 + min);
    for (guint i = 0; i < h->ttys->len; i++) {
        emu_tty_t *t = g_ptr_array_index(h->ttys, i);
        if (!t->gone && t->pts == pts)
            return t;
    }
    return NULL; /* some other pty of the host (a terminal), or a port already gone */
}

static void handle_msg(tty_hub_t *h, int conn, const omvemu_shim_msg_t *m)
{
    emu_tty_t *t = tty_by_rdev(h, m->rdev_major, m->rdev_minor);
    if (!t || m->magic != OMVEMU_SHIM_MAGIC)
        return;
    if (m->kind == OMVEMU_SHIM_BEGIN) {
        xfer_entry_t *e = g_new0(xfer_entry_t, 1);
        e->conn = conn;
        e->len = m->len;
        g_queue_push_tail(&t->entries, e);
    } else if (m->kind == OMVEMU_SHIM_END) {
        for (GList *l = t->entries.head; l; l = l->next) {
            xfer_entry_t *e = l->data;
            if (e->conn == conn && !e->final) {
                if (m->len != e->len)
                    TLOG(t, "host write of %llu bytes took only %llu",
                         (unsigned long long)e->len, (unsigned long long)m->len);
                e->len = m->len;
                e->final = true;
                break;
            }
        }
    }
}

static void conn_close(shim_conn_t *c)
{
    tty_hub_t *h = c->hub;
    /* A writer that died between BEGIN and END: take what arrived. */
    for (guint i = 0; i < h->ttys->len; i++) {
        emu_tty_t *t = g_ptr_array_index(h->ttys, i);
        for (GList *l = t->entries.head; l; l = l->next) {
            xfer_entry_t *e = l->data;
            if (e->conn == c->fd && !e->final) {
                e->final = true;
                if (e->len > t->rx->len)
                    e->len = t->rx->len;
            }
            if (e->conn == c->fd)
                e->conn = -1;
        }
    }
    if (c->watch)
        g_source_remove(c->watch);
    raw_close(c->fd);
    g_ptr_array_remove(h->conns, c);
    g_free(c);
}

/* Reads every queued message of one connection; false if it closed. */
static bool conn_drain(shim_conn_t *c)
{
    for (;;) {
        omvemu_shim_msg_t m;
        ssize_t n = recv(c->fd, &m, sizeof(m), MSG_DONTWAIT);
        if (n == (ssize_t)sizeof(m)) {
            handle_msg(c->hub, c->fd, &m);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        return false; /* 0 = peer closed; short or error: drop the connection */
    }
}

static void process_all(tty_hub_t *h)
{
    for (guint i = 0; i < h->ttys->len; i++) {
        emu_tty_t *t = g_ptr_array_index(h->ttys, i);
        if (!t->gone)
            tty_process(t);
    }
}

static gboolean conn_ready(gint fd, GIOCondition cond, gpointer p)
{
    (void)fd;
    (void)cond;
    shim_conn_t *c = p;
    tty_hub_t *h = c->hub;
    if (!conn_drain(c)) {
        c->watch = 0;
        conn_close(c);
        process_all(h);
        return G_SOURCE_REMOVE;
    }
    process_all(h);
    return G_SOURCE_CONTINUE;
}

static void accept_all(tty_hub_t *h)
{
    for (;;) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        shim_conn_t *c = g_new0(shim_conn_t, 1);
        c->fd = fd;
        c->hub = h;
        c->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, conn_ready, c);
        g_ptr_array_add(h->conns, c);
    }
}

/* Everything the shim has sent so far, in order per connection. The shim
 * sends BEGIN before the bytes reach the pty, so after this every byte in a
 * port's rx buffer has its length announced (unless the writer has no shim). */
void tty_hub_drain(tty_hub_t *h)
{
    accept_all(h);
    for (guint i = 0; i < h->conns->len;) {
        shim_conn_t *c = g_ptr_array_index(h->conns, i);
        if (!conn_drain(c))
            conn_close(c);
        else
            i++;
    }
}

static gboolean listen_ready(gint fd, GIOCondition cond, gpointer p)
{
    (void)fd;
    (void)cond;
    tty_hub_t *h = p;
    accept_all(h);
    return G_SOURCE_CONTINUE;
}

/* A real /sys/class/tty is never empty: there are always virtual consoles.
 * umockdev removes the directory together with its last device, and
 * libserialport's sp_list_ports() then fails with ENOENT instead of listing
 * nothing; a host polling for a re-enumerating camera would see an error.
 * So keep a virtual tty0 there, as on a real system (libserialport skips
 * links whose target contains "virtual"). */
void tty_hub_ensure_class_tty(tty_hub_t *h)
{
    char *dir = g_build_filename(h->tb->root, "sys", "class", "tty", NULL);
    char *vdir = g_build_filename(h->tb->root, "sys", "devices", "virtual", "tty", "tty0", NULL);
    char *link = g_build_filename(dir, "tty0", NULL);
    g_mkdir_with_parents(dir, 0755);
    g_mkdir_with_parents(vdir, 0755);
    if (!g_file_test(link, G_FILE_TEST_IS_SYMLINK) &&
        symlink("../../devices/virtual/tty/tty0", link) != 0)
        fprintf(stderr, "omvemu: %s: %s\n", link, strerror(errno));
    g_free(link);
    g_free(vdir);
    g_free(dir);
}

tty_hub_t *tty_hub_new(emu_testbed_t *tb, bool verbose)
{
    tty_hub_t *h = g_new0(tty_hub_t, 1);
    h->tb = tb;
    h->verbose = verbose;
    h->conns = g_ptr_array_new();
    h->ttys = g_ptr_array_new();
    h->next_devnum = 20; /* DFU cameras use 002..009 */
    h->listen_fd = -1;
    /* Inside the testbed root: removed with it on every exit path. */
    h->sock_path = g_build_filename(tb->root, "omvemu-write.sock", NULL);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(h->sock_path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "omvemu: socket path too long: %s (use a shorter $TMPDIR)\n",
                h->sock_path);
        tty_hub_free(h);
        return NULL;
    }
    strcpy(sa.sun_path, h->sock_path);
    h->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (h->listen_fd < 0 || bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(h->listen_fd, 64) < 0) {
        fprintf(stderr, "omvemu: write-shim socket %s: %s\n", h->sock_path, strerror(errno));
        tty_hub_free(h);
        return NULL;
    }
    h->listen_watch = g_unix_fd_add(h->listen_fd, G_IO_IN, listen_ready, h);
    tty_hub_ensure_class_tty(h);
    return h;
}

const char *tty_hub_sock_path(const tty_hub_t *h)
{
    return h->sock_path;
}

tty_stats_t tty_hub_stats(const tty_hub_t *h)
{
    return h->stats;
}

void tty_hub_free(tty_hub_t *h)
{
    if (!h)
        return;
    while (h->conns && h->conns->len)
        conn_close(g_ptr_array_index(h->conns, 0));
    if (h->ttys) {
        for (guint i = 0; i < h->ttys->len; i++)
            tty_free(g_ptr_array_index(h->ttys, i));
        g_ptr_array_free(h->ttys, TRUE);
    }
    if (h->conns)
        g_ptr_array_free(h->conns, TRUE);
    if (h->listen_watch)
        g_source_remove(h->listen_watch);
    if (h->listen_fd >= 0) {
        raw_close(h->listen_fd);
        g_unlink(h->sock_path);
    }
    g_free(h->sock_path);
    g_free(h);
}
