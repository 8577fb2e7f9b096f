/*
 * read(): UPLOAD by address. SET_ADDRESS, ABORT back to dfuIDLE (ST's
 * bootloaders upload only from dfuIDLE/dfuUPLOAD-IDLE), then UPLOAD blocks
 * 2, 3, ... (block n reads pointer + (n - 2) x wTransferSize), then ABORT
 * (ST AN3156; what dfu-util -U and fwupd do).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfuse_session.h"

#define DFUSE_MAX_BLOCK 0xFFFFu

/* Where uploaded bytes go: a sink, or a buffer. */
struct rdst {
    const struct omv_sink *sink;
    uint8_t *buf;
    uint64_t done, total;
    uint32_t part_addr;  /* device address of the partition's offset 0, for error offsets */
};

/* The device answered @p got bytes instead of @p want: its error status, or a truncated read. */
static omv_status short_upload(struct dfuse_session *s, uint32_t addr, int got, uint16_t want, omv_error *err)
{
    const unsigned ctl = s->opt.control_timeout_ms;
    struct dfu_status ds;
    int q = got >= 0 || got == LIBUSB_ERROR_PIPE ? dfu_req_getstatus(s->h, s->iface, &ds, ctl) : got;
    if (q == 0 && (ds.status != DFU_STATUS_OK || ds.state == DFU_STATE_ERROR)) {
        char desc[160];
        dfu_describe_status(desc, sizeof desc, ds.status, ds.state);
        dfu_req_clrstatus(s->h, s->iface, ctl);
        omv_error_set(err, OMV_E_DEVICE, "UPLOAD at 0x%08" PRIX32 ": %s", addr, desc);
        omv_error_device(err, ds.status, dfu_status_name(ds.status));
        return omv_error_retriable(err, dfuse_status_retriable(ds.status));
    }
    if (got < 0 && got != LIBUSB_ERROR_PIPE) {
        char what[48];
        snprintf(what, sizeof what, "UPLOAD at 0x%08" PRIX32, addr);
        return dfuse_usb_fail(s, err, got, ctl, what);
    }
    dfu_req_abort(s->h, s->iface, ctl);
    if (got < 0)
        return omv_error_set(err, OMV_E_DEVICE, "UPLOAD at 0x%08" PRIX32 ": the device stalled the read", addr);
    return omv_error_set(err, OMV_E_IO, "UPLOAD at 0x%08" PRIX32 ": got %d of %u bytes", addr, got, want);
}

/* Read [addr, addr + len) into @p d. */
static omv_status upload_range(struct dfuse_session *s, uint32_t addr, uint64_t len, struct rdst *d, omv_error *err)
{
    const struct omv_host *host = s->host;
    const unsigned ctl = s->opt.control_timeout_ms;
    uint32_t block = DFUSE_MAX_BLOCK;
    for (uint64_t off = 0; off < len;) {
        uint32_t a = addr + (uint32_t)off;
        if (host->cancelled(host)) {
            dfu_req_abort(s->h, s->iface, ctl);
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before 0x%08" PRIX32, a);
        }
        if (block == DFUSE_MAX_BLOCK) {
            omv_status st = dfuse_set_address(s, a, err);
            if (st == OMV_OK)
                st = dfuse_abort(s, "SET_ADDRESS", err);
            if (st != OMV_OK)
                return st;
            block = DFUSE_FIRST_BLOCK;
        }
        uint16_t want = (uint16_t)(len - off < s->xfer ? len - off : s->xfer);
        int r = dfu_req_upload(s->h, s->iface, (uint16_t)block, s->buf, want, ctl);
        if (r != want) {
            short_upload(s, a, r, want, err);
            return omv_error_offset(err, a - d->part_addr);
        }
        if (d->sink) {
            omv_status st = d->sink->write(d->sink->ctx, s->buf, want, err);
            if (st != OMV_OK) {
                dfu_req_abort(s->h, s->iface, ctl);
                return st;
            }
        } else {
            memcpy(d->buf + off, s->buf, want);
        }
        off += want;
        block++;
        d->done += want;
        if (d->sink)
            host->progress(host, d->done, d->total);
    }
    return dfuse_abort(s, "the upload", err);
}

omv_status dfuse_read_at(struct dfuse_session *s, uint32_t addr, uint8_t *out, uint32_t len, omv_error *err)
{
    struct rdst d = {.buf = out, .total = len, .part_addr = addr};
    return upload_range(s, addr, len, &d, err);
}

omv_status dfuse_op_read(void *session, const struct omv_target *t, uint64_t offset, uint64_t length,
                         const struct omv_sink *sink, omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s || !t || !t->name || !sink || !sink->write)
        return omv_error_set(err, OMV_E_USAGE, "dfuse read: bad arguments");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const struct dfuse_part *p = dfuse_find_part(s, t->name);
    if (!p)
        return omv_error_set(err, OMV_E_MISMATCH, "the device's memory holds no partition %s", t->name);
    if (offset > p->size)
        return omv_error_set(err, OMV_E_USAGE, "dfuse read: offset 0x%" PRIX64 " is beyond partition %s", offset,
                             t->name);
    uint64_t len = length ? length : p->size - offset; /* 0: to the partition's end */
    const dfuse_layout *l = dfuse_alt_layout(s, p->alt);
    char why[192];
    uint64_t addr = (uint64_t)p->address + offset;
    if (!l || addr + len > 0x100000000ull ||
        dfuse_layout_check(l, (uint32_t)addr, len, DFUSE_MEM_READABLE, why, sizeof why) < 0)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "0x%08" PRIX64 ": %s", addr, l ? why : "no memory layout");
    omv_status st = dfuse_select_alt(s, p->alt, err);
    if (st != OMV_OK)
        return st;
    struct rdst d = {.sink = sink, .total = len, .part_addr = p->address};
    return upload_range(s, (uint32_t)addr, len, &d, err);
}
