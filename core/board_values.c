/* Parsers for board-file values: sizes, numbers, booleans, VID:PID, name lists. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Digits in @p base from s; sets *end. Rejects overflow and no digits. */
static int parse_digits(const char *s, unsigned base, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return -1;
        v = v * base + d;
    }
    if (p == s)
        return -1;
    *out = v;
    *end = p;
    return 0;
}

static int parse_number(const char *s, uint64_t *out, const char **end)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return parse_digits(s + 2, 16, out, end);
    return parse_digits(s, 10, out, end);
}

int omvi_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    const char *end;
    if (!s || parse_number(s, &v, &end) != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int omvi_parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mul = 1;
    const char *end;
    if (!s || parse_number(s, &v, &end) != 0)
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    if (*end != '\0')
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int omvi_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    if (!s)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_hex16(const char *s, size_t len, uint16_t *out)
{
    if (len < 1 || len > 4)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return -1;
        char c = s[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (tolower((unsigned char)c) - 'a' + 10));
    }
    *out = (uint16_t)v;
    return 0;
}

int omvi_parse_usb_id(const char *s, struct omv_usb_id *out)
{
    const char *colon = strchr(s, ':');
    if (!colon)
        return -1;
    if (parse_hex16(s, (size_t)(colon - s), &out->vid) != 0)
        return -1;
    return parse_hex16(colon + 1, strlen(colon + 1), &out->pid);
}

void omvi_free_list(char **items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

int omvi_split_list(const char *s, char ***items_out, size_t *n_out, size_t *bad_index)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **items = calloc(cap, sizeof *items);
    if (!items)
        return -2;
    size_t n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *b = p;
        while (b < e && isspace((unsigned char)*b))
            b++;
        const char *t = e;
        while (t > b && isspace((unsigned char)t[-1]))
            t--;
        if (t == b) {
            *bad_index = n;
            omvi_free_list(items, n);
            return -1;
        }
        items[n] = malloc((size_t)(t - b) + 1);
        if (!items[n]) {
            omvi_free_list(items, n);
            return -2;
        }
        memcpy(items[n], b, (size_t)(t - b));
        items[n][t - b] = '\0';
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *items_out = items;
    *n_out = n;
    return 0;
}

int omvi_valid_partition_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

int omvi_valid_plugin_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int omvi_valid_file_name(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int omvi_valid_arch(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > OMVI_ARCH_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
            return 0;
    return 1;
}

char *omvi_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

const char *omvi_strerror(int errnum, char *buf, size_t len)
{
    /* XSI strerror_r (we build with _XOPEN_SOURCE, not _GNU_SOURCE). */
    if (strerror_r(errnum, buf, len) != 0)
        snprintf(buf, len, "error %d", errnum);
    return buf;
}

void omvi_join_add(char *buf, size_t len, const char *item)
{
    if (!buf || !len)
        return;
    size_t used = 0;
    while (used < len && buf[used])
        used++;
    if (used + 1 >= len)
        return;
    /* Using the result keeps -Wformat-truncation quiet: truncation is acceptable here. */
    if (snprintf(buf + used, len - used, "%s%s", used ? ", " : "", item ? item : "") < 0)
        buf[used] = '\0';
}

void omvi_join(const char *const *items, size_t n, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        omvi_join_add(buf, len, items[i]);
}
