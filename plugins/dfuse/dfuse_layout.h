/*
 * ST DfuSe memory layout, as an alt setting's interface string states it
 * (ST UM0424; the format dfu-util and fwupd parse):
 *
 *     @Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg[/0xADDR/...]
 *
 * "@" then a name up to the first '/'; then one or more zones, each a hex
 * start address and a comma list of COUNT*SIZE<unit><type> runs laid out
 * contiguously from it. COUNT and SIZE are decimal; the unit is 'B' or ' '
 * (bytes), 'K' (x1024) or 'M' (x1024^2); the type letter 'a'..'g' carries
 * readable (bit 0), erasable (bit 1) and writeable (bit 2) in its low bits.
 *
 * Pure: no I/O, no allocation, no global state. Used by the dfuse plugin to
 * decide which sectors an image touches (it erases exactly those) and whether
 * they may be erased and written.
 */
#ifndef OMV_DFUSE_LAYOUT_H
#define OMV_DFUSE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/** Capability bits of a run (the type letter's low three bits). */
enum {
    DFUSE_MEM_READABLE = 1,
    DFUSE_MEM_ERASABLE = 2,
    DFUSE_MEM_WRITEABLE = 4,
};

/** Most runs one layout may have (real devices use 1..6). */
#define DFUSE_LAYOUT_MAX_RUNS 32
/** Size of dfuse_layout.name, NUL included. */
#define DFUSE_LAYOUT_NAME_MAX 64

/** COUNT sectors of SECTOR_SIZE bytes from START, all with CAPS. */
typedef struct dfuse_run {
    uint32_t start;
    uint32_t sector_size; /**< >= 1 */
    uint32_t count;       /**< >= 1 (runs with COUNT 0 are dropped) */
    uint8_t caps;         /**< DFUSE_MEM_* */
} dfuse_run;

typedef struct dfuse_layout {
    char name[DFUSE_LAYOUT_NAME_MAX]; /**< "Internal Flash": trailing blanks removed,
                                           control characters shown as '?' */
    size_t n_runs;                    /**< may be 0 ("/0x00000000/0*4Kg") */
    dfuse_run runs[DFUSE_LAYOUT_MAX_RUNS];
} dfuse_layout;

/** One sector: where it starts, its size and capabilities. */
typedef struct dfuse_sector {
    uint32_t start;
    uint32_t size;
    uint8_t caps;
} dfuse_sector;

/**
 * Parse an interface string. @p s must not be NULL; @p err may be NULL.
 * @return 0 and a filled @p out, or -1 with a one-line reason in @p err that
 *         names the byte offset ("offset 27: expected '*' after the count 04"):
 *         missing '@', empty or over-long name, bad hex address, count or size
 *         missing or over 9 digits, unknown unit or type letter, a run that
 *         overflows the 32-bit address space, runs that overlap, more than
 *         DFUSE_LAYOUT_MAX_RUNS runs, trailing garbage.
 */
int dfuse_layout_parse(const char *s, dfuse_layout *out, char *err, size_t errlen);

/**
 * The sector containing @p addr.
 * @return 1 and *out filled, or 0 if no run holds @p addr.
 */
int dfuse_layout_find(const dfuse_layout *l, uint32_t addr, dfuse_sector *out);

/**
 * Walk the sectors the byte range [*cursor, end) touches, in address order.
 * Start with *cursor = first address; each call fills *out with the sector
 * holding *cursor and moves *cursor to the sector's end.
 * @return 1 (sector in *out), 0 (the range is done: *cursor >= end), or -1
 *         (*cursor is in no run: the range leaves the layout there).
 */
int dfuse_layout_walk(const dfuse_layout *l, uint64_t *cursor, uint64_t end, dfuse_sector *out);

/**
 * Check that [addr, addr + len) lies inside the layout and that every sector
 * it touches has all the capability bits in @p need (e.g. DFUSE_MEM_ERASABLE |
 * DFUSE_MEM_WRITEABLE before a download). @p len 0 checks nothing but @p addr.
 * @return the number of sectors touched (>= 1), or -1 with a one-line reason
 *         naming the first offending address in @p err (may be NULL).
 */
long dfuse_layout_check(const dfuse_layout *l, uint32_t addr, uint64_t len, uint8_t need,
                        char *err, size_t errlen);

/** "rew"-style text of caps ("r-w"), for messages; @p buf needs 4 bytes. */
const char *dfuse_caps_str(uint8_t caps, char buf[4]);

#endif
