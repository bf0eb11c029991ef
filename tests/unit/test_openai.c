/* OpenAI extractor and provider detection: operations by path, request and
 * response fields, streamed chunks with and without usage, errors; the wire
 * fixtures in tests/data/openai go through http1 (+gzip) + sse + the
 * provider, whole, split at every byte and one byte at a time. */
#include <stdint.h>
#include <zlib.h>

#include "check.h"
#include "elaine_decode.h"
#include "elaine_http1.h"
#include "elaine_provider.h"
#include "elaine_sse.h"

/* ------------------------------------------------------------ helpers */

static char *summary(const elaine_llm *l)
{
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_buf_addf(&b, "provider=%s op=%s model=%s rmodel=%s id=%s finish=%s stream=%d in=%lld out=%lld total=%lld",
                    l->provider ? l->provider : "null", l->operation ? l->operation : "null",
                    l->model ? l->model : "null", l->response_model ? l->response_model : "null",
                    l->response_id ? l->response_id : "null", l->finish_reason ? l->finish_reason : "null",
                    l->stream, (long long)l->input_tokens, (long long)l->output_tokens, (long long)l->total_tokens);
    if (l->has_output_text)
        elaine_buf_addf(&b, " text=[%s]", l->output_text.p ? l->output_text.p : "");
    else
        elaine_buf_adds(&b, " text=null");
    return elaine_buf_take(&b);
}

static void check_llm(const char *name, const elaine_llm *l, const char *want)
{
    CASE(name);
    char *s = summary(l);
    CHECK_STR(s, want);
    free(s);
}

static ej_val *load_json(const char *rel)
{
    size_t n;
    char *s = check_read_data(rel, &n);
    ej_val *v = elaine_json_parse(s, n);
    free(s);
    if (!v) {
        fprintf(stderr, "fixture %s is not JSON\n", rel);
        check_failures++;
    }
    return v;
}

/* ------------------------------------------------------------ pipeline */

typedef struct exch {
    elaine_llm l;
    const elaine_provider *prov;
    elaine_buf body;
    int status;
    int is_sse;
    elaine_sse *sse;
    elaine_decoder *dec;
    int events;
    int ttft_event; /* index of the first event with generated content, -1 none */
    int req_done, resp_done;
} exch;

static void on_sse(void *ud, const char *event, const char *data, size_t n)
{
    exch *x = ud;
    if (x->prov && x->prov->stream_event(&x->l, event, data, n) && x->ttft_event < 0)
        x->ttft_event = x->events;
    x->events++;
}

static int req_head(void *ud, const elaine_http_head *h)
{
    exch *x = ud;
    x->prov = elaine_provider_detect(&x->l, elaine_http_head_get(h, "host"), h->method, h->target);
    return 0;
}

static void body_bytes(void *ud, const uint8_t *p, size_t n)
{
    exch *x = ud;
    elaine_buf_add(&x->body, p, n);
}

static void req_done(void *ud)
{
    exch *x = ud;
    ej_val *v = elaine_json_parse(x->body.p, x->body.len);
    if (x->prov)
        x->prov->request(&x->l, "", v);
    elaine_json_free(v);
    elaine_buf_reset(&x->body);
    x->req_done++;
}

static int resp_head(void *ud, const elaine_http_head *h)
{
    exch *x = ud;
    const char *ct = elaine_http_head_get(h, "content-type");
    x->status = h->status;
    x->is_sse = ct && strstr(ct, "text/event-stream") != NULL;
    if (x->is_sse)
        x->sse = elaine_sse_new(on_sse, x);
    x->dec = elaine_decoder_new(elaine_http_head_get(h, "content-encoding"));
    return 0;
}

static void resp_body(void *ud, const uint8_t *p, size_t n)
{
    exch *x = ud;
    elaine_buf plain;
    elaine_buf_init(&plain);
    if (x->dec) {
        CHECK(elaine_decoder_feed(x->dec, p, n, &plain, SIZE_MAX) == 0);
        p = (const uint8_t *)plain.p;
        n = plain.len;
    }
    if (x->sse)
        elaine_sse_feed(x->sse, (const char *)p, n);
    else
        elaine_buf_add(&x->body, p, n);
    elaine_buf_free(&plain);
}

static void resp_done(void *ud)
{
    exch *x = ud;
    if (x->dec) {
        CHECK(elaine_decoder_finish(x->dec) == 0);
        elaine_decoder_free(x->dec);
        x->dec = NULL;
    }
    if (x->sse) {
        elaine_sse_finish(x->sse);
        elaine_sse_free(x->sse);
        x->sse = NULL;
    } else if (x->prov) {
        ej_val *v = elaine_json_parse(x->body.p, x->body.len);
        x->prov->response(&x->l, x->status, v);
        elaine_json_free(v);
    }
    elaine_llm_finish(&x->l);
    x->resp_done++;
}

static void feed_sliced(elaine_http1 *p, const elaine_buf *in, size_t cut, size_t step)
{
    size_t off = 0;
    while (off < in->len) {
        size_t len = step ? step : (off < cut ? cut - off : in->len - off);
        if (off + len > in->len)
            len = in->len - off;
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)in->p + off, len), 0);
        off += len;
    }
}

/* One exchange; returns its summary plus the ttft event index. */
static char *run_exchange(const elaine_buf *req, const elaine_buf *resp, size_t cut, size_t step)
{
    exch x;
    memset(&x, 0, sizeof(x));
    elaine_llm_init(&x.l);
    elaine_buf_init(&x.body);
    x.ttft_event = -1;
    elaine_http1_cb rq = {&x, req_head, body_bytes, req_done};
    elaine_http1_cb rs = {&x, resp_head, resp_body, resp_done};
    elaine_http1 *pq = elaine_http1_new(1, &rq);
    elaine_http1 *ps = elaine_http1_new(0, &rs);
    feed_sliced(pq, req, cut < req->len ? cut : req->len, step);
    elaine_buf_reset(&x.body);
    feed_sliced(ps, resp, cut, step);
    CHECK_INT(elaine_http1_eof(ps), 0);
    char *s = summary(&x.l);
    elaine_buf out;
    elaine_buf_init(&out);
    elaine_buf_addf(&out, "%s ttft_event=%d events=%d done=%d/%d", s, x.ttft_event, x.events, x.req_done,
                    x.resp_done);
    free(s);
    elaine_http1_free(pq);
    elaine_http1_free(ps);
    elaine_sse_free(x.sse);
    elaine_decoder_free(x.dec);
    elaine_buf_free(&x.body);
    elaine_llm_free(&x.l);
    return elaine_buf_take(&out);
}

static void check_exchange(const char *name, const elaine_buf *req, const elaine_buf *resp, const char *want)
{
    CASE(name);
    size_t maxn = req->len > resp->len ? req->len : resp->len;
    char *got = run_exchange(req, resp, SIZE_MAX, 0);
    CHECK_STR(got, want);
    free(got);
    for (size_t cut = 0; cut <= maxn; cut++) {
        got = run_exchange(req, resp, cut, 0);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "[%s] split at %zu differs:\n%s\n", name, cut, got);
            check_failures++;
            free(got);
            break;
        }
        free(got);
    }
    got = run_exchange(req, resp, 0, 1);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "[%s] one-byte slices differ:\n%s\n", name, got);
        check_failures++;
    }
    free(got);
}

