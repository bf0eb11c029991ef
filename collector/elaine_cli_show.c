/* elaine show ID: one exchange whole, for a person (or --json, --raw). */
#include "elaine_cli_show.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_cli_conv.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"

#define MAX_CANDIDATES 10

const char elaine_cli_show_usage[] =
    "usage: elaine show ID [--json | --raw] [filters] [--dir DIR]\n"
    "\n"
    "One exchange whole: who called whom, the model, status, tokens and timings,\n"
    "the request as a conversation (system, user, assistant, tool calls and\n"
    "results), the reply and the call stack. ID is the record's id, or any prefix\n"
    "of it that only one exchange has (elaine tail prints the ids).\n"
    "\n"
    "  --json         the record as stored (elaine show 14529-482392-2-0 --json)\n"
    "  --raw          the HTTP exchange: request line, headers and body, then the\n"
    "                 response's (elaine show 14529-482392-2 --raw)\n"
    "exit status: 0 shown, 1 no exchange has that id, 2 usage error or a prefix\n"
    "that several exchanges share (they are listed on stderr).\n";

/* ---- rendering ---- */

static void head(elaine_buf *b, const char *label, int color)
{
    elaine_buf_addf(b, color ? "\033[1m%-9s\033[0m " : "%-9s ", label);
}

static void section(elaine_buf *b, const char *title, int color)
{
    elaine_buf_addf(b, color ? "\n\033[1;34m--- %s ---\033[0m\n" : "\n--- %s ---\n", title);
}

static void scalar(elaine_buf *b, const ej_val *v)
{
    if (!v || elaine_json_type(v) == EJ_NULL)
        elaine_buf_adds(b, "-");
    else if (elaine_json_type(v) == EJ_STR)
        elaine_buf_adds(b, elaine_json_str(v));
    else if (elaine_json_type(v) == EJ_NUM)
        elaine_buf_adds(b, elaine_json_num_text(v));
    else if (elaine_json_type(v) == EJ_BOOL)
        elaine_buf_adds(b, elaine_json_bool(v) ? "yes" : "no");
    else {
        elaine_jw w;
        elaine_jw_init(&w, b);
        elaine_jw_value(&w, v);
    }
}

static void ms(elaine_buf *b, const ej_val *rec, const char *path)
{
    const char *t = elaine_json_num_text(elaine_json_path(rec, path));
    if (t)
        elaine_buf_addf(b, "%sms", t);
    else
        elaine_buf_adds(b, "-");
}

static void body_text(elaine_buf *b, const ej_val *body)
{
    if (!body || elaine_json_type(body) == EJ_NULL) {
        elaine_buf_adds(b, "(none)\n");
        return;
    }
    if (elaine_json_type(body) == EJ_STR) {
        elaine_buf_add(b, elaine_json_str(body), elaine_json_len(body));
    } else {
        elaine_jw w;
        elaine_jw_init(&w, b);
        elaine_jw_value(&w, body);
    }
    elaine_buf_addc(b, '\n');
}

