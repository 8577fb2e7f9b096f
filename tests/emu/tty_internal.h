/* The parts of the emulated serial ports shared by tty_device.c (ports:
 * data path, modem lines, appearing and leaving) and tty_hub.c (the hub:
 * the write-boundary channel from write_shim.so, /sys/class/tty). */
#ifndef OMVEMU_TTY_INTERNAL_H
#define OMVEMU_TTY_INTERNAL_H

#include "tty_device.h"

#include "legacy_camera.h" /* legacy_log */

#include <fcntl.h>
#include <glib.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
    int conn;           /* shim connection that announced it */
    uint64_t len;
    bool final;         /* END seen: len is what the kernel really took */
} xfer_entry_t;

struct emu_tty {
    tty_hub_t *hub;
    char tag[24];
    char name[16];      /* ttyACMn */
    char devnode[24];   /* /dev/ttyACMn */
    char *sys_usb, *sys_if, *sys_tty;
    unsigned devnum;
    int master;
    int pts;            /* pty index: /dev/pts/<pts> */
    int held_slave;     /* after removal: keeps the pty index allocated (see tty_remove) */
    guint watch;
    bool gone;
    UMockdevIoctlBase *handler;

    GMutex lock;        /* modem lines, shared with umockdev's worker thread */
    int mlines;

    GByteArray *rx;
    GQueue entries;     /* xfer_entry_t * */
    bool warned_unframed;
    tty_transfer_fn fn;
    void *user;
};

typedef struct {
    int fd;
    guint watch;
    tty_hub_t *hub;
} shim_conn_t;

struct tty_hub {
    emu_testbed_t *tb;
    bool verbose;
    char *sock_path;
    int listen_fd;
    guint listen_watch;
    GPtrArray *conns;   /* shim_conn_t * */
    GPtrArray *ttys;    /* every emu_tty_t ever made (removed ones kept until hub_free) */
    unsigned next_acm, next_devnum;
    tty_stats_t stats;
};

#define TLOG(t, ...) legacy_log((t)->tag, (t)->hub->verbose, __VA_ARGS__)

/* omvemu runs under umockdev's preload (only then do its uevents reach the
 * hosts), which wraps open/close/ioctl around a process-wide table of
 * emulated fds that it does not lock; umockdev's ioctl worker thread, in this
 * same process, opens and closes through it too. The pty fds here are real:
 * touching them through the wrappers sent every TCGETS2 (one per packet in
 * application mode) through that worker thread and raced its table (once a
 * lookup hit a socket already closed and the preload aborted the emulator:
 * "Error communicating with ioctl socket, errno: 32"). So the emulator's own
 * pty calls use the raw syscalls, as write_shim.c does. */
static inline int raw_ioctl(int fd, unsigned long req, void *arg)
{
    return (int)syscall(SYS_ioctl, fd, req, arg);
}

static inline int raw_open(const char *path, int flags)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0);
}

static inline void raw_close(int fd)
{
    syscall(SYS_close, fd);
}

/* tty_device.c */
/** Hand every complete host transfer in @p t's rx buffer to its callback. */
void tty_process(emu_tty_t *t);
/** Free a port (the hub owns every port it made). */
void tty_free(emu_tty_t *t);

/* tty_hub.c */
/** Read everything the shims have sent so far (main loop). */
void tty_hub_drain(tty_hub_t *h);
/** Keep /sys/class/tty non-empty (a virtual tty0), as on a real system. */
void tty_hub_ensure_class_tty(tty_hub_t *h);

#endif
