/*
 * libFuzzer harness: the DfuSe .dfu parser (plugins/dfuse/dfuse_file.h),
 * reading through a memory source of exactly the file's size (ASan catches a
 * byte too many). Byte 0 is a mode: if its bit 0 is set the harness first
 * writes the correct suffix CRC over the rest, so mutations reach the
 * structure checks behind the CRC. A parsed file must be exactly described by
 * its tables: every element inside the images, in file order, tables
 * consistent; a refused one must leave a one-line message and no tables.
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
        dfuse_file_free(&f);
    } else if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof(err)) || f.elements ||
               f.targets) {
        __builtin_trap();
    }
    free(b);
    return 0;
}
