/*
 * dfu_session_test: drives omvflash_dfu.so through the plugin ABI, with its
 * own minimal struct omv_host, against a (usually emulated) AE3.
 *
 *   dfu_session_test PLUGIN.so STEP [ARGS]... [STEP [ARGS]...]...
 *
 * Steps (each consumes a fixed number of arguments):
 *   describe                      check the plugin descriptor and options
 *   opt KEY=VALUE                 set a [dfu] option the host reports
 *   match-serial S | match-port P add a filter to the device match
 *   list N                        list() must report exactly N devices
 *   open WAIT_MS                  open() must succeed within WAIT_MS
 *   open-fail WAIT_MS CODE MSG    open() must fail with CODE and MSG
 *   expect-version V              the opened device reported bootloader V ("" = none)
 *   parts NAME,NAME,...           partitions() must report exactly these, in order
 *   write PART FILE               write FILE to PART, must succeed (prints the time)
 *   write-fail PART FILE CODE MSG write must fail with CODE and MSG
 *   read PART LEN FILE            read LEN bytes (0 = whole partition) must equal FILE;
 *                                 LEN@SIZE also pretends the board gives PART SIZE bytes
 *   read-fail PART LEN CODE MSG   read must fail with CODE and MSG (LEN as for read)
 *   finish reset|keep             finish() must return OMV_OK
 *   cancel-after N                the user "cancels" after N progress calls (0 = never)
 *   sleep MS                      wait (e.g. past the bootloader's 1.5 s window)
 *   close                         close the session
 *
 * CODE is a status name such as E_DEVICE. MSG is the exact error message, or
 * "~TEXT" for "contains TEXT". Exit status 0 when every step passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omvflash/plugin.h"

#define MAX_OPTS 16

struct test_host {
    struct omv_host host;
    const struct omv_option_spec *specs;
    char keys[MAX_OPTS][64];
    char values[MAX_OPTS][256];
    size_t n;
    unsigned progress_calls;
    unsigned cancel_after; /* cancelled() turns true after this many progress calls; 0 = never */
    int verbose;
};

static struct test_host TH;

static void h_log(const struct omv_host *h, enum omv_log_level level, const char *fmt, ...)
{
    const struct test_host *th = (const struct test_host *)h;
    if ((int)level > OMV_LOG_INFO && !th->verbose)
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%s] ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void h_progress(const struct omv_host *h, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    ((struct test_host *)(uintptr_t)h)->progress_calls++;
}

static int h_cancelled(const struct omv_host *h)
{
    const struct test_host *th = (const struct test_host *)h;
    return th->cancel_after && th->progress_calls >= th->cancel_after;
}

static const char *h_option_str(const struct omv_host *h, const char *key)
{
    const struct test_host *th = (const struct test_host *)h;
    for (size_t i = 0; i < th->n; i++)
        if (strcmp(th->keys[i], key) == 0)
            return th->values[i];
    return NULL;
}

