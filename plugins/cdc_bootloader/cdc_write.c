/*
 * cdc_bootloader: erase and write. One command per USB packet, each command
 * ONE write() call; safe mode never sends a full packet and spaces packets like the
 * IDE; fast mode sends full packets and synchronises with FLASH_LAYOUT
 * barriers, and any timeout in it restarts the whole write in safe mode.
 */
#define _POSIX_C_SOURCE 200809L /* clock_nanosleep */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_bootloader.h"

/* How many packets between progress reports / cancellation checks. */
#define CDC_REPORT_EVERY 16u

static uint32_t barrier_timeout(const struct cdc_session *s, const struct omv_target *t)
{
    return t && t->timeout_ms ? t->timeout_ms : s->opt.reply_timeout_ms;
}

/* Safe mode's wait after an ERASE, which gets no reply: in slices so a
 * cancel is seen within 100 ms, watching the port so that a camera unplugged
 * during the erase is reported as that erase's failure, at once. */
static omv_status erase_wait(struct cdc_session *s, uint32_t ms, const char *what, omv_error *err)
{
    uint64_t end = s->host->now_ms(s->host) + ms;
    for (;;) {
        if (s->host->cancelled(s->host))
            return omv_error_set(err, OMV_E_CANCELLED, "%s: cancelled", what);
        uint64_t now = s->host->now_ms(s->host);
        if (now >= end)
            return OMV_OK;
        uint64_t left = end - now;
        if (omv_serial_wait_gone(s->port, left < 100 ? (uint32_t)left : 100) != 0)
            return omv_error_set(err, OMV_E_IO, "%s: device gone (port hung up)", what);
    }
}

/* Safe mode: consecutive WRITE packets start at least @p ms apart. The IDE
 * sleeps that long after each write(); on hardware write() only queues the
 * packet, so what the device sees is that spacing on the bus. Counting the
 * time the write itself took towards the spacing keeps the device's margin
 * and loses no throughput to a slow host. *next is the earliest start of the
 * next packet (zero before the first). */
static void pace(struct timespec *next, uint32_t ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (next->tv_sec || next->tv_nsec) {
        if (now.tv_sec < next->tv_sec || (now.tv_sec == next->tv_sec && now.tv_nsec < next->tv_nsec)) {
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) != 0) {
            }
            now = *next;
        }
    }
    long ns = now.tv_nsec + (long)ms * 1000000L;
    next->tv_sec = now.tv_sec + ns / 1000000000L;
    next->tv_nsec = ns % 1000000000L;
}

/* One ERASE per internal-flash sector of first..last. Fast mode (V2+ only):
 * erase + FLASH_LAYOUT in one write, then the reply as a barrier. */
static omv_status erase_sectors(struct cdc_session *s, uint32_t first, uint32_t last, enum leg_mode mode,
                                uint32_t timeout_ms, omv_error *err)
{
    uint8_t pkt[LEG_MAX_PACKET + 4];
    for (uint32_t u = first; u <= last; u++) {
        char what[64];
        snprintf(what, sizeof what, "erase sector %u", (unsigned)u);
        if (s->host->cancelled(s->host))
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before %s", what);
        omv_status st;
        if (mode == LEG_MODE_FAST) {
            size_t n = leg_encode_fast_erase(pkt, LEG_CMD_ERASE, u, s->packet);
            if ((st = cdc_send(s, pkt, n, what, err)) != OMV_OK)
                return st;
            if ((st = cdc_wait_layout(s, timeout_ms, what, err)) != OMV_OK)
                return st;
        } else {
            size_t n = leg_encode_erase(pkt, LEG_CMD_ERASE, u);
            if ((st = cdc_send(s, pkt, n, what, err)) != OMV_OK)
                return st;
            if ((st = erase_wait(s, s->opt.safe_erase_delay_ms, what, err)) != OMV_OK)
                return st;
        }
        s->host->log(s->host, OMV_LOG_DEBUG, "erased sector %u", (unsigned)u);
    }
    return OMV_OK;
}

