/* elaine tail: one line per exchange, the last N of the log, and following it. */
#include "elaine_cli_tail.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elaine_cli_conv.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"
#include "elaine_logread.h"

#define SNIPPET_CHARS 60

const char elaine_cli_tail_usage[] =
    "usage: elaine tail [-n N] [-f] [--json] [--all] [--width N] [filters] [--dir DIR]\n"
    "\n"
    "The last exchanges, oldest first, one line each: local time, id, provider,\n"
    "model, status, input/output tokens, time to first token, duration, the start\n"
    "of the last user message and of the reply.\n"
    "\n"
    "  -n N           how many (default 10; 0: none, with -f only new ones), e.g. -n 50\n"
    "  -f, --follow   keep printing new exchanges as they are written, across rotation\n"
    "                 (elaine tail -f --model 'gpt-4o*')\n"
    "  --json         the records as stored, one JSON object a line (elaine tail --json -n 1)\n"
    "  --all          also the drop reports' and the collector's counter lines\n"
    "  --width N      fit lines into N columns (default: the terminal's; not a terminal:\n"
    "                 60 characters of each text), e.g. --width 120\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- formatting ---- */

static size_t utf8_chars(const char *s)
{
    size_t k = 0;
    for (; *s; s++)
        k += ((unsigned char)*s & 0xC0) != 0x80;
    return k;
}

/* At most max characters of s, control characters and runs of white space as
 * one space, "..." when cut. Returns the characters written. */
static size_t add_snippet(elaine_buf *b, const char *s, size_t max)
{
    size_t chars = 0;
    int space = 0;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == ' ') {
            space = 1;
            continue;
        }
        int start = (c & 0xC0) != 0x80;
        if (start) {
            if (chars + space + 1 > max) {
                /* cut: room for "..." */
                while (b->len && chars + 3 > max) {
                    /* drop whole characters already written */
                    size_t l = b->len;
                    while (l > 0 && ((unsigned char)b->p[l - 1] & 0xC0) == 0x80)
                        l--;
                    if (l == 0)
                        break;
                    b->len = l - 1;
                    b->p[b->len] = 0;
                    chars--;
                }
                elaine_buf_adds(b, "...");
                return chars + 3;
            }
            if (space && chars) {
                elaine_buf_addc(b, ' ');
                chars++;
            }
            space = 0;
            chars++;
        }
        elaine_buf_addc(b, (char)c);
    }
    return chars;
}

static void add_ms(elaine_buf *b, const ej_val *rec, const char *path)
{
    double ms;
    if (elaine_cli_rec_num(rec, path, &ms) < 0)
        elaine_buf_adds(b, "-");
    else if (ms < 10000)
        elaine_buf_addf(b, "%.0fms", ms);
    else
        elaine_buf_addf(b, "%.1fs", ms / 1000);
}

static void add_scalar(elaine_buf *b, const ej_val *v)
{
    if (!v) {
        elaine_buf_adds(b, "-");
        return;
    }
    switch (elaine_json_type(v)) {
    case EJ_STR:
        elaine_buf_adds(b, *elaine_json_str(v) ? elaine_json_str(v) : "-");
        break;
    case EJ_NUM:
        elaine_buf_adds(b, elaine_json_num_text(v));
        break;
    case EJ_BOOL:
        elaine_buf_adds(b, elaine_json_bool(v) == 1 ? "true" : "false");
        break;
    default:
        elaine_buf_adds(b, "-");
    }
}

/* Local time to the second, without the year: "12-04 21:03:11". */
static void add_time(elaine_buf *b, const ej_val *rec, int color)
{
    char t[40];
    int64_t ts = elaine_cli_rec_ts(rec);
    if (ts == ELAINE_CLI_NO_TIME)
        snprintf(t, sizeof(t), "-");
    else
        elaine_cli_time_local(ts, t, sizeof(t));
    if (strlen(t) >= 19) {
        t[19] = 0; /* drop the milliseconds */
        memmove(t, t + 5, strlen(t + 5) + 1); /* and the year */
    }
    elaine_buf_adds(b, color ? "\033[2m" : "");
    elaine_buf_adds(b, t);
    elaine_buf_adds(b, color ? "\033[0m" : "");
}