static void make_request(elaine_buf *out, const char *host, const char *target, const char *fixture)
{
    size_t n;
    char *body = check_read_data(fixture, &n);
    elaine_buf_addf(out,
                    "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer sk-test\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                    target, host, n);
    elaine_buf_add(out, body, n);
    free(body);
}

/* A streamed response the way the API sends it: chunked, one chunk per event. */
static void make_stream_response(elaine_buf *out, const char *fixture)
{
    size_t n;
    char *body = check_read_data(fixture, &n);
    elaine_buf_adds(out, "HTTP/1.1 200 OK\r\nDate: Mon, 10 Mar 2025 01:31:23 GMT\r\n"
                         "Content-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
                         "Connection: keep-alive\r\nopenai-processing-ms: 112\r\n\r\n");
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *sep = strstr(p, "\n\n");
        size_t l = sep ? (size_t)(sep - p) + 2 : (size_t)(end - p);
        elaine_buf_addf(out, "%zx\r\n", l);
        elaine_buf_add(out, p, l);
        elaine_buf_adds(out, "\r\n");
        p += l;
    }
    elaine_buf_adds(out, "0\r\n\r\n");
    free(body);
}

/* A JSON response, gzip-encoded with Content-Length when gzip is set. */
static void make_json_response(elaine_buf *out, int status, const char *fixture, int gzip)
{
    size_t n;
    char *body = check_read_data(fixture, &n);
    elaine_buf enc;
    elaine_buf_init(&enc);
    if (gzip) {
        z_stream z;
        unsigned char tmp[4096];
        memset(&z, 0, sizeof(z));
        deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)body;
        z.avail_in = (uInt)n;
        int r;
        do {
            z.next_out = tmp;
            z.avail_out = sizeof(tmp);
            r = deflate(&z, Z_FINISH);
            elaine_buf_add(&enc, tmp, sizeof(tmp) - z.avail_out);
        } while (r == Z_OK);
        deflateEnd(&z);
    } else {
        elaine_buf_add(&enc, body, n);
    }
    elaine_buf_addf(out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n", status,
                    status == 200 ? "OK" : "Unauthorized", gzip ? "Content-Encoding: gzip\r\n" : "", enc.len);
    elaine_buf_add(out, enc.p, enc.len);
    elaine_buf_free(&enc);
    free(body);
}

/* ------------------------------------------------------------ tests */

static void test_detect(void)
{
    static const struct {
        const char *host, *method, *path, *op;
    } cases[] = {
        {"api.openai.com", "POST", "/v1/chat/completions", "chat"},
        {"myres.openai.azure.com", "POST", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "chat"},
        {"openrouter.ai", "POST", "/api/v1/chat/completions", "chat"},
        {"localhost:11434", "POST", "/v1/chat/completions/", "chat"},
        {NULL, "POST", "/v1/chat/completions", "chat"},
        {"api.openai.com", "POST", "/v1/completions", "completion"},
        {"api.openai.com", "POST", "/v1/embeddings", "embeddings"},
        {"api.openai.com", "POST", "/v1/responses", "responses"},
        {"api.openai.com", "POST", "/v1/responses?x=1#f", "responses"},
        {"api.openai.com", "GET", "/v1/models", NULL},
        {"api.openai.com", "GET", "/v1/models/gpt-4o", NULL},
        {"api.openai.com", "GET", "/v1/chat/completions", NULL},
        {"api.openai.com", "POST", "/v1/chat/completionsX", NULL},
        {"api.openai.com", "POST", "/v1/files", NULL},
        {"api.openai.com", "POST", "/v1/responses/resp_123/cancel", NULL},
        {"api.openai.com", "POST", "/v1/chat/completions_x?y=/chat/completions", NULL},
        /* other providers' paths: see test_providers */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        elaine_llm l;
        elaine_llm_init(&l);
        CASE(cases[i].path);
        const elaine_provider *p = elaine_provider_detect(&l, cases[i].host, cases[i].method, cases[i].path);
        if (cases[i].op) {
            CHECK(p == &elaine_provider_openai);
            CHECK_STR(l.provider, "openai");
            CHECK_STR(l.operation, cases[i].op);
        } else {
            CHECK(p == NULL);
            CHECK(l.provider == NULL && l.operation == NULL);
        }
        elaine_llm_free(&l);
    }
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("detect with NULL path");
    CHECK(elaine_provider_detect(&l, "api.openai.com", "POST", NULL) == NULL);
    elaine_llm_free(&l);
}

static void test_request(void)
{
    const elaine_provider *p = &elaine_provider_openai;
    elaine_llm l;

    elaine_llm_init(&l);
    ej_val *v = load_json("openai/chat_request.json");
    p->request(&l, "/v1/chat/completions", v);
    check_llm("request without stream", &l,
              "provider=null op=null model=gpt-4o-mini rmodel=null id=null finish=null stream=0 in=-1 out=-1 "
              "total=-1 text=null");
    elaine_json_free(v);
    elaine_llm_free(&l);

    elaine_llm_init(&l);
    v = load_json("openai/chat_request_stream.json");
    p->request(&l, "/v1/chat/completions", v);
    CASE("request with stream");
    CHECK_INT(l.stream, 1);
    CHECK_STR(l.model, "gpt-4o-mini");
    elaine_json_free(v);
    elaine_llm_free(&l);

    elaine_llm_init(&l);
    p->request(&l, "/v1/chat/completions", NULL);
    CASE("request not JSON");
    CHECK_INT(l.stream, -1);
    CHECK(l.model == NULL);
    v = elaine_json_parse("[1,2]", 5);
    p->request(&l, "/v1/chat/completions", v);
    CHECK_INT(l.stream, -1);
    elaine_json_free(v);
    v = elaine_json_parse("{\"model\":7,\"stream\":\"yes\"}", 26);
    p->request(&l, "/v1/chat/completions", v);
    CASE("request with odd types");
    CHECK(l.model == NULL);
    CHECK_INT(l.stream, 0);
    elaine_json_free(v);
    elaine_llm_free(&l);
}

static void run_response(const char *name, const char *op, const char *fixture, int status, const char *want)
{
    elaine_llm l;
    elaine_llm_init(&l);
    l.provider = "openai";
    l.operation = op;
    ej_val *v = load_json(fixture);
    elaine_provider_openai.response(&l, status, v);
    elaine_llm_finish(&l);
    check_llm(name, &l, want);
    elaine_json_free(v);
    elaine_llm_free(&l);
}

