#include "dfu_device.h"

#include "descriptors.h"
#include "dfuse_device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        /* Bootloader header at bootloader start + 0x1000 (fact sheet §3.1):
         * magic 0xB00710AD (LE), version 1.0.3, 25 reserved zero bytes. */
        uint8_t hdr[32] = {0xAD, 0x10, 0x07, 0xB0, 1, 0, 3};
        const partition_t *p = &cam->parts[0];
        flash_memory_preset(d->mem[p->mem], p->start + 0x1000, hdr, sizeof(hdr));
    }
    if (cam->hooks && cam->hooks->on_session_start)
        cam->hooks->on_session_start(d);
    return d;
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

bool dfu_device_load(dfu_device_t *d, const char *part, const char *file, char *err, size_t errlen)
{
    if (d->dfuse)
        return dfuse_load(d, part, file, err, errlen);
    int alt = camera_model_find_partition(d->cam, part);
    if (alt < 0) {
        snprintf(err, errlen, "--load %s: camera %s has no partition '%s'", part, d->cam->id, part);
        return false;
    }
    const partition_t *p = &d->cam->parts[alt];
    if (p->mem < 0) {
        snprintf(err, errlen, "--load: partition %s has no storage", p->name);
        return false;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        snprintf(err, errlen, "--load %s=%s: %s", part, file, strerror(errno));
        return false;
    }
    uint32_t size = p->limit - p->start, off = 0;
    uint8_t buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (n > size - off) {
            snprintf(err, errlen, "--load %s=%s: file larger than the partition (%u bytes)",
                     p->name, file, size);
            ok = false;
            break;
        }
        flash_memory_preset(d->mem[p->mem], p->start + off, buf, n);
        off += (uint32_t)n;
    }
    if (ok && ferror(f)) {
        snprintf(err, errlen, "--load %s=%s: read error", part, file);
        ok = false;
    }
    fclose(f);
    return ok;
}

int dfu_device_set_interface(dfu_device_t *d, int iface, int alt)
{
    if (d->dfuse)
        return dfuse_set_interface(d, iface, alt);
    d->stats.setinterface++;
    if (iface != 0 || alt < 0 || (size_t)alt >= d->cam->nparts)
        return -1;
    d->alt = alt;
    /* TinyUSB resets the DFU state machine on alt select; a `stuck` or `busy`
     * device stays wedged (that is what makes them faults). */
    if (!d->sticky_error && !d->busy_forever) {
        d->state = DFU_IDLE;
        d->status = ST_OK;
    }
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

/* Runs the held DNLOAD block, as the bootloader does during the status stage
 * of the first GETSTATUS after it. Result and duration are reported by the
 * following GETSTATUS. */
static void execute_block(dfu_device_t *d)
{
    const camera_model_t *cam = d->cam;
    const partition_t *p = &cam->parts[d->alt];
    unsigned block = d->pending_block;
    size_t len = d->pending_len;
    uint64_t addr = (uint64_t)p->start + (uint64_t)block * EMU_XFER_SIZE; /* constant 4096, not wLength */
    const fault_t *f;

    d->write_status = ST_OK;
    d->write_us = 0;
    d->hook_extra_us = 0;
    d->attached = true;

    if (faults_take(d->faults, d->nfaults, FAULT_BUSY, d->alt, block)) {
        d->busy_forever = true;
        emu_log(d, "fault busy@%s:%u: device stays in dfuDNBUSY", p->name, block);
        return;
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_SLOW, d->alt, block)))
        d->write_us += (uint64_t)f->slow_ms * 1000;

    if (p->read_only) {
        d->write_status = ST_errWRITE;
        return;
    }
    if (addr + len > p->limit) {
        d->write_status = ST_errADDRESS;
        return;
    }
    if (cam->hooks && cam->hooks->pre_write) {
        uint8_t st = ST_OK;
        bool handled = cam->hooks->pre_write(d, d->alt, block, d->xfer, len, &st);
        d->write_us += d->hook_extra_us;
        if (handled || st != ST_OK) {
            d->write_status = st;
            return;
        }
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_STUCK, d->alt, block))) {
        d->write_status = ST_errWRITE;
        d->sticky_error = true;
        emu_log(d, "fault stuck@%s:%u", p->name, block);
        return;
    }
    if ((f = faults_take(d->faults, d->nfaults, FAULT_STATUS, d->alt, block))) {
        d->write_status = f->status;
        emu_log(d, "fault %s@%s:%u", dfu_status_name(f->status), p->name, block);
        return;
    }
    if (p->mem < 0) { /* special partition without a hook: accept, store nothing */
        return;
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
}

