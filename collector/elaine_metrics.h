/* Prometheus metrics of the exchanges seen (--metrics): counters and
 * histograms by provider, operation and model, in the text exposition
 * format. Single-threaded: the collector's loop counts and renders. */
#ifndef ELAINE_METRICS_H
#define ELAINE_METRICS_H

#include <stddef.h>

#include "elaine_buf.h"
#include "elaine_record.h"

/* Distinct (provider, operation, model) series kept; later models are
 * counted under model="other" (Prometheus wants bounded label sets). */
#define ELAINE_METRICS_MAX_SERIES 256

typedef struct elaine_metrics elaine_metrics;

/* What the collector knows at the moment of a scrape, besides its counters. */
typedef struct elaine_metrics_gauges {
    size_t clients;   /* shim connections open now */
    size_t processes; /* captured processes with state in the collector */
} elaine_metrics_gauges;

elaine_metrics *elaine_metrics_new(void);
void elaine_metrics_free(elaine_metrics *m);
/* Counts one finished exchange (before sampling: every exchange counts). */
void elaine_metrics_exchange(elaine_metrics *m, const elaine_xrec *x);
/* Appends the whole exposition (text format 0.0.4) to out. */
void elaine_metrics_render(const elaine_metrics *m, elaine_buf *out, const elaine_counters *c,
                           const elaine_metrics_gauges *g);

#endif
