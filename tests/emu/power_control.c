/* Port power control through a FIFO (see power_control.h). */
#define _GNU_SOURCE
#include "power_control.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CYCLE_MS 2000

struct power_ctl {
    char *dir, *path;
    int fd;
    guint watch;
    power_switch_fn fn;
    void *user;
    GString *pending;   /* bytes of an unfinished line */
    GSList *cycles;     /* power_on_t of cycles still off */
};

typedef struct {
    power_ctl_t *p;
    unsigned port;
    guint timer;
} power_on_t;

static void ignored(const char *verb, const char *port)
{
    fprintf(stderr, "omvemu: power: ignored '%s %s': expected off|on|cycle PORT [MS]\n", verb, port ? port : "");
}

static gboolean power_on_later(gpointer data)
{
    power_on_t *o = data;
    char err[256] = "";
    o->p->cycles = g_slist_remove(o->p->cycles, o);
    if (!o->p->fn(o->p->user, o->port, true, err, sizeof err))
        fprintf(stderr, "omvemu: power: %s\n", err);
    g_free(o);
    return G_SOURCE_REMOVE;
}

/* "1-3" or "3" -> 3 (the emulated cameras sit on bus 1's root ports). */
static bool parse_port(const char *s, unsigned *port)
{
    if (strncmp(s, "1-", 2) == 0)
        s += 2;
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 127)
        return false;
    *port = (unsigned)v;
    return true;
}

static void run_line(power_ctl_t *p, char *line)
{
    char *save = NULL, *verb = strtok_r(line, " \t\r", &save);
    char *port_s = verb ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *ms_s = port_s ? strtok_r(NULL, " \t\r", &save) : NULL;
    unsigned port;
    if (!verb)
        return;
    if (!port_s || !parse_port(port_s, &port) || strtok_r(NULL, " \t\r", &save)) {
        ignored(verb, port_s);
        return;
    }
    char err[256] = "";
    bool on = strcmp(verb, "on") == 0, cycle = strcmp(verb, "cycle") == 0;
    if (!on && !cycle && strcmp(verb, "off") != 0) {
        ignored(verb, port_s);
        return;
    }
    long ms = ms_s ? strtol(ms_s, NULL, 10) : DEFAULT_CYCLE_MS;
    if (!p->fn(p->user, port, on, err, sizeof err)) {
        fprintf(stderr, "omvemu: power: %s\n", err);
        return;
    }
    if (cycle) {
        power_on_t *o = g_new0(power_on_t, 1);
        o->p = p;
        o->port = port;
        o->timer = g_timeout_add((guint)(ms > 0 ? ms : 0), power_on_later, o);
        p->cycles = g_slist_prepend(p->cycles, o);
    }
}

static gboolean readable(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    power_ctl_t *p = data;
    char buf[512];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        g_string_append_len(p->pending, buf, n);
    char *nl;
    while ((nl = memchr(p->pending->str, '\n', p->pending->len))) {
        *nl = '\0';
        char *line = g_strdup(p->pending->str);
        g_string_erase(p->pending, 0, nl - p->pending->str + 1);
        run_line(p, line);
        g_free(line);
    }
    return G_SOURCE_CONTINUE;
}

power_ctl_t *power_ctl_new(power_switch_fn fn, void *user)
{
    power_ctl_t *p = g_new0(power_ctl_t, 1);
    p->fd = -1;
    p->fn = fn;
    p->user = user;
    p->pending = g_string_new(NULL);
    GError *ge = NULL;
    p->dir = g_dir_make_tmp("omvemu-power.XXXXXX", &ge);
    if (!p->dir) {
        fprintf(stderr, "omvemu: power control: %s\n", ge->message);
        g_error_free(ge);
        power_ctl_free(p);
        return NULL;
    }
    p->path = g_build_filename(p->dir, "power", NULL);
    /* O_RDWR: the FIFO always has a writer (us), so writers that come and go
     * never make it report end-of-file. */
    if (mkfifo(p->path, 0600) != 0 || (p->fd = open(p->path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
        fprintf(stderr, "omvemu: power control %s: %s\n", p->path, strerror(errno));
        power_ctl_free(p);
        return NULL;
    }
    p->watch = g_unix_fd_add(p->fd, G_IO_IN, readable, p);
    return p;
}

const char *power_ctl_path(const power_ctl_t *p)
{
    return p->path;
}

void power_ctl_free(power_ctl_t *p)
{
    if (!p)
        return;
    if (p->watch)
        g_source_remove(p->watch);
    for (GSList *l = p->cycles; l; l = l->next) {
        g_source_remove(((power_on_t *)l->data)->timer);
        g_free(l->data);
    }
    g_slist_free(p->cycles);
    if (p->fd >= 0)
        close(p->fd);
    if (p->path)
        unlink(p->path);
    if (p->dir)
        rmdir(p->dir);
    g_free(p->path);
    g_free(p->dir);
    g_string_free(p->pending, TRUE);
    g_free(p);
}
