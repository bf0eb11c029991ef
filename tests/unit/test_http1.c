/* elaine_http1: framing (Content-Length, chunked, close), keep-alive, 1xx,
 * bodiless responses, upgrades, errors; every input also fed split at every
 * byte and one byte at a time, with identical results. */
#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "check.h"
#include "elaine_buf.h"
#include "elaine_http1.h"

typedef struct rec {
    elaine_buf log;
    elaine_buf body;   /* body bytes since the last head/done, coalesced */
    const char *kinds; /* responses: per final response, 'H' HEAD, 'C' CONNECT, '.' other */
    size_t nfinal;
} rec;

static void flush_body(rec *r)
{
    if (!r->body.len)
        return;
    elaine_buf_addf(&r->log, "BODY %zu:", r->body.len);
    elaine_buf_add(&r->log, r->body.p, r->body.len);
    elaine_buf_addc(&r->log, '\n');
    elaine_buf_reset(&r->body);
}

/* A string of h lies in raw, NUL-terminated there. */
static int in_raw(const elaine_http_head *h, const char *s)
{
    return s && s >= h->raw && s < h->raw + h->raw_len && memchr(s, 0, (size_t)(h->raw + h->raw_len - s));
}

static int on_head(void *ud, const elaine_http_head *h)
{
    rec *r = ud;
    flush_body(r);
    /* what set_head copies the head by: every string in raw, the header lengths */
    CHECK(h->raw != NULL);
    CHECK(h->nheaders == 0 || h->header_lens != NULL);
    if (h->is_request)
        CHECK(in_raw(h, h->method) && in_raw(h, h->target));
    else
        CHECK(in_raw(h, h->reason));
    for (size_t i = 0; i < h->nheaders; i++) {
        CHECK(in_raw(h, h->headers[i].name) && in_raw(h, h->headers[i].value));
        CHECK(h->header_lens[2 * i] == strlen(h->headers[i].name));
        CHECK(h->header_lens[2 * i + 1] == strlen(h->headers[i].value));
    }
    if (h->is_request)
        elaine_buf_addf(&r->log, "REQ %s %s %d\n", h->method, h->target, h->version);
    else
        elaine_buf_addf(&r->log, "RESP %d [%s] %d\n", h->status, h->reason, h->version);
    for (size_t i = 0; i < h->nheaders; i++)
        elaine_buf_addf(&r->log, "  %s=[%s]\n", h->headers[i].name, h->headers[i].value);
    if (h->is_request || !r->kinds)
        return 0;
    char k = r->kinds[r->nfinal] ? r->kinds[r->nfinal] : '.';
    if (h->status >= 200 || h->status == 101)
        r->nfinal++;
    return k == 'H' ? ELAINE_HTTP1_HEAD : k == 'C' ? ELAINE_HTTP1_CONNECT : 0;
}

static void on_body(void *ud, const uint8_t *p, size_t n)
{
    rec *r = ud;
    CHECK(n > 0);
    elaine_buf_add(&r->body, p, n);
}

static void on_done(void *ud)
{
    rec *r = ud;
    flush_body(r);
    elaine_buf_adds(&r->log, "DONE\n");
}

/* Feeds in slices (cut1 and cut2 split points, or step-sized slices when
 * step > 0), then eof when asked; returns the log (caller frees). */
static char *run(int is_request, const char *in, size_t n, const char *kinds, size_t cut, size_t step, int eof)
{
    rec r;
    memset(&r, 0, sizeof(r));
    elaine_buf_init(&r.log);
    elaine_buf_init(&r.body);
    r.kinds = kinds;
    elaine_http1_cb cb = {&r, on_head, on_body, on_done};
    elaine_http1 *p = elaine_http1_new(is_request, &cb);
    CHECK(p != NULL);
    size_t off = 0;
    int failed = 0;
    while (off < n) {
        size_t len = step ? step : (off < cut ? cut - off : n - off);
        if (off + len > n)
            len = n - off;
        int rc = elaine_http1_feed(p, (const uint8_t *)in + off, len);
        off += len;
        if (rc < 0) {
            CHECK_INT(rc, -EPROTO);
            flush_body(&r);
            elaine_buf_adds(&r.log, "ERR\n");
            failed = 1;
            /* dead from now on */
            CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18), -EPROTO);
            break;
        }
    }
    if (eof && !failed) {
        int e = elaine_http1_eof(p);
        flush_body(&r);
        elaine_buf_addf(&r.log, "EOF %d\n", e);
    }
    flush_body(&r);
    elaine_http1_free(p);
    elaine_buf_free(&r.body);
    return elaine_buf_take(&r.log);
}

/* Whole, split in two at every position, and one byte at a time. */
static void check_case(const char *name, int is_request, const char *in, size_t n, const char *kinds, int eof,
                       const char *want)
{
    CASE(name);
    char *got = run(is_request, in, n, kinds, n, 0, eof);
    CHECK_STR(got, want);
    free(got);
    for (size_t cut = 0; cut <= n; cut++) {
        got = run(is_request, in, n, kinds, cut, 0, eof);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "[%s] split at %zu differs:\n%s\n", name, cut, got);
            check_failures++;
            free(got);
            break;
        }
        free(got);
    }
    got = run(is_request, in, n, kinds, 0, 1, eof);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "[%s] one-byte slices differ:\n%s\n", name, got);
        check_failures++;
    }
    free(got);
}

/* ---- start lines against the parser's former string-function code */

static int ref_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int ref_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char *ref_trim(char *s)
{
    while (ref_ows(*s) || *s == '\r')
        s++;
    size_t l = strlen(s);
    while (l && (ref_ows(s[l - 1]) || s[l - 1] == '\r'))
        s[--l] = 0;
    return s;
}

