/* Tests for the record format: redaction, masking, truncation, header joining, bodies (JSON, text, base64), ts, policy. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "elaine_json.h"
#include "elaine_mask.h"
#include "elaine_record.h"

static void add_header(elaine_xmsg *m, const char *name, const char *value)
{
    m->headers = realloc(m->headers, (m->nheaders + 1) * sizeof(*m->headers));
    m->headers[m->nheaders].name = strdup(name);
    m->headers[m->nheaders].value = strdup(value);
    m->nheaders++;
}

static void base_rec(elaine_xrec *x)
{
    memset(x, 0, sizeof(*x));
    x->pid = 12;
    x->start_time = 345;
    x->exe = "/bin/app";
    x->conn_id = 6;
    x->request_no = 7;
    x->tid = 13;
    x->wall_ns = 1796418191123456789ull;
    x->tls = 1;
    elaine_record_msg_init(&x->req);
    elaine_record_msg_init(&x->resp);
    elaine_llm_init(&x->llm);
    x->ttfb_ms = x->ttft_ms = x->duration_ms = -1;
    x->req.present = 1;
    x->req.method = strdup("POST");
    x->req.version = 11;
}

static void free_rec(elaine_xrec *x)
{
    elaine_record_msg_free(&x->req);
    elaine_record_msg_free(&x->resp);
    elaine_llm_free(&x->llm);
}

/* Formats x; returns the parsed record (caller frees) and the line in *line. */
static ej_val *format(const elaine_xrec *x, enum elaine_content content, char **line)
{
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_exchange(&b, x, content);
    *line = elaine_buf_take(&b);
    CHECK(strchr(*line, '\n') == NULL);
    ej_val *v = elaine_json_parse(*line, strlen(*line));
    CHECK(v != NULL);
    return v;
}

static const char *jstr(const ej_val *r, const char *path)
{
    return elaine_json_str(elaine_json_path(r, path));
}

static int jnull(const ej_val *r, const char *path)
{
    const ej_val *v = elaine_json_path(r, path);
    return v && elaine_json_type(v) == EJ_NULL;
}

static int64_t jint(const ej_val *r, const char *path)
{
    int64_t v = -999;
    elaine_json_int(elaine_json_path(r, path), &v);
    return v;
}

static void test_headers_and_path(void)
{
    CASE("headers and path");
    elaine_xrec x;
    base_rec(&x);
    x.req.target = strdup("/v1beta/models/gemini:generateContent?alt=sse&key=AIzaSECRET&b=2");
    add_header(&x.req, "host", "generativelanguage.googleapis.com");
    add_header(&x.req, "authorization", "Bearer sk-secret-value-0123456789");
    add_header(&x.req, "x-api-key", "sk-ant-secret");
    add_header(&x.req, "x-goog-api-key", "AIzaSECRET2");
    add_header(&x.req, "cookie", "a=1");
    add_header(&x.req, "accept", "text/html");
    add_header(&x.req, "x-multi", "one");
    add_header(&x.req, "accept", "application/json");
    add_header(&x.req, "x-multi", "two");
    add_header(&x.req, "x-multi", "three");
    x.resp.present = 1;
    x.resp.status = 200;
    x.resp.version = 11;
    add_header(&x.resp, "set-cookie", "s=1");
    add_header(&x.resp, "set-cookie", "t=2");
    add_header(&x.resp, "content-type", "application/json");
    char *line;
    ej_val *r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.path"), "/v1beta/models/gemini:generateContent?alt=sse&key=[REDACTED]&b=2");
    CHECK_STR(jstr(r, "request.headers.authorization"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.x-api-key"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.x-goog-api-key"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.cookie"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.accept"), "text/html, application/json");
    CHECK_STR(jstr(r, "request.headers.x-multi"), "one, two, three");
    CHECK_STR(jstr(r, "response.headers.set-cookie"), "[REDACTED]");
    CHECK_INT(elaine_json_len(elaine_json_path(r, "request.headers")), 7); /* one key per name */
    CHECK(strstr(line, "SECRET") == NULL && strstr(line, "secret") == NULL);
    CHECK_STR(jstr(r, "host"), "generativelanguage.googleapis.com");
    CHECK_INT(jint(r, "port"), 443);
    CHECK_STR(jstr(r, "id"), "12-345-6-7");
    CHECK_STR(jstr(r, "ts"), "2026-12-04T21:03:11.123456Z");
    CHECK(jnull(r, "request.body"));
    CHECK_INT(jint(r, "request.body_size"), 0);
    CHECK(jnull(r, "response.body"));
    CHECK(jnull(r, "llm.provider") && jnull(r, "llm.model") && jnull(r, "llm.stream") &&
          jnull(r, "llm.total_tokens") && jnull(r, "llm.output_text"));
    CHECK(jnull(r, "timing.ttfb_ms") && jnull(r, "error") && jnull(r, "stack"));
    /* every contract key is there */
    static const char *keys[] = {"type", "id", "ts", "pid", "tid", "exe", "host", "port", "tls",
                                 "http.version", "request.method", "request.path",
                                 "request.headers", "request.body", "request.body_size",
                                 "response.status", "response.headers", "response.body",
                                 "response.body_size", "llm.provider", "llm.operation",
                                 "llm.model", "llm.response_model", "llm.stream",
                                 "llm.input_tokens", "llm.output_tokens", "llm.total_tokens",
                                 "llm.finish_reason", "llm.output_text", "timing.ttfb_ms",
                                 "timing.ttft_ms", "timing.duration_ms", "error", "stack"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!elaine_json_path(r, keys[i])) {
            fprintf(stderr, "missing key %s\n", keys[i]);
            CHECK(0);
        }
    }
    elaine_json_free(r);
    free(line);
    free_rec(&x);
}

/* set_head (one block, lengths kept, one pass when no name repeats) writes
 * the same line as headers set by hand (measured and scanned as they come). */
