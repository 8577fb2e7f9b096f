#include "dfu_device.h"

#include "descriptors.h"
#include "dfuse_device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DFU_DETACH = 0, DFU_DNLOAD, DFU_UPLOAD, DFU_GETSTATUS, DFU_CLRSTATUS, DFU_GETSTATE, DFU_ABORT };

static const char *const req_names[] = {"DETACH", "DNLOAD", "UPLOAD", "GETSTATUS",
                                        "CLRSTATUS", "GETSTATE", "ABORT"};

void emu_log(const dfu_device_t *d, const char *fmt, ...)
{
    if (!d->verbose)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One write per line so lines from the worker thread never interleave. */
    fprintf(stderr, "omvemu: [%s] %s\n", d->tag, line);
}

dfu_device_t *dfu_device_new(const camera_model_t *cam, const char *serial, const char *tag,
                             const timing_model_t *timing, fault_t *faults, size_t nfaults,
                             bool verbose)
{
    dfu_device_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cam = cam;
    snprintf(d->serial, sizeof(d->serial), "%s", serial ? serial : cam->serial);
    snprintf(d->tag, sizeof(d->tag), "%s", tag);
    d->verbose = verbose;
    if (timing)
        d->timing = *timing;
    d->faults = faults;
    d->nfaults = nfaults;
    d->state = DFU_IDLE;
    d->status = ST_OK;
    for (size_t i = 0; i < cam->nmems; i++)
        if (!(d->mem[i] = flash_memory_new(&cam->mems[i]))) {
            dfu_device_free(d);
            return NULL;
        }
    if (cam->dfuse) {
        if (!(d->dfuse = dfuse_state_new(cam))) {
            dfu_device_free(d);
            return NULL;
        }
        dfuse_session_reset(d);
    }
    if (cam->boot_header) {
        /* Bootloader header at bootloader start + 0x1000 (docs/protocols.md §3.1):
         * magic 0xB00710AD (LE), version 1.0.3, 25 reserved zero bytes. */
        uint8_t hdr[32] = {0xAD, 0x10, 0x07, 0xB0, 1, 0, 3};
        const partition_t *p = &cam->parts[0];
        flash_memory_preset(d->mem[p->mem], p->start + 0x1000, hdr, sizeof(hdr));
    }
    if (cam->hooks && cam->hooks->on_session_start)
        cam->hooks->on_session_start(d);
    return d;
}

void dfu_device_power_on(dfu_device_t *d)
{
    d->state = DFU_IDLE;
    d->status = ST_OK;
    d->alt = 0;
    d->attached = false;
    d->unplugged = false;
    d->busy_forever = false;
    d->sticky_error = false;
    d->hung = false;
    d->flashing = false;
    d->pending_busy_us = 0;
    memset(d->xfer, 0, sizeof(d->xfer));
    if (d->cam->hooks && d->cam->hooks->on_session_start)
        d->cam->hooks->on_session_start(d);
}

void dfu_device_free(dfu_device_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < EMU_MAX_MEMS; i++)
        flash_memory_free(d->mem[i]);
    dfuse_state_free(d->dfuse);
    free(d);
}

/* TinyUSB's reset_state(): CLRSTATUS, ABORT and SET_INTERFACE, in any state.
 * The `stuck` and `busy` faults are what resists it. */
static void reset_state(dfu_device_t *d)
{
    d->flashing = false;
    if (d->sticky_error) {
        d->state = DFU_ERROR;
        d->status = ST_errWRITE;
    } else if (!d->busy_forever) {
        d->state = DFU_IDLE;
        d->status = ST_OK;
    }
}

int dfu_device_set_interface(dfu_device_t *d, int iface, int alt)
{
    if (d->dfuse)
        return dfuse_set_interface(d, iface, alt);
    d->stats.setinterface++;
    if (iface != 0 || alt < 0 || (size_t)alt >= d->cam->nparts)
        return -1;
    if (d->hung) /* the kernel's SET_INTERFACE request is never answered */
        return -ETIMEDOUT;
    d->alt = alt;
    reset_state(d);
    emu_log(d, "SET_INTERFACE alt=%d (%s) -> %s", alt, d->cam->parts[alt].name,
            dfu_state_name(d->state));
    return 0;
}

static void enter_error(dfu_device_t *d, uint8_t status)
{
    d->state = DFU_ERROR;
    d->status = status;
}

