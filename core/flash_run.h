/*
 * One omv_flash() run, shared by flash.c (plan, plugins, device, order of
 * steps) and flash_steps.c (what each step does). Internal to the core.
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
    /* every bootloader transport of the board, tried together */
    omvi_plugin tplugins[OMVI_MAX_TRANSPORTS];
    omvi_options topts[OMVI_MAX_TRANSPORTS];
    omvi_host thosts[OMVI_MAX_TRANSPORTS];
    size_t nt;
    size_t active;                     /* the transport whose bootloader answered */
    omvi_host *h;                      /* == &thosts[active] */
    const struct omv_transport_ops *ops; /* == tplugins[active]'s */
    /* entry plugin: app mode -> bootloader */
    omvi_plugin eplugin;
    omvi_options eopts;
    omvi_host ehost;
    void *session;
    struct omv_device_info info;
    struct omv_dev_partition *dev;
    size_t n_dev;
    omvi_plugin *act_plugins;   /* per board action, loaded only when requested */
    omvi_options *act_opts;
    omvi_plan_view views[OMVI_MAX_TRANSPORTS]; /* the plan as each transport's open() sees it */
    int started;                /* a step ran: the device is no longer as we found it */
} omvi_run;

/** The device's partition called @p name, or NULL. */
const struct omv_dev_partition *omvi_run_dev_find(const omvi_run *r, const char *name);

/**
 * Run step @p s (write, verify, read, erase or action; not reset) on the
 * open session. Errors gain their context ("write HP (fw/hp.bin): ...").
 */
omv_status omvi_run_step(omvi_run *r, const omvi_step *s);

#endif /* OMVFLASH_FLASH_RUN_H */
