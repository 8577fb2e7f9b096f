/* omvflashd --help [--board FILE|NAME]. */
#ifndef OMVFLASHD_CLI_HELP_H
#define OMVFLASHD_CLI_HELP_H

#include "cli_args.h"
#include "cli_output.h"

/**
 * Print the usage text; with --board, also the command-line options the
 * board's plugins add (loading them). @return the exit code (0, or the
 * board's or plugins' error, reported through @p out).
 */
int cli_print_help(const struct cli_opts *o, struct cli_output *out);

#endif
