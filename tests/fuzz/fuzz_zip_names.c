/*
 * libFuzzer harness: release-zip entry names (core/zip_names.c). The input is
 * a list of names separated by '\n' (a name may hold any other byte, NUL
 * included). Each name goes through omvi_zip_name_check() and
 * omvi_zip_name_escape(); the accepted ones through omvi_zip_names_clash().
 * Both are checked against plain reference versions written differently
 * here, so a rule that lets a zip-slip form through, or a clash that goes
 * unseen, traps even when nothing crashes.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "release_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NAMES 64

/* Reference rules: byte classes, then components split one by one. */
static int reference_ok(const char *s, size_t n)
{
    if (n == 0 || n > OMVI_ZIP_NAME_MAX || s[0] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7E || c == '\\' || c == ':')
            return 0;
    }
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        size_t len = j - i;
        int trailing = j == n - 1; /* "dir/" : the final '/' ends a folder name */
        if (len == 0 || (len == 1 && s[i] == '.') || (len == 2 && s[i] == '.' && s[i + 1] == '.'))
            return 0;
        if (trailing || j == n)
            break;
        i = j + 1;
    }
    return 1;
}

static void lower(const char *s, char *out)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == '/')
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    out[n] = '\0';
}

/* Reference clash: equal without case, or a file that is a folder of another. */
static int reference_clash(char **names, size_t n)
{
    static char a[OMVI_ZIP_NAME_MAX + 1], b[OMVI_ZIP_NAME_MAX + 1];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            lower(names[i], a);
            lower(names[j], b);
            size_t la = strlen(a);
            int a_is_file = names[i][strlen(names[i]) - 1] != '/';
            if (i < j && strcmp(a, b) == 0)
                return 1;
            if (a_is_file && strncmp(a, b, la) == 0 && b[la] == '/')
                return 1;
        }
    return 0;
}

static void check_escape(const char *name, size_t len)
{
    static const size_t sizes[] = {1, 4, 5, 9, 64, 4200};
    static char out[4200];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memset(out, 0x55, sizeof out);
        omvi_zip_name_escape(name, len, out, sizes[k]);
        size_t n = strnlen(out, sizes[k]);
        if (n >= sizes[k])
            __builtin_trap(); /* unterminated */
        for (size_t i = 0; i < n; i++)
            if (out[i] < 0x20 || out[i] > 0x7E)
                __builtin_trap(); /* a raw control byte would reach the terminal */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *names[MAX_NAMES];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_NAMES; i++) {
        if (i < size && data[i] != '\n')
            continue;
        const char *name = (const char *)data + start;
        size_t len = i - start;
        start = i + 1;
        char why[160] = "";
        int r = omvi_zip_name_check(name, len, why, sizeof why);
        if (r != 0 && r != -1)
            __builtin_trap();
        if ((r == 0) != reference_ok(name, len))
            __builtin_trap(); /* the rules and the reference disagree */
        if (r == -1 && (why[0] == '\0' || strchr(why, '\n')))
            __builtin_trap();
        check_escape(name, len);
        if (r == 0) {
            names[n] = malloc(len + 1);
            if (!names[n])
                abort();
            memcpy(names[n], name, len);
            names[n][len] = '\0';
            n++;
        }
    }
    size_t a = 0, b = 0;
    int c = omvi_zip_names_clash((const char *const *)names, n, &a, &b);
    if (c < 0)
        abort();
    if (c != reference_clash(names, n))
        __builtin_trap();
    if (c == 1 && !(a < b && b < n))
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return 0;
}
