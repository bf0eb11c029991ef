/* Tests for the exchange layer: synthetic shim events in, records and ack watermarks out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exchange_harness.h"

/* ---- fixtures ---- */

static char *chat_request(const char *body, int stream)
{
    char *s;
    if (asprintf(&s,
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                 "Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz\r\n"
                 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
                 stream ? "Accept: text/event-stream\r\n" : "", strlen(body), body) < 0)
        abort();
    return s;
}

static char *chat_response(void)
{
    char *s;
    if (asprintf(&s,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Trace: a\r\n"
                 "Content-Length: %zu\r\nX-Trace: b\r\n\r\n%s",
                 strlen(chat_resp_body), chat_resp_body) < 0)
        abort();
    return s;
}

/* A chunked SSE response, one chunk per event; *hel_end: offset just after
 * the blank line of the first event with content ("Hel"). */
static char *sse_response(size_t *hel_end, char **stream_text)
{
    elaine_buf b, t;
    elaine_buf_init(&b);
    elaine_buf_init(&t);
    elaine_buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < N_SSE; i++) {
        elaine_buf_addf(&b, "%zx\r\n%s", strlen(sse_events[i]), sse_events[i]);
        elaine_buf_adds(&t, sse_events[i]);
        if (i == 1)
            *hel_end = b.len;
        elaine_buf_adds(&b, "\r\n");
    }
    elaine_buf_adds(&b, "0\r\n\r\n");
    *stream_text = elaine_buf_take(&t);
    return elaine_buf_take(&b);
}

/* ---- cases ---- */

/* A JSON chat completion, request split at every byte (response whole) and
 * response split at every byte (request whole). */
static void test_chat_json(void)
{
    char *req = chat_request(chat_req_body, 0), *resp = chat_response();
    size_t rq = strlen(req), rs = strlen(resp);
    for (int side = 0; side < 2; side++) {
        size_t len = side == 0 ? rq : rs;
        for (size_t k = 1; k < len; k++) {
            CASE(side == 0 ? "chat json, request split" : "chat json, response split");
            cap c = {0};
            elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
            CHECK_INT(ev_open(p, 1, 5, "api.openai.com", 443, 1, "http/1.1"), 0);
            CHECK_INT(elaine_exchange_watermark(p), 2);
            CHECK_INT(ev_rs(p, 2, 5, 0, 1 * MS, 0), 0);
            size_t k1 = side == 0 ? k : rq, k2 = side == 1 ? k : rs / 2;
            ev_data(p, 3, 5, 1, 2 * MS, req, k1);
            ev_data(p, 4, 5, 1, 3 * MS, req + k1, rq - k1);
            CHECK_INT(elaine_exchange_watermark(p), 2);
            CHECK_INT(elaine_exchange_inflight(p), 1);
            ev_data(p, 5, 5, 0, 10 * MS, resp, k2);
            CHECK_INT(c.n, 0);
            CHECK_INT(elaine_exchange_watermark(p), 2);
            ev_data(p, 6, 5, 0, 20 * MS, resp + k2, rs - k2);
            CHECK_INT(c.n, 1);
            CHECK_INT(elaine_exchange_watermark(p), 7);
            CHECK_INT(elaine_exchange_inflight(p), 0);
            ev_close(p, 7, 5, 30 * MS);
            CHECK_INT(elaine_exchange_watermark(p), 8);
            CHECK_INT(c.n, 1);
            const ej_val *r = c.rec[0];
            if (c.n == 1 && r) {
                CHECK_STR(jstr(r, "type"), "exchange");
                CHECK_STR(jstr(r, "id"), "4242-777-5-0");
                CHECK_STR(jstr(r, "ts"), "2026-12-04T21:03:11.123456Z");
                CHECK_INT(jint(r, "pid"), PID);
                CHECK_INT(jint(r, "tid"), 99);
                CHECK_STR(jstr(r, "exe"), "/usr/bin/python3");
                CHECK_STR(jstr(r, "host"), "api.openai.com");
                CHECK_INT(jint(r, "port"), 443);
                CHECK_INT(elaine_json_bool(elaine_json_get(r, "tls")), 1);
                CHECK_STR(jstr(r, "http.version"), "1.1");
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
                /* the last request byte came at 3 ms (or 2 ms when all of it came first) */
                double last_out = k1 == rq ? 2.0 : 3.0;
                double first_in = k2 == 0 ? 20.0 : 10.0;
                CHECK_NUM(jnum(r, "timing.ttfb_ms"), first_in - last_out);
                CHECK(jnull(r, "timing.ttft_ms"));
                CHECK_NUM(jnum(r, "timing.duration_ms"), (k2 == rs ? 10.0 : 20.0) - 1.0);
                CHECK(jnull(r, "error"));
                CHECK(jnull(r, "stack"));
            }
            elaine_exchange_proc_free(p);
            cap_reset(&c);
            if (check_failures > 20)
                goto out;
        }
    }
out:
    free(req);
    free(resp);
}

