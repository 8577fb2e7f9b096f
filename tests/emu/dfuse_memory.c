#include "dfuse_memory.h"

#include <stdlib.h>
#include <string.h>

bool dfuse_mem_init(dfuse_mem_t *m, const struct dfuse_model *model)
{
    memset(m, 0, sizeof(*m));
    g_queue_init(&m->pending);
    for (size_t i = 0; i < model->nregions && i < DFUSE_MAX_REGIONS; i++) {
        dfuse_region_state_t *rs = &m->r[m->n++];
        rs->reg = &model->regions[i];
        rs->base = rs->reg->base;
        rs->size = dfuse_region_size(rs->reg);
        for (const dfuse_run_t *run = rs->reg->runs; run->count; run++)
            rs->nsectors += run->count;
        /* flash_memory_t only stores bytes here; the erase/program rules are ours. */
        rs->desc = (memory_desc_t){rs->reg->name, rs->base, rs->size, ERASE_NONE, 0, NULL,
                                   false, PAD_NONE, 1};
        rs->mem = flash_memory_new(&rs->desc);
        rs->erases = calloc(rs->nsectors, sizeof(*rs->erases));
        if (!rs->mem || !rs->erases)
            return false;
    }
    return true;
}

void dfuse_mem_free(dfuse_mem_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        flash_memory_free(m->r[i].mem);
        free(m->r[i].erases);
    }
    dfuse_pending_t *p;
    while ((p = g_queue_pop_head(&m->pending)))
        g_free(p);
    free(m->ext);
    memset(m, 0, sizeof(*m));
}

dfuse_region_state_t *dfuse_mem_region(dfuse_mem_t *m, uint32_t addr, uint32_t len)
{
    for (size_t i = 0; i < m->n; i++) {
        dfuse_region_state_t *rs = &m->r[i];
        uint64_t end = (uint64_t)addr + (len ? len : 1);
        if (addr >= rs->base && end <= (uint64_t)rs->base + rs->size)
            return rs;
    }
    return NULL;
}

bool dfuse_mem_sector(dfuse_mem_t *m, uint32_t addr, dfuse_sector_t *out)
{
    dfuse_region_state_t *rs = dfuse_mem_region(m, addr, 0);
    if (!rs)
        return false;
    uint32_t a = rs->base, idx = 0;
    for (const dfuse_run_t *run = rs->reg->runs; run->count; run++)
        for (uint32_t i = 0; i < run->count; i++, idx++, a += run->size)
            if (addr >= a && addr - a < run->size) {
                *out = (dfuse_sector_t){rs, idx, a, run->size, run->caps, run->erase_ms};
                return true;
            }
    return false;
}

static void blank(dfuse_region_state_t *rs, uint32_t addr, uint32_t size)
{
    if ((addr - rs->base) % 4096 == 0 && size % 4096 == 0) {
        flash_memory_blank(rs->mem, addr, size); /* frees the pages: cheap for 16 MB */
        return;
    }
    uint8_t ff[512];
    memset(ff, 0xFF, sizeof(ff));
    for (uint32_t off = 0; off < size; off += sizeof(ff)) {
        uint32_t n = size - off < sizeof(ff) ? size - off : (uint32_t)sizeof(ff);
        flash_memory_preset(rs->mem, addr + off, ff, n);
    }
}

void dfuse_mem_erase(dfuse_mem_t *m, const dfuse_sector_t *s)
{
    (void)m;
    blank(s->rs, s->start, s->size);
    s->rs->erases[s->index]++;
}

