/*
 * omv_watcher: the board's plugins loaded once, scanned on demand, woken by
 * hot-plug where a transport offers it (omvflashd --watch).
 *
 * A scan lists every transport with the board's bootloader and app ids (a
 * transport may recognise both) and the entry plugin with the app ids, like
 * omv_list_devices(), but without loading anything per call. Waiting uses the
 * transports' optional `hotplug` op when every transport has one that works
 * on this platform; otherwise it sleeps and the caller polls (the portable
 * path). Nothing is process-wide: all state is in the watcher.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct omv_watcher {
    const omv_board *b;
    omv_callbacks cb;                 /* copy: the hosts point at it */
    const omv_cancel *cancel;
    omvi_plugin_set set;              /* transports and entry plugins, started once */
    struct omv_hotplug hp[OMVI_MAX_TRANSPORTS];
    size_t n_hotplug;                 /* transports whose hot-plug watch started */
    struct omv_usb_id *all_ids;       /* bootloader ids, then app ids */
    size_t n_all_ids;
    /* per scan */
    omvi_seen seen;
    int nomem;
    void (*found)(void *user, const struct omv_device_info *dev);
    void *user;
    const char *const *busy;
    size_t n_busy;
};

/* Hot-plug only helps when every transport reports it: a transport without
 * it (e.g. a serial-port bootloader) must be polled anyway. All or nothing. */
static void start_hotplug(omv_watcher *w)
{
    struct omv_match m = {.ids = w->all_ids, .n_ids = w->n_all_ids};
    omvi_plugin_set *s = &w->set;
    for (size_t t = 0; t < s->nt && w->n_all_ids; t++) {
        const struct omv_transport_ops *ops = omvi_tops(s, t);
        if (!ops->hotplug)
            break;
        omv_error herr;
        omv_error_clear(&herr);
        omv_status hs = ops->hotplug(s->t[t].ctx, &s->t[t].h.host, &m, &w->hp[t], &herr);
        if (hs != OMV_OK) {
            if (hs != OMV_E_UNSUPPORTED)
                omvi_log(&w->cb, OMV_LOG_WARN, "%s: hot-plug unavailable (%s); polling for devices",
                         w->b->transports[t], herr.msg);
            break;
        }
        w->n_hotplug = t + 1;
    }
    if (w->n_hotplug < s->nt) {
        for (size_t t = 0; t < w->n_hotplug; t++)
            w->hp[t].close(w->hp[t].ctx);
        memset(w->hp, 0, sizeof w->hp);
        w->n_hotplug = 0;
    }
}

