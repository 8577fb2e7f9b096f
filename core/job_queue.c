/*
 * Bounded parallelism for flashing many cameras (omvflashd --watch --jobs N):
 * at most `limit` jobs run, the others wait in arrival order. USB hubs,
 * power supplies and the host's CPU all have limits, and a line operator
 * wants to see which camera is next.
 *
 * Entries are kept in one array in arrival order; removing one keeps the
 * order, so the waiting entries, read front to back, are the queue. The
 * numbers involved are small (one entry per attached camera).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct job {
    char key[OMV_JOB_KEY_MAX];
    int running;
} job;

struct omv_job_queue {
    unsigned limit;  /* 0 = no limit */
    job *v;
    size_t n, cap;
    size_t running;
};

omv_status omv_job_queue_new(unsigned limit, omv_job_queue **out, omv_error *err)
{
    if (!out)
        return omv_error_set(err, OMV_E_USAGE, "omv_job_queue_new: out is required");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    (*out)->limit = limit;
    return OMV_OK;
}

void omv_job_queue_free(omv_job_queue *q)
{
    if (!q)
        return;
    free(q->v);
    free(q);
}

static long find(const omv_job_queue *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->v[i].key, key) == 0)
            return (long)i;
    return -1;
}

static int has_room(const omv_job_queue *q)
{
    return q->limit == 0 || q->running < q->limit;
}

omv_status omv_job_queue_submit(omv_job_queue *q, const char *key, int *started, size_t *position, omv_error *err)
{
    if (!q || !key || !*key || !started)
        return omv_error_set(err, OMV_E_USAGE, "omv_job_queue_submit: queue, key and started are required");
    if (strlen(key) >= OMV_JOB_KEY_MAX)
        return omv_error_set(err, OMV_E_USAGE, "omv_job_queue_submit: key longer than %d characters",
                             OMV_JOB_KEY_MAX - 1);
    if (find(q, key) >= 0)
        return omv_error_set(err, OMV_E_USAGE, "omv_job_queue_submit: '%s' is already queued or running", key);
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        job *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        q->v = v;
        q->cap = cap;
    }
    job *j = &q->v[q->n++];
    memset(j, 0, sizeof *j);
    memcpy(j->key, key, strlen(key) + 1);
    /* First come, first served: nobody overtakes a camera already waiting. */
    if (has_room(q) && omv_job_queue_waiting(q) == 1) {
        j->running = 1;
        q->running++;
        *started = 1;
        if (position)
            *position = 0;
    } else {
        *started = 0;
        if (position)
            *position = omv_job_queue_waiting(q);
    }
    return OMV_OK;
}

int omv_job_queue_next(omv_job_queue *q, char *key, size_t key_size)
{
    if (!q || !has_room(q))
        return 0;
    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i].running)
            continue;
        q->v[i].running = 1;
        q->running++;
        if (key && key_size)
            snprintf(key, key_size, "%s", q->v[i].key);
        return 1;
    }
    return 0;
}

int omv_job_queue_remove(omv_job_queue *q, const char *key)
{
    long i = q && key ? find(q, key) : -1;
    if (i < 0)
        return 0;
    if (q->v[i].running)
        q->running--;
    memmove(&q->v[i], &q->v[i + 1], (q->n - (size_t)i - 1) * sizeof *q->v);
    q->n--;
    return 1;
}

size_t omv_job_queue_running(const omv_job_queue *q)
{
    return q ? q->running : 0;
}

size_t omv_job_queue_waiting(const omv_job_queue *q)
{
    return q ? q->n - q->running : 0;
}

size_t omv_job_queue_position(const omv_job_queue *q, const char *key)
{
    size_t pos = 0;
    for (size_t i = 0; q && key && i < q->n; i++) {
        if (q->v[i].running)
            continue;
        pos++;
        if (strcmp(q->v[i].key, key) == 0)
            return pos;
    }
    return 0;
}
