/* omvflashd command-line parsing. getopt_long is a GNU extension. */
#define _GNU_SOURCE
#include "cli_args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_BOARD = 256,
    OPT_FIRMWARE,
    OPT_IMAGE,
    OPT_READ,
    OPT_VERIFY,
    OPT_DRY_RUN,
    OPT_SERIAL,
    OPT_PORT,
    OPT_WAIT,
    OPT_NO_RESET,
    OPT_JSON,
    OPT_LIST,
    OPT_PLUGIN_DIR,
    OPT_VERSION,
    OPT_ACTION,
    OPT_SET,
    OPT_YES,
    OPT_NO_RESTORE,
    OPT_LIST_ACTIONS,
    OPT_ERASE_FS,
    OPT_WATCH,
    OPT_MAX,
    OPT_ONCE,
    OPT_JOBS,
    OPT_SLOTS,
    OPT_SLOT,
    OPT_REPORT,
    OPT_METRICS,
    OPT_ON_STUCK,
    OPT_FORCE,
    OPT_SKIP_UNCHANGED,
    OPT_RETRIES,
    OPT_NO_CONFIRM,
    OPT_PROFILE,
    OPT_RECOVER,
};

static const struct option long_opts[] = {
    {"board", required_argument, NULL, OPT_BOARD},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"read", required_argument, NULL, OPT_READ},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"port", required_argument, NULL, OPT_PORT},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"no-reset", no_argument, NULL, OPT_NO_RESET},
    {"json", no_argument, NULL, OPT_JSON},
    {"list-devices", no_argument, NULL, OPT_LIST},
    {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"action", required_argument, NULL, OPT_ACTION},
    {"set", required_argument, NULL, OPT_SET},
    {"yes", no_argument, NULL, OPT_YES},
    {"no-restore", no_argument, NULL, OPT_NO_RESTORE},
    {"list-actions", no_argument, NULL, OPT_LIST_ACTIONS},
    {"erase-filesystem", no_argument, NULL, OPT_ERASE_FS},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"max", required_argument, NULL, OPT_MAX},
    {"once", no_argument, NULL, OPT_ONCE},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"slot", required_argument, NULL, OPT_SLOT},
    {"report", required_argument, NULL, OPT_REPORT},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"on-stuck", required_argument, NULL, OPT_ON_STUCK},
    {"force", no_argument, NULL, OPT_FORCE},
    {"skip-unchanged", no_argument, NULL, OPT_SKIP_UNCHANGED},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"no-confirm", no_argument, NULL, OPT_NO_CONFIRM},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"recover", no_argument, NULL, OPT_RECOVER},
    {NULL, 0, NULL, 0},
};

static void print_usage_rest(FILE *f);

/* The first part of --help: what to do. */
static void usage_what(FILE *f)
{
    fputs("Usage: omvflashd --board FILE|NAME|auto [options]\n"
          "       omvflashd --board FILE|NAME --firmware DIR|ZIP --watch [--max N | --once] [options]\n"
          "       omvflashd --list-devices [--board FILE|NAME] [--json]\n"
          "\n"
          "Flash an OpenMV camera described by a board file (boards/*.ini). --board auto: the\n"
          "board of the one attached camera, by its USB id where only one board file names it,\n"
          "else by the arch string its running firmware reports (asked before any reset).\n"
          "\n"
          "What to do:\n"
          "  --firmware DIR|ZIP    write the board's images (full flash, board order) from DIR, or\n"
          "                        from an OpenMV release zip as downloaded (firmware_<tag>.zip:\n"
          "                        the board's folder, e.g. OPENMV4/; firmware_<TARGET>.zip: its\n"
          "                        top), read in place; a firmware.lst there restricts the set.\n"
          "                        Every image is checked first: one built for another board\n"
          "                        (its arch string) is refused with exit 8; its SHA-256 is shown\n"
          "  --force               write images built for another board anyway (warns)\n"
          "  --image NAME=FILE     write FILE to partition NAME (repeatable; only these are written)\n"
          "  --read NAME=FILE      read partition NAME into FILE (repeatable), before anything is\n"
          "                        written; FILE must be a regular file or new (never a link or\n"
          "                        a device), written via FILE.partial-XXXXXX\n"
          "  --verify              read every written partition back and compare\n"
          "  --skip-unchanged      read each partition back first and write only the parts that\n"
          "                        differ (whole erase units; refused by bootloaders that cannot\n"
          "                        read back)\n"
          "  --retries N           write a partition again (from its start) up to N times after\n"
          "                        an I/O error, a timeout or a device error status (default:\n"
          "                        the board's retries, 2; 0 = never)\n"
          "  --dry-run             show the plan (device, partitions, files, sizes); write nothing\n"
          "  --list-devices        list attached OpenMV cameras and bootloaders (takes --board,\n"
          "                        --slots, --json, -v, -q, --plugin-dir; flash options are\n"
          "                        refused)\n"
          "  --erase-filesystem    erase the board's filesystem partition first (alone: erase only)\n",
          f);
}

