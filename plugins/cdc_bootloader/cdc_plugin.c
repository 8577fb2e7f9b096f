/*
 * omvflash cdc_bootloader transport plugin: descriptor, [cdc_bootloader]
 * options and ops table. The legacy OpenMV USB-CDC bootloader of firmware
 * <= v4.5.9 (M4, M7, H7, H7 Plus, Pure Thermal). Sessions are in
 * cdc_session.c, erase/write in cdc_write.c, the pure protocol in
 * legacy_proto.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cdc_bootloader.h"

/* Defaults are the OpenMV IDE's values (its openmvpluginio.h / serial-port
 * constants); board files override them where a board needs more. */
static const struct omv_option_spec cdc_options[] = {
    {"serials", OMV_OPT_STRING, "000000000011, 000000000010",
     "USB serial numbers that mark the legacy bootloader (the G1 application shares 1209:ABD1); ...10 = high-speed "
     "build"},
    {"baud", OMV_OPT_UINT, "921600", "line coding (stored but ignored by the bootloader)"},
    {"mode", OMV_OPT_STRING, "safe",
     "safe (never a full packet, delays after each command) or fast (full packets, FLASH_LAYOUT barriers; falls "
     "back to safe on any timeout)"},
    {"mcu", OMV_OPT_STRING, "", "sector map: stm32f4 (M4), stm32f7 (M7) or stm32h7 (H7, H7 Plus, PT); required"},
    {"packet_size", OMV_OPT_UINT, "64", "USB bulk packet size of the full-speed build (serial ...11)"},
    {"hs_packet_size", OMV_OPT_UINT, "512",
     "USB bulk packet size of the high-speed build (serial ...10); chunks shrink by the same margins"},
    {"safe_chunk", OMV_OPT_UINT, "56", "WRITE payload in safe mode (4 + 56 = 60 < 64: never a full packet)"},
    {"fast_chunk", OMV_OPT_UINT, "60", "WRITE payload in fast mode (4 + 60 = 64: one full packet)"},
    {"fast_batch", OMV_OPT_UINT, "32", "WRITEs sent in fast mode before a FLASH_LAYOUT barrier"},
    {"safe_write_delay_ms", OMV_OPT_UINT, "1", "sleep after each WRITE in safe mode, ms"},
    {"safe_erase_delay_ms", OMV_OPT_UINT, "2000", "sleep after each ERASE in safe mode, ms"},
    {"start_write_timeout_ms", OMV_OPT_UINT, "6", "write timeout of START while catching the bootloader, ms"},
    {"start_read_timeout_ms", OMV_OPT_UINT, "10", "how long one catch attempt waits for the START reply, ms"},
    {"start_stall_ms", OMV_OPT_UINT, "2", "without a reply after this long, send another START, ms"},
    {"reset_delay_ms", OMV_OPT_UINT, "5", "sleep before and after the final RESET, ms"},
    {"reset_leave_ms", OMV_OPT_UINT, "1500",
     "after RESET, wait at most this long for the bootloader's port to go away (its main loop looks every 200 ms and "
     "may sit out its 1 s window first), ms; 0 = do not wait"},
    {"write_timeout_ms", OMV_OPT_UINT, "3000", "longest the port may take to accept one command, ms"},
    {"reply_timeout_ms", OMV_OPT_UINT, "5000",
     "longest wait for a layout reply or barrier (covers one sector erase), ms; a partition's timeout_ms overrides it"},
    {"poll_ms", OMV_OPT_UINT, "10", "how often open() looks for the bootloader's port while waiting, ms"},
    {"firmware_sectors", OMV_OPT_STRING, "4-11",
     "internal-flash sectors of the firmware (H7: 2-15, M4/M7: 4-11); erased before a FIRMWARE write"},
    {"filesystem_sectors", OMV_OPT_STRING, "1-3", "internal-flash sectors of the filesystem (H7: 1-1, M4/M7: 1-3)"},
    {"qspi_blocks", OMV_OPT_STRING, "", "QSPI blocks of SPI_FLASH (H7 Plus, PT: 0-511), empty = no QSPI"},
    {"qspi_block_size", OMV_OPT_UINT, "65536", "bytes per QSPI erase block"},
    {"qspi_page_size", OMV_OPT_UINT, "256",
     "bytes the bootloader buffers per QSPI page program; QSPI images are padded with 0xFF to a multiple of it so no "
     "byte waits for RESET"},
    {"qspi_erase_delay_ms", OMV_OPT_UINT, "2000",
     "least time from a QSPI block erase to the next QSPI command: safe mode sleeps it, fast mode waits out the rest "
     "of it when the barrier shows the bootloader gave up waiting (set above the chip's datasheet maximum)"},
    {"qspi_erase_timeout_ms", OMV_OPT_UINT, "2000",
     "how long the bootloader itself waits for a QSPI block erase before it takes the next command (qspif.c "
     "BLOCK_ERASE_TIMEOUT)"},
    {"layout_check", OMV_OPT_BOOL, "yes",
     "V2+: the device's FLASH_LAYOUT/QSPIF_LAYOUT must equal the ranges above (no = the ranges above win)"},
    {"zlp_workaround", OMV_OPT_BOOL, "no",
     "append FLASH_LAYOUT after every full-size write and wait for it (the IDE's macOS behaviour)"},
    {NULL, 0, NULL, NULL},
};

