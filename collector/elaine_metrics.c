/* Prometheus metrics of the exchanges seen: see elaine_metrics.h. */
#include "elaine_metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series beyond ELAINE_METRICS_MAX_SERIES: the model="other" ones, one per
 * provider and operation, which are few. */
#define OTHER_ROOM 128
#define TAB_SIZE 1024 /* open addressing, a power of two over twice the series */
#define MODEL_MAX 128 /* a longer model name is cut (names are far shorter) */

enum { ST_1XX, ST_2XX, ST_3XX, ST_4XX, ST_5XX, ST_ERROR, ST_N };
static const char *const status_name[ST_N] = {"1xx", "2xx", "3xx", "4xx", "5xx", "error"};

enum { TOK_INPUT, TOK_OUTPUT, TOK_CACHED, TOK_REASONING, TOK_N };
static const char *const token_name[TOK_N] = {"input", "output", "cached_input", "reasoning"};

/* Bucket bounds in seconds (the le label is each written with %g). */
static const double dur_le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
static const double ttft_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define N_DUR (sizeof(dur_le) / sizeof(dur_le[0]))
#define N_TTFT (sizeof(ttft_le) / sizeof(ttft_le[0]))

typedef struct hist {
    uint64_t in[N_DUR]; /* observations in each bucket (not cumulative); past the last: count - sum of these */
    double sum;
    uint64_t count;
} hist;

typedef struct series {
    int used;
    uint32_t hash;
    const char *provider, *operation; /* static names */
    char model[MODEL_MAX];
    uint64_t status[ST_N];
    uint64_t tokens[TOK_N];
    hist dur, ttft;
} series;

struct elaine_metrics {
    series tab[TAB_SIZE];
    series *order[ELAINE_METRICS_MAX_SERIES + OTHER_ROOM]; /* in the order first seen */
    size_t n;
    series *last; /* the series of the last exchange: most traffic is one model */
    uint64_t uncounted; /* exchanges with no room left for their series */
};

elaine_metrics *elaine_metrics_new(void)
{
    return calloc(1, sizeof(elaine_metrics));
}

void elaine_metrics_free(elaine_metrics *m)
{
    free(m);
}

static uint32_t hash_str(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xff) * 16777619u; /* a separator: ("ab","c") differs from ("a","bc") */
}

static int same(const series *e, const char *provider, const char *operation, const char *model)
{
    return strcmp(e->provider, provider) == 0 && strcmp(e->operation, operation) == 0 &&
           strcmp(e->model, model) == 0;
}

/* The series of these labels, made when new and room is left; NULL otherwise. */
static series *lookup(elaine_metrics *m, const char *provider, const char *operation, const char *model,
                      size_t limit)
{
    uint32_t h = hash_str(hash_str(hash_str(2166136261u, provider), operation), model);
    for (size_t i = h & (TAB_SIZE - 1);; i = (i + 1) & (TAB_SIZE - 1)) {
        series *e = &m->tab[i];
        if (!e->used) {
            if (m->n >= limit)
                return NULL;
            e->used = 1;
            e->hash = h;
            e->provider = provider;
            e->operation = operation;
            snprintf(e->model, sizeof(e->model), "%s", model);
            m->order[m->n++] = e;
            return e;
        }
        if (e->hash == h && same(e, provider, operation, model))
            return e;
    }
}

static void observe(hist *hi, const double *le, size_t nle, double v)
{
    for (size_t i = 0; i < nle; i++)
        if (v <= le[i]) {
            hi->in[i]++;
            break;
        }
    hi->sum += v;
    hi->count++;
}

void elaine_metrics_exchange(elaine_metrics *m, const elaine_xrec *x)
{
    const elaine_llm *l = &x->llm;
    const char *provider = l->provider ? l->provider : "none";
    const char *operation = l->operation ? l->operation : "none";
    const char *model = l->model ? l->model : l->response_model ? l->response_model : "";
    char cut[MODEL_MAX];
    if (strlen(model) >= MODEL_MAX) {
        size_t k = MODEL_MAX - 1;
        while (k > 0 && ((unsigned char)model[k] & 0xC0) == 0x80)
            k--; /* not inside a UTF-8 character */
        memcpy(cut, model, k);
        cut[k] = 0;
        model = cut;
    }
    series *e = m->last;
    if (!e || !same(e, provider, operation, model)) {
        e = lookup(m, provider, operation, model, ELAINE_METRICS_MAX_SERIES);
        if (!e)
            e = lookup(m, provider, operation, "other", ELAINE_METRICS_MAX_SERIES + OTHER_ROOM);
        if (!e) {
            m->uncounted++;
            return;
        }
        m->last = e;
    }
    int st = ST_ERROR;
    if (!x->error && x->resp.present && x->resp.status >= 100 && x->resp.status < 600)
        st = x->resp.status / 100 - 1;
    e->status[st]++;
    const int64_t tok[TOK_N] = {l->input_tokens, l->output_tokens, l->cached_input_tokens, l->reasoning_tokens};
    for (int i = 0; i < TOK_N; i++)
        if (tok[i] > 0)
            e->tokens[i] += (uint64_t)tok[i];
    if (x->duration_ms >= 0)
        observe(&e->dur, dur_le, N_DUR, x->duration_ms / 1000.0);
    if (x->ttft_ms >= 0)
        observe(&e->ttft, ttft_le, N_TTFT, x->ttft_ms / 1000.0);
}

/* ---- the text format ---- */