static void test_responses(void)
{
    run_response("chat response", "chat", "openai/chat_response.json", 200,
                 "provider=openai op=chat model=null rmodel=gpt-4o-mini-2024-07-18 "
                 "id=chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT finish=stop stream=-1 in=19 out=10 total=29 "
                 "text=[Hello! How can I assist you today?]");
    run_response("tool calls: content null", "chat", "openai/chat_response_tool_calls.json", 200,
                 "provider=openai op=chat model=null rmodel=gpt-4o-mini-2024-07-18 id=chatcmpl-abc123 "
                 "finish=tool_calls stream=-1 in=82 out=17 total=99 text=null");
    run_response("error body", "chat", "openai/error_401.json", 401,
                 "provider=openai op=chat model=null rmodel=null id=null finish=null stream=-1 in=-1 out=-1 "
                 "total=-1 text=null");
    run_response("legacy completion", "completion", "openai/completion_response.json", 200,
                 "provider=openai op=completion model=null rmodel=gpt-3.5-turbo-instruct "
                 "id=cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7 finish=length stream=-1 in=5 out=7 total=12 "
                 "text=[\n\nThis is indeed a test]");
    run_response("embeddings", "embeddings", "openai/embeddings_response.json", 200,
                 "provider=openai op=embeddings model=null rmodel=text-embedding-3-small id=null finish=null "
                 "stream=-1 in=8 out=-1 total=8 text=null");

    elaine_llm l;
    elaine_llm_init(&l);
    l.operation = "chat";
    CASE("response not JSON / odd shapes");
    elaine_provider_openai.response(&l, 502, NULL);
    const char *odd[] = {"[]", "{\"choices\":{}}", "{\"choices\":[null]}", "{\"choices\":[{\"message\":7}]}",
                         "{\"usage\":[1]}", "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":1.5}}",
                         "{\"choices\":[{\"index\":1,\"message\":{\"content\":\"x\"}}]}"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        ej_val *v = elaine_json_parse(odd[i], strlen(odd[i]));
        CHECK(v != NULL);
        elaine_provider_openai.response(&l, 200, v);
        elaine_json_free(v);
    }
    elaine_llm_finish(&l);
    check_llm("odd shapes leave nulls", &l,
              "provider=null op=chat model=null rmodel=null id=null finish=null stream=-1 in=-1 out=-1 total=-1 "
              "text=null");
    elaine_llm_free(&l);

    /* the details objects: chat names, Responses names (later ones win when
     * valid), first of duplicate keys, non-objects and wrong types ignored */
    {
        static const struct {
            const char *usage;
            long long cached, reasoning;
        } du[] = {
            {"{\"prompt_tokens_details\":{\"cached_tokens\":5},"
             "\"completion_tokens_details\":{\"reasoning_tokens\":7}}", 5, 7},
            {"{\"input_tokens_details\":{\"cached_tokens\":3},"
             "\"output_tokens_details\":{\"reasoning_tokens\":4}}", 3, 4},
            {"{\"prompt_tokens_details\":{\"cached_tokens\":5},\"input_tokens_details\":{\"cached_tokens\":6},"
             "\"completion_tokens_details\":{\"reasoning_tokens\":7},"
             "\"output_tokens_details\":{\"reasoning_tokens\":-1}}", 6, 7},
            {"{\"prompt_tokens_details\":{\"cached_tokens\":1,\"cached_tokens\":2},"
             "\"prompt_tokens_details\":{\"cached_tokens\":9}}", 1, -1},
            {"{\"prompt_tokens_details\":[5],\"completion_tokens_details\":{\"reasoning_tokens\":\"7\"}}", -1, -1},
            {"{\"prompt_tokens_details\":{\"cached_tokens\\u0000\":5},"
             "\"completion_tokens_details\\u0000\":{\"reasoning_tokens\":7}}", -1, -1},
            {"{\"prompt_tokens_details\":{\"cached_token\":5,\"Cached_tokens\":6},"
             "\"completion_tokens_detail\":{\"reasoning_tokens\":7}}", -1, -1},
        };
        for (size_t i = 0; i < sizeof(du) / sizeof(du[0]); i++) {
            CASE(du[i].usage);
            elaine_buf jb;
            elaine_buf_init(&jb);
            elaine_buf_addf(&jb, "{\"usage\":%s}", du[i].usage);
            ej_val *dv = elaine_json_parse(jb.p, jb.len);
            CHECK(dv != NULL);
            static const char *const ops[] = {"chat", "responses"};
            for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
                elaine_llm_init(&l);
                l.operation = ops[o];
                elaine_provider_openai.response(&l, 200, dv);
                CHECK_INT(l.cached_input_tokens, du[i].cached);
                CHECK_INT(l.reasoning_tokens, du[i].reasoning);
                elaine_llm_free(&l);
            }
            elaine_json_free(dv);
            elaine_buf_free(&jb);
        }
    }

    /* Responses API, minimal */
    elaine_llm_init(&l);
    l.operation = "responses";
    const char *r = "{\"id\":\"resp_67ccd2bed1ec8190\",\"object\":\"response\",\"status\":\"completed\","
                    "\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\","
                    "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
                    "\"text\":\"In a peaceful grove\",\"annotations\":[]}]}],"
                    "\"usage\":{\"input_tokens\":36,\"output_tokens\":87,\"total_tokens\":123}}";
    ej_val *v = elaine_json_parse(r, strlen(r));
    elaine_provider_openai.response(&l, 200, v);
    elaine_json_free(v);
    check_llm("responses API", &l,
              "provider=null op=responses model=null rmodel=gpt-4.1-2025-04-14 id=resp_67ccd2bed1ec8190 "
              "finish=completed stream=-1 in=36 out=87 total=123 text=[In a peaceful grove]");
    elaine_llm_free(&l);
}

static void test_stream_events(void)
{
    elaine_llm l;
    const elaine_provider *p = &elaine_provider_openai;

    CASE("stream events directly");
    elaine_llm_init(&l);
    l.operation = "chat";
    CHECK_INT(p->stream_event(&l, "", "[DONE]", 6), 0);
    CHECK_INT(p->stream_event(&l, "", "not json", 8), 0);
    const char *err = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}";
    CHECK_INT(p->stream_event(&l, "", err, strlen(err)), 0);
    CHECK(!l.has_output_text);
    const char *c1 = "{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                     "\"content\":\"\"},\"finish_reason\":null}]}";
    CHECK_INT(p->stream_event(&l, "", c1, strlen(c1)), 0);
    CHECK(l.has_output_text);
    /* n=2: choices interleave; only index 0 is the output */
    const char *c2 = "{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"},"
                     "\"finish_reason\":null}]}";
    CHECK_INT(p->stream_event(&l, "", c2, strlen(c2)), 0);
    const char *c3 = "{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"},"
                     "\"finish_reason\":\"length\"}]}";
    CHECK_INT(p->stream_event(&l, "", c3, strlen(c3)), 1);
    const char *c4 = "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[]},\"finish_reason\":null}]}";
    CHECK_INT(p->stream_event(&l, "", c4, strlen(c4)), 0);
    elaine_llm_finish(&l);
    check_llm("stream events directly", &l,
              "provider=null op=chat model=null rmodel=m id=c1 finish=length stream=-1 in=-1 out=-1 total=-1 text=[A]");
    elaine_llm_free(&l);

    /* legacy completions stream */
    elaine_llm_init(&l);
    l.operation = "completion";
    const char *t1 = "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"gpt-3.5-turbo-instruct\","
                     "\"choices\":[{\"text\":\"Hi\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}";
    const char *t2 = "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"gpt-3.5-turbo-instruct\","
                     "\"choices\":[{\"text\":\" there\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}";
    CASE("legacy completion stream");
    CHECK_INT(p->stream_event(&l, "", t1, strlen(t1)), 1);
    CHECK_INT(p->stream_event(&l, "", t2, strlen(t2)), 1);
    check_llm("legacy completion stream", &l,
              "provider=null op=completion model=null rmodel=gpt-3.5-turbo-instruct id=cmpl-1 finish=stop "
              "stream=-1 in=-1 out=-1 total=-1 text=[Hi there]");
    elaine_llm_free(&l);

    /* Responses API stream */
    elaine_llm_init(&l);
    l.operation = "responses";
    const char *r1 = "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\","
                     "\"model\":\"gpt-4.1\",\"usage\":null}}";
    const char *r2 = "{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,"
                     "\"content_index\":0,\"delta\":\"Hi\"}";
    const char *r3 = "{\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\","
                     "\"model\":\"gpt-4.1\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"
                     "\"output_text\",\"text\":\"Hi\"}]}],\"usage\":{\"input_tokens\":3,\"output_tokens\":1,"
                     "\"total_tokens\":4}}}";
    CASE("responses stream");
    CHECK_INT(p->stream_event(&l, "response.created", r1, strlen(r1)), 0);
    CHECK_INT(p->stream_event(&l, "response.output_text.delta", r2, strlen(r2)), 1);
    CHECK_INT(p->stream_event(&l, "response.completed", r3, strlen(r3)), 0);
    check_llm("responses stream", &l,
              "provider=null op=responses model=null rmodel=gpt-4.1 id=resp_1 finish=completed stream=-1 in=3 out=1 "
              "total=4 text=[Hi]");
    elaine_llm_free(&l);
}

