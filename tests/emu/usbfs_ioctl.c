#include "usbfs_internal.h"

#include "dfuse_device.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/usbdevice_fs.h>
#include <stddef.h>
#include <string.h>


/* usbfs lets one open file claim an interface; the claim ends with
 * RELEASEINTERFACE, when that file is closed, or when the device leaves. */
static void drop_claim_locked(emu_usbdev_t *dev)
{
    if (dev->claimed_by)
        g_object_unref(dev->claimed_by);
    dev->claimed_by = NULL;
}

void usbfs_mark_gone_locked(emu_usbdev_t *dev)
{
    gint64 now = g_get_monotonic_time();
    dev->gone = true;
    drop_claim_locked(dev);
    usbfs_urbs_shutdown_locked(dev, now);
}

static void notify_leave(emu_usbdev_t *dev)
{
    bool notify;
    g_mutex_lock(&dev->lock);
    notify = dev->gone && !dev->leave_notified;
    dev->leave_notified = true;
    g_mutex_unlock(&dev->lock);
    if (notify && dev->on_leave)
        dev->on_leave(dev, dev->on_leave_user);
}

void usbfs_dev_leave(emu_usbdev_t *dev, const char *why)
{
    g_mutex_lock(&dev->lock);
    if (!dev->gone) {
        emu_log(dev->dfu, "device leaves: %s", why);
        usbfs_mark_gone_locked(dev);
    }
    g_mutex_unlock(&dev->lock);
    notify_leave(dev);
}


/* A file closed by its process is gone at once in the kernel; here its
 * client notices only when umockdev's worker reads the EOF, which a claim
 * from the next process can overtake (dfu-util runs back to back). So a
 * claim that meets another file's claim waits for that file to go, up to
 * CLAIM_WAIT_MS, before the answer is EBUSY. The client waits meanwhile, as
 * it does for any ioctl. */
#define CLAIM_WAIT_MS 250u
#define CLAIM_WAIT_STEP_MS 10u

static bool owner_alive_locked(emu_usbdev_t *dev, UMockdevIoctlClient *client)
{
    if (dev->claimed_by && !umockdev_ioctl_client_get_connected(dev->claimed_by))
        drop_claim_locked(dev);
    return dev->claimed_by && dev->claimed_by != client;
}

/* CLAIMINTERFACE/RELEASEINTERFACE 0 as the kernel answers them: a second
 * open file claiming a claimed interface gets EBUSY (libusb:
 * LIBUSB_ERROR_BUSY); releasing what this file did not claim is EINVAL.
 * Called with dev->lock held; answers the client. */
static void claim_answer(emu_usbdev_t *dev, UMockdevIoctlClient *client, bool claim)
{
    if (dev->gone) {
        usbfs_complete(client, -1, ENODEV);
        return;
    }
    if (claim && owner_alive_locked(dev, client)) {
        emu_log(dev->dfu, "CLAIM 0 -> EBUSY (claimed by another open file)");
        usbfs_complete(client, -1, EBUSY);
        return;
    }
    if (!claim && dev->claimed_by != client) {
        usbfs_complete(client, -1, EINVAL);
        return;
    }
    if (claim && !dev->claimed_by)
        dev->claimed_by = g_object_ref(client);
    else if (!claim)
        drop_claim_locked(dev);
    usbfs_complete(client, 0, 0);
}

/* USBDEVFS_SETCONFIGURATION as the kernel answers it: EBUSY while the
 * interface is claimed. Unconfiguring (-1 or 0: SET_CONFIGURATION 0)
 * un-mounts TinyUSB, so the openmv_dfu bootloader's loop ends and it starts
 * the application (docs/protocols.md §3.5 step 4): the device leaves. ST's
 * stack (DfuSe cameras) just de-initialises its class. Lock held. */
static void set_configuration(emu_usbdev_t *dev, UMockdevIoctlClient *client, int cfg, bool *left)
{
    emu_log(dev->dfu, "SETCONFIGURATION %d", cfg);
    if (dev->claimed_by && umockdev_ioctl_client_get_connected(dev->claimed_by)) {
        usbfs_complete(client, -1, EBUSY);
        return;
    }
    if (cfg > 0 || dev->dfu->dfuse) {
        usbfs_complete(client, 0, 0);
        return;
    }
    if (dev->dfu->hung) { /* the request is never answered */
        usbfs_complete(client, -1, ETIMEDOUT);
        return;
    }
    usbfs_complete(client, 0, 0);
    emu_log(dev->dfu, "device leaves: unconfigured");
    usbfs_mark_gone_locked(dev);
    *left = true;
}

