/*
 * cdc_bootloader: find the legacy bootloader's port, catch it inside its
 * listening window (START race, as the OpenMV IDE does), read and check its
 * flash layout, report partitions, RESET it into the application.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdc_bootloader.h"

#define CDC_MAX_PORTS 16
#define CDC_HS_SERIAL "000000000010"

static int keep_bootloader(void *user, const struct omv_device_info *info)
{
    return cdc_is_bootloader_serial(user, info->serial);
}

static void fill_info(struct omv_device_info *info, const struct omv_serial_port *p)
{
    *info = p->info;
    snprintf(info->mode, sizeof info->mode, "legacy bootloader");
    info->bootloader_version[0] = '\0';
}

omv_status cdc_op_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err)
{
    (void)pctx;
    struct cdc_options opt;
    omv_status st;
    if ((st = cdc_options_load(host, &opt, err)) != OMV_OK)
        return st;
    struct omv_serial_port ports[CDC_MAX_PORTS];
    size_t n = 0;
    if ((st = omv_serial_list(match, keep_bootloader, &opt, ports, CDC_MAX_PORTS, &n, err)) != OMV_OK)
        return st;
    for (size_t i = 0; i < n && i < CDC_MAX_PORTS; i++) {
        struct omv_device_info info;
        fill_info(&info, &ports[i]);
        found(user, &info);
    }
    return OMV_OK;
}

omv_status cdc_send(struct cdc_session *s, const uint8_t *buf, size_t len, const char *what, omv_error *err)
{
    char why[160];
    int r = omv_serial_write(s->port, buf, len, s->opt.write_timeout_ms, why, sizeof why);
    if (r == 0)
        return OMV_OK;
    omv_status st = r == -1 ? OMV_E_IO : r == -2 ? OMV_E_TIMEOUT : OMV_E_IO;
    return omv_error_set(err, st, "%s: %s", what, why);
}

omv_status cdc_wait_layout(struct cdc_session *s, uint32_t timeout_ms, const char *what, omv_error *err)
{
    uint8_t reply[LEG_LAYOUT_REPLY];
    long n = omv_serial_read(s->port, reply, sizeof reply, timeout_ms);
    if (n < 0)
        return omv_error_set(err, OMV_E_IO, "%s: device gone (no FLASH_LAYOUT reply)", what);
    if ((size_t)n < sizeof reply)
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no FLASH_LAYOUT reply within %u ms (got %ld of 12 bytes)", what,
                             (unsigned)timeout_ms, n);
    struct leg_flash_layout l;
    leg_decode_flash_layout(reply, sizeof reply, &l);
    if (s->have_layout && memcmp(&l, &s->layout, sizeof l) != 0)
        return omv_error_set(err, OMV_E_DEVICE,
                             "%s: unexpected FLASH_LAYOUT reply {%u, %u, %u} (expected {%u, %u, %u}): replies out of "
                             "step",
                             what, (unsigned)l.fs_first, (unsigned)l.fw_first, (unsigned)l.last,
                             (unsigned)s->layout.fs_first, (unsigned)s->layout.fw_first, (unsigned)s->layout.last);
    return OMV_OK;
}

/* Read whatever is still arriving until the line is quiet for @p quiet_ms (bounded by @p max_ms). */
static void drain(struct cdc_session *s, uint32_t quiet_ms, uint32_t max_ms)
{
    const struct omv_host *h = s->host;
    uint64_t end = h->now_ms(h) + max_ms;
    uint8_t junk[512];
    while (h->now_ms(h) < end) {
        long n = omv_serial_read(s->port, junk, sizeof junk, quiet_ms);
        if (n <= 0)
            break;
    }
    omv_serial_flush_input(s->port);
}

/*
 * The IDE's catch (its bootloader loop, docs/protocols.md §2.6 step 2): send START, read for up to
 * start_read_timeout_ms; every start_stall_ms without a full reply send
 * another START and expect 4 more bytes. Accept 0xABCD0001..3.
 * Returns the version (1..3), 0 when nothing valid came, -1 when the port went away.
 */
