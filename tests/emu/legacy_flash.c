#include "legacy_flash.h"

#include <stdlib.h>
#include <string.h>

#define LPAGE 4096u

enum { PG_OLD = 0, PG_ERASED = 1, PG_DATA = 2 };

struct legacy_flash {
    uint32_t base, size;
    uint8_t seed;
    size_t npages;
    uint8_t *state;  /* PG_* per page */
    uint8_t **pages; /* PG_DATA only */
};

/* Old contents: never 0xFF, differs per address and per memory. */
static uint8_t old_byte(const legacy_flash_t *f, uint32_t off)
{
    return (uint8_t)(0x40 + ((off * 7u + (off >> 9) + f->seed) % 0x80u));
}

legacy_flash_t *lflash_new(uint32_t base, uint32_t size, uint8_t seed)
{
    legacy_flash_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->base = base;
    f->size = size;
    f->seed = seed;
    f->npages = (size + LPAGE - 1) / LPAGE;
    f->state = calloc(f->npages, 1);
    f->pages = calloc(f->npages, sizeof(*f->pages));
    if (!f->state || !f->pages) {
        lflash_free(f);
        return NULL;
    }
    return f;
}

void lflash_free(legacy_flash_t *f)
{
    if (!f)
        return;
    if (f->pages)
        for (size_t i = 0; i < f->npages; i++)
            free(f->pages[i]);
    free(f->pages);
    free(f->state);
    free(f);
}

bool lflash_contains(const legacy_flash_t *f, uint32_t addr, uint32_t len)
{
    return addr >= f->base && addr - f->base <= f->size && len <= f->size - (addr - f->base);
}

static uint8_t *materialise(legacy_flash_t *f, size_t idx)
{
    if (f->state[idx] != PG_DATA) {
        uint8_t *p = malloc(LPAGE);
        if (!p)
            abort(); /* a test rig out of memory has no sensible recovery */
        if (f->state[idx] == PG_ERASED)
            memset(p, 0xFF, LPAGE);
        else
            for (uint32_t i = 0; i < LPAGE; i++)
                p[i] = old_byte(f, (uint32_t)idx * LPAGE + i);
        f->pages[idx] = p;
        f->state[idx] = PG_DATA;
    }
    return f->pages[idx];
}

void lflash_erase(legacy_flash_t *f, uint32_t addr, uint32_t len)
{
    uint32_t off = addr - f->base;
    while (len) {
        size_t idx = off / LPAGE, po = off % LPAGE, n = LPAGE - po;
        if (n > len)
            n = len;
        if (idx >= f->npages)
            return;
        if (po == 0 && n == LPAGE) {
            free(f->pages[idx]);
            f->pages[idx] = NULL;
            f->state[idx] = PG_ERASED;
        } else
            memset(materialise(f, idx) + po, 0xFF, n);
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
}

size_t lflash_program(legacy_flash_t *f, uint32_t addr, const uint8_t *data, size_t len)
{
    uint32_t off = addr - f->base;
    size_t unerased = 0;
    while (len) {
        size_t idx = off / LPAGE, po = off % LPAGE, n = LPAGE - po;
        if (n > len)
            n = len;
        if (idx >= f->npages)
            break;
        uint8_t *p = materialise(f, idx) + po;
        for (size_t i = 0; i < n; i++) {
            unerased += p[i] != 0xFF;
            p[i] &= data[i];
        }
        data += n;
        off += (uint32_t)n;
        len -= n;
    }
    return unerased;
}

void lflash_read(const legacy_flash_t *f, uint32_t addr, uint8_t *out, size_t len)
{
    uint32_t off = addr - f->base;
    while (len) {
        size_t idx = off / LPAGE, po = off % LPAGE, n = LPAGE - po;
        if (n > len)
            n = len;
        if (idx >= f->npages)
            memset(out, 0xFF, n);
        else if (f->state[idx] == PG_DATA)
            memcpy(out, f->pages[idx] + po, n);
        else if (f->state[idx] == PG_ERASED)
            memset(out, 0xFF, n);
        else
            for (size_t i = 0; i < n; i++)
                out[i] = old_byte(f, (uint32_t)(off + i));
        out += n;
        off += (uint32_t)n;
        len -= n;
    }
}
