/* Legacy CDC bootloader model, after the original code in the OpenMV
 * firmware's history (bootloader usbd_cdc_interface.c receive callback,
 * main.c, flash.c, qspif.c; the QSPI chip's timing is legacy_qspi.c). */
#include "legacy_camera.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void legacy_log(const char *tag, bool verbose, const char *fmt, ...)
{
    if (!verbose)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "omvemu: [%s] %s\n", tag, line);
}

#define LOG(b, ...) legacy_log((b)->tag, (b)->verbose, __VA_ARGS__)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- geometry -------------------------------------------------------------- */

bool legacy_sector_geometry(const legacy_model_t *m, uint32_t sector, uint32_t *addr,
                            uint32_t *size)
{
    uint32_t a = m->flash_base, n = 0;
    for (const sector_run_t *r = m->sectors; r->count; r++)
        for (uint32_t i = 0; i < r->count; i++, n++) {
            if (n == sector) {
                *addr = a;
                *size = r->size;
                return true;
            }
            a += r->size;
        }
    return false;
}

static uint64_t erase_time(const legacy_timing_t *t, uint32_t size)
{
    switch (size / 1024) {
    case 16: return t->erase_us_16k;
    case 32: return t->erase_us_32k;
    case 64: return t->erase_us_64k;
    case 128: return t->erase_us_128k;
    case 256: return t->erase_us_256k;
    default: return 0;
    }
}

/* ---- device ---------------------------------------------------------------- */

legacy_bl_t *legacy_bl_new(const legacy_model_t *m, int version, const char *tag,
                           const legacy_timing_t *timing, lfault_t *faults, size_t nfaults,
                           legacy_stats_t *stats, bool verbose)
{
    legacy_bl_t *b = g_new0(legacy_bl_t, 1);
    b->m = m;
    b->version = version;
    snprintf(b->tag, sizeof(b->tag), "%s", tag);
    b->verbose = verbose;
    if (timing)
        b->timing = *timing;
    b->faults = faults;
    b->nfaults = nfaults;
    b->stats = stats;
    b->flash = lflash_new(m->flash_base, m->flash_size, 0x11);
    b->qspi = m->qspi ? lflash_new(0, LBL_QSPI_SIZE, 0x5A) : NULL;
    b->qchip.mem = b->qspi;
    b->erase_log = g_strdup("");
    if (!b->flash || (m->qspi && !b->qspi)) {
        legacy_bl_free(b);
        return NULL;
    }
    legacy_bl_boot(b);
    return b;
}

void legacy_bl_free(legacy_bl_t *b)
{
    if (!b)
        return;
    lflash_free(b->flash);
    lflash_free(b->qspi);
    g_free(b->erase_log);
    g_free(b);
}

void legacy_bl_boot(legacy_bl_t *b)
{
    b->connected = false;
    b->halted = false;
    b->ptr = b->m->app_start;
    b->idx = 0;
    b->qptr = 0;
    b->qidx = 0;
    memset(b->rx, 0, sizeof(b->rx));
}

