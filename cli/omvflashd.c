/*
 * omvflashd: the command-line front end of libomvflash. It parses arguments,
 * finds the board file, wires signals to cancellation and renders events;
 * everything else happens in the library.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <ctype.h>
#include <unistd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "cli_output.h"
#include "fleet.h"
#include "watch.h"

#ifndef OMV_BUILD_BOARD_DIR
#define OMV_BUILD_BOARD_DIR ""
#endif
#ifndef OMV_INSTALL_BOARD_DIR
#define OMV_INSTALL_BOARD_DIR "/usr/local/share/omvflash/boards"
#endif

#define MAX_BOARDS 64

/* Set from the signal handler; the library polls it through omv_request.cancel. */
static volatile sig_atomic_t cancel_requested;
/* --watch: the first signal only stops watching (cameras in flight finish);
 * the second sets cancel_requested, which every worker's request shares. */
static volatile sig_atomic_t watch_mode;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    if (watch_mode && !stop_requested)
        stop_requested = 1;
    else
        cancel_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int is_dir(const char *p)
{
    struct stat st;
    return p && *p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Board directories in search order: $OMVFLASH_BOARD_PATH, the source tree's
 * boards/ (for a build tree), the installed data dir. */
static size_t board_dirs(char dirs[][512], size_t max)
{
    size_t n = 0;
    const char *env = getenv("OMVFLASH_BOARD_PATH");
    if (env && *env) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", env);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d && n < max; d = strtok_r(NULL, ":", &save))
            snprintf(dirs[n++], 512, "%s", d);
    }
    if (n < max && is_dir(OMV_BUILD_BOARD_DIR))
        snprintf(dirs[n++], 512, "%s", OMV_BUILD_BOARD_DIR);
    if (n < max)
        snprintf(dirs[n++], 512, "%s", OMV_INSTALL_BOARD_DIR);
    return n;
}

/* --board accepts a path ("boards/ae3.ini") or a name ("ae3") looked up in the board dirs. */
static omv_status resolve_board(const char *arg, char *path, size_t n, omv_error *err)
{
    size_t len = strlen(arg);
    if (strchr(arg, '/') || (len > 4 && strcmp(arg + len - 4, ".ini") == 0)) {
        snprintf(path, n, "%s", arg);
        return OMV_OK;
    }
    char dirs[8][512];
    size_t nd = board_dirs(dirs, 8);
    char searched[2048] = "";
    for (size_t i = 0; i < nd; i++) {
        snprintf(path, n, "%s/%s.ini", dirs[i], arg);
        struct stat st;
        if (stat(path, &st) == 0)
            return OMV_OK;
        size_t sl = strlen(searched);
        snprintf(searched + sl, sizeof searched - sl, "%s%s", sl ? ", " : "", dirs[i]);
    }
    return omv_error_set(err, OMV_E_BOARD, "board '%s' not found (searched: %s)", arg, searched);
}

/* --board FILE|NAME -> a loaded board. */
static omv_status load_board(const char *arg, omv_board **board, omv_error *err)
{
    char path[1024];
    omv_status st = resolve_board(arg, path, sizeof path, err);
    return st == OMV_OK ? omv_board_load(path, board, err) : st;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every *.ini of the first board dir that has any (for --list-devices without --board). */
static omv_status load_all_boards(omv_board **boards, size_t *count, omv_error *err)
{
    char dirs[8][512];
    size_t nd = board_dirs(dirs, 8);
    *count = 0;
    for (size_t i = 0; i < nd && *count == 0; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        char *names[MAX_BOARDS];
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) && nn < MAX_BOARDS) {
            size_t l = strlen(e->d_name);
            if (l > 4 && strcmp(e->d_name + l - 4, ".ini") == 0)
                names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof names[0], name_cmp);
        omv_status st = OMV_OK;
        for (size_t k = 0; k < nn; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dirs[i], names[k]);
            if (st == OMV_OK && names[k]) {
                st = omv_board_load(path, &boards[*count], err);
                if (st == OMV_OK)
                    (*count)++;
            }
            free(names[k]);
        }
        if (st != OMV_OK)
            return st;
    }
    if (*count == 0)
        return omv_error_set(err, OMV_E_BOARD, "no board files found (set OMVFLASH_BOARD_PATH or use --board)");
    return OMV_OK;
}

static int run_list(const struct cli_opts *o, struct cli_output *out)
{
    omv_error err;
    omv_error_clear(&err);
    omv_board *boards[MAX_BOARDS];
    size_t n = 0;
    omv_status st;
    if (o->board) {
        st = load_board(o->board, &boards[0], &err);
        if (st == OMV_OK)
            n = 1;
    } else {
        st = load_all_boards(boards, &n, &err);
    }
    if (st == OMV_OK)
        st = omv_list_devices((const omv_board *const *)boards, n, o->plugin_dir, cli_output_device, out, &err);
    for (size_t i = 0; i < n; i++)
        omv_board_free(boards[i]);
    if (st != OMV_OK)
        cli_output_error(out, st, err.msg);
    cli_output_finished(out, st);
    return (int)st;
}

/* Destructive steps (MRAM init) ask first: --yes accepts; an interactive
 * terminal is asked; anything else (scripts, --json) refuses. */
static int confirm(void *user, const char *what)
{
    const struct cli_opts *o = user;
    (void)what; /* already shown through the OMV_EV_CONFIRM event */
    if (o->yes)
        return 1;
    if (o->json || !isatty(STDIN_FILENO))
        return 0;
    fprintf(stderr, "Continue? [y/N] ");
    fflush(stderr);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    return tolower((unsigned char)line[0]) == 'y';
}

