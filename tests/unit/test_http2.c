/* elaine_http2: frames, HPACK state, streams, errors. Inputs are built with
 * nghttp2's own deflater and hand-written frame headers, or read from
 * captures of nghttp/nghttpd (tests/data/http2); every input is also fed
 * split at every byte (captures: at many), one byte at a time, and with each
 * direction's runs coalesced, with identical callback traces. */
#include <errno.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "check.h"
#include "elaine_buf.h"
#include "elaine_http2.h"

#if NGHTTP2_VERSION_NUM >= 0x013d00 /* 1.61: the nghttp2_ssize API */
#define deflate_hd nghttp2_hd_deflate_hd2
#else
#define deflate_hd nghttp2_hd_deflate_hd
#endif

#define C 0 /* client -> server */
#define S 1 /* server -> client */

enum { T_DATA, T_HEADERS, T_PRIORITY, T_RST_STREAM, T_SETTINGS, T_PUSH_PROMISE, T_PING, T_GOAWAY,
       T_WINDOW_UPDATE, T_CONTINUATION };
#define F_END_STREAM 0x01
#define F_ACK 0x01
#define F_END_HEADERS 0x04
#define F_PADDED 0x08
#define F_PRIORITY 0x20

/* ------------------------------------------------------------ scripts */

/* An input: slices of either direction in feed order, each with a mono time. */
typedef struct seg {
    int dir;
    size_t off, len;
    uint64_t mono;
} seg;

typedef struct script {
    elaine_buf bytes;
    seg segs[4096];
    size_t nseg;
    uint64_t mono;
    int join; /* 1: the next bytes extend the last slice (several frames in one write) */
} script;

static void sc_init(script *sc)
{
    memset(sc, 0, sizeof(*sc));
    elaine_buf_init(&sc->bytes);
    sc->mono = 1000;
}

static void sc_add(script *sc, int dir, const void *p, size_t n)
{
    if (sc->join && sc->nseg && sc->segs[sc->nseg - 1].dir == dir) {
        sc->segs[sc->nseg - 1].len += n;
    } else {
        if (sc->nseg == sizeof(sc->segs) / sizeof(sc->segs[0])) {
            fprintf(stderr, "script too long\n");
            exit(2);
        }
        sc->segs[sc->nseg++] = (seg){dir, sc->bytes.len, n, sc->mono};
        sc->mono += 1000;
    }
    elaine_buf_add(&sc->bytes, p, n);
}

