/* elaine: the reader, shows the records of the log directory (tail, follow). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elaine_buf.h"
#include "elaine_json.h"
#include "elaine_logread.h"
#include "elaine_paths.h"

#define ELAINE_VERSION "0.1.0"
#define SNIPPET_CHARS 60

static const char usage_text[] =
    "usage: elaine tail [-n N] [-f] [--json] [--all] [--dir DIR]\n"
    "       elaine --help | --version\n"
    "\n"
    "commands:\n"
    "  tail    show the last N records (default 10) of the log directory\n"
    "\n"
    "options of tail:\n"
    "  -n N        how many records (0: none; with -f only new ones)\n"
    "  -f          keep following the log as it grows and rotates\n"
    "  --json      print the records as they are stored, one JSON object a line\n"
    "  --all       include the collector's own counter lines\n"
    "  --dir DIR   log directory (default $ELAINE_DIR, else\n"
    "              $XDG_STATE_HOME/memoryelaine or ~/.local/state/memoryelaine)\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ---- the last N records: a ring of formatted lines ---- */

typedef struct ring {
    char **s;
    uint64_t *id; /* hash of the record id, 0 without one */
    size_t cap, count, head;
} ring;

static int ring_init(ring *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->cap = cap;
    if (!cap)
        return 0;
    r->s = calloc(cap, sizeof(*r->s));
    r->id = calloc(cap, sizeof(*r->id));
    return r->s && r->id ? 0 : -ENOMEM;
}

static void ring_push(ring *r, char *s, uint64_t id)
{
    size_t i = (r->head + r->count) % r->cap;
    if (r->count == r->cap) {
        free(r->s[r->head]);
        i = r->head;
        r->head = (r->head + 1) % r->cap;
    } else {
        r->count++;
    }
    r->s[i] = s;
    r->id[i] = id;
}

static void ring_free(ring *r)
{
    for (size_t k = 0; k < r->count; k++)
        free(r->s[(r->head + k) % r->cap]);
    free(r->s);
    free(r->id);
    memset(r, 0, sizeof(*r));
}

/* ---- duplicate ids (a record resent after a collector restart) ---- */

#define SEEN_SLOTS 8192 /* per generation; a generation is full at half */

typedef struct seen {
    uint64_t *gen[2];
    size_t used;
} seen;

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

static int seen_has(const uint64_t *t, uint64_t h)
{
    for (size_t i = h % SEEN_SLOTS;; i = (i + 1) % SEEN_SLOTS) {
        if (t[i] == h)
            return 1;
        if (!t[i])
            return 0;
    }
}

/* 1 if h was seen recently (then not added), else adds it. 0 is "no id". */
static int seen_check(seen *s, uint64_t h)
{
    if (!h || !s->gen[0] || !s->gen[1])
        return 0;
    if (seen_has(s->gen[0], h) || seen_has(s->gen[1], h))
        return 1;
    if (s->used >= SEEN_SLOTS / 2) {
        uint64_t *t = s->gen[1];
        s->gen[1] = s->gen[0];
        s->gen[0] = t;
        memset(t, 0, SEEN_SLOTS * sizeof(*t));
        s->used = 0;
    }
    size_t i = h % SEEN_SLOTS;
    while (s->gen[0][i])
        i = (i + 1) % SEEN_SLOTS;
    s->gen[0][i] = h;
    s->used++;
    return 0;
}

/* ---- formatting ---- */

/* RFC 3339 with microseconds, shown to milliseconds. */
static void add_ts(elaine_buf *b, const ej_val *v)
{
    const char *s = v ? elaine_json_str(v) : NULL;
    if (!s) {
        elaine_buf_adds(b, "-");
        return;
    }
    const char *dot = strchr(s, '.');
    if (!dot) {
        elaine_buf_adds(b, s);
        return;
    }
    elaine_buf_add(b, s, (size_t)(dot - s) + 1);
    const char *p = dot + 1;
    int k = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (k++ < 3)
            elaine_buf_addc(b, *p);
    elaine_buf_adds(b, p);
}

