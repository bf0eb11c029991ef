/* Tests for HTTP/2 in the exchange layer: synthetic shim events carrying h2
 * bytes (header blocks made with nghttp2's deflater) in, one record per
 * stream and the ack watermark out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "elaine_http2.h"
#include "exchange_harness.h"

#if NGHTTP2_VERSION_NUM >= 0x013d00 /* 1.61: the nghttp2_ssize API */
#define deflate_hd nghttp2_hd_deflate_hd2
#else
#define deflate_hd nghttp2_hd_deflate_hd
#endif

/* No pseudo-header (":path", ":status", ...) among a record's headers. */
static int no_pseudo(const ej_val *r)
{
    static const char *const keys[] = {"request.headers", "response.headers"};
    for (int k = 0; k < 2; k++) {
        const ej_val *h = r ? elaine_json_path(r, keys[k]) : NULL;
        if (!h || elaine_json_type(h) != EJ_OBJ)
            continue;
        for (size_t i = 0; i < elaine_json_len(h); i++)
            if (elaine_json_key_at(h, i)[0] == ':')
                return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ events */

/* One process's event stream: seq counts up from 1. */
typedef struct drv {
    elaine_exchange_proc *p;
    uint64_t seq;
} drv;

/* seq0: a re-announcement (seq 0) */
static int d_open(drv *d, uint64_t conn, const char *host, uint32_t port, const char *alpn, int seq0)
{
    return ev_open(d->p, seq0 ? 0 : ++d->seq, conn, host, port, 1, alpn);
}

static int d_rs_full(drv *d, uint64_t conn, uint32_t tid, uint64_t wall, uint64_t mono, int gap,
                     uint64_t *stack, size_t nstack)
{
    uint64_t no = d->seq; /* anything: h2 ids come from stream ids */
    return ev_rs_full(d->p, ++d->seq, conn, no, tid, wall, mono, gap, stack, nstack);
}

static int d_rs(drv *d, uint64_t conn, uint32_t tid, uint64_t wall, uint64_t mono)
{
    return d_rs_full(d, conn, tid, wall, mono, 0, NULL, 0);
}

/* Data of thread 7 (not the RequestStarts' 99) */
static int d_data(drv *d, uint64_t conn, int out, uint64_t mono, const void *bytes, size_t n)
{
    return ev_data_full(d->p, ++d->seq, conn, out, 7, mono, bytes, n);
}

static int d_out(drv *d, uint64_t conn, uint64_t mono, const elaine_buf *b)
{
    return d_data(d, conn, 1, mono, b->p, b->len);
}

static int d_in(drv *d, uint64_t conn, uint64_t mono, const elaine_buf *b)
{
    return d_data(d, conn, 0, mono, b->p, b->len);
}

static int d_close(drv *d, uint64_t conn, uint64_t mono)
{
    return ev_close(d->p, ++d->seq, conn, mono);
}

static uint64_t wm(const drv *d)
{
    return elaine_exchange_watermark(d->p);
}

/* ------------------------------------------------------------ h2 bytes */

enum { T_DATA, T_HEADERS, T_PRIORITY, T_RST_STREAM, T_SETTINGS, T_PUSH_PROMISE, T_PING, T_GOAWAY,
       T_WINDOW_UPDATE, T_CONTINUATION };
#define F_END_STREAM 0x01
#define F_ACK 0x01
#define F_END_HEADERS 0x04

/* Both HPACK encoders of one connection. */
typedef struct h2c {
    nghttp2_hd_deflater *cl, *sv;
} h2c;

static void h2c_init(h2c *h)
{
    if (nghttp2_hd_deflate_new(&h->cl, 4096) != 0 || nghttp2_hd_deflate_new(&h->sv, 4096) != 0)
        abort();
}

static void h2c_free(h2c *h)
{
    nghttp2_hd_deflate_del(h->cl);
    nghttp2_hd_deflate_del(h->sv);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void frame(elaine_buf *b, int type, int flags, uint32_t sid, const void *payload, size_t n)
{
    uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)type, (uint8_t)flags};
    put32(h + 5, sid);
    elaine_buf_add(b, h, 9);
    if (n)
        elaine_buf_add(b, payload, n);
}

/* The client's preface and SETTINGS (what curl writes first). */
static void preface(elaine_buf *b)
{
    static const uint8_t s[] = {0, 3, 0, 0, 0, 100, 0, 4, 0, 0xa0, 0, 0};
    elaine_buf_add(b, ELAINE_HTTP2_PREFACE, ELAINE_HTTP2_PREFACE_LEN);
    frame(b, T_SETTINGS, 0, 0, s, sizeof(s));
}

/* The server's SETTINGS and its ACK of the client's. */
static void server_settings(elaine_buf *b)
{
    static const uint8_t s[] = {0, 3, 0, 0, 0, 128};
    frame(b, T_SETTINGS, 0, 0, s, sizeof(s));
    frame(b, T_SETTINGS, F_ACK, 0, NULL, 0);
}

/* A header block (kv: name, value, ..., NULL) as one HEADERS frame. */
static void headers(elaine_buf *b, nghttp2_hd_deflater *df, uint32_t sid, int flags, const char **kv)
{
    nghttp2_nv nv[32];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        nv[n].name = (uint8_t *)kv[2 * n];
        nv[n].namelen = strlen(kv[2 * n]);
        nv[n].value = (uint8_t *)kv[2 * n + 1];
        nv[n].valuelen = strlen(kv[2 * n + 1]);
        nv[n].flags = NGHTTP2_NV_FLAG_NONE;
    }
    uint8_t blk[4096];
    long r = (long)deflate_hd(df, blk, sizeof(blk), nv, n);
    if (r < 0)
        abort();
    frame(b, T_HEADERS, flags | F_END_HEADERS, sid, blk, (size_t)r);
}

