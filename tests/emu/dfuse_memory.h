/* Address-mapped memories of a DfuSe camera: which region and sector an
 * address is in, sector erase with per-sector erase counters, the programming
 * rules of each memory kind, the written extents --dump reports, and the
 * Arduino bootloader's queue of internal-flash writes that are acknowledged
 * before they are programmed. Independent of USB and of the DFU state. */
#ifndef OMVEMU_DFUSE_MEMORY_H
#define OMVEMU_DFUSE_MEMORY_H

#include "dfuse_models.h"
#include "flash_memory.h"

#include <glib.h>

typedef struct {
    const dfuse_region_t *reg;
    uint32_t base, size, nsectors;
    memory_desc_t desc; /* backing description for flash_memory_t */
    flash_memory_t *mem;
    uint32_t *erases;   /* erase count per sector */
} dfuse_region_state_t;

typedef struct {
    uint32_t addr, len;
    gint64 done_us; /* monotonic time the background write finishes */
    uint8_t data[];
} dfuse_pending_t;

typedef struct {
    uint32_t start, end; /* [start, end) */
} dfuse_extent_t;

typedef struct {
    dfuse_region_state_t r[DFUSE_MAX_REGIONS];
    size_t n;
    dfuse_extent_t *ext; /* host-written byte ranges, sorted, merged */
    size_t next, ext_cap;
    GQueue pending;      /* dfuse_pending_t *, oldest first */
    uint64_t unerased_writes, lost_writes, mass_erases;
} dfuse_mem_t;

typedef struct {
    dfuse_region_state_t *rs;
    uint32_t index, start, size;
    uint8_t caps;
    uint32_t erase_ms;
} dfuse_sector_t;

/* Programming outcome. */
typedef enum {
    PROG_OK,
    PROG_UNERASED, /* a flash word was not erased (first_bad says where) */
    PROG_REFUSED,  /* alignment/bounds/capability: nothing programmed */
} prog_result_t;

bool dfuse_mem_init(dfuse_mem_t *m, const struct dfuse_model *model);
void dfuse_mem_free(dfuse_mem_t *m);

/* The region holding [addr, addr+len) entirely, or NULL. len 0 = just addr. */
dfuse_region_state_t *dfuse_mem_region(dfuse_mem_t *m, uint32_t addr, uint32_t len);
/* The sector containing addr; false if addr is in no region. */
bool dfuse_mem_sector(dfuse_mem_t *m, uint32_t addr, dfuse_sector_t *out);

/* Erase one sector (counts it). */
void dfuse_mem_erase(dfuse_mem_t *m, const dfuse_sector_t *s);
/* Erase every sector of every DREG_FLASH region; returns the summed erase_ms. */
uint64_t dfuse_mem_mass_erase(dfuse_mem_t *m);

/* STM32 flash-word programming as the ROM does it: a word that is not erased
 * stops the write. On chips whose flash can only clear bits word by word
 * (prog_word < 32: F4/F7) the failing word holds old AND new; on H7 (32-byte
 * ECC flash words) it is left unchanged. */
prog_result_t dfuse_mem_program_words(dfuse_mem_t *m, dfuse_region_state_t *rs, uint32_t addr,
                                      const uint8_t *data, uint32_t len, uint32_t *first_bad);
/* NOR/OTP programming: bits can only be cleared, never an error. */
void dfuse_mem_program_and(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len);
/* Register-like areas and option bytes: plain overwrite. */
void dfuse_mem_overwrite(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len);

/* Arduino internal flash: queue a write that finishes at done_us. */
void dfuse_mem_queue(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len,
                     gint64 done_us);
/* Apply queued writes finished by now (G_MAXINT64: all of them). */
void dfuse_mem_drain(dfuse_mem_t *m, gint64 now);
/* The board resets at `now`: writes not finished by then are lost. */
void dfuse_mem_drop_pending(dfuse_mem_t *m, gint64 now);
/* When the last queued write finishes (0 if none is queued). */
gint64 dfuse_mem_pending_until(const dfuse_mem_t *m);

/* Reads: bytes outside every region read as 0xFF. */
void dfuse_mem_read(dfuse_mem_t *m, uint32_t addr, uint8_t *out, uint32_t len);
/* --load: preset bytes (no erase/program rules); false if outside the regions. */
bool dfuse_mem_preset(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len);

/* Remember [addr, addr+len) as written by the host (for --dump). */
void dfuse_mem_note_written(dfuse_mem_t *m, uint32_t addr, uint32_t len);

#endif
