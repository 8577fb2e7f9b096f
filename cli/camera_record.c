/* The per-camera record of --report (see camera_record.h). */
#define _POSIX_C_SOURCE 200809L
#include "camera_record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json_writer.h"
#include "report_file.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void camera_record_start(struct camera_record *r, const char *serial, const char *port, const char *slot)
{
    memset(r, 0, sizeof *r);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(r->time, sizeof r->time - 5, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(r->time + n, sizeof r->time - n, ".%03uZ", (unsigned)(now.tv_nsec / 1000000L) % 1000u);
    r->start_ms = mono_ms();
    copy(r->serial, sizeof r->serial, serial);
    copy(r->port, sizeof r->port, port);
    copy(r->slot, sizeof r->slot, slot);
}

static struct record_image *image_of(struct camera_record *r, const char *partition)
{
    for (size_t i = 0; partition && i < r->n_images; i++)
        if (strcmp(r->images[i].partition, partition) == 0)
            return &r->images[i];
    return NULL;
}

void camera_record_event(struct camera_record *r, const omv_event *ev, const omv_slots *slots)
{
    int write = ev->step && strcmp(ev->step, "write") == 0;
    switch (ev->type) {
    case OMV_EV_DEVICE: {
        /* The last device of the run is the one written (a camera found in
         * application mode comes back as its bootloader). */
        const struct omv_device_info *d = ev->device;
        copy(r->serial, sizeof r->serial, d->serial);
        copy(r->port, sizeof r->port, d->port_path);
        copy(r->mode, sizeof r->mode, d->mode);
        copy(r->bootloader_version, sizeof r->bootloader_version, d->bootloader_version);
        const char *slot = omv_slots_lookup(slots, d->port_path);
        if (slot)
            copy(r->slot, sizeof r->slot, slot);
        break;
    }
    case OMV_EV_PLAN:
        /* Every image the plan writes, whether or not it gets written. */
        if (write && ev->partition && !image_of(r, ev->partition) && r->n_images < RECORD_MAX_IMAGES) {
            struct record_image *im = &r->images[r->n_images++];
            copy(im->partition, sizeof im->partition, ev->partition);
            copy(im->file, sizeof im->file, ev->file);
            copy(im->sha256, sizeof im->sha256, ev->sha256);
            im->bytes = ev->total;
        }
        break;
    case OMV_EV_STEP_DONE:
        if (write) {
            struct record_image *im = image_of(r, ev->partition);
            if (im)
                im->written = 1;
            r->skipped_bytes += ev->skipped;
        }
        break;
    case OMV_EV_ERROR:
        copy(r->message, sizeof r->message, ev->message);
        break;
    case OMV_EV_RETRY:
        r->retries++;
        break;
    case OMV_EV_FINISHED:
        r->status = ev->status;
        if (ev->status == OMV_OK)
            r->message[0] = '\0';
        r->duration_ms = mono_ms() - r->start_ms;
        if (ev->app) {
            copy(r->firmware_version, sizeof r->firmware_version, ev->app->firmware_version);
            copy(r->arch, sizeof r->arch, ev->app->arch);
        }
        break;
    default:
        /* Image hashes and the booted firmware's
         * version and arch are taken here once events carry them. */
        break;
    }
}

uint64_t camera_record_bytes_written(const struct camera_record *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n_images; i++)
        n += r->images[i].written ? r->images[i].bytes : 0;
    return n;
}

void record_meta_init(struct record_meta *m, const omv_board *board)
{
    memset(m, 0, sizeof *m);
    const char *path = omv_board_path(board), *slash = strrchr(path, '/');
    copy(m->board, sizeof m->board, slash ? slash + 1 : path);
    size_t n = strlen(m->board);
    if (n > 4 && strcmp(m->board + n - 4, ".ini") == 0)
        m->board[n - 4] = '\0';
    m->board_name = omv_board_name(board);
    if (gethostname(m->host, sizeof m->host) != 0)
        m->host[0] = '\0';
    m->host[sizeof m->host - 1] = '\0';
}

/* ,"key":"value" or ,"key":null for "" */
static void str_or_null(FILE *f, const char *key, const char *value)
{
    fprintf(f, ",\"%s\":", key);
    if (value && *value)
        json_write_str(f, value);
    else
        fputs("null", f);
}

static void write_images(FILE *f, const struct camera_record *r)
{
    fputs(",\"images\":[", f);
    for (size_t i = 0; i < r->n_images; i++) {
        const struct record_image *im = &r->images[i];
        fputs(i ? ",{\"partition\":" : "{\"partition\":", f);
        json_write_str(f, im->partition);
        str_or_null(f, "file", im->file);
        fprintf(f, ",\"bytes\":%" PRIu64 ",\"written\":%s", im->bytes, im->written ? "true" : "false");
        str_or_null(f, "sha256", im->sha256);
        fputc('}', f);
    }
    fputc(']', f);
}

int camera_record_json(const struct camera_record *r, const struct record_meta *m, char **line, size_t *len)
{
    *line = NULL;
    *len = 0;
    FILE *f = open_memstream(line, len);
    if (!f)
        return -1;
    fputs("{\"time\":", f);
    json_write_str(f, r->time);
    str_or_null(f, "host", m->host);
    str_or_null(f, "board", m->board);
    str_or_null(f, "board_name", m->board_name);
    str_or_null(f, "serial", r->serial);
    str_or_null(f, "port", r->port);
    str_or_null(f, "slot", r->slot);
    str_or_null(f, "mode", r->mode);
    str_or_null(f, "bootloader_version", r->bootloader_version);
    write_images(f, r);
    fprintf(f, ",\"skipped_bytes\":%" PRIu64 ",\"retries\":%u", r->skipped_bytes, r->retries);
    fprintf(f, ",\"result\":\"%s\",\"status\":\"%s\",\"exit_code\":%d", r->status == OMV_OK ? "ok" : "failed",
            omv_status_name(r->status), (int)r->status);
    fputs(",\"message\":", f);
    json_write_str(f, r->message);
    fprintf(f, ",\"duration_ms\":%" PRIu64, r->duration_ms);
    str_or_null(f, "firmware_version", r->firmware_version);
    str_or_null(f, "arch", r->arch);
    fputs(",\"omvflash_version\":\"" OMVFLASH_VERSION "\"}\n", f);
    if (fclose(f) != 0) {
        free(*line);
        *line = NULL;
        return -1;
    }
    return 0;
}

omv_status camera_record_append(const struct camera_record *r, const struct record_meta *m, struct report_file *rep,
                                omv_error *err)
{
    char *line = NULL;
    size_t len = 0;
    if (camera_record_json(r, m, &line, &len) != 0)
        return omv_error_set(err, OMV_E_NOMEM, "--report %s: out of memory", report_path(rep));
    omv_status st = report_append(rep, line, len, err);
    free(line);
    return st;
}
