/*
 * Board files: INI (inih) -> struct omv_board, with every error reported as
 * "FILE:LINE: what is wrong".
 *
 * inih is driven through our own line reader (ini_parse_stream): inih asks for
 * exactly one line per reader call, so the reader always knows the current
 * line number. The reader also
 *  - tracks section headers itself (this inih calls no handler for a bare
 *    header, so empty sections and header lines would otherwise be invisible),
 *  - strips leading whitespace, which turns inih's multi-line continuation off
 *    (an indented line is an ordinary line, never a silent continuation),
 *  - notices syntax errors: a line that is neither blank, comment, header nor
 *    got a handler call by the time the next line is requested is malformed,
 *  - stops the parse at the first error (returns NULL = end of input).
 * No inih global setting is touched.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum sect_kind { S_NONE, S_BOARD, S_PART, S_PLUGIN, S_ACTION };

typedef struct parse_ctx {
    omv_board *b;
    FILE *f;
    char *buf;
    size_t cap;
    int line;
    size_t bytes;          /* read so far (bounded: a file may grow while we read) */
    enum sect_kind kind;
    size_t idx;            /* partition / plugin section / action index */
    int pending;           /* line number of a key line awaiting its handler call */
    int handler_called;
    int failed;
    omv_status code;
    omv_error *err;
} parse_ctx;

static const char *const board_keys[] = {"name",        "bootloader_ids", "app_ids",
                                         "transport",   "flash_order",    "firmware_list",
                                         "filesystem",  "wait_ms",        "entry",
                                         "firmware_dir", "arch"};
enum { N_BOARD_KEYS = 11 };
static const char *const part_keys[] = {"alt", "size", "read_only", "readable", "image", "timeout_ms"};
enum { N_PART_KEYS = 6 };

static void fail_at(parse_ctx *c, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void fail_at(parse_ctx *c, int line, const char *fmt, ...)
{
    if (c->failed)
        return;
    char msg[OMV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = 1;
    c->code = OMV_E_BOARD;
    omv_error_set(c->err, OMV_E_BOARD, "%s:%d: %s", c->b->path, line, msg);
}

static void fail_nomem(parse_ctx *c)
{
    if (c->failed)
        return;
    c->failed = 1;
    c->code = OMV_E_NOMEM;
    omv_error_set(c->err, OMV_E_NOMEM, "%s: out of memory", c->b->path);
}

/* Grow *arr (of *n elements of size sz) by one zeroed element. */
static void *push(void **arr, size_t *n, size_t sz)
{
    void *p = realloc(*arr, (*n + 1) * sz);
    if (!p)
        return NULL;
    *arr = p;
    memset((char *)p + *n * sz, 0, sz);
    return (char *)p + (*n)++ * sz;
}

long omvi_board_find(const omv_board *b, const char *name)
{
    for (size_t i = 0; i < b->n_parts; i++)
        if (strcmp(b->parts[i].name, name) == 0)
            return (long)i;
    return -1;
}

void omvi_board_part_names(const omv_board *b, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < b->n_parts && off < len; i++) {
        int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", b->parts[i].name);
        if (k < 0)
            break;
        off += (size_t)k;
    }
}

/* ---- section headers ---------------------------------------------------- */

static omvi_plugin_section *find_psec(omvi_plugin_section *v, size_t n, const char *title)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].title, title) == 0)
            return &v[i];
    return NULL;
}

