/* The parts of usbfs_ioctl.c and usbfs_urb.c each other use. Every function
 * here is called with dev->lock held. */
#ifndef OMVEMU_USBFS_INTERNAL_H
#define OMVEMU_USBFS_INTERNAL_H

#include "usbfs_ioctl.h"

#include <stdbool.h>

/** Answer the ioctl: @p res, or -1 with errno @p err. */
static inline void usbfs_complete(UMockdevIoctlClient *client, long res, int err)
{
    umockdev_ioctl_client_complete(client, res, err);
}

/** The device is disconnected: ENODEV from now on, in-flight URBs end. */
void usbfs_mark_gone_locked(emu_usbdev_t *dev);

/** USBDEVFS_SUBMITURB; *left set when the request made the device leave (DETACH). */
void usbfs_submit_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool *left);
/** USBDEVFS_REAPURB (@p blocking) and REAPURBNDELAY. */
void usbfs_reap_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool blocking);
/** USBDEVFS_DISCARDURB. */
void usbfs_discard_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg);
/** On disconnect: URBs not yet due end with -ESHUTDOWN, all become due at @p now. */
void usbfs_urbs_shutdown_locked(emu_usbdev_t *dev, gint64 now);
/** Free every pending URB (the device is being freed). */
void usbfs_urbs_free(emu_usbdev_t *dev);

#endif
