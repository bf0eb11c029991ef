/* HTTP/1.1 corners through the whole exchange layer: synthetic shim events
 * in, records out. Expect: 100-continue and other interim responses, HEAD,
 * 204/304, chunked bodies with trailers both ways, SSE with CRLF/CR line
 * ends, comments and multi-line data split at every byte, and br, zstd and
 * stacked content codings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "exchange_harness.h"

/* ---- a driver: one process, one connection, seq numbers counted for us ---- */

typedef struct drv {
    elaine_exchange_proc *p;
    cap c;
    uint64_t seq;
    uint64_t conn;
} drv;

static void drv_init(drv *d, const char *host, uint32_t port, int tls)
{
    memset(d, 0, sizeof(*d));
    d->p = proc_new(&d->c, PID, 0, 0, "/usr/bin/python3");
    d->conn = 5;
    CHECK_INT(ev_open(d->p, ++d->seq, d->conn, host, port, tls, ""), 0);
}

/* Nothing in flight and nothing held back; frees everything. */
static void drv_free(drv *d)
{
    CHECK_INT(elaine_exchange_inflight(d->p), 0);
    CHECK_INT(elaine_exchange_watermark(d->p), d->seq + 1);
    elaine_exchange_proc_free(d->p);
    cap_reset(&d->c);
}

static void rs(drv *d, uint64_t no, uint64_t ms)
{
    CHECK_INT(ev_rs(d->p, ++d->seq, d->conn, no, ms * MS, 0), 0);
}

static void data(drv *d, int out, uint64_t ms, const void *p, size_t n)
{
    if (!n)
        return;
    CHECK_INT(ev_data(d->p, ++d->seq, d->conn, out, ms * MS, p, n), 0);
}

static void out(drv *d, uint64_t ms, const void *p, size_t n)
{
    data(d, 1, ms, p, n);
}

static void in(drv *d, uint64_t ms, const void *p, size_t n)
{
    data(d, 0, ms, p, n);
}

static void outs(drv *d, uint64_t ms, const char *s)
{
    out(d, ms, s, strlen(s));
}

static void ins(drv *d, uint64_t ms, const char *s)
{
    in(d, ms, s, strlen(s));
}

/* p[0..k) at ms1, p[k..n) at ms2. */
static void in_split(drv *d, uint64_t ms1, uint64_t ms2, const char *p, size_t n, size_t k)
{
    in(d, ms1, p, k);
    in(d, ms2, p + k, n - k);
}

/* One byte a read. */
static void in_bytes(drv *d, uint64_t ms, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        in(d, ms, (const char *)p + i, 1);
}

static void close_conn(drv *d, uint64_t ms)
{
    CHECK_INT(ev_close(d->p, ++d->seq, d->conn, ms * MS), 0);
}

/* Stops a split loop after many failures: one bug, one screenful. */
#define TOO_MANY (check_failures > 20)

/* ---- fixtures ---- */

