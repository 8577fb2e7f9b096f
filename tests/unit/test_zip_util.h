/* Zip archives built at test time with libzip, and byte patches to break them. */
#ifndef OMV_TEST_ZIP_UTIL_H
#define OMV_TEST_ZIP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/** How an entry is stored. */
enum tz_how {
    TZ_STORE = 0,     /**< stored (method 0) */
    TZ_DEFLATE,       /**< deflated (method 8) */
    TZ_BZIP2,         /**< bzip2 (method 12): valid zip, not accepted by omvflash */
    TZ_AES,           /**< deflated and AES-256 encrypted */
    TZ_PKWARE,        /**< deflated with traditional PKWARE encryption */
    TZ_SYMLINK,       /**< stored, Unix mode S_IFLNK|0777 in the external attributes */
    TZ_DIR,           /**< a directory entry (name ends in '/'), no data */
};

/** One entry: @p data (or a generated pattern when data is NULL) of @p size bytes. */
typedef struct tz_entry {
    const char *name;
    enum tz_how how;
    const void *data;
    uint64_t size;
    unsigned seed;    /**< pattern: byte i = tz_pattern_byte(i, seed) */
} tz_entry;

/** Byte @p i of generated pattern @p seed: pseudo-random for odd seeds (does not
 *  compress), a repeating ramp for even ones (compresses well). */
uint8_t tz_pattern_byte(uint64_t i, unsigned seed);

/** Write the archive @p path with @p n entries (aborts on any libzip error). */
void tz_write(const char *path, const tz_entry *e, size_t n);

/**
 * Replace the first @p count occurrences of @p len bytes @p from with @p to
 * in file @p path (same length); returns how many were replaced.
 */
int tz_patch(const char *path, const void *from, const void *to, size_t len, int count);

/** Offset of the first occurrence of @p len bytes @p what in @p path, or -1. */
long tz_find(const char *path, const void *what, size_t len);

/** XOR the byte at @p off of @p path with @p mask. */
void tz_flip(const char *path, long off, uint8_t mask);

/**
 * Rewrite @p path's end records in their zip64 form (APPNOTE 4.3.14-4.3.15):
 * a zip64 end record and locator, and the classic record's fields set to
 * 0xFFFF/0xFFFFFFFF, as archivers write them past 65535 entries or 4 GiB.
 * The archive must have no comment.
 */
void tz_to_zip64(const char *path);

/** Cut @p path to @p size bytes. */
void tz_truncate(const char *path, uint64_t size);

#endif