void elaine_cli_show_render(elaine_buf *b, const ej_val *rec, int color)
{
    char t[40];
    int64_t ts = elaine_cli_rec_ts(rec);
    int tls = elaine_json_bool(elaine_json_get(rec, "tls")) == 1;
    int64_t port;

    head(b, "exchange", color);
    scalar(b, elaine_json_get(rec, "id"));
    elaine_buf_addc(b, '\n');
    head(b, "time", color);
    if (ts != ELAINE_CLI_NO_TIME) {
        elaine_cli_time_local(ts, t, sizeof(t));
        elaine_buf_addf(b, "%s  (%s)\n", t, elaine_cli_rec_str(rec, "ts"));
    } else {
        elaine_buf_adds(b, "-\n");
    }
    head(b, "client", color);
    scalar(b, elaine_json_get(rec, "exe"));
    elaine_buf_adds(b, "  pid ");
    scalar(b, elaine_json_get(rec, "pid"));
    elaine_buf_adds(b, "  tid ");
    scalar(b, elaine_json_get(rec, "tid"));
    elaine_buf_addc(b, '\n');
    head(b, "server", color);
    elaine_buf_adds(b, tls ? "https://" : "http://");
    scalar(b, elaine_json_get(rec, "host"));
    if (elaine_json_int(elaine_json_get(rec, "port"), &port) == 0)
        elaine_buf_addf(b, ":%lld", (long long)port);
    elaine_buf_adds(b, "  HTTP/");
    scalar(b, elaine_json_path(rec, "http.version"));
    elaine_buf_addc(b, '\n');
    head(b, "request", color);
    scalar(b, elaine_json_path(rec, "request.method"));
    elaine_buf_addc(b, ' ');
    scalar(b, elaine_json_path(rec, "request.path"));
    elaine_buf_adds(b, "  (");
    scalar(b, elaine_json_path(rec, "request.body_size"));
    elaine_buf_adds(b, " bytes)\n");
    head(b, "provider", color);
    scalar(b, elaine_json_path(rec, "llm.provider"));
    elaine_buf_adds(b, "  operation ");
    scalar(b, elaine_json_path(rec, "llm.operation"));
    elaine_buf_adds(b, "  stream ");
    scalar(b, elaine_json_path(rec, "llm.stream"));
    elaine_buf_addc(b, '\n');
    head(b, "model", color);
    scalar(b, elaine_json_path(rec, "llm.model"));
    const char *rm = elaine_cli_rec_str(rec, "llm.response_model");
    const char *m = elaine_cli_rec_str(rec, "llm.model");
    if (rm && (!m || strcmp(rm, m)))
        elaine_buf_addf(b, "  (response: %s)", rm);
    elaine_buf_addc(b, '\n');
    head(b, "status", color);
    int failed = elaine_cli_rec_failed(rec);
    if (color)
        elaine_buf_adds(b, failed ? "\033[31m" : "\033[32m");
    scalar(b, elaine_json_path(rec, "response.status"));
    elaine_buf_adds(b, color ? "\033[0m" : "");
    elaine_buf_adds(b, "  finish ");
    scalar(b, elaine_json_path(rec, "llm.finish_reason"));
    elaine_buf_addc(b, '\n');
    const ej_val *err = elaine_json_get(rec, "error");
    if (err && elaine_json_type(err) != EJ_NULL) {
        head(b, "error", color);
        scalar(b, err);
        elaine_buf_addc(b, '\n');
    }
    if (elaine_cli_rec_str(rec, "llm.error_type") || elaine_cli_rec_str(rec, "llm.error_message")) {
        head(b, "api error", color);
        scalar(b, elaine_json_path(rec, "llm.error_type"));
        elaine_buf_adds(b, ": ");
        scalar(b, elaine_json_path(rec, "llm.error_message"));
        elaine_buf_addc(b, '\n');
    }
    head(b, "tokens", color);
    elaine_buf_adds(b, "in ");
    scalar(b, elaine_json_path(rec, "llm.input_tokens"));
    elaine_buf_adds(b, "  out ");
    scalar(b, elaine_json_path(rec, "llm.output_tokens"));
    elaine_buf_adds(b, "  total ");
    scalar(b, elaine_json_path(rec, "llm.total_tokens"));
    elaine_buf_adds(b, "  cached ");
    scalar(b, elaine_json_path(rec, "llm.cached_input_tokens"));
    elaine_buf_adds(b, "  reasoning ");
    scalar(b, elaine_json_path(rec, "llm.reasoning_tokens"));
    elaine_buf_addc(b, '\n');
    head(b, "timing", color);
    elaine_buf_adds(b, "ttfb ");
    ms(b, rec, "timing.ttfb_ms");
    elaine_buf_adds(b, "  ttft ");
    ms(b, rec, "timing.ttft_ms");
    elaine_buf_adds(b, "  duration ");
    ms(b, rec, "timing.duration_ms");
    elaine_buf_addc(b, '\n');

    elaine_cli_conv c;
    elaine_cli_conv_init(&c);
    const ej_val *req = elaine_json_path(rec, "request.body");
    elaine_cli_conv_request(&c, req);
    section(b, "request", color);
    if (c.n)
        elaine_cli_conv_render(&c, 0, b, color);
    else
        body_text(b, req);
    size_t from = c.n;
    const char *reasoning = elaine_cli_rec_str(rec, "llm.reasoning_text");
    int r = elaine_cli_conv_reply(&c, rec);
    section(b, "reply", color);
    if (reasoning && *reasoning)
        elaine_buf_addf(b, "%s[reasoning]%s\n%s\n\n", color ? "\033[2m" : "", color ? "\033[0m" : "", reasoning);
    if (r > 0)
        elaine_cli_conv_render(&c, from, b, color);
    else
        body_text(b, elaine_json_path(rec, "response.body"));
    elaine_cli_conv_free(&c);

    const ej_val *stack = elaine_json_get(rec, "stack");
    if (stack && elaine_json_type(stack) == EJ_ARR && elaine_json_len(stack)) {
        section(b, "stack", color);
        for (size_t i = 0; i < elaine_json_len(stack); i++) {
            elaine_buf_addf(b, "#%-3zu ", i);
            scalar(b, elaine_json_at(stack, i));
            elaine_buf_addc(b, '\n');
        }
    }
}

