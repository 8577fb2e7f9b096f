/* DfuSe request handling, common to the STM32 ROM and the Arduino bootloader.
 * Both run ST's DFU device class (AN2662/AN3156; arduino/mcuboot-arduino-
 * stm32h7 usbd_dfu.cpp): a DNLOAD is held in dfuDNLOAD-SYNC, the GETSTATUS
 * after it answers dfuDNBUSY and then runs it. They differ in when the host
 * feels the time and in how failures show (dfuse_exec.c):
 *  - ROM: the answer comes first, the command runs after it; every request
 *    until it is done is NAKed (modelled: delayed). The next GETSTATUS reports
 *    dfuDNLOAD-IDLE or dfuERROR with the status.
 *  - Arduino: the command runs in the status stage of that same GETSTATUS (the
 *    request takes as long as the erase); a failing erase or QSPI write
 *    returns before the state moves on, so the device stays in dfuDNBUSY. */
#include "dfuse_device.h"

#include "dfuse_exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DFU_DETACH = 0, DFU_DNLOAD, DFU_UPLOAD, DFU_GETSTATUS, DFU_CLRSTATUS, DFU_GETSTATE, DFU_ABORT };

dfuse_state_t *dfuse_state_new(const camera_model_t *cam)
{
    dfuse_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->model = cam->dfuse;
    s->xfer = cam->usb->transfer_size;
    s->reappear_ms = -1;
    if (!dfuse_mem_init(&s->mem, s->model)) {
        dfuse_state_free(s);
        return NULL;
    }
    return s;
}

void dfuse_state_free(dfuse_state_t *s)
{
    if (!s)
        return;
    dfuse_mem_free(&s->mem);
    free(s);
}

void dfuse_session_reset(dfu_device_t *d)
{
    dfuse_state_t *s = d->dfuse;
    s->pointer = s->model->default_pointer;
    s->held = s->hang_until_clear = s->reset_after_busy = s->reboot_armed = false;
    s->result = ST_OK;
    s->busy_until = s->poll_deadline = 0;
    s->reappear_ms = -1;
    d->alt = 0;
    d->busy_forever = d->sticky_error = false;
    d->state = DFU_IDLE;
    d->status = ST_OK;
    if (s->model->starts_in_error) { /* dfu-util's STM32F4 ROM log: dfuERROR, status 10 */
        d->state = DFU_ERROR;
        d->status = DS_errFIRMWARE;
    }
}

bool dfuse_configure(dfu_device_t *d, const dfuse_opts_t *o, dfuse_timer_fn timer, void *user,
                     char *err, size_t errlen)
{
    dfuse_state_t *s = d->dfuse;
    s->opts = *o;
    s->timer = timer;
    s->timer_user = user;
    if (o->rdp && s->model->family != DFUSE_ST_ROM) {
        snprintf(err, errlen, "--rdp: only the stm32-rom-* cameras have read protection");
        return false;
    }
    if (o->rev_v && !s->model->has_rev_v) {
        snprintf(err, errlen, "--h7-rev-v: only for --camera stm32-rom-h7");
        return false;
    }
    for (size_t i = 0; i < o->ndump_ranges; i++) {
        const char *spec = o->dump_ranges[i];
        char *end = NULL;
        unsigned long long a = strtoull(spec, &end, 0), n = 0;
        bool ok = end != spec && *end == ':';
        if (ok) {
            const char *ls = end + 1;
            n = strtoull(ls, &end, 0);
            ok = end != ls && *end == '\0' && n > 0 && a <= 0xFFFFFFFFull &&
                 a + n <= 0x100000000ull && spec[0] != '-' && ls[0] != '-';
        }
        if (!ok) {
            snprintf(err, errlen, "--dump-range '%s': expected ADDR:LEN (e.g. 0x08000000:0x20000)",
                     spec);
            return false;
        }
        s->ranges[s->nranges].addr = (uint32_t)a;
        s->ranges[s->nranges++].len = (uint32_t)n;
    }
    dfuse_session_reset(d);
    return true;
}

int dfuse_set_interface(dfu_device_t *d, int iface, int alt)
{
    d->stats.setinterface++;
    if (iface != 0 || alt < 0 || (size_t)alt >= d->cam->nparts)
        return -1;
    /* ST's class only records the alt: no state change, and the memory is
     * chosen by the address, not by the alt. */
    d->alt = alt;
    emu_log(d, "SET_INTERFACE alt=%d (%s)", alt, d->cam->parts[alt].name);
    return 0;
}

