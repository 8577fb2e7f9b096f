/* What a DfuSe device does with a held DNLOAD (block 0 command or data block)
 * and with an UPLOAD by address: address checks, memory rules, modelled time,
 * faults. The request/state plumbing around it is dfuse_device.c. */
#ifndef OMVEMU_DFUSE_EXEC_H
#define OMVEMU_DFUSE_EXEC_H

#include "dfuse_device.h"

/* DFU 1.1 status codes not already named in dfu_device.h. */
enum { DS_errTARGET = 0x01, DS_errFIRMWARE = 0x0A, DS_errVENDOR = 0x0B, DS_errUNKNOWN = 0x0E };

typedef struct {
    uint8_t status;    /* ROM: what the GETSTATUS after dfuDNBUSY reports */
    uint64_t time_us;  /* modelled duration */
    uint64_t extra_us; /* slow=MS fault: longer than the device admits */
    uint32_t poll_ms;  /* ROM: bwPollTimeout reported with dfuDNBUSY */
    bool stuck;        /* Arduino: the media operation failed -> dfuDNBUSY for good */
    bool unsupported;  /* ROM: not a DfuSe command */
} dfuse_exec_t;

dfuse_exec_t dfuse_exec_command(dfu_device_t *d);
dfuse_exec_t dfuse_exec_write(dfu_device_t *d, gint64 now);
ctrl_result_t dfuse_exec_read(dfu_device_t *d, unsigned block, size_t len, uint8_t *in,
                              ctrl_result_t r, gint64 now);

/* For faults that fire when the DNLOAD arrives: which operation ("write",
 * "erase") and byte range the DNLOAD would touch; NULL for other commands. */
const char *dfuse_exec_range(dfu_device_t *d, unsigned block, const uint8_t *data, size_t len,
                             uint32_t *addr, uint32_t *n);

#endif
