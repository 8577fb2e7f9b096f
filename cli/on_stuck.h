/*
 * --on-stuck CMD: what to run when a camera stops answering in the middle of
 * its flash (typically: power-cycle its hub port with uhubctl), so that it
 * comes back and can be flashed again.
 */
#ifndef OMVFLASHD_ON_STUCK_H
#define OMVFLASHD_ON_STUCK_H

#include <stddef.h>

#include <omvflash/omvflash.h>

/* The longest CMD may take; then it is killed (its whole process group). */
#define ON_STUCK_TIMEOUT_MS 60000u

/** The camera CMD is about. */
struct stuck_camera {
    const char *port;    /* "1-2.3" */
    const char *slot;    /* "" without one */
    const char *serial;
    const char *board;   /* board file name, "ae3" */
};

/**
 * Run @p cmd with /bin/sh -c, its environment ours plus OMVFLASH_PORT,
 * OMVFLASH_HUB and OMVFLASH_HUB_PORT (the port path split at its last '.'
 * or '-': "1-2.3" is hub 1-2, port 3, as uhubctl's -l and -p take them),
 * OMVFLASH_SLOT, OMVFLASH_SERIAL and OMVFLASH_BOARD, without systemd's
 * NOTIFY_SOCKET and WATCHDOG_* (they are omvflashd's). Its standard output
 * goes to omvflashd's standard error (standard output carries the events).
 * Waits for it, at most ON_STUCK_TIMEOUT_MS, and less when @p abort_flag is
 * requested (then it is killed).
 * @param what  receives how it ended: "exit 0", "killed by signal 9", "timed out after 60 s", or why it could not start.
 * @return its exit status (0-255), or -1 when it could not run, was killed or timed out.
 */
int on_stuck_run(const char *cmd, const struct stuck_camera *cam, const omv_cancel *abort_flag,
                 char *what, size_t what_len);

#endif