void dfuse_bus_reset(dfu_device_t *d)
{
    /* USB reset -> the class is de-initialised and initialised again on
     * SET_CONFIGURATION: state and address pointer back to their defaults. */
    emu_log(d, "USB reset: DFU class re-initialised, device stays");
    dfuse_session_reset(d);
}

static size_t reply(uint8_t *in, size_t cap, uint8_t status, uint32_t poll_ms, uint8_t state)
{
    uint8_t r[6] = {status, poll_ms & 0xFF, (poll_ms >> 8) & 0xFF, (poll_ms >> 16) & 0xFF, state,
                    0};
    size_t n = cap < 6 ? cap : 6;
    memcpy(in, r, n);
    return n;
}

static bool is_rom(const dfu_device_t *d)
{
    return d->dfuse->model->family == DFUSE_ST_ROM;
}

/* The GETSTATUS that runs a held DNLOAD (block 0 command or data block). */
static ctrl_result_t getstatus_execute(dfu_device_t *d, uint8_t *in, size_t cap, ctrl_result_t r,
                                       gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    s->held = false;
    dfuse_exec_t e = {0}; /* block 1 (Arduino only; the ROM stalls it): nothing to do */
    if (d->pending_block == 0)
        e = dfuse_exec_command(d);
    else if (d->pending_block >= 2)
        e = dfuse_exec_write(d, now);
    if (is_rom(d)) {
        if (e.unsupported) { /* AN2662: unsupported command -> dfuERROR/errSTALLEDPKT */
            d->state = DFU_ERROR;
            d->status = ST_errSTALLEDPKT;
            r.in_len = reply(in, cap, d->status, 0, d->state);
            return r;
        }
        d->state = DFU_DNBUSY;
        s->result = e.status;
        gint64 start = s->busy_until > now ? s->busy_until : now;
        s->busy_until = start + (gint64)(e.time_us + e.extra_us);
        d->stats.device_busy_us += e.time_us + e.extra_us;
        r.in_len = reply(in, cap, ST_OK, e.poll_ms, DFU_DNBUSY);
        s->poll_deadline = now + (gint64)r.busy_us + (gint64)e.poll_ms * 1000;
        if (s->reset_after_busy) { /* option bytes written / read unprotect: the chip resets */
            r.leave = true;
            s->reappear_ms = (int)(s->reset_delay_ms + DFUSE_REENUM_MS);
        }
        return r;
    }
    /* Arduino: the answer (dfuDNBUSY, poll 0) left before the command ran in
     * this request's status stage. */
    r.busy_us += e.time_us + e.extra_us;
    r.in_len = reply(in, cap, ST_OK, 0, DFU_DNBUSY);
    d->state = e.stuck ? DFU_DNBUSY : DFU_DNLOAD_SYNC;
    s->poll_deadline = now + (gint64)r.busy_us;
    return r;
}

/* GETSTATUS after the zero-length DNLOAD: leave DFU. */
static ctrl_result_t getstatus_manifest(dfu_device_t *d, uint8_t *in, size_t cap, ctrl_result_t r)
{
    dfuse_state_t *s = d->dfuse;
    if (is_rom(d)) {
        /* AN2662: dfuMANIFEST, then the ROM disconnects and jumps to the pointer. */
        s->jumped = true;
        s->jump_address = s->pointer;
        s->leaves++;
        s->reappear_ms = -1; /* the application runs; it is not emulated */
        emu_log(d, "leave: jump to 0x%08x", s->pointer);
        if (s->model->leave_unanswered) { /* H7: gone before the status stage completes */
            r.kind = CTRL_UNPLUG;
            return r;
        }
        d->state = DFU_MANIFEST;
        r.in_len = reply(in, cap, ST_OK, 0, DFU_MANIFEST);
        r.leave = true;
        return r;
    }
    /* Arduino: dfuMANIFEST (poll 1 ms); not manifestation tolerant, so
     * DFU_Leave() -> dfuMANIFEST-WAIT-RESET and a system reset 200 ms later. */
    d->state = DFU_MANIFEST;
    r.in_len = reply(in, cap, ST_OK, 1, DFU_MANIFEST);
    d->state = DFU_MANIFEST_WAIT_RESET;
    if (!s->reboot_armed && s->timer) {
        s->reboot_armed = true;
        s->timer(s->timer_user, 200);
    }
    emu_log(d, "manifestation: board resets in 200 ms");
    return r;
}