omv_status omv_watcher_open(const omv_board *board, const char *plugin_dir, const omv_callbacks *cb,
                            const omv_cancel *cancel, omv_watcher **out, omv_error *err)
{
    if (!board || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_watcher_open: board and out are required");
    *out = NULL;
    omv_watcher *w = calloc(1, sizeof *w);
    if (!w)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    w->b = board;
    if (cb)
        w->cb = *cb;
    w->cancel = cancel;
    w->n_all_ids = board->n_boot_ids + board->n_app_ids;
    w->all_ids = calloc(w->n_all_ids ? w->n_all_ids : 1, sizeof *w->all_ids);
    if (!w->all_ids) {
        free(w);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    if (board->n_boot_ids)
        memcpy(w->all_ids, board->boot_ids, board->n_boot_ids * sizeof *w->all_ids);
    if (board->n_app_ids)
        memcpy(w->all_ids + board->n_boot_ids, board->app_ids, board->n_app_ids * sizeof *w->all_ids);
    omv_status st = omvi_plugin_set_open(&w->set, board, plugin_dir, &w->cb, cancel, err);
    if (st != OMV_OK) {
        free(w->all_ids);
        free(w);
        return st;
    }
    start_hotplug(w);
    *out = w;
    return OMV_OK;
}

int omv_watcher_hotplug(const omv_watcher *w)
{
    return w && w->set.nt && w->n_hotplug == w->set.nt;
}

static void on_found(void *user, const struct omv_device_info *dev)
{
    omv_watcher *w = user;
    for (size_t i = 0; dev->port_path[0] && i < w->n_busy; i++)
        if (w->busy[i] && strcmp(w->busy[i], dev->port_path) == 0)
            return; /* a plugin that ignores skip_ports */
    int r = omvi_seen_add(&w->seen, dev);
    if (r < 0)
        w->nomem = 1;
    if (r > 0 && w->found)
        w->found(w->user, dev);
}

omv_status omv_watcher_scan(omv_watcher *w, const char *const *busy_ports, size_t n_busy,
                            void (*found)(void *user, const struct omv_device_info *dev), void *user,
                            omv_error *err)
{
    if (!w || (n_busy && !busy_ports))
        return omv_error_set(err, OMV_E_USAGE, "omv_watcher_scan: no watcher or busy_ports");
    w->seen.n = 0;
    w->nomem = 0;
    w->found = found;
    w->user = user;
    w->busy = busy_ports;
    w->n_busy = n_busy;
    omv_status st = OMV_OK;
    omvi_plugin_set *s = &w->set;
    struct omv_match m = {.ids = w->all_ids, .n_ids = w->n_all_ids, .skip_ports = busy_ports, .n_skip_ports = n_busy};
    for (size_t t = 0; st == OMV_OK && w->n_all_ids && t < s->nt; t++) {
        st = omvi_tops(s, t)->list(s->t[t].ctx, &s->t[t].h.host, &m, on_found, w, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", w->b->name, w->b->transports[t]);
    }
    struct omv_match am = {.ids = w->b->app_ids, .n_ids = w->b->n_app_ids, .skip_ports = busy_ports,
                           .n_skip_ports = n_busy};
    for (size_t e = 0; st == OMV_OK && w->b->n_app_ids && e < s->ne; e++) {
        st = omvi_eops(s, e)->list(s->e[e].ctx, &s->e[e].h.host, &am, on_found, w, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", w->b->name, w->b->entries[e]);
    }
    if (st == OMV_OK && w->nomem)
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    w->found = NULL;
    w->user = NULL;
    w->busy = NULL;
    w->n_busy = 0;
    return st;
}

omv_status omv_watcher_wait(omv_watcher *w, uint32_t timeout_ms, omv_error *err)
{
    if (!w)
        return omv_error_set(err, OMV_E_USAGE, "omv_watcher_wait: no watcher");
    if (omvi_cancelled(w->cancel))
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    if (!omv_watcher_hotplug(w)) {
        /* Portable path: sleep (in cancellable slices) and let the caller scan. */
        if (omvi_sleep_ms(w->cancel, timeout_ms) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
        return OMV_OK;
    }
    size_t nt = w->set.nt;
    if (nt == 1)
        return w->hp[0].wait(w->hp[0].ctx, timeout_ms, err);
    /* Several transports: each watch in turn, in slices. */
    uint64_t deadline = omvi_now_ms() + timeout_ms;
    for (;;) {
        for (size_t t = 0; t < nt; t++) {
            omv_status st = w->hp[t].wait(w->hp[t].ctx, 0, err);
            if (st != OMV_E_TIMEOUT)
                return st;
        }
        uint64_t now = omvi_now_ms();
        if (now >= deadline)
            return OMV_E_TIMEOUT;
        uint64_t slice = deadline - now < 50 ? deadline - now : 50;
        omv_status st = w->hp[0].wait(w->hp[0].ctx, (uint32_t)slice, err);
        if (st != OMV_E_TIMEOUT)
            return st;
    }
}

void omv_watcher_close(omv_watcher *w)
{
    if (!w)
        return;
    for (size_t t = 0; t < w->n_hotplug; t++)
        if (w->hp[t].close)
            w->hp[t].close(w->hp[t].ctx);
    omvi_plugin_set_close(&w->set);
    free(w->all_ids);
    omvi_seen_free(&w->seen);
    free(w);
}
