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
 *              show the camera again in app mode (same camera: DONE) or in
 *              its bootloader with the same serial (DONE); a bootloader with
 *              another serial is a new camera. Empty after the window: free.
 *   DONE       flashed (or failed) in this appearance: never flashed again
 *              until a scan shows no device at all on the port.
 *
 * A port leaves the table (eligible again) when a scan shows it empty in
 * DONE, or in REBOOTING after the window. Output from workers is
 * serialised by one mutex; each worker has its own struct cli_output whose
 * serial and port are known from the scan, so every JSON event carries them.
 */
#define _POSIX_C_SOURCE 200809L
#include "watch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_output.h"
#include "json_writer.h"

/* Scan interval without hot-plug (the portable path). */
#define WATCH_POLL_MS 100u
/* With hot-plug: a safety scan this often (e.g. a tty node that appears after its USB device's event). */
#define WATCH_SAFETY_SCAN_MS 1000u
/* How often finished workers are collected while some run. */
#define WATCH_REAP_MS 50u
/* After a successful flash with reset, how long the port may stay empty or show the same camera again. */
#define WATCH_REBOOT_MS 10000u
/* Most devices one scan reports. */
#define WATCH_MAX_SCAN 128

enum port_state { PORT_BUSY, PORT_REBOOTING, PORT_DONE };

struct watch;

struct worker {
    struct watch *w;
    pthread_t th;
    int finished;                 /* under w->lock */
    struct cli_output out;        /* this camera's output state */
    FILE *mout, *merr;            /* text mode: lines are prefixed with the port */
    char *mout_buf, *merr_buf;
    size_t mout_len, merr_len;
    char port[32];
    char serial[64];
    omv_request req;
    omv_status st;
    omv_error err;
    uint64_t elapsed_ms;
};

struct port_entry {
    char key[128];
    char port[32];
    char serial[64];              /* serial of the camera last flashed here */
    enum port_state state;
    int seen;                     /* in the current scan */
    uint64_t deadline;            /* REBOOTING */
    struct worker *wk;            /* BUSY */
};

struct watch {
    const struct cli_opts *o;
    const omv_board *board;
    const omv_request *base;
    const volatile sig_atomic_t *stop;
    const volatile sig_atomic_t *abort_flag;
    pthread_mutex_t lock;         /* all output, and worker->finished */
    struct cli_output dout;       /* daemon-level events (plugin logs) */
    struct port_entry *ports;
    size_t n_ports, cap_ports;
    size_t busy;
    unsigned started, handled, succeeded, failed;
    omv_status last;              /* status of the last camera handled (--once) */
    struct omv_device_info scan[WATCH_MAX_SCAN];
    size_t n_scan;
    int scan_overflow;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *dash(const char *s) { return s && s[0] ? s : "-"; }

/* ---- output (callers hold w->lock) ---------------------------------------- */

/* Text mode: copy what cli_output wrote into the worker's memory streams to
 * stdout/stderr, each line prefixed with the camera's port. */
static void copy_prefixed(FILE *mem, char **buf, FILE *to, const char *port)
{
    fflush(mem);
    long len = ftell(mem);
    if (len <= 0)
        return;
    const char *p = *buf, *end = *buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        fprintf(to, "[%s] %.*s\n", port, (int)n, p);
        p += n + (nl ? 1 : 0);
    }
    fflush(to);
    rewind(mem);
}

static void worker_flush(struct worker *k)
{
    if (k->mout)
        copy_prefixed(k->mout, &k->mout_buf, stdout, dash(k->port));
    if (k->merr)
        copy_prefixed(k->merr, &k->merr_buf, stderr, dash(k->port));
}

static void emit_started(struct watch *w, int hotplug)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "watch_started");
        json_str(&j, "board", omv_board_name(w->board));
        json_bool(&j, "hotplug", hotplug);
        json_u64(&j, "max", w->o->max_devices);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        printf("watching for %s cameras (%s)%s; Ctrl-C to stop\n", omv_board_name(w->board),
               hotplug ? "hot-plug" : "polling every 100 ms", w->o->max_devices ? "" : ", forever");
        fflush(stdout);
    }
}

static void emit_appeared(struct watch *w, const struct omv_device_info *d)
{
    if (w->o->json) {
        char id[16];
        snprintf(id, sizeof id, "%04x:%04x", d->vid, d->pid);
        struct json_obj j;
        json_begin(&j, "device_appeared");
        json_str(&j, "serial", d->serial);
        json_str(&j, "port", d->port_path);
        json_str(&j, "id", id);
        json_str(&j, "mode", d->mode);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        printf("camera at %s (serial %s, %s): flashing\n", dash(d->port_path), dash(d->serial), dash(d->mode));
        fflush(stdout);
    }
}

