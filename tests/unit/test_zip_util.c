#include "test_zip_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

uint8_t tz_pattern_byte(uint64_t i, unsigned seed)
{
    if (!(seed & 1))
        return (uint8_t)(i * 7 + seed);
    /* splitmix64 of (i / 8): incompressible, cheap, reproducible */
    uint64_t z = (i / 8) + seed * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (uint8_t)(z >> (8 * (i % 8)));
}

/* A libzip source that generates a pattern on the fly: a 64 MiB entry is
 * written without 64 MiB in memory. */
typedef struct gen {
    uint64_t size, pos;
    unsigned seed;
    zip_error_t error;
} gen;

static zip_int64_t gen_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    gen *g = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        g->pos = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        uint64_t n = g->size - g->pos < len ? g->size - g->pos : len;
        uint8_t *d = data;
        for (uint64_t k = 0; k < n; k++)
            d[k] = tz_pattern_byte(g->pos + k, g->seed);
        g->pos += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = g->size;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&g->error, data, len);
    case ZIP_SOURCE_FREE:
        free(g);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        zip_error_set(&g->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

static void die(const char *what, zip_t *za)
{
    fprintf(stderr, "test zip: %s: %s\n", what, za ? zip_strerror(za) : "?");
    abort();
}

static void add_entry(zip_t *za, const tz_entry *e)
{
    if (e->how == TZ_DIR) {
        if (zip_dir_add(za, e->name, 0) < 0)
            die(e->name, za);
        return;
    }
    zip_source_t *src;
    if (e->data) {
        src = zip_source_buffer(za, e->data, e->size, 0);
    } else {
        gen *g = calloc(1, sizeof *g);
        if (!g)
            abort();
        g->size = e->size;
        g->seed = e->seed;
        zip_error_init(&g->error);
        src = zip_source_function(za, gen_cb, g);
    }
    zip_int64_t i = src ? zip_file_add(za, e->name, src, 0) : -1;
    if (i < 0)
        die(e->name, za);
    zip_int32_t method = e->how == TZ_STORE || e->how == TZ_SYMLINK ? ZIP_CM_STORE
                         : e->how == TZ_BZIP2                       ? ZIP_CM_BZIP2
                                                                    : ZIP_CM_DEFLATE;
    if (zip_set_file_compression(za, (zip_uint64_t)i, method, 0) != 0)
        die("compression", za);
    if (e->how == TZ_AES && zip_file_set_encryption(za, (zip_uint64_t)i, ZIP_EM_AES_256, "pw") != 0)
        die("aes", za);
    if (e->how == TZ_PKWARE &&
        zip_file_set_encryption(za, (zip_uint64_t)i, ZIP_EM_TRAD_PKWARE, "pw") != 0)
        die("pkware", za);
    if (e->how == TZ_SYMLINK &&
        zip_file_set_external_attributes(za, (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX,
                                         (zip_uint32_t)(S_IFLNK | 0777) << 16) != 0)
        die("attributes", za);
}

void tz_write(const char *path, const tz_entry *e, size_t n)
{
    int code = 0;
    unlink(path);
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!za) {
        fprintf(stderr, "test zip: cannot create %s (libzip error %d)\n", path, code);
        abort();
    }
    for (size_t k = 0; k < n; k++)
        add_entry(za, &e[k]);
    if (zip_close(za) != 0)
        die(path, za);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n))
        abort();
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(b, 1, len, f) != len) || fclose(f) != 0)
        abort();
}

int tz_patch(const char *path, const void *from, const void *to, size_t len, int count)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    int done = 0;
    for (size_t i = 0; i + len <= n && done < count; i++)
        if (memcmp(b + i, from, len) == 0) {
            memcpy(b + i, to, len);
            done++;
            i += len - 1;
        }
    spill(path, b, n);
    free(b);
    return done;
}

long tz_find(const char *path, const void *what, size_t len)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    long at = -1;
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(b + i, what, len) == 0) {
            at = (long)i;
            break;
        }
    free(b);
    return at;
}

void tz_flip(const char *path, long off, uint8_t mask)
{
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, off, SEEK_SET) != 0)
        abort();
    int c = fgetc(f);
    if (c == EOF || fseek(f, off, SEEK_SET) != 0 || fputc(c ^ mask, f) == EOF || fclose(f) != 0)
        abort();
}

void tz_truncate(const char *path, uint64_t size)
{
    if (truncate(path, (off_t)size) != 0)
        abort();
}

static void put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

void tz_to_zip64(const char *path)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    uint8_t *e = b + n - 22;
    if (n < 22 || get(e, 4) != 0x06054b50u || get(e + 20, 2) != 0)
        abort();
    uint64_t count = get(e + 10, 2), cd_size = get(e + 12, 4), cd_off = get(e + 16, 4);
    uint64_t z64 = n - 22; /* where the zip64 end record goes */
    uint8_t *o = malloc(n + 56 + 20);
    if (!o)
        abort();
    memcpy(o, b, n - 22);
    uint8_t *r = o + z64;
    put(r, 0x06064b50u, 4);
    put(r + 4, 44, 8);
    put(r + 12, 45, 2);
    put(r + 14, 45, 2);
    put(r + 16, 0, 4);
    put(r + 20, 0, 4);
    put(r + 24, count, 8);
    put(r + 32, count, 8);
    put(r + 40, cd_size, 8);
    put(r + 48, cd_off, 8);
    uint8_t *l = r + 56;
    put(l, 0x07064b50u, 4);
    put(l + 4, 0, 4);
    put(l + 8, z64, 8);
    put(l + 16, 1, 4);
    uint8_t *ne = l + 20;
    memcpy(ne, e, 22);
    put(ne + 8, 0xFFFF, 2);
    put(ne + 10, 0xFFFF, 2);
    put(ne + 12, 0xFFFFFFFFu, 4);
    put(ne + 16, 0xFFFFFFFFu, 4);
    spill(path, o, n + 56 + 20);
    free(o);
    free(b);
}
