/* The filters every elaine subcommand takes (--since, --until, --provider,
 * --model, --host, --exe, --status, --grep), their parsing, and matching a record. */
#ifndef ELAINE_CLI_FILTER_H
#define ELAINE_CLI_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_json.h"

/* Patterns of one flag; the strings belong to argv (or the caller). */
typedef struct elaine_cli_list {
    const char **v;
    size_t n;
} elaine_cli_list;

typedef struct elaine_cli_filter {
    int64_t since, until; /* microseconds since the epoch, ELAINE_CLI_NO_TIME when open */
    elaine_cli_list provider, model, host, exe, status;
    const char *grep;     /* case-insensitive (ASCII) text, or NULL */
    int64_t now;          /* "now" for durations; set by _init, tests may change it */
} elaine_cli_filter;

/* The filter flags, for the --help of every subcommand. */
extern const char elaine_cli_filter_help[];

void elaine_cli_filter_init(elaine_cli_filter *f);
void elaine_cli_filter_free(elaine_cli_filter *f); /* frees the lists, not the strings */

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val (NULL when the
 * value is missing), advancing *i past a separate value; 0 when argv[*i] is
 * another flag. */
int elaine_cli_arg(int argc, char **argv, int *i, const char *name, const char **val);

/* Takes a filter flag at argv[*i] (advancing *i past its value): 1 when
 * taken, 0 when argv[*i] is not a filter flag, -1 on a bad value (the
 * message is already on stderr). A flag given twice matches either value. */
int elaine_cli_filter_opt(elaine_cli_filter *f, int argc, char **argv, int *i);

/* --since/--until values: a duration before now ("90s", "15m", "2h",
 * "7d", "1w", "1h30m"), "now", or a time elaine_cli_time_parse takes. 0 or -1. */
int elaine_cli_filter_time(const char *s, int64_t now, int64_t *us);

/* 1 when ts (microseconds; ELAINE_CLI_NO_TIME when unknown) is inside --since/--until. */
int elaine_cli_filter_time_ok(const elaine_cli_filter *f, int64_t ts);

/* 1 when the exchange record rec matches every filter given. */
int elaine_cli_filter_match(const elaine_cli_filter *f, const ej_val *rec);

/* Text every matching exchange line must hold verbatim (ignoring ASCII
 * case), to skip parsing lines that cannot match; NULL when there is none. */
const char *elaine_cli_filter_needle(const elaine_cli_filter *f);

/* Case-insensitive (ASCII) search of needle in h[0..n). */
int elaine_cli_contains(const char *h, size_t n, const char *needle);

#endif
