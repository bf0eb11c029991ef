/* Per-process reassembly: events in (deduplicated by seq), finished exchanges out, the ack watermark. */
#include "elaine_exchange.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "elaine_decode.h"
#include "elaine_http1.h"
#include "elaine_http2.h"
#include "elaine_ndjson.h"
#include "elaine_sse.h"
#include "elaine_stack.h"

#define DEFAULT_MAX_BODY (8u << 20)
#define SCRATCH_MIN (16u << 20) /* decoded bytes per fed slice, at least */
#define EVENT_COST 64            /* what an event costs the shim's queue besides its bytes, about */
/* How much an open HTTP/2 connection may hold in the shim's queue (see h2_holds). */
#define H2_HOLD_MAX (8u << 20)

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
    size_t hint_nstack;
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
};

static void note(const xconn *c, const char *what)
{
    if (c->p->o.verbose)
        fprintf(stderr, "elaine-collector: pid %" PRIu32 " conn %" PRIu64 ": %s\n", c->p->pid,
                c->id, what);
}

/* ---- exchanges ---- */

static void on_sse(void *ud, const char *event, const char *data, size_t n)
{
    xchg *x = ud;
    if (x->prov && x->prov->stream_event &&
        x->prov->stream_event(&x->r.llm, event, data, n) == 1 && !x->ttft_mono)
        x->ttft_mono = x->conn->p->cur_mono;
}

static void on_ndjson(void *ud, const char *line, size_t n)
{
    on_sse(ud, "", line, n);
}

static void xchg_free(xchg *x)
{
    elaine_record_msg_free(&x->r.req);
    elaine_record_msg_free(&x->r.resp);
    elaine_llm_free(&x->r.llm);
    elaine_stack_frames_free(x->r.stack, x->r.nstack);
    elaine_decoder_free(x->req_dec);
    elaine_decoder_free(x->resp_dec);
    elaine_sse_free(x->sse);
    elaine_ndjson_free(x->nd);
    free(x);
}

static xchg *xchg_new(xconn *c, uint64_t seq, uint64_t request_no, uint32_t tid, uint64_t wall_ns,
                      uint64_t mono_ns)
{
    xchg *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->conn = c;
    x->seq = seq;
    x->rs_mono = mono_ns;
    x->r.pid = c->p->pid;
    x->r.start_time = c->p->start_time;
    x->r.exe = c->p->exe;
    x->r.conn_id = c->id;
    x->r.request_no = request_no;
    x->r.tid = tid;
    x->r.wall_ns = wall_ns;
    x->r.conn_host = c->host;
    x->r.conn_port = c->port;
    x->r.sni = c->sni;
    x->r.tls = c->tls;
    elaine_record_msg_init(&x->r.req);
    elaine_record_msg_init(&x->r.resp);
    elaine_llm_init(&x->r.llm);
    x->r.ttfb_ms = x->r.ttft_ms = x->r.duration_ms = -1;
    /* append: the FIFO is in request order */
    xchg **pp = &c->fifo;
    while (*pp)
        pp = &(*pp)->next;
    *pp = x;
    c->have_rs = 1;
    c->last_request_no = request_no;
    return x;
}

