/*
 * --metrics FILE: watch mode's numbers in the Prometheus text exposition
 * format, for node_exporter's textfile collector (Debian
 * prometheus-node-exporter: --collector.textfile.directory). The file is
 * replaced atomically (a temporary file in the same directory, fsync,
 * rename), so the collector never reads half of it. Counters start at 0 when
 * omvflashd starts (Prometheus handles the reset); the file stays after
 * omvflashd exits, its mtime (node_textfile_mtime_seconds) says how old it is.
 */
#ifndef OMVFLASHD_METRICS_FILE_H
#define OMVFLASHD_METRICS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/omvflash.h>

struct metrics_file;

/**
 * Prepare metrics for @p board (the board file's name, "ae3") and write
 * @p path once with every metric at 0, so that a path that cannot be
 * written fails now.
 * @return OMV_OK, OMV_E_CONFIG ("--metrics PATH: ..."), OMV_E_NOMEM.
 */
omv_status metrics_open(const char *path, const char *board, struct metrics_file **out, omv_error *err);

/** A camera's run ended: counted by result, its duration (successes) and bytes written. */
void metrics_camera_done(struct metrics_file *m, omv_status st, uint64_t duration_ms, uint64_t bytes_written);

/** Cameras being flashed and waiting for a job slot now. */
void metrics_set_cameras(struct metrics_file *m, size_t in_progress, size_t waiting);

/**
 * Write the file if anything changed since the last write.
 * @return OMV_OK, or OMV_E_CONFIG with the system error (the previous file
 *         stays in place; the next call tries again).
 */
omv_status metrics_flush(struct metrics_file *m, omv_error *err);

/** Free @p m (the file stays). NULL is a no-op. */
void metrics_close(struct metrics_file *m);

#endif
