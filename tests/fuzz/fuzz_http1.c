/* Fuzz target: the HTTP/1.x push parser (elaine_http1), one direction.
 * Input: 1 byte of slicing, 1 byte of options (bit 0: parse requests; bits
 * 1-2: what on_head answers for a response: 0, HEAD, CONNECT; bit 3: stop
 * half way), then the bytes of the direction.
 * Oracles: no crash, leak or UB; callbacks come in order (head, body...,
 * done); heads are sane; an error is sticky; elaine_http1_eof agrees with
 * elaine_http1_in_message. */
#include <errno.h>
#include <string.h>

#include "elaine_http1.h"
#include "fuzz_util.h"

typedef struct st {
    int is_request;
    int head_answer;
    int in_msg; /* a head was reported and no done yet */
    size_t heads, dones;
    size_t body;
} st;

static int on_head(void *ud, const elaine_http_head *h)
{
    st *s = ud;
    FZ_ASSERT(!s->in_msg);
    FZ_ASSERT(h->is_request == s->is_request);
    FZ_ASSERT(h->version == 10 || h->version == 11);
    if (h->is_request) {
        FZ_ASSERT(h->method && *h->method && h->target);
    } else {
        FZ_ASSERT(h->status >= 100 && h->status <= 999);
        FZ_ASSERT(h->reason);
    }
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *n = h->headers[i].name;
        FZ_ASSERT(n && *n && h->headers[i].value);
        for (; *n; n++)
            FZ_ASSERT(!(*n >= 'A' && *n <= 'Z')); /* lower-cased */
        /* every name can be looked up and gives the first value */
        FZ_ASSERT(elaine_http_head_get(h, h->headers[i].name) != NULL);
    }
    (void)elaine_http_head_get(h, "content-length");
    s->in_msg = 1;
    s->heads++;
    return s->head_answer;
}

static void on_body(void *ud, const uint8_t *p, size_t n)
{
    st *s = ud;
    FZ_ASSERT(s->in_msg);
    FZ_ASSERT(n > 0 && p);
    volatile uint8_t x = p[0] ^ p[n - 1]; /* the bytes are readable */
    (void)x;
    s->body += n;
}

static void on_done(void *ud)
{
    st *s = ud;
    FZ_ASSERT(s->in_msg);
    s->in_msg = 0;
    s->dones++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_slicer sl;
    fz_slicer_init(&sl, fz_byte(&data, &size));
    uint8_t opt = fz_byte(&data, &size);
    static const int answers[4] = {0, ELAINE_HTTP1_HEAD, ELAINE_HTTP1_CONNECT, 0};
    st s = {.is_request = opt & 1, .head_answer = answers[(opt >> 1) & 3]};
    elaine_http1_cb cb = {.ud = &s, .on_head = on_head, .on_body = on_body, .on_done = on_done};
    elaine_http1 *p = elaine_http1_new(s.is_request, &cb);
    if (!p)
        return 0;
    size_t off = 0;
    int err = 0;
    while (off < size) {
        size_t k = fz_slice(&sl, size - off);
        if ((opt & 8) && off < size / 2 && off + k >= size / 2)
            elaine_http1_stop(p);
        int rc = elaine_http1_feed(p, data + off, k);
        FZ_ASSERT(rc == 0 || rc == -EPROTO);
        if (err)
            FZ_ASSERT(rc == err); /* sticky */
        if (rc) {
            err = rc;
            FZ_ASSERT(!elaine_http1_in_message(p));
        }
        off += k;
    }
    int in = elaine_http1_in_message(p);
    size_t dones = s.dones;
    int rc = elaine_http1_eof(p);
    FZ_ASSERT(rc >= -1 && rc <= 1);
    if (rc == 1)
        FZ_ASSERT(s.dones == dones + 1);
    else
        FZ_ASSERT(s.dones == dones);
    if (rc == -1)
        FZ_ASSERT(in || err); /* cut off, or not HTTP/1 at all */
    FZ_ASSERT(s.dones <= s.heads);
    elaine_http1_free(p);
    return 0;
}