/* A streamed chat completion with include_usage, response split at every byte. */
static void test_chat_sse(void)
{
    static const char body[] = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":"
                               "{\"include_usage\":true},\"messages\":[]}";
    char *req = chat_request(body, 1), *text;
    size_t hel_end = 0;
    char *resp = sse_response(&hel_end, &text);
    size_t rs = strlen(resp);
    for (size_t k = 1; k < rs; k++) {
        CASE("chat sse, response split");
        cap c = {0};
        elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
        ev_open(p, 1, 8, "api.openai.com", 443, 1, "");
        ev_rs(p, 2, 8, 3, 100 * MS, 0);
        ev_data(p, 3, 8, 1, 101 * MS, req, strlen(req));
        ev_data(p, 4, 8, 0, 110 * MS, resp, k);
        CHECK_INT(elaine_exchange_watermark(p), 2);
        ev_data(p, 5, 8, 0, 130 * MS, resp + k, rs - k);
        CHECK_INT(c.n, 1);
        CHECK_INT(elaine_exchange_watermark(p), 6);
        const ej_val *r = c.rec[0];
        if (c.n == 1 && r) {
            CHECK_STR(jstr(r, "id"), "4242-777-8-3");
            CHECK_INT(jint(r, "response.status"), 200);
            CHECK_STR(jstr(r, "response.body"), text);
            CHECK_INT(jint(r, "response.body_size"), strlen(text));
            CHECK_INT(elaine_json_bool(elaine_json_path(r, "llm.stream")), 1);
            CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
            CHECK_STR(jstr(r, "llm.response_model"), "gpt-4o-mini-x");
            CHECK_INT(jint(r, "llm.input_tokens"), 5);
            CHECK_INT(jint(r, "llm.output_tokens"), 2);
            CHECK_INT(jint(r, "llm.total_tokens"), 7);
            CHECK_STR(jstr(r, "llm.finish_reason"), "stop");
            CHECK_STR(jstr(r, "llm.output_text"), "Hello");
            CHECK_NUM(jnum(r, "timing.ttfb_ms"), 9.0);
            CHECK_NUM(jnum(r, "timing.ttft_ms"), k >= hel_end ? 9.0 : 29.0);
            CHECK_NUM(jnum(r, "timing.duration_ms"), 30.0);
            CHECK(jnull(r, "error"));
        }
        elaine_exchange_proc_free(p);
        cap_reset(&c);
        if (check_failures > 20)
            break;
    }
    free(req);
    free(resp);
    free(text);
}