omv_status cdc_check_host(const struct omv_host *host, omv_error *err)
{
    if (!host || host->abi_version != OMV_PLUGIN_ABI_VERSION || host->size < sizeof(struct omv_host))
        return omv_error_set(err, OMV_E_PLUGIN, "cdc_bootloader: host ABI mismatch (plugin built for ABI %u)",
                             OMV_PLUGIN_ABI_VERSION);
    if (!host->log || !host->progress || !host->cancelled || !host->option_str || !host->option_uint ||
        !host->now_ms || !host->sleep_ms)
        return omv_error_set(err, OMV_E_PLUGIN, "cdc_bootloader: host is missing a required service");
    return OMV_OK;
}

static omv_status get_uint(const struct omv_host *host, const char *key, uint64_t min, uint64_t max,
                           uint32_t *out, omv_error *err)
{
    uint64_t v = host->option_uint(host, key);
    if (v < min || v > max)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] %s = %llu is out of range %llu..%llu", key,
                             (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    *out = (uint32_t)v;
    return OMV_OK;
}

static omv_status get_range(const struct omv_host *host, const char *key, struct leg_range *r, omv_error *err)
{
    const char *v = host->option_str(host, key);
    if (leg_parse_range(v, r) != 0)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] %s = '%s' is not a range (use FIRST-LAST, e.g. 2-15)",
                             key, v ? v : "");
    return OMV_OK;
}

static omv_status parse_serials(const char *text, struct cdc_options *opt, omv_error *err)
{
    opt->n_serials = 0;
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t n = 0;
        while (p[n] && p[n] != ',' && !isspace((unsigned char)p[n]))
            n++;
        if (opt->n_serials >= CDC_MAX_SERIALS || n >= sizeof opt->serials[0])
            return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] serials: at most %d serials of up to %zu characters",
                                 CDC_MAX_SERIALS, sizeof opt->serials[0] - 1);
        memcpy(opt->serials[opt->n_serials], p, n);
        opt->serials[opt->n_serials++][n] = '\0';
        p += n;
    }
    if (!opt->n_serials)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] serials: empty list");
    return OMV_OK;
}

int cdc_is_bootloader_serial(const struct cdc_options *opt, const char *serial)
{
    for (size_t i = 0; i < opt->n_serials; i++)
        if (strcmp(opt->serials[i], serial) == 0)
            return 1;
    return 0;
}

