/* omvflashd --help: the usage text, and with --board the options that
 * board's plugins add (struct omv_shorthand, from the plugins themselves). */
#include "cli_help.h"

#include <string.h>

#include "cli_boards.h"

struct help_ctx {
    FILE *f;
    int n;
};

static void shorthand(void *user, const char *flag, const char *metavar, const char *help, const char *plugin,
                      const char *option)
{
    struct help_ctx *c = user;
    char left[96];
    snprintf(left, sizeof left, "--%s %s", flag, metavar);
    if (!c->n++)
        fprintf(c->f, "\nOptions the plugins of this board add:\n");
    fprintf(c->f, "  %-20s  %s (%s: --set %s=...)\n", left, help, plugin, option);
}

int cli_print_help(const struct cli_opts *o, struct cli_output *out)
{
    cli_print_usage(stdout);
    if (!o->board || strcmp(o->board, "auto") == 0)
        return 0;
    omv_error err;
    omv_error_clear(&err);
    omv_board *board = NULL;
    struct help_ctx c = {stdout, 0};
    omv_status st = cli_load_board_profile(o->board, o->profile, &board, &err);
    if (st == OMV_OK)
        st = omv_board_shorthands(board, o->plugin_dir, shorthand, &c, &err);
    if (st == OMV_OK && !c.n)
        printf("\nThe plugins of %s add no options.\n", omv_board_name(board));
    omv_board_free(board);
    if (st != OMV_OK) {
        cli_output_error(out, st, err.msg);
        cli_output_finished(out, st);
    }
    return (int)st;
}
