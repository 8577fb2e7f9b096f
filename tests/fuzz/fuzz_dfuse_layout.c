/*
 * libFuzzer harness: the DfuSe memory-layout parser (plugins/dfuse/
 * dfuse_layout.h). The input, cut at its first NUL, is the interface string.
 * On success the layout's invariants are checked (runs inside the 32-bit
 * space, no overlaps, sectors found where the runs say) and a range taken
 * from the input's last bytes is walked and checked; on failure the message
 * must be one non-empty line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfuse_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_layout(const dfuse_layout *l)
{
    size_t nl = strlen(l->name);
    if (l->n_runs > DFUSE_LAYOUT_MAX_RUNS || nl == 0 || nl >= DFUSE_LAYOUT_NAME_MAX ||
        l->name[nl - 1] == ' ')
        __builtin_trap();
    for (size_t i = 0; i < l->n_runs; i++) {
        const dfuse_run *r = &l->runs[i];
        uint64_t end = (uint64_t)r->start + (uint64_t)r->count * r->sector_size;
        if (!r->count || !r->sector_size || r->caps > 7 || end > 0x100000000ull)
            __builtin_trap();
        for (size_t j = i + 1; j < l->n_runs; j++) {
            const dfuse_run *q = &l->runs[j];
            uint64_t qend = (uint64_t)q->start + (uint64_t)q->count * q->sector_size;
            if (r->start < qend && q->start < end)
                __builtin_trap(); /* overlapping runs must have been refused */
        }
        dfuse_sector s;
        if (dfuse_layout_find(l, r->start, &s) != 1 || s.start != r->start ||
            s.size != r->sector_size || s.caps != r->caps)
            __builtin_trap();
        if (dfuse_layout_find(l, (uint32_t)(end - 1), &s) != 1 ||
            (uint64_t)s.start + s.size != end)
            __builtin_trap();
    }
}

/* Walk [addr, addr+len) and compare with dfuse_layout_check(). */
static void check_range(const dfuse_layout *l, uint32_t addr, uint32_t len)
{
    char err[256] = "";
    long n = dfuse_layout_check(l, addr, len, 0, err, sizeof(err));
    uint64_t cur = addr, end = (uint64_t)addr + (len ? len : 1), prev_end = addr;
    dfuse_sector s;
    long walked = 0;
    int r;
    while ((r = dfuse_layout_walk(l, &cur, end, &s)) == 1) {
        if (s.start > prev_end || (uint64_t)s.start + s.size <= prev_end)
            __builtin_trap(); /* the sector must hold the cursor */
        prev_end = (uint64_t)s.start + s.size;
        walked++;
    }
    if ((r == 0) != (n >= 1) || (n >= 1 && n != walked))
        __builtin_trap();
    if (n < 0 && (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof(err))))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    dfuse_layout l;
    char err[256] = "";
    if (dfuse_layout_parse(s, &l, err, sizeof(err)) < 0) {
        if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof(err)))
            __builtin_trap();
    } else {
        check_layout(&l);
        if (size >= 6) { /* a 16-bit length keeps the walk short */
            const uint8_t *t = data + size - 6;
            uint32_t addr = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
                            (uint32_t)t[3] << 24;
            if (l.n_runs)
                addr = l.runs[t[0] % l.n_runs].start + (addr & 0xFFFF);
            check_range(&l, addr, (uint32_t)t[4] | (uint32_t)t[5] << 8);
        }
    }
    free(s);
    return 0;
}
