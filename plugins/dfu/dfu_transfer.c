/*
 * The data ops: write (DNLOAD loop + manifestation) and read (UPLOAD loop).
 *
 * Per block the plugin sends exactly what the protocol needs: DNLOAD, then
 * GETSTATUS until dfuDNLOAD-IDLE (openmv_dfu: the first answers dfuDNBUSY and
 * runs the write in its status stage, the second reports the result). It
 * sleeps only when the device asks for it through bwPollTimeout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"

/* Largest block number wBlockNum can carry. */
#define DFU_MAX_BLOCKS 65536u

static void block_where(char *out, size_t n, uint32_t block, uint32_t ts)
{
    snprintf(out, n, "block %" PRIu32 " (offset 0x%" PRIX64 ")", block, (uint64_t)block * ts);
}

/* After a stalled request: GETSTATUS to learn why, report it, clear the error. */
static omv_status decode_stall(struct dfu_session *s, const char *req, uint32_t block, omv_error *err)
{
    const unsigned tmo = s->opt.control_timeout_ms;
    struct dfu_status st;
    int r = dfu_req_getstatus(s->h, s->iface, &st, tmo);
    if (r < 0) {
        if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
            s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "%s of block %" PRIu32 " stalled; GETSTATUS after it failed too: %s",
                             req, block, dfu_usb_error_name(r));
    }
    omv_error_set(err, OMV_E_DEVICE, "%s of block %" PRIu32 " stalled; device status %s, state %s", req, block,
                  dfu_status_name(st.status), dfu_state_name(st.state));
    if (st.state == DFU_STATE_ERROR)
        dfu_req_clrstatus(s->h, s->iface, tmo);
    else
        dfu_req_abort(s->h, s->iface, tmo);
    return OMV_E_DEVICE;
}

/* Map a failed DNLOAD/UPLOAD (not a stall) to an error naming the block. */
static omv_status request_failed(struct dfu_session *s, const struct omv_target *t, const char *req, int r,
                                 const char *where, unsigned tmo, omv_error *err)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
        s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "device disconnected at %s", where);
    case LIBUSB_ERROR_IO:
        s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "device disconnected at %s (USB I/O error)", where);
    case LIBUSB_ERROR_TIMEOUT:
        return omv_error_set(err, OMV_E_TIMEOUT, "%s of %s of %s: no answer within %u ms", req, where, t->name, tmo);
    default:
        return omv_error_set(err, OMV_E_IO, "%s of %s: %s", req, where, dfu_usb_error_name(r));
    }
}

enum wait_goal { WAIT_BLOCK, WAIT_MANIFEST };

/*
 * GETSTATUS until the block is committed (dfuDNLOAD-IDLE) or manifestation is
 * over (dfuIDLE). The time spent busy is bounded by @p tmo in total.
 * *left is set when a device that is not manifestation-tolerant vanished or
 * waits for a reset: the data is in, the session is over.
 */
static omv_status wait_status(struct dfu_session *s, const struct omv_target *t, enum wait_goal goal,
                              const char *where, unsigned tmo, int *left, omv_error *err)
{
    const struct omv_host *host = s->host;
    const uint8_t want = goal == WAIT_BLOCK ? DFU_STATE_DNLOAD_IDLE : DFU_STATE_IDLE;
    const int tolerant = !s->func.present || (s->func.attributes & DFU_ATTR_MANIFEST_TOLERANT);
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
        if (r < 0) {
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
                                     "%s of %s: no answer to GETSTATUS within %u ms (the device may still be "
                                     "writing; raise timeout_ms of partition %s or [dfu] status_timeout_ms)",
                                     where, t->name, call_tmo, t->name);
            default:
                return omv_error_set(err, OMV_E_IO, "%s: GETSTATUS failed: %s", where, dfu_usb_error_name(r));
            }
        }
        if (st.status != DFU_STATUS_OK || st.state == DFU_STATE_ERROR) {
            char desc[160];
            dfu_describe_status(desc, sizeof desc, st.status, st.state);
            omv_error_set(err, OMV_E_DEVICE, "%s: %s", where, desc);
            /* Leave the device usable for the next attempt. */
            r = dfu_req_clrstatus(s->h, s->iface, s->opt.control_timeout_ms);
            if (r < 0)
                host->log(host, OMV_LOG_WARN, "dfu: CLRSTATUS after the error failed: %s", dfu_usb_error_name(r));
            return OMV_E_DEVICE;
        }
        if (st.state == want)
            return OMV_OK;
        int busy = goal == WAIT_BLOCK
                       ? (st.state == DFU_STATE_DNBUSY || st.state == DFU_STATE_DNLOAD_SYNC)
                       : (st.state == DFU_STATE_MANIFEST || st.state == DFU_STATE_MANIFEST_SYNC);
        if (goal == WAIT_MANIFEST && st.state == DFU_STATE_MANIFEST_WAIT_RESET) {
            host->log(host, OMV_LOG_INFO, "dfu: manifestation done; device waits for a USB reset");
            *left = 1;
            return OMV_OK;
        }
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
            return omv_error_set(err, OMV_E_IMAGE, "image ended after %" PRIu64 " of %" PRIu64 " bytes",
                                 done + have, src->size);
        have += got;
    }
    return OMV_OK;
}