/* The connection closes halfway through the response. */
static void test_cut_off(void)
{
    CASE("cut off");
    char *req = chat_request(chat_req_body, 0), *resp = chat_response();
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 2, "api.openai.com", 443, 1, "");
    ev_rs(p, 2, 2, 0, 1 * MS, 0);
    ev_data(p, 3, 2, 1, 2 * MS, req, strlen(req));
    ev_data(p, 4, 2, 0, 5 * MS, resp, strlen(resp) / 2);
    CHECK_INT(elaine_exchange_watermark(p), 2);
    ev_close(p, 5, 2, 6 * MS);
    CHECK_INT(c.n, 1);
    CHECK_INT(elaine_exchange_watermark(p), 6);
    CHECK_INT(elaine_exchange_conns(p), 0);
    if (c.n == 1) {
        const ej_val *r = c.rec[0];
        CHECK_STR(jstr(r, "error"), ELAINE_ERR_CLOSED);
        CHECK_INT(jint(r, "response.status"), 200);
        CHECK_STR(jstr(r, "llm.model"), "gpt-4o-mini");
        CHECK(jnull(r, "llm.output_tokens"));
        CHECK(jnull(r, "timing.duration_ms"));
        CHECK_NUM(jnum(r, "timing.ttfb_ms"), 3.0);
    }
    /* a request without any response at all */
    CASE("closed before any response");
    cap_reset(&c);
    ev_open(p, 6, 3, "api.openai.com", 443, 1, "");
    ev_rs(p, 7, 3, 0, 1 * MS, 0);
    ev_data(p, 8, 3, 1, 2 * MS, req, strlen(req));
    ev_close(p, 9, 3, 6 * MS);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "error"), ELAINE_ERR_CLOSED);
        CHECK(jnull(c.rec[0], "response.status"));
        CHECK(jnull(c.rec[0], "timing.ttfb_ms"));
    }
    /* a close-delimited body is completed by the close */
    CASE("close-delimited body");
    cap_reset(&c);
    static const char r10[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world";
    ev_open(p, 10, 4, "localhost", 11434, 0, "");
    ev_rs(p, 11, 4, 0, 1 * MS, 0);
    ev_data(p, 12, 4, 1, 2 * MS, "GET /x HTTP/1.0\r\n\r\n", 19);
    ev_data(p, 13, 4, 0, 3 * MS, r10, strlen(r10));
    CHECK_INT(c.n, 0);
    ev_close(p, 14, 4, 9 * MS);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        const ej_val *r = c.rec[0];
        CHECK(jnull(r, "error"));
        CHECK_STR(jstr(r, "response.body"), "hello world");
        CHECK_STR(jstr(r, "http.version"), "1.0");
        CHECK_STR(jstr(r, "host"), "localhost");
        CHECK_INT(jint(r, "port"), 11434);
        CHECK(jnull(r, "llm.provider"));
        CHECK(jnull(r, "llm.model"));
        CHECK_NUM(jnum(r, "timing.duration_ms"), 8.0);
    }
    CHECK_INT(elaine_exchange_watermark(p), 15);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
    free(req);
    free(resp);
}

/* After a collector restart: data before a RequestStart is ignored, then a fresh exchange parses. */
static void test_resync(void)
{
    CASE("resync");
    char *req = chat_request(chat_req_body, 0), *resp = chat_response();
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    /* the re-announcement: unknown connection, data ignored until a RequestStart */
    CHECK_INT(ev_open(p, 0, 9, "api.openai.com", 443, 1, ""), 0);
    CHECK_INT(elaine_exchange_watermark(p), 1);
    ev_data(p, 40, 9, 1, 1 * MS, req + 10, strlen(req) - 10); /* tail of an older request */
    ev_data(p, 41, 9, 0, 2 * MS, resp + 7, strlen(resp) - 7); /* tail of its response */
    ev_data(p, 42, 7, 0, 2 * MS, "garbage", 7);                /* a connection never announced */
    CHECK_INT(c.n, 0);
    CHECK_INT(elaine_exchange_watermark(p), 43);
    CHECK_INT(ev_rs(p, 43, 9, 6, 3 * MS, 0), 0);
    CHECK_INT(elaine_exchange_watermark(p), 43);
    ev_data(p, 44, 9, 1, 4 * MS, req, strlen(req));
    ev_data(p, 45, 9, 0, 5 * MS, resp, strlen(resp));
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-9-6");
        CHECK(jnull(c.rec[0], "error"));
        CHECK_STR(jstr(c.rec[0], "llm.output_text"), "Hello!");
    }
    CHECK_INT(elaine_exchange_watermark(p), 46);
    /* a second re-announcement of a known connection changes nothing */
    CHECK_INT(ev_open(p, 0, 9, "other", 1, 0, ""), 0);
    /* a RequestStart on a connection never announced creates it */
    CASE("resync, unknown connection");
    ev_rs(p, 46, 11, 2, 3 * MS, 0);
    ev_data(p, 47, 11, 1, 4 * MS, req, strlen(req));
    ev_data(p, 48, 11, 0, 5 * MS, resp, strlen(resp));
    CHECK_INT(c.n, 2);
    if (c.n == 2) {
        CHECK_STR(jstr(c.rec[1], "id"), "4242-777-11-2");
        CHECK_STR(jstr(c.rec[1], "host"), "api.openai.com"); /* from the Host header */
        CHECK_INT(jint(c.rec[1], "port"), 80);                /* not known to be TLS */
    }
    /* resends after a reconnect: skipped */
    CASE("dedupe");
    CHECK_INT(ev_data(p, 47, 11, 1, 4 * MS, req, strlen(req)), 1);
    CHECK_INT(ev_rs(p, 46, 11, 2, 3 * MS, 0), 1);
    CHECK_INT(c.n, 2);
    CHECK_INT(elaine_exchange_max_seq(p), 48);
    CHECK_INT(elaine_exchange_inflight(p), 0);
    /* events with seq 0 other than ConnOpen make no sense */
    CHECK_INT(ev_data(p, 0, 11, 1, 4 * MS, req, 3), -EINVAL);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
    free(req);
    free(resp);
}

