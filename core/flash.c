/*
 * omv_flash(): plan, check, load the plugins, then drive the transport.
 * Nothing is sent to a device before every check passed; once a device is
 * open it is always finished and closed, whatever happens. The order of
 * things is here; flash_setup.c, flash_device.c and flash_steps.c do them.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

typedef omvi_run run;

static void emit(const run *r, omv_event ev) { omvi_emit(r->cb, &ev); }

static const char *step_part(const run *r, const omvi_step *s)
{
    switch (s->kind) {
    case OMVI_STEP_RESET: return NULL;
    case OMVI_STEP_ACTION: return r->b->actions[s->part].title;
    default: return r->b->parts[s->part].name;
    }
}

static omv_event step_event(const run *r, omv_event_type type, size_t i)
{
    const omvi_step *s = &r->plan.steps[i];
    return (omv_event){.type = type,
                       .step = omvi_step_name(s->kind),
                       .partition = step_part(r, s),
                       .file = s->path,
                       .total = s->size,
                       .index = (int)i + 1,
                       .count = (int)r->plan.n,
                       .sha256 = s->sha256[0] ? s->sha256 : NULL,
                       .check = omvi_image_check_name(s->check)};
}

/* The reset at the end: the device leaves its bootloader; the session is over. */
static omv_status reset_device(run *r)
{
    omv_status st = r->ops->finish(r->session, 1, r->err);
    if (st != OMV_OK)
        return omv_error_prefix(r->err, "reset");
    r->ops->close(r->session);
    r->session = NULL;
    return OMV_OK;
}

static omv_status run_one(run *r, size_t i)
{
    const omvi_step *s = &r->plan.steps[i];
    if (omvi_cancelled(r->req->cancel))
        return omv_error_set(r->err, OMV_E_CANCELLED, "cancelled before %s %s", omvi_step_name(s->kind),
                             step_part(r, s) ? step_part(r, s) : "");
    r->started = 1;
    r->step_skipped = 0;
    omv_event ev = step_event(r, OMV_EV_STEP_START, i);
    r->h->step = ev.step;
    r->h->partition = ev.partition;
    r->h->file = ev.file;
    r->h->index = ev.index;
    r->h->count = ev.count;
    uint64_t t0 = omvi_now_ms();
    emit(r, ev);
    omv_status st = s->kind == OMVI_STEP_RESET   ? reset_device(r)
                    : s->kind == OMVI_STEP_WRITE ? omvi_run_write_retrying(r, s)
                                                 : omvi_run_step(r, s);
    if (st != OMV_OK)
        return st;
    ev.type = OMV_EV_STEP_DONE;
    ev.elapsed_ms = omvi_now_ms() - t0;
    ev.skipped = r->step_skipped;
    emit(r, ev);
    return OMV_OK;
}

static omv_status run_steps(run *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        omv_status st = run_one(r, i);
        if (st != OMV_OK)
            return st;
    }
    r->h->step = r->h->partition = r->h->file = NULL;
    if (r->session) { /* --no-reset: leave the device in its bootloader */
        omv_status st = r->ops->finish(r->session, 0, r->err);
        r->ops->close(r->session);
        r->session = NULL;
        if (st != OMV_OK)
            return omv_error_prefix(r->err, "finish");
    }
    return OMV_OK;
}

/* The plan as events, and what is worth saying about it, before any device I/O. */
static void report_plan(run *r)
{
    const omv_board *b = r->b;
    for (size_t i = 0; (r->req->verify || r->req->skip_unchanged) && i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->kind == OMVI_STEP_WRITE && !b->parts[s->part].info.readable)
            omvi_log(r->cb, OMV_LOG_WARN, "partition %s cannot be read back (readable = no): %s",
                     b->parts[s->part].name,
                     !r->req->verify ? "written whole" : r->req->skip_unchanged ? "not verified, written whole"
                                                                                 : "not verified");
    }
    if (r->req->skip_unchanged)
        omvi_log(r->cb, OMV_LOG_INFO, "--skip-unchanged: each partition is read back and compared first; only what "
                 "differs is written");
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->kind == OMVI_STEP_WRITE && s->check == OMVI_CHECK_FORCED)
            omvi_log(r->cb, OMV_LOG_WARN,
                     "--force: writing %s to %s although it carries another board's arch string, not '%s'", s->path,
                     b->parts[s->part].name, b->arch ? b->arch : "(the board names none)");
        if (s->missing)
            omvi_log(r->cb, OMV_LOG_INFO,
                     "%s not found: partition %s is written only if a bootloader that needs it answers", s->path,
                     b->parts[s->part].name);
        emit(r, step_event(r, OMV_EV_PLAN, i));
    }
}