static size_t status_reply(uint8_t *in, size_t cap, uint8_t status, uint32_t poll_ms, uint8_t state)
{
    uint8_t r[6] = {status, poll_ms & 0xFF, (poll_ms >> 8) & 0xFF, (poll_ms >> 16) & 0xFF, state, 0};
    size_t n = cap < 6 ? cap : 6;
    memcpy(in, r, n);
    return n;
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
    switch (d->state) {
    case DFU_DNLOAD_SYNC:
        execute_block(d);
        d->state = DFU_DNBUSY;
        r.in_len = status_reply(in, cap, ST_OK, d->busy_forever ? 100 : 0, DFU_DNBUSY);
        return r;
    case DFU_DNBUSY:
        /* The second GETSTATUS is only serviced once the write is done. */
        r.busy_us = d->write_us;
        if (d->write_status == ST_OK)
            d->state = DFU_DNLOAD_IDLE;
        else
            enter_error(d, d->write_status);
        break;
    case DFU_MANIFEST_SYNC:
        if (!d->manifest_done) {
            d->manifest_done = true;
            d->state = DFU_MANIFEST;
            if (d->cam->hooks && d->cam->hooks->on_manifest)
                d->cam->hooks->on_manifest(d, d->alt);
        } else {
            d->state = DFU_IDLE;
        }
        break;
    case DFU_MANIFEST:
        /* Manifestation tolerant: back to dfuIDLE, still in DFU mode. */
        d->state = DFU_IDLE;
        break;
    default:
        break;
    }
    r.in_len = status_reply(in, cap, d->status, 0, d->state);
    return r;
}

static ctrl_result_t do_dnload(dfu_device_t *d, unsigned block, size_t len, const uint8_t *data)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    const partition_t *p = &d->cam->parts[d->alt];

    if (len)
        d->stats.dnload++;
    else
        d->stats.dnload_zero++;
    if (d->busy_forever || d->sticky_error ||
        (d->state != DFU_IDLE && d->state != DFU_DNLOAD_IDLE) || len > EMU_XFER_SIZE) {
        if (!d->busy_forever && !d->sticky_error)
            enter_error(d, ST_errSTALLEDPKT);
        r.kind = CTRL_STALL;
        return r;
    }
    if (len && faults_take(d->faults, d->nfaults, FAULT_UNPLUG, d->alt, block)) {
        emu_log(d, "fault unplug@%s:%u: device disappears", p->name, block);
        r.kind = CTRL_UNPLUG;
        return r;
    }
    if (len && faults_take(d->faults, d->nfaults, FAULT_STALL, d->alt, block)) {
        emu_log(d, "fault stall@%s:%u", p->name, block);
        enter_error(d, ST_errSTALLEDPKT);
        r.kind = CTRL_STALL;
        return r;
    }
    if (len == 0) {
        d->state = DFU_MANIFEST_SYNC;
        d->manifest_done = false;
        return r;
    }
    memcpy(d->xfer, data, len);
    d->pending_block = block;
    d->pending_len = len;
    d->state = DFU_DNLOAD_SYNC;
    return r;
}