/* RequestStart with gap: the partial exchange is written with an error, parsing restarts. */
static void test_gap_and_drop(void)
{
    CASE("gap");
    char *req = chat_request(chat_req_body, 0), *resp = chat_response();
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 1, "api.openai.com", 443, 1, "");
    ev_rs(p, 2, 1, 0, 1 * MS, 0);
    ev_data(p, 3, 1, 1, 2 * MS, req, strlen(req));
    ev_data(p, 4, 1, 0, 3 * MS, resp, 20);
    CHECK_INT(ev_drop(p, 5, 17, 4096), 0);
    CHECK_INT(c.drops, 1);
    CHECK_INT(c.drop_events, 17);
    CHECK_INT(c.drop_bytes, 4096);
    CHECK_INT(elaine_exchange_watermark(p), 2);
    ev_rs(p, 9, 1, 2, 10 * MS, 1);
    CHECK_INT(c.n, 1);
    CHECK_INT(elaine_exchange_watermark(p), 9);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-1-0");
        CHECK_STR(jstr(c.rec[0], "error"), ELAINE_ERR_GAP);
    }
    ev_data(p, 10, 1, 1, 11 * MS, req, strlen(req));
    ev_data(p, 11, 1, 0, 12 * MS, resp, strlen(resp));
    CHECK_INT(c.n, 2);
    if (c.n == 2) {
        CHECK_STR(jstr(c.rec[1], "id"), "4242-777-1-2");
        CHECK(jnull(c.rec[1], "error"));
        CHECK_INT(jint(c.rec[1], "llm.total_tokens"), 11);
    }
    CHECK_INT(elaine_exchange_watermark(p), 12);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
    free(req);
    free(resp);
}

