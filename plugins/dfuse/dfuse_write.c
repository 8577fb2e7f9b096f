/*
 * write() and erase(): page erase, then data blocks, sector by sector.
 *
 * For every sector of the alt's memory layout the image touches (and, when
 * the core asks for ranges only, that a range touches): ERASE the sector
 * (0x41 + its address), SET_ADDRESS to the first byte to write there, then
 * DNLOAD the bytes as blocks 2, 3, ... (block n lands at pointer + (n - 2) x
 * wTransferSize, ST AN3156), each followed by GETSTATUS until the device is
 * idle again. Erasing per sector just before writing it keeps the image
 * streamed and destroys nothing the write does not replace. Nothing else is
 * erased; a mass erase only when the user asked for it.
 *
 * No zero-length DNLOAD here: on the Arduino bootloader any zero-length
 * DNLOAD ends the session (the board resets), so the device is left with
 * ABORT (dfuIDLE) and leaves only in finish().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfuse_session.h"

/* Highest block number a DNLOAD can carry before SET_ADDRESS must move the pointer. */
#define DFUSE_MAX_BLOCK 0xFFFFu

/* One write in progress. */
struct wctx {
    struct dfuse_session *s;
    const struct omv_target *t;
    const struct dfuse_part *p;
    struct omv_write *w;
    uint32_t base;      /* device address of the image's byte 0 */
    uint64_t pos;       /* image bytes consumed from the source */
    uint64_t done, total;
    unsigned tmo;
    uint8_t *last;      /* copy of the last block sent */
    uint32_t last_addr, last_len;
};

/* Pull exactly @p want bytes from the source. */
static omv_status fill(struct wctx *c, uint8_t *buf, size_t want, omv_error *err)
{
    const struct omv_source *src = c->w->src;
    size_t have = 0;
    while (have < want) {
        size_t got = 0;
        omv_status st = src->read(src->ctx, buf + have, want - have, &got, err);
        if (st != OMV_OK)
            return st;
        if (got == 0)
            return omv_error_set(err, OMV_E_IMAGE, "image ended after %" PRIu64 " of %" PRIu64 " bytes",
                                 c->pos + have, src->size);
        have += got;
    }
    c->pos += want;
    return OMV_OK;
}

static omv_status skip_to(struct wctx *c, uint64_t at, omv_error *err)
{
    if (at <= c->pos)
        return OMV_OK;
    omv_status st = c->w->src->skip(c->w->src->ctx, at - c->pos, err);
    c->pos = at;
    return st;
}

/* Whether image bytes [lo, hi) are wanted: no ranges, or a range overlaps them. */
static int span_wanted(const struct omv_write *w, uint64_t lo, uint64_t hi)
{
    if (!w->n_ranges)
        return 1;
    for (size_t k = 0; k < w->n_ranges; k++)
        if (w->ranges[k].offset < hi && w->ranges[k].offset + w->ranges[k].length > lo)
            return 1;
    return 0;
}

/* Length of the block to send for @p len image bytes: padded with 0xFF where the partition asks for it. */
static uint16_t padded(struct wctx *c, uint16_t len)
{
    uint32_t pad = c->p->pad_to;
    if (!pad || len % pad == 0)
        return len;
    uint32_t n = (len + pad - 1) / pad * pad;
    if (n > c->s->xfer)
        n = c->s->xfer;
    memset(c->s->buf + len, 0xFF, n - len);
    return (uint16_t)n;
}

/* Write image bytes at device addresses [lo, hi): SET_ADDRESS, then blocks 2, 3, ... */
static omv_status write_span(struct wctx *c, uint32_t lo, uint32_t hi, omv_error *err)
{
    struct dfuse_session *s = c->s;
    const struct omv_host *host = s->host;
    uint32_t block = DFUSE_MAX_BLOCK;
    for (uint32_t a = lo; a < hi;) {
        if (host->cancelled(host)) {
            dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms); /* back to dfuIDLE, best effort */
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before 0x%08" PRIX32, a);
        }
        if (block == DFUSE_MAX_BLOCK) {
            omv_status st = dfuse_set_address(s, a, err);
            if (st != OMV_OK)
                return st;
            block = DFUSE_FIRST_BLOCK;
        }
        uint16_t len = (uint16_t)(hi - a < s->xfer ? hi - a : s->xfer);
        omv_status st = fill(c, s->buf, len, err);
        if (st != OMV_OK) {
            dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
            return st;
        }
        uint16_t send = a + len == c->base + c->w->src->size ? padded(c, len) : len;
        char where[32];
        snprintf(where, sizeof where, "0x%08" PRIX32, a);
        st = dfuse_dnload_wait(s, (uint16_t)block, s->buf, send, c->tmo, where, a - c->p->address, err);
        if (st != OMV_OK)
            return omv_error_block(err, block);
        memcpy(c->last, s->buf, send);
        c->last_addr = a;
        c->last_len = send;
        block++;
        a += len;
        c->done += len;
        c->w->written = c->done;
        host->progress(host, c->done, c->total);
    }
    return OMV_OK;
}

