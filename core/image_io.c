/*
 * Streaming image I/O: a file source plugins pull from (the image as the
 * plan checked it, re-checked once written), a sink that compares read-back
 * bytes against a file, and a sink that writes a temporary file next to FILE
 * and renames it to FILE only once everything arrived (file_guard.c).
 * Images are never loaded whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* What about @p path differs from @p snap now ("" when nothing does). */
static void describe_change(const char *path, int fd, const omvi_file_id *snap, char *buf, size_t n)
{
    struct stat now, at_path;
    buf[0] = '\0';
    if (fstat(fd, &now) != 0)
        return;
    if ((uint64_t)now.st_size != snap->size)
        snprintf(buf, n, "its size went from %llu to %llu bytes", (unsigned long long)snap->size,
                 (unsigned long long)now.st_size);
    else if (now.st_mtim.tv_sec != snap->mtime.tv_sec || now.st_mtim.tv_nsec != snap->mtime.tv_nsec)
        snprintf(buf, n, "it was modified (same size, new modification time)");
    else if (stat(path, &at_path) != 0 || at_path.st_dev != snap->dev || at_path.st_ino != snap->ino)
        snprintf(buf, n, "another file was put in its place");
}

/* Forward over bytes of the file: a seek (the stream is a file). */
static omv_status source_skip(void *ctx, uint64_t n, omv_error *err)
{
    omvi_file_source *s = ctx;
    char eb[128];
    if (n > s->src.size - s->done)
        return omv_error_set(err, OMV_E_IMAGE, "%s: skip of %llu bytes at offset %llu passes its end", s->path,
                             (unsigned long long)n, (unsigned long long)s->done);
    if (n && fseeko(s->f, (off_t)n, SEEK_CUR) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot seek: %s", s->path, omvi_strerror(errno, eb, sizeof eb));
    s->done += n;
    return OMV_OK;
}

omv_status omvi_source_skip_by_reading(const struct omv_source *src, uint64_t n, omv_error *err)
{
    uint8_t buf[4096];
    while (n) {
        size_t want = n < sizeof buf ? (size_t)n : sizeof buf, got = 0;
        omv_status st = src->read(src->ctx, buf, want, &got, err);
        if (st != OMV_OK)
            return st;
        if (got == 0)
            return omv_error_set(err, OMV_E_IMAGE, "image ended %llu bytes before the end of a skip",
                                 (unsigned long long)n);
        n -= got;
    }
    return OMV_OK;
}

omv_status omvi_file_source_open(omvi_file_source *s, const char *path, const omvi_file_id *snap,
                                 omv_error *err)
{
    return omvi_file_source_open_range(s, path, snap, 0, snap->size, err);
}

omv_status omvi_file_source_open_range(omvi_file_source *s, const char *path, const omvi_file_id *snap,
                                       uint64_t offset, uint64_t length, omv_error *err)
{
    memset(s, 0, sizeof *s);
    omvi_file_id now;
    int fd;
    omv_status st = omvi_open_input(path, "", 0, OMV_E_IMAGE, &fd, &now, err);
    if (st != OMV_OK)
        return st;
    if (!omvi_file_id_same(&now, snap)) {
        char what[160];
        describe_change(path, fd, snap, what, sizeof what);
        close(fd);
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s changed after it was checked (%s): nothing of it was written; run again once "
                             "the file is complete",
                             path, what[0] ? what : "another file was put in its place");
    }
    s->f = fdopen(fd, "rb");
    if (!s->f) {
        close(fd);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    }
    s->path = path;
    s->snap = *snap;
    s->src.ctx = s;
    s->src.size = length;
    s->src.read = source_read;
    s->src.skip = source_skip;
    char eb[128];
    if (offset > snap->size || length > snap->size - offset || fseeko(s->f, (off_t)offset, SEEK_SET) != 0) {
        omv_error_set(err, OMV_E_IMAGE, "%s: cannot go to offset %llu: %s", path, (unsigned long long)offset,
                      offset > snap->size ? "past its end" : omvi_strerror(errno, eb, sizeof eb));
        omvi_file_source_close(s);
        return OMV_E_IMAGE;
    }
    return OMV_OK;
}

omv_status omvi_file_source_recheck(const omvi_file_source *s, omv_error *err)
{
    /* Size, modification time and the name still pointing at this file: an
     * append (a download still running), a rewrite in place, a replacement.
     * A content digest (SHA-256 from a release manifest) belongs here too,
     * computed over exactly the bytes source_read() handed out. */
    char what[160];
    describe_change(s->path, fileno(s->f), &s->snap, what, sizeof what);
    if (!what[0])
        return OMV_OK;
    return omv_error_set(err, OMV_E_IMAGE,
                         "%s changed while it was being written (%s): the camera may hold a mix of old and new "
                         "bytes; write it again once the file is complete",
                         s->path, what);
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
                                 (unsigned long long)(s->base + s->off + n),
                                 ferror(s->f) ? omvi_strerror(errno, eb, sizeof eb)
                                              : "file shrank");
        if (memcmp(img, buf + done, chunk) != 0) {
            size_t i = 0;
            while (img[i] == buf[done + i])
                i++;
            return omv_error_set(err, OMV_E_VERIFY,
                                 "read-back differs from %s at offset 0x%llX (device 0x%02X, "
                                 "image 0x%02X)",
                                 s->path, (unsigned long long)(s->base + s->off + i), buf[done + i], img[i]);
        }
        s->off += chunk;
        done += chunk;
    }
    return OMV_OK;
}

omv_status omvi_verify_sink_open(omvi_verify_sink *s, const char *path, const omvi_file_id *snap, uint64_t offset,
                                 uint64_t length, omv_error *err)
{
    memset(s, 0, sizeof *s);
    omvi_file_id now;
    s->f = omvi_open_input_file(path, "", 0, OMV_E_IMAGE, &now, err);
    if (!s->f)
        return err ? err->code : OMV_E_IMAGE;
    if (!omvi_file_id_same(&now, snap)) {
        fclose(s->f);
        s->f = NULL;
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s changed after it was written: the read-back cannot be compared with it", path);
    }
    s->path = path;
    s->size = length;
    s->base = offset;
    s->sink.ctx = s;
    s->sink.write = verify_write;
    if (offset > snap->size || length > snap->size - offset || fseeko(s->f, (off_t)offset, SEEK_SET) != 0) {
        omvi_verify_sink_close(s);
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot go to offset %llu", path, (unsigned long long)offset);
    }
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
    memset(s, 0, sizeof *s);
    s->path = omvi_strdup(path);
    if (!s->path)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    int fd;
    omv_status st = omvi_output_open(path, &fd, &s->partial, err);
    if (st == OMV_OK && !(s->f = fdopen(fd, "wb"))) {
        close(fd);
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    if (st != OMV_OK) {
        omvi_file_sink_abort(s);
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
    omv_status st = OMV_OK;
    if (bad)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", s->partial, omvi_strerror(e, eb, sizeof eb));
    else
        st = omvi_output_replace(s->partial, fileno(s->f), s->path, err);
    if (fclose(s->f) != 0 && st == OMV_OK)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", s->path, omvi_strerror(errno, eb, sizeof eb));
    s->f = NULL;
    if (st == OMV_OK) {
        free(s->partial); /* renamed: nothing left to remove */
        s->partial = NULL;
    }
    return st;
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
