/*
 * The core's one wait (omvi_poll(): look, sleep poll_ms, until the wait is
 * over), and what it looks for when it waits for a bootloader: every poll_ms
 * (board key) each transport's open() looks once; between looks the board's entry
 * plugins list the cameras running their application, and one that shows up
 * at any time during the wait (a camera still rebooting when the run began,
 * a camera plugged in late) is reset into its bootloader. A bootloader that
 * exists but cannot be opened yet (udev applies its permissions a few ms
 * after the node appears) is retried for a grace period before the
 * permission error stands.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* How long a device that cannot be opened (OMV_E_ACCESS) is retried. */
#define WAIT_ACCESS_GRACE_MS 1000u
/* How often cameras in application mode are looked for while waiting. */
#define WAIT_APP_LOOK_MS 100u
/* A camera still in application mode this long after it was told to reboot is told again. */
#define WAIT_ENTER_AGAIN_MS 3000u

typedef struct app_seen {
    int found;
    struct omv_device_info first;
} app_seen;

static void app_found(void *user, const struct omv_device_info *dev)
{
    app_seen *a = user;
    if (!a->found++)
        a->first = *dev;
}

typedef struct waiter {
    omvi_plugin_set *set;
    const omvi_wait_req *req;
    omvi_wait_result *out;
    uint64_t access_since;        /* first look that met an unopenable device, 0 none */
    omv_error access_err;
    uint64_t entered_at;          /* last reset into the bootloader, 0 none */
    uint64_t app_looked_at;
    char last[OMVI_MAX_TRANSPORTS][256]; /* each transport's last "not there" message */
} waiter;

/* One look with every transport. OMV_E_NO_DEVICE: nothing yet. */
static omv_status look_bootloader(waiter *w, omvi_wait_result *out, omv_error *err)
{
    omvi_plugin_set *s = w->set;
    for (size_t t = 0; t < s->nt; t++) {
        out->session = NULL;
        omv_status st = omvi_tops(s, t)->open(s->t[t].ctx, &s->t[t].h.host, w->req->boot, &out->session, &out->info,
                                              err);
        if (st == OMV_OK) {
            out->active = t;
            return OMV_OK;
        }
        out->session = NULL;
        if (st == OMV_E_NO_DEVICE) {
            snprintf(w->last[t], sizeof w->last[t], "%.255s", err->msg);
            continue;
        }
        if (st == OMV_E_ACCESS) {
            if (!w->access_since)
                w->access_since = omvi_now_ms();
            w->access_err = *err;
            continue;
        }
        return omv_error_prefix(err, "%s", s->b->transports[t]);
    }
    return OMV_E_NO_DEVICE;
}

/* A camera in application mode is told to reboot into its bootloader, once
 * per WAIT_ENTER_AGAIN_MS, by the first entry plugin that sees it. */
static omv_status look_app(waiter *w, omv_error *err)
{
    omvi_plugin_set *s = w->set;
    const omvi_wait_req *r = w->req;
    uint64_t now = omvi_now_ms();
    if (!r->app || (w->app_looked_at && now - w->app_looked_at < WAIT_APP_LOOK_MS))
        return OMV_OK;
    w->app_looked_at = now;
    for (size_t e = 0; e < s->ne; e++) {
        app_seen a = {0};
        omv_status st = omvi_eops(s, e)->list(s->e[e].ctx, &s->e[e].h.host, r->app, app_found, &a, err);
        if (st != OMV_OK)
            return omv_error_prefix(err, "look for cameras in application mode");
        if (a.found > 1)
            return omv_error_set(err, OMV_E_MULTIPLE, "%d cameras in application mode match %s; choose one with --port",
                                 a.found, s->b->name);
        if (!a.found || (w->entered_at && now - w->entered_at < WAIT_ENTER_AGAIN_MS))
            continue;
        omvi_log(r->cb, OMV_LOG_INFO, "camera in application mode (%04x:%04x, port %s): resetting it into its bootloader",
                 a.first.vid, a.first.pid, a.first.port_path[0] ? a.first.port_path : "?");
        st = omvi_eops(s, e)->enter(s->e[e].ctx, &s->e[e].h.host, r->app, err);
        if (st == OMV_OK) {
            w->entered_at = omvi_now_ms();
            return OMV_OK;
        }
        /* Gone meanwhile (it was rebooting), or this method got no answer: the next entry plugin may. */
        if (st != OMV_E_NO_DEVICE && (st != OMV_E_TIMEOUT || e + 1 == s->ne))
            return omv_error_prefix(err, "reset into the bootloader (%s)", s->b->entries[e]);
        omvi_log(r->cb, OMV_LOG_DEBUG, "%s: %s", s->b->entries[e], err->msg);
    }
    return OMV_OK;
}