static ctrl_result_t do_upload(dfu_device_t *d, unsigned block, size_t len, uint8_t *in, size_t cap)
{
    ctrl_result_t r = {CTRL_ACK, 0, 0, false};
    const partition_t *p = &d->cam->parts[d->alt];
    d->stats.upload++;

    if (d->busy_forever || len > EMU_XFER_SIZE || len > cap) {
        if (!d->busy_forever && !d->sticky_error)
            enter_error(d, ST_errSTALLEDPKT);
        r.kind = CTRL_STALL;
        return r;
    }
    d->attached = true;
    uint64_t addr = (uint64_t)p->start + (uint64_t)block * EMU_XFER_SIZE;
    if (addr + len > p->limit) {
        /* EOF marker: 4-byte all-zero short frame, status OK. */
        r.in_len = len < 4 ? len : 4;
        memset(in, 0, r.in_len);
        if (!d->sticky_error)
            d->state = DFU_IDLE;
        return r;
    }
    if (p->mem >= 0)
        flash_memory_read(d->mem[p->mem], (uint32_t)addr, in, len);
    else
        memset(in, 0xFF, len);
    r.in_len = len;
    if (len > 100 && faults_take(d->faults, d->nfaults, FAULT_UPLOAD_SHORT, d->alt, block)) {
        emu_log(d, "fault upload-short@%s:%u", p->name, block);
        r.in_len = 100;
    }
    if (!d->sticky_error)
        d->state = DFU_UPLOAD_IDLE;
    /* Reads are fast on every memory here; only transfer_us applies. */
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
            d->stats.abort++;
        if (d->busy_forever) {
            r.kind = CTRL_STALL;
            return r;
        }
        if (d->sticky_error) /* `stuck`: the error cannot be cleared */
            enter_error(d, ST_errWRITE);
        else {
            d->state = DFU_IDLE;
            d->status = ST_OK;
        }
        return r;
    case DFU_GETSTATE:
        if (cap >= 1 && wLength >= 1) {
            in[0] = d->state;
            r.in_len = 1;
        }
        return r;
    default:
        enter_error(d, ST_errSTALLEDPKT);
        r.kind = CTRL_STALL;
        return r;
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

ctrl_result_t dfu_device_control(dfu_device_t *d, const uint8_t setup[8], const uint8_t *data,
                                 uint8_t *in, size_t in_cap)
{
    uint8_t rt = setup[0], req = setup[1];
    uint16_t wValue = setup[2] | setup[3] << 8, wIndex = setup[4] | setup[5] << 8,
             wLength = setup[6] | setup[7] << 8;
    ctrl_result_t r;
    uint8_t type = (rt >> 5) & 3, recip = rt & 0x1F;

    d->stats.control_transfers++;
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
                    r.busy_us ? " (after modelled busy time)" : "");
        else
            emu_log(d, "%s alt=%d block=%u len=%u -> %s%s%s, state %s/%s", req_names[req], d->alt,
                    wValue, wLength, res, r.in_len ? " in_len=" : "",
                    r.in_len ? (r.in_len == 4 ? "4(EOF)" : "data") : "",
                    dfu_state_name(d->state), dfu_status_name(d->status));
    } else {
        if (type == 1 && recip == 1 && wIndex == 0)
            enter_error(d, ST_errSTALLEDPKT); /* malformed DFU request */
        r = (ctrl_result_t){CTRL_STALL, 0, 0, false};
        emu_log(d, "unsupported request 0x%02x/0x%02x wIndex=%u -> STALL", rt, req, wIndex);
    }
    r.busy_us += d->timing.transfer_us;
    d->stats.device_busy_us += r.busy_us;
    return r;
}

bool dfu_device_dump(dfu_device_t *d, const char *dir, char *err, size_t errlen)
{
    if (d->dfuse)
        return dfuse_dump(d, dir, err, errlen);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "--dump %s: %s", dir, strerror(errno));
        return false;
    }
    for (size_t i = 0; i < d->cam->nparts; i++) {
        const partition_t *p = &d->cam->parts[i];
        if (!d->written[i] || p->mem < 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.bin", dir, p->name);
        FILE *f = fopen(path, "wb");
        if (!f) {
            snprintf(err, errlen, "--dump %s: %s", path, strerror(errno));
            return false;
        }
        uint8_t buf[65536];
        for (uint32_t off = 0; off < d->written_end[i];) {
            uint32_t n = d->written_end[i] - off;
            if (n > sizeof(buf))
                n = sizeof(buf);
            flash_memory_read(d->mem[p->mem], p->start + off, buf, n);
            if (fwrite(buf, 1, n, f) != n)
                break;
            off += n;
        }
        if (fclose(f) != 0) {
            snprintf(err, errlen, "--dump %s: write failed", path);
            return false;
        }
    }
    return true;
}
