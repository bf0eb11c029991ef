/* Provider fixtures as data: every tests/data/<provider>/<case>/ holds
 * request.http and response.http (the bytes as the wire carried them) and
 * expected.json (the expected llm object). Each case goes through the
 * exchange layer as synthetic shim events, whole, with the response split at
 * every byte position (the request at a moving one), one byte at a time, and
 * with 50 seeded random splittings; every key of expected.json must equal
 * the record's llm key as JSON. Pairs of fixtures (plain and streamed) give
 * the same llm.*. Also: provider detection, request hooks, the tool call
 * builder, the new llm keys under --content redacted/none, odd shapes. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elaine_provider.h"
#include "exchange_harness.h"

#define RANDOM_SPLITS 50

/* ------------------------------------------------------------ events */

/* rc: what the event with seq returned; anything but 0 is a failure. */
static void ev_ok(int rc, uint64_t seq)
{
    if (rc != 0) {
        fprintf(stderr, "[%s] elaine_exchange_event(seq %llu) = %d\n", check_case_name_,
                (unsigned long long)seq, rc);
        check_failures++;
    }
}

/* Feeds buf as Data events cut at cuts[0..ncuts) (sorted, may repeat). */
static void feed(elaine_exchange_proc *p, uint64_t *seq, int out, uint64_t *mono, const char *buf, size_t len,
                 const size_t *cuts, size_t ncuts)
{
    size_t off = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end > len)
            end = len;
        if (end > off) { /* a Data event carries at least one byte */
            ++*seq;
            *mono += MS;
            ev_ok(ev_data_full(p, *seq, 1, out, 7, *mono, buf + off, end - off), *seq);
            off = end;
        }
    }
}

typedef struct wire {
    char *req, *resp;
    size_t req_len, resp_len;
} wire;

/* Runs one exchange; returns the record line (caller frees) or NULL when
 * there was not exactly one record. */
static char *run(const wire *w, const size_t *qcuts, size_t nq, const size_t *scuts, size_t ns)
{
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    uint64_t seq = 0, mono = 1000 * MS;

    seq++;
    ev_ok(ev_open(p, seq, 1, "", 443, 1, ""), seq);
    seq++;
    ev_ok(ev_rs_full(p, seq, 1, 0, 7, WALL, mono, 0, NULL, 0), seq);
    feed(p, &seq, 1, &mono, w->req, w->req_len, qcuts, nq);
    feed(p, &seq, 0, &mono, w->resp, w->resp_len, scuts, ns);
    seq++;
    ev_ok(ev_close(p, seq, 1, (mono += MS)), seq);
    elaine_exchange_proc_free(p);
    char *line = NULL;
    if (c.n != 1) {
        fprintf(stderr, "[%s] %d records, want 1\n", check_case_name_, c.n);
    } else {
        line = c.line[0];
        c.line[0] = NULL;
    }
    cap_reset(&c);
    return line;
}

/* ------------------------------------------------------------ comparing */

static char *json_text(const ej_val *v)
{
    elaine_buf b;
    elaine_jw w;
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    elaine_jw_value(&w, v);
    return elaine_buf_take(&b);
}