static void begin_section(parse_ctx *c, char *title)
{
    omv_board *b = c->b;
    /* trim */
    while (isspace((unsigned char)*title))
        title++;
    char *e = title + strlen(title);
    while (e > title && isspace((unsigned char)e[-1]))
        *--e = '\0';
    char *rest = title;
    while (*rest && !isspace((unsigned char)*rest))
        rest++;
    char *word_end = rest;
    while (isspace((unsigned char)*rest))
        rest++;
    char first[64];
    size_t fl = (size_t)(word_end - title);
    if (fl >= sizeof first)
        fl = sizeof first - 1;
    memcpy(first, title, fl);
    first[fl] = '\0';

    if (strcmp(title, "board") == 0) {
        if (b->board_line) {
            fail_at(c, c->line, "duplicate section [board] (first at line %d)", b->board_line);
            return;
        }
        b->board_line = c->line;
        c->kind = S_BOARD;
        return;
    }
    if (strcmp(first, "partition") == 0) {
        if (!*rest) {
            fail_at(c, c->line, "[partition] needs a name: [partition NAME]");
            return;
        }
        if (!omvi_valid_partition_name(rest)) {
            fail_at(c, c->line,
                    "[partition %s]: partition name '%s' must be 1 to 32 letters, digits or '_'",
                    rest, rest);
            return;
        }
        long dup = omvi_board_find(b, rest);
        if (dup >= 0) {
            fail_at(c, c->line, "duplicate section [partition %s] (first at line %d)", rest,
                    b->parts[dup].line);
            return;
        }
        omvi_partition *p = push((void **)&b->parts, &b->n_parts, sizeof *p);
        if (!p || !(p->name = omvi_strdup(rest))) {
            fail_nomem(c);
            return;
        }
        p->line = c->line;
        p->info.name = p->name;
        p->info.index = -1;
        p->info.readable = 1;
        c->kind = S_PART;
        c->idx = b->n_parts - 1;
        return;
    }
    if (strcmp(first, "action") == 0) {
        if (!*rest) {
            fail_at(c, c->line, "[action] needs a name: [action NAME]");
            return;
        }
        if (!omvi_valid_plugin_name(rest)) {
            fail_at(c, c->line,
                    "[action %s]: action name '%s' may only contain a-z, 0-9, '_' and '-'", rest,
                    rest);
            return;
        }
        omvi_plugin_section *dup = find_psec(b->actions, b->n_actions, rest);
        if (dup) {
            fail_at(c, c->line, "duplicate section [action %s] (first at line %d)", rest, dup->line);
            return;
        }
        omvi_plugin_section *s = push((void **)&b->actions, &b->n_actions, sizeof *s);
        if (!s || !(s->title = omvi_strdup(rest))) {
            fail_nomem(c);
            return;
        }
        s->line = c->line;
        c->kind = S_ACTION;
        c->idx = b->n_actions - 1;
        return;
    }
    if (*rest || !omvi_valid_plugin_name(title)) {
        fail_at(c, c->line,
                "unknown section [%s] (expected [board], [partition NAME], [action NAME] or the "
                "transport's [NAME])",
                title);
        return;
    }
    /* [dfu]: a transport's options; checked against the transport after parsing. */
    omvi_plugin_section *dup = find_psec(b->psections, b->n_psections, title);
    if (dup) {
        fail_at(c, c->line, "duplicate section [%s] (first at line %d)", title, dup->line);
        return;
    }
    omvi_plugin_section *s = push((void **)&b->psections, &b->n_psections, sizeof *s);
    if (!s || !(s->title = omvi_strdup(title)) || !(s->plugin = omvi_strdup(title))) {
        fail_nomem(c);
        return;
    }
    s->line = s->plugin_line = c->line;
    c->kind = S_PLUGIN;
    c->idx = b->n_psections - 1;
}

/* ---- the reader ---------------------------------------------------------- */

