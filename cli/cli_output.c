/* omvflashd output: human text (progress bar on a TTY) or JSON lines. */
#define _POSIX_C_SOURCE 200809L
#include "cli_output.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "json_writer.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double since_s(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void cli_output_init(struct cli_output *o, int json, int verbosity)
{
    memset(o, 0, sizeof *o);
    o->out = stdout;
    o->err = stderr;
    o->json = json;
    o->verbosity = verbosity;
    o->tty = !json && isatty(fileno(stdout));
    o->last_percent = -1;
}

static const char *level_name(enum omv_log_level l)
{
    switch (l) {
    case OMV_LOG_ERROR: return "error";
    case OMV_LOG_WARN: return "warn";
    case OMV_LOG_INFO: return "info";
    case OMV_LOG_DEBUG: return "debug";
    }
    return "info";
}

/* End an in-place progress line before printing anything else. */
static void end_bar(struct cli_output *o)
{
    if (o->bar_drawn) {
        fputc('\n', o->out);
        o->bar_drawn = 0;
    }
}

static void human_size(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= 1024u * 1024u)
        snprintf(buf, n, "%.2f MiB", (double)bytes / (1024.0 * 1024.0));
    else if (bytes >= 1024u)
        snprintf(buf, n, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(buf, n, "%" PRIu64 " B", bytes);
}

/* JSON: common fields + device identity on every event once known. */
static void json_common(struct cli_output *o, struct json_obj *j, const omv_event *ev)
{
    json_str(j, "serial", o->serial[0] ? o->serial : NULL);
    json_str(j, "port", o->port[0] ? o->port : NULL);
    json_str(j, "slot", o->slot[0] ? o->slot : NULL);
    json_str(j, "step", ev->step);
    json_str(j, "partition", ev->partition);
    json_str(j, "file", ev->file);
    json_str(j, "sha256", ev->sha256);
    json_str(j, "check", ev->check);
}

/* What the error record knows beyond its message: the device's own status,
 * where it happened, whether trying again may help. Keys are present only
 * when known; `retriable` always. */
static void json_error_details(struct json_obj *j, const omv_error *e)
{
    if (e && (e->flags & OMV_ERRF_DEVICE_STATUS)) {
        json_u64(j, "device_status", e->device_status);
        json_str(j, "device_status_name", e->device_status_name);
    }
    if (e && (e->flags & OMV_ERRF_BLOCK))
        json_u64(j, "block", e->block);
    if (e && (e->flags & OMV_ERRF_OFFSET))
        json_u64(j, "offset", e->offset);
    json_bool(j, "retriable", e && e->retriable);
}

/* step_done (a write's with the bytes it left as they were) and compared (--skip-unchanged). */
static void json_step_result(struct cli_output *o, struct json_obj *j, const omv_event *ev)
{
    if (ev->type == OMV_EV_COMPARED) {
        json_begin(j, "compared");
        json_common(o, j, ev);
        json_u64(j, "bytes", ev->total);
        json_u64(j, "changed_bytes", ev->done);
        json_u64(j, "skipped_bytes", ev->skipped);
        return;
    }
    json_begin(j, "step_done");
    json_common(o, j, ev);
    json_u64(j, "bytes", ev->total);
    if (ev->step && strcmp(ev->step, "write") == 0)
        json_u64(j, "skipped_bytes", ev->skipped);
    json_u64(j, "elapsed_ms", ev->elapsed_ms);
}

/* "error", and "retry": a write tried again (which retry), with the failure being retried. */
static void json_failure(struct cli_output *o, struct json_obj *j, const omv_event *ev)
{
    int retry = ev->type == OMV_EV_RETRY;
    json_begin(j, retry ? "retry" : "error");
    json_common(o, j, ev);
    if (retry) {
        json_u64(j, "attempt", (uint64_t)ev->attempt);
        json_u64(j, "retries", (uint64_t)ev->retries);
    }
    json_u64(j, "code", (uint64_t)ev->status);
    json_str(j, "status", omv_status_name(ev->status));
    json_str(j, "message", ev->message);
    json_error_details(j, ev->error);
}

/* finished after a confirmed boot: what the camera said in application mode. */
static void json_app(struct json_obj *j, const struct omv_app_info *a)
{
    if (!a)
        return;
    char id[16];
    snprintf(id, sizeof id, "%04x:%04x", a->usb_id.vid, a->usb_id.pid);
    json_str(j, "firmware_version", a->firmware_version[0] ? a->firmware_version : NULL);
    json_str(j, "arch", a->arch[0] ? a->arch : NULL);
    json_str(j, "app_id", a->usb_id.vid || a->usb_id.pid ? id : NULL);
    json_u64(j, "app_protocol", a->protocol);
}