static void headers(elaine_buf *b, const ej_val *h)
{
    for (size_t i = 0; i < elaine_json_len(h) && elaine_json_type(h) == EJ_OBJ; i++) {
        elaine_buf_addf(b, "%s: ", elaine_json_key_at(h, i));
        scalar(b, elaine_json_at(h, i));
        elaine_buf_addc(b, '\n');
    }
}

void elaine_cli_show_raw(elaine_buf *b, const ej_val *rec)
{
    const char *ver = elaine_cli_rec_str(rec, "http.version");
    const char *proto = ver && !strcmp(ver, "2") ? "HTTP/2" : "HTTP/1.1";
    scalar(b, elaine_json_path(rec, "request.method"));
    elaine_buf_addc(b, ' ');
    scalar(b, elaine_json_path(rec, "request.path"));
    elaine_buf_addf(b, " %s\n", proto);
    headers(b, elaine_json_path(rec, "request.headers"));
    elaine_buf_addc(b, '\n');
    const ej_val *body = elaine_json_path(rec, "request.body");
    if (body && elaine_json_type(body) != EJ_NULL)
        body_text(b, body);
    const ej_val *st = elaine_json_path(rec, "response.status");
    elaine_buf_addc(b, '\n');
    if (!st || elaine_json_type(st) == EJ_NULL) {
        elaine_buf_adds(b, "(no response)\n");
        return;
    }
    elaine_buf_addf(b, "%s ", proto);
    scalar(b, st);
    elaine_buf_addc(b, '\n');
    headers(b, elaine_json_path(rec, "response.headers"));
    elaine_buf_addc(b, '\n');
    body = elaine_json_path(rec, "response.body");
    if (body && elaine_json_type(body) != EJ_NULL)
        body_text(b, body);
}

/* ---- finding the exchange ---- */

typedef struct find {
    const char *prefix;
    size_t plen;
    char *line;   /* the chosen record */
    size_t n;
    char *id;
    int exact;
    char *others[MAX_CANDIDATES];
    size_t nothers;
    int oom;
} find;

static int on_rec(void *ud, const elaine_cli_rec *r)
{
    find *f = ud;
    const char *id = elaine_cli_rec_str(r->v, "id");
    if (!id || strncmp(id, f->prefix, f->plen) != 0)
        return 0;
    int exact = id[f->plen] == 0;
    if (!f->line || (exact && !f->exact)) {
        if (f->line && f->nothers < MAX_CANDIDATES)
            f->others[f->nothers++] = f->id; /* keep the earlier candidate's name */
        else
            free(f->id);
        free(f->line);
        f->line = malloc(r->n + 1);
        f->id = strdup(id);
        if (!f->line || !f->id) {
            f->oom = 1;
            return 1;
        }
        memcpy(f->line, r->line, r->n);
        f->line[r->n] = 0;
        f->n = r->n;
        f->exact = exact;
    } else if (f->nothers < MAX_CANDIDATES) {
        if (!(f->others[f->nothers++] = strdup(id)))
            f->oom = 1;
    }
    return 0;
}