static int catch_bootloader(struct cdc_session *s, unsigned *starts_out)
{
    const struct omv_host *h = s->host;
    const struct cdc_options *o = &s->opt;
    uint8_t start[4], buf[256];
    leg_encode_cmd(start, LEG_CMD_START);
    char why[160];
    unsigned starts = 0;
    size_t got = 0;
    omv_serial_flush_input(s->port);
    int r = omv_serial_write(s->port, start, sizeof start, o->start_write_timeout_ms, why, sizeof why);
    if (r == -1)
        return -1;
    if (r == 0)
        starts++;
    uint64_t t0 = h->now_ms(h), last = t0;
    while (got < 4) {
        uint64_t now = h->now_ms(h);
        if (now - t0 >= o->start_read_timeout_ms)
            break;
        long n = omv_serial_read(s->port, buf + got, sizeof buf - got, 1);
        if (n < 0)
            return -1;
        got += (size_t)n;
        if (got >= 4)
            break;
        now = h->now_ms(h);
        if (now - last >= o->start_stall_ms && 4u * (starts + 1) <= sizeof buf) {
            r = omv_serial_write(s->port, start, sizeof start, o->start_write_timeout_ms, why, sizeof why);
            if (r == -1)
                return -1;
            if (r == 0)
                starts++;
            last = now;
        }
    }
    *starts_out = starts;
    if (got < 4)
        return 0;
    int v = leg_decode_version(buf, got);
    if (!v)
        return 0;
    /* Collect the replies to the extra STARTs so they cannot be mistaken
     * for a later layout reply, then drop anything else. */
    size_t want = 4u * starts;
    if (got < want) {
        long n = omv_serial_read(s->port, buf + got, want - got, o->reply_timeout_ms < 200 ? o->reply_timeout_ms : 200);
        if (n < 0)
            return -1;
        got += (size_t)n;
    }
    drain(s, 5, 50);
    return v;
}

static void range_of_layout(const struct leg_flash_layout *l, struct leg_range *fs, struct leg_range *fw)
{
    fw->present = 1;
    fw->first = l->fw_first;
    fw->last = l->last;
    fs->present = l->fw_first > l->fs_first;
    fs->first = l->fs_first;
    fs->last = l->fw_first ? l->fw_first - 1 : 0;
}

static omv_status query(struct cdc_session *s, uint32_t code, uint8_t reply[LEG_LAYOUT_REPLY], const char *name,
                        omv_error *err)
{
    uint8_t cmd[4];
    leg_encode_cmd(cmd, code);
    omv_status st = cdc_send(s, cmd, sizeof cmd, name, err);
    if (st != OMV_OK)
        return st;
    long n = omv_serial_read(s->port, reply, LEG_LAYOUT_REPLY, s->opt.reply_timeout_ms);
    if (n < 0)
        return omv_error_set(err, OMV_E_IO, "%s: device gone", name);
    if (n < (long)LEG_LAYOUT_REPLY)
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no reply within %u ms (got %ld of 12 bytes)", name,
                             (unsigned)s->opt.reply_timeout_ms, n);
    return OMV_OK;
}

