#include "dfuse_exec.h"

#include <string.h>

#define ARDUINO_QSPI_BASE 0x90000000u
#define ARDUINO_FILE_BASE 0xA0000000u /* "Ext File Flash": 0 MB without MCUboot security */
#define ARDUINO_QSPI_ERASE 4096u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_rom(const dfu_device_t *d)
{
    return d->dfuse->model->family == DFUSE_ST_ROM;
}

static uint64_t scaled_us(uint64_t us, unsigned pct)
{
    return us * pct / 100;
}

static uint32_t ceil_ms(uint64_t us)
{
    uint64_t ms = (us + 999) / 1000;
    return ms > 0xFFFFFF ? 0xFFFFFF : (uint32_t)ms;
}

/* Faults armed for an operation. True if one ends it (e says how). */
static bool faulted(dfu_device_t *d, const char *op, uint32_t a, uint32_t n, dfuse_exec_t *e)
{
    const fault_t *f;
    if (dfuse_fault_take(d, FAULT_BUSY, op, a, n)) {
        d->busy_forever = true;
        emu_log(d, "fault busy@%s:0x%08x: device stays in dfuDNBUSY", op, a);
        return true;
    }
    if ((f = dfuse_fault_take(d, FAULT_SLOW, op, a, n)))
        e->extra_us += (uint64_t)f->slow_ms * 1000;
    if (dfuse_fault_take(d, FAULT_STUCK, op, a, n)) {
        d->sticky_error = true;
        e->status = ST_errWRITE;
        e->stuck = true;
        emu_log(d, "fault stuck@%s:0x%08x", op, a);
        return true;
    }
    if ((f = dfuse_fault_take(d, FAULT_STATUS, op, a, n))) {
        e->status = f->status;
        e->stuck = true;
        emu_log(d, "fault %s@%s:0x%08x", dfu_status_name(f->status), op, a);
        return true;
    }
    return false;
}

/* Every sector overlapping [addr, addr+len) has capability cap. */
static bool range_has(dfuse_state_t *s, uint32_t addr, uint32_t len, uint8_t cap)
{
    uint64_t a = addr, end = (uint64_t)addr + (len ? len : 1);
    while (a < end) {
        dfuse_sector_t sec;
        if (!dfuse_mem_sector(&s->mem, (uint32_t)a, &sec) || !(sec.caps & cap))
            return false;
        a = (uint64_t)sec.start + sec.size;
    }
    return true;
}

static dfuse_exec_t set_address(dfu_device_t *d, uint32_t addr)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    s->set_address++;
    /* AN2662: the pointer may address flash, RAM, system memory, option bytes. */
    bool ram = addr >= 0x20000000u && addr < 0x40000000u;
    if (is_rom(d) && !ram && !dfuse_mem_region(&s->mem, addr, 0)) {
        emu_log(d, "SET_ADDRESS 0x%08x: no memory there -> errTARGET", addr);
        e.status = DS_errTARGET;
        return e;
    }
    s->pointer = addr;
    emu_log(d, "SET_ADDRESS 0x%08x", addr);
    return e;
}

