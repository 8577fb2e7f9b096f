#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

void tu_fresh_dir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        abort();
}

void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        abort();
    fclose(f);
}

void tu_write_text(const char *path, const char *text) { tu_write(path, text, strlen(text)); }

void tu_write_pattern(const char *path, size_t size, unsigned seed)
{
    unsigned char *b = malloc(size ? size : 1);
    if (!b)
        abort();
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)((i * 7 + seed) & 0xFF);
    tu_write(path, b, size);
    free(b);
}

void tu_write_sparse(const char *path, uint64_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || ftruncate(fileno(f), (off_t)size) != 0)
        abort();
    fclose(f);
}

char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
    }
    fclose(f);
    if (!b)
        abort();
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *tu_join(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

int tu_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = tu_read(a, &la), *y = tu_read(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

omv_board *tu_load_board(const char *path)
{
    omv_board *b = NULL;
    omv_error err = {0};
    omv_status st = omv_board_load(path, &b, &err);
    if (st != OMV_OK)
        print_error("%s: %s\n", path, err.msg);
    assert_int_equal(st, OMV_OK);
    assert_non_null(b);
    return b;
}
