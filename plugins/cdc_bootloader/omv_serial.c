/*
 * USB CDC-ACM serial ports through libserialport (see omv_serial.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "omv_serial.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libserialport.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* "1-2" for /dev/ttyACM0 from the sysfs link /sys/class/tty/ttyACM0/device
 * -> ../../../1-2:1.0 (the CDC interface; the device is the part before ':'). */
static void port_path_of(const char *dev_name, char *out, size_t cap)
{
    out[0] = '\0';
    const char *base = strrchr(dev_name, '/');
    base = base ? base + 1 : dev_name;
    char link[512], target[512];
    snprintf(link, sizeof link, "/sys/class/tty/%s/device", base);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    const char *last = strrchr(target, '/');
    last = last ? last + 1 : target;
    size_t k = strcspn(last, ":");
    if (k == 0 || k >= cap)
        return;
    memcpy(out, last, k);
    out[k] = '\0';
}

static int id_matches(const struct omv_match *m, int vid, int pid)
{
    for (size_t i = 0; i < m->n_ids; i++)
        if (m->ids[i].vid == vid && m->ids[i].pid == pid)
            return 1;
    return 0;
}

/*
 * Ports are enumerated here, not with sp_list_ports(): in libserialport 0.1.1
 * (Debian 12) a port that vanishes between the readdir() of /sys/class/tty
 * and the lookup of its details makes list_ports() check the wrong pointer
 * (fixed upstream after 0.1.1, commit 0c3f38b "do check on proper pointer"):
 * sp_list_ports() then returns SP_OK with a NULL list when that port was the
 * last one, or dereferences NULL itself on the next port. Ports vanish
 * exactly when cameras reset into or out of their bootloader, and --watch
 * lists every 100 ms. Even the fixed version fails the whole listing
 * ("List append failed") for one vanished port. So walk /sys/class/tty here
 * and ask libserialport about one port at a time: sp_get_port_by_name()
 * fails cleanly for a port that is gone, which simply skips it.
 */
#define SYS_CLASS_TTY "/sys/class/tty"

/* Is /sys/class/tty/ENTRY a USB port (its device path goes through a USB
 * bus node, the test libserialport itself makes)? 0 for other ttys (virtual
 * consoles, 8250 UARTs) and for entries that vanished meanwhile. */
static int is_usb_tty(const char *entry)
{
    char path[512], target[512];
    struct stat st;
    snprintf(path, sizeof path, SYS_CLASS_TTY "/%s", entry);
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISLNK(st.st_mode)) /* old sysfs layout: a directory with a device link */
        snprintf(path, sizeof path, SYS_CLASS_TTY "/%s/device", entry);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strstr(target, "usb") != NULL;
}

/* Fill @p sp from libserialport's view of /dev/ENTRY. 1 = a USB port with
 * one of the match's ids, 0 = not wanted or gone, -1 = out of memory. */
static int read_port(const char *entry, const struct omv_match *match, struct omv_serial_port *sp)
{
    char name[sizeof sp->name];
    int k = snprintf(name, sizeof name, "/dev/%s", entry);
    if (k < 0 || (size_t)k >= sizeof name)
        return 0; /* not a name a CDC-ACM port has */
    struct sp_port *p = NULL;
    enum sp_return r = sp_get_port_by_name(name, &p);
    if (r == SP_ERR_MEM)
        return -1;
    if (r != SP_OK)
        return 0; /* the port vanished between the readdir() and now */
    int vid = 0, pid = 0;
    int ok = sp_get_port_transport(p) == SP_TRANSPORT_USB && sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK &&
             id_matches(match, vid, pid);
    /* libserialport reads the USB attributes one file at a time and leaves
     * the serial NULL when its file is gone by then: the device is being
     * removed (a camera leaving its bootloader). Every OpenMV camera, in its
     * bootloader or its application, has a serial number, and the serial is
     * what tells the legacy bootloader from an application on 1209:ABD1, so
     * such a half-removed port must not be taken for anything. */
    const char *serial = ok ? sp_get_port_usb_serial(p) : NULL;
    if (ok && serial) {
        memset(sp, 0, sizeof *sp);
        memcpy(sp->name, name, sizeof sp->name);
        sp->info.vid = (uint16_t)vid;
        sp->info.pid = (uint16_t)pid;
        copy_str(sp->info.serial, sizeof sp->info.serial, serial);
        copy_str(sp->info.manufacturer, sizeof sp->info.manufacturer, sp_get_port_usb_manufacturer(p));
        copy_str(sp->info.product, sizeof sp->info.product, sp_get_port_usb_product(p));
        port_path_of(sp->name, sp->info.port_path, sizeof sp->info.port_path);
    }
    sp_free_port(p);
    return ok && serial;
}

