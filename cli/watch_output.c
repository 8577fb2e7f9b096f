/* omvflashd --watch: the daemon's own events and the text-mode prefixing of
 * each camera's lines. Callers hold w->lock (one writer at a time). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "json_writer.h"
#include "watch_internal.h"

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

void watch_worker_flush(struct worker *k)
{
    /* "[A1 1-2.3] ..." with a slot, "[1-2.3] ..." without */
    char prefix[OMV_SLOT_NAME_MAX + 40];
    snprintf(prefix, sizeof prefix, "%s%s%s", k->slot, k->slot[0] ? " " : "", watch_dash(k->port));
    if (k->mout)
        copy_prefixed(k->mout, &k->mout_buf, stdout, prefix);
    if (k->merr)
        copy_prefixed(k->merr, &k->merr_buf, stderr, prefix);
}

void watch_camera_label(char *buf, size_t n, const char *port, const char *slot)
{
    snprintf(buf, n, "camera%s%s at %s", slot && slot[0] ? " " : "", slot ? slot : "", watch_dash(port));
}

void watch_emit_watch_started(struct watch *w, int hotplug)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "watch_started");
        json_str(&j, "board", omv_board_name(w->board));
        json_bool(&j, "hotplug", hotplug);
        json_u64(&j, "max", w->o->max_devices);
        json_u64(&j, "jobs", w->o->jobs);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        char jobs[48] = "";
        if (w->o->jobs)
            snprintf(jobs, sizeof jobs, ", at most %u at once", w->o->jobs);
        printf("watching for %s cameras (%s%s)%s; Ctrl-C to stop\n", omv_board_name(w->board),
               hotplug ? "hot-plug" : "polling every 100 ms", jobs, w->o->max_devices ? "" : ", forever");
        fflush(stdout);
    }
}

/* JSON: the camera's identity, as every per-camera event carries it. */
static void json_camera(struct json_obj *j, const struct port_entry *p)
{
    json_str(j, "serial", p->dev.serial);
    json_str(j, "port", p->dev.port_path);
    json_str(j, "slot", p->slot[0] ? p->slot : NULL);
}

void watch_emit_appeared(struct watch *w, const struct port_entry *p)
{
    if (!w->o->json)
        return; /* text: the waiting or flashing line says it */
    char id[16];
    snprintf(id, sizeof id, "%04x:%04x", p->dev.vid, p->dev.pid);
    struct json_obj j;
    json_begin(&j, "device_appeared");
    json_camera(&j, p);
    json_str(&j, "id", id);
    json_str(&j, "mode", p->dev.mode);
    json_end(&j, stdout);
}

void watch_emit_waiting(struct watch *w, const struct port_entry *p, size_t position)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "device_waiting");
        json_camera(&j, p);
        json_u64(&j, "position", position);
        json_u64(&j, "in_progress", w->busy);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        char label[96];
        watch_camera_label(label, sizeof label, p->dev.port_path, p->slot);
        printf("%s (serial %s, %s): waiting, number %zu in line (%zu in progress)\n", label,
               watch_dash(p->dev.serial), watch_dash(p->dev.mode), position, w->busy);
        fflush(stdout);
    }
}

void watch_emit_device_started(struct watch *w, const struct port_entry *p)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "device_started");
        json_camera(&j, p);
        json_u64(&j, "in_progress", w->busy);
        json_u64(&j, "waiting", omv_job_queue_waiting(w->jobs));
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        char label[96];
        watch_camera_label(label, sizeof label, p->dev.port_path, p->slot);
        printf("%s (serial %s, %s): flashing\n", label, watch_dash(p->dev.serial), watch_dash(p->dev.mode));
        fflush(stdout);
    }
}

void watch_emit_stuck(struct worker *k, const char *outcome)
{
    struct watch *w = k->w;
    const char *serial = k->out.serial[0] ? k->out.serial : k->serial;
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, outcome ? "device_recovering" : "device_stuck");
        json_str(&j, "serial", serial);
        json_str(&j, "port", k->port);
        json_str(&j, "slot", k->slot[0] ? k->slot : NULL);
        json_str(&j, "command", w->o->on_stuck);
        if (outcome) {
            json_str(&j, "outcome", outcome);
            json_u64(&j, "wait_ms", WATCH_RECOVER_MS);
        } else {
            json_str(&j, "message", k->err.msg);
        }
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        char label[96];
        watch_camera_label(label, sizeof label, k->port, k->slot);
        if (outcome)
            printf("%s (serial %s): --on-stuck ended (%s); waiting up to %u s for the camera to come back\n", label,
                   watch_dash(serial), outcome, WATCH_RECOVER_MS / 1000u);
        else
            printf("%s (serial %s): stopped answering; running --on-stuck\n", label, watch_dash(serial));
        fflush(stdout);
    }
}

void watch_emit_left(struct watch *w, const struct port_entry *p)
{
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "device_left");
        json_camera(&j, p);
        json_str(&j, "message", "left its port before its turn");
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        char label[96];
        watch_camera_label(label, sizeof label, p->dev.port_path, p->slot);
        printf("%s (serial %s): left before its turn\n", label, watch_dash(p->dev.serial));
        fflush(stdout);
    }
}

void watch_emit_result(struct worker *k)
{
    struct watch *w = k->w;
    const char *serial = k->out.serial[0] ? k->out.serial : k->serial;
    if (w->o->json) {
        struct json_obj j;
        json_begin(&j, "device_result");
        json_str(&j, "serial", serial);
        json_str(&j, "port", k->port);
        json_str(&j, "slot", k->slot[0] ? k->slot : NULL);
        json_u64(&j, "exit_code", (uint64_t)k->st);
        json_str(&j, "status", omv_status_name(k->st));
        json_str(&j, "message", k->st == OMV_OK ? "" : k->err.msg);
        json_u64(&j, "elapsed_ms", k->elapsed_ms);
        if (w->fleet->report)
            json_bool(&j, "recorded", k->recorded);
        json_end(&j, stdout);
        return;
    }
    char label[96];
    watch_camera_label(label, sizeof label, k->port, k->slot);
    if (k->st == OMV_OK)
        printf("%s (serial %s): OK in %.1f s\n", label, watch_dash(serial), (double)k->elapsed_ms / 1000.0);
    else
        printf("%s (serial %s): FAILED (exit %d): %s\n", label, watch_dash(serial), (int)k->st,
               k->err.msg[0] ? k->err.msg : omv_status_name(k->st));
    fflush(stdout);
}

void watch_emit_note(struct watch *w, const char *event, const char *text)
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

void watch_emit_finished(struct watch *w, int code, uint64_t elapsed)
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
        /* The last line of every run, as without --watch. */
        json_begin(&j, "finished");
        json_u64(&j, "exit_code", (uint64_t)code);
        json_str(&j, "status", omv_status_name((omv_status)code));
        json_u64(&j, "elapsed_ms", elapsed);
        json_end(&j, stdout);
    } else if (w->o->verbosity >= 1) {
        printf("watch ended: %u camera%s handled, %u OK, %u failed\n", w->handled, w->handled == 1 ? "" : "s",
               w->succeeded, w->failed);
        fflush(stdout);
    }
}

/* omv_callbacks for the watcher's plugin logs (daemon level, no device). */
void watch_daemon_event(void *user, const omv_event *ev)
{
    struct watch *w = user;
    pthread_mutex_lock(&w->lock);
    cli_output_event(&w->dout, ev);
    pthread_mutex_unlock(&w->lock);
}
