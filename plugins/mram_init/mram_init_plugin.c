/*
 * mram_init: initialise the Everspin MRAM of special OpenMV AE3 builds.
 *
 * An uninitialised (or corrupted) MRAM ignores writes, so every DFU transfer to
 * RWFS and ROMFS0 fails. Downloading the recovery key to the RECOVERY alt makes
 * the bootloader run the whole recovery sequence (JEDEC reset, configuration
 * registers, lock removal, two full chip erases) inside the GETSTATUS that
 * follows; afterwards the chip is blank (docs/protocols.md §3.6).
 *
 * This plugin knows no USB: it asks the host to write one block to the board's
 * RECOVERY partition through the board's transport session.
 */
#include <stdio.h>
#include <string.h>

#include <omvflash/plugin.h>

#include "mram_key.h"

/* The status openmv_dfu answers when the key is refused: USB DFU's errWRITE
 * (docs/protocols.md §3.3, §3.6). The bootloader takes the key once per
 * session. */
#define DFU_STATUS_ERR_WRITE 0x03u

static const struct omv_option_spec options[] = {
    {"partition", OMV_OPT_STRING, "RECOVERY", "partition that takes the key (AE3: alt 7, RECOVERY)", 0, 0, NULL, 0},
    {"timeout_ms", OMV_OPT_UINT, "120000",
     "how long the GETSTATUS running the recovery sequence may take (several full-chip erases)", 1, 3600000, NULL, 0},
    {"key_file", OMV_OPT_STRING, "", "optional key file made elsewhere; checked against the built-in key", 0, 0, NULL,
     0},
    {"erases", OMV_OPT_STRING, "RWFS and ROMFS0", "what the user is told will be blank afterwards", 0, 0, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_shorthand shorthands[] = {
    {"key", "key_file", "FILE", "key file for MRAM init (checked against the built-in key)"},
    {NULL, NULL, NULL, NULL},
};

/* Before the camera is touched: check a user-supplied key file and tell the
 * user what will be erased. */
static omv_status mram_init_prepare(void *pctx, const struct omv_host *host, omv_error *err)
{
    (void)pctx;
    const char *key_file = host->option_str(host, "key_file");
    if (key_file && *key_file) {
        omv_status st = mram_key_check_file(key_file, err);
        if (st != OMV_OK)
            return st;
        host->log(host, OMV_LOG_INFO, "key file %s matches the built-in MRAM recovery key", key_file);
    }
    char what[256];
    snprintf(what, sizeof what,
             "MRAM init erases the external MRAM chip: %s will be blank and the FAT filesystem "
             "reformats itself on the next boot",
             host->option_str(host, "erases"));
    if (host->confirm(host, what) != OMV_OK)
        return omv_error_set(err, OMV_E_CANCELLED, "MRAM init not confirmed (pass --yes to run it unattended)");
    return OMV_OK;
}

/* Send the key block; the recovery sequence runs inside the GETSTATUS that
 * completes it, hence the long timeout. */
static omv_status mram_init_run(void *pctx, const struct omv_host *host, omv_error *err)
{
    (void)pctx;
    uint8_t block[MRAM_KEY_BLOCK_SIZE];
    mram_key_build(block);
    const char *part = host->option_str(host, "partition");
    uint32_t timeout = (uint32_t)host->option_uint(host, "timeout_ms");
    host->log(host, OMV_LOG_INFO, "sending the MRAM recovery key to %s; the device may take up to %u s", part,
              timeout / 1000u);
    omv_status st = host->partition_write(host, part, block, sizeof block, timeout, err);
    if (st == OMV_E_DEVICE && (err->flags & OMV_ERRF_DEVICE_STATUS) && err->device_status == DFU_STATUS_ERR_WRITE)
        return omv_error_prefix(err,
                                "MRAM init refused (the bootloader accepts the key once per session: "
                                "replug the camera and run it again)");
    if (st == OMV_E_TIMEOUT)
        return omv_error_prefix(err, "MRAM init did not finish within %u ms (raise timeout_ms in the board's "
                                "[action] section or with --set timeout_ms=MS)", timeout);
    if (st != OMV_OK)
        return omv_error_prefix(err, "MRAM init");
    return OMV_OK;
}

static const struct omv_action_ops ops = {
    .prepare = mram_init_prepare,
    .run = mram_init_run,
};

static const struct omv_plugin descriptor = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "mram_init",
    .version = "0.2.0",
    .description = "AE3 Everspin MRAM initialisation (recovery key to the RECOVERY alt)",
    .kind = OMV_PLUGIN_ACTION,
    .options = options,
    .shorthands = shorthands,
    .action = &ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &descriptor;
}
