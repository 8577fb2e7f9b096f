/* A minimal struct omv_host for dfu_session_test; see dfu_test_host.h. */
#define _POSIX_C_SOURCE 200809L
#include "dfu_test_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct test_host TH;

/* The AE3 board file's partitions (boards/ae3.ini). */
static const struct omv_target board_parts[] = {
    {"BOOT", OMV_INDEX_NONE, 128 * 1024, 0, 1, 1},      {"HP", OMV_INDEX_NONE, 3 * 1024 * 1024, 0, 0, 1},
    {"HE", OMV_INDEX_NONE, 1400 * 1024, 0, 0, 1},       {"ROMFS1", OMV_INDEX_NONE, 1024 * 1024, 0, 0, 1},
    {"TOC", OMV_INDEX_NONE, 8 * 1024, 0, 1, 1},         {"RWFS", OMV_INDEX_NONE, 8 * 1024 * 1024, 0, 0, 1},
    {"ROMFS0", OMV_INDEX_NONE, 24 * 1024 * 1024, 0, 0, 1}, {"RECOVERY", OMV_INDEX_NONE, 4 * 1024, 120000, 0, 0},
};
#define N_PARTS (sizeof board_parts / sizeof board_parts[0])

uint64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void h_log(const struct omv_host *h, enum omv_log_level level, const char *fmt, ...)
{
    const struct test_host *th = (const struct test_host *)h;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if ((int)level > OMV_LOG_INFO && !th->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%s] ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void h_progress(const struct omv_host *h, uint64_t done, uint64_t total)
{
    struct test_host *th = (struct test_host *)(uintptr_t)h;
    th->progress_calls++;
    th->last_done = done;
    th->last_total = total;
}

static int h_cancelled(const struct omv_host *h)
{
    const struct test_host *th = (const struct test_host *)h;
    return th->cancel_after && th->progress_calls >= th->cancel_after;
}

static const char *lookup(const char *key)
{
    for (size_t i = 0; i < TH.n; i++)
        if (strcmp(TH.keys[i], key) == 0)
            return TH.values[i];
    return NULL;
}

static uint64_t parse_uint(const char *v)
{
    char *end = NULL;
    uint64_t x = strtoull(v, &end, 0);
    if (end && (*end == 'K' || *end == 'k'))
        x *= 1024;
    else if (end && (*end == 'M' || *end == 'm'))
        x *= 1024 * 1024;
    else if (strcmp(v, "yes") == 0)
        x = 1;
    return x;
}

static const char *h_option_str(const struct omv_host *h, const char *key)
{
    (void)h;
    return lookup(key);
}

static uint64_t h_option_uint(const struct omv_host *h, const char *key)
{
    (void)h;
    const char *v = lookup(key);
    return v ? parse_uint(v) : 0;
}

static uint64_t h_now_ms(const struct omv_host *h)
{
    (void)h;
    return th_now_ms();
}

static omv_status h_sleep_ms(const struct omv_host *h, uint32_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return h->cancelled(h) ? OMV_E_CANCELLED : OMV_OK;
}

static omv_status h_confirm(const struct omv_host *h, const char *what)
{
    (void)h;
    (void)what;
    return OMV_OK;
}

static size_t h_partition_count(const struct omv_host *h)
{
    (void)h;
    return N_PARTS;
}

static const struct omv_target *h_partition(const struct omv_host *h, size_t i)
{
    (void)h;
    return i < N_PARTS ? &board_parts[i] : NULL;
}

static const char *h_partition_option(const struct omv_host *h, const char *part, const char *key)
{
    (void)h;
    char k[128];
    snprintf(k, sizeof k, "%s:%s", part, key);
    return lookup(k);
}

static int h_partition_option_uint(const struct omv_host *h, const char *part, const char *key, uint64_t *value)
{
    const char *v = h_partition_option(h, part, key);
    *value = v ? parse_uint(v) : 0;
    return v != NULL;
}

static struct omv_run_plan *h_run_plan(const struct omv_host *h)
{
    (void)h;
    return NULL;
}

int th_set(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || (size_t)(eq - kv) >= sizeof TH.keys[0])
        return -1;
    size_t klen = (size_t)(eq - kv), i;
    for (i = 0; i < TH.n; i++)
        if (strlen(TH.keys[i]) == klen && strncmp(TH.keys[i], kv, klen) == 0)
            break;
    if (i == TH.n) {
        if (TH.n == TH_MAX_OPTS)
            return -1;
        TH.n++;
        snprintf(TH.keys[i], sizeof TH.keys[i], "%.*s", (int)klen, kv);
    }
    snprintf(TH.values[i], sizeof TH.values[i], "%s", eq + 1);
    return 0;
}

