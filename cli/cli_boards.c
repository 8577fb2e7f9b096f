/* omvflashd: finding board files: --board FILE|NAME and every board of the
 * board dirs ($OMVFLASH_BOARD_PATH, then this omvflashd's own board dir,
 * cli_self_dir.c). */
#define _POSIX_C_SOURCE 200809L
#include "cli_text.h"
#include "cli_boards.h"
#include "cli_self_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Board directories in search order: $OMVFLASH_BOARD_PATH, then the one of
 * this omvflashd (share/omvflash/boards of its prefix; in a build tree, a
 * link to the source tree's boards/). */
static size_t board_dirs(char dirs[][512], size_t max)
{
    size_t n = 0;
    const char *env = getenv("OMVFLASH_BOARD_PATH");
    if (env && *env) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", env);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d && n < max; d = strtok_r(NULL, ":", &save))
            snprintf(dirs[n++], 512, "%s", d);
    }
    if (n < max && cli_own_board_dir(dirs[n], 512) > 0)
        n++;
    return n;
}

/* --board accepts a path ("boards/ae3.ini") or a name ("ae3") looked up in the board dirs. */
static omv_status resolve_board(const char *arg, char *path, size_t n, omv_error *err)
{
    size_t len = strlen(arg);
    if (strchr(arg, '/') || (len > 4 && strcmp(arg + len - 4, ".ini") == 0)) {
        snprintf(path, n, "%s", arg);
        return OMV_OK;
    }
    char dirs[8][512];
    size_t nd = board_dirs(dirs, 8);
    char searched[2048] = "";
    for (size_t i = 0; i < nd; i++) {
        snprintf(path, n, "%s/%s.ini", dirs[i], arg);
        struct stat st;
        if (stat(path, &st) == 0)
            return OMV_OK;
        cli_join_add(searched, sizeof searched, dirs[i]);
    }
    return omv_error_set(err, OMV_E_BOARD, "board '%s' not found (searched: %s)", arg, searched);
}

/* --board FILE|NAME -> a loaded board. */
omv_status cli_load_board(const char *arg, omv_board **board, omv_error *err)
{
    char path[1024];
    omv_status st = resolve_board(arg, path, sizeof path, err);
    return st == OMV_OK ? omv_board_load(path, board, err) : st;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.ini of the first board dir that has any (for --list-devices without --board). */
omv_status cli_load_all_boards(omv_board **boards, size_t max, size_t *count, omv_error *err)
{
    char dirs[8][512];
    size_t nd = board_dirs(dirs, 8);
    *count = 0;
    for (size_t i = 0; i < nd && *count == 0; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        char *names[CLI_MAX_BOARDS];
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) && nn < CLI_MAX_BOARDS && nn < max) {
            size_t l = strlen(e->d_name);
            if (l > 4 && strcmp(e->d_name + l - 4, ".ini") == 0 && (names[nn] = strdup(e->d_name)))
                nn++;
        }
        closedir(d);
        qsort(names, nn, sizeof names[0], name_cmp);
        omv_status st = OMV_OK;
        for (size_t k = 0; k < nn; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dirs[i], names[k]);
            if (st == OMV_OK) {
                st = omv_board_load(path, &boards[*count], err);
                if (st == OMV_OK)
                    (*count)++;
            }
            free(names[k]);
        }
        if (st != OMV_OK)
            return st;
    }
    if (*count == 0)
        return omv_error_set(err, OMV_E_BOARD, "no board files found (set OMVFLASH_BOARD_PATH or use --board)");
    return OMV_OK;
}


omv_status cli_load_board_profile(const char *arg, const char *profile, omv_board **board, omv_error *err)
{
    omv_status st = cli_load_board(arg, board, err);
    if (st != OMV_OK || !profile)
        return st;
    omv_board *p = NULL;
    st = omv_board_select_profile(*board, profile, &p, err);
    omv_board_free(*board);
    *board = p;
    return st;
}
