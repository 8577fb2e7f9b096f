/* Emulated USB CDC-ACM serial ports (see tty_device.h): the data path from
 * the host's writes to the camera model and back, the modem-control ioctls
 * a pty lacks, and a port appearing on and leaving the testbed. */
#define _GNU_SOURCE
#include "tty_internal.h"

#include "write_shim.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* <asm/termbits.h> (termios2) and <termios.h> cannot be included together;
 * the TIOCM_* bits come from <asm/termbits.h> via <asm/termios.h> users. */
#ifndef TIOCM_DTR
#define TIOCM_DTR 0x002
#define TIOCM_RTS 0x004
#define TIOCM_CTS 0x020
#define TIOCM_CAR 0x040
#define TIOCM_DSR 0x100
#endif

/* ---- data path --------------------------------------------------------------- */

static void deliver(emu_tty_t *t, size_t len)
{
    uint8_t *copy = g_memdup2(t->rx->data, len);
    g_byte_array_remove_range(t->rx, 0, (guint)len);
    t->hub->stats.transfers++;
    t->hub->stats.bytes += len;
    if (t->fn)
        t->fn(t, copy, len, t->user); /* may remove t: nothing of t used after this */
    g_free(copy);
}

void tty_process(emu_tty_t *t)
{
    while (!t->gone) {
        xfer_entry_t *e = g_queue_peek_head(&t->entries);
        if (!e) {
            if (!t->rx->len)
                return;
            /* Bytes nobody announced: the writer runs without write_shim.so
             * (static binary, or a path the shim does not wrap). */
            if (!t->warned_unframed)
                legacy_log(t->tag, true,
                           "WARNING: %u bytes arrived without a write-length report from "
                           "write_shim.so; treating each read() chunk as one transfer",
                           t->rx->len);
            t->warned_unframed = true;
            t->hub->stats.unframed_bytes += t->rx->len;
            deliver(t, t->rx->len);
            continue;
        }
        if (!e->final || e->len > t->rx->len)
            return; /* the write is still in progress, or its bytes are on the way */
        g_queue_pop_head(&t->entries);
        size_t len = (size_t)e->len;
        g_free(e);
        if (len)
            deliver(t, len);
    }
}

static gboolean master_ready(gint fd, GIOCondition cond, gpointer p)
{
    (void)cond;
    emu_tty_t *t = p;
    uint8_t buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        g_byte_array_append(t->rx, buf, (guint)n);
        tty_hub_drain(t->hub);
        tty_process(t);
        return G_SOURCE_CONTINUE;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    /* EIO: no process has the slave open (the host closed the port). The
     * master polls readable/HUP until someone opens it again: back off. */
    g_usleep(2000);
    return G_SOURCE_CONTINUE;
}

