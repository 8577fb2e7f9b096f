/* usbfs emulation: control URBs on EP0 (submit, timed reap, discard) as the
 * kernel answers them, for usbfs_ioctl.c, which dispatches the ioctls. */
#include "usbfs_internal.h"

#include "dfuse_device.h"

#include <errno.h>
#include <glib-unix.h>
#include <linux/usbdevice_fs.h>
#include <stddef.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

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


static gint64 take_due(emu_usbdev_t *dev, uint64_t busy_us)
{
    gint64 now = g_get_monotonic_time();
    gint64 start = dev->busy_until_us > now ? dev->busy_until_us : now;
    dev->busy_until_us = start + (gint64)busy_us;
    return dev->busy_until_us;
}

void usbfs_submit_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool *left)
{
    UMockdevIoctlData *urb_d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    if (!urb_d) {
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_d->data;
    if (urb->type != USBDEVFS_URB_TYPE_CONTROL || (urb->endpoint & 0x7F) != 0) {
        /* The bootloader has only EP0. */
        g_object_unref(urb_d);
        usbfs_complete(client, -1, ENOENT);
        return;
    }
    if (urb->buffer_length < 8) {
        g_object_unref(urb_d);
        usbfs_complete(client, -1, EINVAL);
        return;
    }
    UMockdevIoctlData *buf_d = umockdev_ioctl_data_resolve(
        urb_d, offsetof(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length, NULL);
    if (!buf_d) {
        g_object_unref(urb_d);
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    const uint8_t *setup = buf_d->data;
    size_t wLength = setup[6] | setup[7] << 8;
    if (8 + wLength > (size_t)urb->buffer_length) {
        g_object_unref(buf_d);
        g_object_unref(urb_d);
        usbfs_complete(client, -1, EINVAL);
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
        usbfs_mark_gone_locked(dev);
        *left = true;
        usbfs_complete(client, -1, ENODEV);
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
    usbfs_complete(client, 0, 0);
    if (r.leave) {
        /* DETACH: acknowledged, then the bootloader jumps to the app. */
        emu_log(dev->dfu, "device leaves: DETACH");
        usbfs_mark_gone_locked(dev);
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
        usbfs_complete(client, -1, EAGAIN); /* the client polls again */
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
        usbfs_complete(client, -1, dev->gone ? ENODEV : EAGAIN);
        return;
    }
    pending_urb_t *p = l->data;
    gint64 now = g_get_monotonic_time();
    if (p->due_us > now) {
        gint64 wait = p->due_us - now;
        if (!blocking && pass > 0) {
            usbfs_complete(client, -1, EAGAIN);
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
        usbfs_complete(client, -1, EFAULT);
        return;
    }
    umockdev_ioctl_data_set_ptr(ptr, 0, p->urb); /* flushes URB + buffer to the client */
    g_object_unref(ptr);
    usbfs_complete(client, 0, 0);
    pending_free(p);
}

void usbfs_discard_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    gulong addr = *(gulong *)arg->data; /* _IO: the argument is the URB address itself */
    gint64 now = g_get_monotonic_time();
    for (GList *l = dev->urbs.head; l; l = l->next) {
        pending_urb_t *p = l->data;
        if (p->owner != client || p->urb->client_addr != addr)
            continue;
        if (p->due_us <= now) { /* already completed: the kernel says EINVAL */
            usbfs_complete(client, -1, EINVAL);
            return;
        }
        emu_log(dev->dfu, "URB discarded by host (timeout/cancel)");
        p->status = -ENOENT;
        p->actual_length = 0;
        p->in_len = 0;
        p->due_us = now;
        usbfs_complete(client, 0, 0);
        return;
    }
    usbfs_complete(client, -1, EINVAL);
}

void usbfs_reap_urb(emu_usbdev_t *dev, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool blocking)
{
    reap_urb(dev, client, arg, blocking, 0);
}

/* The kernel gives back every in-flight URB with -ESHUTDOWN on disconnect
 * (DETACH's own answer still arrives). */
void usbfs_urbs_shutdown_locked(emu_usbdev_t *dev, gint64 now)
{
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

void usbfs_urbs_free(emu_usbdev_t *dev)
{
    pending_urb_t *p;
    while ((p = g_queue_pop_head(&dev->urbs)))
        pending_free(p);
}
