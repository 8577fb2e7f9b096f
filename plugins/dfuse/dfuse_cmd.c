/*
 * DfuSe requests: the special commands (DNLOAD block 0: set address, erase,
 * mass erase), data blocks, and the GETSTATUS rule they share. ST's
 * bootloaders run a command only when the host asks for the status after the
 * DNLOAD: the first GETSTATUS answers dfuDNBUSY with the time the command
 * needs (bwPollTimeout), the host waits that long and asks again until the
 * device is back in dfuDNLOAD-IDLE, or reports an error (ST AN3156; dfu-util
 * and fwupd do the same). The only sleeps here are those bwPollTimeouts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfuse_session.h"

/* Consecutive dfuDNBUSY answers with bwPollTimeout 0 after which a device is
 * stuck: dfu-util's limit. The Arduino bootloader answers so forever when an
 * erase or QSPI write fails (its class never reports an error status). */
#define DFUSE_STUCK_POLLS 100
/* How often a device busy with bwPollTimeout 0 is asked again while opening. */
#define DFUSE_OPEN_BUSY_POLL_MS 20u

omv_status dfuse_usb_fail(struct dfuse_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
        s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected", what);
    case LIBUSB_ERROR_IO:
        s->disconnected = 1;
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected (USB I/O error)", what);
    case LIBUSB_ERROR_TIMEOUT:
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no answer within %u ms", what, timeout_ms);
    case LIBUSB_ERROR_ACCESS:
        return omv_error_set(err, OMV_E_ACCESS, "%s: %s", what, DFUSE_UDEV_HINT);
    case LIBUSB_ERROR_PIPE:
        return omv_error_set(err, OMV_E_IO, "%s: request stalled (LIBUSB_ERROR_PIPE)", what);
    default:
        return omv_error_set(err, OMV_E_IO, "%s: %s", what, dfu_usb_error_name(r));
    }
}

