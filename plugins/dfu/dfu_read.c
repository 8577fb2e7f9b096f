/*
 * read() (UPLOAD by block number: address = partition start + block x
 * transfer size) and the request-failure decoding write and read share.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"

/* Largest block number wBlockNum can carry. */
#define DFU_MAX_BLOCKS 65536u

static void where_of(char *out, size_t n, uint32_t block, uint32_t ts)
{
    snprintf(out, n, "block %" PRIu32 " (offset 0x%" PRIX64 ")", block, (uint64_t)block * ts);
}

omv_status dfu_decode_stall(struct dfu_session *s, const char *req, uint32_t block, omv_error *err)
{
    const unsigned tmo = s->opt.control_timeout_ms;
    struct dfu_status st;
    int r = dfu_req_getstatus(s->h, s->iface, &st, tmo);
    if (r < 0) {
        if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
            s->disconnected = 1;
        omv_error_set(err, OMV_E_IO, "%s of block %" PRIu32 " stalled; GETSTATUS after it failed too: %s", req, block,
                      dfu_usb_error_name(r));
    } else {
        omv_error_set(err, OMV_E_DEVICE, "%s of block %" PRIu32 " stalled; device status %s, state %s", req, block,
                      dfu_status_name(st.status), dfu_state_name(st.state));
        omv_error_device(err, st.status, dfu_status_name(st.status));
        omv_error_retriable(err, st.status == DFU_STATUS_OK || dfu_status_retriable(st.status));
        if (st.state == DFU_STATE_ERROR)
            dfu_req_clrstatus(s->h, s->iface, tmo);
        else
            dfu_req_abort(s->h, s->iface, tmo);
    }
    omv_error_block(err, block);
    return omv_error_offset(err, (uint64_t)block * s->opt.transfer_size);
}

omv_status dfu_request_failed(struct dfu_session *s, const struct omv_target *t, const char *req, int r,
                              uint32_t block, unsigned tmo, omv_error *err)
{
    char where[64];
    where_of(where, sizeof where, block, s->opt.transfer_size);
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
        s->disconnected = 1;
        omv_error_set(err, OMV_E_IO, "device disconnected at %s", where);
        break;
    case LIBUSB_ERROR_IO:
        s->disconnected = 1;
        omv_error_set(err, OMV_E_IO, "device disconnected at %s (USB I/O error)", where);
        break;
    case LIBUSB_ERROR_TIMEOUT:
        omv_error_set(err, OMV_E_TIMEOUT, "%s of %s of %s: no answer within %u ms", req, where, t->name, tmo);
        break;
    default:
        omv_error_set(err, OMV_E_IO, "%s of %s: %s", req, where, dfu_usb_error_name(r));
        break;
    }
    omv_error_block(err, block);
    return omv_error_offset(err, (uint64_t)block * s->opt.transfer_size);
}

static int is_eof_frame(const uint8_t *buf, int n)
{
    return n == 4 && buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0;
}

/* A short frame when more was expected: the device's error status, or a truncated read. */
static omv_status short_frame(struct dfu_session *s, uint32_t block, int got, uint16_t want, omv_error *err)
{
    const unsigned ctl = s->opt.control_timeout_ms;
    struct dfu_status ds;
    char where[64];
    where_of(where, sizeof where, block, s->opt.transfer_size);
    int q = dfu_req_getstatus(s->h, s->iface, &ds, ctl);
    if (q == 0 && (ds.status != DFU_STATUS_OK || ds.state == DFU_STATE_ERROR)) {
        char desc[160];
        dfu_describe_status(desc, sizeof desc, ds.status, ds.state);
        dfu_req_clrstatus(s->h, s->iface, ctl);
        omv_error_set(err, OMV_E_DEVICE, "UPLOAD of %s: %s", where, desc);
        omv_error_device(err, ds.status, dfu_status_name(ds.status));
        omv_error_retriable(err, dfu_status_retriable(ds.status));
    } else {
        dfu_req_abort(s->h, s->iface, ctl);
        omv_error_set(err, OMV_E_IO, "truncated read at block %" PRIu32 ": got %d of %u bytes%s", block, got, want,
                      is_eof_frame(s->buf, got) ? " (the device signalled the end of the partition)" : "");
    }
    omv_error_block(err, block);
    return omv_error_offset(err, (uint64_t)block * s->opt.transfer_size);
}

omv_status dfu_op_read(void *session, const struct omv_target *t, uint64_t offset, uint64_t length,
                       const struct omv_sink *sink, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !t || !t->name || !sink || !sink->write || (length == 0 && offset != 0))
        return omv_error_set(err, OMV_E_USAGE, "dfu read: bad arguments");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const struct omv_host *host = s->host;
    const uint32_t ts = s->opt.transfer_size;
    const unsigned ctl = s->opt.control_timeout_ms;
    const unsigned tmo = t->timeout_ms > ctl ? t->timeout_ms : ctl;
    const uint64_t total = length ? length : t->size; /* 0: until the device ends it */
    uint32_t first = (uint32_t)(offset / ts);
    size_t drop = (size_t)(offset % ts);  /* bytes of the first block before @p offset */
    if (offset / ts + (drop + total + ts - 1) / ts > DFU_MAX_BLOCKS)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "reading %" PRIu64 " bytes from offset 0x%" PRIX64
                             " needs block numbers beyond %u", total, offset, DFU_MAX_BLOCKS);
    omv_status st = dfu_session_target(s, t, err);
    if (st == OMV_OK)
        st = dfu_session_set_alt(s, t->index, t->name, err);
    if (st != OMV_OK)
        return st;
    uint64_t done = 0;
    for (uint32_t block = first; total == 0 || done < total; block++) {
        if (block >= DFU_MAX_BLOCKS)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "block %" PRIu32 ": DFU block numbers stop at %u", block,
                                 DFU_MAX_BLOCKS);
        if (host->cancelled(host)) {
            dfu_req_abort(s->h, s->iface, ctl); /* back to dfuIDLE, best effort */
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before block %" PRIu32 " (offset 0x%" PRIX64 ")",
                                 block, (uint64_t)block * ts);
        }
        uint64_t left = total - done + drop;
        const uint16_t want = (uint16_t)(total == 0 || left >= ts ? ts : left);
        int r = dfu_req_upload(s->h, s->iface, (uint16_t)block, s->buf, want, tmo);
        if (r == LIBUSB_ERROR_PIPE)
            return dfu_decode_stall(s, "UPLOAD", block, err);
        if (r < 0)
            return dfu_request_failed(s, t, "UPLOAD", r, block, tmo, err);
        int end = 0;
        if (r < want) {
            /* openmv_dfu ends a partition with a 4-byte all-zero frame: framing, never data. */
            if (length == 0 && is_eof_frame(s->buf, r))
                break;
            if (total != 0)
                return short_frame(s, block, r, want, err);
            end = 1; /* plain DFU: a short frame is the last one */
        }
        size_t skip = drop < (size_t)r ? drop : (size_t)r;
        drop -= skip;
        if ((size_t)r > skip) {
            st = sink->write(sink->ctx, s->buf + skip, (size_t)r - skip, err);
            if (st != OMV_OK) {
                dfu_req_abort(s->h, s->iface, ctl);
                return st;
            }
        }
        done += (uint64_t)r - skip;
        host->progress(host, done, total ? total : done);
        if (end)
            break;
    }
    int r = dfu_req_abort(s->h, s->iface, ctl);
    if (r < 0)
        return dfu_session_fail(s, err, r, ctl, "ABORT after the upload");
    return OMV_OK;
}