static void check_head_same(const char *name, elaine_http_header *hs, size_t n, int version)
{
    CASE(name);
    elaine_http_head h;
    memset(&h, 0, sizeof(h));
    h.is_request = 1;
    h.method = "POST";
    h.target = "/v1/chat/completions?key=SECRET";
    h.version = version;
    h.nheaders = n;
    h.headers = hs;
    for (int c = 0; c < 3; c++) {
        enum elaine_content content = c == 0 ? ELAINE_CONTENT_FULL : c == 1 ? ELAINE_CONTENT_REDACTED
                                                                            : ELAINE_CONTENT_NONE;
        elaine_xrec a, b;
        base_rec(&a);
        base_rec(&b);
        a.req.version = b.req.version = version;
        CHECK(elaine_record_msg_set_head(&a.req, &h) == 0);
        CHECK(elaine_record_msg_set_head(&a.req, &h) == 0); /* again: the first one freed */
        CHECK_STR(a.req.method, "POST");
        free(b.req.method);
        b.req.method = strdup(h.method);
        b.req.target = strdup(h.target);
        for (size_t i = 0; i < n; i++) {
            b.req.headers = realloc(b.req.headers, (b.req.nheaders + 1) * sizeof(*b.req.headers));
            b.req.headers[i].name = hs[i].name ? strdup(hs[i].name) : NULL;
            b.req.headers[i].value = hs[i].value ? strdup(hs[i].value) : NULL;
            b.req.nheaders++;
        }
        /* the same head as elaine_http1 gives it: its strings in one raw
         * block (in another order), the header lengths known; the block is
         * gone (scribbled over and freed) before the line is written */
        elaine_xrec c3;
        base_rec(&c3);
        c3.req.version = version;
        elaine_http_head hr = h;
        elaine_http_header *rh = n ? calloc(n, sizeof(*rh)) : NULL;
        size_t *rl = n ? calloc(2 * n, sizeof(*rl)) : NULL;
        elaine_buf raw;
        elaine_buf_init(&raw);
        elaine_buf_adds(&raw, "junk");
        size_t off_m = raw.len;
        elaine_buf_add(&raw, h.method, strlen(h.method) + 1);
        size_t *offs = calloc(2 * n + 1, sizeof(*offs));
        for (size_t i = n; i-- > 0;) { /* values then names, backwards */
            const char *v = hs[i].value ? hs[i].value : "";
            offs[2 * i + 1] = raw.len;
            elaine_buf_add(&raw, v, strlen(v) + 1);
            rl[2 * i + 1] = strlen(v);
        }
        for (size_t i = 0; i < n; i++) {
            const char *nm = hs[i].name ? hs[i].name : "";
            offs[2 * i] = raw.len;
            elaine_buf_add(&raw, nm, strlen(nm) + 1);
            rl[2 * i] = strlen(nm);
        }
        size_t off_t = raw.len;
        elaine_buf_add(&raw, h.target, strlen(h.target) + 1);
        CHECK(!raw.oom);
        for (size_t i = 0; i < n; i++) {
            rh[i].name = hs[i].name ? raw.p + offs[2 * i] : NULL;
            rh[i].value = hs[i].value ? raw.p + offs[2 * i + 1] : NULL;
        }
        hr.headers = rh;
        hr.header_lens = rl;
        /* names all tchars: said so, as elaine_http1 says it (the writer then does not check them) */
        hr.names_tchar = 1;
        for (size_t i = 0; i < n; i++)
            for (const char *c = hs[i].name ? hs[i].name : ""; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      strchr("!#$%&'*+-.^_`|~", *c)))
                    hr.names_tchar = 0;
        hr.raw = raw.p + 2; /* the first bytes are not the head's */
        hr.raw_len = raw.len - 2;
        hr.method = raw.p + off_m;
        hr.target = raw.p + off_t;
        CHECK(elaine_record_msg_set_head(&c3.req, &hr) == 0);
        CHECK(elaine_record_msg_set_head(&c3.req, &hr) == 0);
        memset(raw.p, 'Z', raw.len);
        elaine_buf_free(&raw);
        free(rh);
        free(rl);
        free(offs);
        char *la, *lb, *lc;
        ej_val *ra = format(&a, content, &la);
        ej_val *rb = format(&b, content, &lb);
        ej_val *rc = format(&c3, content, &lc);
        CHECK_STR(la, lb);
        CHECK_STR(lc, lb);
        CHECK_STR(c3.req.method, "POST");
        CHECK_STR(c3.req.target, h.target);
        elaine_json_free(rc);
        free(lc);
        free_rec(&c3);
        CHECK(strstr(la, "SECRET") == NULL);
        elaine_json_free(ra);
        elaine_json_free(rb);
        free(la);
        free(lb);
        /* a method replaced by hand after set_head is the caller's to have freed */
        a.req.method = strdup("GET");
        free_rec(&a);
        free_rec(&b);
    }
}

/* elaine_record_msg_header: by the lengths set_head keeps and by strcmp on a
 * head set by hand, the same answers (prefixes, longer names, NULLs, repeats). */
static void test_msg_header(void)
{
    CASE("msg_header: lengths and strcmp agree");
    elaine_http_header hs[] = {
        {"content", "a"}, {"content-type", "b"}, {"content-typ", "c"}, {NULL, "d"}, {"x", NULL},
        {"content-type", "e"}, {"", "f"}, {"host", "g"},
    };
    size_t n = sizeof(hs) / sizeof(hs[0]);
    elaine_http_head h;
    memset(&h, 0, sizeof(h));
    h.nheaders = n;
    h.headers = hs;
    elaine_xmsg a, b;
    elaine_record_msg_init(&a);
    elaine_record_msg_init(&b);
    CHECK(elaine_record_msg_set_head(&a, &h) == 0);
    CHECK(a.header_lens != NULL);
    b.nheaders = n;
    b.headers = calloc(n, sizeof(*b.headers));
    for (size_t i = 0; i < n; i++) {
        b.headers[i].name = hs[i].name ? strdup(hs[i].name) : NULL;
        b.headers[i].value = hs[i].value ? strdup(hs[i].value) : NULL;
    }
    static const char *const q[] = {"content", "content-type", "content-typ", "content-types", "x", "",
                                    "host", "hos", "cookie", "d"};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        const char *va = elaine_record_msg_header(&a, q[i]), *vb = elaine_record_msg_header(&b, q[i]);
        CHECK((va == NULL) == (vb == NULL));
        if (va && vb)
            CHECK_STR(va, vb);
        const char *vn = elaine_record_msg_headern(&a, q[i], strlen(q[i]));
        CHECK(vn == va);
    }
    CHECK_STR(ELAINE_RECORD_MSG_HEADER(&a, "content-type"), "b");
    CHECK_STR(ELAINE_RECORD_MSG_HEADER(&b, "content-type"), "b");
    CHECK(ELAINE_RECORD_MSG_HEADER(&a, "x") == NULL); /* present, value NULL */
    CHECK(ELAINE_RECORD_MSG_HEADER(&a, "content-types") == NULL);
    elaine_record_msg_free(&a);
    elaine_record_msg_free(&b);
}