static ctrl_result_t do_getstatus(dfu_device_t *d, uint8_t *in, size_t cap, ctrl_result_t r,
                                  gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    uint32_t poll = 0;
    d->stats.getstatus++;
    if (now < s->poll_deadline)
        s->early_polls++;
    if (d->busy_forever) {
        d->state = DFU_DNBUSY;
        r.in_len = reply(in, cap, ST_OK, 100, DFU_DNBUSY);
        s->poll_deadline = now + (gint64)r.busy_us + 100000;
        return r;
    }
    switch (d->state) {
    case DFU_DNLOAD_SYNC:
        if (s->held)
            return getstatus_execute(d, in, cap, r, now);
        d->state = DFU_DNLOAD_IDLE;
        break;
    case DFU_DNBUSY:
        if (!is_rom(d))
            break; /* Arduino: a failed operation never leaves dfuDNBUSY */
        if (s->hang_until_clear) {
            /* H743 rev V: a bank-2 erase stays busy; only CLRSTATUS ends it. */
            poll = s->hang_poll_ms;
            break;
        }
        if (s->result == ST_OK)
            d->state = DFU_DNLOAD_IDLE;
        else {
            d->state = DFU_ERROR;
            d->status = s->result;
        }
        break;
    case DFU_MANIFEST_SYNC:
        return getstatus_manifest(d, in, cap, r);
    default:
        break;
    }
    r.in_len = reply(in, cap, d->status, poll, d->state);
    s->poll_deadline = now + (gint64)r.busy_us + (gint64)poll * 1000;
    return r;
}

static ctrl_result_t stall(void)
{
    return (ctrl_result_t){CTRL_STALL, 0, 0, false};
}

static ctrl_result_t do_dnload(dfu_device_t *d, unsigned block, size_t len, const uint8_t *data,
                               ctrl_result_t r)
{
    dfuse_state_t *s = d->dfuse;
    if (len)
        d->stats.dnload++;
    else
        d->stats.dnload_zero++;
    if (d->busy_forever || len > s->xfer ||
        (d->state != DFU_IDLE && d->state != DFU_DNLOAD_IDLE))
        return stall(); /* ST's class: no state change, EP0 stalled */
    if (len == 0) {
        d->state = DFU_MANIFEST_SYNC;
        return r;
    }
    if (block == 1 && is_rom(d)) { /* AN2662: wBlockNum 1 is not a command -> stall */
        d->state = DFU_ERROR;
        d->status = ST_errSTALLEDPKT;
        return stall();
    }
    uint32_t addr = 0, olen = 0;
    const char *op = dfuse_exec_range(d, block, data, len, &addr, &olen);
    if (op && dfuse_fault_take(d, FAULT_UNPLUG, op, addr, olen)) {
        emu_log(d, "fault unplug@%s:0x%08x: device disappears", op, addr);
        r.kind = CTRL_UNPLUG;
        return r;
    }
    if (op && dfuse_fault_take(d, FAULT_STALL, op, addr, olen)) {
        emu_log(d, "fault stall@%s:0x%08x", op, addr);
        d->state = DFU_ERROR;
        d->status = ST_errSTALLEDPKT;
        return stall();
    }
    memcpy(d->xfer, data, len); /* the rest of the buffer keeps stale bytes */
    d->pending_block = block;
    d->pending_len = len;
    s->held = true;
    d->state = DFU_DNLOAD_SYNC;
    return r;
}

static ctrl_result_t do_upload(dfu_device_t *d, unsigned block, size_t len, uint8_t *in,
                               size_t cap, ctrl_result_t r, gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    d->stats.upload++;
    if (d->busy_forever || len > s->xfer || len > cap ||
        (d->state != DFU_IDLE && d->state != DFU_UPLOAD_IDLE))
        return stall();
    if (len == 0) {
        d->state = DFU_IDLE;
        return r;
    }
    if (block == 0) { /* "get commands" */
        s->get_commands++;
        size_t n = s->model->ncommands < len ? s->model->ncommands : len;
        memcpy(in, s->model->commands, n);
        r.in_len = n;
        d->state = len > 3 ? DFU_IDLE : DFU_UPLOAD_IDLE; /* as ST's class does */
        return r;
    }
    if (block == 1) {
        if (is_rom(d)) {
            d->state = DFU_ERROR;
            d->status = ST_errSTALLEDPKT;
        } else {
            d->state = ST_errSTALLEDPKT; /* usbd_dfu.cpp stores the status code as the state */
        }
        return stall();
    }
    return dfuse_exec_read(d, block, len, in, r, now);
}

