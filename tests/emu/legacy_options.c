/* The legacy camera's settings from the command line: the [legacy] group of
 * --model FILE (device busy times) and the --fault SPECs it understands. */
#include "legacy_camera.h"

#include <errno.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- timing model --------------------------------------------------------- */

bool legacy_timing_load(const char *path, legacy_timing_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    bool ok = false;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        snprintf(err, errlen, "cannot read model %s: %s", path, e->message);
        g_clear_error(&e);
        goto out;
    }
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"erase_us_16k", offsetof(legacy_timing_t, erase_us_16k)},
        {"erase_us_32k", offsetof(legacy_timing_t, erase_us_32k)},
        {"erase_us_64k", offsetof(legacy_timing_t, erase_us_64k)},
        {"erase_us_128k", offsetof(legacy_timing_t, erase_us_128k)},
        {"erase_us_256k", offsetof(legacy_timing_t, erase_us_256k)},
        {"program_us_per_64", offsetof(legacy_timing_t, program_us_per_64)},
        {"qspi_erase_us", offsetof(legacy_timing_t, qspi_erase_us)},
        {"qspi_program_us", offsetof(legacy_timing_t, qspi_program_us)},
        {"qspi_memtest_us", offsetof(legacy_timing_t, qspi_memtest_us)},
        {"packet_us", offsetof(legacy_timing_t, packet_us)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        if (!g_key_file_has_key(kf, "legacy", keys[i].key, NULL))
            continue;
        gchar *s = g_key_file_get_value(kf, "legacy", keys[i].key, NULL);
        g_strstrip(s);
        gchar *end = NULL;
        guint64 v = g_ascii_strtoull(s, &end, 10);
        bool good = *s && end && !*end && s[0] != '-';
        if (!good)
            snprintf(err, errlen, "[legacy] %s=%s is not a non-negative integer (microseconds)",
                     keys[i].key, s);
        g_free(s);
        if (!good)
            goto out;
        *(uint64_t *)((char *)t + keys[i].off) = v;
    }
    ok = true;
out:
    g_key_file_free(kf);
    return ok;
}

/* ---- faults ---------------------------------------------------------------- */

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *s == '-' || !end || *end || errno || v > 0xFFFFFFFFul)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool legacy_fault_syntax(const char *spec)
{
    return !strncmp(spec, "unplug-at:", 10) || !strncmp(spec, "unplug-erase@", 13) ||
           !strncmp(spec, "stall-reply", 11) || !strncmp(spec, "drop-layout-reply:", 18) ||
           !strncasecmp(spec, "unplug@QSPI:", 12);
}

bool legacy_fault_parse(const char *spec, lfault_t *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", spec);
    const char *v;
    if (!strncmp(buf, "unplug-at:", 10) || !strncasecmp(buf, "unplug@FIRMWARE:", 16) ||
        !strncasecmp(buf, "unplug@QSPI:", 12)) {
        f->kind = LF_UNPLUG_AT;
        f->qspi = !strncasecmp(buf, "unplug@QSPI:", 12);
        v = strchr(buf, ':') + 1;
        if (!parse_u32(v, &f->value))
            goto bad;
        return true;
    }
    if (!strncmp(buf, "unplug-erase@", 13)) {
        f->kind = LF_UNPLUG_ERASE;
        if (!parse_u32(buf + 13, &f->value))
            goto bad;
        return true;
    }
    if (!strcmp(buf, "stall-reply") || !strncmp(buf, "stall-reply:", 12)) {
        f->kind = LF_DROP_LAYOUT;
        f->value = 1;
        f->count = -1;
        if (buf[11] == ':' && (!parse_u32(buf + 12, &f->value) || f->value == 0))
            goto bad;
        return true;
    }
    if (!strncmp(buf, "drop-layout-reply:", 18)) {
        f->kind = LF_DROP_LAYOUT;
        f->count = 1;
        char *star = strchr(buf, '*');
        if (star) {
            *star = '\0';
            uint32_t k;
            if (star[1] == '\0')
                f->count = -1;
            else if (parse_u32(star + 1, &k) && k > 0 && k < 1000000)
                f->count = (int)k;
            else
                goto bad;
        }
        if (!parse_u32(buf + 18, &f->value) || f->value == 0)
            goto bad;
        return true;
    }
bad:
    snprintf(err, errlen,
             "--fault '%s': legacy cameras take unplug@FIRMWARE:OFFSET, unplug@QSPI:OFFSET, "
             "unplug-at:OFFSET, unplug-erase@SECTOR, stall-reply[:N], drop-layout-reply:N[*K|*]",
             spec);
    return false;
}