static void test_set_head(void)
{
    elaine_http_header usual[] = {
        {"host", "api.openai.com"}, {"user-agent", "OpenAI/Python 1.40.0"},
        {"accept", "application/json"}, {"authorization", "Bearer sk-secret"},
        {"content-type", "application/json"}, {"content-length", "265"},
        {"x-email", "bob@example.com"}, {"x-quote", "a\"b\\c\x01\xff"},
    };
    check_head_same("set_head: usual", usual, sizeof(usual) / sizeof(usual[0]), 11);
    elaine_http_header rep[] = {
        {"accept", "text/html"}, {"x-multi", "one"}, {"accept", NULL}, {NULL, "x"},
        {"x-multi", "two"}, {"cookie", "a=1"}, {"cookie", "b=2"}, {"x-multi", "three"},
    };
    check_head_same("set_head: repeated names", rep, sizeof(rep) / sizeof(rep[0]), 11);
    elaine_http_header h2[] = {
        {":method", "POST"}, {":path", "/v1/x"}, {":authority", "api.example.com"},
        {"content-type", "application/json"}, {":status", "200"},
    };
    check_head_same("set_head: HTTP/2 pseudo-headers", h2, sizeof(h2) / sizeof(h2[0]), 20);
    check_head_same("set_head: no headers", NULL, 0, 11);
    /* many, beyond set_head's 64 measured on the stack, with names that share
     * length and ends (the hash meets them) and one repeat at the very end */
    static char names[150][16], values[150][24];
    elaine_http_header many[150];
    for (int i = 0; i < 150; i++) {
        snprintf(names[i], sizeof(names[i]), "x-h%03d", i % 149);
        snprintf(values[i], sizeof(values[i]), "value %d", i);
        many[i].name = names[i];
        many[i].value = values[i];
    }
    check_head_same("set_head: many headers, one repeat", many, 150, 11);
    check_head_same("set_head: many headers, none repeated", many, 149, 11);
    check_head_same("set_head: 64 headers", many, 64, 11);
}

static void test_server(void)
{
    char host[256];
    uint32_t port;
    elaine_xrec x;
    CASE("server: host header with port");
    base_rec(&x);
    add_header(&x.req, "host", "api.example.com:8443");
    x.conn_host = "ignored";
    elaine_record_server(&x, host, sizeof(host), &port);
    CHECK_STR(host, "api.example.com");
    CHECK_INT(port, 8443);
    free_rec(&x);
    CASE("server: ipv6");
    base_rec(&x);
    add_header(&x.req, "host", "[::1]:11434");
    elaine_record_server(&x, host, sizeof(host), &port);
    CHECK_STR(host, "::1");
    CHECK_INT(port, 11434);
    free_rec(&x);
    CASE("server: conn host, conn port");
    base_rec(&x);
    x.conn_host = "from-connopen";
    x.conn_port = 9000;
    x.sni = "from-sni";
    elaine_record_server(&x, host, sizeof(host), &port);
    CHECK_STR(host, "from-connopen");
    CHECK_INT(port, 9000);
    CASE("server: sni, default ports");
    x.conn_host = "";
    x.conn_port = 0;
    elaine_record_server(&x, host, sizeof(host), &port);
    CHECK_STR(host, "from-sni");
    CHECK_INT(port, 443);
    x.tls = 0;
    x.sni = NULL;
    elaine_record_server(&x, host, sizeof(host), &port);
    CHECK_STR(host, "");
    CHECK_INT(port, 80);
    free_rec(&x);
}


/* The text-or-binary rule as it was written byte by byte: a NUL, or more
 * than 1 in 20 bytes invalid UTF-8 (the record's check now skips ASCII 8
 * bytes at a time and must decide the same). */
static int ref_binary_bytes(const unsigned char *s, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == 0)
            return 1;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = len != 0 && i + len <= n && !(len == 2 && c < 0xc2) && !(len == 4 && c > 0xf4);
        for (size_t k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (ok) {
            i += len;
        } else {
            bad++;
            i++;
        }
    }
    return bad * 20 > n;
}

static void test_binary_rule(void)
{
    CASE("text or binary: the same decision as byte by byte");
    uint64_t r = 88172645463325252ull;
    unsigned char buf[200];
    for (int it = 0; it < 3000; it++) {
        size_t n = 1 + (size_t)(it % 150);
        int mode = it % 4;
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            unsigned pct = (unsigned)(r % 100);
            buf[i] = mode == 0   ? (unsigned char)(r >> 8)
                     : pct < 93  ? (unsigned char)(1 + (r >> 8) % 127)
                     : pct < 94 && mode == 1 ? 0
                     : (unsigned char)(0x80 + (r >> 8) % 128);
        }
        elaine_xrec x;
        char *line;
        base_rec(&x);
        add_header(&x.req, "content-type", "text/plain");
        elaine_buf_add(&x.req.body, buf, n);
        x.req.body_size = n;
        ej_val *v = format(&x, ELAINE_CONTENT_FULL, &line);
        int b64 = jstr(v, "request.body_encoding") != NULL;
        CHECK_INT(b64, ref_binary_bytes(buf, n));
        elaine_json_free(v);
        free(line);
        free_rec(&x);
    }
}