static void emit_result(struct worker *k)
{
    struct watch *w = k->w;
    const char *serial = k->out.serial[0] ? k->out.serial : k->serial;
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "device_result");
        json_str(&j, "serial", serial);
        json_str(&j, "port", k->port);
        json_u64(&j, "exit_code", (uint64_t)k->st);
        json_str(&j, "status", omv_status_name(k->st));
        json_str(&j, "message", k->st == OMV_OK ? "" : k->err.msg);
        json_u64(&j, "elapsed_ms", k->elapsed_ms);
        json_end(&j, stdout);
        return;
    }
    if (k->st == OMV_OK)
        printf("camera at %s (serial %s): OK in %.1f s\n", dash(k->port), dash(serial), (double)k->elapsed_ms / 1000.0);
    else
        printf("camera at %s (serial %s): FAILED (exit %d): %s\n", dash(k->port), dash(serial), (int)k->st,
               k->err.msg[0] ? k->err.msg : omv_status_name(k->st));
    fflush(stdout);
}

static void emit_note(struct watch *w, const char *event, const char *text)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, event);
        json_u64(&j, "in_flight", w->busy);
        json_str(&j, "message", text);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        fprintf(stderr, "omvflashd: %s\n", text);
    }
}

static void emit_finished(struct watch *w, int code, uint64_t elapsed)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "watch_finished");
        json_u64(&j, "exit_code", (uint64_t)code);
        json_u64(&j, "handled", w->handled);
        json_u64(&j, "succeeded", w->succeeded);
        json_u64(&j, "failed", w->failed);
        json_u64(&j, "elapsed_ms", elapsed);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        printf("watch ended: %u camera%s handled, %u OK, %u failed\n", w->handled, w->handled == 1 ? "" : "s",
               w->succeeded, w->failed);
        fflush(stdout);
    }
}

/* omv_callbacks for the watcher's plugin logs (daemon level, no device). */
static void daemon_event(void *user, const omv_event *ev)
{
    struct watch *w = user;
    pthread_mutex_lock(&w->lock);
    cli_output_event(&w->dout, ev);
    pthread_mutex_unlock(&w->lock);
}

/* ---- workers --------------------------------------------------------------- */

static void worker_event(void *user, const omv_event *ev)
{
    struct worker *k = user;
    pthread_mutex_lock(&k->w->lock);
    cli_output_event(&k->out, ev);
    worker_flush(k);
    pthread_mutex_unlock(&k->w->lock);
}

/* Nobody can answer a question for one of several cameras: only --yes accepts. */
static int worker_confirm(void *user, const char *what)
{
    struct worker *k = user;
    (void)what;
    return k->w->o->yes;
}

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    omv_callbacks cb = {.event = worker_event, .confirm = worker_confirm, .user = k,
                        .log_debug = k->w->o->verbosity >= 3};
    uint64_t t0 = now_ms();
    omv_error_clear(&k->err);
    k->st = omv_flash(k->w->board, &k->req, &cb, &k->err);
    k->elapsed_ms = now_ms() - t0;
    pthread_mutex_lock(&k->w->lock);
    worker_flush(k);
    emit_result(k);
    k->finished = 1;
    pthread_mutex_unlock(&k->w->lock);
    return NULL;
}