static void unlink_xchg(xconn *c, xchg *x)
{
    for (xchg **pp = &c->fifo; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    if (c->req_x == x)
        c->req_x = NULL;
    if (c->resp_x == x) {
        c->resp_x = NULL;
        c->resp_interim = 0;
    }
}

/* Appends body bytes (content-decoded when needed) to m, bounded by max_body. */
static void body_add(elaine_exchange_proc *p, xchg *x, elaine_xmsg *m, elaine_decoder **dec, int *raw,
                     int *bad, const uint8_t *data, size_t n)
{
    size_t max_body = p->o.max_body;
    const uint8_t *out = data;
    size_t outn = n;
    if (*bad)
        return;
    if (*dec && !*raw) {
        size_t lim = max_body > SCRATCH_MIN ? max_body : SCRATCH_MIN;
        elaine_buf_reset(&p->scratch);
        int rc = elaine_decoder_feed(*dec, data, n, &p->scratch, lim);
        if (rc < 0) {
            if (m->body_size == 0) {
                *raw = 1; /* mislabelled: keep what came */
            } else {
                *bad = 1;
                note(x->conn, "content decoding failed; rest of the body ignored");
                return;
            }
        } else {
            if (rc == 1)
                m->body_truncated = 1;
            out = (const uint8_t *)p->scratch.p;
            outn = p->scratch.len;
        }
    }
    m->body_size += outn;
    size_t room = max_body > m->body.len ? max_body - m->body.len : 0;
    if (outn > room) {
        m->body_truncated = 1;
        elaine_buf_add(&m->body, out, room);
    } else if (outn) {
        elaine_buf_add(&m->body, out, outn);
    }
    if (m == &x->r.resp && x->sse && outn)
        elaine_sse_feed(x->sse, (const char *)out, outn);
    if (m == &x->r.resp && x->nd && outn)
        elaine_ndjson_feed(x->nd, (const char *)out, outn);
    if (p->scratch.cap > (4u << 20))
        elaine_buf_free(&p->scratch);
}

static ej_val *parse_body(const elaine_xmsg *m)
{
    if (m->body.len == 0 || m->body_truncated)
        return NULL;
    return elaine_json_parse(m->body.p, m->body.len);
}

/* The request is complete (or cut off): JSON and the provider's request hook. Idempotent. */
static void finish_request(xchg *x)
{
    if (x->req_done || !x->req_head)
        return;
    x->req_done = 1;
    if (x->req_dec && !x->req_raw)
        elaine_decoder_finish(x->req_dec);
    x->r.req.json = parse_body(&x->r.req);
    if (x->prov && x->prov->request) {
        const char *t = x->r.req.target ? x->r.req.target : "";
        size_t len = strcspn(t, "?");
        char *path = strndup(t, len);
        if (path)
            x->prov->request(&x->r.llm, path, x->r.req.json);
        free(path);
    }
}

static double ms_between(uint64_t from, uint64_t to)
{
    if (!from || !to)
        return -1;
    return to >= from ? (double)(to - from) / 1e6 : 0.0;
}

/* Writes x (unless it never carried a request byte) and frees it. */
static void finish(xchg *x, const char *error)
{
    xconn *c = x->conn;
    elaine_exchange_proc *p = c->p;
    unlink_xchg(c, x);
    if (!x->req_head && !x->req_bytes) {
        xchg_free(x);
        return;
    }
    finish_request(x);
    if (x->sse)
        elaine_sse_finish(x->sse);
    if (x->nd)
        elaine_ndjson_finish(x->nd);
    if (x->resp_dec && !x->resp_raw && !x->resp_done)
        elaine_decoder_finish(x->resp_dec);
    if (x->prov)
        elaine_llm_finish(&x->r.llm);
    x->r.error = error;
    /* an early interim response (100 Continue before the body): time to the final head */
    uint64_t first_in = x->first_in_mono;
    if (first_in && first_in < x->last_out_mono && x->final_head_mono)
        first_in = x->final_head_mono;
    x->r.ttfb_ms = ms_between(x->last_out_mono, first_in);
    x->r.ttft_ms = x->ttft_mono ? ms_between(x->last_out_mono, x->ttft_mono) : -1;
    x->r.duration_ms = x->resp_done ? ms_between(x->rs_mono, x->done_mono) : -1;
    if (x->r.duration_ms < 0 && x->resp_done)
        x->r.duration_ms = 0;
    if (p->o.sink.exchange && p->o.sink.exchange(p->o.sink.ud, &x->r) < 0 && x->seq < p->hold_seq)
        p->hold_seq = x->seq;
    xchg_free(x);
}

static void complete_response(xchg *x)
{
    elaine_exchange_proc *p = x->conn->p;
    x->resp_done = 1;
    x->done_mono = p->cur_mono;
    if (x->resp_dec && !x->resp_raw)
        elaine_decoder_finish(x->resp_dec);
    if (x->sse) {
        elaine_sse_finish(x->sse);
        elaine_sse_free(x->sse);
        x->sse = NULL;
        return;
    }
    if (x->nd) {
        elaine_ndjson_finish(x->nd);
        elaine_ndjson_free(x->nd);
        x->nd = NULL;
        return;
    }
    x->r.resp.json = parse_body(&x->r.resp);
    if (x->prov && x->prov->response)
        x->prov->response(&x->r.llm, x->r.resp.status, x->r.resp.json);
}

static elaine_decoder *decoder_for(const elaine_xmsg *m)
{
    /* repeated Content-Encoding lines are one list: "gzip" then "br" is "gzip, br" */
    elaine_buf ce;
    elaine_buf_init(&ce);
    for (size_t i = 0; i < m->nheaders; i++) {
        if (!m->headers[i].name || strcmp(m->headers[i].name, "content-encoding") != 0)
            continue;
        if (ce.len)
            elaine_buf_adds(&ce, ", ");
        elaine_buf_adds(&ce, m->headers[i].value ? m->headers[i].value : "");
    }
    elaine_decoder *d = NULL;
    if (ce.p && !ce.oom && elaine_decode_supported(ce.p))
        d = elaine_decoder_new(ce.p);
    elaine_buf_free(&ce);
    return d;
}

/* ---- parser callbacks: requests ---- */

static xchg *first_without_request(xconn *c)
{
    for (xchg *x = c->fifo; x; x = x->next)
        if (!x->req_head)
            return x;
    return NULL;
}

static xchg *first_without_response(xconn *c)
{
    for (xchg *x = c->fifo; x; x = x->next)
        if (x->req_head && !x->resp_done)
            return x;
    return NULL;
}

static uint64_t wall_for_mono(uint64_t mono_ns)
{
    struct timespec rt, mt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    uint64_t now_wall = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    uint64_t now_mono = (uint64_t)mt.tv_sec * 1000000000u + (uint64_t)mt.tv_nsec;
    if (mono_ns && mono_ns <= now_mono && now_mono - mono_ns < now_wall)
        return now_wall - (now_mono - mono_ns);
    return now_wall;
}

/* ---- message parts, shared by HTTP/1 and HTTP/2 (times are p->cur_mono) ---- */

/* The request head of x: provider detection (Host or :authority, method,
 * path) and the body decoder. */
static void request_head(xchg *x, const elaine_http_head *h)
{
    elaine_exchange_proc *p = x->conn->p;
    x->req_head = 1;
    x->req_bytes = 1;
    x->last_out_mono = p->cur_mono;
    elaine_record_msg_set_head(&x->r.req, h);
    x->head_req = h->method && strcasecmp(h->method, "HEAD") == 0;
    char host[256];
    uint32_t port;
    elaine_record_server(&x->r, host, sizeof(host), &port);
    x->prov = elaine_provider_detect(&x->r.llm, host, h->method ? h->method : "",
                                     h->target ? h->target : "");
    x->req_dec = decoder_for(&x->r.req);
}

static void request_body(xchg *x, const uint8_t *data, size_t n)
{
    x->last_out_mono = x->conn->p->cur_mono;
    body_add(x->conn->p, x, &x->r.req, &x->req_dec, &x->req_raw, &x->req_bad, data, n);
}

static void request_end(xchg *x)
{
    x->last_out_mono = x->conn->p->cur_mono;
    finish_request(x);
}

/* A response head of x; interim: a 1xx that folds into the final one (only
 * its time counts). The final head picks the body decoder and the stream
 * decoder (SSE, NDJSON). */
static void response_head(xchg *x, const elaine_http_head *h, int interim)
{
    elaine_exchange_proc *p = x->conn->p;
    if (!x->first_in_mono)
        x->first_in_mono = p->cur_mono;
    if (interim)
        return;
    x->resp_head = 1;
    x->final_head_mono = p->cur_mono;
    elaine_record_msg_set_head(&x->r.resp, h);
    x->resp_dec = decoder_for(&x->r.resp);
    const char *ct = elaine_record_msg_header(&x->r.resp, "content-type");
    if (ct && strncasecmp(ct, "text/event-stream", 17) == 0)
        x->sse = elaine_sse_new(on_sse, x);
    else if ((ct && strncasecmp(ct, "application/x-ndjson", 20) == 0) ||
             (x->prov && x->prov->ndjson && x->r.llm.stream == 1 && h->status >= 200 &&
              h->status < 300 && !(ct && strncasecmp(ct, "application/json", 16) == 0)))
        x->nd = elaine_ndjson_new(0, on_ndjson, x);
}

static void response_body(xchg *x, const uint8_t *data, size_t n)
{
    body_add(x->conn->p, x, &x->r.resp, &x->resp_dec, &x->resp_raw, &x->resp_bad, data, n);
}

/* ---- HTTP/1 parser callbacks: requests ---- */

static int req_on_head(void *ud, const elaine_http_head *h)
{
    xconn *c = ud;
    elaine_exchange_proc *p = c->p;
    xchg *x = first_without_request(c);
    if (!x) { /* no RequestStart announced this one */
        uint64_t no = c->have_rs ? c->last_request_no + 1 : 0;
        x = xchg_new(c, p->cur_seq, no, p->cur_tid, wall_for_mono(p->cur_mono), p->cur_mono);
        if (!x)
            return 0;
    }
    c->req_x = x;
    request_head(x, h);
    return 0;
}

static void req_on_body(void *ud, const uint8_t *data, size_t n)
{
    xconn *c = ud;
    xchg *x = c->req_x;
    if (!x)
        return;
    request_body(x, data, n);
}

static void req_on_done(void *ud)
{
    xconn *c = ud;
    xchg *x = c->req_x;
    if (!x)
        return;
    c->req_x = NULL;
    request_end(x);
}

/* ---- HTTP/1 parser callbacks: responses ---- */

static int resp_on_head(void *ud, const elaine_http_head *h)
{
    xconn *c = ud;
    xchg *x = first_without_response(c);
    c->resp_x = x;
    c->resp_interim = 0;
    if (!x) {
        note(c, "response without a request; ignored");
        return 0;
    }
    int interim = h->status >= 100 && h->status < 200 && h->status != 101;
    response_head(x, h, interim);
    if (interim) {
        c->resp_interim = 1; /* folds into the final response */
        return 0;
    }
    if (h->status == 101)
        c->upgrade = 1;
    return x->head_req;
}

static void resp_on_body(void *ud, const uint8_t *data, size_t n)
{
    xconn *c = ud;
    xchg *x = c->resp_x;
    if (!x || c->resp_interim)
        return;
    response_body(x, data, n);
}

static void resp_on_done(void *ud)
{
    xconn *c = ud;
    xchg *x = c->resp_x;
    if (c->resp_interim) {
        c->resp_interim = 0;
        return;
    }
    c->resp_x = NULL;
    if (!x)
        return;
    complete_response(x);
    finish(x, NULL);
}

/* ---- connections ---- */

static void free_parsers(xconn *c)
{
    elaine_http1_free(c->reqp);
    elaine_http1_free(c->respp);
    c->reqp = c->respp = NULL;
    c->req_x = c->resp_x = NULL;
    c->resp_interim = 0;
}

static int reset_parsers(xconn *c)
{
    free_parsers(c);
    elaine_http1_cb rq = {c, req_on_head, req_on_body, req_on_done};
    elaine_http1_cb rs = {c, resp_on_head, resp_on_body, resp_on_done};
    c->reqp = elaine_http1_new(1, &rq);
    c->respp = elaine_http1_new(0, &rs);
    c->upgrade = 0;
    c->out_bytes = 0;
    if (!c->reqp || !c->respp) {
        free_parsers(c);
        return -ENOMEM;
    }
    return 0;
}

/* Writes (with error) or discards every exchange of c. */
static void flush_conn(xconn *c, const char *error)
{
    while (c->fifo)
        finish(c->fifo, error);
}

/* Data of c is ignored from now on; what is in flight is dropped silently. */
static void kill_conn(xconn *c, const char *why)
{
    note(c, why);
    while (c->fifo) {
        xchg *x = c->fifo;
        unlink_xchg(c, x);
        xchg_free(x);
    }
    free_parsers(c);
    c->dead = 1;
    c->synced = 0;
}

static xconn *find_conn(elaine_exchange_proc *p, uint64_t id)
{
    for (xconn **pp = &p->conns; *pp; pp = &(*pp)->next) {
        xconn *c = *pp;
        if (c->id == id) {
            if (pp != &p->conns) { /* move to front */
                *pp = c->next;
                c->next = p->conns;
                p->conns = c;
            }
            return c;
        }
    }
    return NULL;
}

static xconn *new_conn(elaine_exchange_proc *p, uint64_t id)
{
    xconn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->p = p;
    c->id = id;
    if (reset_parsers(c) < 0) {
        free(c);
        return NULL;
    }
    c->next = p->conns;
    p->conns = c;
    return c;
}

static void free_conn(elaine_exchange_proc *p, xconn *c)
{
    for (xconn **pp = &p->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    while (c->fifo) {
        xchg *x = c->fifo;
        unlink_xchg(c, x);
        xchg_free(x);
    }
    free_parsers(c);
    elaine_http2_free(c->h2dec);
    free(c->hint_stack);
    free(c->host);
    free(c->sni);
    free(c);
}

static int set_str(char **dst, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        return -ENOMEM;
    free(*dst);
    *dst = d;
    return 0;
}

/* Names n raw addresses into x's stack. */
static void name_stack(elaine_exchange_proc *p, xchg *x, const uint64_t *addrs, size_t n)
{
    if (!p->o.name_stacks || !n)
        return;
    if (!p->stack)
        p->stack = elaine_stack_new(p->pid, p->start_time);
    if (p->stack && elaine_stack_name(p->stack, addrs, n, &x->r.stack) == 0)
        x->r.nstack = n;
}

/* ---- HTTP/2 connections ----
 *
 * One elaine_http2 decodes both directions; each stream is one xchg whose
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
                            : wall_for_mono(mono);
    xchg *x = xchg_new(c, p->cur_seq, stream, c->hint ? c->hint_tid : p->cur_tid, wall, mono);
    if (!x)
        return;
    x->stream = stream;
    x->resp_clen = -1;
    if (c->hint)
        name_stack(p, x, c->hint_stack, c->hint_nstack);
    request_head(x, h);
}

static void h2_on_request_data(void *ud, uint32_t stream, const uint8_t *data, size_t n,
                               uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x && !x->req_done)
        request_body(x, data, n);
}

static void h2_on_request_end(void *ud, uint32_t stream, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x && !x->req_done)
        request_end(x);
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
static void h2_response_done(xchg *x)
{
    complete_response(x);
    finish(x, NULL);
}

static void h2_on_response_head(void *ud, uint32_t stream, const elaine_http_head *h,
                                int informational, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (!x) /* a pushed stream, not recorded */
        return;
    response_head(x, h, informational);
    if (informational)
        return;
    x->resp_clen = h2_content_length(x, h);
    if (x->resp_clen == 0)
        h2_response_done(x);
}

static void h2_on_response_data(void *ud, uint32_t stream, const uint8_t *data, size_t n,
                                uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (!x || !x->resp_head)
        return;
    response_body(x, data, n);
    x->resp_wire += n;
    if (x->resp_clen >= 0 && x->resp_wire >= (uint64_t)x->resp_clen)
        h2_response_done(x);
}

static void h2_on_response_end(void *ud, uint32_t stream, uint64_t mono)
{
    (void)mono;
    xchg *x = h2_stream(ud, stream);
    if (x)
        h2_response_done(x);
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
    finish(x, x->err);
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
            finish(x, ERR_H2_GOAWAY);
        x = next;
    }
}

