/*
 * omvflash_fake: a transport plugin with no device behind it, for the core's
 * unit tests. It proves the core drives any transport, not just DFU.
 *
 * Everything happens in the directory named by $OMV_FAKE_DIR:
 *   config        optional "key=value" lines:
 *                   present=0               list()/open() find no device
 *                   present_<plugin>=0|after_enter  the same, per plugin ("after_enter": once the
 *                                           fake entry plugin rebooted the camera)
 *                   partitions=A:0,B:1      what partitions() reports
 *                   corrupt=NAME:OFFSET     read() of NAME flips the byte at OFFSET
 *                   fail_read=NAME:OFFSET   read() of NAME fails once OFFSET bytes were delivered
 *                   fail_write=NAME:STATUS  write() of NAME fails with device status STATUS at block 2
 *                   access=N                open() answers E_ACCESS the first N times
 *   calls.log     one line per call, appended ("open serial=- label=x", "write FIRMWARE 1 5000", ...;
 *                 a write of some ranges: "write FIRMWARE 1 20000 ranges 8192+4096,...", and it
 *                 writes all of the image, as a transport may)
 *   part_NAME.bin the bytes last written to NAME; read() serves them (or a
 *                 pattern, byte i = i & 0xFF, when NAME was never written)
 * Board options ([fake]): label (string; "bad" fails check()), block (uint,
 * bytes per source read); partition options: alt (unique), tag (a|b).
 * Container images (segments()): a first line "FAKESEGS FOR=VVVV:PPPP", then
 * "PARTITION OFFSET LENGTH" lines, then "END", then the segments' bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omvflash/plugin.h>

typedef struct fake {
    const struct omv_host *host;
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

/* "NAME:VALUE" for partition name -> value, or -1. */
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

static int exists(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fdir(), name);
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

static int present(void)
{
    char buf[32];
    if (!config("present_" PLUGIN_NAME, buf, sizeof buf) && !config("present", buf, sizeof buf))
        return 1;
    if (strcmp(buf, "after_enter") == 0)
        return exists("entered");
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

static omv_status fake_init(const struct omv_host *host, void **pctx, omv_error *err)
{
    (void)err;
    logcall("init %s label=%s", PLUGIN_NAME, host->option_str(host, "label"));
    *pctx = (void *)host;
    return OMV_OK;
}

static void fake_exit(void *pctx)
{
    (void)pctx;
    logcall("exit %s", PLUGIN_NAME);
}

static omv_status fake_check(const struct omv_host *host, omv_error *err)
{
    if (strcmp(host->option_str(host, "label"), "bad") == 0)
        return omv_error_set(err, OMV_E_BOARD, "label must not be 'bad'");
    return OMV_OK;
}

static omv_status fake_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                            omv_device_found_fn found, void *user, omv_error *err)
{
    (void)err;
    if (pctx != host)
        return omv_error_set(err, OMV_E_FAILED, "list: not the plugin context init() returned");
    logcall("list ids=%zu first=%04X:%04X", match->n_ids, match->ids[0].vid, match->ids[0].pid);
    if (present()) {
        struct omv_device_info info;
        fill_info(&info);
        found(user, &info);
    }
    return OMV_OK;
}

/* config access=N: the first N looks answer E_ACCESS (udev still applying permissions). */
static int access_denied(void)
{
    char buf[32], path[600];
    if (!config("access", buf, sizeof buf))
        return 0;
    int n = 0;
    snprintf(path, sizeof path, "%s/access_count", fdir());
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    if (n >= atoi(buf))
        return 0;
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", n + 1);
        fclose(f);
    }
    return 1;
}

static omv_status fake_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                            struct omv_device_info *info, omv_error *err)
{
    (void)pctx;
    if (!present())
        return omv_error_set(err, OMV_E_NO_DEVICE, "no fake device is attached");
    if (access_denied())
        return omv_error_set(err, OMV_E_ACCESS, "fake device: permission denied");
    logcall("open serial=%s label=%s block=%llu", match->serial ? match->serial : "-", host->option_str(host, "label"),
            (unsigned long long)host->option_uint(host, "block"));
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

static omv_status fake_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                                  omv_error *err)
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