/* V2+: FLASH_LAYOUT (and V3: QSPIF_LAYOUT), checked against the board's ranges. */
static omv_status read_layouts(struct cdc_session *s, omv_error *err)
{
    const struct omv_host *h = s->host;
    const struct cdc_options *o = &s->opt;
    s->fw = o->fw;
    s->fs = o->fs;
    char bfw[32], bfs[32], dfw[32], dfs[32];
    leg_format_range(&o->fw, bfw, sizeof bfw);
    leg_format_range(&o->fs, bfs, sizeof bfs);
    if (s->version >= 2) {
        uint8_t reply[LEG_LAYOUT_REPLY];
        omv_status st = query(s, LEG_CMD_FLASH_LAYOUT, reply, "FLASH_LAYOUT", err);
        if (st != OMV_OK)
            return st;
        struct leg_flash_layout l;
        leg_decode_flash_layout(reply, sizeof reply, &l);
        s->have_layout = 1;
        s->layout = l;
        if (!leg_flash_layout_valid(&l)) {
            h->log(h, OMV_LOG_WARN, "legacy bootloader reports an implausible flash layout {%u, %u, %u}: using the "
                   "board's firmware_sectors = %s, filesystem_sectors = %s",
                   (unsigned)l.fs_first, (unsigned)l.fw_first, (unsigned)l.last, bfw, bfs);
        } else {
            struct leg_range dev_fs, dev_fw;
            range_of_layout(&l, &dev_fs, &dev_fw);
            leg_format_range(&dev_fw, dfw, sizeof dfw);
            leg_format_range(&dev_fs, dfs, sizeof dfs);
            int same = dev_fw.first == o->fw.first && dev_fw.last == o->fw.last && dev_fs.present == o->fs.present &&
                       (!o->fs.present || (dev_fs.first == o->fs.first && dev_fs.last == o->fs.last));
            if (!same && o->layout_check)
                return omv_error_set(err, OMV_E_MISMATCH,
                                     "device flash layout is firmware sectors %s, filesystem sectors %s (FLASH_LAYOUT "
                                     "{%u, %u, %u}) but the board file says firmware_sectors = %s, filesystem_sectors "
                                     "= %s: wrong board file? (layout_check = no makes the board's ranges win)",
                                     dfw, dfs, (unsigned)l.fs_first, (unsigned)l.fw_first, (unsigned)l.last, bfw, bfs);
            if (!same)
                h->log(h, OMV_LOG_WARN,
                       "device flash layout (firmware %s, filesystem %s) differs from the board's (firmware %s, "
                       "filesystem %s); layout_check = no: using the board's",
                       dfw, dfs, bfw, bfs);
        }
    }
    if (s->version >= 3) {
        uint8_t reply[LEG_LAYOUT_REPLY];
        omv_status st = query(s, LEG_CMD_QSPI_LAYOUT, reply, "QSPIF_LAYOUT", err);
        if (st != OMV_OK)
            return st;
        struct leg_qspi_layout q;
        leg_decode_qspi_layout(reply, sizeof reply, &q);
        int dev_has = q.first || q.last || q.block_size;
        char bq[32];
        leg_format_range(&o->qspi, bq, sizeof bq);
        int same = dev_has == o->qspi.present &&
                   (!dev_has || (q.first == o->qspi.first && q.last == o->qspi.last && q.block_size == o->qspi_block_size));
        if (!same && o->layout_check)
            return omv_error_set(err, OMV_E_MISMATCH,
                                 "device QSPI layout is %s{%u, %u, %u} but the board file says qspi_blocks = %s, "
                                 "qspi_block_size = %u: wrong board file? (layout_check = no makes the board's ranges "
                                 "win)",
                                 dev_has ? "" : "none ", (unsigned)q.first, (unsigned)q.last, (unsigned)q.block_size,
                                 o->qspi.present ? bq : "(empty)", (unsigned)o->qspi_block_size);
        if (!same)
            h->log(h, OMV_LOG_WARN, "device QSPI layout {%u, %u, %u} differs from the board's; using the board's",
                   (unsigned)q.first, (unsigned)q.last, (unsigned)q.block_size);
        if (o->qspi.present) {
            s->have_qspi = 1;
            s->qspi.first = o->qspi.first;
            s->qspi.last = o->qspi.last;
            s->qspi.block_size = o->qspi_block_size;
        } else if (dev_has && q.block_size) {
            s->have_qspi = 1;
            s->qspi = q;
        }
    }
    return OMV_OK;
}

/* Before RESET: let a QSPI block erase end. The application the bootloader
 * jumps to resets the QSPI chip as it starts (MicroPython's spiflash init),
 * which would cut an erase short. Not cancellable: it is at most one
 * qspi_erase_delay_ms, and the camera is left consistent. */