static dfuse_exec_t erase_page(dfu_device_t *d, uint32_t addr, gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    dfuse_sector_t sec;
    s->erase_cmds++;
    dfuse_mem_drain(&s->mem, now);
    bool known = dfuse_mem_sector(&s->mem, addr, &sec);
    if (!known || !(sec.caps & CAP_E) ||
        (!is_rom(d) && addr >= ARDUINO_FILE_BASE)) {
        emu_log(d, "ERASE 0x%08x: %s", addr, known ? "sector not erasable" : "no sector there");
        e.status = DS_errTARGET; /* ROM (AN2662); the Arduino's Erase() fails: dfuDNBUSY */
        e.stuck = true;
        return e;
    }
    if (is_rom(d) && s->opts.rdp && sec.rs->reg->kind == DREG_FLASH) {
        emu_log(d, "ERASE 0x%08x: read protection active -> errVENDOR, ignored", addr);
        e.status = DS_errVENDOR;
        return e;
    }
    if (faulted(d, "erase", sec.start, sec.size, &e))
        return e;
    if (sec.rs->reg->kind == DREG_FLASH || sec.rs->reg->kind == DREG_NOR) {
        dfuse_mem_erase(&s->mem, &sec);
        e.time_us = scaled_us((uint64_t)sec.erase_ms * 1000, s->opts.erase_pct);
    }
    if (is_rom(d))
        e.poll_ms = ceil_ms(e.time_us);
    if (is_rom(d) && s->opts.rev_v && sec.start >= 0x08100000u && sec.rs->reg->kind == DREG_FLASH) {
        s->hang_until_clear = true; /* H743 rev V: bank-2 erase never reports done */
        s->hang_poll_ms = e.poll_ms;
    }
    emu_log(d, "ERASE 0x%08x: sector %u (0x%08x, %u KB)", addr, sec.index, sec.start,
            sec.size / 1024);
    return e;
}

static dfuse_region_state_t *flash_region(dfuse_state_t *s)
{
    for (size_t i = 0; i < s->mem.n; i++)
        if (s->mem.r[i].reg->kind == DREG_FLASH)
            return &s->mem.r[i];
    return NULL;
}

static dfuse_exec_t mass_erase(dfu_device_t *d, bool unprotect)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    dfuse_region_state_t *fl = flash_region(s);
    if (!unprotect && s->opts.rdp) {
        emu_log(d, "MASS ERASE: read protection active -> errVENDOR, ignored");
        e.status = DS_errVENDOR;
        return e;
    }
    if (fl && faulted(d, "erase", fl->base, fl->size, &e))
        return e;
    uint64_t ms = dfuse_mem_mass_erase(&s->mem);
    e.time_us = scaled_us(ms * 1000, s->opts.erase_pct);
    e.poll_ms = s->model->mass_erase_poll_ms ? s->model->mass_erase_poll_ms : ceil_ms(e.time_us);
    if (unprotect) { /* AN2662: erase everything, remove the protection, reset */
        s->read_unprotect++;
        s->opts.rdp = false;
        s->reset_after_busy = true;
        s->reset_delay_ms = e.time_us / 1000;
        emu_log(d, "READ UNPROTECT: flash erased, protection removed, chip resets");
    } else {
        emu_log(d, "MASS ERASE (%llu ms modelled)", (unsigned long long)(e.time_us / 1000));
    }
    return e;
}

dfuse_exec_t dfuse_exec_command(dfu_device_t *d)
{
    const uint8_t *b = d->xfer;
    size_t len = d->pending_len;
    dfuse_exec_t e = {0};
    uint32_t addr = len >= 5 ? le32(b + 1) : 0;
    if (b[0] == 0x21 && len == 5)
        return set_address(d, addr);
    if (b[0] == 0x41 && len == 5)
        return erase_page(d, addr, g_get_monotonic_time());
    if (is_rom(d)) {
        if (b[0] == 0x41 && len == 1)
            return mass_erase(d, false);
        if (b[0] == 0x92 && len == 1)
            return mass_erase(d, true);
        emu_log(d, "command 0x%02x (%zu bytes): unsupported -> errSTALLEDPKT", b[0], len);
        e.unsupported = true;
        return e;
    }
    /* Arduino: 0x00 is a no-op; anything else falls into the class's error
     * path after its status stage and is, in effect, ignored. */
    if (!(b[0] == 0x00 && len == 1))
        emu_log(d, "command 0x%02x (%zu bytes): not supported, ignored", b[0], len);
    return e;
}

