/* omvemu: run a command against emulated openmv_dfu cameras.
 *
 *   omvemu --camera ae3 [options] -- COMMAND [ARGS...]
 *
 * This file is the launcher: option parsing, re-exec under umockdev's
 * preload, child process, main loop (appear/window timers, signals) and the
 * exit-time dump/stats. The device model lives in dfu_device.c. */
#define _GNU_SOURCE
#include "dfu_device.h"
#include "dfuse_device.h"
#include "legacy_emu.h"
#include "write_shim.h"
#include "host_faults.h"
#include "testbed.h"
#include "usbfs_ioctl.h"
#include "power_control.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_INTERNAL 125 /* like env(1)/timeout(1): the launcher itself failed */
#define MAX_CAMERAS 8
#define MAX_FAULTS 32
#define MAX_LOADS 16

typedef struct {
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

    /* runtime */
    char serial_buf[64];
    unsigned port, devnum;
    dfu_device_t *dfu;
    emu_usbdev_t *usb;
    bool present, removed;
    GPtrArray *retired;    /* DfuSe, power cycles: device nodes left behind by re-enumerations */
    bool powered_off;      /* its port's power is off (power_control.c) */
} camera_inst_t;

typedef struct {
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
} emu_t;

static emu_t E;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: omvemu --camera CAM [options] -- COMMAND [ARGS...]\n"
            "Runs COMMAND against an emulated OpenMV camera in its openmv_dfu bootloader\n"
            "(umockdev; the real libusb sees it) and exits with COMMAND's status.\n"
            "\n"
            "  --camera CAM        ae3 n6 h7plus pt h7 m7 m4 (repeatable: one device each;\n"
            "                      the per-camera options below apply to the last --camera)\n"
            "  --dump DIR          at exit write DIR/<PARTITION>.bin for every partition written\n"
            "                      (several cameras: DIR/<SERIAL>/<PARTITION>.bin)\n"
            "  --load NAME=FILE    preset partition NAME with FILE's bytes (rest stays 0xFF)\n"
            "  --appear-after MS   add the device MS ms after COMMAND started (hot-plug)\n"
            "  --no-appear         the device never appears\n"
            "  --serial S          serial number string (default: fixed per camera)\n"
            "  --forced            entered by magic word: no bootloader timeout window\n"
            "  --mram              AE3 Everspin-MRAM build, uninitialised: RWFS/ROMFS0 refuse\n"
            "                      writes (errWRITE) until the RECOVERY key ran the init\n"
            "  --mram-init-ms MS   how long that init holds its GETSTATUS (default 3000)\n"
            "  --window-ms MS      bootloader window (default 1500): the device leaves if no\n"
            "                      DNLOAD/UPLOAD happened within MS of appearing\n"
            "  --fault SPEC        KIND@PARTITION:BLOCK[*N|*] (repeatable); KIND is a DFU status\n"
            "                      name (errTARGET..errSTALLEDPKT), stall, unplug, busy,\n"
            "                      slow=MS, stuck, upload-short or bitflip. PARTITION = name\n"
            "                      or alt\n"
            "  --model FILE        timing model INI ([timing] write_us_per_block, erase_us_per_unit,\n"
            "                      read_us_per_block, transfer_us, data_us_per_block, recovery_us;\n"
            "                      [timing:MEMORY] overrides the per-block write/erase/read times)\n"
            "  --stats FILE        at exit write request counters as one JSON line\n"
            "  -v, --verbose       log every request to stderr (prefix 'omvemu:')\n"
            "\nLegacy USB-CDC cameras and application mode (serial ports, libserialport):\n"
            "  --camera CAM-legacy h7-legacy m7-legacy m4-legacy h7plus-legacy pt-legacy: the\n"
            "                      legacy CDC bootloader (1209:ABD1, serial 000000000011)\n"
            "  --bootloader-version 1|2|3  legacy bootloader version (default 3)\n"
            "  --app-mode v1|v2    the camera runs its application (debug protocol v1 or v2)\n"
            "                      and resets into its bootloader when asked; also for the\n"
            "                      DFU-era cameras (app port 37C5:12xx/16E3)\n"
            "  --zlp               the host OS adds a zero-length packet after a transfer\n"
            "                      that is a multiple of 64 bytes (macOS)\n"
            "  --reenum-ms MS      reset/jump to USB re-enumeration delay (default 100)\n"
            "  --window-ms MS      legacy: START must arrive within MS (default 1000)\n"
            "  --fault SPEC        legacy: unplug@FIRMWARE:OFFSET, unplug@QSPI:OFFSET,\n"
            "                      unplug-erase@SECTOR, stall-reply[:N], drop-layout-reply:N[*K|*]\n"
            "  --model FILE        legacy: [legacy] group (see models/legacy-realistic.ini)\n"
            "  --host-fault KIND   a fault in the host's view of the system (repeatable):\n"
            "                      list-race (a port vanishes while the host lists ports, once),\n"
            "                      serial-unreadable (a half-removed port: no serial file, once),\n"
            "                      no-access (opening a camera's node fails with EACCES)\n"
            "\nDfuSe cameras (ST DfuSe; addresses instead of partitions, see README):\n"
            "  --camera CAM        portenta nicla giga (Arduino bootloader 2341:035B/035F/0366),\n"
            "                      stm32-rom-h7 stm32-rom-f7 stm32-rom-f4 (STM32 ROM 0483:DF11)\n"
            "  --load ADDR=FILE    preset memory at ADDR (e.g. 0x08040000=fw.bin)\n"
            "  --dump DIR          at exit write DIR/0x<ADDR>.bin per contiguous range written\n"
            "  --dump-range ADDR:LEN  also write DIR/range-0x<START>-0x<END>.bin (repeatable)\n"
            "  --fault SPEC        KIND@[write:|erase:|read:]0xADDR[*N|*] (KIND as above)\n"
            "  --rdp               ROM: flash read protection active (0x92 removes it)\n"
            "  --h7-rev-v          stm32-rom-h7: rev V ROM, a bank-2 erase stays dfuDNBUSY\n"
            "  --model FILE        [dfuse] time_pct, erase_pct, program_pct: share of the\n"
            "                      erase/program time estimates spent (default 0)\n"
            "  -h, --help          this help\n"
            "\nExit: COMMAND's status, 128+N if it was killed by signal N, 2 for bad options,\n"
            "125 if the emulator failed, 126/127 if COMMAND could not be run.\n");
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("omvemu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see omvemu --help)\n", stderr);
    va_end(ap);
    exit(EXIT_USAGE);
}

