/* Fuzz target: the HTTP/2 connection decoder (elaine_http2), both directions.
 * Input: records of 1 control byte (bit 0: from the server; bits 1-7: the
 * clock advance), a little-endian u16 length and that many bytes, each
 * record one feed call (tests/fuzz/make_corpus.sh turns the captures of
 * tests/data/http2 into this form).
 * Oracles: no crash, leak or UB; per stream, the callbacks come in the
 * documented order and nothing follows a reset; heads are sane; errors
 * are sticky; elaine_http2_eof counts the open streams. */
#include <errno.h>
#include <string.h>

#include "elaine_http2.h"
#include "fuzz_util.h"

#define TRACK 128

typedef struct sstate {
    uint32_t id; /* 0: free slot */
    uint8_t req_head, req_end, resp_head, resp_end, reset, pushed;
} sstate;

typedef struct st {
    sstate s[TRACK];
    int full;
    uint64_t last_mono;
} st;

/* The state of stream id, made when new; NULL when the table is full. */
static sstate *get(st *t, uint32_t id)
{
    FZ_ASSERT(id != 0);
    for (size_t i = 0; i < TRACK; i++) {
        size_t k = (id + i) % TRACK;
        if (t->s[k].id == id)
            return &t->s[k];
        if (t->s[k].id == 0) {
            t->s[k].id = id;
            return &t->s[k];
        }
    }
    t->full = 1;
    return NULL;
}

static void check_head(const elaine_http_head *h, int request)
{
    FZ_ASSERT(h->version == 20);
    size_t np = elaine_http2_npseudo(h);
    FZ_ASSERT(np <= h->nheaders);
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *n = h->headers[i].name;
        FZ_ASSERT(n && h->headers[i].value);
        FZ_ASSERT((i < np) == (n[0] == ':')); /* pseudo-headers first */
        for (; *n; n++)
            FZ_ASSERT(!(*n >= 'A' && *n <= 'Z'));
    }
    if (request) {
        /* method and target are the :method and :path fields (NULL when absent) */
        FZ_ASSERT(!h->method || elaine_http_head_get(h, ":method") == h->method);
        FZ_ASSERT(!h->target || elaine_http_head_get(h, ":path") == h->target);
    } else {
        FZ_ASSERT(h->status >= 0 && h->status <= 999); /* three digits, 0 when absent */
    }
}

static void mono_ok(st *t, uint64_t mono)
{
    FZ_ASSERT(mono >= t->last_mono); /* the feed's clock, which only advances */
    t->last_mono = mono;
}

static void on_request_head(void *ud, uint32_t id, const elaine_http_head *h, uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    check_head(h, 1);
    FZ_ASSERT(id & 1); /* client streams are odd */
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(!s->req_head && !s->reset && !s->pushed);
    s->req_head = 1;
}

static void on_request_data(void *ud, uint32_t id, const uint8_t *p, size_t n, uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    FZ_ASSERT(n > 0 && p);
    volatile uint8_t x = p[0] ^ p[n - 1];
    (void)x;
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(s->req_head && !s->req_end && !s->reset);
}

static void on_request_end(void *ud, uint32_t id, uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(s->req_head && !s->req_end && !s->reset);
    s->req_end = 1;
}

static void on_response_head(void *ud, uint32_t id, const elaine_http_head *h, int info,
                             uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    check_head(h, 0);
    sstate *s = get(t, id);
    if (!s)
        return;
    /* (a response may come on a client stream without a request head: the
     * request of an h2c upgrade went as HTTP/1.1) */
    FZ_ASSERT(!s->resp_head && !s->resp_end && !s->reset);
    if (!s->req_head && !s->pushed)
        s->pushed = 1; /* its request side counts as complete */
    if (!info)
        s->resp_head = 1;
}

static void on_response_data(void *ud, uint32_t id, const uint8_t *p, size_t n, uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    FZ_ASSERT(n > 0 && p);
    volatile uint8_t x = p[0] ^ p[n - 1];
    (void)x;
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(s->resp_head && !s->resp_end && !s->reset);
}

static void on_response_end(void *ud, uint32_t id, uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(!s->resp_end && !s->reset);
    s->resp_end = 1;
}

static void on_trailers(void *ud, uint32_t id, int from_server, const elaine_http_head *h,
                        uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    check_head(h, !from_server);
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(!s->reset);
    if (from_server)
        FZ_ASSERT(s->resp_head && !s->resp_end);
    else
        FZ_ASSERT(s->req_head && !s->req_end);
}

static void on_reset(void *ud, uint32_t id, int from_server, uint32_t code, uint64_t mono)
{
    (void)from_server;
    (void)code;
    st *t = ud;
    mono_ok(t, mono);
    sstate *s = get(t, id);
    if (!s)
        return;
    FZ_ASSERT(!s->reset && !(s->req_end && s->resp_end)); /* a stream still open */
    s->reset = 1;
}

static void on_goaway(void *ud, int from_server, uint32_t last, uint32_t code, uint64_t mono)
{
    (void)from_server;
    (void)last;
    (void)code;
    mono_ok(ud, mono);
}

static void on_push(void *ud, uint32_t id, uint32_t promised, const elaine_http_head *h,
                    uint64_t mono)
{
    st *t = ud;
    mono_ok(t, mono);
    check_head(h, 1);
    FZ_ASSERT(promised && !(promised & 1)); /* server streams are even */
    (void)id;
    sstate *s = get(t, promised);
    if (!s)
        return;
    FZ_ASSERT(!s->req_head && !s->pushed && !s->reset);
    s->pushed = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st t;
    memset(&t, 0, sizeof(t));
    elaine_http2_cb cb = {
        .ud = &t,
        .on_request_head = on_request_head,
        .on_request_data = on_request_data,
        .on_request_end = on_request_end,
        .on_response_head = on_response_head,
        .on_response_data = on_response_data,
        .on_response_end = on_response_end,
        .on_trailers = on_trailers,
        .on_reset = on_reset,
        .on_goaway = on_goaway,
        .on_push = on_push,
    };
    elaine_http2 *h = elaine_http2_new(&cb);
    if (!h)
        return 0;
    uint64_t mono = 1000;
    int err = 0;
    while (size > 0) {
        uint8_t ctl = fz_byte(&data, &size);
        size_t n = fz_u16(&data, &size);
        if (n > size)
            n = size;
        mono += (uint64_t)(ctl >> 1) * 1000;
        int rc = elaine_http2_feed(h, ctl & 1, data, n, mono);
        FZ_ASSERT(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
        if (err)
            FZ_ASSERT(rc == err); /* sticky */
        err = rc;
        data += n;
        size -= n;
    }
    size_t open = elaine_http2_open_streams(h);
    int rc = elaine_http2_eof(h);
    if (err)
        FZ_ASSERT(rc == err);
    else
        FZ_ASSERT(rc >= 0 && (size_t)rc == open);
    FZ_ASSERT(elaine_http2_feed(h, 0, (const uint8_t *)"x", 1, mono) <= 0);
    elaine_http2_free(h);
    return 0;
}
