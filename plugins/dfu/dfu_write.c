/*
 * write() and erase(): DNLOAD blocks, then manifestation.
 *
 * Per block the plugin sends exactly what the protocol needs: DNLOAD, then
 * GETSTATUS until dfuDNLOAD-IDLE (openmv_dfu: the first answers dfuDNBUSY and
 * runs the write in its status stage, the second reports the result). It
 * sleeps only when the device asks for it through bwPollTimeout.
 *
 * openmv_dfu addresses a block as partition start + block x transfer size
 * and accepts blocks in any order (docs/protocols.md §3.3, §3.8), so a write
 * of some ranges sends only their blocks, widened to whole erase units (the
 * bootloader erases a unit when a block lands on its first address, §3.7)
 * and, on partitions that need it, with block 0 (§3.3: AE3 MRAM).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"

/* Largest block number wBlockNum can carry. */
#define DFU_MAX_BLOCKS 65536u
/* Most entries in an erase_units list. */
#define DFU_MAX_UNIT_RUNS 16

enum wait_goal { WAIT_BLOCK, WAIT_MANIFEST };

/* The device reported an error status: say it, keep it in the error, leave the device usable. */
static omv_status device_status_error(struct dfu_session *s, const struct dfu_status *st, const char *where,
                                      uint32_t block, omv_error *err)
{
    char desc[160];
    dfu_describe_status(desc, sizeof desc, st->status, st->state);
    omv_error_set(err, OMV_E_DEVICE, "%s: %s", where, desc);
    omv_error_device(err, st->status, dfu_status_name(st->status));
    omv_error_retriable(err, dfu_status_retriable(st->status));
    omv_error_block(err, block);
    omv_error_offset(err, (uint64_t)block * s->opt.transfer_size);
    int r = dfu_req_clrstatus(s->h, s->iface, s->opt.control_timeout_ms);
    if (r < 0)
        s->host->log(s->host, OMV_LOG_WARN, "dfu: CLRSTATUS after the error failed: %s", dfu_usb_error_name(r));
    return OMV_E_DEVICE;
}

/* GETSTATUS failed: a non-tolerant device leaving at manifestation is the expected end (*left). */
static omv_status getstatus_failed(struct dfu_session *s, const struct omv_target *t, enum wait_goal goal, int r,
                                   const char *where, unsigned call_tmo, int *left, omv_error *err)
{
    const struct omv_host *host = s->host;
    const int tolerant = !s->func.present || (s->func.attributes & DFU_ATTR_MANIFEST_TOLERANT);
    if (goal == WAIT_MANIFEST && !tolerant &&
        (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO || r == LIBUSB_ERROR_PIPE)) {
        host->log(host, OMV_LOG_INFO, "dfu: device left during manifestation (%s); it is not "
                  "manifestation-tolerant, so this is the expected end", dfu_usb_error_name(r));
        *left = 1;
        return OMV_OK;
    }
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
    case LIBUSB_ERROR_IO:
        s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "device disconnected at %s", where);
    case LIBUSB_ERROR_TIMEOUT:
        return omv_error_set(err, OMV_E_TIMEOUT,
                             "%s of %s: no answer to GETSTATUS within %u ms (the device may still be writing; raise "
                             "timeout_ms of partition %s or [dfu] status_timeout_ms)",
                             where, t->name, call_tmo, t->name);
    default:
        return omv_error_set(err, OMV_E_IO, "%s: GETSTATUS failed: %s", where, dfu_usb_error_name(r));
    }
}

/*
 * GETSTATUS until the block is committed (dfuDNLOAD-IDLE) or manifestation is
 * over (dfuIDLE). The time spent busy is bounded by @p tmo in total.
 * *left is set when a device that is not manifestation-tolerant vanished or
 * waits for a reset: the data is in, the session is over.
 */