static long parse_ms(const char *opt, const char *v)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 0 || x > 24L * 3600 * 1000)
        die_usage("%s: '%s' is not a number of milliseconds", opt, v);
    return x;
}

/* --host-fault KIND (global): checked here, applied by the shim in COMMAND. */
static void add_host_fault(const char *kind)
{
    char *kinds = g_strdup(" " OMVEMU_HOST_FAULT_KINDS " "), *want = g_strdup_printf(" %s ", kind);
    bool known = *kind && !strchr(kind, ' ') && strstr(kinds, want);
    g_free(kinds);
    g_free(want);
    if (!known)
        die_usage("--host-fault: '%s' is not one of: %s", kind, OMVEMU_HOST_FAULT_KINDS);
    char *all = E.host_faults ? g_strdup_printf("%s,%s", E.host_faults, kind) : g_strdup(kind);
    g_free(E.host_faults);
    E.host_faults = all;
}

static camera_inst_t *cur_cam(void)
{
    if (E.ncams == 0) {
        E.pre_used = true;
        return &E.pre;
    }
    return &E.cams[E.ncams - 1];
}

static void inst_defaults(camera_inst_t *c)
{
    memset(c, 0, sizeof(*c));
    c->window_ms = -1; /* unset: 1500 for openmv_dfu, 1000 for the legacy bootloader */
    c->bl_version = 3;
    c->reenum_ms = 100;
    c->mram_init_ms = 3000;
}