/* Made with BrotliEncoderCompress (libbrotlienc 1.0.9): the tests need only the decoder. */
/* chat_resp_body, quality 11, window 2^22, text mode (148 bytes) */
static const unsigned char chat_resp_br[] = {
    0x1b, 0xf3, 0x00, 0x00, 0x8c, 0xd3, 0x15, 0xf3, 0xa2, 0x84, 0x75, 0x0f,
    0x24, 0x9b, 0x53, 0x7a, 0xd5, 0x23, 0x54, 0x1a, 0x08, 0xd4, 0xe5, 0x5b,
    0x87, 0xa5, 0xab, 0xef, 0xba, 0xfb, 0xed, 0x80, 0x07, 0xf3, 0xef, 0xfb,
    0x21, 0x0a, 0x6b, 0xad, 0xad, 0xb0, 0x38, 0x6b, 0x0b, 0x31, 0xe1, 0x38,
    0x3d, 0x59, 0x30, 0xa1, 0xb1, 0x71, 0x47, 0x13, 0x7c, 0x09, 0x73, 0x07,
    0xda, 0xa9, 0xfe, 0xda, 0xfd, 0xda, 0x0c, 0x87, 0x28, 0x40, 0x3d, 0xc7,
    0x77, 0x08, 0x99, 0x48, 0xf2, 0x02, 0xe3, 0xf5, 0x19, 0xfe, 0x69, 0xec,
    0xf3, 0x31, 0x1b, 0xbb, 0xb6, 0x1b, 0x76, 0x64, 0x38, 0x31, 0xb1, 0xc1,
    0x03, 0xa9, 0x00, 0x96, 0x61, 0x6b, 0x4a, 0x88, 0x02, 0x7d, 0x15, 0x74,
    0xa6, 0x10, 0x68, 0x50, 0x2e, 0xec, 0xa6, 0x86, 0x8a, 0xc1, 0x0d, 0x25,
    0xcb, 0x09, 0xb4, 0x61, 0xe1, 0x8b, 0x3f, 0x98, 0x5f, 0xda, 0xf7, 0xeb,
    0x2b, 0x67, 0xe1, 0xf2, 0x22, 0xd1, 0x41, 0x6b, 0x42, 0xae, 0x70, 0x66,
    0xc6, 0xe6, 0x38, 0xea,
};

static char *chat_request(const char *extra_headers)
{
    char *s;
    if (asprintf(&s,
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
                 extra_headers, strlen(chat_req_body), chat_req_body) < 0)
        abort();
    return s;
}

static char *chat_response(void)
{
    char *s;
    if (asprintf(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(chat_resp_body), chat_resp_body) < 0)
        abort();
    return s;
}

/* A record of the chat completion above, request and response whole. */
static void check_chat(const ej_val *r)
{
    if (!r)
        return;
    CHECK(jnull(r, "error"));
    CHECK_STR(jstr(r, "request.method"), "POST");
    CHECK_STR(jstr(r, "request.body.model"), "gpt-4o-mini");
    CHECK_INT(jint(r, "request.body_size"), strlen(chat_req_body));
    CHECK_INT(jint(r, "response.status"), 200);
    CHECK_STR(jstr(r, "response.body.id"), "chatcmpl-1");
    CHECK_INT(jint(r, "response.body_size"), strlen(chat_resp_body));
    CHECK(jabsent(r, "response.truncated"));
    CHECK_STR(jstr(r, "llm.provider"), "openai");
    CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
    CHECK_STR(jstr(r, "llm.response_model"), "gpt-4o-mini-2024-07-18");
    CHECK_STR(jstr(r, "llm.output_text"), "Hello!");
    CHECK_INT(jint(r, "llm.total_tokens"), 11);
    CHECK_STR(jstr(r, "llm.finish_reason"), "stop");
}

static void zstd_frame(elaine_buf *out, const void *in, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    char *tmp = malloc(cap);
    size_t r = tmp ? ZSTD_compress(tmp, cap, in, n, 3) : 0;
    CHECK(tmp && !ZSTD_isError(r));
    if (tmp && !ZSTD_isError(r))
        elaine_buf_add(out, tmp, r);
    free(tmp);
}

/* body as chunks of at most `size` bytes (hex in upper case, with an
 * extension on the first), then the last chunk and trailer fields. */
static void chunked(elaine_buf *b, const void *body, size_t n, size_t size, const char *trailers)
{
    for (size_t off = 0; off < n; off += size) {
        size_t l = n - off < size ? n - off : size;
        elaine_buf_addf(b, "%zX%s\r\n", l, off == 0 ? ";name=\"v\"" : "");
        elaine_buf_add(b, (const char *)body + off, l);
        elaine_buf_adds(b, "\r\n");
    }
    elaine_buf_addf(b, "0\r\n%s\r\n", trailers);
}

