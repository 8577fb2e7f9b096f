/* omvemu's command line: options before the first --camera belong to it,
 * later per-camera options to the last --camera; every problem is a usage
 * error (exit 2) before anything is emulated. */
#define _GNU_SOURCE
#include "omvemu.h"
#include "host_faults.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
            "  --app-mode v1|v2    the camera starts in its application (debug protocol v1\n"
            "                      or v2) and resets into its bootloader when asked; also for\n"
            "                      the DFU-era cameras (app port 37C5:12xx/16E3). Without it\n"
            "                      the camera starts in its bootloader, and when that leaves\n"
            "                      the application boots (debug protocol v1)\n"
            "  --no-app            the firmware never enumerates: after the bootloader leaves\n"
            "                      the camera stays off the bus\n"
            "  --zlp               the host OS adds a zero-length packet after a transfer\n"
            "                      that is a multiple of 64 bytes (macOS)\n"
            "  --reenum-ms MS      reset/jump to USB re-enumeration delay (default 100)\n"
            "  --fw-version X.Y.Z  firmware version the application reports (v1 FW_VERSION,\n"
            "                      v2 VERSION; default 4.5.9 legacy, 4.8.1 v1, 5.0.0 v2)\n"
            "  --arch STR          OMV_BOARD_ARCH the application reports (v1 ARCH_STR; at\n"
            "                      most 33 characters; default: the camera's own)\n"
            "  --boot-fails        once the host wrote to flash, the new firmware does not\n"
            "                      start: leaving the bootloader brings the bootloader back\n"
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

void emu_die_usage(const char *fmt, ...)
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
        emu_die_usage("%s: '%s' is not a number of milliseconds", opt, v);
    return x;
}

/* --host-fault KIND (global): checked here, applied by the shim in COMMAND. */
static void add_host_fault(emu_t *e, const char *kind)
{
    char *kinds = g_strdup(" " OMVEMU_HOST_FAULT_KINDS " "), *want = g_strdup_printf(" %s ", kind);
    bool known = *kind && !strchr(kind, ' ') && strstr(kinds, want);
    g_free(kinds);
    g_free(want);
    if (!known)
        emu_die_usage("--host-fault: '%s' is not one of: %s", kind, OMVEMU_HOST_FAULT_KINDS);
    char *all = e->host_faults ? g_strdup_printf("%s,%s", e->host_faults, kind) : g_strdup(kind);
    g_free(e->host_faults);
    e->host_faults = all;
}

static camera_inst_t *cur_cam(emu_t *e)
{
    if (e->ncams == 0) {
        e->pre_used = true;
        return &e->pre;
    }
    return &e->cams[e->ncams - 1];
}

static void inst_defaults(emu_t *e, camera_inst_t *c)
{
    memset(c, 0, sizeof(*c));
    c->emu = e;
    c->window_ms = -1; /* unset: 1500 for openmv_dfu, 1000 for the legacy bootloader */
    c->bl_version = 3;
    c->reenum_ms = 100;
    c->mram_init_ms = 3000;
}

static void add_camera(emu_t *e, const char *val)
{
    if (e->ncams >= MAX_CAMERAS)
        emu_die_usage("at most %d cameras", MAX_CAMERAS);
    const camera_model_t *cam = camera_model_find(val);
    const legacy_model_t *lm = cam ? NULL : legacy_model_find(val);
    if (lm)
        cam = camera_model_find(lm->family);
    if (!cam)
        emu_die_usage("unknown camera '%s' (one of: %s %s)", val, camera_model_ids(), legacy_model_ids());
    camera_inst_t *c = &e->cams[e->ncams];
    if (e->ncams == 0)
        *c = e->pre; /* options given before --camera belong to the first one */
    else
        inst_defaults(e, c);
    c->cam = cam;
    c->legacy = lm;
    e->ncams++;
}

