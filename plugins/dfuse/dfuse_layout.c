#include "dfuse_layout.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Parser position; errors name the byte offset in the interface string. */
typedef struct {
    const char *s;
    size_t pos;
    char *err;
    size_t errlen;
} pcur;

static int fail(pcur *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(pcur *c, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return -1;
    int n = snprintf(c->err, c->errlen, "memory layout: offset %zu: ", c->pos);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A byte for a message: printable as is, anything else as a hex escape. */
static const char *shown(char ch, char buf[8])
{
    unsigned char u = (unsigned char)ch;
    if (!u)
        return "end of string";
    if (u >= 0x20 && u < 0x7F)
        snprintf(buf, 8, "'%c'", ch);
    else
        snprintf(buf, 8, "0x%02X", u);
    return buf;
}

static int parse_name(pcur *c, dfuse_layout *out)
{
    const char *slash = strchr(c->s + 1, '/');
    if (!slash)
        return fail(c, "no '/' after the name: not a DfuSe memory layout");
    size_t n = (size_t)(slash - (c->s + 1));
    while (n && c->s[n] == ' ') /* ST pads names with blanks */
        n--;
    if (n == 0)
        return fail(c, "empty memory name");
    if (n >= DFUSE_LAYOUT_NAME_MAX)
        return fail(c, "memory name longer than %d characters", DFUSE_LAYOUT_NAME_MAX - 1);
    /* The name comes from the device and ends up in messages: keep them one
     * line by showing control characters as '?'. */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)c->s[1 + i];
        out->name[i] = ch < 0x20 || ch == 0x7F ? '?' : (char)ch;
    }
    out->name[n] = '\0';
    c->pos = (size_t)(slash - c->s);
    return 0;
}

static int parse_hex(pcur *c, uint32_t *v)
{
    char b[8];
    if (c->s[c->pos] != '0' || (c->s[c->pos + 1] != 'x' && c->s[c->pos + 1] != 'X'))
        return fail(c, "expected a hex address like 0x08000000, got %s", shown(c->s[c->pos], b));
    c->pos += 2;
    uint64_t x = 0;
    size_t digits = 0;
    for (;; c->pos++, digits++) {
        char ch = c->s[c->pos];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (digits == 8)
            return fail(c, "address has more than 8 hex digits");
        x = x << 4 | (uint64_t)d;
    }
    if (!digits)
        return fail(c, "no hex digits after 0x");
    *v = (uint32_t)x;
    return 0;
}

static int parse_dec(pcur *c, const char *what, uint32_t *v)
{
    char b[8];
    uint64_t x = 0;
    size_t digits = 0;
    while (c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
        if (digits == 9)
            return fail(c, "%s has more than 9 digits", what);
        x = x * 10 + (uint64_t)(c->s[c->pos] - '0');
        c->pos++;
        digits++;
    }
    if (!digits)
        return fail(c, "expected a decimal %s, got %s", what, shown(c->s[c->pos], b));
    *v = (uint32_t)x;
    return 0;
}

static bool ends_run(char ch)
{
    return ch == ',' || ch == '/' || ch == '\0';
}

/* SIZE's unit and the type letter; a missing unit before a type letter means
 * bytes (what dfu-util also accepts). */
static int parse_unit_type(pcur *c, uint32_t *mult, uint8_t *caps)
{
    char b[8], u = c->s[c->pos];
    *mult = 1;
    if (u >= 'a' && u <= 'g' && ends_run(c->s[c->pos + 1])) {
        /* no unit */
    } else if (u == 'B' || u == ' ') {
        c->pos++;
    } else if (u == 'K') {
        *mult = 1024;
        c->pos++;
    } else if (u == 'M') {
        *mult = 1024 * 1024;
        c->pos++;
    } else {
        return fail(c, "unknown size unit %s (B, K, M or a blank)", shown(u, b));
    }
    char t = c->s[c->pos];
    if (t < 'a' || t > 'g')
        return fail(c, "unknown memory type %s (a..g)", shown(t, b));
    *caps = (uint8_t)(t & 7);
    c->pos++;
    return 0;
}