/* c speaks HTTP/2 from here on: its first event was first_seq. Exchanges an
 * HTTP/1 RequestStart opened carry no bytes yet and go. */
static int h2_start(xconn *c, uint64_t first_seq)
{
    flush_conn(c, ELAINE_ERR_GAP);
    free_parsers(c);
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
    note(c, "HTTP/2 (ALPN h2 or the connection preface)");
    return 0;
}

/* The connection cannot be followed any more (events dropped, or bytes the
 * decoder refuses): every open stream is written with error, the rest of the
 * connection is ignored. */
static void h2_drop(xconn *c, const char *error)
{
    note(c, error);
    flush_conn(c, error);
    elaine_http2_free(c->h2dec);
    c->h2dec = NULL;
    c->dead = 1;
    c->synced = 0;
}

/* 1 when d starts prior-knowledge HTTP/2 on c: the preface as c's first
 * request bytes (at least "PRI", which no HTTP/1 method starts with), or
 * the whole preface on a connection not followed yet (it starts a connection). */
static int h2_preface_at(const xconn *c, const Elaine__Data *d)
{
    if (d->dir != ELAINE__DIRECTION__DIR_OUT || c->h2dec)
        return 0;
    size_t need = c->synced && !c->h2 && c->reqp && c->out_bytes == 0 ? 3 : ELAINE_HTTP2_PREFACE_LEN;
    return d->data.len >= need && elaine_http2_is_preface(d->data.data, d->data.len);
}