/* NULL when the record matches expected, else a description (caller frees). */
static char *compare(const char *line, const ej_val *expected)
{
    elaine_buf why;
    elaine_buf_init(&why);
    ej_val *r = line ? elaine_json_parse(line, strlen(line)) : NULL;
    if (!r) {
        elaine_buf_adds(&why, line ? "the record is not JSON" : "no record");
        return elaine_buf_take(&why);
    }
    const ej_val *llm = elaine_json_get(r, "llm");
    for (size_t i = 0; i < elaine_json_len(expected); i++) {
        const char *key = elaine_json_key_at(expected, i);
        const ej_val *got = elaine_json_get(llm, key);
        char *want_s = json_text(elaine_json_at(expected, i));
        char *got_s = got ? json_text(got) : strdup("(missing)");
        if (strcmp(want_s, got_s) != 0)
            elaine_buf_addf(&why, "\n    llm.%s: got %s\n    %*s want %s", key, got_s, (int)strlen(key), "",
                            want_s);
        free(want_s);
        free(got_s);
    }
    /* the exchange completed, and a stream that generated something has a ttft */
    const ej_val *err = elaine_json_get(r, "error");
    if (!err || elaine_json_type(err) != EJ_NULL)
        elaine_buf_adds(&why, "\n    error is not null (the fixture is cut off?)");
    /* ttft needs a stream of events: SSE or NDJSON (not a JSON array) */
    const char *ct = elaine_json_str(elaine_json_path(r, "response.headers.content-type"));
    int stream = elaine_json_bool(elaine_json_get(llm, "stream")) == 1 && ct &&
                 (strstr(ct, "text/event-stream") || strstr(ct, "ndjson"));
    int generated = 0;
    static const char *const gen_keys[] = {"output_text", "reasoning_text", "tool_calls"};
    for (size_t k = 0; k < 3; k++) {
        const ej_val *v = elaine_json_get(llm, gen_keys[k]);
        generated |= v && elaine_json_len(v) > 0;
    }
    const ej_val *ttft = elaine_json_path(r, "timing.ttft_ms");
    int has_ttft = ttft && elaine_json_type(ttft) == EJ_NUM;
    if (stream && generated && !has_ttft)
        elaine_buf_adds(&why, "\n    timing.ttft_ms is null for a stream that generated content");
    if (!stream && has_ttft)
        elaine_buf_adds(&why, "\n    timing.ttft_ms is set for a response that is not an event stream");
    elaine_json_free(r);
    if (why.len == 0) {
        elaine_buf_free(&why);
        return NULL;
    }
    return elaine_buf_take(&why);
}

/* Runs and compares; prints and counts a failure (the mode says how it was split). */
static int run_check(const char *mode, const wire *w, const ej_val *expected, const size_t *qcuts, size_t nq,
                     const size_t *scuts, size_t ns)
{
    char *line = run(w, qcuts, nq, scuts, ns);
    char *why = compare(line, expected);
    free(line);
    if (!why)
        return 0;
    fprintf(stderr, "[%s] %s:%s\n", check_case_name_, mode, why);
    free(why);
    check_failures++;
    return 1;
}

/* ------------------------------------------------------------ the cases */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static size_t random_cuts(size_t *cuts, size_t max, size_t len)
{
    size_t n = len ? rng() % max + 1 : 0;
    for (size_t i = 0; i < n; i++)
        cuts[i] = rng() % (len + 1);
    qsort(cuts, n, sizeof(*cuts), cmp_size);
    return n;
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    elaine_buf b;
    elaine_buf_init(&b);
    char tmp[8192];
    size_t r;
    while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
        elaine_buf_add(&b, tmp, r);
    fclose(f);
    *len = b.len;
    *out = elaine_buf_take(&b);
    return 0;
}

static void run_case(const char *dir, const char *name)
{
    char *path;
    wire w = {0};
    char *exp_text = NULL;
    size_t exp_len = 0;
    ej_val *expected = NULL;
    CASE(name);
    static const char *const files[] = {"request.http", "response.http", "expected.json"};
    char **bufs[] = {&w.req, &w.resp, &exp_text};
    size_t *lens[] = {&w.req_len, &w.resp_len, &exp_len};
    int rc = 0;
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        if (asprintf(&path, "%s/%s", dir, files[i]) < 0)
            abort();
        rc = read_file(path, bufs[i], lens[i]);
        free(path);
    }
    if (rc == 0)
        expected = elaine_json_parse(exp_text, exp_len);
    if (rc < 0 || !expected || elaine_json_type(expected) != EJ_OBJ) {
        fprintf(stderr, "[%s] fixture incomplete or expected.json not a JSON object (%s)\n", name,
                rc < 0 ? strerror(-rc) : "parse");
        check_failures++;
        goto out;
    }
    /* whole */
    if (run_check("whole", &w, expected, NULL, 0, NULL, 0))
        goto out; /* the rest would say the same */
    /* the response split at every byte (the request at a moving position) */
    for (size_t k = 0; k <= w.resp_len; k++) {
        size_t q = k % (w.req_len + 1);
        char mode[64];
        snprintf(mode, sizeof(mode), "response split at %zu, request at %zu", k, q);
        if (run_check(mode, &w, expected, &q, 1, &k, 1))
            break;
    }
    /* one byte at a time */
    size_t *cuts = malloc((w.resp_len + w.req_len + 1) * sizeof(*cuts));
    if (cuts) {
        for (size_t k = 0; k < w.resp_len; k++)
            cuts[k] = k + 1;
        run_check("response one byte at a time", &w, expected, NULL, 0, cuts, w.resp_len);
        free(cuts);
    }
    /* random splittings, seeded per case name so that a failure reproduces alone */
    rng_state = 0x9e3779b97f4a7c15ull;
    for (const char *s = name; *s; s++)
        rng_state = (rng_state ^ (unsigned char)*s) * 0x100000001b3ull;
    if (!rng_state)
        rng_state = 1;
    for (int i = 0; i < RANDOM_SPLITS; i++) {
        size_t qc[8], sc[64];
        size_t nq = random_cuts(qc, 8, w.req_len);
        size_t ns = random_cuts(sc, 64, w.resp_len);
        char mode[64];
        snprintf(mode, sizeof(mode), "random splitting %d (%zu + %zu cuts)", i, nq, ns);
        if (run_check(mode, &w, expected, qc, nq, sc, ns))
            break;
    }
