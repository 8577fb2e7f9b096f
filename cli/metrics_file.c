/* --metrics FILE: Prometheus text exposition, replaced atomically (see metrics_file.h). */
#define _GNU_SOURCE /* O_CLOEXEC, O_NOFOLLOW */
#include "metrics_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Status codes counted one by one; anything beyond is counted as "unknown". */
#define METRICS_MAX_STATUS 64

/* Duration buckets in seconds: a legacy camera takes seconds, a full AE3
 * flash about a minute, with a slow bootloader several. */
static const double buckets[] = {1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

struct metrics_file {
    char *path;
    char *tmp;                               /* the temporary file next to it */
    char board[160];                         /* escaped label value */
    uint64_t cameras[METRICS_MAX_STATUS + 1]; /* by status; the last: unknown codes */
    uint64_t bytes_written;
    uint64_t bucket_counts[N_BUCKETS];
    uint64_t duration_count;
    double duration_sum;
    double last_success;                     /* Unix time, 0 = none yet */
    double start_time;
    size_t in_progress, waiting;
    int dirty;
};

/* Label values escape backslash, double quote and newline (exposition format). */
static void escape_label(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        if (*s == '\\' || *s == '"')
            out[o++] = '\\', out[o++] = *s;
        else if (*s == '\n')
            out[o++] = '\\', out[o++] = 'n';
        else
            out[o++] = *s;
    }
    out[o] = '\0';
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

omv_status metrics_open(const char *path, const char *board, struct metrics_file **out, omv_error *err)
{
    *out = NULL;
    struct metrics_file *m = calloc(1, sizeof *m);
    size_t len = strlen(path);
    if (!m || !(m->path = strdup(path)) || !(m->tmp = malloc(len + 32))) {
        metrics_close(m);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    /* Same directory (rename is atomic only within a filesystem); a name the
     * textfile collector ignores (it reads *.prom only). */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(m->tmp, len + 32, "%.*s.%s.%ld.tmp", (int)dir_len, path, path + dir_len, (long)getpid());
    escape_label(m->board, sizeof m->board, board);
    m->start_time = unix_now();
    m->dirty = 1;
    omv_status st = metrics_flush(m, err);
    if (st != OMV_OK) {
        metrics_close(m);
        return st;
    }
    *out = m;
    return OMV_OK;
}

void metrics_camera_done(struct metrics_file *m, omv_status st, uint64_t duration_ms, uint64_t bytes_written)
{
    if (!m)
        return;
    m->cameras[(unsigned)st < METRICS_MAX_STATUS ? (unsigned)st : METRICS_MAX_STATUS]++;
    m->bytes_written += bytes_written;
    if (st == OMV_OK) {
        double s = (double)duration_ms / 1000.0;
        for (size_t i = 0; i < N_BUCKETS; i++)
            if (s <= buckets[i])
                m->bucket_counts[i]++;
        m->duration_count++;
        m->duration_sum += s;
        m->last_success = unix_now();
    }
    m->dirty = 1;
}

void metrics_set_cameras(struct metrics_file *m, size_t in_progress, size_t waiting)
{
    if (!m || (m->in_progress == in_progress && m->waiting == waiting))
        return;
    m->in_progress = in_progress;
    m->waiting = waiting;
    m->dirty = 1;
}

/* "ok", or the status name without "E_" in lower case ("device", "io", "timeout"). */
static void result_label(char *out, size_t n, unsigned st)
{
    const char *name = st == METRICS_MAX_STATUS ? "E_UNKNOWN" : omv_status_name((omv_status)st);
    if (st == OMV_OK)
        name = "ok";
    else if (strncmp(name, "E_", 2) == 0)
        name += 2;
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static void write_metrics(FILE *f, const struct metrics_file *m)
{
    const char *b = m->board;
    fprintf(f, "# HELP omvflash_cameras_total Cameras whose flash ended, by board and result (ok, or the "
               "exit status: device, io, timeout, ...).\n# TYPE omvflash_cameras_total counter\n");
    for (unsigned st = 0; st <= METRICS_MAX_STATUS; st++) {
        if (st != OMV_OK && !m->cameras[st])
            continue; /* ok always, failures once they happened */
        char result[32];
        result_label(result, sizeof result, st);
        fprintf(f, "omvflash_cameras_total{board=\"%s\",result=\"%s\"} %" PRIu64 "\n", b, result, m->cameras[st]);
    }
    fprintf(f, "# HELP omvflash_bytes_written_total Image bytes written to cameras.\n"
               "# TYPE omvflash_bytes_written_total counter\n"
               "omvflash_bytes_written_total{board=\"%s\"} %" PRIu64 "\n", b, m->bytes_written);
    fprintf(f, "# HELP omvflash_flash_duration_seconds Duration of successful flashes.\n"
               "# TYPE omvflash_flash_duration_seconds histogram\n");
    for (size_t i = 0; i < N_BUCKETS; i++)
        fprintf(f, "omvflash_flash_duration_seconds_bucket{board=\"%s\",le=\"%g\"} %" PRIu64 "\n", b, buckets[i],
                m->bucket_counts[i]);
    fprintf(f, "omvflash_flash_duration_seconds_bucket{board=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", b,
            m->duration_count);
    fprintf(f, "omvflash_flash_duration_seconds_sum{board=\"%s\"} %.3f\n", b, m->duration_sum);
    fprintf(f, "omvflash_flash_duration_seconds_count{board=\"%s\"} %" PRIu64 "\n", b, m->duration_count);
    fprintf(f, "# HELP omvflash_cameras_in_progress Cameras being flashed now.\n"
               "# TYPE omvflash_cameras_in_progress gauge\n"
               "omvflash_cameras_in_progress{board=\"%s\"} %zu\n", b, m->in_progress);
    fprintf(f, "# HELP omvflash_cameras_waiting Cameras waiting for their turn (--jobs).\n"
               "# TYPE omvflash_cameras_waiting gauge\n"
               "omvflash_cameras_waiting{board=\"%s\"} %zu\n", b, m->waiting);
    fprintf(f, "# HELP omvflash_last_success_timestamp_seconds When the last successful flash ended (0: none "
               "since start).\n# TYPE omvflash_last_success_timestamp_seconds gauge\n"
               "omvflash_last_success_timestamp_seconds{board=\"%s\"} %.3f\n", b, m->last_success);
    fprintf(f, "# HELP omvflash_start_time_seconds When this omvflashd started (its counters start at 0).\n"
               "# TYPE omvflash_start_time_seconds gauge\n"
               "omvflash_start_time_seconds{board=\"%s\"} %.3f\n", b, m->start_time);
}

omv_status metrics_flush(struct metrics_file *m, omv_error *err)
{
    if (!m || !m->dirty)
        return OMV_OK;
    int fd = open(m->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return omv_error_set(err, OMV_E_CONFIG, "--metrics %s: cannot create %s: %s", m->path, m->tmp, strerror(e));
    }
    write_metrics(f, m);
    /* Synced before the rename: after a crash the file is the old or the new one, never empty. */
    int bad = fflush(f) != 0 || fsync(fd) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad)
        bad = 1, e = errno;
    if (!bad && rename(m->tmp, m->path) != 0)
        bad = 1, e = errno;
    if (bad) {
        unlink(m->tmp);
        return omv_error_set(err, OMV_E_CONFIG, "--metrics %s: cannot write: %s", m->path, strerror(e));
    }
    m->dirty = 0;
    return OMV_OK;
}

void metrics_close(struct metrics_file *m)
{
    if (!m)
        return;
    free(m->path);
    free(m->tmp);
    free(m);
}