static void test_finish(void)
{
    elaine_llm l;
    elaine_llm_init(&l);
    CASE("llm init");
    CHECK(l.provider == NULL && l.model == NULL && l.stream == -1 && l.input_tokens == -1 &&
          l.output_tokens == -1 && l.total_tokens == -1 && !l.has_output_text);
    CASE("finish: only input known");
    l.input_tokens = 5;
    elaine_llm_finish(&l);
    CHECK_INT(l.total_tokens, -1);
    CASE("finish: input + output");
    l.output_tokens = 7;
    elaine_llm_finish(&l);
    CHECK_INT(l.total_tokens, 12);
    CASE("finish: provider total kept");
    l.total_tokens = 100;
    elaine_llm_finish(&l);
    CHECK_INT(l.total_tokens, 100);
    CASE("finish: zero counts are known");
    elaine_llm_free(&l);
    l.input_tokens = 0;
    l.output_tokens = 0;
    elaine_llm_finish(&l);
    CHECK_INT(l.total_tokens, 0);
    elaine_llm_free(&l);
}

static void test_wire(void)
{
    elaine_buf req, resp;
    elaine_buf_init(&req);
    elaine_buf_init(&resp);

    make_request(&req, "api.openai.com", "/v1/chat/completions", "openai/chat_request_stream.json");
    make_stream_response(&resp, "openai/chat_stream_usage.sse");
    check_exchange("wire: stream with include_usage", &req, &resp,
                   "provider=openai op=chat model=gpt-4o-mini rmodel=gpt-4o-mini-2024-07-18 "
                   "id=chatcmpl-7xyzAbCdEf0123456789 finish=stop stream=1 in=19 out=10 total=29 "
                   "text=[Hello! How can I assist you today?] ttft_event=1 events=13 done=1/1");

    elaine_buf_reset(&resp);
    make_stream_response(&resp, "openai/chat_stream.sse");
    check_exchange("wire: stream without usage", &req, &resp,
                   "provider=openai op=chat model=gpt-4o-mini rmodel=gpt-4o-mini-2024-07-18 "
                   "id=chatcmpl-7xyzAbCdEf0123456789 finish=stop stream=1 in=-1 out=-1 total=-1 "
                   "text=[Hello! How can I assist you today?] ttft_event=1 events=12 done=1/1");

    elaine_buf_reset(&req);
    elaine_buf_reset(&resp);
    make_request(&req, "myres.openai.azure.com", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
                 "openai/chat_request.json");
    make_json_response(&resp, 200, "openai/chat_response.json", 1);
    check_exchange("wire: gzip JSON response", &req, &resp,
                   "provider=openai op=chat model=gpt-4o-mini rmodel=gpt-4o-mini-2024-07-18 "
                   "id=chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT finish=stop stream=0 in=19 out=10 total=29 "
                   "text=[Hello! How can I assist you today?] ttft_event=-1 events=0 done=1/1");

    elaine_buf_reset(&resp);
    make_json_response(&resp, 401, "openai/error_401.json", 0);
    check_exchange("wire: error body", &req, &resp,
                   "provider=openai op=chat model=gpt-4o-mini rmodel=null id=null finish=null stream=0 in=-1 "
                   "out=-1 total=-1 text=null ttft_event=-1 events=0 done=1/1");

    elaine_buf_reset(&req);
    elaine_buf_reset(&resp);
    elaine_buf_adds(&req, "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n");
    elaine_buf_adds(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
                           "{\"object\":\"list\",\"data\":[]}\r\n");
    check_exchange("wire: GET /v1/models is not an LLM call", &req, &resp,
                   "provider=null op=null model=null rmodel=null id=null finish=null stream=-1 in=-1 out=-1 "
                   "total=-1 text=null ttft_event=-1 events=0 done=1/1");

    elaine_buf_free(&req);
    elaine_buf_free(&resp);
}

/* ------------------------------------------------------------ fast path vs tree */

/* Everything an event can change in l, bytes exact. */
static void dump_str(elaine_buf *b, const char *name, const char *s)
{
    elaine_buf_addf(b, " %s=", name);
    if (s)
        elaine_buf_addf(b, "[%s]", s);
    else
        elaine_buf_adds(b, "null");
}

static void dump_bytes(elaine_buf *b, const char *name, const elaine_buf *v)
{
    elaine_buf_addf(b, " %s(%zu)=[", name, v->len);
    elaine_buf_add(b, v->p ? v->p : "", v->len);
    elaine_buf_addc(b, ']');
}

static char *dump(const elaine_llm *l)
{
    elaine_buf b;
    elaine_buf_init(&b);
    dump_str(&b, "model", l->model);
    dump_str(&b, "rmodel", l->response_model);
    dump_str(&b, "id", l->response_id);
    dump_str(&b, "finish", l->finish_reason);
    elaine_buf_addf(&b, " stream=%d tok=%lld/%lld/%lld/%lld/%lld", l->stream, (long long)l->input_tokens,
                    (long long)l->output_tokens, (long long)l->total_tokens, (long long)l->cached_input_tokens,
                    (long long)l->reasoning_tokens);
    elaine_buf_addf(&b, " has_text=%d", l->has_output_text);
    dump_bytes(&b, "text", &l->output_text);
    elaine_buf_addf(&b, " has_reasoning=%d", l->has_reasoning_text);
    dump_bytes(&b, "reasoning", &l->reasoning_text);
    for (size_t i = 0; i < l->n_tool_calls; i++) {
        const elaine_tool_call *t = &l->tool_calls[i];
        elaine_buf_addf(&b, " call%zu key=%lld seeded=%d", i, (long long)t->key, t->seeded);
        dump_str(&b, "id", t->id);
        dump_str(&b, "name", t->name);
        dump_bytes(&b, "args", &t->arguments);
    }
    dump_str(&b, "etype", l->error_type);
    dump_str(&b, "emsg", l->error_message);
    return elaine_buf_take(&b);
}

static long diff_runs, diff_fast, diff_bad;

/* State an earlier event may have left. */
static void preset(elaine_llm *l, const char *op, int k)
{
    elaine_llm_init(l);
    l->operation = op;
    if (k == 1) {
        l->response_id = strdup("pre-id");
        l->response_model = strdup("pre-model");
        l->finish_reason = strdup("pre-finish");
        l->has_output_text = 1;
        elaine_buf_adds(&l->output_text, "before ");
    } else if (k == 2) {
        l->response_model = strdup("gpt-4o-mini-2024-07-18");
        l->response_id = strdup("chatcmpl-7xyzAbCdEf0123456789");
    }
}

/* One event through stream_event (the fast path first) and through the tree
 * path alone, from the same state: the same return and the same l. And the
 * fast path alone leaves l as it was whenever it gives up. */
