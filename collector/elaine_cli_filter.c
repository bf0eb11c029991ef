/* The filters every elaine subcommand takes, their parsing, and matching a record. */
#include "elaine_cli_filter.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_cli_rec.h"

const char elaine_cli_filter_help[] =
    "filters (every subcommand; a flag given twice matches either value, different flags all):\n"
    "  --since T      records from T on: a duration before now (30s, 15m, 2h, 7d, 1w, 1h30m)\n"
    "                 or an RFC 3339 time (2026-12-04T21:00:00Z; without a zone: local time)\n"
    "                 e.g. --since 2h, --since 2026-12-04\n"
    "  --until T      records before T, same forms (--until 15m: older than 15 minutes)\n"
    "  --provider P   llm.provider, a glob (--provider openai, --provider 'open*')\n"
    "  --model M      llm.model or llm.response_model, a glob (--model 'gpt-4o*')\n"
    "  --host H       the server, host or host:port, a glob (--host api.openai.com)\n"
    "  --exe E        the client executable, full path or base name, a glob (--exe python3.11)\n"
    "  --status S     a code (429), a class (5xx), 'error' (failed: transport error or\n"
    "                 status >= 400) or 'ok' (--status 4xx --status error)\n"
    "  --grep TEXT    TEXT in the request (prompt) or the reply, ignoring case (--grep invoice)\n";

void elaine_cli_filter_init(elaine_cli_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->since = f->until = ELAINE_CLI_NO_TIME;
    f->now = elaine_cli_now_us();
}

void elaine_cli_filter_free(elaine_cli_filter *f)
{
    free(f->provider.v);
    free(f->model.v);
    free(f->host.v);
    free(f->exe.v);
    free(f->status.v);
    memset(f, 0, sizeof(*f));
}

int elaine_cli_arg(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc) {
        *val = NULL;
        return 1;
    }
    *val = argv[++*i];
    return 1;
}

static int list_add(elaine_cli_list *l, const char *s)
{
    const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    l->v = nv;
    l->v[l->n++] = s;
    return 0;
}

int elaine_cli_filter_time(const char *s, int64_t now, int64_t *us)
{
    if (!strcmp(s, "now")) {
        *us = now;
        return 0;
    }
    if (elaine_cli_time_parse(s, us) == 0)
        return 0;
    /* A duration: <number><unit> repeated. */
    const char *p = s;
    int64_t total = 0;
    if (!*p)
        return -1;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        int64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            v = v * 10 + (*p - '0');
            if (v > 100000000)
                return -1;
        }
        int64_t unit;
        if (!strncmp(p, "ms", 2)) {
            unit = 1000;
            p += 2;
        } else {
            switch (*p) {
            case 's': unit = 1000000; break;
            case 'm': unit = 60 * 1000000LL; break;
            case 'h': unit = 3600 * 1000000LL; break;
            case 'd': unit = 86400 * 1000000LL; break;
            case 'w': unit = 7 * 86400 * 1000000LL; break;
            default: return -1;
            }
            p++;
        }
        total += v * unit;
    }
    *us = now - total;
    return 0;
}

static int status_ok(const char *s)
{
    if (!strcmp(s, "error") || !strcmp(s, "ok"))
        return 1;
    if (strlen(s) != 3 || s[0] < '1' || s[0] > '5')
        return 0;
    if ((s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X'))
        return 1;
    return isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]);
}

int elaine_cli_filter_opt(elaine_cli_filter *f, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        size_t off;
    } lists[] = {
        {"--provider", offsetof(elaine_cli_filter, provider)},
        {"--model", offsetof(elaine_cli_filter, model)},
        {"--host", offsetof(elaine_cli_filter, host)},
        {"--exe", offsetof(elaine_cli_filter, exe)},
        {"--status", offsetof(elaine_cli_filter, status)},
    };
    const char *val;
    const char *flag = argv[*i];
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "--until" : "--since";
        if (!elaine_cli_arg(argc, argv, i, name, &val))
            continue;
        int64_t us;
        if (!val || elaine_cli_filter_time(val, f->now, &us) < 0) {
            fprintf(stderr, "elaine: %s needs a duration (15m, 2h) or an RFC 3339 time, not \"%s\"\n", name,
                    val ? val : "");
            return -1;
        }
        if (t)
            f->until = us;
        else
            f->since = us;
        return 1;
    }
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        if (!elaine_cli_arg(argc, argv, i, lists[k].name, &val))
            continue;
        if (!val || !*val) {
            fprintf(stderr, "elaine: %s needs a value\n", lists[k].name);
            return -1;
        }
        if (!strcmp(lists[k].name, "--status") && !status_ok(val)) {
            fprintf(stderr, "elaine: --status takes a code (429), a class (5xx), error or ok, not \"%s\"\n", val);
            return -1;
        }
        if (list_add((elaine_cli_list *)((char *)f + lists[k].off), val) < 0) {
            fprintf(stderr, "elaine: %s: %s\n", flag, strerror(ENOMEM));
            return -1;
        }
        return 1;
    }
    if (elaine_cli_arg(argc, argv, i, "--grep", &val)) {
        if (!val || !*val) {
            fprintf(stderr, "elaine: --grep needs a text\n");
            return -1;
        }
        f->grep = val;
        return 1;
    }
    return 0;
}