static char *reader(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    if (c->failed)
        return NULL;
    if (c->pending && !c->handler_called) {
        fail_at(c, c->pending, "syntax error: expected [section], key = value or a comment");
        return NULL;
    }
    c->pending = 0;
    errno = 0;
    ssize_t n = getline(&c->buf, &c->cap, c->f);
    if (n < 0) {
        if (ferror(c->f)) {
            char eb[128];
            fail_at(c, c->line + 1, "cannot read: %s", omvi_strerror(errno, eb, sizeof eb));
        }
        return NULL;
    }
    c->line++;
    c->bytes += (size_t)n;
    if (c->bytes > OMVI_MAX_BOARD_FILE) { /* it grew while being read */
        fail_at(c, c->line, "board file larger than %u bytes", OMVI_MAX_BOARD_FILE);
        return NULL;
    }
    if ((size_t)n != strlen(c->buf)) {
        fail_at(c, c->line, "line contains a NUL byte");
        return NULL;
    }
    char *s = c->buf;
    if (c->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    while (*s && isspace((unsigned char)*s) && *s != '\n')
        s++;
    size_t len = strlen(s);
    if (len + 1 > (size_t)num - 1) { /* inih needs room for "\n\0" */
        fail_at(c, c->line, "line is too long (at most %d characters)", num - 3);
        return NULL;
    }
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close) {
            fail_at(c, c->line, "syntax error: section header has no closing ']'");
            return NULL;
        }
        char *after = close + 1;
        while (*after && isspace((unsigned char)*after))
            after++;
        if (*after && *after != ';' && *after != '#') {
            fail_at(c, c->line, "syntax error: unexpected text after ']'");
            return NULL;
        }
        size_t tl = (size_t)(close - s - 1);
        char title[256];
        if (tl >= sizeof title)
            tl = sizeof title - 1;
        memcpy(title, s + 1, tl);
        title[tl] = '\0';
        begin_section(c, title);
        if (c->failed)
            return NULL;
    } else if (*s && *s != '\n' && *s != '\r' && *s != ';' && *s != '#') {
        c->pending = c->line;
        c->handler_called = 0;
    }
    memcpy(str, s, len + 1);
    return str;
}

/* ---- key handlers -------------------------------------------------------- */

static int key_index(const char *const *keys, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], name) == 0)
            return i;
    return -1;
}

static void join_keys(const char *const *keys, int n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off < len; i++) {
        int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", keys[i]);
        if (k < 0)
            break;
        off += (size_t)k;
    }
}

static int parse_ids(parse_ctx *c, const char *label, const char *key, const char *value,
                     struct omv_usb_id **out, size_t *n_out)
{
    char **items;
    size_t n, bad;
    int r = omvi_split_list(value, &items, &n, &bad);
    if (r == -2) {
        fail_nomem(c);
        return -1;
    }
    if (r == -1) {
        fail_at(c, c->line, "%s %s: empty item %zu in the list", label, key, bad + 1);
        return -1;
    }
    struct omv_usb_id *ids = calloc(n, sizeof *ids);
    if (!ids) {
        omvi_free_list(items, n);
        fail_nomem(c);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (omvi_parse_usb_id(items[i], &ids[i]) != 0) {
            fail_at(c, c->line, "%s %s: '%s' is not a VID:PID pair (use hex, like 37C5:96E3)",
                    label, key, items[i]);
            omvi_free_list(items, n);
            free(ids);
            return -1;
        }
    }
    omvi_free_list(items, n);
    *out = ids;
    *n_out = n;
    return 0;
}

static int set_str(parse_ctx *c, char **dst, const char *value)
{
    if (!(*dst = omvi_strdup(value))) {
        fail_nomem(c);
        return -1;
    }
    return 0;
}

