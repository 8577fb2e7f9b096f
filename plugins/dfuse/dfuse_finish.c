/*
 * The end of a session: partitions (the board partitions the device's memory
 * holds), recover, finish (leaving DFU: ST's "leave" request) and close.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfuse_session.h"

omv_status dfuse_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                               omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s || !count || (max && !out))
        return omv_error_set(err, OMV_E_USAGE, "dfuse partitions: bad arguments");
    /* DfuSe devices name memories, not partitions: a board partition is
     * offered when its address range lies in its alt's memory layout. */
    for (size_t i = 0; i < s->n_parts && i < max; i++) {
        out[i].index = (unsigned)i;
        snprintf(out[i].name, sizeof out[i].name, "%s", s->parts[i].name);
    }
    *count = s->n_parts;
    return OMV_OK;
}

omv_status dfuse_op_recover(void *session, omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s)
        return omv_error_set(err, OMV_E_USAGE, "dfuse recover: no session");
    if (s->gone || s->disconnected)
        return omv_error_set(err, OMV_E_NO_DEVICE, "the device has left; open it again");
    omv_status st = dfuse_to_idle(s, err);
    if (st != OMV_OK && s->disconnected)
        return omv_error_set(err, OMV_E_NO_DEVICE, "the device left while being brought back to dfuIDLE (%s)",
                             err->msg);
    return st;
}

static int left_bus(int r)
{
    return r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO || r == LIBUSB_ERROR_PIPE ||
           r == LIBUSB_ERROR_NOT_FOUND;
}

/*
 * Leave DFU (ST AN3156 "leave DFU mode"; dfu-util's :leave): set the
 * address pointer to the jump target, a zero-length DNLOAD (block 2), and
 * one GETSTATUS, which answers dfuMANIFEST. The STM32 ROM then jumps to the
 * pointer; the H7's ROM drops off the bus before answering that GETSTATUS
 * (dfu-util reports "Error during download get_status" on hardware), which is
 * success too. The Arduino bootloader ignores the pointer and resets the
 * board about 200 ms later.
 */
static omv_status leave(struct dfuse_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    const unsigned ctl = s->opt.control_timeout_ms;
    int has = s->opt.has_leave_address || s->wrote;
    uint32_t addr = s->opt.has_leave_address ? (uint32_t)s->opt.leave_address : s->first_write;
    omv_status st = has ? dfuse_set_address(s, addr, err) : OMV_OK;
    if (st != OMV_OK)
        return st;
    int r = dfu_req_dnload(s->h, s->iface, DFUSE_FIRST_BLOCK, NULL, 0, ctl);
    if (r < 0 && !left_bus(r))
        return dfuse_usb_fail(s, err, r, ctl, "the leave request");
    struct dfu_status ds;
    if (r >= 0)
        r = dfu_req_getstatus(s->h, s->iface, &ds, ctl);
    s->gone = 1;
    if (r < 0) {
        if (!left_bus(r))
            return dfuse_usb_fail(s, err, r, ctl, "GETSTATUS after the leave request");
        host->log(host, OMV_LOG_DEBUG, "dfuse: device left on the leave request (%s): success", dfu_usb_error_name(r));
        return OMV_OK;
    }
    if (ds.status != DFU_STATUS_OK) {
        s->gone = 0;
        char desc[160];
        dfu_describe_status(desc, sizeof desc, ds.status, ds.state);
        omv_error_set(err, OMV_E_DEVICE, "leaving DFU: %s", desc);
        return omv_error_device(err, ds.status, dfu_status_name(ds.status));
    }
    if (has)
        host->log(host, OMV_LOG_DEBUG, "dfuse: left DFU (%s), jump address 0x%08" PRIX32, dfu_state_name(ds.state),
                  addr);
    return OMV_OK;
}

omv_status dfuse_op_finish(void *session, int reset, omv_error *err)
{
    struct dfuse_session *s = session;
    if (!s)
        return omv_error_set(err, OMV_E_USAGE, "dfuse finish: no session");
    if (s->gone)
        return OMV_OK;
    if (reset)
        return leave(s, err);
    /* Stay in the bootloader: back to dfuIDLE (what dfu-util does without :leave), released. */
    omv_status st = dfuse_to_idle(s, err);
    if (st == OMV_OK && s->claimed) {
        int r = libusb_release_interface(s->h, s->iface);
        s->claimed = 0;
        if (r < 0 && r != LIBUSB_ERROR_NO_DEVICE && r != LIBUSB_ERROR_NOT_FOUND)
            return dfuse_usb_fail(s, err, r, 0, "releasing the DFU interface");
    }
    return st;
}

void dfuse_op_close(void *session)
{
    dfuse_session_free(session);
}
