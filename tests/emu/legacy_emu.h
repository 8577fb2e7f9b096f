/* One emulated camera that shows up as a USB CDC serial port: the legacy
 * CDC bootloader (legacy_camera.c) and/or the running application
 * (app_camera.c), with their appear/leave life cycle on the testbed:
 *
 *   app --(v1 30 0C/0E, v2 SYS_RESET/SYS_BOOT)--> legacy bootloader (window)
 *   legacy bootloader --(RESET, or no START within the window)--> app / gone
 *   DFU-era app --(reset)--> openmv_dfu device (omvemu_presence.c) --(leave)--> app
 *   --boot-fails, once flashed: bootloader --(leave)--> bootloader again
 *
 * Runs in the GLib main loop. */
#ifndef OMVEMU_LEGACY_EMU_H
#define OMVEMU_LEGACY_EMU_H

#include "app_camera.h"
#include "legacy_camera.h"
#include "tty_device.h"

typedef struct cdc_cam cdc_cam_t;

typedef struct {
    const legacy_model_t *legacy;   /* legacy camera; NULL for a DFU-era camera's app */
    const camera_model_t *dfu_cam;  /* DFU-era camera (app mode only) */
    const char *app_serial;         /* application's USB serial (24 hex UID) */
    int bl_version;                 /* 1..3 */
    int app_mode;                   /* the application's protocol: 0 = never enumerates, 1 = v1, 2 = v2 */
    bool zlp;                       /* host OS appends a ZLP to multiple-of-64 transfers */
    bool no_appear;
    long window_ms, appear_after_ms, reenum_ms;
    unsigned port;
    const char *tag;
    lfault_t *faults;
    size_t nfaults;
    legacy_timing_t timing;
    bool verbose;
    /* What the application reports: --arch (NULL: the camera's own) and
     * --fw-version (fw_version_set 0: 4.5.9 for G1 cameras, 4.8.1 with v1 and
     * 5.0.0 with v2 for the others). */
    const char *arch;
    uint32_t fw_version[3];
    bool fw_version_set;
    /* The camera starts in its application (--app-mode), not in its bootloader. */
    bool start_in_app;
    /* --boot-fails: once the host wrote to flash, the application does not start */
    bool boot_fails;
    /* DFU-era camera: the application asked for its bootloader. */
    void (*enter_dfu)(void *user, bool forced);
    void *user;
} cdc_cam_cfg_t;

cdc_cam_t *cdc_cam_new(const cdc_cam_cfg_t *cfg, tty_hub_t *hub);
void cdc_cam_free(cdc_cam_t *c);

/* Before COMMAND starts: the first port appears now (or after --appear-after,
 * counted from this call). False if the testbed refused the device. */
bool cdc_cam_start(cdc_cam_t *c);
/* DFU-era camera: the openmv_dfu device left the bus; the app comes back. */
void cdc_cam_dfu_left(cdc_cam_t *c);

/* DFU-era camera: its port lost power. The application (if running) leaves
 * at once; the next boot is the openmv_dfu device's (power on). */
void cdc_cam_power_off(cdc_cam_t *c);

bool cdc_cam_dump(cdc_cam_t *c, const char *dir, char *err, size_t errlen);
void cdc_cam_sum_stats(const cdc_cam_t *c, legacy_stats_t *ls, app_stats_t *as);
/* ",\"key\":value,..." for --stats (no braces). g_free() it. */
char *cdc_stats_json(const legacy_stats_t *ls, const app_stats_t *as, const tty_stats_t *ts);

#endif