/* The order of the checks is the order of what a user fixes: the board file
 * and its plugins (exit 3, 4), the command line (2), the files (5, 13),
 * then the device. */
static omv_status flash(run *r)
{
    omv_status st = omvi_run_load_plugins(r);
    if (st == OMV_OK)
        st = omvi_plan_resolve(r->b, r->req, &r->plan, r->err);
    if (st == OMV_OK)
        st = omvi_run_start_plugins(r);
    if (st == OMV_OK)
        st = omvi_plan_segments(&r->plan, r->b, &r->set, r->err);
    if (st == OMV_OK)
        st = omvi_run_check_capabilities(r);
    if (st != OMV_OK)
        return st;
    report_plan(r);
    if (r->req->dry_run) {
        omvi_run_profile_note(r);
        return omvi_run_dry_list(r);
    }
    st = omvi_run_confirm_guarded(r);
    if (st == OMV_OK)
        st = omvi_run_prepare_actions(r);
    if (st == OMV_OK && omvi_cancelled(r->req->cancel))
        st = omv_error_set(r->err, OMV_E_CANCELLED, "cancelled");
    if (st == OMV_OK)
        st = omvi_run_open_device(r);
    if (st == OMV_OK)
        st = omvi_run_adapt_plan(r);
    if (st == OMV_OK)
        st = omvi_run_device_partitions(r);
    if (st == OMV_OK)
        st = run_steps(r);
    /* Exit 0 means the camera runs what was written, not only that its bootloader took the bytes. */
    if (st == OMV_OK && !r->req->no_reset && !r->req->no_confirm)
        st = omvi_run_confirm(r);
    return st;
}

static void cleanup(run *r)
{
    if (r->session) {
        /* Refused before any step: the device goes back to its application,
         * as it would had nothing been asked of it (unless --no-reset).
         * Failed mid-way: release it and leave it in its bootloader. */
        omv_error ignored;
        r->ops->finish(r->session, !r->started && !r->req->no_reset, &ignored);
        r->ops->close(r->session);
        r->session = NULL;
    }
    free(r->dev);
    omvi_run_free_actions(r);
    for (size_t t = 0; t < OMVI_MAX_TRANSPORTS; t++)
        omvi_plan_view_free(&r->views[t]);
    omvi_plugin_set_close(&r->set);
    omvi_plan_free(&r->plan);
}

omv_status omv_flash(const omv_board *board, const omv_request *req, const omv_callbacks *cb, omv_error *err)
{
    omv_error local;
    if (!err)
        err = &local;
    omv_error_clear(err);
    uint64_t t0 = omvi_now_ms();
    run r = {.b = board, .req = req, .cb = cb, .err = err};
    omv_status st;
    if (!board || !req)
        st = omv_error_set(err, OMV_E_USAGE, "omv_flash: board and request are required");
    else
        st = flash(&r);
    if (board && req)
        cleanup(&r);
    if (st != OMV_OK)
        omvi_emit(cb, &(omv_event){.type = OMV_EV_ERROR, .status = st, .message = err->msg, .error = err});
    else
        omv_error_clear(err);
    omvi_emit(cb, &(omv_event){.type = OMV_EV_FINISHED, .status = st, .elapsed_ms = omvi_now_ms() - t0,
                                .app = st == OMV_OK && r.confirmed ? &r.app : NULL});
    return st;
}