/*
 * QSPIF_ERASE of blocks first..last. The bootloader polls the chip for at
 * most qspi_erase_timeout_ms (2000) and then takes the next packet, while a
 * NOR chip that is still erasing ignores every command: the next block's
 * erase, or a page program, would be lost. So the next QSPI command leaves
 * no earlier than qspi_erase_delay_ms after the erase (a margin over the
 * chip's datasheet maximum). Safe mode sleeps that long; fast mode takes the
 * FLASH_LAYOUT barrier and waits out the rest only when the barrier came
 * back at the bootloader's own limit (the chip may still have been busy).
 */
static omv_status erase_qspi(struct cdc_session *s, uint32_t first, uint32_t last, enum leg_mode mode,
                             uint32_t timeout_ms, omv_error *err)
{
    const struct omv_host *h = s->host;
    const struct cdc_options *o = &s->opt;
    uint8_t pkt[LEG_MAX_PACKET + 4];
    for (uint32_t b = first; b <= last; b++) {
        char what[64];
        snprintf(what, sizeof what, "erase QSPI block %u", (unsigned)b);
        if (h->cancelled(h))
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled before %s", what);
        size_t n = mode == LEG_MODE_FAST ? leg_encode_fast_erase(pkt, LEG_CMD_QSPI_ERASE, b, s->packet)
                                         : leg_encode_erase(pkt, LEG_CMD_QSPI_ERASE, b);
        uint64_t t0 = h->now_ms(h);
        omv_status st = cdc_send(s, pkt, n, what, err);
        if (st != OMV_OK)
            return st;
        s->qspi_idle_ms = t0 + o->qspi_erase_delay_ms;
        if (mode == LEG_MODE_FAST) {
            if ((st = cdc_wait_layout(s, timeout_ms, what, err)) != OMV_OK)
                return st;
            uint64_t took = h->now_ms(h) - t0;
            if (took * 10 < (uint64_t)o->qspi_erase_timeout_ms * 9)
                s->qspi_idle_ms = h->now_ms(h); /* the bootloader saw the erase end */
            else
                h->log(h, OMV_LOG_DEBUG, "QSPI block %u: barrier after %llu ms, at the bootloader's own limit: "
                       "waiting %u ms from the erase for the chip", (unsigned)b, (unsigned long long)took,
                       (unsigned)o->qspi_erase_delay_ms);
        }
        uint64_t now = h->now_ms(h);
        if (s->qspi_idle_ms > now && (st = erase_wait(s, (uint32_t)(s->qspi_idle_ms - now), what, err)) != OMV_OK)
            return st;
        h->log(h, OMV_LOG_DEBUG, "erased QSPI block %u", (unsigned)b);
    }
    return OMV_OK;
}

/* A FLASH_LAYOUT barrier: the reply arrives once every earlier command ran. */
static omv_status barrier(struct cdc_session *s, uint64_t offset, uint32_t timeout_ms, omv_error *err)
{
    uint8_t cmd[4];
    char what[64];
    snprintf(what, sizeof what, "write at offset 0x%" PRIX64, offset);
    leg_encode_cmd(cmd, LEG_CMD_FLASH_LAYOUT);
    omv_status st = cdc_send(s, cmd, sizeof cmd, what, err);
    if (st == OMV_OK)
        st = cdc_wait_layout(s, timeout_ms, what, err);
    return st;
}

