/*
 * omvflash dfuse transport plugin: ST's DfuSe dialect of USB DFU 1.1 (the
 * STM32 system-memory bootloader, the Arduino bootloader of the Portenta H7,
 * Nicla Vision and Giga R1). Descriptor, [dfuse] and partition options,
 * plugin context and ops table. Discovery is in dfuse_open.c and
 * dfuse_prepare.c, the DfuSe commands in dfuse_cmd.c, data in
 * dfuse_write.c and dfuse_read.c, leaving in dfuse_finish.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfuse_session.h"

/* Ranges: wLength is 16-bit; libusb timeouts are unsigned int. */
static const struct omv_option_spec dfuse_options[] = {
    {"transfer_size", OMV_OPT_UINT, "0",
     "bytes per DNLOAD/UPLOAD block; 0 = the device's wTransferSize (what dfu-util and the OpenMV IDE use); "
     "any other value must equal it", 0, 65535, NULL, 0},
    {"control_timeout_ms", OMV_OPT_UINT, "5000", "timeout of ordinary DFU requests, ms (dfu-util's default)", 1,
     3600000, NULL, 0},
    {"status_timeout_ms", OMV_OPT_UINT, "20000",
     "longest one erase or write may keep the device busy, ms; a partition's timeout_ms overrides it", 1, 3600000,
     NULL, 0},
    {"mass_erase_timeout_ms", OMV_OPT_UINT, "60000",
     "longest a mass erase may take, ms (an STM32F4 needs up to ~32 s)", 1, 3600000, NULL, 0},
    {"leave_address", OMV_OPT_UINT, NULL,
     "address the device jumps to when it leaves DFU (set right before the leave request); unset = the address of "
     "the first write of the run", 0, 0xFFFFFFFFu, NULL, 0},
    {"mass_erase", OMV_OPT_BOOL, "no",
     "erase the whole flash once before the first write instead of only the pages written (STM32 ROM only; "
     "asks for confirmation)", 0, 0, NULL, 0},
    {"read_unprotect", OMV_OPT_BOOL, "no",
     "remove flash read protection first: the chip erases all of its flash and resets, then the run goes on "
     "(STM32 ROM only; asks for confirmation; sent once per run)", 0, 0, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

/* Keys of [partition NAME] the dfuse plugin reads. */
static const struct omv_option_spec dfuse_partition_options[] = {
    {"address", OMV_OPT_UINT, NULL,
     "address of the partition's first byte in the device's memory map (e.g. 0x08040000); a partition without "
     "one is not reachable through dfuse", 0, 0xFFFFFFFFu, NULL, 0},
    {"alt", OMV_OPT_UINT, "0",
     "the alt setting whose memory layout holds the address (Arduino: 0 internal flash, 1 QSPI)", 0, 255, NULL, 0},
    {"pad_to", OMV_OPT_UINT, "0",
     "pad an image's last block with 0xFF to a multiple of this many bytes (the Arduino bootloader programs QSPI "
     "in 4 KB pages whatever the block length, the rest from a stale buffer); 0 = no padding", 0, 65536, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_shorthand dfuse_shorthands[] = {
    {"mass-erase", "mass_erase", "yes|no", "STM32 ROM: erase the whole flash before writing (asks first)"},
    {"read-unprotect", "read_unprotect", "yes|no",
     "STM32 ROM: remove read protection; erases the whole flash (asks first)"},
    {NULL, NULL, NULL, NULL},
};

int dfuse_status_retriable(uint8_t status)
{
    switch (status) {
    case DFU_STATUS_ERR_ERASE:
    case DFU_STATUS_ERR_CHECK_ERASED:
    case DFU_STATUS_ERR_PROG:
    case DFU_STATUS_ERR_VERIFY:
    case DFU_STATUS_ERR_NOTDONE:
    case DFU_STATUS_ERR_USBR:
    case DFU_STATUS_ERR_UNKNOWN:
    case DFU_STATUS_ERR_STALLEDPKT:
        return 1; /* the flash or the link may do better the next time */
    default:
        /* errTARGET, errADDRESS: the address is wrong for this chip; errVENDOR:
         * read protection; errWRITE: ST's ROM reports it for a write-protected
         * page (an erase of one "succeeds" without erasing, AN2662) and for
         * flash this very write just erased, so writing again does not help. */
        return 0;
    }
}

static omv_status dfuse_init(const struct omv_host *host, void **pctx, omv_error *err)
{
    struct dfuse_plugin *pl = calloc(1, sizeof *pl);
    if (!pl)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    struct dfuse_options *o = &pl->opt;
    o->transfer_size = (uint32_t)host->option_uint(host, "transfer_size");
    o->control_timeout_ms = (uint32_t)host->option_uint(host, "control_timeout_ms");
    o->status_timeout_ms = (uint32_t)host->option_uint(host, "status_timeout_ms");
    o->mass_erase_timeout_ms = (uint32_t)host->option_uint(host, "mass_erase_timeout_ms");
    o->has_leave_address = host->option_str(host, "leave_address") != NULL;
    o->leave_address = host->option_uint(host, "leave_address");
    o->mass_erase = host->option_uint(host, "mass_erase") != 0;
    o->read_unprotect = host->option_uint(host, "read_unprotect") != 0;
    atomic_init(&pl->unprotected, 0);
    int r = libusb_init(&pl->usb);
    if (r < 0) {
        free(pl);
        return omv_error_set(err, OMV_E_IO, "dfuse: cannot initialise libusb: %s", dfu_usb_error_name(r));
    }
    *pctx = pl;
    return OMV_OK;
}

static void dfuse_exit(void *pctx)
{
    struct dfuse_plugin *pl = pctx;
    if (!pl)
        return;
    libusb_exit(pl->usb);
    free(pl);
}

static const struct omv_transport_ops dfuse_ops = {
    .list = dfuse_op_list,
    .open = dfuse_op_open,
    .partitions = dfuse_op_partitions,
    .write = dfuse_op_write,
    .read = dfuse_op_read,
    .erase = dfuse_op_erase,
    .recover = dfuse_op_recover,
    .finish = dfuse_op_finish,
    .close = dfuse_op_close,
    .hotplug = NULL,
    .segments = dfuse_op_segments,
};

static const struct omv_plugin dfuse_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "dfuse",
    .version = "0.1.0",
    .description = "ST DfuSe transport (STM32 ROM bootloader, Arduino bootloader) on libusb",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = dfuse_options,
    .partition_options = dfuse_partition_options,
    .shorthands = dfuse_shorthands,
    .init = dfuse_init,
    .exit = dfuse_exit,
    .check = NULL,
    .transport = &dfuse_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &dfuse_plugin;
}
