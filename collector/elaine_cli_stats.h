/* elaine stats: per group (model, provider, host, exe or status) counts,
 * error rate, exact duration and TTFT percentiles, tokens and throughput,
 * plus the shims' drops and the collector's sampled-out count. */
#ifndef ELAINE_CLI_STATS_H
#define ELAINE_CLI_STATS_H

#include <stddef.h>

extern const char elaine_cli_stats_usage[];

/* Nearest-rank percentile of n sorted values: the value at rank
 * ceil(p/100 * n) (1-based); p in (0, 100]. NAN when n is 0. */
double elaine_cli_percentile(const double *sorted, size_t n, double p);

/* argv[0] is "stats". The exit status. */
int elaine_cli_stats_main(int argc, char **argv);

#endif