/* Stream the image as WRITE (or QSPIF_WRITE) packets from its first byte. */
static omv_status write_stream(struct cdc_session *s, uint32_t code, const uint8_t *img, uint64_t size,
                               enum leg_mode mode, uint32_t timeout_ms, omv_error *err)
{
    const struct omv_host *h = s->host;
    size_t chunk = leg_chunk_size(mode, s->safe_chunk, s->fast_chunk);
    uint64_t count = leg_packet_count(size, chunk);
    uint8_t pkt[LEG_MAX_PACKET + 8];
    uint32_t since_barrier = 0;
    struct timespec next = {0, 0};
    for (uint64_t i = 0; i < count; i++) {
        uint64_t off = i * chunk;
        if (i % CDC_REPORT_EVERY == 0) {
            if (h->cancelled(h))
                return omv_error_set(err, OMV_E_CANCELLED, "cancelled before offset 0x%" PRIX64, off);
            h->progress(h, off, size);
        }
        size_t n = leg_image_packet(pkt, code, img, size, chunk, i);
        char what[64];
        snprintf(what, sizeof what, "write at offset 0x%" PRIX64, off);
        int zlp = mode == LEG_MODE_FAST && s->opt.zlp_workaround && n == s->packet;
        if (zlp)
            n = leg_append_layout_query(pkt, n);
        if (mode == LEG_MODE_SAFE && s->opt.safe_write_delay_ms)
            pace(&next, s->opt.safe_write_delay_ms);
        omv_status st = cdc_send(s, pkt, n, what, err);
        if (st != OMV_OK)
            return st;
        if (zlp) {
            if ((st = cdc_wait_layout(s, timeout_ms, what, err)) != OMV_OK)
                return st;
            since_barrier = 0;
            continue;
        }
        if (mode == LEG_MODE_FAST && ++since_barrier >= s->opt.fast_batch) {
            if ((st = barrier(s, off, timeout_ms, err)) != OMV_OK)
                return st;
            since_barrier = 0;
        }
    }
    /* Make sure the device consumed everything before reporting success
     * (needs FLASH_LAYOUT: V2+; a V1 device is trusted). */
    if (s->version >= 2 && (mode == LEG_MODE_SAFE || since_barrier)) {
        omv_status st = barrier(s, size, timeout_ms, err);
        if (st != OMV_OK)
            return st;
    }
    h->progress(h, size, size);
    return OMV_OK;
}

/* The image in memory, followed by 0xFF up to @p padded bytes (>= src->size). */
static omv_status read_image(const struct omv_source *src, uint64_t padded, uint8_t **out, omv_error *err)
{
    *out = malloc(padded ? (size_t)padded : 1);
    if (!*out)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory for a %" PRIu64 "-byte image", src->size);
    memset(*out + src->size, 0xFF, (size_t)(padded - src->size));
    uint64_t done = 0;
    while (done < src->size) {
        size_t want = src->size - done > 65536 ? 65536 : (size_t)(src->size - done);
        size_t got = 0;
        omv_status st = src->read(src->ctx, *out + done, want, &got, err);
        if (st != OMV_OK) {
            free(*out);
            *out = NULL;
            return st;
        }
        if (got == 0) {
            free(*out);
            *out = NULL;
            return omv_error_set(err, OMV_E_IMAGE, "image ended after %" PRIu64 " of %" PRIu64 " bytes", done,
                                 src->size);
        }
        done += got;
    }
    return OMV_OK;
}

static int fast_retryable(omv_status st)
{
    return st == OMV_E_TIMEOUT || st == OMV_E_DEVICE;
}

static omv_status write_firmware(struct cdc_session *s, const struct omv_target *t, const uint8_t *img, uint64_t size,
                                 omv_error *err)
{
    const struct omv_host *h = s->host;
    uint32_t tmo = barrier_timeout(s, t);
    enum leg_mode mode = s->opt.mode;
    if (mode == LEG_MODE_FAST && s->version < 2) {
        h->log(h, OMV_LOG_WARN, "fast mode needs FLASH_LAYOUT barriers, which a V1 bootloader lacks: writing in safe "
               "mode");
        mode = LEG_MODE_SAFE;
    }
    char fw[32];
    leg_format_range(&s->fw, fw, sizeof fw);
    for (;;) {
        h->log(h, OMV_LOG_INFO, "erasing firmware sectors %s, then writing %" PRIu64 " bytes in %s mode", fw, size,
               mode == LEG_MODE_FAST ? "fast" : "safe");
        omv_status st = erase_sectors(s, s->fw.first, s->fw.last, mode, tmo, err);
        if (st == OMV_OK)
            st = write_stream(s, LEG_CMD_WRITE, img, size, mode, tmo, err);
        if (st == OMV_OK || mode == LEG_MODE_SAFE || !fast_retryable(st))
            return st;
        h->log(h, OMV_LOG_WARN, "fast mode failed (%s): restarting the whole write in safe mode", err->msg);
        omv_error e2;
        if (cdc_resync(s, &e2) != OMV_OK) {
            omv_error_prefix(err, "fast mode failed, and the bootloader did not answer again (%s)", e2.msg);
            return err->code;
        }
        mode = LEG_MODE_SAFE;
    }
}