static void data(elaine_buf *b, uint32_t sid, int flags, const void *p, size_t n)
{
    frame(b, T_DATA, flags, sid, p, n);
}

static void datas(elaine_buf *b, uint32_t sid, int flags, const char *s)
{
    data(b, sid, flags, s, strlen(s));
}

static void rst(elaine_buf *b, uint32_t sid, uint32_t code)
{
    uint8_t p[4];
    put32(p, code);
    frame(b, T_RST_STREAM, 0, sid, p, 4);
}

static void goaway(elaine_buf *b, uint32_t last, uint32_t code)
{
    uint8_t p[8];
    put32(p, last);
    put32(p + 4, code);
    frame(b, T_GOAWAY, 0, 0, p, 8);
}

static void window_update(elaine_buf *b, uint32_t sid)
{
    uint8_t p[4];
    put32(p, 65535);
    frame(b, T_WINDOW_UPDATE, 0, sid, p, 4);
}

/* ------------------------------------------------------------ fixtures */

static const char stream_req_body[] = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":"
                                      "{\"include_usage\":true},\"messages\":[]}";
static char *sse_text(void)
{
    elaine_buf t;
    elaine_buf_init(&t);
    for (size_t i = 0; i < N_SSE; i++)
        elaine_buf_adds(&t, sse_events[i]);
    return elaine_buf_take(&t);
}

/* A POST of body to path on stream sid; content-length as a string buffer of 32. */
static void post(elaine_buf *b, h2c *h, uint32_t sid, const char *authority, const char *path,
                 const char *body, int stream)
{
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", strlen(body));
    const char *kv[] = {":method", "POST", ":scheme", "https", ":authority", authority, ":path", path,
                        "authorization", "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz",
                        "content-type", "application/json", "accept",
                        stream ? "text/event-stream" : "application/json", "content-length", clen,
                        NULL};
    headers(b, h->cl, sid, 0, kv);
    datas(b, sid, F_END_STREAM, body);
}

static void json_head(elaine_buf *b, h2c *h, uint32_t sid, const char *encoding)
{
    const char *kv[] = {":status", "200", "content-type", "application/json", "x-trace", "a",
                        "x-trace", "b", encoding ? "content-encoding" : NULL, encoding, NULL};
    headers(b, h->sv, sid, 0, kv);
}

static void sse_head(elaine_buf *b, h2c *h, uint32_t sid)
{
    const char *kv[] = {":status", "200", "content-type", "text/event-stream; charset=utf-8", NULL};
    headers(b, h->sv, sid, 0, kv);
}

