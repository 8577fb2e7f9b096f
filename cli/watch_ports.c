/* omvflashd --watch: the port table (see watch.c for the states). Main thread only. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "watch_internal.h"

/* The table's key: the library's device identity (the port path, or VID:PID:serial without one). */
static void key_of(const struct omv_device_info *d, char *key, size_t n)
{
    omv_device_key(d, key, n);
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

/* A new camera may join: not after a stop signal, and with --max N only as
 * many as are still to be handled (started or waiting). */
static int may_admit(const struct watch *w)
{
    return !omv_cancel_requested(w->stop) &&
           (!w->o->max_devices || w->started + omv_job_queue_waiting(w->jobs) < w->o->max_devices);
}

static void note(struct watch *w, const char *text)
{
    pthread_mutex_lock(&w->lock);
    watch_emit_note(w, "watch_error", text);
    pthread_mutex_unlock(&w->lock);
}

/* Start the worker for the camera last seen on @p p (its job is counted as running). */
static void start_on(struct watch *w, struct port_entry *p)
{
    struct worker *k = watch_worker_start(w, &p->dev, p->slot, p->retry);
    if (!k) {
        omv_job_queue_remove(w->jobs, p->key);
        note(w, "cannot start a worker (out of memory or threads); camera skipped");
        p->state = PORT_DONE;
        return;
    }
    snprintf(p->port, sizeof p->port, "%s", p->dev.port_path);
    snprintf(p->serial, sizeof p->serial, "%s", p->dev.serial);
    p->state = PORT_BUSY;
    p->wk = k;
    w->started++;
    w->busy++;
    pthread_mutex_lock(&w->lock);
    watch_emit_device_started(w, p);
    pthread_mutex_unlock(&w->lock);
}

/* A camera @p d arrived on @p p (a new entry, or a new camera on a rebooting
 * port): it starts at once or waits for its turn (--jobs). */
static void arrive(struct watch *w, struct port_entry *p, const struct omv_device_info *d)
{
    p->dev = *d;
    const char *slot = omv_slots_lookup(w->slots, d->port_path);
    snprintf(p->slot, sizeof p->slot, "%s", slot ? slot : "");
    pthread_mutex_lock(&w->lock);
    watch_emit_appeared(w, p);
    pthread_mutex_unlock(&w->lock);
    int started = 0;
    size_t position = 0;
    omv_error err;
    omv_error_clear(&err);
    if (omv_job_queue_submit(w->jobs, p->key, &started, &position, &err) != OMV_OK) {
        note(w, err.msg);
        p->state = PORT_DONE;
        return;
    }
    if (started) {
        start_on(w, p);
        return;
    }
    p->state = PORT_QUEUED;
    pthread_mutex_lock(&w->lock);
    watch_emit_waiting(w, p, position);
    pthread_mutex_unlock(&w->lock);
}

void watch_start_queued(struct watch *w)
{
    char key[OMV_JOB_KEY_MAX];
    while (!omv_cancel_requested(w->stop) && omv_job_queue_next(w->jobs, key, sizeof key)) {
        struct port_entry *p = find_port(w, key);
        if (p && p->state == PORT_QUEUED)
            start_on(w, p);
        else
            omv_job_queue_remove(w->jobs, key); /* cannot happen: queued keys are QUEUED entries */
    }
}

static int wanted(const struct watch *w, const struct omv_device_info *d)
{
    if (w->o->port && strcmp(w->o->port, d->port_path) != 0)
        return 0;
    if (w->o->serial && strcmp(w->o->serial, d->serial) != 0)
        return 0;
    return 1;
}

void watch_on_scan(void *user, const struct omv_device_info *dev)
{
    struct watch *w = user;
    if (w->n_scan < WATCH_MAX_SCAN)
        w->scan[w->n_scan++] = *dev;
    else
        w->scan_overflow = 1;
}

/* Port paths in natural order ("1-2" < "1-2.1" < "1-10"): numbers compare as numbers. */
static int port_cmp(const void *a, const void *b)
{
    const char *x = ((const struct omv_device_info *)a)->port_path;
    const char *y = ((const struct omv_device_info *)b)->port_path;
    while (*x && *y) {
        if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
            char *ex, *ey;
            unsigned long nx = strtoul(x, &ex, 10), ny = strtoul(y, &ey, 10);
            if (nx != ny)
                return nx < ny ? -1 : 1;
            x = ex;
            y = ey;
        } else if (*x != *y) {
            return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
        } else {
            x++;
            y++;
        }
    }
    return (unsigned char)*x - (unsigned char)*y;
}

/* Whether port entry @p p is to be forgotten after a scan at @p now: a port
 * that is not being flashed is empty once two scans WATCH_ABSENT_MS apart did
 * not see it (REBOOTING: and its window is over). */
static int gone(struct watch *w, struct port_entry *p, uint64_t now)
{
    if (p->state == PORT_RECOVERING) {
        p->absent_seen |= !p->seen; /* power-cycled: it leaves for a while */
        return !p->seen && now >= p->deadline;
    }
    if (p->seen || p->state == PORT_BUSY) {
        p->missing_since = 0;
        return 0;
    }
    if (!p->missing_since)
        p->missing_since = now;
    if (now - p->missing_since < WATCH_ABSENT_MS) {
        uint64_t at = p->missing_since + WATCH_ABSENT_MS;
        if (!w->rescan_at || at < w->rescan_at)
            w->rescan_at = at; /* confirm it soon */
        return 0;
    }
    return p->state != PORT_REBOOTING || now >= p->deadline;
}