static uint64_t h_option_uint(const struct omv_host *h, const char *key)
{
    const char *v = h_option_str(h, key);
    if (!v)
        return 0;
    char *end = NULL;
    uint64_t x = strtoull(v, &end, 0);
    if (end && (*end == 'K' || *end == 'k'))
        x *= 1024;
    else if (end && (*end == 'M' || *end == 'm'))
        x *= 1024 * 1024;
    return x;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t h_now_ms(const struct omv_host *h)
{
    (void)h;
    return now_ms();
}

static omv_status h_sleep_ms(const struct omv_host *h, uint32_t ms)
{
    (void)h;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return OMV_OK;
}

static omv_status h_confirm(const struct omv_host *h, const char *what)
{
    (void)h;
    (void)what;
    return OMV_OK;
}

static int set_opt(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return -1;
    size_t klen = (size_t)(eq - kv);
    size_t i;
    for (i = 0; i < TH.n; i++)
        if (strlen(TH.keys[i]) == klen && strncmp(TH.keys[i], kv, klen) == 0)
            break;
    if (i == TH.n) {
        if (TH.n == MAX_OPTS)
            return -1;
        TH.n++;
        snprintf(TH.keys[i], sizeof TH.keys[i], "%.*s", (int)klen, kv);
    }
    snprintf(TH.values[i], sizeof TH.values[i], "%s", eq + 1);
    return 0;
}

/* The AE3 board file's partitions (boards/ae3.ini). */
static const struct {
    const char *name;
    uint64_t size;
    uint32_t timeout_ms;
} board_parts[] = {
    {"BOOT", 128 * 1024, 0},   {"HP", 3 * 1024 * 1024, 0},     {"HE", 1400 * 1024, 0},
    {"ROMFS1", 1024 * 1024, 0}, {"TOC", 8 * 1024, 0},          {"RWFS", 8 * 1024 * 1024, 0},
    {"ROMFS0", 24 * 1024 * 1024, 0}, {"RECOVERY", 4 * 1024, 120000},
};

static const struct omv_plugin *P;
static void *S; /* session */
static struct omv_device_info INFO;
static struct omv_usb_id IDS[] = {{0x37C5, 0x96E3}};
static struct omv_match MATCH = {IDS, 1, NULL, NULL, NULL, 0};
static int failures;

#define FAIL(...)                                                                                            \
    do {                                                                                                     \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                               \
        fputc('\n', stderr);                                                                                 \
        failures++;                                                                                          \
    } while (0)

static int parse_code(const char *name, omv_status *out)
{
    for (int c = 0; c <= 32; c++)
        if (strcmp(omv_status_name((omv_status)c), name) == 0) {
            *out = (omv_status)c;
            return 0;
        }
    return -1;
}

static void check_error(const char *step, omv_status got, const omv_error *err, const char *code, const char *msg)
{
    omv_status want;
    if (parse_code(code, &want) < 0) {
        FAIL("%s: unknown status name %s", step, code);
        return;
    }
    if (got != want) {
        FAIL("%s: got %s (%s), want %s", step, omv_status_name(got), got ? err->msg : "", code);
        return;
    }
    if (err->code != want)
        FAIL("%s: err->code %s differs from the returned %s", step, omv_status_name(err->code), code);
    int ok = msg[0] == '~' ? strstr(err->msg, msg + 1) != NULL : strcmp(err->msg, msg) == 0;
    if (!ok)
        FAIL("%s: message\n    got:  \"%s\"\n    want: %s\"%s\"", step, err->msg, msg[0] == '~' ? "contains " : "",
             msg[0] == '~' ? msg + 1 : msg);
    else
        fprintf(stderr, "ok   %s: %s: %s\n", step, code, err->msg);
}

static int target_for(const char *name, struct omv_target *t)
{
    struct omv_dev_partition parts[32];
    size_t n = 0;
    omv_error err;
    omv_error_clear(&err);
    if (!S || P->transport->partitions(S, parts, 32, &n, &err) != OMV_OK)
        return -1;
    for (size_t i = 0; i < n && i < 32; i++) {
        if (strcmp(parts[i].name, name) != 0)
            continue;
        t->name = name;
        t->index = parts[i].index;
        t->size = 0;
        t->timeout_ms = 0;
        for (size_t b = 0; b < sizeof board_parts / sizeof board_parts[0]; b++)
            if (strcmp(board_parts[b].name, name) == 0) {
                t->size = board_parts[b].size;
                t->timeout_ms = board_parts[b].timeout_ms;
            }
        return 0;
    }
    return -1;
}

/* Source: a file streamed with fread. */
static omv_status src_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    *got = fread(buf, 1, len, (FILE *)ctx);
    if (*got < len && ferror((FILE *)ctx))
        return omv_error_set(err, OMV_E_IMAGE, "read error");
    return OMV_OK;
}

static omv_status do_write(const char *part, const char *file, omv_error *err, uint64_t *ms, uint64_t *size)
{
    struct omv_target t;
    if (target_for(part, &t) < 0)
        return omv_error_set(err, OMV_E_MISMATCH, "test: no partition %s (no session?)", part);
    FILE *f = fopen(file, "rb");
    if (!f)
        return omv_error_set(err, OMV_E_IMAGE, "test: cannot open %s", file);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    struct omv_source src = {f, (uint64_t)sz, src_read};
    TH.progress_calls = 0;
    uint64_t t0 = now_ms();
    omv_status st = P->transport->write(S, &t, &src, err);
    *ms = now_ms() - t0;
    *size = (uint64_t)sz;
    fclose(f);
    return st;
}

