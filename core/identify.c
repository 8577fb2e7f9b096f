/*
 * omv_identify(): who is the camera running its application? The board's
 * entry plugins are asked in order (list, then identify); the camera may
 * appear during the wait (it is still booting). Nothing is reset.
 */
#include <string.h>

#include "internal.h"

typedef struct count_ctx {
    int n;
} count_ctx;

static void count_found(void *user, const struct omv_device_info *dev)
{
    (void)dev;
    ((count_ctx *)user)->n++;
}

/* One look with every entry plugin. OMV_E_NO_DEVICE: no camera in application mode yet. */
omv_status omvi_identify_look(omvi_plugin_set *s, const struct omv_match *m, struct omv_app_info *out,
                              omv_error *err)
{
    int can = 0;
    for (size_t e = 0; e < s->ne; e++) {
        const struct omv_entry_ops *ops = omvi_eops(s, e);
        if (!ops->identify)
            continue;
        can = 1;
        count_ctx c = {0};
        omv_status st = ops->list(s->e[e].ctx, &s->e[e].h.host, m, count_found, &c, err);
        if (st != OMV_OK)
            return omv_error_prefix(err, "%s", s->b->entries[e]);
        if (!c.n)
            continue;
        memset(out, 0, sizeof *out);
        st = ops->identify(s->e[e].ctx, &s->e[e].h.host, m, out, err);
        if (st == OMV_OK || st != OMV_E_TIMEOUT || e + 1 == s->ne)
            return st == OMV_OK ? st : omv_error_prefix(err, "identify (%s)", s->b->entries[e]);
    }
    if (!can)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "no entry plugin of %s can identify a camera", s->b->name);
    return OMV_E_NO_DEVICE;
}

typedef struct identify_ctx {
    omvi_plugin_set *s;
    const struct omv_match *m;
    struct omv_app_info *out;
} identify_ctx;

static omv_status identify_look(void *user, omv_error *err)
{
    identify_ctx *c = user;
    return omvi_identify_look(c->s, c->m, c->out, err);
}

omv_status omv_identify(const omv_board *b, const omv_request *req, const omv_callbacks *cb,
                        struct omv_app_info *out, omv_error *err)
{
    if (!b || !req || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_identify: board, request and out are required");
    if (!b->n_app_ids || !b->n_entries)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "%s names no application ids or entry plugin", b->path);
    omvi_plugin_set s;
    omv_status st = omvi_plugin_set_open(&s, b, req->plugin_dir, cb, req->cancel, err);
    if (st != OMV_OK)
        return st;
    struct omv_match m = {.ids = b->app_ids, .n_ids = b->n_app_ids, .serial = req->serial,
                          .port_path = req->port_path};
    uint32_t wait = req->wait_ms == OMV_WAIT_DEFAULT ? b->wait_ms : req->wait_ms;
    identify_ctx c = {&s, &m, out};
    st = omvi_poll(wait, b->poll_ms, req->cancel, identify_look, &c, err);
    if (st == OMV_E_NO_DEVICE)
        omv_error_set(err, OMV_E_NO_DEVICE, "no camera of %s in application mode appeared within %u ms", b->name,
                      wait);
    omvi_plugin_set_close(&s);
    return st;
}