typedef struct {
    emu_usbdev_t *dev;
    UMockdevIoctlClient *client; /* referenced until answered */
    unsigned waited_ms;
} claim_wait_t;

static gboolean claim_retry(gpointer p)
{
    claim_wait_t *w = p;
    g_mutex_lock(&w->dev->lock);
    w->waited_ms += CLAIM_WAIT_STEP_MS;
    if (!w->dev->gone && owner_alive_locked(w->dev, w->client) && w->waited_ms < CLAIM_WAIT_MS) {
        g_mutex_unlock(&w->dev->lock);
        return G_SOURCE_CONTINUE;
    }
    claim_answer(w->dev, w->client, true);
    g_mutex_unlock(&w->dev->lock);
    g_object_unref(w->client);
    g_free(w);
    return G_SOURCE_REMOVE;
}

static void claim_iface(emu_usbdev_t *dev, UMockdevIoctlClient *client, bool claim)
{
    if (!claim || !owner_alive_locked(dev, client)) {
        claim_answer(dev, client, claim);
        return;
    }
    claim_wait_t *w = g_new0(claim_wait_t, 1);
    w->dev = dev;
    w->client = g_object_ref(client);
    GSource *src = g_timeout_source_new(CLAIM_WAIT_STEP_MS);
    g_source_set_callback(src, claim_retry, w, NULL);
    g_source_attach(src, g_main_context_get_thread_default()); /* umockdev's worker: where EOFs are read */
    g_source_unref(src);
}

static unsigned resolve_uint(UMockdevIoctlData *arg, bool *ok)
{
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned), NULL);
    unsigned v = 0;
    *ok = d != NULL;
    if (d) {
        memcpy(&v, d->data, sizeof(v));
        g_object_unref(d);
    }
    return v;
}

static void ioctl_get_capabilities(UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
    if (!d) {
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    guint32 caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                   USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
    memcpy(d->data, &caps, sizeof(caps));
    g_object_unref(d);
    usbfs_complete(client, 0, 0);
}

/* CLAIMINTERFACE, RELEASEINTERFACE: interface 0 is the only one. */
static void ioctl_claim(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool claim)
{
    bool ok = true;
    unsigned iface = resolve_uint(arg, &ok);
    emu_log(dev->dfu, "%s %u", claim ? "CLAIM" : "RELEASE", iface);
    if (!ok)
        usbfs_complete(client, -1, EFAULT);
    else if (iface != 0)
        usbfs_complete(client, -1, claim ? ENOENT : EINVAL);
    else
        claim_iface(dev, client, claim);
}

/* libusb's claim with auto-detach: no kernel driver to disconnect, then the
 * same claim as CLAIMINTERFACE. */
static void ioctl_disconnect_claim(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_disconnect_claim), NULL);
    if (!d) {
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    unsigned iface = ((struct usbdevfs_disconnect_claim *)d->data)->interface;
    g_object_unref(d);
    emu_log(dev->dfu, "DISCONNECT_CLAIM %u", iface);
    if (iface != 0)
        usbfs_complete(client, -1, ENOENT);
    else
        claim_iface(dev, client, true);
}

static void ioctl_setinterface(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_setinterface), NULL);
    if (!d) {
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    struct usbdevfs_setinterface si;
    memcpy(&si, d->data, sizeof(si));
    g_object_unref(d);
    int r = dfu_device_set_interface(dev->dfu, (int)si.interface, (int)si.altsetting);
    dev->dfu->stats.control_transfers++; /* the kernel sends SET_INTERFACE on EP0 */
    /* -ETIMEDOUT: a hung device; the kernel gives up after 5 s, here at once. */
    usbfs_complete(client, r < 0 ? -1 : 0, r == -ETIMEDOUT ? ETIMEDOUT : r < 0 ? EINVAL : 0);
}

/* USBDEVFS_RESET. @return whether the device left the bus. */
static bool ioctl_reset(emu_usbdev_t *dev, UMockdevIoctlClient *client)
{
    if (dev->dfu->dfuse) { /* ST's device stack re-initialises and stays */
        dfuse_bus_reset(dev->dfu);
        usbfs_complete(client, 0, 0);
        return false;
    }
    /* A bus reset un-mounts the device; the bootloader's main loop then
     * ends and starts the application (docs/protocols.md §3.5 step 4). The
     * kernel's reset itself succeeds; the device drops off right after. */
    emu_log(dev->dfu, "USB RESET");
    if (dev->dfu->hung) {
        /* The port reset works but the hung device never answers the
         * kernel's re-enumeration: the kernel disconnects it (ENODEV)
         * and it does not come back. */
        usbfs_complete(client, -1, ENODEV);
        usbfs_mark_gone_locked(dev);
        return true;
    }
    usbfs_complete(client, 0, 0);
    emu_log(dev->dfu, "device leaves: bus reset");
    usbfs_mark_gone_locked(dev);
    return true;
}