static void parse_args(int argc, char **argv)
{
    inst_defaults(&E.pre);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL, name[32];
        if (strcmp(a, "--") == 0) {
            if (i + 1 >= argc)
                die_usage("missing COMMAND after --");
            E.cmd = &argv[i + 1];
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            E.verbose = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            die_usage("unexpected argument '%s' (the command goes after --)", a);
        /* --opt=value or --opt value */
        char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name))
            die_usage("unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = '\0';
        static const char *const known[] = {"--camera", "--dump", "--stats", "--model",
                                            "--serial", "--forced", "--no-appear",
                                            "--window-ms", "--appear-after", "--load",
                                            "--fault", "--mram", "--mram-init-ms",
                                            "--bootloader-version", "--app-mode", "--zlp",
                                            "--reenum-ms", "--host-fault", "--dump-range",
                                            "--rdp", "--h7-rev-v"};
        bool is_known = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(*known); k++)
            is_known = is_known || !strcmp(name, known[k]);
        if (!is_known)
            die_usage("unknown option '%s'", name);
        bool flag = !strcmp(name, "--forced") || !strcmp(name, "--no-appear") || !strcmp(name, "--mram") ||
                    !strcmp(name, "--zlp") || !strcmp(name, "--rdp") || !strcmp(name, "--h7-rev-v");
        if (flag) {
            if (eq)
                die_usage("%s takes no value", name);
        } else if (eq)
            val = eq + 1;
        else if (i + 1 < argc && strcmp(argv[i + 1], "--") != 0)
            val = argv[++i];
        else
            die_usage("%s needs a value", name);

        if (!strcmp(name, "--camera")) {
            if (E.ncams >= MAX_CAMERAS)
                die_usage("at most %d cameras", MAX_CAMERAS);
            const camera_model_t *cam = camera_model_find(val);
            const legacy_model_t *lm = cam ? NULL : legacy_model_find(val);
            if (lm)
                cam = camera_model_find(lm->family);
            if (!cam)
                die_usage("unknown camera '%s' (one of: %s %s)", val, camera_model_ids(),
                          legacy_model_ids());
            camera_inst_t *c = &E.cams[E.ncams];
            if (E.ncams == 0)
                *c = E.pre; /* options given before --camera belong to the first one */
            else
                inst_defaults(c);
            c->cam = cam;
            c->legacy = lm;
            E.ncams++;
        } else if (!strcmp(name, "--dump"))
            E.dump_dir = val;
        else if (!strcmp(name, "--stats"))
            E.stats_file = val;
        else if (!strcmp(name, "--model"))
            E.model_file = val;
        else if (!strcmp(name, "--serial")) {
            if (!*val || strlen(val) > 63)
                die_usage("--serial: must be 1..63 characters");
            for (const char *s = val; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
                    die_usage("--serial: printable ASCII only");
            cur_cam()->serial = val;
        } else if (!strcmp(name, "--forced"))
            cur_cam()->forced = true;
        else if (!strcmp(name, "--no-appear"))
            cur_cam()->no_appear = true;
        else if (!strcmp(name, "--mram"))
            cur_cam()->mram = true;
        else if (!strcmp(name, "--mram-init-ms"))
            cur_cam()->mram_init_ms = parse_ms(name, val);
        else if (!strcmp(name, "--window-ms"))
            cur_cam()->window_ms = parse_ms(name, val);
        else if (!strcmp(name, "--appear-after"))
            cur_cam()->appear_after_ms = parse_ms(name, val);
        else if (!strcmp(name, "--load")) {
            camera_inst_t *c = cur_cam();
            char *sep = strchr(val, '=');
            if (!sep || sep == val || !sep[1])
                die_usage("--load: expected NAME=FILE, got '%s'", val);
            if (c->nloads >= MAX_LOADS)
                die_usage("--load: at most %d per camera", MAX_LOADS);
            *sep = '\0';
            c->load_part[c->nloads] = val;
            c->load_file[c->nloads++] = sep + 1;
        } else if (!strcmp(name, "--fault")) {
            camera_inst_t *c = cur_cam();
            char err[256];
            if (c->nfaults >= MAX_FAULTS || c->nlfaults >= MAX_FAULTS)
                die_usage("--fault: at most %d per camera", MAX_FAULTS);
            c->lfault_spec[c->nlfaults++] = val; /* legacy cameras parse it in build_devices */
            if (dfuse_fault_syntax(val)) { /* by address: DfuSe cameras */
                if (!dfuse_fault_parse(val, &c->faults[c->nfaults], err, sizeof(err)))
                    die_usage("%s", err);
                c->nfaults++;
            } else if (!c->legacy && !legacy_fault_syntax(val)) {
                if (!fault_parse(val, &c->faults[c->nfaults], err, sizeof(err)))
                    die_usage("%s", err);
                c->nfaults++;
            }
        } else if (!strcmp(name, "--bootloader-version")) {
            if (strcmp(val, "1") && strcmp(val, "2") && strcmp(val, "3"))
                die_usage("--bootloader-version: 1, 2 or 3, not '%s'", val);
            cur_cam()->bl_version = val[0] - '0';
        } else if (!strcmp(name, "--app-mode")) {
            if (strcmp(val, "v1") && strcmp(val, "v2"))
                die_usage("--app-mode: v1 or v2, not '%s'", val);
            cur_cam()->app_mode = val[1] - '0';
        } else if (!strcmp(name, "--zlp"))
            cur_cam()->zlp = true;
        else if (!strcmp(name, "--reenum-ms"))
            cur_cam()->reenum_ms = parse_ms(name, val);
        else if (!strcmp(name, "--host-fault"))
            add_host_fault(val);
        else if (!strcmp(name, "--rdp"))
            cur_cam()->dfuse.rdp = true;
        else if (!strcmp(name, "--h7-rev-v"))
            cur_cam()->dfuse.rev_v = true;
        else if (!strcmp(name, "--dump-range")) {
            dfuse_opts_t *o = &cur_cam()->dfuse;
            if (o->ndump_ranges >= DFUSE_MAX_DUMP_RANGES)
                die_usage("--dump-range: at most %d per camera", DFUSE_MAX_DUMP_RANGES);
            o->dump_ranges[o->ndump_ranges++] = val;
        }
        else
            die_usage("unknown option '%s'", name);
    }
    if (E.ncams == 0)
        die_usage("--camera is required");
    if (!E.cmd)
        die_usage("missing '-- COMMAND'");
    if (E.model_file) {
        char err[512];
        if (!timing_model_load(E.model_file, &E.timing, err, sizeof(err)))
            die_usage("--model: %s", err);
        if (!legacy_timing_load(E.model_file, &E.ltiming, err, sizeof(err)))
            die_usage("--model: %s", err);
        if (!dfuse_timing_load(E.model_file, &E.dfuse_erase_pct, &E.dfuse_program_pct, err,
                               sizeof(err)))
            die_usage("--model: %s", err);
    }
}