static void sc_frame(script *sc, int dir, int type, int flags, uint32_t sid, const void *payload,
                     size_t n)
{
    uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, (uint8_t)type, (uint8_t)flags,
                    (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    int j = sc->join;
    sc_add(sc, dir, h, 9);
    sc->join = 1;
    sc_add(sc, dir, payload, n);
    sc->join = j;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* SETTINGS with (id, value) pairs, n pairs. */
static void sc_settings(script *sc, int dir, const uint32_t *kv, size_t n)
{
    uint8_t p[60];
    for (size_t i = 0; i < n; i++) {
        p[i * 6] = (uint8_t)(kv[2 * i] >> 8);
        p[i * 6 + 1] = (uint8_t)kv[2 * i];
        put32(p + i * 6 + 2, kv[2 * i + 1]);
    }
    sc_frame(sc, dir, T_SETTINGS, 0, 0, p, n * 6);
}

static void sc_ack(script *sc, int dir)
{
    sc_frame(sc, dir, T_SETTINGS, F_ACK, 0, NULL, 0);
}

/* The usual opening: preface and SETTINGS both ways, both acknowledged. */
static void sc_open(script *sc)
{
    static const uint32_t cs[] = {3, 100, 4, 65535};
    static const uint32_t ss[] = {3, 128, 5, 16384};
    sc_add(sc, C, ELAINE_HTTP2_PREFACE, ELAINE_HTTP2_PREFACE_LEN);
    sc->join = 1;
    sc_settings(sc, C, cs, 2);
    sc->join = 0;
    sc_settings(sc, S, ss, 2);
    sc->join = 1;
    sc_ack(sc, S);
    sc->join = 0;
    sc_ack(sc, C);
}

static void sc_data(script *sc, int dir, uint32_t sid, int flags, const char *s)
{
    sc_frame(sc, dir, T_DATA, flags, sid, s, strlen(s));
}

static void sc_rst(script *sc, int dir, uint32_t sid, uint32_t code)
{
    uint8_t p[4];
    put32(p, code);
    sc_frame(sc, dir, T_RST_STREAM, 0, sid, p, 4);
}

/* Header block options: pad >= 0 adds PADDED with that many bytes; prio adds
 * the PRIORITY fields; frag > 0 cuts the block into HEADERS + CONTINUATIONs
 * of at most frag bytes. */
typedef struct hopts {
    int pad;
    int prio;
    size_t frag;
} hopts;

/* kv: name, value, ..., NULL. Returns the encoded block's size. */
static size_t deflate_kv(nghttp2_hd_deflater *df, const char **kv, uint8_t *out, size_t cap)
{
    nghttp2_nv nv[64];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        nv[n].name = (uint8_t *)kv[2 * n];
        nv[n].namelen = strlen(kv[2 * n]);
        nv[n].value = (uint8_t *)kv[2 * n + 1];
        nv[n].valuelen = strlen(kv[2 * n + 1]);
        nv[n].flags = NGHTTP2_NV_FLAG_NONE;
    }
    long r = (long)deflate_hd(df, out, cap, nv, n);
    if (r < 0) {
        fprintf(stderr, "nghttp2_hd_deflate_hd() failed: %s\n", nghttp2_strerror((int)r));
        exit(2);
    }
    return (size_t)r;
}

static size_t sc_block(script *sc, int dir, nghttp2_hd_deflater *df, int type, uint32_t sid,
                       uint32_t promised, int flags, const char **kv, const hopts *o)
{
    static uint8_t blk[1 << 21], fr[1 << 21];
    size_t bl = deflate_kv(df, kv, blk, sizeof(blk));
    hopts none = {-1, 0, 0};
    if (!o)
        o = &none;
    size_t first = o->frag && o->frag < bl ? o->frag : bl;
    size_t n = 0;
    if (o->pad >= 0) {
        flags |= F_PADDED;
        fr[n++] = (uint8_t)o->pad;
    }
    if (type == T_PUSH_PROMISE) {
        put32(fr + n, promised);
        n += 4;
    }
    if (o->prio && type == T_HEADERS) {
        flags |= F_PRIORITY;
        put32(fr + n, 0x80000000u | 0); /* exclusive on stream 0 */
        fr[n + 4] = 219;
        n += 5;
    }
    memcpy(fr + n, blk, first);
    n += first;
    if (o->pad > 0) {
        memset(fr + n, 0, (size_t)o->pad);
        n += (size_t)o->pad;
    }
    sc_frame(sc, dir, type, flags | (first == bl ? F_END_HEADERS : 0), sid, fr, n);
    for (size_t off = first; off < bl;) {
        size_t k = bl - off < o->frag ? bl - off : o->frag;
        sc_frame(sc, dir, T_CONTINUATION, off + k == bl ? F_END_HEADERS : 0, sid, blk + off, k);
        off += k;
    }
    return bl;
}

static size_t sc_headers(script *sc, int dir, nghttp2_hd_deflater *df, uint32_t sid, int flags,
                         const char **kv, const hopts *o)
{
    return sc_block(sc, dir, df, T_HEADERS, sid, 0, flags, kv, o);
}

/* ------------------------------------------------------------ traces */

#define MAXS 64

typedef struct srec {
    int req_heads, req_ends, resp_finals, resp_infos, resp_ends, trailers[2], resets;
    uint32_t reset_code;
    elaine_buf req_head, resp_head, req_body, resp_body, trailer;
    int req_data_calls, resp_data_calls;
} srec;

typedef struct rec {
    elaine_buf log;
    int with_mono;
    srec s[MAXS];
    int goaways;
    uint32_t goaway_last, goaway_code;
    int pushes;
} rec;

static void rec_init(rec *r, int with_mono)
{
    memset(r, 0, sizeof(*r));
    r->with_mono = with_mono;
}

static void rec_free(rec *r)
{
    elaine_buf_free(&r->log);
    for (int i = 0; i < MAXS; i++) {
        elaine_buf_free(&r->s[i].req_head);
        elaine_buf_free(&r->s[i].resp_head);
        elaine_buf_free(&r->s[i].req_body);
        elaine_buf_free(&r->s[i].resp_body);
        elaine_buf_free(&r->s[i].trailer);
    }
}

static srec *sr(rec *r, uint32_t stream)
{
    return &r->s[stream < MAXS ? stream : 0];
}

static void at(rec *r, uint64_t mono)
{
    if (r->with_mono)
        elaine_buf_addf(&r->log, " @%llu", (unsigned long long)mono);
    elaine_buf_addc(&r->log, '\n');
}

static void log_head(elaine_buf *b, const elaine_http_head *h)
{
    CHECK(h->version == 20);
    for (size_t i = 0; i < h->nheaders; i++)
        elaine_buf_addf(b, "  %s: %s\n", h->headers[i].name, h->headers[i].value);
}

static void on_request_head(void *ud, uint32_t stream, const elaine_http_head *h, uint64_t mono)
{
    rec *r = ud;
    CHECK(h->is_request);
    elaine_buf_addf(&r->log, "REQ %u %s %s", stream, h->method ? h->method : "-",
                    h->target ? h->target : "-");
    at(r, mono);
    log_head(&r->log, h);
    srec *s = sr(r, stream);
    s->req_heads++;
    elaine_buf_reset(&s->req_head);
    elaine_buf_addf(&s->req_head, "%s %s\n", h->method ? h->method : "-", h->target ? h->target : "-");
    log_head(&s->req_head, h);
}

static void on_request_data(void *ud, uint32_t stream, const uint8_t *p, size_t n, uint64_t mono)
{
    rec *r = ud;
    CHECK(n > 0);
    elaine_buf_addf(&r->log, "REQDATA %u %zu:%.*s", stream, n, (int)n, (const char *)p);
    at(r, mono);
    srec *s = sr(r, stream);
    CHECK(s->req_heads == 1 && !s->req_ends);
    elaine_buf_add(&s->req_body, p, n);
    s->req_data_calls++;
}

static void on_request_end(void *ud, uint32_t stream, uint64_t mono)
{
    rec *r = ud;
    elaine_buf_addf(&r->log, "REQEND %u", stream);
    at(r, mono);
    srec *s = sr(r, stream);
    CHECK(!s->req_ends);
    s->req_ends++;
}

static void on_response_head(void *ud, uint32_t stream, const elaine_http_head *h, int info,
                             uint64_t mono)
{
    rec *r = ud;
    CHECK(!h->is_request);
    elaine_buf_addf(&r->log, "RESP %u %d%s", stream, h->status, info ? " informational" : "");
    at(r, mono);
    log_head(&r->log, h);
    srec *s = sr(r, stream);
    CHECK(!s->resp_finals);
    if (info) {
        s->resp_infos++;
    } else {
        s->resp_finals++;
        elaine_buf_addf(&s->resp_head, "%d\n", h->status);
        log_head(&s->resp_head, h);
    }
}

static void on_response_data(void *ud, uint32_t stream, const uint8_t *p, size_t n, uint64_t mono)
{
    rec *r = ud;
    CHECK(n > 0);
    elaine_buf_addf(&r->log, "DATA %u %zu:%.*s", stream, n, (int)n, (const char *)p);
    at(r, mono);
    srec *s = sr(r, stream);
    CHECK(s->resp_finals == 1 && !s->resp_ends);
    elaine_buf_add(&s->resp_body, p, n);
    s->resp_data_calls++;
}

static void on_response_end(void *ud, uint32_t stream, uint64_t mono)
{
    rec *r = ud;
    elaine_buf_addf(&r->log, "RESPEND %u", stream);
    at(r, mono);
    srec *s = sr(r, stream);
    CHECK(!s->resp_ends);
    s->resp_ends++;
}

static void on_trailers(void *ud, uint32_t stream, int from_server, const elaine_http_head *h,
                        uint64_t mono)
{
    rec *r = ud;
    CHECK(h->is_request == !from_server);
    elaine_buf_addf(&r->log, "TRAILERS %u %s", stream, from_server ? "server" : "client");
    at(r, mono);
    log_head(&r->log, h);
    srec *s = sr(r, stream);
    s->trailers[from_server ? 1 : 0]++;
    log_head(&s->trailer, h);
}

static void on_reset(void *ud, uint32_t stream, int from_server, uint32_t code, uint64_t mono)
{
    rec *r = ud;
    elaine_buf_addf(&r->log, "RESET %u %s %u", stream, from_server ? "server" : "client", code);
    at(r, mono);
    srec *s = sr(r, stream);
    s->resets++;
    s->reset_code = code;
}

static void on_goaway(void *ud, int from_server, uint32_t last, uint32_t code, uint64_t mono)
{
    rec *r = ud;
    elaine_buf_addf(&r->log, "GOAWAY %s %u %u", from_server ? "server" : "client", last, code);
    at(r, mono);
    r->goaways++;
    r->goaway_last = last;
    r->goaway_code = code;
}

static void on_push(void *ud, uint32_t stream, uint32_t promised, const elaine_http_head *h,
                    uint64_t mono)
{
    rec *r = ud;
    elaine_buf_addf(&r->log, "PUSH %u %u %s %s", stream, promised, h->method, h->target);
    at(r, mono);
    log_head(&r->log, h);
    r->pushes++;
    srec *s = sr(r, promised);
    s->req_heads++;
    elaine_buf_addf(&s->req_head, "%s %s\n", h->method, h->target);
}

static const elaine_http2_cb callbacks = {
    NULL,           on_request_head,  on_request_data, on_request_end, on_response_head,
    on_response_data, on_response_end, on_trailers,     on_reset,       on_goaway,
    on_push,
};

/* ------------------------------------------------------------ runs */

enum { M_PLAIN, M_SPLIT, M_BYTES, M_COALESCE };

/* Feeds sc into a new decoder: M_SPLIT cuts slice cut_seg at cut_at (both
 * halves with its mono), M_BYTES feeds single bytes, M_COALESCE merges runs
 * of one direction (then the trace has no times). Ends with eof; the trace
 * closes with "ERR rc" or "EOF n". */
static void run(const script *sc, rec *r, int mode, size_t cut_seg, size_t cut_at)
{
    rec_init(r, mode != M_COALESCE);
    elaine_http2_cb cb = callbacks;
    cb.ud = r;
    elaine_http2 *h = elaine_http2_new(&cb);
    CHECK(h != NULL);
    int rc = 0;
    const uint8_t *b = (const uint8_t *)sc->bytes.p;
    for (size_t i = 0; i < sc->nseg && rc == 0; i++) {
        const seg *g = &sc->segs[i];
        if (mode == M_COALESCE) {
            size_t len = g->len;
            while (i + 1 < sc->nseg && sc->segs[i + 1].dir == g->dir)
                len += sc->segs[++i].len;
            rc = elaine_http2_feed(h, g->dir, b + g->off, len, sc->segs[i].mono);
        } else if (mode == M_BYTES) {
            for (size_t k = 0; k < g->len && rc == 0; k++)
                rc = elaine_http2_feed(h, g->dir, b + g->off + k, 1, g->mono);
        } else if (mode == M_SPLIT && i == cut_seg) {
            rc = elaine_http2_feed(h, g->dir, b + g->off, cut_at, g->mono);
            if (rc == 0)
                rc = elaine_http2_feed(h, g->dir, b + g->off + cut_at, g->len - cut_at, g->mono);
        } else {
            rc = elaine_http2_feed(h, g->dir, b + g->off, g->len, g->mono);
        }
    }
    if (rc < 0) {
        elaine_buf_addf(&r->log, "ERR %d\n", rc);
        /* sticky: nothing more, the same error */
        size_t before = r->log.len;
        CHECK_INT(elaine_http2_feed(h, 0, (const uint8_t *)"\0\0\0\4\0\0\0\0\0", 9, 1), rc);
        CHECK_INT(elaine_http2_feed(h, 1, (const uint8_t *)"\0\0\0\4\0\0\0\0\0", 9, 1), rc);
        CHECK_INT(elaine_http2_eof(h), rc);
        CHECK_INT(r->log.len, before);
    } else {
        size_t open = elaine_http2_open_streams(h);
        int e = elaine_http2_eof(h);
        CHECK_INT(e, (int)open);
        elaine_buf_addf(&r->log, "EOF %d\n", e);
        CHECK_INT(elaine_http2_feed(h, 0, b, sc->bytes.len ? 1 : 0, 1), 0); /* ignored */
    }
    elaine_http2_free(h);
}

/* Runs sc plainly into *out (caller rec_free's it), then every other way,
 * comparing the traces; want (optional) is the expected plain trace. */
static void run_all(const script *sc, rec *out, const char *want)
{
    run(sc, out, M_PLAIN, 0, 0);
    if (want)
        CHECK_STR(out->log.p, want);
    const char *base = out->log.p ? out->log.p : "";
    rec r;
    int bad = 0;
    /* inputs over 16 KiB (captures): the first and last 64 bytes of each
     * slice and every 53rd between; M_BYTES still crosses every boundary */
    int all = sc->bytes.len <= 16384;
    for (size_t i = 0; i < sc->nseg && !bad; i++) {
        for (size_t k = 1; k < sc->segs[i].len && !bad; k++) {
            if (!all && k > 64 && k + 64 < sc->segs[i].len && k % 53)
                continue;
            run(sc, &r, M_SPLIT, i, k);
            if (strcmp(r.log.p ? r.log.p : "", base) != 0) {
                fprintf(stderr, "split slice %zu at %zu:\n", i, k);
                CHECK_STR(r.log.p, base);
                bad = 1;
            }
            rec_free(&r);
        }
    }
    run(sc, &r, M_BYTES, 0, 0);
    CHECK_STR(r.log.p, base);
    rec_free(&r);

    rec plain_nomono;
    rec_init(&plain_nomono, 0);
    run(sc, &r, M_COALESCE, 0, 0);
    /* the same trace without times */
    elaine_buf stripped;
    elaine_buf_init(&stripped);
    for (const char *p = base; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *atp = NULL;
        for (const char *q = p; q < p + len; q++)
            if (q[0] == ' ' && q[1] == '@')
                atp = q;
        elaine_buf_add(&stripped, p, atp ? (size_t)(atp - p) : len);
        elaine_buf_addc(&stripped, '\n');
        p += len + (nl ? 1 : 0);
    }
    CHECK_STR(r.log.p, stripped.p ? stripped.p : "");
    elaine_buf_free(&stripped);
    rec_free(&r);
    rec_free(&plain_nomono);
}

static nghttp2_hd_deflater *deflater(size_t max)
{
    nghttp2_hd_deflater *df;
    if (nghttp2_hd_deflate_new(&df, max) != 0)
        exit(2);
    return df;
}

static int ends_with(const elaine_buf *b, const char *s)
{
    size_t n = strlen(s);
    return b->len >= n && memcmp(b->p + b->len - n, s, n) == 0;
}

static int contains(const elaine_buf *b, const char *s)
{
    return b->p && strstr(b->p, s) != NULL;
}

/* ------------------------------------------------------------ cases */

static const char *CHAT_REQ =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}]}";
static const char *CHAT_RESP =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi!\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
    "\"total_tokens\":11}}";

