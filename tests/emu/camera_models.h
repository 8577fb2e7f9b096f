/* Device truth for the emulated openmv_dfu cameras (fact sheet §1.2, §2.3,
 * §3.1-3.6). Compiled in on purpose: the emulator must never read the host's
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
} camera_model_t;

const camera_model_t *camera_model_find(const char *id);
const char *camera_model_ids(void); /* "ae3 n6 h7plus pt h7 m7 m4" */
int camera_model_find_partition(const camera_model_t *cam, const char *name_or_alt);

#endif