/* One sector of the walk: erase it if the write touches it, then write its part of the image. */
static omv_status do_sector(struct wctx *c, const dfuse_sector *sec, omv_error *err)
{
    const uint64_t end = (uint64_t)c->base + c->w->src->size;
    uint32_t lo = sec->start > c->base ? sec->start : c->base;
    uint32_t hi = (uint32_t)((uint64_t)sec->start + sec->size < end ? (uint64_t)sec->start + sec->size : end);
    if (!span_wanted(c->w, lo - c->base, hi - c->base))
        return OMV_OK;
    if ((sec->caps & DFUSE_MEM_ERASABLE) && !c->s->mass_erased) {
        omv_status st = dfuse_erase_page(c->s, sec->start, c->tmo, lo - c->p->address, err);
        if (st != OMV_OK)
            return st;
    }
    omv_status st = skip_to(c, lo - c->base, err);
    return st == OMV_OK ? write_span(c, lo, hi, err) : st;
}

/* Bytes the walk will send, for progress. */
static uint64_t wanted_total(const dfuse_layout *l, uint32_t base, const struct omv_write *w)
{
    uint64_t cur = base, end = (uint64_t)base + w->src->size, total = 0;
    dfuse_sector sec;
    while (dfuse_layout_walk(l, &cur, end, &sec) == 1) {
        uint64_t lo = sec.start > base ? sec.start : base;
        uint64_t hi = (uint64_t)sec.start + sec.size < end ? (uint64_t)sec.start + sec.size : end;
        if (span_wanted(w, lo - base, hi - base))
            total += hi - lo;
    }
    return total;
}

/*
 * The write is over only once the device has programmed the last block. ST's
 * ROM programs a block before it answers the GETSTATUS; the Arduino
 * bootloader queues internal-flash blocks to a background thread and
 * acknowledges them at once (arduino/mcuboot-arduino-stm32h7,
 * usbd_dfu_flash.cpp), so a read-back or a leave right after the last block
 * races the queue (a leave resets the board and loses what is still queued).
 * Reading the last block back until it holds what was sent waits exactly as
 * long as the device needs: the queue is programmed in order.
 */
static omv_status settle(struct wctx *c, const dfuse_layout *l, omv_error *err)
{
    struct dfuse_session *s = c->s;
    const struct omv_host *host = s->host;
    dfuse_sector sec;
    if (!c->last_len || !dfuse_layout_find(l, c->last_addr, &sec) || !(sec.caps & DFUSE_MEM_READABLE))
        return dfuse_abort(s, "the download", err);
    uint8_t *back = malloc(c->last_len);
    if (!back)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    const uint64_t start = host->now_ms(host);
    omv_status st;
    unsigned reads = 0;
    for (;;) {
        st = dfuse_read_at(s, c->last_addr, back, c->last_len, err);
        reads++;
        if (st != OMV_OK || memcmp(back, c->last, c->last_len) == 0)
            break;
        if (host->now_ms(host) - start > c->tmo) {
            st = omv_error_set(err, OMV_E_DEVICE,
                               "0x%08" PRIX32 ": the device acknowledged the last block but has not programmed it "
                               "after %u ms",
                               c->last_addr, c->tmo);
            omv_error_offset(err, c->last_addr - c->p->address);
            break;
        }
    }
    if (st == OMV_OK && reads > 1)
        host->log(host, OMV_LOG_DEBUG, "dfuse: the last block was programmed %" PRIu64 " ms after it was acknowledged",
                  host->now_ms(host) - start);
    free(back);
    return st;
}