static void diff_event(const char *op, const char *data, size_t n)
{
    for (int k = 0; k < 3; k++) {
        elaine_llm a, b, c;
        preset(&a, op, k);
        preset(&b, op, k);
        preset(&c, op, k);
        char *before = dump(&c);
        int ga = elaine_provider_openai.stream_event(&a, "", data, n);
        int gb = elaine_openai_stream_event_tree(&b, "", data, n);
        int gc = elaine_openai_chunk_fast(&c, data, n);
        char *da = dump(&a), *db = dump(&b), *dc = dump(&c);
        diff_runs++;
        if (gc >= 0)
            diff_fast++;
        if (ga != gb || strcmp(da, db) != 0 || (gc < 0 && strcmp(dc, before) != 0) ||
            (gc >= 0 && (gc != gb || strcmp(dc, db) != 0))) {
            if (diff_bad++ < 10)
                fprintf(stderr, "fast/tree differ (op %s, preset %d) on [%.*s]:\n  fast %d%s\n  tree %d%s\n  alone %d%s\n",
                        op, k, (int)n, data, ga, da, gb, db, gc, dc);
            check_failures++;
        }
        free(before);
        free(da);
        free(db);
        free(dc);
        elaine_llm_free(&a);
        elaine_llm_free(&b);
        elaine_llm_free(&c);
    }
}

/* The event and what is made of it: cut at every byte; every byte replaced
 * by a few that matter to a scanner (full is 0: a sample of positions). */
static void diff_mutations(const char *data, size_t n, int full)
{
    static const char repl[] = {'"', '\\', ' ', ',', '}', ']', '{', '0', 'x', ':', '\n', '\0', '\x80'};
    diff_event("chat", data, n);
    diff_event("completion", data, n);
    char *m = malloc(n + 1);
    for (size_t cut = 0; cut < n; cut++)
        diff_event("chat", data, cut);
    for (size_t i = 0; i < n; i += full ? 1 : 7) {
        for (size_t r = 0; r < sizeof(repl); r++) {
            memcpy(m, data, n);
            if (m[i] == repl[r])
                continue;
            m[i] = repl[r];
            diff_event("chat", m, n);
        }
        /* the byte deleted */
        memcpy(m, data, i);
        memcpy(m + i, data + i + 1, n - i - 1);
        diff_event("chat", m, n - 1);
    }
    free(m);
}

/* Every data: line (and NDJSON / JSON line) of a fixture file. */
static void diff_file(const char *rel, int full)
{
    size_t n;
    char *s = check_read_data(rel, &n);
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        size_t le = e > i && s[e - 1] == '\r' ? e - 1 : e;
        const char *l = s + i;
        size_t ln = le - i;
        if (ln >= 5 && memcmp(l, "data:", 5) == 0) {
            l += 5;
            ln -= 5;
            if (ln && *l == ' ')
                l++, ln--;
            diff_mutations(l, ln, full);
        } else if (ln && (*l == '{' || *l == '[')) {
            diff_mutations(l, ln, 0);
        }
        i = e + 1;
    }
    free(s);
}

/* A whole stream through the SSE decoder, both ways, state carried along. */
typedef struct {
    elaine_llm a, b;
    int events;
} diff_pair;

static void diff_pair_on_sse(void *ud, const char *event, const char *data, size_t n)
{
    diff_pair *d = ud;
    int ga = elaine_provider_openai.stream_event(&d->a, event, data, n);
    int gb = elaine_openai_stream_event_tree(&d->b, event, data, n);
    CHECK_INT(ga, gb);
    d->events++;
}

static void diff_stream(const char *name, const char *text, size_t n, size_t step)
{
    diff_pair d;
    CASE(name);
    elaine_llm_init(&d.a);
    elaine_llm_init(&d.b);
    d.a.operation = d.b.operation = "chat";
    d.events = 0;
    elaine_sse *sse = elaine_sse_new(diff_pair_on_sse, &d);
    for (size_t i = 0; i < n; i += step)
        elaine_sse_feed(sse, text + i, n - i < step ? n - i : step);
    elaine_sse_finish(sse);
    elaine_sse_free(sse);
    char *da = dump(&d.a), *db = dump(&d.b);
    CHECK_STR(da, db);
    CHECK(d.events > 0);
    free(da);
    free(db);
    elaine_llm_free(&d.a);
    elaine_llm_free(&d.b);
}

/* A fixture stream as it is and rewritten: CRLF line ends, comments and
 * event: lines between events, data split over two data: lines (joined by a
 * newline: whitespace in the JSON), a BOM. */
static void diff_stream_variants(const char *rel)
{
    size_t n;
    char *s = check_read_data(rel, &n);
    elaine_buf v;
    elaine_buf_init(&v);
    diff_stream(rel, s, n, n);
    diff_stream(rel, s, n, 3);
    for (int kind = 0; kind < 4; kind++) {
        elaine_buf_reset(&v);
        if (kind == 3)
            elaine_buf_adds(&v, "\xEF\xBB\xBF");
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (kind == 0 && c == '\n') {
                elaine_buf_adds(&v, "\r\n");
            } else if (kind == 1 && c == '\n' && i + 1 < n && s[i + 1] == '\n') {
                elaine_buf_adds(&v, "\n\n: keep-alive\nevent: message\nid: 7\nretry: 100");
            } else if (kind == 2 && c == ',' ) {
                elaine_buf_adds(&v, ",\ndata: "); /* a newline inside the JSON text */
            } else {
                elaine_buf_addc(&v, c);
            }
        }
        diff_stream(rel, v.p, v.len, v.len);
        diff_stream(rel, v.p, v.len, 5);
    }
    elaine_buf_free(&v);
    free(s);
}