/* Cuts b (from start) to width visible columns, escape sequences kept whole. */
static void fit(elaine_buf *b, size_t start, int width, int color)
{
    size_t cols = 0;
    for (size_t i = start; i < b->len; i++) {
        unsigned char ch = (unsigned char)b->p[i];
        if (ch == 0x1b) {
            while (i < b->len && b->p[i] != 'm')
                i++;
            continue;
        }
        if ((ch & 0xC0) != 0x80 && ++cols > (size_t)width) {
            while (i > start && b->p[i - 1] == ' ')
                i--;
            b->len = i;
            b->p[i] = 0;
            if (color)
                elaine_buf_adds(b, "\033[0m");
            return;
        }
    }
}

/* The reply in short: the text, else the tool calls, else the error. */
static char *reply_text(const ej_val *rec)
{
    const char *t = elaine_cli_rec_str(rec, "llm.output_text");
    if (t && *t)
        return strdup(t);
    const ej_val *calls = elaine_json_path(rec, "llm.tool_calls");
    if (calls && elaine_json_type(calls) == EJ_ARR && elaine_json_len(calls)) {
        elaine_buf b;
        elaine_buf_init(&b);
        for (size_t i = 0; i < elaine_json_len(calls); i++) {
            const ej_val *c = elaine_json_at(calls, i);
            const ej_val *args = elaine_json_get(c, "arguments");
            const char *name = elaine_json_str(elaine_json_get(c, "name"));
            elaine_buf_addf(&b, "%scall %s(", i ? "; " : "", name ? name : "?");
            if (args && elaine_json_type(args) == EJ_STR)
                elaine_buf_adds(&b, elaine_json_str(args));
            else if (args) {
                elaine_jw w;
                elaine_jw_init(&w, &b);
                elaine_jw_value(&w, args);
            }
            elaine_buf_addc(&b, ')');
        }
        return b.oom ? NULL : elaine_buf_take(&b);
    }
    const char *e = elaine_cli_rec_str(rec, "llm.error_message");
    if (!e)
        e = elaine_cli_rec_str(rec, "error");
    return e ? strdup(e) : NULL;
}