static void set_serial(camera_inst_t *c, const char *val)
{
    if (!*val || strlen(val) > 63)
        emu_die_usage("--serial: must be 1..63 characters");
    for (const char *s = val; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
            emu_die_usage("--serial: printable ASCII only");
    c->serial = val;
}

static void add_load(camera_inst_t *c, char *val)
{
    char *sep = strchr(val, '=');
    if (!sep || sep == val || !sep[1])
        emu_die_usage("--load: expected NAME=FILE, got '%s'", val);
    if (c->nloads >= MAX_LOADS)
        emu_die_usage("--load: at most %d per camera", MAX_LOADS);
    *sep = '\0';
    c->load_part[c->nloads] = val;
    c->load_file[c->nloads++] = sep + 1;
}

/* --fault: by address for DfuSe cameras, by partition for openmv_dfu ones;
 * the legacy cameras' kinds are parsed once the camera is known (build). */
static void add_fault(camera_inst_t *c, const char *val)
{
    char err[256];
    if (c->nfaults >= MAX_FAULTS || c->nlfaults >= MAX_FAULTS)
        emu_die_usage("--fault: at most %d per camera", MAX_FAULTS);
    c->lfault_spec[c->nlfaults++] = val;
    if (dfuse_fault_syntax(val)) {
        if (!dfuse_fault_parse(val, &c->faults[c->nfaults], err, sizeof(err)))
            emu_die_usage("%s", err);
        c->nfaults++;
    } else if (!c->legacy && !legacy_fault_syntax(val)) {
        if (!fault_parse(val, &c->faults[c->nfaults], err, sizeof(err)))
            emu_die_usage("%s", err);
        c->nfaults++;
    }
}

static void add_dump_range(camera_inst_t *c, const char *val)
{
    dfuse_opts_t *o = &c->dfuse;
    if (o->ndump_ranges >= DFUSE_MAX_DUMP_RANGES)
        emu_die_usage("--dump-range: at most %d per camera", DFUSE_MAX_DUMP_RANGES);
    o->dump_ranges[o->ndump_ranges++] = val;
}

/* What the application reports: --fw-version, --arch. */
static bool app_identity_option(camera_inst_t *c, const char *name, const char *val)
{
    if (!strcmp(name, "--fw-version")) {
        if (!app_parse_version(val, c->fw_version))
            emu_die_usage("--fw-version: '%s' is not MAJOR.MINOR.PATCH (each 0..255)", val);
        c->fw_version_set = true;
        return true;
    }
    if (strcmp(name, "--arch"))
        return false;
    /* OMV_BOARD_ARCH is "33 chars max" (FW boards/<TARGET>/board_config.h) */
    bool ok = *val && strlen(val) <= 33;
    for (const char *q = val; *q; q++)
        ok = ok && (unsigned char)*q >= 0x20 && (unsigned char)*q <= 0x7E;
    if (!ok)
        emu_die_usage("--arch: 1 to 33 printable ASCII characters, not '%s'", val);
    c->arch = val;
    return true;
}

/* The options that set a number or choice of one camera. */
static bool camera_value_option(camera_inst_t *c, const char *name, const char *val)
{
    if (!strcmp(name, "--mram-init-ms"))
        c->mram_init_ms = parse_ms(name, val);
    else if (!strcmp(name, "--window-ms"))
        c->window_ms = parse_ms(name, val);
    else if (!strcmp(name, "--appear-after"))
        c->appear_after_ms = parse_ms(name, val);
    else if (!strcmp(name, "--reenum-ms"))
        c->reenum_ms = parse_ms(name, val);
    else if (!strcmp(name, "--bootloader-version")) {
        if (strcmp(val, "1") && strcmp(val, "2") && strcmp(val, "3"))
            emu_die_usage("--bootloader-version: 1, 2 or 3, not '%s'", val);
        c->bl_version = val[0] - '0';
    } else if (!strcmp(name, "--app-mode")) {
        if (strcmp(val, "v1") && strcmp(val, "v2"))
            emu_die_usage("--app-mode: v1 or v2, not '%s'", val);
        c->app_mode = val[1] - '0';
    } else
        return app_identity_option(c, name, val);
    return true;
}

/* Options of the last --camera (or, before any, of the first). */
static void camera_option(camera_inst_t *c, const char *name, char *val)
{
    if (camera_value_option(c, name, val))
        return;
    if (!strcmp(name, "--serial"))
        set_serial(c, val);
    else if (!strcmp(name, "--forced"))
        c->forced = true;
    else if (!strcmp(name, "--no-appear"))
        c->no_appear = true;
    else if (!strcmp(name, "--mram"))
        c->mram = true;
    else if (!strcmp(name, "--zlp"))
        c->zlp = true;
    else if (!strcmp(name, "--boot-fails"))
        c->boot_fails = true;
    else if (!strcmp(name, "--no-app"))
        c->no_app = true;
    else if (!strcmp(name, "--rdp"))
        c->dfuse.rdp = true;
    else if (!strcmp(name, "--h7-rev-v"))
        c->dfuse.rev_v = true;
    else if (!strcmp(name, "--load"))
        add_load(c, val);
    else if (!strcmp(name, "--fault"))
        add_fault(c, val);
    else if (!strcmp(name, "--dump-range"))
        add_dump_range(c, val);
    else
        emu_die_usage("unknown option '%s'", name);
}

static void apply_option(emu_t *e, const char *name, char *val)
{
    if (!strcmp(name, "--camera"))
        add_camera(e, val);
    else if (!strcmp(name, "--dump"))
        e->dump_dir = val;
    else if (!strcmp(name, "--stats"))
        e->stats_file = val;
    else if (!strcmp(name, "--model"))
        e->model_file = val;
    else if (!strcmp(name, "--host-fault"))
        add_host_fault(e, val);
    else
        camera_option(cur_cam(e), name, val);
}

static const char *const known_options[] = {
    "--camera", "--dump", "--stats", "--model", "--serial", "--forced", "--no-appear", "--window-ms",
    "--appear-after", "--load", "--fault", "--mram", "--mram-init-ms", "--bootloader-version",
    "--app-mode", "--zlp", "--reenum-ms", "--host-fault", "--dump-range", "--rdp", "--h7-rev-v",
    "--fw-version", "--arch", "--boot-fails", "--no-app"};
/* The options that take no value. */
static const char *const flag_options[] = {"--forced", "--no-appear", "--mram", "--zlp",
                                           "--rdp", "--h7-rev-v", "--boot-fails", "--no-app"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(name, list[k]))
            return true;
    return false;
}

