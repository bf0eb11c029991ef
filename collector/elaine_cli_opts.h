/* Options every elaine subcommand shares: --dir, the filters, --color, --width, --help. */
#ifndef ELAINE_CLI_OPTS_H
#define ELAINE_CLI_OPTS_H

#include <stdio.h>

#include "elaine_cli_filter.h"

typedef struct elaine_cli_opts {
    const char *dir;     /* after _done: the log directory */
    char dirbuf[4096];
    elaine_cli_filter filter;
    int color;           /* -1 auto (a terminal, NO_COLOR unset), 0, 1; after _done: 0 or 1 */
    int width;           /* 0 auto; after _done: the terminal's columns, or 0 when not a terminal */
    int help;            /* --help seen */
} elaine_cli_opts;

/* The text for --help: --dir, --color, the filters. */
extern const char elaine_cli_opts_help[];

void elaine_cli_opts_init(elaine_cli_opts *o);
void elaine_cli_opts_free(elaine_cli_opts *o);
/* Takes a shared option at argv[*i]: 1 taken, 0 not one, -1 bad (said on stderr). */
int elaine_cli_opts_take(elaine_cli_opts *o, int argc, char **argv, int *i);
/* Resolves the directory, colour and width for stdout. 0 or -errno (said on stderr). */
int elaine_cli_opts_done(elaine_cli_opts *o);

/* "elaine: WHY: ARG" and the command's usage on stderr; returns 2. */
int elaine_cli_usage_error(const char *usage, const char *why, const char *arg);
/* A count for -n and the like: 0 or -1. */
int elaine_cli_parse_count(const char *s, long *out);

#endif
