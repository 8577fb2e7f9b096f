/* Modelled device time (--model FILE). All zero by default so tests run at
 * emulator speed; a realistic model makes flashing take as long as on a
 * real camera (see models/ae3-realistic.ini). */
#ifndef OMVEMU_TIMING_MODEL_H
#define OMVEMU_TIMING_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMING_MAX_OVERRIDES 6

typedef struct {
    uint64_t write_us_per_block; /* program time of one 4096-byte block (scaled by length) */
    uint64_t erase_us_per_unit;  /* per implicit erase unit (sector / 64 KB / 4 KB) */
    uint64_t read_us_per_block;  /* the device's read of one 4096-byte UPLOAD block (scaled) */
} mem_timing_t;

typedef struct {
    mem_timing_t def;            /* [timing] */
    struct {
        char mem[16];
        mem_timing_t t;
    } over[TIMING_MAX_OVERRIDES]; /* [timing:MEMORY] e.g. [timing:ospi] */
    size_t nover;
    uint64_t transfer_us;        /* per control transfer: SETUP, status stage, host round trip */
    uint64_t data_us_per_block;  /* a 4096-byte data stage on EP0, either direction (scaled) */
    uint64_t recovery_us;        /* AE3 RECOVERY sequence */
} timing_model_t;

bool timing_model_load(const char *path, timing_model_t *t, char *err, size_t errlen);
mem_timing_t timing_for_memory(const timing_model_t *t, const char *mem);

#endif
