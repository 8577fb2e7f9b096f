/* [dfuse] group of --model: how much of the compiled-in erase/program time
 * estimates (dfuse_models.c) the DfuSe cameras spend. 0 (the default) makes
 * every operation instant and every reported bwPollTimeout 0, which is what
 * most tests want; 100 is the estimate itself. */
#include "dfuse_device.h"

#include <stdio.h>
#include <string.h>

static bool get_pct(GKeyFile *kf, const char *key, unsigned *out, char *err, size_t errlen)
{
    if (!g_key_file_has_key(kf, "dfuse", key, NULL))
        return true;
    gchar *v = g_key_file_get_value(kf, "dfuse", key, NULL);
    gchar *end = NULL;
    guint64 x = v ? g_ascii_strtoull(g_strstrip(v), &end, 10) : 0;
    bool ok = v && *v && end && !*end && v[0] != '-' && x <= 100000;
    if (ok)
        *out = (unsigned)x;
    else
        snprintf(err, errlen, "[dfuse] %s=%s is not a percentage (0..100000)", key, v ? v : "");
    g_free(v);
    return ok;
}

bool dfuse_timing_load(const char *path, unsigned *erase_pct, unsigned *program_pct, char *err,
                       size_t errlen)
{
    GKeyFile *kf = g_key_file_new();
    bool ok = g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL);
    if (!ok) { /* timing_model_load() already reported an unreadable file */
        g_key_file_free(kf);
        return true;
    }
    unsigned all = 0;
    bool has_all = g_key_file_has_key(kf, "dfuse", "time_pct", NULL);
    ok = get_pct(kf, "time_pct", &all, err, errlen);
    if (ok && has_all)
        *erase_pct = *program_pct = all;
    ok = ok && get_pct(kf, "erase_pct", erase_pct, err, errlen) &&
         get_pct(kf, "program_pct", program_pct, err, errlen);
    g_key_file_free(kf);
    return ok;
}
