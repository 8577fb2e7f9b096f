/*
 * dfu_session_test: drives omvflash_dfu.so through the plugin ABI, with its
 * own minimal struct omv_host (dfu_test_host.c), against a (usually
 * emulated) AE3.
 *
 *   dfu_session_test PLUGIN.so STEP [ARGS]... [STEP [ARGS]...]...
 *
 * Steps (each consumes a fixed number of arguments):
 *   describe                      check the plugin descriptor and options
 *   opt KEY=VALUE                 set a [dfu] option, or PART:KEY=VALUE a partition option
 *   match-serial S | match-port P add a filter to the device match
 *   list N                        list() must report exactly N devices
 *   open WAIT_MS                  open() (looked for every 20 ms, as the core does) must succeed within WAIT_MS
 *   open-fail WAIT_MS CODE MSG    open() must still fail with CODE and MSG after WAIT_MS
 *   expect-version V              the opened device reported bootloader V ("" = none)
 *   parts NAME,NAME,...           partitions() must report exactly these, in order
 *   write PART FILE               write FILE to PART, must succeed (prints the time)
 *   write-at PART OFFSET FILE     write FILE at partition offset OFFSET
 *   write-ranges PART FILE RANGES N  write only RANGES of FILE ("OFF+LEN,OFF+LEN"); N bytes must be sent
 *   write-ranges-fail PART FILE RANGES CODE MSG  that write must fail with CODE and MSG
 *   write-fail PART FILE CODE MSG write must fail with CODE and MSG
 *   expect-error STATUS BLOCK RETRIABLE  the last error's device status name (- = none), block (- = none), 0/1
 *   read PART LEN FILE            read LEN bytes (0 = whole partition) must equal FILE; LEN@SIZE also
 *                                 pretends the board gives PART SIZE bytes, OFF:LEN reads from offset OFF
 *   read-fail PART LEN CODE MSG   read must fail with CODE and MSG (LEN as for read)
 *   erase PART                    erase() must succeed
 *   recover CODE                  recover() must return CODE
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_test_host.h"

static const struct omv_plugin *P;
static void *CTX; /* plugin context */
static void *S;   /* session */
static struct omv_device_info INFO;
static struct omv_usb_id IDS[] = {{0x37C5, 0x96E3}};
static struct omv_match MATCH = {IDS, 1, NULL, NULL, NULL, 0};
static omv_error LAST; /* the last failed step's error */
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
    LAST = *err;
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
    const struct omv_target *b = th_partition(name);
    if (!S || !b || P->transport->partitions(S, parts, 32, &n, &err) != OMV_OK)
        return -1;
    for (size_t i = 0; i < n && i < 32; i++) {
        if (strcmp(parts[i].name, name) == 0) {
            *t = *b;
            t->index = parts[i].index;
            return 0;
        }
    }
    return -1;
}

/* Source: a file streamed with fread; skip() seeks. */
static omv_status src_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    *got = fread(buf, 1, len, (FILE *)ctx);
    if (*got < len && ferror((FILE *)ctx))
        return omv_error_set(err, OMV_E_IMAGE, "read error");
    return OMV_OK;
}

static omv_status src_skip(void *ctx, uint64_t n, omv_error *err)
{
    if (fseek((FILE *)ctx, (long)n, SEEK_CUR) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "seek error");
    return OMV_OK;
}

/* "OFF+LEN,OFF+LEN" into @p r (at most 16). */
static size_t parse_ranges(const char *text, struct omv_range *r)
{
    size_t n = 0;
    for (const char *p = text; *p && n < 16;) {
        char *end;
        r[n].offset = strtoull(p, &end, 0);
        r[n].length = *end == '+' ? strtoull(end + 1, &end, 0) : 0;
        n++;
        p = *end == ',' ? end + 1 : end;
        if (!*end)
            break;
    }
    return n;
}

