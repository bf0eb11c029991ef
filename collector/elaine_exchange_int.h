/* Inside the exchange layer: the state and functions its core and its HTTP/1.1 and HTTP/2
 * reassembly share (elaine_exchange.c, _h1.c, _h2.c); other modules use elaine_exchange.h. */
#ifndef ELAINE_EXCHANGE_INT_H
#define ELAINE_EXCHANGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"
#include "elaine_decode.h"
#include "elaine_exchange.h"
#include "elaine_http1.h"
#include "elaine_http2.h"
#include "elaine_ndjson.h"
#include "elaine_provider.h"
#include "elaine_record.h"
#include "elaine_sse.h"
#include "elaine_stack.h"

typedef struct xconn xconn;
typedef struct xchg xchg;

/* One request/response exchange in flight. */
struct xchg {
    xchg *next;
    xconn *conn;
    uint64_t seq;         /* of the RequestStart (or first Data): holds the watermark */
    elaine_xrec r;
    uint64_t rs_mono, last_out_mono, first_in_mono, done_mono, ttft_mono;
    uint64_t final_head_mono; /* the final (non-1xx) response head was parsed */
    int req_head, req_done, req_bytes;
    int resp_head, resp_done;
    int head_req;         /* the request was HEAD */
    elaine_decoder *req_dec, *resp_dec;
    int req_raw, resp_raw; /* decoding failed at once: keep the raw bytes */
    int req_bad, resp_bad; /* decoding failed later: ignore the rest */
    elaine_sse *sse;
    elaine_ndjson *nd; /* NDJSON stream: each line is a provider stream event */
    int streamed;         /* the response was read as a stream (SSE or NDJSON) */
    int stream_last_seen; /* its last event by the provider's protocol came */
    const elaine_provider *prov;
    uint32_t stream;   /* HTTP/2 stream id; 0 for HTTP/1 */
    int64_t resp_clen; /* HTTP/2: the final response's content-length, -1 none */
    uint64_t resp_wire; /* HTTP/2: response DATA bytes so far */
    char err[48];      /* an error text made for this exchange ("stream reset (CANCEL)") */
};

struct xconn {
    xconn *next;
    elaine_exchange_proc *p;
    uint64_t id;
    char *host, *sni;
    uint32_t port;
    int tls;
    int synced;  /* data is parsed (a RequestStart or a fresh ConnOpen was seen) */
    int dead;    /* HTTP/2 or not HTTP/1: data ignored */
    int upgrade; /* a 101 completed: the stream is something else now */
    elaine_http1 *reqp, *respp;
    xchg *fifo;  /* exchanges in request order */
    xchg *req_x, *resp_x;
    int resp_interim;
    int have_rs;
    uint64_t last_request_no;
    uint64_t out_bytes;  /* request bytes fed to reqp since it was made */
    uint64_t sync_seq;   /* the event that made the connection synced */
    /* HTTP/2: one decoder for both directions instead of reqp/respp, one xchg
     * per stream in fifo (in the order the streams opened). */
    int h2;              /* HTTP/2 (ALPN h2 or the preface); decoded once h2dec exists */
    elaine_http2 *h2dec;
    uint64_t first_seq;  /* h2: the connection's first event (the watermark holds there) */
    uint64_t hold_from;  /* h2: the process's event bytes when first_seq came */
    /* The latest RequestStart: for HTTP/2 a hint of the thread, time and
     * stack of the streams whose heads follow it. */
    int hint;
    uint32_t hint_tid;
    uint64_t hint_wall, hint_mono;
    uint64_t *hint_stack;
    size_t hint_nstack, hint_cap; /* hint_cap: frames hint_stack has room for */
};

struct elaine_exchange_proc {
    elaine_exchange_opts o;
    uint32_t pid;
    uint64_t start_time;
    char *exe;
    xconn *conns;
    uint64_t max_seq;
    uint64_t hold_seq; /* lowest seq whose line failed to write; UINT64_MAX none */
    uint64_t cur_seq, cur_mono;
    uint32_t cur_tid;
    uint64_t in_bytes; /* event bytes applied so far (the shim's queue cost, about) */
    elaine_stack *stack;
    elaine_buf scratch;
    xchg *spare;       /* finished exchanges kept for the next ones (elaine_exchange.c) */
    unsigned nspare;
};

