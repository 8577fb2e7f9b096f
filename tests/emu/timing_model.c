#include "timing_model.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Reads an optional non-negative integer key; false only on a malformed value. */
static bool get_us(GKeyFile *kf, const char *group, const char *key, uint64_t *out, char *err,
                   size_t errlen)
{
    GError *e = NULL;
    if (!g_key_file_has_key(kf, group, key, NULL))
        return true;
    gchar *s = g_key_file_get_value(kf, group, key, &e);
    if (!s) {
        snprintf(err, errlen, "[%s] %s: %s", group, key, e ? e->message : "unreadable");
        g_clear_error(&e);
        return false;
    }
    g_strstrip(s);
    gchar *end = NULL;
    guint64 v = g_ascii_strtoull(s, &end, 10);
    bool ok = *s && end && *end == '\0' && s[0] != '-';
    if (!ok)
        snprintf(err, errlen, "[%s] %s=%s is not a non-negative integer (microseconds)", group,
                 key, s);
    else
        *out = v;
    g_free(s);
    return ok;
}

bool timing_model_load(const char *path, timing_model_t *t, char *err, size_t errlen)
{
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    bool ok = false;
    memset(t, 0, sizeof(*t));

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        snprintf(err, errlen, "cannot read model %s: %s", path, e->message);
        g_clear_error(&e);
        goto out;
    }
    if (!g_key_file_has_group(kf, "timing")) {
        snprintf(err, errlen, "model %s has no [timing] group", path);
        goto out;
    }
    if (!get_us(kf, "timing", "write_us_per_block", &t->def.write_us_per_block, err, errlen) ||
        !get_us(kf, "timing", "erase_us_per_unit", &t->def.erase_us_per_unit, err, errlen) ||
        !get_us(kf, "timing", "read_us_per_block", &t->def.read_us_per_block, err, errlen) ||
        !get_us(kf, "timing", "transfer_us", &t->transfer_us, err, errlen) ||
        !get_us(kf, "timing", "data_us_per_block", &t->data_us_per_block, err, errlen) ||
        !get_us(kf, "timing", "recovery_us", &t->recovery_us, err, errlen))
        goto out;

    gsize ngroups = 0;
    gchar **groups = g_key_file_get_groups(kf, &ngroups);
    for (gsize i = 0; i < ngroups; i++) {
        if (strncmp(groups[i], "timing:", 7) != 0)
            continue;
        if (t->nover >= TIMING_MAX_OVERRIDES || strlen(groups[i] + 7) >= sizeof(t->over[0].mem)) {
            snprintf(err, errlen, "model %s: too many or too long [timing:MEMORY] groups", path);
            g_strfreev(groups);
            goto out;
        }
        snprintf(t->over[t->nover].mem, sizeof(t->over[0].mem), "%s", groups[i] + 7);
        t->over[t->nover].t = t->def; /* unspecified keys inherit [timing] */
        if (!get_us(kf, groups[i], "write_us_per_block", &t->over[t->nover].t.write_us_per_block,
                    err, errlen) ||
            !get_us(kf, groups[i], "erase_us_per_unit", &t->over[t->nover].t.erase_us_per_unit,
                    err, errlen) ||
            !get_us(kf, groups[i], "read_us_per_block", &t->over[t->nover].t.read_us_per_block,
                    err, errlen)) {
            g_strfreev(groups);
            goto out;
        }
        t->nover++;
    }
    g_strfreev(groups);
    ok = true;
out:
    g_key_file_free(kf);
    return ok;
}

mem_timing_t timing_for_memory(const timing_model_t *t, const char *mem)
{
    for (size_t i = 0; i < t->nover; i++)
        if (strcmp(t->over[i].mem, mem) == 0)
            return t->over[i].t;
    return t->def;
}
