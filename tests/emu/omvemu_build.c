/* omvemu: the device models of the cameras given on the command line, and
 * the serial ports of the legacy cameras and of --app-mode. */
#define _GNU_SOURCE
#include "omvemu.h"
#include "host_faults.h"
#include "write_shim.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A legacy camera: faults and serials only; the model is made once the
 * testbed (and its serial-port hub) exists (emu_start_serial_cameras). */
static void build_legacy(camera_inst_t *c, size_t i)
{
    for (size_t f = 0; f < c->nlfaults; f++) {
        char err[512];
        if (!legacy_fault_parse(c->lfault_spec[f], &c->lfaults[f], err, sizeof(err)))
            emu_die_usage("%s", err);
    }
    if (c->nloads || c->mram || c->forced)
        emu_die_usage("--load, --mram and --forced are not for the legacy cameras");
    /* The bootloader's serial is fixed; --serial names the application (G1) port. */
    if (c->serial)
        snprintf(c->serial_buf, sizeof(c->serial_buf), "%s", c->serial);
    else
        snprintf(c->serial_buf, sizeof(c->serial_buf), "4F4D564150500000000000%02X", (unsigned)(i + 1));
    c->port = (unsigned)i + 1;
    c->devnum = (unsigned)i + 2;
}

/* DfuSe cameras take address faults and their own options; the others not. */
static void check_dfuse_options(camera_inst_t *c)
{
    bool dfuse = c->cam->dfuse != NULL;
    for (size_t f = 0; f < c->nfaults; f++)
        if ((c->faults[f].alt == DFUSE_FAULT_ALT) != dfuse)
            emu_die_usage("--fault %s: camera %s takes %s", c->lfault_spec[f], c->cam->id,
                          dfuse ? "KIND@[write:|erase:|read:]0xADDR" : "KIND@PARTITION:BLOCK");
    if (!dfuse && (c->dfuse.rdp || c->dfuse.rev_v || c->dfuse.ndump_ranges))
        emu_die_usage("--rdp, --h7-rev-v and --dump-range are for the DfuSe cameras (%s)", DFUSE_CAMERA_IDS);
    if (dfuse && (c->mram || c->app_mode || c->boot_fails || c->no_app))
        emu_die_usage("--mram, --app-mode, --boot-fails and --no-app are not for the DfuSe cameras");
    if (dfuse)
        c->forced = true; /* these bootloaders have no timeout window */
}

/* The checks of an openmv_dfu or DfuSe camera's options, its serial and bus
 * position. */
static void check_usb_camera(camera_inst_t *c, size_t i)
{
    for (size_t f = 0; f < c->nlfaults; f++)
        if (legacy_fault_syntax(c->lfault_spec[f]))
            emu_die_usage("--fault %s: only for the *-legacy cameras", c->lfault_spec[f]);
    check_dfuse_options(c);
    for (size_t f = 0; f < c->nfaults; f++)
        if (c->faults[f].alt != DFUSE_FAULT_ALT && !fault_resolve(&c->faults[f], c->cam))
            emu_die_usage("--fault: camera %s has no partition '%s'", c->cam->id, c->faults[f].part_name);
    if (c->mram && strcmp(c->cam->id, "ae3") != 0)
        emu_die_usage("--mram: only the ae3 has Everspin-MRAM builds");
    if (c->serial)
        snprintf(c->serial_buf, sizeof(c->serial_buf), "%s", c->serial);
    else {
        /* Distinct default serials when several cameras are on the bus. */
        int keep = (int)strlen(c->cam->serial) - 2;
        snprintf(c->serial_buf, sizeof(c->serial_buf), "%.*s%02X", keep, c->cam->serial, (unsigned)(i + 1));
    }
    c->port = (unsigned)i + 1;
    c->devnum = (unsigned)i + 2; /* 001 is the root hub */
}

/* "ae3", or "ae3#2" when several cameras are on the bus. */
static void camera_tag(const emu_t *e, const char *id, size_t i, char *tag, size_t n)
{
    if (e->ncams > 1)
        snprintf(tag, n, "%s#%zu", id, i + 1);
    else
        snprintf(tag, n, "%s", id);
}

static void build_usb_camera(emu_t *e, camera_inst_t *c, size_t i)
{
    check_usb_camera(c, i);
    char tag[24], err[512];
    camera_tag(e, c->cam->id, i, tag, sizeof(tag));
    c->dfu = dfu_device_new(c->cam, c->serial_buf, tag, &e->timing, c->faults, c->nfaults, e->verbose);
    if (!c->dfu) {
        fprintf(stderr, "omvemu: out of memory\n");
        exit(EXIT_INTERNAL);
    }
    c->dfu->ext_mram = c->mram;
    c->dfu->mram_init_us = (uint64_t)c->mram_init_ms * 1000u;
    if (c->cam->dfuse) {
        c->dfuse.erase_pct = e->dfuse_erase_pct;
        c->dfuse.program_pct = e->dfuse_program_pct;
        if (!dfuse_configure(c->dfu, &c->dfuse, emu_dfuse_schedule, c, err, sizeof(err)))
            emu_die_usage("%s", err);
    }
    for (size_t l = 0; l < c->nloads; l++)
        if (!dfu_device_load(c->dfu, c->load_part[l], c->load_file[l], err, sizeof(err)))
            emu_die_usage("%s", err);
}