omv_status cdc_options_load(const struct omv_host *host, struct cdc_options *opt, omv_error *err)
{
    memset(opt, 0, sizeof *opt);
    omv_status st;
    if ((st = parse_serials(host->option_str(host, "serials"), opt, err)) != OMV_OK)
        return st;
    const char *mode = host->option_str(host, "mode");
    if (mode && strcasecmp(mode, "safe") == 0)
        opt->mode = LEG_MODE_SAFE;
    else if (mode && strcasecmp(mode, "fast") == 0)
        opt->mode = LEG_MODE_FAST;
    else
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] mode = '%s': use safe or fast", mode ? mode : "");
    const char *mcu = host->option_str(host, "mcu");
    opt->mcu = leg_parse_mcu(mcu);
    if (opt->mcu == LEG_MCU_NONE)
        return omv_error_set(err, OMV_E_BOARD,
                             "[cdc_bootloader] mcu = '%s': set it to stm32f4 (M4), stm32f7 (M7) or stm32h7 (H7, H7 "
                             "Plus, Pure Thermal); it selects the sector map",
                             mcu ? mcu : "");
    if ((st = get_uint(host, "baud", 1, 100000000, &opt->baud, err)) != OMV_OK ||
        (st = get_uint(host, "packet_size", 16, LEG_MAX_PACKET, &opt->packet_size, err)) != OMV_OK ||
        (st = get_uint(host, "hs_packet_size", 16, LEG_MAX_PACKET, &opt->hs_packet_size, err)) != OMV_OK ||
        (st = get_uint(host, "safe_chunk", 4, LEG_MAX_PACKET, &opt->safe_chunk, err)) != OMV_OK ||
        (st = get_uint(host, "fast_chunk", 4, LEG_MAX_PACKET, &opt->fast_chunk, err)) != OMV_OK ||
        (st = get_uint(host, "fast_batch", 1, 100000, &opt->fast_batch, err)) != OMV_OK ||
        (st = get_uint(host, "safe_write_delay_ms", 0, 60000, &opt->safe_write_delay_ms, err)) != OMV_OK ||
        (st = get_uint(host, "safe_erase_delay_ms", 0, 600000, &opt->safe_erase_delay_ms, err)) != OMV_OK ||
        (st = get_uint(host, "start_write_timeout_ms", 1, 60000, &opt->start_write_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "start_read_timeout_ms", 1, 60000, &opt->start_read_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "start_stall_ms", 1, 60000, &opt->start_stall_ms, err)) != OMV_OK ||
        (st = get_uint(host, "reset_delay_ms", 0, 60000, &opt->reset_delay_ms, err)) != OMV_OK ||
        (st = get_uint(host, "reset_leave_ms", 0, 60000, &opt->reset_leave_ms, err)) != OMV_OK ||
        (st = get_uint(host, "write_timeout_ms", 1, 600000, &opt->write_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "reply_timeout_ms", 1, 600000, &opt->reply_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "poll_ms", 1, 10000, &opt->poll_ms, err)) != OMV_OK ||
        (st = get_uint(host, "qspi_block_size", 256, 0x10000000, &opt->qspi_block_size, err)) != OMV_OK ||
        (st = get_uint(host, "qspi_page_size", 4, 65536, &opt->qspi_page_size, err)) != OMV_OK ||
        (st = get_uint(host, "qspi_erase_delay_ms", 0, 600000, &opt->qspi_erase_delay_ms, err)) != OMV_OK ||
        (st = get_uint(host, "qspi_erase_timeout_ms", 1, 600000, &opt->qspi_erase_timeout_ms, err)) != OMV_OK)
        return st;
    if (opt->qspi_block_size % opt->qspi_page_size)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] qspi_block_size = %u is not a multiple of "
                             "qspi_page_size = %u", (unsigned)opt->qspi_block_size, (unsigned)opt->qspi_page_size);
    if (opt->safe_chunk % 4 || opt->fast_chunk % 4)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] safe_chunk and fast_chunk must be multiples of 4");
    if (opt->safe_chunk + 4 >= opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD,
                             "[cdc_bootloader] safe_chunk = %u: 4 + safe_chunk must stay below packet_size = %u (safe "
                             "mode never sends a full packet)",
                             (unsigned)opt->safe_chunk, (unsigned)opt->packet_size);
    if (opt->fast_chunk + 4 > opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD,
                             "[cdc_bootloader] fast_chunk = %u: 4 + fast_chunk must fit packet_size = %u (one command "
                             "per packet)",
                             (unsigned)opt->fast_chunk, (unsigned)opt->packet_size);
    if (opt->hs_packet_size < opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD, "[cdc_bootloader] hs_packet_size must be >= packet_size");
    opt->layout_check = host->option_uint(host, "layout_check") != 0;
    opt->zlp_workaround = host->option_uint(host, "zlp_workaround") != 0;
    if ((st = get_range(host, "firmware_sectors", &opt->fw, err)) != OMV_OK ||
        (st = get_range(host, "filesystem_sectors", &opt->fs, err)) != OMV_OK ||
        (st = get_range(host, "qspi_blocks", &opt->qspi, err)) != OMV_OK)
        return st;
    uint32_t n = leg_sector_count(opt->mcu);
    char a[32], b[32];
    leg_format_range(&opt->fw, a, sizeof a);
    leg_format_range(&opt->fs, b, sizeof b);
    if (!opt->fw.present || opt->fw.first == 0 || opt->fw.last >= n)
        return omv_error_set(err, OMV_E_BOARD,
                             "[cdc_bootloader] firmware_sectors = %s: must lie within sectors 1..%u of the %s (sector "
                             "0 is the bootloader)",
                             a, (unsigned)(n - 1), leg_mcu_name(opt->mcu));
    if (opt->fs.present && (opt->fs.first == 0 || opt->fs.last >= opt->fw.first))
        return omv_error_set(err, OMV_E_BOARD,
                             "[cdc_bootloader] filesystem_sectors = %s: must lie between the bootloader (sector 0) "
                             "and firmware_sectors = %s",
                             b, a);
    return OMV_OK;
}

static const struct omv_transport_ops cdc_ops = {
    .list = cdc_op_list,
    .open = cdc_op_open,
    .partitions = cdc_op_partitions,
    .write = cdc_op_write,
    .read = NULL, /* the protocol cannot read */
    .erase = cdc_op_erase,
    .finish = cdc_op_finish,
    .close = cdc_op_close,
};

static const struct omv_plugin cdc_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "cdc_bootloader",
    .version = "0.1.0",
    .description = "legacy OpenMV USB-CDC bootloader (firmware <= v4.5.9, 1209:ABD1) over libserialport",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = cdc_options,
    .transport = &cdc_ops,
    .action = NULL,
    .entry = NULL,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &cdc_plugin;
}