static void test_get_post(void)
{
    CASE("GET and POST /v1/chat/completions");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *get[] = {":method", "GET", ":scheme", "https", ":authority", "api.openai.com",
                         ":path", "/v1/models", "authorization", "Bearer sk-test", NULL};
    sc_headers(&sc, C, cdf, 1, F_END_STREAM, get, NULL);
    const char *ok[] = {":status", "200", "content-type", "application/json", NULL};
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    sc_data(&sc, S, 1, F_END_STREAM, "{\"data\":[]}");
    char clen[24];
    snprintf(clen, sizeof(clen), "%zu", strlen(CHAT_REQ));
    const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "api.openai.com",
                          ":path", "/v1/chat/completions", "content-type", "application/json",
                          "content-length", clen, "Cookie", "a=1", "cookie", "b=2", NULL};
    sc_headers(&sc, C, cdf, 3, 0, post, NULL);
    /* the body in two DATA frames, the end in an empty one */
    char half[256];
    size_t hl = strlen(CHAT_REQ) / 2;
    memcpy(half, CHAT_REQ, hl);
    half[hl] = 0;
    sc_data(&sc, C, 3, 0, half);
    sc_data(&sc, C, 3, 0, CHAT_REQ + hl);
    sc_data(&sc, C, 3, F_END_STREAM, "");
    const char *ok2[] = {":status", "200", "content-type", "application/json", "x-request-id",
                         "req_1", NULL};
    sc_headers(&sc, S, sdf, 3, 0, ok2, NULL);
    sc_data(&sc, S, 3, F_END_STREAM, CHAT_RESP);

    rec r;
    elaine_buf want;
    elaine_buf_init(&want);
    elaine_buf_adds(&want,
                    "REQ 1 GET /v1/models @4000\n"
                    "  :method: GET\n  :scheme: https\n  :authority: api.openai.com\n"
                    "  :path: /v1/models\n  authorization: Bearer sk-test\n"
                    "REQEND 1 @4000\n"
                    "RESP 1 200 @5000\n  :status: 200\n  content-type: application/json\n"
                    "DATA 1 11:{\"data\":[]} @6000\n"
                    "RESPEND 1 @6000\n"
                    "REQ 3 POST /v1/chat/completions @7000\n"
                    "  :method: POST\n  :scheme: https\n  :authority: api.openai.com\n"
                    "  :path: /v1/chat/completions\n  content-type: application/json\n");
    elaine_buf_addf(&want, "  content-length: %s\n  cookie: a=1; b=2\n", clen);
    elaine_buf_addf(&want, "REQDATA 3 %zu:%.*s @8000\n", hl, (int)hl, CHAT_REQ);
    elaine_buf_addf(&want, "REQDATA 3 %zu:%s @9000\n", strlen(CHAT_REQ) - hl, CHAT_REQ + hl);
    elaine_buf_adds(&want, "REQEND 3 @10000\n"
                           "RESP 3 200 @11000\n  :status: 200\n  content-type: application/json\n"
                           "  x-request-id: req_1\n");
    elaine_buf_addf(&want, "DATA 3 %zu:%s @12000\nRESPEND 3 @12000\nEOF 0\n", strlen(CHAT_RESP),
                    CHAT_RESP);
    run_all(&sc, &r, want.p);
    CHECK_MEM(r.s[3].req_body.p, r.s[3].req_body.len, CHAT_REQ, strlen(CHAT_REQ));
    CHECK_MEM(r.s[3].resp_body.p, r.s[3].resp_body.len, CHAT_RESP, strlen(CHAT_RESP));
    rec_free(&r);
    elaine_buf_free(&want);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