static void board_key(parse_ctx *c, const char *name, const char *value)
{
    omv_board *b = c->b;
    int k = key_index(board_keys, N_BOARD_KEYS, name);
    if (k < 0) {
        char keys[256];
        join_keys(board_keys, N_BOARD_KEYS, keys, sizeof keys);
        fail_at(c, c->line, "[board] unknown key '%s' (keys: %s)", name, keys);
        return;
    }
    if (b->key_lines[k]) {
        fail_at(c, c->line, "[board] duplicate key '%s' (first at line %d)", name, b->key_lines[k]);
        return;
    }
    b->key_lines[k] = c->line;
    if (!*value) {
        fail_at(c, c->line, "[board] %s: empty value", name);
        return;
    }
    switch (k) {
    case OMVI_BK_NAME:
        set_str(c, &b->name, value);
        break;
    case OMVI_BK_BOOT_IDS:
        parse_ids(c, "[board]", name, value, &b->boot_ids, &b->n_boot_ids);
        break;
    case OMVI_BK_APP_IDS:
        parse_ids(c, "[board]", name, value, &b->app_ids, &b->n_app_ids);
        break;
    case OMVI_BK_TRANSPORT: {
        /* one or more bootloader transports; the camera is flashed through
         * whichever bootloader shows up (the IDE watches for both the same way) */
        size_t bad;
        int r = omvi_split_list(value, &b->transports, &b->n_transports, &bad);
        if (r == -2) {
            fail_nomem(c);
            return;
        }
        if (r == -1) {
            fail_at(c, c->line, "[board] transport: empty item %zu in the list", bad + 1);
            return;
        }
        if (b->n_transports > OMVI_MAX_TRANSPORTS) {
            fail_at(c, c->line, "[board] transport: at most %d transports", OMVI_MAX_TRANSPORTS);
            return;
        }
        for (size_t i = 0; i < b->n_transports; i++) {
            if (!omvi_valid_plugin_name(b->transports[i])) {
                fail_at(c, c->line,
                        "[board] transport: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')",
                        b->transports[i]);
                return;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(b->transports[i], b->transports[j]) == 0) {
                    fail_at(c, c->line, "[board] transport: '%s' is listed twice", b->transports[i]);
                    return;
                }
        }
        set_str(c, &b->transport, b->transports[0]);
        break;
    }
    case OMVI_BK_ENTRY:
        if (!omvi_valid_plugin_name(value)) {
            fail_at(c, c->line, "[board] entry: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')",
                    value);
            return;
        }
        set_str(c, &b->entry, value);
        break;
    case OMVI_BK_FLASH_ORDER: {
        size_t bad;
        int r = omvi_split_list(value, &b->flash_order_names, &b->n_flash_order, &bad);
        if (r == -2)
            fail_nomem(c);
        else if (r == -1)
            fail_at(c, c->line, "[board] flash_order: empty item %zu in the list", bad + 1);
        break;
    }
    case OMVI_BK_FIRMWARE_LIST:
        if (!omvi_valid_file_name(value)) {
            fail_at(c, c->line, "[board] firmware_list: '%s' must be a file name without '/'",
                    value);
            return;
        }
        set_str(c, &b->firmware_list, value);
        break;
    case OMVI_BK_FILESYSTEM:
        set_str(c, &b->filesystem_name, value);
        break;
    case OMVI_BK_FIRMWARE_DIR:
        if (!omvi_valid_file_name(value)) {
            fail_at(c, c->line, "[board] firmware_dir: '%s' must be a folder name without '/'",
                    value);
            return;
        }
        set_str(c, &b->firmware_dir, value);
        break;
    case OMVI_BK_ARCH:
        if (!omvi_valid_arch(value)) {
            fail_at(c, c->line,
                    "[board] arch: '%s' must be 1 to %d printable ASCII characters (the firmware's "
                    "OMV_BOARD_ARCH)",
                    value, OMVI_ARCH_MAX);
            return;
        }
        set_str(c, &b->arch, value);
        break;
    case OMVI_BK_WAIT_MS: {
        uint64_t v;
        if (omvi_parse_uint(value, UINT32_MAX - 1, &v) != 0) {
            fail_at(c, c->line,
                    "[board] wait_ms: '%s' is not a number of milliseconds (0 to 4294967294)",
                    value);
            return;
        }
        b->wait_ms = (uint32_t)v;
        break;
    }
    }
}