static uint64_t scaled(uint64_t per_block, size_t len)
{
    return (per_block * len + EMU_XFER_SIZE - 1) / EMU_XFER_SIZE;
}

/* Runs the held DNLOAD block, as OpenMV's download callback does in the status
 * stage of the first GETSTATUS after it; returns its status. The duration
 * goes to d->write_us. */
static uint8_t execute_block(dfu_device_t *d)
{
    const camera_model_t *cam = d->cam;
    const partition_t *p = &cam->parts[d->alt];
    unsigned block = d->pending_block;
    size_t len = d->pending_len;
    uint64_t addr = (uint64_t)p->start + (uint64_t)block * EMU_XFER_SIZE; /* constant 4096, not wLength */
    const fault_t *f;

    d->write_us = 0;
    d->hook_extra_us = 0;

    if (faults_take(d->faults, d->nfaults, FAULT_BUSY, d->alt, block)) {
        d->busy_forever = true;
        emu_log(d, "fault busy@%s:%u: device stays in dfuDNBUSY", p->name, block);
        return ST_OK;
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_SLOW, d->alt, block)))
        d->write_us += (uint64_t)f->slow_ms * 1000;

    if (p->read_only)
        return ST_errWRITE;
    if (addr + len > p->limit)
        return ST_errADDRESS;
    if (cam->hooks && cam->hooks->pre_write) {
        uint8_t st = ST_OK;
        bool handled = cam->hooks->pre_write(d, d->alt, block, d->xfer, len, &st);
        d->write_us += d->hook_extra_us;
        if (handled || st != ST_OK || d->hung)
            return st;
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_STUCK, d->alt, block))) {
        d->sticky_error = true;
        emu_log(d, "fault stuck@%s:%u", p->name, block);
        return ST_errWRITE;
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_STATUS, d->alt, block))) {
        emu_log(d, "fault %s@%s:%u", dfu_status_name(f->status), p->name, block);
        return f->status;
    }
    if (p->mem < 0) /* special partition without a hook: accept, store nothing */
        return ST_OK;
    if ((f = faults_take(d->faults, d->nfaults, FAULT_BITFLIP, d->alt, block))) {
        /* A flash cell that does not take the data: the bootloader reports
         * success, only a read-back can tell. */
        d->xfer[0] ^= 0x01;
        emu_log(d, "fault bitflip@%s:%u: byte 0 stored as 0x%02X", p->name, block, d->xfer[0]);
    }
    const memory_desc_t *md = &cam->mems[p->mem];
    unsigned erased =
        flash_memory_write_block(d->mem[p->mem], (uint32_t)addr, d->xfer, len, p->limit);
    mem_timing_t mt = timing_for_memory(&d->timing, md->name);
    d->write_us += scaled(mt.write_us_per_block, len) + erased * mt.erase_us_per_unit;

    uint32_t end = (uint32_t)(addr + len - p->start);
    if (!d->written[d->alt] || end > d->written_end[d->alt])
        d->written_end[d->alt] = end;
    d->written[d->alt] = true;
    d->stats.blocks_written++;
    return ST_OK;
}

/* TinyUSB's tud_dfu_finish_flashing(): the end of a write or a manifestation,
 * and also of every UPLOAD (OpenMV's upload callback calls it), which is why
 * an UPLOAD cancels a DNLOAD that still waits for its GETSTATUS. */
static void finish_flashing(dfu_device_t *d, uint8_t status)
{
    d->flashing = false;
    if (status != ST_OK)
        enter_error(d, status);
    else if (d->state == DFU_DNBUSY)
        d->state = DFU_DNLOAD_SYNC;
    else if (d->state == DFU_MANIFEST)
        d->state = DFU_MANIFEST_SYNC; /* manifestation tolerant */
}

static size_t status_reply(uint8_t *in, size_t cap, uint8_t status, uint32_t poll_ms, uint8_t state)
{
    uint8_t r[6] = {status, poll_ms & 0xFF, (poll_ms >> 8) & 0xFF, (poll_ms >> 16) & 0xFF, state, 0};
    size_t n = cap < 6 ? cap : 6;
    memcpy(in, r, n);
    return n;
}