static omv_status wait_status(struct dfu_session *s, const struct omv_target *t, enum wait_goal goal, uint32_t block,
                              const char *where, unsigned tmo, int *left, omv_error *err)
{
    const struct omv_host *host = s->host;
    const uint8_t want = goal == WAIT_BLOCK ? DFU_STATE_DNLOAD_IDLE : DFU_STATE_IDLE;
    const uint64_t start = host->now_ms(host);
    for (;;) {
        uint64_t spent = host->now_ms(host) - start;
        if (spent >= tmo)
            return omv_error_set(err, OMV_E_TIMEOUT,
                                 "%s of %s: device still busy after %u ms (raise timeout_ms of partition %s or "
                                 "[dfu] status_timeout_ms)",
                                 where, t->name, tmo, t->name);
        struct dfu_status st;
        unsigned call_tmo = (unsigned)(tmo - spent);
        int r = dfu_req_getstatus(s->h, s->iface, &st, call_tmo);
        if (r < 0)
            return getstatus_failed(s, t, goal, r, where, call_tmo, left, err);
        if (st.status != DFU_STATUS_OK || st.state == DFU_STATE_ERROR)
            return device_status_error(s, &st, where, block, err);
        if (st.state == want)
            return OMV_OK;
        if (goal == WAIT_MANIFEST && st.state == DFU_STATE_MANIFEST_WAIT_RESET) {
            host->log(host, OMV_LOG_INFO, "dfu: manifestation done; device waits for a USB reset");
            *left = 1;
            return OMV_OK;
        }
        int busy = goal == WAIT_BLOCK ? (st.state == DFU_STATE_DNBUSY || st.state == DFU_STATE_DNLOAD_SYNC)
                                      : (st.state == DFU_STATE_MANIFEST || st.state == DFU_STATE_MANIFEST_SYNC);
        if (!busy)
            return omv_error_set(err, OMV_E_DEVICE, "%s: unexpected state %s (status OK)", where,
                                 dfu_state_name(st.state));
        if (st.poll_timeout > 0) {
            spent = host->now_ms(host) - start;
            uint32_t nap = st.poll_timeout;
            if (spent < tmo && nap > tmo - spent)
                nap = (uint32_t)(tmo - spent);
            if (host->sleep_ms(host, nap) != OMV_OK)
                return omv_error_set(err, OMV_E_CANCELLED, "cancelled at %s", where);
        }
    }
}

/* ---- which blocks to send ----------------------------------------------- */

/* The erase units of a partition: runs of (count, size) from its start; the last run repeats. */
struct erase_units {
    int none;                 /* no erase at all (MRAM): every block stands alone */
    size_t n;
    uint64_t count[DFU_MAX_UNIT_RUNS], size[DFU_MAX_UNIT_RUNS];
};

/* "64K, 6*128K" or "none"; @return 0, or -1 when malformed. */
static int parse_units(const char *text, struct erase_units *u)
{
    memset(u, 0, sizeof *u);
    if (strcmp(text, "none") == 0) {
        u->none = 1;
        return 0;
    }
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        char *end;
        uint64_t a = strtoull(p, &end, 0), count = 1;
        if (*end == '*') {
            count = a;
            a = strtoull(end + 1, &end, 0);
        }
        if (*end == 'K' || *end == 'k')
            a *= 1024, end++;
        else if (*end == 'M' || *end == 'm')
            a *= 1024 * 1024, end++;
        if (end == p || !a || !count || u->n == DFU_MAX_UNIT_RUNS || (*end && *end != ',' && *end != ' '))
            return -1;
        u->count[u->n] = count;
        u->size[u->n++] = a;
        p = end;
    }
    return u->n ? 0 : -1;
}

/* The erase unit holding partition byte @p at: [*start, *end). */
static void unit_of(const struct erase_units *u, uint64_t at, uint32_t ts, uint64_t *start, uint64_t *end)
{
    if (u->none) {
        *start = at / ts * ts;
        *end = *start + ts;
        return;
    }
    uint64_t base = 0;
    for (size_t i = 0; i < u->n; i++) {
        uint64_t run = u->count[i] * u->size[i];
        if (at < base + run || i + 1 == u->n) {
            uint64_t k = (at - base) / u->size[i];
            *start = base + k * u->size[i];
            *end = *start + u->size[i];
            return;
        }
        base += run;
    }
}

/* What a write sends: every block of the image, or those of the widened ranges. */
struct block_plan {
    const struct omv_write *w;
    struct erase_units units;
    int always0;              /* block 0 of the partition goes in every download */
    uint32_t ts;
};