static void part_key(parse_ctx *c, const char *name, const char *value)
{
    omv_board *b = c->b;
    omvi_partition *p = &b->parts[c->idx];
    const char *pn = p->name;
    int k = key_index(part_keys, N_PART_KEYS, name);
    if (k < 0) {
        char keys[128];
        join_keys(part_keys, N_PART_KEYS, keys, sizeof keys);
        fail_at(c, c->line, "[partition %s] unknown key '%s' (keys: %s)", pn, name, keys);
        return;
    }
    if (p->key_lines[k]) {
        fail_at(c, c->line, "[partition %s] duplicate key '%s' (first at line %d)", pn, name,
                p->key_lines[k]);
        return;
    }
    p->key_lines[k] = c->line;
    if (!*value) {
        fail_at(c, c->line, "[partition %s] %s: empty value", pn, name);
        return;
    }
    uint64_t v;
    int bv;
    switch (k) {
    case 0: /* alt */
        if (omvi_parse_uint(value, 255, &v) != 0) {
            fail_at(c, c->line, "[partition %s] alt: '%s' is not a number from 0 to 255", pn, value);
            return;
        }
        for (size_t i = 0; i < c->idx; i++) {
            if (b->parts[i].info.index == (int)v) {
                fail_at(c, c->line, "[partition %s] alt: %d is already used by [partition %s] (line %d)",
                        pn, (int)v, b->parts[i].name, b->parts[i].alt_line);
                return;
            }
        }
        p->info.index = (int)v;
        p->alt_line = c->line;
        break;
    case 1: /* size */
        if (omvi_parse_size(value, &v) != 0) {
            fail_at(c, c->line, "[partition %s] size: '%s' is not a size (use 123, 0x1000, 64K, 3M)",
                    pn, value);
            return;
        }
        if (v == 0) {
            fail_at(c, c->line, "[partition %s] size: must be greater than 0", pn);
            return;
        }
        p->info.size = v;
        break;
    case 2: /* read_only */
    case 3: /* readable */
        if (omvi_parse_bool(value, &bv) != 0) {
            fail_at(c, c->line,
                    "[partition %s] %s: '%s' is not a yes/no value (use yes, no, true, false, on, "
                    "off, 1, 0)",
                    pn, name, value);
            return;
        }
        if (k == 2)
            p->info.read_only = bv;
        else
            p->info.readable = bv;
        break;
    case 4: /* image */
        if (!omvi_valid_file_name(value)) {
            fail_at(c, c->line, "[partition %s] image: '%s' must be a file name without '/'", pn,
                    value);
            return;
        }
        for (size_t i = 0; i < c->idx; i++) {
            if (b->parts[i].image && strcmp(b->parts[i].image, value) == 0) {
                fail_at(c, c->line, "[partition %s] image: '%s' is already the image of [partition %s]",
                        pn, value, b->parts[i].name);
                return;
            }
        }
        if (set_str(c, &p->image, value) == 0)
            p->info.image = p->image;
        break;
    case 5: /* timeout_ms */
        if (omvi_parse_uint(value, UINT32_MAX, &v) != 0) {
            fail_at(c, c->line,
                    "[partition %s] timeout_ms: '%s' is not a number of milliseconds (0 to "
                    "4294967295)",
                    pn, value);
            return;
        }
        p->info.timeout_ms = (uint32_t)v;
        break;
    }
}

