/*
 * The per-camera record of --report: what was written to which camera, when,
 * and how it ended, gathered from the run's events and formatted as one JSON
 * line. Fields whose source does not exist yet (image hashes, the firmware's version and arch after boot) are kept here so the
 * record's shape is stable: they are null (or 0) until the events that carry
 * them fill them in camera_record_event().
 */
#ifndef OMVFLASHD_CAMERA_RECORD_H
#define OMVFLASHD_CAMERA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/omvflash.h>

#define RECORD_MAX_IMAGES 32

struct record_image {
    char partition[64];
    char file[1024];
    uint64_t bytes;
    int written;            /* its write step completed */
    char sha256[65];        /* hex, "" = unknown (null in the record) */
};

struct camera_record {
    char time[32];          /* start, UTC, ISO 8601 with milliseconds */
    uint64_t start_ms;      /* monotonic, for the duration */
    char serial[64];
    char port[32];
    char slot[OMV_SLOT_NAME_MAX];
    char mode[32];          /* how the camera was found: bootloader, app, ... */
    char bootloader_version[16];
    struct record_image images[RECORD_MAX_IMAGES];
    size_t n_images;
    uint64_t skipped_bytes; /* bytes left unwritten because they were already there */
    unsigned retries;       /* partitions written again after a failure */
    char firmware_version[32]; /* reported by the camera after it booted, "" = unknown */
    char arch[64];
    omv_status status;
    char message[OMV_ERROR_MSG_MAX];
    uint64_t duration_ms;
};

/**
 * Start a record now (time and clock). @p serial, @p port, @p slot: the
 * camera as known before the run (may be NULL or ""); device events update them.
 */
void camera_record_start(struct camera_record *r, const char *serial, const char *port, const char *slot);

/**
 * Take what the record needs from one event of the run: the device, the
 * planned and written images, the error message, and at OMV_EV_FINISHED the
 * status and duration. @p slots may be NULL.
 */
void camera_record_event(struct camera_record *r, const omv_event *ev, const omv_slots *slots);

/** Bytes of the images whose write step completed. */
uint64_t camera_record_bytes_written(const struct camera_record *r);

/** What every record of this process says about where it was written. */
struct record_meta {
    char board[64];         /* board file name without .ini ("ae3") */
    const char *board_name; /* "OpenMV AE3" */
    char host[256];
};

/** Fill @p m for @p board (and this host). */
void record_meta_init(struct record_meta *m, const omv_board *board);

/**
 * Format @p r as one JSON object followed by '\n', in a malloc'd buffer
 * (*line, *len).
 * @return 0, or -1 when out of memory.
 */
int camera_record_json(const struct camera_record *r, const struct record_meta *m, char **line, size_t *len);

struct report_file;

/**
 * Append @p r to @p rep as one durable line (report_append()).
 * @return OMV_OK, OMV_E_CONFIG (the file's error), OMV_E_NOMEM.
 */
omv_status camera_record_append(const struct camera_record *r, const struct record_meta *m, struct report_file *rep,
                                omv_error *err);

#endif
