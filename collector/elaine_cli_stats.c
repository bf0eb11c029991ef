/* elaine stats: per group counts, error rate, percentiles, tokens, throughput, drops. */
#include "elaine_cli_stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"

const char elaine_cli_stats_usage[] =
    "usage: elaine stats [--by model|provider|host|exe|status] [--json] [filters] [--dir DIR]\n"
    "\n"
    "One row per group, the busiest first, and a TOTAL row: exchanges, error rate\n"
    "(transport error or status >= 400), duration and time-to-first-token\n"
    "percentiles p50/p95/p99 in ms (exact, nearest rank), input and output tokens,\n"
    "output tokens per second (sum of output tokens / sum of durations, over the\n"
    "exchanges that report both). Below: events the shims dropped (drop lines) and\n"
    "exchanges the collector sampled out (its counter lines), within --since/--until.\n"
    "\n"
    "  --by KEY       group by model (default), provider, host, exe or status\n"
    "                 (elaine stats --by provider --since 24h)\n"
    "  --json         one JSON object for scripts (elaine stats --json | jq .total)\n";

typedef struct vec {
    double *v;
    size_t n, cap;
} vec;

static int vec_add(vec *a, double x)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        double *nv = realloc(a->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return 0;
}

typedef struct group {
    char *key;
    uint64_t count, errors;
    vec dur, ttft;
    int64_t in, out;                 /* sums of reported tokens */
    uint64_t in_n, out_n;            /* exchanges that reported them */
    double tps_tokens, tps_seconds;  /* for output tokens per second */
} group;

typedef struct run { /* one collector process: its counters are cumulative */
    uint64_t pid;
    uint64_t before, in;
    int seen_in;
} run;

typedef struct stats {
    elaine_cli_opts o;
    const char *by;
    group *g;
    size_t ng, capg;
    group total;
    run *runs;
    size_t nruns;
    uint64_t banked; /* sampled out by earlier runs of a reused pid */
    uint64_t dropped_events, dropped_bytes, drop_reports;
    int oom;
} stats;

double elaine_cli_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double r = ceil(p / 100.0 * (double)n - 1e-9);
    size_t k = r < 1 ? 1 : (size_t)r;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void key_of(const stats *s, const ej_val *rec, char *buf, size_t size)
{
    const char *k = NULL;
    if (!strcmp(s->by, "model")) {
        k = elaine_cli_rec_model(rec);
    } else if (!strcmp(s->by, "provider")) {
        k = elaine_cli_rec_str(rec, "llm.provider");
    } else if (!strcmp(s->by, "exe")) {
        k = elaine_cli_rec_str(rec, "exe");
    } else if (!strcmp(s->by, "host")) {
        const char *h = elaine_cli_rec_str(rec, "host");
        int64_t port;
        int tls = elaine_json_bool(elaine_json_get(rec, "tls")) == 1;
        if (h && elaine_json_int(elaine_json_get(rec, "port"), &port) == 0 && port != (tls ? 443 : 80)) {
            snprintf(buf, size, "%s:%lld", h, (long long)port);
            return;
        }
        k = h;
    } else { /* status */
        const ej_val *err = elaine_json_get(rec, "error");
        if (err && elaine_json_type(err) != EJ_NULL)
            k = "error";
        else {
            elaine_cli_rec_status(rec, buf, size);
            return;
        }
    }
    snprintf(buf, size, "%s", k && *k ? k : "-");
}

static group *group_for(stats *s, const char *key)
{
    for (size_t i = 0; i < s->ng; i++)
        if (!strcmp(s->g[i].key, key))
            return &s->g[i];
    if (s->ng == s->capg) {
        size_t nc = s->capg ? s->capg * 2 : 16;
        group *ng = realloc(s->g, nc * sizeof(*ng));
        if (!ng)
            return NULL;
        s->g = ng;
        s->capg = nc;
    }
    group *g = &s->g[s->ng];
    memset(g, 0, sizeof(*g));
    if (!(g->key = strdup(key)))
        return NULL;
    s->ng++;
    return g;
}

