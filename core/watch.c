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

typedef struct watch_seen {
    uint16_t vid, pid;
    char port[32];
    char serial[64];
} watch_seen;

struct omv_watcher {
    const omv_board *b;
    omv_callbacks cb;                 /* copy: the hosts point at it */
    const volatile sig_atomic_t *cancel;
    omvi_plugin tplugins[OMVI_MAX_TRANSPORTS];
    omvi_options topts[OMVI_MAX_TRANSPORTS];
    omvi_host thosts[OMVI_MAX_TRANSPORTS];
    struct omv_hotplug hp[OMVI_MAX_TRANSPORTS];
    size_t nt;
    size_t n_hotplug;                 /* transports whose hot-plug watch started */
    omvi_plugin eplugin;
    omvi_options eopts;
    omvi_host ehost;
    int has_entry;
    struct omv_usb_id *all_ids;       /* bootloader ids, then app ids */
    size_t n_all_ids;
    /* per scan */
    watch_seen *seen;
    size_t n_seen, cap_seen;
    int nomem;
    void (*found)(void *user, const struct omv_device_info *dev);
    void *user;
    const char *const *busy;
    size_t n_busy;
};

omv_status omv_watcher_open(const omv_board *board, const char *plugin_dir, const omv_callbacks *cb,
                            const volatile sig_atomic_t *cancel, omv_watcher **out, omv_error *err)
{
    if (!board || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_watcher_open: board and out are required");
    *out = NULL;
    if (board->n_transports > OMVI_MAX_TRANSPORTS)
        return omv_error_set(err, OMV_E_BOARD, "%s: more than %d transports", board->path, OMVI_MAX_TRANSPORTS);
    omv_watcher *w = calloc(1, sizeof *w);
    if (!w)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    w->b = board;
    if (cb)
        w->cb = *cb;
    w->cancel = cancel;
    omv_status st = OMV_OK;
    w->n_all_ids = board->n_boot_ids + board->n_app_ids;
    w->all_ids = calloc(w->n_all_ids ? w->n_all_ids : 1, sizeof *w->all_ids);
    if (!w->all_ids) {
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
        goto fail;
    }
    if (board->n_boot_ids)
        memcpy(w->all_ids, board->boot_ids, board->n_boot_ids * sizeof *w->all_ids);
    if (board->n_app_ids)
        memcpy(w->all_ids + board->n_boot_ids, board->app_ids, board->n_app_ids * sizeof *w->all_ids);

    for (size_t t = 0; t < board->n_transports; t++) {
        st = omvi_load_board_plugin(board, board->transports[t], OMV_PLUGIN_TRANSPORT, plugin_dir, &w->tplugins[t],
                                    &w->topts[t], err);
        if (st != OMV_OK)
            goto fail;
        w->nt = t + 1;
        omvi_log_plugin(&w->cb, "transport", &w->tplugins[t]);
        omvi_host_init(&w->thosts[t], &w->cb, cancel, &w->topts[t]);
    }
    if (board->entry) {
        st = omvi_load_board_plugin(board, board->entry, OMV_PLUGIN_ENTRY, plugin_dir, &w->eplugin, &w->eopts, err);
        if (st != OMV_OK)
            goto fail;
        w->has_entry = 1;
        omvi_log_plugin(&w->cb, "entry", &w->eplugin);
        omvi_host_init(&w->ehost, &w->cb, cancel, &w->eopts);
    }

    /* Hot-plug only helps when every transport reports it: a transport
     * without it (e.g. a serial-port bootloader) must be polled anyway. */
    struct omv_match m = {.ids = w->all_ids, .n_ids = w->n_all_ids};
    for (size_t t = 0; t < w->nt && w->n_all_ids; t++) {
        const struct omv_transport_ops *ops = w->tplugins[t].desc->transport;
        if (!ops->hotplug)
            break;
        omv_error herr;
        omv_error_clear(&herr);
        omv_status hs = ops->hotplug(&w->thosts[t].host, &m, &w->hp[t], &herr);
        if (hs != OMV_OK) {
            if (hs != OMV_E_UNSUPPORTED)
                omvi_log(&w->cb, OMV_LOG_WARN, "%s: hot-plug unavailable (%s); polling for devices",
                         board->transports[t], herr.msg);
            break;
        }
        w->n_hotplug = t + 1;
    }
    if (w->n_hotplug < w->nt) { /* all or nothing */
        for (size_t t = 0; t < w->n_hotplug; t++)
            w->hp[t].close(w->hp[t].ctx);
        memset(w->hp, 0, sizeof w->hp);
        w->n_hotplug = 0;
    }
    *out = w;
    return OMV_OK;

fail:
    omv_watcher_close(w);
    return st;
}

int omv_watcher_hotplug(const omv_watcher *w)
{
    return w && w->nt && w->n_hotplug == w->nt;
}

static void on_found(void *user, const struct omv_device_info *dev)
{
    omv_watcher *w = user;
    for (size_t i = 0; dev->port_path[0] && i < w->n_busy; i++)
        if (w->busy[i] && strcmp(w->busy[i], dev->port_path) == 0)
            return; /* a plugin that ignores skip_ports */
    watch_seen k = {.vid = dev->vid, .pid = dev->pid};
    memcpy(k.port, dev->port_path, sizeof k.port);
    k.port[sizeof k.port - 1] = '\0';
    memcpy(k.serial, dev->serial, sizeof k.serial);
    k.serial[sizeof k.serial - 1] = '\0';
    for (size_t i = 0; i < w->n_seen; i++) {
        const watch_seen *s = &w->seen[i];
        /* one device per port; without a port, the same ids and serial */
        if (k.port[0] ? strcmp(s->port, k.port) == 0
                      : (!s->port[0] && s->vid == k.vid && s->pid == k.pid && strcmp(s->serial, k.serial) == 0))
            return;
    }
    if (w->n_seen == w->cap_seen) {
        size_t cap = w->cap_seen ? 2 * w->cap_seen : 16;
        watch_seen *v = realloc(w->seen, cap * sizeof *v);
        if (!v) {
            w->nomem = 1;
            return;
        }
        w->seen = v;
        w->cap_seen = cap;
    }
    w->seen[w->n_seen++] = k;
    if (w->found)
        w->found(w->user, dev);
}

omv_status omv_watcher_scan(omv_watcher *w, const char *const *busy_ports, size_t n_busy,
                            void (*found)(void *user, const struct omv_device_info *dev), void *user,
                            omv_error *err)
{
    if (!w || (n_busy && !busy_ports))
        return omv_error_set(err, OMV_E_USAGE, "omv_watcher_scan: no watcher or busy_ports");
    w->n_seen = 0;
    w->nomem = 0;
    w->found = found;
    w->user = user;
    w->busy = busy_ports;
    w->n_busy = n_busy;
    omv_status st = OMV_OK;
    if (w->n_all_ids) {
        struct omv_match m = {.ids = w->all_ids, .n_ids = w->n_all_ids, .skip_ports = busy_ports,
                              .n_skip_ports = n_busy};
        for (size_t t = 0; st == OMV_OK && t < w->nt; t++) {
            st = w->tplugins[t].desc->transport->list(&w->thosts[t].host, &m, on_found, w, err);
            if (st != OMV_OK)
                omv_error_prefix(err, "%s: list devices (%s)", w->b->name, w->b->transports[t]);
        }
    }
    if (st == OMV_OK && w->has_entry && w->b->n_app_ids) {
        struct omv_match am = {.ids = w->b->app_ids, .n_ids = w->b->n_app_ids, .skip_ports = busy_ports,
                               .n_skip_ports = n_busy};
        st = w->eplugin.desc->entry->list(&w->ehost.host, &am, on_found, w, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", w->b->name, w->b->entry);
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
    if (w->cancel && *w->cancel)
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    if (!omv_watcher_hotplug(w)) {
        /* Portable path: sleep (in cancellable slices) and let the caller scan. */
        const struct omv_host *h = w->nt ? &w->thosts[0].host : &w->ehost.host;
        if (!w->nt && !w->has_entry)
            return OMV_OK;
        if (h->sleep_ms(h, timeout_ms) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
        return OMV_OK;
    }
    if (w->nt == 1)
        return w->hp[0].wait(w->hp[0].ctx, timeout_ms, err);
    /* Several transports: each watch in turn, in slices. */
    uint64_t deadline = omvi_now_ms() + timeout_ms;
    for (;;) {
        for (size_t t = 0; t < w->nt; t++) {
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
    for (size_t t = 0; t < OMVI_MAX_TRANSPORTS; t++) {
        omvi_options_free(&w->topts[t]);
        omvi_plugin_unload(&w->tplugins[t]);
    }
    omvi_options_free(&w->eopts);
    omvi_plugin_unload(&w->eplugin);
    free(w->all_ids);
    free(w->seen);
    free(w);
}
