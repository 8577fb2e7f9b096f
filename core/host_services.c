/*
 * struct omv_host: the services the core hands to plugins. Everything a host
 * needs lives in its omvi_host (host.ctx points at it); nothing is global.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

uint64_t omvi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void omvi_emit(const omv_callbacks *cb, const omv_event *ev)
{
    if (cb && cb->event)
        cb->event(cb->user, ev);
}

int omvi_log_wanted(const omv_callbacks *cb, enum omv_log_level level)
{
    if (!cb || !cb->event)
        return 0;
    return level != OMV_LOG_DEBUG || cb->log_debug;
}

static void vlog(const omv_callbacks *cb, enum omv_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vlog(const omv_callbacks *cb, enum omv_log_level level, const char *fmt, va_list ap)
{
    char msg[OMV_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    omv_event ev = {.type = OMV_EV_LOG, .level = level, .message = msg};
    omvi_emit(cb, &ev);
}

void omvi_log(const omv_callbacks *cb, enum omv_log_level level, const char *fmt, ...)
{
    if (!omvi_log_wanted(cb, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(cb, level, fmt, ap);
    va_end(ap);
}

static omvi_host *H(const struct omv_host *host) { return host->ctx; }

static void host_log(const struct omv_host *host, enum omv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(const struct omv_host *host, enum omv_log_level level, const char *fmt, ...)
{
    const omv_callbacks *cb = H(host)->cb;
    /* The cheap path: no formatting at all when nobody listens at this level. */
    if (!omvi_log_wanted(cb, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(cb, level, fmt, ap);
    va_end(ap);
}

static void host_progress(const struct omv_host *host, uint64_t done, uint64_t total)
{
    omvi_host *h = H(host);
    if (!h->cb || !h->cb->event)
        return;
    omv_event ev = {.type = OMV_EV_PROGRESS,
                    .step = h->step,
                    .partition = h->partition,
                    .file = h->file,
                    .done = done,
                    .total = total,
                    .index = h->index,
                    .count = h->count};
    h->last_done = done;
    omvi_emit(h->cb, &ev);
}

static int host_cancelled(const struct omv_host *host)
{
    return omvi_cancelled(H(host)->cancel);
}

static const char *host_option_str(const struct omv_host *host, const char *key)
{
    const omvi_option *o = omvi_options_find(H(host)->opts, key);
    return o ? o->value : NULL;
}

static uint64_t host_option_uint(const struct omv_host *host, const char *key)
{
    const omvi_option *o = omvi_options_find(H(host)->opts, key);
    return o && o->value ? o->number : 0;
}

static uint64_t host_now_ms(const struct omv_host *host)
{
    (void)host;
    return omvi_now_ms();
}

omv_status omvi_sleep_ms(const omv_cancel *cancel, uint32_t ms)
{
    /* Small slices so a cancel request is noticed within ~10 ms. */
    uint64_t end = omvi_now_ms() + ms;
    for (;;) {
        if (omvi_cancelled(cancel))
            return OMV_E_CANCELLED;
        uint64_t now = omvi_now_ms();
        if (now >= end)
            return OMV_OK;
        uint64_t left = end - now;
        if (left > 10)
            left = 10;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static omv_status host_sleep_ms(const struct omv_host *host, uint32_t ms)
{
    return omvi_sleep_ms(H(host)->cancel, ms);
}

static omv_status host_confirm(const struct omv_host *host, const char *what)
{
    const omv_callbacks *cb = H(host)->cb;
    omv_event ev = {.type = OMV_EV_CONFIRM, .message = what};
    omvi_emit(cb, &ev);
    if (cb && cb->confirm && cb->confirm(cb->user, what))
        return OMV_OK;
    return OMV_E_CANCELLED;
}

static size_t host_partition_count(const struct omv_host *host)
{
    const omvi_host *h = H(host);
    return h->board ? h->board->n_parts : 0;
}

static const struct omv_target *host_partition(const struct omv_host *host, size_t i)
{
    const omvi_host *h = H(host);
    return h->targets && i < h->board->n_parts ? &h->targets[i] : NULL;
}

static const char *host_partition_option(const struct omv_host *host, const char *partition, const char *key)
{
    const omvi_host *h = H(host);
    return omvi_partition_option(h->board, h->desc, partition, key);
}

static int host_partition_option_uint(const struct omv_host *host, const char *partition, const char *key,
                                      uint64_t *value)
{
    const omvi_host *h = H(host);
    *value = 0;
    const char *v = omvi_partition_option(h->board, h->desc, partition, key);
    const struct omv_option_spec *spec = NULL;
    for (size_t i = 0; v && h->desc->partition_options && h->desc->partition_options[i].key; i++)
        if (strcmp(h->desc->partition_options[i].key, key) == 0)
            spec = &h->desc->partition_options[i];
    char why[160];
    if (!v || !spec || omvi_option_value_check(spec, v, value, NULL, why, sizeof why) != 0)
        return 0;
    return 1;
}

typedef struct mem_source {
    const uint8_t *data;
    size_t len, off;
} mem_source;

static omv_status mem_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    (void)err;
    mem_source *m = ctx;
    size_t n = m->len - m->off;
    if (n > len)
        n = len;
    memcpy(buf, m->data + m->off, n);
    m->off += n;
    *got = n;
    return OMV_OK;
}

static omv_status mem_skip(void *ctx, uint64_t n, omv_error *err)
{
    mem_source *m = ctx;
    if (n > m->len - m->off)
        return omv_error_set(err, OMV_E_IMAGE, "skip past the end of the data");
    m->off += (size_t)n;
    return OMV_OK;
}

static omv_status host_partition_write(const struct omv_host *host, const char *name, const uint8_t *data,
                                       size_t len, uint32_t timeout_ms, omv_error *err)
{
    omvi_host *h = H(host);
    if (!h->session || !h->transport)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "no transport session for partition_write");
    long idx = omvi_board_find(h->board, name);
    if (idx < 0)
        return omv_error_set(err, OMV_E_USAGE, "board has no partition '%s'", name);
    const omvi_partition *p = &h->board->parts[idx];
    if (len == 0 || len > p->info.size)
        return omv_error_set(err, OMV_E_IMAGE, "%zu bytes do not fit partition %s (%llu bytes)", len, name,
                             (unsigned long long)p->info.size);
    const struct omv_dev_partition *dp = NULL;
    for (size_t i = 0; i < h->n_dev_parts; i++)
        if (strcmp(h->dev_parts[i].name, name) == 0)
            dp = &h->dev_parts[i];
    if (!dp)
        return omv_error_set(err, OMV_E_MISMATCH, "device has no partition '%s'", name);
    struct omv_target t = h->targets[idx];
    t.index = dp->index;
    if (timeout_ms)
        t.timeout_ms = timeout_ms;
    mem_source m = {data, len, 0};
    struct omv_source src = {.ctx = &m, .size = len, .read = mem_read, .skip = mem_skip};
    struct omv_write w = {.src = &src};
    omv_status st = h->transport->write(h->session, &t, &w, err);
    if (st != OMV_OK)
        omv_error_prefix(err, "write %s", name);
    return st;
}

static struct omv_run_plan *host_run_plan(const struct omv_host *host)
{
    return H(host)->run_plan;
}

omv_status omvi_host_init(omvi_host *h, const omv_callbacks *cb, const omv_cancel *cancel, const omvi_options *opts,
                          const omv_board *b, const struct omv_plugin *desc, omv_error *err)
{
    memset(h, 0, sizeof *h);
    h->cb = cb;
    h->cancel = cancel;
    h->opts = opts;
    h->board = b;
    h->desc = desc;
    if (b && b->n_parts) {
        h->targets = calloc(b->n_parts, sizeof *h->targets);
        if (!h->targets)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        for (size_t i = 0; i < b->n_parts; i++) {
            const omv_partition_info *p = &b->parts[i].info;
            h->targets[i] = (struct omv_target){.name = p->name, .index = OMV_INDEX_NONE, .size = p->size,
                                                .timeout_ms = p->timeout_ms, .read_only = p->read_only,
                                                .readable = p->readable};
        }
    }
    struct omv_host *o = &h->host;
    o->abi_version = OMV_PLUGIN_ABI_VERSION;
    o->size = sizeof(struct omv_host);
    o->ctx = h;
    o->log = host_log;
    o->progress = host_progress;
    o->cancelled = host_cancelled;
    o->option_str = host_option_str;
    o->option_uint = host_option_uint;
    o->now_ms = host_now_ms;
    o->sleep_ms = host_sleep_ms;
    o->confirm = host_confirm;
    o->partition_count = host_partition_count;
    o->partition = host_partition;
    o->partition_option = host_partition_option;
    o->partition_option_uint = host_partition_option_uint;
    o->partition_write = NULL;
    o->run_plan = host_run_plan; /* NULL plan until a run sets one */
    return OMV_OK;
}

void omvi_host_free(omvi_host *h)
{
    free(h->targets);
    h->targets = NULL;
}

void omvi_host_enable_partition_write(omvi_host *h, const struct omv_transport_ops *ops, void *session,
                                      const struct omv_dev_partition *dev_parts, size_t n_dev_parts)
{
    h->transport = ops;
    h->session = session;
    h->dev_parts = dev_parts;
    h->n_dev_parts = n_dev_parts;
    h->host.partition_write = host_partition_write;
}