/* A legacy camera: faults and serials only; the model is made in main()
 * once the testbed (and its serial-port hub) exists. */
static void build_legacy(camera_inst_t *c, size_t i)
{
    for (size_t f = 0; f < c->nlfaults; f++) {
        char err[512];
        if (!legacy_fault_parse(c->lfault_spec[f], &c->lfaults[f], err, sizeof(err)))
            die_usage("%s", err);
    }
    if (c->nloads || c->mram || c->forced)
        die_usage("--load, --mram and --forced are not for the legacy cameras");
    /* The bootloader's serial is fixed; --serial names the application (G1) port. */
    if (c->serial)
        snprintf(c->serial_buf, sizeof(c->serial_buf), "%s", c->serial);
    else
        snprintf(c->serial_buf, sizeof(c->serial_buf), "4F4D564150500000000000%02X",
                 (unsigned)(i + 1));
    c->port = (unsigned)i + 1;
    c->devnum = (unsigned)i + 2;
}

static void dfuse_schedule(void *user, unsigned ms);

/* DfuSe cameras take address faults and their own options; the others not. */
static void check_dfuse_options(camera_inst_t *c)
{
    bool dfuse = c->cam->dfuse != NULL;
    for (size_t f = 0; f < c->nfaults; f++)
        if ((c->faults[f].alt == DFUSE_FAULT_ALT) != dfuse)
            die_usage("--fault %s: camera %s takes %s", c->lfault_spec[f], c->cam->id,
                      dfuse ? "KIND@[write:|erase:|read:]0xADDR" : "KIND@PARTITION:BLOCK");
    if (!dfuse && (c->dfuse.rdp || c->dfuse.rev_v || c->dfuse.ndump_ranges))
        die_usage("--rdp, --h7-rev-v and --dump-range are for the DfuSe cameras (%s)",
                  DFUSE_CAMERA_IDS);
    if (dfuse && (c->mram || c->app_mode))
        die_usage("--mram and --app-mode are not for the DfuSe cameras");
    if (dfuse)
        c->forced = true; /* these bootloaders have no timeout window */
}

/* Build the device models; every problem here is a usage error (exit 2). */
static void build_devices(void)
{
    for (size_t i = 0; i < E.ncams; i++) {
        camera_inst_t *c = &E.cams[i];
        if (c->window_ms < 0)
            c->window_ms = c->legacy ? 1000 : 1500;
        if (c->legacy) {
            build_legacy(c, i);
            continue;
        }
        for (size_t f = 0; f < c->nlfaults; f++)
            if (legacy_fault_syntax(c->lfault_spec[f]))
                die_usage("--fault %s: only for the *-legacy cameras", c->lfault_spec[f]);
        check_dfuse_options(c);
        for (size_t f = 0; f < c->nfaults; f++)
            if (c->faults[f].alt != DFUSE_FAULT_ALT && !fault_resolve(&c->faults[f], c->cam))
                die_usage("--fault: camera %s has no partition '%s'", c->cam->id,
                          c->faults[f].part_name);
        if (c->serial)
            snprintf(c->serial_buf, sizeof(c->serial_buf), "%s", c->serial);
        else {
            /* Distinct default serials when several cameras are on the bus. */
            int keep = (int)strlen(c->cam->serial) - 2;
            snprintf(c->serial_buf, sizeof(c->serial_buf), "%.*s%02X", keep, c->cam->serial,
                     (unsigned)(i + 1));
        }
        c->port = (unsigned)i + 1;
        c->devnum = (unsigned)i + 2; /* 001 is the root hub */
        char tag[24];
        if (E.ncams > 1)
            snprintf(tag, sizeof(tag), "%s#%zu", c->cam->id, i + 1);
        else
            snprintf(tag, sizeof(tag), "%s", c->cam->id);
        c->dfu = dfu_device_new(c->cam, c->serial_buf, tag, &E.timing, c->faults, c->nfaults,
                                E.verbose);
        if (!c->dfu) {
            fprintf(stderr, "omvemu: out of memory\n");
            exit(EXIT_INTERNAL);
        }
        if (c->mram && strcmp(c->cam->id, "ae3") != 0)
            die_usage("--mram: only the ae3 has Everspin-MRAM builds");
        c->dfu->ext_mram = c->mram;
        c->dfu->mram_init_us = (uint64_t)c->mram_init_ms * 1000u;
        if (c->cam->dfuse) {
            char err[512];
            c->dfuse.erase_pct = E.dfuse_erase_pct;
            c->dfuse.program_pct = E.dfuse_program_pct;
            if (!dfuse_configure(c->dfu, &c->dfuse, dfuse_schedule, c, err, sizeof(err)))
                die_usage("%s", err);
        }
        for (size_t l = 0; l < c->nloads; l++) {
            char err[512];
            if (!dfu_device_load(c->dfu, c->load_part[l], c->load_file[l], err, sizeof(err)))
                die_usage("%s", err);
        }
    }
}

