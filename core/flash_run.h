/*
 * One omv_flash() run, shared by flash.c (the order of things), flash_setup.c
 * (plugins, overrides, checks before any device I/O), flash_device.c (the
 * device: wait, open, partitions, what the bootloader that answered can do)
 * and flash_steps.c (what each step does). Internal to the core.
 */
#ifndef OMVFLASH_FLASH_RUN_H
#define OMVFLASH_FLASH_RUN_H

#include "internal.h"

typedef struct omvi_run {
    const omv_board *b;
    const omv_request *req;
    const omv_callbacks *cb;
    omv_error *err;
    omvi_plan plan;
    omvi_plugin_set set;               /* every bootloader transport of the board, and its entry plugins */
    size_t active;                     /* the transport whose bootloader answered */
    omvi_host *h;                      /* == &set.t[active].h */
    const struct omv_transport_ops *ops; /* == set.t[active]'s */
    omvi_bplugin *actions;             /* per board action, loaded only when requested */
    void *session;
    struct omv_device_info info;
    struct omv_dev_partition *dev;
    size_t n_dev;
    omvi_plan_view views[OMVI_MAX_TRANSPORTS]; /* the plan as each transport's open() sees it */
    int started;                       /* a step ran: the device is no longer as we found it */
    uint64_t step_skipped;             /* the step that just ran: image bytes left as they were */
    struct omv_app_info app;           /* what the camera said after the reset (confirm.c) */
    int confirmed;
} omvi_run;

/* ---- flash_setup.c ---- */

/** Load the transports, entry plugins and requested actions, and apply --set and shorthands. */
omv_status omvi_run_load_plugins(omvi_run *r);
/** Start (check(), init()) every loaded plugin. */
omv_status omvi_run_start_plugins(omvi_run *r);
/** Refuse, before any device I/O, a plan no transport of the board can carry out (read, erase). */
omv_status omvi_run_check_capabilities(omvi_run *r);
/** --dry-run: list what is attached now, in bootloader and application mode. */
omv_status omvi_run_dry_list(omvi_run *r);
/** Every requested action's prepare() (key checks, confirmation) before the device is opened. */
omv_status omvi_run_prepare_actions(omvi_run *r);
/** Unload the actions. */
void omvi_run_free_actions(omvi_run *r);

/**
 * --skip-unchanged with a bootloader that cannot read back: OMV_E_UNSUPPORTED,
 * said before anything is written rather than ignored.
 */
omv_status omvi_refuse_skip(omv_error *err, const char *transport);
/* ---- profile_run.c ---- */

/** Ask once (OMV_EV_CONFIRM, the confirm callback) before writing partitions only the selected profile makes writable. */
omv_status omvi_run_confirm_guarded(omvi_run *r);
/** --dry-run of a profile's board: which profile, the ids and transports it waits for, its message. */
void omvi_run_profile_note(omvi_run *r);

/* ---- flash_device.c ---- */

/** Wait for the board's bootloader (entering an app-mode camera meanwhile) and open it. */
omv_status omvi_run_open_device(omvi_run *r);
/** After open: narrow a full flash to what the bootloader that answered writes, check what is left. */
omv_status omvi_run_adapt_plan(omvi_run *r);
/** The device's partitions, matched by name with the board's planned ones. */
omv_status omvi_run_device_partitions(omvi_run *r);

/* ---- confirm.c ---- */

/**
 * After the reset: wait up to the board's confirm_ms for the camera to come
 * back in application mode on the same port and say who it is (r->app).
 * @return OMV_OK; OMV_E_BOOT (not back, back in its bootloader, never left
 *         it, another board, no answer); OMV_E_CANCELLED; entry plugin errors.
 */
omv_status omvi_run_confirm(omvi_run *r);

/* ---- flash_steps.c ---- */

/** The device's partition called @p name, or NULL. */
const struct omv_dev_partition *omvi_run_dev_find(const omvi_run *r, const char *name);

/**
 * Run step @p s (write, verify, read, erase or action; not reset) on the
 * open session. Errors gain their context ("write HP (fw/hp.bin): ...").
 */
omv_status omvi_run_step(omvi_run *r, const omvi_step *s);

/* ---- flash_retry.c ---- */

/**
 * Run write step @p s, and again from its start after a retriable failure,
 * up to the board's (or the request's) retries, bringing the device back in
 * between (recover, or re-open when it left the bus). OMV_EV_RETRY per retry.
 * @return OMV_OK, or the last attempt's error (with a note when the camera
 *         could not be brought back).
 */
omv_status omvi_run_write_retrying(omvi_run *r, const omvi_step *s);

/* ---- flash_compare.c ---- */

/** The parts of an image that differ from the device, in image coordinates (sorted, disjoint). */
typedef struct omvi_diff {
    struct omv_range *r;
    size_t n, cap;
} omvi_diff;

/**
 * --skip-unchanged: read @p t back over the range of write step @p s and
 * compare it with @p img (read from its start to its end), adding to @p d
 * every part that differs, could not be read back, or was not compared
 * (the partition's skip_give_up). Read-back failures are warnings, not
 * errors; the session is brought back to idle (recover) after each.
 * @return OMV_OK; OMV_E_IMAGE (the image failed), OMV_E_CANCELLED, OMV_E_NOMEM.
 */
omv_status omvi_run_compare(omvi_run *r, const omvi_step *s, const struct omv_target *t,
                            const struct omv_source *img, omvi_diff *d);
/** Bytes covered by @p d. */
uint64_t omvi_diff_bytes(const omvi_diff *d);
void omvi_diff_free(omvi_diff *d);

#endif /* OMVFLASH_FLASH_RUN_H */