static void json_device_found(const struct cli_output *o, struct json_obj *j, const struct omv_device_info *d)
{
    char id[16];
    snprintf(id, sizeof id, "%04x:%04x", d->vid, d->pid);
    json_begin(j, "device_found");
    json_str(j, "serial", d->serial);
    json_str(j, "port", d->port_path);
    json_str(j, "slot", o->slot[0] ? o->slot : NULL);
    json_str(j, "id", id);
    json_str(j, "product", d->product);
    json_str(j, "mode", d->mode);
    json_str(j, "bootloader_version", d->bootloader_version);
}

static void emit_json(struct cli_output *o, const omv_event *ev)
{
    struct json_obj j;
    switch (ev->type) {
    case OMV_EV_PLAN:
        json_begin(&j, "plan");
        json_common(o, &j, ev);
        json_u64(&j, "bytes", ev->total);
        json_u64(&j, "index", (uint64_t)ev->index);
        json_u64(&j, "count", (uint64_t)ev->count);
        break;
    case OMV_EV_WAITING:
        json_begin(&j, "waiting");
        json_common(o, &j, ev);
        json_u64(&j, "timeout_ms", ev->total);
        json_str(&j, "message", ev->message);
        break;
    case OMV_EV_DEVICE:
        json_device_found(o, &j, ev->device);
        break;
    case OMV_EV_STEP_START:
        json_begin(&j, "step_started");
        json_common(o, &j, ev);
        json_u64(&j, "bytes", ev->total);
        json_u64(&j, "index", (uint64_t)ev->index);
        json_u64(&j, "count", (uint64_t)ev->count);
        break;
    case OMV_EV_PROGRESS:
        json_begin(&j, "progress");
        json_common(o, &j, ev);
        json_u64(&j, "done", ev->done);
        json_u64(&j, "total", ev->total);
        break;
    case OMV_EV_STEP_DONE:
    case OMV_EV_COMPARED:
        json_step_result(o, &j, ev);
        break;
    case OMV_EV_LOG:
        json_begin(&j, "log");
        json_common(o, &j, ev);
        json_str(&j, "level", level_name(ev->level));
        json_str(&j, "message", ev->message);
        break;
    case OMV_EV_CONFIRM:
        json_begin(&j, "confirm");
        json_common(o, &j, ev);
        json_str(&j, "message", ev->message);
        break;
    case OMV_EV_ERROR:
    case OMV_EV_RETRY:
        json_failure(o, &j, ev);
        break;
    case OMV_EV_FINISHED:
        json_begin(&j, "finished");
        json_common(o, &j, ev);
        json_u64(&j, "exit_code", (uint64_t)ev->status);
        json_str(&j, "status", omv_status_name(ev->status));
        json_u64(&j, "elapsed_ms", ev->elapsed_ms);
        json_app(&j, ev->app);
        break;
    default:
        return;
    }
    json_end(&j, o->out);
}

static void draw_bar(struct cli_output *o, uint64_t done, uint64_t total)
{
    int pct = total ? (int)(done * 100u / total) : 100;
    int width = 30, fill = pct * width / 100;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double secs = since_s(&o->step_start);
    double rate = secs > 0 ? (double)done / secs / 1024.0 : 0;
    fprintf(o->out, "\r[%d/%d] %-6s %-10s [%s] %3d%% %8.1f KiB/s", o->index, o->count, o->step, o->partition,
            bar, pct, rate);
    fflush(o->out);
    o->bar_drawn = 1;
}

/* "HP <- fw/hp.bin (40.0 KiB)": the arrow says which way bytes flow. */
static void describe_step(char *buf, size_t n, const omv_event *ev)
{
    const char *step = ev->step ? ev->step : "";
    const char *arrow = strcmp(step, "read") == 0 ? " -> " : strcmp(step, "verify") == 0 ? " == " : " <- ";
    char size[32] = "";
    if (ev->total)
        human_size(size, sizeof size, ev->total);
    snprintf(buf, n, "%-6s %s%s%s%s%s%s", step, ev->partition ? ev->partition : "", ev->file ? arrow : "",
             ev->file ? ev->file : "", ev->total ? " (" : "", size, ev->total ? ")" : "");
}

/* "sha256 9f86...; for this board (arch string found)": what the plan knows about an image. */
static void describe_image(char *buf, size_t n, const omv_event *ev)
{
    const char *c = ev->check ? ev->check : "";
    const char *what = strcmp(c, "arch") == 0        ? "; built for this board (its arch string found)"
                       : strcmp(c, "unchecked") == 0 ? "; unchecked (no board's arch string in it)"
                       : strcmp(c, "forced") == 0    ? "; FORCED: built for another board"
                                                     : "";
    snprintf(buf, n, "%s%s%s", ev->sha256 ? "\n         sha256 " : "", ev->sha256 ? ev->sha256 : "", what);
}

