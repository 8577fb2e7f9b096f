/* --load ADDR=FILE, --dump DIR, --dump-range and the --stats counters of the
 * DfuSe cameras. Dumps are named by address: DIR/0x08040000.bin holds the
 * memory behind one contiguous range the host wrote (adjacent writes merge),
 * DIR/range-0x08000000-0x08020000.bin one --dump-range [start, end). */
#include "dfuse_device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void list_regions(const dfuse_state_t *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->mem.n && n < cap; i++) {
        const dfuse_region_state_t *rs = &s->mem.r[i];
        n += (size_t)snprintf(out + n, cap - n, "%s%s 0x%08x-0x%08x", i ? ", " : "",
                              rs->reg->name, rs->base, rs->base + rs->size - 1);
    }
}

bool dfuse_load(dfu_device_t *d, const char *addr_s, const char *file, char *err, size_t errlen)
{
    dfuse_state_t *s = d->dfuse;
    char *end = NULL, regions[512];
    unsigned long long addr = strtoull(addr_s, &end, 0);
    if (end == addr_s || *end || addr_s[0] == '-' || addr > 0xFFFFFFFFull) {
        snprintf(err, errlen, "--load %s=%s: a DfuSe camera is loaded by address (ADDR=FILE, "
                              "e.g. 0x08040000=fw.bin)", addr_s, file);
        return false;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        snprintf(err, errlen, "--load %s=%s: %s", addr_s, file, strerror(errno));
        return false;
    }
    uint8_t buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (addr + n > 0x100000000ull || !dfuse_mem_preset(&s->mem, (uint32_t)addr, buf,
                                                           (uint32_t)n)) {
            list_regions(s, regions, sizeof(regions));
            snprintf(err, errlen, "--load %s=%s: bytes at 0x%08llx are outside the %s's "
                                  "memories (%s)", addr_s, file, addr, d->cam->id, regions);
            ok = false;
            break;
        }
        addr += n;
    }
    if (ok && ferror(f)) {
        snprintf(err, errlen, "--load %s=%s: read error", addr_s, file);
        ok = false;
    }
    fclose(f);
    return ok;
}

static bool dump_file(dfuse_state_t *s, const char *path, uint32_t start, uint64_t end,
                      char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "--dump %s: %s", path, strerror(errno));
        return false;
    }
    uint8_t buf[65536];
    for (uint64_t a = start; a < end;) {
        uint32_t n = end - a > sizeof(buf) ? (uint32_t)sizeof(buf) : (uint32_t)(end - a);
        dfuse_mem_read(&s->mem, (uint32_t)a, buf, n);
        if (fwrite(buf, 1, n, f) != n)
            break;
        a += n;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "--dump %s: write failed", path);
        return false;
    }
    return true;
}

bool dfuse_dump(dfu_device_t *d, const char *dir, char *err, size_t errlen)
{
    dfuse_state_t *s = d->dfuse;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "--dump %s: %s", dir, strerror(errno));
        return false;
    }
    /* A board still powered finishes its queued writes. */
    dfuse_mem_drain(&s->mem, G_MAXINT64);
    char path[4096];
    for (size_t i = 0; i < s->mem.next; i++) {
        snprintf(path, sizeof(path), "%s/0x%08x.bin", dir, s->mem.ext[i].start);
        if (!dump_file(s, path, s->mem.ext[i].start, s->mem.ext[i].end, err, errlen))
            return false;
    }
    for (size_t i = 0; i < s->nranges; i++) {
        uint64_t end = (uint64_t)s->ranges[i].addr + s->ranges[i].len;
        snprintf(path, sizeof(path), "%s/range-0x%08x-0x%08llx.bin", dir, s->ranges[i].addr,
                 (unsigned long long)end);
        if (!dump_file(s, path, s->ranges[i].addr, end, err, errlen))
            return false;
    }
    return true;
}

static gint cmp_u32(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    uint32_t x = GPOINTER_TO_UINT(a), y = GPOINTER_TO_UINT(b);
    return x < y ? -1 : x > y;
}

/* Sector start -> erase count, summed over the devices (sorted by address). */
static GTree *erase_map(dfu_device_t *const *devs, size_t n)
{
    GTree *t = g_tree_new_full(cmp_u32, NULL, NULL, NULL);
    for (size_t k = 0; k < n; k++) {
        if (!devs[k] || !devs[k]->dfuse)
            continue;
        dfuse_mem_t *m = &devs[k]->dfuse->mem;
        for (size_t i = 0; i < m->n; i++) {
            uint32_t a = m->r[i].base, idx = 0;
            for (const dfuse_run_t *run = m->r[i].reg->runs; run->count; run++)
                for (uint32_t j = 0; j < run->count; j++, idx++, a += run->size) {
                    if (!m->r[i].erases[idx])
                        continue;
                    gpointer key = GUINT_TO_POINTER(a);
                    guint old = GPOINTER_TO_UINT(g_tree_lookup(t, key));
                    g_tree_insert(t, key, GUINT_TO_POINTER(old + m->r[i].erases[idx]));
                }
        }
    }
    return t;
}

static gboolean print_erase(gpointer key, gpointer value, gpointer data)
{
    GString *j = data;
    g_string_append_printf(j, "%s\"0x%08x\":%u", j->str[j->len - 1] == '{' ? "" : ",",
                           GPOINTER_TO_UINT(key), GPOINTER_TO_UINT(value));
    return FALSE;
}

char *dfuse_stats_json(dfu_device_t *const *devs, size_t n)
{
    uint64_t c[9] = {0};
    const dfuse_state_t *last_jump = NULL;
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        const dfuse_state_t *s = devs[k] ? devs[k]->dfuse : NULL;
        if (!s)
            continue;
        any = true;
        uint64_t v[9] = {s->set_address, s->erase_cmds, s->mem.mass_erases, s->read_unprotect,
                         s->get_commands, s->mem.unerased_writes, s->mem.lost_writes,
                         s->early_polls, s->leaves};
        for (size_t i = 0; i < 9; i++)
            c[i] += v[i];
        if (s->jumped)
            last_jump = s;
    }
    if (!any)
        return g_strdup("");
    GString *j = g_string_new(NULL);
    static const char *const names[] = {"set_address", "erase_cmds", "mass_erase",
                                        "read_unprotect", "get_commands", "unerased_writes",
                                        "lost_writes", "early_polls", "leaves"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        g_string_append_printf(j, ",\"%s\":%llu", names[i], (unsigned long long)c[i]);
    if (last_jump)
        g_string_append_printf(j, ",\"jump_address\":\"0x%08x\"", last_jump->jump_address);
    else
        g_string_append(j, ",\"jump_address\":null");
    g_string_append(j, ",\"erased\":{");
    GTree *t = erase_map(devs, n);
    g_tree_foreach(t, print_erase, j);
    g_tree_destroy(t);
    g_string_append(j, "}");
    return g_string_free(j, FALSE);
}
