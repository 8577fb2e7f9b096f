/* omvemu's launcher, shared by its parts: the camera instances and the
 * launcher state (omvemu_main.c owns the one instance), option parsing
 * (omvemu_args.c), building the device models (omvemu_build.c), device
 * presence and port power on the main loop (omvemu_presence.c) and the
 * exit-time dump and stats (omvemu_report.c). */
#ifndef OMVEMU_H
#define OMVEMU_H

#include "dfu_device.h"
#include "dfuse_device.h"
#include "legacy_emu.h"
#include "power_control.h"
#include "testbed.h"
#include "usbfs_ioctl.h"

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2
#define EXIT_INTERNAL 125 /* like env(1)/timeout(1): the launcher itself failed */
#define MAX_CAMERAS 8
#define MAX_FAULTS 32
#define MAX_LOADS 16

typedef struct emu emu_t;

/* One emulated camera: its options, then its runtime state. */
typedef struct {
    emu_t *emu;            /* the launcher it belongs to */
    const camera_model_t *cam;
    const char *serial;
    bool forced, no_appear;
    bool mram;             /* --mram: AE3 with an uninitialised Everspin MRAM */
    long mram_init_ms;
    long appear_after_ms;
    long window_ms;
    fault_t faults[MAX_FAULTS];
    size_t nfaults;
    const char *load_part[MAX_LOADS], *load_file[MAX_LOADS];
    size_t nloads;
    dfuse_opts_t dfuse;    /* DfuSe cameras: --rdp, --h7-rev-v, --dump-range */

    /* legacy CDC bootloader / application mode (legacy_emu.c, README "Legacy cameras") */
    const legacy_model_t *legacy; /* --camera X-legacy */
    int bl_version, app_mode;
    bool zlp;
    long reenum_ms;
    const char *lfault_spec[MAX_FAULTS];
    size_t nlfaults;
    lfault_t lfaults[MAX_FAULTS];
    cdc_cam_t *cdc;
    /* what the application reports (--arch, --fw-version) and --boot-fails */
    const char *arch;
    uint32_t fw_version[3];
    bool fw_version_set, boot_fails;
    /* The application boots when the bootloader leaves (debug protocol
     * app_mode: --app-mode, else v1); app_starts: the camera starts in it
     * (--app-mode given); no_app: the firmware never enumerates (--no-app). */
    bool app_starts, no_app;
    uint64_t boot_failures; /* openmv_dfu left after a flash and came back (--boot-fails) */

    /* runtime */
    char serial_buf[64];
    unsigned port, devnum;
    dfu_device_t *dfu;
    emu_usbdev_t *usb;
    bool present, removed;
    GPtrArray *retired;    /* DfuSe, power cycles: device nodes left behind by re-enumerations */
    bool powered_off;      /* its port's power is off (power_control.c) */
} camera_inst_t;

/* The launcher: every camera, the global options, the testbed and the child. */
struct emu {
    camera_inst_t cams[MAX_CAMERAS];
    size_t ncams;
    camera_inst_t pre;    /* per-camera options seen before the first --camera */
    bool pre_used;
    const char *dump_dir, *stats_file, *model_file;
    timing_model_t timing;
    legacy_timing_t ltiming;  /* [legacy] group of --model */
    unsigned dfuse_erase_pct, dfuse_program_pct; /* [dfuse] group of --model */
    bool verbose;
    char *host_faults;        /* --host-fault kinds, comma separated (host_fault_shim.c) */
    char **cmd;

    emu_testbed_t *tb;
    tty_hub_t *hub;           /* serial ports: legacy cameras and --app-mode */
    GMainLoop *loop;
    unsigned next_devnum;     /* DfuSe re-enumerations get fresh device numbers */
    power_ctl_t *power;       /* port power switching ($OMVEMU_POWER) */
    pid_t child;
    int child_status;
    bool child_done;
    int signals_seen;
};

/** The camera starts as a USB device (openmv_dfu or DfuSe), not as a serial port. */
static inline bool emu_starts_on_usb(const camera_inst_t *c)
{
    return !c->legacy && !c->app_starts;
}

/* ---- omvemu_args.c ---- */
/** Parse and check the command line into @p e; a bad option exits 2. */
void emu_parse_args(emu_t *e, int argc, char **argv);
/** "omvemu: MESSAGE (see omvemu --help)" on stderr, then exit 2. */
void emu_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- omvemu_build.c ---- */
/** Build every camera's device model; a problem is a usage error (exit 2). */
void emu_build_devices(emu_t *e);
/** Legacy cameras and --app-mode: their serial ports, started. */
bool emu_start_serial_cameras(emu_t *e);
/** --host-fault: the fault shim in front of COMMAND's LD_PRELOAD. */
void emu_host_fault_env(const emu_t *e);

/* ---- omvemu_presence.c (main thread unless noted) ---- */
/** Add @p c to the bus (a hot-plug when @p hotplug) and start its window. */
bool emu_appear(camera_inst_t *c, bool hotplug);
/** The device left (any thread): remove it from the bus a moment later. */
void emu_on_leave(emu_usbdev_t *dev, void *user);
/** A DfuSe camera's delayed event in @p ms (any thread). */
void emu_dfuse_schedule(void *user, unsigned ms);
/** --app-mode: the application reset into openmv_dfu (legacy_emu.c callback). */
void emu_enter_dfu(void *user, bool forced);
/** g_timeout callback: --appear-after elapsed. */
gboolean emu_appear_timeout(gpointer camera);
/** power_control.c callback: switch port @p port's power. */
bool emu_port_power(void *user, unsigned port, bool on, char *err, size_t errlen);

/* ---- omvemu_report.c ---- */
/** --stats: every camera's request counters as one JSON line. */
bool emu_write_stats(const emu_t *e, const char *path);
/** --dump: what each camera's memory holds. */
bool emu_dump_all(const emu_t *e);

#endif