static int group_add(group *g, const ej_val *rec)
{
    double d, t, in, out;
    int has_d = elaine_cli_rec_num(rec, "timing.duration_ms", &d) == 0;
    g->count++;
    g->errors += elaine_cli_rec_failed(rec);
    if (has_d && vec_add(&g->dur, d) < 0)
        return -ENOMEM;
    if (elaine_cli_rec_num(rec, "timing.ttft_ms", &t) == 0 && vec_add(&g->ttft, t) < 0)
        return -ENOMEM;
    if (elaine_cli_rec_num(rec, "llm.input_tokens", &in) == 0) {
        g->in += (int64_t)in;
        g->in_n++;
    }
    if (elaine_cli_rec_num(rec, "llm.output_tokens", &out) == 0) {
        g->out += (int64_t)out;
        g->out_n++;
        if (has_d && d > 0) {
            g->tps_tokens += out;
            g->tps_seconds += d / 1000.0;
        }
    }
    return 0;
}

static void on_collector(stats *s, const elaine_cli_rec *r)
{
    int64_t pid;
    const ej_val *so = elaine_json_get(r->v, "sampled_out");
    int64_t v;
    if (elaine_json_int(elaine_json_get(r->v, "pid"), &pid) < 0 || elaine_json_int(so, &v) < 0 || v < 0)
        return;
    run *u = NULL;
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].pid == (uint64_t)pid)
            u = &s->runs[i];
    if (!u) {
        run *nr = realloc(s->runs, (s->nruns + 1) * sizeof(*nr));
        if (!nr) {
            s->oom = 1;
            return;
        }
        s->runs = nr;
        u = &s->runs[s->nruns++];
        memset(u, 0, sizeof(*u));
        u->pid = (uint64_t)pid;
    }
    const char *ev = elaine_cli_rec_str(r->v, "event");
    if (ev && !strcmp(ev, "start")) { /* a new process (maybe a reused pid) counts from 0 */
        if (u->seen_in && u->in > u->before)
            s->banked += u->in - u->before;
        u->in = u->before = 0;
        u->seen_in = 0;
    }
    if (elaine_cli_filter_time_ok(&s->o.filter, r->ts)) {
        if ((uint64_t)v > u->in)
            u->in = (uint64_t)v;
        u->seen_in = 1;
    } else if (s->o.filter.since != ELAINE_CLI_NO_TIME && r->ts != ELAINE_CLI_NO_TIME && r->ts < s->o.filter.since) {
        if ((uint64_t)v > u->before)
            u->before = (uint64_t)v;
    }
}

static int on_rec(void *ud, const elaine_cli_rec *r)
{
    stats *s = ud;
    if (r->kind == ELAINE_REC_DROP) {
        int64_t e, b;
        if (!elaine_cli_filter_time_ok(&s->o.filter, r->ts))
            return 0;
        s->drop_reports++;
        if (elaine_json_int(elaine_json_get(r->v, "dropped_events"), &e) == 0 && e > 0)
            s->dropped_events += (uint64_t)e;
        if (elaine_json_int(elaine_json_get(r->v, "dropped_bytes"), &b) == 0 && b > 0)
            s->dropped_bytes += (uint64_t)b;
        return 0;
    }
    if (r->kind == ELAINE_REC_COLLECTOR) {
        on_collector(s, r);
        return s->oom ? -ENOMEM : 0;
    }
    if (r->kind != ELAINE_REC_EXCHANGE)
        return 0;
    char key[1024];
    key_of(s, r->v, key, sizeof(key));
    group *g = group_for(s, key);
    if (!g || group_add(g, r->v) < 0 || group_add(&s->total, r->v) < 0)
        return -ENOMEM;
    return 0;
}