static void test_fast_vs_tree(void)
{
    static const char *const files[] = {
        "openai/chat_stream.sse", "openai/chat_stream_usage.sse", "openai/chat_stream/response.http",
        "openai/chat_stream_usage/response.http", "openai/chat_tool_calls_stream/response.http",
        "openai/deepseek_reasoning_stream/response.http", "openai/responses_stream/response.http",
        "openai/responses_tool_call_stream/response.http", "openai/chat_response.json",
        "openai/chat_response_tool_calls.json", "openai/completion_response.json", "openai/error_401.json",
        "anthropic/messages_stream/response.http", "anthropic/error_event_stream/response.http",
        "anthropic/tool_use_stream/response.http", "anthropic/thinking_stream/response.http",
        "gemini/stream_sse/response.http", "gemini/thoughts_stream_sse/response.http",
        "ollama/chat_stream/response.http", "ollama/chat_tool_calls_stream/response.http",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        diff_file(files[i], strncmp(files[i], "openai/chat_stream", 18) == 0);

    /* what the fast path has to get right or leave alone */
    static const char *const events[] = {
        "[DONE]",
        "{}",
        "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"content\":\"plain\"},\"logprobs\":null,\"finish_reason\":null}]}",
        /* escapes in content */
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\nb\\\"c\\\\d\\/e\\t\\r\\b\\f\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\u00e9\\u4e2d\\uD83D\\uDE00 \\u0000x\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lone \\uD83D then \\uDE00 and \\uD83Dx\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad \xC3\x28 utf8\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad \\u12G4\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ctl \x01\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}",
        /* keys in other orders, extra fields, containers among them */
        "{\"choices\":[{\"finish_reason\":\"stop\",\"delta\":{\"content\":\"x\",\"role\":\"assistant\"},\"index\":0}],"
        "\"model\":\"m2\",\"id\":\"i2\",\"object\":\"chat.completion.chunk\"}",
        "{\"id\":\"i\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":"
        "{\"filtered\":false,\"severity\":\"safe\"}}}],\"choices\":[{\"index\":0,\"delta\":{\"content\":\"y\","
        "\"refusal\":null,\"extra\":[1,2.5e3,true,false,null,{}]},\"logprobs\":{\"content\":[]},"
        "\"content_filter_results\":{}}],\"obfuscation\":\"abc\",\"service_tier\":\"default\",\"usage\":null}",
        /* null content, absent content, empty delta, delta not an object */
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":\"\"}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}",
        "{\"choices\":[{\"index\":0,\"delta\":null,\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"index\":0,\"delta\":\"text\",\"finish_reason\":7}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":5}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[\"a\"]}}]}",
        /* which choice: index 0, -0, 0.0, "0", 1, none, several */
        "{\"choices\":[{\"index\":-0,\"delta\":{\"content\":\"neg zero\"}}]}",
        "{\"choices\":[{\"index\":0.0,\"delta\":{\"content\":\"float\"}}]}",
        "{\"choices\":[{\"index\":0e0,\"delta\":{\"content\":\"exp\"}}]}",
        "{\"choices\":[{\"index\":\"0\",\"delta\":{\"content\":\"str\"}}]}",
        "{\"choices\":[{\"index\":null,\"delta\":{\"content\":\"null idx\"}}]}",
        "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"no index\"},\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"late\"},\"index\":1}]}",
        "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}},{\"index\":0,\"delta\":{\"content\":\"A\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}},{\"index\":1,\"delta\":{\"content\":\"B\"}}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}",
        "{\"choices\":[{}]}",
        "{\"choices\":[1]}",
        "{\"choices\":{\"index\":0}}",
        "{\"choices\":null,\"model\":\"m\"}",
        /* tool calls, function call, reasoning, legacy text */
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"function_call\":{\"name\":\"g\",\"arguments\":\"{}\"}}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"think\",\"content\":null}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"think\"}}]}",
        "{\"choices\":[{\"text\":\"legacy\",\"index\":0,\"finish_reason\":null}]}",
        "{\"choices\":[{\"text\":null,\"index\":0,\"delta\":{\"content\":\"shadowed\"}}]}",
        /* usage: null, numbers, usage-only final chunk */
        "{\"id\":\"u\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t\"}}],\"usage\":null}",
        "{\"id\":\"u\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
        "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}",
        "{\"usage\":7}",
        /* errors */
        "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}",
        "{\"error\":\"plain text\"}",
        "{\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"e\"}}]}",
        "{\"object\":\"error\",\"type\":\"BadRequest\",\"message\":\"no\"}",
        "{\"object\":\"err\\u006fr\",\"message\":\"escaped\"}",
        "{\"object\":\"errors\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}",
        "{\"object\":7,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}",
        /* keys twice (the first counts), escaped keys */
        "{\"model\":\"first\",\"model\":\"second\"}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"1\",\"content\":\"2\"}}]}",
        "{\"choices\":[{\"index\":0,\"index\":1,\"delta\":{\"content\":\"1\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"1\"}}],\"choices\":[]}",
        "{\"mod\\u0065l\":\"esc\",\"choices\":[{\"index\":0,\"delta\":{\"cont\\u0065nt\":\"esc\"}}]}",
        "{\"id\":\"a\\\"b\",\"model\":\"m\\u00e9\",\"choices\":[{\"index\":0,\"finish_reason\":\"st\\u006fp\","
        "\"delta\":{\"content\":\"z\"}}]}",
        /* whitespace, trailing bytes, bad JSON */
        "{ \"choices\": [ { \"index\": 0, \"delta\": { \"content\": \"spaced\" } } ] }",
        "{\"choices\":[{\"index\": 0,\"delta\":{\"content\": \"spaced\"}}],\"model\": \"m\"}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]} ",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}x",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]",
        "{\"choices\":[{\"index\":00,\"delta\":{\"content\":\"x\"}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"n\":-}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"t\":tru}]}",
        "{\"model\":\"m\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
        diff_mutations(events[i], strlen(events[i]), 1);

    /* deeper than the parser takes, inside an extra member */
    elaine_buf deep;
    elaine_buf_init(&deep);
    for (int d = 509; d <= 512; d++) {
        elaine_buf_reset(&deep);
        elaine_buf_adds(&deep, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"d\"},\"x\":");
        for (int k = 0; k < d; k++)
            elaine_buf_addc(&deep, '[');
        for (int k = 0; k < d; k++)
            elaine_buf_addc(&deep, ']');
        elaine_buf_adds(&deep, "}]}");
        diff_event("chat", deep.p, deep.len);
    }
    elaine_buf_free(&deep);

    static const char *const streams[] = {"openai/chat_stream.sse", "openai/chat_stream_usage.sse"};
    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
        diff_stream_variants(streams[i]);

    CASE("fast path taken");
    /* the usual chunks go the fast way (a sure sign it is on); failures were counted above */
    CHECK(diff_fast > diff_runs / 50);
    const char *usual = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                        "\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},"
                        "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    elaine_llm l;
    elaine_llm_init(&l);
    l.operation = "chat";
    CHECK_INT(elaine_openai_chunk_fast(&l, usual, strlen(usual)), 1);
    CHECK_STR(l.output_text.p, "hi");
    CHECK_STR(l.response_model, "m");
    CHECK_STR(l.response_id, "c");
    elaine_llm_free(&l);
    fprintf(stderr, "fast vs tree: %ld events, %ld by the fast path, %ld differ\n", diff_runs, diff_fast, diff_bad);
}

/* ------------------------------------------------------------ shapes */

/* Bodies (and tree-path stream events) of odd shapes: missing, duplicate
 * (the first counts), null and wrongly typed members, error bodies, choices
 * by index, reasoning fields, tool calls; a second body on the same llm
 * (body2) replaces strings of one length by another. want is everything
 * dump() shows, with gen= (what the events returned) for streams. */
typedef struct {
    const char *name, *op;
    int status; /* -1: stream events through the tree path */
    const char *body, *body2;
    const char *want;
} shape_case;

static const shape_case shapes[] = {
    {"dup keys", "chat", 200,
     "{\"model\":\"a\",\"model\":\"b\",\"id\":\"x\",\"id\":\"y\",\"choices\":[{\"index\":0,\"message\":{\"content\":"
     "\"c1\",\"content\":\"c2\"},\"finish_reason\":\"stop\",\"finish_reason\":\"length\"}],\"choices\":[],"
     "\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2,\"completion_tokens\":3},\"usage\":{\"prompt_tokens\":9}}",
     NULL, " model=null rmodel=[a] id=[x] finish=[stop] stream=-1 tok=1/3/-1/-1/-1 has_text=1 text(2)=[c1] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"nulls", "chat", 200,
     "{\"model\":null,\"id\":null,\"choices\":[{\"index\":0,\"message\":null,\"finish_reason\":null}],\"usage\":null}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"wrong types", "chat", 200, "{\"model\":5,\"id\":[1],\"choices\":{\"index\":0},\"usage\":\"x\"}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"empty strings", "chat", 200,
     "{\"model\":\"\",\"id\":\"\",\"choices\":[{\"index\":0,\"finish_reason\":\"\",\"message\":{\"content\":\"\"}}]}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"index 1 then 0", "chat", 200,
     "{\"choices\":[{\"index\":1,\"message\":{\"content\":\"one\"}},{\"index\":0,\"message\":{\"content\":\"zero\"},"
     "\"finish_reason\":\"stop\"}]}",
     NULL, " model=null rmodel=null id=null finish=[stop] stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(4)=[z"
     "ero] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"only index 2", "chat", 200, "{\"choices\":[{\"index\":2,\"message\":{\"content\":\"two\"}}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"first without index", "chat", 200,
     "{\"choices\":[{\"message\":{\"content\":\"noidx\"}},{\"index\":3,\"message\":{\"content\":\"three\"}}]}", NULL,
     " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(5)=[noi"
     "dx] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"index 0.0 and -0", "chat", 200,
     "{\"choices\":[{\"index\":0.0,\"message\":{\"content\":\"float\"}},{\"index\":-0,\"message\":{\"content\":"
     "\"minus\"}}]}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(5)=[min"
     "us] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"choice not an object", "chat", 200, "{\"choices\":[\"str\",{\"index\":0,\"text\":\"t\"}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(1)=[t] "
     "has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"choice string alone", "chat", 200, "{\"choices\":[\"str\"]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"text beats message", "chat", 200,
     "{\"choices\":[{\"index\":0,\"text\":\"legacy\",\"message\":{\"content\":\"msg\"}}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(6)=[leg"
     "acy] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"text null", "completion", 200,
     "{\"choices\":[{\"index\":0,\"text\":null,\"message\":{\"content\":\"msg\"}}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"reasoning_content first", "chat", 200,
     "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"a\",\"reasoning_content\":\"r1\",\"reasoning\":\"r2\"}}]}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(1)=[a] "
     "has_reasoning=1 reasoning(2)=[r1] etype=null emsg=null"},
    {"reasoning when reasoning_content null", "chat", 200,
     "{\"choices\":[{\"index\":0,\"message\":{\"reasoning\":\"r2\",\"reasoning_content\":null,"
     "\"reasoning\":\"r3\"}}]}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=1 reasoning(2)=[r2] etype=null emsg=null"},
    {"reasoning wrong type", "chat", 200,
     "{\"choices\":[{\"index\":0,\"message\":{\"reasoning_content\":7,\"reasoning\":{\"a\":1}}}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"tool calls and function_call", "chat", 200,
     "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":{\"content\":null,\"tool_calls\":[{\"id\":"
     "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}},7,{\"id\":\"c2\","
     "\"function\":{\"name\":\"g\",\"arguments\":{\"x\":[1,2]}}}],\"tool_calls\":[{\"id\":\"dup\"}],"
     "\"function_call\":{\"name\":\"h\",\"arguments\":\"{}\"},\"function_call\":{\"name\":\"dup\"}}}]}",
     NULL, " model=null rmodel=null id=null finish=[tool_calls] stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text"
     "(0)=[] has_reasoning=0 reasoning(0)=[] call0 key=-1 seeded=0 id=[c1] name=[f] args(7)=[{\"a\":1}"
     "] call1 key=-1 seeded=0 id=[c2] name=[g] args(11)=[{\"x\":[1,2]}] call2 key=1099511627776 seeded"
     "=0 id=null name=[h] args(2)=[{}] etype=null emsg=null"},
    {"tool_calls not an array", "chat", 200,
     "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":{\"id\":\"c\"},\"function_call\":\"x\"}}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"usage details", "chat", 200,
     "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15,\"prompt_tokens_details\":{"
     "\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":2},\"input_tokens\":-1,"
     "\"output_tokens\":1.5}}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=10/5/15/3/2 has_text=0 text(0)=[] has_"
     "reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"usage input/output names", "chat", 200,
     "{\"usage\":{\"input_tokens\":7,\"output_tokens\":4,\"input_tokens_details\":{\"cached_tokens\":1},"
     "\"output_tokens_details\":{\"reasoning_tokens\":null},\"prompt_tokens\":8}}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=7/4/-1/1/-1 has_text=0 text(0)=[] has_"
     "reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"error object", "chat", 400, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\",\"code\":\"c\"}}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=[invalid_request_error] emsg=[bad]"},
    {"error type empty: code", "chat", 400, "{\"error\":{\"type\":\"\",\"code\":\"bad_code\",\"message\":\"m\"}}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=[bad_code] emsg=[m]"},
    {"error code number", "chat", 500, "{\"error\":{\"type\":null,\"code\":429,\"message\":\"m\"}}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=[429] emsg=[m]"},
    {"error string", "chat", 502, "{\"error\":\"plain text\",\"model\":\"m\"}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=[plain text]"},
    {"error with status 200", "chat", 200,
     "{\"error\":{\"message\":\"e\"},\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"t\"}]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=[e]"},
    {"vllm error object", "chat", 400, "{\"object\":\"error\",\"type\":\"BadRequestError\",\"message\":\"vm\",\"code\":400}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=[BadRequestError] emsg=[vm]"},
    {"vllm error type number", "chat", 400, "{\"object\":\"error\",\"type\":5,\"message\":[1]}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=[5] emsg=null"},
    {"error null then object error", "chat", 200, "{\"error\":null,\"object\":\"error\",\"message\":\"x\"}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=[x]"},
    {"error number: not an error", "chat", 200,
     "{\"error\":5,\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"t\"}]}", NULL,
     " model=null rmodel=[m] id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 text(1)=[t] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"dup error keys", "chat", 400, "{\"error\":\"first\",\"error\":{\"type\":\"second\"}}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=[first]"},
    {"dup object keys", "chat", 400, "{\"object\":\"chat\",\"object\":\"error\",\"message\":\"m\"}", NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"no error body, status 500", "chat", 500, "{\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"t\"}]}", NULL,
     " model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] h"
     "as_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"responses with error null", "responses", 200,
     "{\"object\":\"response\",\"error\":null,\"id\":\"resp_1\",\"model\":\"gpt\",\"status\":\"completed\","
     "\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\"}]}]}",
     NULL, " model=null rmodel=[gpt] id=[resp_1] finish=[completed] stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 "
     "text(2)=[hi] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"long strings, then short", "chat", 200,
     "{\"model\":\"a-model-name-of-exactly-fifty-five-bytes-0123456789abcd\",\"id\":\"an-id-of-fifty-six-"
     "bytes-0123456789abcdefghijklmnopqrstuv\",\"choices\":[{\"index\":0,\"finish_reason\":\"a-finish-reason-that-"
     "is-longer-than-the-room-of-fifty-five-bytes\"}]}",
     "{\"model\":\"short\",\"id\":\"an-id-of-fifty-six-bytes-0123456789abcdefghijklmnopqrstuv\",\"choices\":[{"
     "\"index\":0,\"finish_reason\":\"stop\"}]}",
     " model=null rmodel=[short] id=[an-id-of-fifty-six-bytes-0123456789abcdefghijklmnopqrstuv] finish"
     "=[stop] stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] has_reasoning=0 reasoning(0)=[] etype"
     "=null emsg=null"},
    {"short strings, then long", "chat", 200,
     "{\"model\":\"m1\",\"id\":\"i1\",\"choices\":[{\"index\":0,\"finish_reason\":\"stop\"}]}",
     "{\"model\":\"a-model-name-of-exactly-fifty-five-bytes-0123456789abcd\",\"id\":\"i1\",\"choices\":[{\"index\":"
     "0,\"finish_reason\":\"a-finish-reason-that-is-longer-than-the-room-of-fifty-five-bytes\"}]}",
     " model=null rmodel=[a-model-name-of-exactly-fifty-five-bytes-0123456789abcd] id=[i1] finish=[a-f"
     "inish-reason-that-is-longer-than-the-room-of-fifty-five-bytes] stream=-1 tok=-1/-1/-1/-1/-1 has_"
     "text=0 text(0)=[] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"escaped NUL in a string", "chat", 200,
     "{\"model\":\"ab\\u0000cd\",\"id\":\"\\u0000x\",\"choices\":[{\"index\":0,\"finish_reason\":\"st\\u00e9p\"}]}",
     NULL, " model=null rmodel=[ab] id=null finish=[st\xc3\xa9" "p] stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[]"
     " has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"long with NUL, then its prefix", "chat", 200,
     "{\"model\":\"a-model-name-longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyz\\u0000tail\",\"id\":"
     "\"an-id-longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyzABC\",\"choices\":[{\"index\":0,"
     "\"finish_reason\":\"ab\\u0000\"}]}",
     "{\"model\":\"a-model-name-longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyz\",\"id\":\"an-id-"
     "longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyzABC\\u0000x\",\"choices\":[{\"index\":0,"
     "\"finish_reason\":\"ab\"}]}",
     " model=null rmodel=[a-model-name-longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyz] id=["
     "an-id-longer-than-the-room-0123456789abcdefghijklmnopqrstuvwxyzABC] finish=[ab] stream=-1 tok=-1"
     "/-1/-1/-1/-1 has_text=0 text(0)=[] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"short with NUL, then longer", "chat", 200,
     "{\"model\":\"m\\u0000xyz\",\"choices\":[{\"index\":0,\"finish_reason\":\"a-finish-reason-of-a-length-"
     "that-fits-in-the-room\\u0000and-a-tail-after-it-past-the-room\"}]}",
     "{\"model\":\"m\\u0000xyz2\",\"choices\":[{\"index\":0,\"finish_reason\":\"a-finish-reason-of-a-length-"
     "that-fits-in-the-room\"}]}",
     " model=null rmodel=[m] id=null finish=[a-finish-reason-of-a-length-that-fits-in-the-room] stream"
     "=-1 tok=-1/-1/-1/-1/-1 has_text=0 text(0)=[] has_reasoning=0 reasoning(0)=[] etype=null emsg=nul"
     "l"},
    {"usage numbers", "chat", 200,
     "{\"usage\":{\"prompt_tokens\":123456789012345678,\"completion_tokens\":1234567890123456789,"
     "\"total_tokens\":1e3,\"prompt_tokens_details\":{\"cached_tokens\":-0},\"completion_tokens_details\":{"
     "\"reasoning_tokens\":0}}}",
     "{\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":9223372036854775808,"
     "\"total_tokens\":2.0,\"input_tokens\":-5,\"output_tokens\":\"7\"}}",
     " model=null rmodel=null id=null finish=null stream=-1 tok=9223372036854775807/123456789012345678"
     "9/-1/0/0 has_text=0 text(0)=[] has_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"usage numbers 2", "chat", 200,
     "{\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":10.5,\"total_tokens\":99999999999999999999999}}",
     NULL, " model=null rmodel=null id=null finish=null stream=-1 tok=0/-1/-1/-1/-1 has_text=0 text(0)=[] ha"
     "s_reasoning=0 reasoning(0)=[] etype=null emsg=null"},
    {"stream: dup keys, delta", "chat", -1,
     "{\"id\":\"s1\",\"id\":\"s2\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\",\"content\":"
     "\"b\",\"reasoning\":\"r\"},\"message\":{\"content\":\"no\"}}]}",
     "{\"id\":\"s3\",\"model\":\"m2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\","
     "\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{"
     "\"prompt_tokens\":3,\"completion_tokens\":4}}",
     " gen=1 gen=1 model=null rmodel=[m2] id=[s1] finish=[tool_calls] stream=-1 tok=3/4/-1/-1/-1 has_t"
     "ext=1 text(1)=[a] has_reasoning=1 reasoning(1)=[r] call0 key=0 seeded=0 id=[t] name=[f] args(1)="
     "[{] etype=null emsg=null"},
    {"stream: error event", "chat", -1, "{\"error\":{\"type\":\"server_error\",\"message\":\"boom\"},\"model\":\"m\"}",
     "{\"object\":\"error\",\"message\":\"again\"}", " gen=0 gen=0 model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=0 "
     "text(0)=[] has_reasoning=0 reasoning(0)=[] etype=[server_error] emsg=[again]"},
    {"stream: delta not an object", "chat", -1,
     "{\"choices\":[{\"index\":0,\"delta\":\"x\",\"text\":\"legacy\"}]}",
     "{\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"fn\",\"arguments\":\"{}\"},"
     "\"reasoning_content\":\"rc\"}}]}",
     " gen=1 gen=1 model=null rmodel=null id=null finish=null stream=-1 tok=-1/-1/-1/-1/-1 has_text=1 "
     "text(6)=[legacy] has_reasoning=1 reasoning(2)=[rc] call0 key=1099511627776 seeded=0 id=null name"
     "=[fn] args(2)=[{}] etype=null emsg=null"},
};

static void test_shapes(void)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const shape_case *t = &shapes[i];
        elaine_llm l;
        elaine_llm_init(&l);
        l.provider = "openai";
        l.operation = t->op;
        elaine_buf gens;
        elaine_buf_init(&gens);
        const char *bodies[2] = {t->body, t->body2};
        for (int k = 0; k < 2 && bodies[k]; k++) {
            size_t n = strlen(bodies[k]);
            if (t->status < 0) {
                elaine_buf_addf(&gens, " gen=%d", elaine_openai_stream_event_tree(&l, "", bodies[k], n));
            } else {
                ej_val *v = elaine_json_parse(bodies[k], n);
                if (!v) {
                    fprintf(stderr, "shape %s: body %d is not JSON\n", t->name, k);
                    check_failures++;
                    continue;
                }
                elaine_provider_openai.response(&l, t->status, v);
                elaine_json_free(v);
            }
        }
        char *d = dump(&l);
        elaine_buf_adds(&gens, d);
        CASE(t->name);
        if (getenv("SHAPES_PRINT"))
            printf("%s\t%s\n", t->name, gens.p);
        else
            CHECK_STR(gens.p, t->want);
        free(d);
        elaine_buf_free(&gens);
        elaine_llm_free(&l);
    }

    /* the Azure deployment as the model, when the body names none */
    static const struct {
        const char *path, *body, *want;
    } az[] = {
        {"/openai/deployments/my-deploy/chat/completions?api-version=1", "{}", "my-deploy"},
        {"/openai/deployments/my-deploy/chat/completions", "{\"model\":\"\"}", "my-deploy"},
        {"/openai/deployments/my-deploy/chat/completions", "{\"model\":\"named\"}", "named"},
        {"/openai/deployments/a-deployment-name-that-is-longer-than-fifty-five-bytes-xyz/chat/completions", "{}",
         "a-deployment-name-that-is-longer-than-fifty-five-bytes-xyz"},
        {"/openai/deployments//chat/completions", "{}", NULL},
    };
    for (size_t i = 0; i < sizeof(az) / sizeof(az[0]); i++) {
        elaine_llm l;
        elaine_llm_init(&l);
        ej_val *v = elaine_json_parse(az[i].body, strlen(az[i].body));
        elaine_provider_openai.request(&l, az[i].path, v);
        CASE(az[i].path);
        if (az[i].want)
            CHECK_STR(l.model, az[i].want);
        else
            CHECK(l.model == NULL);
        elaine_json_free(v);
        elaine_llm_free(&l);
    }
}

int main(void)
{
    test_detect();
    test_request();
    test_responses();
    test_stream_events();
    test_finish();
    test_wire();
    test_fast_vs_tree();
    test_shapes();
    return check_done("test_openai");
}