/* ASan-built children refuse to start when libumockdev-preload comes before
 * libasan in the link order; this check is safe to disable here. */
static void set_asan_options(void)
{
    const char *cur = getenv("ASAN_OPTIONS");
    if (cur && strstr(cur, "verify_asan_link_order"))
        return;
    char *v = cur && *cur ? g_strdup_printf("%s:verify_asan_link_order=0", cur)
                          : g_strdup("verify_asan_link_order=0");
    setenv("ASAN_OPTIONS", v, 1);
    g_free(v);
}

/* The preload must be active from process start, and uevents (hot-plug,
 * removal) only reach a running libusb when the emulator itself is preloaded:
 * so re-exec through umockdev-wrapper once. */
static void ensure_preload(char **argv)
{
    const char *lp = getenv("LD_PRELOAD");
    if (lp && strstr(lp, "libumockdev-preload"))
        return;
    if (getenv("OMVEMU_REEXECED")) {
        fprintf(stderr, "omvemu: libumockdev-preload is not active after re-exec via "
                        "umockdev-wrapper\n");
        exit(EXIT_INTERNAL);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        perror("omvemu: readlink /proc/self/exe");
        exit(EXIT_INTERNAL);
    }
    self[n] = '\0';
    setenv("OMVEMU_REEXECED", "1", 1);
    int argc = 0;
    while (argv[argc])
        argc++;
    char **nargv = g_new0(char *, argc + 2);
    nargv[0] = (char *)"umockdev-wrapper";
    nargv[1] = self;
    for (int i = 1; i < argc; i++)
        nargv[i + 1] = argv[i];
    execvp(nargv[0], nargv);
    fprintf(stderr, "omvemu: cannot run umockdev-wrapper: %s (install umockdev)\n",
            strerror(errno));
    exit(EXIT_INTERNAL);
}

/* ---- device presence (main thread) ---- */

static bool appear(camera_inst_t *c, bool hotplug);
static void on_leave(emu_usbdev_t *dev, void *user);

/* A DfuSe camera that reset or detached comes back as the same bootloader,
 * re-enumerated: a new device number, so handles on the old node keep
 * getting ENODEV, as with the kernel. */
static gboolean dfuse_reappear(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    dfuse_session_reset(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    if (!c->retired)
        c->retired = g_ptr_array_new_with_free_func((GDestroyNotify)usbfs_dev_free);
    g_ptr_array_add(c->retired, c->usb);
    c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, on_leave, c);
    c->devnum = E.next_devnum++;
    c->present = c->removed = false;
    if (c->devnum > 127 || !emu_testbed_attach(E.tb, c->devnum, c->usb->handler) ||
        !appear(c, true))
        fprintf(stderr, "omvemu: the DfuSe device could not re-appear\n");
    return G_SOURCE_REMOVE;
}

