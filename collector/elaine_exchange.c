/* Per-process reassembly: events in (deduplicated by seq), finished exchanges out, the ack
 * watermark; the connections and the message paths (bodies, content decoding, SSE, NDJSON)
 * that HTTP/1.1 (elaine_exchange_h1.c) and HTTP/2 (elaine_exchange_h2.c) share. */
#include "elaine_exchange.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "elaine_exchange_int.h"

#define DEFAULT_MAX_BODY (8u << 20)
#define SCRATCH_MIN (16u << 20) /* decoded bytes per fed slice, at least */
#define EVENT_COST 64            /* what an event costs the shim's queue besides its bytes, about */

void elaine_exchange_note(const xconn *c, const char *what)
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
    if (x->prov && x->prov->stream_last && !x->stream_last_seen)
        x->stream_last_seen = x->prov->stream_last(&x->r.llm, event, data, n);
}

static void on_ndjson(void *ud, const char *line, size_t n)
{
    on_sse(ud, "", line, n);
}

/* Finished exchanges are kept (up to SPARE_MAX a process) for the next
 * ones instead of a calloc and a free each, with the buffers of their
 * bodies and output texts (up to SPARE_BUF_MAX each), emptied: the next
 * exchange appends to them without a malloc. */
#define SPARE_MAX 4
#define SPARE_BUF_MAX (64u << 10)

/* Moves *from, emptied, to *to (or frees it when it is big or failed),
 * leaving *from without a buffer. */
static void take_buf(elaine_buf *to, elaine_buf *from)
{
    if (from->p && from->cap > SPARE_BUF_MAX && !from->oom) {
        /* a big one cut down to SPARE_BUF_MAX (in place): the next body
         * of its size grows from there, not from 64 bytes by doubling */
        char *np = realloc(from->p, SPARE_BUF_MAX);
        if (np) {
            from->p = np;
            from->cap = SPARE_BUF_MAX;
        }
    }
    if (from->p && from->cap <= SPARE_BUF_MAX && !from->oom) {
        from->len = 0; /* elaine_buf_reset */
        from->p[0] = 0;
    } else {
        elaine_buf_free(from);
    }
    *to = *from;
    memset(from, 0, sizeof(*from)); /* elaine_buf_init */
}

/* The messages and the LLM fields of an exchange are set up by their own
 * init functions in elaine_exchange_open; a kept exchange zeroes the rest
 * of itself, as calloc had: what comes before them and what after. */
_Static_assert(offsetof(elaine_xrec, resp) == offsetof(elaine_xrec, req) + sizeof(elaine_xmsg) &&
                   offsetof(elaine_xrec, llm) == offsetof(elaine_xrec, resp) + sizeof(elaine_xmsg),
               "req, resp and llm follow each other");

static void xchg_clear(xchg *x)
{
    memset(x, 0, offsetof(xchg, r) + offsetof(elaine_xrec, req));
    char *after = (char *)&x->r.llm + sizeof(x->r.llm);
    memset(after, 0, (size_t)((char *)(x + 1) - after));
}

static void xchg_free(xchg *x)
{
    elaine_exchange_proc *p = x->conn->p;
    int keep = p->nspare < SPARE_MAX;
    elaine_buf kept[3];
    if (keep) { /* the buffers out of the way of the frees */
        take_buf(&kept[0], &x->r.req.body);
        take_buf(&kept[1], &x->r.resp.body);
        take_buf(&kept[2], &x->r.llm.output_text);
    }
    elaine_record_msg_free(&x->r.req);
    elaine_record_msg_free(&x->r.resp);
    elaine_llm_free(&x->r.llm);
    elaine_stack_frames_free(x->r.stack, x->r.nstack);
    elaine_decoder_free(x->req_dec);
    elaine_decoder_free(x->resp_dec);
    elaine_sse_free(x->sse);
    elaine_ndjson_free(x->nd);
    if (!keep) {
        free(x);
        return;
    }
    xchg_clear(x);
    x->r.req.body = kept[0]; /* (kept while it waits; set again after the inits) */
    x->r.resp.body = kept[1];
    x->r.llm.output_text = kept[2];
    x->next = p->spare;
    p->spare = x;
    p->nspare++;
}