static int ref_version(const char *s, int *version)
{
    if (strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8])
        return -1;
    *version = s[7] == '1' ? 11 : 10;
    return 0;
}

/* What the parser logged for a head of only the start line s[0..n) (no LF),
 * as the former code would: the early plausibility check, then the line. */
static void ref_start_line(elaine_buf *out, int is_request, const char *s0, size_t n)
{
    if (is_request) {
        for (size_t i = 0; i < n; i++) {
            if (s0[i] == ' ') {
                if (!i)
                    goto bad;
                break;
            }
            if (!ref_tchar((unsigned char)s0[i]) || i >= 32)
                goto bad;
        }
    } else if (memcmp(s0, "HTTP/", n < 5 ? n : 5) != 0) {
        goto bad;
    }
    char *buf = malloc(n + 1);
    memcpy(buf, s0, n);
    buf[n] = 0;
    char *start = ref_trim(buf);
    int version = 0;
    if (is_request) {
        char *sp1 = strchr(start, ' ');
        char *sp2 = strrchr(start, ' ');
        if (!sp1 || sp1 == sp2)
            goto bad_free;
        *sp1 = 0;
        *sp2 = 0;
        char *method = start, *target = ref_trim(sp1 + 1);
        for (char *c = method; *c; c++)
            if (!ref_tchar((unsigned char)*c))
                goto bad_free;
        if (!*method || !*target || strchr(target, ' '))
            goto bad_free;
        for (unsigned char *c = (unsigned char *)target; *c; c++)
            if (*c < 0x21 || *c == 0x7f)
                goto bad_free;
        if (ref_version(sp2 + 1, &version) < 0)
            goto bad_free;
        elaine_buf_addf(out, "REQ %s %s %d\nDONE\nEOF 0\n", method, target, version);
    } else {
        char *sp = strchr(start, ' ');
        if (!sp)
            goto bad_free;
        *sp = 0;
        if (ref_version(start, &version) < 0)
            goto bad_free;
        char *st = sp + 1;
        if (st[0] < '1' || st[0] > '9' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9' ||
            (st[3] && st[3] != ' '))
            goto bad_free;
        int status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
        elaine_buf_addf(out, "RESP %d [%s] %d\n", status, st[3] ? st + 4 : st + 3, version);
        /* bodiless, or a body until the close (no framing header) */
        int bodiless = status < 200 || status == 204 || status == 304;
        elaine_buf_adds(out, bodiless ? "DONE\nEOF 0\n" : "DONE\nEOF 1\n");
    }
    free(buf);
    return;
bad_free:
    free(buf);
bad:
    elaine_buf_adds(out, "ERR\n");
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Generated start lines (pieces that make them almost right or almost
 * wrong: spaces, tabs, CRs, NULs, DEL, bytes above 0x7f, versions, long
 * targets), each followed by an empty line, through the parser and the
 * former code: the same heads, the same errors. */
static void test_start_lines(void)
{
    static const char *const pieces[] = {
        "GET", "POST", "M-SEARCH", "get", "G\"T", "", " ", "  ", "\t", "\r", "/", "/v1/chat/completions",
        "/a?b=c&d=%20", "*", "http://h:8/x", "HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2", "HTTP/1.",
        "HTTP/1.1 ", "http/1.1", "\x7f", "\x80\xff", "x y", "200", "101", "100", "099", "2000", "OK",
        "Not Found", "1", "/0123456789abcdef0123456789abcdef0123456789", "\x1f", "~!#$",
    };
    const size_t np = sizeof(pieces) / sizeof(pieces[0]);
    CASE("start lines: against the former code");
    size_t mismatches = 0, accepted[2] = {0, 0};
    for (int iter = 0; iter < 60000; iter++) {
        int is_request = iter & 1;
        elaine_buf line;
        elaine_buf_init(&line);
        static const char *const seps[] = {" ", " ", " ", "  ", "\t", " \t", "", "\r ", " \x7f"};
        static const char *const edges[] = {"", "", "", " ", "\t", "\r", " \r", "\r\r"};
        static const char *const methods[] = {"GET", "POST", "M-SEARCH", "~!#$", "G\"T", "G\x80T"};
        static const char *const targets[] = {"/", "/v1/chat/completions", "/a?b=c&d=%20", "*", "http://h:8/x",
                                             "/0123456789abcdef0123456789abcdef0123456789", "/\x80\xff/x",
                                             "/a b", "/a\x7f", "/a\x1f", "/0123456789abcde\x7f", "/0123456789abcdef0\x01x",
                                             "/0123456789abcdefghijklmnopqrstu\x20v", "/\xe2\x82\xac" "0123456789abcdef"};
        static const char *const versions[] = {"HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/2",
                                              "HTTP/1.", "http/1.1", "HTTP/1.10"};
        static const char *const statuses[] = {"200", "200", "101", "100", "404", "099", "2000", "2x0", "204"};
        static const char *const reasons[] = {"OK", "Not Found", "", "a  b ", "\x80"};
#define PICK(a) (a)[rnd(2) ? 0 : rnd(sizeof(a) / sizeof((a)[0]))] /* the first, a sound one, half the time */
        if (rnd(8) == 0) { /* pieces in any order */
            size_t k = 1 + rnd(7);
            for (size_t i = 0; i < k; i++) {
                uint32_t r = rnd(np + 4);
                if (r == np)
                    elaine_buf_addc(&line, 0); /* a NUL */
                else if (r > np)
                    elaine_buf_addc(&line, ' ');
                else
                    elaine_buf_adds(&line, pieces[r]);
            }
        } else {
            elaine_buf_adds(&line, PICK(edges));
            if (is_request) {
                elaine_buf_adds(&line, PICK(methods));
                elaine_buf_adds(&line, PICK(seps));
                elaine_buf_adds(&line, PICK(targets));
                elaine_buf_adds(&line, PICK(seps));
                elaine_buf_adds(&line, PICK(versions));
            } else {
                elaine_buf_adds(&line, PICK(versions));
                elaine_buf_adds(&line, PICK(seps));
                elaine_buf_adds(&line, PICK(statuses));
                if (rnd(4)) {
                    elaine_buf_adds(&line, PICK(seps));
                    elaine_buf_adds(&line, PICK(reasons));
                }
            }
            elaine_buf_adds(&line, PICK(edges));
            if (rnd(6) == 0 && line.len) /* a NUL somewhere */
                line.p[rnd((uint32_t)line.len)] = 0;
        }
#undef PICK
        /* an LF inside would start a header line: not a start line */
        for (size_t i = 0; i < line.len; i++)
            if (line.p[i] == '\n')
                line.p[i] = ' ';
        if (!line.len || line.p[0] == '\r' || line.p[0] == 0) { /* idle CR/LF are skipped: keep it a line */
            elaine_buf_free(&line);
            continue;
        }
        elaine_buf want;
        elaine_buf_init(&want);
        ref_start_line(&want, is_request, line.p, line.len);
        elaine_buf_addc(&want, 0);
        accepted[is_request] += want.p[0] != 'E';
        size_t ll = line.len;
        elaine_buf_adds(&line, rnd(2) ? "\r\n\r\n" : "\n\n");
        char *got = run(is_request, line.p, line.len, NULL, line.len, 0, 1);
        if (strcmp(got, want.p) != 0 && mismatches++ < 5) {
            fprintf(stderr, "start line [");
            for (size_t i = 0; i < ll; i++)
                fprintf(stderr, (unsigned char)line.p[i] < 0x20 || (unsigned char)line.p[i] >= 0x7f ? "\\x%02x" : "%c",
                        (unsigned char)line.p[i]);
            fprintf(stderr, "] req %d: got\n%swant\n%s", is_request, got, want.p);
        }
        free(got);
        elaine_buf_free(&want);
        elaine_buf_free(&line);
    }
    CHECK(mismatches == 0);
    fprintf(stderr, "start lines: %zu requests, %zu responses accepted\n", accepted[1], accepted[0]);
    CHECK(accepted[0] > 500 && accepted[1] > 500);
}

/* ---- the parser against the former one (http1_ref.h, frozen before the
 * single-pass head scan), on generated messages: names of every kind
 * (cases, tchars, non-tchars, spaces before the colon, long ones across
 * 16-byte blocks), values with any byte (controls, NULs, UTF-8, invalid
 * UTF-8), obs-folds, bare LFs and CRs, framing headers, bodies, several
 * messages, fed in random slices: the same callbacks, the same results. */
#include "http1_ref.h"

typedef struct dlog {
    elaine_buf b;
} dlog;

static void dlog_head(void *ud, const elaine_http_head *h)
{
    elaine_buf *b = &((dlog *)ud)->b;
    elaine_buf_addf(b, "HEAD req=%d v=%d st=%d n=%zu\n", h->is_request, h->version, h->status, h->nheaders);
    if (h->method)
        elaine_buf_addf(b, "M[%s] T[%s]\n", h->method, h->target ? h->target : "(null)");
    if (h->reason)
        elaine_buf_addf(b, "R[%s]\n", h->reason);
    elaine_buf_addf(b, "raw %zu:", h->raw_len);
    elaine_buf_add(b, h->raw, h->raw_len);
    elaine_buf_addc(b, '\n');
    for (size_t i = 0; i < h->nheaders; i++) {
        elaine_buf_addf(b, "%zu %zu %td %td [", h->header_lens[2 * i], h->header_lens[2 * i + 1],
                        h->headers[i].name - h->raw, h->headers[i].value - h->raw);
        elaine_buf_add(b, h->headers[i].name, h->header_lens[2 * i]);
        elaine_buf_adds(b, "]=[");
        elaine_buf_add(b, h->headers[i].value, h->header_lens[2 * i + 1]);
        elaine_buf_adds(b, "]\n");
    }
}

static int d_on_head(void *ud, const elaine_http_head *h)
{
    dlog_head(ud, h);
    return h->is_request ? 0 : (h->status % 7 == 3 ? ELAINE_HTTP1_HEAD : 0);
}

static void d_on_body(void *ud, const uint8_t *p, size_t n)
{
    elaine_buf *b = &((dlog *)ud)->b;
    elaine_buf_addf(b, "BODY %zu:", n);
    elaine_buf_add(b, p, n);
    elaine_buf_addc(b, '\n');
}

static void d_on_done(void *ud)
{
    elaine_buf_adds(&((dlog *)ud)->b, "DONE\n");
}

static const char *const gen_names[] = {
    "Host", "content-length", "Content-Length", "CONTENT-LENGTH", "Transfer-Encoding", "transfer-encoding",
    "Authorization", "x-request-id", "X-A", "a", "!#$%&'*+-.^_`|~", "x_y", "Set-Cookie", "0123456789abcdef",
    "0123456789abcdefG", "abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789", "X Y", "x\"y", "x(y",
    "x/y", "x@y", "", "\x80x", "x\x7f", "x\ty", "Content-Type", "openai-processing-ms", "x:y", "x{y}", "x[y]",
    "Name ", "Name\t", "Name  \t ",
};
static const char *const gen_values[] = {
    "", "application/json", "keep-alive", " leading", "trailing ", "\ttab\t", "a\"b\\c", "\x01\x02\x1f",
    "caf\xc3\xa9", "\xe2\x82\xac", "\xff\xfe", "\xc3", "\xed\xa0\x80", "0", "42", "42, 42", "42, 43", "x",
    "chunked", "gzip, chunked", "chunked, gzip", "identity", "0123456789abcdef0123456789abcdef0123", " \r ",
    "a\rb", "\r", "\x7f", "Mon, 01 Jan 2024 00:00:00 GMT", "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
};

static void gen_bytes(elaine_buf *b, size_t n, int any)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = any ? (unsigned char)rnd(256) : (unsigned char)(0x20 + rnd(0x5f));
        if (c == '\n')
            c = 'n';
        elaine_buf_addc(b, (char)c);
    }
}