/* The decoder as the exchange layer will use it: heads through the
 * elaine_http1 types, pseudo-headers first. */
static const char *pseudo_order_kv[] = {"user-agent", "x", ":method", "GET", ":path", "/", NULL};
static size_t npseudo_seen;
static const char *first_regular;

static void np_head(void *ud, uint32_t stream, const elaine_http_head *h, uint64_t mono)
{
    (void)ud;
    (void)stream;
    (void)mono;
    npseudo_seen = elaine_http2_npseudo(h);
    first_regular = npseudo_seen < h->nheaders ? h->headers[npseudo_seen].name : NULL;
    CHECK_STR(h->method, "GET");
    CHECK_STR(h->target, "/");
    CHECK_STR(elaine_http_head_get(h, "user-agent"), "x");
}

static void test_pseudo_first(void)
{
    CASE("pseudo-headers first, helpers");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096);
    sc_open(&sc);
    sc_headers(&sc, C, cdf, 1, F_END_STREAM, pseudo_order_kv, NULL);
    elaine_http2_cb cb = {0};
    cb.on_request_head = np_head;
    elaine_http2 *h = elaine_http2_new(&cb);
    for (size_t i = 0; i < sc.nseg; i++)
        CHECK_INT(elaine_http2_feed(h, sc.segs[i].dir, (const uint8_t *)sc.bytes.p + sc.segs[i].off,
                                    sc.segs[i].len, 1),
                  0);
    CHECK_INT(npseudo_seen, 2);
    CHECK_STR(first_regular, "user-agent");
    CHECK_INT(elaine_http2_open_streams(h), 1); /* no response yet */
    CHECK_INT(elaine_http2_eof(h), 1);
    elaine_http2_free(h);
    elaine_http2_free(NULL);
    CHECK(elaine_http2_is_preface((const uint8_t *)"PRI * HT", 8));
    CHECK(elaine_http2_is_preface((const uint8_t *)ELAINE_HTTP2_PREFACE "\0\0", 26));
    CHECK(!elaine_http2_is_preface((const uint8_t *)"POST /v1", 8));
    CHECK(elaine_http2_is_preface((const uint8_t *)"", 0));
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
}

static void test_sse(void)
{
    CASE("SSE response in many DATA frames");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "api.openai.com",
                          ":path", "/v1/chat/completions", "accept", "text/event-stream", NULL};
    sc_headers(&sc, C, cdf, 1, 0, post, NULL);
    sc_data(&sc, C, 1, F_END_STREAM, "{\"model\":\"gpt-4o\",\"stream\":true}");
    const char *ok[] = {":status", "200", "content-type", "text/event-stream; charset=utf-8", NULL};
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    elaine_buf all;
    elaine_buf_init(&all);
    for (int i = 0; i < 24; i++) {
        char ev[160];
        snprintf(ev, sizeof(ev),
                 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"}}]}\n\n", i);
        if (i % 5 == 4) { /* an event cut across two frames */
            size_t l = strlen(ev) / 2;
            char a[160];
            memcpy(a, ev, l);
            a[l] = 0;
            sc_data(&sc, S, 1, 0, a);
            sc_data(&sc, S, 1, 0, ev + l);
        } else {
            sc_data(&sc, S, 1, 0, ev);
        }
        elaine_buf_adds(&all, ev);
    }
    sc_data(&sc, S, 1, 0, "data: [DONE]\n\n");
    elaine_buf_adds(&all, "data: [DONE]\n\n");
    sc_data(&sc, S, 1, F_END_STREAM, "");
    rec r;
    run_all(&sc, &r, NULL);
    CHECK_MEM(r.s[1].resp_body.p, r.s[1].resp_body.len, all.p, all.len);
    CHECK_INT(r.s[1].resp_data_calls, 24 + 4 + 1);
    CHECK_INT(r.s[1].resp_ends, 1);
    CHECK(contains(&r.s[1].resp_head, "content-type: text/event-stream; charset=utf-8"));
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);
    elaine_buf_free(&all);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

static void test_multiplex(void)
{
    CASE("three streams interleaved frame by frame");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *paths[] = {"/v1/chat/completions", "/v1/embeddings", "/v1/responses"};
    for (uint32_t k = 0; k < 3; k++) {
        const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "api.openai.com",
                              ":path", paths[k], "content-type", "application/json", NULL};
        sc_headers(&sc, C, cdf, 1 + 2 * k, 0, post, NULL);
    }
    for (int part = 0; part < 3; part++)
        for (uint32_t k = 0; k < 3; k++) {
            char b[64];
            snprintf(b, sizeof(b), "req%u-part%d;", 1 + 2 * k, part);
            sc_data(&sc, C, 1 + 2 * k, part == 2 ? F_END_STREAM : 0, b);
        }
    /* responses in another order, the heads interleaved with data */
    const uint32_t order[] = {5, 1, 3};
    for (int k = 0; k < 3; k++) {
        const char *ok[] = {":status", k == 2 ? "429" : "200", "content-type", "application/json",
                            NULL};
        sc_headers(&sc, S, sdf, order[k], 0, ok, NULL);
        char b[64];
        snprintf(b, sizeof(b), "resp%u-part0;", order[k]);
        sc_data(&sc, S, order[k], 0, b);
    }
    for (int part = 1; part < 4; part++)
        for (int k = 2; k >= 0; k--) {
            char b[64];
            snprintf(b, sizeof(b), "resp%u-part%d;", order[k], part);
            sc_data(&sc, S, order[k], part == 3 ? F_END_STREAM : 0, b);
        }
    rec r;
    run_all(&sc, &r, NULL);
    for (uint32_t k = 0; k < 3; k++) {
        uint32_t id = 1 + 2 * k;
        char want[256];
        snprintf(want, sizeof(want), "req%u-part0;req%u-part1;req%u-part2;", id, id, id);
        CHECK_STR(r.s[id].req_body.p, want);
        snprintf(want, sizeof(want), "resp%u-part0;resp%u-part1;resp%u-part2;resp%u-part3;", id, id,
                 id, id);
        CHECK_STR(r.s[id].resp_body.p, want);
        CHECK_INT(r.s[id].req_ends, 1);
        CHECK_INT(r.s[id].resp_ends, 1);
        snprintf(want, sizeof(want), "POST %s\n", paths[k]);
        CHECK(strncmp(r.s[id].req_head.p, want, strlen(want)) == 0);
    }
    CHECK(strncmp(r.s[3].resp_head.p, "429\n", 4) == 0);
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