static void fmt_exchange(elaine_buf *b, const ej_val *rec, int width, int color)
{
    size_t start = b->len;
    add_time(b, rec, color);
    elaine_buf_adds(b, "  ");
    const char *id = elaine_cli_rec_str(rec, "id");
    elaine_buf_adds(b, id ? id : "-");
    elaine_buf_adds(b, "  ");
    elaine_buf_adds(b, color ? "\033[36m" : "");
    add_scalar(b, elaine_json_path(rec, "llm.provider"));
    elaine_buf_adds(b, color ? "\033[0m  \033[1m" : "  ");
    const char *model = elaine_cli_rec_model(rec);
    elaine_buf_adds(b, model ? model : "-");
    elaine_buf_adds(b, color ? "\033[0m  " : "  ");
    char st[16];
    elaine_cli_rec_status(rec, st, sizeof(st));
    const ej_val *err = elaine_json_get(rec, "error");
    int transport = err && elaine_json_type(err) != EJ_NULL;
    int failed = elaine_cli_rec_failed(rec);
    if (color)
        elaine_buf_adds(b, failed ? (st[0] == '4' ? "\033[33m" : "\033[31m") : "\033[32m");
    elaine_buf_adds(b, transport ? "error" : st);
    elaine_buf_adds(b, color ? "\033[0m" : "");
    elaine_buf_adds(b, "  in=");
    add_scalar(b, elaine_json_path(rec, "llm.input_tokens"));
    elaine_buf_adds(b, " out=");
    add_scalar(b, elaine_json_path(rec, "llm.output_tokens"));
    elaine_buf_adds(b, "  ttft=");
    add_ms(b, rec, "timing.ttft_ms");
    elaine_buf_adds(b, "  ");
    add_ms(b, rec, "timing.duration_ms");
    elaine_buf_adds(b, "  ");

    elaine_cli_conv c;
    elaine_cli_conv_init(&c);
    elaine_cli_conv_request(&c, elaine_json_path(rec, "request.body"));
    const char *user = elaine_cli_conv_last_user(&c);
    char *reply = reply_text(rec);
    /* Columns used so far, escape sequences aside. */
    size_t used = 0;
    for (size_t i = start; i < b->len; i++) {
        unsigned char ch = (unsigned char)b->p[i];
        if (ch == 0x1b) {
            while (i < b->len && b->p[i] != 'm')
                i++;
            continue;
        }
        used += (ch & 0xC0) != 0x80;
    }
    size_t pmax = SNIPPET_CHARS, rmax = SNIPPET_CHARS;
    if (width > 0) {
        size_t room = (size_t)width > used + 8 ? (size_t)width - used - 8 : 0; /* quotes, " -> " */
        size_t ulen = user ? utf8_chars(user) : 1, rlen = reply ? utf8_chars(reply) : 1;
        pmax = room / 3;
        rmax = room - pmax;
        if (ulen < pmax) {
            rmax += pmax - ulen;
            pmax = ulen;
        } else if (rlen < rmax) {
            pmax += rmax - rlen;
            rmax = rlen;
        }
        if (pmax < 8)
            pmax = 8;
        if (rmax < 8)
            rmax = 8;
    }
    const ej_val *prov = elaine_json_path(rec, "llm.provider");
    const char *method = elaine_cli_rec_str(rec, "request.method"), *path = elaine_cli_rec_str(rec, "request.path");
    if (!user && !reply && (!prov || elaine_json_type(prov) == EJ_NULL) && method && path) {
        /* no LLM call (GET /v1/models, a health check): what it asked for */
        elaine_buf_adds(b, method);
        elaine_buf_addc(b, ' ');
        add_snippet(b, path, pmax + rmax + 4);
    } else {
        if (user) {
            elaine_buf_addc(b, '"');
            add_snippet(b, user, pmax);
            elaine_buf_addc(b, '"');
        } else {
            elaine_buf_adds(b, "-");
        }
        elaine_buf_adds(b, " -> ");
        if (reply) {
            elaine_buf_adds(b, color && failed ? "\033[31m\"" : "\"");
            add_snippet(b, reply, rmax);
            elaine_buf_adds(b, color && failed ? "\"\033[0m" : "\"");
        } else {
            elaine_buf_adds(b, "-");
        }
    }
    free(reply);
    elaine_cli_conv_free(&c);
    if (width > 0)
        fit(b, start, width, color);
}

static void fmt_drop(elaine_buf *b, const ej_val *v, int color)
{
    add_time(b, v, color);
    elaine_buf_adds(b, color ? "  \033[31mDROP\033[0m pid=" : "  DROP pid=");
    add_scalar(b, elaine_json_get(v, "pid"));
    elaine_buf_adds(b, " events=");
    add_scalar(b, elaine_json_get(v, "dropped_events"));
    elaine_buf_adds(b, " bytes=");
    add_scalar(b, elaine_json_get(v, "dropped_bytes"));
}

/* Collector counters and unknown types: TYPE key=value ... (scalars only). */
static void fmt_other(elaine_buf *b, const ej_val *v, const char *type, int color)
{
    add_time(b, v, color);
    elaine_buf_adds(b, "  ");
    for (const char *p = type; *p; p++)
        elaine_buf_addc(b, *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p);
    for (size_t i = 0; i < elaine_json_len(v); i++) {
        const char *k = elaine_json_key_at(v, i);
        const ej_val *m = elaine_json_at(v, i);
        ej_type t = elaine_json_type(m);
        if (!strcmp(k, "type") || !strcmp(k, "ts") || t == EJ_OBJ || t == EJ_ARR)
            continue;
        elaine_buf_addf(b, " %s=", k);
        add_scalar(b, m);
    }
}