/* ---- the core (elaine_exchange.c), shared by both protocols ---- */

/* A note about c on stderr when the process runs verbose. */
void elaine_exchange_note(const xconn *c, const char *what);

/* The wall clock (ns) of a CLOCK_MONOTONIC time, or now when it makes no sense. */
uint64_t elaine_exchange_wall_for_mono(uint64_t mono_ns);

/* A new exchange appended to c's FIFO (which is in request order); c owns
 * it. NULL on ENOMEM. */
xchg *elaine_exchange_open(xconn *c, uint64_t seq, uint64_t request_no, uint32_t tid,
                           uint64_t wall_ns, uint64_t mono_ns);

/* Writes x to the sink with error (NULL: complete), unless it never carried
 * a request byte, then unlinks and frees it. */
void elaine_exchange_finish(xchg *x, const char *error);

/* The message parts, fed by either protocol (times are p->cur_mono). */
void elaine_exchange_request_head(xchg *x, const elaine_http_head *h);
void elaine_exchange_request_body(xchg *x, const uint8_t *data, size_t n);
void elaine_exchange_request_end(xchg *x);
/* interim: a 1xx that folds into the final response (only its time counts). */
void elaine_exchange_response_head(xchg *x, const elaine_http_head *h, int interim);
void elaine_exchange_response_body(xchg *x, const uint8_t *data, size_t n);
/* The response is complete: x is written and freed. */
void elaine_exchange_response_end(xchg *x);

/* Names n raw addresses into x's stack (when the process names stacks). */
void elaine_exchange_name_stack(elaine_exchange_proc *p, xchg *x, const uint64_t *addrs, size_t n);

/* Writes (with error) or discards every exchange of c. */
void elaine_exchange_flush(xconn *c, const char *error);
/* Frees every exchange of c without a record. */
void elaine_exchange_discard(xconn *c);

/* ---- HTTP/1.1 (elaine_exchange_h1.c): a request and a response parser per connection ---- */

/* Fresh parsers for c (the stream restarts at a message boundary). 0, -ENOMEM
 * (c then has no parsers). */
int elaine_exchange_h1_reset(xconn *c);
/* Frees c's parsers; its data is not parsed until the next reset. */
void elaine_exchange_h1_free(xconn *c);
/* A RequestStart on an HTTP/1 connection: a sync point, and the exchange
 * it announces. 0, -ENOMEM. */
int elaine_exchange_h1_request_start(xconn *c, uint64_t seq, const Elaine__RequestStart *rs);
/* Data of a live HTTP/1 connection (p->cur_mono and cur_tid set). */
void elaine_exchange_h1_data(xconn *c, const Elaine__Data *d);

/* ---- HTTP/2 (elaine_exchange_h2.c): one decoder per connection, one exchange per stream ---- */

/* c speaks HTTP/2 from here on: its first event was first_seq. 0, -ENOMEM. */
int elaine_exchange_h2_start(xconn *c, uint64_t first_seq);
/* The rest of c cannot be followed: open streams are written with error. */
void elaine_exchange_h2_drop(xconn *c, const char *error);
/* Keeps the latest RequestStart of c as a hint for HTTP/2 streams. */
void elaine_exchange_h2_hint(xconn *c, const Elaine__RequestStart *rs);
/* 1 when d starts prior-knowledge HTTP/2 on c. */
int elaine_exchange_h2_preface_at(const xconn *c, const Elaine__Data *d);
/* Data of an HTTP/2 connection (c->h2dec exists). */
void elaine_exchange_h2_data(xconn *c, const Elaine__Data *d);
/* 1 while the watermark stays at c's first event. */
int elaine_exchange_h2_holds(const xconn *c);

#endif
