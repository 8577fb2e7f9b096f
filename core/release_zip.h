/*
 * Release zips, the zip-specific parts: entry-name rules, the raw central
 * directory, and the archive index built on libzip. The rest of the core
 * reaches releases through release.h; this header is for release*.c, the
 * unit tests and the fuzz harnesses. Nothing here is exported from
 * libomvflash.so; every name starts with omvi_.
 */
#ifndef OMVFLASH_RELEASE_ZIP_H
#define OMVFLASH_RELEASE_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---- entry names (zip_names.c) ------------------------------------------ */

/** Longest entry name accepted, in bytes. */
#define OMVI_ZIP_NAME_MAX 1024u

/**
 * Check one raw entry name of @p len bytes (it may hold NUL bytes) against
 * the rules for release archives: 1 to OMVI_ZIP_NAME_MAX printable ASCII
 * bytes; no '\\' or ':' (Windows separators, drive letters, stream names);
 * not absolute; no empty, "." or ".." component; a trailing '/' marks a
 * directory entry. Nothing in a release needs more, and a name that passes
 * cannot leave the archive's root or mean two different paths.
 * @param why   receives the reason on failure ("'..' component"); may be NULL.
 * @return 0 when the name is acceptable, -1 otherwise.
 */
int omvi_zip_name_check(const char *name, size_t len, char *why, size_t why_len);

/**
 * Copy @p len bytes of @p name into @p out as printable text for messages:
 * bytes outside printable ASCII and '\\' become \xNN; long names are cut with
 * "...". Always NUL-terminates (@p out_len > 0).
 */
void omvi_zip_name_escape(const char *name, size_t len, char *out, size_t out_len);

/**
 * Find two names in @p names (@p n checked names, directory entries ending in
 * '/') that would be the same path on a case-insensitive file system or
 * that make one path both a file and a folder ("A" and "a/b", "A" and "A/").
 * ASCII letters are compared without case (names are ASCII, see
 * omvi_zip_name_check()).
 * @return 1 with *first < *second set to the clashing indexes, 0 when there is
 *         none, -1 when out of memory.
 */
int omvi_zip_names_clash(const char *const *names, size_t n, size_t *first, size_t *second);

/* ---- raw central directory (zip_cdir.c) ---------------------------------- */

/**
 * One central-directory record's name as stored: raw bytes, not
 * NUL-terminated, possibly holding NUL bytes (which libzip turns into spaces
 * when it reads names, so the names are read here as well).
 */
typedef struct omvi_cdir_entry {
    const uint8_t *name;   /**< into omvi_cdir.buf */
    size_t name_len;
} omvi_cdir_entry;

typedef struct omvi_cdir {
    uint8_t *buf;          /**< the central directory bytes */
    omvi_cdir_entry *v;
    size_t n;
} omvi_cdir;

/** Most entries a release archive may have (a release holds about 100). */
#define OMVI_ZIP_MAX_ENTRIES 4096u

/**
 * Parse the central directory of the zip archive held in @p size bytes read
 * through @p read_at (pread-like: fill @p len bytes at @p off, return 0, or -1
 * with errno set). Finds the end-of-central-directory record (and its zip64
 * form), checks that the directory lies inside the file, and walks its
 * records (at most OMVI_ZIP_MAX_ENTRIES). Used only to see entry names as
 * stored; libzip reads everything else.
 * @return OMV_OK; OMV_E_IMAGE with "not a zip archive" / "corrupt central
 *         directory: ..." (no file name: the caller prefixes it); OMV_E_NOMEM.
 */
omv_status omvi_zip_cdir_read(int (*read_at)(void *ctx, uint64_t off, void *buf, size_t len),
                              void *ctx, uint64_t size, omvi_cdir *out, omv_error *err);
void omvi_zip_cdir_free(omvi_cdir *c);

/* ---- the archive (release_zip.c, release_zip_stream.c) ----------------- */

/** An archive opened with libzip and checked whole (opaque). */
typedef struct omvi_zip omvi_zip;

/**
 * Open the zip archive on @p fd (a regular file opened for reading) and
 * check every entry (see omvi_release_open()). @p label names the archive in
 * messages and is copied. @p fd is consumed: closed on failure, and owned by
 * the archive (closed by omvi_zip_close()) on success; the archive keeps it
 * to see whether the file changes (omvi_zip_identity()).
 * @return OMV_OK; OMV_E_IMAGE ("LABEL: ..."); OMV_E_NOMEM.
 */
omv_status omvi_zip_open_fd(int fd, const char *label, omvi_zip **out, omv_error *err);

/**
 * The same for an archive held in memory (@p data must outlive the archive):
 * the fuzz harness and tests use it.
 */
omv_status omvi_zip_open_buffer(const void *data, size_t size, const char *label, omvi_zip **out,
                                omv_error *err);

/** Close @p z (and its descriptor). NULL is a no-op. Streams must be closed first. */
void omvi_zip_close(omvi_zip *z);

/** The label given at open. */
const char *omvi_zip_label(const omvi_zip *z);

/**
 * The archive file as it was opened (device, inode, size, mtime); all zero
 * for an archive opened from memory.
 */
const omvi_file_id *omvi_zip_identity(const omvi_zip *z);

/** Number of file entries (directory entries are not counted). */
size_t omvi_zip_file_count(const omvi_zip *z);
/** Path of file @p i inside the archive, files sorted by path ("OPENMV4/firmware.bin"). */
const char *omvi_zip_file_path(const omvi_zip *z, size_t i);
/** Uncompressed size of file @p i as the central directory records it. */
uint64_t omvi_zip_file_size(const omvi_zip *z, size_t i);
/** Index of the file at exactly @p path, or -1. */
long omvi_zip_find(const omvi_zip *z, const char *path);

/** An entry being streamed (opaque). */
typedef struct omvi_zip_stream omvi_zip_stream;

/**
 * Stream file @p i (decompressed). The source fails with OMV_E_IMAGE
 * ("LABEL: entry 'PATH': ...") on a corrupt or short entry, one longer than
 * its recorded size, and on a CRC-32 mismatch, which libzip can tell only at
 * the entry's end: the read() that delivers the last byte reports it, as it
 * reports an archive file whose size or mtime changed since it was opened.
 * @return OMV_OK; OMV_E_IMAGE; OMV_E_NOMEM.
 */
omv_status omvi_zip_stream_open(omvi_zip *z, size_t i, omvi_zip_stream **out, omv_error *err);
const struct omv_source *omvi_zip_stream_source(omvi_zip_stream *s);
void omvi_zip_stream_close(omvi_zip_stream *s);

#endif /* OMVFLASH_RELEASE_ZIP_H */
