/*
 * The optional hot-plug op (omv_transport_ops.hotplug): a libusb hot-plug
 * callback on the plugin's libusb context records that a device with one of
 * the watched ids arrived or left; wait() runs that context's event handling
 * until then. The flag is atomic: libusb may run the callback in whichever
 * thread handles the context's events (a transfer on another thread, too).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dfu_requests.h"
#include "dfu_session.h"

/* Most ids a watch keeps (bootloader + app ids of one board). */
#define DFU_HOTPLUG_MAX_IDS 16
/* wait() looks at host->cancelled() at least this often. */
#define DFU_HOTPLUG_SLICE_MS 100u

struct dfu_hotplug {
    const struct omv_host *host;
    libusb_context *ctx;          /* the plugin's */
    libusb_hotplug_callback_handle handle;
    struct omv_usb_id ids[DFU_HOTPLUG_MAX_IDS];
    size_t n_ids;
    atomic_int changed;           /* set by on_event() */
    int completed;                /* libusb_handle_events_timeout_completed()'s flag; wait()'s own */
};

static int LIBUSB_CALL on_event(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *user)
{
    (void)ctx;
    (void)event;
    struct dfu_hotplug *w = user;
    struct libusb_device_descriptor dd;
    if (libusb_get_device_descriptor(dev, &dd) < 0) {
        atomic_store(&w->changed, 1); /* cannot tell: let the caller scan */
        return 0;
    }
    for (size_t i = 0; i < w->n_ids; i++)
        if (w->ids[i].vid == dd.idVendor && w->ids[i].pid == dd.idProduct)
            atomic_store(&w->changed, 1);
    return 0; /* keep the callback registered */
}

static omv_status hotplug_wait(void *ctx, uint32_t timeout_ms, omv_error *err)
{
    struct dfu_hotplug *w = ctx;
    const struct omv_host *host = w->host;
    uint64_t deadline = host->now_ms(host) + timeout_ms;
    for (;;) {
        if (host->cancelled(host))
            return omv_error_set(err, OMV_E_CANCELLED, "dfu: cancelled while watching for devices");
        uint64_t now = host->now_ms(host);
        uint64_t left = deadline > now ? deadline - now : 0;
        uint64_t slice = left < DFU_HOTPLUG_SLICE_MS ? left : DFU_HOTPLUG_SLICE_MS;
        /* A zero timeout still delivers the events already queued. */
        struct timeval tv = {.tv_sec = 0, .tv_usec = (suseconds_t)(slice * 1000u)};
        w->completed = 0;
        int r = atomic_load(&w->changed) ? 0 : libusb_handle_events_timeout_completed(w->ctx, &tv, &w->completed);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED)
            return omv_error_set(err, OMV_E_IO, "dfu: watching for devices: %s", dfu_usb_error_name(r));
        if (atomic_exchange(&w->changed, 0))
            return OMV_OK;
        if (left == 0)
            return OMV_E_TIMEOUT;
    }
}

static void hotplug_close(void *ctx)
{
    struct dfu_hotplug *w = ctx;
    if (!w)
        return;
    libusb_hotplug_deregister_callback(w->ctx, w->handle);
    free(w);
}

omv_status dfu_op_hotplug(void *pctx, const struct omv_host *host, const struct omv_match *match,
                          struct omv_hotplug *watch, omv_error *err)
{
    struct dfu_plugin *pl = pctx;
    if (!pl || !match || !match->ids || match->n_ids == 0 || !watch)
        return omv_error_set(err, OMV_E_USAGE, "dfu hotplug: no USB ids to watch");
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
        return omv_error_set(err, OMV_E_UNSUPPORTED, "dfu: libusb cannot report hot-plug on this platform");
    struct dfu_hotplug *w = calloc(1, sizeof *w);
    if (!w)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    w->host = host;
    w->ctx = pl->usb;
    atomic_init(&w->changed, 0);
    w->n_ids = match->n_ids < DFU_HOTPLUG_MAX_IDS ? match->n_ids : DFU_HOTPLUG_MAX_IDS;
    memcpy(w->ids, match->ids, w->n_ids * sizeof w->ids[0]);
    /* One callback for any device (libusb filters on one VID/PID only); on_event filters by the ids. */
    int r = libusb_hotplug_register_callback(w->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
                                             0, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
                                             LIBUSB_HOTPLUG_MATCH_ANY, on_event, w, &w->handle);
    if (r < 0) {
        free(w);
        if (r == LIBUSB_ERROR_NOT_SUPPORTED)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "dfu: libusb cannot report hot-plug on this platform");
        return omv_error_set(err, OMV_E_IO, "dfu: cannot register for hot-plug events: %s", dfu_usb_error_name(r));
    }
    watch->ctx = w;
    watch->wait = hotplug_wait;
    watch->close = hotplug_close;
    return OMV_OK;
}