static void wait_qspi_idle(struct cdc_session *s)
{
    uint64_t now = s->host->now_ms(s->host);
    if (s->qspi_idle_ms <= now)
        return;
    uint64_t ms = s->qspi_idle_ms - now;
    s->host->log(s->host, OMV_LOG_DEBUG, "waiting %llu ms for the QSPI erase to end before RESET",
                 (unsigned long long)ms);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void send_reset(struct cdc_session *s)
{
    uint8_t cmd[4];
    char why[160];
    wait_qspi_idle(s);
    leg_encode_cmd(cmd, LEG_CMD_RESET);
    if (s->opt.reset_delay_ms)
        s->host->sleep_ms(s->host, s->opt.reset_delay_ms);
    if (omv_serial_write(s->port, cmd, sizeof cmd, s->opt.write_timeout_ms, why, sizeof why) != 0) {
        s->host->log(s->host, OMV_LOG_DEBUG, "RESET: %s (the bootloader may already have left)", why);
        return;
    }
    if (s->opt.reset_delay_ms)
        s->host->sleep_ms(s->host, s->opt.reset_delay_ms);
    /* The bootloader leaves (USB de-initialised, its port hangs up) once its
     * main loop sees RESET. Waiting for that makes the end of the run mean
     * "on its way to the application": a command started right after it
     * does not find the old bootloader's port and catch it there. */
    const struct omv_host *h = s->host;
    uint64_t end = h->now_ms(h) + s->opt.reset_leave_ms;
    uint8_t junk[64];
    for (uint64_t now = h->now_ms(h); now < end; now = h->now_ms(h)) {
        if (omv_serial_read(s->port, junk, sizeof junk, (uint32_t)(end - now)) < 0) {
            h->log(h, OMV_LOG_DEBUG, "RESET: the bootloader's port went away");
            return;
        }
    }
    if (s->opt.reset_leave_ms)
        h->log(h, OMV_LOG_DEBUG, "RESET: the port is still there after %u ms", (unsigned)s->opt.reset_leave_ms);
}

/* Open the one port and try to catch its bootloader once. E_NO_DEVICE = try again later. */
static omv_status try_port(const struct omv_host *host, const struct cdc_options *opt, const struct omv_serial_port *p,
                           struct cdc_session **out, omv_error *err)
{
    struct cdc_session *s = calloc(1, sizeof *s);
    if (!s)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    s->host = host;
    s->opt = *opt;
    snprintf(s->port_name, sizeof s->port_name, "%s", p->name);
    fill_info(&s->info, p);
    omv_status st = omv_serial_open(p->name, opt->baud, &s->port, err);
    if (st != OMV_OK) {
        free(s);
        return st;
    }
    unsigned starts = 0;
    int v = catch_bootloader(s, &starts);
    if (v <= 0) {
        host->log(host, OMV_LOG_DEBUG, "%s: %s after %u START%s; retrying", p->name,
                  v < 0 ? "port went away" : "no bootloader reply", starts, starts == 1 ? "" : "s");
        omv_serial_close(s->port);
        free(s);
        return omv_error_set(err, OMV_E_NO_DEVICE, "%s did not answer START", p->name);
    }
    s->version = v;
    s->high_speed = strcmp(p->info.serial, CDC_HS_SERIAL) == 0;
    s->packet = s->high_speed ? opt->hs_packet_size : opt->packet_size;
    s->safe_chunk = s->packet - (opt->packet_size - opt->safe_chunk);
    s->fast_chunk = s->packet - (opt->packet_size - opt->fast_chunk);
    snprintf(s->info.bootloader_version, sizeof s->info.bootloader_version, "V%d", v);
    host->log(host, OMV_LOG_INFO, "legacy bootloader V%d caught on %s (%s-speed, %u-byte packets) after %u START%s",
              v, p->name, s->high_speed ? "high" : "full", (unsigned)s->packet, starts, starts == 1 ? "" : "s");
    st = read_layouts(s, err);
    if (st == OMV_OK)
        st = cdc_check_caught(s, err);
    if (st != OMV_OK) {
        /* Do not leave the camera parked in its bootloader: send it back to its application. */
        send_reset(s);
        omv_serial_close(s->port);
        free(s);
        return st;
    }
    char fw[32], fs[32];
    leg_format_range(&s->fw, fw, sizeof fw);
    leg_format_range(&s->fs, fs, sizeof fs);
    host->log(host, OMV_LOG_INFO, "legacy bootloader layout: firmware sectors %s (%llu bytes, %s), filesystem %s%s",
              fw, (unsigned long long)leg_range_bytes(opt->mcu, &s->fw), leg_mcu_name(opt->mcu), fs,
              s->have_qspi ? ", QSPI present" : "");
    *out = s;
    return OMV_OK;
}

omv_status cdc_op_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                       struct omv_device_info *info, omv_error *err)
{
    (void)pctx;
    *session = NULL;
    struct cdc_options opt;
    omv_status st = cdc_options_load(host, &opt, err);
    if (st != OMV_OK)
        return st;
    if (host->cancelled(host))
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for the legacy bootloader");
    struct omv_serial_port ports[CDC_MAX_PORTS];
    size_t n = 0;
    if ((st = omv_serial_list(match, keep_bootloader, &opt, ports, CDC_MAX_PORTS, &n, err)) != OMV_OK)
        return st;
    if (n > 1) {
        char list[1024];
        omv_serial_describe(ports, n < CDC_MAX_PORTS ? n : CDC_MAX_PORTS, list, sizeof list);
        return omv_error_set(err, OMV_E_MULTIPLE,
                             "%zu legacy bootloaders are attached: %s; choose one with --port (they all share one "
                             "serial number)",
                             n, list);
    }
    if (n == 0)
        return omv_error_set(err, OMV_E_NO_DEVICE, "no legacy bootloader (serial %s) is attached", opt.serials[0]);
    /* Refuse what this bootloader cannot do before START: without START it
     * goes back to the application by itself. */
    if ((st = cdc_check_plan(host, &opt, err)) != OMV_OK)
        return st;
    struct cdc_session *s = NULL;
    st = try_port(host, &opt, &ports[0], &s, err);
    if (st == OMV_E_NO_DEVICE)
        return omv_error_set(err, OMV_E_NO_DEVICE,
                             "the legacy bootloader on %s did not answer START (its listening window is about 1 s "
                             "after it enumerates: reset or replug the camera)",
                             ports[0].name);
    if (st != OMV_OK)
        return st;
    *session = s;
    if (info)
        *info = s->info;
    return OMV_OK;
}

