/*
 * Production-line extras of a run (single camera or --watch), all optional:
 * port names (--slots), the per-camera record (--report). Owned by main().
 */
#ifndef OMVFLASHD_FLEET_H
#define OMVFLASHD_FLEET_H

#include <omvflash/omvflash.h>

#include "camera_record.h"
#include "cli_args.h"
#include "report_file.h"

struct cli_fleet {
    const omv_slots *slots;       /* --slots, or NULL */
    struct report_file *report;   /* --report, or NULL */
    struct record_meta meta;      /* what every record says about board and host */
};

/**
 * Load --slots (resolving --slot NAME into o->port) and open --report.
 * Reports nothing.
 * @return OMV_OK; OMV_E_CONFIG (a bad slots file: FILE:LINE, a report file
 *         that cannot be opened); OMV_E_USAGE (no such slot); OMV_E_NOMEM.
 */
omv_status cli_fleet_open(struct cli_opts *o, struct cli_fleet *f, omv_error *err);

/** The board is loaded: what the records say about it. */
void cli_fleet_set_board(struct cli_fleet *f, const omv_board *board);

/**
 * One event of a camera's run, before it is shown: it goes into @p rec, and
 * at OMV_EV_FINISHED the record is appended to --report, so that it is on
 * disk before anyone sees the result.
 * @return OMV_OK, or the report's error (for the caller to report: the run
 *         then fails with OMV_E_CONFIG if it had succeeded).
 */
omv_status cli_fleet_record_event(struct cli_fleet *f, struct camera_record *rec, const omv_event *ev,
                                  omv_error *err);

/** Free what cli_fleet_open() opened. */
void cli_fleet_close(struct cli_fleet *f);

#endif