static omv_status cancelled(struct dfu_session *s, const char *where, omv_error *err)
{
    dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms); /* back to dfuIDLE, best effort */
    return omv_error_set(err, OMV_E_CANCELLED, "cancelled before %s", where);
}

omv_status dfu_op_write(void *session, const struct omv_target *t, const struct omv_source *src, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !t || !t->name || !src || !src->read || src->size == 0)
        return omv_error_set(err, OMV_E_USAGE, "dfu write: bad arguments");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const struct omv_host *host = s->host;
    const uint32_t ts = s->opt.transfer_size;
    const unsigned ctl = s->opt.control_timeout_ms;
    const unsigned tmo = t->timeout_ms ? t->timeout_ms : s->opt.status_timeout_ms;
    const uint64_t size = src->size;
    const uint64_t nblocks = (size + ts - 1) / ts;
    if (nblocks > DFU_MAX_BLOCKS)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "%" PRIu64 " bytes need %" PRIu64 " blocks of %" PRIu32 "; DFU block numbers stop at %u",
                             size, nblocks, ts, DFU_MAX_BLOCKS);
    omv_status st = dfu_session_set_alt(s, t->index, t->name, err);
    if (st != OMV_OK)
        return st;
    host->log(host, OMV_LOG_DEBUG, "dfu: writing %" PRIu64 " bytes to %s (alt %u), %" PRIu64 " blocks", size,
              t->name, t->index, nblocks);

    char where[64];
    uint64_t done = 0;
    uint32_t block = 0;
    int left = 0;
    for (; done < size; block++) {
        block_where(where, sizeof where, block, ts);
        if (host->cancelled(host))
            return cancelled(s, where, err);
        const uint16_t len = (uint16_t)(size - done < ts ? size - done : ts);
        st = fill(src, s->buf, len, done, err);
        if (st != OMV_OK) {
            dfu_req_abort(s->h, s->iface, ctl);
            return st;
        }
        int r = dfu_req_dnload(s->h, s->iface, (uint16_t)block, s->buf, len, ctl);
        if (r == LIBUSB_ERROR_PIPE)
            return decode_stall(s, "DNLOAD", block, err);
        if (r < 0)
            return request_failed(s, t, "DNLOAD", r, where, ctl, err);
        if (r != len)
            return omv_error_set(err, OMV_E_IO, "DNLOAD of %s: device took %d of %u bytes", where, r, len);
        st = wait_status(s, t, WAIT_BLOCK, where, tmo, &left, err);
        if (st != OMV_OK)
            return st;
        done += len;
        host->progress(host, done, size);
    }

    /* End of download: zero-length DNLOAD, then GETSTATUS through
     * dfuMANIFEST-SYNC/dfuMANIFEST back to dfuIDLE (no fixed sleep). */
    snprintf(where, sizeof where, "the end of the download (block %" PRIu32 ")", block);
    int r = dfu_req_dnload(s->h, s->iface, (uint16_t)block, NULL, 0, ctl);
    if (r == LIBUSB_ERROR_PIPE)
        return decode_stall(s, "zero-length DNLOAD", block, err);
    if (r < 0)
        return request_failed(s, t, "zero-length DNLOAD", r, where, ctl, err);
    st = wait_status(s, t, WAIT_MANIFEST, where, tmo, &left, err);
    if (st != OMV_OK)
        return st;
    if (left)
        s->gone = 1;
    host->log(host, OMV_LOG_DEBUG, "dfu: %s written and manifested", t->name);
    return OMV_OK;
}

