/* DfuSe (ST DFU 1.1a extensions) device model: the STM32 ROM bootloaders and
 * the Arduino bootloader. It plugs into dfu_device_t: the generic code keeps
 * the standard requests, the DFU state/status fields, the transfer buffer,
 * faults and counters; this module answers the DFU class requests with the
 * DfuSe semantics (address pointer, block-0 commands, UPLOAD by address) and
 * owns the address-mapped memories (dfuse_memory.c). */
#ifndef OMVEMU_DFUSE_DEVICE_H
#define OMVEMU_DFUSE_DEVICE_H

#include "dfu_device.h"
#include "dfuse_memory.h"

#define DFUSE_MAX_DUMP_RANGES 8
#define DFUSE_REENUM_MS 100 /* reset to re-enumeration (modelled; not in any source) */

/* Asks the launcher to call dfu_device_timer() in `ms` (thread-safe). */
typedef void (*dfuse_timer_fn)(void *user, unsigned ms);

/* Per-camera DfuSe options from the command line. */
typedef struct {
    bool rdp;                 /* --rdp: flash read protection (level 1) active */
    bool rev_v;               /* --h7-rev-v: STM32H743 rev V ROM bank-2 erase hang */
    unsigned erase_pct, program_pct; /* [dfuse] of --model: scale of the estimates */
    const char *dump_ranges[DFUSE_MAX_DUMP_RANGES]; /* --dump-range ADDR:LEN */
    size_t ndump_ranges;
} dfuse_opts_t;

typedef struct dfuse_state {
    const struct dfuse_model *model;
    dfuse_mem_t mem;
    uint32_t xfer;             /* wTransferSize: block n is at pointer + (n - 2) * xfer */
    uint32_t pointer;          /* address pointer */
    bool held;                 /* a DNLOAD waits for the GETSTATUS that runs it */
    uint8_t result;            /* ROM: status the GETSTATUS after dfuDNBUSY reports */
    bool hang_until_clear;     /* --h7-rev-v: bank-2 erase stays dfuDNBUSY */
    uint32_t hang_poll_ms;
    bool reset_after_busy;     /* ROM: option bytes / read unprotect reset the chip */
    uint64_t reset_delay_ms;
    gint64 busy_until;         /* ROM: busy with a command until then */
    gint64 poll_deadline;      /* last answer + the bwPollTimeout it reported */
    bool reboot_armed;         /* Arduino: reset 200 ms after manifestation */
    int reappear_ms;           /* >= 0: after leaving, the device comes back */
    bool jumped;
    uint32_t jump_address;
    dfuse_opts_t opts;
    struct {
        uint32_t addr, len;
    } ranges[DFUSE_MAX_DUMP_RANGES];
    size_t nranges;
    dfuse_timer_fn timer;
    void *timer_user;
    uint64_t set_address, erase_cmds, read_unprotect, get_commands, early_polls, leaves;
} dfuse_state_t;

/* dfu_device_new() calls this for a camera with cam->dfuse. */
dfuse_state_t *dfuse_state_new(const camera_model_t *cam);
void dfuse_state_free(dfuse_state_t *s);
/* Back to power-on state (memories kept): after a reset or re-enumeration. */
void dfuse_session_reset(dfu_device_t *d);

/* Command-line options; false (with a one-line reason) on a bad value. */
bool dfuse_configure(dfu_device_t *d, const dfuse_opts_t *o, dfuse_timer_fn timer, void *user,
                     char *err, size_t errlen);

/* A DFU class request (wIndex 0, direction already checked). */
ctrl_result_t dfuse_class_request(dfu_device_t *d, uint8_t req, uint16_t wValue,
                                  uint16_t wLength, const uint8_t *data, uint8_t *in,
                                  size_t cap);
int dfuse_set_interface(dfu_device_t *d, int iface, int alt);
/* USB bus reset: the ST device stack re-initialises; the device stays. */
void dfuse_bus_reset(dfu_device_t *d);
/* The timer asked for by dfuse_timer_fn fired: returns why the device leaves
 * now, or NULL. */
const char *dfuse_timer(dfu_device_t *d);

/* [dfuse] time_pct / erase_pct / program_pct of a --model file (dfuse_timing.c);
 * keys that are absent leave *erase_pct and *program_pct alone. */
bool dfuse_timing_load(const char *path, unsigned *erase_pct, unsigned *program_pct, char *err,
                       size_t errlen);

/* --load ADDR=FILE, --dump DIR (dfuse_dump.c). */
bool dfuse_load(dfu_device_t *d, const char *addr, const char *file, char *err, size_t errlen);
bool dfuse_dump(dfu_device_t *d, const char *dir, char *err, size_t errlen);
/* Appends the DfuSe counters of n devices to a --stats JSON object (leading
 * comma, no braces). NULL entries are skipped. g_free() the result. */
char *dfuse_stats_json(dfu_device_t *const *devs, size_t n);

/* --fault SPECs that name an address (dfuse_faults.c). */
#define DFUSE_FAULT_ALT (-2)
bool dfuse_fault_syntax(const char *spec);
bool dfuse_fault_parse(const char *spec, fault_t *f, char *err, size_t errlen);
/* A fault of `kind` armed for operation op ("write", "erase", "read") on
 * [addr, addr+len); consumes one shot. */
const fault_t *dfuse_fault_take(dfu_device_t *d, fault_kind_t kind, const char *op,
                                uint32_t addr, uint32_t len);

#endif