static void raw_key(parse_ctx *c, omvi_plugin_section *s, const char *label, const char *name,
                    const char *value)
{
    if (c->kind == S_ACTION && strcmp(name, "plugin") == 0) {
        if (s->plugin) {
            fail_at(c, c->line, "%s duplicate key 'plugin' (first at line %d)", label,
                    s->plugin_line);
            return;
        }
        if (!*value) {
            fail_at(c, c->line, "%s plugin: empty value", label);
            return;
        }
        if (!omvi_valid_plugin_name(value)) {
            fail_at(c, c->line, "%s plugin: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')",
                    label, value);
            return;
        }
        s->plugin_line = c->line;
        set_str(c, &s->plugin, value);
        return;
    }
    if (c->kind == S_PLUGIN && strcmp(name, "flash_order") == 0) {
        /* a core key: this bootloader's own full flash (the legacy one cannot write ROMFS0) */
        if (s->order_line) {
            fail_at(c, c->line, "%s duplicate key 'flash_order' (first at line %d)", label, s->order_line);
            return;
        }
        size_t bad = 0;
        int r = omvi_split_list(value, &s->order_names, &s->n_order, &bad);
        if (r == -2) {
            fail_nomem(c);
            return;
        }
        if (r != 0 || s->n_order == 0) {
            fail_at(c, c->line, "%s flash_order: empty partition name in '%s'", label, value);
            return;
        }
        s->order_line = c->line;
        return;
    }
    /* core keys of [action NAME]: restore = partitions written again (from
     * --firmware/--image) after the action; recovers = partitions whose
     * refused writes the action repairs (the error then suggests it) */
    int is_restore = c->kind == S_ACTION && strcmp(name, "restore") == 0;
    if (is_restore || (c->kind == S_ACTION && strcmp(name, "recovers") == 0)) {
        int *line = is_restore ? &s->restore_line : &s->recovers_line;
        char ***names = is_restore ? &s->restore_names : &s->recovers_names;
        size_t *n = is_restore ? &s->n_restore : &s->n_recovers;
        if (*line) {
            fail_at(c, c->line, "%s duplicate key '%s' (first at line %d)", label, name, *line);
            return;
        }
        size_t bad = 0;
        int r = omvi_split_list(value, names, n, &bad);
        if (r == -2) {
            fail_nomem(c);
            return;
        }
        if (r != 0 || *n == 0) {
            fail_at(c, c->line, "%s %s: empty partition name in '%s'", label, name, value);
            return;
        }
        *line = c->line;
        return;
    }
    for (size_t i = 0; i < s->n_opts; i++) {
        if (strcmp(s->opts[i].key, name) == 0) {
            fail_at(c, c->line, "%s duplicate key '%s' (first at line %d)", label, name,
                    s->opts[i].line);
            return;
        }
    }
    if (!*value) {
        fail_at(c, c->line, "%s %s: empty value", label, name);
        return;
    }
    omvi_raw_option *o = push((void **)&s->opts, &s->n_opts, sizeof *o);
    if (!o || !(o->key = omvi_strdup(name)) || !(o->value = omvi_strdup(value))) {
        fail_nomem(c);
        return;
    }
    o->line = c->line;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    (void)section; /* the reader tracks sections (with their line numbers) */
    parse_ctx *c = user;
    c->handler_called = 1;
    if (c->failed)
        return 0;
    if (!value)
        value = "";
    if (!*name) {
        fail_at(c, c->line, "syntax error: missing key name before '='");
        return 0;
    }
    char label[96];
    switch (c->kind) {
    case S_NONE:
        fail_at(c, c->line, "key '%s' outside any section (start with [board])", name);
        break;
    case S_BOARD:
        board_key(c, name, value);
        break;
    case S_PART:
        part_key(c, name, value);
        break;
    case S_PLUGIN:
        snprintf(label, sizeof label, "[%s]", c->b->psections[c->idx].title);
        raw_key(c, &c->b->psections[c->idx], label, name, value);
        break;
    case S_ACTION:
        snprintf(label, sizeof label, "[action %s]", c->b->actions[c->idx].title);
        raw_key(c, &c->b->actions[c->idx], label, name, value);
        break;
    }
    return !c->failed;
}

/* ---- checks after parsing ------------------------------------------------ */