static omv_status do_write(const char *part, const char *file, uint64_t offset, const char *ranges, omv_error *err,
                           uint64_t *ms, uint64_t *size, uint64_t *written)
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
    struct omv_source src = {f, (uint64_t)sz, src_read, src_skip};
    struct omv_range r[16];
    struct omv_write w = {.src = &src, .offset = offset, .ranges = r, .n_ranges = ranges ? parse_ranges(ranges, r) : 0};
    TH.progress_calls = 0;
    uint64_t t0 = th_now_ms();
    omv_status st = P->transport->write(S, &t, &w, err);
    *ms = th_now_ms() - t0;
    *size = (uint64_t)sz;
    *written = w.written;
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
    if (file && !(c.f = fopen(file, "rb")))
        return omv_error_set(err, OMV_E_IMAGE, "test: cannot open %s", file);
    struct omv_sink sink = {&c, file ? sink_cmp : sink_discard};
    /* "OFF:LEN" reads from OFF; "LEN@SIZE" pretends the board file gives the partition SIZE bytes. */
    char *end = NULL;
    uint64_t off = 0, len = strtoull(lenstr, &end, 0);
    if (end && *end == ':') {
        off = len;
        len = strtoull(end + 1, &end, 0);
    }
    if (end && *end == '@')
        t.size = strtoull(end + 1, NULL, 0);
    omv_status st = P->transport->read(S, &t, off, len, &sink, err);
    if (st == OMV_OK && file && fgetc(c.f) != EOF)
        st = omv_error_set(err, OMV_E_VERIFY, "read-back shorter than the file (%llu bytes)",
                           (unsigned long long)c.pos);
    if (c.f)
        fclose(c.f);
    return st;
}

/* The core's wait: open() every 20 ms until it answers, a permission error outlives 1 s, or @p wait ends. */
static omv_status wait_open(uint32_t wait, void **s, struct omv_device_info *info, omv_error *err)
{
    uint64_t start = th_now_ms(), access_since = 0;
    for (;;) {
        omv_status st = P->transport->open(CTX, &TH.host, &MATCH, s, info, err);
        uint64_t now = th_now_ms();
        if (st == OMV_E_ACCESS && !access_since)
            access_since = now;
        int retry = st == OMV_E_NO_DEVICE || (st == OMV_E_ACCESS && now - access_since < 1000);
        if (!retry || now - start >= wait)
            return st;
        TH.host.sleep_ms(&TH.host, 20);
    }
}

static void found_cb(void *user, const struct omv_device_info *d)
{
    (*(unsigned *)user)++;
    fprintf(stderr, "     found %04X:%04X serial \"%s\" port %s product \"%s\" mode %s\n", d->vid, d->pid, d->serial,
            d->port_path, d->product, d->mode);
}

/* ---- steps: each takes its arguments from argv and returns how many it took ---- */

static int step_list(char **a)
{
    omv_error err;
    unsigned want = (unsigned)strtoul(a[0], NULL, 0), n = 0;
    omv_status st = P->transport->list(CTX, &TH.host, &MATCH, found_cb, &n, &err);
    if (st != OMV_OK)
        FAIL("list: %s %s", omv_status_name(st), err.msg);
    else if (n != want)
        FAIL("list: %u devices, want %u", n, want);
    else
        fprintf(stderr, "ok   list: %u device(s)\n", n);
    return 1;
}

static int step_open(char **a)
{
    omv_error err;
    uint64_t t0 = th_now_ms();
    omv_status st = wait_open((uint32_t)strtoul(a[0], NULL, 0), &S, &INFO, &err);
    if (st != OMV_OK) {
        FAIL("open: %s %s", omv_status_name(st), err.msg);
        return -1; /* later steps need the session */
    }
    if (INFO.vid != 0x37C5 || INFO.pid != 0x96E3 || strcmp(INFO.mode, "bootloader") != 0)
        FAIL("open: info %04X:%04X mode %s", INFO.vid, INFO.pid, INFO.mode);
    fprintf(stderr, "ok   open: %04X:%04X serial \"%s\" port %s \"%s\" \"%s\" bootloader \"%s\" in %llu ms\n", INFO.vid,
            INFO.pid, INFO.serial, INFO.port_path, INFO.manufacturer, INFO.product, INFO.bootloader_version,
            (unsigned long long)(th_now_ms() - t0));
    return 1;
}

static int step_open_fail(char **a)
{
    omv_error err;
    uint32_t wait = (uint32_t)strtoul(a[0], NULL, 0);
    void *s2 = NULL;
    uint64_t t0 = th_now_ms();
    omv_status st = wait_open(wait, &s2, NULL, &err);
    uint64_t took = th_now_ms() - t0;
    if (st == OMV_OK)
        P->transport->close(s2);
    check_error("open-fail", st, &err, a[1], a[2]);
    if (st == OMV_E_NO_DEVICE && (took < wait || took > wait + 1000))
        FAIL("open-fail: gave up after %llu ms, wait was %u ms", (unsigned long long)took, wait);
    return 3;
}

static int step_version(char **a)
{
    if (strcmp(INFO.bootloader_version, a[0]) != 0)
        FAIL("bootloader version \"%s\", want \"%s\"", INFO.bootloader_version, a[0]);
    else
        fprintf(stderr, "ok   bootloader version \"%s\"\n", a[0]);
    return 1;
}

