/*
 * omvflashd --watch. One main thread scans (omv_watcher, woken by hot-plug
 * where the transport offers it, else every 100 ms) and keeps a table keyed
 * by USB port path (by VID:PID:serial for devices without one). A camera
 * seen on a port that is not in the table starts a worker thread running
 * omv_flash() with port_path = that port. Per-port states:
 *
 *   BUSY       a worker runs; the camera may vanish and come back (app ->
 *              bootloader -> app) without it counting as a new appearance.
 *   REBOOTING  the worker succeeded and reset the camera into its
 *              application; for WATCH_REBOOT_MS the port may be empty or
 *              show its bootloader with the same serial (not gone yet, or
 *              its boot window) until the camera shows up in app mode
 *              (DONE); a bootloader with another serial is a new camera.
 *              After the window: empty -> free, still a bootloader -> DONE.
 *   DONE       flashed (or failed) in this appearance: never flashed again
 *              until a scan shows no device at all on the port.
 *
 * A port leaves the table (eligible again) when a scan shows it empty in
 * DONE, or in REBOOTING after the window. Output from workers is
 * serialised by one mutex; each worker has its own struct cli_output whose
 * serial and port are known from the scan, so every JSON event carries them.
 *
 * This file is the main loop; the port table is in watch_ports.c, the
 * workers in watch_worker.c, the daemon's own events in watch_output.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "watch.h"

#include <stdlib.h>
#include <time.h>

#include "watch_internal.h"

uint64_t watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void watch_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *watch_dash(const char *s) { return s && s[0] ? s : "-"; }

/* Check the plan, images and plugins once, before watching (a bad firmware
 * dir is a configuration error, exit 5, not a camera's), then load the
 * board's plugins for scanning. */