omv_status omv_serial_list(const struct omv_match *match, omv_serial_keep_fn keep, void *user,
                           struct omv_serial_port *out, size_t max, size_t *count, omv_error *err)
{
    *count = 0;
    DIR *dir = opendir(SYS_CLASS_TTY);
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR)
            return OMV_OK; /* no tty at all (containers): nothing to list */
        return omv_error_set(err, OMV_E_IO, "cannot list serial ports: %s: %s", SYS_CLASS_TTY, strerror(errno));
    }
    omv_status st = OMV_OK;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.' || !is_usb_tty(e->d_name))
            continue;
        struct omv_serial_port sp;
        int r = read_port(e->d_name, match, &sp);
        if (r < 0) {
            st = omv_error_set(err, OMV_E_NOMEM, "out of memory listing serial ports");
            break;
        }
        if (r == 0)
            continue;
        if (match->serial && strcmp(match->serial, sp.info.serial) != 0)
            continue;
        if (match->port_path && strcmp(match->port_path, sp.info.port_path) != 0)
            continue;
        if (keep && !keep(user, &sp.info))
            continue;
        if (*count < max)
            out[*count] = sp;
        (*count)++;
    }
    closedir(dir);
    return st;
}

void omv_serial_describe(const struct omv_serial_port *ports, size_t n, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++) {
        int k = snprintf(buf + off, cap - off, "%sserial %s at port %s (%s)", i ? ", " : "",
                         ports[i].info.serial[0] ? ports[i].info.serial : "(none)",
                         ports[i].info.port_path[0] ? ports[i].info.port_path : "?", ports[i].name);
        if (k < 0)
            break;
        off += (size_t)k;
    }
}

/* errno values that mean the port itself went away (the device left its
 * bootloader or was unplugged between listing and opening/configuring it):
 * "not there", so a caller polling for a device simply tries again. */
static int port_gone(int e)
{
    return e == ENOENT || e == ENODEV || e == ENXIO || e == EIO;
}

