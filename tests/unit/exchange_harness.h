/* The exchange layer's test harness: a sink that keeps the records, a process, record
 * accessors, synthetic shim events, and the chat fixtures the exchange tests share. */
#ifndef ELAINE_TEST_EXCHANGE_HARNESS_H
#define ELAINE_TEST_EXCHANGE_HARNESS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "elaine_buf.h"
#include "elaine_exchange.h"
#include "elaine_json.h"
#include "elaine_record.h"

#define MS 1000000ull
#define PID 4242
#define START 777
#define WALL 1796418191123456789ull /* 2026-12-04T21:03:11.123456Z */
#define TID 99                      /* the thread of ev_rs and ev_data */

#define CHECK_NUM(got, want) CHECK((got) > (want) - 0.0005 && (got) < (want) + 0.0005)

/* ---- capture sink ---- */

#define CAP_MAX 16

/* What the sink was given: the first CAP_MAX records (n counts those), each
 * as its line and parsed; the drops. Zero it to start; cap_reset frees. */
typedef struct cap {
    int n;
    ej_val *rec[CAP_MAX];
    char *line[CAP_MAX];
    int fail_next; /* 1: the next record fails to write (-ENOSPC) and is not kept */
    int drops;
    uint64_t drop_events, drop_bytes;
} cap;

static inline int cap_exchange(void *ud, const elaine_xrec *x)
{
    cap *c = ud;
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_exchange(&b, x, ELAINE_CONTENT_FULL);
    if (c->fail_next) {
        c->fail_next = 0;
        elaine_buf_free(&b);
        return -ENOSPC;
    }
    if (c->n < CAP_MAX) {
        c->line[c->n] = elaine_buf_take(&b);
        c->rec[c->n] = elaine_json_parse(c->line[c->n], strlen(c->line[c->n]));
        if (!c->rec[c->n])
            fprintf(stderr, "record is not JSON: %s\n", c->line[c->n]);
        c->n++;
    }
    elaine_buf_free(&b);
    return 0;
}

static inline int cap_drop(void *ud, uint32_t pid, uint64_t events, uint64_t bytes)
{
    cap *c = ud;
    CHECK_INT(pid, PID);
    c->drops++;
    c->drop_events += events;
    c->drop_bytes += bytes;
    return 0;
}

static inline void cap_reset(cap *c)
{
    for (int i = 0; i < c->n; i++) {
        elaine_json_free(c->rec[i]);
        free(c->line[i]);
    }
    memset(c, 0, sizeof(*c));
}

/* A process (start time START) writing to c; stacks: name stack addresses;
 * max_body 0: the default. */
static inline elaine_exchange_proc *proc_new(cap *c, uint32_t pid, int stacks, size_t max_body,
                                             const char *exe)
{
    elaine_exchange_opts o = {.max_body = max_body, .name_stacks = stacks,
                              .sink = {.ud = c, .exchange = cap_exchange, .drop = cap_drop}};
    return elaine_exchange_proc_new(&o, pid, START, exe);
}

/* ---- record access: r may be NULL; a missing key is NULL, -999 or 0 ---- */

static inline const char *jstr(const ej_val *r, const char *path)
{
    return r ? elaine_json_str(elaine_json_path(r, path)) : NULL;
}

static inline int64_t jint(const ej_val *r, const char *path)
{
    int64_t v = -999;
    if (!r || elaine_json_int(elaine_json_path(r, path), &v) < 0)
        return -999;
    return v;
}

static inline double jnum(const ej_val *r, const char *path)
{
    const char *t = r ? elaine_json_num_text(elaine_json_path(r, path)) : NULL;
    return t ? strtod(t, NULL) : -999.0;
}

static inline int jnull(const ej_val *r, const char *path)
{
    const ej_val *v = r ? elaine_json_path(r, path) : NULL;
    return v && elaine_json_type(v) == EJ_NULL;
}

static inline int jabsent(const ej_val *r, const char *path)
{
    return elaine_json_path(r, path) == NULL;
}

/* ---- events: each is applied at once; the result of elaine_exchange_event ---- */