static omv_status plan_blocks(struct dfu_session *s, const struct omv_target *t, const struct omv_write *w,
                              struct block_plan *bp, omv_error *err)
{
    const struct omv_host *host = s->host;
    memset(bp, 0, sizeof *bp);
    bp->w = w;
    bp->ts = s->opt.transfer_size;
    uint64_t v = 0;
    bp->always0 = host->partition_option_uint(host, t->name, "always_block0", &v) && v;
    if (w->offset % bp->ts)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "offset 0x%" PRIX64 " of partition %s is not a multiple of the %" PRIu32
                             "-byte block openmv_dfu addresses",
                             w->offset, t->name, bp->ts);
    if (!w->n_ranges)
        return OMV_OK;
    const char *units = host->partition_option(host, t->name, "erase_units");
    if (!units)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "partition %s has no erase_units in the board file: writing only some ranges of it would "
                             "leave blocks on unerased flash",
                             t->name);
    if (parse_units(units, &bp->units) != 0)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "partition %s: erase_units = '%s' is not a list of sizes "
                             "(e.g. \"64K, 128K\" or \"none\")", t->name, units);
    return OMV_OK;
}

/* Whether image block @p i (image bytes [i*ts, ...)) goes to the device. */
static int block_wanted(const struct block_plan *bp, uint64_t i, uint64_t size)
{
    const struct omv_write *w = bp->w;
    uint64_t at = w->offset + i * bp->ts; /* partition address of the block */
    if (!w->n_ranges || (bp->always0 && at == 0))
        return 1;
    uint64_t us = at, ue = at + bp->ts;
    unit_of(&bp->units, at, bp->ts, &us, &ue);
    for (size_t k = 0; k < w->n_ranges; k++) {
        uint64_t rs = w->offset + w->ranges[k].offset, re = rs + w->ranges[k].length;
        if (rs < ue && re > us && us < w->offset + size)
            return 1;
    }
    return 0;
}

/* ---- the download ---------------------------------------------------------- */

/* Pull exactly @p want bytes from the source. */
static omv_status fill(const struct omv_source *src, uint8_t *buf, size_t want, uint64_t done, omv_error *err)
{
    size_t have = 0;
    while (have < want) {
        size_t got = 0;
        omv_status st = src->read(src->ctx, buf + have, want - have, &got, err);
        if (st != OMV_OK)
            return st;
        if (got == 0)
            return omv_error_set(err, OMV_E_IMAGE, "image ended after %" PRIu64 " of %" PRIu64 " bytes", done + have,
                                 src->size);
        have += got;
    }
    return OMV_OK;
}

/* One block: DNLOAD of @p len bytes in s->buf, then GETSTATUS until it is committed. */
static omv_status send_block(struct dfu_session *s, const struct omv_target *t, uint32_t block, uint16_t len,
                             unsigned tmo, int *left, omv_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "block %" PRIu32 " (offset 0x%" PRIX64 ")", block,
             (uint64_t)block * s->opt.transfer_size);
    int r = dfu_req_dnload(s->h, s->iface, (uint16_t)block, s->buf, len, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_PIPE)
        return dfu_decode_stall(s, "DNLOAD", block, err);
    if (r < 0)
        return dfu_request_failed(s, t, "DNLOAD", r, block, s->opt.control_timeout_ms, err);
    if (r != len) {
        omv_error_set(err, OMV_E_IO, "DNLOAD of %s: device took %d of %u bytes", where, r, len);
        return omv_error_block(err, block);
    }
    return wait_status(s, t, WAIT_BLOCK, block, where, tmo, left, err);
}

/* End of download: zero-length DNLOAD, then GETSTATUS through dfuMANIFEST-SYNC/dfuMANIFEST back to dfuIDLE. */
static omv_status manifest(struct dfu_session *s, const struct omv_target *t, uint32_t block, unsigned tmo,
                           omv_error *err)
{
    char where[64];
    int left = 0;
    snprintf(where, sizeof where, "the end of the download (block %" PRIu32 ")", block);
    int r = dfu_req_dnload(s->h, s->iface, (uint16_t)block, NULL, 0, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_PIPE)
        return dfu_decode_stall(s, "zero-length DNLOAD", block, err);
    if (r < 0)
        return dfu_request_failed(s, t, "zero-length DNLOAD", r, block, s->opt.control_timeout_ms, err);
    omv_status st = wait_status(s, t, WAIT_MANIFEST, block, where, tmo, &left, err);
    if (st == OMV_OK && left)
        s->gone = 1;
    return st;
}