/* GETSTATUS in dfuDNLOAD-SYNC / dfuMANIFEST-SYNC with a DNLOAD pending: the
 * answer (dfuDNBUSY / dfuMANIFEST, poll 0) goes out at once; the write or the
 * manifest step then runs in the request's status stage, so the device is
 * busy for the next request, whatever it is. Asking for the poll timeout is
 * what attaches the session (OpenMV's tud_dfu_get_timeout_cb). */
static size_t getstatus_run(dfu_device_t *d, uint8_t *in, size_t cap)
{
    d->attached = true;
    if (d->state == DFU_MANIFEST_SYNC) {
        size_t n = status_reply(in, cap, d->status, 0, DFU_MANIFEST);
        d->state = DFU_MANIFEST;
        if (d->cam->hooks && d->cam->hooks->on_manifest)
            d->cam->hooks->on_manifest(d, d->alt);
        finish_flashing(d, ST_OK);
        return n;
    }
    uint8_t status = d->status;
    d->state = DFU_DNBUSY;
    uint8_t st = execute_block(d);
    d->pending_busy_us += d->write_us;
    if (d->hung || d->busy_forever) /* the write never finishes */
        return status_reply(in, cap, status, d->busy_forever ? 100 : 0, DFU_DNBUSY);
    if (d->sticky_error)
        st = ST_errWRITE;
    finish_flashing(d, st);
    return status_reply(in, cap, status, 0, DFU_DNBUSY);
}

static ctrl_result_t do_getstatus(dfu_device_t *d, uint8_t *in, size_t cap)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    d->stats.getstatus++;

    if (d->busy_forever) {
        d->state = DFU_DNBUSY;
        r.in_len = status_reply(in, cap, ST_OK, 100, DFU_DNBUSY);
        return r;
    }
    if ((d->state == DFU_DNLOAD_SYNC || d->state == DFU_MANIFEST_SYNC) && d->flashing) {
        r.in_len = getstatus_run(d, in, cap);
        return r;
    }
    /* Nothing pending (done, or cancelled by an UPLOAD): the sync states move on. */
    if (d->state == DFU_DNLOAD_SYNC)
        d->state = DFU_DNLOAD_IDLE;
    else if (d->state == DFU_MANIFEST_SYNC)
        d->state = DFU_IDLE;
    r.in_len = status_reply(in, cap, d->status, 0, d->state);
    return r;
}

/* A request TinyUSB refuses is STALLed and changes no DFU state. */
static ctrl_result_t stalled(void)
{
    return (ctrl_result_t){CTRL_STALL, 0, 0, false};
}

static ctrl_result_t do_dnload(dfu_device_t *d, unsigned block, size_t len, const uint8_t *data)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    const partition_t *p = &d->cam->parts[d->alt];

    if (len)
        d->stats.dnload++;
    else
        d->stats.dnload_zero++;
    if (d->busy_forever || (d->state != DFU_IDLE && d->state != DFU_DNLOAD_IDLE) ||
        len > EMU_XFER_SIZE)
        return stalled();
    if (len && faults_take(d->faults, d->nfaults, FAULT_UNPLUG, d->alt, block)) {
        emu_log(d, "fault unplug@%s:%u: device disappears", p->name, block);
        d->unplugged = true;
        r.kind = CTRL_UNPLUG;
        return r;
    }
    if (len && faults_take(d->faults, d->nfaults, FAULT_STALL, d->alt, block)) {
        emu_log(d, "fault stall@%s:%u", p->name, block);
        return stalled();
    }
    d->flashing = true;
    d->pending_block = block;
    d->pending_len = len;
    if (len == 0) {
        d->state = DFU_MANIFEST_SYNC;
        return r;
    }
    memcpy(d->xfer, data, len);
    d->state = DFU_DNLOAD_SYNC;
    return r;
}

/* OpenMV's upload callback reads into TinyUSB's transfer buffer: past the
 * limit a 4-byte zero frame (end of file), a memory it cannot read (the AE3's
 * RECOVERY) 0 bytes and errFILE. It changes no state otherwise. */
