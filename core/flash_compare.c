/*
 * --skip-unchanged: before a write, read the partition back over the range
 * its image covers and compare, block by block, to find the parts that
 * differ. The transport then writes only those, widened to what its
 * bootloader needs (whole erase units, block 0: docs/protocols.md §3.7).
 *
 * Both sides are streams: the read-back arrives through a sink, the image is
 * pulled from its source as the bytes arrive (a zip entry cannot seek), so
 * nothing is held but one block and the list of differing ranges.
 *
 * A part whose read-back fails is taken as different (it gets written), and
 * reading goes on after it. A partition with `skip_give_up` set stops
 * comparing once that many bytes in a row differed and takes the rest as
 * different: a new firmware build differs almost everywhere, and where
 * writing costs little more than reading (AE3 MRAM: no erase) comparing it
 * would only add the read.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

/* Comparison granularity, in partition addresses: one DFU block. */
#define CMP_CHUNK 4096u
/* Read-back failures in one partition after which the rest is simply written. */
#define CMP_MAX_READ_FAILURES 4

typedef struct cmp_sink {
    struct omv_sink sink;
    const struct omv_source *img;
    uint64_t base;        /* partition offset of image byte 0 */
    uint64_t size;        /* image bytes */
    uint64_t pos;         /* image bytes compared so far */
    uint64_t chunk_start; /* image offset of the chunk being compared */
    uint64_t chunk_end;
    int chunk_differs;
    uint64_t run;         /* bytes in a row found different */
    uint64_t give_up;     /* 0 = compare everything */
    int gave_up;          /* the sink stopped the read on purpose */
    int image_failed;     /* the image source failed: its error is the step's */
    omvi_diff *d;
} cmp_sink;

omv_status omvi_refuse_skip(omv_error *err, const char *transport)
{
    return omv_error_set(err, OMV_E_UNSUPPORTED,
                         "the %s bootloader cannot read partitions back, so --skip-unchanged cannot tell what changed: "
                         "nothing was written; flash without --skip-unchanged",
                         transport);
}

void omvi_diff_free(omvi_diff *d)
{
    free(d->r);
    memset(d, 0, sizeof *d);
}

uint64_t omvi_diff_bytes(const omvi_diff *d)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += d->r[i].length;
    return n;
}

/* Add [start, end) of the image, merged with the last range when they touch. */
static omv_status diff_add(omvi_diff *d, uint64_t start, uint64_t end, omv_error *err)
{
    if (end <= start)
        return OMV_OK;
    if (d->n && d->r[d->n - 1].offset + d->r[d->n - 1].length >= start) {
        struct omv_range *last = &d->r[d->n - 1];
        if (end > last->offset + last->length)
            last->length = end - last->offset;
        return OMV_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct omv_range *r = realloc(d->r, cap * sizeof *r);
        if (!r)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        d->r = r;
        d->cap = cap;
    }
    d->r[d->n++] = (struct omv_range){.offset = start, .length = end - start};
    return OMV_OK;
}

/* The chunk that starts at image offset @p at: up to the next CMP_CHUNK boundary of the partition. */
static void chunk_at(cmp_sink *c, uint64_t at)
{
    uint64_t addr = c->base + at;
    uint64_t end = (addr / CMP_CHUNK + 1) * CMP_CHUNK - c->base;
    c->chunk_start = at;
    c->chunk_end = end < c->size ? end : c->size;
    c->chunk_differs = 0;
}

static omv_status close_chunk(cmp_sink *c, omv_error *err)
{
    if (c->chunk_differs) {
        omv_status st = diff_add(c->d, c->chunk_start, c->chunk_end, err);
        if (st != OMV_OK)
            return st;
        c->run += c->chunk_end - c->chunk_start;
    } else {
        c->run = 0;
    }
    chunk_at(c, c->chunk_end);
    if (c->give_up && c->run >= c->give_up && c->pos < c->size) {
        c->gave_up = 1; /* not an error: the caller sees the flag */
        return omv_error_set(err, OMV_E_VERIFY, "stopped comparing");
    }
    return OMV_OK;
}

