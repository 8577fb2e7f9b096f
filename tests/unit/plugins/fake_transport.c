/*
 * omvflash_fake: a transport plugin with no device behind it, for the core's
 * unit tests. It proves the core drives any transport, not just DFU.
 *
 * Everything happens in the directory named by $OMV_FAKE_DIR:
 *   config        optional "key=value" lines:
 *                   present=0               list()/open() find no device
 *                   partitions=A:0,B:1      what partitions() reports
 *                   corrupt=NAME:OFFSET     read() of NAME flips the byte at OFFSET
 *                   fail_read=NAME:OFFSET   read() of NAME fails once OFFSET bytes were delivered
 *   calls.log     one line per call, appended ("open wait=100", "write FIRMWARE 1 5000", ...)
 *   part_NAME.bin the bytes last written to NAME; read() serves them (or a
 *                 pattern, byte i = i & 0xFF, when NAME was never written)
 * Board options ([fake]): label (string), block (uint, bytes per source read).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omvflash/plugin.h>

typedef struct fake {
    const struct omv_host *host;
    char dir[512];
} fake;

static const char *fdir(void)
{
    const char *d = getenv("OMV_FAKE_DIR");
    return d ? d : ".";
}

static void logcall(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logcall(const char *fmt, ...)
{
    char path[600];
    snprintf(path, sizeof path, "%s/calls.log", fdir());
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

/* Value of config key, copied into buf; NULL if absent. */
static const char *config(const char *key, char *buf, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config", fdir());
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[512];
    const char *res = NULL;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(buf, len, "%s", line + kl + 1);
            res = buf;
        }
    }
    fclose(f);
    return res;
}

/* "NAME:OFFSET" for partition name -> offset, or -1. */
static long config_at(const char *key, const char *name)
{
    char buf[128];
    if (!config(key, buf, sizeof buf))
        return -1;
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    if (strcmp(buf, name) != 0)
        return -1;
    return strtol(colon + 1, NULL, 0);
}

/* present_<plugin name> overrides present, so a board with two fake
 * transports can have only one answer; "after_enter" = only once the fake
 * entry plugin rebooted the camera into its bootloader. */
static int present(void)
{
    char buf[32];
    if (!config("present_" PLUGIN_NAME, buf, sizeof buf) && !config("present", buf, sizeof buf))
        return 1;
    if (strcmp(buf, "after_enter") == 0) {
        char path[600];
        snprintf(path, sizeof path, "%s/entered", fdir());
        FILE *f = fopen(path, "r");
        if (f)
            fclose(f);
        return f != NULL;
    }
    return strcmp(buf, "0") != 0;
}

static void fill_info(struct omv_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->vid = 0x37C5;
    info->pid = 0x9FFF;
    snprintf(info->serial, sizeof info->serial, "FAKE0001");
    snprintf(info->port_path, sizeof info->port_path, "9-9");
    snprintf(info->product, sizeof info->product, "Fake Camera");
    snprintf(info->mode, sizeof info->mode, "bootloader");
}

static omv_status fake_list(const struct omv_host *host, const struct omv_match *match,
                            omv_device_found_fn found, void *user, omv_error *err)
{
    (void)host;
    (void)err;
    logcall("list ids=%zu first=%04X:%04X", match->n_ids, match->ids[0].vid, match->ids[0].pid);
    if (present()) {
        struct omv_device_info info;
        fill_info(&info);
        found(user, &info);
    }
    return OMV_OK;
}

static omv_status fake_open(const struct omv_host *host, const struct omv_match *match,
                            uint32_t wait_ms, void **session, struct omv_device_info *info,
                            omv_error *err)
{
    logcall("open wait=%u serial=%s label=%s block=%llu", (unsigned)wait_ms,
            match->serial ? match->serial : "-", host->option_str(host, "label"),
            (unsigned long long)host->option_uint(host, "block"));
    if (!present())
        return omv_error_set(err, OMV_E_NO_DEVICE, "no fake device appeared within %u ms",
                             (unsigned)wait_ms);
    if (strcmp(PLUGIN_NAME, "fake") != 0)
        logcall("opened by %s", PLUGIN_NAME);
    fake *f = calloc(1, sizeof *f);
    if (!f)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    f->host = host;
    fill_info(info);
    *session = f;
    return OMV_OK;
}