void elaine_cli_tail_line(elaine_buf *b, const ej_val *rec, int width, int color)
{
    const char *type = elaine_cli_rec_str(rec, "type");
    if (type && !strcmp(type, "exchange"))
        fmt_exchange(b, rec, width, color);
    else if (type && !strcmp(type, "drop"))
        fmt_drop(b, rec, color);
    else
        fmt_other(b, rec, type ? type : "record", color);
}

/* ---- the last N: a ring of stored lines ---- */

typedef struct ring {
    char **s;
    size_t *len;
    size_t cap, count, head;
} ring;

static int ring_init(ring *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->cap = cap;
    if (!cap)
        return 0;
    r->s = calloc(cap, sizeof(*r->s));
    r->len = calloc(cap, sizeof(*r->len));
    return r->s && r->len ? 0 : -ENOMEM;
}

static int ring_push(ring *r, const char *line, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, line, n);
    s[n] = 0;
    size_t i = (r->head + r->count) % r->cap;
    if (r->count == r->cap) {
        free(r->s[r->head]);
        i = r->head;
        r->head = (r->head + 1) % r->cap;
    } else {
        r->count++;
    }
    r->s[i] = s;
    r->len[i] = n;
    return 0;
}

static void ring_free(ring *r)
{
    for (size_t k = 0; k < r->count; k++)
        free(r->s[(r->head + k) % r->cap]);
    free(r->s);
    free(r->len);
    memset(r, 0, sizeof(*r));
}

/* ---- tail ---- */

typedef struct tail {
    elaine_cli_opts o;
    long n;
    int follow, json, all;
    ring *into; /* collecting, or NULL: print at once */
    elaine_cli_idset ids;     /* every exchange id read while collecting */
    elaine_cli_idset printed; /* ids printed from the rings */
    elaine_buf line;
    int failed; /* stdout failed */
} tail;

static void print_line(tail *t, const char *line, size_t n);

/* From a ring: skips an exchange whose id was printed already. */
static void print_once(tail *t, const char *line, size_t n)
{
    ej_val *v = elaine_json_parse(line, n);
    const ej_val *id = elaine_json_get(v, "id");
    int dup = 0;
    const char *type = elaine_json_str(elaine_json_get(v, "type"));
    if (type && !strcmp(type, "exchange") && id && elaine_json_type(id) == EJ_STR)
        dup = elaine_cli_idset_add(&t->printed, elaine_cli_id_hash(elaine_json_str(id), elaine_json_len(id))) == 1;
    elaine_json_free(v);
    if (!dup)
        print_line(t, line, n);
}

static void print_line(tail *t, const char *line, size_t n)
{
    if (t->json) {
        if (fwrite(line, 1, n, stdout) != n || putchar('\n') == EOF)
            t->failed = 1;
        return;
    }
    ej_val *v = elaine_json_parse(line, n);
    if (!v)
        return;
    elaine_buf_reset(&t->line);
    elaine_cli_tail_line(&t->line, v, t->o.width, t->o.color);
    elaine_json_free(v);
    if (t->line.len && (fwrite(t->line.p, 1, t->line.len, stdout) != t->line.len || putchar('\n') == EOF))
        t->failed = 1;
}