/* ---- Expect: 100-continue ---- */

static void test_expect_continue(void)
{
    char *head, *resp = chat_response();
    if (asprintf(&head,
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                 "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
                 strlen(chat_req_body)) < 0)
        abort();

    /* the usual way: the head, 100 Continue, the body, the final response;
     * then another exchange on the same connection */
    CASE("100-continue before the body");
    drv d;
    drv_init(&d, "api.openai.com", 443, 1);
    rs(&d, 0, 1);
    outs(&d, 2, head);
    ins(&d, 3, "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n");
    rs(&d, 1, 4); /* the shim sees the body write as a new request */
    outs(&d, 4, chat_req_body);
    CHECK_INT(d.c.n, 0);
    ins(&d, 6, resp);
    CHECK_INT(d.c.n, 1);
    rs(&d, 2, 10);
    char *plain = chat_request("");
    outs(&d, 11, plain);
    ins(&d, 13, resp);
    CHECK_INT(d.c.n, 2);
    if (d.c.n == 2) {
        const ej_val *r = d.c.rec[0];
        check_chat(r);
        CHECK_STR(jstr(r, "id"), "4242-777-5-0");
        CHECK_STR(jstr(r, "request.headers.expect"), "100-continue");
        CHECK(jabsent(r, "response.headers.x-interim")); /* the 100's headers are not the response's */
        CHECK_STR(jstr(r, "response.headers.content-type"), "application/json");
        CHECK_NUM(jnum(r, "timing.ttfb_ms"), 2.0); /* body sent at 4 ms, final head at 6 ms */
        CHECK_NUM(jnum(r, "timing.duration_ms"), 5.0);
        check_chat(d.c.rec[1]);
        CHECK_STR(jstr(d.c.rec[1], "id"), "4242-777-5-2");
        CHECK_NUM(jnum(d.c.rec[1], "timing.ttfb_ms"), 2.0);
    }
    drv_free(&d);

    /* the client gave up waiting and sent the body; the 100, a 103 and the
     * final response then come together, split anywhere */
    elaine_buf late;
    elaine_buf_init(&late);
    elaine_buf_adds(&late, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                           "Link: </style.css>; rel=preload\r\n\r\n");
    elaine_buf_adds(&late, resp);
    for (size_t k = 0; k <= late.len && !TOO_MANY; k++) {
        CASE("100-continue after the body, split");
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        outs(&d, 2, head);
        outs(&d, 3, chat_req_body);
        in_split(&d, 5, 7, late.p, late.len, k);
        CHECK_INT(d.c.n, 1);
        if (d.c.n == 1) {
            const ej_val *r = d.c.rec[0];
            check_chat(r);
            CHECK(jabsent(r, "response.headers.link"));
            CHECK_NUM(jnum(r, "timing.ttfb_ms"), k ? 2.0 : 4.0);
        }
        drv_free(&d);
    }
    elaine_buf_free(&late);

    /* the server refuses before the body: the record is written at once,
     * without a request body, and the close adds nothing */
    CASE("417 before the body");
    drv_init(&d, "api.openai.com", 443, 1);
    rs(&d, 0, 1);
    outs(&d, 2, head);
    ins(&d, 3, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(d.c.n, 1);
    close_conn(&d, 4);
    CHECK_INT(d.c.n, 1);
    if (d.c.n == 1) {
        const ej_val *r = d.c.rec[0];
        CHECK_INT(jint(r, "response.status"), 417);
        CHECK(jnull(r, "request.body"));
        CHECK_INT(jint(r, "request.body_size"), 0);
        CHECK(jnull(r, "response.body"));
        CHECK(jnull(r, "error"));
    }
    drv_free(&d);
    free(plain);
    free(head);
    free(resp);
}

/* ---- HEAD, 204, 304: no body whatever the headers say ---- */

static const char models_body[] = "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\"}]}";

static void check_head_then_get(drv *d)
{
    CHECK_INT(d->c.n, 2);
    if (d->c.n != 2)
        return;
    const ej_val *a = d->c.rec[0], *b = d->c.rec[1];
    CHECK_STR(jstr(a, "id"), "4242-777-5-0");
    CHECK_STR(jstr(a, "request.method"), "HEAD");
    CHECK_INT(jint(a, "response.status"), 200);
    CHECK_STR(jstr(a, "response.headers.content-length"), "1234");
    CHECK(jnull(a, "response.body"));
    CHECK_INT(jint(a, "response.body_size"), 0);
    CHECK(jnull(a, "error"));
    CHECK_STR(jstr(b, "id"), "4242-777-5-1");
    CHECK_STR(jstr(b, "request.method"), "GET");
    CHECK_STR(jstr(b, "request.path"), "/v1/models");
    CHECK_INT(jint(b, "response.status"), 200);
    CHECK_STR(jstr(b, "response.body.object"), "list");
    CHECK_STR(elaine_json_str(elaine_json_path(elaine_json_at(elaine_json_path(b, "response.body.data"), 0), "id")), "gpt-4o");
    CHECK_INT(jint(b, "response.body_size"), strlen(models_body));
    CHECK(jnull(b, "error"));
}

static void test_head(void)
{
    static const char q1[] = "HEAD /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
    static const char q2[] = "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
    static const char r1[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n\r\n";
    char *r2;
    if (asprintf(&r2, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(models_body), models_body) < 0)
        abort();

    CASE("HEAD, then GET on the same connection");
    drv d;
    drv_init(&d, "api.openai.com", 443, 1);
    rs(&d, 0, 1);
    outs(&d, 2, q1);
    ins(&d, 3, r1);
    CHECK_INT(d.c.n, 1);
    rs(&d, 1, 4);
    outs(&d, 5, q2);
    ins(&d, 6, r2);
    check_head_then_get(&d);
    drv_free(&d);

    /* pipelined: both requests in one write, both responses in one read
     * split anywhere; a body after the HEAD response would swallow r2 */
    elaine_buf q, r;
    elaine_buf_init(&q);
    elaine_buf_init(&r);
    elaine_buf_adds(&q, q1);
    elaine_buf_adds(&q, q2);
    elaine_buf_adds(&r, r1);
    elaine_buf_adds(&r, r2);
    for (size_t k = 0; k <= r.len && !TOO_MANY; k++) {
        CASE("HEAD, then GET, pipelined, split");
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        out(&d, 2, q.p, q.len);
        in_split(&d, 3, 4, r.p, r.len, k);
        check_head_then_get(&d);
        drv_free(&d);
    }
    elaine_buf_free(&q);
    elaine_buf_free(&r);
    free(r2);
}

static void test_204_304(void)
{
    static const char *reqs[] = {
        "DELETE /v1/files/file-1 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n",
        "GET /v1/files/file-2 HTTP/1.1\r\nHost: api.openai.com\r\nIf-None-Match: \"abc\"\r\n\r\n",
        "GET /v1/files/file-3 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n",
    };
    /* no framing at all on the 204 (a response without it would run to the
     * close), a Content-Length of the representation on the 304 */
    static const char *resps[] = {
        "HTTP/1.1 204 No Content\r\nDate: Fri, 04 Dec 2026 21:03:11 GMT\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nContent-Length: 57\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    };
    elaine_buf q, r;
    elaine_buf_init(&q);
    elaine_buf_init(&r);
    for (int i = 0; i < 3; i++) {
        elaine_buf_adds(&q, reqs[i]);
        elaine_buf_adds(&r, resps[i]);
    }
    for (size_t k = 0; k <= r.len + 1 && !TOO_MANY; k++) {
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        if (k == r.len + 1) {
            CASE("204 and 304, one exchange at a time");
            for (int i = 0; i < 3; i++) {
                rs(&d, (uint64_t)i, 10 * (uint64_t)i + 1);
                outs(&d, 10 * (uint64_t)i + 2, reqs[i]);
                ins(&d, 10 * (uint64_t)i + 3, resps[i]);
                CHECK_INT(d.c.n, i + 1);
            }
        } else {
            CASE("204 and 304, pipelined, split");
            rs(&d, 0, 1);
            out(&d, 2, q.p, q.len);
            in_split(&d, 3, 4, r.p, r.len, k);
        }
        CHECK_INT(d.c.n, 3);
        if (d.c.n == 3) {
            CHECK_INT(jint(d.c.rec[0], "response.status"), 204);
            CHECK_STR(jstr(d.c.rec[0], "request.method"), "DELETE");
            CHECK(jnull(d.c.rec[0], "response.body"));
            CHECK_INT(jint(d.c.rec[0], "response.body_size"), 0);
            CHECK_INT(jint(d.c.rec[1], "response.status"), 304);
            CHECK_STR(jstr(d.c.rec[1], "response.headers.etag"), "\"abc\"");
            CHECK(jnull(d.c.rec[1], "response.body"));
            CHECK_INT(jint(d.c.rec[1], "response.body_size"), 0);
            CHECK_INT(jint(d.c.rec[2], "response.status"), 200);
            CHECK_STR(jstr(d.c.rec[2], "response.body"), "hello");
            for (int i = 0; i < 3; i++)
                CHECK(jnull(d.c.rec[i], "error"));
        }
        /* nothing is waiting for a close */
        close_conn(&d, 50);
        CHECK_INT(d.c.n, 3);
        drv_free(&d);
    }
    elaine_buf_free(&q);
    elaine_buf_free(&r);
}

/* ---- chunked bodies with trailers, both ways ---- */

static void test_chunked_trailers(void)
{
    char *req = chat_request("");
    elaine_buf r;
    elaine_buf_init(&r);
    elaine_buf_adds(&r, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Other\r\n\r\n");
    chunked(&r, chat_resp_body, strlen(chat_resp_body), 40, "X-Checksum: abc\r\nX-Other: 1\r\n");
    static const char q2[] = "GET /health HTTP/1.1\r\nHost: api.openai.com\r\n\r\n";
    static const char r2[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (size_t k = 0; k <= r.len && !TOO_MANY; k++) {
        CASE("chunked response with trailers, split");
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        outs(&d, 2, req);
        in_split(&d, 3, 4, r.p, r.len, k);
        CHECK_INT(d.c.n, 1);
        rs(&d, 1, 5);
        outs(&d, 6, q2);
        ins(&d, 7, r2);
        CHECK_INT(d.c.n, 2);
        if (d.c.n == 2) {
            check_chat(d.c.rec[0]);
            CHECK_STR(jstr(d.c.rec[0], "response.headers.transfer-encoding"), "chunked");
            CHECK_STR(jstr(d.c.rec[1], "request.path"), "/health");
            CHECK_STR(jstr(d.c.rec[1], "response.body"), "ok");
            CHECK(jnull(d.c.rec[1], "error"));
        }
        drv_free(&d);
    }
    elaine_buf_free(&r);

    /* a request body sent chunked (with a trailer): decoded size, parsed JSON */
    elaine_buf q;
    elaine_buf_init(&q);
    elaine_buf_adds(&q, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    chunked(&q, chat_req_body, strlen(chat_req_body), 11, "X-Trailer: t\r\n");
    char *resp = chat_response();
    for (size_t k = 0; k <= q.len && !TOO_MANY; k++) {
        CASE("chunked request body, split");
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        out(&d, 2, q.p, k);
        out(&d, 3, q.p + k, q.len - k);
        ins(&d, 5, resp);
        CHECK_INT(d.c.n, 1);
        if (d.c.n == 1) {
            check_chat(d.c.rec[0]);
            CHECK_STR(jstr(d.c.rec[0], "request.headers.transfer-encoding"), "chunked");
            CHECK_NUM(jnum(d.c.rec[0], "timing.ttfb_ms"), k < q.len ? 2.0 : 3.0);
        }
        drv_free(&d);
    }
    elaine_buf_free(&q);
    free(req);
    free(resp);
}

/* ---- SSE: CRLF or CR line ends, comments, multi-line data, split anywhere ---- */

/* The stream with "\n" for each line end; the Hel event's blank line is the
 * one after "@@" (removed). */
static const char sse_text[] =
    ": ping\n\n"
    "event: message\n"
    "data: {\"id\":\"c3\",\"model\":\"gpt-4o-mini-x\",\n"
    "data: \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},"
    "\"finish_reason\":null}]}\n@@\n"
    ": keep-alive comment\n"
    "data: {\"id\":\"c3\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"lo\\nworld\"},\n"
    "data:\"finish_reason\":null}]}\n"
    "id: 7\nretry: 1000\n\n"
    "data: {\"id\":\"c3\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    ":\n"
    "data: {\"id\":\"c3\",\"model\":\"gpt-4o-mini-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":3,\"total_tokens\":8}}\n\n"
    "data: [DONE]\n\n";

/* sse_text with each "\n" as eol; *hel: bytes of the stream needed before the Hel event is dispatched. */
static void sse_stream(elaine_buf *b, const char *eol, size_t *hel)
{
    for (const char *p = sse_text; *p; p++) {
        if (p[0] == '@' && p[1] == '@') {
            *hel = b->len + 1; /* the blank line's first byte ends it */
            p++;
        } else if (*p == '\n') {
            elaine_buf_adds(b, eol);
        } else {
            elaine_buf_addc(b, *p);
        }
    }
}

static void test_sse(void)
{
    static const char body[] = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":"
                               "{\"include_usage\":true},\"messages\":[]}";
    char *req;
    if (asprintf(&req,
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body) < 0)
        abort();
    static const char *eols[] = {"\r\n", "\r"};
    for (int e = 0; e < 2; e++) {
        elaine_buf text, resp;
        elaine_buf_init(&text);
        elaine_buf_init(&resp);
        size_t hel = 0, hel_resp = 0;
        sse_stream(&text, eols[e], &hel);
        /* chunks of 37 bytes: chunk boundaries fall inside lines and line ends */
        elaine_buf_adds(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n");
        for (size_t off = 0; off < text.len; off += 37) {
            size_t l = text.len - off < 37 ? text.len - off : 37;
            elaine_buf_addf(&resp, "%zx\r\n", l);
            if (hel > off && hel <= off + l)
                hel_resp = resp.len + (hel - off);
            elaine_buf_add(&resp, text.p + off, l);
            elaine_buf_adds(&resp, "\r\n");
        }
        elaine_buf_adds(&resp, "0\r\n\r\n");
        for (size_t k = 0; k <= resp.len + 1 && !TOO_MANY; k++) {
            CASE(e == 0 ? "sse, CRLF, split" : "sse, CR, split");
            drv d;
            drv_init(&d, "api.openai.com", 443, 1);
            rs(&d, 3, 100);
            outs(&d, 101, req);
            if (k <= resp.len) {
                in_split(&d, 110, 130, resp.p, resp.len, k);
            } else {
                CASE(e == 0 ? "sse, CRLF, a byte a read" : "sse, CR, a byte a read");
                in_bytes(&d, 110, resp.p, resp.len);
            }
            CHECK_INT(d.c.n, 1);
            const ej_val *r = d.c.n == 1 ? d.c.rec[0] : NULL;
            if (r) {
                CHECK(jnull(r, "error"));
                CHECK_STR(jstr(r, "response.body"), text.p);
                CHECK_INT(jint(r, "response.body_size"), text.len);
                CHECK_INT(elaine_json_bool(elaine_json_path(r, "llm.stream")), 1);
                CHECK_STR(jstr(r, "llm.response_model"), "gpt-4o-mini-x");
                CHECK_STR(jstr(r, "llm.output_text"), "Hello\nworld");
                CHECK_INT(jint(r, "llm.input_tokens"), 5);
                CHECK_INT(jint(r, "llm.output_tokens"), 3);
                CHECK_INT(jint(r, "llm.total_tokens"), 8);
                CHECK_STR(jstr(r, "llm.finish_reason"), "stop");
                if (k <= resp.len)
                    CHECK_NUM(jnum(r, "timing.ttft_ms"), k >= hel_resp ? 9.0 : 29.0);
            }
            drv_free(&d);
        }
        elaine_buf_free(&text);
        elaine_buf_free(&resp);
    }
    free(req);
}

/* ---- content codings ---- */

/* A response with Content-Encoding ce (one header line per element of ces
 * when split_header) and the encoded body, delimited by Content-Length or
 * chunked. */
static void encoded_response(elaine_buf *r, const char *const *ces, int nce, const void *enc, size_t n,
                             int chunk)
{
    elaine_buf_adds(r, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    for (int i = 0; i < nce; i++)
        elaine_buf_addf(r, "Content-Encoding: %s\r\n", ces[i]);
    if (chunk) {
        elaine_buf_adds(r, "Transfer-Encoding: chunked\r\n\r\n");
        chunked(r, enc, n, 25, "");
    } else {
        elaine_buf_addf(r, "Content-Length: %zu\r\n\r\n", n);
        elaine_buf_add(r, enc, n);
    }
}

static void check_encoded(const char *name, const elaine_buf *resp, const char *want_ce)
{
    char *req = chat_request("Accept-Encoding: gzip, deflate, br, zstd\r\n");
    for (size_t k = 0; k <= resp->len + 1 && !TOO_MANY; k++) {
        CASE(name);
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        outs(&d, 2, req);
        if (k <= resp->len)
            in_split(&d, 3, 4, resp->p, resp->len, k);
        else
            in_bytes(&d, 3, resp->p, resp->len);
        CHECK_INT(d.c.n, 1);
        if (d.c.n == 1) {
            check_chat(d.c.rec[0]); /* body parsed as JSON, body_size the decoded size */
            CHECK_STR(jstr(d.c.rec[0], "response.headers.content-encoding"), want_ce);
            CHECK(jabsent(d.c.rec[0], "response.body_encoding"));
        }
        drv_free(&d);
    }
    free(req);
}

static void test_encodings(void)
{
    elaine_buf zs, gz, gzzs, r;
    elaine_buf_init(&zs);
    elaine_buf_init(&gz);
    elaine_buf_init(&gzzs);
    elaine_buf_init(&r);
    const char *br[] = {"br"}, *zstd[] = {"zstd"}, *both[] = {"gzip, zstd"}, *two[] = {"gzip", "zstd"};

    encoded_response(&r, br, 1, chat_resp_br, sizeof(chat_resp_br), 0);
    check_encoded("br response", &r, "br");
    elaine_buf_reset(&r);
    encoded_response(&r, br, 1, chat_resp_br, sizeof(chat_resp_br), 1);
    check_encoded("br response, chunked", &r, "br");

    zstd_frame(&zs, chat_resp_body, strlen(chat_resp_body));
    elaine_buf_reset(&r);
    encoded_response(&r, zstd, 1, zs.p, zs.len, 0);
    check_encoded("zstd response", &r, "zstd");
    elaine_buf_reset(&r);
    encoded_response(&r, zstd, 1, zs.p, zs.len, 1);
    check_encoded("zstd response, chunked", &r, "zstd");

    /* gzip applied first, then zstd: one header line, or one line each */
    gzip_to(&gz, chat_resp_body, strlen(chat_resp_body));
    zstd_frame(&gzzs, gz.p, gz.len);
    elaine_buf_reset(&r);
    encoded_response(&r, both, 1, gzzs.p, gzzs.len, 0);
    check_encoded("gzip, zstd response", &r, "gzip, zstd");
    elaine_buf_reset(&r);
    encoded_response(&r, two, 2, gzzs.p, gzzs.len, 1);
    check_encoded("gzip then zstd on two header lines", &r, "gzip, zstd");

    /* a zstd request body */
    CASE("zstd request body");
    {
        elaine_buf zq, q;
        elaine_buf_init(&zq);
        elaine_buf_init(&q);
        zstd_frame(&zq, chat_req_body, strlen(chat_req_body));
        elaine_buf_addf(&q,
                        "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                        "Content-Type: application/json\r\nContent-Encoding: zstd\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        zq.len);
        elaine_buf_add(&q, zq.p, zq.len);
        char *resp = chat_response();
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        out(&d, 2, q.p, q.len);
        ins(&d, 4, resp);
        CHECK_INT(d.c.n, 1);
        if (d.c.n == 1)
            check_chat(d.c.rec[0]);
        drv_free(&d);
        free(resp);
        elaine_buf_free(&zq);
        elaine_buf_free(&q);
    }

    /* a zstd event stream, flushed at each event as a server would */
    CASE("zstd event stream");
    {
        elaine_buf text, enc, resp;
        elaine_buf_init(&text);
        elaine_buf_init(&enc);
        elaine_buf_init(&resp);
        size_t hel;
        sse_stream(&text, "\n", &hel);
        ZSTD_CCtx *c = ZSTD_createCCtx();
        unsigned char tmp[4096];
        size_t off = 0, rc = 0;
        while (off < text.len) {
            const char *end = strstr(text.p + off, "\n\n");
            size_t l = end ? (size_t)(end + 2 - (text.p + off)) : text.len - off;
            ZSTD_inBuffer ib = {text.p + off, l, 0};
            ZSTD_EndDirective how = off + l < text.len ? ZSTD_e_flush : ZSTD_e_end;
            do {
                ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
                rc = ZSTD_compressStream2(c, &ob, &ib, how);
                CHECK(!ZSTD_isError(rc));
                elaine_buf_add(&enc, tmp, ob.pos);
            } while (!ZSTD_isError(rc) && rc != 0);
            off += l;
        }
        ZSTD_freeCCtx(c);
        elaine_buf_adds(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Content-Encoding: zstd\r\nTransfer-Encoding: chunked\r\n\r\n");
        chunked(&resp, enc.p, enc.len, 64, "");
        char *req = chat_request("");
        drv d;
        drv_init(&d, "api.openai.com", 443, 1);
        rs(&d, 0, 1);
        outs(&d, 2, req);
        in_bytes(&d, 3, resp.p, resp.len);
        CHECK_INT(d.c.n, 1);
        if (d.c.n == 1) {
            const ej_val *x = d.c.rec[0];
            CHECK(jnull(x, "error"));
            CHECK_STR(jstr(x, "response.body"), text.p);
            CHECK_INT(jint(x, "response.body_size"), text.len);
            CHECK_STR(jstr(x, "llm.output_text"), "Hello\nworld");
            CHECK_INT(jint(x, "llm.total_tokens"), 8);
        }
        drv_free(&d);
        free(req);
        elaine_buf_free(&text);
        elaine_buf_free(&enc);
        elaine_buf_free(&resp);
    }

    elaine_buf_free(&zs);
    elaine_buf_free(&gz);
    elaine_buf_free(&gzzs);
    elaine_buf_free(&r);
}

int main(void)
{
    test_expect_continue();
    test_head();
    test_204_304();
    test_chunked_trailers();
    test_sse();
    test_encodings();
    return check_done("test_corners");
}