static void test_continuation(void)
{
    CASE("CONTINUATION");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    static char big[6001];
    for (int i = 0; i < 6000; i++)
        big[i] = (char)('a' + i % 26);
    big[6000] = 0;
    const char *get[] = {":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/x",
                         "x-big", big, NULL};
    hopts frag = {-1, 0, 1000};
    size_t bl = sc_headers(&sc, C, cdf, 1, F_END_STREAM, get, &frag);
    CHECK(bl > 3000); /* so HEADERS + 3 or more CONTINUATIONs */
    const char *ok[] = {":status", "200", "x-big", big, NULL};
    hopts frag2 = {3, 1, 2500}; /* padded, with priority, then CONTINUATIONs */
    sc_headers(&sc, S, sdf, 1, F_END_STREAM, ok, &frag2);
    rec r;
    run_all(&sc, &r, NULL);
    CHECK(contains(&r.s[1].req_head, big));
    CHECK(contains(&r.s[1].resp_head, big));
    CHECK_INT(r.s[1].req_ends, 1);
    CHECK_INT(r.s[1].resp_ends, 1);
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);

    CASE("CONTINUATION interrupted by another frame");
    sc_init(&sc);
    cdf = deflater(4096);
    sc_open(&sc);
    uint8_t blk[8192];
    size_t n = deflate_kv(cdf, get, blk, sizeof(blk));
    sc_frame(&sc, C, T_HEADERS, F_END_STREAM, 1, blk, 100);
    sc_frame(&sc, C, T_PING, 0, 0, "12345678", 8);
    sc_frame(&sc, C, T_CONTINUATION, F_END_HEADERS, 1, blk + 100, n - 100);
    run_all(&sc, &r, NULL);
    CHECK(ends_with(&r.log, "ERR -71\n"));
    CHECK_INT(r.s[1].req_heads, 0);
    rec_free(&r);
    elaine_buf_free(&sc.bytes);

    CASE("CONTINUATION on another stream");
    sc_init(&sc);
    sc_open(&sc);
    sc_frame(&sc, C, T_HEADERS, F_END_STREAM, 1, blk, 100);
    sc_frame(&sc, C, T_CONTINUATION, F_END_HEADERS, 3, blk + 100, n - 100);
    run(&sc, &r, M_PLAIN, 0, 0);
    CHECK(ends_with(&r.log, "ERR -71\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);

    CASE("CONTINUATION without HEADERS");
    sc_init(&sc);
    sc_open(&sc);
    sc_frame(&sc, C, T_CONTINUATION, F_END_HEADERS, 1, blk, 10);
    run(&sc, &r, M_PLAIN, 0, 0);
    CHECK(ends_with(&r.log, "ERR -71\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
}

static void test_padding(void)
{
    CASE("padded HEADERS and DATA");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "h", ":path", "/p",
                          NULL};
    hopts pad = {17, 1, 0};
    sc_headers(&sc, C, cdf, 1, 0, post, &pad);
    /* DATA with pad 0, with pad 200, and all padding */
    uint8_t p[512];
    p[0] = 0;
    memcpy(p + 1, "abc", 3);
    sc_frame(&sc, C, T_DATA, F_PADDED, 1, p, 4);
    p[0] = 200;
    memcpy(p + 1, "defg", 4);
    memset(p + 5, 0x55, 200);
    sc_frame(&sc, C, T_DATA, F_PADDED, 1, p, 205);
    p[0] = 9;
    memset(p + 1, 0, 9);
    sc_frame(&sc, C, T_DATA, F_PADDED | F_END_STREAM, 1, p, 10);
    const char *ok[] = {":status", "200", NULL};
    hopts pad0 = {0, 0, 0};
    sc_headers(&sc, S, sdf, 1, 0, ok, &pad0);
    p[0] = 1;
    memcpy(p + 1, "xyz", 3);
    p[4] = 0;
    sc_frame(&sc, S, T_DATA, F_PADDED | F_END_STREAM, 1, p, 5);
    rec r;
    run_all(&sc, &r, NULL);
    CHECK_STR(r.s[1].req_body.p, "abcdefg");
    CHECK_INT(r.s[1].req_data_calls, 2); /* the all-padding frame reports no bytes */
    CHECK_STR(r.s[1].resp_body.p, "xyz");
    CHECK_INT(r.s[1].req_ends, 1);
    CHECK_INT(r.s[1].resp_ends, 1);
    CHECK(contains(&r.s[1].req_head, "POST /p\n"));
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);

    CASE("padding longer than the frame");
    nghttp2_hd_deflate_del(cdf);
    cdf = deflater(4096);
    sc_init(&sc);
    sc_open(&sc);
    sc_headers(&sc, C, cdf, 1, 0, post, NULL);
    p[0] = 5; /* 1 + 5 > 5 */
    memcpy(p + 1, "abcd", 4);
    sc_frame(&sc, C, T_DATA, F_PADDED, 1, p, 5);
    run_all(&sc, &r, NULL);
    CHECK(ends_with(&r.log, "ERR -71\n"));
    CHECK_INT(r.s[1].req_data_calls, 0);
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

static void test_dynamic_table(void)
{
    CASE("dynamic table reuse across requests");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "api.anthropic.com",
                          ":path", "/v1/messages", "x-api-key", "sk-ant-api03-abcdefghijklmnop",
                          "anthropic-version", "2023-06-01", "content-type", "application/json",
                          "user-agent", "Anthropic/Python 0.40.0", NULL};
    size_t b1 = sc_headers(&sc, C, cdf, 1, F_END_STREAM, post, NULL);
    const char *ok[] = {":status", "200", "content-type", "application/json", "request-id",
                        "req_011", "anthropic-ratelimit-requests-limit", "4000", NULL};
    size_t r1 = sc_headers(&sc, S, sdf, 1, F_END_STREAM, ok, NULL);
    size_t split_at = sc.nseg; /* where the second request starts */
    size_t b2 = sc_headers(&sc, C, cdf, 3, F_END_STREAM, post, NULL);
    size_t r2 = sc_headers(&sc, S, sdf, 3, F_END_STREAM, ok, NULL);
    CHECK(b2 * 4 < b1); /* mostly indexed: 112 -> 18 bytes */
    CHECK(r2 < 8 && r2 * 4 < r1);
    rec r;
    run_all(&sc, &r, NULL);
    CHECK(r.s[1].req_head.len > 0);
    CHECK_STR(r.s[3].req_head.p, r.s[1].req_head.p);
    CHECK_STR(r.s[3].resp_head.p, r.s[1].resp_head.p);
    CHECK(contains(&r.s[3].req_head, "x-api-key: sk-ant-api03-abcdefghijklmnop"));
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);

    CASE("indexed header block without the table");
    script tail;
    sc_init(&tail);
    sc_open(&tail);
    for (size_t i = split_at; i < sc.nseg; i++)
        sc_add(&tail, sc.segs[i].dir, sc.bytes.p + sc.segs[i].off, sc.segs[i].len);
    run(&tail, &r, M_PLAIN, 0, 0);
    CHECK(ends_with(&r.log, "ERR -71\n"));
    CHECK_INT(r.s[3].req_heads, 0);
    rec_free(&r);
    elaine_buf_free(&tail.bytes);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

/* Three 1500-byte fields: they stay in a table of 8192, not of 4096. */
static void big_fields(char v[3][1501])
{
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 1500; i++)
            v[k][i] = (char)('A' + (i + k) % 26);
        v[k][1500] = 0;
    }
}