/* --help: board profiles. */
static void usage_profiles(FILE *f)
{
    fputs("\n"
          "Profiles (board-file [profile NAME] sections: another way to flash the camera):\n"
          "  --recover             --profile recover: restore a camera that does not boot through\n"
          "                        its chip's ROM bootloader (the message says how to get it there);\n"
          "                        writes its bootloader too, after a confirmation (--yes); boards\n"
          "                        without that path refuse, naming the tool to use (exit 17)\n"
          "  --profile NAME        flash through the board's profile NAME (its ids, transport,\n"
          "                        partitions and order); also with --list-devices, --dry-run\n",
          f);
}

void cli_print_usage(FILE *f)
{
    usage_what(f);
    usage_profiles(f);
    fputs("\n"
          "Actions (board-file [action NAME] sections, e.g. AE3 MRAM init):\n"
          "  --list-actions        list the board's actions\n"
          "  --action NAME         run action NAME, then restore the partitions it blanks\n"
          "                        (images from --image or --firmware DIR, default .)\n"
          "  --no-restore          do not write those partitions again\n"
          "  --set KEY=VALUE       override a plugin option of the board file (transport,\n"
          "                        entry or action), e.g. --set status_timeout_ms=30000\n"
          "  --yes                 do not ask before destructive steps (MRAM init, a bootloader\n"
          "                        write under --recover; for scripts)\n"
          "  --FLAG VALUE          an option a plugin of the board adds (e.g. --mode safe|fast\n"
          "                        for the legacy bootloader, --key FILE for MRAM init):\n"
          "                        --help --board NAME lists them\n"
          "\n",
          f);
    print_usage_rest(f);
}