static int cmp_group(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void group_free(group *g)
{
    free(g->key);
    free(g->dur.v);
    free(g->ttft.v);
}

/* ---- output ---- */

static void num_cell(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.1f", v);
}

#define NCOLS 12

static void row_cells(const group *g, char cells[NCOLS][64])
{
    static const double ps[3] = {50, 95, 99};
    snprintf(cells[0], 64, "%s", g->key ? g->key : "TOTAL");
    snprintf(cells[1], 64, "%llu", (unsigned long long)g->count);
    snprintf(cells[2], 64, "%.1f%%", g->count ? 100.0 * (double)g->errors / (double)g->count : 0.0);
    for (int k = 0; k < 3; k++) {
        num_cell(cells[3 + k], 64, elaine_cli_percentile(g->dur.v, g->dur.n, ps[k]));
        num_cell(cells[6 + k], 64, elaine_cli_percentile(g->ttft.v, g->ttft.n, ps[k]));
    }
    if (g->in_n)
        snprintf(cells[9], 64, "%lld", (long long)g->in);
    else
        snprintf(cells[9], 64, "-");
    if (g->out_n)
        snprintf(cells[10], 64, "%lld", (long long)g->out);
    else
        snprintf(cells[10], 64, "-");
    num_cell(cells[11], 64, g->tps_seconds > 0 ? g->tps_tokens / g->tps_seconds : NAN);
}

static void print_table(stats *s)
{
    char head0[32];
    snprintf(head0, sizeof(head0), "%s", s->by);
    for (char *p = head0; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    const char *heads[NCOLS] = {head0, "COUNT", "ERR%", "P50_MS", "P95_MS", "P99_MS",
                                "TTFT_P50", "TTFT_P95", "TTFT_P99", "IN_TOK", "OUT_TOK", "OUT_TOK/S"};
    size_t rows = s->ng + 1;
    char (*cells)[NCOLS][64] = calloc(rows, sizeof(*cells));
    if (!cells)
        return;
    size_t w[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        w[c] = strlen(heads[c]);
    for (size_t r = 0; r < rows; r++) {
        row_cells(r < s->ng ? &s->g[r] : &s->total, cells[r]);
        for (int c = 0; c < NCOLS; c++)
            if (strlen(cells[r][c]) > w[c])
                w[c] = strlen(cells[r][c]);
    }
    const char *bold = s->o.color ? "\033[1m" : "", *off = s->o.color ? "\033[0m" : "";
    printf("%s", bold);
    for (int c = 0; c < NCOLS; c++)
        printf(c == 0 ? "%-*s" : "  %*s", (int)w[c], heads[c]);
    printf("%s\n", off);
    for (size_t r = 0; r < rows; r++) {
        if (r == s->ng)
            printf("%s", bold);
        for (int c = 0; c < NCOLS; c++)
            printf(c == 0 ? "%-*s" : "  %*s", (int)w[c], cells[r][c]);
        printf("%s\n", r == s->ng ? off : "");
    }
    free(cells);
}

static uint64_t sampled_out(const stats *s)
{
    uint64_t n = s->banked;
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].seen_in && s->runs[i].in > s->runs[i].before)
            n += s->runs[i].in - s->runs[i].before;
    return n;
}

static void jw_num(elaine_jw *w, double v)
{
    if (isnan(v))
        elaine_jw_null(w);
    else
        elaine_jw_double(w, v);
}

static void json_group(elaine_jw *w, const group *g)
{
    static const double ps[3] = {50, 95, 99};
    static const char *pn[3] = {"p50", "p95", "p99"};
    elaine_jw_obj_begin(w);
    if (g->key) {
        elaine_jw_key(w, "key");
        elaine_jw_cstr(w, g->key);
    }
    elaine_jw_key(w, "count");
    elaine_jw_uint(w, g->count);
    elaine_jw_key(w, "errors");
    elaine_jw_uint(w, g->errors);
    elaine_jw_key(w, "error_rate");
    elaine_jw_double(w, g->count ? (double)g->errors / (double)g->count : 0.0);
    for (int t = 0; t < 2; t++) {
        const vec *v = t ? &g->ttft : &g->dur;
        elaine_jw_key(w, t ? "ttft_ms" : "duration_ms");
        elaine_jw_obj_begin(w);
        for (int k = 0; k < 3; k++) {
            elaine_jw_key(w, pn[k]);
            jw_num(w, elaine_cli_percentile(v->v, v->n, ps[k]));
        }
        elaine_jw_obj_end(w);
    }
    elaine_jw_key(w, "input_tokens");
    if (g->in_n)
        elaine_jw_int(w, g->in);
    else
        elaine_jw_null(w);
    elaine_jw_key(w, "output_tokens");
    if (g->out_n)
        elaine_jw_int(w, g->out);
    else
        elaine_jw_null(w);
    elaine_jw_key(w, "output_tokens_per_second");
    jw_num(w, g->tps_seconds > 0 ? g->tps_tokens / g->tps_seconds : NAN);
    elaine_jw_obj_end(w);
}

static void print_json(stats *s, uint64_t dups)
{
    elaine_buf b;
    elaine_jw w;
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "by");
    elaine_jw_cstr(&w, s->by);
    elaine_jw_key(&w, "groups");
    elaine_jw_arr_begin(&w);
    for (size_t i = 0; i < s->ng; i++)
        json_group(&w, &s->g[i]);
    elaine_jw_arr_end(&w);
    elaine_jw_key(&w, "total");
    json_group(&w, &s->total);
    elaine_jw_key(&w, "dropped_events");
    elaine_jw_uint(&w, s->dropped_events);
    elaine_jw_key(&w, "dropped_bytes");
    elaine_jw_uint(&w, s->dropped_bytes);
    elaine_jw_key(&w, "drop_reports");
    elaine_jw_uint(&w, s->drop_reports);
    elaine_jw_key(&w, "sampled_out");
    elaine_jw_uint(&w, sampled_out(s));
    elaine_jw_key(&w, "duplicates_dropped");
    elaine_jw_uint(&w, dups);
    elaine_jw_obj_end(&w);
    if (b.len)
        printf("%s\n", b.p);
    elaine_buf_free(&b);
}