static int on_rec(void *ud, const elaine_cli_rec *r)
{
    tail *t = ud;
    if (r->kind == ELAINE_REC_COLLECTOR || r->kind == ELAINE_REC_OTHER) {
        if (!t->all)
            return 0;
    } else if (r->kind == ELAINE_REC_DROP) {
        const elaine_cli_filter *f = &t->o.filter;
        if (f->grep || f->provider.n || f->model.n || f->host.n || f->exe.n || f->status.n)
            return 0; /* a drop report belongs to no exchange */
    }
    if (t->into) {
        /* Collecting newest file first: duplicates are dropped when printing,
         * oldest first, so the first copy written is the one shown. */
        const ej_val *id = elaine_json_get(r->v, "id");
        if (r->kind == ELAINE_REC_EXCHANGE && id && elaine_json_type(id) == EJ_STR &&
            elaine_cli_idset_add(&t->ids, elaine_cli_id_hash(elaine_json_str(id), elaine_json_len(id))) < 0)
            return -ENOMEM;
        return t->into->cap ? ring_push(t->into, r->line, r->n) : 0;
    }
    print_line(t, r->line, r->n);
    return t->failed ? 1 : 0;
}

static int tail_last(tail *t, elaine_cli_reader *rd, elaine_logfollow *f)
{
    ring active, *older = NULL;
    size_t nolder = 0, have, count = 0;
    char **names = NULL;
    int rc, status = 0;
    if (ring_init(&active, (size_t)t->n) < 0)
        return -ENOMEM;
    t->into = &active;
    rd->file = "elaine.jsonl";
    rc = elaine_logfollow_read(f, elaine_cli_read_line, rd);
    elaine_cli_read_flush_warnings(rd);
    if (rc < 0) {
        fprintf(stderr, "elaine: read \"%s/elaine.jsonl\" failed: %s\n", t->o.dir, strerror(-rc));
        status = 1;
        if (rc == -ENOMEM)
            goto out;
    }
    rc = 0;
    have = active.count;
    if (t->n > 0 && have < (size_t)t->n) {
        rc = elaine_logread_list(t->o.dir, &names, &count);
        if (rc < 0 && rc != -ENOENT) {
            fprintf(stderr, "elaine: opendir() \"%s\" failed: %s\n", t->o.dir, strerror(-rc));
            status = 1;
        }
        rc = 0;
        older = calloc(count ? count : 1, sizeof(*older));
        if (!older) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = count; i-- > 0 && have < (size_t)t->n;) {
            if (t->o.filter.since != ELAINE_CLI_NO_TIME && elaine_cli_read_file_before(names[i], t->o.filter.since))
                break;
            ring *r = &older[nolder++];
            if ((rc = ring_init(r, (size_t)t->n - have)) < 0)
                goto out;
            t->into = r;
            rc = elaine_cli_read_file(rd, names[i]);
            if (rc == -ENOMEM)
                goto out;
            rc = 0; /* a bad file is named on stderr; the rest is still read */
            have += r->count;
        }
    }
    t->into = NULL;
    for (size_t i = nolder; i-- > 0 && !t->failed;)
        for (size_t k = 0; k < older[i].count; k++) {
            size_t j = (older[i].head + k) % older[i].cap;
            print_once(t, older[i].s[j], older[i].len[j]);
        }
    for (size_t k = 0; k < active.count && !t->failed; k++) {
        size_t j = (active.head + k) % active.cap;
        print_once(t, active.s[j], active.len[j]);
    }
out:
    t->into = NULL;
    for (size_t i = 0; i < nolder; i++)
        ring_free(&older[i]);
    free(older);
    ring_free(&active);
    elaine_logread_list_free(names, count);
    if (rc < 0) {
        fprintf(stderr, "elaine: %s\n", strerror(-rc));
        return 1;
    }
    return status;
}

