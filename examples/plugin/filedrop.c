/*
 * omvflash_filedrop: a toy transport plugin that "flashes" into files.
 *
 * It shows every part of the plugin ABI (include/omvflash/plugin.h) a real
 * transport uses, with no hardware: the "device" is a directory
 * ([filedrop] dir), attached when the directory exists; each board partition
 * is a file in it (the partition option `file`, default NAME.bin). Build it
 * against the installed headers only:
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags omvflash) \
 *      -o omvflash_filedrop.so filedrop.c
 *
 * and run it with the installed omvflashd:
 *
 *   omvflashd --board filedrop.ini --plugin-dir . --image FIRMWARE=fw.bin
 *
 * docs/writing-a-plugin.md walks through it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <omvflash/plugin.h>

/* The plugin context (init() .. exit()): what every operation needs. A real
 * transport keeps its bus access here (a libusb context). Read-only after
 * init(), so operations on several threads may share it. */
struct filedrop {
    char dir[512];
    size_t chunk; /* bytes per source read */
};

/* One open "device". */
struct drop_session {
    const struct omv_host *host;
    const struct filedrop *fd;
};

/* ---- options the plugin declares ------------------------------------------ */

static const char *const fills[] = {"zeros", "ones", NULL};

static const struct omv_option_spec options[] = {
    {"dir", OMV_OPT_STRING, NULL, "directory that plays the camera (it is attached when it exists)", 0, 0, NULL,
     OMV_OPTF_REQUIRED},
    {"chunk", OMV_OPT_UINT, "4096", "bytes moved per read of the image", 1, 1048576, NULL, 0},
    {"erase_fill", OMV_OPT_STRING, "ones", "what erase() leaves: ones (0xFF, like NOR flash) or zeros", 0, 0, fills,
     0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

/* Keys of [partition NAME] this transport reads. */
static const struct omv_option_spec partition_options[] = {
    {"file", OMV_OPT_STRING, NULL, "file name of the partition in the directory (default NAME.bin)", 0, 0, NULL,
     OMV_OPTF_UNIQUE},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

/* --drop-dir DIR on the command line is --set dir=DIR. */
static const struct omv_shorthand shorthands[] = {
    {"drop-dir", "dir", "DIR", "directory that plays the camera"},
    {NULL, NULL, NULL, NULL},
};

/* ---- lifecycle --------------------------------------------------------------- */

static omv_status drop_init(const struct omv_host *host, void **pctx, omv_error *err)
{
    struct filedrop *fd = calloc(1, sizeof *fd);
    if (!fd)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    snprintf(fd->dir, sizeof fd->dir, "%s", host->option_str(host, "dir"));
    fd->chunk = (size_t)host->option_uint(host, "chunk"); /* the core checked 1..1048576 */
    *pctx = fd;
    return OMV_OK;
}

static void drop_exit(void *pctx)
{
    free(pctx);
}

/* ---- finding the device -------------------------------------------------------- */

static int attached(const struct filedrop *fd)
{
    struct stat st;
    return stat(fd->dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static void describe(const struct filedrop *fd, const struct omv_match *m, struct omv_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->vid = m->ids[0].vid; /* a real device reports its own */
    info->pid = m->ids[0].pid;
    snprintf(info->serial, sizeof info->serial, "FILEDROP");
    snprintf(info->product, sizeof info->product, "%.120s", fd->dir);
    snprintf(info->mode, sizeof info->mode, "bootloader");
}

static omv_status drop_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                            omv_device_found_fn found, void *user, omv_error *err)
{
    (void)host;
    const struct filedrop *fd = pctx;
    if (!match || !match->n_ids)
        return omv_error_set(err, OMV_E_USAGE, "filedrop list: no USB ids to match");
    if (attached(fd) && (!match->serial || strcmp(match->serial, "FILEDROP") == 0)) {
        struct omv_device_info info;
        describe(fd, match, &info);
        found(user, &info);
    }
    return OMV_OK;
}

/* Look once; the core calls again every poll_ms while it waits. */
static omv_status drop_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                            struct omv_device_info *info, omv_error *err)
{
    const struct filedrop *fd = pctx;
    *session = NULL;
    if (!match || !match->n_ids)
        return omv_error_set(err, OMV_E_USAGE, "filedrop open: no USB ids to match");
    if (!attached(fd) || (match->serial && strcmp(match->serial, "FILEDROP") != 0))
        return omv_error_set(err, OMV_E_NO_DEVICE, "directory %s does not exist", fd->dir);
    struct drop_session *s = calloc(1, sizeof *s);
    if (!s)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    s->host = host;
    s->fd = fd;
    describe(fd, match, info);
    *session = s;
    host->log(host, OMV_LOG_DEBUG, "filedrop: opened %s", fd->dir);
    return OMV_OK;
}

/* The "device" offers every partition of the board. */
static omv_status drop_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                                  omv_error *err)
{
    (void)err;
    struct drop_session *s = session;
    size_t n = s->host->partition_count(s->host);
    for (size_t i = 0; i < n && i < max; i++) {
        out[i].index = (unsigned)i;
        snprintf(out[i].name, sizeof out[i].name, "%s", s->host->partition(s->host, i)->name);
    }
    *count = n;
    return OMV_OK;
}

/* ---- data ------------------------------------------------------------------------ */

/* DIR/FILE of partition @p t, opened with @p mode. */
static FILE *open_part(const struct drop_session *s, const struct omv_target *t, const char *mode, omv_error *err)
{
    const char *file = s->host->partition_option(s->host, t->name, "file");
    char path[1100];
    if (file)
        snprintf(path, sizeof path, "%s/%s", s->fd->dir, file);
    else
        snprintf(path, sizeof path, "%s/%s.bin", s->fd->dir, t->name);
    FILE *f = fopen(path, mode);
    if (!f && strcmp(mode, "r+b") == 0 && errno == ENOENT)
        f = fopen(path, "w+b");
    if (!f)
        omv_error_set(err, errno == EACCES ? OMV_E_ACCESS : OMV_E_IO, "%s: %s", path, strerror(errno));
    return f;
}

/* Copy @p len image bytes from the source to the file at partition offset @p at. */
static omv_status copy(struct drop_session *s, const struct omv_source *src, FILE *f, uint64_t at, uint64_t len,
                       struct omv_write *w, uint64_t total, omv_error *err)
{
    uint8_t buf[65536];
    if (fseek(f, (long)at, SEEK_SET) != 0)
        return omv_error_set(err, OMV_E_IO, "seek to %llu: %s", (unsigned long long)at, strerror(errno));
    while (len) {
        if (s->host->cancelled(s->host))
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled at offset %llu", (unsigned long long)at);
        size_t want = len < s->fd->chunk ? (size_t)len : s->fd->chunk, got = 0;
        if (want > sizeof buf)
            want = sizeof buf;
        omv_status st = src->read(src->ctx, buf, want, &got, err);
        if (st != OMV_OK)
            return st;
        if (got == 0)
            return omv_error_set(err, OMV_E_IMAGE, "image ended early");
        if (fwrite(buf, 1, got, f) != got) {
            omv_error_set(err, OMV_E_IO, "write at offset %llu: %s", (unsigned long long)at, strerror(errno));
            return omv_error_offset(err, at);
        }
        at += got;
        len -= got;
        w->written += got;
        s->host->progress(s->host, w->written, total);
    }
    return OMV_OK;
}

/* The whole image, or only the ranges the core asks for (this "flash" has no
 * erase unit: a range is written exactly), skipping the rest of the source. */
static omv_status drop_write(void *session, const struct omv_target *t, struct omv_write *w, omv_error *err)
{
    struct drop_session *s = session;
    const struct omv_range whole = {0, w->src->size};
    const struct omv_range *r = w->n_ranges ? w->ranges : &whole;
    size_t n = w->n_ranges ? w->n_ranges : 1;
    uint64_t total = 0, pos = 0;
    for (size_t i = 0; i < n; i++)
        total += r[i].length;
    w->written = 0;
    FILE *f = open_part(s, t, "r+b", err);
    if (!f)
        return err->code;
    omv_status st = OMV_OK;
    for (size_t i = 0; st == OMV_OK && i < n; i++) {
        st = r[i].offset > pos ? w->src->skip(w->src->ctx, r[i].offset - pos, err) : OMV_OK;
        if (st == OMV_OK)
            st = copy(s, w->src, f, w->offset + r[i].offset, r[i].length, w, total, err);
        pos = r[i].offset + r[i].length;
    }
    if (fclose(f) != 0 && st == OMV_OK)
        st = omv_error_set(err, OMV_E_IO, "closing %s's file: %s", t->name, strerror(errno));
    return st;
}

static omv_status drop_read(void *session, const struct omv_target *t, uint64_t offset, uint64_t length,
                            const struct omv_sink *sink, omv_error *err)
{
    struct drop_session *s = session;
    FILE *f = open_part(s, t, "rb", err);
    if (!f)
        return err->code;
    uint64_t total = length ? length : t->size - offset, done = 0;
    uint8_t buf[4096];
    omv_status st = fseek(f, (long)offset, SEEK_SET) == 0 ? OMV_OK : omv_error_set(err, OMV_E_IO, "seek failed");
    while (st == OMV_OK && done < total) {
        size_t want = total - done < sizeof buf ? (size_t)(total - done) : sizeof buf;
        size_t got = fread(buf, 1, want, f);
        memset(buf + got, 0xFF, want - got); /* never written: erased flash */
        st = sink->write(sink->ctx, buf, want, err);
        done += want;
        s->host->progress(s->host, done, total);
    }
    fclose(f);
    return st;
}

/* The first 4 KiB (an erase unit of this pretend flash): enough to invalidate a filesystem. */
static omv_status drop_erase(void *session, const struct omv_target *t, omv_error *err)
{
    struct drop_session *s = session;
    uint8_t buf[4096];
    memset(buf, strcmp(s->host->option_str(s->host, "erase_fill"), "zeros") == 0 ? 0x00 : 0xFF, sizeof buf);
    FILE *f = open_part(s, t, "r+b", err);
    if (!f)
        return err->code;
    size_t n = t->size < sizeof buf ? (size_t)t->size : sizeof buf;
    omv_status st = fwrite(buf, 1, n, f) == n ? OMV_OK : omv_error_set(err, OMV_E_IO, "erase: %s", strerror(errno));
    fclose(f);
    return st;
}

static omv_status drop_finish(void *session, int reset, omv_error *err)
{
    (void)err;
    struct drop_session *s = session;
    s->host->log(s->host, OMV_LOG_INFO, "filedrop: %s", reset ? "the camera would now start its application"
                                                                : "left in its bootloader");
    return OMV_OK;
}

static void drop_close(void *session)
{
    free(session);
}

static const struct omv_transport_ops ops = {
    .list = drop_list,
    .open = drop_open,
    .partitions = drop_partitions,
    .write = drop_write,
    .read = drop_read,
    .erase = drop_erase,
    .recover = NULL,  /* after a failure the core opens the "device" again */
    .finish = drop_finish,
    .close = drop_close,
    .hotplug = NULL,  /* the core polls list() */
    .segments = NULL, /* every image is plain */
};

static const struct omv_plugin descriptor = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "filedrop",
    .version = "1.0.0",
    .description = "example transport that flashes into files of a directory",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = options,
    .partition_options = partition_options,
    .shorthands = shorthands,
    .init = drop_init,
    .exit = drop_exit,
    .check = NULL,
    .transport = &ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &descriptor;
}
