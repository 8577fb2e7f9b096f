/* omvflashd: board files by path or name, and all boards of the board dirs. */
#ifndef OMVFLASHD_CLI_BOARDS_H
#define OMVFLASHD_CLI_BOARDS_H

#include <omvflash/omvflash.h>

/** Most boards cli_load_all_boards() loads. */
#define CLI_MAX_BOARDS 64

/**
 * --board FILE|NAME -> a loaded board: a path ("boards/ae3.ini", anything
 * with a '/' or ending in .ini) or a name ("ae3") looked up in the board dirs.
 * @return OMV_OK, OMV_E_BOARD (not found, malformed), OMV_E_NOMEM.
 */
omv_status cli_load_board(const char *arg, omv_board **board, omv_error *err);

/**
 * cli_load_board(), then, when @p profile is not NULL, the board as its
 * profile @p profile describes it (omv_board_select_profile()).
 * @return OMV_OK, OMV_E_BOARD, OMV_E_USAGE (no such profile),
 *         OMV_E_UNSUPPORTED (the profile refuses, naming what to use), OMV_E_NOMEM.
 */
omv_status cli_load_board_profile(const char *arg, const char *profile, omv_board **board, omv_error *err);

/**
 * Load every *.ini of the first board dir that has any, sorted by name, into
 * @p boards (at most @p max); *count receives how many.
 * @return OMV_OK, OMV_E_BOARD (none found, or one malformed), OMV_E_NOMEM.
 */
omv_status cli_load_all_boards(omv_board **boards, size_t max, size_t *count, omv_error *err);

#endif