int elaine_cli_filter_time_ok(const elaine_cli_filter *f, int64_t ts)
{
    if (f->since == ELAINE_CLI_NO_TIME && f->until == ELAINE_CLI_NO_TIME)
        return 1;
    if (ts == ELAINE_CLI_NO_TIME)
        return 0;
    if (f->since != ELAINE_CLI_NO_TIME && ts < f->since)
        return 0;
    if (f->until != ELAINE_CLI_NO_TIME && ts >= f->until)
        return 0;
    return 1;
}

static int glob_any(const elaine_cli_list *l, const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (fnmatch(l->v[i], s, 0) == 0)
            return 1;
    return 0;
}

static int status_match(const elaine_cli_list *l, const ej_val *rec)
{
    int64_t st;
    int have = elaine_json_int(elaine_json_path(rec, "response.status"), &st) == 0;
    int failed = elaine_cli_rec_failed(rec);
    for (size_t i = 0; i < l->n; i++) {
        const char *s = l->v[i];
        if (!strcmp(s, "error")) {
            if (failed)
                return 1;
        } else if (!strcmp(s, "ok")) {
            if (!failed)
                return 1;
        } else if (have && (s[1] == 'x' || s[1] == 'X')) {
            if (st / 100 == s[0] - '0')
                return 1;
        } else if (have && st == strtol(s, NULL, 10)) {
            return 1;
        }
    }
    return 0;
}

int elaine_cli_contains(const char *h, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0)
        return 1;
    if (m > n)
        return 0;
    int c0 = tolower((unsigned char)needle[0]);
    for (size_t i = 0; i + m <= n; i++) {
        if (tolower((unsigned char)h[i]) != c0)
            continue;
        if (strncasecmp(h + i + 1, needle + 1, m - 1) == 0)
            return 1;
    }
    return 0;
}

/* Every string (values, not keys) under v. */
static int grep_value(const ej_val *v, const char *needle, int depth)
{
    if (!v || depth > 64)
        return 0;
    switch (elaine_json_type(v)) {
    case EJ_STR:
        return elaine_cli_contains(elaine_json_str(v), elaine_json_len(v), needle);
    case EJ_ARR:
    case EJ_OBJ:
        for (size_t i = 0; i < elaine_json_len(v); i++)
            if (grep_value(elaine_json_at(v, i), needle, depth + 1))
                return 1;
        return 0;
    default:
        return 0;
    }
}

int elaine_cli_filter_match(const elaine_cli_filter *f, const ej_val *rec)
{
    if (!elaine_cli_filter_time_ok(f, elaine_cli_rec_ts(rec)))
        return 0;
    if (f->provider.n && !glob_any(&f->provider, elaine_cli_rec_str(rec, "llm.provider")))
        return 0;
    if (f->model.n && !glob_any(&f->model, elaine_cli_rec_str(rec, "llm.model")) &&
        !glob_any(&f->model, elaine_cli_rec_str(rec, "llm.response_model")))
        return 0;
    if (f->host.n) {
        const char *h = elaine_cli_rec_str(rec, "host");
        int64_t port;
        char hp[512];
        int ok = glob_any(&f->host, h);
        if (!ok && h && elaine_json_int(elaine_json_get(rec, "port"), &port) == 0) {
            snprintf(hp, sizeof(hp), "%s:%lld", h, (long long)port);
            ok = glob_any(&f->host, hp);
        }
        if (!ok)
            return 0;
    }
    if (f->exe.n) {
        const char *e = elaine_cli_rec_str(rec, "exe");
        const char *base = e ? strrchr(e, '/') : NULL;
        if (!glob_any(&f->exe, e) && !glob_any(&f->exe, base ? base + 1 : NULL))
            return 0;
    }
    if (f->status.n && !status_match(&f->status, rec))
        return 0;
    if (f->grep && !grep_value(elaine_json_path(rec, "request.body"), f->grep, 0) &&
        !grep_value(elaine_json_path(rec, "llm.output_text"), f->grep, 0) &&
        !grep_value(elaine_json_path(rec, "llm.tool_calls"), f->grep, 0))
        return 0;
    return 1;
}

const char *elaine_cli_filter_needle(const elaine_cli_filter *f)
{
    if (!f->grep)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)f->grep; *p; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            return NULL; /* may be escaped in the line */
    return f->grep;
}