uint64_t dfuse_mem_mass_erase(dfuse_mem_t *m)
{
    uint64_t ms = 0;
    m->mass_erases++;
    for (size_t i = 0; i < m->n; i++) {
        dfuse_region_state_t *rs = &m->r[i];
        if (rs->reg->kind != DREG_FLASH)
            continue;
        blank(rs, rs->base, rs->size);
        uint32_t idx = 0;
        for (const dfuse_run_t *run = rs->reg->runs; run->count; run++)
            for (uint32_t k = 0; k < run->count; k++, idx++) {
                rs->erases[idx]++;
                ms += run->erase_ms;
            }
    }
    return ms;
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

prog_result_t dfuse_mem_program_words(dfuse_mem_t *m, dfuse_region_state_t *rs, uint32_t addr,
                                      const uint8_t *data, uint32_t len, uint32_t *first_bad)
{
    uint32_t word = rs->reg->prog_word ? rs->reg->prog_word : 1, end = addr + len;
    uint8_t old[64], neu[64];
    for (uint32_t ws = addr - (addr - rs->base) % word; ws < end; ws += word) {
        flash_memory_read(rs->mem, ws, old, word);
        memcpy(neu, old, word);
        uint32_t from = ws < addr ? addr : ws, to = ws + word < end ? ws + word : end;
        memcpy(neu + (from - ws), data + (from - addr), to - from);
        if (!all_ff(old, word)) {
            m->unerased_writes++;
            if (first_bad)
                *first_bad = ws;
            if (word < 32) { /* F4/F7: the cells only lose bits, then the ROM reports it */
                for (uint32_t i = 0; i < word; i++)
                    neu[i] &= old[i];
                flash_memory_preset(rs->mem, ws, neu, word);
            }
            return PROG_UNERASED;
        }
        flash_memory_preset(rs->mem, ws, neu, word);
    }
    return PROG_OK;
}

void dfuse_mem_program_and(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len)
{
    dfuse_region_state_t *rs = dfuse_mem_region(m, addr, len);
    if (!rs)
        return;
    uint8_t buf[256];
    for (uint32_t off = 0; off < len; off += sizeof(buf)) {
        uint32_t n = len - off < sizeof(buf) ? len - off : (uint32_t)sizeof(buf);
        flash_memory_read(rs->mem, addr + off, buf, n);
        if (!all_ff(buf, n))
            m->unerased_writes++;
        for (uint32_t i = 0; i < n; i++)
            buf[i] &= data[off + i];
        flash_memory_preset(rs->mem, addr + off, buf, n);
    }
}

void dfuse_mem_overwrite(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len)
{
    dfuse_region_state_t *rs = dfuse_mem_region(m, addr, len);
    if (rs)
        flash_memory_preset(rs->mem, addr, data, len);
}

void dfuse_mem_queue(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len,
                     gint64 done_us)
{
    dfuse_pending_t *p = g_malloc(sizeof(*p) + len);
    p->addr = addr;
    p->len = len;
    p->done_us = done_us;
    memcpy(p->data, data, len);
    g_queue_push_tail(&m->pending, p);
}

/* The queued write as FlashIAP performs it: address aligned to the 32-byte
 * flash word, tail padded with the erase value; any failure is silent. */
static void apply_pending(dfuse_mem_t *m, const dfuse_pending_t *p)
{
    dfuse_region_state_t *rs = dfuse_mem_region(m, p->addr, p->len);
    dfuse_sector_t s;
    uint32_t word = rs ? rs->reg->prog_word : 1;
    if (!rs || (p->addr - rs->base) % word || !dfuse_mem_sector(m, p->addr, &s) ||
        !(s.caps & CAP_W)) {
        m->lost_writes++;
        return;
    }
    uint32_t plen = (p->len + word - 1) / word * word;
    uint8_t *buf = g_malloc(plen);
    memcpy(buf, p->data, p->len);
    memset(buf + p->len, 0xFF, plen - p->len);
    if (plen > rs->base + rs->size - p->addr)
        plen = rs->base + rs->size - p->addr;
    if (dfuse_mem_program_words(m, rs, p->addr, buf, plen, NULL) != PROG_OK)
        m->lost_writes++;
    g_free(buf);
}

void dfuse_mem_drain(dfuse_mem_t *m, gint64 now)
{
    dfuse_pending_t *p;
    while ((p = g_queue_peek_head(&m->pending)) && p->done_us <= now) {
        g_queue_pop_head(&m->pending);
        apply_pending(m, p);
        g_free(p);
    }
}

void dfuse_mem_drop_pending(dfuse_mem_t *m, gint64 now)
{
    dfuse_mem_drain(m, now);
    dfuse_pending_t *p;
    while ((p = g_queue_pop_head(&m->pending))) {
        m->lost_writes++;
        g_free(p);
    }
}

gint64 dfuse_mem_pending_until(const dfuse_mem_t *m)
{
    const dfuse_pending_t *p = g_queue_peek_tail((GQueue *)&m->pending);
    return p ? p->done_us : 0;
}

void dfuse_mem_read(dfuse_mem_t *m, uint32_t addr, uint8_t *out, uint32_t len)
{
    while (len) {
        dfuse_region_state_t *rs = dfuse_mem_region(m, addr, 0);
        uint32_t n = len;
        if (rs) {
            uint32_t room = rs->base + rs->size - addr;
            n = n < room ? n : room;
            flash_memory_read(rs->mem, addr, out, n);
        } else {
            n = 1;
            *out = 0xFF;
        }
        out += n;
        addr += n;
        len -= n;
    }
}

bool dfuse_mem_preset(dfuse_mem_t *m, uint32_t addr, const uint8_t *data, uint32_t len)
{
    dfuse_region_state_t *rs = dfuse_mem_region(m, addr, len);
    if (!rs)
        return false;
    flash_memory_preset(rs->mem, addr, data, len);
    return true;
}

void dfuse_mem_note_written(dfuse_mem_t *m, uint32_t addr, uint32_t len)
{
    uint32_t start = addr, end = addr + len;
    if (!len)
        return;
    /* Merge with every extent it touches; keep the array sorted. */
    size_t i = 0;
    while (i < m->next && m->ext[i].end < start)
        i++;
    size_t j = i;
    while (j < m->next && m->ext[j].start <= end) {
        start = m->ext[j].start < start ? m->ext[j].start : start;
        end = m->ext[j].end > end ? m->ext[j].end : end;
        j++;
    }
    if (j == i) { /* insert at i */
        if (m->next == m->ext_cap) {
            m->ext_cap = m->ext_cap ? 2 * m->ext_cap : 8;
            m->ext = realloc(m->ext, m->ext_cap * sizeof(*m->ext));
            if (!m->ext)
                abort(); /* a test rig out of memory has no sensible recovery */
        }
        memmove(&m->ext[i + 1], &m->ext[i], (m->next - i) * sizeof(*m->ext));
        m->next++;
    } else if (j > i + 1) { /* several merged into one at i */
        memmove(&m->ext[i + 1], &m->ext[j], (m->next - j) * sizeof(*m->ext));
        m->next -= j - i - 1;
    }
    m->ext[i] = (dfuse_extent_t){start, end};
}
