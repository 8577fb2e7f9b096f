/*
 * libFuzzer harness: the DfuSe .dfu parser (plugins/dfuse/dfuse_file.h),
 * reading through a memory source of exactly the file's size (ASan catches a
 * byte too many). Byte 0 is a mode: if its bit 0 is set the harness first
 * writes the correct suffix CRC over the rest, so mutations reach the
 * structure checks behind the CRC. A parsed file must be exactly described by
 * its tables: every element inside the images, in file order, tables
 * consistent; a refused one must leave a one-line message and no tables.
 * The same bytes then go through the forward-only stream parser (the dfuse
 * plugin's segments op): it must accept exactly the files the random-access
 * parser accepts (with equal tables), never read past the end or backwards.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfuse_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const dfuse_file *f, const dfuse_mem_source *m)
{
    uint64_t image_end = m->size - DFU_SUFFIX_LEN, prev = 0;
    size_t total = 0;
    if (f->n_targets < 1 || f->n_targets > 255 || f->suffix.bcd_dfu != DFUSE_BCD_DFU)
        __builtin_trap();
    for (size_t t = 0; t < f->n_targets; t++) {
        const dfuse_target *tg = &f->targets[t];
        if (tg->first_element != total || !memchr(tg->name, '\0', sizeof(tg->name)) ||
            (!tg->named && tg->name[0]))
            __builtin_trap();
        for (const char *c = tg->name; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7F)
                __builtin_trap(); /* names go into messages: one line */
        total += tg->n_elements;
    }
    if (total != f->n_elements)
        __builtin_trap();
    for (size_t i = 0; i < f->n_elements; i++) {
        const dfuse_element *e = &f->elements[i];
        if (e->offset < DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN + DFUSE_ELEMENT_HEADER_LEN ||
            e->offset < prev || e->offset + e->size > image_end || e->target >= f->n_targets ||
            e->alt != f->targets[e->target].alt || (uint64_t)e->address + e->size > 0x100000000ull)
            __builtin_trap();
        prev = e->offset + e->size;
        uint8_t b;
        if (e->size && (dfuse_read_mem((void *)m, e->offset, &b, 1) != 0 ||
                        dfuse_read_mem((void *)m, e->offset + e->size - 1, &b, 1) != 0))
            __builtin_trap();
    }
}

typedef struct {
    const uint8_t *b;
    size_t n, pos;
} stream_t;

static int next_mem(void *ctx, void *buf, size_t len)
{
    stream_t *s = ctx;
    if (len > s->n - s->pos)
        __builtin_trap(); /* the parser knows the size: it never asks past the end */
    memcpy(buf, s->b + s->pos, len);
    s->pos += len;
    return 0;
}

/* The stream parser agrees with the random-access one (@p ok, @p f). */
static void check_stream(const uint8_t *b, size_t n, int ok, const dfuse_file *f)
{
    stream_t st = {b, n, 0};
    dfuse_file s;
    char err[256] = "";
    int r = dfuse_file_parse_stream(next_mem, &st, n, &s, err, sizeof(err));
    if ((r == 0) != ok || (r != 0 && (!err[0] || strchr(err, '\n') || s.elements || s.targets)))
        __builtin_trap();
    if (r == 0) {
        if (s.n_elements != f->n_elements || st.pos != n)
            __builtin_trap();
        for (size_t i = 0; i < s.n_elements; i++)
            if (s.elements[i].address != f->elements[i].address || s.elements[i].size != f->elements[i].size ||
                s.elements[i].offset != f->elements[i].offset)
                __builtin_trap();
    }
    dfuse_file_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool fix_crc = data[0] & 1;
    size_t n = size - 1;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return 0;
    memcpy(b, data + 1, n);
    if (fix_crc && n >= DFU_SUFFIX_LEN) {
        uint32_t c = dfuse_suffix_crc(0xFFFFFFFFu, b, n - 4);
        for (int i = 0; i < 4; i++)
            b[n - 4 + i] = (uint8_t)(c >> (8 * i));
    }
    dfuse_mem_source m = {b, n};
    dfuse_file f;
    char err[256] = "";
    if (dfuse_file_parse(dfuse_read_mem, &m, n, &f, err, sizeof(err)) == 0) {
        check_file(&f, &m);
        check_stream(b, n, 1, &f);
        dfuse_file_free(&f);
    } else if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof(err)) || f.elements ||
               f.targets) {
        __builtin_trap();
    } else {
        check_stream(b, n, 0, NULL);
    }
    free(b);
    return 0;
}