/* Keep-alive: two exchanges on one connection, a 100 Continue folded in, a HEAD. */
static void test_keepalive(void)
{
    CASE("keep-alive");
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 1, "", 0, 0, "");
    ev_rs(p, 2, 1, 0, 1 * MS, 0);
    static const char q1[] = "POST /v1/embeddings HTTP/1.1\r\nHost: example.test:8080\r\n"
                             "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    ev_data(p, 3, 1, 1, 2 * MS, q1, strlen(q1));
    ev_data(p, 4, 1, 0, 3 * MS, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    ev_rs(p, 5, 1, 1, 4 * MS, 0); /* the body write looks like a new request to the shim */
    ev_data(p, 6, 1, 1, 4 * MS, "{}", 2);
    static const char r1[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    ev_data(p, 7, 1, 0, 6 * MS, r1, strlen(r1));
    CHECK_INT(c.n, 1);
    CHECK_INT(elaine_exchange_watermark(p), 8);
    ev_rs(p, 8, 1, 1, 10 * MS, 0);
    static const char q2[] = "HEAD /v1/models?key=secret123&x=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n";
    ev_data(p, 9, 1, 1, 11 * MS, q2, strlen(q2));
    static const char r2[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    ev_data(p, 10, 1, 0, 12 * MS, r2, strlen(r2));
    CHECK_INT(c.n, 2);
    if (c.n == 2) {
        const ej_val *a = c.rec[0], *b = c.rec[1];
        CHECK_STR(jstr(a, "id"), "4242-777-1-0");
        CHECK_INT(jint(a, "response.status"), 201);
        CHECK_STR(jstr(a, "host"), "example.test");
        CHECK_INT(jint(a, "port"), 8080);
        CHECK_INT(jint(a, "request.body_size"), 2);
        CHECK(jnull(a, "response.body"));
        /* the 100 Continue came before the body was sent: the final head counts */
        CHECK_NUM(jnum(a, "timing.ttfb_ms"), 2.0);
        CHECK_STR(jstr(b, "id"), "4242-777-1-1");
        CHECK_STR(jstr(b, "request.method"), "HEAD");
        CHECK_STR(jstr(b, "request.path"), "/v1/models?key=[REDACTED]&x=1");
        CHECK_INT(jint(b, "response.status"), 200);
        CHECK_INT(jint(b, "response.body_size"), 0);
    }
    CHECK(c.n < 2 || strstr(c.line[1], "secret123") == NULL);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
}

/* gzip response bodies are decoded; --max-body truncates and marks. */
static void test_gzip_and_max_body(void)
{
    CASE("gzip");
    elaine_buf gz;
    elaine_buf_init(&gz);
    gzip_to(&gz, chat_resp_body, strlen(chat_resp_body));
    size_t gzn = gz.len;
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gzn);
    char *req = chat_request(chat_req_body, 0);
    for (size_t maxb = 0; maxb <= 100; maxb += 100) {
        cap c = {0};
        elaine_exchange_proc *p = proc_new(&c, PID, 0, maxb, "/usr/bin/python3");
        ev_open(p, 1, 1, "api.openai.com", 443, 1, "");
        ev_rs(p, 2, 1, 0, 1 * MS, 0);
        ev_data(p, 3, 1, 1, 2 * MS, req, strlen(req));
        ev_data(p, 4, 1, 0, 3 * MS, head, (size_t)hn);
        for (size_t i = 0; i < gzn; i++) /* one byte a read */
            ev_data(p, 5 + i, 1, 0, 4 * MS, gz.p + i, 1);
        CHECK_INT(c.n, 1);
        if (c.n == 1) {
            const ej_val *r = c.rec[0];
            CHECK_INT(jint(r, "response.body_size"), strlen(chat_resp_body));
            if (maxb == 0) {
                CHECK_STR(jstr(r, "response.body.choices"), NULL);
                CHECK_STR(jstr(r, "response.body.model"), "gpt-4o-mini-2024-07-18");
                CHECK_STR(jstr(r, "llm.output_text"), "Hello!");
                CHECK(elaine_json_path(r, "response.truncated") == NULL);
            } else {
                CASE("max-body");
                const char *b = jstr(r, "response.body");
                CHECK(b && strlen(b) == 100 && strncmp(b, chat_resp_body, 100) == 0);
                CHECK_INT(elaine_json_bool(elaine_json_path(r, "response.truncated")), 1);
                CHECK(elaine_json_path(r, "request.truncated") == NULL);
                CHECK_STR(jstr(r, "llm.output_text"), NULL); /* the provider saw no JSON */
            }
        }
        elaine_exchange_proc_free(p);
        cap_reset(&c);
    }
    free(req);
    elaine_buf_free(&gz);
}

/* HTTP/2 connections without a stream: nothing written; the watermark stays
 * at an h2 connection's first event while it is open (test_exchange_h2.c has the rest). */
static void test_not_http1(void)
{
    CASE("h2 preface");
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 1, "api.openai.com", 443, 1, "");
    ev_rs(p, 2, 1, 0, 1 * MS, 0);
    static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    ev_data(p, 3, 1, 1, 2 * MS, pre, strlen(pre));
    ev_data(p, 4, 1, 0, 3 * MS, "\0\0\0\4\0\0\0\0\0", 9);
    CHECK_INT(c.n, 0);
    CHECK_INT(elaine_exchange_inflight(p), 0);
    CHECK_INT(elaine_exchange_watermark(p), 1);
    CASE("alpn h2");
    ev_open(p, 5, 2, "api.openai.com", 443, 1, "h2");
    ev_rs(p, 6, 2, 0, 1 * MS, 0);
    ev_data(p, 7, 2, 1, 2 * MS, pre, strlen(pre));
    ev_close(p, 8, 2, 3 * MS);
    CHECK_INT(c.n, 0);
    CHECK_INT(elaine_exchange_watermark(p), 1);
    ev_close(p, 9, 1, 4 * MS);
    CHECK_INT(c.n, 0);
    CHECK_INT(elaine_exchange_watermark(p), 10);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
}

