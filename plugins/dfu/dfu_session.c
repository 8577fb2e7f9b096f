/*
 * The session: preparing a claimed device (alt names, transfer size, dfuIDLE,
 * the bootloader header), partitions, recover, finish, close, and the error
 * mapping the other files share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"
#include "dfu_usb.h"

/* How often a device busy in dfuDNBUSY/dfuMANIFEST with bwPollTimeout 0 is asked again while opening. */
#define DFU_BUSY_POLL_MS 20u

omv_status dfu_usb_fail(omv_error *err, int r, unsigned timeout_ms, const char *what)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected", what);
    case LIBUSB_ERROR_IO:
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected (USB I/O error)", what);
    case LIBUSB_ERROR_TIMEOUT:
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no answer within %u ms", what, timeout_ms);
    case LIBUSB_ERROR_ACCESS:
        return omv_error_set(err, OMV_E_ACCESS, "%s: %s", what, DFU_UDEV_HINT);
    case LIBUSB_ERROR_PIPE:
        return omv_error_set(err, OMV_E_IO, "%s: request stalled (LIBUSB_ERROR_PIPE)", what);
    default:
        return omv_error_set(err, OMV_E_IO, "%s: %s", what, dfu_usb_error_name(r));
    }
}

omv_status dfu_session_fail(struct dfu_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what)
{
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
        s->disconnected = 1;
    return dfu_usb_fail(err, r, timeout_ms, what);
}

/* libusb before 1.0.27 unlocks the handle's mutex twice when
 * libusb_set_interface_alt_setting() meets a device it already saw leave
 * (libusb/libusb#1199); libusb_close() then aborts on an assertion. */
static int set_alt_is_unsafe_on_gone_device(void)
{
    const struct libusb_version *v = libusb_get_version();
    unsigned ver = (unsigned)v->major << 16 | (unsigned)v->minor << 8 | (unsigned)v->micro;
    return ver < (1u << 16 | 0u << 8 | 27u);
}

omv_status dfu_session_set_alt(struct dfu_session *s, unsigned alt, const char *name, omv_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "selecting alt setting %u (%s)", alt, name ? name : "?");
    if (set_alt_is_unsafe_on_gone_device()) {
        /* A device libusb knows has left fails every transfer with NO_DEVICE:
         * find out with a harmless GETSTATE instead of tripping the bug. */
        uint8_t state;
        int q = dfu_req_getstate(s->h, s->iface, &state, s->opt.control_timeout_ms);
        if (q == LIBUSB_ERROR_NO_DEVICE || q == LIBUSB_ERROR_IO)
            return dfu_session_fail(s, err, q, s->opt.control_timeout_ms, what);
    }
    int r = libusb_set_interface_alt_setting(s->h, s->iface, (int)alt);
    if (r == 0)
        return OMV_OK;
    if (r == LIBUSB_ERROR_NOT_FOUND)
        return omv_error_set(err, OMV_E_MISMATCH, "%s: the device has no such alt setting", what);
    return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, what);
}