static dfuse_exec_t rom_write(dfu_device_t *d, uint32_t addr, uint32_t len)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    dfuse_region_state_t *rs = dfuse_mem_region(&s->mem, addr, len);
    if (!rs || !range_has(s, addr, len, CAP_W)) {
        emu_log(d, "write 0x%08x+%u: not a writeable memory -> errTARGET", addr, len);
        e.status = DS_errTARGET;
        return e;
    }
    if (s->opts.rdp && rs->reg->kind == DREG_FLASH) {
        e.status = DS_errVENDOR;
        return e;
    }
    if (faulted(d, "write", addr, len, &e))
        return e;
    uint32_t bad = 0;
    switch (rs->reg->kind) {
    case DREG_FLASH:
        if (dfuse_mem_program_words(&s->mem, rs, addr, d->xfer, len, &bad) != PROG_OK) {
            emu_log(d, "write 0x%08x+%u: flash word at 0x%08x not erased -> errWRITE", addr, len,
                    bad);
            e.status = ST_errWRITE;
            if (bad > addr)
                dfuse_mem_note_written(&s->mem, addr, bad - addr);
            return e;
        }
        break;
    case DREG_OPTION: /* AN2662: the device resets once the option bytes are written */
        dfuse_mem_overwrite(&s->mem, addr, d->xfer, len);
        s->reset_after_busy = true;
        s->reset_delay_ms = 0;
        break;
    case DREG_OTP:
    case DREG_NOR:
        dfuse_mem_program_and(&s->mem, addr, d->xfer, len);
        break;
    case DREG_PLAIN:
        dfuse_mem_overwrite(&s->mem, addr, d->xfer, len);
        break;
    }
    dfuse_mem_note_written(&s->mem, addr, len);
    d->stats.blocks_written++;
    e.time_us = scaled_us((uint64_t)rs->reg->program_us_per_kb * len / 1024, s->opts.program_pct);
    e.poll_ms = ceil_ms(e.time_us);
    emu_log(d, "write 0x%08x+%u", addr, len);
    return e;
}

/* QSPI: programmed at once, rounded up to the 4 KB erase size with whatever
 * the transfer buffer holds after the data (usbd_dfu_flash.cpp). */
static dfuse_exec_t arduino_qspi_write(dfu_device_t *d, uint32_t addr, uint32_t len)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    uint32_t plen = len < ARDUINO_QSPI_ERASE ? ARDUINO_QSPI_ERASE : len;
    dfuse_region_state_t *rs = dfuse_mem_region(&s->mem, addr, plen);
    if (!rs || addr >= ARDUINO_FILE_BASE) {
        emu_log(d, "write 0x%08x+%u: no such QSPI address, program() fails -> stays dfuDNBUSY",
                addr, len);
        e.stuck = true;
        return e;
    }
    if (faulted(d, "write", addr, len, &e))
        return e;
    dfuse_mem_program_and(&s->mem, addr, d->xfer, plen);
    dfuse_mem_note_written(&s->mem, addr, len);
    d->stats.blocks_written++;
    e.time_us = scaled_us((uint64_t)rs->reg->program_us_per_kb * plen / 1024, s->opts.program_pct);
    emu_log(d, "write QSPI 0x%08x+%u (programmed %u)", addr, len, plen);
    return e;
}

/* Internal flash: copied, queued to a background thread and acknowledged at
 * once; a failure later is silent (dfuse_memory.c apply_pending). */
static dfuse_exec_t arduino_flash_write(dfu_device_t *d, uint32_t addr, uint32_t len, gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    dfuse_exec_t e = {0};
    dfuse_exec_t ignored = {0};
    if (faulted(d, "write", addr, len, &ignored) && !d->busy_forever) {
        emu_log(d, "write 0x%08x+%u: fault -> silently not programmed", addr, len);
        s->mem.lost_writes++;
        return e;
    }
    e.extra_us = ignored.extra_us;
    uint64_t us = 0;
    dfuse_region_state_t *rs = dfuse_mem_region(&s->mem, addr, len);
    if (rs)
        us = scaled_us((uint64_t)rs->reg->program_us_per_kb * len / 1024, s->opts.program_pct);
    gint64 last = dfuse_mem_pending_until(&s->mem), start = last > now ? last : now;
    dfuse_mem_queue(&s->mem, addr, d->xfer, len, start + (gint64)us);
    if (rs)
        dfuse_mem_note_written(&s->mem, addr, len);
    d->stats.blocks_written++;
    emu_log(d, "write 0x%08x+%u queued (programmed in %llu us)", addr, len,
            (unsigned long long)(start + (gint64)us - now));
    return e;
}