/* "37C5:96E3, serial X, port 1-2" */
static void describe_match(const struct omv_match *m, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_ids; i++) {
        char id[16];
        snprintf(id, sizeof id, "%04X:%04X", m->ids[i].vid, m->ids[i].pid);
        omvi_join_add(buf, len, id);
    }
    char more[128];
    if (m->serial && m->serial[0]) {
        snprintf(more, sizeof more, "serial %s", m->serial);
        omvi_join_add(buf, len, more);
    }
    if (m->port_path && m->port_path[0]) {
        snprintf(more, sizeof more, "port %s", m->port_path);
        omvi_join_add(buf, len, more);
    }
}

omv_status omvi_poll(uint32_t wait_ms, uint32_t poll_ms, const omv_cancel *cancel, omvi_look_fn look, void *user,
                     omv_error *err)
{
    uint64_t start = omvi_now_ms();
    for (;;) {
        if (omvi_cancelled(cancel))
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for the camera");
        omv_status st = look(user, err);
        if (st != OMV_E_NO_DEVICE)
            return st;
        uint64_t spent = omvi_now_ms() - start;
        if (spent >= wait_ms)
            return OMV_E_NO_DEVICE;
        uint64_t left = wait_ms - spent;
        uint32_t nap = poll_ms < left ? poll_ms : (uint32_t)left;
        if (omvi_sleep_ms(cancel, nap ? nap : 1) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for the camera");
    }
}

/* One look for the bootloader, and for a camera to reset into it; a
 * permission error stands once its grace period is over. */
static omv_status wait_look(void *user, omv_error *err)
{
    waiter *w = user;
    omv_status st = look_bootloader(w, w->out, err);
    if (st != OMV_E_NO_DEVICE)
        return st;
    st = look_app(w, err);
    if (st != OMV_OK)
        return st;
    if (w->access_since && omvi_now_ms() - w->access_since >= WAIT_ACCESS_GRACE_MS) {
        *err = w->access_err;
        return err->code;
    }
    return OMV_E_NO_DEVICE;
}

/* The wait is over: the last permission error, or what each transport last said. */
static omv_status nothing_came(const waiter *w, omv_error *err)
{
    const omvi_plugin_set *set = w->set;
    if (w->access_since) {
        *err = w->access_err;
        return err->code;
    }
    char what[256], why[1024] = "";
    describe_match(w->req->boot, what, sizeof what);
    for (size_t t = 0; t < set->nt; t++) {
        char one[400];
        snprintf(one, sizeof one, "%.100s: %.255s", set->b->transports[t], w->last[t]);
        if (w->last[t][0])
            snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", why[0] ? "; " : "", one);
    }
    return omv_error_set(err, OMV_E_NO_DEVICE, "no bootloader of %s (%s) appeared within %u ms%s%s%s%s", set->b->name,
                         what, w->req->wait_ms, w->entered_at ? " after the camera was reset into it" : "",
                         why[0] ? " (" : "", why, why[0] ? ")" : "");
}

omv_status omvi_wait_bootloader(omvi_plugin_set *set, const omvi_wait_req *req, omvi_wait_result *out,
                                omv_error *err)
{
    waiter w = {.set = set, .req = req, .out = out};
    memset(out, 0, sizeof *out);
    omv_status st = omvi_poll(req->wait_ms, set->b->poll_ms, req->cancel, wait_look, &w, err);
    if (st == OMV_E_NO_DEVICE)
        return nothing_came(&w, err);
    if (st == OMV_E_CANCELLED)
        omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for the bootloader");
    return st;
}