static void test_table_size(void)
{
    static char v[3][1501];
    big_fields(v);
    const char *get[] = {":method", "GET", ":scheme", "https", ":authority", "h", ":path", "/", NULL};
    const char *ok[] = {":status", "200", "x-a", v[0], "x-b", v[1], "x-c", v[2], NULL};
    rec r;

    for (int allow = 1; allow >= 0; allow--) {
        CASE(allow ? "SETTINGS_HEADER_TABLE_SIZE raised by the client"
                   : "a table size update the client did not allow");
        script sc;
        sc_init(&sc);
        nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(8192);
        sc_add(&sc, C, ELAINE_HTTP2_PREFACE, ELAINE_HTTP2_PREFACE_LEN);
        const uint32_t cs[] = {1, 8192, 2, 0};
        sc_settings(&sc, C, allow ? cs : cs + 2, 1);
        sc_settings(&sc, S, NULL, 0);
        sc_ack(&sc, S);
        sc_ack(&sc, C);
        CHECK_INT(nghttp2_hd_deflate_change_table_size(sdf, 8192), 0); /* the server read it */
        for (uint32_t id = 1; id <= 5; id += 2) {
            sc_headers(&sc, C, cdf, id, F_END_STREAM, get, NULL);
            size_t bl = sc_headers(&sc, S, sdf, id, F_END_STREAM, ok, NULL);
            if (id > 1)
                CHECK(bl < 10); /* all three from the 8192-byte table */
        }
        run_all(&sc, &r, NULL);
        if (allow) {
            CHECK(ends_with(&r.log, "EOF 0\n"));
            for (uint32_t id = 1; id <= 5; id += 2) {
                CHECK(contains(&r.s[id].resp_head, v[0]));
                CHECK(contains(&r.s[id].resp_head, v[2]));
                CHECK_INT(r.s[id].resp_ends, 1);
            }
        } else {
            CHECK(ends_with(&r.log, "ERR -71\n"));
            CHECK_INT(r.s[1].resp_finals, 0);
        }
        rec_free(&r);
        elaine_buf_free(&sc.bytes);
        nghttp2_hd_deflate_del(cdf);
        nghttp2_hd_deflate_del(sdf);
    }

    for (int obey = 1; obey >= 0; obey--) {
        CASE(obey ? "SETTINGS_HEADER_TABLE_SIZE lowered mid-connection, both ways"
                  : "a lowered table size the encoder ignored");
        script sc;
        sc_init(&sc);
        nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
        sc_open(&sc);
        const char *ok2[] = {":status", "200", "x-a", v[0], NULL};
        sc_headers(&sc, C, cdf, 1, F_END_STREAM, get, NULL);
        sc_headers(&sc, S, sdf, 1, F_END_STREAM, ok2, NULL);
        /* the client allows no dynamic table from now on, the server 256 bytes */
        const uint32_t c0[] = {1, 0}, s256[] = {1, 256};
        sc_settings(&sc, C, c0, 1);
        sc_settings(&sc, S, s256, 1);
        /* a response encoded before the server read the client's SETTINGS */
        sc_headers(&sc, C, cdf, 3, F_END_STREAM, get, NULL);
        sc_headers(&sc, S, sdf, 3, F_END_STREAM, ok2, NULL);
        if (obey)
            CHECK_INT(nghttp2_hd_deflate_change_table_size(sdf, 0), 0);
        sc_ack(&sc, S);
        CHECK_INT(nghttp2_hd_deflate_change_table_size(cdf, 256), 0);
        sc_ack(&sc, C);
        sc_headers(&sc, C, cdf, 5, F_END_STREAM, get, NULL);
        size_t bl = sc_headers(&sc, S, sdf, 5, F_END_STREAM, ok2, NULL);
        if (obey)
            CHECK(bl > 1000); /* literal (Huffman-coded): no table */
        run_all(&sc, &r, NULL);
        CHECK(contains(&r.s[3].resp_head, v[0]));
        if (obey) {
            CHECK(ends_with(&r.log, "EOF 0\n"));
            CHECK(contains(&r.s[5].resp_head, v[0]));
            CHECK(contains(&r.s[5].req_head, "GET /\n"));
        } else {
            CHECK(ends_with(&r.log, "ERR -71\n"));
            CHECK_INT(r.s[5].resp_finals, 0);
        }
        rec_free(&r);
        elaine_buf_free(&sc.bytes);
        nghttp2_hd_deflate_del(cdf);
        nghttp2_hd_deflate_del(sdf);
    }
}

