/* omvflashd --watch: one worker thread per camera, running omv_flash() on
 * its port with its own output state. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "on_stuck.h"
#include "watch_internal.h"

static void worker_event(void *user, const omv_event *ev)
{
    struct worker *k = user;
    /* The record first (its fsync outside the output lock): at the end of the
     * run it is on disk before the result is shown. */
    omv_error rerr;
    omv_error_clear(&rerr);
    omv_status rst = cli_fleet_record_event(k->w->fleet, &k->rec, ev, &rerr);
    if (ev->type == OMV_EV_FINISHED)
        k->recorded = k->w->fleet->report && rst == OMV_OK;
    if (ev->type == OMV_EV_DEVICE)
        k->saw_device = 1;
    if (rst != OMV_OK) {
        k->report_failed = rst;
        snprintf(k->report_msg, sizeof k->report_msg, "%s", rerr.msg);
    }
    /* A camera's run ends with its device_result; `finished` ends the
     * process's output, once (a consumer may stop reading at it). */
    if (ev->type == OMV_EV_FINISHED && k->w->o->json)
        return;
    pthread_mutex_lock(&k->w->lock);
    cli_output_event(&k->out, ev);
    watch_worker_flush(k);
    pthread_mutex_unlock(&k->w->lock);
}

/* Nobody can answer a question for one of several cameras: only --yes accepts. */
static int worker_confirm(void *user, const char *what)
{
    struct worker *k = user;
    (void)what;
    return k->w->o->yes;
}

/* The camera stopped answering in the middle of its flash (it was opened,
 * then a request timed out), and --on-stuck may help: once per camera. */
static int stuck(const struct worker *k)
{
    return k->w->o->on_stuck && !k->retry && k->st == OMV_E_TIMEOUT && k->saw_device && k->port[0] &&
           !omv_cancel_requested(k->w->abort_flag);
}

/* --on-stuck CMD for this camera (the port is then RECOVERING: see watch_reap()). */
static void run_on_stuck(struct worker *k)
{
    k->stuck = 1;
    pthread_mutex_lock(&k->w->lock);
    watch_emit_stuck(k, NULL);
    pthread_mutex_unlock(&k->w->lock);
    struct stuck_camera cam = {.port = k->port, .slot = k->slot,
                               .serial = k->out.serial[0] ? k->out.serial : k->serial,
                               .board = k->w->fleet->meta.board};
    char outcome[160];
    on_stuck_run(k->w->o->on_stuck, &cam, k->w->abort_flag, outcome, sizeof outcome);
    pthread_mutex_lock(&k->w->lock);
    watch_emit_stuck(k, outcome);
    pthread_mutex_unlock(&k->w->lock);
}

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    omv_callbacks cb = {.event = worker_event, .confirm = worker_confirm, .user = k,
                        .log_debug = k->w->o->verbosity >= 2};
    uint64_t t0 = watch_now_ms();
    omv_error_clear(&k->err);
    k->st = omv_flash(k->w->board, &k->req, &cb, &k->err);
    k->elapsed_ms = watch_now_ms() - t0;
    if (k->report_failed && k->st == OMV_OK) {
        /* A camera whose record is lost did not succeed: the line relies on it. */
        k->st = k->report_failed;
        snprintf(k->err.msg, sizeof k->err.msg, "%s", k->report_msg);
    }
    pthread_mutex_lock(&k->w->lock);
    watch_worker_flush(k);
    watch_emit_result(k);
    pthread_mutex_unlock(&k->w->lock);
    if (stuck(k))
        run_on_stuck(k);
    pthread_mutex_lock(&k->w->lock);
    k->finished = 1;
    pthread_mutex_unlock(&k->w->lock);
    return NULL;
}

void watch_worker_free(struct worker *k)
{
    if (!k)
        return;
    if (k->mout)
        fclose(k->mout);
    if (k->merr)
        fclose(k->merr);
    free(k->mout_buf);
    free(k->merr_buf);
    free(k);
}

/* Run signal handlers in the main thread only: workers (and the libusb
 * threads their plugins start) inherit a mask blocking SIGINT/SIGTERM. */
void watch_block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* The main thread takes SIGINT/SIGTERM, always. Called once per loop: a
 * library that saves and restores signal masks around its own work can hand
 * the main thread a worker's mask. Debian 12's umockdev preload (0.17.16, the
 * test rig; fixed upstream in commit 284dcf1 "preload: fix sigmask block and
 * restore race") keeps one process-wide copy of the mask it saves around
 * every path lookup: a worker and the main thread looking up paths at the
 * same time swap masks, and the signals stay pending for ever. */
void watch_take_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

struct worker *watch_worker_start(struct watch *w, const struct omv_device_info *d, const char *slot, int retry)
{
    struct worker *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->w = w;
    snprintf(k->port, sizeof k->port, "%s", d->port_path);
    snprintf(k->serial, sizeof k->serial, "%s", d->serial);
    snprintf(k->slot, sizeof k->slot, "%s", slot);
    k->retry = retry;
    camera_record_start(&k->rec, d->serial, d->port_path, slot);
    cli_output_init(&k->out, w->o->json, w->o->verbosity);
    k->out.tty = 0; /* no progress bars from several cameras at once */
    k->out.slots = w->slots;
    snprintf(k->out.serial, sizeof k->out.serial, "%s", d->serial);
    snprintf(k->out.port, sizeof k->out.port, "%s", d->port_path);
    snprintf(k->out.slot, sizeof k->out.slot, "%s", slot);
    if (!w->o->json) {
        k->mout = open_memstream(&k->mout_buf, &k->mout_len);
        k->merr = open_memstream(&k->merr_buf, &k->merr_len);
        if (!k->mout || !k->merr) {
            watch_worker_free(k);
            return NULL;
        }
        k->out.out = k->mout;
        k->out.err = k->merr;
    }
    k->req = *w->base;
    /* The camera is chosen by its port; without one, by its serial. */
    k->req.port_path = k->port[0] ? k->port : NULL;
    if (!k->port[0] && k->serial[0])
        k->req.serial = k->serial;
    k->req.cancel = w->abort_flag;
    sigset_t old;
    watch_block_signals(&old);
    int r = pthread_create(&k->th, NULL, worker_main, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        watch_worker_free(k);
        return NULL;
    }
    return k;
}
