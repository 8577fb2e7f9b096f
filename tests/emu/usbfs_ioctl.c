#include "usbfs_ioctl.h"

#include "dfuse_device.h"

#include <errno.h>
#include <glib-unix.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/usbdevice_fs.h>
#include <stddef.h>
#include <string.h>

/* A libusb URB that REAPURB will hand back. The device answers at submit time
 * (state changes happen in request order), but the URB only becomes reapable
 * at `due`: that is how modelled device time shows up to the host without
 * blocking umockdev's thread, and a host timeout can still cancel it. */
typedef struct {
    const void *owner;       /* the submitting client (one per open fd): only it may reap or
                              * discard this URB, as with usbfs; compared, never dereferenced */
    UMockdevIoctlData *urb;  /* our reference, kept until reaped */
    UMockdevIoctlData *buf;  /* resolved transfer buffer (child of urb) */
    gint64 due_us;
    int status;
    int actual_length;
    bool survives_gone;      /* DETACH's own answer still arrives */
    size_t in_len;
    uint8_t in[];            /* IN data, copied into buf on reap */
} pending_urb_t;

/* While an URB is not yet due, libusb spins on REAPURBNDELAY (the emulated
 * usbfs fd always polls ready); holding each EAGAIN this long keeps that cheap. */
#define REAP_THROTTLE_US 2000

static void pending_free(pending_urb_t *p)
{
    if (p->buf)
        g_object_unref(p->buf);
    if (p->urb)
        g_object_unref(p->urb);
    g_free(p);
}


/* usbfs lets one open file claim an interface; the claim ends with
 * RELEASEINTERFACE, when that file is closed, or when the device leaves. */
static void drop_claim_locked(emu_usbdev_t *dev)
{
    if (dev->claimed_by)
        g_object_unref(dev->claimed_by);
    dev->claimed_by = NULL;
}

static void mark_gone_locked(emu_usbdev_t *dev)
{
    gint64 now = g_get_monotonic_time();
    dev->gone = true;
    drop_claim_locked(dev);
    /* The kernel gives back every in-flight URB with -ESHUTDOWN on disconnect. */
    for (GList *l = dev->urbs.head; l; l = l->next) {
        pending_urb_t *p = l->data;
        if (p->due_us > now && !p->survives_gone) {
            p->status = -ESHUTDOWN;
            p->actual_length = 0;
            p->in_len = 0;
        }
        if (p->due_us > now)
            p->due_us = now;
    }
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
        mark_gone_locked(dev);
    }
    g_mutex_unlock(&dev->lock);
    notify_leave(dev);
}

static void complete(UMockdevIoctlClient *client, long res, int err)
{
    umockdev_ioctl_client_complete(client, res, err);
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
        complete(client, -1, ENODEV);
        return;
    }
    if (claim && owner_alive_locked(dev, client)) {
        emu_log(dev->dfu, "CLAIM 0 -> EBUSY (claimed by another open file)");
        complete(client, -1, EBUSY);
        return;
    }
    if (!claim && dev->claimed_by != client) {
        complete(client, -1, EINVAL);
        return;
    }
    if (claim && !dev->claimed_by)
        dev->claimed_by = g_object_ref(client);
    else if (!claim)
        drop_claim_locked(dev);
    complete(client, 0, 0);
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
        complete(client, -1, EBUSY);
        return;
    }
    if (cfg > 0 || dev->dfu->dfuse) {
        complete(client, 0, 0);
        return;
    }
    if (dev->dfu->hung) { /* the request is never answered */
        complete(client, -1, ETIMEDOUT);
        return;
    }
    complete(client, 0, 0);
    emu_log(dev->dfu, "device leaves: unconfigured");
    mark_gone_locked(dev);
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

static gint64 take_due(emu_usbdev_t *dev, uint64_t busy_us)
{
    gint64 now = g_get_monotonic_time();
    gint64 start = dev->busy_until_us > now ? dev->busy_until_us : now;
    dev->busy_until_us = start + (gint64)busy_us;
    return dev->busy_until_us;
}