static void test_bodies(void)
{
    elaine_xrec x;
    char *line;
    ej_val *r;

    CASE("binary by content type");
    base_rec(&x);
    add_header(&x.req, "content-type", "audio/wav");
    elaine_buf_add(&x.req.body, "RIFF\x01\x02", 6);
    x.req.body_size = 6;
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.body"), "UklGRgEC");
    CHECK_STR(jstr(r, "request.body_encoding"), "base64");
    CHECK_INT(jint(r, "request.body_size"), 6);
    elaine_json_free(r);
    free(line);
    free_rec(&x);

    CASE("binary by bytes (NUL)");
    base_rec(&x);
    add_header(&x.req, "content-type", "multipart/form-data; boundary=x");
    elaine_buf_add(&x.req.body, "ab\0", 3);
    x.req.body_size = 3;
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.body"), "YWIA");
    CHECK_STR(jstr(r, "request.body_encoding"), "base64");
    elaine_json_free(r);
    free(line);
    free_rec(&x);

    CASE("text with an invalid byte");
    base_rec(&x);
    add_header(&x.req, "content-type", "text/plain");
    elaine_buf_adds(&x.req.body, "hello w\xffrld, this is mostly text");
    x.req.body_size = x.req.body.len;
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.body"), "hello w\xef\xbf\xbdrld, this is mostly text");
    CHECK(elaine_json_path(r, "request.body_encoding") == NULL);
    elaine_json_free(r);
    free(line);
    free_rec(&x);

    CASE("json body, content modes");
    base_rec(&x);
    static const char js[] = "{\n  \"model\": \"m\",\n  \"messages\": [{\"content\": \"mail bob@example.org or "
                             "use sk-abcdefghijklmnopqrstuv please\"}], \"n\": 1.50\n}";
    elaine_buf_adds(&x.req.body, js);
    x.req.body_size = x.req.body.len;
    x.req.json = elaine_json_parse(js, strlen(js));
    x.llm.provider = "openai";
    x.llm.operation = "chat";
    x.llm.stream = 0;
    x.llm.input_tokens = 3;
    elaine_buf_adds(&x.llm.output_text, "reply to alice@corp.example.com");
    x.llm.has_output_text = 1;
    x.ttfb_ms = 12.3456;
    x.duration_ms = 100;
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.body.model"), "m");
    CHECK(strstr(line, "\"n\":1.50") != NULL); /* numbers as in the source */
    CHECK(strstr(line, "bob@example.org") != NULL);
    CHECK_STR(jstr(r, "llm.output_text"), "reply to alice@corp.example.com");
    CHECK_INT(jint(r, "llm.input_tokens"), 3);
    CHECK(jnull(r, "llm.output_tokens"));
    CHECK(strstr(line, "\"ttfb_ms\":12.346") != NULL);
    CHECK(strstr(line, "\"duration_ms\":100") != NULL);
    elaine_json_free(r);
    free(line);
    r = format(&x, ELAINE_CONTENT_REDACTED, &line);
    const char *content = elaine_json_str(
        elaine_json_get(elaine_json_at(elaine_json_path(r, "request.body.messages"), 0), "content"));
    CHECK_STR(content, "mail [REDACTED:email] or use [REDACTED:openai_key] please");
    CHECK_STR(jstr(r, "llm.output_text"), "reply to [REDACTED:email]");
    CHECK_STR(jstr(r, "request.body.model"), "m");
    CHECK(strstr(line, "\"n\":1.50") != NULL);            /* numbers untouched */
    CHECK_INT(jint(r, "llm.input_tokens"), 3);             /* token counts intact */
    CHECK(strstr(line, "\"ttfb_ms\":12.346") != NULL);     /* timings intact */
    elaine_json_free(r);
    free(line);
    r = format(&x, ELAINE_CONTENT_NONE, &line);
    CHECK(jnull(r, "request.body"));
    CHECK(jnull(r, "llm.output_text"));
    CHECK_INT(jint(r, "request.body_size"), strlen(js));
    CHECK_STR(jstr(r, "llm.provider"), "openai");
    elaine_json_free(r);
    free(line);
    free_rec(&x);
}

/* --content redacted over a whole record: headers, path, text bodies, llm
 * texts, tool calls, error message; credentials are redacted in every mode. */
