/* HTTP/2 reassembly: one decoder per connection, one exchange per stream, and how an open
 * connection holds the ack watermark. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_exchange_int.h"

/* How much an open HTTP/2 connection may hold in the shim's queue (see
 * elaine_exchange_h2_holds). */
#define H2_HOLD_MAX (8u << 20)

/* One elaine_http2 decodes both directions; each stream is one xchg whose
 * request_no is the stream id (deterministic: a resend gives the same ids).
 * The shim's RequestStarts (a write after a read) are only hints here: the
 * latest one before a stream's request head gives its thread, stack and the
 * wall clock for its start.
 *
 * The ack watermark: HPACK state cannot be picked up in the middle of a
 * connection, so while an h2 connection is open the watermark stays at its
 * first event and, after a collector restart, the shim resends it from the
 * ConnOpen and the preface (streams already written come again with the same
 * ids; readers drop duplicates). The cost is shim memory: the watermark is
 * one number per process, so everything the process sent since that first
 * event (on any connection) stays in the shim's queue while the connection
 * lives. A long-lived connection would fill the queue (async mode: the shim
 * drops events; sync mode: the application waits), so the hold ends once
 * H2_HOLD_MAX event bytes came after the first event: from then on only
 * streams in flight hold the watermark, as HTTP/1 exchanges do, and a
 * collector restart loses that connection (it comes back unsynced). A shim
 * queue smaller than H2_HOLD_MAX (ELAINE_QUEUE_MB < 8) still fills first:
 * async, it drops (the connection then ends with ELAINE_ERR_GAP records);
 * sync, the application blocks for good, as it does on one HTTP/1
 * exchange larger than its queue. */

static const char ERR_H2_GOAWAY[] = "stream not processed: the server sent GOAWAY";
static const char ERR_H2_PROTO[] = "HTTP/2 decoding failed";

static const char *h2_error_name(uint32_t code)
{
    static const char *const names[] = { /* RFC 9113, 7 */
        "NO_ERROR",         "PROTOCOL_ERROR",    "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED",     "FRAME_SIZE_ERROR", "REFUSED_STREAM",
        "CANCEL",           "COMPRESSION_ERROR", "CONNECT_ERROR",  "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
    };
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

static xchg *h2_stream(xconn *c, uint32_t stream)
{
    for (xchg *x = c->fifo; x; x = x->next)
        if (x->stream == stream)
            return x;
    return NULL;
}

static void h2_on_request_head(void *ud, uint32_t stream, const elaine_http_head *h, uint64_t mono)
{
    xconn *c = ud;
    elaine_exchange_proc *p = c->p;
    if (h2_stream(c, stream))
        return; /* the decoder opens a stream once */
    uint64_t wall = c->hint ? c->hint_wall + (uint64_t)((int64_t)mono - (int64_t)c->hint_mono)
                            : elaine_exchange_wall_for_mono(mono);
    uint32_t tid = c->hint ? c->hint_tid : p->cur_tid;
    xchg *x = elaine_exchange_open(c, p->cur_seq, stream, tid, wall, mono);
    if (!x)
        return;
    x->stream = stream;
    x->resp_clen = -1;
    if (c->hint)
        elaine_exchange_name_stack(p, x, c->hint_stack, c->hint_nstack);
    elaine_exchange_request_head(x, h);
}

static void h2_on_request_data(void *ud, uint32_t stream, const uint8_t *data, size_t n,
                               uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x && !x->req_done)
        elaine_exchange_request_body(x, data, n);
}

static void h2_on_request_end(void *ud, uint32_t stream, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x && !x->req_done)
        elaine_exchange_request_end(x);
}

/* The content-length of a response that has a body, or -1. */
static int64_t h2_content_length(const xchg *x, const elaine_http_head *h)
{
    const char *v = elaine_http_head_get(h, "content-length");
    if (!v || !*v || x->head_req || h->status == 204 || h->status == 304)
        return -1;
    int64_t n = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > INT64_MAX / 10 - 1)
            return -1;
        n = n * 10 + (*v - '0');
    }
    return n;
}

/* The response is complete at END_STREAM, or once DATA brought its
 * content-length: curl, for one, stops reading there and may close the
 * connection before the frame with END_STREAM (an empty DATA frame from
 * nginx) is read. */
static void h2_on_response_head(void *ud, uint32_t stream, const elaine_http_head *h,
                                int informational, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (!x) /* a pushed stream, not recorded */
        return;
    elaine_exchange_response_head(x, h, informational);
    if (informational)
        return;
    x->resp_clen = h2_content_length(x, h);
    if (x->resp_clen == 0)
        elaine_exchange_response_end(x);
}

static void h2_on_response_data(void *ud, uint32_t stream, const uint8_t *data, size_t n,
                                uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (!x || !x->resp_head)
        return;
    elaine_exchange_response_body(x, data, n);
    x->resp_wire += n;
    if (x->resp_clen >= 0 && x->resp_wire >= (uint64_t)x->resp_clen)
        elaine_exchange_response_end(x);
}