dfuse_exec_t dfuse_exec_write(dfu_device_t *d, gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    uint64_t a = (uint64_t)s->pointer + (uint64_t)(d->pending_block - 2) * s->xfer;
    uint32_t len = (uint32_t)d->pending_len;
    if (a + len > 0x100000000ull) {
        dfuse_exec_t e = {DS_errTARGET, 0, 0, 0, true, false};
        return e;
    }
    if (is_rom(d))
        return rom_write(d, (uint32_t)a, len);
    if (a >= ARDUINO_QSPI_BASE)
        return arduino_qspi_write(d, (uint32_t)a, len);
    return arduino_flash_write(d, (uint32_t)a, len, now);
}

static ctrl_result_t read_error(dfu_device_t *d, uint8_t status)
{
    if (is_rom(d)) {
        d->state = DFU_ERROR;
        d->status = status;
    }
    return (ctrl_result_t){CTRL_STALL, 0, 0, false};
}

ctrl_result_t dfuse_exec_read(dfu_device_t *d, unsigned block, size_t len, uint8_t *in,
                              ctrl_result_t r, gint64 now)
{
    dfuse_state_t *s = d->dfuse;
    uint64_t a = (uint64_t)s->pointer + (uint64_t)(block - 2) * s->xfer;
    if (a + len > 0x100000000ull)
        return read_error(d, DS_errTARGET);
    uint32_t addr = (uint32_t)a;
    dfuse_mem_drain(&s->mem, now); /* queued writes not finished yet are not visible */
    dfuse_region_state_t *rs = dfuse_mem_region(&s->mem, addr, (uint32_t)len);
    if (!rs || (is_rom(d) && !range_has(s, addr, (uint32_t)len, CAP_R))) {
        /* ROM: errTARGET. Arduino: reads memory-mapped flash or the QSPI block
         * device; other addresses are not modelled (the board may fault). */
        emu_log(d, "UPLOAD 0x%08x+%zu: not readable memory -> STALL", addr, len);
        return read_error(d, DS_errTARGET);
    }
    if (is_rom(d) && s->opts.rdp && rs->reg->kind == DREG_FLASH) {
        emu_log(d, "UPLOAD 0x%08x: read protection active -> errVENDOR", addr);
        return read_error(d, DS_errVENDOR);
    }
    dfuse_mem_read(&s->mem, addr, in, (uint32_t)len);
    r.in_len = len;
    if (len > 100 && dfuse_fault_take(d, FAULT_UPLOAD_SHORT, "read", addr, (uint32_t)len)) {
        emu_log(d, "fault upload-short@read:0x%08x", addr);
        r.in_len = 100;
    }
    d->attached = true;
    d->state = DFU_UPLOAD_IDLE;
    return r;
}

const char *dfuse_exec_range(dfu_device_t *d, unsigned block, const uint8_t *data, size_t len,
                             uint32_t *addr, uint32_t *n)
{
    dfuse_state_t *s = d->dfuse;
    if (block >= 2) {
        *addr = s->pointer + (block - 2) * s->xfer;
        *n = (uint32_t)len;
        return "write";
    }
    if (block != 0 || data[0] != 0x41)
        return NULL;
    dfuse_sector_t sec;
    if (len == 5 && dfuse_mem_sector(&s->mem, le32(data + 1), &sec)) {
        *addr = sec.start;
        *n = sec.size;
        return "erase";
    }
    dfuse_region_state_t *fl = flash_region(s);
    if (len == 1 && fl) {
        *addr = fl->base;
        *n = fl->size;
        return "erase";
    }
    return NULL;
}