static void test_redacted(void)
{
    CASE("redacted: headers, path, text body");
    elaine_xrec x;
    base_rec(&x);
    x.req.target = strdup("/v1/users/bob@example.com/files?key=AIzaSECRET&ip=10.1.2.3");
    add_header(&x.req, "host", "api.example.com");
    add_header(&x.req, "authorization", "Bearer sk-secret-value-0123456789");
    add_header(&x.req, "x-user-email", "carol@example.net");
    add_header(&x.req, "x-forwarded-for", "203.0.113.9, 10.0.0.2");
    add_header(&x.req, "content-type", "text/plain");
    elaine_buf_adds(&x.req.body, "call me on +44 20 7946 0958 or at dan@example.org, order 1234567890");
    x.req.body_size = x.req.body.len;
    x.resp.present = 1;
    x.resp.status = 500;
    x.resp.version = 11;
    x.llm.provider = "openai";
    x.llm.operation = "chat";
    x.llm.error_message = strdup("key sk-abcdefghijklmnopqrstuv for eve@example.com is over quota");
    elaine_tool_call *t = elaine_llm_tool_call(&x.llm, 0);
    t->id = strdup("call_1");
    t->name = strdup("pay");
    elaine_buf_adds(&t->arguments, "{\"card\":\"4111 1111 1111 1111\",\"amount\":12}");
    elaine_buf_adds(&x.llm.reasoning_text, "the user's IBAN is DE89370400440532013000");
    x.llm.has_reasoning_text = 1;
    char *line;
    ej_val *r = format(&x, ELAINE_CONTENT_REDACTED, &line);
    CHECK_STR(jstr(r, "request.path"), "/v1/users/[REDACTED:email]/files?key=[REDACTED]&ip=[REDACTED:ipv4]");
    CHECK_STR(jstr(r, "request.headers.authorization"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.x-user-email"), "[REDACTED:email]");
    CHECK_STR(jstr(r, "request.headers.x-forwarded-for"), "[REDACTED:ipv4], [REDACTED:ipv4]");
    CHECK_STR(jstr(r, "request.headers.host"), "api.example.com");
    CHECK_STR(jstr(r, "request.body"), "call me on [REDACTED:phone] or at [REDACTED:email], order 1234567890");
    CHECK_INT(jint(r, "request.body_size"), x.req.body.len); /* the size of what was sent */
    CHECK_STR(jstr(r, "llm.error_message"), "key [REDACTED:openai_key] for [REDACTED:email] is over quota");
    CHECK_STR(jstr(r, "llm.reasoning_text"), "the user's IBAN is [REDACTED:iban]");
    const ej_val *args = elaine_json_get(elaine_json_at(elaine_json_path(r, "llm.tool_calls"), 0), "arguments");
    CHECK_STR(elaine_json_str(elaine_json_get(args, "card")), "[REDACTED:card]");
    CHECK(strstr(line, "\"amount\":12") != NULL);
    CHECK(strstr(line, "bob@") == NULL && strstr(line, "carol@") == NULL && strstr(line, "dan@") == NULL &&
          strstr(line, "eve@") == NULL && strstr(line, "SECRET") == NULL && strstr(line, "4111") == NULL &&
          strstr(line, "DE89") == NULL && strstr(line, "7946") == NULL && strstr(line, "203.0") == NULL);
    elaine_json_free(r);
    free(line);

    CASE("full: bodies whole, credentials still redacted");
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.headers.authorization"), "[REDACTED]");
    CHECK_STR(jstr(r, "request.headers.x-user-email"), "carol@example.net");
    CHECK_STR(jstr(r, "request.path"), "/v1/users/bob@example.com/files?key=[REDACTED]&ip=10.1.2.3");
    CHECK(strstr(jstr(r, "request.body") ? jstr(r, "request.body") : "", "dan@example.org") != NULL);
    CHECK(strstr(line, "sk-secret") == NULL);
    elaine_json_free(r);
    free(line);

    CASE("none: metadata only");
    r = format(&x, ELAINE_CONTENT_NONE, &line);
    CHECK(jnull(r, "request.body"));
    CHECK(jnull(r, "llm.reasoning_text"));
    CHECK_INT(jint(r, "request.body_size"), x.req.body.len);
    CHECK_STR(jstr(r, "request.headers.authorization"), "[REDACTED]");
    elaine_json_free(r);
    free(line);

    CASE("redacted: user patterns through elaine_record_set_mask");
    elaine_mask *m = elaine_mask_new();
    char err[128];
    CHECK_INT(elaine_mask_add_pattern(m, "order [0-9]+", err, sizeof(err)), 0);
    elaine_record_set_mask(m);
    r = format(&x, ELAINE_CONTENT_REDACTED, &line);
    CHECK_STR(jstr(r, "request.body"), "call me on [REDACTED:phone] or at [REDACTED:email], [REDACTED:pattern]");
    elaine_json_free(r);
    free(line);
    elaine_record_set_mask(NULL);
    elaine_mask_free(m);
    free_rec(&x);
}

/* --max-body: the body is cut at a character boundary, "truncated": true and
 * body_size the decoded size before the cut. */
static void test_truncated(void)
{
    CASE("truncated text body");
    elaine_xrec x;
    base_rec(&x);
    static const char full[] = "{\"messages\":[{\"content\":\"h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x98\x80\"}]}";
    size_t cut = strchr(full, '\xb6') - full; /* inside the two bytes of o-umlaut */
    elaine_buf_add(&x.req.body, full, cut);
    x.req.body_size = sizeof(full) - 1;
    x.req.body_truncated = 1;
    char *line;
    ej_val *r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK_STR(jstr(r, "request.body"), "{\"messages\":[{\"content\":\"h\xc3\xa9llo w");
    CHECK_INT(elaine_json_bool(elaine_json_path(r, "request.truncated")), 1);
    CHECK_INT(jint(r, "request.body_size"), sizeof(full) - 1);
    CHECK(elaine_json_path(r, "request.body_truncated") == NULL);
    CHECK(strstr(line, "\xef\xbf\xbd") == NULL); /* no U+FFFD from a cut character */
    elaine_json_free(r);
    free(line);

    CASE("truncated inside a 4-byte character");
    elaine_buf_reset(&x.req.body);
    cut = strstr(full, "\xf0\x9f") - full + 3;
    elaine_buf_add(&x.req.body, full, cut);
    r = format(&x, ELAINE_CONTENT_REDACTED, &line);
    CHECK_STR(jstr(r, "request.body"), "{\"messages\":[{\"content\":\"h\xc3\xa9llo w\xc3\xb6rld ");
    CHECK_INT(elaine_json_bool(elaine_json_path(r, "request.truncated")), 1);
    elaine_json_free(r);
    free(line);

    CASE("truncated, content none");
    r = format(&x, ELAINE_CONTENT_NONE, &line);
    CHECK(jnull(r, "request.body"));
    CHECK_INT(elaine_json_bool(elaine_json_path(r, "request.truncated")), 1);
    CHECK_INT(jint(r, "request.body_size"), sizeof(full) - 1);
    elaine_json_free(r);
    free(line);

    CASE("not truncated: no key");
    x.req.body_truncated = 0;
    r = format(&x, ELAINE_CONTENT_FULL, &line);
    CHECK(elaine_json_path(r, "request.truncated") == NULL);
    elaine_json_free(r);
    free(line);
    free_rec(&x);
}

static void test_ts(void)
{
    CASE("ts");
    char ts[40];
    elaine_record_ts(ts, sizeof(ts), 0);
    CHECK_STR(ts, "1970-01-01T00:00:00.000000Z");
    elaine_record_ts(ts, sizeof(ts), 1796418191123456789ull);
    CHECK_STR(ts, "2026-12-04T21:03:11.123456Z");
    elaine_record_ts(ts, sizeof(ts), 951782400999999999ull); /* leap day, rounding down */
    CHECK_STR(ts, "2000-02-29T00:00:00.999999Z");
    /* against gmtime/strftime/printf (the date is cached per second): same
     * second, next second, back in time, and cut to a small buffer */
    CASE("ts against strftime");
    uint64_t t = 1700000000000000000ull;
    for (int i = 0; i < 3000; i++) {
        t = i % 3 == 0 ? t + 1000 : i % 3 == 1 ? t + 1234567891ull : t - 777777777777ull % (t / 2);
        char want[64], date[32];
        time_t sec = (time_t)(t / 1000000000u);
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want, sizeof(want), "%s.%06uZ", date, (unsigned)(t % 1000000000u / 1000u));
        elaine_record_ts(ts, sizeof(ts), t);
        CHECK_STR(ts, want);
    }
    char small[10];
    elaine_record_ts(small, sizeof(small), 1796418191123456789ull);
    CHECK_STR(small, "2026-12-0");
    CASE("id like printf");
    elaine_xrec x;
    memset(&x, 0, sizeof(x));
    char id[96], want[96];
    x.pid = UINT32_MAX;
    x.start_time = UINT64_MAX;
    x.conn_id = 0;
    x.request_no = 1234567890123ull;
    elaine_record_id(id, sizeof(id), &x);
    snprintf(want, sizeof(want), "%u-%llu-%llu-%llu", x.pid, (unsigned long long)x.start_time,
             (unsigned long long)x.conn_id, (unsigned long long)x.request_no);
    CHECK_STR(id, want);
    elaine_record_id(id, 8, &x);
    CHECK_STR(id, "4294967");
}

static void test_sampling(void)
{
    CASE("sampling");
    char id[64];
    int kept = 0, again = 0, other_seed = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(id, sizeof(id), "100-200-%d-0", i);
        CHECK_INT(elaine_record_sample_keep(id, 1.0, 5), 1);
        CHECK_INT(elaine_record_sample_keep(id, 0.0, 5), 0);
        int k = elaine_record_sample_keep(id, 0.25, 5);
        kept += k;
        again += k == elaine_record_sample_keep(id, 0.25, 5);
        other_seed += k != elaine_record_sample_keep(id, 0.25, 6);
    }
    CHECK(kept > 400 && kept < 600);
    CHECK_INT(again, 2000);
    CHECK(other_seed > 200);

    CASE("failed");
    elaine_xrec x;
    base_rec(&x);
    CHECK_INT(elaine_record_failed(&x), 1); /* no response */
    x.resp.present = 1;
    x.resp.status = 200;
    CHECK_INT(elaine_record_failed(&x), 0);
    x.resp.status = 429;
    CHECK_INT(elaine_record_failed(&x), 1);
    x.resp.status = 200;
    x.error = "boom";
    CHECK_INT(elaine_record_failed(&x), 1);
    free_rec(&x);
}