static void free_spares(elaine_exchange_proc *p)
{
    while (p->spare) {
        xchg *x = p->spare;
        p->spare = x->next;
        elaine_buf_free(&x->r.req.body);
        elaine_buf_free(&x->r.resp.body);
        elaine_buf_free(&x->r.llm.output_text);
        free(x);
    }
    p->nspare = 0;
}

xchg *elaine_exchange_open(xconn *c, uint64_t seq, uint64_t request_no, uint32_t tid,
                           uint64_t wall_ns, uint64_t mono_ns)
{
    elaine_exchange_proc *p = c->p;
    xchg *x = p->spare;
    elaine_buf kept[3];
    if (x) {
        p->spare = x->next;
        p->nspare--;
        x->next = NULL;
        kept[0] = x->r.req.body;
        kept[1] = x->r.resp.body;
        kept[2] = x->r.llm.output_text;
    } else {
        x = calloc(1, sizeof(*x));
        if (!x)
            return NULL;
        elaine_buf_init(&kept[0]);
        elaine_buf_init(&kept[1]);
        elaine_buf_init(&kept[2]);
    }
    x->conn = c;
    x->seq = seq;
    x->rs_mono = mono_ns;
    x->r.pid = p->pid;
    x->r.start_time = p->start_time;
    x->r.exe = p->exe;
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
    x->r.req.body = kept[0];
    x->r.resp.body = kept[1];
    x->r.llm.output_text = kept[2];
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
                elaine_exchange_note(x->conn, "content decoding failed; rest of the body ignored");
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
        size_t len = (size_t)(strchrnul(t, '?') - t); /* strcspn(t, "?") */
        char local[256];
        char *path = len < sizeof(local) ? local : malloc(len + 1);
        if (path) {
            memcpy(path, t, len);
            path[len] = 0;
            x->prov->request(&x->r.llm, path, x->r.req.json);
        }
        if (path != local)
            free(path);
    }
}

static double ms_between(uint64_t from, uint64_t to)
{
    if (!from || !to)
        return -1;
    return to >= from ? (double)(to - from) / 1e6 : 0.0;
}

void elaine_exchange_finish(xchg *x, const char *error)
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