static void test_reset_goaway(void)
{
    CASE("RST_STREAM mid-response, GOAWAY");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *post[] = {":method", "POST", ":scheme", "https", ":authority", "h", ":path",
                          "/v1/chat/completions", NULL};
    const char *ok[] = {":status", "200", "content-type", "text/event-stream", NULL};
    sc_headers(&sc, C, cdf, 1, 0, post, NULL);
    sc_data(&sc, C, 1, F_END_STREAM, "{}");
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    sc_data(&sc, S, 1, 0, "data: 1\n\n");
    sc_rst(&sc, C, 1, 8); /* CANCEL: the user pressed ^C */
    sc_data(&sc, S, 1, 0, "data: 2\n\n"); /* in flight: ignored */
    sc_headers(&sc, S, sdf, 1, F_END_STREAM, ok, NULL); /* late, ignored, still decoded */
    sc_rst(&sc, S, 1, 5);                               /* on a closed stream: ignored */
    /* the server refuses stream 3 before answering */
    sc_headers(&sc, C, cdf, 3, 0, post, NULL);
    sc_rst(&sc, S, 3, 7);
    sc_data(&sc, C, 3, F_END_STREAM, "{}"); /* ignored */
    /* stream 5 completes; the table is still in step */
    sc_headers(&sc, C, cdf, 5, F_END_STREAM, post, NULL);
    sc_headers(&sc, S, sdf, 5, 0, ok, NULL);
    sc_data(&sc, S, 5, F_END_STREAM, "data: [DONE]\n\n");
    /* stream 7 is open when the server says goodbye */
    sc_headers(&sc, C, cdf, 7, F_END_STREAM, post, NULL);
    uint8_t ga[8 + 5];
    put32(ga, 7);
    put32(ga + 4, 0);
    memcpy(ga + 8, "bye!!", 5);
    sc_frame(&sc, S, T_GOAWAY, 0, 0, ga, sizeof(ga));
    rec r;
    run_all(&sc, &r, NULL);
    CHECK_INT(r.s[1].resets, 1);
    CHECK_INT(r.s[1].reset_code, 8);
    CHECK_STR(r.s[1].resp_body.p, "data: 1\n\n");
    CHECK_INT(r.s[1].resp_ends, 0);
    CHECK_INT(r.s[3].resets, 1);
    CHECK_INT(r.s[3].reset_code, 7);
    CHECK_INT(r.s[3].req_data_calls, 0);
    CHECK_INT(r.s[3].req_ends, 0);
    CHECK_INT(r.s[5].resp_ends, 1);
    CHECK_STR(r.s[5].resp_body.p, "data: [DONE]\n\n");
    CHECK(contains(&r.s[5].req_head, "POST /v1/chat/completions\n"));
    CHECK_INT(r.goaways, 1);
    CHECK_INT(r.goaway_last, 7);
    CHECK_INT(r.goaway_code, 0);
    CHECK(contains(&r.log, "RESET 1 client 8 @"));
    CHECK(contains(&r.log, "RESET 3 server 7 @"));
    CHECK(contains(&r.log, "GOAWAY server 7 0 @"));
    CHECK(ends_with(&r.log, "EOF 1\n")); /* stream 7 was cut off */
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

static void test_trailers_continue(void)
{
    CASE("trailers both ways, 100-continue");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *post[] = {":method", "POST", ":scheme", "http", ":authority", "localhost:11434",
                          ":path", "/api/chat", "expect", "100-continue", NULL};
    sc_headers(&sc, C, cdf, 1, 0, post, NULL);
    const char *cont[] = {":status", "100", NULL};
    sc_headers(&sc, S, sdf, 1, 0, cont, NULL);
    sc_data(&sc, C, 1, 0, "{\"model\":\"llama3\"}");
    const char *ctrail[] = {"x-checksum", "abc", NULL};
    sc_headers(&sc, C, cdf, 1, F_END_STREAM, ctrail, NULL);
    const char *early[] = {":status", "103", "link", "</a.css>; rel=preload", NULL};
    sc_headers(&sc, S, sdf, 1, 0, early, NULL);
    const char *ok[] = {":status", "200", "content-type", "application/x-ndjson", NULL};
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    sc_data(&sc, S, 1, 0, "{\"done\":true}\n");
    const char *strail[] = {"grpc-status", "0", "x-usage", "tokens=12", NULL};
    sc_headers(&sc, S, sdf, 1, F_END_STREAM, strail, NULL);
    rec r;
    const char *want =
        "REQ 1 POST /api/chat @4000\n"
        "  :method: POST\n  :scheme: http\n  :authority: localhost:11434\n  :path: /api/chat\n"
        "  expect: 100-continue\n"
        "RESP 1 100 informational @5000\n  :status: 100\n"
        "REQDATA 1 18:{\"model\":\"llama3\"} @6000\n"
        "TRAILERS 1 client @7000\n  x-checksum: abc\n"
        "REQEND 1 @7000\n"
        "RESP 1 103 informational @8000\n  :status: 103\n  link: </a.css>; rel=preload\n"
        "RESP 1 200 @9000\n  :status: 200\n  content-type: application/x-ndjson\n"
        "DATA 1 14:{\"done\":true}\n @10000\n"
        "TRAILERS 1 server @11000\n  grpc-status: 0\n  x-usage: tokens=12\n"
        "RESPEND 1 @11000\n"
        "EOF 0\n";
    run_all(&sc, &r, want);
    CHECK_INT(r.s[1].resp_infos, 2);
    CHECK_INT(r.s[1].resp_finals, 1);
    CHECK_INT(r.s[1].trailers[0], 1);
    CHECK_INT(r.s[1].trailers[1], 1);
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

static void test_push_and_ignored(void)
{
    CASE("PUSH_PROMISE, ignored frame types, h2c upgrade stream");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    /* stream 1: the response to an HTTP/1.1 Upgrade: h2c request */
    const char *ok[] = {":status", "200", "content-type", "text/html", NULL};
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    sc_frame(&sc, S, 0xfa, 0xff, 1, "extension", 9); /* unknown type */
    sc_frame(&sc, C, T_WINDOW_UPDATE, 0, 0, "\0\1\0\0", 4);
    sc_frame(&sc, C, T_PRIORITY, 0, 1, "\0\0\0\0\20", 5);
    sc_frame(&sc, S, T_PING, 0, 0, "pingpong", 8);
    sc_frame(&sc, C, T_PING, F_ACK, 0, "pingpong", 8);
    const char *promise[] = {":method", "GET", ":scheme", "http", ":authority", "h", ":path",
                             "/style.css", NULL};
    hopts pad = {4, 0, 0};
    sc_block(&sc, S, sdf, T_PUSH_PROMISE, 1, 2, 0, promise, &pad);
    sc_data(&sc, S, 1, F_END_STREAM, "<html/>");
    const char *css[] = {":status", "200", "content-type", "text/css", NULL};
    sc_headers(&sc, S, sdf, 2, 0, css, NULL);
    sc_data(&sc, S, 2, F_END_STREAM, "body{}");
    const char *get[] = {":method", "GET", ":scheme", "http", ":authority", "h", ":path", "/", NULL};
    sc_headers(&sc, C, cdf, 3, F_END_STREAM, get, NULL);
    sc_headers(&sc, S, sdf, 3, F_END_STREAM, ok, NULL);
    rec r;
    run_all(&sc, &r, NULL);
    CHECK_STR(r.s[1].resp_body.p, "<html/>");
    CHECK_INT(r.s[1].req_heads, 0);
    CHECK_INT(r.s[1].resp_ends, 1);
    CHECK_INT(r.pushes, 1);
    CHECK(contains(&r.log, "PUSH 1 2 GET /style.css @"));
    CHECK_STR(r.s[2].resp_body.p, "body{}");
    CHECK_INT(r.s[2].resp_ends, 1);
    CHECK(contains(&r.s[3].req_head, "GET /\n"));
    CHECK(contains(&r.s[3].resp_head, "content-type: text/html"));
    CHECK(ends_with(&r.log, "EOF 0\n"));
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

/* One malformed input: the trace must end with ERR -EPROTO. */
static void bad(const char *name, void (*build)(script *, nghttp2_hd_deflater *))
{
    CASE(name);
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *df = deflater(4096);
    build(&sc, df);
    rec r;
    run_all(&sc, &r, NULL);
    if (!ends_with(&r.log, "ERR -71\n"))
        CHECK_STR(r.log.p, "... ERR -71");
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(df);
}

static void b_preface(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_add(sc, C, "POST /v1/chat/completions HTTP/1.1\r\n", 36);
}

static void b_http1_server(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_add(sc, C, ELAINE_HTTP2_PREFACE, ELAINE_HTTP2_PREFACE_LEN);
    sc_settings(sc, C, NULL, 0);
    sc_add(sc, S, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
}

static void b_no_settings(script *sc, nghttp2_hd_deflater *df)
{
    const char *get[] = {":method", "GET", ":path", "/", NULL};
    sc_add(sc, C, ELAINE_HTTP2_PREFACE, ELAINE_HTTP2_PREFACE_LEN);
    sc_headers(sc, C, df, 1, F_END_STREAM, get, NULL);
}

static void b_settings_len(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, S, T_SETTINGS, 0, 0, "\0\1\0\0\0", 5);
}

static void b_settings_stream(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, S, T_SETTINGS, 0, 1, NULL, 0);
}

static void b_data_stream0(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_data(sc, C, 0, 0, "x");
}

static void b_rst_len(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, C, T_RST_STREAM, 0, 1, "\0\0\0", 3);
}

static void b_goaway_len(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, S, T_GOAWAY, 0, 0, "\0\0\0\1", 4);
}

static void b_client_push(script *sc, nghttp2_hd_deflater *df)
{
    const char *get[] = {":method", "GET", ":path", "/", NULL};
    sc_open(sc);
    sc_block(sc, C, df, T_PUSH_PROMISE, 1, 2, 0, get, NULL);
}

static void b_hpack_garbage(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, C, T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, "\xff\xff\xff\xff\xff\xff", 6);
}

static void b_priority_short(script *sc, nghttp2_hd_deflater *df)
{
    (void)df;
    sc_open(sc);
    sc_frame(sc, C, T_HEADERS, F_END_HEADERS | F_PRIORITY, 1, "\0\0\0", 3);
}

/* A small block that decodes to more than 1 MiB: one 2000-byte field
 * indexed in the table, then referred to 600 times. */
static void b_header_bomb(script *sc, nghttp2_hd_deflater *df)
{
    static char v[2001];
    memset(v, 'v', 2000);
    static const char *kv[2 * 600 + 9];
    size_t n = 0;
    kv[n++] = ":method";
    kv[n++] = "GET";
    kv[n++] = ":path";
    kv[n++] = "/";
    for (int i = 0; i < 600; i++) {
        kv[n++] = "x-bomb";
        kv[n++] = v;
    }
    kv[n] = NULL;
    sc_open(sc);
    static uint8_t blk[1 << 21];
    /* nghttp2_nv is limited to 64 per call in deflate_kv: build it here */
    nghttp2_nv nv[604];
    for (size_t i = 0; i < n / 2; i++) {
        nv[i].name = (uint8_t *)kv[2 * i];
        nv[i].namelen = strlen(kv[2 * i]);
        nv[i].value = (uint8_t *)kv[2 * i + 1];
        nv[i].valuelen = strlen(kv[2 * i + 1]);
        nv[i].flags = NGHTTP2_NV_FLAG_NONE;
    }
    long bl = (long)deflate_hd(df, blk, sizeof(blk), nv, n / 2);
    CHECK(bl > 0 && bl < 16000);
    sc_frame(sc, C, T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, blk, (size_t)bl);
}