/* @p size is already padded to whole QSPI pages: the bootloader programs a
 * partly filled page only on RESET, and START (a fast-mode fall-back of a
 * later FIRMWARE write) throws such a page away. */
static omv_status write_qspi(struct cdc_session *s, const struct omv_target *t, const uint8_t *img, uint64_t size,
                             omv_error *err)
{
    uint64_t block = s->qspi.block_size;
    if (s->qspi_written)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "the bootloader's QSPI write pointer only restarts at 0 when it boots: SPI_FLASH can be "
                             "written once per session (reset the camera and run again)");
    enum leg_mode mode = s->opt.mode;
    uint32_t tmo = barrier_timeout(s, t);
    uint32_t nblocks = (uint32_t)((size + block - 1) / block);
    s->host->log(s->host, OMV_LOG_INFO, "erasing QSPI blocks %u-%u, then writing %" PRIu64 " bytes in %s mode",
                 (unsigned)s->qspi.first, (unsigned)(s->qspi.first + nblocks - 1), size,
                 mode == LEG_MODE_FAST ? "fast" : "safe");
    omv_status st = erase_qspi(s, s->qspi.first, s->qspi.first + nblocks - 1, mode, tmo, err);
    if (st != OMV_OK)
        return st;
    s->qspi_written = 1;
    st = write_stream(s, LEG_CMD_QSPI_WRITE, img, size, mode, tmo, err);
    if (st != OMV_OK && mode == LEG_MODE_FAST && fast_retryable(st))
        omv_error_prefix(err, "QSPI writes cannot be restarted in safe mode (the pointer is not rewound); reset the "
                         "camera and retry with mode = safe");
    return st;
}

/* What cdc_op_write() refuses before touching the device (normally refused
 * before START already, from the run's plan); the camera is then reset
 * rather than left waiting in its bootloader. */
static omv_status refuse_write(struct cdc_session *s, const struct omv_target *target, uint64_t size, omv_error *err)
{
    s->reset_on_finish = !s->qspi_written && !s->fw_touched;
    if (target->index == CDC_PART_FILESYSTEM)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "the legacy bootloader cannot write FILESYSTEM: it writes only from the firmware start "
                             "(FILESYSTEM can be erased, with --erase-filesystem)");
    if (target->index == CDC_PART_SPI_FLASH && !s->have_qspi)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "this V%d bootloader has no QSPI commands", s->version);
    if (target->index == CDC_PART_SPI_FLASH) {
        uint64_t cap = ((uint64_t)s->qspi.last - s->qspi.first + 1) * s->qspi.block_size;
        if (size > cap)
            return omv_error_set(err, OMV_E_IMAGE, "image is %" PRIu64 " bytes but the QSPI flash holds %" PRIu64,
                                 size, cap);
    } else if (target->index == CDC_PART_FIRMWARE) {
        uint64_t cap = leg_range_bytes(s->opt.mcu, &s->fw);
        if (size > cap) {
            char fw[32];
            leg_format_range(&s->fw, fw, sizeof fw);
            return omv_error_set(err, OMV_E_IMAGE,
                                 "image is %" PRIu64 " bytes but firmware sectors %s of the %s hold %" PRIu64 " bytes",
                                 size, fw, leg_mcu_name(s->opt.mcu), cap);
        }
    } else {
        return omv_error_set(err, OMV_E_UNSUPPORTED, "the legacy bootloader cannot write %s", target->name);
    }
    s->reset_on_finish = 0;
    return OMV_OK;
}