/* The usage text from watch mode on (one function per screenful). */
static void print_usage_rest(FILE *f)
{
    fputs("Watch mode (production lines, fleets):\n"
          "  --watch               flash every camera of the board that appears, several at once,\n"
          "                        once per appearance (keyed by USB port); SIGINT/SIGTERM lets\n"
          "                        cameras in flight finish (a second one cancels them) and exits 0\n"
          "  --max N               exit after N cameras were handled: 0 if all succeeded, else 1\n"
          "                        (implies --watch)\n"
          "  --once                --max 1, exiting with that camera's own code (implies --watch)\n"
          "  --jobs N              flash at most N cameras at once; the others wait in arrival\n"
          "                        order (default: no limit)\n"
          "  --slots FILE          names for USB ports ([slot NAME] / port = 1-2.3): the slot is\n"
          "                        in every event, text line and --list-devices\n"
          "  --report FILE         append one JSON line per camera and run (time, board, serial,\n"
          "                        port, slot, images, result, ...), synced before the result\n"
          "                        is reported; also without --watch\n"
          "  --metrics FILE        keep FILE a Prometheus text exposition of watch mode (cameras\n"
          "                        by result, bytes, durations, in progress, last success),\n"
          "                        replaced atomically, for node_exporter's textfile collector\n"
          "  --on-stuck CMD        when a camera stops answering mid-flash, run CMD once (sh -c;\n"
          "                        OMVFLASH_PORT, _HUB, _HUB_PORT, _SLOT, _SERIAL set), e.g. uhubctl\n"
          "                        to power-cycle its port, then flash it again when it is back\n"
          "\n"
          "Device selection:\n"
          "  --serial S            only the camera with serial number S\n"
          "  --port PATH           only the camera on USB port PATH (e.g. 1-2.3)\n"
          "  --slot NAME           only the camera in slot NAME of the --slots file\n"
          "  --wait SECONDS        how long to wait for the bootloader (default: the board's wait_ms)\n"
          "  --no-reset            leave the camera in its bootloader at the end (implies --no-confirm)\n"
          "  --no-confirm          end after the reset; by default wait (board key confirm_ms, 10 s)\n"
          "                        for the camera to come back in application mode and say its\n"
          "                        firmware version and arch (exit 20 if it does not, comes back\n"
          "                        in its bootloader, or is another board)\n"
          "\n"
          "Output:\n"
          "  -v, --verbose         more detail: plugin files loaded, the plugins' messages\n"
          "  -q, --quiet           errors only\n"
          "  --json                one JSON object per line for every event, in every mode;\n"
          "                        the last one is always \"finished\" (exit_code)\n"
          "  --plugin-dir DIR      search DIR for plugins first (plugin files and their directories\n"
          "                        must be owned by root or you and not writable by others)\n"
          "  -h, --help            this text\n"
          "  --version             print the version\n"
          "\n"
          "Exit codes: 0 ok, 1 failed, 2 usage, 3 board file, 4 plugin, 5 image, 6 no device,\n"
          "7 several devices match, 8 device or image does not match board, 9 device error status,\n"
          "10 I/O error or device lost, 11 timeout, 12 verify mismatch, 13 read-only partition,\n"
          "14 cancelled, 15 permission denied, 16 out of memory, 17 unsupported,\n"
          "18 slots/report/metrics file malformed or not writable, 19 camera busy (claimed\n"
          "by another program), 20 camera did not come back running its firmware after the reset,\n"
          "21 --board auto: the camera matches several board files and does not say which.\n",
          f);
}

/* Options that --list-devices and --list-actions accept. */
static int list_ok(int val)
{
    return val == OPT_BOARD || val == OPT_JSON || val == OPT_LIST || val == OPT_LIST_ACTIONS || val == OPT_PROFILE ||
           val == OPT_RECOVER ||
           val == OPT_PLUGIN_DIR || val == OPT_SLOTS || val == 'v' || val == 'q' || val == 'h' ||
           val == OPT_VERSION;
}

int cli_argv_wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

/* "NAME=FILE" -> spec; both parts non-empty. */
static omv_status parse_spec(const char *opt, char *arg, omv_image_spec *list, size_t *n, omv_error *err)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || eq[1] == '\0')
        return strcmp(opt, "set") == 0
                   ? omv_error_set(err, OMV_E_USAGE, "--set '%s': expected KEY=VALUE (e.g. --set mode=fast)", arg)
                   : omv_error_set(err, OMV_E_USAGE, "--%s '%s': expected NAME=FILE (e.g. --%s HP=firmware_M55_HP.bin)",
                                   opt, arg, opt);
    if (*n >= CLI_MAX_SPECS)
        return omv_error_set(err, OMV_E_USAGE, "--%s: at most %d allowed", opt, CLI_MAX_SPECS);
    *eq = '\0';
    list[*n].partition = arg;
    list[*n].path = eq + 1;
    (*n)++;
    return OMV_OK;
}

/* --max N, --jobs N: a positive count. */
static omv_status parse_count(const char *opt, const char *arg, unsigned *n, omv_error *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || arg[0] == '-' || v == 0 || v > 1000000)
        return omv_error_set(err, OMV_E_USAGE, "--%s '%s': expected a number of cameras (1 or more)", opt, arg);
    *n = (unsigned)v;
    return OMV_OK;
}

/* --retries N: 0 to 100. */
static omv_status parse_retries(const char *arg, uint32_t *n, omv_error *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || end == arg || *end != '\0' || arg[0] == '-' || v > 100)
        return omv_error_set(err, OMV_E_USAGE, "--retries '%s': expected a number from 0 to 100", arg);
    *n = (uint32_t)v;
    return OMV_OK;
}