static inline int ev_open(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, const char *host,
                          uint32_t port, int tls, const char *alpn)
{
    Elaine__ConnOpen o = ELAINE__CONN_OPEN__INIT;
    o.conn_id = conn;
    o.host = (char *)host;
    o.sni = (char *)host;
    o.port = port;
    o.tls = tls;
    o.alpn = (char *)alpn;
    Elaine__Event e = ELAINE__EVENT__INIT;
    e.seq = seq;
    e.body_case = ELAINE__EVENT__BODY_CONN_OPEN;
    e.conn_open = &o;
    return elaine_exchange_event(p, &e);
}

static inline int ev_rs_full(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, uint64_t no,
                             uint32_t tid, uint64_t wall, uint64_t mono, int gap, uint64_t *stack,
                             size_t nstack)
{
    Elaine__RequestStart r = ELAINE__REQUEST_START__INIT;
    r.conn_id = conn;
    r.tid = tid;
    r.wall_ns = wall;
    r.mono_ns = mono;
    r.request_no = no;
    r.gap = gap;
    r.stack = stack;
    r.n_stack = nstack;
    Elaine__Event e = ELAINE__EVENT__INIT;
    e.seq = seq;
    e.body_case = ELAINE__EVENT__BODY_REQUEST_START;
    e.request_start = &r;
    return elaine_exchange_event(p, &e);
}

/* A RequestStart of thread TID at WALL, without a stack. */
static inline int ev_rs(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, uint64_t no,
                        uint64_t mono, int gap)
{
    return ev_rs_full(p, seq, conn, no, TID, WALL, mono, gap, NULL, 0);
}

/* out: a write (else a read) of n bytes by thread tid. */
static inline int ev_data_full(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, int out,
                               uint32_t tid, uint64_t mono, const void *bytes, size_t n)
{
    Elaine__Data d = ELAINE__DATA__INIT;
    d.conn_id = conn;
    d.dir = out ? ELAINE__DIRECTION__DIR_OUT : ELAINE__DIRECTION__DIR_IN;
    d.tid = tid;
    d.mono_ns = mono;
    d.data.data = (uint8_t *)bytes;
    d.data.len = n;
    Elaine__Event e = ELAINE__EVENT__INIT;
    e.seq = seq;
    e.body_case = ELAINE__EVENT__BODY_DATA;
    e.data = &d;
    return elaine_exchange_event(p, &e);
}

static inline int ev_data(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, int out,
                          uint64_t mono, const void *bytes, size_t n)
{
    return ev_data_full(p, seq, conn, out, TID, mono, bytes, n);
}

static inline int ev_close(elaine_exchange_proc *p, uint64_t seq, uint64_t conn, uint64_t mono)
{
    Elaine__Close c = ELAINE__CLOSE__INIT;
    c.conn_id = conn;
    c.mono_ns = mono;
    Elaine__Event e = ELAINE__EVENT__INIT;
    e.seq = seq;
    e.body_case = ELAINE__EVENT__BODY_CLOSE;
    e.close = &c;
    return elaine_exchange_event(p, &e);
}

static inline int ev_drop(elaine_exchange_proc *p, uint64_t seq, uint64_t events, uint64_t bytes)
{
    Elaine__Drop d = ELAINE__DROP__INIT;
    d.events = events;
    d.bytes = bytes;
    Elaine__Event e = ELAINE__EVENT__INIT;
    e.seq = seq;
    e.body_case = ELAINE__EVENT__BODY_DROP;
    e.drop = &d;
    return elaine_exchange_event(p, &e);
}

/* ---- fixtures: an OpenAI chat completion, JSON and streamed ---- */

__attribute__((unused)) static const char chat_req_body[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
__attribute__((unused)) static const char chat_resp_body[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
    "\"total_tokens\":11}}";

/* The SSE events of a streamed completion: text "Hello", 5 + 2 = 7 tokens. */
__attribute__((unused)) static const char *const sse_events[] = {
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":{"
    "\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o-mini-x\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o-mini-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":2,\"total_tokens\":7}}\n\n",
    "data: [DONE]\n\n",
};
#define N_SSE (sizeof(sse_events) / sizeof(sse_events[0]))

/* Appends in[0..n) gzip-compressed (one member) to out. */
static inline void gzip_to(elaine_buf *out, const void *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    CHECK(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    unsigned char tmp[4096];
    int r;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof(tmp);
        r = deflate(&z, Z_FINISH);
        elaine_buf_add(out, tmp, sizeof(tmp) - z.avail_out);
    } while (r == Z_OK);
    CHECK(r == Z_STREAM_END);
    deflateEnd(&z);
}

#endif