omv_status cdc_op_write(void *session, const struct omv_target *target, struct omv_write *w, omv_error *err)
{
    struct cdc_session *s = session;
    const struct omv_source *src = w->src;
    w->written = 0;
    if (w->offset || w->n_ranges)
        return omv_error_set(err, OMV_E_UNSUPPORTED,
                             "the legacy bootloader streams an image from the start of %s: it cannot write %s",
                             target->name, w->offset ? "at another offset" : "only some ranges of it");
    int qspi = target->index == CDC_PART_SPI_FLASH;
    uint64_t page = s->opt.qspi_page_size;
    uint64_t size = qspi ? (src->size + page - 1) / page * page : src->size;
    omv_status st = refuse_write(s, target, size, err);
    if (st != OMV_OK)
        return st;
    uint8_t *img = NULL;
    if ((st = read_image(src, size, &img, err)) != OMV_OK)
        return st;
    if (qspi) {
        if (size != src->size)
            s->host->log(s->host, OMV_LOG_DEBUG, "QSPI image padded with 0xFF from %" PRIu64 " to %" PRIu64
                         " bytes (whole %u-byte pages)", src->size, size, (unsigned)page);
        st = write_qspi(s, target, img, size, err);
    } else {
        s->fw_touched = 1;
        st = write_firmware(s, target, img, size, err);
    }
    free(img);
    if (st == OMV_OK)
        w->written = src->size;
    return st;
}

omv_status cdc_op_erase(void *session, const struct omv_target *target, omv_error *err)
{
    struct cdc_session *s = session;
    const struct omv_host *h = s->host;
    uint32_t tmo = barrier_timeout(s, target);
    if (target->index == CDC_PART_SPI_FLASH) {
        if (!s->have_qspi)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "this V%d bootloader has no QSPI commands", s->version);
        /* The IDE invalidates the FAT on QSPI by erasing its first block only. */
        h->log(h, OMV_LOG_INFO, "erasing QSPI block %u (invalidates the filesystem)", (unsigned)s->qspi.first);
        enum leg_mode mode = s->opt.mode;
        omv_status st = erase_qspi(s, s->qspi.first, s->qspi.first, mode, tmo, err);
        if (st == OMV_OK && mode == LEG_MODE_SAFE)
            st = barrier(s, 0, tmo, err);
        return st;
    }
    const struct leg_range *r = target->index == CDC_PART_FILESYSTEM ? &s->fs
                                : target->index == CDC_PART_FIRMWARE ? &s->fw
                                                                     : NULL;
    if (!r || !r->present)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "no sectors to erase for partition %s", target->name);
    enum leg_mode mode = s->opt.mode;
    if (mode == LEG_MODE_FAST && s->version < 2)
        mode = LEG_MODE_SAFE;
    char rs[32];
    leg_format_range(r, rs, sizeof rs);
    for (;;) {
        h->log(h, OMV_LOG_INFO, "erasing %s sectors %s (%s mode)", target->name, rs,
               mode == LEG_MODE_FAST ? "fast" : "safe");
        omv_status st = erase_sectors(s, r->first, r->last, mode, tmo, err);
        if (st == OMV_OK && mode == LEG_MODE_SAFE && s->version >= 2) {
            uint8_t cmd[4];
            leg_encode_cmd(cmd, LEG_CMD_FLASH_LAYOUT);
            st = cdc_send(s, cmd, sizeof cmd, "erase (completion barrier)", err);
            if (st == OMV_OK)
                st = cdc_wait_layout(s, tmo, "erase (completion barrier)", err);
        }
        if (st == OMV_OK || mode == LEG_MODE_SAFE || !fast_retryable(st))
            return st;
        h->log(h, OMV_LOG_WARN, "fast mode failed (%s): erasing again in safe mode", err->msg);
        omv_error e2;
        if (cdc_resync(s, &e2) != OMV_OK)
            return omv_error_prefix(err, "fast mode failed, and the bootloader did not answer again (%s)", e2.msg);
        mode = LEG_MODE_SAFE;
    }
}