static ctrl_result_t do_upload(dfu_device_t *d, unsigned block, size_t len, uint8_t *in, size_t cap)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    const partition_t *p = &d->cam->parts[d->alt];
    d->stats.upload++;

    if (d->busy_forever || len > EMU_XFER_SIZE || len > cap)
        return stalled();
    d->attached = true;
    uint64_t addr = (uint64_t)p->start + (uint64_t)block * EMU_XFER_SIZE;
    uint8_t st = ST_OK;
    size_t n;
    if (addr + len > p->limit) {
        n = 4;
        memset(d->xfer, 0, n);
    } else if (p->mem < 0) {
        n = 0;
        st = ST_errFILE;
    } else {
        flash_memory_read(d->mem[p->mem], (uint32_t)addr, d->xfer, len);
        n = len;
        r.busy_us = scaled(timing_for_memory(&d->timing, d->cam->mems[p->mem].name).read_us_per_block, len);
    }
    if (n > len)
        n = len; /* the data stage never exceeds wLength */
    if (n > 100 && faults_take(d->faults, d->nfaults, FAULT_UPLOAD_SHORT, d->alt, block)) {
        emu_log(d, "fault upload-short@%s:%u", p->name, block);
        n = 100;
    }
    memcpy(in, d->xfer, n);
    r.in_len = n;
    if (d->flashing) {
        d->stats.dnload_dropped++;
        emu_log(d, "UPLOAD cancels the pending %s: never executed",
                d->state == DFU_MANIFEST_SYNC ? "manifestation" : "DNLOAD block");
    }
    finish_flashing(d, d->sticky_error ? ST_OK : st);
    return r;
}

static ctrl_result_t dfu_class_request(dfu_device_t *d, uint8_t req, uint16_t wValue,
                                       uint16_t wLength, const uint8_t *data, uint8_t *in,
                                       size_t cap)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    switch (req) {
    case DFU_DETACH:
        d->stats.detach++;
        r.leave = true;
        return r;
    case DFU_DNLOAD:
        return do_dnload(d, wValue, wLength, data);
    case DFU_UPLOAD:
        return do_upload(d, wValue, wLength, in, cap);
    case DFU_GETSTATUS:
        return do_getstatus(d, in, cap);
    case DFU_CLRSTATUS:
    case DFU_ABORT:
        if (req == DFU_CLRSTATUS)
            d->stats.clrstatus++;
        else
            d->stats.abort++; /* no abort callback: an AE3 MRAM region stays as it is */
        if (d->busy_forever)
            return stalled();
        reset_state(d);
        return r;
    case DFU_GETSTATE:
        if (cap >= 1 && wLength >= 1) {
            in[0] = d->state;
            r.in_len = 1;
        }
        return r;
    default:
        return stalled();
    }
}

static ctrl_result_t standard_request(dfu_device_t *d, uint8_t rt, uint8_t req, uint16_t wValue,
                                      uint16_t wIndex, uint16_t wLength, uint8_t *in, size_t cap)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    size_t lim = wLength < cap ? wLength : cap;
    uint8_t buf[512];
    size_t n = 0;

    switch (req) {
    case 0x06: /* GET_DESCRIPTOR */
        if (!(rt & 0x80))
            break;
        switch (wValue >> 8) {
        case 0x01:
            n = desc_device(d->cam, buf, sizeof(buf));
            break;
        case 0x02:
            if ((wValue & 0xFF) == 0)
                n = desc_config(d->cam, buf, sizeof(buf));
            break;
        case 0x03:
            n = desc_string(d->cam, d->serial, wValue & 0xFF, buf, sizeof(buf));
            break;
        case 0x21: /* DFU functional descriptor, asked for by some hosts */
            n = desc_dfu_functional(d->cam, buf, sizeof(buf));
            break;
        default:
            break;
        }
        if (!n)
            break;
        r.in_len = n < lim ? n : lim;
        memcpy(in, buf, r.in_len);
        return r;
    case 0x00: /* GET_STATUS */
        if (!(rt & 0x80))
            break;
        r.in_len = lim < 2 ? lim : 2;
        memset(in, 0, r.in_len);
        return r;
    case 0x08: /* GET_CONFIGURATION */
        if (!(rt & 0x80) || !lim)
            break;
        in[0] = 1;
        r.in_len = 1;
        return r;
    case 0x0A: /* GET_INTERFACE */
        if (!(rt & 0x80) || !lim || wIndex != 0)
            break;
        in[0] = (uint8_t)d->alt;
        r.in_len = 1;
        return r;
    case 0x0B: /* SET_INTERFACE as a control request */
        if (dfu_device_set_interface(d, wIndex, wValue) < 0)
            break;
        return r;
    case 0x09: /* SET_CONFIGURATION */
        if (wValue > 1)
            break;
        return r;
    case 0x01: /* CLEAR_FEATURE */
    case 0x03: /* SET_FEATURE */
        return r;
    default:
        break;
    }
    r.kind = CTRL_STALL;
    return r;
}