void tty_send(emu_tty_t *t, const uint8_t *data, size_t len)
{
    if (t->gone)
        return;
    while (len) {
        ssize_t n = write(t->master, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            TLOG(t, "reply of %zu bytes lost: %s", len, n < 0 ? strerror(errno) : "?");
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

uint32_t tty_baud(emu_tty_t *t)
{
    /* On a pty master, TCGETS2 returns the slave's termios: what the host set. */
    struct termios2 t2;
    if (t->gone || raw_ioctl(t->master, TCGETS2, &t2) != 0)
        return 0;
    if ((t2.c_cflag & CBAUD) == BOTHER)
        return t2.c_ospeed;
    static const struct {
        unsigned code;
        uint32_t baud;
    } map[] = {{B9600, 9600},     {B19200, 19200},     {B38400, 38400},     {B57600, 57600},
               {B115200, 115200}, {B230400, 230400},   {B460800, 460800},   {B921600, 921600},
               {B1000000, 1000000}, {B2000000, 2000000}, {B4000000, 4000000}, {B1200, 1200}};
    for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
        if ((t2.c_cflag & CBAUD) == map[i].code)
            return map[i].baud;
    return t2.c_ospeed;
}

bool tty_dtr(emu_tty_t *t)
{
    g_mutex_lock(&t->lock);
    bool on = t->mlines & TIOCM_DTR;
    g_mutex_unlock(&t->lock);
    return on;
}

const char *tty_name(const emu_tty_t *t)
{
    return t->name;
}

/* ---- TIOCM* shim (umockdev worker thread) ------------------------------------ */

static gboolean tty_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    emu_tty_t *t = user;
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    if (req == TIOCMGET || req == TIOCMSET || req == TIOCMBIS || req == TIOCMBIC) {
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(int), NULL);
        if (!d) {
            umockdev_ioctl_client_complete(client, -1, EFAULT);
            return TRUE;
        }
        int bits;
        memcpy(&bits, d->data, sizeof(bits));
        g_mutex_lock(&t->lock);
        int old = t->mlines;
        if (req == TIOCMGET) {
            /* The device side presents CTS, DSR and carrier. */
            bits = t->mlines | TIOCM_CTS | TIOCM_DSR | TIOCM_CAR;
            memcpy(d->data, &bits, sizeof(bits));
        } else if (req == TIOCMSET)
            t->mlines = bits & (TIOCM_DTR | TIOCM_RTS);
        else if (req == TIOCMBIS)
            t->mlines |= bits & (TIOCM_DTR | TIOCM_RTS);
        else
            t->mlines &= ~(bits & (TIOCM_DTR | TIOCM_RTS));
        bool dtr_changed = (old ^ t->mlines) & TIOCM_DTR;
        if (dtr_changed)
            t->hub->stats.dtr_changes++;
        int now = t->mlines;
        g_mutex_unlock(&t->lock);
        g_object_unref(d);
        if (dtr_changed)
            TLOG(t, "%s: DTR %s", t->name, now & TIOCM_DTR ? "on" : "off");
        umockdev_ioctl_client_complete(client, 0, 0);
        return TRUE;
    }
    /* Everything else (TCGETS2/TCSETS2, flushes...) runs on the real pty. */
    int err = 0;
    GError *e = NULL;
    int res = umockdev_ioctl_client_execute(client, &err, &e);
    if (e) {
        g_clear_error(&e);
        res = -1;
        err = EIO;
    }
    g_mutex_lock(&t->lock);
    t->hub->stats.ioctls_passed++;
    g_mutex_unlock(&t->lock);
    umockdev_ioctl_client_complete(client, res, res < 0 ? err : 0);
    return TRUE;
}

/* ---- add / remove ------------------------------------------------------------ */

static char *cdc_descriptors_hex(const tty_usb_ids_t *ids)
{
    /* Device (class EF/02/01: IAD) + configuration with the CDC-ACM control
     * interface (notification EP 0x82) and the data interface (bulk 0x01 OUT,
     * 0x81 IN, 64-byte packets: full speed). */
    uint8_t d[18 + 75] = {
        18, 1, 0x00, 0x02, 0xEF, 0x02, 0x01, 64, (uint8_t)ids->vid, (uint8_t)(ids->vid >> 8),
        (uint8_t)ids->pid, (uint8_t)(ids->pid >> 8), (uint8_t)ids->bcd_device,
        (uint8_t)(ids->bcd_device >> 8), 1, 2, 3, 1,
        /* configuration */
        9, 2, 75, 0, 2, 1, 0, 0xC0, 50,
        8, 0x0B, 0, 2, 2, 2, 1, 0,                   /* IAD */
        9, 4, 0, 0, 1, 2, 2, 1, 0,                   /* interface 0: CDC ACM */
        5, 0x24, 0x00, 0x10, 0x01,                   /* header */
        5, 0x24, 0x01, 0x00, 0x01,                   /* call management */
        4, 0x24, 0x02, 0x02,                         /* ACM */
        5, 0x24, 0x06, 0x00, 0x01,                   /* union */
        7, 5, 0x82, 0x03, 8, 0, 16,                  /* notification EP */
        9, 4, 1, 0, 2, 0x0A, 0, 0, 0,                /* interface 1: data */
        7, 5, 0x01, 0x02, 64, 0, 0,                  /* bulk OUT */
        7, 5, 0x81, 0x02, 64, 0, 0,                  /* bulk IN */
    };
    GString *s = g_string_sized_new(sizeof(d) * 2);
    for (size_t i = 0; i < sizeof(d); i++)
        g_string_append_printf(s, "%02X", d[i]);
    return g_string_free(s, FALSE);
}

static emu_tty_t *tty_new(tty_hub_t *h, const tty_usb_ids_t *ids, const char *tag, tty_transfer_fn fn, void *user)
{
    emu_tty_t *t = g_new0(emu_tty_t, 1);
    t->hub = h;
    snprintf(t->tag, sizeof(t->tag), "%s", tag);
    g_mutex_init(&t->lock);
    g_queue_init(&t->entries);
    t->rx = g_byte_array_new();
    t->fn = fn;
    t->user = user;
    t->master = -1;
    t->held_slave = -1;
    t->pts = -1;
    /* umockdev cannot re-create a pty node under a name it used before (it
     * keeps the old master in its table), so every appearance gets a fresh
     * ttyACMn, and a fresh devnum as the kernel would give. */
    snprintf(t->name, sizeof(t->name), "ttyACM%u", h->next_acm++);
    snprintf(t->devnode, sizeof(t->devnode), "/dev/%s", t->name);
    t->devnum = h->next_devnum++;
    if (h->next_devnum > 127)
        h->next_devnum = 20;
    g_ptr_array_add(h->ttys, t);
    t->sys_usb = g_strdup_printf("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%u", ids->port);
    t->sys_if = g_strdup_printf("%s/1-%u:1.0", t->sys_usb, ids->port);
    t->sys_tty = g_strdup_printf("%s/tty/%s", t->sys_if, t->name);
    return t;
}

/* The usb_device, cdc_acm interface and ttyACMn records on the testbed. */
static bool add_sysfs(emu_tty_t *t, const tty_usb_ids_t *ids, GError **e)
{
    char *hex = cdc_descriptors_hex(ids);
    char *rec = g_strdup_printf(
        "P: %s\n"
        "N: bus/usb/001/%03u\n"
        "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
        "E: BUSNUM=001\nE: DEVNUM=%03u\nE: DEVNAME=/dev/bus/usb/001/%03u\n"
        "E: PRODUCT=%x/%x/%x\nE: ID_VENDOR_ID=%04x\nE: ID_MODEL_ID=%04x\nE: ID_SERIAL_SHORT=%s\n"
        "A: busnum=1\\n\nA: devnum=%u\\n\nA: speed=12\\n\nA: bConfigurationValue=1\\n\n"
        "A: bNumConfigurations=1\\n\nA: bNumInterfaces= 2\\n\nA: bDeviceClass=ef\\n\n"
        "A: idVendor=%04x\\n\nA: idProduct=%04x\\n\nA: bcdDevice=%04x\\n\n"
        "A: manufacturer=%s\\n\nA: product=%s\\n\nA: serial=%s\\n\nA: version= 2.00\\n\n"
        "H: descriptors=%s\n"
        "\n"
        "P: %s\n"
        "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=cdc_acm\nE: INTERFACE=2/2/1\n"
        "A: bInterfaceClass=02\\n\nA: bInterfaceSubClass=02\\n\nA: bInterfaceProtocol=01\\n\n"
        "A: bInterfaceNumber=00\\n\nA: bAlternateSetting= 0\\n\nA: bNumEndpoints=01\\n\n"
        "\n"
        "P: %s\n"
        "N: %s\n"
        "E: SUBSYSTEM=tty\nE: DEVNAME=%s\n",
        t->sys_usb + 4, t->devnum, t->devnum, t->devnum, ids->vid, ids->pid, ids->bcd_device,
        ids->vid, ids->pid, ids->serial, t->devnum, ids->vid, ids->pid, ids->bcd_device,
        ids->manufacturer, ids->product, ids->serial, hex, t->sys_if + 4, t->sys_tty + 4,
        t->name, t->devnode);
    bool ok = umockdev_testbed_add_from_string(t->hub->tb->tb, rec, e);
    g_free(rec);
    g_free(hex);
    return ok;
}

/* The pty master umockdev made for the node, non-blocking and watched. */
static bool open_master(emu_tty_t *t)
{
    t->master = umockdev_testbed_get_dev_fd(t->hub->tb->tb, t->devnode);
    int n = -1;
    if (t->master < 0 || raw_ioctl(t->master, TIOCGPTN, &n) != 0) {
        fprintf(stderr, "omvemu: %s has no pty master\n", t->name);
        return false;
    }
    t->pts = n;
    int fl = fcntl(t->master, F_GETFL);
    fcntl(t->master, F_SETFL, fl | O_NONBLOCK);
    /* COMMAND must not inherit the master: the port could never hang up. */
    fcntl(t->master, F_SETFD, fcntl(t->master, F_GETFD) | FD_CLOEXEC);
    t->watch = g_unix_fd_add(t->master, G_IO_IN, master_ready, t);
    return true;
}

emu_tty_t *tty_add(tty_hub_t *h, const tty_usb_ids_t *ids, const char *tag, bool hotplug,
                   tty_transfer_fn fn, void *user)
{
    emu_tty_t *t = tty_new(h, ids, tag, fn, user);
    t->handler = umockdev_ioctl_base_new();
    g_signal_connect(t->handler, "handle-ioctl", G_CALLBACK(tty_ioctl), t);
    GError *e = NULL;
    if (!umockdev_testbed_attach_ioctl(h->tb->tb, t->devnode, t->handler, &e)) {
        fprintf(stderr, "omvemu: cannot attach ioctl handler to %s: %s\n", t->devnode, e ? e->message : "?");
        g_clear_error(&e);
        t->gone = true;
        return NULL;
    }
    if (!add_sysfs(t, ids, &e)) {
        fprintf(stderr, "omvemu: cannot add %s: %s\n", t->name, e ? e->message : "?");
        g_clear_error(&e);
        umockdev_testbed_detach_ioctl(h->tb->tb, t->devnode, NULL);
        t->gone = true;
        return NULL;
    }
    /* The `device` link last: it is what makes libserialport report a USB
     * port, and umockdev creates /dev/ttyACMn only after the sysfs entries,
     * so a host polling sp_list_ports never finds a port it cannot open. */
    char *link = g_build_filename(h->tb->root, t->sys_tty, "device", NULL);
    char *target = g_strdup_printf("../../../1-%u:1.0", ids->port);
    if (symlink(target, link) != 0)
        fprintf(stderr, "omvemu: %s: %s\n", link, strerror(errno));
    g_free(link);
    g_free(target);
    if (!open_master(t)) {
        t->gone = true;
        return NULL;
    }
    h->stats.appearances++;
    if (hotplug) {
        umockdev_testbed_uevent(h->tb->tb, t->sys_usb, "add");
        umockdev_testbed_uevent(h->tb->tb, t->sys_if, "add");
        umockdev_testbed_uevent(h->tb->tb, t->sys_tty, "add");
    }
    TLOG(t, "appeared: %s (/dev/pts/%d) 001/%03u %04x:%04x serial %s \"%s\"%s", t->name, t->pts, t->devnum,
         ids->vid, ids->pid, ids->serial, ids->product, hotplug ? " (hot-plug)" : "");
    return t;
}

void tty_remove(emu_tty_t *t)
{
    if (!t || t->gone)
        return;
    tty_hub_t *h = t->hub;
    t->gone = true;
    if (t->watch) {
        g_source_remove(t->watch);
        t->watch = 0;
    }
    /* Hang up the host's open port as cdc_acm's disconnect does: close our
     * pty master (umockdev keeps the fd number and closes it at the end, so
     * put /dev/null in its place). */
    /* Hold the slave first: with both ends closed the kernel would free
     * /dev/pts/<pts>, another emulator (a test running in parallel) could get
     * the same number, and a host reopening this vanished port through its
     * testbed's stale mapping would reach that other camera. A hung-up pty
     * kept allocated refuses opens (EIO), as a vanished device does. */
    char slave[32];
    snprintf(slave, sizeof slave, "/dev/pts/%d", t->pts);
    t->held_slave = raw_open(slave, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    int devnull = raw_open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, t->master);
        raw_close(devnull);
    }
    umockdev_testbed_uevent(h->tb->tb, t->sys_tty, "remove");
    umockdev_testbed_uevent(h->tb->tb, t->sys_if, "remove");
    umockdev_testbed_uevent(h->tb->tb, t->sys_usb, "remove");
    umockdev_testbed_remove_device(h->tb->tb, t->sys_tty);
    umockdev_testbed_remove_device(h->tb->tb, t->sys_if);
    umockdev_testbed_remove_device(h->tb->tb, t->sys_usb);
    /* Nodes umockdev does not remove without a `dev` attribute. */
    char *node = g_build_filename(h->tb->root, "dev", t->name, NULL);
    g_unlink(node);
    g_free(node);
    node = g_strdup_printf("%s/dev/bus/usb/001/%03u", h->tb->root, t->devnum);
    g_unlink(node);
    g_free(node);
    umockdev_testbed_detach_ioctl(h->tb->tb, t->devnode, NULL);
    tty_hub_ensure_class_tty(h);
    while (!g_queue_is_empty(&t->entries))
        g_free(g_queue_pop_head(&t->entries));
    g_byte_array_set_size(t->rx, 0);
    TLOG(t, "removed: %s (remove uevents sent)", t->name);
}

void tty_free(emu_tty_t *t)
{
    if (t->watch)
        g_source_remove(t->watch);
    if (t->handler) {
        g_signal_handlers_disconnect_by_data(t->handler, t);
        g_object_unref(t->handler);
    }
    while (!g_queue_is_empty(&t->entries))
        g_free(g_queue_pop_head(&t->entries));
    g_byte_array_free(t->rx, TRUE);
    if (t->held_slave >= 0)
        raw_close(t->held_slave);
    g_mutex_clear(&t->lock);
    g_free(t->sys_usb);
    g_free(t->sys_if);
    g_free(t->sys_tty);
    g_free(t);
}