static int is_eof_frame(const uint8_t *buf, int n)
{
    return n == 4 && buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0;
}

omv_status dfu_op_read(void *session, const struct omv_target *t, uint64_t length, const struct omv_sink *sink,
                       omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !t || !t->name || !sink || !sink->write)
        return omv_error_set(err, OMV_E_USAGE, "dfu read: bad arguments");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_IO, "the device has left; open it again");
    const struct omv_host *host = s->host;
    const uint32_t ts = s->opt.transfer_size;
    const unsigned ctl = s->opt.control_timeout_ms;
    const unsigned tmo = t->timeout_ms > ctl ? t->timeout_ms : ctl;
    const uint64_t total = length ? length : t->size; /* 0: until the device ends it */
    if ((total + ts - 1) / ts > DFU_MAX_BLOCKS)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "reading %" PRIu64 " bytes needs more than %u blocks", total,
                             DFU_MAX_BLOCKS);
    omv_status st = dfu_session_set_alt(s, t->index, t->name, err);
    if (st != OMV_OK)
        return st;

    char where[64];
    uint64_t done = 0;
    for (uint32_t block = 0; total == 0 || done < total; block++) {
        block_where(where, sizeof where, block, ts);
        if (block >= DFU_MAX_BLOCKS)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "%s: DFU block numbers stop at %u", where, DFU_MAX_BLOCKS);
        if (host->cancelled(host))
            return cancelled(s, where, err);
        const uint16_t want = (uint16_t)(total == 0 || total - done >= ts ? ts : total - done);
        int r = dfu_req_upload(s->h, s->iface, (uint16_t)block, s->buf, want, tmo);
        if (r == LIBUSB_ERROR_PIPE)
            return decode_stall(s, "UPLOAD", block, err);
        if (r < 0)
            return request_failed(s, t, "UPLOAD", r, where, tmo, err);
        int end = 0;
        if (r < want) {
            /* openmv_dfu ends a partition with a 4-byte all-zero frame: framing, never data. */
            if (length == 0 && is_eof_frame(s->buf, r))
                break;
            if (total == 0) {
                end = 1; /* plain DFU: a short frame is the last one */
            } else {
                struct dfu_status ds;
                int q = dfu_req_getstatus(s->h, s->iface, &ds, ctl);
                if (q == 0 && (ds.status != DFU_STATUS_OK || ds.state == DFU_STATE_ERROR)) {
                    char desc[160];
                    dfu_describe_status(desc, sizeof desc, ds.status, ds.state);
                    dfu_req_clrstatus(s->h, s->iface, ctl);
                    return omv_error_set(err, OMV_E_DEVICE, "UPLOAD of %s: %s", where, desc);
                }
                dfu_req_abort(s->h, s->iface, ctl);
                return omv_error_set(err, OMV_E_IO, "truncated read at block %" PRIu32 ": got %d of %u bytes%s",
                                     block, r, want,
                                     is_eof_frame(s->buf, r) ? " (the device signalled the end of the partition)"
                                                             : "");
            }
        }
        if (r > 0) {
            st = sink->write(sink->ctx, s->buf, (size_t)r, err);
            if (st != OMV_OK) {
                dfu_req_abort(s->h, s->iface, ctl);
                return st;
            }
        }
        done += (uint64_t)r;
        host->progress(host, done, total ? total : done);
        if (end)
            break;
    }
    int r = dfu_req_abort(s->h, s->iface, ctl);
    if (r < 0)
        return dfu_session_fail(s, err, r, ctl, "ABORT after the upload");
    return OMV_OK;
}
