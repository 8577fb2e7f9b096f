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

omv_status omv_list_devices(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                            void (*found)(void *user, const char *board_name,
                                          const struct omv_device_info *dev),
                            void *user, omv_error *err)
{
    if (n_boards && !boards)
        return omv_error_set(err, OMV_E_USAGE, "omv_list_devices: boards is NULL");
    list_ctx c = {.found = found, .user = user};
    omv_callbacks no_cb = {0};
    omv_status st = OMV_OK;
    char *done = calloc(n_boards ? n_boards : 1, 1); /* boards already listed */
    if (!done)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    for (size_t i = 0; st == OMV_OK && i < n_boards; i++) {
        if (done[i])
            continue;
        omvi_plugin plugin;
        omvi_options opts;
        /* one load per distinct transport; every board using it is listed with it */
        st = omvi_load_transport(boards[i], plugin_dir, &plugin, &opts, err);
        if (st != OMV_OK)
            break;
        omvi_options_free(&opts);
        for (size_t j = i; st == OMV_OK && j < n_boards; j++) {
            const omv_board *b = boards[j];
            if (done[j] || strcmp(b->transport, boards[i]->transport) != 0)
                continue;
            done[j] = 1;
            /* options come from each board's own section */
            char label[96];
            snprintf(label, sizeof label, "[%s]", b->transport);
            st = omvi_options_resolve(b->path, label, omvi_board_transport_section(b), plugin.desc,
                                      &opts, err);
            if (st != OMV_OK)
                break;
            size_t n_ids = b->n_boot_ids + b->n_app_ids;
            struct omv_usb_id *ids = calloc(n_ids, sizeof *ids);
            if (!ids) {
                omvi_options_free(&opts);
                st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
                break;
            }
            memcpy(ids, b->boot_ids, b->n_boot_ids * sizeof *ids);
            if (b->n_app_ids)
                memcpy(ids + b->n_boot_ids, b->app_ids, b->n_app_ids * sizeof *ids);
            struct omv_match m = {.ids = ids, .n_ids = n_ids};
            omvi_host h;
            omvi_host_init(&h, &no_cb, NULL, &opts);
            c.board_name = b->name;
            st = plugin.desc->transport->list(&h.host, &m, on_found, &c, err);
            if (st != OMV_OK)
                omv_error_prefix(err, "%s: list devices", b->name);
            free(ids);
            omvi_options_free(&opts);
            if (st == OMV_OK && c.nomem)
                st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
        }
        omvi_plugin_unload(&plugin);
    }
    free(done);
    free(c.seen);
    return st;
}