static void h2_data(xconn *c, const Elaine__Data *d)
{
    int rc = elaine_http2_feed(c->h2dec, d->dir == ELAINE__DIRECTION__DIR_IN, d->data.data,
                               d->data.len, d->mono_ns);
    if (rc < 0)
        h2_drop(c, ERR_H2_PROTO);
}

/* The watermark stays at c's first event (see above). */
static int h2_holds(const xconn *c)
{
    return c->h2dec && c->p->in_bytes - c->hold_from <= H2_HOLD_MAX;
}

/* Keeps the latest RequestStart of c as a hint for HTTP/2 streams. */
static void keep_hint(xconn *c, const Elaine__RequestStart *rs)
{
    c->hint = 1;
    c->hint_tid = rs->tid;
    c->hint_wall = rs->wall_ns;
    c->hint_mono = rs->mono_ns;
    c->hint_nstack = 0;
    if (!rs->n_stack || !c->p->o.name_stacks)
        return;
    uint64_t *st = realloc(c->hint_stack, rs->n_stack * sizeof(*st));
    if (!st)
        return;
    memcpy(st, rs->stack, rs->n_stack * sizeof(*st));
    c->hint_stack = st;
    c->hint_nstack = rs->n_stack;
}

/* ---- events ---- */

static int ev_conn_open(elaine_exchange_proc *p, uint64_t seq, const Elaine__ConnOpen *o)
{
    xconn *c = find_conn(p, o->conn_id);
    if (c && seq == 0)
        return 0; /* re-announcement of a connection we know */
    if (!c) {
        c = new_conn(p, o->conn_id);
        if (!c)
            return -ENOMEM;
        c->synced = seq != 0;
        c->sync_seq = seq;
    }
    if (set_str(&c->host, o->host) < 0 || set_str(&c->sni, o->sni) < 0)
        return -ENOMEM;
    c->port = o->port;
    c->tls = o->tls;
    for (xchg *x = c->fifo; x; x = x->next) { /* they pointed at the old strings */
        x->r.conn_host = c->host;
        x->r.conn_port = c->port;
        x->r.sni = c->sni;
        x->r.tls = c->tls;
    }
    if (o->alpn && strcmp(o->alpn, "h2") == 0) {
        if (seq != 0)
            return h2_start(c, seq); /* the connection's start: the preface follows */
        c->h2 = 1; /* re-announced: unsynced until the shim resends its start */
        free_parsers(c);
    }
    return 0;
}