/* A DfuSe camera's delayed event (the Arduino board reset after leaving). */
static gboolean dfuse_timer_due(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    const char *why = dfuse_timer(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    if (why)
        usbfs_dev_leave(c->usb, why);
    return G_SOURCE_REMOVE;
}

/* Called from umockdev's worker thread: g_timeout_add is thread-safe. */
static void dfuse_schedule(void *user, unsigned ms)
{
    g_timeout_add(ms, dfuse_timer_due, user);
}

static gboolean remove_idle(gpointer p)
{
    camera_inst_t *c = p;
    if (c->present && !c->removed) {
        emu_testbed_remove(E.tb, c->port);
        c->removed = true;
        emu_log(c->dfu, "removed from the bus (remove uevent sent)");
        if (c->cdc)
            cdc_cam_dfu_left(c->cdc); /* --app-mode: the application starts again */
        if (c->dfu->dfuse && c->dfu->dfuse->reappear_ms >= 0) /* re-enumerates as itself */
            g_timeout_add((guint)c->dfu->dfuse->reappear_ms, dfuse_reappear, c);
    }
    return G_SOURCE_REMOVE;
}

/* Hosts notice a vanished device only after the hub reports the port change
 * (hub interrupt polling, then the kernel and udev): model that lag so a host
 * that resets right after DETACH meets ENODEV on its open fd, as on hardware,
 * rather than racing libusb's hot-plug thread. */
#define DISCONNECT_NOTICE_MS 20

/* May run in umockdev's worker thread: defer testbed changes to the main loop. */
static void on_leave(emu_usbdev_t *dev, void *user)
{
    (void)dev;
    g_timeout_add(DISCONNECT_NOTICE_MS, remove_idle, user);
}

static gboolean window_expired(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    bool attached = c->dfu->attached;
    g_mutex_unlock(&c->usb->lock);
    if (!attached)
        usbfs_dev_leave(c->usb, "no DNLOAD/UPLOAD within the bootloader window");
    return G_SOURCE_REMOVE;
}

static bool appear(camera_inst_t *c, bool hotplug)
{
    if (!emu_testbed_add(E.tb, c->cam, c->serial_buf, c->port, c->devnum, hotplug))
        return false;
    c->present = true;
    emu_log(c->dfu, "appeared as 001/%03u %04x:%04x serial %s%s", c->devnum, c->cam->vid,
            c->cam->pid, c->serial_buf, hotplug ? " (hot-plug)" : "");
    if (!c->forced)
        g_timeout_add((guint)c->window_ms, window_expired, c);
    return true;
}

/* --app-mode on a DFU-era camera: the application reset into openmv_dfu.
 * A second entry in one run re-arms the device model like a power cycle. */
static void enter_dfu(void *user, bool forced)
{
    camera_inst_t *c = user;
    if (c->present) {
        g_mutex_lock(&c->usb->lock);
        c->usb->gone = false;
        c->usb->leave_notified = false;
        dfu_device_power_on(c->dfu);
        g_mutex_unlock(&c->usb->lock);
        c->present = c->removed = false;
    }
    c->forced = forced;
    if (!appear(c, true))
        fprintf(stderr, "omvemu: the openmv_dfu device could not appear\n");
}

static gboolean appear_timeout(gpointer p)
{
    if (!appear(p, true))
        fprintf(stderr, "omvemu: hot-plug of the device failed\n");
    return G_SOURCE_REMOVE;
}

/* ---- port power (power_control.c): what uhubctl does to a real hub ---- */

/* Power back on once the camera has left the bus: a fresh boot into its
 * bootloader on a new device number (errors, a hang and `busy`/`stuck`
 * faults cleared, the flash keeps what was written), like a DfuSe
 * re-enumeration. */
static gboolean power_on_when_gone(gpointer p)
{
    camera_inst_t *c = p;
    if (c->present && !c->removed)
        return G_SOURCE_CONTINUE; /* its removal (DISCONNECT_NOTICE_MS) has not run yet */
    g_mutex_lock(&c->usb->lock);
    dfu_device_power_on(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    if (!c->retired)
        c->retired = g_ptr_array_new_with_free_func((GDestroyNotify)usbfs_dev_free);
    g_ptr_array_add(c->retired, c->usb);
    c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, on_leave, c);
    c->devnum = E.next_devnum++;
    c->present = c->removed = false;
    if (c->devnum > 127 || !emu_testbed_attach(E.tb, c->devnum, c->usb->handler) || !appear(c, true))
        fprintf(stderr, "omvemu: the camera on port 1-%u could not appear after power on\n", c->port);
    return G_SOURCE_REMOVE;
}

static bool port_power(void *user, unsigned port, bool on, char *err, size_t errlen)
{
    (void)user;
    camera_inst_t *c = NULL;
    for (size_t i = 0; i < E.ncams && !c; i++)
        if (E.cams[i].port == port)
            c = &E.cams[i];
    if (!c) {
        snprintf(err, errlen, "no camera on port 1-%u", port);
        return false;
    }
    if (c->cdc || c->dfu->dfuse) {
        snprintf(err, errlen, "port 1-%u: power switching is modelled for openmv_dfu cameras only", port);
        return false;
    }
    emu_log(c->dfu, "port power %s", on ? "on" : "off");
    if (!on) {
        c->powered_off = true;
        if (c->present && !c->removed)
            usbfs_dev_leave(c->usb, "port power off");
    } else if (c->powered_off) {
        c->powered_off = false;
        g_timeout_add(DISCONNECT_NOTICE_MS, power_on_when_gone, c);
    }
    return true;
}

/* ---- child process ---- */

static void child_exited(GPid pid, gint status, gpointer user)
{
    (void)pid;
    (void)user;
    E.child_status = status;
    E.child_done = true;
    g_main_loop_quit(E.loop);
}

static gboolean on_signal(gpointer p)
{
    int sig = GPOINTER_TO_INT(p);
    E.signals_seen++;
    if (E.child > 0)
        kill(E.child, E.signals_seen > 1 ? SIGKILL : sig); /* a second signal insists */
    return G_SOURCE_CONTINUE;
}

/* Serial ports need write_shim.so in COMMAND (after umockdev's preload). */
static void shim_env(void)
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
    setenv(OMVEMU_SHIM_ENV_SOCK, tty_hub_sock_path(E.hub), 1);
}

