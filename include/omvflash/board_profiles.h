/*
 * libomvflash: board profiles, the [profile NAME] sections of a board file:
 * other ways to flash the same camera (e.g. `recover`, through the chip's ROM
 * bootloader when the camera's own bootloader is gone), each with its own
 * bootloader ids, transport, partitions and order, or a refusal naming the
 * tool to use instead. Included by omvflash.h; see docs/board-files.md.
 */
#ifndef OMVFLASH_BOARD_PROFILES_H
#define OMVFLASH_BOARD_PROFILES_H

#include <stddef.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded, validated board file (opaque; omvflash.h). */
typedef struct omv_board omv_board;

/**
 * Number of [profile NAME] sections of @p board: other ways to flash the
 * camera (e.g. `recover`, through the chip's ROM bootloader), each with its
 * own bootloader ids, transport, partitions and order, or a refusal naming
 * the tool to use instead. 0 for NULL and for a board returned by
 * omv_board_select_profile().
 */
size_t omv_board_profile_count(const omv_board *board);

/** Name of profile @p i (0 .. count-1, file order), or NULL beyond the end. */
const char *omv_board_profile_name(const omv_board *board, size_t i);

/**
 * The board as its profile @p name describes it, as a new board that every
 * function taking a board accepts (omv_flash(), omv_list_devices(),
 * omv_watcher_open(), omv_board_check_plugins(), ...): the profile's
 * bootloader ids, transports, partitions (renumbered when it reaches only
 * some), per-partition keys, flash_order and wait_ms, the board's for what
 * it does not set. A profile with its own transport has no entry plugins and
 * no actions. Its `writable` partitions are writable there, and omv_flash()
 * writes one only after a confirmation (OMV_EV_CONFIRM and the confirm
 * callback; refused: OMV_E_CANCELLED, before any device I/O). While
 * omv_flash() waits for the device, the OMV_EV_WAITING event carries the
 * profile's message (omv_board_wait_message()).
 * @param out  receives the board; free it with omv_board_free(). @p board
 *             may be freed first.
 * @return OMV_OK; OMV_E_USAGE (no such profile: the message names the
 *         profiles there are; or @p board is already a profile's);
 *         OMV_E_UNSUPPORTED (the profile refuses: the message is the board
 *         file's reason, e.g. the vendor tool to use); OMV_E_NOMEM.
 */
omv_status omv_board_select_profile(const omv_board *board, const char *name, omv_board **out, omv_error *err);

/** The profile @p board was made from by omv_board_select_profile(), or NULL. */
const char *omv_board_profile(const omv_board *board);

/**
 * What the user must do to get the camera into the bootloader the board
 * waits for (the selected profile's `message`, e.g. how to fit the BOOT0
 * jumper), or NULL. Valid until omv_board_free().
 */
const char *omv_board_wait_message(const omv_board *board);

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_BOARD_PROFILES_H */