static int ev_request_start(elaine_exchange_proc *p, uint64_t seq, const Elaine__RequestStart *rs)
{
    xconn *c = find_conn(p, rs->conn_id);
    if (!c) {
        c = new_conn(p, rs->conn_id);
        if (!c)
            return -ENOMEM;
    }
    keep_hint(c, rs);
    if (c->h2) { /* only a hint, and no sync point: HPACK state is lost with a gap */
        if (rs->gap && c->h2dec)
            h2_drop(c, ELAINE_ERR_GAP);
        return 0;
    }
    if (rs->gap) {
        flush_conn(c, ELAINE_ERR_GAP);
        if (reset_parsers(c) < 0)
            return -ENOMEM;
        c->dead = 0;
        c->synced = 1;
        c->sync_seq = seq;
    } else if (c->dead) {
        return 0;
    } else if (!c->synced) {
        flush_conn(c, ELAINE_ERR_GAP);
        if (reset_parsers(c) < 0)
            return -ENOMEM;
        c->synced = 1;
        c->sync_seq = seq;
    } else if (c->reqp && elaine_http1_in_message(c->reqp)) {
        /* the request before is still being written (e.g. a body after 100-continue) */
        return 0;
    }
    xchg *x = xchg_new(c, seq, rs->request_no, rs->tid, rs->wall_ns, rs->mono_ns);
    if (!x)
        return -ENOMEM;
    name_stack(p, x, rs->stack, rs->n_stack);
    return 0;
}