/* Seconds as a decimal ("2", "0.5") -> milliseconds. */
static omv_status parse_wait(const char *arg, uint32_t *ms, omv_error *err)
{
    char *end = NULL;
    errno = 0;
    double s = strtod(arg, &end);
    if (errno || end == arg || *end != '\0' || !(s >= 0.0) || s > 86400.0 * 7)
        return omv_error_set(err, OMV_E_USAGE, "--wait '%s': expected seconds (e.g. 10 or 0.5)", arg);
    *ms = (uint32_t)llround(s * 1000.0);
    return OMV_OK;
}

/* Options that exclude each other, or need another: one usage error each. */
static omv_status check_modes(const struct cli_opts *o, omv_error *err)
{
    if ((o->mode == CLI_MODE_LIST || o->mode == CLI_MODE_ACTIONS) && o->flash_opt)
        return omv_error_set(err, OMV_E_USAGE,
                             "--%s only lists; --%s is for flashing (with --list-*: --board, --json, -v, -q, "
                             "--plugin-dir, --slots)",
                             o->mode == CLI_MODE_LIST ? "list-devices" : "list-actions", o->flash_opt);
    if ((o->mode == CLI_MODE_FLASH || o->mode == CLI_MODE_ACTIONS) && !o->board)
        return omv_error_set(err, OMV_E_USAGE, "--board FILE|NAME is required (e.g. --board boards/ae3.ini)");
    if (o->profile && !o->board)
        return omv_error_set(err, OMV_E_USAGE, "--%s needs --board FILE|NAME (profiles are a board's)",
                             strcmp(o->profile, "recover") == 0 ? "recover" : "profile");
    if (o->mode == CLI_MODE_FLASH && o->firmware_dir && o->n_images && !o->n_actions)
        return omv_error_set(err, OMV_E_USAGE, "--firmware and --image exclude each other");
    return OMV_OK;
}

/* Watch mode and its production-line options. Sets max_devices for --once. */
static omv_status check_watch(struct cli_opts *o, omv_error *err)
{
    if (o->slot && !o->slots_file)
        return omv_error_set(err, OMV_E_USAGE, "--slot NAME needs --slots FILE (the file naming the slots)");
    if (o->slot && o->port)
        return omv_error_set(err, OMV_E_USAGE, "--slot and --port exclude each other");
    if (o->report_file && (o->mode != CLI_MODE_FLASH || o->dry_run))
        return omv_error_set(err, OMV_E_USAGE, "--report records flashing runs; it does not combine with "
                                               "--dry-run, --list-devices or --list-actions");
    if (o->on_stuck && (!o->watch || !*o->on_stuck))
        return omv_error_set(err, OMV_E_USAGE, "--on-stuck CMD needs a command and applies to --watch (or --max N)");
    if (o->metrics_file && !o->watch)
        return omv_error_set(err, OMV_E_USAGE, "--metrics counts the cameras of watch mode; add --watch (or --max N)");
    if (o->jobs && !o->watch)
        return omv_error_set(err, OMV_E_USAGE, "--jobs limits watch mode; add --watch (or --max N)");
    if (o->watch) {
        if (o->mode != CLI_MODE_FLASH)
            return omv_error_set(err, OMV_E_USAGE, "--watch, --max and --once flash cameras; they do not combine "
                                                   "with --list-devices or --list-actions");
        if (o->dry_run)
            return omv_error_set(err, OMV_E_USAGE, "--watch cannot be combined with --dry-run");
        if (o->n_reads)
            return omv_error_set(err, OMV_E_USAGE, "--watch cannot be combined with --read (every camera would "
                                                   "write the same file)");
        if (o->once && o->max_devices)
            return omv_error_set(err, OMV_E_USAGE, "--once and --max exclude each other");
        if (o->once)
            o->max_devices = 1;
    }
    return OMV_OK;
}

