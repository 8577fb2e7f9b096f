/* Device truth for the emulated DfuSe cameras: the STM32 system-memory (ROM)
 * bootloaders an OpenMV camera is recovered through, and the Arduino
 * bootloader of the Portenta H7 / Nicla Vision / Giga R1 (ST DfuSe dialect).
 * Compiled in on purpose, like camera_models.c: the emulator never parses its
 * own alt strings with the host's layout parser, so a parser bug cannot agree
 * with the emulator by accident. Sources are in dfuse_models.c and README.md. */
#ifndef OMVEMU_DFUSE_MODELS_H
#define OMVEMU_DFUSE_MODELS_H

#include "camera_models.h"

#define DFUSE_CAMERA_IDS "portenta nicla giga stm32-rom-h7 stm32-rom-f7 stm32-rom-f4"
#define DFUSE_MAX_REGIONS 6

/* UM0424 memory type letter, low 3 bits: 'a' = R ... 'g' = R+E+W. */
enum { CAP_R = 1, CAP_E = 2, CAP_W = 4 };

typedef struct {
    uint32_t count, size; /* count sectors of size bytes */
    uint8_t caps;         /* CAP_* as the alt string's type letter says */
    uint32_t erase_ms;    /* typical erase time of one sector (estimate, README) */
} dfuse_run_t;

typedef enum {
    DREG_FLASH,  /* STM32 internal flash: sector erase, flash-word programming */
    DREG_NOR,    /* Arduino external QSPI NOR: 4 KB erase, AND programming */
    DREG_OPTION, /* option bytes: the ROM resets after writing them */
    DREG_OTP,    /* one-time programmable area: AND programming, never erased */
    DREG_PLAIN,  /* small register-like area (F4 "Device Feature") */
} dfuse_region_kind_t;

typedef struct {
    const char *name;
    dfuse_region_kind_t kind;
    uint32_t base;
    const dfuse_run_t *runs;    /* terminated by count 0; contiguous from base */
    uint32_t prog_word;         /* flash word: 32 on H7, 4 on F4/F7; 1 elsewhere */
    uint32_t program_us_per_kb; /* estimate, scaled by the [dfuse] model */
} dfuse_region_t;

typedef enum { DFUSE_ST_ROM, DFUSE_ARDUINO } dfuse_family_t;

struct dfuse_model {
    dfuse_family_t family;
    const char *chip;
    const dfuse_region_t *regions;
    size_t nregions;
    uint32_t default_pointer;    /* address pointer after reset */
    const uint8_t *commands;     /* UPLOAD block 0 ("get commands") answer */
    size_t ncommands;
    bool leave_unanswered;       /* the GETSTATUS after the leave request gets no answer */
    bool starts_in_error;        /* comes up in dfuERROR/errFIRMWARE */
    uint32_t mass_erase_poll_ms; /* reported poll timeout of a mass erase; 0 = modelled */
    bool has_rev_v;              /* --h7-rev-v applies (STM32H743 rev V bank-2 erase) */
};

/* NULL if id is not a DfuSe camera. */
const camera_model_t *dfuse_camera_find(const char *id);

/* Total size of a region (sum of its runs). */
uint32_t dfuse_region_size(const dfuse_region_t *r);

#endif