int elaine_cli_stats_main(int argc, char **argv)
{
    stats s = {.by = "model"};
    int json = 0, status = 0, rc;
    elaine_cli_opts_init(&s.o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if ((rc = elaine_cli_opts_take(&s.o, argc, argv, &i)) != 0) {
            if (rc < 0) {
                status = elaine_cli_usage_error(elaine_cli_stats_usage, NULL, NULL);
                goto out;
            }
        } else if (elaine_cli_arg(argc, argv, &i, "--by", &val)) {
            if (!val || (strcmp(val, "model") && strcmp(val, "provider") && strcmp(val, "host") &&
                         strcmp(val, "exe") && strcmp(val, "status"))) {
                status = elaine_cli_usage_error(elaine_cli_stats_usage, "--by takes model, provider, host, exe or status", val);
                goto out;
            }
            s.by = val;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            status = elaine_cli_usage_error(elaine_cli_stats_usage, "unknown option", a);
            goto out;
        }
    }
    if (s.o.help) {
        fputs(elaine_cli_stats_usage, stdout);
        fputs(elaine_cli_opts_help, stdout);
        fputs(elaine_cli_filter_help, stdout);
        goto out;
    }
    if (elaine_cli_opts_done(&s.o) < 0) {
        status = 1;
        goto out;
    }
    elaine_cli_reader rd;
    elaine_cli_reader_init(&rd, s.o.dir, &s.o.filter, on_rec, &s);
    rd.all_kinds = 1;
    rd.untimed_kinds = 1;
    rc = elaine_cli_read_all(&rd);
    uint64_t dups = rd.dups;
    elaine_cli_reader_free(&rd);
    if (rc == -ENOMEM) {
        fprintf(stderr, "elaine: %s\n", strerror(ENOMEM));
        status = 1;
        goto out;
    }
    if (rc < 0) {
        status = 1;
        goto out;
    }
    /* qsort(NULL, 0, ...) is undefined (glibc declares it nonnull): empty arrays are skipped */
    for (size_t i = 0; i < s.ng; i++) {
        if (s.g[i].dur.n)
            qsort(s.g[i].dur.v, s.g[i].dur.n, sizeof(double), cmp_double);
        if (s.g[i].ttft.n)
            qsort(s.g[i].ttft.v, s.g[i].ttft.n, sizeof(double), cmp_double);
    }
    if (s.total.dur.n)
        qsort(s.total.dur.v, s.total.dur.n, sizeof(double), cmp_double);
    if (s.total.ttft.n)
        qsort(s.total.ttft.v, s.total.ttft.n, sizeof(double), cmp_double);
    if (s.ng)
        qsort(s.g, s.ng, sizeof(*s.g), cmp_group);
    if (json) {
        print_json(&s, dups);
    } else {
        print_table(&s);
        printf("\ndropped by shims: %llu events (%llu bytes) in %llu report%s; sampled out: %llu exchanges\n",
               (unsigned long long)s.dropped_events, (unsigned long long)s.dropped_bytes,
               (unsigned long long)s.drop_reports, s.drop_reports == 1 ? "" : "s",
               (unsigned long long)sampled_out(&s));
    }
    if (fflush(stdout) == EOF) {
        fprintf(stderr, "elaine: write() stdout failed: %s\n", strerror(errno));
        status = 1;
    }
out:
    for (size_t i = 0; i < s.ng; i++)
        group_free(&s.g[i]);
    free(s.g);
    group_free(&s.total);
    free(s.runs);
    elaine_cli_opts_free(&s.o);
    return status;
}
