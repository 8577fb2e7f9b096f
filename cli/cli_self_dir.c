/* omvflashd: its board dir, relative to its own executable. */
#define _XOPEN_SOURCE 700
#include "cli_self_dir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef OMV_BIN_TO_BOARD_DIR
#define OMV_BIN_TO_BOARD_DIR "../share/omvflash/boards"
#endif

size_t cli_own_board_dir(char *out, size_t n)
{
    if (n == 0)
        return 0;
    out[0] = '\0';
    char exe[PATH_MAX], real[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return 0;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    char joined[PATH_MAX + sizeof OMV_BIN_TO_BOARD_DIR + 1];
    snprintf(joined, sizeof joined, "%s/%s", exe, OMV_BIN_TO_BOARD_DIR);
    const char *dir = realpath(joined, real) ? real : joined;
    size_t dlen = strlen(dir);
    if (dlen >= n)
        return 0;
    memcpy(out, dir, dlen + 1);
    return dlen;
}
