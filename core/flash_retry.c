/*
 * A partition write that fails in a way that may not repeat (an I/O error,
 * a timeout, a device status such as errWRITE: omv_error.retriable) is
 * written again from its start, at most `retries` times (board key, or
 * omv_request.retries). Before each new attempt the device is brought back
 * to idle with the transport's recover() (openmv_dfu: CLRSTATUS or ABORT),
 * or, when the camera left the bus (unplugged and plugged in again, reset)
 * or the transport has no recover(), the session is closed and the camera
 * opened again, waiting for it as long as the run waited at its start.
 * A camera that does not come back ends the retries: the run fails with the
 * write's error. Permanent failures (an address out of range, a read-only
 * target, a mismatch, a bad image) and a cancel are never retried. Each
 * retry is an OMV_EV_RETRY event.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

static uint32_t retries_of(const omvi_run *r)
{
    return r->req->retries == OMV_RETRIES_DEFAULT ? r->b->retries : r->req->retries;
}

/* Close the session and open the same camera again (same serial, else same port). */
static omv_status reopen(omvi_run *r, omv_error *err)
{
    if (r->session) {
        omv_error ignored;
        r->ops->finish(r->session, 0, &ignored);
        r->ops->close(r->session);
        r->session = NULL;
    }
    const omv_board *b = r->b;
    const omv_request *req = r->req;
    struct omv_match boot = {.ids = b->boot_ids, .n_ids = b->n_boot_ids,
                             .serial = r->info.serial[0] ? r->info.serial : req->serial,
                             .port_path = r->info.serial[0] ? req->port_path : r->info.port_path};
    struct omv_match app = {.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = boot.port_path};
    uint32_t wait = req->wait_ms == OMV_WAIT_DEFAULT ? b->wait_ms : req->wait_ms;
    omvi_wait_req wr = {.boot = &boot, .app = b->n_app_ids && r->set.ne ? &app : NULL, .wait_ms = wait,
                        .cb = r->cb, .cancel = req->cancel};
    omvi_wait_result got;
    omv_status st = omvi_wait_bootloader(&r->set, &wr, &got, err);
    if (st != OMV_OK)
        return st;
    if (got.active != r->active) {
        omv_error e;
        r->ops = omvi_tops(&r->set, got.active);
        r->ops->finish(got.session, 0, &e);
        r->ops->close(got.session);
        r->ops = omvi_tops(&r->set, r->active);
        return omv_error_set(err, OMV_E_MISMATCH, "the camera came back in its %s bootloader, not the %s one",
                             b->transports[got.active], b->transports[r->active]);
    }
    r->session = got.session;
    r->info = got.info;
    omvi_emit(r->cb, &(omv_event){.type = OMV_EV_DEVICE, .device = &r->info});
    free(r->dev);
    r->dev = NULL;
    r->n_dev = 0;
    return omvi_run_device_partitions(r);
}

/* Back to a state in which the partition can be written again. */
static omv_status bring_back(omvi_run *r, omv_error *err)
{
    if (r->ops->recover) {
        omv_status st = r->ops->recover(r->session, err);
        if (st != OMV_E_NO_DEVICE)
            return st;
        omvi_log(r->cb, OMV_LOG_INFO, "%s; waiting for the camera to come back", err->msg);
    }
    return reopen(r, err);
}

static void emit_retry(const omvi_run *r, const omvi_step *s, uint32_t attempt, uint32_t max, const omv_error *e)
{
    omv_event ev = {.type = OMV_EV_RETRY, .step = "write", .partition = r->b->parts[s->part].name,
                    .file = s->path, .total = s->size, .index = r->h->index, .count = r->h->count,
                    .attempt = (int)attempt, .retries = (int)max, .status = e->code, .message = e->msg,
                    .error = e};
    omvi_emit(r->cb, &ev);
}

omv_status omvi_run_write_retrying(omvi_run *r, const omvi_step *s)
{
    const uint32_t max = retries_of(r);
    for (uint32_t attempt = 1;; attempt++) {
        omv_status st = omvi_run_step(r, s);
        if (st == OMV_OK || st == OMV_E_CANCELLED || !r->err->retriable || attempt > max)
            return st;
        omv_error failed = *r->err; /* what the run ends with if the camera cannot be brought back */
        emit_retry(r, s, attempt, max, &failed);
        omv_error why;
        omv_error_clear(&why);
        st = bring_back(r, &why);
        if (st == OMV_E_CANCELLED) {
            *r->err = why;
            return st;
        }
        if (st != OMV_OK) {
            *r->err = failed;
            size_t len = strlen(r->err->msg);
            snprintf(r->err->msg + len, sizeof r->err->msg - len, " (not retried: %s)", why.msg);
            return failed.code;
        }
    }
}