static void add_label_value(elaine_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            elaine_buf_addc(b, '\\');
        if (*v == '\n')
            elaine_buf_adds(b, "\\n");
        else
            elaine_buf_addc(b, *v);
    }
}

/* name{provider="..",operation="..",model=".."[,extra="value"]} */
static void add_series(elaine_buf *b, const char *name, const series *e, const char *extra, const char *value)
{
    elaine_buf_adds(b, name);
    elaine_buf_adds(b, "{provider=\"");
    add_label_value(b, e->provider);
    elaine_buf_adds(b, "\",operation=\"");
    add_label_value(b, e->operation);
    elaine_buf_adds(b, "\",model=\"");
    add_label_value(b, e->model);
    elaine_buf_addc(b, '"');
    if (extra) {
        elaine_buf_addf(b, ",%s=\"", extra);
        add_label_value(b, value);
        elaine_buf_addc(b, '"');
    }
    elaine_buf_addc(b, '}');
}

static void head(elaine_buf *b, const char *name, const char *type, const char *help)
{
    elaine_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_hist(elaine_buf *b, const elaine_metrics *m, const char *name, int ttft, const char *help)
{
    head(b, name, "histogram", help);
    char bucket[96], sum[96], count[96];
    snprintf(bucket, sizeof(bucket), "%s_bucket", name);
    snprintf(sum, sizeof(sum), "%s_sum", name);
    snprintf(count, sizeof(count), "%s_count", name);
    const double *le = ttft ? ttft_le : dur_le;
    size_t nle = ttft ? N_TTFT : N_DUR;
    for (size_t k = 0; k < m->n; k++) {
        const series *e = m->order[k];
        const hist *h = ttft ? &e->ttft : &e->dur;
        if (!h->count)
            continue;
        uint64_t cum = 0;
        for (size_t i = 0; i < nle; i++) {
            char bound[32];
            snprintf(bound, sizeof(bound), "%g", le[i]);
            cum += h->in[i];
            add_series(b, bucket, e, "le", bound);
            elaine_buf_addf(b, " %llu\n", (unsigned long long)cum);
        }
        add_series(b, bucket, e, "le", "+Inf");
        elaine_buf_addf(b, " %llu\n", (unsigned long long)h->count);
        add_series(b, sum, e, NULL, NULL);
        elaine_buf_addf(b, " %.9g\n", h->sum);
        add_series(b, count, e, NULL, NULL);
        elaine_buf_addf(b, " %llu\n", (unsigned long long)h->count);
    }
}

static void counter(elaine_buf *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "counter", help);
    elaine_buf_addf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(elaine_buf *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "gauge", help);
    elaine_buf_addf(b, "%s %llu\n", name, (unsigned long long)v);
}

void elaine_metrics_render(const elaine_metrics *m, elaine_buf *b, const elaine_counters *c,
                           const elaine_metrics_gauges *g)
{
    head(b, "elaine_exchanges_total", "counter",
         "Exchanges seen (before sampling), by provider, operation, model and status class (error: no "
         "whole response).");
    for (size_t k = 0; k < m->n; k++) {
        const series *e = m->order[k];
        for (int s = 0; s < ST_N; s++) {
            if (!e->status[s])
                continue;
            add_series(b, "elaine_exchanges_total", e, "status", status_name[s]);
            elaine_buf_addf(b, " %llu\n", (unsigned long long)e->status[s]);
        }
    }
    head(b, "elaine_tokens_total", "counter",
         "Tokens the provider reported, by type (cached_input is part of input, reasoning part of output).");
    for (size_t k = 0; k < m->n; k++) {
        const series *e = m->order[k];
        if (!e->tokens[TOK_INPUT] && !e->tokens[TOK_OUTPUT])
            continue; /* no usage reported (not an LLM call, or streams without usage) */
        for (int t = 0; t < TOK_N; t++) {
            if (!e->tokens[t] && t >= TOK_CACHED)
                continue;
            add_series(b, "elaine_tokens_total", e, "type", token_name[t]);
            elaine_buf_addf(b, " %llu\n", (unsigned long long)e->tokens[t]);
        }
    }
    render_hist(b, m, "elaine_request_duration_seconds", 0, "From the request's start to the response's end.");
    render_hist(b, m, "elaine_time_to_first_token_seconds", 1,
                "From the request sent to the first generated token (streams).");
    counter(b, "elaine_exchanges_written_total", "Exchange records written to the log.", c->exchanges_written);
    counter(b, "elaine_sampled_out_total", "Successful exchanges left out by --sample.", c->sampled_out);
    counter(b, "elaine_write_errors_total", "Failed writes of the log.", c->write_errors);
    counter(b, "elaine_dropped_events_total", "Events the shims reported dropped (queue full, collector away).",
            c->dropped_events);
    counter(b, "elaine_drop_reports_total", "Drop records written.", c->drops_reported);
    counter(b, "elaine_clients_total", "Shim connections that said hello.", c->clients);
    counter(b, "elaine_clients_rejected_total", "Connections refused (another user, a malformed start).",
            c->clients_rejected);
    counter(b, "elaine_metrics_uncounted_total", "Exchanges not counted by model: no room for another series.",
            m->uncounted);
    gauge(b, "elaine_connected_clients", "Shim connections open now.", g ? g->clients : 0);
    gauge(b, "elaine_processes", "Captured processes the collector keeps state for.", g ? g->processes : 0);
    head(b, "elaine_build_info", "gauge", "The collector's version.");
    elaine_buf_adds(b, "elaine_build_info{version=\"" ELAINE_VERSION "\"} 1\n");
}