/* A failed write holds the watermark; finishing a process writes what is in flight. */
static void test_write_failure_and_finish(void)
{
    CASE("write failure holds the watermark");
    char *req = chat_request(chat_req_body, 0), *resp = chat_response();
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 1, "api.openai.com", 443, 1, "");
    ev_rs(p, 2, 1, 0, 1 * MS, 0);
    ev_data(p, 3, 1, 1, 2 * MS, req, strlen(req));
    c.fail_next = 1;
    ev_data(p, 4, 1, 0, 3 * MS, resp, strlen(resp));
    CHECK_INT(c.n, 0);
    CHECK_INT(elaine_exchange_inflight(p), 0);
    CHECK_INT(elaine_exchange_watermark(p), 2);
    ev_rs(p, 5, 1, 1, 4 * MS, 0);
    ev_data(p, 6, 1, 1, 5 * MS, req, strlen(req));
    CHECK_INT(elaine_exchange_watermark(p), 2);

    CASE("finish all");
    ev_open(p, 7, 2, "api.openai.com", 443, 1, "");
    ev_rs(p, 8, 2, 0, 1 * MS, 0); /* nothing written on it yet: no record */
    elaine_exchange_finish_all(p, ELAINE_ERR_EXITED);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        CHECK_STR(jstr(c.rec[0], "id"), "4242-777-1-1");
        CHECK_STR(jstr(c.rec[0], "error"), ELAINE_ERR_EXITED);
        CHECK_STR(jstr(c.rec[0], "llm.model"), "gpt-4o-mini");
    }
    CHECK_INT(elaine_exchange_conns(p), 0);
    elaine_exchange_proc_free(p);
    cap_reset(&c);
    free(req);
    free(resp);
}

