/*
 * Where libomvflash looks for its own plugins: OMV_LIB_TO_PLUGIN_DIR
 * ("omvflash/plugins", fixed at configure time from the install layout)
 * relative to the directory of the file this code was loaded from. The build
 * tree has the install layout, so the same library finds the build's plugins
 * in the build tree and the installed ones in any prefix it was installed or
 * moved to; no absolute path is compiled in.
 */
#define _GNU_SOURCE /* dladdr1() */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef OMV_LIB_TO_PLUGIN_DIR
#define OMV_LIB_TO_PLUGIN_DIR "omvflash/plugins"
#endif

/* Any object of this file: dladdr1() names the ELF object that holds it. */
static const char anchor = 0;

/* The real path of the file holding this code: libomvflash.so, or the
 * program itself when the core is linked statically (unit tests). The
 * loader records a library's path as it opened it (l_name) but none for the
 * program (dladdr would give its argv[0], which may be relative to a
 * directory long left): the program's path comes from /proc/self/exe. */
static int self_file(char *out, size_t n)
{
    Dl_info info;
    struct link_map *map = NULL;
    char path[PATH_MAX];
    if (dladdr1(&anchor, &info, (void **)&map, RTLD_DL_LINKMAP) && map && map->l_name && map->l_name[0]) {
        snprintf(path, sizeof path, "%s", map->l_name);
    } else {
        ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
        if (len <= 0)
            return -1;
        path[len] = '\0';
    }
    char real[PATH_MAX];
    if (!realpath(path, real) || strlen(real) >= n)
        return -1;
    memcpy(out, real, strlen(real) + 1);
    return 0;
}

size_t omvi_builtin_plugin_dir(char *out, size_t n)
{
    char file[PATH_MAX];
    if (n == 0)
        return 0;
    out[0] = '\0';
    if (self_file(file, sizeof file) != 0)
        return 0;
    char *slash = strrchr(file, '/');
    *slash = '\0'; /* a real path: absolute, so there is a slash */
    char joined[PATH_MAX + sizeof OMV_LIB_TO_PLUGIN_DIR + 1];
    snprintf(joined, sizeof joined, "%s/%s", file, OMV_LIB_TO_PLUGIN_DIR);
    /* "lib/../lib/omvflash/plugins" reads badly in messages: show the real
     * path when the directory exists. */
    char real[PATH_MAX];
    const char *dir = realpath(joined, real) ? real : joined;
    size_t len = strlen(dir);
    if (len >= n)
        return 0;
    memcpy(out, dir, len + 1);
    return len;
}