/* --host-fault: omvemu_host_fault_shim.so in front of everything else in
 * COMMAND's LD_PRELOAD (umockdev's wrappers call libc directly, so a shim
 * behind them would never see the calls). */
static void host_fault_env(void)
{
    if (!E.host_faults)
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
    setenv(OMVEMU_HOST_FAULTS_ENV, E.host_faults, 1);
}

static pid_t spawn(char **cmd)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("omvemu: fork");
        return -1;
    }
    if (pid == 0) {
        /* Don't outlive a SIGKILLed emulator. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(cmd[0], cmd);
        int e = errno;
        fprintf(stderr, "omvemu: cannot run %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    return pid;
}

static bool write_stats(const char *path)
{
    emu_stats_t s = {0};
    for (size_t i = 0; i < E.ncams; i++) {
        if (!E.cams[i].dfu)
            continue;
        const emu_stats_t *t = &E.cams[i].dfu->stats;
        s.control_transfers += t->control_transfers;
        s.dnload += t->dnload;
        s.dnload_zero += t->dnload_zero;
        s.getstatus += t->getstatus;
        s.upload += t->upload;
        s.clrstatus += t->clrstatus;
        s.abort += t->abort;
        s.detach += t->detach;
        s.setinterface += t->setinterface;
        s.resets += t->resets;
        s.blocks_written += t->blocks_written;
        s.device_busy_us += t->device_busy_us;
        s.dnload_dropped += t->dnload_dropped;
        s.hung += t->hung;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "omvemu: --stats %s: %s\n", path, strerror(errno));
        return false;
    }
#define U(x) (unsigned long long)(x)
    fprintf(f,
            "{\"control_transfers\":%llu,\"dnload\":%llu,\"dnload_zero\":%llu,\"getstatus\":%llu,"
            "\"upload\":%llu,\"clrstatus\":%llu,\"abort\":%llu,\"detach\":%llu,"
            "\"setinterface\":%llu,\"resets\":%llu,\"blocks_written\":%llu,"
            "\"device_busy_us\":%llu,\"dnload_dropped\":%llu,\"hung\":%llu",
            U(s.control_transfers), U(s.dnload), U(s.dnload_zero), U(s.getstatus), U(s.upload),
            U(s.clrstatus), U(s.abort), U(s.detach), U(s.setinterface), U(s.resets),
            U(s.blocks_written), U(s.device_busy_us), U(s.dnload_dropped), U(s.hung));
#undef U
    dfu_device_t *devs[MAX_CAMERAS];
    for (size_t i = 0; i < E.ncams; i++)
        devs[i] = E.cams[i].dfu;
    char *dj = dfuse_stats_json(devs, E.ncams); /* DfuSe counters, if any */
    fputs(dj, f);
    g_free(dj);
    if (E.hub) { /* serial-port cameras: their counters go on the same line */
        legacy_stats_t ls = {0};
        app_stats_t as = {0};
        for (size_t i = 0; i < E.ncams; i++)
            if (E.cams[i].cdc)
                cdc_cam_sum_stats(E.cams[i].cdc, &ls, &as);
        tty_stats_t ts = tty_hub_stats(E.hub);
        char *j = cdc_stats_json(&ls, &as, &ts);
        fputs(j, f);
        g_free(j);
    }
    fputs("}\n", f);
    return fclose(f) == 0;
}

static bool dump_all(void)
{
    bool ok = true;
    for (size_t i = 0; i < E.ncams && ok; i++) {
        camera_inst_t *c = &E.cams[i];
        char err[512];
        char *dir = E.ncams > 1 ? g_build_filename(E.dump_dir, c->serial_buf, NULL)
                                : g_strdup(E.dump_dir);
        if (E.ncams > 1 && g_mkdir_with_parents(E.dump_dir, 0755) < 0) {
            fprintf(stderr, "omvemu: --dump %s: %s\n", E.dump_dir, strerror(errno));
            ok = false;
        }
        if (ok && c->dfu) {
            g_mutex_lock(&c->usb->lock);
            ok = dfu_device_dump(c->dfu, dir, err, sizeof(err));
            g_mutex_unlock(&c->usb->lock);
            if (!ok)
                fprintf(stderr, "omvemu: %s\n", err);
        }
        if (ok && c->cdc && !(ok = cdc_cam_dump(c->cdc, dir, err, sizeof(err))))
            fprintf(stderr, "omvemu: %s\n", err);
        g_free(dir);
    }
    return ok;
}

/* Legacy cameras and --app-mode: serial ports (legacy_emu.c). A DFU-era
 * camera's openmv_dfu device is attached here but appears only when its
 * application resets into the bootloader (enter_dfu). */