static void test_malformed(void)
{
    bad("not the preface", b_preface);
    bad("an HTTP/1.1 server", b_http1_server);
    bad("first frame not SETTINGS", b_no_settings);
    bad("SETTINGS length", b_settings_len);
    bad("SETTINGS on a stream", b_settings_stream);
    bad("DATA on stream 0", b_data_stream0);
    bad("RST_STREAM length", b_rst_len);
    bad("GOAWAY length", b_goaway_len);
    bad("PUSH_PROMISE from the client", b_client_push);
    bad("HPACK garbage", b_hpack_garbage);
    bad("HEADERS too short for PRIORITY", b_priority_short);
    bad("header list over 1 MiB", b_header_bomb);
}

/* A frame of the maximum size (16 MiB - 1), in many slices, without copies
 * for what comes whole. */
static void test_big_frame(void)
{
    CASE("16 MiB DATA frame");
    script sc;
    sc_init(&sc);
    nghttp2_hd_deflater *cdf = deflater(4096), *sdf = deflater(4096);
    sc_open(&sc);
    const char *get[] = {":method", "GET", ":path", "/big", NULL};
    sc_headers(&sc, C, cdf, 1, F_END_STREAM, get, NULL);
    const char *ok[] = {":status", "200", NULL};
    sc_headers(&sc, S, sdf, 1, 0, ok, NULL);
    size_t n = (1u << 24) - 1;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 23);
    sc_frame(&sc, S, T_DATA, F_END_STREAM, 1, big, n);
    rec r;
    for (int mode = 0; mode < 2; mode++) { /* whole, then in 1000-byte slices */
        rec_init(&r, 0);
        elaine_http2_cb cb = callbacks;
        cb.ud = &r;
        elaine_http2 *h = elaine_http2_new(&cb);
        for (size_t i = 0; i < sc.nseg; i++) {
            const seg *g = &sc.segs[i];
            size_t step = mode ? 1000 : g->len;
            for (size_t off = 0; off < g->len; off += step)
                CHECK_INT(elaine_http2_feed(h, g->dir, (const uint8_t *)sc.bytes.p + g->off + off,
                                            g->len - off < step ? g->len - off : step, g->mono),
                          0);
        }
        CHECK_INT(r.s[1].resp_data_calls, 1);
        CHECK_MEM(r.s[1].resp_body.p, r.s[1].resp_body.len, big, n);
        CHECK_INT(r.s[1].resp_ends, 1);
        CHECK_INT(elaine_http2_eof(h), 0);
        elaine_http2_free(h);
        rec_free(&r);
    }
    free(big);
    elaine_buf_free(&sc.bytes);
    nghttp2_hd_deflate_del(cdf);
    nghttp2_hd_deflate_del(sdf);
}

/* ------------------------------------------------------------ captures */

/* tests/data/http2/NAME.bin: records of 1 byte direction (0 client ->
 * server, 1 server -> client), 8 bytes mono ns and 4 bytes length (big
 * endian), then the bytes, as tests/data/http2/capture.py relayed them. */
static void load_capture(script *sc, const char *rel)
{
    size_t n;
    char *p = check_read_data(rel, &n);
    const uint8_t *u = (const uint8_t *)p;
    sc_init(sc);
    size_t off = 0;
    while (off + 13 <= n) {
        int dir = u[off];
        uint64_t mono = 0;
        for (int i = 0; i < 8; i++)
            mono = mono << 8 | u[off + 1 + i];
        uint32_t len = (uint32_t)u[off + 9] << 24 | (uint32_t)u[off + 10] << 16 |
                       (uint32_t)u[off + 11] << 8 | u[off + 12];
        off += 13;
        if (off + len > n)
            break;
        sc_add(sc, dir, u + off, len);
        sc->segs[sc->nseg - 1].mono = mono;
        off += len;
    }
    CHECK_INT(off, n);
    free(p);
}

static void test_capture_echo(void)
{
    CASE("nghttp -> nghttpd capture: POST echo, padding, CONTINUATION, table 1024, trailers");
    script sc;
    load_capture(&sc, "http2/nghttp_post_echo.bin");
    rec r;
    run_all(&sc, &r, NULL);
    CHECK(ends_with(&r.log, "EOF 0\n"));
    size_t body_n;
    char *body = check_read_data("http2/chat_request.json", &body_n);
    int streams = 0;
    for (uint32_t id = 1; id < MAXS; id += 2) {
        srec *s = &r.s[id];
        if (!s->req_heads)
            continue;
        streams++;
        CHECK(contains(&s->req_head, "POST /v1/chat/completions\n"));
        CHECK(contains(&s->req_head, "  :authority: 127.0.0.1:"));
        CHECK(contains(&s->req_head, "  content-type: application/json\n"));
        CHECK(contains(&s->req_head, "  authorization: Bearer sk-capture-test\n"));
        CHECK_MEM(s->req_body.p, s->req_body.len, body, body_n);
        CHECK(strncmp(s->resp_head.p ? s->resp_head.p : "", "200\n", 4) == 0);
        CHECK_MEM(s->resp_body.p, s->resp_body.len, body, body_n); /* --echo-upload */
        CHECK(contains(&s->trailer, "x-elaine-trailer: done"));
        CHECK_INT(s->req_ends, 1);
        CHECK_INT(s->resp_ends, 1);
    }
    CHECK_INT(streams, 3);
    free(body);
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
}

static void test_capture_get(void)
{
    CASE("nghttp -> nghttpd capture: GETs with pushes, table raised to 8192");
    script sc;
    load_capture(&sc, "http2/nghttp_get_push.bin");
    rec r;
    run_all(&sc, &r, NULL);
    CHECK(ends_with(&r.log, "EOF 0\n"));
    size_t n;
    char *models = check_read_data("http2/www/v1/models", &n);
    for (uint32_t id = 13; id <= 15; id += 2) { /* nghttp's streams 3..11 are PRIORITY anchors */
        srec *s = &r.s[id];
        CHECK(contains(&s->req_head, "GET /v1/models\n"));
        CHECK(contains(&s->req_head, "  user-agent: elaine-capture/1\n")); /* 15: from the table */
        CHECK(strncmp(s->resp_head.p ? s->resp_head.p : "", "200\n", 4) == 0);
        CHECK(contains(&s->resp_head, "  content-length: 154\n"));
        CHECK_MEM(s->resp_body.p, s->resp_body.len, models, n);
        CHECK_INT(s->req_ends, 1);
        CHECK_INT(s->resp_ends, 1);
    }
    CHECK_INT(r.pushes, 2);
    CHECK(contains(&r.log, "PUSH 13 2 GET /push.txt"));
    CHECK(contains(&r.log, "PUSH 15 4 GET /push.txt"));
    CHECK_STR(r.s[2].resp_body.p, "pushed\n");
    CHECK_STR(r.s[4].resp_body.p, "pushed\n");
    CHECK(contains(&r.s[4].resp_head, "  content-type: text/plain\n"));
    CHECK(contains(&r.log, "GOAWAY client 4 0 @")); /* the last push it took */
    free(models);
    rec_free(&r);
    elaine_buf_free(&sc.bytes);
}

int main(void)
{
    test_get_post();
    test_pseudo_first();
    test_sse();
    test_multiplex();
    test_continuation();
    test_padding();
    test_dynamic_table();
    test_table_size();
    test_reset_goaway();
    test_trailers_continue();
    test_push_and_ignored();
    test_malformed();
    test_big_frame();
    test_capture_echo();
    test_capture_get();
    return check_done("test_http2");
}