/* argv[*i] is "--opt=value", "--opt value" or a flag: its name into @p name
 * (at least 32 bytes), its value (NULL for a flag) returned. */
static char *split_option(int argc, char **argv, int *i, char *name, size_t name_len)
{
    char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0)
        emu_die_usage("unexpected argument '%s' (the command goes after --)", a);
    char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    if (nl >= name_len)
        emu_die_usage("unknown option '%s'", a);
    memcpy(name, a, nl);
    name[nl] = '\0';
    if (!in_list(name, known_options, G_N_ELEMENTS(known_options)))
        emu_die_usage("unknown option '%s'", name);
    if (in_list(name, flag_options, G_N_ELEMENTS(flag_options))) {
        if (eq)
            emu_die_usage("%s takes no value", name);
        return NULL;
    }
    if (eq)
        return eq + 1;
    if (*i + 1 < argc && strcmp(argv[*i + 1], "--") != 0)
        return argv[++*i];
    emu_die_usage("%s needs a value", name);
}

static void load_models(emu_t *e)
{
    char err[512];
    if (!timing_model_load(e->model_file, &e->timing, err, sizeof(err)))
        emu_die_usage("--model: %s", err);
    if (!legacy_timing_load(e->model_file, &e->ltiming, err, sizeof(err)))
        emu_die_usage("--model: %s", err);
    if (!dfuse_timing_load(e->model_file, &e->dfuse_erase_pct, &e->dfuse_program_pct, err, sizeof(err)))
        emu_die_usage("--model: %s", err);
}

void emu_parse_args(emu_t *e, int argc, char **argv)
{
    inst_defaults(e, &e->pre);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], name[32];
        if (strcmp(a, "--") == 0) {
            if (i + 1 >= argc)
                emu_die_usage("missing COMMAND after --");
            e->cmd = &argv[i + 1];
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            e->verbose = true;
            continue;
        }
        char *val = split_option(argc, argv, &i, name, sizeof(name));
        apply_option(e, name, val);
    }
    if (e->ncams == 0)
        emu_die_usage("--camera is required");
    if (!e->cmd)
        emu_die_usage("missing '-- COMMAND'");
    if (e->model_file)
        load_models(e);
}