static void h2_on_response_end(void *ud, uint32_t stream, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x)
        elaine_exchange_response_end(x);
}

/* A stream whose response completed is written already: a reset after it
 * (NO_ERROR to stop an upload, say) changes nothing. */
static void h2_on_reset(void *ud, uint32_t stream, int from_server, uint32_t code, uint64_t mono)
{
    (void)from_server;
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (!x)
        return;
    const char *name = h2_error_name(code);
    if (name)
        snprintf(x->err, sizeof(x->err), "stream reset (%s)", name);
    else
        snprintf(x->err, sizeof(x->err), "stream reset (0x%" PRIx32 ")", code);
    elaine_exchange_finish(x, x->err);
}

/* The server will not process streams above last: they are written now. */
static void h2_on_goaway(void *ud, int from_server, uint32_t last, uint32_t code, uint64_t mono)
{
    (void)code;
    (void)mono;
    xconn *c = ud;
    if (!from_server)
        return; /* the client's GOAWAY is about pushed streams, not recorded */
    for (xchg *x = c->fifo; x;) {
        xchg *next = x->next;
        if (x->stream > last)
            elaine_exchange_finish(x, ERR_H2_GOAWAY);
        x = next;
    }
}

/* Exchanges an HTTP/1 RequestStart opened carry no bytes yet and go. */
int elaine_exchange_h2_start(xconn *c, uint64_t first_seq)
{
    elaine_exchange_flush(c, ELAINE_ERR_GAP);
    elaine_exchange_h1_free(c);
    elaine_http2_free(c->h2dec);
    const elaine_http2_cb cb = {
        .ud = c,
        .on_request_head = h2_on_request_head,
        .on_request_data = h2_on_request_data,
        .on_request_end = h2_on_request_end,
        .on_response_head = h2_on_response_head,
        .on_response_data = h2_on_response_data,
        .on_response_end = h2_on_response_end,
        .on_reset = h2_on_reset,
        .on_goaway = h2_on_goaway,
    };
    c->h2 = 1;
    c->h2dec = elaine_http2_new(&cb);
    if (!c->h2dec) {
        c->synced = 0;
        return -ENOMEM;
    }
    c->dead = 0;
    c->synced = 1;
    c->first_seq = first_seq;
    c->hold_from = c->p->in_bytes;
    elaine_exchange_note(c, "HTTP/2 (ALPN h2 or the connection preface)");
    return 0;
}

/* The connection cannot be followed any more (events dropped, or bytes the
 * decoder refuses): every open stream is written with error, the rest of the
 * connection is ignored. */
void elaine_exchange_h2_drop(xconn *c, const char *error)
{
    elaine_exchange_note(c, error);
    elaine_exchange_flush(c, error);
    elaine_http2_free(c->h2dec);
    c->h2dec = NULL;
    c->dead = 1;
    c->synced = 0;
}

/* 1 when d starts prior-knowledge HTTP/2 on c: the preface as c's first
 * request bytes (at least "PRI", which no HTTP/1 method starts with), or
 * the whole preface on a connection not followed yet (it starts a connection). */
int elaine_exchange_h2_preface_at(const xconn *c, const Elaine__Data *d)
{
    if (d->dir != ELAINE__DIRECTION__DIR_OUT || c->h2dec)
        return 0;
    size_t need = c->synced && !c->h2 && c->reqp && c->out_bytes == 0 ? 3 : ELAINE_HTTP2_PREFACE_LEN;
    return d->data.len >= need && elaine_http2_is_preface(d->data.data, d->data.len);
}

void elaine_exchange_h2_data(xconn *c, const Elaine__Data *d)
{
    int rc = elaine_http2_feed(c->h2dec, d->dir == ELAINE__DIRECTION__DIR_IN, d->data.data,
                               d->data.len, d->mono_ns);
    if (rc < 0)
        elaine_exchange_h2_drop(c, ERR_H2_PROTO);
}

/* The watermark stays at c's first event (see above). */
int elaine_exchange_h2_holds(const xconn *c)
{
    return c->h2dec && c->p->in_bytes - c->hold_from <= H2_HOLD_MAX;
}

/* The hint is kept on every connection: one may turn out to be HTTP/2 (the preface). */
void elaine_exchange_h2_hint(xconn *c, const Elaine__RequestStart *rs)
{
    c->hint = 1;
    c->hint_tid = rs->tid;
    c->hint_wall = rs->wall_ns;
    c->hint_mono = rs->mono_ns;
    c->hint_nstack = 0;
    if (!rs->n_stack || !c->p->o.name_stacks)
        return;
    if (rs->n_stack > c->hint_cap) { /* grown only: most connections send stacks of one depth */
        uint64_t *st = realloc(c->hint_stack, rs->n_stack * sizeof(*st));
        if (!st)
            return;
        c->hint_stack = st;
        c->hint_cap = rs->n_stack;
    }
    memcpy(c->hint_stack, rs->stack, rs->n_stack * sizeof(*c->hint_stack));
    c->hint_nstack = rs->n_stack;
}