/* Stack addresses are named from /proc/PID/maps (our own process here). */
static void test_stack(void)
{
    CASE("stack");
    cap c = {0};
    elaine_exchange_proc *p = proc_new(&c, (uint32_t)getpid(), 1, 0, "/usr/bin/python3");
    /* start_time 777 is not ours: the identity check refuses, stack is null */
    uint64_t st[2] = {(uint64_t)(uintptr_t)&test_stack, (uint64_t)(uintptr_t)&getpid};
    ev_open(p, 1, 1, "h", 80, 0, "");
    ev_rs_full(p, 2, 1, 0, TID, WALL, 1 * MS, 0, st, 2);
    ev_data(p, 3, 1, 1, 2 * MS, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
    ev_data(p, 4, 1, 0, 3 * MS, "HTTP/1.1 204 No Content\r\n\r\n", 27);
    CHECK_INT(c.n, 1);
    if (c.n == 1)
        CHECK(jnull(c.rec[0], "stack"));
    elaine_exchange_proc_free(p);
    cap_reset(&c);

    elaine_exchange_opts o = {.name_stacks = 1,
                              .sink = {.ud = &c, .exchange = cap_exchange, .drop = cap_drop}};
    p = elaine_exchange_proc_new(&o, (uint32_t)getpid(), 0, "/x"); /* 0: no identity check */
    ev_open(p, 1, 1, "h", 80, 0, "");
    ev_rs_full(p, 2, 1, 0, TID, WALL, 1 * MS, 0, st, 2);
    ev_data(p, 3, 1, 1, 2 * MS, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
    ev_data(p, 4, 1, 0, 3 * MS, "HTTP/1.1 204 No Content\r\n\r\n", 27);
    CHECK_INT(c.n, 1);
    if (c.n == 1) {
        const ej_val *s = elaine_json_get(c.rec[0], "stack");
        CHECK(s && elaine_json_len(s) == 2);
        const char *f0 = elaine_json_str(elaine_json_at(s, 0));
        const char *f1 = elaine_json_str(elaine_json_at(s, 1));
        CHECK_STR(f0, "test_exchange!test_stack+0x0");
        CHECK_STR(f1, "libc.so.6!getpid+0x0");
    }
    elaine_exchange_proc_free(p);
    cap_reset(&c);
}

/* Exchange i of test_reuse: a request and a response of kind i % 6 (a chat
 * completion, an SSE stream, a body past what a reused buffer keeps, an
 * empty one, a short one, gzip), applied from seq on; the next seq. */
static uint64_t reuse_exchange(elaine_exchange_proc *p, uint64_t seq, int i, const char *big)
{
    char *req, *resp;
    size_t hel_end;
    char *text = NULL;
    elaine_buf gz;
    elaine_buf_init(&gz);
    switch (i % 6) {
    case 0:
        req = chat_request(chat_req_body, 0);
        resp = chat_response();
        break;
    case 1:
        req = chat_request(chat_req_body, 1);
        resp = sse_response(&hel_end, &text);
        break;
    case 2:
        if (asprintf(&req, "POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(big), big) < 0 ||
            asprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(big) / 2, big + strlen(big) / 2) < 0)
            abort();
        break;
    case 3:
        if (asprintf(&req, "GET /empty HTTP/1.1\r\nHost: example.test\r\n\r\n") < 0 ||
            asprintf(&resp, "HTTP/1.1 204 No Content\r\n\r\n") < 0)
            abort();
        break;
    case 4:
        if (asprintf(&req, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                           "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}") < 0 ||
            asprintf(&resp, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                            "Content-Length: 13\r\n\r\n{\"error\":\"x\"}") < 0)
            abort();
        break;
    default: {
        gzip_to(&gz, chat_resp_body, strlen(chat_resp_body));
        req = chat_request(chat_req_body, 0);
        if (asprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gz.len) < 0)
            abort();
        break;
    }
    }
    uint64_t t = (uint64_t)(10 + 10 * i) * MS;
    ev_rs(p, seq++, 1, (uint64_t)i, t, 0);
    ev_data(p, seq++, 1, 1, t + 1 * MS, req, strlen(req));
    ev_data(p, seq++, 1, 0, t + 2 * MS, resp, strlen(resp));
    if (gz.len)
        ev_data(p, seq++, 1, 0, t + 3 * MS, gz.p, gz.len);
    free(req);
    free(resp);
    free(text);
    elaine_buf_free(&gz);
    return seq;
}

/* Exchanges one after another in one process (each reusing what the one
 * before left: its struct, its buffers) are written exactly as each alone
 * in a fresh process. */
static void test_reuse(void)
{
    CASE("reuse");
    size_t bign = 100000;
    char *big = malloc(bign + 1);
    for (size_t i = 0; i < bign; i++)
        big[i] = (char)('a' + i % 26);
    big[bign] = 0;
    cap all = {0};
    elaine_exchange_proc *p = proc_new(&all, PID, 0, 0, "/usr/bin/python3");
    ev_open(p, 1, 1, "api.openai.com", 443, 1, "");
    uint64_t seq = 2;
    int same = 0, n = 24;
    for (int i = 0; i < n; i++) {
        uint64_t from = seq;
        cap_reset(&all);
        seq = reuse_exchange(p, seq, i, big);
        cap one = {0};
        elaine_exchange_proc *q = proc_new(&one, PID, 0, 0, "/usr/bin/python3");
        ev_open(q, 1, 1, "api.openai.com", 443, 1, "");
        reuse_exchange(q, from, i, big);
        CHECK_INT(all.n, 1);
        CHECK_INT(one.n, 1);
        if (all.n == 1 && one.n == 1) {
            same += strcmp(all.line[0], one.line[0]) == 0;
            if (strcmp(all.line[0], one.line[0]) != 0)
                fprintf(stderr, "exchange %d\n  reused: %.300s\n  fresh:  %.300s\n", i, all.line[0],
                        one.line[0]);
        }
        elaine_exchange_proc_free(q);
        cap_reset(&one);
    }
    CHECK_INT(same, n);
    elaine_exchange_proc_free(p);
    cap_reset(&all);
    free(big);
}

int main(void)
{
    test_chat_json();
    test_chat_sse();
    test_cut_off();
    test_resync();
    test_gap_and_drop();
    test_keepalive();
    test_gzip_and_max_body();
    test_not_http1();
    test_write_failure_and_finish();
    test_stack();
    test_reuse();
    return check_done("test_exchange");
}
