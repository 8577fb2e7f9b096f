/* AE3-specific bootloader rules (OpenMV boot/src/common/dfu.c, mpu.c,
 * boards/OPENMV_AE3/boot_config.h, boot/src/ports/alif/alif_ospi.c;
 * docs/protocols.md §3.3, §3.6, §3.8):
 *  - --mram: special builds carry an Everspin MRAM instead of the OSPI NOR
 *    (RWFS, ROMFS0). Uninitialised, it ignores writes: the bootloader's
 *    program step fails -> errWRITE. The RECOVERY key runs the init sequence
 *    (JEDEC reset, config registers, lock removal, two chip erases) inside
 *    the GETSTATUS, for mram_init_us; afterwards the chip is blank and writes
 *    work (for good: the configuration is non-volatile).
 *  - Each MRAM partition (HP HE ROMFS1 TOC) has its own MPU region, read-only
 *    from boot. Block 0 of a download makes the region writable; the
 *    manifestation of that alt makes it read-only again; ABORT, CLRSTATUS and
 *    SET_INTERFACE leave it as it is. A write to a read-only region is a
 *    MemManage fault whose handler loops: the bootloader never answers again
 *    until the camera is power-cycled (seen running the bootloader's own code
 *    under emulation; not confirmed on a camera).
 *  - RECOVERY (alt 7): block 0 only, must start with the 16-byte key, once per
 *    bootloader session; nothing is stored. */
#include "dfu_device.h"

#include <stdio.h>
#include <string.h>

static const uint8_t recovery_key[16] = {0x15, 0x9E, 0x7D, 0x42, 0x96, 0x1A, 0x71, 0xEB,
                                         0x73, 0xA3, 0x26, 0x29, 0x2B, 0x08, 0x09, 0x0E};

static bool is_mram(const dfu_device_t *d, int alt)
{
    const partition_t *p = &d->cam->parts[alt];
    return p->mem >= 0 && strcmp(d->cam->mems[p->mem].name, "mram") == 0;
}

static bool is_ext(const dfu_device_t *d, int alt)
{
    const partition_t *p = &d->cam->parts[alt];
    return p->mem >= 0 && strcmp(d->cam->mems[p->mem].name, "ospi") == 0;
}

/* After the recovery sequence the whole external chip reads blank. */
static void blank_external(dfu_device_t *d)
{
    for (size_t i = 0; i < d->cam->nparts; i++) {
        const partition_t *p = &d->cam->parts[i];
        if (is_ext(d, (int)i))
            flash_memory_blank(d->mem[p->mem], p->start, p->limit - p->start);
    }
}

static bool ae3_pre_write(dfu_device_t *d, int alt, unsigned block, const uint8_t *data,
                          size_t len, uint8_t *status)
{
    const partition_t *p = &d->cam->parts[alt];
    *status = ST_OK;
    if (strcmp(p->name, "RECOVERY") == 0) {
        /* Block >= 1 never gets here: the generic limit check answers errADDRESS. */
        if (len < sizeof(recovery_key) || memcmp(data, recovery_key, sizeof(recovery_key)) != 0) {
            emu_log(d, "RECOVERY: wrong key -> errWRITE");
            *status = ST_errWRITE;
        } else if (d->hook_session_flag) {
            emu_log(d, "RECOVERY: already run in this session -> errWRITE");
            *status = ST_errWRITE;
        } else {
            d->hook_session_flag = true;
            d->hook_extra_us = d->timing.recovery_us;
            if (d->ext_mram) {
                d->hook_extra_us = d->mram_init_us;
                d->ext_mram_ready = true;
                blank_external(d);
                emu_log(d, "RECOVERY: key accepted, Everspin MRAM initialised (%llu ms), RWFS/ROMFS0 blank",
                        (unsigned long long)(d->mram_init_us / 1000));
            } else {
                emu_log(d, "RECOVERY: key accepted, OSPI recovery sequence run");
            }
        }
        return true;
    }
    if (d->ext_mram && !d->ext_mram_ready && is_ext(d, alt)) {
        emu_log(d, "%s: Everspin MRAM not initialised, write ignored -> errWRITE", p->name);
        *status = ST_errWRITE;
        return true;
    }
    if (is_mram(d, alt) && !d->hook_part_flag[alt]) {
        if (block != 0) {
            d->hung = true;
            snprintf(d->hung_why, sizeof(d->hung_why),
                     "%s block %u written while its MPU region is read-only (no block 0 since the "
                     "last manifestation): the bootloader hangs until the camera is power-cycled",
                     p->name, block);
            return true;
        }
        d->hook_part_flag[alt] = true;
    }
    return false;
}

static void ae3_on_manifest(dfu_device_t *d, int alt)
{
    if (is_mram(d, alt))
        d->hook_part_flag[alt] = false; /* manifest re-protects the region */
}

static void ae3_session_start(dfu_device_t *d)
{
    memset(d->hook_part_flag, 0, sizeof(d->hook_part_flag));
    d->hook_session_flag = false;
}

const camera_hooks_t ae3_hooks = {ae3_pre_write, ae3_on_manifest, ae3_session_start};