omv_status omv_serial_open(const char *name, uint32_t baud, struct sp_port **out, omv_error *err)
{
    struct sp_port *p = NULL;
    *out = NULL;
    if (sp_get_port_by_name(name, &p) != SP_OK)
        return omv_error_set(err, OMV_E_NO_DEVICE, "%s: port is gone", name);
    if (sp_open(p, SP_MODE_READ_WRITE) != SP_OK) {
        int e = errno;
        char *msg = sp_last_error_message();
        omv_status st = e == EACCES || e == EPERM ? OMV_E_ACCESS
                        : e == EBUSY             ? OMV_E_BUSY
                        : port_gone(e)           ? OMV_E_NO_DEVICE
                                                 : OMV_E_IO;
        if (st == OMV_E_BUSY)
            omv_error_set(err, st,
                          "%s is in use by another program (opened for exclusive use: the OpenMV IDE or a serial "
                          "terminal?); close it and try again",
                          name);
        else if (st == OMV_E_ACCESS)
            omv_error_set(err, st,
                          "cannot open %s: permission denied; install the omvflash udev rules (or add your user to "
                          "the dialout group) and replug the camera",
                          name);
        else
            omv_error_set(err, st, "cannot open %s: %s", name, msg ? msg : strerror(e));
        sp_free_error_message(msg);
        sp_free_port(p);
        return st;
    }
    if (sp_set_baudrate(p, (int)baud) != SP_OK || sp_set_bits(p, 8) != SP_OK ||
        sp_set_parity(p, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(p, 1) != SP_OK ||
        sp_set_flowcontrol(p, SP_FLOWCONTROL_NONE) != SP_OK || sp_set_dtr(p, SP_DTR_ON) != SP_OK) {
        int e = sp_last_error_code();
        char *msg = sp_last_error_message();
        omv_status st = port_gone(e) ? OMV_E_NO_DEVICE : OMV_E_IO;
        omv_error_set(err, st, "cannot configure %s (%u baud, 8N1, DTR on): %s%s", name, (unsigned)baud,
                      msg ? msg : "unknown error", st == OMV_E_NO_DEVICE ? " (the port went away)" : "");
        sp_free_error_message(msg);
        sp_close(p);
        sp_free_port(p);
        return st;
    }
    /* Exclusive use until closed: another program opening the port mid-flash
     * (a serial terminal, a modem prober) gets EBUSY instead of mixing its
     * bytes into the bootloader's commands. Best effort: root bypasses it. */
    int fd = -1;
    if (sp_get_port_handle(p, &fd) == SP_OK && fd >= 0)
        (void)ioctl(fd, TIOCEXCL);
    *out = p;
    return OMV_OK;
}

void omv_serial_close(struct sp_port *port)
{
    if (!port)
        return;
    sp_close(port);
    sp_free_port(port);
}

void omv_serial_flush_input(struct sp_port *port)
{
    sp_flush(port, SP_BUF_INPUT);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int gone_errno(int e)
{
    return e == EIO || e == ENODEV || e == ENXIO || e == EPIPE || e == EBADF;
}

int omv_serial_write(struct sp_port *port, const uint8_t *buf, size_t len, uint32_t timeout_ms, char *why,
                     size_t why_cap)
{
    int fd = -1;
    if (sp_get_port_handle(port, &fd) != SP_OK || fd < 0) {
        snprintf(why, why_cap, "port not open");
        return -4;
    }
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        uint64_t now = mono_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_cap, "poll: %s", strerror(errno));
            return gone_errno(errno) ? -1 : -4;
        }
        if (r == 0) {
            snprintf(why, why_cap, "not accepted within %u ms", (unsigned)timeout_ms);
            return -2;
        }
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            snprintf(why, why_cap, "device gone (port hung up)");
            return -1;
        }
        ssize_t n = write(fd, buf, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            int e = errno;
            snprintf(why, why_cap, "%s (%s)", gone_errno(e) ? "device gone" : "write failed", strerror(e));
            return gone_errno(e) ? -1 : -4;
        }
        if ((size_t)n != len) {
            snprintf(why, why_cap, "short write (%zd of %zu bytes): command framing lost", n, len);
            return -3;
        }
        return 0;
    }
}

int omv_serial_wait_gone(struct sp_port *port, uint32_t ms)
{
    int fd = -1;
    if (sp_get_port_handle(port, &fd) != SP_OK || fd < 0)
        return -1;
    uint64_t deadline = mono_ms() + ms;
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return 0;
        /* No events asked: poll() still reports a hang-up or an error. */
        struct pollfd pfd = {.fd = fd, .events = 0};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return gone_errno(errno) ? -1 : 0;
        if (r > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
            return -1;
    }
}

long omv_serial_read(struct sp_port *port, uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    int fd = -1;
    if (sp_get_port_handle(port, &fd) != SP_OK || fd < 0)
        return -1;
    size_t got = 0;
    uint64_t deadline = mono_ms() + timeout_ms;
    while (got < len) {
        uint64_t now = mono_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return gone_errno(errno) ? -1 : (long)got;
        if (r == 0)
            break;
        if (pfd.revents & POLLIN) {
            ssize_t n = read(fd, buf + got, len - got);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n < 0)
                return gone_errno(errno) ? -1 : (long)got;
            if (n == 0)
                return -1;
            got += (size_t)n;
        } else if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
            return -1;
        }
        if (left == 0)
            break;
    }
    return (long)got;
}