out:
    elaine_json_free(expected);
    free(exp_text);
    free(w.req);
    free(w.resp);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case directory of every provider; returns the number of cases run. */
static int test_fixtures(const char *provider)
{
    const char *data = getenv("ELAINE_TEST_DATA");
    char *dir = NULL;
    if (asprintf(&dir, "%s/%s", data && *data ? data : "tests/data", provider) < 0)
        abort();
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "opendir() \"%s\" failed: %s (is ELAINE_TEST_DATA set?)\n", dir, strerror(errno));
        check_failures++;
        free(dir);
        return 0;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256) {
        char *req = NULL;
        struct stat st;
        if (de->d_name[0] == '.' || asprintf(&req, "%s/%s/request.http", dir, de->d_name) < 0)
            continue;
        if (stat(req, &st) == 0)
            names[n++] = strdup(de->d_name);
        free(req);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *sub = NULL, *label = NULL;
        if (asprintf(&sub, "%s/%s", dir, names[i]) < 0 || asprintf(&label, "%s/%s", provider, names[i]) < 0)
            abort();
        run_case(sub, label);
        free(sub);
        free(label);
        free(names[i]);
    }
    free(dir);
    return (int)n;
}

/* The llm object of a fixture's record, run whole (caller frees), or NULL. */
static ej_val *fixture_llm(const char *rel, ej_val **rec)
{
    const char *data = getenv("ELAINE_TEST_DATA");
    wire w = {0};
    char *path;
    *rec = NULL;
    if (asprintf(&path, "%s/%s/request.http", data && *data ? data : "tests/data", rel) < 0)
        abort();
    int rc = read_file(path, &w.req, &w.req_len);
    free(path);
    if (asprintf(&path, "%s/%s/response.http", data && *data ? data : "tests/data", rel) < 0)
        abort();
    if (rc == 0)
        rc = read_file(path, &w.resp, &w.resp_len);
    free(path);
    char *line = rc == 0 ? run(&w, NULL, 0, NULL, 0) : NULL;
    if (line)
        *rec = elaine_json_parse(line, strlen(line));
    free(line);
    free(w.req);
    free(w.resp);
    return *rec ? (ej_val *)elaine_json_get(*rec, "llm") : NULL;
}

/* The same exchange plain and streamed (or streamed two ways) gives the same
 * llm.*, except llm.stream. */
