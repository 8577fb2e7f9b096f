#define _POSIX_C_SOURCE 200809L /* fseeko */
#include "dfuse_file.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CRC_CHUNK 65536u

typedef struct {
    dfuse_read_fn rd;    /* random access; NULL in stream mode */
    dfuse_next_fn next;  /* stream mode: the bytes that follow */
    void *ctx;
    uint64_t size;
    char *err;
    size_t errlen;
    dfuse_file *f;
    size_t cap;          /* elements allocated */
    uint64_t pos;        /* stream mode: bytes consumed */
    uint32_t crc;        /* stream mode: CRC of bytes [0, min(pos, size - 4)) */
    uint8_t *chunk;      /* stream mode: buffer for the bytes between the parts */
} parser;

typedef unsigned long long ull;

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *p, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint16_t le16(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t crc_upto(uint32_t crc, uint64_t pos, const uint8_t *buf, size_t len, uint64_t limit);

/* Stream mode: take @p len bytes from the stream into @p buf, the CRC running over them. */
static int take(parser *p, void *buf, size_t len)
{
    if (p->next(p->ctx, buf, len) != 0)
        return -1;
    p->crc = crc_upto(p->crc, p->pos, buf, len, p->size - 4);
    p->pos += len;
    return 0;
}

/* Stream mode: pass over the bytes up to @p off (element data), keeping the CRC. */
static int pass_to(parser *p, uint64_t off)
{
    while (p->pos < off) {
        size_t n = off - p->pos > CRC_CHUNK ? CRC_CHUNK : (size_t)(off - p->pos);
        if (take(p, p->chunk, n) != 0)
            return -1;
    }
    return 0;
}

static int get(parser *p, uint64_t off, void *buf, size_t len, const char *what)
{
    if (off > p->size || len > p->size - off)
        return fail(p, "cannot read the %s (%zu bytes at offset %llu)", what, len, (ull)off);
    if (p->next) { /* parts are read in file order; never backwards */
        if (off < p->pos || pass_to(p, off) != 0 || take(p, buf, len) != 0)
            return fail(p, "cannot read the %s (%zu bytes at offset %llu)", what, len, (ull)off);
        return 0;
    }
    if (p->rd(p->ctx, off, buf, len) != 0)
        return fail(p, "cannot read the %s (%zu bytes at offset %llu)", what, len, (ull)off);
    return 0;
}

uint32_t dfuse_suffix_crc(uint32_t crc, const void *buf, size_t len)
{
    /* zlib's crc32() conditions its input and output with a NOT; undo both. */
    const Bytef *b = buf;
    uLong z = ~crc & 0xFFFFFFFFul;
    while (len) {
        uInt n = len > CRC_CHUNK ? CRC_CHUNK : (uInt)len;
        z = crc32(z, b, n);
        b += n;
        len -= n;
    }
    return (uint32_t)(~z & 0xFFFFFFFFul);
}

/* Continue @p crc over the part of buf (file bytes [pos, pos + len)) that lies below @p limit. */
static uint32_t crc_upto(uint32_t crc, uint64_t pos, const uint8_t *buf, size_t len, uint64_t limit)
{
    if (pos >= limit)
        return crc;
    return dfuse_suffix_crc(crc, buf, limit - pos < len ? (size_t)(limit - pos) : len);
}

/* The CRC of every byte but the last 4: from the stream's running CRC, or read again. */
static int file_crc(parser *p, uint32_t *out)
{
    if (p->next) {
        *out = p->crc;
        return 0;
    }
    uint8_t *buf = malloc(CRC_CHUNK);
    if (!buf)
        return fail(p, "out of memory for the CRC check");
    uint32_t crc = 0xFFFFFFFFu;
    for (uint64_t off = 0; off < p->size - 4;) {
        size_t n = p->size - 4 - off > CRC_CHUNK ? CRC_CHUNK : (size_t)(p->size - 4 - off);
        if (get(p, off, buf, n, "file") < 0) {
            free(buf);
            return -1;
        }
        crc = dfuse_suffix_crc(crc, buf, n);
        off += n;
    }
    free(buf);
    *out = crc;
    return 0;
}

static int check_suffix(parser *p)
{
    uint8_t s[DFU_SUFFIX_LEN];
    if (p->size < DFU_SUFFIX_LEN)
        return fail(p, "file has %llu bytes, fewer than a DFU suffix (16)", (ull)p->size);
    if (get(p, p->size - DFU_SUFFIX_LEN, s, sizeof(s), "DFU suffix") < 0)
        return -1;
    if (s[8] != 'U' || s[9] != 'F' || s[10] != 'D')
        return fail(p, "no DFU suffix: the last 16 bytes lack the 'UFD' signature");
    if (s[11] != DFU_SUFFIX_LEN)
        return fail(p, "DFU suffix length is %u, not 16", s[11]);
    dfuse_suffix *x = &p->f->suffix;
    *x = (dfuse_suffix){le16(s), le16(s + 2), le16(s + 4), le16(s + 6), le32(s + 12)};
    if (x->bcd_dfu != DFUSE_BCD_DFU)
        return fail(p, "DFU suffix bcdDFU is 0x%04x, not 0x011A: a plain DFU file without "
                       "DfuSe addresses", x->bcd_dfu);
    uint32_t crc = 0;
    if (file_crc(p, &crc) < 0)
        return -1;
    if (crc != x->crc)
        return fail(p, "DFU suffix CRC is 0x%08x but the file gives 0x%08x: the file is damaged",
                    x->crc, crc);
    return 0;
}

static int add_element(parser *p, const dfuse_element *e)
{
    if (p->f->n_elements == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        dfuse_element *n = realloc(p->f->elements, cap * sizeof(*n));
        if (!n)
            return fail(p, "out of memory for %zu elements", cap);
        p->f->elements = n;
        p->cap = cap;
    }
    p->f->elements[p->f->n_elements++] = *e;
    return 0;
}

/* The elements of target t, in [pos, end). */
static int parse_elements(parser *p, size_t t, uint64_t pos, uint64_t end)
{
    dfuse_target *tg = &p->f->targets[t];
    for (uint32_t i = 0; i < tg->n_elements; i++) {
        uint8_t h[DFUSE_ELEMENT_HEADER_LEN];
        if (pos + sizeof(h) > end)
            return fail(p, "target %zu (alt %u): element %u's header at offset %llu runs past "
                           "the target's end (offset %llu)", t + 1, tg->alt, i + 1, (ull)pos,
                        (ull)end);
        if (get(p, pos, h, sizeof(h), "element header") < 0)
            return -1;
        dfuse_element e = {le32(h), le32(h + 4), pos + sizeof(h), tg->alt, (uint8_t)t};
        if (e.size > end - e.offset)
            return fail(p, "target %zu (alt %u): element %u (0x%08x) at offset %llu: its %u "
                           "bytes run past the target's end (%llu bytes left)", t + 1, tg->alt,
                        i + 1, e.address, (ull)pos, e.size, (ull)(end - e.offset));
        if ((uint64_t)e.address + e.size > 0x100000000ull)
            return fail(p, "target %zu (alt %u): element %u: 0x%08x + %u bytes passes the end of "
                           "the 32-bit address space", t + 1, tg->alt, i + 1, e.address, e.size);
        if (add_element(p, &e) < 0)
            return -1;
        pos = e.offset + e.size;
    }
    if (pos != end)
        return fail(p, "target %zu (alt %u): %llu bytes after its last element (offset %llu)",
                    t + 1, tg->alt, (ull)(end - pos), (ull)pos);
    return 0;
}

static int parse_target(parser *p, size_t t, uint64_t *pos, uint64_t image_end)
{
    uint8_t h[DFUSE_TARGET_PREFIX_LEN];
    if (*pos + sizeof(h) > image_end)
        return fail(p, "target %zu: its 274-byte prefix at offset %llu runs past the images' end "
                       "(offset %llu)", t + 1, (ull)*pos, (ull)image_end);
    if (get(p, *pos, h, sizeof(h), "target prefix") < 0)
        return -1;
    if (memcmp(h, "Target", 6) != 0)
        return fail(p, "target %zu at offset %llu: no 'Target' signature", t + 1, (ull)*pos);
    dfuse_target *tg = &p->f->targets[t];
    tg->alt = h[6];
    tg->named = le32(h + 7) != 0;
    if (tg->named) { /* shown in messages: control characters become '?' */
        for (size_t i = 0; i < 255 && h[11 + i]; i++)
            tg->name[i] = h[11 + i] < 0x20 || h[11 + i] == 0x7F ? '?' : (char)h[11 + i];
    }
    uint32_t tsize = le32(h + 266);
    tg->n_elements = le32(h + 270);
    tg->first_element = p->f->n_elements;
    uint64_t start = *pos + sizeof(h), end = start + tsize;
    if (end > image_end)
        return fail(p, "target %zu (alt %u) at offset %llu: its size %u runs past the images' "
                       "end (%llu bytes left)", t + 1, tg->alt, (ull)*pos, tsize,
                    (ull)(image_end - start));
    if (parse_elements(p, t, start, end) < 0)
        return -1;
    *pos = end;
    return 0;
}

static int parse_images(parser *p)
{
    uint8_t h[DFUSE_PREFIX_LEN];
    uint64_t image_end = p->size - DFU_SUFFIX_LEN;
    if (image_end < sizeof(h))
        return fail(p, "no room for the 11-byte DfuSe prefix before the suffix");
    if (get(p, 0, h, sizeof(h), "DfuSe prefix") < 0)
        return -1;
    if (memcmp(h, "DfuSe", 5) != 0)
        return fail(p, "no 'DfuSe' signature at offset 0");
    if (h[5] != 1)
        return fail(p, "DfuSe format version %u; only version 1 exists", h[5]);
    if (le32(h + 6) != image_end)
        return fail(p, "DfuSe prefix says the images take %u bytes, the file has %llu before its "
                       "suffix", le32(h + 6), (ull)image_end);
    p->f->n_targets = h[10];
    if (!p->f->n_targets)
        return fail(p, "DfuSe file with no targets");
    if (!(p->f->targets = calloc(p->f->n_targets, sizeof(*p->f->targets))))
        return fail(p, "out of memory for %zu targets", p->f->n_targets);
    uint64_t pos = sizeof(h);
    for (size_t t = 0; t < p->f->n_targets; t++)
        if (parse_target(p, t, &pos, image_end) < 0)
            return -1;
    if (pos != image_end)
        return fail(p, "%llu bytes between the last target (ends at offset %llu) and the suffix",
                    (ull)(image_end - pos), (ull)pos);
    return 0;
}

int dfuse_file_parse(dfuse_read_fn rd, void *ctx, uint64_t size, dfuse_file *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    parser p = {.rd = rd, .ctx = ctx, .size = size, .err = err, .errlen = errlen, .f = out};
    out->size = size;
    if (check_suffix(&p) < 0 || parse_images(&p) < 0) {
        dfuse_file_free(out);
        return -1;
    }
    return 0;
}

int dfuse_file_parse_stream(dfuse_next_fn next, void *ctx, uint64_t size, dfuse_file *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof(*out));
    parser p = {.next = next, .ctx = ctx, .size = size, .err = err, .errlen = errlen, .f = out,
                .crc = 0xFFFFFFFFu};
    out->size = size;
    int r = -1;
    if (size < DFU_SUFFIX_LEN)
        fail(&p, "file has %llu bytes, fewer than a DFU suffix (16)", (ull)size);
    else if (!(p.chunk = malloc(CRC_CHUNK)))
        fail(&p, "out of memory for the CRC check");
    else /* in file order: the images, then the suffix (the CRC ran over everything on the way) */
        r = parse_images(&p) < 0 || check_suffix(&p) < 0 ? -1 : 0;
    free(p.chunk);
    if (r < 0)
        dfuse_file_free(out);
    return r;
}

void dfuse_file_free(dfuse_file *f)
{
    free(f->targets);
    free(f->elements);
    memset(f, 0, sizeof(*f));
}

bool dfuse_suffix_matches(const dfuse_suffix *s, uint16_t vid, uint16_t pid)
{
    return (s->vendor == DFU_SUFFIX_WILDCARD || s->vendor == vid) &&
           (s->product == DFU_SUFFIX_WILDCARD || s->product == pid);
}

int dfuse_read_mem(void *ctx, uint64_t offset, void *buf, size_t len)
{
    const dfuse_mem_source *m = ctx;
    if (offset > m->size || len > m->size - offset)
        return -1;
    memcpy(buf, m->data + offset, len);
    return 0;
}

int dfuse_read_stdio(void *ctx, uint64_t offset, void *buf, size_t len)
{
    FILE *f = ctx;
    if (offset > (uint64_t)INT64_MAX || fseeko(f, (off_t)offset, SEEK_SET) != 0)
        return -1;
    return fread(buf, 1, len, f) == len ? 0 : -1;
}