static void worker_free(struct worker *k)
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
static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static struct worker *worker_start(struct watch *w, const struct omv_device_info *d)
{
    struct worker *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->w = w;
    snprintf(k->port, sizeof k->port, "%s", d->port_path);
    snprintf(k->serial, sizeof k->serial, "%s", d->serial);
    cli_output_init(&k->out, w->o->json, w->o->verbosity);
    k->out.tty = 0; /* no progress bars from several cameras at once */
    snprintf(k->out.serial, sizeof k->out.serial, "%s", d->serial);
    snprintf(k->out.port, sizeof k->out.port, "%s", d->port_path);
    if (!w->o->json) {
        k->mout = open_memstream(&k->mout_buf, &k->mout_len);
        k->merr = open_memstream(&k->merr_buf, &k->merr_len);
        if (!k->mout || !k->merr) {
            worker_free(k);
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
    block_signals(&old);
    int r = pthread_create(&k->th, NULL, worker_main, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        worker_free(k);
        return NULL;
    }
    return k;
}

/* ---- the port table ------------------------------------------------------------ */

static void key_of(const struct omv_device_info *d, char *key, size_t n)
{
    if (d->port_path[0])
        snprintf(key, n, "%s", d->port_path);
    else
        snprintf(key, n, "%04x:%04x:%s", d->vid, d->pid, d->serial);
}

static struct port_entry *find_port(struct watch *w, const char *key)
{
    for (size_t i = 0; i < w->n_ports; i++)
        if (strcmp(w->ports[i].key, key) == 0)
            return &w->ports[i];
    return NULL;
}

static struct port_entry *add_port(struct watch *w, const char *key)
{
    if (w->n_ports == w->cap_ports) {
        size_t cap = w->cap_ports ? 2 * w->cap_ports : 16;
        struct port_entry *v = realloc(w->ports, cap * sizeof *v);
        if (!v)
            return NULL;
        w->ports = v;
        w->cap_ports = cap;
    }
    struct port_entry *p = &w->ports[w->n_ports++];
    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", key);
    return p;
}

static void remove_port(struct watch *w, size_t i)
{
    w->ports[i] = w->ports[--w->n_ports];
}

static int may_start(const struct watch *w)
{
    return !*w->stop && (!w->o->max_devices || w->started < w->o->max_devices);
}

/* Start a worker for @p d on @p p (new or reused entry). */
static void start_on(struct watch *w, struct port_entry *p, const struct omv_device_info *d)
{
    pthread_mutex_lock(&w->lock);
    emit_appeared(w, d);
    pthread_mutex_unlock(&w->lock);
    struct worker *k = worker_start(w, d);
    if (!k) {
        pthread_mutex_lock(&w->lock);
        emit_note(w, "watch_error", "cannot start a worker (out of memory or threads); camera skipped");
        pthread_mutex_unlock(&w->lock);
        p->state = PORT_DONE;
        return;
    }
    snprintf(p->port, sizeof p->port, "%s", d->port_path);
    snprintf(p->serial, sizeof p->serial, "%s", d->serial);
    p->state = PORT_BUSY;
    p->wk = k;
    w->started++;
    w->busy++;
}

static int wanted(const struct watch *w, const struct omv_device_info *d)
{
    if (w->o->port && strcmp(w->o->port, d->port_path) != 0)
        return 0;
    if (w->o->serial && strcmp(w->o->serial, d->serial) != 0)
        return 0;
    return 1;
}

static void on_scan(void *user, const struct omv_device_info *dev)
{
    struct watch *w = user;
    if (w->n_scan < WATCH_MAX_SCAN)
        w->scan[w->n_scan++] = *dev;
    else
        w->scan_overflow = 1;
}

/* Apply one scan's result to the table. */
static void update(struct watch *w)
{
    uint64_t now = now_ms();
    for (size_t i = 0; i < w->n_ports; i++)
        w->ports[i].seen = 0;
    for (size_t s = 0; s < w->n_scan; s++) {
        const struct omv_device_info *d = &w->scan[s];
        if (!wanted(w, d))
            continue;
        char key[128];
        key_of(d, key, sizeof key);
        struct port_entry *p = find_port(w, key);
        if (p) {
            p->seen = 1;
            if (p->state != PORT_REBOOTING)
                continue; /* BUSY: its own re-enumeration; DONE: already handled */
            int app = strcmp(d->mode, "bootloader") != 0;
            if (app || !d->serial[0] || !p->serial[0] || strcmp(d->serial, p->serial) == 0) {
                p->state = PORT_DONE; /* the flashed camera, back */
                continue;
            }
            if (may_start(w))
                start_on(w, p, d); /* another camera's bootloader on that port */
            continue;
        }
        if (!may_start(w))
            continue;
        p = add_port(w, key);
        if (!p)
            continue;
        p->seen = 1;
        start_on(w, p, d);
    }
    for (size_t i = 0; i < w->n_ports;) {
        struct port_entry *p = &w->ports[i];
        int gone = !p->seen && (p->state == PORT_DONE || (p->state == PORT_REBOOTING && now >= p->deadline));
        if (gone)
            remove_port(w, i);
        else
            i++;
    }
}

/* Collect finished workers. @return how many finished. */
static int reap(struct watch *w)
{
    int n = 0;
    for (size_t i = 0; i < w->n_ports; i++) {
        struct port_entry *p = &w->ports[i];
        if (p->state != PORT_BUSY || !p->wk)
            continue;
        pthread_mutex_lock(&w->lock);
        int fin = p->wk->finished;
        pthread_mutex_unlock(&w->lock);
        if (!fin)
            continue;
        pthread_join(p->wk->th, NULL);
        struct worker *k = p->wk;
        w->handled++;
        w->last = k->st;
        if (k->st == OMV_OK)
            w->succeeded++;
        else
            w->failed++;
        if (k->out.serial[0])
            snprintf(p->serial, sizeof p->serial, "%s", k->out.serial); /* the bootloader's serial */
        if (k->st == OMV_OK && !k->req.no_reset) {
            p->state = PORT_REBOOTING;
            p->deadline = now_ms() + WATCH_REBOOT_MS;
        } else {
            p->state = PORT_DONE;
        }
        p->wk = NULL;
        worker_free(k);
        w->busy--;
        n++;
    }
    return n;
}

int cli_watch(const struct cli_opts *o, const omv_board *board, const omv_request *base,
              const volatile sig_atomic_t *stop, const volatile sig_atomic_t *abort_flag)
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
    w->stop = stop;
    w->abort_flag = abort_flag;
    pthread_mutex_init(&w->lock, NULL);
    cli_output_init(&w->dout, o->json, o->verbosity);
    uint64_t t0 = now_ms();

    /* Check the plan, images and plugins once, before watching: a bad
     * firmware dir is a configuration error (exit 5), not a camera's. */
    omv_request check = *base;
    check.dry_run = 1;
    check.port_path = NULL;
    check.serial = NULL;
    omv_status st = omv_flash(board, &check, NULL, &err);
    omv_watcher *watcher = NULL;
    if (st == OMV_OK) {
        omv_callbacks dcb = {.event = daemon_event, .user = w};
        sigset_t old;
        block_signals(&old); /* libusb threads started here must not take the signals */
        st = omv_watcher_open(board, base->plugin_dir, &dcb, stop, &watcher, &err);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (st != OMV_OK) {
        cli_output_error(&eout, st, err.msg);
        cli_output_finished(&eout, st);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return (int)st;
    }
    int hotplug = omv_watcher_hotplug(watcher);
    pthread_mutex_lock(&w->lock);
    emit_started(w, hotplug);
    pthread_mutex_unlock(&w->lock);

    int need_scan = 1, stop_noted = 0, abort_noted = 0;
    uint64_t next_scan = 0;
    for (;;) {
        if (reap(w))
            need_scan = 1; /* a finished port may already be empty */
        if (*stop && !stop_noted) {
            stop_noted = 1;
            pthread_mutex_lock(&w->lock);
            emit_note(w, "watch_stopping",
                      w->busy ? "stopping: letting the cameras in flight finish (signal again to cancel them)"
                              : "stopping");
            pthread_mutex_unlock(&w->lock);
        }
        if (*abort_flag && !abort_noted) {
            abort_noted = 1;
            pthread_mutex_lock(&w->lock);
            emit_note(w, "watch_cancelling", "cancelling the cameras in flight");
            pthread_mutex_unlock(&w->lock);
        }
        int limit_reached = o->max_devices && w->handled >= o->max_devices;
        if ((*stop || limit_reached) && w->busy == 0)
            break;
        if (*stop || (o->max_devices && w->started >= o->max_devices)) {
            sleep_ms(WATCH_REAP_MS); /* only waiting for workers now */
            continue;
        }
        uint64_t now = now_ms();
        if (need_scan || now >= next_scan) {
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
            st = omv_watcher_scan(watcher, busy, nb, on_scan, w, &serr);
            if (st != OMV_OK) {
                /* A bus that cannot be enumerated now may work later: keep serving. */
                char msg[sizeof serr.msg + 32];
                snprintf(msg, sizeof msg, "scan failed: %s", serr.msg);
                pthread_mutex_lock(&w->lock);
                emit_note(w, "watch_error", msg);
                pthread_mutex_unlock(&w->lock);
            } else {
                update(w);
            }
            need_scan = 0;
            now = now_ms();
            next_scan = now + (hotplug ? WATCH_SAFETY_SCAN_MS : WATCH_POLL_MS);
        }
        uint64_t timeout = next_scan > now ? next_scan - now : 0;
        if (w->busy && timeout > WATCH_REAP_MS)
            timeout = WATCH_REAP_MS;
        omv_error werr;
        omv_error_clear(&werr);
        st = omv_watcher_wait(watcher, (uint32_t)timeout, &werr);
        if (st == OMV_OK && hotplug)
            need_scan = 1;
        else if (st != OMV_OK && st != OMV_E_TIMEOUT && st != OMV_E_CANCELLED)
            sleep_ms(WATCH_POLL_MS);
    }

    int code;
    if (*stop)
        code = 0; /* an orderly stop; each camera's outcome is in its result */
    else if (o->once)
        code = (int)w->last;
    else
        code = w->failed ? 1 : 0;
    pthread_mutex_lock(&w->lock);
    emit_finished(w, code, now_ms() - t0);
    pthread_mutex_unlock(&w->lock);
    omv_watcher_close(watcher);
    free(w->ports);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return code;
}