omv_status dfu_session_to_idle(struct dfu_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    const unsigned tmo = s->opt.control_timeout_ms;
    uint64_t start = host->now_ms(host);
    int cleared = 0;
    char desc[160];
    for (int step = 0; step < 16; step++) {
        struct dfu_status st;
        int r = dfu_req_getstatus(s->h, s->iface, &st, s->opt.status_timeout_ms);
        if (r < 0)
            return dfu_session_fail(s, err, r, s->opt.status_timeout_ms, "GETSTATUS while preparing the device");
        switch (st.state) {
        case DFU_STATE_IDLE:
            return OMV_OK;
        case DFU_STATE_ERROR:
            if (cleared) {
                omv_error_set(err, OMV_E_DEVICE, "device stays in dfuERROR (status %s, 0x%02X: %s) after CLRSTATUS",
                              dfu_status_name(st.status), st.status, dfu_status_words(st.status));
                return omv_error_device(err, st.status, dfu_status_name(st.status));
            }
            dfu_describe_status(desc, sizeof desc, st.status, st.state);
            host->log(host, OMV_LOG_INFO, "dfu: %s on open; sending CLRSTATUS", desc);
            r = dfu_req_clrstatus(s->h, s->iface, tmo);
            if (r < 0)
                return dfu_session_fail(s, err, r, tmo, "CLRSTATUS while preparing the device");
            cleared = 1;
            break;
        case DFU_STATE_DNBUSY:
        case DFU_STATE_MANIFEST: {
            /* Busy: wait as asked, bounded by the status timeout. */
            if (host->now_ms(host) - start > s->opt.status_timeout_ms)
                return omv_error_set(err, OMV_E_TIMEOUT, "device still in %s after %u ms while preparing it",
                                     dfu_state_name(st.state), s->opt.status_timeout_ms);
            /* A busy device that asks for no wait is asked again after DFU_BUSY_POLL_MS. */
            uint32_t wait = st.poll_timeout ? st.poll_timeout : DFU_BUSY_POLL_MS;
            if (host->sleep_ms(host, wait) != OMV_OK)
                return omv_error_set(err, OMV_E_CANCELLED, "cancelled while the device was busy");
            break;
        }
        case DFU_STATE_MANIFEST_WAIT_RESET:
            return omv_error_set(err, OMV_E_DEVICE,
                                 "device is in dfuMANIFEST-WAIT-RESET and accepts nothing until it is reset; "
                                 "replug it");
        case DFU_STATE_APP_IDLE:
        case DFU_STATE_APP_DETACH:
            return omv_error_set(err, OMV_E_DEVICE, "device is in %s (DFU run-time mode), not in its bootloader",
                                 dfu_state_name(st.state));
        default: /* dfuDNLOAD-SYNC, dfuDNLOAD-IDLE, dfuUPLOAD-IDLE, dfuMANIFEST-SYNC, unknown */
            host->log(host, OMV_LOG_INFO, "dfu: device is in %s on open; sending ABORT", dfu_state_name(st.state));
            r = dfu_req_abort(s->h, s->iface, tmo);
            if (r < 0)
                return dfu_session_fail(s, err, r, tmo, "ABORT while preparing the device");
            break;
        }
    }
    return omv_error_set(err, OMV_E_DEVICE, "device did not reach dfuIDLE while preparing it");
}

/* Read the 32-byte header at offset 0x1000 of the bootloader partition: UPLOAD
 * block 1 with wLength 32. Besides the version this "attaches" the session so
 * openmv_dfu stops its 1.5 s countdown. Problems other than a vanished device
 * only cost the version. */
static omv_status read_boot_header(struct dfu_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    const char *want = s->opt.bootloader_partition;
    if (!want[0])
        return OMV_OK;
    const struct omv_dev_partition *p = NULL;
    for (size_t i = 0; i < s->n_alts; i++)
        if (strcmp(s->alts[i].name, want) == 0)
            p = &s->alts[i];
    if (!p) {
        host->log(host, OMV_LOG_WARN, "dfu: bootloader_partition %s is not offered by the device; version unknown",
                  want);
        return OMV_OK;
    }
    omv_status st = dfu_session_set_alt(s, p->index, p->name, err);
    if (st != OMV_OK)
        return st;
    uint8_t hdr[DFU_BOOT_HEADER_LEN];
    const uint16_t block = (uint16_t)(DFU_BOOT_HEADER_OFFSET / s->opt.transfer_size);
    int r = dfu_req_upload(s->h, s->iface, block, hdr, sizeof hdr, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
        return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, "reading the bootloader header");
    if (r < 0) {
        host->log(host, OMV_LOG_WARN, "dfu: reading the bootloader header from %s failed (%s); version unknown",
                  want, dfu_usb_error_name(r));
        return dfu_session_to_idle(s, err);
    }
    if (dfu_parse_boot_header(hdr, (size_t)r, s->info.bootloader_version, sizeof s->info.bootloader_version))
        host->log(host, OMV_LOG_DEBUG, "dfu: bootloader version %s", s->info.bootloader_version);
    else
        host->log(host, OMV_LOG_DEBUG, "dfu: no bootloader header in %s (bootloader older than 1.0.1?)", want);
    r = dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
    if (r < 0)
        return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, "ABORT after reading the bootloader header");
    return OMV_OK;
}

void dfu_session_free(struct dfu_session *s)
{
    if (!s)
        return;
    if (s->h) {
        if (s->claimed && !s->gone)
            libusb_release_interface(s->h, s->iface);
        libusb_close(s->h);
    }
    free(s->buf);
    free(s);
}

/* The board's `alt` of a partition the device numbers otherwise: the device wins, the user hears of it. */
static void compare_alts(struct dfu_session *s)
{
    const struct omv_host *host = s->host;
    for (size_t i = 0; i < s->n_alts; i++) {
        uint64_t alt;
        if (host->partition_option_uint(host, s->alts[i].name, "alt", &alt) && alt != s->alts[i].index)
            host->log(host, OMV_LOG_WARN, "partition %s: the board file says alt %u, the device numbers it %u; using %u",
                      s->alts[i].name, (unsigned)alt, s->alts[i].index, s->alts[i].index);
    }
}