static void test_pairs(void)
{
    static const char *const pairs[][2] = {
        {"openai/chat_json", "openai/chat_stream_usage"},
        {"openai/chat_tool_calls_json", "openai/chat_tool_calls_stream"},
        {"openai/responses_json", "openai/responses_stream"},
        {"anthropic/messages_json", "anthropic/messages_stream"},
        {"anthropic/tool_use_json", "anthropic/tool_use_stream"},
        {"gemini/generate_json", "gemini/stream_sse"},
        {"gemini/stream_sse", "gemini/stream_json_array"},
        {"ollama/chat_json", "ollama/chat_stream"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        CASE(pairs[i][1]);
        ej_val *ra, *rb;
        const ej_val *a = fixture_llm(pairs[i][0], &ra), *b = fixture_llm(pairs[i][1], &rb);
        CHECK(a && b && elaine_json_len(a) == elaine_json_len(b) && elaine_json_len(a) > 10);
        for (size_t k = 0; a && b && k < elaine_json_len(a); k++) {
            const char *key = elaine_json_key_at(a, k);
            if (strcmp(key, "stream") == 0)
                continue;
            char *va = json_text(elaine_json_at(a, k)), *vb = json_text(elaine_json_get(b, key));
            if (strcmp(va, vb) != 0) {
                fprintf(stderr, "[%s vs %s] llm.%s: %s != %s\n", pairs[i][0], pairs[i][1], key, va, vb);
                check_failures++;
            }
            free(va);
            free(vb);
        }
        elaine_json_free(ra);
        elaine_json_free(rb);
    }
}

/* ------------------------------------------------------------ detection */

static void test_detect(void)
{
    static const struct {
        const char *host, *method, *path, *provider, *op;
    } cases[] = {
        {"api.anthropic.com", "POST", "/v1/messages", "anthropic", "messages"},
        {"api.anthropic.com", "POST", "/v1/messages?beta=true", "anthropic", "messages"},
        {"api.deepseek.com", "POST", "/anthropic/v1/messages", "anthropic", "messages"},
        {"api.anthropic.com", "GET", "/v1/messages", NULL, NULL},
        {"api.anthropic.com", "POST", "/v1/messages/batches", NULL, NULL},
        {"api.anthropic.com", "POST", "/v1/models", NULL, NULL},
        {"api.anthropic.com", "POST", "/v1/chat/completions", "openai", "chat"}, /* its OpenAI SDK compatibility */
        {"generativelanguage.googleapis.com", "POST", "/v1beta/models/gemini-2.0-flash:generateContent",
         "gemini", "generate_content"},
        {"generativelanguage.googleapis.com", "POST",
         "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "gemini", "generate_content"},
        {"us-central1-aiplatform.googleapis.com", "POST",
         "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
         "gemini", "generate_content"},
        {"generativelanguage.googleapis.com", "POST", "/v1beta/models/text-embedding-004:embedContent", "gemini",
         "embeddings"},
        {"generativelanguage.googleapis.com", "POST", "/v1beta/models/gemini-2.0-flash:countTokens", NULL, NULL},
        {"generativelanguage.googleapis.com", "GET", "/v1beta/models", NULL, NULL},
        {"generativelanguage.googleapis.com", "POST", "/v1beta/openai/chat/completions", "openai", "chat"},
        {"generativelanguage.googleapis.com", "POST", "/v1beta/models/x:generateContent/extra", NULL, NULL},
        {"localhost", "POST", "/api/chat", "ollama", "chat"},
        {"127.0.0.1", "POST", "/api/generate", "ollama", "completion"},
        {"localhost", "POST", "/api/embed", "ollama", "embeddings"},
        {"localhost", "POST", "/api/embeddings", "ollama", "embeddings"},
        {"webui.example.com", "POST", "/ollama/api/chat", "ollama", "chat"},
        {"localhost", "POST", "/v1/chat/completions", "openai", "chat"}, /* Ollama's OpenAI-compatible API */
        {"localhost", "GET", "/api/tags", NULL, NULL},
        {"localhost", "POST", "/api/pull", NULL, NULL},
        {"openrouter.ai", "POST", "/api/v1/chat/completions", "openai", "chat"},
        {"openrouter.ai", "POST", "/api/v1/embeddings", "openai", "embeddings"},
        {"api.groq.com", "POST", "/openai/v1/chat/completions", "openai", "chat"},
        {"api.deepseek.com", "POST", "/chat/completions", "openai", "chat"},
        {"api.mistral.ai", "POST", "/v1/chat/completions", "openai", "chat"},
        {"localhost", "POST", "/completion", NULL, NULL}, /* llama.cpp's own API: not OpenAI-shaped */
        {"localhost", "POST", "/v1/completions", "openai", "completion"},
        {"x.openai.azure.com", "POST", "/openai/deployments/d/chat/completions?api-version=2024-10-21", "openai",
         "chat"},
        {"api.openai.com", "POST", "/v1/responses", "openai", "responses"},
        /* a host alone is never enough */
        {"api.anthropic.com", "POST", "/", NULL, NULL},
        {"generativelanguage.googleapis.com", "POST", "/upload/v1beta/files", NULL, NULL},
        {"localhost:11434", "POST", "/", NULL, NULL},
    };
    /* forwards, each twice (the second from the last-request cache), then
     * backwards: the same answers whatever came before */
    size_t nc = sizeof(cases) / sizeof(cases[0]);
    for (size_t k = 0; k < 3 * nc; k++) {
        size_t i = k < 2 * nc ? k / 2 : 3 * nc - 1 - k;
        elaine_llm l;
        elaine_llm_init(&l);
        CASE(cases[i].path);
        const elaine_provider *p = elaine_provider_detect(&l, cases[i].host, cases[i].method, cases[i].path);
        CHECK_STR(p ? p->name : NULL, cases[i].provider);
        CHECK_STR(l.provider, cases[i].provider);
        CHECK_STR(l.operation, cases[i].op);
        elaine_llm_free(&l);
    }
    /* the cache's key is the three strings: a boundary moved is another key */
    static const struct {
        const char *host, *method, *path, *provider;
    } keys[] = {
        {"h", "POST", "/v1/chat/completions", "openai"},
        {"h", "POST", "/v1/chat/completions?a=1", "openai"},
        {"hP", "OST", "/v1/chat/completions", NULL},
        {"h", "POS", "T/v1/chat/completions", NULL},
        {"h", "POST", "/v1/chat/completions#x", "openai"},
        {"h", "GET", "/v1/chat/completions", NULL},
        {"h", "get", "/v1/chat/completions", NULL},
        {"h", "post", "/v1/chat/completions", "openai"},
        {"h", "POST", "/v1/chat/completion", NULL},
        {"h", "POST", "/", NULL},
        {"h", "POST", "", NULL},
        {"h", "POST", "?/v1/chat/completions", NULL},
        {"h", "POST", "/api/chat", "ollama"},
        {"h", "POST", "/api/chat", "ollama"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        elaine_llm l;
        elaine_llm_init(&l);
        CASE(keys[i].path);
        const elaine_provider *p = elaine_provider_detect(&l, keys[i].host, keys[i].method, keys[i].path);
        CHECK_STR(p ? p->name : NULL, keys[i].provider);
        CHECK_STR(l.provider, keys[i].provider);
        elaine_llm_free(&l);
    }
    char longpath[600];
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath + sizeof(longpath) - 21, "/v1/chat/completions", 21);
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("a path longer than the cache's key");
    for (int i = 0; i < 2; i++)
        CHECK(elaine_provider_detect(&l, "h", "POST", longpath) == &elaine_provider_openai);
    CHECK_STR(l.operation, "chat");
    elaine_llm_free(&l);
}

/* Request hooks: models from the path (Gemini, Azure), stream defaults. */
static void test_requests(void)
{
    static const struct {
        const char *path, *body, *model;
        int stream;
    } cases[] = {
        {"/v1beta/models/gemini-2.0-flash:generateContent", "{}", "gemini-2.0-flash", 0},
        {"/v1beta/models/gemini-2.0-flash:streamGenerateContent", "{\"model\":\"x\"}", "gemini-2.0-flash", 1},
        {"/v1/projects/p/locations/l/publishers/google/models/gemini-1.5-pro-002:streamGenerateContent", NULL,
         "gemini-1.5-pro-002", 1},
        {"/v1beta/tunedModels/my-tuned:generateContent", "{}", "my-tuned", 0},
        {"/api/chat", "{\"model\":\"llama3.2\"}", "llama3.2", 1},
        {"/api/chat", "{\"model\":\"llama3.2\",\"stream\":false}", "llama3.2", 0},
        {"/api/generate", "{\"model\":\"llama3.2\",\"stream\":true}", "llama3.2", 1},
        {"/api/embed", "{\"model\":\"all-minilm\"}", "all-minilm", 0},
        {"/v1/messages", "{\"model\":\"claude-3-5-haiku-latest\"}", "claude-3-5-haiku-latest", 0},
        {"/v1/messages", "{\"model\":\"claude-3-5-haiku-latest\",\"stream\":true}", "claude-3-5-haiku-latest", 1},
        {"/openai/deployments/prod-4o/chat/completions", "{\"messages\":[]}", "prod-4o", 0},
        {"/openai/deployments/prod-4o/chat/completions", "{\"model\":\"gpt-4o\"}", "gpt-4o", 0},
        {"/openai/deployments//chat/completions", "{}", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        elaine_llm l;
        elaine_llm_init(&l);
        CASE(cases[i].path);
        const elaine_provider *p = elaine_provider_detect(&l, "h", "POST", cases[i].path);
        CHECK(p != NULL);
        ej_val *b = cases[i].body ? elaine_json_parse(cases[i].body, strlen(cases[i].body)) : NULL;
        if (p)
            p->request(&l, cases[i].path, b);
        CHECK_STR(l.model, cases[i].model);
        CHECK_INT(l.stream, cases[i].stream);
        elaine_json_free(b);
        elaine_llm_free(&l);
    }
}

/* ------------------------------------------------------------ builder, record keys */

static void test_tool_call_builder(void)
{
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("tool call builder");
    elaine_tool_call *a = elaine_llm_tool_call(&l, 0);
    elaine_tool_call *b = elaine_llm_tool_call(&l, 3);
    CHECK(a && b && a != b);
    CHECK(elaine_llm_tool_call(&l, 0) == &l.tool_calls[0]); /* the same index: the same call */
    for (int i = 0; i < 10; i++)                              /* growth keeps earlier calls */
        CHECK(elaine_llm_tool_call(&l, -1) != NULL);
    CHECK_INT(l.n_tool_calls, 12);
    CHECK(elaine_llm_tool_call(&l, 3) == &l.tool_calls[1]);
    ej_val *obj = elaine_json_parse("{\"a\": [1, 2.50, \"x\"]}", 21);
    ej_val *s1 = elaine_json_parse("\"{\\\"q\\\":\"", 9);
    ej_val *s2 = elaine_json_parse("\"1}\"", 4);
    ej_val *empty = elaine_json_parse("\"\"", 2);
    elaine_tool_call *t = &l.tool_calls[0];
    elaine_tool_call_set_args(t, obj);
    CHECK_STR(t->arguments.p, "{\"a\":[1,2.50,\"x\"]}");
    t->seeded = 1; /* a start value: the first non-empty delta replaces it */
    CHECK_INT(elaine_tool_call_add_args(t, empty), 0);
    CHECK_STR(t->arguments.p, "{\"a\":[1,2.50,\"x\"]}");
    CHECK_INT(elaine_tool_call_add_args(t, s1), 1);
    CHECK_INT(elaine_tool_call_add_args(t, s2), 1);
    CHECK_STR(t->arguments.p, "{\"q\":1}");
    CHECK_INT(elaine_tool_call_add_args(t, obj), 0); /* not a string: ignored */
    CHECK_INT(elaine_tool_call_add_args(NULL, s1), 0);
    elaine_tool_call_set_args(t, s2); /* a string is the JSON text itself */
    CHECK_STR(t->arguments.p, "1}");
    elaine_json_free(obj);
    elaine_json_free(s1);
    elaine_json_free(s2);
    elaine_json_free(empty);
    elaine_llm_free(&l);
    CHECK(l.tool_calls == NULL && l.n_tool_calls == 0);
}

/* Compatible servers that leave out "index" in tool call deltas: by id, else the latest call. */
static void test_deltas_without_index(void)
{
    static const char *const ev[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"x\\\":\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"1}\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"g\","
        "\"arguments\":\"{}\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"arguments\":\"\"}}]},"
        "\"finish_reason\":\"tool_calls\"}]}",
    };
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("tool call deltas without index");
    CHECK(elaine_provider_detect(&l, "h", "POST", "/v1/chat/completions") == &elaine_provider_openai);
    int gen = 0;
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
        gen += elaine_provider_openai.stream_event(&l, "", ev[i], strlen(ev[i]));
    CHECK_INT(gen, 3);
    CHECK_INT(l.n_tool_calls, 2);
    if (l.n_tool_calls == 2) {
        CHECK_STR(l.tool_calls[0].id, "a");
        CHECK_STR(l.tool_calls[0].name, "f");
        CHECK_STR(l.tool_calls[0].arguments.p, "{\"x\":1}");
        CHECK_STR(l.tool_calls[1].id, "b");
        CHECK_STR(l.tool_calls[1].arguments.p, "{}");
    }
    CHECK_STR(l.finish_reason, "tool_calls");
    CHECK(!l.has_output_text);
    elaine_llm_free(&l);
}

static char *record_llm(const elaine_llm *l, enum elaine_content content)
{
    elaine_xrec x;
    memset(&x, 0, sizeof(x));
    elaine_record_msg_init(&x.req);
    elaine_record_msg_init(&x.resp);
    x.llm = *l;
    x.ttfb_ms = x.ttft_ms = x.duration_ms = -1;
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_exchange(&b, &x, content);
    ej_val *r = elaine_json_parse(b.p, b.len);
    CHECK(r != NULL);
    char *s = json_text(elaine_json_get(r, "llm"));
    elaine_json_free(r);
    elaine_buf_free(&b);
    return s;
}

static void test_record_keys(void)
{
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("record: new llm keys, null when absent");
    l.provider = "anthropic";
    l.operation = "messages";
    char *s = record_llm(&l, ELAINE_CONTENT_FULL);
    CHECK_STR(s, "{\"provider\":\"anthropic\",\"operation\":\"messages\",\"model\":null,\"response_model\":null,"
                 "\"stream\":null,\"input_tokens\":null,\"output_tokens\":null,\"total_tokens\":null,"
                 "\"cached_input_tokens\":null,\"reasoning_tokens\":null,\"finish_reason\":null,"
                 "\"output_text\":null,\"reasoning_text\":null,\"tool_calls\":null,\"error_type\":null,"
                 "\"error_message\":null}");
    free(s);

    l.cached_input_tokens = 5;
    l.reasoning_tokens = 0;
    elaine_buf_adds(&l.reasoning_text, "mail bob@example.com");
    l.has_reasoning_text = 1;
    elaine_tool_call *t = elaine_llm_tool_call(&l, 1);
    t->id = strdup("toolu_1");
    t->name = strdup("send");
    elaine_buf_adds(&t->arguments, "{\"to\": \"bob@example.com\", \"n\": 1.50}");
    t = elaine_llm_tool_call(&l, 2);
    t->name = strdup("cut");
    elaine_buf_adds(&t->arguments, "{\"to\": \"bob@example.com\", \"x"); /* a stream cut off */
    elaine_llm_tool_call(&l, 3);                      /* no id, name, arguments */
    l.error_type = strdup("overloaded_error");
    l.error_message = strdup("key sk-abcdefghijklmnopqrstuv is over quota");

    CASE("record: content full");
    s = record_llm(&l, ELAINE_CONTENT_FULL);
    CHECK(strstr(s, "\"cached_input_tokens\":5,\"reasoning_tokens\":0") != NULL);
    CHECK(strstr(s, "\"reasoning_text\":\"mail bob@example.com\"") != NULL);
    CHECK(strstr(s, "\"tool_calls\":[{\"id\":\"toolu_1\",\"name\":\"send\",\"arguments\":{\"to\":\"bob@example.com\","
                    "\"n\":1.50}},{\"id\":null,\"name\":\"cut\",\"arguments\":\"{\\\"to\\\": \\\"bob@example.com\\\", \\\"x\"},"
                    "{\"id\":null,\"name\":null,\"arguments\":null}]") != NULL);
    CHECK(strstr(s, "\"error_type\":\"overloaded_error\",\"error_message\":\"key sk-abcdefghijklmnopqrstuv is over "
                    "quota\"") != NULL);
    free(s);

    CASE("record: content redacted");
    s = record_llm(&l, ELAINE_CONTENT_REDACTED);
    CHECK(strstr(s, "bob@") == NULL && strstr(s, "sk-abc") == NULL);
    CHECK(strstr(s, "\"reasoning_text\":\"mail [REDACTED:email]\"") != NULL);
    CHECK(strstr(s, "\"arguments\":{\"to\":\"[REDACTED:email]\",\"n\":1.50}") != NULL);
    CHECK(strstr(s, "\"error_message\":\"key [REDACTED:openai_key] is over quota\"") != NULL);
    free(s);

    CASE("record: content none");
    s = record_llm(&l, ELAINE_CONTENT_NONE);
    CHECK(strstr(s, "bob") == NULL);
    CHECK(strstr(s, "\"reasoning_text\":null") != NULL);
    CHECK(strstr(s, "{\"id\":\"toolu_1\",\"name\":\"send\",\"arguments\":null}") != NULL);
    CHECK(strstr(s, "\"error_type\":\"overloaded_error\"") != NULL);
    free(s);

    CASE("record: not an LLM call");
    l.provider = NULL;
    s = record_llm(&l, ELAINE_CONTENT_FULL);
    CHECK(strstr(s, "\"tool_calls\":null") && strstr(s, "\"error_type\":null") &&
          strstr(s, "\"cached_input_tokens\":null") && strstr(s, "\"reasoning_text\":null"));
    free(s);
    elaine_llm_free(&l);
}

/* ------------------------------------------------------------ odd shapes */

/* Wrong types and shapes everywhere: nothing is taken, nothing crashes (run under valgrind). */
static void test_odd_shapes(void)
{
    static const char *const odd[] = {
        "null", "[]", "[null,1,\"x\",{}]", "7", "\"text\"", "{}", "{\"type\":7}",
        "{\"error\":null}", "{\"error\":[1]}", "{\"error\":{\"type\":[],\"message\":{}}}",
        "{\"type\":\"message_start\",\"message\":[]}",
        "{\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{\"type\":\"tool_use\",\"input\":7}}",
        "{\"type\":\"content_block_start\",\"index\":\"0\",\"content_block\":null}",
        "{\"type\":\"content_block_delta\",\"index\":99999999999999999999,\"delta\":{\"type\":\"input_json_delta\"}}",
        "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":null}}",
        "{\"type\":\"message_delta\",\"delta\":null,\"usage\":{\"output_tokens\":-5,\"input_tokens\":1.5}}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[null,7,{\"index\":-2},{\"function\":[]}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":{}},\"finish_reason\":7}]}",
        "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":{}}}]}}]}",
        "{\"type\":\"response.output_item.added\",\"output_index\":-1,\"item\":{\"type\":\"function_call\"}}",
        "{\"type\":\"response.function_call_arguments.delta\",\"output_index\":0,\"delta\":[]}",
        "{\"type\":\"response.completed\",\"response\":{\"output\":{},\"usage\":[]}}",
        "{\"type\":\"error\"}",
        "{\"candidates\":{}}", "{\"candidates\":[{\"content\":{\"parts\":{}}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[null,{\"functionCall\":7},{\"thought\":\"yes\",\"text\":1}]}}]}",
        "{\"usageMetadata\":{\"promptTokenCount\":\"8\",\"candidatesTokenCount\":-1}}",
        "{\"message\":7,\"response\":[],\"done_reason\":false}",
        "{\"message\":{\"tool_calls\":[{\"function\":null}]}}",
        "{\"error\":\"\"}",
    };
    static const struct {
        const char *path;
    } paths[] = {{"/v1/chat/completions"}, {"/v1/completions"}, {"/v1/responses"}, {"/v1/embeddings"},
                 {"/v1/messages"}, {"/v1beta/models/m:streamGenerateContent"}, {"/api/chat"},
                 {"/api/generate"}, {"/api/embed"}};
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        elaine_llm l;
        elaine_llm_init(&l);
        CASE(paths[k].path);
        const elaine_provider *p = elaine_provider_detect(&l, "h", "POST", paths[k].path);
        CHECK(p != NULL);
        if (!p)
            continue;
        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
            ej_val *v = elaine_json_parse(odd[i], strlen(odd[i]));
            CHECK(v != NULL);
            p->request(&l, paths[k].path, v);
            p->response(&l, 200, v);
            p->response(&l, 500, v);
            p->stream_event(&l, "", odd[i], strlen(odd[i]));
            p->stream_event(&l, "error", odd[i], strlen(odd[i]));
            elaine_json_free(v);
        }
        p->request(&l, paths[k].path, NULL);
        p->response(&l, 200, NULL);
        p->response(&l, 502, NULL);
        p->stream_event(&l, "", "not json", 8);
        p->stream_event(&l, "", "", 0);
        elaine_llm_finish(&l);
        /* what the odd shapes may have set is written as valid JSON */
        char *s = record_llm(&l, ELAINE_CONTENT_FULL);
        CHECK(s && s[0] == '{');
        free(s);
        CHECK(l.input_tokens == -1 && l.output_tokens == -1);
        elaine_llm_free(&l);
    }
}

int main(void)
{
    test_detect();
    test_requests();
    test_tool_call_builder();
    test_deltas_without_index();
    test_record_keys();
    test_odd_shapes();
    test_pairs();
    static const char *const providers[] = {"openai", "anthropic", "gemini", "ollama"};
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        int n = test_fixtures(providers[i]);
        CASE(providers[i]);
        CHECK(n >= 4); /* the fixtures are there */
        printf("%s: %d cases\n", providers[i], n);
    }
    return check_done("test_providers");
}
