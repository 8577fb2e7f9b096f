/* Per-camera tables: docs/protocols.md §1.2 (ids), §2.3 (STM32 sector maps),
 * §3.1 (speed), §3.2 (partitions), §3.3 (erase/program rules). */
#include "camera_models.h"
#include "dfuse_models.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const camera_hooks_t ae3_hooks;

/* STM32 sector maps (docs/protocols.md §2.3, FW stm32_flash.c). */
static const sector_run_t f4_sectors[] = {{4, 16 * 1024}, {1, 64 * 1024}, {7, 128 * 1024}, {0, 0}};
static const sector_run_t f7_sectors[] = {{4, 32 * 1024}, {1, 128 * 1024}, {7, 256 * 1024}, {0, 0}};
static const sector_run_t h7_sectors[] = {{16, 128 * 1024}, {0, 0}};

/* Internal flash: programming clears bits only; tail padded with zeros to the
 * flash word (4 bytes F4/F7, 32 bytes H7). */
#define INTFLASH(sz, map, word) \
    {"intflash", 0x08000000u, (sz), ERASE_SECTOR_MAP, 0, (map), true, PAD_ZERO, (word)}
/* External NOR (QSPI/XSPI on STM32): 64 KB block erased at 64 KB-aligned writes. */
#define QSPI(nm) {(nm), 0x00000000u, 0x02000000u, ERASE_ALIGNED, 64 * 1024, NULL, true, PAD_NONE, 1}

static const memory_desc_t m4_mems[] = {INTFLASH(0x00100000u, f4_sectors, 4)};
static const memory_desc_t m7_mems[] = {INTFLASH(0x00200000u, f7_sectors, 4)};
static const memory_desc_t h7_mems[] = {INTFLASH(0x00200000u, h7_sectors, 32)};
static const memory_desc_t h7p_mems[] = {INTFLASH(0x00200000u, h7_sectors, 32), QSPI("qspi")};
static const memory_desc_t n6_mems[] = {QSPI("xspi")};
static const memory_desc_t ae3_mems[] = {
    /* MRAM: no erase, direct overwrite, 16-byte units; the round-up copies
     * stale bytes from the transfer buffer (docs/protocols.md §3.3). */
    {"mram", 0x80000000u, 0x00580000u, ERASE_NONE, 0, NULL, false, PAD_STALE_XFER, 16},
    /* OSPI NOR: 4 KB sector erased on every (4 KB-aligned) block. */
    {"ospi", 0x00000000u, 0x02000000u, ERASE_ALIGNED, 4 * 1024, NULL, true, PAD_NONE, 1},
};