/* --board auto identifies the one camera a flashing run is about. */
static omv_status check_auto(const struct cli_opts *o, omv_error *err)
{
    if (!o->board || strcmp(o->board, "auto") != 0)
        return OMV_OK;
    if (o->mode != CLI_MODE_FLASH || o->watch)
        return omv_error_set(err, OMV_E_USAGE,
                             "--board auto identifies the one attached camera of a flashing run; --watch, "
                             "--list-actions and --list-devices need a board file (--list-devices: or none)");
    return OMV_OK;
}

static omv_status check_combinations(struct cli_opts *o, omv_error *err)
{
    omv_status st = check_modes(o, err);
    if (st == OMV_OK)
        st = check_watch(o, err);
    return st == OMV_OK ? check_auto(o, err) : st;
}

/* Whether --NAME (NAME up to '=' or its end, @p len bytes) is omvflashd's own option or an abbreviation of one. */
static int own_option(const char *name, size_t len)
{
    for (const struct option *lo = long_opts; lo->name; lo++)
        if (strncmp(lo->name, name, len) == 0)
            return 1;
    return 0;
}

/*
 * Take out the options a plugin of the board may add (struct omv_shorthand):
 * every "--FLAG VALUE" or "--FLAG=VALUE" whose FLAG is none of ours. The
 * library checks them once the board's plugins are loaded (an unknown one
 * is a usage error there). The rest goes to getopt in @p rest.
 */
static omv_status take_shorthands(int argc, char **argv, struct cli_opts *o, char **rest, int *n_rest,
                                  omv_error *err)
{
    int n = 0, i = 0;
    rest[n++] = argv[i++];
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        size_t len = strcspn(a + 2, "=");
        if (strncmp(a, "--", 2) != 0 || len == 0 || own_option(a + 2, len)) {
            rest[n++] = argv[i];
            continue;
        }
        const char *value = a[2 + len] == '=' ? a + 3 + len : i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : NULL;
        if (!value || !*value)
            return omv_error_set(err, OMV_E_USAGE, "unknown option '%s' (see --help)", a);
        if (o->n_shorthands >= CLI_MAX_SPECS || len >= sizeof o->shorthand_names[0])
            return omv_error_set(err, OMV_E_USAGE, "%s: too many plugin options", a);
        memcpy(o->shorthand_names[o->n_shorthands], a + 2, len);
        o->shorthand_names[o->n_shorthands][len] = '\0';
        o->shorthands[o->n_shorthands].partition = o->shorthand_names[o->n_shorthands];
        o->shorthands[o->n_shorthands++].path = value;
        if (!o->flash_opt)
            o->flash_opt = o->shorthand_names[o->n_shorthands - 1];
    }
    for (; i < argc; i++)
        rest[n++] = argv[i];
    *n_rest = n;
    return OMV_OK;
}

static omv_status parse_own(int argc, char **argv, struct cli_opts *o, omv_error *err);

/* --profile NAME / --recover: one profile per run. */
static omv_status set_profile(struct cli_opts *o, const char *name, omv_error *err)
{
    if (!*name)
        return omv_error_set(err, OMV_E_USAGE, "--profile needs a profile name (e.g. --profile recover)");
    if (o->profile && strcmp(o->profile, name) != 0)
        return omv_error_set(err, OMV_E_USAGE, "one profile per run: --profile %s and --profile %s (or --recover)",
                             o->profile, name);
    o->profile = name;
    return OMV_OK;
}

omv_status cli_parse_args(int argc, char **argv, struct cli_opts *o, omv_error *err)
{
    memset(o, 0, sizeof *o);
    o->wait_ms = OMV_WAIT_DEFAULT;
    o->retries = OMV_RETRIES_DEFAULT;
    o->verbosity = 1;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    int n_rest = 0;
    omv_status st = take_shorthands(argc, argv, o, rest, &n_rest, err);
    if (st == OMV_OK)
        st = parse_own(n_rest, rest, o, err);
    free(rest);
    if (st == OMV_OK && o->help)
        o->mode = CLI_MODE_HELP;
    else if (st == OMV_OK && o->mode != CLI_MODE_VERSION)
        st = check_combinations(o, err);
    return st;
}