/* Send the planned blocks of @p w, in order, taking their bytes from the source and skipping the rest. */
static omv_status download(struct dfu_session *s, const struct omv_target *t, const struct block_plan *bp,
                           struct omv_write *w, unsigned tmo, uint32_t *next_block, omv_error *err)
{
    const struct omv_host *host = s->host;
    const struct omv_source *src = w->src;
    const uint32_t ts = bp->ts, base = (uint32_t)(w->offset / ts);
    uint64_t size = src->size, pos = 0, total = 0, sent = 0;
    for (uint64_t i = 0; i * ts < size; i++)
        total += block_wanted(bp, i, size) ? (size - i * ts < ts ? size - i * ts : ts) : 0;
    for (uint64_t i = 0; i * ts < size; i++) {
        const uint16_t len = (uint16_t)(size - i * ts < ts ? size - i * ts : ts);
        uint32_t block = base + (uint32_t)i;
        *next_block = block + 1;
        if (!block_wanted(bp, i, size))
            continue;
        if (host->cancelled(host)) {
            dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms); /* back to dfuIDLE, best effort */
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before block %" PRIu32 " (offset 0x%" PRIX64 ")",
                                 block, (uint64_t)block * ts);
        }
        omv_status st = i * ts > pos ? src->skip(src->ctx, i * ts - pos, err) : OMV_OK;
        if (st == OMV_OK)
            st = fill(src, s->buf, len, i * ts, err);
        if (st != OMV_OK) {
            dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
            return st;
        }
        pos = i * ts + len;
        int left = 0;
        st = send_block(s, t, block, len, tmo, &left, err);
        if (st != OMV_OK)
            return st;
        sent += len;
        w->written = sent;
        host->progress(host, sent, total);
    }
    return pos < size ? src->skip(src->ctx, size - pos, err) : OMV_OK;
}

omv_status dfu_op_write(void *session, const struct omv_target *t, struct omv_write *w, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !t || !t->name || !w || !w->src || !w->src->read || !w->src->skip || w->src->size == 0)
        return omv_error_set(err, OMV_E_USAGE, "dfu write: bad arguments");
    w->written = 0;
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const uint32_t ts = s->opt.transfer_size;
    const unsigned tmo = t->timeout_ms ? t->timeout_ms : s->opt.status_timeout_ms;
    const uint64_t size = w->src->size;
    struct block_plan bp;
    omv_status st = plan_blocks(s, t, w, &bp, err);
    if (st != OMV_OK)
        return st;
    if ((w->offset + size + ts - 1) / ts > DFU_MAX_BLOCKS)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "%" PRIu64 " bytes at offset 0x%" PRIX64 " need block numbers beyond %u (blocks of %" PRIu32
                             ")", size, w->offset, DFU_MAX_BLOCKS, ts);
    st = dfu_session_target(s, t, err);
    if (st == OMV_OK)
        st = dfu_session_set_alt(s, t->index, t->name, err);
    if (st != OMV_OK)
        return st;
    s->host->log(s->host, OMV_LOG_DEBUG, "dfu: writing %" PRIu64 " bytes to %s (alt %u) at offset 0x%" PRIX64 "%s",
                 size, t->name, t->index, w->offset, w->n_ranges ? ", changed ranges only" : "");
    uint32_t next = (uint32_t)(w->offset / ts);
    st = download(s, t, &bp, w, tmo, &next, err);
    if (st == OMV_OK)
        st = manifest(s, t, next, tmo, err);
    if (st == OMV_OK)
        s->host->log(s->host, OMV_LOG_DEBUG, "dfu: %s written (%" PRIu64 " bytes sent) and manifested", t->name,
                     w->written);
    return st;
}

/* A source of zeros for erase(). */
static omv_status zero_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    (void)err;
    uint64_t *left = ctx;
    size_t n = *left < len ? (size_t)*left : len;
    memset(buf, 0, n);
    *left -= n;
    *got = n;
    return OMV_OK;
}

static omv_status zero_skip(void *ctx, uint64_t n, omv_error *err)
{
    uint64_t *left = ctx;
    if (n > *left)
        return omv_error_set(err, OMV_E_IMAGE, "skip past the end of the zeros");
    *left -= n;
    return OMV_OK;
}

/* openmv_dfu has no erase request: a block landing on an erase unit's first
 * address erases the unit (docs/protocols.md §3.3), so one block of zeros at
 * block 0 invalidates a filesystem there, as the IDE's --erase-filesystem
 * does (§7.5). */
omv_status dfu_op_erase(void *session, const struct omv_target *t, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !t)
        return omv_error_set(err, OMV_E_USAGE, "dfu erase: bad arguments");
    uint64_t left = s->opt.transfer_size < t->size || !t->size ? s->opt.transfer_size : t->size;
    struct omv_source src = {.ctx = &left, .size = left, .read = zero_read, .skip = zero_skip};
    struct omv_write w = {.src = &src};
    return dfu_op_write(s, t, &w, err);
}