static const partition_t m4_parts[] = {
    {"BOOTLOADER", 0, 0x08000000u, 0x08008000u, true},
    {"FILESYSTEM", 0, 0x08008000u, 0x08010000u, false},
    {"FIRMWARE", 0, 0x08010000u, 0x080E0000u, false},
    {"ROMFS0", 0, 0x080E0000u, 0x08100000u, false},
};
static const partition_t m7_parts[] = {
    {"BOOTLOADER", 0, 0x08000000u, 0x08008000u, true},
    {"FILESYSTEM", 0, 0x08008000u, 0x08020000u, false},
    {"FIRMWARE", 0, 0x08020000u, 0x081C0000u, false},
    {"ROMFS0", 0, 0x081C0000u, 0x08200000u, false},
};
static const partition_t h7_parts[] = {
    {"BOOTLOADER", 0, 0x08000000u, 0x08020000u, true},
    {"FILESYSTEM", 0, 0x08020000u, 0x08040000u, false},
    {"FIRMWARE", 0, 0x08040000u, 0x081E0000u, false},
    {"ROMFS0", 0, 0x081E0000u, 0x08200000u, false},
};
/* SPI_FLASH (whole chip) and ROMFS0 overlap: both map the same QSPI memory. */
static const partition_t h7p_parts[] = {
    {"BOOTLOADER", 0, 0x08000000u, 0x08020000u, true},
    {"FILESYSTEM", 0, 0x08020000u, 0x08040000u, false},
    {"FIRMWARE", 0, 0x08040000u, 0x08200000u, false},
    {"SPI_FLASH", 1, 0x00000000u, 0x02000000u, false},
    {"ROMFS0", 1, 0x01800000u, 0x02000000u, false},
};
static const partition_t n6_parts[] = {
    {"BOOTLOADER", 0, 0x00000000u, 0x00080000u, true},
    {"FIRMWARE", 0, 0x00080000u, 0x00400000u, false},
    {"FILESYSTEM", 0, 0x00400000u, 0x00800000u, false},
    {"ROMFS0", 0, 0x00800000u, 0x02000000u, false},
};
static const partition_t ae3_parts[] = {
    {"BOOT", 0, 0x80000000u, 0x80020000u, true},
    {"HP", 0, 0x80020000u, 0x80320000u, false},
    {"HE", 0, 0x80320000u, 0x8047E000u, false},
    {"ROMFS1", 0, 0x8047E000u, 0x8057E000u, false},
    {"TOC", 0, 0x8057E000u, 0x80580000u, false},
    {"RWFS", 1, 0x00000000u, 0x00800000u, false},
    {"ROMFS0", 1, 0x00800000u, 0x02000000u, false},
    {"RECOVERY", -1, 0x00000000u, 0x00001000u, false},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Default serials: 24 upper-case hex chars like the real UID-derived ones,
 * distinct per camera ("4F4D56" = "OMV", then the PID). */
static const camera_model_t cameras[] = {
    {"ae3", "OPENMV_AE3", 0x37C5, 0x96E3, 480, "4F4D560096E3000000000001",
     ae3_mems, N(ae3_mems), ae3_parts, N(ae3_parts), true, &ae3_hooks, NULL, NULL},
    /* N6: where the header sits in the signed FSBL is not confirmed
     * (docs/protocols.md §13 item 7) -> no header. */
    {"n6", "OPENMV_N6", 0x37C5, 0x9206, 480, "4F4D56009206000000000001",
     n6_mems, N(n6_mems), n6_parts, N(n6_parts), false, NULL, NULL, NULL},
    {"h7plus", "OPENMV4P", 0x37C5, 0x924A, 12, "4F4D5600924A000000000001",
     h7p_mems, N(h7p_mems), h7p_parts, N(h7p_parts), true, NULL, NULL, NULL},
    {"pt", "OPENMVPT", 0x37C5, 0x9205, 12, "4F4D56009205000000000001",
     h7p_mems, N(h7p_mems), h7p_parts, N(h7p_parts), true, NULL, NULL, NULL},
    {"h7", "OPENMV4", 0x37C5, 0x9204, 12, "4F4D56009204000000000001",
     h7_mems, N(h7_mems), h7_parts, N(h7_parts), true, NULL, NULL, NULL},
    {"m7", "OPENMV3", 0x37C5, 0x9203, 12, "4F4D56009203000000000001",
     m7_mems, N(m7_mems), m7_parts, N(m7_parts), true, NULL, NULL, NULL},
    {"m4", "OPENMV2", 0x37C5, 0x9202, 12, "4F4D56009202000000000001",
     m4_mems, N(m4_mems), m4_parts, N(m4_parts), true, NULL, NULL, NULL},
};

const camera_model_t *camera_model_find(const char *id)
{
    for (size_t i = 0; i < N(cameras); i++)
        if (strcasecmp(cameras[i].id, id) == 0)
            return &cameras[i];
    return dfuse_camera_find(id); /* DfuSe cameras: dfuse_models.c */
}

const char *camera_model_ids(void)
{
    return "ae3 n6 h7plus pt h7 m7 m4 " DFUSE_CAMERA_IDS;
}

/* Partitions are named like the alt strings; a plain number selects an alt. */
int camera_model_find_partition(const camera_model_t *cam, const char *name_or_alt)
{
    for (size_t i = 0; i < cam->nparts; i++)
        if (strcasecmp(cam->parts[i].name, name_or_alt) == 0)
            return (int)i;
    char *end = NULL;
    long v = strtol(name_or_alt, &end, 10);
    if (end && end != name_or_alt && *end == '\0' && v >= 0 && (size_t)v < cam->nparts)
        return (int)v;
    return -1;
}

/* ---- Legacy CDC bootloader cameras (docs/protocols.md §2.3; layouts from
 * openmv/openmv 31e2fff46). M4 = F427 1 MB (sectors 0-11), M7 = F765 2 MB (0-11),
 * H7/H7 Plus/PT = H743 2 MB (0-15). The legacy bootloader is sector 0 on all. */
static const legacy_model_t legacy_cameras[] = {
    {"h7-legacy", "h7", "OPENMV4", "STM32H743", h7_sectors, 0x08000000u, 0x00200000u,
     0x08040000u, {1, 2, 15}, 32, false},
    {"m7-legacy", "m7", "OPENMV3", "STM32F765", f7_sectors, 0x08000000u, 0x00200000u,
     0x08020000u, {1, 4, 11}, 4, false},
    {"m4-legacy", "m4", "OPENMV2", "STM32F427", f4_sectors, 0x08000000u, 0x00100000u,
     0x08010000u, {1, 4, 11}, 4, false},
    {"h7plus-legacy", "h7plus", "OPENMV4P", "STM32H743", h7_sectors, 0x08000000u, 0x00200000u,
     0x08040000u, {1, 2, 15}, 32, true},
    {"pt-legacy", "pt", "OPENMVPT", "STM32H743", h7_sectors, 0x08000000u, 0x00200000u,
     0x08040000u, {1, 2, 15}, 32, true},
};

const legacy_model_t *legacy_model_find(const char *id)
{
    for (size_t i = 0; i < N(legacy_cameras); i++)
        if (strcasecmp(legacy_cameras[i].id, id) == 0)
            return &legacy_cameras[i];
    return NULL;
}

const char *legacy_model_ids(void)
{
    return "h7-legacy m7-legacy m4-legacy h7plus-legacy pt-legacy";
}

uint16_t camera_model_app_pid(const camera_model_t *cam)
{
    return (uint16_t)(cam->pid & 0x7FFFu);
}
