/* omvflashd: hints appended to error messages. */
#ifndef OMVFLASHD_CLI_HINTS_H
#define OMVFLASHD_CLI_HINTS_H

#include <stddef.h>

#include <omvflash/omvflash.h>

/**
 * After "no camera of @p board appeared": the OpenMV cameras attached now
 * that only other board files of the board dirs match, as
 * "; attached instead: 37c5:9204 (bootloader) at port 1-1, serial X: a camera
 * for --board h7" (several devices separated by "; "). @p buf gets "" when
 * there is nothing to say or the listing fails (a hint never fails a run).
 */
void cli_other_cameras_hint(const omv_board *board, const char *plugin_dir, char *buf, size_t n);

#endif