/* Checks before any request: the partition, the range, the layout's letters. */
static omv_status check_write(struct dfuse_session *s, const struct omv_target *t, const struct omv_write *w,
                              const struct dfuse_part **pp, const dfuse_layout **lp, omv_error *err)
{
    const struct dfuse_part *p = dfuse_find_part(s, t->name);
    if (!p)
        return omv_error_set(err, OMV_E_MISMATCH, "the device's memory holds no partition %s", t->name);
    const dfuse_layout *l = dfuse_alt_layout(s, p->alt);
    char why[192];
    uint64_t addr = (uint64_t)p->address + w->offset;
    if (!l || addr > 0xFFFFFFFFu ||
        dfuse_layout_check(l, (uint32_t)addr, w->src->size, DFUSE_MEM_WRITEABLE, why, sizeof why) < 0)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "0x%08" PRIX64 ": %s", addr, l ? why : "no memory layout");
    *pp = p;
    *lp = l;
    return OMV_OK;
}

/* The user asked for a mass erase: only the STM32 ROM does one (the Arduino bootloader ignores it). */
static omv_status maybe_mass_erase(struct dfuse_session *s, omv_error *err)
{
    if (!s->opt.mass_erase || s->mass_erased)
        return OMV_OK;
    if (!dfuse_has_command(s, DFUSE_CMD_READ_UNPROTECT))
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "mass_erase: this bootloader lists only the commands 00 21 41 (the Arduino bootloader "
                             "accepts a mass erase and erases nothing); leave mass_erase off");
    omv_status st = s->host->confirm(s->host, "mass erase: erase the whole flash of the chip (bootloader, "
                                              "filesystem and firmware) before writing");
    if (st == OMV_OK)
        st = dfuse_mass_erase(s, err);
    if (st == OMV_OK)
        s->mass_erased = 1;
    return st;
}

omv_status dfuse_op_write(void *session, const struct omv_target *t, struct omv_write *w, omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s || !t || !t->name || !w || !w->src || !w->src->read || !w->src->skip || w->src->size == 0)
        return omv_error_set(err, OMV_E_USAGE, "dfuse write: bad arguments");
    w->written = 0;
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    struct wctx c = {.s = s, .t = t, .w = w};
    const dfuse_layout *l = NULL;
    omv_status st = check_write(s, t, w, &c.p, &l, err);
    if (st != OMV_OK)
        return st;
    c.base = c.p->address + (uint32_t)w->offset;
    c.tmo = t->timeout_ms ? t->timeout_ms : s->opt.status_timeout_ms;
    c.total = wanted_total(l, c.base, w);
    if (!(c.last = malloc(s->xfer)))
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    st = dfuse_select_alt(s, c.p->alt, err);
    if (st == OMV_OK)
        st = maybe_mass_erase(s, err);
    if (st == OMV_OK && !s->wrote) {
        s->wrote = 1;
        s->first_write = c.base;
    }
    uint64_t cur = c.base, end = (uint64_t)c.base + w->src->size;
    dfuse_sector sec;
    while (st == OMV_OK && dfuse_layout_walk(l, &cur, end, &sec) == 1)
        st = do_sector(&c, &sec, err);
    if (st == OMV_OK)
        st = skip_to(&c, w->src->size, err);
    if (st == OMV_OK)
        st = settle(&c, l, err);
    free(c.last);
    if (st == OMV_OK)
        s->host->log(s->host, OMV_LOG_DEBUG, "dfuse: %s written at 0x%08" PRIX32 " (%" PRIu64 " bytes sent)", t->name,
                     c.base, w->written);
    return st;
}

/* --erase-filesystem: erase the partition's first page, so a filesystem there no longer mounts. */
omv_status dfuse_op_erase(void *session, const struct omv_target *t, omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s || !t || !t->name)
        return omv_error_set(err, OMV_E_USAGE, "dfuse erase: bad arguments");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const struct dfuse_part *p = dfuse_find_part(s, t->name);
    if (!p)
        return omv_error_set(err, OMV_E_MISMATCH, "the device's memory holds no partition %s", t->name);
    const dfuse_layout *l = dfuse_alt_layout(s, p->alt);
    char why[192];
    if (dfuse_layout_check(l, p->address, 1, DFUSE_MEM_ERASABLE, why, sizeof why) < 0)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "0x%08" PRIX32 ": %s", p->address, why);
    unsigned tmo = t->timeout_ms ? t->timeout_ms : s->opt.status_timeout_ms;
    omv_status st = dfuse_select_alt(s, p->alt, err);
    if (st == OMV_OK)
        st = dfuse_erase_page(s, p->address, tmo, 0, err);
    if (st == OMV_OK)
        st = dfuse_abort(s, "the erase", err);
    return st;
}