static void after_feed(xconn *c, int rc)
{
    if (rc < 0)
        kill_conn(c, "not HTTP/1.x (HTTP/2 preface or garbage); connection ignored");
    else if (c->upgrade)
        kill_conn(c, "protocol upgrade (101); rest of the connection ignored");
}

static int ev_data(elaine_exchange_proc *p, const Elaine__Data *d)
{
    xconn *c = find_conn(p, d->conn_id);
    if (!c || c->dead)
        return 0;
    p->cur_mono = d->mono_ns;
    p->cur_tid = d->tid;
    if (h2_preface_at(c, d) && h2_start(c, c->synced ? c->sync_seq : p->cur_seq) < 0)
        return 0;
    if (c->h2dec) {
        h2_data(c, d);
        return 0;
    }
    if (!c->synced || !c->reqp)
        return 0;
    if (d->dir == ELAINE__DIRECTION__DIR_OUT) {
        xchg *x = c->req_x ? c->req_x : first_without_request(c);
        if (x) {
            x->last_out_mono = d->mono_ns;
            x->req_bytes = 1;
        }
        c->out_bytes += d->data.len;
        after_feed(c, elaine_http1_feed(c->reqp, d->data.data, d->data.len));
    } else {
        xchg *x = c->resp_x ? c->resp_x : first_without_response(c);
        if (x && !x->first_in_mono)
            x->first_in_mono = d->mono_ns;
        after_feed(c, elaine_http1_feed(c->respp, d->data.data, d->data.len));
    }
    return 0;
}