/* Route events to the output (and the --report record) and confirmations to
 * confirm(): both need their own state. */
struct flash_ctx {
    struct cli_output *out;
    const struct cli_opts *opts;
    struct cli_fleet *fleet;
    struct camera_record rec;
    omv_status report_failed;     /* the record could not be written */
};

static void flash_event(void *user, const omv_event *ev)
{
    struct flash_ctx *c = user;
    omv_error rerr;
    omv_error_clear(&rerr);
    if (cli_fleet_record_event(c->fleet, &c->rec, ev, &rerr) != OMV_OK) {
        /* Said before the result: a run whose record is lost did not succeed. */
        c->report_failed = rerr.code;
        cli_output_error(c->out, rerr.code, rerr.msg);
        if (ev->type == OMV_EV_FINISHED && ev->status == OMV_OK) {
            omv_event failed = *ev;
            failed.status = rerr.code;
            cli_output_event(c->out, &failed);
            return;
        }
    }
    cli_output_event(c->out, ev);
}

static int flash_confirm(void *user, const char *what)
{
    struct flash_ctx *c = user;
    return confirm((void *)c->opts, what);
}

static void print_action(void *user, const char *action, const char *plugin, const char *description,
                         const char *restores)
{
    (void)user;
    printf("%-12s plugin %-12s %s%s%s%s\n", action, plugin, description, restores[0] ? " (then restores " : "",
           restores, restores[0] ? ")" : "");
}

static int run_list_actions(const struct cli_opts *o, struct cli_output *out)
{
    omv_error err;
    omv_error_clear(&err);
    omv_board *board = NULL;
    omv_status st = load_board(o->board, &board, &err);
    if (st == OMV_OK)
        st = omv_list_actions(board, o->plugin_dir, print_action, NULL, &err);
    omv_board_free(board);
    if (st != OMV_OK)
        cli_output_error(out, st, err.msg);
    return (int)st;
}

static int run_flash(const struct cli_opts *o, struct cli_output *out, struct cli_fleet *fleet)
{
    omv_error err;
    omv_error_clear(&err);
    omv_board *board = NULL;
    omv_status st = load_board(o->board, &board, &err);
    if (st != OMV_OK) {
        cli_output_error(out, st, err.msg);
        cli_output_finished(out, st);
        return (int)st;
    }
    cli_fleet_set_board(fleet, board);

    omv_request req = {
        .firmware_dir = o->firmware_dir,
        .images = o->images,
        .n_images = o->n_images,
        .reads = o->reads,
        .n_reads = o->n_reads,
        .verify = o->verify,
        .dry_run = o->dry_run,
        .no_reset = o->no_reset,
        .serial = o->serial,
        .port_path = o->port,
        .wait_ms = o->wait_ms,
        .plugin_dir = o->plugin_dir,
        .cancel = &cancel_requested,
        .actions = o->actions,
        .n_actions = o->n_actions,
        .no_restore = o->no_restore,
        .settings = o->settings,
        .n_settings = o->n_settings,
        .erase_filesystem = o->erase_filesystem,
    };
    /* The headline command `omvflashd --board boards/ae3.ini` is a full flash
     * of the board's images from the current directory. */
    if (!req.firmware_dir && !req.n_images && !req.n_reads && !req.n_actions && !req.erase_filesystem)
        req.firmware_dir = ".";
    if (o->watch) {
        int code = cli_watch(o, board, &req, fleet, &stop_requested, &cancel_requested);
        omv_board_free(board);
        return code;
    }
    struct flash_ctx ctx = {.out = out, .opts = o, .fleet = fleet};
    camera_record_start(&ctx.rec, o->serial, o->port, omv_slots_lookup(fleet->slots, o->port));
    omv_callbacks cb = {.event = flash_event, .confirm = flash_confirm, .user = &ctx, .log_debug = o->verbosity >= 3};
    st = omv_flash(board, &req, &cb, &err);
    omv_board_free(board);
    return st == OMV_OK && ctx.report_failed ? (int)ctx.report_failed : (int)st;
}

int main(int argc, char **argv)
{
    struct cli_opts opts;
    omv_error err;
    omv_error_clear(&err);
    omv_status st = cli_parse_args(argc, argv, &opts, &err);
    struct cli_output out;
    cli_output_init(&out, opts.json, opts.verbosity);
    if (st != OMV_OK) {
        cli_output_error(&out, st, err.msg);
        cli_output_finished(&out, st);
        return (int)st;
    }
    switch (opts.mode) {
    case CLI_MODE_HELP:
        cli_print_usage(stdout);
        return 0;
    case CLI_MODE_VERSION:
        printf("omvflashd %s (plugin ABI %u)\n", OMVFLASH_VERSION, OMV_PLUGIN_ABI_VERSION);
        return 0;
    case CLI_MODE_ACTIONS:
        return run_list_actions(&opts, &out);
    case CLI_MODE_LIST:
    case CLI_MODE_FLASH:
        break;
    }
    struct cli_fleet fleet;
    st = cli_fleet_open(&opts, &fleet, &err);
    if (st != OMV_OK) {
        cli_output_error(&out, st, err.msg);
        cli_output_finished(&out, st);
        return (int)st;
    }
    out.slots = fleet.slots;
    watch_mode = opts.mode == CLI_MODE_FLASH && opts.watch;
    install_signals();
    int code = opts.mode == CLI_MODE_LIST ? run_list(&opts, &out) : run_flash(&opts, &out, &fleet);
    cli_fleet_close(&fleet);
    return code;
}