static int step_parts(char **a)
{
    omv_error err;
    struct omv_dev_partition parts[32];
    size_t n = 0;
    char got[512] = "";
    if (!S || P->transport->partitions(S, parts, 32, &n, &err) != OMV_OK) {
        FAIL("partitions: %s", err.msg);
        return 1;
    }
    for (size_t k = 0; k < n && k < 32; k++) {
        size_t o = strlen(got);
        snprintf(got + o, sizeof got - o, "%s%s", k ? "," : "", parts[k].name);
        if (parts[k].index != k)
            FAIL("partitions: %s has alt %u, want %zu", parts[k].name, parts[k].index, k);
    }
    if (strcmp(got, a[0]) != 0)
        FAIL("partitions: \"%s\", want \"%s\"", got, a[0]);
    else
        fprintf(stderr, "ok   partitions: %s\n", got);
    return 1;
}

/* write / write-at / write-ranges: the image lands; progress once per block sent. */
static void write_ok(const char *part, const char *file, uint64_t offset, const char *ranges, const char *want)
{
    omv_error err;
    uint64_t ms = 0, size = 0, written = 0;
    omv_status st = do_write(part, file, offset, ranges, &err, &ms, &size, &written);
    uint64_t expect = want ? strtoull(want, NULL, 0) : size;
    if (st != OMV_OK)
        FAIL("write %s: %s %s", part, omv_status_name(st), err.msg);
    else if (written != expect)
        FAIL("write %s: %llu bytes sent, want %llu", part, (unsigned long long)written, (unsigned long long)expect);
    else if (TH.progress_calls != (written + 4095) / 4096 || TH.last_done != written || TH.last_total != written)
        FAIL("write %s: %u progress calls, last %llu of %llu, for %llu bytes", part, TH.progress_calls,
             (unsigned long long)TH.last_done, (unsigned long long)TH.last_total, (unsigned long long)written);
    else
        fprintf(stderr, "ok   write %s: %llu of %llu bytes in %llu ms (%.1f KiB/s)\n", part,
                (unsigned long long)written, (unsigned long long)size, (unsigned long long)ms,
                ms ? (double)written / 1024.0 * 1000.0 / (double)ms : 0.0);
}

static int step_write(char **a)
{
    write_ok(a[0], a[1], 0, NULL, NULL);
    return 2;
}

static int step_write_at(char **a)
{
    write_ok(a[0], a[2], strtoull(a[1], NULL, 0), NULL, NULL);
    return 3;
}

static int step_write_ranges(char **a)
{
    write_ok(a[0], a[1], 0, a[2], a[3]);
    return 4;
}

static int step_write_fail(char **a)
{
    omv_error err;
    uint64_t ms = 0, size = 0, written = 0;
    omv_status st = do_write(a[0], a[1], 0, NULL, &err, &ms, &size, &written);
    check_error("write-fail", st, &err, a[2], a[3]);
    return 4;
}

static int step_write_ranges_fail(char **a)
{
    omv_error err;
    uint64_t ms = 0, size = 0, written = 0;
    omv_status st = do_write(a[0], a[1], 0, a[2], &err, &ms, &size, &written);
    check_error("write-ranges-fail", st, &err, a[3], a[4]);
    return 5;
}

static int step_expect_error(char **a)
{
    int has_status = LAST.flags & OMV_ERRF_DEVICE_STATUS, has_block = LAST.flags & OMV_ERRF_BLOCK;
    const char *status = has_status ? LAST.device_status_name : "-";
    char block[32] = "-";
    if (has_block)
        snprintf(block, sizeof block, "%llu", LAST.block);
    if (strcmp(status, a[0]) != 0 || strcmp(block, a[1]) != 0 || LAST.retriable != atoi(a[2]))
        FAIL("error details: status %s block %s retriable %d, want %s %s %s", status, block, LAST.retriable, a[0],
             a[1], a[2]);
    else
        fprintf(stderr, "ok   error details: status %s, block %s, retriable %d\n", status, block, LAST.retriable);
    return 3;
}

static int step_read(char **a)
{
    omv_error err;
    omv_status st = do_read(a[0], a[1], a[2], &err);
    if (st != OMV_OK)
        FAIL("read %s: %s %s", a[0], omv_status_name(st), err.msg);
    else
        fprintf(stderr, "ok   read %s (%s bytes) equals %s\n", a[0], a[1], a[2]);
    return 3;
}

static int step_read_fail(char **a)
{
    omv_error err;
    check_error("read-fail", do_read(a[0], a[1], NULL, &err), &err, a[2], a[3]);
    return 4;
}

