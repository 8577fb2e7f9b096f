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
#include "cli_boards.h"
#include "cli_help.h"
#include "cli_hints.h"
#include "cli_output.h"
#include "fleet.h"
#include "watch.h"


/* Requested from the signal handler (omv_cancel_request() is
 * async-signal-safe); the library reads it through omv_request.cancel from
 * whatever thread runs. --watch: the first signal only stops watching
 * (cameras in flight finish); the second cancels, and every worker's request
 * shares that one. Set before the handlers are installed, never changed. */
static omv_cancel *cancel_run;
static omv_cancel *stop_watch;
static volatile sig_atomic_t watch_mode;

static void on_signal(int sig)
{
    (void)sig;
    if (watch_mode && !omv_cancel_requested(stop_watch))
        omv_cancel_request(stop_watch);
    else
        omv_cancel_request(cancel_run);
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

static int run_list(const struct cli_opts *o, struct cli_output *out)
{
    omv_error err;
    omv_error_clear(&err);
    omv_board *boards[CLI_MAX_BOARDS];
    size_t n = 0;
    omv_status st;
    if (o->board) {
        st = cli_load_board_profile(o->board, o->profile, &boards[0], &err);
        if (st == OMV_OK)
            n = 1;
    } else {
        st = cli_load_all_boards(boards, CLI_MAX_BOARDS, &n, &err);
    }
    /* Plugin warnings (a camera that cannot be opened: permission denied,
     * udev rules) are shown with the list. */
    omv_callbacks cb = {.event = cli_output_event, .user = out, .log_debug = o->verbosity >= 2};
    if (st == OMV_OK)
        st = omv_list_devices_cb((const omv_board *const *)boards, n, o->plugin_dir, &cb, cli_output_device, out,
                                 &err);
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
    const omv_board *board;
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
    if (ev->type == OMV_EV_ERROR && ev->status == OMV_E_NO_DEVICE && ev->message) {
        /* A wrong --board is the usual cause: name what is attached instead. */
        char hint[768], msg[OMV_ERROR_MSG_MAX + sizeof hint];
        cli_other_cameras_hint(c->board, c->opts->plugin_dir, hint, sizeof hint);
        snprintf(msg, sizeof msg, "%s%s", ev->message, hint);
        omv_event e = *ev;
        e.message = msg;
        cli_output_event(c->out, &e);
        return;
    }
    cli_output_event(c->out, ev);
}

static int flash_confirm(void *user, const char *what)
{
    struct flash_ctx *c = user;
    return confirm((void *)c->opts, what);
}

static int run_list_actions(const struct cli_opts *o, struct cli_output *out)
{
    omv_error err;
    omv_error_clear(&err);
    omv_board *board = NULL;
    omv_status st = cli_load_board_profile(o->board, o->profile, &board, &err);
    if (st == OMV_OK)
        st = omv_list_actions(board, o->plugin_dir, cli_output_action, out, &err);
    omv_board_free(board);
    if (st != OMV_OK)
        cli_output_error(out, st, err.msg);
    cli_output_finished(out, st);
    return (int)st;
}

static void free_boards(omv_board **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        omv_board_free(b[i]);
}

/* The board of the run: --board FILE|NAME, or with --board auto the board
 * file of the one attached camera (omv_detect_board(), logged), whose port
 * (or serial) @p dev then names so that exactly that camera is flashed. */
static omv_status run_board(const struct cli_opts *o, struct cli_output *out, omv_board *const *known, size_t n_known,
                            const omv_error *known_err, omv_board **board, struct omv_device_info *dev, omv_error *err)
{
    if (strcmp(o->board, "auto") != 0)
        return cli_load_board_profile(o->board, o->profile, board, err);
    if (!n_known) {
        *err = *known_err;
        return omv_error_prefix(err, "--board auto");
    }
    omv_request q = {.plugin_dir = o->plugin_dir, .serial = o->serial, .port_path = o->port, .wait_ms = o->wait_ms,
                     .cancel = cancel_run};
    omv_callbacks cb = {.event = cli_output_event, .user = out, .log_debug = o->verbosity >= 2};
    size_t i = 0;
    omv_status st = omv_detect_board((const omv_board *const *)known, n_known, &q, &cb, &i, dev, err);
    return st == OMV_OK ? cli_load_board_profile(omv_board_path(known[i]), o->profile, board, err) : st;
}

static int run_flash(const struct cli_opts *o, struct cli_output *out, struct cli_fleet *fleet)
{
    omv_error err, kerr;
    omv_error_clear(&err);
    omv_error_clear(&kerr);
    /* The other board files tell which camera an image was built for (and,
     * for --board auto, which board the camera is). A board dir with a
     * broken file still lends the ones that load. */
    omv_board *known[CLI_MAX_BOARDS];
    size_t n_known = 0;
    cli_load_all_boards(known, CLI_MAX_BOARDS, &n_known, &kerr);
    omv_board *board = NULL;
    struct omv_device_info dev;
    memset(&dev, 0, sizeof dev);
    omv_status st = run_board(o, out, known, n_known, &kerr, &board, &dev, &err);
    if (st != OMV_OK) {
        free_boards(known, n_known);
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
        .skip_unchanged = o->skip_unchanged,
        .retries = o->retries,
        .dry_run = o->dry_run,
        .no_reset = o->no_reset,
        .serial = o->serial ? o->serial : dev.port_path[0] || !dev.serial[0] ? NULL : dev.serial,
        .port_path = o->port ? o->port : dev.port_path[0] ? dev.port_path : NULL,
        .wait_ms = o->wait_ms,
        .plugin_dir = o->plugin_dir,
        .cancel = cancel_run,
        .actions = o->actions,
        .n_actions = o->n_actions,
        .no_restore = o->no_restore,
        .settings = o->settings,
        .n_settings = o->n_settings,
        .erase_filesystem = o->erase_filesystem,
        .shorthands = o->shorthands,
        .n_shorthands = o->n_shorthands,
        .force = o->force,
        .no_confirm = o->no_confirm,
    };
    req.known_boards = (const omv_board *const *)known;
    req.n_known_boards = n_known;
    /* The headline command `omvflashd --board boards/ae3.ini` is a full flash
     * of the board's images from the current directory. */
    if (!req.firmware_dir && !req.n_images && !req.n_reads && !req.n_actions && !req.erase_filesystem)
        req.firmware_dir = ".";
    if (o->watch) {
        int code = cli_watch(o, board, &req, fleet, stop_watch, cancel_run);
        omv_board_free(board);
        free_boards(known, n_known);
        return code;
    }
    struct flash_ctx ctx = {.out = out, .opts = o, .fleet = fleet, .board = board};
    camera_record_start(&ctx.rec, req.serial, req.port_path, omv_slots_lookup(fleet->slots, req.port_path));
    omv_callbacks cb = {.event = flash_event, .confirm = flash_confirm, .user = &ctx, .log_debug = o->verbosity >= 2};
    st = omv_flash(board, &req, &cb, &err);
    omv_board_free(board);
    free_boards(known, n_known);
    return st == OMV_OK && ctx.report_failed ? (int)ctx.report_failed : (int)st;
}

int main(int argc, char **argv)
{
    struct cli_opts opts;
    omv_error err;
    omv_error_clear(&err);
    /* One line at a time also into a pipe or a log file: whoever reads our
     * output (tee, a supervisor, a script waiting for a step) sees each
     * event when it happens, not when the buffer fills or we exit. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    omv_status st = cli_parse_args(argc, argv, &opts, &err);
    struct cli_output out;
    cli_output_init(&out, opts.json || (st != OMV_OK && cli_argv_wants_json(argc, argv)), opts.verbosity);
    if (st != OMV_OK) {
        cli_output_error(&out, st, err.msg);
        cli_output_finished(&out, st);
        return (int)st;
    }
    switch (opts.mode) {
    case CLI_MODE_HELP:
        return cli_print_help(&opts, &out);
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
    cancel_run = omv_cancel_new();
    stop_watch = omv_cancel_new();
    if (!cancel_run || !stop_watch) {
        cli_output_error(&out, OMV_E_NOMEM, "out of memory");
        cli_output_finished(&out, OMV_E_NOMEM);
        return OMV_E_NOMEM;
    }
    install_signals();
    int code = opts.mode == CLI_MODE_LIST ? run_list(&opts, &out) : run_flash(&opts, &out, &fleet);
    cli_fleet_close(&fleet);
    /* The handlers stay: they may still run, and use these. Freed by the exit. */
    return code;
}