/* One step of dfuse_to_idle() for state @p st; *done when dfuIDLE. */
static omv_status idle_step(struct dfuse_session *s, const struct dfu_status *st, uint64_t start, int *cleared,
                            int *done, omv_error *err)
{
    const struct omv_host *host = s->host;
    const unsigned tmo = s->opt.control_timeout_ms;
    int r = 0;
    switch (st->state) {
    case DFU_STATE_IDLE:
        *done = 1;
        return OMV_OK;
    case DFU_STATE_ERROR:
        if (*cleared) {
            omv_error_set(err, OMV_E_DEVICE, "device stays in dfuERROR (status %s) after CLRSTATUS",
                          dfu_status_name(st->status));
            return omv_error_device(err, st->status, dfu_status_name(st->status));
        }
        /* The STM32F4 ROM enumerates in dfuERROR/errFIRMWARE: clearing it is normal. */
        host->log(host, OMV_LOG_DEBUG, "dfuse: device in dfuERROR (%s) on open; sending CLRSTATUS",
                  dfu_status_name(st->status));
        *cleared = 1;
        r = dfu_req_clrstatus(s->h, s->iface, tmo);
        return r < 0 ? dfuse_usb_fail(s, err, r, tmo, "CLRSTATUS while preparing the device") : OMV_OK;
    case DFU_STATE_DNBUSY:
    case DFU_STATE_MANIFEST:
        if (host->now_ms(host) - start > s->opt.status_timeout_ms)
            return omv_error_set(err, OMV_E_TIMEOUT, "device still in %s after %u ms while preparing it",
                                 dfu_state_name(st->state), s->opt.status_timeout_ms);
        if (host->sleep_ms(host, st->poll_timeout ? st->poll_timeout : DFUSE_OPEN_BUSY_POLL_MS) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled while the device was busy");
        return OMV_OK;
    case DFU_STATE_MANIFEST_WAIT_RESET:
        return omv_error_set(err, OMV_E_DEVICE,
                             "device is in dfuMANIFEST-WAIT-RESET and accepts nothing until it resets; replug it");
    case DFU_STATE_APP_IDLE:
    case DFU_STATE_APP_DETACH:
        return omv_error_set(err, OMV_E_DEVICE, "device is in %s (DFU run-time mode), not in its bootloader",
                             dfu_state_name(st->state));
    default: /* dfuDNLOAD-SYNC, dfuDNLOAD-IDLE, dfuUPLOAD-IDLE, dfuMANIFEST-SYNC */
        r = dfu_req_abort(s->h, s->iface, tmo);
        return r < 0 ? dfuse_usb_fail(s, err, r, tmo, "ABORT while preparing the device") : OMV_OK;
    }
}

omv_status dfuse_to_idle(struct dfuse_session *s, omv_error *err)
{
    const uint64_t start = s->host->now_ms(s->host);
    int cleared = 0, done = 0;
    for (int step = 0; step < 64; step++) {
        struct dfu_status st;
        int r = dfu_req_getstatus(s->h, s->iface, &st, s->opt.control_timeout_ms);
        if (r < 0)
            return dfuse_usb_fail(s, err, r, s->opt.control_timeout_ms, "GETSTATUS while preparing the device");
        omv_status o = idle_step(s, &st, start, &cleared, &done, err);
        if (o != OMV_OK || done)
            return o;
    }
    return omv_error_set(err, OMV_E_DEVICE, "device did not reach dfuIDLE while preparing it");
}

/* libusb before 1.0.27 unlocks a mutex twice when libusb_set_interface_alt_setting()
 * meets a device it already saw leave (libusb/libusb#1199). */
static int set_alt_is_unsafe_on_gone_device(void)
{
    const struct libusb_version *v = libusb_get_version();
    unsigned ver = (unsigned)v->major << 16 | (unsigned)v->minor << 8 | (unsigned)v->micro;
    return ver < (1u << 16 | 0u << 8 | 27u);
}

omv_status dfuse_select_alt(struct dfuse_session *s, unsigned alt, omv_error *err)
{
    if (s->cur_alt == (int)alt)
        return OMV_OK;
    char what[64];
    snprintf(what, sizeof what, "selecting alt setting %u", alt);
    if (set_alt_is_unsafe_on_gone_device()) {
        uint8_t state;
        int q = dfu_req_getstate(s->h, s->iface, &state, s->opt.control_timeout_ms);
        if (q == LIBUSB_ERROR_NO_DEVICE || q == LIBUSB_ERROR_IO)
            return dfuse_usb_fail(s, err, q, s->opt.control_timeout_ms, what);
    }
    int r = libusb_set_interface_alt_setting(s->h, s->iface, (int)alt);
    if (r == LIBUSB_ERROR_NOT_FOUND)
        return omv_error_set(err, OMV_E_MISMATCH, "%s: the device has no such alt setting", what);
    if (r < 0)
        return dfuse_usb_fail(s, err, r, s->opt.control_timeout_ms, what);
    s->cur_alt = (int)alt;
    return OMV_OK;
}

/* The device reported an error status at @p where: say it, clear it, keep the session usable. */
static omv_status status_error(struct dfuse_session *s, const struct dfu_status *st, const char *where,
                               uint64_t offset, omv_error *err)
{
    char desc[160];
    dfu_describe_status(desc, sizeof desc, st->status, st->state);
    /* ST's ROM answers errVENDOR to erases and writes while flash read protection is on (AN2662). */
    omv_error_set(err, OMV_E_DEVICE, "%s: %s%s", where, desc,
                  st->status == DFU_STATUS_ERR_VENDOR ? " (flash read protection? --read-unprotect yes removes it "
                                                        "and erases the chip)" : "");
    omv_error_device(err, st->status, dfu_status_name(st->status));
    omv_error_retriable(err, dfuse_status_retriable(st->status));
    if (offset != UINT64_MAX)
        omv_error_offset(err, offset);
    int r = dfu_req_clrstatus(s->h, s->iface, s->opt.control_timeout_ms);
    if (r < 0)
        s->host->log(s->host, OMV_LOG_WARN, "dfuse: CLRSTATUS after the error failed: %s", dfu_usb_error_name(r));
    return OMV_E_DEVICE;
}

/* A DNLOAD was stalled: GETSTATUS says why. */
static omv_status dnload_stalled(struct dfuse_session *s, const char *where, uint64_t offset, omv_error *err)
{
    struct dfu_status st;
    int r = dfu_req_getstatus(s->h, s->iface, &st, s->opt.control_timeout_ms);
    if (r < 0)
        return dfuse_usb_fail(s, err, r, s->opt.control_timeout_ms, where);
    if (st.status != DFU_STATUS_OK || st.state == DFU_STATE_ERROR)
        return status_error(s, &st, where, offset, err);
    dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
    omv_error_set(err, OMV_E_DEVICE, "%s: DNLOAD stalled in state %s (status OK)", where, dfu_state_name(st.state));
    return offset != UINT64_MAX ? omv_error_offset(err, offset) : OMV_E_DEVICE;
}

/*
 * STM32H743 rev V ROM: a page erase in flash bank 2 keeps answering dfuDNBUSY
 * after the time it asked for; STM32CubeProgrammer then sends CLRSTATUS
 * (dfuERROR/errUNKNOWN) and CLRSTATUS again (dfuIDLE) and goes on, the sector
 * erased (betaflight-configurator #1861, #1972). Done here for a page erase on
 * an ST ROM (it lists READ_UNPROTECT) still busy after two more waits of the
 * time it asked for; a sector that was not erased after all fails the write
 * that follows (the ROM refuses to program flash that is not erased).
 */
static int rev_v_erase_hang(const struct dfuse_session *s, unsigned busy_answers)
{
    return s->page_erase && busy_answers >= 3 && dfuse_has_command(s, DFUSE_CMD_READ_UNPROTECT);
}

static omv_status clear_erase_hang(struct dfuse_session *s, const char *where, omv_error *err)
{
    const unsigned ctl = s->opt.control_timeout_ms;
    s->host->log(s->host, OMV_LOG_WARN,
                 "dfuse: %s: the ROM stays busy after the time it asked for (STM32H7 rev V, flash bank 2); "
                 "clearing it as STM32CubeProgrammer does", where);
    for (int i = 0; i < 2; i++) {
        int r = dfu_req_clrstatus(s->h, s->iface, ctl);
        if (r < 0)
            return dfuse_usb_fail(s, err, r, ctl, where);
    }
    return dfuse_to_idle(s, err);
}

/* GETSTATUS until dfuDNLOAD-IDLE, sleeping only the bwPollTimeout the device asks for. */
static omv_status wait_done(struct dfuse_session *s, unsigned tmo, const char *where, uint64_t offset, omv_error *err)
{
    const struct omv_host *host = s->host;
    const uint64_t start = host->now_ms(host);
    int idle_polls = 0;
    unsigned busy_answers = 0;
    for (;;) {
        uint64_t spent = host->now_ms(host) - start;
        if (spent >= tmo)
            return omv_error_set(err, OMV_E_TIMEOUT, "%s: device still busy after %u ms", where, tmo);
        struct dfu_status st;
        /* The Arduino bootloader erases inside this request's status stage: it may take the command's time. */
        unsigned call_tmo = (unsigned)(tmo - spent) + s->opt.control_timeout_ms;
        int r = dfu_req_getstatus(s->h, s->iface, &st, call_tmo);
        if (r < 0)
            return dfuse_usb_fail(s, err, r, call_tmo, where);
        if (st.status != DFU_STATUS_OK || st.state == DFU_STATE_ERROR)
            return status_error(s, &st, where, offset, err);
        if (st.state == DFU_STATE_DNLOAD_IDLE || st.state == DFU_STATE_IDLE)
            return OMV_OK;
        if (st.state != DFU_STATE_DNBUSY && st.state != DFU_STATE_DNLOAD_SYNC)
            return omv_error_set(err, OMV_E_DEVICE, "%s: unexpected state %s (status OK)", where,
                                 dfu_state_name(st.state));
        if (rev_v_erase_hang(s, ++busy_answers))
            return clear_erase_hang(s, where, err);
        if (st.poll_timeout == 0 && ++idle_polls > DFUSE_STUCK_POLLS) {
            omv_error_set(err, OMV_E_DEVICE,
                          "%s: device stuck in dfuDNBUSY (%d polls without a wait): the command failed on the "
                          "device; reset the board", where, DFUSE_STUCK_POLLS);
            return omv_error_retriable(err, 0);
        }
        if (st.poll_timeout > 0 && host->sleep_ms(host, st.poll_timeout) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled at %s", where);
    }
}

omv_status dfuse_dnload_wait(struct dfuse_session *s, uint16_t block, const uint8_t *data, uint16_t len,
                             unsigned tmo, const char *where, uint64_t offset, omv_error *err)
{
    const unsigned ctl = s->opt.control_timeout_ms;
    int r = dfu_req_dnload(s->h, s->iface, block, data, len, ctl);
    if (r == LIBUSB_ERROR_PIPE)
        return dnload_stalled(s, where, offset, err);
    if (r < 0) {
        omv_status st = dfuse_usb_fail(s, err, r, ctl, where);
        if (offset != UINT64_MAX)
            omv_error_offset(err, offset);
        return st;
    }
    if (r != len)
        return omv_error_set(err, OMV_E_IO, "%s: device took %d of %u bytes", where, r, len);
    return wait_done(s, tmo, where, offset, err);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

omv_status dfuse_set_address(struct dfuse_session *s, uint32_t addr, omv_error *err)
{
    uint8_t cmd[5] = {DFUSE_CMD_SET_ADDRESS};
    put_le32(cmd + 1, addr);
    char where[48];
    snprintf(where, sizeof where, "set address 0x%08" PRIX32, addr);
    return dfuse_dnload_wait(s, 0, cmd, sizeof cmd, s->opt.status_timeout_ms, where, UINT64_MAX, err);
}

omv_status dfuse_erase_page(struct dfuse_session *s, uint32_t addr, unsigned tmo, uint64_t offset, omv_error *err)
{
    uint8_t cmd[5] = {DFUSE_CMD_ERASE};
    put_le32(cmd + 1, addr);
    char where[48];
    snprintf(where, sizeof where, "erase 0x%08" PRIX32, addr);
    s->page_erase = 1;
    omv_status st = dfuse_dnload_wait(s, 0, cmd, sizeof cmd, tmo, where, offset, err);
    s->page_erase = 0;
    if (st == OMV_OK)
        s->host->log(s->host, OMV_LOG_DEBUG, "dfuse: erased the page at 0x%08" PRIX32, addr);
    return st;
}

omv_status dfuse_mass_erase(struct dfuse_session *s, omv_error *err)
{
    const uint8_t cmd[1] = {DFUSE_CMD_ERASE};
    return dfuse_dnload_wait(s, 0, cmd, sizeof cmd, s->opt.mass_erase_timeout_ms, "mass erase", UINT64_MAX, err);
}

omv_status dfuse_abort(struct dfuse_session *s, const char *after, omv_error *err)
{
    int r = dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
    if (r < 0) {
        char what[96];
        snprintf(what, sizeof what, "ABORT after %s", after);
        return dfuse_usb_fail(s, err, r, s->opt.control_timeout_ms, what);
    }
    return OMV_OK;
}

int dfuse_has_command(const struct dfuse_session *s, uint8_t cmd)
{
    for (size_t i = 0; i < s->n_commands; i++)
        if (s->commands[i] == cmd)
            return 1;
    return 0;
}