int elaine_cli_tail_main(int argc, char **argv)
{
    tail t = {.n = 10};
    elaine_cli_opts_init(&t.o);
    elaine_buf_init(&t.line);
    int status = 0, rc;
    elaine_logfollow *f = NULL;
    elaine_cli_reader rd;
    elaine_cli_reader_init(&rd, NULL, &t.o.filter, on_rec, &t);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if ((rc = elaine_cli_opts_take(&t.o, argc, argv, &i)) != 0) {
            if (rc < 0) {
                status = elaine_cli_usage_error(elaine_cli_tail_usage, NULL, NULL);
                goto out;
            }
        } else if (!strcmp(a, "-n") || !strncmp(a, "--lines", 7)) {
            if (!strcmp(a, "-n"))
                val = i + 1 < argc ? argv[++i] : NULL;
            else if (!elaine_cli_arg(argc, argv, &i, "--lines", &val)) {
                status = elaine_cli_usage_error(elaine_cli_tail_usage, "unknown option", a);
                goto out;
            }
            if (elaine_cli_parse_count(val, &t.n) < 0) {
                status = elaine_cli_usage_error(elaine_cli_tail_usage, "-n needs a count", val);
                goto out;
            }
        } else if (!strncmp(a, "-n", 2)) {
            if (elaine_cli_parse_count(a + 2, &t.n) < 0) {
                status = elaine_cli_usage_error(elaine_cli_tail_usage, "-n needs a count", a + 2);
                goto out;
            }
        } else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
            t.follow = 1;
        } else if (!strcmp(a, "--json")) {
            t.json = 1;
        } else if (!strcmp(a, "--all")) {
            t.all = 1;
        } else if (elaine_cli_arg(argc, argv, &i, "--width", &val)) {
            long w;
            if (elaine_cli_parse_count(val, &w) < 0 || w < 20 || w > 10000) {
                status = elaine_cli_usage_error(elaine_cli_tail_usage, "--width needs a number of columns (20 or more)", val);
                goto out;
            }
            t.o.width = (int)w;
        } else {
            status = elaine_cli_usage_error(elaine_cli_tail_usage, "unknown option", a);
            goto out;
        }
    }
    if (t.o.help) {
        fputs(elaine_cli_tail_usage, stdout);
        fputs(elaine_cli_opts_help, stdout);
        fputs(elaine_cli_filter_help, stdout);
        goto out;
    }
    if (elaine_cli_opts_done(&t.o) < 0) {
        status = 1;
        goto out;
    }
    rd.dir = t.o.dir;
    rd.all_kinds = 1;
    rd.needle = elaine_cli_filter_needle(&t.o.filter);
    struct stat st;
    if (!t.follow && stat(t.o.dir, &st) < 0) {
        fprintf(stderr, "elaine: stat() \"%s\" failed: %s\n", t.o.dir, strerror(errno));
        status = 1;
        goto out;
    }
    rc = elaine_logfollow_open(&f, t.o.dir);
    if (rc < 0) {
        fprintf(stderr, "elaine: %s\n", strerror(-rc));
        status = 1;
        goto out;
    }
    rd.keep_dups = 1;
    status = tail_last(&t, &rd, f);
    /* Following: a resend of anything read so far is dropped. */
    rd.keep_dups = 0;
    elaine_cli_idset_free(&rd.seen);
    rd.seen = t.ids;
    memset(&t.ids, 0, sizeof(t.ids));
    if (t.follow && !t.failed) {
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        rd.file = "elaine.jsonl";
        /* --until in the past: nothing new can match; in the future: stop there. */
        while (!stop && !t.failed) {
            fflush(stdout);
            rc = elaine_logfollow_wait(f, 1000);
            if (rc == -EINTR || stop)
                break;
            rc = elaine_logfollow_read(f, elaine_cli_read_line, &rd);
            elaine_cli_read_flush_warnings(&rd);
            if (rc < 0) {
                fprintf(stderr, "elaine: read \"%s/elaine.jsonl\" failed: %s\n", t.o.dir, strerror(-rc));
                status = 1;
                break;
            }
        }
    }
    if (fflush(stdout) == EOF || t.failed) {
        if (errno != EPIPE)
            fprintf(stderr, "elaine: write() stdout failed: %s\n", strerror(errno));
        status = 1;
    }
out:
    elaine_logfollow_close(f);
    elaine_cli_reader_free(&rd);
    elaine_cli_idset_free(&t.ids);
    elaine_cli_idset_free(&t.printed);
    elaine_buf_free(&t.line);
    elaine_cli_opts_free(&t.o);
    return status;
}
