/*
 * What an image is, from its bytes alone, in one streaming pass: its SHA-256
 * (nettle) and which cameras' arch strings it carries. OpenMV firmware
 * compiles its board's OMV_BOARD_ARCH ("OMV4 H7 1024") in as a
 * NUL-terminated string literal (`omv.arch()`, FW modules/py_omv.c), so an
 * image built for a camera holds that string followed by a NUL. ROMFS images
 * and Wi-Fi blobs hold none: for them the answer is "no marker", not a
 * guess. Nothing here is exported from libomvflash.so.
 */
#ifndef OMVFLASH_IMAGE_ID_H
#define OMVFLASH_IMAGE_ID_H

#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

#include "omvflash/plugin.h"
#include "omvflash/status.h"

/** Bytes of a SHA-256 digest. */
#define OMVI_SHA256_LEN 32
/** Most arch strings one scan looks for (one per board file). */
#define OMVI_ARCH_SCAN_MAX 32
/** Longest arch string (the firmware's 64-byte ARCH_STR buffer holds it and a NUL). */
#define OMVI_ARCH_SCAN_LEN 63

/**
 * A streaming search for arch strings. Each needle matches where its text is
 * followed by a NUL byte, anywhere in the stream, across chunk boundaries.
 * Where several needles end at the same NUL (one is a tail of another, like
 * "H7 1024" and "OMV4 H7 1024"), only the longest counts: the shorter one is
 * part of the longer literal, not a literal of its own. The bytes before a
 * match are not looked at (linkers may store a string as the tail of another
 * string that ends the same way).
 */
typedef struct omvi_arch_scan {
    const char *needle[OMVI_ARCH_SCAN_MAX]; /**< caller's strings; must outlive the scan */
    size_t len[OMVI_ARCH_SCAN_MAX];
    size_t n;
    size_t max_len;
    uint8_t carry[OMVI_ARCH_SCAN_LEN];      /**< the stream's last max_len bytes */
    size_t carry_len;
    uint64_t pos;                           /**< bytes fed so far */
    int found[OMVI_ARCH_SCAN_MAX];
    uint64_t offset[OMVI_ARCH_SCAN_MAX];    /**< where the first match starts */
} omvi_arch_scan;

/**
 * Prepare a scan for @p n needles (0 .. OMVI_ARCH_SCAN_MAX), each 1 to
 * OMVI_ARCH_SCAN_LEN bytes without NUL. NULL entries are allowed and never
 * match (a board without an arch key keeps its place in the list).
 * @return OMV_OK, OMV_E_USAGE (too many needles, a needle too long or empty).
 */
omv_status omvi_arch_scan_init(omvi_arch_scan *s, const char *const *needles, size_t n,
                               omv_error *err);

/** Feed the next @p len bytes of the stream (any chunking gives the same result). */
void omvi_arch_scan_feed(omvi_arch_scan *s, const uint8_t *buf, size_t len);

/**
 * Whether needle @p i occurred; when it did and @p offset is not NULL,
 * *offset receives where its first occurrence starts in the stream.
 */
int omvi_arch_scan_found(const omvi_arch_scan *s, size_t i, uint64_t *offset);

/** What one pass over an image found. */
typedef struct omvi_image_id {
    uint64_t size;                        /**< bytes read (= the source's size) */
    uint8_t sha256[OMVI_SHA256_LEN];
    char sha256_hex[2 * OMVI_SHA256_LEN + 1]; /**< lower-case hex, as sha256sum prints it */
} omvi_image_id;

/**
 * Read @p src to its end once, computing its SHA-256 and, when @p scan is not
 * NULL, feeding @p scan (initialised by the caller, which then asks it what
 * was found). A source that ends early, or fails (a zip entry's CRC-32 is
 * checked on its last read), fails this call, so a successful pass also
 * means the image can be read whole.
 * @return OMV_OK; the source's error (OMV_E_IMAGE), with @p label prefixed
 *         when it is not NULL; OMV_E_NOMEM.
 */
omv_status omvi_image_identify(const struct omv_source *src, const char *label, omvi_arch_scan *scan,
                               omvi_image_id *out, omv_error *err);

/**
 * A source that passes another through and checks, on the read that delivers
 * its last byte, that the bytes had the SHA-256 @p expect (from an earlier
 * omvi_image_identify()): what was checked is exactly what is written, even if
 * the file changed between the two passes.
 */
typedef struct omvi_sha256_check {
    struct omv_source src;                /**< hand this to the transport */
    const struct omv_source *inner;
    const char *label;
    uint8_t expect[OMVI_SHA256_LEN];
    uint64_t done;
    struct sha256_ctx ctx;
} omvi_sha256_check;

/**
 * Set up @p c over @p inner (same size). @p label (may be NULL) names the
 * image in the mismatch message and must outlive @p c.
 */
void omvi_sha256_check_init(omvi_sha256_check *c, const struct omv_source *inner, const char *label,
                            const uint8_t expect[OMVI_SHA256_LEN]);

#endif /* OMVFLASH_IMAGE_ID_H */