omv_status cdc_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count, omv_error *err)
{
    (void)err;
    struct cdc_session *s = session;
    static const char *const names[] = {"FIRMWARE", "FILESYSTEM", "SPI_FLASH"};
    static const unsigned idx[] = {CDC_PART_FIRMWARE, CDC_PART_FILESYSTEM, CDC_PART_SPI_FLASH};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        if (idx[i] == CDC_PART_FILESYSTEM && !s->fs.present)
            continue;
        if (idx[i] == CDC_PART_SPI_FLASH && !s->have_qspi)
            continue;
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].index = idx[i];
            snprintf(out[n].name, sizeof out[n].name, "%s", names[i]);
        }
        n++;
    }
    *count = n;
    return OMV_OK;
}

/* Offset of the 4-byte START reply of version @p version in @p buf, or -1. */
static long find_version_reply(const uint8_t *buf, size_t len, int version)
{
    uint8_t want[LEG_VERSION_REPLY];
    leg_put_u32(want, 0xABCD0000u | (uint32_t)version);
    for (size_t i = 0; i + sizeof want <= len; i++)
        if (memcmp(buf + i, want, sizeof want) == 0)
            return (long)i;
    return -1;
}

omv_status cdc_resync(struct cdc_session *s, omv_error *err)
{
    const struct omv_host *h = s->host;
    drain(s, 20, s->opt.reply_timeout_ms);
    uint8_t cmd[4];
    leg_encode_cmd(cmd, LEG_CMD_START);
    omv_status st = cdc_send(s, cmd, sizeof cmd, "START (resync)", err);
    if (st != OMV_OK)
        return st;
    /* The device may still owe replies to the failed fast write: a barrier
     * stuck behind a slow erase is answered when the erase ends, before
     * START is even read. Look for the START reply in whatever arrives. */
    uint8_t buf[256];
    size_t got = 0;
    uint64_t end = h->now_ms(h) + s->opt.reply_timeout_ms;
    long at;
    while ((at = find_version_reply(buf, got, s->version)) < 0) {
        uint64_t now = h->now_ms(h);
        if (now >= end)
            return omv_error_set(err, OMV_E_TIMEOUT, "START (resync): no V%d reply within %u ms (got %zu other bytes)",
                                 s->version, (unsigned)s->opt.reply_timeout_ms, got);
        if (got > sizeof buf - LEG_VERSION_REPLY) { /* keep the tail: a reply may straddle */
            memmove(buf, buf + got - (LEG_VERSION_REPLY - 1), LEG_VERSION_REPLY - 1);
            got = LEG_VERSION_REPLY - 1;
        }
        long n = omv_serial_read(s->port, buf + got, LEG_VERSION_REPLY, (uint32_t)(end - now));
        if (n < 0)
            return omv_error_set(err, OMV_E_IO, "START (resync): device gone");
        got += (size_t)n;
    }
    if (at > 0)
        h->log(h, OMV_LOG_DEBUG, "START (resync): skipped %ld late reply bytes before the START reply", at);
    drain(s, 5, 50);
    return OMV_OK;
}

omv_status cdc_op_finish(void *session, int reset, omv_error *err)
{
    (void)err;
    struct cdc_session *s = session;
    if (!s || !s->port)
        return OMV_OK;
    if (!reset && s->qspi_written) {
        /* An error or a cancel after a QSPI write (--no-reset with one is
         * refused before START): only a reboot rewinds the QSPI write
         * pointer, so leaving the bootloader waiting would make the next
         * run write at the wrong offset. */
        s->host->log(s->host, OMV_LOG_INFO, "resetting the camera anyway: the legacy bootloader wrote QSPI, and only "
                     "a reboot rewinds its QSPI write pointer");
        reset = 1;
    } else if (!reset && s->reset_on_finish) {
        s->host->log(s->host, OMV_LOG_INFO, "resetting the camera into its application: nothing was written, and a "
                     "legacy bootloader that got START never leaves by itself");
        reset = 1;
    }
    if (reset) {
        /* The bootloader flushes its buffers, de-initialises USB and jumps to
         * the application: the port disappearing now is success. */
        send_reset(s);
        omv_serial_close(s->port);
        s->port = NULL;
    }
    return OMV_OK;
}

void cdc_op_close(void *session)
{
    struct cdc_session *s = session;
    if (!s)
        return;
    omv_serial_close(s->port);
    free(s);
}