/* A scalar as text; "-" for null or missing. */
static void add_scalar(elaine_buf *b, const ej_val *v)
{
    if (!v) {
        elaine_buf_adds(b, "-");
        return;
    }
    switch (elaine_json_type(v)) {
    case EJ_STR: {
        const char *s = elaine_json_str(v);
        elaine_buf_adds(b, *s ? s : "-");
        break;
    }
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

static void add_ms(elaine_buf *b, const ej_val *v)
{
    const char *t = v ? elaine_json_num_text(v) : NULL;
    if (!t) {
        elaine_buf_adds(b, "-");
        return;
    }
    elaine_buf_addf(b, "%.0fms", strtod(t, NULL));
}

/* The first SNIPPET_CHARS characters, control characters as spaces, quoted. */
static void add_snippet(elaine_buf *b, const ej_val *v)
{
    const char *s = v ? elaine_json_str(v) : NULL;
    if (!s) {
        elaine_buf_adds(b, "-");
        return;
    }
    size_t n = elaine_json_len(v), i = 0;
    int chars = 0;
    elaine_buf_addc(b, '"');
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80 && chars++ == SNIPPET_CHARS)
            break;
        elaine_buf_addc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    if (i < n)
        elaine_buf_adds(b, "...");
    elaine_buf_addc(b, '"');
}

static void fmt_exchange(elaine_buf *b, const ej_val *v)
{
    const ej_val *model = elaine_json_path(v, "llm.model");
    if (!model || elaine_json_type(model) == EJ_NULL)
        model = elaine_json_path(v, "llm.response_model");
    add_ts(b, elaine_json_get(v, "ts"));
    elaine_buf_adds(b, "  ");
    add_scalar(b, elaine_json_path(v, "llm.provider"));
    elaine_buf_adds(b, "  ");
    add_scalar(b, model);
    elaine_buf_adds(b, "  ");
    add_scalar(b, elaine_json_path(v, "response.status"));
    elaine_buf_adds(b, "  in=");
    add_scalar(b, elaine_json_path(v, "llm.input_tokens"));
    elaine_buf_adds(b, " out=");
    add_scalar(b, elaine_json_path(v, "llm.output_tokens"));
    elaine_buf_adds(b, "  ");
    add_ms(b, elaine_json_path(v, "timing.duration_ms"));
    elaine_buf_adds(b, "  ");
    add_scalar(b, elaine_json_path(v, "request.method"));
    elaine_buf_addc(b, ' ');
    add_scalar(b, elaine_json_get(v, "host"));
    int64_t port;
    int tls = elaine_json_bool(elaine_json_get(v, "tls")) == 1;
    if (elaine_json_int(elaine_json_get(v, "port"), &port) == 0 && port != (tls ? 443 : 80))
        elaine_buf_addf(b, ":%lld", (long long)port);
    const char *path = elaine_json_str(elaine_json_path(v, "request.path"));
    elaine_buf_adds(b, path ? path : "");
    elaine_buf_adds(b, "  ");
    add_snippet(b, elaine_json_path(v, "llm.output_text"));
    const ej_val *err = elaine_json_get(v, "error");
    if (err && elaine_json_type(err) != EJ_NULL) {
        elaine_buf_adds(b, "  error: ");
        if (elaine_json_type(err) == EJ_STR)
            add_snippet(b, err);
        else
            add_scalar(b, err);
    }
}

static void fmt_drop(elaine_buf *b, const ej_val *v)
{
    add_ts(b, elaine_json_get(v, "ts"));
    elaine_buf_adds(b, "  DROP pid=");
    add_scalar(b, elaine_json_get(v, "pid"));
    elaine_buf_adds(b, " events=");
    add_scalar(b, elaine_json_get(v, "dropped_events"));
    elaine_buf_adds(b, " bytes=");
    add_scalar(b, elaine_json_get(v, "dropped_bytes"));
}

/* Collector counters and types this reader does not know: TYPE key=value ... (scalars only). */
static void fmt_other(elaine_buf *b, const ej_val *v, const char *type)
{
    add_ts(b, elaine_json_get(v, "ts"));
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

/* ---- tail ---- */

typedef struct tail {
    long n;
    int follow, json, all;
    const char *dir;
    uint64_t nonjson;
    ring *into;   /* collecting the last N, or NULL: print at once */
    seen seen;
    int failed;   /* stdout failed */
} tail;

static void emit(tail *t, const char *s, uint64_t id)
{
    if (seen_check(&t->seen, id))
        return;
    if (fputs(s, stdout) == EOF || putchar('\n') == EOF)
        t->failed = 1;
}

static int line_cb(void *ud, const char *line, size_t n)
{
    tail *t = ud;
    if (t->into && t->into->cap == 0)
        return 0; /* -n 0: skipping what is already there */
    ej_val *v = elaine_json_parse(line, n);
    if (!v || elaine_json_type(v) != EJ_OBJ) {
        t->nonjson++;
        elaine_json_free(v);
        return 0;
    }
    const char *type = elaine_json_str(elaine_json_get(v, "type"));
    int known = type && (!strcmp(type, "exchange") || !strcmp(type, "drop"));
    if (!known && !t->all) {
        elaine_json_free(v);
        return 0;
    }
    char *out;
    if (t->json) {
        out = strndup(line, n);
    } else {
        elaine_buf b;
        elaine_buf_init(&b);
        if (type && !strcmp(type, "exchange"))
            fmt_exchange(&b, v);
        else if (type && !strcmp(type, "drop"))
            fmt_drop(&b, v);
        else
            fmt_other(&b, v, type ? type : "record");
        out = b.oom ? NULL : elaine_buf_take(&b);
        elaine_buf_free(&b);
    }
    const char *id = elaine_json_str(elaine_json_get(v, "id"));
    uint64_t h = id ? hash_id(id) : 0;
    elaine_json_free(v);
    if (!out)
        return -ENOMEM;
    if (t->into) {
        ring_push(t->into, out, h);
    } else {
        emit(t, out, h);
        free(out);
    }
    return 0;
}

static void warn_read(const char *dir, const char *name, int rc)
{
    fprintf(stderr, "elaine: read \"%s/%s\" failed: %s\n", dir, name, strerror(-rc));
}

/* The last t->n records: the active file, then rotated files newest first
 * until there are enough; printed oldest first. The follower is left at the
 * end of the active file. */
static int tail_last(tail *t, elaine_logfollow *f)
{
    ring active, *older = NULL;
    size_t nolder = 0, have;
    char **names = NULL;
    size_t count = 0;
    int rc, status = 0;
    if (ring_init(&active, (size_t)t->n) < 0)
        return -ENOMEM;
    t->into = &active;
    rc = elaine_logfollow_read(f, line_cb, t);
    if (rc < 0) {
        warn_read(t->dir, "elaine.jsonl", rc);
        status = 1;
    }
    rc = 0;
    have = active.count;
    if (t->n > 0 && have < (size_t)t->n && (rc = elaine_logread_list(t->dir, &names, &count)) == 0) {
        older = calloc(count ? count : 1, sizeof(*older));
        if (!older) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = count; i-- > 0 && have < (size_t)t->n;) {
            ring *r = &older[nolder++];
            if ((rc = ring_init(r, (size_t)t->n - have)) < 0)
                goto out;
            t->into = r;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", t->dir, names[i]);
            rc = elaine_logread_file(path, line_cb, t);
            if (rc == -ENOENT) {
                /* compressed since the listing */
                snprintf(path, sizeof(path), "%s/%s.zst", t->dir, names[i]);
                rc = elaine_logread_file(path, line_cb, t);
            }
            if (rc < 0) {
                warn_read(t->dir, names[i], rc);
                status = 1;
            }
            have += r->count;
        }
    } else if (rc < 0 && rc != -ENOENT) {
        fprintf(stderr, "elaine: opendir() \"%s\" failed: %s\n", t->dir, strerror(-rc));
        status = 1;
    }
    t->into = NULL;
    for (size_t i = nolder; i-- > 0;)
        for (size_t k = 0; k < older[i].count; k++) {
            size_t j = (older[i].head + k) % older[i].cap;
            emit(t, older[i].s[j], older[i].id[j]);
        }
    for (size_t k = 0; k < active.count; k++) {
        size_t j = (active.head + k) % active.cap;
        emit(t, active.s[j], active.id[j]);
    }
    rc = 0;
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

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 100000000)
        return -1;
    *out = v;
    return 0;
}

