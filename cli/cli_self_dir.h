/* omvflashd: directories that belong to this omvflashd, found from its own
 * executable, so an install works from any prefix. */
#ifndef OMVFLASHD_CLI_SELF_DIR_H
#define OMVFLASHD_CLI_SELF_DIR_H

#include <stddef.h>

/**
 * The board dir of this omvflashd: the configured relative path from bindir
 * to the board dir (bin/ -> share/omvflash/boards) applied to the directory
 * of /proc/self/exe, as a real path when it exists (in a build tree it is a
 * link to the source tree's boards/).
 * @return its length, or 0 (@p out "") when /proc/self/exe cannot be read or
 * the path does not fit.
 */
size_t cli_own_board_dir(char *out, size_t n);

#endif