static void test_other_lines(void)
{
    CASE("drop and collector lines");
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_drop(&b, 1796418191123456789ull, 77, 5, 1234);
    CHECK_STR(b.p, "{\"type\":\"drop\",\"ts\":\"2026-12-04T21:03:11.123456Z\",\"pid\":77,"
                   "\"dropped_events\":5,\"dropped_bytes\":1234}");
    elaine_buf_reset(&b);
    elaine_counters c = {1, 2, 3, 4, 5, 6, 7};
    elaine_record_collector(&b, 1796418191123456789ull, "start", 9, &c);
    CHECK_STR(b.p, "{\"type\":\"collector\",\"ts\":\"2026-12-04T21:03:11.123456Z\",\"event\":\"start\","
                   "\"pid\":9,\"version\":\"0.1.0\",\"exchanges_written\":1,\"drops_reported\":2,"
                   "\"dropped_events\":3,\"sampled_out\":4,\"write_errors\":5,\"clients\":6,"
                   "\"clients_rejected\":7}");
    elaine_buf_free(&b);
}

/* The path as written: an origin-form path without a query as it is (masked
 * with --content redacted), the rest through elaine_redact_target. */
static void test_path_forms(void)
{
    static const struct {
        const char *target, *full, *redacted;
    } cases[] = {
        {"/v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions"},
        {"/v1/users/bob@example.com/files", "/v1/users/bob@example.com/files", "/v1/users/[REDACTED:email]/files"},
        {"/", "/", "/"},
        {"/a#frag?key=x", "/a#frag?key=x", "/a#frag?key=x"},
        {"/x?key=s", "/x?key=[REDACTED]", "/x?key=[REDACTED]"},
        {"/x\"q\\", "/x\"q\\", "/x\"q\\"},
        {"http://u:p@h.example/v1", "http://[REDACTED]@h.example/v1", "http://[REDACTED]@h.example/v1"},
        {"*", "*", "*"},
        {"", "", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int red = 0; red < 2; red++) {
            CASE(cases[i].target);
            elaine_xrec x;
            base_rec(&x);
            x.req.target = strdup(cases[i].target);
            char *line;
            ej_val *r = format(&x, red ? ELAINE_CONTENT_REDACTED : ELAINE_CONTENT_FULL, &line);
            CHECK_STR(jstr(r, "request.path"), red ? cases[i].redacted : cases[i].full);
            elaine_json_free(r);
            free(line);
            free_rec(&x);
        }
    }
}

/* Generated heads (names of any case and byte, secret ones, repeated
 * ones, NULL names and values, HTTP/2 pseudo-headers; values of any byte
 * but NUL, 0 to 70 bytes: across the 16- and 32-byte steps of the
 * writer's fast path), written from set_head's padded block (both ways
 * in) and from a head set by hand (the writer's general path): the same
 * lines, full, redacted and without content. */
static uint64_t rh_state = 0x9e3779b97f4a7c15ull;
static uint32_t rh_rnd(uint32_t n)
{
    rh_state ^= rh_state << 13;
    rh_state ^= rh_state >> 7;
    rh_state ^= rh_state << 17;
    return (uint32_t)(rh_state % n);
}

static char *rh_bytes(size_t n, int kind)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned c;
        switch (kind) {
        case 0: c = 'a' + rh_rnd(26); break;                      /* letters */
        case 1: c = 0x20 + rh_rnd(0x5f); break;                   /* printable */
        case 2: c = 1 + rh_rnd(255); break;                       /* any but NUL */
        default: c = rh_rnd(4) ? (unsigned)('a' + rh_rnd(26)) : (unsigned char)"\"\\\x01\x1f\x7f\xc3\xa9\xe2\x82\xac\xff"[rh_rnd(12)]; break;
        }
        s[i] = (char)c;
    }
    s[n] = 0;
    return s;
}

