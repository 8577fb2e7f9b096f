/* omvflashd command-line parsing: argv -> struct cli_opts, no side effects. */
#ifndef OMVFLASHD_CLI_ARGS_H
#define OMVFLASHD_CLI_ARGS_H

#include <omvflash/omvflash.h>

#define CLI_MAX_SPECS 32

enum cli_mode {
    CLI_MODE_FLASH = 0,  /* default: flash / read / dry-run against one board */
    CLI_MODE_LIST,       /* --list-devices */
    CLI_MODE_ACTIONS,    /* --list-actions */
    CLI_MODE_HELP,       /* --help */
    CLI_MODE_VERSION,    /* --version */
};

struct cli_opts {
    enum cli_mode mode;
    const char *board;          /* --board FILE|NAME */
    const char *profile;        /* --profile NAME, --recover (= recover): the board's [profile NAME] */
    const char *firmware_dir;   /* --firmware DIR|ZIP */
    omv_image_spec images[CLI_MAX_SPECS];
    size_t n_images;
    omv_image_spec reads[CLI_MAX_SPECS];
    size_t n_reads;
    int verify;
    int skip_unchanged;         /* --skip-unchanged: write only what differs from the camera */
    uint32_t retries;           /* --retries N; OMV_RETRIES_DEFAULT unless given */
    int dry_run;
    int no_reset;
    const char *serial;
    const char *port;
    uint32_t wait_ms;           /* OMV_WAIT_DEFAULT unless --wait */
    const char *plugin_dir;
    int verbosity;              /* 0 = -q, 1 = normal, 2+ = -v */
    int json;
    const char *actions[CLI_MAX_SPECS]; /* --action NAME */
    size_t n_actions;
    omv_image_spec settings[CLI_MAX_SPECS]; /* --set KEY=VALUE */
    size_t n_settings;
    omv_image_spec shorthands[CLI_MAX_SPECS]; /* --FLAG VALUE a plugin of the board adds ({"mode", "fast"}) */
    size_t n_shorthands;
    char shorthand_names[CLI_MAX_SPECS][64];
    int help;                   /* --help (with --board: the board's plugin options too) */
    int no_restore;
    int yes;                    /* --yes: accept destructive steps without asking */
    int erase_filesystem;
    int force;                  /* --force: write images built for another board */
    int no_confirm;             /* --no-confirm: do not wait for the camera after the reset */
    int watch;                  /* --watch (also implied by --max and --once) */
    unsigned max_devices;       /* --max N: stop after N cameras; 0 = no limit */
    int once;                   /* --once: --max 1, exit with that camera's code */
    unsigned jobs;              /* --jobs N: at most N cameras flashed at once; 0 = no limit */
    const char *slots_file;     /* --slots FILE: names of USB ports */
    const char *slot;           /* --slot NAME: the camera in that slot (needs --slots) */
    const char *report_file;    /* --report FILE: one JSON record per camera per run, appended */
    const char *metrics_file;   /* --metrics FILE: Prometheus text exposition (watch mode) */
    const char *on_stuck;       /* --on-stuck CMD: run when a camera stops answering mid-flash */
    const char *flash_opt;      /* first option given that only a flash uses ("image"), or NULL */
    char plugin_dir_buf[4096];  /* --plugin-dir made absolute (realpath) */
};

/**
 * Parse @p argv into @p out. On a usage error returns OMV_E_USAGE with a
 * one-line message in @p err; --help/--version set out->mode.
 */
omv_status cli_parse_args(int argc, char **argv, struct cli_opts *out, omv_error *err);

/**
 * Non-zero when @p argv asks for --json anywhere before "--": usage errors
 * are reported as JSON even when parsing stopped before reaching it.
 */
int cli_argv_wants_json(int argc, char **argv);

/** Print the usage text to @p f. */
void cli_print_usage(FILE *f);

#endif