/* The bootloader's CPU is stuck in its fault handler: the USB controller
 * takes the SETUP packet but nobody ever serves the request. */
static ctrl_result_t hung_request(dfu_device_t *d, uint8_t rt, uint8_t req)
{
    emu_log(d, "request 0x%02x/0x%02x: no answer, the bootloader hangs", rt, req);
    return (ctrl_result_t){CTRL_HANG, 0, 0, false};
}

/* Time of the data stage: EP0 moves it 64 bytes at a time, each packet
 * handled by the device's USB stack. */
static uint64_t data_stage_us(const dfu_device_t *d, const ctrl_result_t *r, uint8_t rt,
                              uint16_t wLength)
{
    if (r->kind != CTRL_ACK)
        return 0;
    return scaled(d->timing.data_us_per_block, (rt & 0x80) ? r->in_len : wLength);
}

ctrl_result_t dfu_device_control(dfu_device_t *d, const uint8_t setup[8], const uint8_t *data,
                                 uint8_t *in, size_t in_cap)
{
    uint8_t rt = setup[0], req = setup[1];
    uint16_t wValue = setup[2] | setup[3] << 8, wIndex = setup[4] | setup[5] << 8,
             wLength = setup[6] | setup[7] << 8;
    ctrl_result_t r;
    uint8_t type = (rt >> 5) & 3, recip = rt & 0x1F;

    d->stats.control_transfers++;
    if (d->hung)
        return hung_request(d, rt, req);
    /* A write ran in the status stage of the previous request: this one waits for it. */
    uint64_t carried = d->pending_busy_us;
    d->pending_busy_us = 0;
    if (type == 0) {
        r = standard_request(d, rt, req, wValue, wIndex, wLength, in, in_cap);
        emu_log(d, "std req 0x%02x/0x%02x wValue=0x%04x wIndex=%u wLength=%u -> %s len=%zu", rt,
                req, wValue, wIndex, wLength, r.kind == CTRL_STALL ? "STALL" : "ok", r.in_len);
    } else if (type == 1 && recip == 1 && wIndex == 0 && req <= DFU_ABORT &&
               ((rt & 0x80) != 0) == (req == DFU_UPLOAD || req == DFU_GETSTATUS ||
                                      req == DFU_GETSTATE)) {
        r = d->dfuse ? dfuse_class_request(d, req, wValue, wLength, data, in, in_cap)
                     : dfu_class_request(d, req, wValue, wLength, data, in, in_cap);
        const char *res = r.kind == CTRL_STALL ? "STALL" : r.kind == CTRL_UNPLUG ? "UNPLUG" : "ok";
        if (req == DFU_GETSTATUS && r.in_len == 6)
            emu_log(d, "GETSTATUS -> %s, %s, poll %u ms%s", dfu_status_name(in[0]),
                    dfu_state_name(in[4]), in[1] | in[2] << 8 | in[3] << 16,
                    r.busy_us + carried ? " (after modelled busy time)" : "");
        else
            emu_log(d, "%s alt=%d block=%u len=%u -> %s%s%s, state %s/%s", req_names[req], d->alt,
                    wValue, wLength, res, r.in_len ? " in_len=" : "",
                    r.in_len ? (r.in_len == 4 ? "4(EOF)" : "data") : "",
                    dfu_state_name(d->state), dfu_status_name(d->status));
    } else {
        /* TinyUSB stalls and keeps its state; ST's DFU class (DfuSe cameras) errors. */
        if (d->dfuse && type == 1 && recip == 1 && wIndex == 0)
            enter_error(d, ST_errSTALLEDPKT);
        r = (ctrl_result_t){CTRL_STALL, 0, 0, false};
        emu_log(d, "unsupported request 0x%02x/0x%02x wIndex=%u -> STALL", rt, req, wIndex);
    }
    if (d->hung) { /* this request's own status stage ran the fatal write */
        d->stats.hung++;
        fprintf(stderr, "omvemu: [%s] %s\n", d->tag, d->hung_why);
    }
    r.busy_us += carried + d->timing.transfer_us + data_stage_us(d, &r, rt, wLength);
    d->stats.device_busy_us += r.busy_us;
    return r;
}