static void test_headers_random(void)
{
    static const char *const names[] = {"authorization", "Authorization", "AUTHORIZATION", "cookie", "set-cookie",
                                        "x-api-key", "api-key", "X-Goog-Api-Key", "proxy-authorization", "content-type",
                                        "host", "x-request-id", "accept", "user-agent", ":authority", ":path", "",
                                        "authorizatioN", "authorizatio\r", "c\rokie", "x-api-kez", "Cookie"};
    const size_t nn = sizeof(names) / sizeof(names[0]);
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = rh_rnd(12);
        elaine_http_header hs[12];
        char *own[24];
        size_t nown = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = rh_rnd(10);
            if (k < 4)
                hs[i].name = (char *)names[rh_rnd((uint32_t)nn)];
            else if (k < 5 && i > 0)
                hs[i].name = hs[rh_rnd((uint32_t)i)].name; /* a repeat */
            else if (k < 6)
                hs[i].name = NULL;
            else
                hs[i].name = own[nown++] = rh_bytes(rh_rnd(3) ? rh_rnd(20) : rh_rnd(40), rh_rnd(4) ? 0 : (int)rh_rnd(4));
            uint32_t v = rh_rnd(12);
            if (v == 0)
                hs[i].value = NULL;
            else
                hs[i].value = own[nown++] = rh_bytes(rh_rnd(3) ? rh_rnd(34) : rh_rnd(71), (int)rh_rnd(4));
        }
        check_head_same("generated heads: padded block and by hand", hs, n, rh_rnd(3) ? 11 : 20);
        for (size_t i = 0; i < nown; i++)
            free(own[i]);
    }
}

/* The exchange line's fixed parts (ids, ts, numbers, literals, nulls,
 * llm fields, timings, error, stack) on generated records, against the
 * line written value by value with the elaine_jw calls the writer made
 * before it wrote them as pieces of text (requests and responses present
 * or not, without headers or bodies; full and no content). */
static void ref_cstr_member(elaine_jw *w, const char *key, const char *v)
{
    elaine_jw_key(w, key);
    elaine_jw_cstr(w, v);
}

static void ref_exchange(elaine_buf *out, const elaine_xrec *x, enum elaine_content content)
{
    char id[96], ts[40], host[256];
    uint32_t port;
    elaine_jw w;
    elaine_jw_init(&w, out);
    elaine_record_id(id, sizeof(id), x);
    elaine_record_ts(ts, sizeof(ts), x->wall_ns);
    elaine_record_server(x, host, sizeof(host), &port);
    elaine_jw_obj_begin(&w);
    ref_cstr_member(&w, "type", "exchange");
    ref_cstr_member(&w, "id", id);
    ref_cstr_member(&w, "ts", ts);
    elaine_jw_key(&w, "pid");
    elaine_jw_uint(&w, x->pid);
    elaine_jw_key(&w, "tid");
    elaine_jw_uint(&w, x->tid);
    ref_cstr_member(&w, "exe", x->exe);
    ref_cstr_member(&w, "host", host[0] ? host : NULL);
    elaine_jw_key(&w, "port");
    elaine_jw_uint(&w, port);
    elaine_jw_key(&w, "tls");
    elaine_jw_bool(&w, x->tls);
    elaine_jw_key(&w, "http");
    elaine_jw_obj_begin(&w);
    int ver = x->req.present ? x->req.version : x->resp.version;
    ref_cstr_member(&w, "version", ver == 11 ? "1.1" : ver == 20 ? "2" : ver == 10 ? "1.0" : NULL);
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "request");
    elaine_jw_obj_begin(&w);
    ref_cstr_member(&w, "method", x->req.method);
    ref_cstr_member(&w, "path", x->req.target);
    elaine_jw_key(&w, "headers");
    if (x->req.present) {
        elaine_jw_obj_begin(&w);
        elaine_jw_obj_end(&w);
    } else {
        elaine_jw_null(&w);
    }
    elaine_jw_key(&w, "body");
    elaine_jw_null(&w);
    elaine_jw_key(&w, "body_size");
    elaine_jw_uint(&w, 0);
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "response");
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "status");
    if (x->resp.present)
        elaine_jw_int(&w, x->resp.status);
    else
        elaine_jw_null(&w);
    elaine_jw_key(&w, "headers");
    if (x->resp.present) {
        elaine_jw_obj_begin(&w);
        elaine_jw_obj_end(&w);
        elaine_jw_key(&w, "body");
        elaine_jw_null(&w);
        elaine_jw_key(&w, "body_size");
        elaine_jw_uint(&w, 0);
    } else {
        elaine_jw_null(&w);
        elaine_jw_key(&w, "body");
        elaine_jw_null(&w);
        elaine_jw_key(&w, "body_size");
        elaine_jw_null(&w);
    }
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "llm");
    const elaine_llm *l = &x->llm;
    int on = l->provider != NULL;
    elaine_jw_obj_begin(&w);
    ref_cstr_member(&w, "provider", on ? l->provider : NULL);
    ref_cstr_member(&w, "operation", on ? l->operation : NULL);
    ref_cstr_member(&w, "model", on ? l->model : NULL);
    ref_cstr_member(&w, "response_model", on ? l->response_model : NULL);
    elaine_jw_key(&w, "stream");
    if (on && l->stream >= 0)
        elaine_jw_bool(&w, l->stream);
    else
        elaine_jw_null(&w);
    const char *tk[] = {"input_tokens", "output_tokens", "total_tokens", "cached_input_tokens", "reasoning_tokens"};
    int64_t tv[] = {l->input_tokens, l->output_tokens, l->total_tokens, l->cached_input_tokens, l->reasoning_tokens};
    for (int i = 0; i < 5; i++) {
        elaine_jw_key(&w, tk[i]);
        if (!on || tv[i] < 0)
            elaine_jw_null(&w);
        else
            elaine_jw_int(&w, tv[i]);
    }
    ref_cstr_member(&w, "finish_reason", on ? l->finish_reason : NULL);
    elaine_jw_key(&w, "output_text");
    if (on && l->has_output_text && content != ELAINE_CONTENT_NONE)
        elaine_jw_str(&w, l->output_text.p ? l->output_text.p : "", l->output_text.len);
    else
        elaine_jw_null(&w);
    elaine_jw_key(&w, "reasoning_text");
    elaine_jw_null(&w);
    elaine_jw_key(&w, "tool_calls");
    elaine_jw_null(&w);
    ref_cstr_member(&w, "error_type", on ? l->error_type : NULL);
    ref_cstr_member(&w, "error_message", on ? l->error_message : NULL);
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "timing");
    elaine_jw_obj_begin(&w);
    const char *mk[] = {"ttfb_ms", "ttft_ms", "duration_ms"};
    double mv[] = {x->ttfb_ms, x->ttft_ms, x->duration_ms};
    for (int i = 0; i < 3; i++) {
        elaine_jw_key(&w, mk[i]);
        if (mv[i] < 0 || isnan(mv[i]))
            elaine_jw_null(&w);
        else
            elaine_jw_double(&w, round(mv[i] * 1000.0) / 1000.0);
    }
    elaine_jw_obj_end(&w);
    ref_cstr_member(&w, "error", x->error);
    elaine_jw_key(&w, "stack");
    if (x->stack) {
        elaine_jw_arr_begin(&w);
        for (size_t i = 0; i < x->nstack; i++)
            elaine_jw_cstr(&w, x->stack[i]);
        elaine_jw_arr_end(&w);
    } else {
        elaine_jw_null(&w);
    }
    elaine_jw_obj_end(&w);
}

