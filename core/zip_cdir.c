/*
 * The raw central directory of a zip archive (PKWARE APPNOTE.TXT 4.3.12,
 * 4.3.14-4.3.16): only to see entry names exactly as stored. libzip reads
 * names through a routine that replaces NUL bytes with spaces, so a name
 * with an embedded NUL would pass every check as a harmless-looking name.
 * libzip does all the real reading; the release index cross-checks the two
 * views (same count, same names), so an archive they disagree about is
 * refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "release_zip.h"

#define EOCD_SIG 0x06054b50u
#define EOCD_LEN 22u
#define Z64_LOCATOR_SIG 0x07064b50u
#define Z64_LOCATOR_LEN 20u
#define Z64_EOCD_SIG 0x06064b50u
#define Z64_EOCD_LEN 56u
#define CDIR_SIG 0x02014b50u
#define CDIR_LEN 46u
#define MAX_COMMENT 65535u
/* 4096 records of 46 bytes with 1024-byte names and some extra fields. */
#define MAX_CDIR_BYTES (16u * 1024u * 1024u)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

typedef struct reader {
    int (*read_at)(void *ctx, uint64_t off, void *buf, size_t len);
    void *ctx;
    uint64_t size;
} reader;

static omv_status rd(const reader *r, uint64_t off, void *buf, size_t len, omv_error *err)
{
    if (off > r->size || len > r->size - off)
        return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: record beyond the end of the file");
    if (r->read_at(r->ctx, off, buf, len) != 0) {
        char eb[128];
        return omv_error_set(err, OMV_E_IMAGE, "read error at offset %llu: %s",
                             (unsigned long long)off, omvi_strerror(errno, eb, sizeof eb));
    }
    return OMV_OK;
}

/* The last end-of-central-directory record whose comment ends the file. */
static omv_status find_eocd(const reader *r, uint64_t *pos, uint8_t rec[EOCD_LEN], omv_error *err)
{
    if (r->size < EOCD_LEN)
        return omv_error_set(err, OMV_E_IMAGE, "not a zip archive (too short, truncated?)");
    size_t tail = r->size < EOCD_LEN + MAX_COMMENT ? (size_t)r->size : EOCD_LEN + MAX_COMMENT;
    uint8_t *buf = malloc(tail);
    if (!buf)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    omv_status st = rd(r, r->size - tail, buf, tail, err);
    for (size_t i = tail - EOCD_LEN + 1; st == OMV_OK && i-- > 0;) {
        if (le32(buf + i) == EOCD_SIG && i + EOCD_LEN + le16(buf + i + 20) == tail) {
            memcpy(rec, buf + i, EOCD_LEN);
            *pos = r->size - tail + i;
            free(buf);
            return OMV_OK;
        }
    }
    free(buf);
    if (st != OMV_OK)
        return st;
    return omv_error_set(err, OMV_E_IMAGE,
                         "not a zip archive (no end-of-central-directory record: truncated, or "
                         "another format)");
}

/* Directory size, offset and count; zip64 when the classic fields overflow. */
static omv_status locate(const reader *r, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count,
                         omv_error *err)
{
    uint8_t e[EOCD_LEN] = {0};
    uint64_t pos = 0;
    omv_status st = find_eocd(r, &pos, e, err);
    if (st != OMV_OK)
        return st;
    if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != le16(e + 10))
        return omv_error_set(err, OMV_E_IMAGE, "multi-volume (split) zip archives are not supported");
    *count = le16(e + 10);
    *cd_size = le32(e + 12);
    *cd_off = le32(e + 16);
    uint64_t end = pos; /* the directory must end where the next record starts */
    if (*count == 0xFFFF || *cd_size == 0xFFFFFFFFu || *cd_off == 0xFFFFFFFFu) {
        uint8_t loc[Z64_LOCATOR_LEN], z[Z64_EOCD_LEN];
        if (pos < Z64_LOCATOR_LEN)
            return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: zip64 locator missing");
        if ((st = rd(r, pos - Z64_LOCATOR_LEN, loc, sizeof loc, err)) != OMV_OK)
            return st;
        if (le32(loc) != Z64_LOCATOR_SIG)
            return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: zip64 locator missing");
        end = le64(loc + 8);
        if ((st = rd(r, end, z, sizeof z, err)) != OMV_OK)
            return st;
        if (le32(z) != Z64_EOCD_SIG)
            return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: bad zip64 record");
        *count = le64(z + 32);
        *cd_size = le64(z + 40);
        *cd_off = le64(z + 48);
    }
    if (*count > OMVI_ZIP_MAX_ENTRIES)
        return omv_error_set(err, OMV_E_IMAGE, "%llu entries (a release archive has at most %u)",
                             (unsigned long long)*count, OMVI_ZIP_MAX_ENTRIES);
    if (*cd_size > MAX_CDIR_BYTES || *cd_off > end || *cd_size != end - *cd_off)
        return omv_error_set(err, OMV_E_IMAGE,
                             "corrupt central directory: %llu bytes at offset %llu do not end at "
                             "offset %llu (truncated or extended archive?)",
                             (unsigned long long)*cd_size, (unsigned long long)*cd_off,
                             (unsigned long long)end);
    return OMV_OK;
}

static omv_status walk(omvi_cdir *c, size_t size, size_t count, omv_error *err)
{
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = c->buf + off;
        if (size - off < CDIR_LEN || le32(p) != CDIR_SIG)
            return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: record %zu of %zu "
                                                   "is damaged", i + 1, count);
        size_t rec = CDIR_LEN + (size_t)le16(p + 28) + le16(p + 30) + le16(p + 32);
        if (rec > size - off)
            return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: record %zu of %zu "
                                                   "runs past its end", i + 1, count);
        c->v[i].name = p + CDIR_LEN;
        c->v[i].name_len = le16(p + 28);
        off += rec;
    }
    if (off != size)
        return omv_error_set(err, OMV_E_IMAGE, "corrupt central directory: %zu bytes after its %zu "
                                               "records", size - off, count);
    c->n = count;
    return OMV_OK;
}

omv_status omvi_zip_cdir_read(int (*read_at)(void *ctx, uint64_t off, void *buf, size_t len),
                              void *ctx, uint64_t size, omvi_cdir *out, omv_error *err)
{
    memset(out, 0, sizeof *out);
    reader r = {read_at, ctx, size};
    uint64_t cd_off = 0, cd_size = 0, count = 0;
    omv_status st = locate(&r, &cd_off, &cd_size, &count, err);
    if (st != OMV_OK)
        return st;
    out->buf = malloc(cd_size ? (size_t)cd_size : 1);
    out->v = calloc(count ? (size_t)count : 1, sizeof *out->v);
    if (!out->buf || !out->v) {
        omvi_zip_cdir_free(out);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    st = rd(&r, cd_off, out->buf, (size_t)cd_size, err);
    if (st == OMV_OK)
        st = walk(out, (size_t)cd_size, (size_t)count, err);
    if (st != OMV_OK)
        omvi_zip_cdir_free(out);
    return st;
}

void omvi_zip_cdir_free(omvi_cdir *c)
{
    free(c->buf);
    free(c->v);
    memset(c, 0, sizeof *c);
}