omv_status dfu_session_prepare(struct dfu_session *s, const struct dfu_layout *layout, omv_error *err)
{
    const struct omv_host *host = s->host;
    s->func = layout->func;
    for (size_t i = 0; i < layout->n_alts; i++) {
        struct omv_dev_partition *p = &s->alts[s->n_alts++];
        p->index = layout->alts[i].alt;
        int r = dfu_usb_string(s->h, layout->alts[i].istring, p->name, sizeof p->name);
        if (r < 0)
            return dfu_session_fail(s, err, r, 0, "reading the alt setting names");
    }
    if (!s->func.present) {
        host->log(host, OMV_LOG_WARN, "dfu: device has no DFU functional descriptor; assuming transfer_size %u",
                  s->opt.transfer_size);
    } else if (s->func.transfer_size != s->opt.transfer_size) {
        return omv_error_set(err, OMV_E_MISMATCH,
                             "device wTransferSize is %u but [dfu] transfer_size is %u: openmv_dfu computes the "
                             "address as start + block x %u, so blocks of another size would land at wrong "
                             "addresses; fix the board file",
                             s->func.transfer_size, s->opt.transfer_size, s->func.transfer_size);
    }
    s->buf = malloc(s->opt.transfer_size);
    if (!s->buf)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    compare_alts(s);
    omv_status st = dfu_session_to_idle(s, err);
    return st == OMV_OK ? read_boot_header(s, err) : st;
}

omv_status dfu_session_target(struct dfu_session *s, const struct omv_target *t, omv_error *err)
{
    for (size_t i = 0; i < s->n_alts; i++)
        if (s->alts[i].index == t->index)
            return OMV_OK;
    return omv_error_set(err, OMV_E_MISMATCH, "the device offers no partition %s", t->name);
}

omv_status dfu_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !count || (max && !out))
        return omv_error_set(err, OMV_E_USAGE, "dfu partitions: bad arguments");
    for (size_t i = 0; i < s->n_alts && i < max; i++)
        out[i] = s->alts[i];
    *count = s->n_alts;
    return OMV_OK;
}

omv_status dfu_op_recover(void *session, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s)
        return omv_error_set(err, OMV_E_USAGE, "dfu recover: no session");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_NO_DEVICE, "the device has left; open it again");
    omv_status st = dfu_session_to_idle(s, err);
    if (st != OMV_OK && s->disconnected)
        return omv_error_set(err, OMV_E_NO_DEVICE, "the device left while being brought back to dfuIDLE (%s)",
                             err->msg);
    return st;
}

omv_status dfu_op_finish(void *session, int reset, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s)
        return omv_error_set(err, OMV_E_USAGE, "dfu finish: no session");
    const struct omv_host *host = s->host;
    if (s->gone) {
        host->log(host, OMV_LOG_DEBUG, "dfu: device already left");
        return OMV_OK;
    }
    if (!reset) {
        if (s->claimed) {
            int r = libusb_release_interface(s->h, s->iface);
            s->claimed = 0;
            if (r < 0 && r != LIBUSB_ERROR_NO_DEVICE && r != LIBUSB_ERROR_NOT_FOUND)
                return dfu_session_fail(s, err, r, 0, "releasing the DFU interface");
        }
        return OMV_OK;
    }
    uint16_t wtimeout = (uint16_t)(s->opt.detach_timeout_ms ? s->opt.detach_timeout_ms
                                   : s->func.present      ? s->func.detach_timeout
                                                          : 1000);
    int r = dfu_req_detach(s->h, s->iface, wtimeout, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_IO) {
        /* openmv_dfu disconnects in DETACH's status stage: it left, as asked. */
        host->log(host, OMV_LOG_DEBUG, "dfu: device left on DETACH (%s): success", dfu_usb_error_name(r));
        s->gone = 1;
        return OMV_OK;
    }
    if (r < 0)
        host->log(host, OMV_LOG_DEBUG, "dfu: DETACH answered %s; resetting anyway", dfu_usb_error_name(r));
    /* Pre-1.0.2 bootloaders in forced mode only leave on a bus reset; the reset
     * also finishes devices without bitWillDetach. */
    r = libusb_reset_device(s->h);
    s->gone = 1;
    if (r == 0 || r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_IO) {
        host->log(host, OMV_LOG_DEBUG, "dfu: USB reset after DETACH: %s (device left: success)",
                  r ? dfu_usb_error_name(r) : "ok");
        return OMV_OK;
    }
    return omv_error_set(err, OMV_E_IO, "USB reset after DETACH failed: %s; replug the camera to start it",
                         dfu_usb_error_name(r));
}

void dfu_op_close(void *session)
{
    dfu_session_free(session);
}