static uint64_t rh_u64(void)
{
    uint64_t v = (uint64_t)rh_rnd(1u << 31) << 33 ^ (uint64_t)rh_rnd(1u << 31) << 2 ^ rh_rnd(4);
    return v >> rh_rnd(64);
}

static void test_fixed_parts_random(void)
{
    CASE("exchange line: fixed parts against the value-by-value writer");
    static const char *const strs[] = {"a", "openai", "gpt-4o-mini", "q\"uote", "back\\slash", "ctl\x01", "caf\xc3\xa9",
                                       "bad\xff", "0123456789abcdef0123456789abcdef0", ""};
    const size_t ns = sizeof(strs) / sizeof(strs[0]);
#define RSTR() (rh_rnd(4) == 0 ? NULL : strs[rh_rnd((uint32_t)ns)])
    size_t mismatches = 0;
    for (int iter = 0; iter < 4000; iter++) {
        elaine_xrec x;
        memset(&x, 0, sizeof(x));
        elaine_record_msg_init(&x.req);
        elaine_record_msg_init(&x.resp);
        elaine_llm_init(&x.llm);
        x.pid = (uint32_t)rh_u64();
        x.start_time = rh_u64();
        x.conn_id = rh_u64();
        x.request_no = rh_u64();
        x.tid = (uint32_t)rh_u64();
        x.wall_ns = rh_u64();
        x.exe = RSTR();
        x.conn_host = rh_rnd(2) ? "example.com" : NULL;
        x.conn_port = rh_rnd(2) ? (uint32_t)rh_u64() % 70000 : 0;
        x.tls = (int)rh_rnd(2);
        static const int vers[] = {10, 11, 20, 0, 9};
        x.req.present = (int)rh_rnd(4) != 0;
        x.req.version = vers[rh_rnd(5)];
        x.req.method = (char *)RSTR();
        x.req.target = rh_rnd(2) ? (char *)"/v1/chat" : NULL;
        x.resp.present = (int)rh_rnd(3) != 0;
        x.resp.version = vers[rh_rnd(5)];
        x.resp.status = rh_rnd(4) ? (int)rh_rnd(600) : (int)(int64_t)rh_u64();
        if (rh_rnd(4)) {
            x.llm.provider = strs[rh_rnd((uint32_t)ns)];
            x.llm.operation = RSTR();
            x.llm.model = (char *)RSTR();
            x.llm.response_model = (char *)RSTR();
            x.llm.finish_reason = (char *)RSTR();
            x.llm.error_type = (char *)RSTR();
            x.llm.error_message = (char *)RSTR();
            x.llm.stream = (int)rh_rnd(3) - 1;
            int64_t *t[] = {&x.llm.input_tokens, &x.llm.output_tokens, &x.llm.total_tokens,
                            &x.llm.cached_input_tokens, &x.llm.reasoning_tokens};
            for (int i = 0; i < 5; i++)
                *t[i] = rh_rnd(3) == 0 ? -1 : (int64_t)(rh_u64() >> 1);
            if (rh_rnd(2)) {
                x.llm.has_output_text = 1;
                const char *o = RSTR();
                if (o)
                    elaine_buf_adds(&x.llm.output_text, o);
            }
        }
        double ms[] = {-1, 0, 0.001, 12.5, 1234.5678, NAN, 1e13, 3.25};
        x.ttfb_ms = ms[rh_rnd(8)];
        x.ttft_ms = ms[rh_rnd(8)];
        x.duration_ms = ms[rh_rnd(8)];
        x.error = RSTR();
        char *stack[3] = {(char *)"main", (char *)"a\"b", (char *)"0123456789abcdef01"};
        if (rh_rnd(2)) {
            x.stack = stack;
            x.nstack = rh_rnd(4);
        }
        for (int c = 0; c < 2; c++) {
            enum elaine_content content = c ? ELAINE_CONTENT_NONE : ELAINE_CONTENT_FULL;
            elaine_buf got, want;
            elaine_buf_init(&got);
            elaine_buf_init(&want);
            elaine_record_exchange(&got, &x, content);
            ref_exchange(&want, &x, content);
            if (strcmp(got.p, want.p) != 0 && mismatches++ < 3)
                fprintf(stderr, "got  %s\nwant %s\n", got.p, want.p);
            elaine_buf_free(&got);
            elaine_buf_free(&want);
        }
        x.llm.provider = NULL;
        elaine_buf_free(&x.llm.output_text);
    }
#undef RSTR
    CHECK(mismatches == 0);
}

int main(void)
{
    test_msg_header();
    test_set_head();
    test_headers_and_path();
    test_path_forms();
    test_server();
    test_bodies();
    test_binary_rule();
    test_redacted();
    test_truncated();
    test_ts();
    test_sampling();
    test_other_lines();
    test_headers_random();
    test_fixed_parts_random();
    return check_done("test_record");
}