static int step_erase(char **a)
{
    omv_error err;
    struct omv_target t;
    omv_status st = target_for(a[0], &t) == 0 ? P->transport->erase(S, &t, &err)
                                              : omv_error_set(&err, OMV_E_MISMATCH, "test: no partition %s", a[0]);
    if (st != OMV_OK)
        FAIL("erase %s: %s %s", a[0], omv_status_name(st), err.msg);
    else
        fprintf(stderr, "ok   erase %s\n", a[0]);
    return 1;
}

static int step_recover(char **a)
{
    omv_error err;
    omv_error_clear(&err);
    omv_status want, st = S ? P->transport->recover(S, &err) : OMV_E_USAGE;
    if (parse_code(a[0], &want) < 0 || st != want)
        FAIL("recover: %s (%s), want %s", omv_status_name(st), err.msg, a[0]);
    else
        fprintf(stderr, "ok   recover: %s%s%s\n", omv_status_name(st), st ? ": " : "", st ? err.msg : "");
    return 1;
}

static int step_finish(char **a)
{
    omv_error err;
    int reset = strcmp(a[0], "reset") == 0;
    omv_status st = S ? P->transport->finish(S, reset, &err) : OMV_E_USAGE;
    if (st != OMV_OK)
        FAIL("finish(%d): %s %s", reset, omv_status_name(st), err.msg);
    else
        fprintf(stderr, "ok   finish(%s)\n", reset ? "reset" : "keep");
    return 1;
}

static int step_opt(char **a)
{
    if (th_set(a[0]) < 0)
        FAIL("opt %s: not KEY=VALUE", a[0]);
    return 1;
}

static int step_misc(const char *name, char **a)
{
    if (strcmp(name, "match-serial") == 0)
        MATCH.serial = a[0];
    else if (strcmp(name, "match-port") == 0)
        MATCH.port_path = a[0];
    else if (strcmp(name, "cancel-after") == 0)
        TH.cancel_after = (unsigned)strtoul(a[0], NULL, 0);
    else if (strcmp(name, "sleep") == 0)
        TH.host.sleep_ms(&TH.host, (uint32_t)strtoul(a[0], NULL, 0));
    return 1;
}

static const struct {
    const char *name;
    int args;
    int (*run)(char **a);
} steps[] = {
    {"list", 1, step_list},           {"open", 1, step_open},
    {"open-fail", 3, step_open_fail}, {"expect-version", 1, step_version},
    {"parts", 1, step_parts},         {"write", 2, step_write},
    {"write-at", 3, step_write_at},   {"write-ranges", 4, step_write_ranges},
    {"write-fail", 4, step_write_fail}, {"expect-error", 3, step_expect_error},
    {"write-ranges-fail", 5, step_write_ranges_fail},
    {"read", 3, step_read},           {"read-fail", 4, step_read_fail},
    {"erase", 1, step_erase},         {"recover", 1, step_recover},
    {"finish", 1, step_finish},       {"opt", 1, step_opt},
};

static void usage(void)
{
    fprintf(stderr, "usage: dfu_session_test PLUGIN.so STEP [ARGS]...  (see the source header)\n");
    exit(2);
}

/* One step at argv[i]: @return how many arguments it took after its name, -1 to stop. */
static int run_step(int argc, char **argv, int i)
{
    const char *name = argv[i++];
    if (strcmp(name, "describe") == 0) {
        failures += th_check_describe(P);
        return 0;
    }
    if (strcmp(name, "close") == 0) {
        P->transport->close(S);
        S = NULL;
        return 0;
    }
    if (!strcmp(name, "match-serial") || !strcmp(name, "match-port") || !strcmp(name, "cancel-after") ||
        !strcmp(name, "sleep")) {
        if (i + 1 > argc)
            usage();
        return step_misc(name, argv + i);
    }
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        if (strcmp(steps[k].name, name) != 0)
            continue;
        if (i + steps[k].args > argc)
            usage();
        return steps[k].run(argv + i);
    }
    fprintf(stderr, "unknown step %s\n", name);
    usage();
    return -1;
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
    P = entry ? entry() : NULL;
    if (!P || P->abi_version != OMV_PLUGIN_ABI_VERSION || !P->transport) {
        fprintf(stderr, "bad plugin descriptor\n");
        return 1;
    }
    th_init(P);
    for (int i = 2; i < argc;) {
        if (!CTX && strcmp(argv[i], "describe") != 0 && strcmp(argv[i], "opt") != 0) {
            omv_error err; /* the options are final: start the plugin */
            if (P->init(&TH.host, &CTX, &err) != OMV_OK) {
                FAIL("init: %s", err.msg);
                break;
            }
        }
        int took = run_step(argc, argv, i);
        if (took < 0)
            break;
        i += 1 + took;
    }
    P->transport->close(S);
    P->transport->close(NULL);
    if (CTX)
        P->exit(CTX);
    dlclose(dl);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