static void gen_message(elaine_buf *m, int is_request)
{
    static const char *const starts_req[] = {"POST /v1/chat/completions HTTP/1.1", "GET / HTTP/1.1", "HEAD /x HTTP/1.0",
                                             "GET /a?b=c HTTP/1.1", "get / HTTP/1.1", "GET  HTTP/1.1", "CONNECT h:443 HTTP/1.1"};
    static const char *const starts_resp[] = {"HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.0 200", "HTTP/1.1 204 No Content",
                                              "HTTP/1.1 100 Continue", "HTTP/1.1 303 See", "HTTP/1.1 2000", "HTTP/1.1 304 NM"};
    const char *eol = rnd(5) ? "\r\n" : rnd(2) ? "\n" : "\r\r\n";
    if (rnd(3) == 0) /* stray line ends between messages */
        elaine_buf_adds(m, rnd(2) ? "\r\n" : "\n");
    if (is_request)
        elaine_buf_adds(m, starts_req[rnd(2) ? 0 : rnd(sizeof(starts_req) / sizeof(starts_req[0]))]);
    else
        elaine_buf_adds(m, starts_resp[rnd(2) ? 0 : rnd(sizeof(starts_resp) / sizeof(starts_resp[0]))]);
    elaine_buf_adds(m, eol);
    size_t nh = rnd(4) ? rnd(12) : rnd(90); /* more than 64 lines now and then */
    int body = -1, chunked = 0;
    for (size_t i = 0; i < nh; i++) {
        uint32_t kind = rnd(80);
        if (kind == 0) { /* random name bytes */
            gen_bytes(m, 1 + rnd(40), rnd(3) == 0);
        } else if (kind == 1) {
            gen_bytes(m, rnd(20), 0); /* printable, maybe no colon */
            if (rnd(2))
                elaine_buf_addc(m, ':');
        } else {
            const char *nm = gen_names[rnd(10) ? rnd(16) : rnd(sizeof(gen_names) / sizeof(gen_names[0]))];
            elaine_buf_adds(m, nm);
            elaine_buf_addc(m, ':');
            if (rnd(4))
                elaine_buf_addc(m, ' ');
            if (strcasecmp(nm, "content-length") == 0 && rnd(8)) {
                body = (int)rnd(40);
                elaine_buf_addf(m, "%d", body);
            } else if (strcasecmp(nm, "transfer-encoding") == 0 && rnd(8)) {
                elaine_buf_adds(m, "chunked");
                chunked = 1;
            } else if (rnd(3)) {
                elaine_buf_adds(m, gen_values[rnd(sizeof(gen_values) / sizeof(gen_values[0]))]);
            } else {
                gen_bytes(m, rnd(3) ? rnd(20) : rnd(70), rnd(2));
            }
        }
        if (rnd(30) == 0)
            elaine_buf_addc(m, 0); /* a NUL in the line */
        elaine_buf_adds(m, rnd(8) ? eol : rnd(2) ? "\n" : "\r\n");
        if (rnd(25) == 0) { /* obs-fold */
            elaine_buf_adds(m, rnd(2) ? " " : "\t");
            gen_bytes(m, rnd(10), 0);
            elaine_buf_adds(m, eol);
        }
        if (rnd(60) == 0) /* a whitespace line */
            elaine_buf_adds(m, " \r\n");
    }
    if (body < 0 && !chunked && rnd(4)) { /* a length, mostly: else a response's body runs to the end */
        body = (int)rnd(30);
        elaine_buf_addf(m, "Content-Length: %d%s", body, eol);
    }
    elaine_buf_adds(m, rnd(6) ? eol : rnd(2) ? "\n" : "\r\n");
    if (chunked) {
        size_t k = rnd(3);
        for (size_t i = 0; i < k; i++) {
            size_t cn = 1 + rnd(20);
            elaine_buf_addf(m, "%zx\r\n", cn);
            gen_bytes(m, cn, 1);
            elaine_buf_adds(m, "\r\n");
        }
        elaine_buf_adds(m, "0\r\n\r\n");
    } else if (body > 0) {
        gen_bytes(m, (size_t)body, 1);
    }
}