static void submit_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg,
                       bool *left)
{
    UMockdevIoctlData *urb_d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    if (!urb_d) {
        complete(client, -1, EFAULT);
        return;
    }
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_d->data;
    if (urb->type != USBDEVFS_URB_TYPE_CONTROL || (urb->endpoint & 0x7F) != 0) {
        /* The bootloader has only EP0. */
        g_object_unref(urb_d);
        complete(client, -1, ENOENT);
        return;
    }
    if (urb->buffer_length < 8) {
        g_object_unref(urb_d);
        complete(client, -1, EINVAL);
        return;
    }
    UMockdevIoctlData *buf_d = umockdev_ioctl_data_resolve(
        urb_d, offsetof(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length, NULL);
    if (!buf_d) {
        g_object_unref(urb_d);
        complete(client, -1, EFAULT);
        return;
    }
    const uint8_t *setup = buf_d->data;
    size_t wLength = setup[6] | setup[7] << 8;
    if (8 + wLength > (size_t)urb->buffer_length) {
        g_object_unref(buf_d);
        g_object_unref(urb_d);
        complete(client, -1, EINVAL);
        return;
    }
    bool in_dir = setup[0] & 0x80;
    pending_urb_t *p = g_malloc0(sizeof(*p) + (in_dir ? wLength : 0));
    p->owner = client;
    p->urb = urb_d;
    p->buf = buf_d;

    ctrl_result_t r = dfu_device_control(dev->dfu, setup, setup + 8, p->in, in_dir ? wLength : 0);
    if (r.kind == CTRL_UNPLUG) {
        /* Unplugged while the transfer was on the wire: the submit fails. */
        pending_free(p);
        mark_gone_locked(dev);
        *left = true;
        complete(client, -1, ENODEV);
        return;
    }
    if (r.kind == CTRL_STALL) {
        p->status = -EPIPE;
        p->actual_length = 0;
    } else {
        p->in_len = in_dir ? r.in_len : 0;
        p->actual_length = in_dir ? (int)r.in_len : (int)wLength; /* data stage only */
    }
    /* A hung device: the URB completes only when the host discards it. */
    p->due_us = r.kind == CTRL_HANG ? G_MAXINT64 : take_due(dev, r.busy_us);
    p->survives_gone = r.leave;
    g_queue_push_tail(&dev->urbs, p);
    complete(client, 0, 0);
    if (r.leave) {
        /* DETACH: acknowledged, then the bootloader jumps to the app. */
        emu_log(dev->dfu, "device leaves: DETACH");
        mark_gone_locked(dev);
        *left = true;
    }
}

/* The client's earliest-due URB: URBs are per open file, so a second handle
 * on the same camera (a scanner, another flasher) never reaps ours. */
static GList *earliest(emu_usbdev_t *dev, const void *owner)
{
    GList *best = NULL;
    for (GList *l = dev->urbs.head; l; l = l->next) {
        const pending_urb_t *p = l->data;
        if (p->owner == owner && (!best || p->due_us < ((pending_urb_t *)best->data)->due_us))
            best = l;
    }
    return best;
}

/* A reap whose URB is not due yet waits on a timer in umockdev's worker
 * context, never by sleeping there: one thread serves every emulated device,
 * so a sleep would make each camera wait for the others' waits (8 cameras at
 * once each ran 1.7 times slower than the model says). A timerfd, not a GLib
 * timeout: those round to milliseconds, the model's transfers take 125 us. */
typedef struct {
    emu_usbdev_t *dev;
    UMockdevIoctlClient *client; /* referenced until answered */
    UMockdevIoctlData *arg;
    bool blocking;
    int fd;
} reap_wait_t;

static void reap_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool blocking,
                     int pass);

static gboolean reap_retry(gint fd, GIOCondition cond, gpointer data)
{
    (void)fd;
    (void)cond;
    reap_wait_t *r = data;
    close(r->fd);
    g_mutex_lock(&r->dev->lock);
    reap_urb(r->dev, r->client, r->arg, r->blocking, 1);
    g_mutex_unlock(&r->dev->lock);
    g_object_unref(r->arg);
    g_object_unref(r->client);
    g_free(r);
    return G_SOURCE_REMOVE;
}