void emu_build_devices(emu_t *e)
{
    for (size_t i = 0; i < e->ncams; i++) {
        camera_inst_t *c = &e->cams[i];
        if (c->window_ms < 0)
            c->window_ms = c->legacy ? 1000 : 1500;
        if ((c->arch || c->fw_version_set || c->app_mode || c->boot_fails) && c->no_app)
            emu_die_usage("--no-app: the firmware never enumerates; --app-mode, --arch, --fw-version "
                          "and --boot-fails describe it");
        if (c->legacy)
            build_legacy(c, i);
        else
            build_usb_camera(e, c, i);
        /* A real camera runs its firmware once the bootloader leaves: the
         * application boots, unless --no-app. It speaks debug protocol v1,
         * as G1 (legacy) and G2 (v4.6.0 to v4.8.x, the first openmv_dfu
         * releases) firmware do: v1 reports the arch string, so a host can
         * tell the board it runs for. --app-mode v2 models v5.0.0. DfuSe
         * cameras re-enumerate as their bootloader (dfuse_device.c). */
        c->app_starts = c->app_mode != 0;
        if (!c->app_mode && !c->no_app && (c->legacy || !c->cam->dfuse))
            c->app_mode = 1;
        if ((c->arch || c->fw_version_set) && !c->app_mode)
            emu_die_usage("--arch and --fw-version describe the application: not for the DfuSe cameras");
    }
}

/* Serial ports need write_shim.so in COMMAND (after umockdev's preload). */
static void shim_env(const emu_t *e)
{
    const char *shim = getenv("OMVEMU_WRITE_SHIM");
    if (!shim)
        shim = OMVEMU_SHIM_PATH;
    if (access(shim, R_OK) != 0)
        fprintf(stderr, "omvemu: warning: %s missing: serial write boundaries will be guessed "
                        "from read() chunks\n", shim);
    /* In front of libumockdev-preload: its write() wrapper calls libc's
     * directly (not RTLD_NEXT), so a shim behind it would never run. Ours
     * passes on with RTLD_NEXT, so umockdev's wrapper still sees every write. */
    const char *lp = getenv("LD_PRELOAD");
    char *v = lp && *lp ? g_strdup_printf("%s:%s", shim, lp) : g_strdup(shim);
    setenv("LD_PRELOAD", v, 1);
    g_free(v);
    setenv(OMVEMU_SHIM_ENV_SOCK, tty_hub_sock_path(e->hub), 1);
}

/* --host-fault: omvemu_host_fault_shim.so in front of everything else in
 * COMMAND's LD_PRELOAD (umockdev's wrappers call libc directly, so a shim
 * behind them would never see the calls). */
void emu_host_fault_env(const emu_t *e)
{
    if (!e->host_faults)
        return;
    const char *shim = getenv("OMVEMU_HOST_FAULT_SHIM");
    if (!shim)
        shim = OMVEMU_HOST_FAULT_SHIM_PATH;
    if (access(shim, R_OK) != 0)
        fprintf(stderr, "omvemu: warning: %s missing: --host-fault has no effect\n", shim);
    const char *lp = getenv("LD_PRELOAD");
    char *v = lp && *lp ? g_strdup_printf("%s:%s", shim, lp) : g_strdup(shim);
    setenv("LD_PRELOAD", v, 1);
    g_free(v);
    setenv(OMVEMU_HOST_FAULTS_ENV, e->host_faults, 1);
}

/* One legacy camera or --app-mode camera on the serial-port hub. */
static bool start_serial_camera(emu_t *e, camera_inst_t *c, size_t i)
{
    char tag[24];
    camera_tag(e, c->legacy ? c->legacy->id : c->cam->id, i, tag, sizeof(tag));
    cdc_cam_cfg_t cfg = {
        .legacy = c->legacy, .dfu_cam = c->cam, .app_serial = c->serial_buf,
        .bl_version = c->bl_version, .app_mode = c->app_mode, .zlp = c->zlp,
        .no_appear = c->no_appear, .window_ms = c->window_ms,
        .appear_after_ms = c->appear_after_ms, .reenum_ms = c->reenum_ms, .port = c->port,
        .tag = tag, .faults = c->lfaults, .nfaults = c->legacy ? c->nlfaults : 0,
        .timing = e->ltiming, .verbose = e->verbose, .enter_dfu = emu_enter_dfu, .user = c,
        .arch = c->arch, .fw_version_set = c->fw_version_set, .boot_fails = c->boot_fails,
        .start_in_app = c->app_starts,
    };
    memcpy(cfg.fw_version, c->fw_version, sizeof(cfg.fw_version));
    if (!(c->cdc = cdc_cam_new(&cfg, e->hub))) {
        fprintf(stderr, "omvemu: out of memory\n");
        return false;
    }
    if (!c->legacy) {
        c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, emu_on_leave, c);
        if (!emu_testbed_attach(e->tb, c->devnum, c->usb->handler))
            return false;
        /* Started in its bootloader: the openmv_dfu device is on the bus
         * now (--appear-after: start_command's timer). */
        if (!c->app_starts && !c->no_appear && c->appear_after_ms == 0 && !emu_appear(c, false))
            return false;
    }
    return true;
}

/* Legacy cameras and the applications of the openmv_dfu cameras: serial
 * ports (legacy_emu.c). A DFU-era camera's openmv_dfu device is attached
 * here; with --app-mode it appears only when its application resets into
 * the bootloader (emu_enter_dfu), else at once. */
bool emu_start_serial_cameras(emu_t *e)
{
    for (size_t i = 0; i < e->ncams; i++) {
        camera_inst_t *c = &e->cams[i];
        if (!c->legacy && !c->app_mode)
            continue;
        if (!e->hub && !(e->hub = tty_hub_new(e->tb, e->verbose)))
            return false;
        if (!start_serial_camera(e, c, i))
            return false;
    }
    if (!e->hub)
        return true;
    shim_env(e);
    for (size_t i = 0; i < e->ncams; i++)
        if (e->cams[i].cdc && !cdc_cam_start(e->cams[i].cdc))
            return false;
    return true;
}
