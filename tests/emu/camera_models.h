/* Device truth for the emulated openmv_dfu cameras (docs/protocols.md §1.2,
 * §2.3, §3.1-3.6). Compiled in on purpose: the emulator must never read the host's
 * boards/ INI files, so a wrong board file cannot agree with the emulator by
 * accident. */
#ifndef OMVEMU_CAMERA_MODELS_H
#define OMVEMU_CAMERA_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_MAX_PARTS 8
#define EMU_MAX_MEMS 3
#define EMU_XFER_SIZE 4096u

/* How a memory erases and programs; this is what makes an out-of-order or
 * overlapping host write visible in the dump. */
typedef enum {
    ERASE_NONE,       /* MRAM: direct overwrite, no erase */
    ERASE_SECTOR_MAP, /* STM32 internal flash: sector erased when a write starts at its first byte */
    ERASE_ALIGNED,    /* QSPI/XSPI 64 KB, AE3 OSPI 4 KB: erased when the write address is unit-aligned */
} erase_policy_t;

typedef enum {
    PAD_NONE,       /* QSPI/OSPI page programs: exactly the bytes sent */
    PAD_ZERO,       /* STM32 internal flash: tail zero-padded to the flash word */
    PAD_STALE_XFER, /* AE3 MRAM: rounded up to 16 with stale transfer-buffer bytes */
} pad_policy_t;

typedef struct {
    uint32_t count;
    uint32_t size;
} sector_run_t;

typedef struct {
    const char *name;          /* "intflash", "qspi", "xspi", "mram", "ospi" */
    uint32_t base;
    uint32_t size;
    erase_policy_t erase;
    uint32_t erase_unit;       /* ERASE_ALIGNED */
    const sector_run_t *sectors; /* ERASE_SECTOR_MAP, terminated by count 0 */
    bool and_program;          /* flash: programming can only clear bits */
    pad_policy_t pad;
    uint32_t pad_unit;
} memory_desc_t;

typedef struct {
    const char *name;
    int mem;            /* index into camera->mems, -1 = special (no storage) */
    uint32_t start;
    uint32_t limit;     /* exclusive */
    bool read_only;
} partition_t;

struct dfu_device;
struct dfuse_model;

/* USB identity of a device that is not an openmv_dfu bootloader (the DfuSe
 * cameras: ST ROM, Arduino bootloader). NULL in camera_model_t means the
 * openmv_dfu descriptors of descriptors.c. */
typedef struct {
    const char *manufacturer, *product;
    uint16_t bcd_usb, bcd_device;
    uint8_t config_attributes, max_power_2ma; /* configuration descriptor */
    uint8_t dfu_attributes;                   /* functional descriptor bmAttributes */
    uint16_t detach_timeout_ms, transfer_size, bcd_dfu;
} usb_identity_t;

/* Per-camera behaviour beyond plain partition writes. Kept as hooks so the
 * AE3 MRAM/RECOVERY rules (and later extensions) live in one place. */
typedef struct {
    /* Called when a DNLOAD block is executed, before the generic write.
     * Return true if the hook fully handled the block (*status is the
     * result); false to continue with the generic write (*status ignored,
     * unless it set a non-zero status, which fails the block). */
    bool (*pre_write)(struct dfu_device *d, int alt, unsigned block,
                      const uint8_t *data, size_t len, uint8_t *status);
    /* Called when a manifestation (zero-length DNLOAD) completes. */
    void (*on_manifest)(struct dfu_device *d, int alt);
    /* Called when a session (re)starts: hook state is reset. */
    void (*on_session_start)(struct dfu_device *d);
} camera_hooks_t;

typedef struct {
    const char *id;          /* CLI name: ae3, n6, h7plus, pt, h7, m7, m4 */
    const char *board;       /* firmware board dir, for messages */
    uint16_t vid, pid;
    unsigned speed_mbps;     /* 480 HS (AE3, N6), 12 FS (STM32 F4/F7/H7) */
    const char *serial;      /* default 24 upper-hex chars */
    const memory_desc_t *mems;
    size_t nmems;
    const partition_t *parts;
    size_t nparts;
    bool boot_header;        /* bootloader header at partition 0 + 0x1000 */
    const camera_hooks_t *hooks;
    /* DfuSe cameras only (dfuse_models.c); NULL for openmv_dfu cameras. The
     * parts[] of a DfuSe camera are its alt settings (name = alt string). */
    const usb_identity_t *usb;
    const struct dfuse_model *dfuse;
} camera_model_t;

const camera_model_t *camera_model_find(const char *id);
const char *camera_model_ids(void); /* "ae3 n6 h7plus pt h7 m7 m4" */
int camera_model_find_partition(const camera_model_t *cam, const char *name_or_alt);

/* ---- Legacy USB-CDC bootloader cameras (docs/protocols.md §2), omvemu --camera X-legacy.
 * The bootloader state machine is in legacy_camera.c; these are its per-board
 * facts: STM32 sector map, app start, FLASH_LAYOUT triple, QSPI. */
typedef struct {
    const char *id;              /* "h7-legacy" */
    const char *family;          /* DFU-era camera id of the same board: "h7" */
    const char *board;           /* firmware board dir: OPENMV4 */
    const char *mcu;             /* "STM32H743" */
    const sector_run_t *sectors; /* internal flash sector map */
    uint32_t flash_base, flash_size;
    uint32_t app_start;          /* MAIN_APP_ADDR: START rewinds the write pointer here */
    uint32_t layout[3];          /* OMV_BOOT_FLASH_LAYOUT {fs_first, fw_first, last} */
    uint32_t prog_word;          /* flash word: 4 bytes F4/F7, 32 bytes H7 */
    bool qspi;                   /* 32 MB QSPI NOR, 64 KB blocks (V3 QSPIF_* commands) */
    /* the application's arch string and type: app_model_find(family), app_camera.c */
} legacy_model_t;

const legacy_model_t *legacy_model_find(const char *id);
const char *legacy_model_ids(void); /* "h7-legacy m7-legacy m4-legacy h7plus-legacy pt-legacy" */
/* Application (G2/G3 firmware) PID of a DFU-era camera: bootloader PID - 0x8000
 * (37C5:9204 -> 37C5:1204, 96E3 -> 16E3; docs/protocols.md §1.2). */
uint16_t camera_model_app_pid(const camera_model_t *cam);

#endif