/* "[1/5] write HP done: 3.00 MiB (2.99 MiB unchanged, not written) in 1.20 s", and
 * --skip-unchanged's "[1/5] compared HP with hp.bin: 4.0 KiB of 3.00 MiB differ". */
static void human_step_result(struct cli_output *o, const omv_event *ev)
{
    char size[32], other[32], kept[64] = "";
    human_size(size, sizeof size, ev->total);
    if (ev->type == OMV_EV_COMPARED) {
        end_bar(o);
        human_size(other, sizeof other, ev->done);
        fprintf(o->out, "[%d/%d] compared %s with %s: %s of %s differ%s\n", ev->index, ev->count,
                ev->partition ? ev->partition : "", ev->file ? ev->file : "", other, size,
                ev->done ? "" : ", nothing to write");
        return;
    }
    if (o->tty)
        draw_bar(o, ev->total, ev->total);
    end_bar(o);
    if (ev->skipped) {
        human_size(other, sizeof other, ev->skipped);
        snprintf(kept, sizeof kept, " (%s unchanged, not written)", other);
    }
    fprintf(o->out, "[%d/%d] %s%s%s done%s%s%s in %.2f s%s%s\n", ev->index, ev->count, ev->step,
            ev->partition ? " " : "", ev->partition ? ev->partition : "", ev->total ? ": " : "", ev->total ? size : "",
            kept, (double)ev->elapsed_ms / 1000.0, ev->sha256 ? ", sha256 " : "", ev->sha256 ? ev->sha256 : "");
}

static void emit_human(struct cli_output *o, const omv_event *ev)
{
    char what[1024];
    switch (ev->type) {
    case OMV_EV_PLAN:
        if (o->verbosity >= 1) {
            char image[192];
            describe_step(what, sizeof what, ev);
            describe_image(image, sizeof image, ev);
            fprintf(o->out, "plan %d/%d: %s%s\n", ev->index, ev->count, what, image);
        }
        break;
    case OMV_EV_WAITING: /* first a profile's message: what the user must do (fit a jumper, replug) */
        if (o->verbosity >= 1)
            fprintf(o->out, "%s%swaiting up to %.1f s for the bootloader...\n", ev->message ? ev->message : "",
                    ev->message ? "\n" : "", (double)ev->total / 1000.0);
        break;
    case OMV_EV_DEVICE:
        if (o->verbosity >= 1) {
            const struct omv_device_info *d = ev->device;
            fprintf(o->out, "device: %s %04x:%04x serial %s port %s%s%s%s%s\n",
                    d->product[0] ? d->product : "(unnamed)", d->vid, d->pid, d->serial[0] ? d->serial : "-",
                    d->port_path[0] ? d->port_path : "-", o->slot[0] ? " slot " : "", o->slot,
                    d->bootloader_version[0] ? ", bootloader " : "", d->bootloader_version);
        }
        break;
    case OMV_EV_STEP_START:
        if (o->verbosity >= 1 && !o->tty) {
            describe_step(what, sizeof what, ev);
            fprintf(o->out, "[%d/%d] %s...\n", ev->index, ev->count, what);
        }
        break;
    case OMV_EV_PROGRESS:
        if (o->verbosity >= 1 && o->tty)
            draw_bar(o, ev->done, ev->total);
        break;
    case OMV_EV_STEP_DONE:
    case OMV_EV_COMPARED:
        if (o->verbosity >= 1)
            human_step_result(o, ev);
        break;
    case OMV_EV_LOG: {
        /* Debug events reach us only when asked for (-v: log_debug). */
        int need = ev->level <= OMV_LOG_WARN ? 0 : ev->level == OMV_LOG_INFO ? 1 : 2;
        if (ev->level == OMV_LOG_INFO && o->verbosity >= 1)
            need = 1;
        if (o->verbosity >= need) {
            end_bar(o);
            FILE *f = ev->level <= OMV_LOG_WARN ? o->err : o->out;
            fprintf(f, "%s%s\n", ev->level == OMV_LOG_WARN ? "warning: " : ev->level == OMV_LOG_ERROR ? "error: " : "",
                    ev->message ? ev->message : "");
        }
        break;
    }
    case OMV_EV_CONFIRM:
        end_bar(o);
        fprintf(o->err, "%s\n", ev->message ? ev->message : "");
        break;
    case OMV_EV_RETRY:
        /* Even with -q: a camera that needed retries is worth knowing about. */
        end_bar(o);
        fprintf(o->err, "retry %d of %d: %s; writing %s again from its start\n", ev->attempt, ev->retries,
                ev->message ? ev->message : "", ev->partition ? ev->partition : "");
        break;
    case OMV_EV_ERROR:
        end_bar(o);
        fprintf(o->err, "omvflashd: error: %s\n", ev->message ? ev->message : omv_status_name(ev->status));
        break;
    case OMV_EV_FINISHED:
        end_bar(o);
        if (ev->status == OMV_OK && o->verbosity >= 1 && ev->app)
            fprintf(o->out, "done in %.2f s: the camera runs firmware %s%s%s\n", (double)ev->elapsed_ms / 1000.0,
                    ev->app->firmware_version[0] ? ev->app->firmware_version : "?", ev->app->arch[0] ? ", arch " : "",
                    ev->app->arch);
        else if (ev->status == OMV_OK && o->verbosity >= 1)
            fprintf(o->out, "done in %.2f s\n", (double)ev->elapsed_ms / 1000.0);
        break;
    }
}