static void reap_later(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool blocking,
                       gint64 wait_us)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {.it_value = {.tv_sec = wait_us / G_USEC_PER_SEC,
                                          .tv_nsec = (long)(wait_us % G_USEC_PER_SEC) * 1000L}};
    if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) != 0) {
        if (fd >= 0)
            close(fd);
        complete(client, -1, EAGAIN); /* the client polls again */
        return;
    }
    reap_wait_t *r = g_new0(reap_wait_t, 1);
    r->dev = dev;
    r->client = g_object_ref(client);
    r->arg = g_object_ref(arg);
    r->blocking = blocking;
    r->fd = fd;
    GSource *src = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(reap_retry), r, NULL);
    g_source_attach(src, g_main_context_get_thread_default());
    g_source_unref(src);
}

/* Called with the lock held. @p pass: 0 for the request itself, 1 when its
 * timer brought it back. */
static void reap_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool blocking,
                     int pass)
{
    GList *l = earliest(dev, client);
    if (!l) {
        /* Nothing in flight: a blocking reap would hang forever in the
         * kernel; answering EAGAIN is the only useful thing here. */
        complete(client, -1, dev->gone ? ENODEV : EAGAIN);
        return;
    }
    pending_urb_t *p = l->data;
    gint64 now = g_get_monotonic_time();
    if (p->due_us > now) {
        gint64 wait = p->due_us - now;
        if (!blocking && pass > 0) {
            complete(client, -1, EAGAIN);
            return;
        }
        if (!blocking && wait > REAP_THROTTLE_US)
            wait = REAP_THROTTLE_US;
        if (wait > G_USEC_PER_SEC) /* look again: a discard may come meanwhile */
            wait = G_USEC_PER_SEC;
        reap_later(dev, client, arg, blocking, wait);
        return;
    }
    g_queue_delete_link(&dev->urbs, l);
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)p->urb->data;
    urb->status = p->status;
    urb->actual_length = p->actual_length;
    if (p->in_len)
        memcpy(p->buf->data + 8, p->in, p->in_len);
    UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), NULL);
    if (!ptr) {
        pending_free(p);
        complete(client, -1, EFAULT);
        return;
    }
    umockdev_ioctl_data_set_ptr(ptr, 0, p->urb); /* flushes URB + buffer to the client */
    g_object_unref(ptr);
    complete(client, 0, 0);
    pending_free(p);
}

static void discard_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    gulong addr = *(gulong *)arg->data; /* _IO: the argument is the URB address itself */
    gint64 now = g_get_monotonic_time();
    for (GList *l = dev->urbs.head; l; l = l->next) {
        pending_urb_t *p = l->data;
        if (p->owner != client || p->urb->client_addr != addr)
            continue;
        if (p->due_us <= now) { /* already completed: the kernel says EINVAL */
            complete(client, -1, EINVAL);
            return;
        }
        emu_log(dev->dfu, "URB discarded by host (timeout/cancel)");
        p->status = -ENOENT;
        p->actual_length = 0;
        p->in_len = 0;
        p->due_us = now;
        complete(client, 0, 0);
        return;
    }
    complete(client, -1, EINVAL);
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