/* Copy the wanted bytes of the source into part_NAME.bin at w->offset (the rest of the file stays). */
static omv_status fake_write(void *session, const struct omv_target *t, struct omv_write *w, omv_error *err)
{
    fake *f = session;
    const struct omv_host *h = f->host;
    const struct omv_source *src = w->src;
    char at[48] = "";
    if (w->offset)
        snprintf(at, sizeof at, " at %llu", (unsigned long long)w->offset);
    char ranges[256] = "";
    for (size_t k = 0; k < w->n_ranges; k++) {
        size_t used = strlen(ranges);
        snprintf(ranges + used, sizeof ranges - used, "%s%llu+%llu", k ? "," : " ranges ",
                 (unsigned long long)w->ranges[k].offset, (unsigned long long)w->ranges[k].length);
    }
    logcall("write %s %u %llu%s%s", t->name, t->index, (unsigned long long)src->size, at, ranges);
    long fail = config_at("fail_write", t->name);
    if (fail >= 0) {
        omv_error_set(err, OMV_E_DEVICE, "block 2: fake device status %ld", fail);
        omv_error_device(err, (unsigned)fail, "errFAKE");
        omv_error_block(err, 2);
        return omv_error_retriable(err, 1);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/part_%s.bin", fdir(), t->name);
    FILE *out = fopen(path, "r+b");
    if (!out)
        out = fopen(path, "w+b");
    if (!out)
        return omv_error_set(err, OMV_E_IO, "cannot create %s", path);
    fseek(out, (long)w->offset, SEEK_SET);
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
    w->written = done;
    free(buf);
    fclose(out);
    return st;
}

static omv_status fake_read(void *session, const struct omv_target *t, uint64_t offset, uint64_t length,
                            const struct omv_sink *sink, omv_error *err)
{
    fake *f = session;
    char at[48] = "";
    if (offset)
        snprintf(at, sizeof at, " at %llu", (unsigned long long)offset);
    logcall("read %s %u %llu%s", t->name, t->index, (unsigned long long)length, at);
    char path[600];
    snprintf(path, sizeof path, "%s/part_%s.bin", fdir(), t->name);
    FILE *in = fopen(path, "rb");
    if (in)
        fseek(in, (long)offset, SEEK_SET);
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
            buf[i] = (uint8_t)((offset + done + i) & 0xFF);
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

static omv_status fake_erase(void *session, const struct omv_target *t, omv_error *err)
{
    (void)session;
    (void)err;
    logcall("erase %s %u", t->name, t->index);
    return OMV_OK;
}

static omv_status fake_recover(void *session, omv_error *err)
{
    (void)session;
    (void)err;
    logcall("recover");
    return OMV_OK;
}

static omv_status fake_finish(void *session, int reset, omv_error *err)
{
    (void)session;
    (void)err;
    logcall("finish reset=%d", reset);
    /* A reset boots the camera's application: a bootloader reached through
     * the fake entry plugin ("after_enter") leaves, and the entry plugin
     * sees the camera in application mode again ("app=1"). */
    char path[600];
    snprintf(path, sizeof path, "%s/entered", fdir());
    if (reset)
        remove(path);
    return OMV_OK;
}

static void fake_close(void *session)
{
    logcall("close");
    free(session);
}

/* Read the container header ("FAKESEGS ...\n" lines up to "END\n") from the source. */
static omv_status fake_segments(void *pctx, const struct omv_host *host, const struct omv_source *image,
                                struct omv_segment *out, size_t max, size_t *count, struct omv_usb_id *device,
                                omv_error *err)
{
    (void)pctx;
    (void)host;
    char head[2048];
    size_t got = 0;
    *count = 0;
    omv_status st = image->read(image->ctx, (uint8_t *)head, sizeof head - 1, &got, err);
    if (st != OMV_OK || got < 9 || strncmp(head, "FAKESEGS ", 9) != 0)
        return st;
    head[got] = '\0';
    char *end = strstr(head, "\nEND\n");
    if (!end)
        return omv_error_set(err, OMV_E_IMAGE, "FAKESEGS header without END");
    uint64_t data = (uint64_t)(end - head) + 5;
    unsigned vid = 0, pid = 0;
    sscanf(head, "FAKESEGS FOR=%x:%x", &vid, &pid);
    device->vid = (uint16_t)vid;
    device->pid = (uint16_t)pid;
    for (char *line = strchr(head, '\n') + 1; line < end && *count < max; line = strchr(line, '\n') + 1) {
        struct omv_segment *s = &out[*count];
        unsigned long long off, len;
        if (sscanf(line, "%63s %lli %lli", s->partition, &off, &len) != 3)
            return omv_error_set(err, OMV_E_IMAGE, "FAKESEGS: bad line");
        s->offset = off;
        s->length = len;
        s->image_offset = data;
        data += len;
        (*count)++;
    }
    return OMV_OK;
}

static const char *const tags[] = {"a", "b", NULL};

static const struct omv_option_spec fake_options[] = {
    {"label", OMV_OPT_STRING, "none", "text logged by open()", 0, 0, NULL, 0},
    {"block", OMV_OPT_UINT, "4096", "bytes per source read", 1, 65536, NULL, 0},
    {"quick", OMV_OPT_BOOL, "no", "unused; a bool option for the checker", 0, 0, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_option_spec fake_partition_options[] = {
    {"alt", OMV_OPT_UINT, NULL, "device number hint", 0, 255, NULL, OMV_OPTF_UNIQUE},
    {"tag", OMV_OPT_STRING, NULL, "a word", 0, 0, tags, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_shorthand fake_shorthands[] = {
    {"label", "label", "TEXT", "text logged by open()"},
    {NULL, NULL, NULL, NULL},
};

static const struct omv_transport_ops fake_ops = {
    .list = fake_list,
    .open = fake_open,
    .partitions = fake_partitions,
    .write = fake_write,
    .read = fake_read,
    .erase = fake_erase,
    .recover = fake_recover,
    .finish = fake_finish,
    .close = fake_close,
    .segments = fake_segments,
};

static const struct omv_plugin fake_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = PLUGIN_NAME,
    .version = "0.0.1",
    .description = "test transport without a device",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = fake_options,
    .partition_options = fake_partition_options,
    .shorthands = fake_shorthands,
    .init = fake_init,
    .exit = fake_exit,
    .check = fake_check,
    .transport = &fake_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { return &fake_plugin; }