/* Sink: compares against a file. */
struct cmp_sink {
    FILE *f;
    uint64_t pos;
};

static omv_status sink_cmp(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    struct cmp_sink *c = ctx;
    uint8_t tmp[65536];
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < sizeof tmp ? len - off : sizeof tmp;
        size_t got = fread(tmp, 1, n, c->f);
        if (got < n)
            return omv_error_set(err, OMV_E_VERIFY, "read-back longer than the file (at byte %llu)",
                                 (unsigned long long)(c->pos + got));
        for (size_t i = 0; i < n; i++)
            if (tmp[i] != buf[off + i])
                return omv_error_set(err, OMV_E_VERIFY, "read-back differs at byte %llu",
                                     (unsigned long long)(c->pos + i));
        off += n;
        c->pos += n;
    }
    return OMV_OK;
}

static omv_status sink_discard(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    (void)buf;
    (void)err;
    ((struct cmp_sink *)ctx)->pos += len;
    return OMV_OK;
}

static omv_status do_read(const char *part, const char *lenstr, const char *file, omv_error *err)
{
    struct omv_target t;
    if (target_for(part, &t) < 0)
        return omv_error_set(err, OMV_E_MISMATCH, "test: no partition %s (no session?)", part);
    struct cmp_sink c = {NULL, 0};
    if (file) {
        c.f = fopen(file, "rb");
        if (!c.f)
            return omv_error_set(err, OMV_E_IMAGE, "test: cannot open %s", file);
    }
    struct omv_sink sink = {&c, file ? sink_cmp : sink_discard};
    /* "LEN@SIZE" pretends the board file gives the partition SIZE bytes. */
    char *end = NULL;
    uint64_t len = strtoull(lenstr, &end, 0);
    if (end && *end == '@')
        t.size = strtoull(end + 1, NULL, 0);
    omv_status st = P->transport->read(S, &t, len, &sink, err);
    if (st == OMV_OK && file) {
        int extra = fgetc(c.f);
        if (extra != EOF)
            st = omv_error_set(err, OMV_E_VERIFY, "read-back shorter than the file (%llu bytes)",
                               (unsigned long long)c.pos);
    }
    if (c.f)
        fclose(c.f);
    return st;
}

static void found_cb(void *user, const struct omv_device_info *d)
{
    (*(unsigned *)user)++;
    fprintf(stderr, "     found %04X:%04X serial \"%s\" port %s product \"%s\" mode %s\n", d->vid, d->pid, d->serial,
            d->port_path, d->product, d->mode);
}

static void check_describe(void)
{
    if (P->abi_version != OMV_PLUGIN_ABI_VERSION || P->size < sizeof(struct omv_plugin))
        FAIL("descriptor: abi %u size %u", P->abi_version, P->size);
    if (!P->name || strcmp(P->name, "dfu") != 0 || P->kind != OMV_PLUGIN_TRANSPORT || !P->transport || P->action)
        FAIL("descriptor: name/kind/ops wrong");
    const struct omv_transport_ops *o = P->transport;
    if (!o || !o->list || !o->open || !o->partitions || !o->write || !o->read || !o->finish || !o->close)
        FAIL("descriptor: an op is NULL");
    static const char *const want[] = {"transfer_size", "control_timeout_ms", "status_timeout_ms", "poll_ms",
                                       "bootloader_partition", "detach_timeout_ms"};
    size_t n = 0;
    for (const struct omv_option_spec *s = P->options; s && s->key; s++, n++)
        if (!s->default_value || !s->help)
            FAIL("option %s lacks a default or help", s->key);
    if (n != sizeof want / sizeof want[0])
        FAIL("descriptor: %zu options, want %zu", n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int seen = 0;
        for (const struct omv_option_spec *s = P->options; s && s->key; s++)
            seen |= strcmp(s->key, want[i]) == 0;
        if (!seen)
            FAIL("descriptor: option %s missing", want[i]);
    }
    if (!failures)
        fprintf(stderr, "ok   describe: %s %s, %zu options\n", P->name, P->version, n);
}

