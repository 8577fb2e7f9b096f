/*
 * Entry names of release zips. omvflash never extracts an archive, but it
 * picks entries by path ("OPENMV4/firmware.bin") and prints their names, so
 * a name must mean exactly one path inside the archive and be safe to show:
 * the classic zip-slip forms (absolute paths, "..", Windows separators and
 * drive letters) and control bytes are refused, as are names that only
 * differ in case (two different files for the IDE on macOS or Windows, one
 * file after extraction there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "release_zip.h"

static int refuse(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
    return -1;
}

static int refuse_byte(char *why, size_t why_len, const char *what, unsigned char c)
{
    if (why && why_len)
        snprintf(why, why_len, "%s 0x%02X in the name", what, c);
    return -1;
}

int omvi_zip_name_check(const char *name, size_t len, char *why, size_t why_len)
{
    if (len == 0)
        return refuse(why, why_len, "empty name");
    if (len > OMVI_ZIP_NAME_MAX)
        return refuse(why, why_len, "name longer than 1024 bytes");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == 0)
            return refuse(why, why_len, "NUL byte in the name");
        if (c < 0x20 || c == 0x7F)
            return refuse_byte(why, why_len, "control character", c);
        if (c > 0x7F)
            return refuse_byte(why, why_len, "non-ASCII byte", c);
        if (c == '\\')
            return refuse(why, why_len, "backslash in the name (a Windows path separator)");
        if (c == ':')
            return refuse(why, why_len, "':' in the name (a drive letter or stream name)");
    }
    if (name[0] == '/')
        return refuse(why, why_len, "absolute path");
    /* Components: a trailing '/' (directory entry) ends the last one. */
    size_t end = name[len - 1] == '/' ? len - 1 : len;
    size_t start = 0;
    while (start <= end) {
        const char *slash = memchr(name + start, '/', end - start);
        size_t clen = (slash ? (size_t)(slash - name) : end) - start;
        if (clen == 0)
            return refuse(why, why_len, "empty path component ('//')");
        if (clen == 1 && name[start] == '.')
            return refuse(why, why_len, "'.' path component");
        if (clen == 2 && name[start] == '.' && name[start + 1] == '.')
            return refuse(why, why_len, "'..' path component (leaves the archive)");
        if (!slash)
            break;
        start += clen + 1;
    }
    return 0;
}

static int plain_byte(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '\\'; }

void omvi_zip_name_escape(const char *name, size_t len, char *out, size_t out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!out_len)
        return;
    size_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += plain_byte((unsigned char)name[i]) ? 1 : 4;
    /* Everything when it fits, else as much as fits before "...". */
    size_t room = total < out_len ? out_len - 1 : (out_len > 3 ? out_len - 4 : 0);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        size_t need = plain_byte(c) ? 1 : 4;
        if (o + need > room)
            break;
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (total >= out_len && out_len > 3) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- clashes ------------------------------------------------------------- */

typedef struct folded {
    char *key;    /* lower-case name without a trailing '/' */
    size_t index; /* position in the caller's array */
    int is_dir;
} folded;

static int cmp_folded(const void *a, const void *b)
{
    const folded *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const folded *find_key(const folded *v, size_t n, const char *key, size_t klen)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(v[mid].key, key, klen);
        if (c == 0 && v[mid].key[klen] != '\0')
            c = 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strncmp(v[lo].key, key, klen) == 0 && v[lo].key[klen] == '\0' ? &v[lo] : NULL;
}

static void set_pair(size_t a, size_t b, size_t *first, size_t *second)
{
    *first = a < b ? a : b;
    *second = a < b ? b : a;
}

/* A file "A" and anything under "A/": the same path would be a file and a folder. */
static int parent_is_file(const folded *v, size_t n, const folded *e, size_t *first,
                          size_t *second)
{
    for (const char *p = strchr(e->key, '/'); p; p = strchr(p + 1, '/')) {
        const folded *f = find_key(v, n, e->key, (size_t)(p - e->key));
        if (f && !f->is_dir) {
            set_pair(f->index, e->index, first, second);
            return 1;
        }
    }
    return 0;
}

int omvi_zip_names_clash(const char *const *names, size_t n, size_t *first, size_t *second)
{
    folded *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        v[i].key = malloc(len + 1);
        if (!v[i].key) {
            r = -1;
            goto out;
        }
        v[i].is_dir = len > 0 && names[i][len - 1] == '/';
        if (v[i].is_dir)
            len--;
        for (size_t k = 0; k < len; k++) {
            char c = names[i][k];
            v[i].key[k] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        v[i].key[len] = '\0';
        v[i].index = i;
    }
    qsort(v, n, sizeof *v, cmp_folded);
    for (size_t i = 0; i + 1 < n && !r; i++)
        if (strcmp(v[i].key, v[i + 1].key) == 0) {
            set_pair(v[i].index, v[i + 1].index, first, second);
            r = 1;
        }
    for (size_t i = 0; i < n && !r; i++)
        r = parent_is_file(v, n, &v[i], first, second);
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].key);
    free(v);
    return r;
}