/* Pull exactly @p n image bytes. */
static omv_status image_bytes(cmp_sink *c, uint8_t *buf, size_t n, omv_error *err)
{
    size_t have = 0;
    while (have < n) {
        size_t got = 0;
        omv_status st = c->img->read(c->img->ctx, buf + have, n - have, &got, err);
        if (st == OMV_OK && got == 0)
            st = omv_error_set(err, OMV_E_IMAGE, "the image ended %llu bytes early",
                               (unsigned long long)(c->size - c->pos - have));
        if (st != OMV_OK) {
            c->image_failed = 1;
            return st;
        }
        have += got;
    }
    return OMV_OK;
}

static omv_status cmp_write(void *ctx, const uint8_t *buf, size_t len, omv_error *err)
{
    cmp_sink *c = ctx;
    uint8_t img[CMP_CHUNK];
    while (len) {
        if (c->pos >= c->size)
            return omv_error_set(err, OMV_E_IO, "the device returned more than the %llu bytes asked for",
                                 (unsigned long long)c->size);
        size_t n = len;
        if (n > c->chunk_end - c->pos)
            n = (size_t)(c->chunk_end - c->pos);
        if (n > sizeof img)
            n = sizeof img;
        omv_status st = image_bytes(c, img, n, err);
        if (st != OMV_OK)
            return st;
        c->chunk_differs |= memcmp(img, buf, n) != 0;
        c->pos += n;
        buf += n;
        len -= n;
        if (c->pos == c->chunk_end && (st = close_chunk(c, err)) != OMV_OK)
            return st;
    }
    return OMV_OK;
}

/* The read-back failed at c->pos: that chunk counts as different, the image moves past it. */
static omv_status skip_failed_chunk(cmp_sink *c, omv_error *err)
{
    uint64_t end = c->chunk_end;
    omv_status st = diff_add(c->d, c->chunk_start, end, err);
    if (st == OMV_OK && end > c->pos && (st = c->img->skip(c->img->ctx, end - c->pos, err)) != OMV_OK)
        c->image_failed = 1;
    if (st != OMV_OK)
        return st;
    c->pos = end;
    c->run = 0;
    chunk_at(c, end);
    return OMV_OK;
}

/* Whether the comparison goes on after a failed read-back (the session is back to idle). */
static int resume_after_failure(omvi_run *r, const struct omv_target *t, cmp_sink *c, unsigned failures)
{
    omvi_log(r->cb, OMV_LOG_WARN, "%s: read-back failed at offset 0x%llX (%s): that part is written", t->name,
             (unsigned long long)(c->base + c->pos), r->err->msg);
    if (failures >= CMP_MAX_READ_FAILURES)
        return 0;
    if (r->ops->recover) {
        omv_error e;
        omv_error_clear(&e);
        if (r->ops->recover(r->session, &e) != OMV_OK)
            return 0; /* the write that follows meets the device's state and says what it is */
    }
    return 1;
}

/* Read back and compare from c->pos to the end, going on after failed parts. */
static omv_status compare_all(omvi_run *r, const struct omv_target *t, cmp_sink *c)
{
    unsigned failures = 0;
    while (c->pos < c->size) {
        omv_status st = r->ops->read(r->session, t, c->base + c->pos, c->size - c->pos, &c->sink, r->err);
        if (st == OMV_OK && c->pos < c->size)
            st = omv_error_set(r->err, OMV_E_IO, "the device returned %llu of %llu bytes",
                               (unsigned long long)c->pos, (unsigned long long)c->size);
        if (st == OMV_OK || c->gave_up)
            break;
        if (c->image_failed || st == OMV_E_CANCELLED || st == OMV_E_NOMEM)
            return st;
        int go_on = resume_after_failure(r, t, c, ++failures);
        if ((st = skip_failed_chunk(c, r->err)) != OMV_OK)
            return st;
        if (!go_on)
            break;
    }
    omv_error_clear(r->err);
    /* Whatever was not compared (given up, or reading stopped) is written. */
    return diff_add(c->d, c->pos, c->size, r->err);
}

omv_status omvi_run_compare(omvi_run *r, const omvi_step *s, const struct omv_target *t,
                            const struct omv_source *img, omvi_diff *d)
{
    cmp_sink c = {.img = img, .base = s->offset, .size = img->size, .d = d,
                  .give_up = r->b->parts[s->part].skip_give_up};
    c.sink.ctx = &c;
    c.sink.write = cmp_write;
    chunk_at(&c, 0);
    const char *step = r->h->step;
    r->h->step = "compare"; /* progress events say what the bytes moving are */
    omv_status st = compare_all(r, t, &c);
    r->h->step = step;
    return st;
}
