/* omvflashd output: turns library events into human text or JSON lines. */
#ifndef OMVFLASHD_CLI_OUTPUT_H
#define OMVFLASHD_CLI_OUTPUT_H

#include <stdio.h>
#include <time.h>

#include <omvflash/omvflash.h>

struct cli_output {
    FILE *out;          /* events / progress (stdout) */
    FILE *err;          /* human errors and warnings (stderr) */
    int json;           /* one JSON object per line on out */
    int verbosity;      /* 0 quiet, 1 normal, 2 verbose, 3 debug */
    int tty;            /* out is a terminal: draw a progress bar */
    int bar_drawn;      /* a progress line is on screen and must be ended */
    int last_percent;   /* throttle: last progress percent emitted */
    uint64_t last_progress_ms;
    char serial[64];    /* device identity, added to every JSON event once known */
    char port[32];
    char slot[OMV_SLOT_NAME_MAX]; /* the port's name in the slots file, "" if none */
    const omv_slots *slots;       /* --slots; NULL without */
    char step[16];      /* current step and partition, for progress lines */
    char partition[64];
    int index, count;
    struct timespec step_start;
};

/** Prepare @p o for writing to stdout/stderr in the given mode. */
void cli_output_init(struct cli_output *o, int json, int verbosity);

/** omv_event_fn: render one event. @p user is a struct cli_output. */
void cli_output_event(void *user, const omv_event *ev);

/** Report a failure that happened outside omv_flash() (usage, board file). */
void cli_output_error(struct cli_output *o, omv_status st, const char *msg);

/** Report the final status outside omv_flash() (JSON "finished" event). */
void cli_output_finished(struct cli_output *o, omv_status st);

/** omv_list_actions callback (@p user: struct cli_output): one line, or an
 *  "action" JSON event (action, plugin, description, restores). */
void cli_output_action(void *user, const char *action, const char *plugin, const char *description,
                       const char *restores);

/** omv_list_devices callback: one line (or JSON object) per device. */
void cli_output_device(void *user, const char *board_name, const struct omv_device_info *dev);

#endif
