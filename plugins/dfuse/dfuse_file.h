/*
 * ST DfuSe ".dfu" files (ST UM0391; as written by MicroPython's tools/dfu.py
 * and read by dfu-util and fwupd), parsed from a read callback so a caller
 * can stream element data straight from the file instead of loading it:
 *
 *   prefix   11 B   "DfuSe", version 1, u32 image size (file - suffix), u8 targets
 *   target  274 B   "Target", u8 alt, u32 named, char name[255], u32 size,
 *                   u32 element count; then the elements:
 *   element   8 B   u32 address, u32 size; then size bytes of data
 *   suffix   16 B   u16 bcdDevice, u16 idProduct, u16 idVendor, u16 bcdDFU
 *                   (0x011A), "UFD", u8 length 16, u32 CRC
 *
 * All fields little-endian. The suffix CRC is the one dfu-util computes:
 * reflected CRC-32 (zlib's polynomial), initial value 0xFFFFFFFF, no final
 * XOR, over every byte but the CRC itself: the bitwise NOT of zlib crc32().
 *
 * Parsing is strict: every size is checked against the bytes that hold it
 * (no field may claim data beyond its container, nothing may be left over),
 * so a file that parses is exactly described by the element table.
 */
#ifndef OMV_DFUSE_FILE_H
#define OMV_DFUSE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DFUSE_PREFIX_LEN 11u
#define DFUSE_TARGET_PREFIX_LEN 274u
#define DFUSE_ELEMENT_HEADER_LEN 8u
#define DFU_SUFFIX_LEN 16u
#define DFUSE_BCD_DFU 0x011Au
/** VID/PID/bcdDevice value that matches any device (DFU 1.1). */
#define DFU_SUFFIX_WILDCARD 0xFFFFu

/**
 * Read exactly @p len bytes at byte @p offset of the file into @p buf.
 * @return 0, or -1 if they cannot be read (the parser reports the offset).
 */
typedef int (*dfuse_read_fn)(void *ctx, uint64_t offset, void *buf, size_t len);

typedef struct dfuse_suffix {
    uint16_t bcd_device, product, vendor, bcd_dfu;
    uint32_t crc;
} dfuse_suffix;

/** One element: its data are file bytes [offset, offset + size). */
typedef struct dfuse_element {
    uint32_t address;
    uint32_t size;
    uint64_t offset;
    uint8_t alt;      /**< alt setting of its target */
    uint8_t target;   /**< index into dfuse_file.targets */
} dfuse_element;

typedef struct dfuse_target {
    uint8_t alt;
    bool named;
    char name[256];          /**< NUL-terminated; "" when not named; control
                                  characters shown as '?' */
    uint32_t n_elements;
    size_t first_element;    /**< index of its first element in dfuse_file.elements */
} dfuse_target;

typedef struct dfuse_file {
    uint64_t size;           /**< bytes in the file */
    dfuse_suffix suffix;
    size_t n_targets;        /**< 1..255 */
    dfuse_target *targets;
    size_t n_elements;       /**< all targets', in file order */
    dfuse_element *elements;
} dfuse_file;

/**
 * Parse a DfuSe file of @p size bytes read through @p rd (not NULL).
 * Reads the whole file once for the CRC, in 64 KB pieces; keeps only the
 * target and element tables (allocated; free with dfuse_file_free()).
 * @return 0 and a filled @p out, or -1 with @p out empty and a one-line
 *         reason in @p err (may be NULL) naming the part and the byte offset:
 *         file shorter than a suffix, no "UFD" signature, suffix length not
 *         16, bcdDFU not 0x011A, CRC mismatch (both values), no "DfuSe"
 *         signature, version not 1, prefix image size not the file size minus
 *         the suffix, no targets, no "Target" signature, a target, element
 *         header or element data running past its container, an element
 *         past the 32-bit address space, bytes left over, a read failure,
 *         out of memory.
 */
int dfuse_file_parse(dfuse_read_fn rd, void *ctx, uint64_t size, dfuse_file *out, char *err,
                     size_t errlen);

/**
 * Read exactly the next @p len bytes of the file into @p buf (a forward-only
 * stream). @return 0, or -1 if they cannot be read.
 */
typedef int (*dfuse_next_fn)(void *ctx, void *buf, size_t len);

/**
 * dfuse_file_parse() over a forward-only stream of @p size bytes (a file
 * being decompressed, a pipe): one pass in file order, the CRC computed on
 * the way, nothing buffered but one 64 KB piece. The checks and messages are
 * those of dfuse_file_parse(); only their order differs: the structure is
 * checked before the suffix, so a file with both a bad structure and a bad
 * CRC reports the structure. The stream is read up to the first error, or
 * whole.
 */
int dfuse_file_parse_stream(dfuse_next_fn next, void *ctx, uint64_t size, dfuse_file *out, char *err,
                            size_t errlen);

/** Release the tables of a parsed file (safe on a zeroed or freed one). */
void dfuse_file_free(dfuse_file *f);

/**
 * Whether the suffix's VID:PID names this device: equal, or 0xFFFF (wildcard).
 * A caller with several acceptable ids (Arduino images carry the Portenta's
 * 2341:035B for every Arduino board) calls it once per id.
 */
bool dfuse_suffix_matches(const dfuse_suffix *s, uint16_t vid, uint16_t pid);

/** Reflected CRC-32 of @p len bytes without the final XOR, continuing from
 * @p crc (start with 0xFFFFFFFF): the DFU suffix CRC. */
uint32_t dfuse_suffix_crc(uint32_t crc, const void *buf, size_t len);

/** dfuse_read_fn over a memory buffer: @p ctx points at a dfuse_mem_source. */
typedef struct dfuse_mem_source {
    const uint8_t *data;
    size_t size;
} dfuse_mem_source;
int dfuse_read_mem(void *ctx, uint64_t offset, void *buf, size_t len);

/** dfuse_read_fn over a stdio stream: @p ctx is the FILE * (seeks with fseeko). */
int dfuse_read_stdio(void *ctx, uint64_t offset, void *buf, size_t len);

#endif