#define DIFF_RUN(NEW, FEED, EOFN, FREE, out, is_request, in, n, cuts, ncuts)               \
    do {                                                                                  \
        dlog lg_;                                                                         \
        elaine_buf_init(&lg_.b);                                                          \
        elaine_http1_cb cb_ = {&lg_, d_on_head, d_on_body, d_on_done};                    \
        void *p_ = NEW(is_request, &cb_);                                                 \
        size_t off_ = 0;                                                                  \
        for (size_t c_ = 0; c_ <= (ncuts); c_++) {                                        \
            size_t to_ = c_ < (ncuts) ? (cuts)[c_] : (n);                                 \
            if (to_ < off_)                                                               \
                continue;                                                                 \
            int rc_ = FEED(p_, (const uint8_t *)(in) + off_, to_ - off_);                  \
            elaine_buf_addf(&lg_.b, "FEED %zu %d\n", to_ - off_, rc_);                    \
            off_ = to_;                                                                   \
        }                                                                                 \
        elaine_buf_addf(&lg_.b, "EOF %d\n", EOFN(p_));                                    \
        FREE(p_);                                                                         \
        (out) = lg_.b;                                                                    \
    } while (0)

static void test_against_former(void)
{
    CASE("HTTP/1 parser against the former one");
    size_t mismatches = 0, heads = 0;
    for (int iter = 0; iter < 40000; iter++) {
        int is_request = iter & 1;
        elaine_buf in;
        elaine_buf_init(&in);
        size_t nm = 1 + rnd(3);
        for (size_t i = 0; i < nm; i++)
            gen_message(&in, is_request);
        if (rnd(8) == 0 && in.len) /* a byte changed anywhere */
            in.p[rnd((uint32_t)in.len)] = (char)rnd(256);
        size_t cuts[8], ncuts = rnd(4) ? rnd(8) : 0;
        for (size_t i = 0; i < ncuts; i++)
            cuts[i] = rnd((uint32_t)in.len + 1);
        for (size_t i = 1; i < ncuts; i++) /* in order */
            for (size_t k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
                size_t t = cuts[k];
                cuts[k] = cuts[k - 1];
                cuts[k - 1] = t;
            }
        elaine_buf got, want;
        DIFF_RUN(elaine_http1_new, elaine_http1_feed, elaine_http1_eof, elaine_http1_free, got, is_request, in.p,
                 in.len, cuts, ncuts);
        DIFF_RUN(ref_http1_new, ref_http1_feed, ref_http1_eof, ref_http1_free, want, is_request, in.p, in.len,
                 cuts, ncuts);
        if (got.len != want.len || memcmp(got.p, want.p, got.len) != 0) {
            if (mismatches++ < 3)
                fprintf(stderr, "--- input %zu bytes, got:\n%s\n--- want:\n%s\n", in.len, got.p, want.p);
        }
        for (const char *c = want.p; (c = strstr(c, "HEAD req")) != NULL; c++)
            heads++;
        elaine_buf_free(&got);
        elaine_buf_free(&want);
        elaine_buf_free(&in);
    }
    fprintf(stderr, "against the former parser: %zu heads\n", heads);
    CHECK(mismatches == 0);
    CHECK(heads > 12000);
}

