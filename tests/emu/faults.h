/* Fault injection: --fault KIND@PARTITION:BLOCK[*N] (see README). */
#ifndef OMVEMU_FAULTS_H
#define OMVEMU_FAULTS_H

#include "camera_models.h"

typedef enum {
    FAULT_STATUS,       /* write fails with a DFU status (errWRITE, errPROG, ...) */
    FAULT_STALL,        /* DNLOAD stalled, dfuERROR/errSTALLEDPKT */
    FAULT_UNPLUG,       /* device vanishes when the DNLOAD arrives */
    FAULT_BUSY,         /* never leaves dfuDNBUSY from that block on */
    FAULT_SLOW,         /* completing GETSTATUS takes slow_ms */
    FAULT_STUCK,        /* errWRITE that survives CLRSTATUS/ABORT */
    FAULT_UPLOAD_SHORT, /* UPLOAD returns a 100-byte truncated frame */
    FAULT_BITFLIP,      /* the block is stored with bit 0 of its first byte flipped; status OK */
} fault_kind_t;

typedef struct {
    fault_kind_t kind;
    uint8_t status;     /* FAULT_STATUS */
    unsigned slow_ms;   /* FAULT_SLOW */
    char part_name[40];
    int alt;            /* resolved against the camera, -1 until then */
    unsigned block;
    int remaining;      /* how many more times it fires; -1 = every time */
} fault_t;

/* Parse one SPEC. On error returns false and writes a one-line reason. */
bool fault_parse(const char *spec, fault_t *out, char *err, size_t errlen);

/* Resolve the partition name against a camera; false if unknown. */
bool fault_resolve(fault_t *f, const camera_model_t *cam);

/* Find a fault of `kind` armed for (alt, block) and consume one shot. */
const fault_t *faults_take(fault_t *faults, size_t n, fault_kind_t kind, int alt, unsigned block);

const char *dfu_status_name(uint8_t status);
const char *dfu_state_name(uint8_t state);

#endif
