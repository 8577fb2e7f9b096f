/*
 * omvflash dfu transport plugin: descriptor, [dfu] and partition options,
 * plugin context (one libusb context per load) and ops table. Discovery is
 * in dfu_open.c, the session in dfu_session.c, data in dfu_write.c and
 * dfu_read.c, hot-plug in dfu_hotplug.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"

/* Ranges: wLength and wBlockNum are 16-bit; libusb timeouts are unsigned int. */
static const struct omv_option_spec dfu_options[] = {
    {"transfer_size", OMV_OPT_UINT, "4096",
     "bytes per DNLOAD/UPLOAD block; must equal the device's wTransferSize (openmv_dfu: address = start + "
     "block x 4096)", 1, 65535, NULL, 0},
    {"control_timeout_ms", OMV_OPT_UINT, "5000", "timeout of ordinary DFU requests, ms (dfu-util's default)", 1,
     3600000, NULL, 0},
    {"status_timeout_ms", OMV_OPT_UINT, "20000",
     "timeout of the GETSTATUS that runs a block's erase/write, ms; a partition's timeout_ms overrides it", 1,
     3600000, NULL, 0},
    {"bootloader_partition", OMV_OPT_STRING, "",
     "alt whose 32-byte header at offset 0x1000 gives the bootloader version (reading it also stops the "
     "bootloader's 1.5 s timeout); empty = none", 0, 0, NULL, 0},
    {"detach_timeout_ms", OMV_OPT_UINT, "0", "wValue of DFU_DETACH, ms; 0 = the device's wDetachTimeOut", 0, 65535,
     NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

/* Keys of [partition NAME] the dfu plugin reads (docs/protocols.md §3.2, §3.3, §3.7). */
static const struct omv_option_spec dfu_partition_options[] = {
    {"alt", OMV_OPT_UINT, NULL,
     "the DFU alt setting the board expects for this partition; the device's own numbering wins (a warning says "
     "when they differ)", 0, 255, NULL, OMV_OPTF_UNIQUE},
    {"erase_units", OMV_OPT_STRING, NULL,
     "how the bootloader erases this partition, from its start: sizes (COUNT*SIZE for repeats; the last repeats to "
     "the end), e.g. \"64K, 128K\", or \"none\" (no erase: MRAM); needed to write only some ranges of an image", 0, 0,
     NULL, 0},
    {"always_block0", OMV_OPT_BOOL, "no",
     "every download to this partition must start with block 0 (AE3 MRAM: block 0 lifts the write protection)", 0, 0,
     NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

int dfu_status_retriable(uint8_t status)
{
    switch (status) {
    case DFU_STATUS_ERR_WRITE:
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
        return 0; /* errTARGET, errFILE, errADDRESS, errFIRMWARE, errVENDOR, errPOR: the request itself is wrong */
    }
}

static omv_status dfu_init(const struct omv_host *host, void **pctx, omv_error *err)
{
    struct dfu_plugin *pl = calloc(1, sizeof *pl);
    if (!pl)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    pl->opt.transfer_size = (uint32_t)host->option_uint(host, "transfer_size");
    pl->opt.control_timeout_ms = (uint32_t)host->option_uint(host, "control_timeout_ms");
    pl->opt.status_timeout_ms = (uint32_t)host->option_uint(host, "status_timeout_ms");
    pl->opt.detach_timeout_ms = (uint32_t)host->option_uint(host, "detach_timeout_ms");
    const char *bp = host->option_str(host, "bootloader_partition");
    snprintf(pl->opt.bootloader_partition, sizeof pl->opt.bootloader_partition, "%s", bp ? bp : "");
    int r = libusb_init(&pl->usb);
    if (r < 0) {
        free(pl);
        return omv_error_set(err, OMV_E_IO, "dfu: cannot initialise libusb: %s", dfu_usb_error_name(r));
    }
    *pctx = pl;
    return OMV_OK;
}

static void dfu_exit(void *pctx)
{
    struct dfu_plugin *pl = pctx;
    if (!pl)
        return;
    libusb_exit(pl->usb);
    free(pl);
}

static const struct omv_transport_ops dfu_ops = {
    .list = dfu_op_list,
    .open = dfu_op_open,
    .partitions = dfu_op_partitions,
    .write = dfu_op_write,
    .read = dfu_op_read,
    .erase = dfu_op_erase,
    .recover = dfu_op_recover,
    .finish = dfu_op_finish,
    .close = dfu_op_close,
    .hotplug = dfu_op_hotplug,
    .segments = NULL,
};

static const struct omv_plugin dfu_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "dfu",
    .version = "0.2.0",
    .description = "USB DFU 1.1 transport for the openmv_dfu bootloader (libusb)",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = dfu_options,
    .partition_options = dfu_partition_options,
    .shorthands = NULL,
    .init = dfu_init,
    .exit = dfu_exit,
    .check = NULL,
    .transport = &dfu_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &dfu_plugin;
}