static ctrl_result_t do_clear_or_abort(dfu_device_t *d, uint8_t req, ctrl_result_t r)
{
    dfuse_state_t *s = d->dfuse;
    if (req == DFU_CLRSTATUS)
        d->stats.clrstatus++;
    else
        d->stats.abort++;
    if (d->busy_forever)
        return stall();
    if (d->sticky_error) { /* `stuck`: nothing clears it */
        if (is_rom(d)) {
            d->state = DFU_ERROR;
            d->status = ST_errWRITE;
        }
        return r;
    }
    uint8_t st = d->state;
    bool idle_ok = st == DFU_IDLE || st == DFU_DNLOAD_SYNC || st == DFU_DNLOAD_IDLE ||
                   st == DFU_MANIFEST_SYNC || st == DFU_UPLOAD_IDLE;
    if (req == DFU_ABORT) {
        if (idle_ok) { /* ST's DFU_Abort: only from these states */
            d->state = DFU_IDLE;
            d->status = ST_OK;
            s->held = false;
        }
        return r;
    }
    /* ST's DFU_ClearStatus: dfuERROR -> dfuIDLE; any other state -> dfuERROR/
     * errUNKNOWN (so a stuck dfuDNBUSY takes two: the H743 bank-2 recipe). */
    s->held = false;
    s->hang_until_clear = false;
    if (st == DFU_ERROR) {
        d->state = DFU_IDLE;
        d->status = ST_OK;
    } else {
        d->state = DFU_ERROR;
        d->status = DS_errUNKNOWN;
    }
    return r;
}

static ctrl_result_t do_detach(dfu_device_t *d, ctrl_result_t r)
{
    uint8_t st = d->state;
    d->stats.detach++;
    if (st == DFU_IDLE || st == DFU_DNLOAD_SYNC || st == DFU_DNLOAD_IDLE ||
        st == DFU_MANIFEST_SYNC || st == DFU_UPLOAD_IDLE) {
        d->state = DFU_IDLE;
        d->status = ST_OK;
    }
    /* bitWillDetach: USB stop + start, i.e. the same bootloader re-enumerates. */
    r.leave = true;
    d->dfuse->reappear_ms = DFUSE_REENUM_MS;
    return r;
}

ctrl_result_t dfuse_class_request(dfu_device_t *d, uint8_t req, uint16_t wValue,
                                  uint16_t wLength, const uint8_t *data, uint8_t *in, size_t cap)
{
    dfuse_state_t *s = d->dfuse;
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    gint64 now = g_get_monotonic_time();
    /* The ROM NAKs every request while a command runs. That time was added
     * to device_busy_us when the command started; dfu_device_control() adds
     * r.busy_us again, so take it out here. */
    if (s->busy_until > now) {
        r.busy_us = (uint64_t)(s->busy_until - now);
        d->stats.device_busy_us -= r.busy_us;
    }
    switch (req) {
    case DFU_DETACH:
        return do_detach(d, r);
    case DFU_DNLOAD:
        return do_dnload(d, wValue, wLength, data, r);
    case DFU_UPLOAD:
        return do_upload(d, wValue, wLength, in, cap, r, now);
    case DFU_GETSTATUS:
        return do_getstatus(d, in, cap, r, now);
    case DFU_CLRSTATUS:
    case DFU_ABORT:
        return do_clear_or_abort(d, req, r);
    case DFU_GETSTATE:
        if (cap >= 1 && wLength >= 1) {
            in[0] = d->state;
            r.in_len = 1;
        }
        return r;
    default:
        return stall();
    }
}

const char *dfuse_timer(dfu_device_t *d)
{
    dfuse_state_t *s = d->dfuse;
    if (!s->reboot_armed)
        return NULL;
    s->reboot_armed = false;
    /* NVIC_SystemReset: queued internal-flash writes not done by now are lost. */
    dfuse_mem_drop_pending(&s->mem, g_get_monotonic_time());
    s->leaves++;
    /* The bootloader starts a sketch whose initial stack pointer (the word at
     * 0x08040000) points into RAM; otherwise it stays in DFU. */
    uint8_t w[4];
    dfuse_mem_read(&s->mem, 0x08040000u, w, 4);
    uint8_t top = w[3];
    if (top == 0x20 || top == 0x24 || top == 0x30 || top == 0x38) {
        s->jumped = true;
        s->jump_address = 0x08040000u;
        s->reappear_ms = -1;
        return "board reset: the sketch at 0x08040000 starts";
    }
    s->reappear_ms = DFUSE_REENUM_MS;
    return "board reset: no valid sketch at 0x08040000, back in the bootloader";
}
