/*
 * cdc_bootloader: what the legacy bootloader can do, checked against the
 * run's plan (omv_host.run_plan) before START. A bootloader that got START
 * stays in its bootloader until RESET or a power cycle, while one that never
 * got it jumps back to the application after its ~1 s window: refusing
 * before START leaves the camera as it was.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cdc_bootloader.h"

struct omv_run_plan *cdc_run_plan(const struct omv_host *host)
{
    if (host->size < offsetof(struct omv_host, run_plan) + sizeof host->run_plan || !host->run_plan)
        return NULL;
    return host->run_plan(host);
}

static int is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* Why the legacy bootloader cannot carry out @p st ("" when it can). */
static void why_not(const struct cdc_options *o, const struct omv_run_plan *p, const struct omv_run_step *st,
                    char *why, size_t cap)
{
    why[0] = '\0';
    const char *name = st->partition;
    switch (st->op) {
    case OMV_RUN_READ:
    case OMV_RUN_VERIFY:
        snprintf(why, cap, "the legacy bootloader cannot read %s back (--verify and --read need the openmv_dfu "
                 "bootloader of firmware v4.6.0 and later)", name);
        return;
    case OMV_RUN_ERASE:
        if (is(name, "FIRMWARE") || (is(name, "FILESYSTEM") && o->fs.present) || (is(name, "SPI_FLASH") && o->qspi.present))
            return;
        snprintf(why, cap, "the legacy bootloader cannot erase %s (it erases FIRMWARE%s%s)", name,
                 o->fs.present ? ", FILESYSTEM" : "", o->qspi.present ? ", SPI_FLASH" : "");
        return;
    case OMV_RUN_WRITE:
        break;
    }
    if (is(name, "FIRMWARE"))
        return;
    if (is(name, "SPI_FLASH") && o->qspi.present && !p->reset_at_end)
        snprintf(why, cap, "--no-reset cannot be used when the legacy bootloader writes SPI_FLASH: its QSPI write "
                 "pointer goes back to 0 only when it boots, so the next run would write at the wrong offset");
    else if (is(name, "FILESYSTEM"))
        snprintf(why, cap, "the legacy bootloader cannot write FILESYSTEM: it writes only from the firmware start "
                 "(FILESYSTEM can be erased, with --erase-filesystem)");
    else if (!is(name, "SPI_FLASH") || !o->qspi.present)
        snprintf(why, cap, "the legacy bootloader cannot write %s: it writes FIRMWARE%s; %s needs the openmv_dfu "
                 "bootloader of firmware v4.6.0 and later", name, o->qspi.present ? " and SPI_FLASH" : "", name);
}

omv_status cdc_check_plan(const struct omv_host *host, const struct cdc_options *o, omv_error *err)
{
    struct omv_run_plan *p = cdc_run_plan(host);
    if (!p)
        return OMV_OK;
    const struct omv_run_step *refused = NULL;
    for (size_t i = 0; i < p->n_steps; i++) {
        struct omv_run_step *st = &p->steps[i];
        why_not(o, p, st, st->cannot, sizeof st->cannot);
        if (st->cannot[0] && !st->optional && !refused)
            refused = st;
    }
    if (refused)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "%s (nothing was sent to the camera)", refused->cannot);
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct omv_run_step *st = &p->steps[i];
        uint64_t cap = leg_range_bytes(o->mcu, &o->fw);
        if (st->op == OMV_RUN_WRITE && is(st->partition, "FIRMWARE") && !st->cannot[0] && st->size > cap) {
            char fw[32];
            leg_format_range(&o->fw, fw, sizeof fw);
            return omv_error_set(err, OMV_E_IMAGE,
                                 "image is %" PRIu64 " bytes but firmware sectors %s of the %s hold %" PRIu64
                                 " bytes (nothing was sent to the camera)",
                                 st->size, fw, leg_mcu_name(o->mcu), cap);
        }
    }
    return OMV_OK;
}

omv_status cdc_check_caught(const struct cdc_session *s, omv_error *err)
{
    const struct omv_run_plan *p = cdc_run_plan(s->host);
    for (size_t i = 0; p && !s->have_qspi && i < p->n_steps; i++) {
        const struct omv_run_step *st = &p->steps[i];
        if (is(st->partition, "SPI_FLASH") && !st->cannot[0] && (st->op == OMV_RUN_WRITE || st->op == OMV_RUN_ERASE))
            return omv_error_set(err, OMV_E_UNSUPPORTED,
                                 "this V%d legacy bootloader has no QSPI commands: SPI_FLASH needs a V3 bootloader "
                                 "with a QSPI layout (the camera was reset into its application)",
                                 s->version);
    }
    return OMV_OK;
}