static int bad_usage(const char *why, const char *arg)
{
    if (why)
        fprintf(stderr, "elaine: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
    fputs(usage_text, stderr);
    return 2;
}

static int cmd_tail(int argc, char **argv)
{
    tail t = {.n = 10};
    char dirbuf[4096];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-n")) {
            if (i + 1 >= argc || parse_count(argv[++i], &t.n) < 0)
                return bad_usage("-n needs a count", i < argc ? argv[i] : NULL);
        } else if (!strncmp(a, "-n", 2)) {
            if (parse_count(a + 2, &t.n) < 0)
                return bad_usage("-n needs a count", a + 2);
        } else if (!strncmp(a, "--lines=", 8)) {
            if (parse_count(a + 8, &t.n) < 0)
                return bad_usage("--lines needs a count", a + 8);
        } else if (!strcmp(a, "-f") || !strcmp(a, "--follow")) {
            t.follow = 1;
        } else if (!strcmp(a, "--json")) {
            t.json = 1;
        } else if (!strcmp(a, "--all")) {
            t.all = 1;
        } else if (!strcmp(a, "--dir")) {
            if (i + 1 >= argc)
                return bad_usage("--dir needs a directory", NULL);
            t.dir = argv[++i];
        } else if (!strncmp(a, "--dir=", 6)) {
            t.dir = a + 6;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            return bad_usage("unknown option", a);
        }
    }
    if (!t.dir || !*t.dir) {
        const char *env = getenv("ELAINE_DIR");
        if (env && *env) {
            t.dir = env;
        } else {
            int rc = elaine_log_dir(dirbuf, sizeof(dirbuf));
            if (rc < 0) {
                fprintf(stderr, "elaine: no log directory (set HOME, XDG_STATE_HOME or ELAINE_DIR): %s\n",
                        strerror(-rc));
                return 1;
            }
            t.dir = dirbuf;
        }
    }
    struct stat st;
    if (!t.follow && stat(t.dir, &st) < 0) {
        fprintf(stderr, "elaine: stat() \"%s\" failed: %s\n", t.dir, strerror(errno));
        return 1;
    }
    t.seen.gen[0] = calloc(SEEN_SLOTS, sizeof(uint64_t));
    t.seen.gen[1] = calloc(SEEN_SLOTS, sizeof(uint64_t));

    elaine_logfollow *f = NULL;
    int status, rc = elaine_logfollow_open(&f, t.dir);
    if (rc < 0) {
        fprintf(stderr, "elaine: %s\n", strerror(-rc));
        status = 1;
        goto out;
    }
    status = tail_last(&t, f);
    if (t.follow && !t.failed) {
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!stop && !t.failed) {
            fflush(stdout);
            rc = elaine_logfollow_wait(f, 1000);
            if (rc == -EINTR || stop)
                break;
            rc = elaine_logfollow_read(f, line_cb, &t);
            if (rc < 0) {
                fprintf(stderr, "elaine: read \"%s/elaine.jsonl\" failed: %s\n", t.dir, strerror(-rc));
                status = 1;
                break;
            }
        }
    }
out:
    elaine_logfollow_close(f);
    free(t.seen.gen[0]);
    free(t.seen.gen[1]);
    if (fflush(stdout) == EOF || t.failed) {
        fprintf(stderr, "elaine: write() stdout failed: %s\n", strerror(errno));
        status = 1;
    }
    if (t.nonjson)
        fprintf(stderr, "elaine: skipped %llu line%s that %s not JSON\n", (unsigned long long)t.nonjson,
                t.nonjson == 1 ? "" : "s", t.nonjson == 1 ? "is" : "are");
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return bad_usage(NULL, NULL);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("elaine %s\n", ELAINE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "tail"))
        return cmd_tail(argc - 1, argv + 1);
    return bad_usage("unknown command", cmd);
}
