/*
 * omvflashd --watch: what the main loop (watch.c), the port table
 * (watch_ports.c), the workers (watch_worker.c) and the daemon's own output
 * (watch_output.c) share. Only the main thread touches the port table;
 * w->lock serialises all output and worker->finished.
 */
#ifndef OMVFLASHD_WATCH_INTERNAL_H
#define OMVFLASHD_WATCH_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include <omvflash/omvflash.h>

#include "cli_args.h"
#include "cli_output.h"
#include "fleet.h"
#include "metrics_file.h"
#include "service_notify.h"

/* Scan interval without hot-plug (the portable path). */
#define WATCH_POLL_MS 100u
/* With hot-plug: a safety scan this often (e.g. a tty node that appears after its USB device's event). */
#define WATCH_SAFETY_SCAN_MS 1000u
/* How often finished workers are collected while some run. */
#define WATCH_REAP_MS 50u
/* After a successful flash with reset, how long the port may stay empty or show the same camera again. */
#define WATCH_REBOOT_MS 10000u
/* A port counts as empty only after two scans at least this far apart found
 * nothing on it: one listing may miss a device that is there (its sysfs
 * entries read while another camera's port is being removed), and a DONE
 * port taken for empty would flash its camera again. No one unplugs a camera
 * and plugs another in within this. */
#define WATCH_ABSENT_MS 150u
/* After --on-stuck ran: how long the camera has to leave its port and come back. */
#define WATCH_RECOVER_MS 60000u
/* Most devices one scan reports. */
#define WATCH_MAX_SCAN 128

enum port_state { PORT_QUEUED, PORT_BUSY, PORT_REBOOTING, PORT_RECOVERING, PORT_DONE };

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
    char slot[OMV_SLOT_NAME_MAX]; /* "" when the port has no slot */
    struct camera_record rec;     /* --report: this run's record */
    int saw_device;               /* the camera was opened in this run */
    int retry;                    /* this run follows --on-stuck: no second one */
    int stuck;                    /* it stopped answering and --on-stuck ran */
    int recorded;                 /* the record is on disk */
    omv_status report_failed;     /* the record could not be written ... */
    char report_msg[OMV_ERROR_MSG_MAX]; /* ... and why */
    omv_request req;
    omv_status st;
    omv_error err;
    uint64_t elapsed_ms;
};

struct port_entry {
    char key[OMV_JOB_KEY_MAX];    /* also its key in w->jobs */
    char port[32];
    char serial[64];              /* serial of the camera last flashed here */
    char slot[OMV_SLOT_NAME_MAX]; /* "" when the port has no slot */
    struct omv_device_info dev;   /* QUEUED: the camera as last seen, flashed when its turn comes */
    enum port_state state;
    int seen;                     /* in the current scan */
    uint64_t missing_since;       /* first scan that did not see it (0: seen in the last scan) */
    int retry;                    /* RECOVERING, and the run after it: --on-stuck already ran */
    int absent_seen;              /* RECOVERING: the camera has left its port */
    uint64_t deadline;            /* REBOOTING */
    struct worker *wk;            /* BUSY */
};

struct watch {
    const struct cli_opts *o;
    const omv_board *board;
    const omv_request *base;
    struct cli_fleet *fleet;      /* --slots, --report */
    const omv_slots *slots;       /* fleet->slots: --slots, or NULL */
    omv_job_queue *jobs;          /* --jobs: who runs, who waits (keys: port_entry.key) */
    struct metrics_file *metrics; /* --metrics, or NULL */
    int metrics_failing;          /* the last write failed (said once) */
    struct service_notify *notify; /* started by systemd: READY, STATUS, WATCHDOG; else NULL */
    const omv_cancel *stop;       /* the first signal: stop watching, let cameras in flight finish */
    const omv_cancel *abort_flag; /* the second: every worker's omv_request.cancel */
    pthread_mutex_t lock;         /* all output, and worker->finished */
    struct cli_output dout;       /* daemon-level events (plugin logs) */
    struct port_entry *ports;
    size_t n_ports, cap_ports;
    size_t busy;
    unsigned started, handled, succeeded, failed;
    omv_status last;              /* status of the last camera handled (--once) */
    uint64_t rescan_at;           /* a port's absence is to be confirmed by a scan then (0: none) */
    struct omv_device_info scan[WATCH_MAX_SCAN];
    size_t n_scan;
    int scan_overflow;
};

/* ---- helpers (watch.c) ---- */
uint64_t watch_now_ms(void);
void watch_sleep_ms(unsigned ms);
/** "-" for an empty or NULL string (text output). */
const char *watch_dash(const char *s);

/* ---- output (watch_output.c); callers hold w->lock ---- */
/** Text mode: copy the worker's buffered lines to stdout/stderr, prefixed with its port. */
void watch_worker_flush(struct worker *k);
/** "camera A1 at 1-2.3" (with a slot) or "camera at 1-2.3", for text lines. */
void watch_camera_label(char *buf, size_t n, const char *port, const char *slot);
void watch_emit_watch_started(struct watch *w, int hotplug);
/** A camera was seen on a free port: JSON device_appeared (text: nothing; the next line says what happens). */
void watch_emit_appeared(struct watch *w, const struct port_entry *p);
/** The camera waits for a job slot (--jobs): @p position is its 1-based place in line. */
void watch_emit_waiting(struct watch *w, const struct port_entry *p, size_t position);
/** The camera's worker starts (w->busy already counts it). */
void watch_emit_device_started(struct watch *w, const struct port_entry *p);
/** A waiting camera left its port before its turn. */
void watch_emit_left(struct watch *w, const struct port_entry *p);
/**
 * The camera stopped answering: @p outcome NULL before --on-stuck runs
 * (device_stuck), else how the command ended (device_recovering).
 */
void watch_emit_stuck(struct worker *k, const char *outcome);
void watch_emit_result(struct worker *k);
/** A daemon-level note (watch_error, watch_stopping, ...): JSON event or a stderr line. */
void watch_emit_note(struct watch *w, const char *event, const char *text);
void watch_emit_finished(struct watch *w, int code, uint64_t elapsed);
/** omv_callbacks.event for the watcher's plugin logs (takes w->lock). */
void watch_daemon_event(void *user, const omv_event *ev);

/* ---- workers (watch_worker.c) ---- */
/** Block SIGINT/SIGTERM in the calling thread (threads started meanwhile inherit it); @p old receives the mask. */
void watch_block_signals(sigset_t *old);
/** Unblock SIGINT/SIGTERM in the calling (main) thread, whatever a library left. */
void watch_take_signals(void);
/**
 * Start a worker flashing @p d (in slot @p slot, "" for none; @p retry: after
 * --on-stuck, which then does not run again); NULL when out of memory or threads.
 */
struct worker *watch_worker_start(struct watch *w, const struct omv_device_info *d, const char *slot, int retry);
/** Free a joined (or never started) worker. NULL is a no-op. */
void watch_worker_free(struct worker *k);

/* ---- the port table (watch_ports.c); main thread only ---- */
/** omv_watcher_scan() callback: collect the scan into w->scan. */
void watch_on_scan(void *user, const struct omv_device_info *dev);
/** Apply one scan's result to the port table, queueing and starting workers. */
void watch_update(struct watch *w);
/** Start waiting cameras while the job limit allows (not after a stop signal). */
void watch_start_queued(struct watch *w);
/** Collect finished workers. @return how many finished. */
int watch_reap(struct watch *w);

#endif