static void check_board(parse_ctx *c)
{
    omv_board *b = c->b;
    if (!b->board_line) {
        fail_at(c, 1, "no [board] section");
        return;
    }
    static const int required[] = {OMVI_BK_NAME, OMVI_BK_BOOT_IDS, OMVI_BK_TRANSPORT,
                                   OMVI_BK_FLASH_ORDER};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!b->key_lines[required[i]]) {
            fail_at(c, b->board_line, "[board] is missing required key '%s'",
                    board_keys[required[i]]);
            return;
        }
    }
    if (b->n_parts == 0) {
        fail_at(c, b->board_line, "[board] declares no partitions (add [partition NAME] sections)");
        return;
    }
    for (size_t i = 0; i < b->n_parts; i++) {
        if (!b->parts[i].key_lines[1]) {
            fail_at(c, b->parts[i].line, "[partition %s] is missing required key 'size'",
                    b->parts[i].name);
            return;
        }
    }
    for (size_t i = 0; i < b->n_actions; i++) {
        if (!b->actions[i].plugin) {
            fail_at(c, b->actions[i].line, "[action %s] is missing required key 'plugin'",
                    b->actions[i].title);
            return;
        }
    }
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; i < b->n_actions; i++) {
        omvi_plugin_section *a = &b->actions[i];
        if (!a->n_restore)
            continue;
        if (!(a->restore = calloc(a->n_restore, sizeof *a->restore))) {
            fail_nomem(c);
            return;
        }
        for (size_t k = 0; k < a->n_restore; k++) {
            long idx = omvi_board_find(b, a->restore_names[k]);
            if (idx < 0) {
                fail_at(c, a->restore_line, "[action %s] restore: no partition named '%s' (partitions: %s)",
                        a->title, a->restore_names[k], names);
                return;
            }
            if (b->parts[idx].info.read_only) {
                fail_at(c, a->restore_line, "[action %s] restore: partition '%s' is read-only", a->title,
                        a->restore_names[k]);
                return;
            }
            a->restore[k] = (size_t)idx;
        }
    }
    for (size_t i = 0; i < b->n_actions; i++) {
        omvi_plugin_section *a = &b->actions[i];
        if (a->n_recovers && !(a->recovers = calloc(a->n_recovers, sizeof *a->recovers))) {
            fail_nomem(c);
            return;
        }
        for (size_t k = 0; k < a->n_recovers; k++) {
            long idx = omvi_board_find(b, a->recovers_names[k]);
            if (idx < 0) {
                fail_at(c, a->recovers_line, "[action %s] recovers: no partition named '%s' (partitions: %s)",
                        a->title, a->recovers_names[k], names);
                return;
            }
            a->recovers[k] = (size_t)idx;
        }
    }
    int fo_line = b->key_lines[OMVI_BK_FLASH_ORDER];
    b->flash_order = calloc(b->n_flash_order, sizeof *b->flash_order);
    if (!b->flash_order) {
        fail_nomem(c);
        return;
    }
    for (size_t i = 0; i < b->n_flash_order; i++) {
        const char *n = b->flash_order_names[i];
        long idx = omvi_board_find(b, n);
        if (idx < 0) {
            fail_at(c, fo_line, "[board] flash_order: no partition named '%s' (partitions: %s)", n,
                    names);
            return;
        }
        for (size_t j = 0; j < i; j++) {
            if (b->flash_order[j] == (size_t)idx) {
                fail_at(c, fo_line, "[board] flash_order: '%s' is listed twice", n);
                return;
            }
        }
        if (b->parts[idx].info.read_only) {
            fail_at(c, fo_line, "[board] flash_order: partition '%s' is read_only", n);
            return;
        }
        if (!b->parts[idx].image) {
            fail_at(c, fo_line,
                    "[board] flash_order: partition '%s' has no image (add image = FILE to "
                    "[partition %s])",
                    n, n);
            return;
        }
        b->flash_order[i] = (size_t)idx;
    }
    b->filesystem = -1;
    if (b->filesystem_name) {
        int line = b->key_lines[OMVI_BK_FILESYSTEM];
        long idx = omvi_board_find(b, b->filesystem_name);
        if (idx < 0) {
            fail_at(c, line, "[board] filesystem: no partition named '%s' (partitions: %s)",
                    b->filesystem_name, names);
            return;
        }
        if (b->parts[idx].info.read_only) {
            fail_at(c, line, "[board] filesystem: partition '%s' is read_only", b->filesystem_name);
            return;
        }
        b->filesystem = idx;
    }
    for (size_t i = 0; i < b->n_psections; i++) {
        omvi_plugin_section *ps = &b->psections[i];
        int known = b->entry && strcmp(ps->title, b->entry) == 0;
        for (size_t t = 0; t < b->n_transports; t++)
            known |= strcmp(ps->title, b->transports[t]) == 0;
        if (!known) {
            fail_at(c, ps->line, "unknown section [%s] (the transport is '%s'; its options go in [%s])",
                    ps->title, b->transport, b->transport);
            return;
        }
        if (ps->n_order && b->entry && strcmp(ps->title, b->entry) == 0) {
            fail_at(c, ps->order_line, "[%s] flash_order: only a transport's section may have one", ps->title);
            return;
        }
        if (ps->n_order && !(ps->order = calloc(ps->n_order, sizeof *ps->order))) {
            fail_nomem(c);
            return;
        }
        for (size_t k = 0; k < ps->n_order; k++) {
            long idx = omvi_board_find(b, ps->order_names[k]);
            if (idx < 0 || b->parts[idx].info.read_only) {
                fail_at(c, ps->order_line, "[%s] flash_order: %s '%s'%s", ps->title,
                        idx < 0 ? "no partition named" : "partition", ps->order_names[k],
                        idx < 0 ? "" : " is read-only");
                return;
            }
            ps->order[k] = (size_t)idx;
        }
    }
}