static int ev_close(elaine_exchange_proc *p, const Elaine__Close *cl)
{
    xconn *c = find_conn(p, cl->conn_id);
    if (!c)
        return 0;
    if (!c->dead && c->synced && c->h2dec) {
        if (cl->mono_ns)
            p->cur_mono = cl->mono_ns;
        elaine_http2_eof(c->h2dec);
        flush_conn(c, ELAINE_ERR_CLOSED);
    } else if (!c->dead && c->synced && c->respp) {
        if (cl->mono_ns)
            p->cur_mono = cl->mono_ns;
        elaine_http1_eof(c->respp);
        flush_conn(c, ELAINE_ERR_CLOSED);
    }
    free_conn(p, c);
    return 0;
}

int elaine_exchange_event(elaine_exchange_proc *p, const Elaine__Event *ev)
{
    if (ev->seq == 0 && ev->body_case != ELAINE__EVENT__BODY_CONN_OPEN)
        return -EINVAL;
    if (ev->seq != 0) {
        if (ev->seq <= p->max_seq)
            return 1;
    }
    switch (ev->body_case) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        if (!ev->conn_open)
            return -EINVAL;
        break;
    case ELAINE__EVENT__BODY_REQUEST_START:
        if (!ev->request_start)
            return -EINVAL;
        break;
    case ELAINE__EVENT__BODY_DATA:
        if (!ev->data || (ev->data->dir != ELAINE__DIRECTION__DIR_OUT &&
                          ev->data->dir != ELAINE__DIRECTION__DIR_IN))
            return -EINVAL;
        break;
    case ELAINE__EVENT__BODY_CLOSE:
        if (!ev->close)
            return -EINVAL;
        break;
    case ELAINE__EVENT__BODY_DROP:
        if (!ev->drop)
            return -EINVAL;
        break;
    case ELAINE__EVENT__BODY_MODULE:
        break;
    default:
        return -EINVAL;
    }
    if (ev->seq > p->max_seq)
        p->max_seq = ev->seq;
    p->cur_seq = ev->seq;
    p->in_bytes += EVENT_COST;
    if (ev->body_case == ELAINE__EVENT__BODY_DATA)
        p->in_bytes += ev->data->data.len;
    else if (ev->body_case == ELAINE__EVENT__BODY_REQUEST_START)
        p->in_bytes += ev->request_start->n_stack * sizeof(uint64_t);
    switch (ev->body_case) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        ev_conn_open(p, ev->seq, ev->conn_open); /* ENOMEM: the connection stays unknown */
        return 0;
    case ELAINE__EVENT__BODY_REQUEST_START:
        ev_request_start(p, ev->seq, ev->request_start); /* ENOMEM: data waits for the next one */
        return 0;
    case ELAINE__EVENT__BODY_DATA:
        return ev_data(p, ev->data);
    case ELAINE__EVENT__BODY_CLOSE:
        return ev_close(p, ev->close);
    case ELAINE__EVENT__BODY_DROP:
        if (p->o.sink.drop &&
            p->o.sink.drop(p->o.sink.ud, p->pid, ev->drop->events, ev->drop->bytes) < 0 &&
            ev->seq < p->hold_seq)
            p->hold_seq = ev->seq;
        return 0;
    default: /* Module: names come from /proc/PID/maps for now */
        return 0;
    }
}