/* A response that came whole but is not what its headers say: NULL, or the error. */
static const char *response_problem(const xchg *x)
{
    const elaine_xmsg *m = &x->r.resp;
    if (x->resp_raw || x->resp_bad)
        return ELAINE_ERR_DECODE;
    const char *ct = ELAINE_RECORD_MSG_HEADER(m, "content-type");
    size_t tl = ct ? (size_t)(strchrnul(ct, ';') - ct) : 0; /* strcspn(ct, ";") */
    int json = ct && ((tl == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
                      (tl > 5 && strncasecmp(ct + tl - 5, "+json", 5) == 0));
    if (json && !m->json && m->body.len && !m->body_truncated)
        return ELAINE_ERR_BAD_JSON;
    /* a stream of a provider with an end marker that never came: the server
     * (or a proxy) cut it, also when HTTP says the body was whole (a
     * close-delimited body ends with any close); an error event ends it too */
    if (x->streamed && x->prov && x->prov->stream_last && !x->stream_last_seen &&
        m->status >= 200 && m->status < 300 && !x->r.llm.error_type && !x->r.llm.error_message &&
        !m->body_truncated && !x->resp_bad)
        return ELAINE_ERR_STREAM_END;
    return NULL;
}

void elaine_exchange_response_end(xchg *x)
{
    x->streamed = x->sse || x->nd;
    complete_response(x);
    elaine_exchange_finish(x, response_problem(x));
}

static elaine_decoder *decoder_for(const elaine_xmsg *m)
{
    /* repeated Content-Encoding lines are one list: "gzip" then "br" is "gzip, br" */
    /* the first one (the usual head has none: no buffer then); names of
     * another length are passed over without a look at their bytes */
    size_t n = m->nheaders, first = 0;
    const size_t *lens = m->header_lens;
    const elaine_http_header *h = m->headers;
    if (lens) {
        for (; first < n; first++)
            if (lens[2 * first] == 16 && h[first].name && memcmp(h[first].name, "content-encoding", 16) == 0)
                break;
    } else {
        for (; first < n; first++)
            if (h[first].name && h[first].name[0] == 'c' && strcmp(h[first].name, "content-encoding") == 0)
                break;
    }
    if (first == n)
        return NULL;
    elaine_buf ce;
    elaine_buf_init(&ce);
    for (size_t i = first; i < m->nheaders; i++) {
        const char *name = m->headers[i].name;
        if (!name || name[0] != 'c' || strcmp(name, "content-encoding") != 0)
            continue; /* (names are lower-case: the first byte rules out most) */
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

uint64_t elaine_exchange_wall_for_mono(uint64_t mono_ns)
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
void elaine_exchange_request_head(xchg *x, const elaine_http_head *h)
{
    elaine_exchange_proc *p = x->conn->p;
    x->req_head = 1;
    x->req_bytes = 1;
    x->last_out_mono = p->cur_mono;
    elaine_record_msg_set_head(&x->r.req, h);
    x->head_req = h->method && (h->method[0] | 0x20) == 'h' && strcasecmp(h->method, "HEAD") == 0;
    char host[256];
    uint32_t port;
    elaine_record_server(&x->r, host, sizeof(host), &port);
    x->prov = elaine_provider_detect(&x->r.llm, host, h->method ? h->method : "",
                                     h->target ? h->target : "");
    x->req_dec = decoder_for(&x->r.req);
}

void elaine_exchange_request_body(xchg *x, const uint8_t *data, size_t n)
{
    x->last_out_mono = x->conn->p->cur_mono;
    body_add(x->conn->p, x, &x->r.req, &x->req_dec, &x->req_raw, &x->req_bad, data, n);
}

void elaine_exchange_request_end(xchg *x)
{
    x->last_out_mono = x->conn->p->cur_mono;
    finish_request(x);
}

/* A response head of x; interim: a 1xx that folds into the final one (only
 * its time counts). The final head picks the body decoder and the stream
 * decoder (SSE, NDJSON). */
void elaine_exchange_response_head(xchg *x, const elaine_http_head *h, int interim)
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
    const char *ct = ELAINE_RECORD_MSG_HEADER(&x->r.resp, "content-type");
    if (ct && (ct[0] | 0x20) == 't' && strncasecmp(ct, "text/event-stream", 17) == 0)
        x->sse = elaine_sse_new(on_sse, x);
    else if ((ct && strnlen(ct, 20) == 20 && strncasecmp(ct, "application/x-ndjson", 20) == 0) ||
             (x->prov && x->prov->ndjson && x->r.llm.stream == 1 && h->status >= 200 &&
              h->status < 300 && !(ct && strncasecmp(ct, "application/json", 16) == 0)))
        x->nd = elaine_ndjson_new(0, on_ndjson, x);
}

void elaine_exchange_response_body(xchg *x, const uint8_t *data, size_t n)
{
    body_add(x->conn->p, x, &x->r.resp, &x->resp_dec, &x->resp_raw, &x->resp_bad, data, n);
}

/* ---- connections ---- */

void elaine_exchange_flush(xconn *c, const char *error)
{
    while (c->fifo)
        elaine_exchange_finish(c->fifo, error);
}

void elaine_exchange_discard(xconn *c)
{
    while (c->fifo) {
        xchg *x = c->fifo;
        unlink_xchg(c, x);
        xchg_free(x);
    }
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
    if (elaine_exchange_h1_reset(c) < 0) {
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
    elaine_exchange_discard(c);
    elaine_exchange_h1_free(c);
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

void elaine_exchange_name_stack(elaine_exchange_proc *p, xchg *x, const uint64_t *addrs, size_t n)
{
    if (!p->o.name_stacks || !n)
        return;
    if (!p->stack)
        p->stack = elaine_stack_new(p->pid, p->start_time);
    if (p->stack && elaine_stack_name(p->stack, addrs, n, &x->r.stack) == 0) {
        x->r.nstack = n;
        x->r.stack_json = elaine_stack_json(x->r.stack, n);
    }
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
        if (seq != 0) /* the connection's start: the preface follows */
            return elaine_exchange_h2_start(c, seq);
        c->h2 = 1; /* re-announced: unsynced until the shim resends its start */
        elaine_exchange_h1_free(c);
    }
    return 0;
}

/* HTTP/1: a sync point and the exchange it announces; HTTP/2: a hint for the
 * streams whose heads follow (and no sync point: HPACK state is lost with a
 * gap). Either way the hint is kept: a connection may turn out to be HTTP/2. */
static int ev_request_start(elaine_exchange_proc *p, uint64_t seq, const Elaine__RequestStart *rs)
{
    xconn *c = find_conn(p, rs->conn_id);
    if (!c) {
        c = new_conn(p, rs->conn_id);
        if (!c)
            return -ENOMEM;
    }
    elaine_exchange_h2_hint(c, rs);
    if (c->h2) {
        if (rs->gap && c->h2dec)
            elaine_exchange_h2_drop(c, ELAINE_ERR_GAP);
        return 0;
    }
    return elaine_exchange_h1_request_start(c, seq, rs);
}

static __attribute__((noinline)) int ev_data(elaine_exchange_proc *p, const Elaine__Data *d)
{
    xconn *c = find_conn(p, d->conn_id);
    if (!c || c->dead)
        return 0;
    p->cur_mono = d->mono_ns;
    p->cur_tid = d->tid;
    /* (the preface starts with "PRI", which no HTTP/1 method does: most data is ruled out here) */
    if (d->dir == ELAINE__DIRECTION__DIR_OUT && d->data.len >= 3 && d->data.data[0] == 'P' &&
        d->data.data[1] == 'R' && d->data.data[2] == 'I' && elaine_exchange_h2_preface_at(c, d) &&
        elaine_exchange_h2_start(c, c->synced ? c->sync_seq : p->cur_seq) < 0)
        return 0;
    if (c->h2dec)
        elaine_exchange_h2_data(c, d);
    else
        elaine_exchange_h1_data(c, d);
    return 0;
}

static int ev_close(elaine_exchange_proc *p, const Elaine__Close *cl)
{
    xconn *c = find_conn(p, cl->conn_id);
    if (!c)
        return 0;
    if (!c->dead && c->synced && (c->h2dec || c->respp)) {
        if (cl->mono_ns)
            p->cur_mono = cl->mono_ns;
        if (c->h2dec)
            elaine_http2_eof(c->h2dec);
        else
            elaine_http1_eof(c->respp);
        elaine_exchange_flush(c, ELAINE_ERR_CLOSED);
    }
    free_conn(p, c);
    return 0;
}

static __attribute__((noinline)) int event_other(elaine_exchange_proc *p, const Elaine__Event *ev);

int elaine_exchange_event(elaine_exchange_proc *p, const Elaine__Event *ev)
{
    /* four of five events are Data: the checks of event_other in short, and
     * both ways end in a tail call (no frame here) */
    if (ev->body_case != ELAINE__EVENT__BODY_DATA)
        return event_other(p, ev);
    const Elaine__Data *d = ev->data;
    if (ev->seq == 0)
        return -EINVAL;
    if (ev->seq <= p->max_seq)
        return 1;
    if (!d || (d->dir != ELAINE__DIRECTION__DIR_OUT && d->dir != ELAINE__DIRECTION__DIR_IN))
        return -EINVAL;
    p->max_seq = p->cur_seq = ev->seq;
    p->in_bytes += EVENT_COST + d->data.len;
    return ev_data(p, d);
}

static int event_other(elaine_exchange_proc *p, const Elaine__Event *ev)
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
        elaine_exchange_flush(c, error);
        free_conn(p, c);
    }
}

void elaine_exchange_proc_free(elaine_exchange_proc *p)
{
    if (!p)
        return;
    while (p->conns)
        free_conn(p, p->conns);
    free_spares(p);
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
        if (elaine_exchange_h2_holds(c) && c->first_seq < wm)
            wm = c->first_seq;
        for (const xchg *x = c->fifo; x; x = x->next)
            if (x->seq < wm)
                wm = x->seq;
    }
    return wm;
}

void elaine_exchange_hold(elaine_exchange_proc *p, uint64_t seq)
{
    if (seq < p->hold_seq)
        p->hold_seq = seq;
}

int elaine_exchange_held(const elaine_exchange_proc *p)
{
    return p->hold_seq != UINT64_MAX;
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