static gboolean handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer user)
{
    (void)handler;
    emu_usbdev_t *dev = user;
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    bool left = false, ok = true;

    g_mutex_lock(&dev->lock);
    if (req == USBDEVFS_RESET)
        dev->dfu->stats.resets++; /* counted even when the device is already gone */
    if (dev->gone && req != USBDEVFS_REAPURB && req != USBDEVFS_REAPURBNDELAY &&
        req != USBDEVFS_DISCARDURB) {
        complete(client, -1, ENODEV);
        goto out;
    }
    switch (req) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
        if (!d) {
            complete(client, -1, EFAULT);
            break;
        }
        guint32 caps = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
                       USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        memcpy(d->data, &caps, sizeof(caps));
        g_object_unref(d);
        complete(client, 0, 0);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE: {
        unsigned iface = resolve_uint(arg, &ok);
        emu_log(dev->dfu, "%s %u", req == USBDEVFS_CLAIMINTERFACE ? "CLAIM" : "RELEASE", iface);
        if (!ok)
            complete(client, -1, EFAULT);
        else if (iface != 0)
            complete(client, -1, req == USBDEVFS_CLAIMINTERFACE ? ENOENT : EINVAL);
        else
            claim_iface(dev, client, req == USBDEVFS_CLAIMINTERFACE);
        break;
    }
    case USBDEVFS_SETINTERFACE: {
        UMockdevIoctlData *d =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_setinterface), NULL);
        if (!d) {
            complete(client, -1, EFAULT);
            break;
        }
        struct usbdevfs_setinterface si;
        memcpy(&si, d->data, sizeof(si));
        g_object_unref(d);
        int r = dfu_device_set_interface(dev->dfu, (int)si.interface, (int)si.altsetting);
        dev->dfu->stats.control_transfers++; /* the kernel sends SET_INTERFACE on EP0 */
        /* -ETIMEDOUT: a hung device; the kernel gives up after 5 s, here at once. */
        complete(client, r < 0 ? -1 : 0, r == -ETIMEDOUT ? ETIMEDOUT : r < 0 ? EINVAL : 0);
        break;
    }
    case USBDEVFS_SETCONFIGURATION: {
        unsigned cfg = resolve_uint(arg, &ok);
        if (ok)
            set_configuration(dev, client, (int)cfg, &left);
        else
            complete(client, -1, EFAULT);
        break;
    }
    case USBDEVFS_RESET:
        if (dev->dfu->dfuse) { /* ST's device stack re-initialises and stays */
            dfuse_bus_reset(dev->dfu);
            complete(client, 0, 0);
            break;
        }
        /* A bus reset un-mounts the device; the bootloader's main loop then
         * ends and starts the application (docs/protocols.md §3.5 step 4). The
         * kernel's reset itself succeeds; the device drops off right after. */
        emu_log(dev->dfu, "USB RESET");
        if (dev->dfu->hung) {
            /* The port reset works but the hung device never answers the
             * kernel's re-enumeration: the kernel disconnects it (ENODEV)
             * and it does not come back. */
            complete(client, -1, ENODEV);
            mark_gone_locked(dev);
            left = true;
            break;
        }
        complete(client, 0, 0);
        emu_log(dev->dfu, "device leaves: bus reset");
        mark_gone_locked(dev);
        left = true;
        break;
    case USBDEVFS_DISCONNECT_CLAIM: {
        /* libusb's claim with auto-detach: no kernel driver to disconnect,
         * then the same claim as CLAIMINTERFACE. */
        UMockdevIoctlData *d =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_disconnect_claim), NULL);
        if (!d) {
            complete(client, -1, EFAULT);
            break;
        }
        unsigned iface = ((struct usbdevfs_disconnect_claim *)d->data)->interface;
        g_object_unref(d);
        emu_log(dev->dfu, "DISCONNECT_CLAIM %u", iface);
        if (iface != 0)
            complete(client, -1, ENOENT);
        else
            claim_iface(dev, client, true);
        break;
    }
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
        complete(client, 0, 0);
        break;
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL: /* kernel-driver queries/detach: no driver is bound */
        complete(client, -1, ENODATA);
        break;
    case USBDEVFS_GET_SPEED:
        complete(client, dev->speed_mbps >= 480 ? 3 /* USB_SPEED_HIGH */ : 2 /* FULL */, 0);
        break;
    case USBDEVFS_SUBMITURB:
        submit_urb(dev, client, arg, &left);
        break;
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        reap_urb(dev, client, arg, req == USBDEVFS_REAPURB, 0);
        break;
    case USBDEVFS_DISCARDURB:
        discard_urb(dev, client, arg);
        break;
    default:
        emu_log(dev->dfu, "unhandled ioctl 0x%lx -> ENOTTY", (unsigned long)req);
        complete(client, -1, ENOTTY);
        break;
    }
out:
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
    pending_urb_t *p;
    while ((p = g_queue_pop_head(&dev->urbs)))
        pending_free(p);
    g_mutex_clear(&dev->lock);
    g_free(dev);
}