int elaine_cli_show_main(int argc, char **argv)
{
    elaine_cli_opts o;
    elaine_cli_opts_init(&o);
    find f = {0};
    int json = 0, raw = 0, status = 0, rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((rc = elaine_cli_opts_take(&o, argc, argv, &i)) != 0) {
            if (rc < 0) {
                status = elaine_cli_usage_error(elaine_cli_show_usage, NULL, NULL);
                goto out;
            }
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--raw")) {
            raw = 1;
        } else if (a[0] == '-' && a[1]) {
            status = elaine_cli_usage_error(elaine_cli_show_usage, "unknown option", a);
            goto out;
        } else if (f.prefix) {
            status = elaine_cli_usage_error(elaine_cli_show_usage, "one ID only", a);
            goto out;
        } else {
            f.prefix = a;
        }
    }
    if (o.help) {
        fputs(elaine_cli_show_usage, stdout);
        fputs(elaine_cli_opts_help, stdout);
        fputs(elaine_cli_filter_help, stdout);
        goto out;
    }
    if (!f.prefix || !*f.prefix) {
        status = elaine_cli_usage_error(elaine_cli_show_usage, "show needs an exchange id", NULL);
        goto out;
    }
    if (json && raw) {
        status = elaine_cli_usage_error(elaine_cli_show_usage, "--json and --raw exclude each other", NULL);
        goto out;
    }
    f.plen = strlen(f.prefix);
    if (elaine_cli_opts_done(&o) < 0) {
        status = 1;
        goto out;
    }
    elaine_cli_reader rd;
    elaine_cli_reader_init(&rd, o.dir, &o.filter, on_rec, &f);
    if (!rd.needle && !strpbrk(f.prefix, "\"\\"))
        rd.needle = f.prefix;
    rc = elaine_cli_read_all(&rd);
    elaine_cli_reader_free(&rd);
    if (f.oom || rc == -ENOMEM) {
        fprintf(stderr, "elaine: %s\n", strerror(ENOMEM));
        status = 1;
        goto out;
    }
    if (!f.line) {
        fprintf(stderr, "elaine: no exchange has an id starting with \"%s\"\n", f.prefix);
        status = 1;
        goto out;
    }
    if (!f.exact && f.nothers) {
        fprintf(stderr, "elaine: \"%s\" is the start of several ids: %s", f.prefix, f.id);
        for (size_t i = 0; i < f.nothers; i++)
            fprintf(stderr, " %s", f.others[i]);
        fprintf(stderr, "%s\n", f.nothers >= MAX_CANDIDATES ? " ..." : "");
        status = 2;
        goto out;
    }
    if (json) {
        fwrite(f.line, 1, f.n, stdout);
        putchar('\n');
    } else {
        ej_val *v = elaine_json_parse(f.line, f.n);
        elaine_buf b;
        elaine_buf_init(&b);
        if (raw)
            elaine_cli_show_raw(&b, v);
        else
            elaine_cli_show_render(&b, v, o.color);
        if (b.len)
            fwrite(b.p, 1, b.len, stdout);
        elaine_buf_free(&b);
        elaine_json_free(v);
    }
    if (fflush(stdout) == EOF) {
        fprintf(stderr, "elaine: write() stdout failed: %s\n", strerror(errno));
        status = 1;
    }
out:
    free(f.line);
    free(f.id);
    for (size_t i = 0; i < f.nothers; i++)
        free(f.others[i]);
    elaine_cli_opts_free(&o);
    return status;
}