static void add_erase_log(legacy_bl_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_erase_log(legacy_bl_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *n = g_strconcat(b->erase_log, line, "\n", NULL);
    g_free(line);
    g_free(b->erase_log);
    b->erase_log = n;
}

static void halt(legacy_bl_t *b, const char *why)
{
    if (!b->halted) {
        b->halted = true;
        b->stats->halts++;
        LOG(b, "bootloader halted (fatal LED blink, no more replies): %s", why);
    }
}

static const lfault_t *take_fault(legacy_bl_t *b, lfault_kind_t kind, bool qspi, uint32_t lo,
                                  uint32_t hi)
{
    for (size_t i = 0; i < b->nfaults; i++) {
        lfault_t *f = &b->faults[i];
        if (f->kind != kind || f->fired || f->qspi != qspi)
            continue;
        if (f->value >= lo && f->value < hi) {
            f->fired = true;
            return f;
        }
    }
    return NULL;
}

static bool drop_layout_reply(legacy_bl_t *b, unsigned nth)
{
    for (size_t i = 0; i < b->nfaults; i++) {
        const lfault_t *f = &b->faults[i];
        if (f->kind != LF_DROP_LAYOUT || nth < f->value)
            continue;
        if (f->count < 0 || nth < f->value + (unsigned)f->count)
            return true;
    }
    return false;
}

/* Program the full (or padded) 64-byte flash buffer at the write pointer. */
static void flush_flash(legacy_bl_t *b, lbl_result_t *r)
{
    uint32_t off = b->ptr - b->m->app_start;
    if (take_fault(b, LF_UNPLUG_AT, false, off, off + LBL_PACKET)) {
        LOG(b, "fault unplug@FIRMWARE:%u: the device vanishes while programming 0x%08X", off,
            b->ptr);
        r->unplug = true;
        return;
    }
    if (!lflash_contains(b->flash, b->ptr, LBL_PACKET)) {
        halt(b, "flash write beyond the end of the internal flash");
        return;
    }
    size_t unerased = lflash_program(b->flash, b->ptr, b->buf, LBL_PACKET);
    if (unerased) {
        b->stats->unerased_writes++;
        LOG(b, "WARNING: programming 0x%08X over %zu bytes that were not erased (AND applied)",
            b->ptr, unerased);
    }
    b->stats->flash_programs++;
    r->busy_us += b->timing.program_us_per_64;
    uint32_t fs_lo, fs_sz, fw_lo, fw_sz;
    if (legacy_sector_geometry(b->m, b->m->layout[0], &fs_lo, &fs_sz) &&
        legacy_sector_geometry(b->m, b->m->layout[1], &fw_lo, &fw_sz) && b->ptr >= fs_lo &&
        b->ptr < fw_lo)
        b->fs_touched = true;
    if (b->ptr >= b->m->app_start) {
        b->fw_written = true;
        if (b->ptr + LBL_PACKET > b->fw_end)
            b->fw_end = b->ptr + LBL_PACKET;
    }
    b->ptr += LBL_PACKET;
}

static void flush_qspi(legacy_bl_t *b, lbl_result_t *r, uint64_t now_us)
{
    if (take_fault(b, LF_UNPLUG_AT, true, b->qptr, b->qptr + LBL_QSPI_PAGE)) {
        LOG(b, "fault unplug@QSPI: the device vanishes while programming QSPI 0x%08X", b->qptr);
        r->unplug = true;
        return;
    }
    if (!lflash_contains(b->qspi, b->qptr, LBL_QSPI_PAGE)) {
        halt(b, "QSPI write beyond the end of the chip");
        return;
    }
    size_t unerased = 0;
    lqspi_op_t op = lqspi_program(&b->qchip, b->qptr, b->qbuf, LBL_QSPI_PAGE, b->timing.qspi_program_us,
                                  now_us + r->busy_us, &unerased);
    r->busy_us += op.wait_us;
    if (op.dropped) {
        /* qspif_write() fails, the callback ignores that and moves on. */
        b->stats->qspi_busy_dropped++;
        LOG(b, "QSPI page program at 0x%08X ignored: the chip is still busy (page lost)", b->qptr);
        b->qptr += LBL_QSPI_PAGE;
        return;
    }
    if (unerased) {
        b->stats->unerased_writes++;
        LOG(b, "WARNING: programming QSPI 0x%08X over %zu bytes that were not erased", b->qptr,
            unerased);
    }
    b->stats->qspi_programs++;
    b->qspi_touched = true;
    if (b->qptr + LBL_QSPI_PAGE > b->qspi_end)
        b->qspi_end = b->qptr + LBL_QSPI_PAGE;
    b->qptr += LBL_QSPI_PAGE;
}

static void do_erase(legacy_bl_t *b, uint32_t sector, lbl_result_t *r)
{
    uint32_t addr, size;
    if (!legacy_sector_geometry(b->m, sector, &addr, &size)) {
        add_erase_log(b, "flash %u invalid", sector);
        halt(b, "ERASE of a sector this MCU does not have (HAL error)");
        return;
    }
    b->stats->erases++;
    add_erase_log(b, "flash %u 0x%08X %u", sector, addr, size);
    r->busy_us += erase_time(&b->timing, size);
    if (take_fault(b, LF_UNPLUG_ERASE, false, sector, sector + 1)) {
        /* Power lost mid-erase: the sector is left half erased. */
        lflash_erase(b->flash, addr, size / 2);
        LOG(b, "fault unplug-erase@%u: the device vanishes during the erase", sector);
        r->unplug = true;
        return;
    }
    lflash_erase(b->flash, addr, size);
    LOG(b, "ERASE sector %u (0x%08X, %u KB)", sector, addr, size / 1024);
    if (sector < b->m->layout[0]) {
        /* The legacy bootloader lives in the sectors before the filesystem:
         * the real code erases it without a check, and the CPU that runs from
         * it faults on its next instruction fetch. */
        b->stats->bootloader_sector_erased++;
        b->bootloader_damaged = true;
        snprintf(b->damage, sizeof(b->damage),
                 "ERASE of sector %u (0x%08X) erased the legacy bootloader itself\n", sector,
                 addr);
        halt(b, "the host erased the bootloader's own sector");
        return;
    }
    if (sector < b->m->layout[1])
        b->fs_touched = true;
}

static void do_qspi_erase(legacy_bl_t *b, uint32_t block, lbl_result_t *r, uint64_t now_us)
{
    if (block >= LBL_QSPI_SIZE / LBL_QSPI_BLOCK) {
        add_erase_log(b, "qspi %u invalid", block);
        halt(b, "QSPIF_ERASE of a block beyond the chip");
        return;
    }
    uint32_t addr = block * LBL_QSPI_BLOCK;
    lqspi_op_t op = lqspi_erase(&b->qchip, addr, LBL_QSPI_BLOCK, b->timing.qspi_erase_us, now_us + r->busy_us);
    r->busy_us += op.wait_us;
    if (op.dropped) {
        b->stats->qspi_busy_dropped++;
        LOG(b, "QSPIF_ERASE block %u ignored: the chip is still busy with the previous erase", block);
        return;
    }
    b->stats->qspi_erases++;
    add_erase_log(b, "qspi %u 0x%08X %u", block, addr, LBL_QSPI_BLOCK);
    b->qspi_touched = true;
    if (addr + LBL_QSPI_BLOCK > b->qspi_end)
        b->qspi_end = addr + LBL_QSPI_BLOCK;
    LOG(b, "QSPIF_ERASE block %u (0x%08X)%s", block, addr,
        b->timing.qspi_erase_us > LQSPI_ERASE_POLL_US ? ": the bootloader stops waiting after 2000 ms" : "");
}

static void reply32(lbl_result_t *r, uint32_t v)
{
    put32(r->reply + r->reply_len, v);
    r->reply_len += 4;
}

/* The bootloader jumps to the application, whose flash driver resets the QSPI chip. */
static void jump_to_app(legacy_bl_t *b, lbl_result_t *r, uint64_t now_us)
{
    r->jump_to_app = true;
    if (b->qspi && lqspi_app_reset(&b->qchip, now_us + r->busy_us)) {
        b->stats->qspi_erase_aborted++;
        LOG(b, "the application reset the QSPI chip while it was still erasing: that erase was cut short");
    }
}

static void cmd_start(legacy_bl_t *b, lbl_result_t *r)
{
    b->stats->cmd_start++;
    b->connected = true;
    b->ptr = b->m->app_start; /* the QSPI pointer is NOT rewound (§2.3) */
    b->idx = 0;
    b->qidx = 0;
    reply32(r, 0xABCD0000u | (uint32_t)b->version);
    LOG(b, "START -> V%d", b->version);
}

static void cmd_reset(legacy_bl_t *b, lbl_result_t *r, uint64_t now_us)
{
    b->stats->cmd_reset++;
    b->connected = false;
    if (b->idx) {
        memset(b->buf + b->idx, 0xFF, LBL_PACKET - b->idx);
        b->idx = 0;
        flush_flash(b, r);
    }
    if (b->qspi && b->qidx) {
        memset(b->qbuf + b->qidx, 0xFF, LBL_QSPI_PAGE - b->qidx);
        b->qidx = 0;
        flush_qspi(b, r, now_us);
    }
    if (!r->unplug && !b->halted)
        jump_to_app(b, r, now_us);
    LOG(b, "RESET: buffers flushed, jumping to the application");
}

/* A WRITE or QSPIF_WRITE packet shorter than 4 bytes: for (i = 0; i < *Len
 * - 4; i++) runs ~4 G iterations copying RAM past the RX buffer into flash
 * until the flash driver or the bus faults. */
static void write_underflow(legacy_bl_t *b, lbl_result_t *r, bool q, size_t len, uint64_t now_us)
{
    b->stats->zlp_misparsed += len == 0;
    if (q) {
        memset(b->qbuf + b->qidx, 0x00, LBL_QSPI_PAGE - b->qidx);
        b->qidx = 0;
        flush_qspi(b, r, now_us);
    } else {
        size_t room = LBL_PACKET - b->idx;
        memcpy(b->buf + b->idx, b->rx + 4, room < LBL_PACKET - 4 ? room : LBL_PACKET - 4);
        b->idx = 0;
        flush_flash(b, r);
    }
    halt(b, len == 0 ? "zero-length packet re-ran WRITE with length 0xFFFFFFFC "
                       "(garbage programmed, bootloader crashed)"
                     : "WRITE packet shorter than 4 bytes: length underflow");
}

/* WRITE (internal flash, programmed per packet-sized buffer) or QSPIF_WRITE
 * (QSPI, per page). */
static void cmd_write(legacy_bl_t *b, lbl_result_t *r, bool q, size_t len, uint64_t now_us)
{
    legacy_stats_t *s = b->stats;
    if (q && !(b->version >= 3 && b->m->qspi)) {
        s->cmd_unknown++;
        LOG(b, "QSPIF_WRITE ignored (V%d%s)", b->version, b->m->qspi ? "" : ", no QSPI");
        return;
    }
    if (q)
        s->cmd_qspi_write++;
    else
        s->cmd_write++;
    if (len < 4) {
        write_underflow(b, r, q, len, now_us);
        return;
    }
    uint32_t plen = (uint32_t)len - 4u;
    for (uint32_t i = 0; i < plen && !r->unplug && !b->halted; i++) {
        if (q) {
            b->qbuf[b->qidx++] = b->rx[4 + i];
            s->qspi_bytes_written++;
            if (b->qidx == LBL_QSPI_PAGE) {
                b->qidx = 0;
                flush_qspi(b, r, now_us);
            }
        } else {
            b->buf[b->idx++] = b->rx[4 + i];
            s->bytes_written++;
            if (b->idx == LBL_PACKET) {
                b->idx = 0;
                flush_flash(b, r);
            }
        }
    }
}

static void cmd_layout(legacy_bl_t *b, lbl_result_t *r)
{
    legacy_stats_t *s = b->stats;
    if (b->version < 2) {
        s->cmd_unknown++;
        LOG(b, "FLASH_LAYOUT ignored: a V1 bootloader does not know it");
        return;
    }
    s->cmd_layout++;
    b->layouts_seen++;
    if (drop_layout_reply(b, b->layouts_seen)) {
        s->replies_dropped++;
        LOG(b, "fault: FLASH_LAYOUT #%u not answered", b->layouts_seen);
        return;
    }
    for (int i = 0; i < 3; i++)
        reply32(r, b->m->layout[i]);
    LOG(b, "FLASH_LAYOUT #%u -> {%u, %u, %u}", b->layouts_seen, b->m->layout[0], b->m->layout[1],
        b->m->layout[2]);
}

static void cmd_qspi_layout(legacy_bl_t *b, lbl_result_t *r)
{
    if (b->version < 3) {
        b->stats->cmd_unknown++;
        LOG(b, "QSPIF_LAYOUT ignored (V%d)", b->version);
        return;
    }
    b->stats->cmd_qspi_layout++;
    reply32(r, 0);
    reply32(r, b->m->qspi ? LBL_QSPI_SIZE / LBL_QSPI_BLOCK - 1 : 0);
    reply32(r, b->m->qspi ? LBL_QSPI_BLOCK : 0);
    LOG(b, "QSPIF_LAYOUT -> %s", b->m->qspi ? "{0, 511, 65536}" : "{0, 0, 0} (no QSPI)");
}

/* Destructive: writes/reads the whole chip, then chip-erases it. */
static void cmd_qspi_memtest(legacy_bl_t *b, lbl_result_t *r)
{
    b->stats->cmd_qspi_memtest++;
    lqspi_settle(&b->qchip, UINT64_MAX);
    lflash_erase(b->qspi, 0, LBL_QSPI_SIZE);
    add_erase_log(b, "qspi chip 0x00000000 %u", LBL_QSPI_SIZE);
    b->qspi_touched = true;
    b->qspi_end = LBL_QSPI_SIZE;
    r->busy_us += b->timing.qspi_memtest_us;
    reply32(r, 1);
    LOG(b, "QSPIF_MEMTEST -> pass (chip erased)");
}

/* The QSPI commands other than WRITE; false when @p cmd is none of them. */
static bool qspi_command(legacy_bl_t *b, lbl_result_t *r, uint32_t cmd, uint64_t now_us)
{
    bool qspi_cmds = b->version >= 3 && b->m->qspi;
    switch (cmd) {
    case LBL_QSPI_ERASE:
        if (!qspi_cmds) {
            b->stats->cmd_unknown++;
            LOG(b, "QSPIF_ERASE ignored (V%d%s)", b->version, b->m->qspi ? "" : ", no QSPI");
            return true;
        }
        b->stats->cmd_qspi_erase++;
        do_qspi_erase(b, le32(b->rx + 4), r, now_us);
        return true;
    case LBL_QSPI_LAYOUT:
        cmd_qspi_layout(b, r);
        return true;
    case LBL_QSPI_MEMTEST:
        if (qspi_cmds)
            cmd_qspi_memtest(b, r);
        else
            b->stats->cmd_unknown++;
        return true;
    default:
        return false;
    }
}

lbl_result_t legacy_bl_packet(legacy_bl_t *b, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    lbl_result_t r = {0};
    legacy_stats_t *s = b->stats;
    s->packets++;
    r.busy_us = b->timing.packet_us;
    if (b->halted) {
        s->ignored_halted++;
        return r;
    }
    /* The RX buffer is reused for every packet: a short packet leaves the
     * previous packet's bytes behind it, and a zero-length packet leaves the
     * whole previous packet. */
    if (len > LBL_PACKET)
        len = LBL_PACKET;
    if (len)
        memcpy(b->rx, pkt, len);
    uint32_t cmd = le32(b->rx);
    switch (cmd) {
    case LBL_START: cmd_start(b, &r); break;
    case LBL_RESET: cmd_reset(b, &r, now_us); break;
    case LBL_ERASE:
        s->cmd_erase++;
        do_erase(b, le32(b->rx + 4), &r); /* bytes 4-7 may be stale if the packet is short */
        break;
    case LBL_WRITE:
    case LBL_QSPI_WRITE: cmd_write(b, &r, cmd == LBL_QSPI_WRITE, len, now_us); break;
    case LBL_LAYOUT: cmd_layout(b, &r); break;
    default:
        if (!qspi_command(b, &r, cmd, now_us)) {
            s->cmd_unknown++;
            LOG(b, "unknown command 0x%08X (%zu-byte packet) ignored", cmd, len);
        }
        break;
    }
    if (len == 0 && cmd != LBL_WRITE && cmd != LBL_QSPI_WRITE)
        s->zlp_misparsed++;
    if (b->halted)
        r.reply_len = 0, r.jump_to_app = false;
    s->device_busy_us += r.busy_us;
    return r;
}

/* ---- dump ------------------------------------------------------------------ */

static bool write_region(const char *dir, const char *name, const legacy_flash_t *f,
                         uint32_t addr, uint32_t len, char *err, size_t errlen)
{
    uint8_t *buf = g_malloc(len ? len : 1);
    lflash_read(f, addr, buf, len);
    char *path = g_build_filename(dir, name, NULL);
    GError *e = NULL;
    bool ok = g_file_set_contents(path, (const char *)buf, len, &e);
    if (!ok) {
        snprintf(err, errlen, "--dump: %s", e->message);
        g_clear_error(&e);
    }
    g_free(path);
    g_free(buf);
    return ok;
}

bool legacy_bl_dump(legacy_bl_t *b, const char *dir, char *err, size_t errlen)
{
    if (b->qspi)
        lqspi_settle(&b->qchip, UINT64_MAX);
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        snprintf(err, errlen, "--dump %s: %s", dir, strerror(errno));
        return false;
    }
    if (b->fw_written &&
        !write_region(dir, "FIRMWARE.bin", b->flash, b->m->app_start, b->fw_end - b->m->app_start,
                      err, errlen))
        return false;
    uint32_t fs_lo, fs_sz, fw_lo, fw_sz;
    if (b->fs_touched && legacy_sector_geometry(b->m, b->m->layout[0], &fs_lo, &fs_sz) &&
        legacy_sector_geometry(b->m, b->m->layout[1], &fw_lo, &fw_sz) &&
        !write_region(dir, "FILESYSTEM.bin", b->flash, fs_lo, fw_lo - fs_lo, err, errlen))
        return false;
    if (b->qspi && b->version >= 3 && b->qspi_touched &&
        !write_region(dir, "QSPI.bin", b->qspi, 0, b->qspi_end, err, errlen))
        return false;
    char *path = g_build_filename(dir, "erase.log", NULL);
    GError *e = NULL;
    bool ok = g_file_set_contents(path, b->erase_log, -1, &e);
    g_free(path);
    if (ok && b->bootloader_damaged) {
        path = g_build_filename(dir, "BOOTLOADER_DAMAGED", NULL);
        ok = g_file_set_contents(path, b->damage, -1, &e);
        g_free(path);
    }
    if (!ok) {
        snprintf(err, errlen, "--dump: %s", e->message);
        g_clear_error(&e);
    }
    return ok;
}
