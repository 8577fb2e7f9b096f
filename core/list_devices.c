/*
 * omv_list_devices(): every attached device matching any board, in app or
 * bootloader mode. Each board's plugins list with that board's own options;
 * a device seen through several boards or plugins (one omv_device_key()) is
 * reported once, for the first board that saw it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct list_ctx {
    const char *board_name;
    void (*found)(void *user, const char *board_name, const struct omv_device_info *dev);
    void *user;
    omvi_seen seen;
    int nomem;
} list_ctx;

static void on_found(void *user, const struct omv_device_info *dev)
{
    list_ctx *c = user;
    int r = omvi_seen_add(&c->seen, dev);
    if (r < 0)
        c->nomem = 1;
    if (r > 0 && c->found)
        c->found(c->user, c->board_name, dev);
}

/* The board's bootloader ids, then its app ids (a transport may recognise both). */
static struct omv_usb_id *all_ids(const omv_board *b, size_t *n)
{
    *n = b->n_boot_ids + b->n_app_ids;
    struct omv_usb_id *ids = calloc(*n ? *n : 1, sizeof *ids);
    if (ids && b->n_boot_ids)
        memcpy(ids, b->boot_ids, b->n_boot_ids * sizeof *ids);
    if (ids && b->n_app_ids)
        memcpy(ids + b->n_boot_ids, b->app_ids, b->n_app_ids * sizeof *ids);
    return ids;
}

static omv_status list_board(const omv_board *b, const char *plugin_dir, const omv_callbacks *cb, list_ctx *c,
                             omv_error *err)
{
    omvi_plugin_set s;
    size_t n_ids;
    struct omv_usb_id *ids = all_ids(b, &n_ids);
    omv_status st = ids ? omvi_plugin_set_open(&s, b, plugin_dir, cb, NULL, err)
                        : omv_error_set(err, OMV_E_NOMEM, "out of memory");
    if (st != OMV_OK) {
        free(ids);
        return st;
    }
    c->board_name = b->name;
    struct omv_match m = {.ids = ids, .n_ids = n_ids};
    for (size_t t = 0; st == OMV_OK && n_ids && t < s.nt; t++) {
        st = omvi_tops(&s, t)->list(s.t[t].ctx, &s.t[t].h.host, &m, on_found, c, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", b->name, b->transports[t]);
    }
    struct omv_match am = {.ids = b->app_ids, .n_ids = b->n_app_ids};
    for (size_t e = 0; st == OMV_OK && b->n_app_ids && e < s.ne; e++) {
        st = omvi_eops(&s, e)->list(s.e[e].ctx, &s.e[e].h.host, &am, on_found, c, err);
        if (st != OMV_OK)
            omv_error_prefix(err, "%s: list devices (%s)", b->name, b->entries[e]);
    }
    if (st == OMV_OK && c->nomem)
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    omvi_plugin_set_close(&s);
    free(ids);
    return st;
}

omv_status omv_list_devices(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                            void (*found)(void *user, const char *board_name, const struct omv_device_info *dev),
                            void *user, omv_error *err)
{
    return omv_list_devices_cb(boards, n_boards, plugin_dir, NULL, found, user, err);
}

omv_status omv_list_devices_cb(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                               const omv_callbacks *cb,
                               void (*found)(void *user, const char *board_name, const struct omv_device_info *dev),
                               void *user, omv_error *err)
{
    if (n_boards && !boards)
        return omv_error_set(err, OMV_E_USAGE, "omv_list_devices: boards is NULL");
    list_ctx c = {.found = found, .user = user};
    omv_status st = OMV_OK;
    for (size_t i = 0; st == OMV_OK && i < n_boards; i++)
        st = list_board(boards[i], plugin_dir, cb, &c, err);
    omvi_seen_free(&c.seen);
    return st;
}