static bool start_serial_cameras(void)
{
    for (size_t i = 0; i < E.ncams; i++) {
        camera_inst_t *c = &E.cams[i];
        if (!c->legacy && !c->app_mode)
            continue;
        if (!E.hub && !(E.hub = tty_hub_new(E.tb, E.verbose)))
            return false;
        char tag[24];
        if (E.ncams > 1)
            snprintf(tag, sizeof(tag), "%s#%zu", c->legacy ? c->legacy->id : c->cam->id, i + 1);
        else
            snprintf(tag, sizeof(tag), "%s", c->legacy ? c->legacy->id : c->cam->id);
        cdc_cam_cfg_t cfg = {
            .legacy = c->legacy, .dfu_cam = c->cam, .app_serial = c->serial_buf,
            .bl_version = c->bl_version, .app_mode = c->app_mode, .zlp = c->zlp,
            .no_appear = c->no_appear, .window_ms = c->window_ms,
            .appear_after_ms = c->appear_after_ms, .reenum_ms = c->reenum_ms, .port = c->port,
            .tag = tag, .faults = c->lfaults, .nfaults = c->legacy ? c->nlfaults : 0,
            .timing = E.ltiming, .verbose = E.verbose, .enter_dfu = enter_dfu, .user = c,
        };
        if (!(c->cdc = cdc_cam_new(&cfg, E.hub))) {
            fprintf(stderr, "omvemu: out of memory\n");
            return false;
        }
        if (!c->legacy) {
            c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, on_leave, c);
            if (!emu_testbed_attach(E.tb, c->devnum, c->usb->handler))
                return false;
        }
    }
    if (!E.hub)
        return true;
    shim_env();
    for (size_t i = 0; i < E.ncams; i++)
        if (E.cams[i].cdc && !cdc_cam_start(E.cams[i].cdc))
            return false;
    return true;
}

int main(int argc, char **argv)
{
    /* Parse and validate before re-exec so bad options fail fast (exit 2). */
    char **argv_copy = g_strdupv(argv);
    parse_args(argc, argv_copy);
    set_asan_options();
    ensure_preload(argv);
    unsetenv("OMVEMU_REEXECED");
    build_devices();

    /* Signals are routed through the main loop so cleanup always runs. */
    E.loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
    g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
    g_unix_signal_add(SIGHUP, on_signal, GINT_TO_POINTER(SIGHUP));

    E.next_devnum = (unsigned)E.ncams + 2;
    E.tb = emu_testbed_new();
    if (!E.tb) {
        fprintf(stderr, "omvemu: cannot create umockdev testbed\n");
        return EXIT_INTERNAL;
    }
    int rc = EXIT_INTERNAL;
    if (!start_serial_cameras())
        goto cleanup;
    for (size_t i = 0; i < E.ncams; i++) {
        camera_inst_t *c = &E.cams[i];
        if (c->cdc)
            continue; /* started by start_serial_cameras() */
        c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, on_leave, c);
        if (c->no_appear)
            continue;
        if (!emu_testbed_attach(E.tb, c->devnum, c->usb->handler))
            goto cleanup;
        if (c->appear_after_ms == 0 && !appear(c, false))
            goto cleanup;
    }

    host_fault_env();
    if (!(E.power = power_ctl_new(port_power, NULL)))
        goto cleanup;
    setenv(OMVEMU_POWER_ENV, power_ctl_path(E.power), 1);
    E.child = spawn(E.cmd);
    if (E.child < 0)
        goto cleanup;
    g_child_watch_add(E.child, child_exited, NULL);
    for (size_t i = 0; i < E.ncams; i++)
        if (!E.cams[i].cdc && !E.cams[i].no_appear && E.cams[i].appear_after_ms > 0)
            g_timeout_add((guint)E.cams[i].appear_after_ms, appear_timeout, &E.cams[i]);

    g_main_loop_run(E.loop);

    if (WIFEXITED(E.child_status))
        rc = WEXITSTATUS(E.child_status);
    else if (WIFSIGNALED(E.child_status))
        rc = 128 + WTERMSIG(E.child_status);
    else
        rc = EXIT_INTERNAL;

    if (E.dump_dir && !dump_all())
        rc = EXIT_INTERNAL;
    if (E.stats_file && !write_stats(E.stats_file))
        rc = EXIT_INTERNAL;

cleanup:
    /* Testbed first: it stops serving ioctls before the handlers go away. */
    emu_testbed_free(E.tb);
    for (size_t i = 0; i < E.ncams; i++) {
        cdc_cam_free(E.cams[i].cdc);
        usbfs_dev_free(E.cams[i].usb);
        if (E.cams[i].retired)
            g_ptr_array_free(E.cams[i].retired, TRUE);
        dfu_device_free(E.cams[i].dfu);
    }
    tty_hub_free(E.hub);
    power_ctl_free(E.power);
    g_main_loop_unref(E.loop);
    g_strfreev(argv_copy);
    g_free(E.host_faults);
    return rc;
}
