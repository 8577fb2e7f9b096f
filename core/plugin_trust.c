/*
 * Which plugin files may be loaded. A plugin runs inside omvflashd, often as
 * root or a service user, so whoever can put a file where it is loaded from
 * can run code as that user. The rules, checked on the file's real path (no
 * symbolic link in it left unresolved) before dlopen():
 *  - the search directory was given as an absolute path ('.' or a relative
 *    entry in $OMVFLASH_PLUGIN_PATH depends on the current directory);
 *  - the file, its directory and every directory above belong to root or to
 *    the user running omvflashd;
 *  - the file and its directory are writable by nobody else (no group or
 *    world write bit); a directory above may be world-writable only with the
 *    sticky bit (/tmp), which stops others from renaming what is in it.
 * This is the check OpenSSH applies to authorized_keys (StrictModes) and
 * sudo to sudoers, for the same reason.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* NULL when @p st may be trusted, else why not (for "refusing to load ..."). */
static const char *distrust(const struct stat *st, int strict, char *why, size_t n)
{
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(why, n, "is owned by uid %u, neither root nor the user running omvflashd (uid %u)",
                 (unsigned)st->st_uid, (unsigned)geteuid());
        return why;
    }
    int writable = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (writable && (strict || !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))) {
        snprintf(why, n, "is writable by %s (mode %04o)", st->st_mode & S_IWOTH ? "everyone" : "its group",
                 (unsigned)(st->st_mode & 07777));
        return why;
    }
    return NULL;
}

omv_status omvi_plugin_trusted(const char *file, const char *context, char *real, size_t real_len, omv_error *err)
{
    char eb[128], why[160], path[PATH_MAX];
    if (real_len < PATH_MAX)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: internal error: path buffer too small", context);
    if (!realpath(file, path))
        return omv_error_set(err, OMV_E_PLUGIN, "%s: %s: %s", context, file, omvi_strerror(errno, eb, sizeof eb));
    struct stat st;
    if (stat(path, &st) != 0)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: %s: %s", context, path, omvi_strerror(errno, eb, sizeof eb));
    if (!S_ISREG(st.st_mode))
        return omv_error_set(err, OMV_E_PLUGIN, "%s: refusing to load %s: it is %s", context, path,
                             omvi_file_type_name(st.st_mode));
    if (distrust(&st, 1, why, sizeof why))
        return omv_error_set(err, OMV_E_PLUGIN, "%s: refusing to load %s: the file %s", context, path, why);
    /* Each directory from the file's own up to "/". */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (int own = 1;; own = 0) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        if (slash == dir)
            slash[1] = '\0'; /* "/" itself */
        else
            *slash = '\0';
        if (stat(dir, &st) != 0)
            return omv_error_set(err, OMV_E_PLUGIN, "%s: %s: %s", context, dir, omvi_strerror(errno, eb, sizeof eb));
        if (distrust(&st, own, why, sizeof why))
            return omv_error_set(err, OMV_E_PLUGIN, "%s: refusing to load %s: the directory %s %s", context, path,
                                 dir, why);
        if (strcmp(dir, "/") == 0)
            break;
    }
    memcpy(real, path, strlen(path) + 1);
    return OMV_OK;
}