/* The requests that leave the device where it is, with the device lock held. */
static void ioctl_simple(emu_usbdev_t *dev, UMockdevIoctlClient *client, gulong req)
{
    switch (req) {
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
        usbfs_complete(client, 0, 0);
        break;
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL: /* kernel-driver queries/detach: no driver is bound */
        usbfs_complete(client, -1, ENODATA);
        break;
    case USBDEVFS_GET_SPEED:
        usbfs_complete(client, dev->speed_mbps >= 480 ? 3 /* USB_SPEED_HIGH */ : 2 /* FULL */, 0);
        break;
    default:
        emu_log(dev->dfu, "unhandled ioctl 0x%lx -> ENOTTY", (unsigned long)req);
        usbfs_complete(client, -1, ENOTTY);
        break;
    }
}

/* One ioctl on a device still on the bus. @return whether it left the bus. */
static bool dispatch(emu_usbdev_t *dev, UMockdevIoctlClient *client, gulong req, UMockdevIoctlData *arg)
{
    bool left = false, ok = true;
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: ioctl_get_capabilities(client, arg); break;
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE: ioctl_claim(dev, client, arg, req == USBDEVFS_CLAIMINTERFACE); break;
    case USBDEVFS_DISCONNECT_CLAIM: ioctl_disconnect_claim(dev, client, arg); break;
    case USBDEVFS_SETINTERFACE: ioctl_setinterface(dev, client, arg); break;
    case USBDEVFS_SETCONFIGURATION: {
        unsigned cfg = resolve_uint(arg, &ok);
        if (ok)
            set_configuration(dev, client, (int)cfg, &left);
        else
            usbfs_complete(client, -1, EFAULT);
        break;
    }
    case USBDEVFS_RESET: left = ioctl_reset(dev, client); break;
    case USBDEVFS_SUBMITURB: usbfs_submit_urb(dev, client, arg, &left); break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: usbfs_reap_urb(dev, client, arg, req == USBDEVFS_REAPURB); break;
    case USBDEVFS_DISCARDURB: usbfs_discard_urb(dev, client, arg); break;
    default: ioctl_simple(dev, client, req); break;
    }
    return left;
}

static gboolean handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user)
{
    (void)handler;
    emu_usbdev_t *dev = user;
    gulong req = umockdev_ioctl_client_get_request(client);
    bool left = false;

    g_mutex_lock(&dev->lock);
    if (req == USBDEVFS_RESET)
        dev->dfu->stats.resets++; /* counted even when the device is already gone */
    /* A disconnected device answers ENODEV, but its URBs can still be reaped. */
    if (dev->gone && req != USBDEVFS_REAPURB && req != USBDEVFS_REAPURBNDELAY && req != USBDEVFS_DISCARDURB)
        usbfs_complete(client, -1, ENODEV);
    else
        left = dispatch(dev, client, req, umockdev_ioctl_client_get_arg(client));
    g_mutex_unlock(&dev->lock);
    if (left)
        notify_leave(dev);
    return TRUE;
}

emu_usbdev_t *usbfs_dev_new(dfu_device_t *dfu, unsigned speed_mbps, emu_leave_fn on_leave,
                            void *user)
{
    emu_usbdev_t *dev = g_new0(emu_usbdev_t, 1);
    g_mutex_init(&dev->lock);
    g_queue_init(&dev->urbs);
    dev->dfu = dfu;
    dev->speed_mbps = speed_mbps;
    dev->on_leave = on_leave;
    dev->on_leave_user = user;
    dev->handler = umockdev_ioctl_base_new();
    g_signal_connect(dev->handler, "handle-ioctl", G_CALLBACK(handle_ioctl), dev);
    return dev;
}

void usbfs_dev_free(emu_usbdev_t *dev)
{
    if (!dev)
        return;
    g_signal_handlers_disconnect_by_data(dev->handler, dev);
    g_object_unref(dev->handler);
    drop_claim_locked(dev);
    usbfs_urbs_free(dev);
    g_mutex_clear(&dev->lock);
    g_free(dev);
}
