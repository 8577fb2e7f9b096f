#include "flash_memory.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

struct flash_memory {
    const memory_desc_t *desc;
    size_t npages;
    uint8_t **pages; /* NULL = erased (all 0xFF) */
};

flash_memory_t *flash_memory_new(const memory_desc_t *desc)
{
    flash_memory_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->desc = desc;
    m->npages = (desc->size + PAGE - 1) / PAGE;
    m->pages = calloc(m->npages, sizeof(*m->pages));
    if (!m->pages) {
        free(m);
        return NULL;
    }
    return m;
}

void flash_memory_free(flash_memory_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->npages; i++)
        free(m->pages[i]);
    free(m->pages);
    free(m);
}

void flash_memory_blank(flash_memory_t *m, uint32_t addr, size_t len)
{
    size_t first = (addr - m->desc->base) / PAGE, n = len / PAGE;
    for (size_t i = first; i < first + n && i < m->npages; i++) {
        free(m->pages[i]);
        m->pages[i] = NULL;
    }
}

static uint8_t *page_for_write(flash_memory_t *m, size_t idx)
{
    if (!m->pages[idx]) {
        m->pages[idx] = malloc(PAGE);
        if (!m->pages[idx])
            abort(); /* a test rig out of memory has no sensible recovery */
        memset(m->pages[idx], 0xFF, PAGE);
    }
    return m->pages[idx];
}

void flash_memory_read(const flash_memory_t *m, uint32_t addr, uint8_t *out, size_t len)
{
    uint32_t off = addr - m->desc->base;
    while (len) {
        size_t idx = off / PAGE, po = off % PAGE, n = PAGE - po;
        if (n > len)
            n = len;
        if (idx < m->npages && m->pages[idx])
            memcpy(out, m->pages[idx] + po, n);
        else
            memset(out, 0xFF, n);
        out += n;
        off += (uint32_t)n;
        len -= n;
    }
}

/* mode 0 = overwrite, 1 = AND (flash can only clear bits) */
static void store(flash_memory_t *m, uint32_t addr, const uint8_t *data, size_t len, int and_mode)
{
    uint32_t off = addr - m->desc->base;
    while (len) {
        size_t idx = off / PAGE, po = off % PAGE, n = PAGE - po;
        if (n > len)
            n = len;
        if (idx >= m->npages)
            return;
        uint8_t *p = page_for_write(m, idx) + po;
        if (and_mode)
            for (size_t i = 0; i < n; i++)
                p[i] &= data[i];
        else
            memcpy(p, data, n);
        data += n;
        off += (uint32_t)n;
        len -= n;
    }
}

void flash_memory_preset(flash_memory_t *m, uint32_t addr, const uint8_t *data, size_t len)
{
    store(m, addr, data, len, 0);
}

static void erase_range(flash_memory_t *m, uint32_t addr, uint32_t size)
{
    uint32_t off = addr - m->desc->base;
    for (uint32_t o = off; o < off + size; o += PAGE) {
        size_t idx = o / PAGE;
        if (idx < m->npages) {
            free(m->pages[idx]);
            m->pages[idx] = NULL;
        }
    }
}

/* The sector that starts exactly at addr, or 0 if addr is not a sector start. */
static uint32_t sector_starting_at(const memory_desc_t *d, uint32_t addr)
{
    uint32_t a = d->base;
    for (const sector_run_t *r = d->sectors; r && r->count; r++)
        for (uint32_t i = 0; i < r->count; i++) {
            if (a == addr)
                return r->size;
            if (a > addr)
                return 0;
            a += r->size;
        }
    return 0;
}

unsigned flash_memory_write_block(flash_memory_t *m, uint32_t addr, const uint8_t *xfer_buf,
                                  size_t len, uint32_t limit)
{
    const memory_desc_t *d = m->desc;
    unsigned erased = 0;

    if (d->erase == ERASE_SECTOR_MAP) {
        uint32_t sz = sector_starting_at(d, addr);
        if (sz) {
            erase_range(m, addr, sz);
            erased = 1;
        }
    } else if (d->erase == ERASE_ALIGNED && (addr - d->base) % d->erase_unit == 0) {
        erase_range(m, addr, d->erase_unit);
        erased = 1;
    }

    size_t plen = len;
    uint8_t padded[EMU_XFER_SIZE + 32];
    const uint8_t *src = xfer_buf;
    if (d->pad != PAD_NONE && d->pad_unit > 1 && len % d->pad_unit) {
        plen = (len + d->pad_unit - 1) / d->pad_unit * d->pad_unit;
        if (d->pad == PAD_STALE_XFER) {
            /* MRAM: the round-up reads past the valid data in the transfer
             * buffer, i.e. whatever the previous block left there. */
            if (plen > EMU_XFER_SIZE)
                plen = EMU_XFER_SIZE;
        } else {
            memcpy(padded, xfer_buf, len);
            memset(padded + len, 0x00, plen - len);
            src = padded;
        }
    }
    if (addr + plen > limit) /* never spill the padding past the memory/partition end */
        plen = limit - addr;
    store(m, addr, src, plen, d->and_program ? 1 : 0);
    return erased;
}