void cli_output_event(void *user, const omv_event *ev)
{
    struct cli_output *o = user;
    switch (ev->type) {
    case OMV_EV_DEVICE: {
        snprintf(o->serial, sizeof o->serial, "%s", ev->device->serial);
        snprintf(o->port, sizeof o->port, "%s", ev->device->port_path);
        const char *slot = omv_slots_lookup(o->slots, o->port);
        snprintf(o->slot, sizeof o->slot, "%s", slot ? slot : "");
        break;
    }
    case OMV_EV_STEP_START:
        snprintf(o->step, sizeof o->step, "%s", ev->step ? ev->step : "");
        snprintf(o->partition, sizeof o->partition, "%s", ev->partition ? ev->partition : "");
        o->index = ev->index;
        o->count = ev->count;
        o->last_percent = -1;
        o->last_progress_ms = 0;
        clock_gettime(CLOCK_MONOTONIC, &o->step_start);
        break;
    case OMV_EV_PROGRESS: {
        /* Throttle: a 24 MB partition is 6000 blocks; emit on each new
         * percent, at most every 100 ms, plus the final one. */
        int pct = ev->total ? (int)(ev->done * 100u / ev->total) : 100;
        uint64_t now = mono_ms();
        if (ev->done != ev->total && (pct == o->last_percent || now - o->last_progress_ms < 100))
            return;
        o->last_percent = pct;
        o->last_progress_ms = now;
        break;
    }
    default:
        break;
    }
    if (o->json)
        emit_json(o, ev);
    else
        emit_human(o, ev);
}

void cli_output_error(struct cli_output *o, omv_status st, const char *msg)
{
    omv_event ev = {.type = OMV_EV_ERROR, .status = st, .message = msg};
    cli_output_event(o, &ev);
}

void cli_output_finished(struct cli_output *o, omv_status st)
{
    omv_event ev = {.type = OMV_EV_FINISHED, .status = st};
    if (o->json)
        emit_json(o, &ev);
}

void cli_output_device(void *user, const char *board_name, const struct omv_device_info *d)
{
    struct cli_output *o = user;
    char id[16];
    snprintf(id, sizeof id, "%04x:%04x", d->vid, d->pid);
    if (o->json) {
        struct json_obj j;
        json_begin(&j, "device");
        json_str(&j, "id", id);
        json_str(&j, "serial", d->serial);
        json_str(&j, "port", d->port_path);
        json_str(&j, "slot", omv_slots_lookup(o->slots, d->port_path));
        json_str(&j, "board", board_name);
        json_str(&j, "mode", d->mode);
        json_str(&j, "product", d->product);
        json_str(&j, "bootloader_version", d->bootloader_version);
        json_end(&j, o->out);
    } else {
        /* With --slots a slot column ("slot A1", "slot -" for an unnamed port). */
        const char *slot = omv_slots_lookup(o->slots, d->port_path);
        char slot_col[OMV_SLOT_NAME_MAX + 8] = "";
        if (o->slots)
            snprintf(slot_col, sizeof slot_col, "slot %-8s ", slot ? slot : "-");
        fprintf(o->out, "%s  port %-8s %sserial %-24s %-22s %-10s %s\n", id, d->port_path[0] ? d->port_path : "-",
                slot_col, d->serial[0] ? d->serial : "-", board_name, d->mode[0] ? d->mode : "-", d->product);
    }
}

void cli_output_action(void *user, const char *action, const char *plugin, const char *description,
                       const char *restores)
{
    struct cli_output *o = user;
    if (o->json) {
        struct json_obj j;
        json_begin(&j, "action");
        json_str(&j, "action", action);
        json_str(&j, "plugin", plugin);
        json_str(&j, "description", description);
        json_str(&j, "restores", restores);
        json_end(&j, o->out);
        return;
    }
    fprintf(o->out, "%-12s plugin %-12s %s%s%s%s\n", action, plugin, description,
            restores[0] ? " (then restores " : "", restores, restores[0] ? ")" : "");
}
