/* omvemu_host_fault_shim.so: host-side sysfs races on demand (omvemu
 * --host-fault KIND), preloaded into COMMAND in front of umockdev's preload.
 * A camera that resets leaves sysfs one file at a time while hosts read it;
 * the windows are microseconds wide, so a test cannot hit them by timing.
 * This shim opens them deterministically, once per process, on the paths a
 * serial-port host reads (libserialport 0.1.1 linux.c):
 *
 *   list-race          the second readlink() of /sys/class/tty/ttyACMn fails
 *                      with ENOENT: the port vanished between the host's
 *                      readdir() of /sys/class/tty (plus its first look at the
 *                      entry) and the lookup of the port's details.
 *   serial-unreadable  the first fopen() of /sys/class/tty/ttyACMn/device/../serial
 *                      fails with ENOENT: vendor and product ids were read, the
 *                      serial file is already gone (a half-removed device).
 *   no-access          every open() of a camera's node (/dev/bus/usb/..., /dev/ttyACMn)
 *                      fails with EACCES, as for a user without the udev rules
 *                      (permissions cannot show that when the tests run as root).
 *
 * The kinds come from $OMVEMU_HOST_FAULTS (comma separated). Built without
 * sanitizers: it must load into any program. */
#define _GNU_SOURCE
#include "host_faults.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef ssize_t (*readlink_fn)(const char *, char *, size_t);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*open2_fn)(const char *, int);

static int fault_on(const char *kind)
{
    const char *v = getenv(OMVEMU_HOST_FAULTS_ENV);
    size_t n = strlen(kind);
    for (const char *p = v; p && (p = strstr(p, kind)); p += n)
        if ((p == v || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

/* "/sys/class/tty/ttyACMn" + @p rest exactly (rest "" or "/device/../serial"). */
static int is_acm_path(const char *path, const char *rest)
{
    static const char prefix[] = "/sys/class/tty/ttyACM";
    if (!path || strncmp(path, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *p = path + sizeof prefix - 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, rest) == 0;
}

ssize_t readlink(const char *path, char *buf, size_t len)
{
    static int calls;
    static readlink_fn next;
    if (!next)
        next = (readlink_fn)dlsym(RTLD_NEXT, "readlink");
    if (is_acm_path(path, "") && fault_on("list-race") && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) == 2) {
        errno = ENOENT;
        return -1;
    }
    return next(path, buf, len);
}

FILE *fopen(const char *path, const char *mode)
{
    static int calls;
    static fopen_fn next;
    if (!next)
        next = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
    if (is_acm_path(path, "/device/../serial") && fault_on("serial-unreadable") &&
        __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) == 1) {
        errno = ENOENT;
        return NULL;
    }
    return next(path, mode);
}

static int camera_node(const char *path)
{
    return path && (strncmp(path, "/dev/bus/usb/", 13) == 0 || strncmp(path, "/dev/ttyACM", 11) == 0) &&
           fault_on("no-access");
}

int open(const char *path, int flags, ...)
{
    static open_fn next;
    if (!next)
        next = (open_fn)dlsym(RTLD_NEXT, "open");
    if (camera_node(path)) {
        errno = EACCES;
        return -1;
    }
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        int mode = va_arg(ap, int);
        va_end(ap);
        return next(path, flags, mode);
    }
    return next(path, flags);
}

/* _FORTIFY_SOURCE's open() for flags not known at compile time (libusb). */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    static open2_fn next;
    if (!next)
        next = (open2_fn)dlsym(RTLD_NEXT, "__open_2");
    if (camera_node(path)) {
        errno = EACCES;
        return -1;
    }
    return next(path, flags);
}
