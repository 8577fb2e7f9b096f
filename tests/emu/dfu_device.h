/* The openmv_dfu bootloader's DFU state machine (TinyUSB src/class/dfu/
 * dfu_device.c at the commit OpenMV pins, aa0fc2e0, and OpenMV's
 * boot/src/common/dfu.c; docs/protocols.md §3), independent of umockdev: it
 * takes a control request and returns the device's answer plus how long the
 * device needs for it. */
#ifndef OMVEMU_DFU_DEVICE_H
#define OMVEMU_DFU_DEVICE_H

#include "camera_models.h"
#include "faults.h"
#include "flash_memory.h"
#include "timing_model.h"

enum {
    DFU_appIDLE = 0, DFU_appDETACH, DFU_IDLE, DFU_DNLOAD_SYNC, DFU_DNBUSY, DFU_DNLOAD_IDLE,
    DFU_MANIFEST_SYNC, DFU_MANIFEST, DFU_MANIFEST_WAIT_RESET, DFU_UPLOAD_IDLE, DFU_ERROR,
};
enum { ST_OK = 0, ST_errFILE = 0x02, ST_errWRITE = 0x03, ST_errADDRESS = 0x08, ST_errSTALLEDPKT = 0x0F };

typedef struct {
    uint64_t control_transfers, dnload, dnload_zero, getstatus, upload, clrstatus, abort, detach,
        setinterface, resets, blocks_written, device_busy_us,
        dnload_dropped, /* DNLOADs (and manifestations) an UPLOAD cancelled before their GETSTATUS */
        hung;           /* cameras whose bootloader hung (AE3: MRAM written while its MPU region was read-only) */
} emu_stats_t;

/* CTRL_HANG: the device never answers (its CPU is stuck): the URB stays in
 * flight until the host gives up on it. */
typedef enum { CTRL_ACK, CTRL_STALL, CTRL_UNPLUG, CTRL_HANG } ctrl_kind_t;

typedef struct {
    ctrl_kind_t kind;
    size_t in_len;    /* IN data produced */
    uint64_t busy_us; /* modelled device time before the transfer completes */
    bool leave;       /* device leaves DFU mode once this transfer is answered */
} ctrl_result_t;

typedef struct dfu_device {
    const camera_model_t *cam;
    char serial[64];
    char tag[24];                 /* log prefix, e.g. "ae3" or "ae3#2" */
    bool verbose;
    flash_memory_t *mem[EMU_MAX_MEMS];
    timing_model_t timing;
    fault_t *faults;
    size_t nfaults;

    uint8_t state, status;
    int alt;
    bool attached;                /* first DNLOAD-status or UPLOAD seen: no timeout any more */
    bool unplugged;               /* fault unplug: off the bus until a power cycle, nothing boots */
    bool busy_forever;            /* `busy` fault fired */
    bool sticky_error;            /* `stuck` fault fired */
    bool hung;                    /* the bootloader's CPU is stuck: no request is answered any more */
    char hung_why[160];

    /* TinyUSB's transfer buffer: DNLOAD data and UPLOAD replies both pass
     * through it, so its stale bytes are what an MRAM round-up stores. */
    uint8_t xfer[EMU_XFER_SIZE];
    unsigned pending_block;
    size_t pending_len;
    bool flashing;                /* TinyUSB's flashing_in_progress: a DNLOAD or manifestation
                                   * waits for its GETSTATUS (an UPLOAD clears it) */
    uint64_t write_us;            /* modelled duration of the write just executed */
    uint64_t pending_busy_us;     /* device time the next request of any kind waits for */

    uint32_t written_end[EMU_MAX_PARTS]; /* high-water mark of host bytes, per partition */
    bool written[EMU_MAX_PARTS];

    /* Scratch state for camera hooks (e.g. AE3 MRAM unlock, recovery once). */
    bool hook_part_flag[EMU_MAX_PARTS];
    bool hook_session_flag;
    uint64_t hook_extra_us;

    /* AE3 Everspin-MRAM builds (--mram): the external chip behind RWFS and
     * ROMFS0 refuses writes until the recovery key ran the init sequence. */
    bool ext_mram;
    bool ext_mram_ready;
    uint64_t mram_init_us;

    emu_stats_t stats;

    /* DfuSe cameras (cam->dfuse): their own request semantics and memories,
     * dfuse_device.c; NULL for openmv_dfu cameras. */
    struct dfuse_state *dfuse;
} dfu_device_t;

dfu_device_t *dfu_device_new(const camera_model_t *cam, const char *serial, const char *tag,
                             const timing_model_t *timing, fault_t *faults, size_t nfaults,
                             bool verbose);
void dfu_device_free(dfu_device_t *d);

/* A fresh boot of the bootloader (power cycle, or the application resetting
 * into it again): DFU state, faults that wedged it, a hang, the transfer
 * buffer (RAM) and the AE3 MPU regions start over; memories and counters
 * stay. */
void dfu_device_power_on(dfu_device_t *d);

/* --load NAME=FILE: preset a partition's contents before the device appears. */
bool dfu_device_load(dfu_device_t *d, const char *part, const char *file, char *err, size_t errlen);

/* One control transfer. setup is the 8-byte SETUP packet; for OUT requests
 * `data` holds wLength bytes; IN data is written to `in` (capacity in_cap). */
ctrl_result_t dfu_device_control(dfu_device_t *d, const uint8_t setup[8], const uint8_t *data,
                                 uint8_t *in, size_t in_cap);

/* USBDEVFS_SETINTERFACE: alt select resets the DFU state machine. Returns 0,
 * -1 for an alt the device does not have, -ETIMEDOUT when the device hangs. */
int dfu_device_set_interface(dfu_device_t *d, int iface, int alt);

/* Write DIR/<NAME>.bin for every partition the host wrote to (DfuSe cameras:
 * DIR/0x<ADDR>.bin per written range, see dfuse_dump.c). */
bool dfu_device_dump(dfu_device_t *d, const char *dir, char *err, size_t errlen);

void emu_log(const dfu_device_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
