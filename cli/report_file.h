/*
 * --report FILE: an append-only file of JSON lines, one per camera per run,
 * each durable (fsync) before the run's result is reported.
 *
 * The guarantee, for any reader of the file:
 *  - every record is one line: a JSON object followed by '\n', written with
 *    one write() on a descriptor opened with O_APPEND, so records from the
 *    workers of one omvflashd, or from several omvflashd processes sharing
 *    the file, never interleave (Linux appends each such write under the
 *    file's lock);
 *  - a record is fsync()ed before omvflashd reports that camera's result
 *    (device_result, the text result line, the exit code), so a result that
 *    was seen survives a crash or power loss;
 *  - a crash or power loss during an append can leave the file ending in an
 *    incomplete line (part of that one record, or zero bytes the filesystem
 *    had allocated). Before appending, a writer that finds the file not
 *    ending in '\n' first ends that line, so the damage stays one line and
 *    the next record starts on a line of its own;
 *  - so a reader takes each line that parses as a JSON object as a complete
 *    record and skips any other line (blank, or torn by a crash); a line
 *    without its '\n' yet is still being written.
 */
#ifndef OMVFLASHD_REPORT_FILE_H
#define OMVFLASHD_REPORT_FILE_H

#include <stddef.h>

#include <omvflash/omvflash.h>

struct report_file;

/**
 * Open (create) @p path for appending records. Its directory must exist; a
 * new file gets mode 0644 less the umask.
 * @return OMV_OK or OMV_E_CONFIG ("--report PATH: cannot open: ...").
 */
omv_status report_open(const char *path, struct report_file **out, omv_error *err);

/**
 * Append one record, @p line of @p len bytes ending in '\n', and fsync it.
 * Thread-safe. A record that cannot be written completely fails with
 * OMV_E_CONFIG naming the file and the system error; whatever part of it
 * reached the file is ended by the next append (see above).
 */
omv_status report_append(struct report_file *r, const char *line, size_t len, omv_error *err);

/** The path given to report_open(). */
const char *report_path(const struct report_file *r);

/** Close @p r. NULL is a no-op. */
void report_close(struct report_file *r);

#endif