#define CASE_S(name, req, in, kinds, eof, want) check_case(name, req, in, sizeof(in) - 1, kinds, eof, want)

int main(void)
{
    test_start_lines();
    CASE_S("requests keep-alive: length, none, chunked with extensions and trailers", 1,
           "POST /v1/chat/completions HTTP/1.1\r\n"
           "Host: api.openai.com\r\n"
           "Content-Type: application/json\r\n"
           "Content-Length: 17\r\n"
           "\r\n"
           "{\"model\":\"gpt-4\"}"
           "GET /v1/models?limit=2 HTTP/1.1\r\n"
           "Host: api.openai.com\r\n"
           "\r\n"
           "POST /upload HTTP/1.1\r\n"
           "Transfer-Encoding: chunked\r\n"
           "\r\n"
           "5;name=value\r\nhello\r\n"
           "000A ; x=\"y\"\r\n, world!!!\r\n"
           "0\r\n"
           "X-Trailer: t\r\n"
           "\r\n",
           NULL, 1,
           "REQ POST /v1/chat/completions 11\n"
           "  host=[api.openai.com]\n"
           "  content-type=[application/json]\n"
           "  content-length=[17]\n"
           "BODY 17:{\"model\":\"gpt-4\"}\n"
           "DONE\n"
           "REQ GET /v1/models?limit=2 11\n"
           "  host=[api.openai.com]\n"
           "DONE\n"
           "REQ POST /upload 11\n"
           "  transfer-encoding=[chunked]\n"
           "BODY 15:hello, world!!!\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("responses: 100, length, chunked+trailers, 204, 304, HEAD, close-delimited", 0,
           "HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n1\r\nd\r\n0\r\nServer-Timing: x\r\nA: b\r\n\r\n"
           "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
           "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
           "until the end\r\n\r\nHTTP/1.1 200 OK\r\n",
           "....H.", 1,
           "RESP 100 [Continue] 11\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  content-length=[2]\n"
           "BODY 2:hi\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[chunked]\n"
           "BODY 4:abcd\n"
           "DONE\n"
           "RESP 204 [No Content] 11\n"
           "  content-length=[10]\n"
           "DONE\n"
           "RESP 304 [Not Modified] 11\n"
           "  transfer-encoding=[chunked]\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  content-length=[1234]\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  content-type=[text/plain]\n"
           "BODY 34:until the end\r\n\r\nHTTP/1.1 200 OK\r\n\n"
           "DONE\n"
           "EOF 1\n");

    CASE_S("bare LF line ends, chunked", 0,
           "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-A: 1\n\n4\nwxyz\n0\n\n"
           "HTTP/1.0 404 Not Found\nContent-Length: 3\n\nnop",
           NULL, 1,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[chunked]\n"
           "  x-a=[1]\n"
           "BODY 4:wxyz\n"
           "DONE\n"
           "RESP 404 [Not Found] 10\n"
           "  content-length=[3]\n"
           "BODY 3:nop\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("headers: case, repeats, whitespace, obs-fold, empty values, no reason", 0,
           "HTTP/1.1 200\r\n"
           "X-Multi: a\r\n"
           "x-multi:b\r\n"
           "Set-Cookie:   s=1; Path=/   \r\n"
           "X-Fold: first\r\n"
           "  second\r\n"
           "X-Empty:\r\n"
           "Bad-Space : ok\r\n"
           "CONTENT-LENGTH: 3, 3\r\n"
           "\r\n"
           "abc",
           NULL, 1,
           "RESP 200 [] 11\n"
           "  x-multi=[a]\n"
           "  x-multi=[b]\n"
           "  set-cookie=[s=1; Path=/]\n"
           "  x-fold=[first    second]\n"
           "  x-empty=[]\n"
           "  bad-space=[ok]\n"
           "  content-length=[3, 3]\n"
           "BODY 3:abc\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("leading blank lines between requests, HTTP/1.0", 1,
           "\r\nGET / HTTP/1.0\r\n\r\n\r\n\nGET /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NULL, 1,
           "REQ GET / 10\n"
           "DONE\n"
           "REQ GET /b 11\n"
           "  content-length=[0]\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("transfer codings: gzip, chunked is chunked; response gzip alone is close-delimited", 0,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 99\r\n\r\n2\r\nzz\r\n0\r\n\r\n"
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
           NULL, 1,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[gzip, Chunked]\n"
           "  content-length=[99]\n"
           "BODY 2:zz\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[gzip]\n"
           "BODY 3:raw\n"
           "DONE\n"
           "EOF 1\n");

    CASE_S("101 switching protocols: parsing ends", 0,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello garbage", NULL, 1,
           "RESP 101 [Switching Protocols] 11\n"
           "  upgrade=[websocket]\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("CONNECT request: parsing ends", 1,
           "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n\x16\x03\x01\x02\x00", NULL, 1,
           "REQ CONNECT api.openai.com:443 11\n"
           "  host=[api.openai.com:443]\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("CONNECT 200 ends parsing", 0, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x10", "C", 1,
           "RESP 200 [Connection established] 11\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("CONNECT 407 is a normal response", 0,
           "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny"
           "HTTP/1.1 200 OK\r\n\r\n",
           "C", 1,
           "RESP 407 [Proxy Authentication Required] 11\n"
           "  content-length=[4]\n"
           "BODY 4:deny\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "DONE\n"
           "EOF 1\n");

    /* ---- cut off */
    CASE_S("eof inside a Content-Length body", 0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  content-length=[10]\n"
           "BODY 3:abc\n"
           "EOF -1\n");
    CASE_S("eof inside a chunked body", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[chunked]\n"
           "BODY 2:ab\n"
           "EOF -1\n");
    CASE_S("eof inside a head", 1, "POST /x HTTP/1.1\r\nHost: a", NULL, 1, "EOF -1\n");
    CASE_S("eof idle", 1, "", NULL, 1, "EOF 0\n");

    /* ---- not HTTP/1 */
    CASE_S("HTTP/2 preface", 1, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", NULL, 0, "ERR\n");
    CASE_S("TLS bytes as request", 1, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", NULL, 0, "ERR\n");
    CASE_S("TLS bytes as response", 0, "\x16\x03\x03\x00\x7a\x02\x00\x00", NULL, 0, "ERR\n");
    CASE_S("HTTP/2 status line", 0, "HTTP/2 200\r\n\r\n", NULL, 0, "ERR\n");
    CASE_S("bad status", 0, "HTTP/1.1 2x0 OK\r\n\r\n", NULL, 0, "ERR\n");
    CASE_S("header without colon", 1, "GET / HTTP/1.1\r\nHost api\r\n\r\n", NULL, 0, "ERR\n");
    CASE_S("conflicting Content-Length", 1, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
           NULL, 0, "ERR\n");
    CASE_S("negative Content-Length", 0, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", NULL, 0, "ERR\n");
    CASE_S("request with unknown transfer coding", 1, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", NULL, 0,
           "ERR\n");
    CASE_S("bad chunk size after good chunk", 0,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n", NULL, 0,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[chunked]\n"
           "BODY 2:ok\n"
           "ERR\n");
    CASE_S("chunk data not followed by CRLF", 0,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", NULL, 0,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[chunked]\n"
           "BODY 2:ok\n"
           "ERR\n");
    CASE_S("second message is garbage", 1, "GET / HTTP/1.1\r\n\r\n\x16\x03\x01", NULL, 0,
           "REQ GET / 11\n"
           "DONE\n"
           "ERR\n");

    /* ---- header lines as parse_head reads them: NUL bytes cut a line as a
     * string does, folds, names lower-cased through a table, the framing
     * headers noted on the way (every case also split at every byte) */
    CASE_S("NUL in a value cuts it", 1, "GET / HTTP/1.1\r\nA: x\0y\r\nB: z \0 w\r\nC:\0\r\n\r\n", NULL, 1,
           "REQ GET / 11\n"
           "  a=[x]\n"
           "  b=[z]\n"
           "  c=[]\n"
           "DONE\n"
           "EOF 0\n");
    CASE_S("NUL in a name", 1, "GET / HTTP/1.1\r\nA\0: x\r\n\r\n", NULL, 1,
           "ERR\n");
    CASE_S("NUL after CR", 0, "HTTP/1.1 200 OK\r\nA: b\r\0\r\nContent-Length: 1\r\n\r\nz", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  a=[b]\n"
           "  content-length=[1]\n"
           "BODY 1:z\n"
           "DONE\n"
           "EOF 0\n");
    CASE_S("NUL in Content-Length", 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\0 9\r\n\r\nzzz", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  content-length=[2]\n"
           "BODY 2:zz\n"
           "DONE\n"
           "ERR\n");
    CASE_S("folds: several lines, tabs, LF ends, on the first header", 1,
           "POST /f HTTP/1.1\r\nA: 1\r\n 2\r\n\t3\nB: 4\n  \r\nContent-Length:\r\n 2\r\n\r\nokGET / HTTP/1.1\n\n", NULL, 1,
           
           "REQ POST /f 11\n"
           "  a=[1   2  \x09""3]\n"
           "  b=[4]\n"
           "  content-length=[2]\n"
           "BODY 2:ok\n"
           "DONE\n"
           "REQ GET / 11\n"
           "DONE\n"
           "EOF 0\n");
    CASE_S("whitespace line after the start line, then a fold", 1,
           "GET / HTTP/1.1\r\n \r\n\tx\r\nA: b\r\n\r\n", NULL, 1,
           "REQ GET / 11\n"
           "  a=[b]\n"
           "DONE\n"
           "EOF 0\n");
    CASE_S("name characters", 1,
           "GET / HTTP/1.1\r\nX-A_b.c~!#$%&'*+^`|09Z: v\r\n\r\nGET / HTTP/1.1\r\nX(y): v\r\n\r\n", NULL, 1,
           "REQ GET / 11\n"
           "  x-a_b.c~!#$%&'*+^`|09z=[v]\n"
           "DONE\n"
           "ERR\n");
    CASE_S("name with a byte above 0x7f", 1, "GET / HTTP/1.1\r\nX\xc3\xa9: v\r\n\r\n", NULL, 1,
           "ERR\n");
    CASE_S("framing names: case, spaces, empty Transfer-Encoding, a list", 0,
           "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nCONTENT-length : 2,2\r\n\r\nokHTTP/1.1 200 OK\r\n"
           "transfer-ENCODING: gzip, Chunked\r\nContent-Length: 99\r\n\r\n1\r\nx\r\n0\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[]\n"
           "  content-length=[2,2]\n"
           "BODY 2:ok\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  transfer-encoding=[gzip, Chunked]\n"
           "  content-length=[99]\n"
           "BODY 1:x\n"
           "DONE\n"
           "ERR\n");
    CASE_S("names that are almost framing names", 0,
           "HTTP/1.1 200 OK\r\nContent-Lengthx: 5\r\nTransfer-Encodin: chunked\r\nContent-Lengt: x\r\n"
           "Content-Length: 1\r\n\r\nab", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  content-lengthx=[5]\n"
           "  transfer-encodin=[chunked]\n"
           "  content-lengt=[x]\n"
           "  content-length=[1]\n"
           "BODY 1:a\n"
           "DONE\n"
           "ERR\n");
    CASE_S("LF-only head ends", 0, "HTTP/1.1 204 No Content\nA: b\n\nHTTP/1.1 200 OK\nContent-Length: 1\n\r\nx", NULL, 1,
           
           "RESP 204 [No Content] 11\n"
           "  a=[b]\n"
           "DONE\n"
           "RESP 200 [OK] 11\n"
           "  content-length=[1]\n"
           "BODY 1:x\n"
           "DONE\n"
           "EOF 0\n");
    CASE_S("empty name", 1, "GET / HTTP/1.1\r\n: v\r\n\r\n", NULL, 1,
           "ERR\n");
    CASE_S("value of only whitespace and CRs", 1, "GET / HTTP/1.1\r\nA: \t\r \r\r\nB:\r\r\n\r\n", NULL, 1,
           "REQ GET / 11\n"
           "  a=[]\n"
           "  b=[]\n"
           "DONE\n"
           "EOF 0\n");

    CASE_S("name then whitespace: colon, other text, end of line", 1,
           "GET / HTTP/1.1\r\nA \t :x\r\nB\t:\r\n\r\nGET / HTTP/1.1\r\nA b: v\r\n\r\n", NULL, 1,
           "REQ GET / 11\n"
           "  a=[x]\n"
           "  b=[]\n"
           "DONE\n"
           "ERR\n");
    CASE_S("name then whitespace at the line end", 1, "GET / HTTP/1.1\r\nA  \r\n\r\n", NULL, 1, "ERR\n");
    CASE_S("name then a non-tchar before the colon", 1, "GET / HTTP/1.1\r\nA\"b: v\r\n\r\n", NULL, 1, "ERR\n");
    CASE_S("name only", 0, "HTTP/1.1 200 OK\r\nContent-Length\r\n\r\n", NULL, 1, "ERR\n");
    CASE_S("colon in the value", 0, "HTTP/1.1 200 OK\r\nA:b:c : d\r\nContent-Length: 0\r\n\r\n", NULL, 1,
           "RESP 200 [OK] 11\n"
           "  a=[b:c : d]\n"
           "  content-length=[0]\n"
           "DONE\n"
           "EOF 0\n");
    /* names read 16 bytes at a time (letters, digits, '-'), the rest byte by
     * byte: a stop of every kind at every position, the bytes around the
     * letter and digit ranges, against a reference */
    {
        static const char good[] = "AZaz09-_.`|~!#'^M";
        static const char bad[] = "@[{/\x7f\x80\xff\"(";
        uint64_t seed = 1;
        for (int t = 0; t < 400; t++) {
            char name[48], low[48];
            size_t len = 1 + (size_t)t % 40;
            int ok = 1;
            for (size_t i = 0; i < len; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                unsigned r = (unsigned)(seed >> 33);
                char c;
                if (t % 3 == 0 && i == (size_t)t / 3 % len) {
                    c = bad[r % (sizeof(bad) - 1)];
                    ok = 0;
                } else if (r % 4 == 0) {
                    c = good[r / 4 % (sizeof(good) - 1)];
                } else {
                    c = (char)(r % 2 ? 'A' + r / 2 % 26 : r % 3 ? 'a' + r / 3 % 26 : '0' + r % 10);
                }
                name[i] = c;
                low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            name[len] = low[len] = 0;
            elaine_buf in, want;
            elaine_buf_init(&in);
            elaine_buf_init(&want);
            elaine_buf_addf(&in, "GET / HTTP/1.1\r\n%s: v\r\nX-Pad-Header-To-Make-Room: 0123456789\r\n\r\n", name);
            if (ok)
                elaine_buf_addf(&want, "REQ GET / 11\n  %s=[v]\n  x-pad-header-to-make-room=[0123456789]\nDONE\nEOF 0\n",
                                low);
            else
                elaine_buf_adds(&want, "ERR\n");
            char got_name[80];
            snprintf(got_name, sizeof(got_name), "name %d: %s", t, ok ? low : "(bad)");
            check_case(got_name, 1, in.p, in.len, NULL, !ok ? 0 : 1, want.p);
            elaine_buf_free(&in);
            elaine_buf_free(&want);
        }
    }

    /* heads of about 64 lines: the line ends noted while collecting (64 of
     * them) or, beyond, found again; folds and LF-only lines around there */
    for (int lines = 58; lines <= 70; lines++) {
        elaine_buf in, want;
        elaine_buf_init(&in);
        elaine_buf_init(&want);
        elaine_buf_adds(&in, "POST /m HTTP/1.1\r\n");
        elaine_buf_adds(&want, "REQ POST /m 11\n");
        int lf = 1;
        for (int i = 0; lf < lines - 2; i++) {
            if (i % 7 == 3) {
                elaine_buf_addf(&in, "X-%d: a\r\n b\n\tc\r\n", i);
                elaine_buf_addf(&want, "  x-%d=[a   b \tc]\n", i);
                lf += 3;
            } else {
                elaine_buf_addf(&in, "X-%d: v%d%s", i, i, i % 5 ? "\r\n" : "\n");
                elaine_buf_addf(&want, "  x-%d=[v%d]\n", i, i);
                lf++;
            }
        }
        elaine_buf_adds(&in, "Content-Length: 2\r\n\r\nok");
        elaine_buf_adds(&want, "  content-length=[2]\nBODY 2:ok\nDONE\nEOF 0\n");
        char name[64];
        snprintf(name, sizeof(name), "a head of %d lines", lf + 2);
        check_case(name, 1, in.p, in.len, NULL, 1, want.p);
        elaine_buf_free(&in);
        elaine_buf_free(&want);
    }

    /* ---- head limit: 256 KiB */
    {
        CASE("head over 256 KiB");
        elaine_buf b;
        elaine_buf_init(&b);
        elaine_buf_adds(&b, "GET / HTTP/1.1\r\nX-Big: ");
        for (int i = 0; i < 256 * 1024; i++)
            elaine_buf_addc(&b, 'a');
        elaine_buf_adds(&b, "\r\n\r\n");
        char *got = run(1, b.p, b.len, NULL, b.len, 0, 0);
        CHECK_STR(got, "ERR\n");
        free(got);
        got = run(1, b.p, b.len, NULL, 0, 4096, 0);
        CHECK_STR(got, "ERR\n");
        free(got);

        CASE("heads of many lines at the limit");
        static const size_t steps[] = {0, 1, 7, 4096, 65536};
        for (size_t total = 256 * 1024; total <= 256 * 1024 + 1; total++) {
            elaine_buf_reset(&b);
            elaine_buf_adds(&b, "GET / HTTP/1.1\r\n");
            while (b.len < total - 32)
                elaine_buf_adds(&b, "X-L: 0123456789\r\n");
            while (b.len < total - 7)
                elaine_buf_addc(&b, 'a');
            elaine_buf_adds(&b, ": v\r\n\r\n");
            CHECK_INT(b.len, total);
            for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                got = run(1, b.p, b.len, NULL, b.len, steps[i], 0);
                if (total > 256 * 1024) {
                    CHECK_STR(got, "ERR\n");
                } else {
                    CHECK(strncmp(got, "REQ GET / 11\n  x-l=[0123456789]\n", 32) == 0);
                    CHECK(strstr(got, "aaaa=[v]\nDONE\n") != NULL);
                }
                free(got);
            }
        }

        CASE("head just under 256 KiB");
        elaine_buf_reset(&b);
        elaine_buf_adds(&b, "GET / HTTP/1.1\r\nX-Big: ");
        while (b.len < 256 * 1024 - 4)
            elaine_buf_addc(&b, 'a');
        elaine_buf_adds(&b, "\r\n\r\n");
        got = run(1, b.p, b.len, NULL, 0, 1000, 0);
        CHECK(strncmp(got, "REQ GET / 11\n  x-big=[aaa", 25) == 0);
        CHECK(strstr(got, "]\nDONE\n") != NULL);
        free(got);
        elaine_buf_free(&b);
    }

    /* ---- in_message, stop, NULL callbacks */
    {
        CASE("in_message");
        elaine_http1_cb cb = {0};
        elaine_http1 *p = elaine_http1_new(0, &cb);
        CHECK(!elaine_http1_in_message(p));
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"\r\n", 2), 0);
        CHECK(!elaine_http1_in_message(p));
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"H", 1), 0);
        CHECK(elaine_http1_in_message(p));
        const char *rest = "TTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nx";
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)rest, strlen(rest)), 0);
        CHECK(elaine_http1_in_message(p));
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"y", 1), 0);
        CHECK(!elaine_http1_in_message(p));
        CHECK_INT(elaine_http1_eof(p), 0);
        elaine_http1_free(p);

        CASE("stop");
        p = elaine_http1_new(1, &cb);
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n", 32), 0);
        elaine_http1_stop(p);
        CHECK_INT(elaine_http1_feed(p, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\n", 18), 0);
        CHECK(!elaine_http1_in_message(p));
        CHECK_INT(elaine_http1_eof(p), 0);
        elaine_http1_free(p);
    }

    /* ---- head helper */
    {
        CASE("elaine_http_head_get");
        elaine_http_header hs[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
        elaine_http_head h = {0};
        h.nheaders = 3;
        h.headers = hs;
        CHECK_STR(elaine_http_head_get(&h, "a"), "1");
        CHECK_STR(elaine_http_head_get(&h, "b"), "2");
        CHECK(elaine_http_head_get(&h, "c") == NULL);
    }
    test_against_former();
    return check_done("test_http1");
}
