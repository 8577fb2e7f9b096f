/*
 * Streaming image I/O: a file source plugins pull from, a sink that compares
 * read-back bytes against a file, and a sink that writes FILE.partial and
 * renames it to FILE only once everything arrived. Images are never loaded
 * whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* ---- file source --------------------------------------------------------- */

static omv_status source_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    omvi_file_source *s = ctx;
    char eb[128];
    uint64_t left = s->src.size - s->done;
    if (len > left)
        len = (size_t)left;
    size_t n = len ? fread(buf, 1, len, s->f) : 0;
    if (n < len) {
        if (ferror(s->f))
            return omv_error_set(err, OMV_E_IMAGE, "%s: read error at offset %llu: %s", s->path,
                                 (unsigned long long)(s->done + n),
                                 omvi_strerror(errno, eb, sizeof eb));
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s: file shrank while being written (ends at %llu, expected %llu bytes)",
                             s->path, (unsigned long long)(s->done + n),
                             (unsigned long long)s->src.size);
    }
    s->done += n;
    *got = n;
    return OMV_OK;
}

omv_status omvi_file_source_open(omvi_file_source *s, const char *path, uint64_t size,
                                 omv_error *err)
{
    char eb[128];
    memset(s, 0, sizeof *s);
    s->f = fopen(path, "rb");
    if (!s->f)
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", path, omvi_strerror(errno, eb, sizeof eb));
    s->path = path;
    s->src.ctx = s;
    s->src.size = size;
    s->src.read = source_read;
    return OMV_OK;
}

void omvi_file_source_close(omvi_file_source *s)
{
    if (s->f)
        fclose(s->f);
    s->f = NULL;
}

/* ---- verify sink --------------------------------------------------------- */

static omv_status verify_write(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    omvi_verify_sink *s = ctx;
    uint8_t img[4096];
    char eb[128];
    size_t done = 0;
    while (done < len) {
        if (s->off >= s->size)
            return omv_error_set(err, OMV_E_VERIFY,
                                 "device returned more than the image's %llu bytes",
                                 (unsigned long long)s->size);
        size_t chunk = len - done;
        if (chunk > sizeof img)
            chunk = sizeof img;
        if (chunk > s->size - s->off)
            chunk = (size_t)(s->size - s->off);
        size_t n = fread(img, 1, chunk, s->f);
        if (n < chunk)
            return omv_error_set(err, OMV_E_IMAGE, "%s: read error at offset %llu: %s", s->path,
                                 (unsigned long long)(s->off + n),
                                 ferror(s->f) ? omvi_strerror(errno, eb, sizeof eb)
                                              : "file shrank");
        if (memcmp(img, buf + done, chunk) != 0) {
            size_t i = 0;
            while (img[i] == buf[done + i])
                i++;
            return omv_error_set(err, OMV_E_VERIFY,
                                 "read-back differs from %s at offset 0x%llX (device 0x%02X, "
                                 "image 0x%02X)",
                                 s->path, (unsigned long long)(s->off + i), buf[done + i], img[i]);
        }
        s->off += chunk;
        done += chunk;
    }
    return OMV_OK;
}

omv_status omvi_verify_sink_open(omvi_verify_sink *s, const char *path, uint64_t size,
                                 omv_error *err)
{
    char eb[128];
    memset(s, 0, sizeof *s);
    s->f = fopen(path, "rb");
    if (!s->f)
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", path, omvi_strerror(errno, eb, sizeof eb));
    s->path = path;
    s->size = size;
    s->sink.ctx = s;
    s->sink.write = verify_write;
    return OMV_OK;
}

omv_status omvi_verify_sink_finish(omvi_verify_sink *s, omv_error *err)
{
    if (s->off != s->size)
        return omv_error_set(err, OMV_E_VERIFY,
                             "device returned only %llu of the image's %llu bytes",
                             (unsigned long long)s->off, (unsigned long long)s->size);
    return OMV_OK;
}

void omvi_verify_sink_close(omvi_verify_sink *s)
{
    if (s->f)
        fclose(s->f);
    s->f = NULL;
}

/* ---- file sink (FILE.partial, renamed on success) ------------------------ */

static omv_status file_write(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    omvi_file_sink *s = ctx;
    char eb[128];
    if (len && fwrite(buf, 1, len, s->f) != len)
        return omv_error_set(err, OMV_E_IMAGE, "%s: write error: %s", s->partial,
                             omvi_strerror(errno, eb, sizeof eb));
    s->written += len;
    return OMV_OK;
}

omv_status omvi_file_sink_open(omvi_file_sink *s, const char *path, omv_error *err)
{
    char eb[128];
    memset(s, 0, sizeof *s);
    size_t n = strlen(path) + sizeof ".partial";
    s->path = omvi_strdup(path);
    s->partial = malloc(n);
    if (!s->path || !s->partial) {
        omvi_file_sink_abort(s);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    snprintf(s->partial, n, "%s.partial", path);
    s->f = fopen(s->partial, "wb");
    if (!s->f) {
        omv_status st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", s->partial,
                                      omvi_strerror(errno, eb, sizeof eb));
        free(s->path);
        free(s->partial);
        memset(s, 0, sizeof *s);
        return st;
    }
    s->sink.ctx = s;
    s->sink.write = file_write;
    return OMV_OK;
}

omv_status omvi_file_sink_commit(omvi_file_sink *s, omv_error *err)
{
    char eb[128];
    int bad = fflush(s->f) != 0 || fsync(fileno(s->f)) != 0;
    int e = errno;
    if (fclose(s->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    s->f = NULL;
    if (bad)
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", s->partial, omvi_strerror(e, eb, sizeof eb));
    if (rename(s->partial, s->path) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "cannot rename %s to %s: %s", s->partial, s->path,
                             omvi_strerror(errno, eb, sizeof eb));
    free(s->partial);
    s->partial = NULL;
    return OMV_OK;
}

void omvi_file_sink_abort(omvi_file_sink *s)
{
    if (s->f)
        fclose(s->f);
    if (s->partial)
        unlink(s->partial);
    free(s->partial);
    free(s->path);
    memset(s, 0, sizeof *s);
}