/* ---- process ---- */

elaine_exchange_proc *elaine_exchange_proc_new(const elaine_exchange_opts *o, uint32_t pid,
                                               uint64_t start_time, const char *exe)
{
    elaine_exchange_proc *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->o = *o;
    if (!p->o.max_body)
        p->o.max_body = DEFAULT_MAX_BODY;
    p->pid = pid;
    p->start_time = start_time;
    p->exe = strdup(exe ? exe : "");
    if (!p->exe) {
        free(p);
        return NULL;
    }
    p->hold_seq = UINT64_MAX;
    elaine_buf_init(&p->scratch);
    if (p->o.name_stacks && (p->stack = elaine_stack_new(pid, start_time)) != NULL)
        elaine_stack_snapshot(p->stack); /* the client may exit before its first stack is named */
    return p;
}

void elaine_exchange_finish_all(elaine_exchange_proc *p, const char *error)
{
    while (p->conns) {
        xconn *c = p->conns;
        flush_conn(c, error);
        free_conn(p, c);
    }
}

void elaine_exchange_proc_free(elaine_exchange_proc *p)
{
    if (!p)
        return;
    while (p->conns)
        free_conn(p, p->conns);
    elaine_stack_free(p->stack);
    elaine_buf_free(&p->scratch);
    free(p->exe);
    free(p);
}

uint64_t elaine_exchange_watermark(const elaine_exchange_proc *p)
{
    uint64_t wm = p->max_seq + 1;
    if (p->hold_seq < wm)
        wm = p->hold_seq;
    for (const xconn *c = p->conns; c; c = c->next) {
        if (h2_holds(c) && c->first_seq < wm)
            wm = c->first_seq;
        for (const xchg *x = c->fifo; x; x = x->next)
            if (x->seq < wm)
                wm = x->seq;
    }
    return wm;
}

uint64_t elaine_exchange_max_seq(const elaine_exchange_proc *p)
{
    return p->max_seq;
}

size_t elaine_exchange_inflight(const elaine_exchange_proc *p)
{
    size_t n = 0;
    for (const xconn *c = p->conns; c; c = c->next)
        for (const xchg *x = c->fifo; x; x = x->next)
            n++;
    return n;
}

size_t elaine_exchange_conns(const elaine_exchange_proc *p)
{
    size_t n = 0;
    for (const xconn *c = p->conns; c; c = c->next)
        n++;
    return n;
}
