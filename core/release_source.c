/*
 * The bytes of a planned image, wherever they are: a file on disk
 * (image_io.c) or an entry of a release zip streamed from the archive
 * (release.h), the range a step writes (a container's segment), checked on
 * the read that ends it against the SHA-256 the plan computed, so what was
 * checked before anything was written is exactly what reaches the camera.
 * And the sink a verify of a zip entry compares the read-back with.
 */
#include <stdlib.h>
#include <string.h>

#include "image_id.h"
#include "internal.h"
#include "release.h"

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The plan's hex digest back to bytes; 0 when there is none. */
static int digest_of(const char *hex, uint8_t out[OMVI_SHA256_LEN])
{
    if (strlen(hex) != 2 * OMVI_SHA256_LEN)
        return 0;
    for (size_t i = 0; i < OMVI_SHA256_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* What the range reads from: the checked stream when the whole image is checked. */
static const struct omv_source *via(const omvi_step_source *s)
{
    return s->checked ? &s->sha->src : s->inner;
}

static omv_status range_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    omvi_step_source *s = ctx;
    *got = 0;
    if (len > s->left)
        len = (size_t)s->left;
    if (!len)
        return OMV_OK;
    const struct omv_source *in = via(s);
    omv_status st = in->read(in->ctx, buf, len, got, err);
    if (st == OMV_OK)
        s->left -= *got;
    else if (s->is_file && s->checked)
        omvi_file_source_recheck(&s->file, err); /* the file's own change, when it tells more than the digest */
    return st;
}

static omv_status range_skip(void *ctx, uint64_t n, omv_error *err)
{
    omvi_step_source *s = ctx;
    if (n > s->left)
        return omv_error_set(err, OMV_E_IMAGE, "skip of %llu bytes passes the end of the image",
                             (unsigned long long)n);
    const struct omv_source *in = via(s);
    omv_status st = in->skip ? in->skip(in->ctx, n, err) : omvi_source_skip_by_reading(in, n, err);
    if (st == OMV_OK)
        s->left -= n;
    return st;
}

/* A zip entry from s->image_offset on (an entry cannot seek: the bytes before are read and dropped). */
static omv_status open_entry(omvi_step_source *o, const omvi_plan *plan, const omvi_step *s, omv_error *err)
{
    if (!plan->release)
        return omv_error_set(err, OMV_E_FAILED, "internal error: %s: no release is open", s->path);
    omv_status st = omvi_release_stream_open(plan->release, plan->folder, s->entry, &s->snap, &o->rs, err);
    if (st != OMV_OK)
        return st;
    o->inner = omvi_release_stream_source(o->rs);
    if (s->image_offset > o->inner->size || s->size > o->inner->size - s->image_offset)
        return omv_error_set(err, OMV_E_IMAGE, "%s: %llu bytes at offset %llu pass the end of the image", s->path,
                             (unsigned long long)s->size, (unsigned long long)s->image_offset);
    if (s->image_offset)
        st = o->inner->skip(o->inner->ctx, s->image_offset, err);
    return st;
}

omv_status omvi_step_source_open(omvi_step_source *o, const omvi_plan *plan, const omvi_step *s, omv_error *err)
{
    memset(o, 0, sizeof *o);
    omv_status st;
    if (s->entry) {
        st = open_entry(o, plan, s, err);
    } else {
        st = omvi_file_source_open_range(&o->file, s->path, &s->snap, s->image_offset, s->size, err);
        o->is_file = st == OMV_OK;
        o->inner = &o->file.src;
    }
    if (st != OMV_OK) {
        omvi_step_source_close(o);
        return st;
    }
    uint8_t want[OMVI_SHA256_LEN];
    if (s->image_offset == 0 && s->size == o->inner->size && digest_of(s->sha256, want)) {
        if (!(o->sha = malloc(sizeof *o->sha))) {
            omvi_step_source_close(o);
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        }
        omvi_sha256_check_init(o->sha, o->inner, s->path, want);
        o->checked = 1;
    }
    o->left = s->size;
    o->src.ctx = o;
    o->src.size = s->size;
    o->src.read = range_read;
    o->src.skip = range_skip;
    return OMV_OK;
}

omv_status omvi_step_source_finish(omvi_step_source *o, omv_error *err)
{
    if (o->is_file)
        return omvi_file_source_recheck(&o->file, err);
    if (!o->rs)
        return OMV_OK;
    /* The rest of a zip entry is read too: libzip checks its CRC-32, and the
     * archive its size and time, only when the entry's last byte is read. */
    omv_status st = o->left ? range_skip(o, o->left, err) : OMV_OK;
    if (st != OMV_OK || o->checked)
        return st;
    uint8_t buf[4096];
    size_t got;
    do { /* whatever follows the range (a container's later segments) */
        st = o->inner->read(o->inner->ctx, buf, sizeof buf, &got, err);
    } while (st == OMV_OK && got);
    return st;
}

void omvi_step_source_close(omvi_step_source *o)
{
    if (o->is_file)
        omvi_file_source_close(&o->file);
    o->is_file = 0;
    omvi_release_stream_close(o->rs);
    o->rs = NULL;
    free(o->sha);
    o->sha = NULL;
}

/* ---- verify of a zip entry ---------------------------------------------- */

static omv_status compare_write(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    omvi_compare_sink *c = ctx;
    uint8_t img[4096];
    size_t done = 0;
    while (done < len) {
        if (c->off >= c->size)
            return omv_error_set(err, OMV_E_VERIFY, "device returned more than the image's %llu bytes",
                                 (unsigned long long)c->size);
        size_t chunk = len - done, have = 0;
        if (chunk > sizeof img)
            chunk = sizeof img;
        if (chunk > c->size - c->off)
            chunk = (size_t)(c->size - c->off);
        while (have < chunk) {
            size_t got = 0;
            omv_status st = c->src.src.read(c->src.src.ctx, img + have, chunk - have, &got, err);
            if (st != OMV_OK)
                return st;
            if (!got)
                return omv_error_set(err, OMV_E_IMAGE, "%s ended at offset %llu", c->label,
                                     (unsigned long long)(c->base + c->off + have));
            have += got;
        }
        if (memcmp(img, buf + done, chunk) != 0) {
            size_t i = 0;
            while (img[i] == buf[done + i])
                i++;
            return omv_error_set(err, OMV_E_VERIFY,
                                 "read-back differs from %s at offset 0x%llX (device 0x%02X, image 0x%02X)", c->label,
                                 (unsigned long long)(c->base + c->off + i), buf[done + i], img[i]);
        }
        c->off += chunk;
        done += chunk;
    }
    return OMV_OK;
}

omv_status omvi_compare_sink_open(omvi_compare_sink *c, const omvi_plan *plan, const omvi_step *s, omv_error *err)
{
    memset(c, 0, sizeof *c);
    omv_status st = omvi_step_source_open(&c->src, plan, s, err);
    if (st != OMV_OK)
        return st;
    c->label = s->path;
    c->base = s->image_offset;
    c->size = s->size;
    c->sink.ctx = c;
    c->sink.write = compare_write;
    return OMV_OK;
}

omv_status omvi_compare_sink_finish(omvi_compare_sink *c, omv_error *err)
{
    if (c->off != c->size)
        return omv_error_set(err, OMV_E_VERIFY, "device returned only %llu of the image's %llu bytes",
                             (unsigned long long)c->off, (unsigned long long)c->size);
    return omvi_step_source_finish(&c->src, err);
}

void omvi_compare_sink_close(omvi_compare_sink *c) { omvi_step_source_close(&c->src); }
