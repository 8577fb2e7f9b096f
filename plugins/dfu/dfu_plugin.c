/*
 * omvflash dfu transport plugin: descriptor, [dfu] options and ops table.
 * The work is in dfu_session.c (find/open/finish) and dfu_transfer.c (data).
 */
#include <stdio.h>
#include <string.h>

#include "dfu_session.h"

static const struct omv_option_spec dfu_options[] = {
    {"transfer_size", OMV_OPT_UINT, "4096",
     "bytes per DNLOAD/UPLOAD block; must equal the device's wTransferSize (openmv_dfu: address = start + "
     "block x 4096)"},
    {"control_timeout_ms", OMV_OPT_UINT, "5000", "timeout of ordinary DFU requests, ms (dfu-util's default)"},
    {"status_timeout_ms", OMV_OPT_UINT, "20000",
     "timeout of the GETSTATUS that runs a block's erase/write, ms; a partition's timeout_ms overrides it"},
    {"poll_ms", OMV_OPT_UINT, "20", "how often open() looks for the device while waiting, ms (like dfu-util -w)"},
    {"bootloader_partition", OMV_OPT_STRING, "",
     "alt whose 32-byte header at offset 0x1000 gives the bootloader version (reading it also stops the "
     "bootloader's 1.5 s timeout); empty = none"},
    {"detach_timeout_ms", OMV_OPT_UINT, "0", "wValue of DFU_DETACH, ms; 0 = the device's wDetachTimeOut"},
    {NULL, 0, NULL, NULL},
};

omv_status dfu_check_host(const struct omv_host *host, omv_error *err)
{
    if (!host || host->abi_version != OMV_PLUGIN_ABI_VERSION || host->size < sizeof(struct omv_host))
        return omv_error_set(err, OMV_E_PLUGIN, "dfu: host ABI mismatch (plugin built for ABI %u)",
                             OMV_PLUGIN_ABI_VERSION);
    if (!host->log || !host->progress || !host->cancelled || !host->option_str || !host->option_uint ||
        !host->now_ms || !host->sleep_ms)
        return omv_error_set(err, OMV_E_PLUGIN, "dfu: host is missing a required service");
    return OMV_OK;
}

static omv_status get_uint(const struct omv_host *host, const char *key, uint64_t min, uint64_t max,
                           uint32_t *out, omv_error *err)
{
    uint64_t v = host->option_uint(host, key);
    if (v < min || v > max)
        return omv_error_set(err, OMV_E_BOARD, "[dfu] %s = %llu is out of range %llu..%llu", key,
                             (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    *out = (uint32_t)v;
    return OMV_OK;
}

omv_status dfu_options_load(const struct omv_host *host, struct dfu_options *opt, omv_error *err)
{
    memset(opt, 0, sizeof *opt);
    omv_status st;
    /* wLength and wBlockNum are 16-bit; libusb timeouts are unsigned int. */
    if ((st = get_uint(host, "transfer_size", 1, 65535, &opt->transfer_size, err)) != OMV_OK ||
        (st = get_uint(host, "control_timeout_ms", 1, 3600000, &opt->control_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "status_timeout_ms", 1, 3600000, &opt->status_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "poll_ms", 1, 10000, &opt->poll_ms, err)) != OMV_OK ||
        (st = get_uint(host, "detach_timeout_ms", 0, 65535, &opt->detach_timeout_ms, err)) != OMV_OK)
        return st;
    const char *bp = host->option_str(host, "bootloader_partition");
    snprintf(opt->bootloader_partition, sizeof opt->bootloader_partition, "%s", bp ? bp : "");
    return OMV_OK;
}

static const struct omv_transport_ops dfu_ops = {
    .list = dfu_op_list,
    .open = dfu_op_open,
    .partitions = dfu_op_partitions,
    .write = dfu_op_write,
    .read = dfu_op_read,
    .finish = dfu_op_finish,
    .close = dfu_op_close,
    .hotplug = dfu_op_hotplug,
};

static const struct omv_plugin dfu_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "dfu",
    .version = "0.1.0",
    .description = "USB DFU 1.1 transport for the openmv_dfu bootloader (libusb)",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = dfu_options,
    .transport = &dfu_ops,
    .action = NULL,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &dfu_plugin;
}