/* One zone's comma list of runs, starting at *addr. */
static int parse_runs(pcur *c, uint32_t addr, dfuse_layout *out)
{
    uint64_t next = addr;
    for (;;) {
        uint32_t count = 0, size = 0, mult = 1;
        uint8_t caps = 0;
        size_t at = c->pos;
        if (parse_dec(c, "sector count", &count) < 0)
            return -1;
        if (c->s[c->pos] != '*') {
            char b[8];
            return fail(c, "expected '*' after the count %u, got %s", count,
                        shown(c->s[c->pos], b));
        }
        c->pos++;
        if (parse_dec(c, "sector size", &size) < 0 || parse_unit_type(c, &mult, &caps) < 0)
            return -1;
        uint64_t bytes = (uint64_t)size * mult;
        if (bytes == 0 || bytes > 0xFFFFFFFFull)
            return fail(c, "sector size %llu bytes is not usable", (unsigned long long)bytes);
        if (next + (uint64_t)count * bytes > 0x100000000ull) {
            c->pos = at;
            return fail(c, "%u sectors of %llu bytes from 0x%08llx pass the end of the 32-bit "
                           "address space", count, (unsigned long long)bytes,
                        (unsigned long long)next);
        }
        if (count) {
            if (out->n_runs == DFUSE_LAYOUT_MAX_RUNS) {
                c->pos = at;
                return fail(c, "more than %d runs", DFUSE_LAYOUT_MAX_RUNS);
            }
            out->runs[out->n_runs++] = (dfuse_run){(uint32_t)next, (uint32_t)bytes, count, caps};
            next += (uint64_t)count * bytes;
        }
        if (c->s[c->pos] != ',')
            return 0;
        c->pos++;
    }
}

static uint64_t run_end(const dfuse_run *r)
{
    return (uint64_t)r->start + (uint64_t)r->sector_size * r->count;
}

static int check_overlaps(pcur *c, const dfuse_layout *l)
{
    for (size_t i = 0; i < l->n_runs; i++)
        for (size_t j = i + 1; j < l->n_runs; j++) {
            const dfuse_run *a = &l->runs[i], *b = &l->runs[j];
            if (a->start < run_end(b) && b->start < run_end(a))
                return fail(c, "memory at 0x%08x and at 0x%08x overlaps", a->start, b->start);
        }
    return 0;
}

int dfuse_layout_parse(const char *s, dfuse_layout *out, char *err, size_t errlen)
{
    pcur c = {s, 0, err, errlen};
    char b[8];
    memset(out, 0, sizeof(*out));
    if (s[0] != '@')
        return fail(&c, "expected '@', got %s: not a DfuSe memory layout", shown(s[0], b));
    if (parse_name(&c, out) < 0)
        return -1;
    while (c.s[c.pos] == '/') {
        uint32_t addr = 0;
        c.pos++;
        if (parse_hex(&c, &addr) < 0)
            return -1;
        if (c.s[c.pos] != '/')
            return fail(&c, "expected '/' after the address, got %s", shown(c.s[c.pos], b));
        c.pos++;
        if (parse_runs(&c, addr, out) < 0)
            return -1;
    }
    if (c.s[c.pos] != '\0')
        return fail(&c, "unexpected %s after the last run", shown(c.s[c.pos], b));
    return check_overlaps(&c, out);
}

int dfuse_layout_find(const dfuse_layout *l, uint32_t addr, dfuse_sector *out)
{
    for (size_t i = 0; i < l->n_runs; i++) {
        const dfuse_run *r = &l->runs[i];
        if (addr < r->start || (uint64_t)addr >= run_end(r))
            continue;
        uint32_t idx = (addr - r->start) / r->sector_size;
        *out = (dfuse_sector){r->start + idx * r->sector_size, r->sector_size, r->caps};
        return 1;
    }
    return 0;
}

int dfuse_layout_walk(const dfuse_layout *l, uint64_t *cursor, uint64_t end, dfuse_sector *out)
{
    if (*cursor >= end)
        return 0;
    if (*cursor > 0xFFFFFFFFull || !dfuse_layout_find(l, (uint32_t)*cursor, out))
        return -1;
    *cursor = (uint64_t)out->start + out->size;
    return 1;
}

const char *dfuse_caps_str(uint8_t caps, char buf[4])
{
    buf[0] = caps & DFUSE_MEM_READABLE ? 'r' : '-';
    buf[1] = caps & DFUSE_MEM_ERASABLE ? 'e' : '-';
    buf[2] = caps & DFUSE_MEM_WRITEABLE ? 'w' : '-';
    buf[3] = '\0';
    return buf;
}

long dfuse_layout_check(const dfuse_layout *l, uint32_t addr, uint64_t len, uint8_t need,
                        char *err, size_t errlen)
{
    uint64_t cur = addr, end = (uint64_t)addr + (len ? len : 1);
    dfuse_sector s;
    long n = 0;
    int r;
    while ((r = dfuse_layout_walk(l, &cur, end, &s)) == 1) {
        if ((s.caps & need) != need) {
            char have[4], want[4];
            if (err && errlen)
                snprintf(err, errlen, "%s: sector 0x%08x (%u bytes) is %s, needs %s", l->name,
                         s.start, s.size, dfuse_caps_str(s.caps, have),
                         dfuse_caps_str(need, want));
            return -1;
        }
        n++;
    }
    if (r < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: address 0x%08llx is outside its memory layout", l->name,
                     (unsigned long long)cur);
        return -1;
    }
    return n;
}
