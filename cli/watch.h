/*
 * omvflashd --watch: flash every camera of a board that appears, several at
 * once, each in its own worker thread running omv_flash() on its port.
 */
#ifndef OMVFLASHD_WATCH_H
#define OMVFLASHD_WATCH_H


#include <omvflash/omvflash.h>

#include "cli_args.h"
#include "fleet.h"

/**
 * Run watch mode until a signal (or --max/--once) ends it.
 * @param base   the request every camera gets (port_path, cancel and
 *               confirmation are set per worker; base->serial filters).
 * @param fleet  --slots, --report (and the records' board and host).
 * @param stop   requested by the first SIGINT/SIGTERM: start no new worker, let
 *               the ones in flight finish, exit 0.
 * @param abort_flag requested by the second: every worker's omv_request.cancel.
 * @return the exit code: 0 after a signal; with --max N, 0 when all N
 *         succeeded, else 1; with --once, that camera's code; a setup
 *         failure's code (plugins, images) before anything was watched.
 */
int cli_watch(const struct cli_opts *o, const omv_board *board, const omv_request *base, struct cli_fleet *fleet,
              const omv_cancel *stop, const omv_cancel *abort_flag);

#endif