static omv_status fake_partitions(void *session, struct omv_dev_partition *out, size_t max,
                                  size_t *count, omv_error *err)
{
    (void)session;
    (void)err;
    char buf[400];
    if (!config("partitions", buf, sizeof buf))
        snprintf(buf, sizeof buf, "BOOT:0,FIRMWARE:1,ROMFS0:2,FS:3,NOREAD:4");
    logcall("partitions");
    size_t n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (colon)
            *colon = '\0';
        if (n < max) {
            snprintf(out[n].name, sizeof out[n].name, "%s", tok);
            out[n].index = colon ? (unsigned)atoi(colon + 1) : (unsigned)n;
        }
        n++;
    }
    *count = n;
    return OMV_OK;
}

static omv_status fake_write(void *session, const struct omv_target *t, const struct omv_source *src,
                             omv_error *err)
{
    fake *f = session;
    const struct omv_host *h = f->host;
    logcall("write %s %u %llu", t->name, t->index, (unsigned long long)src->size);
    char path[600];
    snprintf(path, sizeof path, "%s/part_%s.bin", fdir(), t->name);
    FILE *out = fopen(path, "wb");
    if (!out)
        return omv_error_set(err, OMV_E_IO, "cannot create %s", path);
    size_t block = (size_t)h->option_uint(h, "block");
    uint8_t *buf = malloc(block);
    uint64_t done = 0;
    omv_status st = OMV_OK;
    while (buf && done < src->size) {
        size_t got = 0;
        st = src->read(src->ctx, buf, block, &got, err);
        if (st != OMV_OK)
            break;
        if (got == 0) {
            st = omv_error_set(err, OMV_E_IMAGE, "source ended early");
            break;
        }
        fwrite(buf, 1, got, out);
        done += got;
        h->log(h, OMV_LOG_DEBUG, "block %llu written", (unsigned long long)(done / block));
        h->progress(h, done, src->size);
    }
    free(buf);
    fclose(out);
    return st;
}

static omv_status fake_read(void *session, const struct omv_target *t, uint64_t length,
                            const struct omv_sink *sink, omv_error *err)
{
    fake *f = session;
    logcall("read %s %u %llu", t->name, t->index, (unsigned long long)length);
    char path[600];
    snprintf(path, sizeof path, "%s/part_%s.bin", fdir(), t->name);
    FILE *in = fopen(path, "rb");
    long corrupt = config_at("corrupt", t->name);
    long fail = config_at("fail_read", t->name);
    uint64_t done = 0;
    omv_status st = OMV_OK;
    uint8_t buf[1000]; /* deliberately not a power of two */
    while (done < length) {
        size_t n = sizeof buf;
        if (n > length - done)
            n = (size_t)(length - done);
        size_t got = in ? fread(buf, 1, n, in) : 0;
        for (size_t i = got; i < n; i++)
            buf[i] = (uint8_t)((done + i) & 0xFF);
        if (corrupt >= 0 && (uint64_t)corrupt >= done && (uint64_t)corrupt < done + n)
            buf[corrupt - (long)done] ^= 0xFF;
        if (fail >= 0 && done + n > (uint64_t)fail) {
            st = omv_error_set(err, OMV_E_IO, "fake I/O error at offset %ld", fail);
            break;
        }
        st = sink->write(sink->ctx, buf, n, err);
        if (st != OMV_OK)
            break;
        done += n;
        f->host->progress(f->host, done, length);
    }
    if (in)
        fclose(in);
    return st;
}

static omv_status fake_finish(void *session, int reset, omv_error *err)
{
    (void)session;
    (void)err;
    logcall("finish reset=%d", reset);
    return OMV_OK;
}

static void fake_close(void *session)
{
    logcall("close");
    free(session);
}

static const struct omv_option_spec fake_options[] = {
    {"label", OMV_OPT_STRING, "none", "text logged by open()"},
    {"block", OMV_OPT_UINT, "4096", "bytes per source read"},
    {"quick", OMV_OPT_BOOL, "no", "unused; a bool option for the checker"},
    {NULL, 0, NULL, NULL},
};

static const struct omv_transport_ops fake_ops = {
    .list = fake_list,
    .open = fake_open,
    .partitions = fake_partitions,
    .write = fake_write,
    .read = fake_read,
    .finish = fake_finish,
    .close = fake_close,
};

static const struct omv_plugin fake_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = PLUGIN_NAME,
    .version = "0.0.1",
    .description = "test transport without a device",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = fake_options,
    .transport = &fake_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { return &fake_plugin; }