static void usage(void)
{
    fprintf(stderr, "usage: dfu_session_test PLUGIN.so STEP [ARGS]...  (see the source header)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    omv_plugin_entry_fn entry;
    *(void **)&entry = dlsym(dl, OMV_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(stderr, "dlsym %s: %s\n", OMV_PLUGIN_ENTRY_SYMBOL, dlerror());
        return 1;
    }
    P = entry();
    if (!P || P->abi_version != OMV_PLUGIN_ABI_VERSION || !P->transport) {
        fprintf(stderr, "bad plugin descriptor\n");
        return 1;
    }

    TH.host.abi_version = OMV_PLUGIN_ABI_VERSION;
    TH.host.size = sizeof(struct omv_host);
    TH.host.log = h_log;
    TH.host.progress = h_progress;
    TH.host.cancelled = h_cancelled;
    TH.host.option_str = h_option_str;
    TH.host.option_uint = h_option_uint;
    TH.host.now_ms = h_now_ms;
    TH.host.sleep_ms = h_sleep_ms;
    TH.host.confirm = h_confirm;
    TH.verbose = getenv("DFU_TEST_VERBOSE") != NULL;
    for (const struct omv_option_spec *s = P->options; s && s->key; s++) {
        char kv[320];
        snprintf(kv, sizeof kv, "%s=%s", s->key, s->default_value);
        set_opt(kv);
    }
    set_opt("bootloader_partition=BOOT");

    const struct omv_host *host = &TH.host;
    for (int i = 2; i < argc;) {
        const char *step = argv[i++];
#define NEED(n)                                                                                              \
    do {                                                                                                     \
        if (i + (n) > argc)                                                                                  \
            usage();                                                                                         \
    } while (0)
        omv_error err;
        omv_error_clear(&err);
        if (strcmp(step, "describe") == 0) {
            check_describe();
        } else if (strcmp(step, "opt") == 0) {
            NEED(1);
            if (set_opt(argv[i++]) < 0)
                usage();
        } else if (strcmp(step, "match-serial") == 0) {
            NEED(1);
            MATCH.serial = argv[i++];
        } else if (strcmp(step, "match-port") == 0) {
            NEED(1);
            MATCH.port_path = argv[i++];
        } else if (strcmp(step, "list") == 0) {
            NEED(1);
            unsigned want = (unsigned)strtoul(argv[i++], NULL, 0), n = 0;
            omv_status st = P->transport->list(host, &MATCH, found_cb, &n, &err);
            if (st != OMV_OK)
                FAIL("list: %s %s", omv_status_name(st), err.msg);
            else if (n != want)
                FAIL("list: %u devices, want %u", n, want);
            else
                fprintf(stderr, "ok   list: %u device(s)\n", n);
        } else if (strcmp(step, "open") == 0) {
            NEED(1);
            uint32_t wait = (uint32_t)strtoul(argv[i++], NULL, 0);
            uint64_t t0 = now_ms();
            omv_status st = P->transport->open(host, &MATCH, wait, &S, &INFO, &err);
            if (st != OMV_OK) {
                FAIL("open: %s %s", omv_status_name(st), err.msg);
                break; /* later steps need the session */
            }
            if (INFO.vid != 0x37C5 || INFO.pid != 0x96E3 || strcmp(INFO.mode, "bootloader") != 0)
                FAIL("open: info %04X:%04X mode %s", INFO.vid, INFO.pid, INFO.mode);
            fprintf(stderr, "ok   open: %04X:%04X serial \"%s\" port %s \"%s\" \"%s\" bootloader \"%s\" in %llu ms\n",
                    INFO.vid, INFO.pid, INFO.serial, INFO.port_path, INFO.manufacturer, INFO.product,
                    INFO.bootloader_version, (unsigned long long)(now_ms() - t0));
        } else if (strcmp(step, "open-fail") == 0) {
            NEED(3);
            uint32_t wait = (uint32_t)strtoul(argv[i], NULL, 0);
            void *s2 = NULL;
            uint64_t t0 = now_ms();
            omv_status st = P->transport->open(host, &MATCH, wait, &s2, NULL, &err);
            uint64_t took = now_ms() - t0;
            if (st == OMV_OK)
                P->transport->close(s2);
            check_error("open-fail", st, &err, argv[i + 1], argv[i + 2]);
            if (st == OMV_E_NO_DEVICE && (took < wait || took > wait + 1000))
                FAIL("open-fail: gave up after %llu ms, wait was %u ms", (unsigned long long)took, wait);
            i += 3;
        } else if (strcmp(step, "expect-version") == 0) {
            NEED(1);
            if (strcmp(INFO.bootloader_version, argv[i]) != 0)
                FAIL("bootloader version \"%s\", want \"%s\"", INFO.bootloader_version, argv[i]);
            else
                fprintf(stderr, "ok   bootloader version \"%s\"\n", argv[i]);
            i++;
        } else if (strcmp(step, "parts") == 0) {
            NEED(1);
            struct omv_dev_partition parts[32];
            size_t n = 0;
            char got[512] = "";
            if (!S || P->transport->partitions(S, parts, 32, &n, &err) != OMV_OK) {
                FAIL("partitions: %s", err.msg);
            } else {
                for (size_t k = 0; k < n && k < 32; k++) {
                    size_t o = strlen(got);
                    snprintf(got + o, sizeof got - o, "%s%s", k ? "," : "", parts[k].name);
                    if (parts[k].index != k)
                        FAIL("partitions: %s has alt %u, want %zu", parts[k].name, parts[k].index, k);
                }
                if (strcmp(got, argv[i]) != 0)
                    FAIL("partitions: \"%s\", want \"%s\"", got, argv[i]);
                else
                    fprintf(stderr, "ok   partitions: %s\n", got);
            }
            i++;
        } else if (strcmp(step, "write") == 0) {
            NEED(2);
            uint64_t ms = 0, size = 0;
            omv_status st = do_write(argv[i], argv[i + 1], &err, &ms, &size);
            if (st != OMV_OK)
                FAIL("write %s: %s %s", argv[i], omv_status_name(st), err.msg);
            else if (TH.progress_calls != (size + 4095) / 4096)
                FAIL("write %s: %u progress calls for %llu bytes", argv[i], TH.progress_calls,
                     (unsigned long long)size);
            else
                fprintf(stderr, "ok   write %s: %llu bytes in %llu ms (%.1f KiB/s)\n", argv[i],
                        (unsigned long long)size, (unsigned long long)ms, ms ? (double)size / 1024.0 * 1000.0 / (double)ms : 0.0);
            i += 2;
        } else if (strcmp(step, "write-fail") == 0) {
            NEED(4);
            uint64_t ms = 0, size = 0;
            omv_status st = do_write(argv[i], argv[i + 1], &err, &ms, &size);
            check_error("write-fail", st, &err, argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (strcmp(step, "read") == 0) {
            NEED(3);
            omv_status st = do_read(argv[i], argv[i + 1], argv[i + 2], &err);
            if (st != OMV_OK)
                FAIL("read %s: %s %s", argv[i], omv_status_name(st), err.msg);
            else
                fprintf(stderr, "ok   read %s (%s bytes) equals %s\n", argv[i], argv[i + 1], argv[i + 2]);
            i += 3;
        } else if (strcmp(step, "read-fail") == 0) {
            NEED(4);
            omv_status st = do_read(argv[i], argv[i + 1], NULL, &err);
            check_error("read-fail", st, &err, argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (strcmp(step, "finish") == 0) {
            NEED(1);
            int reset = strcmp(argv[i++], "reset") == 0;
            omv_status st = S ? P->transport->finish(S, reset, &err) : OMV_E_USAGE;
            if (st != OMV_OK)
                FAIL("finish(%d): %s %s", reset, omv_status_name(st), err.msg);
            else
                fprintf(stderr, "ok   finish(%s)\n", reset ? "reset" : "keep");
        } else if (strcmp(step, "cancel-after") == 0) {
            NEED(1);
            TH.cancel_after = (unsigned)strtoul(argv[i++], NULL, 0);
        } else if (strcmp(step, "sleep") == 0) {
            NEED(1);
            h_sleep_ms(host, (uint32_t)strtoul(argv[i++], NULL, 0));
        } else if (strcmp(step, "close") == 0) {
            P->transport->close(S);
            S = NULL;
        } else {
            fprintf(stderr, "unknown step %s\n", step);
            usage();
        }
    }
    P->transport->close(S);
    P->transport->close(NULL);
    dlclose(dl);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