/* A camera given to --on-stuck did not come back in WATCH_RECOVER_MS: it is
 * handled now, as failed (its last run's result, exit 11, stands). */
static void recovery_failed(struct watch *w, struct port_entry *p, const char *why)
{
    char msg[160];
    char label[96];
    watch_camera_label(label, sizeof label, p->port, p->slot);
    snprintf(msg, sizeof msg, "%s (serial %s) %s within %u s", label, watch_dash(p->serial), why,
             WATCH_RECOVER_MS / 1000u);
    note(w, msg);
    w->started++;
    w->handled++;
    w->failed++;
    w->last = OMV_E_TIMEOUT;
    p->state = PORT_DONE;
}

/* Apply one scan's result to the table. Cameras new in the same scan arrive
 * in port order, so a line plugged in at once is flashed in port order. */
void watch_update(struct watch *w)
{
    uint64_t now = watch_now_ms();
    qsort(w->scan, w->n_scan, sizeof w->scan[0], port_cmp);
    for (size_t i = 0; i < w->n_ports; i++)
        w->ports[i].seen = 0;
    for (size_t s = 0; s < w->n_scan; s++) {
        const struct omv_device_info *d = &w->scan[s];
        if (!wanted(w, d))
            continue;
        char key[OMV_JOB_KEY_MAX];
        key_of(d, key, sizeof key);
        struct port_entry *p = find_port(w, key);
        if (p) {
            p->seen = 1;
            if (p->state == PORT_QUEUED)
                p->dev = *d; /* e.g. its bootloader's window ended and it runs its application now */
            if (p->state == PORT_RECOVERING) {
                if (p->absent_seen && may_admit(w))
                    arrive(w, p, d); /* back after --on-stuck: flash it again */
                continue;
            }
            if (p->state != PORT_REBOOTING)
                continue; /* BUSY: its own re-enumeration; DONE: already handled; QUEUED: waiting */
            /* Modes: "bootloader", "legacy bootloader", "app". */
            if (!strstr(d->mode, "bootloader")) {
                p->state = PORT_DONE; /* the flashed camera, back in its application */
                continue;
            }
            /* Its own bootloader (same serial; the legacy one's is shared)
             * has not left yet, or shows its boot window: still rebooting.
             * Taking that for "back" freed the port at the gap before the
             * application, which was then flashed a second time. */
            if (!d->serial[0] || !p->serial[0] || strcmp(d->serial, p->serial) == 0)
                continue;
            if (may_admit(w))
                arrive(w, p, d); /* another camera's bootloader on that port */
            continue;
        }
        if (!may_admit(w))
            continue;
        p = add_port(w, key);
        if (!p)
            continue;
        p->seen = 1;
        arrive(w, p, d);
    }
    w->rescan_at = 0;
    for (size_t i = 0; i < w->n_ports;) {
        struct port_entry *p = &w->ports[i];
        if (p->state == PORT_REBOOTING && now >= p->deadline && p->seen)
            p->state = PORT_DONE; /* stayed in its bootloader: do not flash it again */
        if (p->state == PORT_RECOVERING && now >= p->deadline && p->seen)
            recovery_failed(w, p, "did not leave its port after --on-stuck"); /* -> DONE */
        if (gone(w, p, now)) {
            if (p->state == PORT_RECOVERING)
                recovery_failed(w, p, "did not come back after --on-stuck");
            if (p->state == PORT_QUEUED) {
                omv_job_queue_remove(w->jobs, p->key);
                pthread_mutex_lock(&w->lock);
                watch_emit_left(w, p);
                pthread_mutex_unlock(&w->lock);
            }
            remove_port(w, i);
        } else {
            i++;
        }
    }
    watch_start_queued(w);
}

/* Collect finished workers. @return how many finished. */
int watch_reap(struct watch *w)
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
        if (k->out.serial[0])
            snprintf(p->serial, sizeof p->serial, "%s", k->out.serial); /* the bootloader's serial */
        if (k->stuck) {
            /* Not handled yet: --on-stuck ran, the camera is to come back and
             * be flashed again (then counted, once). */
            w->started--;
            p->state = PORT_RECOVERING;
            p->deadline = watch_now_ms() + WATCH_RECOVER_MS;
            p->absent_seen = 0;
            p->retry = 1;
            goto free_worker;
        }
        w->handled++;
        w->last = k->st;
        if (k->st == OMV_OK)
            w->succeeded++;
        else
            w->failed++;
        p->retry = 0;
        if (k->st == OMV_OK && !k->req.no_reset) {
            p->state = PORT_REBOOTING;
            p->deadline = watch_now_ms() + WATCH_REBOOT_MS;
        } else {
            p->state = PORT_DONE;
        }
    free_worker:
        metrics_camera_done(w->metrics, k->st, k->elapsed_ms, camera_record_bytes_written(&k->rec));
        p->wk = NULL;
        watch_worker_free(k);
        omv_job_queue_remove(w->jobs, p->key);
        w->busy--;
        n++;
    }
    return n;
}
