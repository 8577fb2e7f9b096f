/*
 * omv_list_devices(): every attached device matching any board, in app or
 * bootloader mode. Each distinct transport plugin is loaded once; devices
 * reported twice (same port path and VID:PID) are shown once.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct seen_dev {
    uint16_t vid, pid;
    char port[32];
    char serial[64];
} seen_dev;

typedef struct list_ctx {
    const omv_callbacks *cb;   /* plugin logs (e.g. a device that cannot be opened), never NULL */
    const char *board_name;
    void (*found)(void *user, const char *board_name, const struct omv_device_info *dev);
    void *user;
    seen_dev *seen;
    size_t n_seen;
    int nomem;
} list_ctx;

static void on_found(void *user, const struct omv_device_info *dev)
{
    list_ctx *c = user;
    seen_dev k = {.vid = dev->vid, .pid = dev->pid};
    memcpy(k.port, dev->port_path, sizeof k.port);
    k.port[sizeof k.port - 1] = '\0';
    memcpy(k.serial, dev->serial, sizeof k.serial);
    k.serial[sizeof k.serial - 1] = '\0';
    for (size_t i = 0; i < c->n_seen; i++) {
        seen_dev *s = &c->seen[i];
        if (s->vid != k.vid || s->pid != k.pid)
            continue;
        /* same port; or, without a port, the same serial */
        if (k.port[0] ? strcmp(s->port, k.port) == 0
                      : (!s->port[0] && strcmp(s->serial, k.serial) == 0))
            return;
    }
    seen_dev *v = realloc(c->seen, (c->n_seen + 1) * sizeof *v);
    if (!v) {
        c->nomem = 1;
        return;
    }
    c->seen = v;
    c->seen[c->n_seen++] = k;
    if (c->found)
        c->found(c->user, c->board_name, dev);
}

/* List with one of @p b's plugins: a transport (bootloader and app ids, as
 * a transport may recognise both) or the entry plugin (app ids). */
static omv_status list_with(const omv_board *b, const char *name, enum omv_plugin_kind kind,
                            const char *plugin_dir, list_ctx *c, omv_error *err)
{
    omvi_plugin plugin;
    omvi_options opts;
    omv_status st = omvi_load_board_plugin(b, name, kind, plugin_dir, &plugin, &opts, err);
    if (st != OMV_OK)
        return st;
    omvi_log_plugin(c->cb, kind == OMV_PLUGIN_ENTRY ? "entry" : "transport", &plugin);
    int entry = kind == OMV_PLUGIN_ENTRY;
    size_t n_ids = (entry ? 0 : b->n_boot_ids) + b->n_app_ids;
    struct omv_usb_id *ids = calloc(n_ids ? n_ids : 1, sizeof *ids);
    if (!ids) {
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    } else if (n_ids) {
        if (!entry)
            memcpy(ids, b->boot_ids, b->n_boot_ids * sizeof *ids);
        if (b->n_app_ids)
            memcpy(ids + (entry ? 0 : b->n_boot_ids), b->app_ids, b->n_app_ids * sizeof *ids);
        struct omv_match m = {.ids = ids, .n_ids = n_ids};
        omvi_host h;
        omvi_host_init(&h, c->cb, NULL, &opts);
        c->board_name = b->name;
        st = entry ? plugin.desc->entry->list(&h.host, &m, on_found, c, err)
                   : plugin.desc->transport->list(&h.host, &m, on_found, c, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", b->name, name);
        if (st == OMV_OK && c->nomem)
            st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    free(ids);
    omvi_options_free(&opts);
    omvi_plugin_unload(&plugin);
    return st;
}

omv_status omv_list_devices(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                            void (*found)(void *user, const char *board_name,
                                          const struct omv_device_info *dev),
                            void *user, omv_error *err)
{
    return omv_list_devices_cb(boards, n_boards, plugin_dir, NULL, found, user, err);
}

omv_status omv_list_devices_cb(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                               const omv_callbacks *cb,
                               void (*found)(void *user, const char *board_name,
                                             const struct omv_device_info *dev),
                               void *user, omv_error *err)
{
    if (n_boards && !boards)
        return omv_error_set(err, OMV_E_USAGE, "omv_list_devices: boards is NULL");
    static const omv_callbacks no_cb = {0};
    list_ctx c = {.cb = cb ? cb : &no_cb, .found = found, .user = user};
    omv_status st = OMV_OK;
    /* Each board's plugins list with that board's own options; a device seen
     * through several boards or plugins is reported once. */
    for (size_t i = 0; st == OMV_OK && i < n_boards; i++) {
        const omv_board *b = boards[i];
        for (size_t t = 0; st == OMV_OK && t < b->n_transports; t++)
            st = list_with(b, b->transports[t], OMV_PLUGIN_TRANSPORT, plugin_dir, &c, err);
        if (st == OMV_OK && b->entry)
            st = list_with(b, b->entry, OMV_PLUGIN_ENTRY, plugin_dir, &c, err);
    }
    free(c.seen);
    return st;
}
