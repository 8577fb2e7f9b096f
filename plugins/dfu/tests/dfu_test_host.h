/*
 * A minimal struct omv_host for driving omvflash_dfu.so directly (no core):
 * [dfu] options and partition options set by the test, the AE3 board's
 * partitions, progress counting and a cancel after N progress calls.
 */
#ifndef DFU_TEST_HOST_H
#define DFU_TEST_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "omvflash/plugin.h"

#define TH_MAX_OPTS 32

struct test_host {
    struct omv_host host;
    char keys[TH_MAX_OPTS][64];      /* "transfer_size" or "HP:erase_units" (partition options) */
    char values[TH_MAX_OPTS][256];
    size_t n;
    unsigned progress_calls;
    uint64_t last_done, last_total;
    unsigned cancel_after; /* cancelled() turns true after this many progress calls; 0 = never */
    int verbose;
};

extern struct test_host TH;

/** Fill TH for plugin @p p: its options' defaults, then the AE3 board's. */
void th_init(const struct omv_plugin *p);
/** "KEY=VALUE" ([dfu] option) or "PART:KEY=VALUE" (partition option). @return 0 or -1. */
int th_set(const char *kv);
/** The AE3 board's partition @p name as a target (index OMV_INDEX_NONE), or NULL. */
const struct omv_target *th_partition(const char *name);
uint64_t th_now_ms(void);
/** Check the dfu plugin's descriptor and option tables. @return the number of failed checks. */
int th_check_describe(const struct omv_plugin *p);

#endif