static omv_status parse_own(int argc, char **argv, struct cli_opts *o, omv_error *err)
{
    opterr = 0; /* we report errors ourselves, in one line */
    optind = 1;
    int c, idx = -1;
    while ((c = getopt_long(argc, argv, ":vqh", long_opts, &idx)) != -1) {
        omv_status st = OMV_OK;
        /* Remember the first option that only means something for a flash
         * (--list-devices and --list-actions refuse it rather than ignore it). */
        if (idx >= 0 && !o->flash_opt && !list_ok(long_opts[idx].val))
            o->flash_opt = long_opts[idx].name;
        idx = -1;
        switch (c) {
        case OPT_BOARD: o->board = optarg; break;
        case OPT_FIRMWARE: o->firmware_dir = optarg; break;
        case OPT_IMAGE: st = parse_spec("image", optarg, o->images, &o->n_images, err); break;
        case OPT_READ: st = parse_spec("read", optarg, o->reads, &o->n_reads, err); break;
        case OPT_VERIFY: o->verify = 1; break;
        case OPT_SKIP_UNCHANGED: o->skip_unchanged = 1; break;
        case OPT_RETRIES: st = parse_retries(optarg, &o->retries, err); break;
        case OPT_DRY_RUN: o->dry_run = 1; break;
        case OPT_SERIAL: o->serial = optarg; break;
        case OPT_PORT: o->port = optarg; break;
        case OPT_WAIT: st = parse_wait(optarg, &o->wait_ms, err); break;
        case OPT_NO_RESET: o->no_reset = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_LIST: o->mode = CLI_MODE_LIST; break;
        case OPT_PLUGIN_DIR:
            /* Taken from the current directory now, once: the library loads
             * plugins only from absolute directories. */
            if (!realpath(optarg, o->plugin_dir_buf))
                return omv_error_set(err, OMV_E_USAGE, "--plugin-dir %s: %s", optarg, strerror(errno));
            o->plugin_dir = o->plugin_dir_buf;
            break;
        case OPT_ACTION:
            if (o->n_actions >= CLI_MAX_SPECS)
                return omv_error_set(err, OMV_E_USAGE, "--action: at most %d allowed", CLI_MAX_SPECS);
            o->actions[o->n_actions++] = optarg;
            break;
        case OPT_SET: st = parse_spec("set", optarg, o->settings, &o->n_settings, err); break;
        case OPT_YES: o->yes = 1; break;
        case OPT_NO_RESTORE: o->no_restore = 1; break;
        case OPT_LIST_ACTIONS: o->mode = CLI_MODE_ACTIONS; break;
        case OPT_ERASE_FS: o->erase_filesystem = 1; break;
        case OPT_WATCH: o->watch = 1; break;
        case OPT_MAX: st = parse_count("max", optarg, &o->max_devices, err); o->watch = 1; break;
        case OPT_JOBS: st = parse_count("jobs", optarg, &o->jobs, err); break;
        case OPT_SLOTS: o->slots_file = optarg; break;
        case OPT_SLOT: o->slot = optarg; break;
        case OPT_REPORT: o->report_file = optarg; break;
        case OPT_METRICS: o->metrics_file = optarg; break;
        case OPT_ON_STUCK: o->on_stuck = optarg; break;
        case OPT_FORCE: o->force = 1; break;
        case OPT_NO_CONFIRM: o->no_confirm = 1; break;
        case OPT_PROFILE:
        case OPT_RECOVER: st = set_profile(o, c == OPT_RECOVER ? "recover" : optarg, err); break;
        case OPT_ONCE: o->once = 1; o->watch = 1; break;
        case 'v': o->verbosity++; break;
        case 'q': o->verbosity = 0; break;
        case 'h': o->help = 1; break;
        case OPT_VERSION: o->mode = CLI_MODE_VERSION; return OMV_OK;
        case ':':
            return omv_error_set(err, OMV_E_USAGE, "option '%s' needs a value", argv[optind - 1]);
        default:
            return omv_error_set(err, OMV_E_USAGE, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
        if (st != OMV_OK)
            return st;
    }
    if (optind < argc)
        return omv_error_set(err, OMV_E_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
    return OMV_OK;
}