/* The values of a JSON chat completion record (test_exchange.c's fixture). */
static void check_chat_json(const ej_val *r)
{
    CHECK_STR(jstr(r, "type"), "exchange");
    CHECK_INT(jint(r, "pid"), PID);
    CHECK_STR(jstr(r, "exe"), "/usr/bin/curl");
    CHECK_STR(jstr(r, "http.version"), "2");
    CHECK_STR(jstr(r, "request.method"), "POST");
    CHECK_STR(jstr(r, "request.path"), "/v1/chat/completions");
    CHECK_STR(jstr(r, "request.headers.authorization"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.content-type"), "application/json");
    CHECK_STR(jstr(r, "request.body.model"), "gpt-4o-mini");
    CHECK_INT(jint(r, "request.body_size"), strlen(chat_req_body));
    CHECK_INT(jint(r, "response.status"), 200);
    CHECK_STR(jstr(r, "response.headers.x-trace"), "a, b");
    CHECK_STR(jstr(r, "response.body.id"), "chatcmpl-1");
    CHECK_INT(jint(r, "response.body_size"), strlen(chat_resp_body));
    CHECK_STR(jstr(r, "llm.provider"), "openai");
    CHECK_STR(jstr(r, "llm.operation"), "chat");
    CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
    CHECK_STR(jstr(r, "llm.response_model"), "gpt-4o-mini-2024-07-18");
    CHECK_INT(elaine_json_bool(elaine_json_path(r, "llm.stream")), 0);
    CHECK_INT(jint(r, "llm.input_tokens"), 9);
    CHECK_INT(jint(r, "llm.output_tokens"), 2);
    CHECK_INT(jint(r, "llm.total_tokens"), 11);
    CHECK_STR(jstr(r, "llm.finish_reason"), "stop");
    CHECK_STR(jstr(r, "llm.output_text"), "Hello!");
    CHECK(jnull(r, "timing.ttft_ms"));
    CHECK(jnull(r, "error"));
    CHECK(jnull(r, "stack"));
    CHECK(no_pseudo(r));
    CHECK(elaine_json_path(r, "request.headers.:path") == NULL);
    CHECK(elaine_json_path(r, "response.headers.:status") == NULL);
}

static void check_chat_sse(const ej_val *r, const char *text)
{
    CHECK_STR(jstr(r, "http.version"), "2");
    CHECK_STR(jstr(r, "request.method"), "POST");
    CHECK_STR(jstr(r, "request.path"), "/v1/chat/completions");
    CHECK_INT(jint(r, "response.status"), 200);
    CHECK_STR(jstr(r, "response.body"), text);
    CHECK_INT(jint(r, "response.body_size"), strlen(text));
    CHECK_INT(elaine_json_bool(elaine_json_path(r, "llm.stream")), 1);
    CHECK_STR(jstr(r, "llm.provider"), "openai");
    CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
    CHECK_STR(jstr(r, "llm.response_model"), "gpt-4o-mini-x");
    CHECK_INT(jint(r, "llm.input_tokens"), 5);
    CHECK_INT(jint(r, "llm.output_tokens"), 2);
    CHECK_INT(jint(r, "llm.total_tokens"), 7);
    CHECK_STR(jstr(r, "llm.finish_reason"), "stop");
    CHECK_STR(jstr(r, "llm.output_text"), "Hello");
    CHECK(jnull(r, "error"));
    CHECK(no_pseudo(r));
}

/* ------------------------------------------------------------ cases */

/* One JSON chat completion on stream 1; the client's bytes split at every
 * position (server's whole), then the server's (client's whole). */
static void test_json(void)
{
    h2c h;
    h2c_init(&h);
    elaine_buf cb, sb;
    elaine_buf_init(&cb);
    elaine_buf_init(&sb);
    preface(&cb);
    post(&cb, &h, 1, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    size_t c_head_end = cb.len - 9 - strlen(chat_req_body); /* after the HEADERS frame */
    server_settings(&sb);
    json_head(&sb, &h, 1, NULL);
    size_t s_head_end = sb.len;
    datas(&sb, 1, F_END_STREAM, chat_resp_body);
    h2c_free(&h);

    for (int side = 0; side < 2; side++) {
        size_t len = side == 0 ? cb.len : sb.len;
        for (size_t k = 1; k < len; k++) {
            CASE(side == 0 ? "h2 json, client bytes split" : "h2 json, server bytes split");
            cap c = {0};
            drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
            CHECK_INT(d_open(&d, 5, "api.openai.com", 443, "h2", 0), 0);
            CHECK_INT(wm(&d), 1);
            CHECK_INT(d_rs(&d, 5, 99, WALL, 1 * MS), 0);
            if (side == 0) {
                d_data(&d, 5, 1, 2 * MS, cb.p, k);
                d_data(&d, 5, 1, 3 * MS, cb.p + k, cb.len - k);
                CHECK_INT(elaine_exchange_inflight(d.p), 1);
                CHECK_INT(c.n, 0);
                d_data(&d, 5, 0, 10 * MS, sb.p, sb.len);
            } else {
                d_data(&d, 5, 1, 2 * MS, cb.p, cb.len);
                d_data(&d, 5, 0, 10 * MS, sb.p, k);
                CHECK_INT(c.n, 0);
                d_data(&d, 5, 0, 20 * MS, sb.p + k, sb.len - k);
            }
            CHECK_INT(c.n, 1);
            CHECK_INT(elaine_exchange_inflight(d.p), 0);
            CHECK_INT(wm(&d), 1); /* the connection is open: held at its ConnOpen */
            CHECK_INT(d_close(&d, 5, 30 * MS), 0);
            CHECK_INT(c.n, 1);
            CHECK_INT(wm(&d), d.seq + 1);
            CHECK_INT(elaine_exchange_conns(d.p), 0);
            const ej_val *r = c.rec[0];
            if (c.n == 1 && r) {
                check_chat_json(r);
                CHECK_STR(jstr(r, "id"), "4242-777-5-1");
                CHECK_INT(jint(r, "tid"), 99);
                CHECK_STR(jstr(r, "host"), "api.openai.com");
                CHECK_INT(jint(r, "port"), 443);
                CHECK_INT(elaine_json_bool(elaine_json_get(r, "tls")), 1);
                /* the request head came at 2 ms, or 3 ms when its frame was cut */
                uint64_t head = side == 0 && k < c_head_end ? 3 : 2;
                char ts[40];
                elaine_record_ts(ts, sizeof(ts), WALL + (head - 1) * MS);
                CHECK_STR(jstr(r, "ts"), ts);
                double last_out = side == 0 ? 3.0 : 2.0;
                double resp_head = side == 1 && k < s_head_end ? 20.0 : 10.0;
                double done = side == 1 ? 20.0 : 10.0;
                CHECK_NUM(jnum(r, "timing.ttfb_ms"), resp_head - last_out);
                CHECK_NUM(jnum(r, "timing.duration_ms"), done - (double)head);
            }
            elaine_exchange_proc_free(d.p);
            cap_reset(&c);
            if (check_failures > 20)
                goto out;
        }
    }
out:
    elaine_buf_free(&cb);
    elaine_buf_free(&sb);
}

/* A streamed chat completion: each SSE event in its own DATA frame and read. */
static void test_sse(void)
{
    CASE("h2 sse");
    h2c h;
    h2c_init(&h);
    cap c = {0};
    drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
    char *text = sse_text();
    elaine_buf b;
    elaine_buf_init(&b);
    d_open(&d, 8, "api.openai.com", 443, "h2", 0);
    d_rs(&d, 8, 99, WALL, 100 * MS);
    preface(&b);
    post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", stream_req_body, 1);
    d_out(&d, 8, 101 * MS, &b);
    elaine_buf_reset(&b);
    server_settings(&b);
    sse_head(&b, &h, 1);
    d_in(&d, 8, 110 * MS, &b);
    for (size_t i = 0; i < N_SSE; i++) {
        elaine_buf_reset(&b);
        datas(&b, 1, 0, sse_events[i]);
        if (i == 2) /* flow control frames between: ignored */
            window_update(&b, 0);
        d_in(&d, 8, (120 + 10 * i) * MS, &b);
    }
    CHECK_INT(c.n, 0);
    elaine_buf_reset(&b);
    data(&b, 1, F_END_STREAM, NULL, 0);
    d_in(&d, 8, 190 * MS, &b);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        const ej_val *r = c.rec[0];
        check_chat_sse(r, text);
        CHECK_STR(jstr(r, "id"), "4242-777-8-1");
        CHECK_STR(jstr(r, "ts"), "2026-12-04T21:03:11.124456Z"); /* WALL + 1 ms */
        CHECK_NUM(jnum(r, "timing.ttfb_ms"), 9.0);
        CHECK_NUM(jnum(r, "timing.ttft_ms"), 29.0); /* "Hel" came at 130 ms */
        CHECK_NUM(jnum(r, "timing.duration_ms"), 89.0);
    }
    CHECK_INT(wm(&d), 1);
    elaine_buf_free(&b);
    free(text);
    h2c_free(&h);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
}

/* Three streams multiplexed on one connection, their frames interleaved;
 * gzip on one; two RequestStarts give two threads. */
static void test_interleaved(void)
{
    CASE("h2 three interleaved streams");
    h2c h;
    h2c_init(&h);
    cap c = {0};
    drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
    char *text = sse_text();
    elaine_buf gz;
    elaine_buf_init(&gz);
    gzip_to(&gz, chat_resp_body, strlen(chat_resp_body));
    size_t gzn = gz.len;
    elaine_buf b;
    elaine_buf_init(&b);

    d_open(&d, 9, "api.openai.com", 443, "h2", 0);
    d_rs(&d, 9, 99, WALL, 1 * MS);
    preface(&b);
    post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    post(&b, &h, 3, "api.openai.com", "/v1/chat/completions", stream_req_body, 1);
    d_out(&d, 9, 2 * MS, &b);
    elaine_buf_reset(&b);
    server_settings(&b);
    d_in(&d, 9, 4 * MS, &b);
    /* another thread writes the third request */
    d_rs(&d, 9, 100, WALL + 10 * MS, 5 * MS);
    elaine_buf_reset(&b);
    frame(&b, T_SETTINGS, F_ACK, 0, NULL, 0);
    const char *get[] = {":method", "GET", ":scheme", "https", ":authority", "api.openai.com",
                         ":path", "/v1/models", "accept", "application/json", NULL};
    headers(&b, h.cl, 5, F_END_STREAM, get);
    d_out(&d, 9, 6 * MS, &b);
    CHECK_INT(elaine_exchange_inflight(d.p), 3);

    elaine_buf_reset(&b);
    sse_head(&b, &h, 3);
    datas(&b, 3, 0, sse_events[0]);
    d_in(&d, 9, 10 * MS, &b);
    elaine_buf_reset(&b);
    json_head(&b, &h, 1, "gzip");
    data(&b, 1, 0, gz.p, gzn / 2);
    d_in(&d, 9, 11 * MS, &b);
    elaine_buf_reset(&b);
    datas(&b, 3, 0, sse_events[1]);
    const char *models_head[] = {":status", "200", "content-type", "application/json", NULL};
    headers(&b, h.sv, 5, 0, models_head);
    datas(&b, 5, F_END_STREAM, "{\"object\":\"list\",\"data\":[]}");
    d_in(&d, 9, 12 * MS, &b);
    CHECK_INT(c.n, 1);
    elaine_buf_reset(&b);
    data(&b, 1, F_END_STREAM, gz.p + gzn / 2, gzn - gzn / 2);
    d_in(&d, 9, 13 * MS, &b);
    CHECK_INT(c.n, 2);
    elaine_buf_reset(&b);
    for (size_t i = 2; i < N_SSE; i++)
        datas(&b, 3, i + 1 == N_SSE ? F_END_STREAM : 0, sse_events[i]);
    d_in(&d, 9, 14 * MS, &b);
    CHECK_INT(c.n, 3);
    CHECK_INT(elaine_exchange_inflight(d.p), 0);
    CHECK_INT(wm(&d), 1);

    if (c.n == 3) {
        const ej_val *r5 = c.rec[0], *r1 = c.rec[1], *r3 = c.rec[2];
        CHECK_STR(jstr(r5, "id"), "4242-777-9-5");
        CHECK_STR(jstr(r1, "id"), "4242-777-9-1");
        CHECK_STR(jstr(r3, "id"), "4242-777-9-3");
        /* stream 5: GET /v1/models, not an LLM call; its own thread and time */
        CHECK_STR(jstr(r5, "http.version"), "2");
        CHECK_STR(jstr(r5, "request.method"), "GET");
        CHECK_STR(jstr(r5, "request.path"), "/v1/models");
        CHECK_STR(jstr(r5, "request.headers.accept"), "application/json");
        CHECK_STR(jstr(r5, "response.body.object"), "list");
        CHECK(jnull(r5, "llm.provider"));
        CHECK(jnull(r5, "llm.model"));
        CHECK_INT(jint(r5, "tid"), 100);
        CHECK_STR(jstr(r5, "ts"), "2026-12-04T21:03:11.134456Z"); /* WALL + 10 ms + (6 - 5) ms */
        CHECK_NUM(jnum(r5, "timing.ttfb_ms"), 6.0);
        CHECK_NUM(jnum(r5, "timing.duration_ms"), 6.0);
        CHECK(no_pseudo(r5));
        /* stream 1: gzip JSON, decoded */
        check_chat_json(r1);
        CHECK_STR(jstr(r1, "response.headers.content-encoding"), "gzip");
        CHECK_INT(jint(r1, "tid"), 99);
        CHECK_STR(jstr(r1, "ts"), "2026-12-04T21:03:11.124456Z"); /* WALL + 1 ms */
        CHECK_NUM(jnum(r1, "timing.ttfb_ms"), 9.0);
        CHECK_NUM(jnum(r1, "timing.duration_ms"), 11.0);
        /* stream 3: the stream, its ttft from its own events */
        check_chat_sse(r3, text);
        CHECK_INT(jint(r3, "tid"), 99);
        CHECK_NUM(jnum(r3, "timing.ttfb_ms"), 8.0);
        CHECK_NUM(jnum(r3, "timing.ttft_ms"), 10.0);
        CHECK_NUM(jnum(r3, "timing.duration_ms"), 12.0);
        for (int i = 0; i < 3; i++) {
            CHECK_STR(jstr(c.rec[i], "host"), "api.openai.com");
            CHECK_INT(jint(c.rec[i], "port"), 443);
            double ttfb = jnum(c.rec[i], "timing.ttfb_ms"), dur = jnum(c.rec[i], "timing.duration_ms");
            CHECK(ttfb >= 0 && ttfb <= dur);
        }
    }
    d_close(&d, 9, 20 * MS);
    CHECK_INT(c.n, 3);
    CHECK_INT(wm(&d), d.seq + 1);
    elaine_buf_free(&gz);
    elaine_buf_free(&b);
    free(text);
    h2c_free(&h);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
}

/* RST_STREAM (either side, named and unnamed codes), a reset after a
 * complete response, GOAWAY, and a close with a stream open. */
static void test_reset_goaway_close(void)
{
    CASE("h2 reset");
    h2c h;
    h2c_init(&h);
    cap c = {0};
    drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
    elaine_buf b;
    elaine_buf_init(&b);
    d_open(&d, 11, "api.openai.com", 443, "h2", 0);
    d_rs(&d, 11, 99, WALL, 1 * MS);
    preface(&b);
    post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", stream_req_body, 1);
    post(&b, &h, 3, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    post(&b, &h, 5, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    post(&b, &h, 7, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    d_out(&d, 11, 2 * MS, &b);
    elaine_buf_reset(&b);
    server_settings(&b);
    sse_head(&b, &h, 1);
    datas(&b, 1, 0, sse_events[0]);
    json_head(&b, &h, 3, NULL);
    datas(&b, 3, F_END_STREAM, chat_resp_body);
    rst(&b, 3, 0); /* after a complete response: nothing more */
    rst(&b, 5, 7); /* REFUSED_STREAM */
    rst(&b, 7, 0x1234);
    d_in(&d, 11, 5 * MS, &b);
    CHECK_INT(c.n, 3);
    elaine_buf_reset(&b);
    rst(&b, 1, 8); /* the client cancels the stream */
    d_out(&d, 11, 6 * MS, &b);
    CHECK_INT(c.n, 4);
    CHECK_INT(elaine_exchange_inflight(d.p), 0);
    if (c.n == 4) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-11-3");
        CHECK(jnull(c.rec[0], "error"));
        check_chat_json(c.rec[0]);
        CHECK_STR(jstr(c.rec[1], "id"), "4242-777-11-5");
        CHECK_STR(jstr(c.rec[1], "error"), "stream reset (REFUSED_STREAM)");
        CHECK(jnull(c.rec[1], "response.status"));
        CHECK_STR(jstr(c.rec[1], "llm.model"), "gpt-4o-mini");
        CHECK_STR(jstr(c.rec[2], "id"), "4242-777-11-7");
        CHECK_STR(jstr(c.rec[2], "error"), "stream reset (0x1234)");
        const ej_val *r = c.rec[3];
        CHECK_STR(jstr(r, "id"), "4242-777-11-1");
        CHECK_STR(jstr(r, "error"), "stream reset (CANCEL)");
        CHECK_INT(jint(r, "response.status"), 200);
        CHECK_STR(jstr(r, "response.body"), sse_events[0]);
        CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
        CHECK_INT(elaine_json_bool(elaine_json_path(r, "llm.stream")), 1);
        CHECK_NUM(jnum(r, "timing.ttfb_ms"), 3.0);
        CHECK(jnull(r, "timing.duration_ms"));
    }

    CASE("h2 goaway");
    cap_reset(&c);
    elaine_buf_reset(&b);
    post(&b, &h, 9, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    post(&b, &h, 11, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    d_out(&d, 11, 10 * MS, &b);
    elaine_buf_reset(&b);
    goaway(&b, 9, 0);
    d_in(&d, 11, 11 * MS, &b);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-11-11");
        CHECK_STR(jstr(c.rec[0], "error"), "stream not processed: the server sent GOAWAY");
    }
    elaine_buf_reset(&b);
    json_head(&b, &h, 9, NULL);
    datas(&b, 9, F_END_STREAM, chat_resp_body);
    d_in(&d, 11, 12 * MS, &b);
    CHECK_INT(c.n, 2);
    if (c.n == 2) {
        CHECK_STR(jstr(c.rec[1], "id"), "4242-777-11-9");
        CHECK(jnull(c.rec[1], "error"));
        CHECK_NUM(jnum(c.rec[1], "timing.ttfb_ms"), 2.0);
    }

    CASE("h2 close with a stream open");
    cap_reset(&c);
    elaine_buf_reset(&b);
    post(&b, &h, 13, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    d_out(&d, 11, 20 * MS, &b);
    elaine_buf_reset(&b);
    json_head(&b, &h, 13, NULL);
    d_in(&d, 11, 21 * MS, &b);
    CHECK_INT(c.n, 0);
    CHECK_INT(wm(&d), 1);
    d_close(&d, 11, 22 * MS);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-11-13");
        CHECK_STR(jstr(c.rec[0], "error"), ELAINE_ERR_CLOSED);
        CHECK_INT(jint(c.rec[0], "response.status"), 200);
        CHECK(jnull(c.rec[0], "timing.duration_ms"));
    }
    CHECK_INT(wm(&d), d.seq + 1);
    elaine_buf_free(&b);
    h2c_free(&h);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
}

/* A response is complete once DATA brought its content-length, END_STREAM
 * or not: curl stops reading there and may close before the empty DATA frame
 * with END_STREAM that nginx sends last. */
static void test_content_length(void)
{
    CASE("h2 content-length");
    h2c h;
    h2c_init(&h);
    cap c = {0};
    drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
    elaine_buf b;
    elaine_buf_init(&b);
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", strlen(chat_resp_body));
    d_open(&d, 4, "api.openai.com", 443, "h2", 0);
    d_rs(&d, 4, 99, WALL, 1 * MS);
    preface(&b);
    post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    const char *get[] = {":method", "GET", ":scheme", "https", ":authority", "api.openai.com",
                         ":path", "/v1/models", NULL};
    headers(&b, h.cl, 3, F_END_STREAM, get);
    d_out(&d, 4, 2 * MS, &b);
    elaine_buf_reset(&b);
    server_settings(&b);
    const char *kv[] = {":status", "200", "content-type", "application/json", "x-trace", "a",
                        "content-length", clen, "x-trace", "b", NULL};
    headers(&b, h.sv, 1, 0, kv);
    size_t half = strlen(chat_resp_body) / 2;
    data(&b, 1, 0, chat_resp_body, half);
    d_in(&d, 4, 3 * MS, &b);
    CHECK_INT(c.n, 0);
    elaine_buf_reset(&b);
    data(&b, 1, 0, chat_resp_body + half, strlen(chat_resp_body) - half);
    d_in(&d, 4, 4 * MS, &b);
    CHECK_INT(c.n, 1);
    elaine_buf_reset(&b);
    const char *empty[] = {":status", "200", "content-length", "0", NULL};
    headers(&b, h.sv, 3, 0, empty);
    d_in(&d, 4, 5 * MS, &b);
    CHECK_INT(c.n, 2);
    elaine_buf_reset(&b);
    data(&b, 1, F_END_STREAM, NULL, 0); /* read by nobody, or late: nothing changes */
    data(&b, 3, F_END_STREAM, NULL, 0);
    d_in(&d, 4, 6 * MS, &b);
    d_close(&d, 4, 7 * MS);
    CHECK_INT(c.n, 2);
    if (c.n == 2) {
        check_chat_json(c.rec[0]);
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-4-1");
        CHECK_STR(jstr(c.rec[0], "response.headers.content-length"), clen);
        CHECK_NUM(jnum(c.rec[0], "timing.duration_ms"), 2.0);
        CHECK_STR(jstr(c.rec[1], "id"), "4242-777-4-3");
        CHECK(jnull(c.rec[1], "error"));
        CHECK_INT(jint(c.rec[1], "response.body_size"), 0);
        CHECK_NUM(jnum(c.rec[1], "timing.duration_ms"), 3.0);
    }
    CHECK_INT(wm(&d), d.seq + 1);
    elaine_buf_free(&b);
    h2c_free(&h);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
}

/* Events dropped (RequestStart.gap), or bytes the decoder refuses: every open
 * stream gets one error record, the rest of the connection is ignored, and
 * the watermark no longer waits for it. */
static void test_gap_and_garbage(void)
{
    for (int garbage = 0; garbage < 2; garbage++) {
        CASE(garbage ? "h2 undecodable" : "h2 gap");
        h2c h;
        h2c_init(&h);
        cap c = {0};
        drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
        elaine_buf b;
        elaine_buf_init(&b);
        d_open(&d, 12, "api.openai.com", 443, "h2", 0);
        d_rs(&d, 12, 99, WALL, 1 * MS);
        preface(&b);
        post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", stream_req_body, 1);
        post(&b, &h, 3, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
        d_out(&d, 12, 2 * MS, &b);
        elaine_buf_reset(&b);
        server_settings(&b);
        sse_head(&b, &h, 1);
        d_in(&d, 12, 3 * MS, &b);
        CHECK_INT(wm(&d), 1);
        if (garbage) {
            static const uint8_t bad[] = {0xff, 0xff, 0xff, 0xff}; /* no such HPACK index */
            elaine_buf_reset(&b);
            frame(&b, T_HEADERS, F_END_HEADERS, 3, bad, sizeof(bad));
            d_in(&d, 12, 4 * MS, &b);
        } else {
            d_rs_full(&d, 12, 99, WALL, 4 * MS, 1, NULL, 0);
        }
        CHECK_INT(c.n, 2);
        const char *want = garbage ? "HTTP/2 decoding failed" : ELAINE_ERR_GAP;
        for (int i = 0; i < c.n; i++)
            CHECK_STR(jstr(c.rec[i], "error"), want);
        if (c.n == 2) {
            CHECK_STR(jstr(c.rec[0], "id"), "4242-777-12-1");
            CHECK_INT(jint(c.rec[0], "response.status"), 200);
            CHECK_STR(jstr(c.rec[1], "id"), "4242-777-12-3");
            CHECK(jnull(c.rec[1], "response.status"));
        }
        CHECK_INT(wm(&d), d.seq + 1);
        CHECK_INT(elaine_exchange_inflight(d.p), 0);
        /* later bytes of the connection are ignored */
        elaine_buf_reset(&b);
        datas(&b, 1, F_END_STREAM, sse_events[0]);
        d_in(&d, 12, 5 * MS, &b);
        d_rs(&d, 12, 99, WALL, 6 * MS);
        elaine_buf_reset(&b);
        post(&b, &h, 5, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
        d_out(&d, 12, 7 * MS, &b);
        d_close(&d, 12, 8 * MS);
        CHECK_INT(c.n, 2);
        CHECK_INT(wm(&d), d.seq + 1);
        elaine_buf_free(&b);
        h2c_free(&h);
        elaine_exchange_proc_free(d.p);
        cap_reset(&c);
    }
}

/* The event stream of one JSON exchange on an h2 connection (conn 5): the
 * collector restart cases replay it. */
typedef struct script {
    int n;
    int type[8]; /* 0 open, 1 rs, 2 out, 3 in */
    uint64_t mono[8];
    elaine_buf bytes[8];
} script;

static void script_build(script *s)
{
    h2c h;
    h2c_init(&h);
    memset(s, 0, sizeof(*s));
    s->type[s->n] = 0, s->n++;
    s->type[s->n] = 1, s->mono[s->n] = 1 * MS, s->n++;
    s->type[s->n] = 2, s->mono[s->n] = 2 * MS;
    preface(&s->bytes[s->n]);
    post(&s->bytes[s->n], &h, 1, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    s->n++;
    s->type[s->n] = 3, s->mono[s->n] = 5 * MS;
    server_settings(&s->bytes[s->n]);
    json_head(&s->bytes[s->n], &h, 1, NULL);
    s->n++;
    s->type[s->n] = 3, s->mono[s->n] = 6 * MS;
    datas(&s->bytes[s->n], 1, F_END_STREAM, chat_resp_body);
    s->n++;
    s->type[s->n] = 1, s->mono[s->n] = 7 * MS;
    s->n++;
    /* a second stream: the dynamic table is needed to decode its head */
    s->type[s->n] = 2, s->mono[s->n] = 8 * MS;
    post(&s->bytes[s->n], &h, 3, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    s->n++;
    s->type[s->n] = 3, s->mono[s->n] = 9 * MS;
    json_head(&s->bytes[s->n], &h, 3, NULL);
    datas(&s->bytes[s->n], 3, F_END_STREAM, chat_resp_body);
    s->n++;
    h2c_free(&h);
}

static void script_free(script *s)
{
    for (int i = 0; i < s->n; i++)
        elaine_buf_free(&s->bytes[i]);
}

/* Plays events from..to-1 of s, event i with seq base + i + 1. */
static void script_play(drv *d, const script *s, int from, int to, uint64_t base)
{
    for (int i = from; i < to; i++) {
        d->seq = base + (uint64_t)i;
        switch (s->type[i]) {
        case 0:
            d_open(d, 5, "api.openai.com", 443, "h2", 0);
            break;
        case 1:
            d_rs(d, 5, 99, WALL, s->mono[i]);
            break;
        default:
            d_data(d, 5, s->type[i] == 2, s->mono[i], s->bytes[i].p, s->bytes[i].len);
        }
    }
}

/* A collector restart: the shim resends from the watermark, which the h2
 * connection held at its ConnOpen, so the new collector decodes it from the
 * preface and writes the same records (same ids). Without the hold (a
 * re-announced connection seen from the middle) nothing can be decoded, and
 * nothing is held either. */
static void test_restart(void)
{
    CASE("h2 restart: first collector");
    script s;
    script_build(&s);
    cap a = {0}, b = {0};
    drv da = {proc_new(&a, PID, 0, 0, "/usr/bin/curl"), 0};
    script_play(&da, &s, 0, s.n, 0);
    CHECK_INT(a.n, 2);
    CHECK_INT(wm(&da), 1);
    elaine_exchange_proc_free(da.p); /* killed: nothing acknowledged past seq 1 */

    CASE("h2 restart: second collector");
    drv db = {proc_new(&b, PID, 0, 0, "/usr/bin/curl"), 0};
    CHECK_INT(d_open(&db, 5, "api.openai.com", 443, "h2", 1), 0); /* the re-announcement */
    CHECK_INT(wm(&db), 1);
    script_play(&db, &s, 0, s.n, 0);
    CHECK_INT(b.n, 2);
    for (int i = 0; i < a.n && i < b.n; i++)
        CHECK_STR(b.line[i], a.line[i]);
    if (b.n == 2) {
        CHECK_STR(jstr(b.rec[0], "id"), "4242-777-5-1");
        CHECK_STR(jstr(b.rec[1], "id"), "4242-777-5-3");
        check_chat_json(b.rec[1]);
    }
    /* resends the same collector has seen are skipped */
    db.seq = 3;
    CHECK_INT(d_data(&db, 5, 0, 5 * MS, s.bytes[3].p, s.bytes[3].len), 1);
    CHECK_INT(wm(&db), 1);
    elaine_exchange_proc_free(db.p);
    cap_reset(&a);
    cap_reset(&b);

    CASE("h2 restart: from the middle");
    drv dc = {proc_new(&a, PID, 0, 0, "/usr/bin/curl"), 0};
    d_open(&dc, 5, "api.openai.com", 443, "h2", 1);
    script_play(&dc, &s, 5, s.n, 0); /* the second stream only */
    CHECK_INT(a.n, 0);
    CHECK_INT(elaine_exchange_inflight(dc.p), 0);
    CHECK_INT(wm(&dc), dc.seq + 1);
    d_close(&dc, 5, 10 * MS);
    CHECK_INT(a.n, 0);
    elaine_exchange_proc_free(dc.p);
    cap_reset(&a);
    script_free(&s);
}

/* The hold ends once H2_HOLD_MAX (8 MiB) of events came after the
 * connection's first event; a stream in flight still holds its own. */
static void test_hold_limit(void)
{
    CASE("h2 hold limit");
    script s;
    script_build(&s);
    cap c = {0};
    drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
    script_play(&d, &s, 0, 7, 0); /* stream 3's request, no response yet */
    CHECK_INT(c.n, 1);
    CHECK_INT(wm(&d), 1);
    size_t big = 9u << 20;
    char *junk = calloc(1, big);
    CHECK(junk != NULL);
    if (junk) {
        d_data(&d, 77, 1, 9 * MS, junk, big); /* a connection never announced: only counted */
        CHECK_INT(wm(&d), 7);                 /* stream 3 opened with seq 7 */
        script_play(&d, &s, 7, s.n, 1);
        CHECK_INT(c.n, 2);
        CHECK_INT(wm(&d), d.seq + 1);
    }
    free(junk);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
    script_free(&s);
}

/* No ALPN: the preface as the first bytes makes a connection HTTP/2, also
 * one only re-announced so far (the preface starts a connection). Host and
 * port come from :authority. */
static void test_preface_without_alpn(void)
{
    for (int reannounced = 0; reannounced < 2; reannounced++) {
        CASE(reannounced ? "h2 preface, re-announced connection" : "h2 preface without ALPN");
        h2c h;
        h2c_init(&h);
        cap c = {0};
        drv d = {proc_new(&c, PID, 0, 0, "/usr/bin/curl"), 0};
        elaine_buf b;
        elaine_buf_init(&b);
        d_open(&d, 3, "localhost", 443, "", reannounced);
        if (!reannounced)
            d_rs(&d, 3, 99, WALL, 1 * MS);
        preface(&b);
        post(&b, &h, 1, "LocalHost:8443", "/v1/chat/completions", chat_req_body, 0);
        d_out(&d, 3, 2 * MS, &b);
        CHECK_INT(elaine_exchange_inflight(d.p), 1);
        CHECK_INT(wm(&d), 1); /* the ConnOpen, or the preface itself */
        elaine_buf_reset(&b);
        server_settings(&b);
        json_head(&b, &h, 1, NULL);
        datas(&b, 1, F_END_STREAM, chat_resp_body);
        d_in(&d, 3, 4 * MS, &b);
        CHECK_INT(c.n, 1);
        if (c.n == 1) {
            const ej_val *r = c.rec[0];
            check_chat_json(r);
            CHECK_STR(jstr(r, "id"), "4242-777-3-1");
            CHECK_STR(jstr(r, "host"), "LocalHost");
            CHECK_INT(jint(r, "port"), 8443);
            CHECK_INT(jint(r, "tid"), reannounced ? 7 : 99); /* no hint: the data's thread */
        }
        d_close(&d, 3, 5 * MS);
        CHECK_INT(wm(&d), d.seq + 1);
        elaine_buf_free(&b);
        h2c_free(&h);
        elaine_exchange_proc_free(d.p);
        cap_reset(&c);
    }
}

/* The stack of the latest RequestStart names every stream that follows it. */
static void test_stack_hint(void)
{
    CASE("h2 stack hint");
    h2c h;
    h2c_init(&h);
    cap c = {0};
    elaine_exchange_opts o = {.name_stacks = 1,
                              .sink = {.ud = &c, .exchange = cap_exchange}};
    drv d = {elaine_exchange_proc_new(&o, (uint32_t)getpid(), 0, "/x"), 0};
    uint64_t st[2] = {(uint64_t)(uintptr_t)&test_stack_hint, (uint64_t)(uintptr_t)&getpid};
    elaine_buf b;
    elaine_buf_init(&b);
    uint64_t st3[3] = {(uint64_t)(uintptr_t)&getpid, (uint64_t)(uintptr_t)&getpid,
                       (uint64_t)(uintptr_t)&getpid};
    d_open(&d, 1, "api.openai.com", 443, "h2", 0);
    /* hints of 3, 0 and 1 frames before: the room they left holds only the latest */
    d_rs_full(&d, 1, 40, WALL, 1 * MS, 0, st3, 3);
    d_rs_full(&d, 1, 41, WALL, 1 * MS, 0, NULL, 0);
    d_rs_full(&d, 1, 41, WALL, 1 * MS, 0, st3, 1);
    d_rs_full(&d, 1, 42, WALL, 1 * MS, 0, st, 2);
    preface(&b);
    post(&b, &h, 1, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    post(&b, &h, 3, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    d_out(&d, 1, 2 * MS, &b);
    elaine_buf_reset(&b);
    server_settings(&b);
    for (uint32_t sid = 1; sid <= 3; sid += 2) {
        json_head(&b, &h, sid, NULL);
        datas(&b, sid, F_END_STREAM, chat_resp_body);
    }
    d_in(&d, 1, 3 * MS, &b);
    CHECK_INT(c.n, 2);
    for (int i = 0; i < c.n; i++) {
        const ej_val *s = elaine_json_get(c.rec[i], "stack");
        CHECK(s && elaine_json_len(s) == 2);
        CHECK_STR(elaine_json_str(elaine_json_at(s, 0)), "test_exchange_h2!test_stack_hint+0x0");
        CHECK_STR(elaine_json_str(elaine_json_at(s, 1)), "libc.so.6!getpid+0x0");
        CHECK_INT(jint(c.rec[i], "tid"), 42);
    }
    /* a shorter hint later: the next stream has its one frame */
    d_rs_full(&d, 1, 43, WALL, 4 * MS, 0, st + 1, 1);
    elaine_buf_reset(&b);
    post(&b, &h, 5, "api.openai.com", "/v1/chat/completions", chat_req_body, 0);
    d_out(&d, 1, 5 * MS, &b);
    elaine_buf_reset(&b);
    json_head(&b, &h, 5, NULL);
    datas(&b, 5, F_END_STREAM, chat_resp_body);
    d_in(&d, 1, 6 * MS, &b);
    CHECK_INT(c.n, 3);
    if (c.n == 3) {
        const ej_val *s = elaine_json_get(c.rec[2], "stack");
        CHECK(s && elaine_json_len(s) == 1);
        CHECK_STR(elaine_json_str(elaine_json_at(s, 0)), "libc.so.6!getpid+0x0");
        CHECK_INT(jint(c.rec[2], "tid"), 43);
    }
    elaine_buf_free(&b);
    h2c_free(&h);
    elaine_exchange_proc_free(d.p);
    cap_reset(&c);
}

int main(void)
{
    test_json();
    test_sse();
    test_interleaved();
    test_reset_goaway_close();
    test_content_length();
    test_gap_and_garbage();
    test_restart();
    test_hold_limit();
    test_preface_without_alpn();
    test_stack_hint();
    return check_done("test_exchange_h2");
}