omv_status omv_board_load(const char *path, omv_board **out, omv_error *err)
{
    if (!path || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_load: path and out are required");
    *out = NULL;
    omv_board *b = calloc(1, sizeof *b);
    if (!b || !(b->path = omvi_strdup(path))) {
        free(b);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    }
    b->wait_ms = 10000;
    b->filesystem = -1;
    /* An input like any other (file_guard.c): a FIFO or a device given as
     * the board file is refused at once, and so is anything too large. */
    FILE *f = omvi_open_input_file(path, " (board file)", OMVI_MAX_BOARD_FILE, OMV_E_BOARD, NULL, err);
    if (!f) {
        omv_board_free(b);
        return err ? err->code : OMV_E_BOARD;
    }
    parse_ctx c = {.b = b, .f = f, .err = err};
    int r = ini_parse_stream(reader, &c, handler, &c);
    free(c.buf);
    fclose(f);
    if (!c.failed && r > 0)
        fail_at(&c, r, "syntax error");
    else if (!c.failed && r < 0)
        fail_nomem(&c);
    if (!c.failed)
        check_board(&c);
    if (c.failed) {
        omv_board_free(b);
        return c.code;
    }
    *out = b;
    return OMV_OK;
}

static void free_psec(omvi_plugin_section *s)
{
    free(s->title);
    free(s->plugin);
    for (size_t i = 0; i < s->n_opts; i++) {
        free(s->opts[i].key);
        free(s->opts[i].value);
    }
    free(s->opts);
    omvi_free_list(s->restore_names, s->n_restore);
    free(s->restore);
    omvi_free_list(s->recovers_names, s->n_recovers);
    free(s->recovers);
    omvi_free_list(s->order_names, s->n_order);
    free(s->order);
}

void omv_board_free(omv_board *b)
{
    if (!b)
        return;
    free(b->path);
    free(b->name);
    free(b->boot_ids);
    free(b->app_ids);
    free(b->transport);
    omvi_free_list(b->transports, b->n_transports);
    free(b->entry);
    omvi_free_list(b->flash_order_names, b->n_flash_order);
    free(b->flash_order);
    free(b->firmware_list);
    free(b->firmware_dir);
    free(b->arch);
    free(b->filesystem_name);
    for (size_t i = 0; i < b->n_parts; i++) {
        free(b->parts[i].name);
        free(b->parts[i].image);
    }
    free(b->parts);
    for (size_t i = 0; i < b->n_psections; i++)
        free_psec(&b->psections[i]);
    free(b->psections);
    for (size_t i = 0; i < b->n_actions; i++)
        free_psec(&b->actions[i]);
    free(b->actions);
    free(b);
}

int omvi_board_part_optional(const omv_board *b, size_t part)
{
    for (size_t t = 0; t < b->n_transports; t++) {
        const omvi_plugin_section *s = omvi_board_plugin_section(b, b->transports[t]);
        if (!s || !s->n_order)
            continue;
        int listed = 0;
        for (size_t k = 0; k < s->n_order; k++)
            listed |= s->order[k] == part;
        if (!listed)
            return 1;
    }
    return 0;
}

const omvi_plugin_section *omvi_board_plugin_section(const omv_board *b, const char *name)
{
    for (size_t i = 0; b && name && i < b->n_psections; i++)
        if (strcmp(b->psections[i].title, name) == 0)
            return &b->psections[i];
    return NULL;
}

const omvi_plugin_section *omvi_board_transport_section(const omv_board *b)
{
    for (size_t i = 0; i < b->n_psections; i++)
        if (strcmp(b->psections[i].title, b->transport) == 0)
            return &b->psections[i];
    return NULL;
}

/* ---- accessors ----------------------------------------------------------- */

const char *omv_board_name(const omv_board *b) { return b ? b->name : NULL; }
const char *omv_board_path(const omv_board *b) { return b ? b->path : NULL; }
const char *omv_board_transport(const omv_board *b) { return b ? b->transport : NULL; }
const char *omv_board_firmware_dir(const omv_board *b) { return b ? b->firmware_dir : NULL; }
const char *omv_board_arch(const omv_board *b) { return b ? b->arch : NULL; }
size_t omv_board_partition_count(const omv_board *b) { return b ? b->n_parts : 0; }

const omv_partition_info *omv_board_partition(const omv_board *b, size_t i)
{
    return b && i < b->n_parts ? &b->parts[i].info : NULL;
}
