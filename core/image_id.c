/*
 * Image identity: SHA-256 (nettle) and arch strings, streamed.
 *
 * The arch search needs no general multi-pattern matcher: every needle ends
 * in a NUL byte, so a match can only end at a NUL. At each NUL the bytes
 * before it are compared with each needle (a handful, at most 63 bytes), the
 * bytes from earlier chunks coming from a carry of the stream's last
 * max_len bytes. Runs of NULs (padding, .bss images) cost one comparison
 * each: a needle never ends in NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "image_id.h"
#include "internal.h"

omv_status omvi_arch_scan_init(omvi_arch_scan *s, const char *const *needles, size_t n,
                               omv_error *err)
{
    memset(s, 0, sizeof *s);
    if (n > OMVI_ARCH_SCAN_MAX)
        return omv_error_set(err, OMV_E_USAGE, "at most %d arch strings per scan (%zu given)",
                             OMVI_ARCH_SCAN_MAX, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = needles[i] ? strlen(needles[i]) : 0;
        if (needles[i] && (len == 0 || len > OMVI_ARCH_SCAN_LEN))
            return omv_error_set(err, OMV_E_USAGE, "arch string '%.80s' must be 1 to %d bytes",
                                 needles[i], OMVI_ARCH_SCAN_LEN);
        s->needle[i] = needles[i];
        s->len[i] = len;
        if (len > s->max_len)
            s->max_len = len;
    }
    s->n = n;
    return OMV_OK;
}

/* Do the @p len bytes before chunk index @p i (carry, then chunk) equal @p want? */
static int ends_with(const omvi_arch_scan *s, const uint8_t *buf, size_t i, const char *want,
                     size_t len)
{
    if (i >= len)
        return memcmp(buf + i - len, want, len) == 0;
    size_t from_carry = len - i;
    if (from_carry > s->carry_len)
        return 0;
    return memcmp(s->carry + s->carry_len - from_carry, want, from_carry) == 0 &&
           memcmp(buf, want + from_carry, i) == 0;
}

/* The NUL at chunk index @p i: record the longest needles ending right before it. */
static void at_nul(omvi_arch_scan *s, const uint8_t *buf, size_t i)
{
    size_t hit[OMVI_ARCH_SCAN_MAX];
    size_t nhit = 0, longest = 0;
    for (size_t k = 0; k < s->n; k++) {
        size_t L = s->len[k];
        if (!L || !ends_with(s, buf, i, s->needle[k], L))
            continue;
        hit[nhit++] = k;
        if (L > longest)
            longest = L;
    }
    for (size_t h = 0; h < nhit; h++) {
        size_t k = hit[h];
        if (s->len[k] != longest || s->found[k])
            continue;
        s->found[k] = 1;
        s->offset[k] = s->pos + i - s->len[k];
    }
}

static void keep_tail(omvi_arch_scan *s, const uint8_t *buf, size_t len)
{
    if (len >= s->max_len) {
        memcpy(s->carry, buf + len - s->max_len, s->max_len);
        s->carry_len = s->max_len;
        return;
    }
    size_t keep = s->carry_len + len > s->max_len ? s->max_len - len : s->carry_len;
    memmove(s->carry, s->carry + s->carry_len - keep, keep);
    memcpy(s->carry + keep, buf, len);
    s->carry_len = keep + len;
}

void omvi_arch_scan_feed(omvi_arch_scan *s, const uint8_t *buf, size_t len)
{
    if (!s->max_len || !len) {
        s->pos += len;
        return;
    }
    const uint8_t *p = buf, *end = buf + len;
    while (p < end && (p = memchr(p, 0, (size_t)(end - p)))) {
        size_t i = (size_t)(p - buf);
        uint8_t prev = i ? buf[i - 1] : s->carry_len ? s->carry[s->carry_len - 1] : 0;
        if (prev != 0)
            at_nul(s, buf, i);
        p++;
    }
    keep_tail(s, buf, len);
    s->pos += len;
}

int omvi_arch_scan_found(const omvi_arch_scan *s, size_t i, uint64_t *offset)
{
    if (i >= s->n || !s->found[i])
        return 0;
    if (offset)
        *offset = s->offset[i];
    return 1;
}

/* ---- one pass: SHA-256 and the scan ------------------------------------- */

#define ID_CHUNK (64 * 1024)

static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

omv_status omvi_image_identify(const struct omv_source *src, const char *label, omvi_arch_scan *scan,
                               omvi_image_id *out, omv_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = malloc(ID_CHUNK);
    if (!buf)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    omv_status st = OMV_OK;
    while (out->size < src->size) {
        size_t want = src->size - out->size < ID_CHUNK ? (size_t)(src->size - out->size) : ID_CHUNK;
        size_t got = 0;
        st = src->read(src->ctx, buf, want, &got, err);
        if (st == OMV_OK && got == 0)
            st = omv_error_set(err, OMV_E_IMAGE, "ends after %llu of its %llu bytes",
                               (unsigned long long)out->size, (unsigned long long)src->size);
        if (st != OMV_OK)
            break;
        sha256_update(&ctx, got, buf);
        if (scan)
            omvi_arch_scan_feed(scan, buf, got);
        out->size += got;
    }
    free(buf);
    if (st != OMV_OK)
        return label ? omv_error_prefix(err, "%s", label) : st;
    sha256_digest(&ctx, OMVI_SHA256_LEN, out->sha256);
    to_hex(out->sha256, OMVI_SHA256_LEN, out->sha256_hex);
    return OMV_OK;
}

/* ---- the check on the second pass ---------------------------------------- */

static omv_status check_read(void *vctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    omvi_sha256_check *c = vctx;
    omv_status st = c->inner->read(c->inner->ctx, buf, len, got, err);
    if (st != OMV_OK)
        return st;
    sha256_update(&c->ctx, *got, buf);
    c->done += *got;
    if (c->done < c->src.size || (*got == 0 && c->src.size != 0))
        return OMV_OK;
    uint8_t d[OMVI_SHA256_LEN];
    sha256_digest(&c->ctx, OMVI_SHA256_LEN, d); /* also resets ctx: a repeat read hashes nothing */
    if (memcmp(d, c->expect, sizeof d) == 0)
        return OMV_OK;
    char was[2 * OMVI_SHA256_LEN + 1], now[2 * OMVI_SHA256_LEN + 1];
    to_hex(c->expect, OMVI_SHA256_LEN, was);
    to_hex(d, OMVI_SHA256_LEN, now);
    return omv_error_set(err, OMV_E_IMAGE,
                         "%s%schanged since it was checked (SHA-256 %.16s..., now %.16s...)",
                         c->label ? c->label : "", c->label ? ": " : "", was, now);
}

static omv_status check_skip(void *ctx, uint64_t n, omv_error *err)
{
    omvi_sha256_check *c = ctx;
    return omvi_source_skip_by_reading(&c->src, n, err);
}

void omvi_sha256_check_init(omvi_sha256_check *c, const struct omv_source *inner, const char *label,
                            const uint8_t expect[OMVI_SHA256_LEN])
{
    memset(c, 0, sizeof *c);
    c->inner = inner;
    c->label = label;
    memcpy(c->expect, expect, OMVI_SHA256_LEN);
    sha256_init(&c->ctx);
    c->src.ctx = c;
    c->src.size = inner->size;
    c->src.read = check_read;
    c->src.skip = check_skip; /* skipped bytes are hashed too: the digest covers the whole image */
}