static omv_status setup(struct watch *w, omv_watcher **watcher, omv_error *err)
{
    omv_request check = *w->base;
    check.dry_run = 1;
    check.port_path = NULL;
    check.serial = NULL;
    omv_status st = omv_flash(w->board, &check, NULL, err);
    if (st == OMV_OK)
        st = omv_job_queue_new(w->o->jobs, &w->jobs, err);
    if (st == OMV_OK && w->o->metrics_file)
        st = metrics_open(w->o->metrics_file, w->fleet->meta.board, &w->metrics, err);
    if (st == OMV_OK) {
        omv_callbacks dcb = {.event = watch_daemon_event, .user = w, .log_debug = w->o->verbosity >= 2};
        sigset_t old;
        watch_block_signals(&old); /* libusb threads started here must not take the signals */
        st = omv_watcher_open(w->board, w->base->plugin_dir, &dcb, w->stop, watcher, err);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return st;
}

/* One scan of the bus, applied to the port table. */
static void scan_once(struct watch *w, omv_watcher *watcher)
{
    w->n_scan = 0;
    w->scan_overflow = 0;
    omv_error serr;
    omv_error_clear(&serr);
    /* Cameras being flashed are not touched by the scan. */
    const char *busy[WATCH_MAX_SCAN];
    size_t nb = 0;
    for (size_t i = 0; i < w->n_ports && nb < WATCH_MAX_SCAN; i++)
        if (w->ports[i].state == PORT_BUSY && w->ports[i].port[0])
            busy[nb++] = w->ports[i].port;
    omv_status st = omv_watcher_scan(watcher, busy, nb, watch_on_scan, w, &serr);
    if (st != OMV_OK) {
        /* A bus that cannot be enumerated now may work later: keep serving. */
        char msg[sizeof serr.msg + 32];
        snprintf(msg, sizeof msg, "scan failed: %s", serr.msg);
        pthread_mutex_lock(&w->lock);
        watch_emit_note(w, "watch_error", msg);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    watch_update(w);
}

/* Say once that the first signal stopped watching, and once that the second cancels. */
static void note_signals(struct watch *w, int *stop_noted, int *abort_noted)
{
    if (omv_cancel_requested(w->stop) && !*stop_noted) {
        *stop_noted = 1;
        service_stopping(w->notify, "stopping: letting the cameras in flight finish");
        pthread_mutex_lock(&w->lock);
        watch_emit_note(w, "watch_stopping",
                        w->busy ? "stopping: letting the cameras in flight finish (signal again to cancel them)"
                                : "stopping");
        pthread_mutex_unlock(&w->lock);
    }
    if (omv_cancel_requested(w->abort_flag) && !*abort_noted) {
        *abort_noted = 1;
        pthread_mutex_lock(&w->lock);
        watch_emit_note(w, "watch_cancelling", "cancelling the cameras in flight");
        pthread_mutex_unlock(&w->lock);
    }
}

/* --metrics: the cameras in progress and waiting now, written if anything
 * changed. A failed write is said once (and again after it worked again);
 * the daemon keeps serving: the metrics are for watching it, the report
 * holds what happened. */
static void update_metrics(struct watch *w)
{
    if (!w->metrics)
        return;
    metrics_set_cameras(w->metrics, w->busy, omv_job_queue_waiting(w->jobs));
    omv_error merr;
    omv_error_clear(&merr);
    omv_status st = metrics_flush(w->metrics, &merr);
    if (st != OMV_OK && !w->metrics_failing) {
        pthread_mutex_lock(&w->lock);
        watch_emit_note(w, "watch_error", merr.msg);
        pthread_mutex_unlock(&w->lock);
    }
    w->metrics_failing = st != OMV_OK;
}

/* systemd (Type=notify): a watchdog ping from this loop, and a STATUS line
 * saying what the daemon does when that changed. */
static void update_service(struct watch *w)
{
    if (!w->notify)
        return;
    service_watchdog(w->notify);
    char status[256];
    snprintf(status, sizeof status, "%s%s cameras: %zu in progress, %zu waiting; %u done (%u OK, %u failed)",
             omv_cancel_requested(w->stop) ? "stopping, " : "watching for ", omv_board_name(w->board), w->busy,
             omv_job_queue_waiting(w->jobs), w->handled, w->succeeded, w->failed);
    service_status(w->notify, status);
}

/* The main loop: scan, start, reap, until a signal or --max ends it. */
static void run_loop(struct watch *w, omv_watcher *watcher, int hotplug)
{
    const struct cli_opts *o = w->o;
    int need_scan = 1, stop_noted = 0, abort_noted = 0;
    uint64_t next_scan = 0;
    for (;;) {
        watch_take_signals();
        if (watch_reap(w)) {
            need_scan = 1; /* a finished port may already be empty */
            watch_start_queued(w);
        }
        note_signals(w, &stop_noted, &abort_noted);
        update_metrics(w);
        update_service(w);
        int limit_reached = o->max_devices && w->handled >= o->max_devices;
        if ((omv_cancel_requested(w->stop) || limit_reached) && w->busy == 0)
            break;
        if (omv_cancel_requested(w->stop) || (o->max_devices && w->started >= o->max_devices)) {
            watch_sleep_ms(WATCH_REAP_MS); /* only waiting for workers now */
            continue;
        }
        uint64_t now = watch_now_ms();
        if (need_scan || now >= next_scan) {
            scan_once(w, watcher);
            need_scan = 0;
            now = watch_now_ms();
            next_scan = now + (hotplug ? WATCH_SAFETY_SCAN_MS : WATCH_POLL_MS);
            if (w->rescan_at && w->rescan_at < next_scan)
                next_scan = w->rescan_at; /* confirm that a port is empty */
        }
        uint64_t timeout = next_scan > now ? next_scan - now : 0;
        if (w->busy && timeout > WATCH_REAP_MS)
            timeout = WATCH_REAP_MS;
        if (timeout > service_watchdog_due_ms(w->notify))
            timeout = service_watchdog_due_ms(w->notify); /* the next ping is due then */
        omv_error werr;
        omv_error_clear(&werr);
        omv_status st = omv_watcher_wait(watcher, (uint32_t)timeout, &werr);
        if (st == OMV_OK && hotplug)
            need_scan = 1;
        else if (st != OMV_OK && st != OMV_E_TIMEOUT && st != OMV_E_CANCELLED)
            watch_sleep_ms(WATCH_POLL_MS);
    }
}

int cli_watch(const struct cli_opts *o, const omv_board *board, const omv_request *base, struct cli_fleet *fleet,
              const omv_cancel *stop, const omv_cancel *abort_flag)
{
    struct watch *w = calloc(1, sizeof *w);
    struct cli_output eout;
    cli_output_init(&eout, o->json, o->verbosity);
    omv_error err;
    omv_error_clear(&err);
    if (!w) {
        cli_output_error(&eout, OMV_E_NOMEM, "out of memory");
        cli_output_finished(&eout, OMV_E_NOMEM);
        return OMV_E_NOMEM;
    }
    w->o = o;
    w->board = board;
    w->base = base;
    w->fleet = fleet;
    w->slots = fleet->slots;
    w->stop = stop;
    w->abort_flag = abort_flag;
    pthread_mutex_init(&w->lock, NULL);
    cli_output_init(&w->dout, o->json, o->verbosity);
    uint64_t t0 = watch_now_ms();

    omv_watcher *watcher = NULL;
    omv_status st = setup(w, &watcher, &err);
    int code;
    if (st != OMV_OK) {
        cli_output_error(&eout, st, err.msg);
        cli_output_finished(&eout, st);
        code = (int)st;
    } else {
        int hotplug = omv_watcher_hotplug(watcher);
        pthread_mutex_lock(&w->lock);
        watch_emit_watch_started(w, hotplug);
        pthread_mutex_unlock(&w->lock);
        w->notify = service_notify_open();
        char status[160];
        snprintf(status, sizeof status, "watching for %s cameras", omv_board_name(board));
        service_ready(w->notify, status);
        run_loop(w, watcher, hotplug);
        update_metrics(w);
        if (omv_cancel_requested(stop))
            code = 0; /* an orderly stop; each camera's outcome is in its result */
        else if (o->once)
            code = (int)w->last;
        else
            code = w->failed ? 1 : 0;
        pthread_mutex_lock(&w->lock);
        watch_emit_finished(w, code, watch_now_ms() - t0);
        pthread_mutex_unlock(&w->lock);
    }
    omv_watcher_close(watcher);
    omv_job_queue_free(w->jobs);
    metrics_close(w->metrics);
    service_notify_close(w->notify);
    free(w->ports);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return code;
}
