/* usbfs ioctl emulation for one device node (/dev/bus/usb/001/0NN): what the
 * kernel would do for libusb, forwarded here by umockdev's preload library.
 * Runs in umockdev's worker thread; every access to the device goes through
 * dev->lock because the main thread (window timer, exit dump) shares it. */
#ifndef OMVEMU_USBFS_IOCTL_H
#define OMVEMU_USBFS_IOCTL_H

#include "dfu_device.h"

#include <glib.h>
#include <umockdev.h>

typedef struct emu_usbdev emu_usbdev_t;

/* Called (from any thread, lock not held) when the device leaves the bus:
 * DETACH, USB reset, unplug fault or the bootloader window expiring. */
typedef void (*emu_leave_fn)(emu_usbdev_t *dev, void *user);

struct emu_usbdev {
    GMutex lock;
    dfu_device_t *dfu;
    unsigned speed_mbps;
    GQueue urbs;             /* submitted, not yet reaped (pending_urb_t *) */
    gint64 busy_until_us;    /* EP0 is serial: a request starts when the previous one is done */
    bool gone;               /* disconnected: usbfs answers ENODEV like the kernel */
    bool leave_notified;
    UMockdevIoctlBase *handler;
    UMockdevIoctlClient *claimed_by; /* the open file holding interface 0 (referenced), or NULL */
    emu_leave_fn on_leave;
    void *on_leave_user;
};

emu_usbdev_t *usbfs_dev_new(dfu_device_t *dfu, unsigned speed_mbps, emu_leave_fn on_leave,
                            void *user);
void usbfs_dev_free(emu_usbdev_t *dev);

/* Device disappears now (e.g. window expired). Caller holds no lock. */
void usbfs_dev_leave(emu_usbdev_t *dev, const char *why);

#endif
