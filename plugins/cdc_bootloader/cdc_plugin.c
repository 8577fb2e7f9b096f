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

static const char *const modes[] = {"safe", "fast", NULL};
static const char *const mcus[] = {"stm32f4", "stm32f7", "stm32h7", NULL};

/* Defaults are the OpenMV IDE's values (its openmvpluginio.h / serial-port
 * constants, docs/protocols.md §2.5); board files override them where a
 * board needs more. Ranges: what the protocol and the host can carry. */
static const struct omv_option_spec cdc_options[] = {
    {"serials", OMV_OPT_STRING, "000000000011, 000000000010",
     "USB serial numbers that mark the legacy bootloader (the G1 application shares 1209:ABD1); ...10 = high-speed "
     "build", 0, 0, NULL, 0},
    {"baud", OMV_OPT_UINT, "921600", "line coding (stored but ignored by the bootloader)", 1, 100000000, NULL, 0},
    {"mode", OMV_OPT_STRING, "safe",
     "safe (never a full packet, delays after each command) or fast (full packets, FLASH_LAYOUT barriers; falls "
     "back to safe on any timeout)", 0, 0, modes, 0},
    {"mcu", OMV_OPT_STRING, NULL, "sector map: stm32f4 (M4), stm32f7 (M7) or stm32h7 (H7, H7 Plus, PT)", 0, 0, mcus,
     OMV_OPTF_REQUIRED},
    {"packet_size", OMV_OPT_UINT, "64", "USB bulk packet size of the full-speed build (serial ...11)", 16,
     LEG_MAX_PACKET, NULL, 0},
    {"hs_packet_size", OMV_OPT_UINT, "512",
     "USB bulk packet size of the high-speed build (serial ...10); chunks shrink by the same margins", 16,
     LEG_MAX_PACKET, NULL, 0},
    {"safe_chunk", OMV_OPT_UINT, "56", "WRITE payload in safe mode (4 + 56 = 60 < 64: never a full packet)", 4,
     LEG_MAX_PACKET, NULL, 0},
    {"fast_chunk", OMV_OPT_UINT, "60", "WRITE payload in fast mode (4 + 60 = 64: one full packet)", 4, LEG_MAX_PACKET,
     NULL, 0},
    {"fast_batch", OMV_OPT_UINT, "32", "WRITEs sent in fast mode before a FLASH_LAYOUT barrier", 1, 100000, NULL, 0},
    {"safe_write_delay_ms", OMV_OPT_UINT, "1", "sleep after each WRITE in safe mode, ms", 0, 60000, NULL, 0},
    {"safe_erase_delay_ms", OMV_OPT_UINT, "2000", "sleep after each ERASE in safe mode, ms", 0, 600000, NULL, 0},
    {"start_write_timeout_ms", OMV_OPT_UINT, "6", "write timeout of START while catching the bootloader, ms", 1, 60000,
     NULL, 0},
    {"start_read_timeout_ms", OMV_OPT_UINT, "10", "how long one catch attempt waits for the START reply, ms", 1, 60000,
     NULL, 0},
    {"start_stall_ms", OMV_OPT_UINT, "2", "without a reply after this long, send another START, ms", 1, 60000, NULL, 0},
    {"reset_delay_ms", OMV_OPT_UINT, "5", "sleep before and after the final RESET, ms", 0, 60000, NULL, 0},
    {"reset_leave_ms", OMV_OPT_UINT, "1500",
     "after RESET, wait at most this long for the bootloader's port to go away (its main loop looks every 200 ms and "
     "may sit out its 1 s window first), ms; 0 = do not wait", 0, 60000, NULL, 0},
    {"write_timeout_ms", OMV_OPT_UINT, "3000", "longest the port may take to accept one command, ms", 1, 600000, NULL,
     0},
    {"reply_timeout_ms", OMV_OPT_UINT, "5000",
     "longest wait for a layout reply or barrier (covers one sector erase), ms; a partition's timeout_ms overrides it",
     1, 600000, NULL, 0},
    {"firmware_sectors", OMV_OPT_STRING, "4-11",
     "internal-flash sectors of the firmware (H7: 2-15, M4/M7: 4-11); erased before a FIRMWARE write", 0, 0, NULL, 0},
    {"filesystem_sectors", OMV_OPT_STRING, "1-3", "internal-flash sectors of the filesystem (H7: 1-1, M4/M7: 1-3)", 0,
     0, NULL, 0},
    {"qspi_blocks", OMV_OPT_STRING, "", "QSPI blocks of SPI_FLASH (H7 Plus, PT: 0-511), empty = no QSPI", 0, 0, NULL,
     0},
    {"qspi_block_size", OMV_OPT_UINT, "65536", "bytes per QSPI erase block", 256, 0x10000000, NULL, 0},
    {"qspi_page_size", OMV_OPT_UINT, "256",
     "bytes the bootloader buffers per QSPI page program; QSPI images are padded with 0xFF to a multiple of it so no "
     "byte waits for RESET", 4, 65536, NULL, 0},
    {"qspi_erase_delay_ms", OMV_OPT_UINT, "2000",
     "least time from a QSPI block erase to the next QSPI command: safe mode sleeps it, fast mode waits out the rest "
     "of it when the barrier shows the bootloader gave up waiting (set above the chip's datasheet maximum)", 0,
     600000, NULL, 0},
    {"qspi_erase_timeout_ms", OMV_OPT_UINT, "2000",
     "how long the bootloader itself waits for a QSPI block erase before it takes the next command (qspif.c "
     "BLOCK_ERASE_TIMEOUT)", 1, 600000, NULL, 0},
    {"layout_check", OMV_OPT_BOOL, "yes",
     "V2+: the device's FLASH_LAYOUT/QSPIF_LAYOUT must equal the ranges above (no = the ranges above win)", 0, 0,
     NULL, 0},
    {"zlp_workaround", OMV_OPT_BOOL, "no",
     "append FLASH_LAYOUT after every full-size write and wait for it (the IDE's macOS behaviour)", 0, 0, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_shorthand cdc_shorthands[] = {
    {"mode", "mode", "safe|fast", "legacy bootloader packet mode (docs/protocols.md §2.7)"},
    {NULL, NULL, NULL, NULL},
};

static uint32_t u32(const struct omv_host *host, const char *key)
{
    return (uint32_t)host->option_uint(host, key);
}

static omv_status get_range(const struct omv_host *host, const char *key, struct leg_range *r, omv_error *err)
{
    const char *v = host->option_str(host, key);
    if (leg_parse_range(v, r) != 0)
        return omv_error_set(err, OMV_E_BOARD, "%s = '%s' is not a range (use FIRST-LAST, e.g. 2-15)", key, v ? v : "");
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
            return omv_error_set(err, OMV_E_BOARD, "serials: at most %d serials of up to %zu characters",
                                 CDC_MAX_SERIALS, sizeof opt->serials[0] - 1);
        memcpy(opt->serials[opt->n_serials], p, n);
        opt->serials[opt->n_serials++][n] = '\0';
        p += n;
    }
    if (!opt->n_serials)
        return omv_error_set(err, OMV_E_BOARD, "serials: empty list");
    return OMV_OK;
}

int cdc_is_bootloader_serial(const struct cdc_options *opt, const char *serial)
{
    for (size_t i = 0; i < opt->n_serials; i++)
        if (strcmp(opt->serials[i], serial) == 0)
            return 1;
    return 0;
}

/* The options that must agree with each other (each alone was checked by the core). */
static omv_status check_together(struct cdc_options *opt, omv_error *err)
{
    if (opt->qspi_block_size % opt->qspi_page_size)
        return omv_error_set(err, OMV_E_BOARD, "qspi_block_size = %u is not a multiple of qspi_page_size = %u",
                             (unsigned)opt->qspi_block_size, (unsigned)opt->qspi_page_size);
    if (opt->safe_chunk % 4 || opt->fast_chunk % 4)
        return omv_error_set(err, OMV_E_BOARD, "safe_chunk and fast_chunk must be multiples of 4");
    if (opt->safe_chunk + 4 >= opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD,
                             "safe_chunk = %u: 4 + safe_chunk must stay below packet_size = %u (safe mode never "
                             "sends a full packet)", (unsigned)opt->safe_chunk, (unsigned)opt->packet_size);
    if (opt->fast_chunk + 4 > opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD,
                             "fast_chunk = %u: 4 + fast_chunk must fit packet_size = %u (one command per packet)",
                             (unsigned)opt->fast_chunk, (unsigned)opt->packet_size);
    if (opt->hs_packet_size < opt->packet_size)
        return omv_error_set(err, OMV_E_BOARD, "hs_packet_size must be >= packet_size");
    uint32_t n = leg_sector_count(opt->mcu);
    char a[32], b[32];
    leg_format_range(&opt->fw, a, sizeof a);
    leg_format_range(&opt->fs, b, sizeof b);
    if (!opt->fw.present || opt->fw.first == 0 || opt->fw.last >= n)
        return omv_error_set(err, OMV_E_BOARD,
                             "firmware_sectors = %s: must lie within sectors 1..%u of the %s (sector 0 is the "
                             "bootloader)", a, (unsigned)(n - 1), leg_mcu_name(opt->mcu));
    if (opt->fs.present && (opt->fs.first == 0 || opt->fs.last >= opt->fw.first))
        return omv_error_set(err, OMV_E_BOARD,
                             "filesystem_sectors = %s: must lie between the bootloader (sector 0) and firmware_sectors "
                             "= %s", b, a);
    return OMV_OK;
}

omv_status cdc_options_load(const struct omv_host *host, struct cdc_options *opt, omv_error *err)
{
    memset(opt, 0, sizeof *opt);
    omv_status st = parse_serials(host->option_str(host, "serials"), opt, err);
    if (st != OMV_OK)
        return st;
    opt->mode = strcmp(host->option_str(host, "mode"), "fast") == 0 ? LEG_MODE_FAST : LEG_MODE_SAFE;
    opt->mcu = leg_parse_mcu(host->option_str(host, "mcu"));
    opt->baud = u32(host, "baud");
    opt->packet_size = u32(host, "packet_size");
    opt->hs_packet_size = u32(host, "hs_packet_size");
    opt->safe_chunk = u32(host, "safe_chunk");
    opt->fast_chunk = u32(host, "fast_chunk");
    opt->fast_batch = u32(host, "fast_batch");
    opt->safe_write_delay_ms = u32(host, "safe_write_delay_ms");
    opt->safe_erase_delay_ms = u32(host, "safe_erase_delay_ms");
    opt->start_write_timeout_ms = u32(host, "start_write_timeout_ms");
    opt->start_read_timeout_ms = u32(host, "start_read_timeout_ms");
    opt->start_stall_ms = u32(host, "start_stall_ms");
    opt->reset_delay_ms = u32(host, "reset_delay_ms");
    opt->reset_leave_ms = u32(host, "reset_leave_ms");
    opt->write_timeout_ms = u32(host, "write_timeout_ms");
    opt->reply_timeout_ms = u32(host, "reply_timeout_ms");
    opt->qspi_block_size = u32(host, "qspi_block_size");
    opt->qspi_page_size = u32(host, "qspi_page_size");
    opt->qspi_erase_delay_ms = u32(host, "qspi_erase_delay_ms");
    opt->qspi_erase_timeout_ms = u32(host, "qspi_erase_timeout_ms");
    opt->layout_check = host->option_uint(host, "layout_check") != 0;
    opt->zlp_workaround = host->option_uint(host, "zlp_workaround") != 0;
    if ((st = get_range(host, "firmware_sectors", &opt->fw, err)) != OMV_OK ||
        (st = get_range(host, "filesystem_sectors", &opt->fs, err)) != OMV_OK ||
        (st = get_range(host, "qspi_blocks", &opt->qspi, err)) != OMV_OK)
        return st;
    return check_together(opt, err);
}

static omv_status cdc_check(const struct omv_host *host, omv_error *err)
{
    struct cdc_options opt;
    return cdc_options_load(host, &opt, err);
}

static const struct omv_transport_ops cdc_ops = {
    .list = cdc_op_list,
    .open = cdc_op_open,
    .partitions = cdc_op_partitions,
    .write = cdc_op_write,
    .read = NULL,    /* the protocol cannot read */
    .erase = cdc_op_erase,
    .recover = NULL, /* after a failure only a new START helps: close and open again */
    .finish = cdc_op_finish,
    .close = cdc_op_close,
};

static const struct omv_plugin cdc_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "cdc_bootloader",
    .version = "0.2.0",
    .description = "legacy OpenMV USB-CDC bootloader (firmware <= v4.5.9, 1209:ABD1) over libserialport",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = cdc_options,
    .shorthands = cdc_shorthands,
    .check = cdc_check,
    .transport = &cdc_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &cdc_plugin;
}