const struct omv_target *th_partition(const char *name)
{
    for (size_t i = 0; i < N_PARTS; i++)
        if (strcmp(board_parts[i].name, name) == 0)
            return &board_parts[i];
    return NULL;
}

void th_init(const struct omv_plugin *p)
{
    struct omv_host *h = &TH.host;
    h->abi_version = OMV_PLUGIN_ABI_VERSION;
    h->size = sizeof(struct omv_host);
    h->log = h_log;
    h->progress = h_progress;
    h->cancelled = h_cancelled;
    h->option_str = h_option_str;
    h->option_uint = h_option_uint;
    h->now_ms = h_now_ms;
    h->sleep_ms = h_sleep_ms;
    h->confirm = h_confirm;
    h->partition_count = h_partition_count;
    h->partition = h_partition;
    h->partition_option = h_partition_option;
    h->partition_option_uint = h_partition_option_uint;
    h->partition_write = NULL;
    h->run_plan = h_run_plan;
    TH.verbose = getenv("DFU_TEST_VERBOSE") != NULL;
    for (const struct omv_option_spec *s = p->options; s && s->key; s++) {
        char kv[320];
        snprintf(kv, sizeof kv, "%s=%s", s->key, s->default_value ? s->default_value : "");
        th_set(kv);
    }
    th_set("bootloader_partition=BOOT");
    /* boards/ae3.ini numbers its partitions 0..7 in this order. */
    for (size_t i = 0; i < N_PARTS; i++) {
        char kv[96];
        snprintf(kv, sizeof kv, "%s:alt=%zu", board_parts[i].name, i);
        th_set(kv);
    }
}

#define FAIL(...)                                                                                            \
    do {                                                                                                     \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                               \
        fputc('\n', stderr);                                                                                 \
        failures++;                                                                                          \
    } while (0)

static int has_key(const struct omv_option_spec *specs, const char *key)
{
    for (const struct omv_option_spec *s = specs; s && s->key; s++)
        if (strcmp(s->key, key) == 0)
            return 1;
    return 0;
}

int th_check_describe(const struct omv_plugin *P)
{
    int failures = 0;
    if (P->abi_version != OMV_PLUGIN_ABI_VERSION || P->size < sizeof(struct omv_plugin))
        FAIL("descriptor: abi %u size %u", P->abi_version, P->size);
    if (!P->name || strcmp(P->name, "dfu") != 0 || P->kind != OMV_PLUGIN_TRANSPORT || !P->transport || P->action ||
        !P->init || !P->exit)
        FAIL("descriptor: name/kind/ops/init/exit wrong");
    const struct omv_transport_ops *o = P->transport;
    if (!o || !o->list || !o->open || !o->partitions || !o->write || !o->read || !o->erase || !o->recover ||
        !o->finish || !o->close || !o->hotplug)
        FAIL("descriptor: an op is NULL");
    static const char *const want[] = {"transfer_size", "control_timeout_ms", "status_timeout_ms",
                                       "bootloader_partition", "detach_timeout_ms"};
    static const char *const pwant[] = {"alt", "erase_units", "always_block0"};
    size_t n = 0;
    for (const struct omv_option_spec *s = P->options; s && s->key; s++, n++)
        if (!s->default_value || !s->help)
            FAIL("option %s lacks a default or help", s->key);
    if (n != sizeof want / sizeof want[0])
        FAIL("descriptor: %zu options, want %zu", n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_key(P->options, want[i]))
            FAIL("descriptor: option %s missing", want[i]);
    for (size_t i = 0; i < sizeof pwant / sizeof pwant[0]; i++)
        if (!has_key(P->partition_options, pwant[i]))
            FAIL("descriptor: partition option %s missing", pwant[i]);
    if (!failures)
        fprintf(stderr, "ok   describe: %s %s, %zu options\n", P->name, P->version, n);
    return failures;
}

