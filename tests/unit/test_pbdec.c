/* The collector's Batch decoder against protobuf-c's: random batches of
 * every event kind (edge values, empty and binary strings, long stacks)
 * packed by protobuf-c decode to the same values; so do other encodings
 * protobuf-c accepts (unpacked repeated scalars, unknown fields, a message
 * field twice); every prefix and random damage fail or decode the same way,
 * without a fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "elaine.pb-c.h"
#include "elaine_pbdec.h"

/* ---- an allocator that frees everything at the end ---- */

typedef struct blk {
    struct blk *next;
    max_align_t data[];
} blk;

static blk *blocks;
static int fail_after = -1; /* allocations left before one fails; -1: never */

static void *t_alloc(void *ud, size_t n)
{
    (void)ud;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    blk *b = malloc(sizeof(*b) + n);
    if (!b)
        abort();
    b->next = blocks;
    blocks = b;
    return b->data;
}

static void t_free(void *ud, void *p)
{
    (void)ud;
    (void)p;
}

static void t_reset(void)
{
    while (blocks) {
        blk *b = blocks;
        blocks = b->next;
        free(b);
    }
}

static ProtobufCAllocator arena = {.alloc = t_alloc, .free = t_free};

/* ---- random values ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t r64(void)
{
    switch (rnd() % 5) {
    case 0: return 0;
    case 1: return UINT64_MAX;
    case 2: return rnd() % 300;
    case 3: return 1ull << (rnd() % 64);
    default: return rnd();
    }
}

static char pool[64][40];
static int npool;

static char *rstr(void)
{
    char *s = pool[npool++ % 64];
    size_t n = rnd() % 39;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(1 + rnd() % 255); /* no NUL inside: a C string */
    s[n] = 0;
    return s;
}

static uint8_t bytes_pool[16][2000];
static uint64_t stacks[16][40];
static char *argvs[8];

static void fill_event(Elaine__Event *e, void *body, int kind, int k)
{
    elaine__event__init(e);
    e->seq = r64();
    switch (kind) {
    case 0: {
        Elaine__ConnOpen *o = body;
        elaine__conn_open__init(o);
        o->conn_id = r64();
        o->peer = rstr();
        o->peer_port = (uint32_t)r64();
        o->sni = rstr();
        o->alpn = rstr();
        o->tls = (protobuf_c_boolean)(rnd() % 2);
        o->host = rstr();
        o->port = (uint32_t)r64();
        o->mono_ns = r64();
        e->body_case = ELAINE__EVENT__BODY_CONN_OPEN;
        e->conn_open = o;
        break;
    }
    case 1: {
        Elaine__RequestStart *r = body;
        elaine__request_start__init(r);
        r->conn_id = r64();
        r->tid = (uint32_t)r64();
        r->wall_ns = r64();
        r->mono_ns = r64();
        r->request_no = r64();
        r->n_stack = rnd() % 41;
        for (size_t i = 0; i < r->n_stack; i++)
            stacks[k % 16][i] = r64();
        r->stack = stacks[k % 16];
        r->gap = (protobuf_c_boolean)(rnd() % 2);
        e->body_case = ELAINE__EVENT__BODY_REQUEST_START;
        e->request_start = r;
        break;
    }
    case 2: {
        Elaine__Data *d = body;
        elaine__data__init(d);
        d->conn_id = r64();
        d->dir = (Elaine__Direction)(rnd() % 3);
        d->tid = (uint32_t)r64();
        d->mono_ns = r64();
        d->data.len = rnd() % 2000;
        for (size_t i = 0; i < d->data.len; i++)
            bytes_pool[k % 16][i] = (uint8_t)rnd();
        d->data.data = bytes_pool[k % 16];
        e->body_case = ELAINE__EVENT__BODY_DATA;
        e->data = d;
        break;
    }
    case 3: {
        Elaine__Close *c = body;
        elaine__close__init(c);
        c->conn_id = r64();
        c->mono_ns = r64();
        e->body_case = ELAINE__EVENT__BODY_CLOSE;
        e->close = c;
        break;
    }
    case 4: {
        Elaine__Drop *d = body;
        elaine__drop__init(d);
        d->events = r64();
        d->bytes = r64();
        e->body_case = ELAINE__EVENT__BODY_DROP;
        e->drop = d;
        break;
    }
    case 5: {
        Elaine__Module *m = body;
        elaine__module__init(m);
        m->path = rstr();
        m->load_base = r64();
        e->body_case = ELAINE__EVENT__BODY_MODULE;
        e->module = m;
        break;
    }
    default: /* no body */
        break;
    }
}

/* ---- comparison ---- */

static int same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int same_event(const Elaine__Event *a, const Elaine__Event *b)
{
    if (a->seq != b->seq || a->body_case != b->body_case)
        return 0;
    switch (a->body_case) {
    case ELAINE__EVENT__BODY_CONN_OPEN: {
        const Elaine__ConnOpen *x = a->conn_open, *y = b->conn_open;
        return x->conn_id == y->conn_id && same_str(x->peer, y->peer) && x->peer_port == y->peer_port &&
               same_str(x->sni, y->sni) && same_str(x->alpn, y->alpn) && x->tls == y->tls &&
               same_str(x->host, y->host) && x->port == y->port && x->mono_ns == y->mono_ns;
    }
    case ELAINE__EVENT__BODY_REQUEST_START: {
        const Elaine__RequestStart *x = a->request_start, *y = b->request_start;
        return x->conn_id == y->conn_id && x->tid == y->tid && x->wall_ns == y->wall_ns &&
               x->mono_ns == y->mono_ns && x->request_no == y->request_no && x->n_stack == y->n_stack &&
               (!x->n_stack || memcmp(x->stack, y->stack, x->n_stack * sizeof(uint64_t)) == 0) &&
               x->gap == y->gap;
    }
    case ELAINE__EVENT__BODY_DATA: {
        const Elaine__Data *x = a->data, *y = b->data;
        return x->conn_id == y->conn_id && x->dir == y->dir && x->tid == y->tid && x->mono_ns == y->mono_ns &&
               x->data.len == y->data.len && (!x->data.len || memcmp(x->data.data, y->data.data, x->data.len) == 0);
    }
    case ELAINE__EVENT__BODY_CLOSE:
        return a->close->conn_id == b->close->conn_id && a->close->mono_ns == b->close->mono_ns;
    case ELAINE__EVENT__BODY_DROP:
        return a->drop->events == b->drop->events && a->drop->bytes == b->drop->bytes;
    case ELAINE__EVENT__BODY_MODULE:
        return same_str(a->module->path, b->module->path) && a->module->load_base == b->module->load_base;
    default:
        return 1;
    }
}

static int same_batch(const Elaine__Batch *a, const Elaine__Batch *b)
{
    if (!a->hello != !b->hello || a->n_events != b->n_events)
        return 0;
    if (a->hello) {
        const Elaine__Hello *x = a->hello, *y = b->hello;
        if (x->pid != y->pid || x->ppid != y->ppid || x->uid != y->uid || x->start_time != y->start_time ||
            !same_str(x->exe, y->exe) || x->n_argv != y->n_argv || !same_str(x->shim_version, y->shim_version) ||
            x->sync_mode != y->sync_mode)
            return 0;
        for (size_t i = 0; i < x->n_argv; i++)
            if (!same_str(x->argv[i], y->argv[i]))
                return 0;
    }
    for (size_t i = 0; i < a->n_events; i++)
        if (!same_event(a->events[i], b->events[i]))
            return 0;
    return 1;
}

/* Decodes buf both ways; 1 when both fail or both give the same batch. */
static int agree(const uint8_t *buf, size_t n, int *ok)
{
    Elaine__Batch *ref = elaine__batch__unpack(NULL, n, buf);
    Elaine__Batch *got = elaine_pbdec_batch(buf, n, &arena);
    int r = (!ref && !got) || (ref && got && same_batch(ref, got));
    if (ok)
        *ok = got != NULL;
    if (ref)
        elaine__batch__free_unpacked(ref, NULL);
    t_reset();
    return r;
}

static uint8_t *pack(const Elaine__Batch *b, size_t *n)
{
    *n = elaine__batch__get_packed_size(b);
    uint8_t *buf = malloc(*n ? *n : 1);
    elaine__batch__pack(b, buf);
    return buf;
}

/* A random batch of up to 60 events, packed by protobuf-c. */
static uint8_t *random_batch(size_t *n)
{
    static Elaine__Batch b;
    static Elaine__Hello h;
    static Elaine__Event evs[60], *ev[60];
    static union {
        Elaine__ConnOpen o;
        Elaine__RequestStart r;
        Elaine__Data d;
        Elaine__Close c;
        Elaine__Drop dr;
        Elaine__Module m;
    } bodies[60];
    elaine__batch__init(&b);
    if (rnd() % 2) {
        elaine__hello__init(&h);
        h.pid = (uint32_t)r64();
        h.ppid = (uint32_t)r64();
        h.uid = (uint32_t)r64();
        h.start_time = r64();
        h.exe = rstr();
        h.n_argv = rnd() % 6;
        for (size_t i = 0; i < h.n_argv; i++)
            argvs[i] = rstr();
        h.argv = argvs;
        h.shim_version = rstr();
        h.sync_mode = (protobuf_c_boolean)(rnd() % 2);
        b.hello = &h;
    }
    b.n_events = rnd() % 61;
    for (size_t i = 0; i < b.n_events; i++) {
        fill_event(&evs[i], &bodies[i], (int)(rnd() % 7), (int)i);
        ev[i] = &evs[i];
    }
    b.events = ev;
    return pack(&b, n);
}

int main(void)
{
    CASE("random batches packed by protobuf-c");
    int bad = 0;
    for (int t = 0; t < 3000; t++) {
        size_t n;
        uint8_t *buf = random_batch(&n);
        int ok;
        if (!agree(buf, n, &ok) || !ok)
            bad++;
        free(buf);
    }
    CHECK_INT(bad, 0);

    CASE("the empty batch");
    {
        Elaine__Batch *b = elaine_pbdec_batch((const uint8_t *)"", 0, &arena);
        CHECK(b && !b->hello && b->n_events == 0);
        t_reset();
    }

    CASE("Data bytes point into the payload");
    {
        static const uint8_t msg[] = {0x12, 0x0a, 0x08, 0x07, 0x22, 0x06, 0x2a, 0x04, 'a', 'b', 'c', 'd'};
        Elaine__Batch *b = elaine_pbdec_batch(msg, sizeof(msg), &arena);
        CHECK(b && b->n_events == 1 && b->events[0]->seq == 7 &&
              b->events[0]->body_case == ELAINE__EVENT__BODY_DATA && b->events[0]->data->data.len == 4 &&
              b->events[0]->data->data.data == msg + 8);
        CHECK(agree(msg, sizeof(msg), NULL));
        t_reset();
    }

    CASE("other encodings protobuf-c accepts");
    {
        /* event seq 3, request_start: stack unpacked (6 varints: 1, 300) then
         * packed (2, 3), unknown fields of every wire type in each message,
         * the body twice and a second hello: the later one replaces the first
         * (protobuf-c does not merge them) */
        static const uint8_t msg2[] = {
            0x0a, 0x04, 0x08, 0x05, 0x2a, 0x00,
            0x12, 0x28, 0x08, 0x03,
            0x1a, 0x0e, 0x08, 0x09, 0x30, 0x01, 0x30, 0xac, 0x02,
            0x78, 0x01, 0x7d, 1, 2, 3, 4,
            0x1a, 0x06, 0x32, 0x02, 0x02, 0x03, 0x38, 0x01,
            0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x9a, 0x01, 0x01, 0x00,
            0x0a, 0x02, 0x18, 0x04,
            0xa2, 0x06, 0x00,
        };
        Elaine__Batch *b = elaine_pbdec_batch(msg2, sizeof(msg2), &arena);
        CHECK(b && b->hello && b->hello->pid == 0 && b->hello->uid == 4 && b->n_events == 1);
        if (b && b->n_events == 1) {
            const Elaine__RequestStart *r = b->events[0]->request_start;
            CHECK(b->events[0]->seq == 3 && r && r->conn_id == 0 && r->n_stack == 2 && r->gap);
            if (r && r->n_stack == 2)
                CHECK(r->stack[0] == 2 && r->stack[1] == 3);
        }
        /* the first body alone: its stack unpacked, then packed */
        static const uint8_t msg3[] = {0x12, 0x0c, 0x08, 0x03, 0x1a, 0x08, 0x30, 0x01,
                                       0x30, 0xac, 0x02, 0x32, 0x01, 0x07};
        t_reset();
        b = elaine_pbdec_batch(msg3, sizeof(msg3), &arena);
        CHECK(b && b->n_events == 1 && b->events[0]->request_start &&
              b->events[0]->request_start->n_stack == 3 && b->events[0]->request_start->stack[1] == 300 &&
              b->events[0]->request_start->stack[2] == 7);
        t_reset();
        CHECK(agree(msg3, sizeof(msg3), NULL));
        t_reset();
        CHECK(agree(msg2, sizeof(msg2), NULL));
    }

    CASE("varints of every length, at every distance from the end (8-byte reads)");
    {
        /* request_start {conn_id: a varint of L bytes; pad x (gap: 1)} and
         * {stack: packed, m varints of L bytes}: the 8-byte decoding and
         * count near the end of a message, against protobuf-c and by value */
        int bad = 0, wrong = 0;
        for (int L = 1; L <= 11; L++) {
            for (int pad = 0; pad <= 6; pad++) {
                for (int top = 0; top < 4; top++) {
                    uint8_t v[11];
                    uint64_t want = 0;
                    for (int i = 0; i < L; i++) {
                        uint8_t g = top == 0 ? (uint8_t)rnd() : (uint8_t)(top == 1 ? 0x7f : top == 2 ? 0 : 0x55 + i);
                        g &= 0x7f;
                        if (i == L - 1 && L > 1 && g == 0)
                            g = 1; /* not overlong */
                        v[i] = (uint8_t)(g | (i < L - 1 ? 0x80 : 0));
                        if (i < 10)
                            want |= (uint64_t)g << (7 * i);
                    }
                    uint8_t msg[96];
                    size_t n = 0;
                    msg[n++] = 0x12;
                    msg[n++] = (uint8_t)(3 + L + 2 * pad);
                    msg[n++] = 0x1a;
                    msg[n++] = (uint8_t)(1 + L + 2 * pad);
                    msg[n++] = 0x08;
                    memcpy(msg + n, v, (size_t)L);
                    n += (size_t)L;
                    for (int k = 0; k < pad; k++) {
                        msg[n++] = 0x38;
                        msg[n++] = 0x01;
                    }
                    int ok;
                    bad += !agree(msg, n, &ok);
                    if (L <= 10) {
                        Elaine__Batch *b = elaine_pbdec_batch(msg, n, &arena);
                        wrong += !b || b->n_events != 1 || b->events[0]->request_start->conn_id != want;
                        t_reset();
                    } else {
                        wrong += ok; /* 11 bytes: too long */
                    }
                    /* m copies packed, pad bytes of gap after */
                    for (int m = 1; m <= 3 && L <= 10; m++) {
                        n = 0;
                        size_t pl = (size_t)(m * L);
                        msg[n++] = 0x12;
                        msg[n++] = (uint8_t)(4 + pl + 2 * pad);
                        msg[n++] = 0x1a;
                        msg[n++] = (uint8_t)(2 + pl + 2 * pad);
                        msg[n++] = 0x32;
                        msg[n++] = (uint8_t)pl;
                        for (int c = 0; c < m; c++, n += (size_t)L)
                            memcpy(msg + n, v, (size_t)L);
                        for (int k = 0; k < pad; k++) {
                            msg[n++] = 0x38;
                            msg[n++] = 0x01;
                        }
                        bad += !agree(msg, n, NULL);
                        Elaine__Batch *b = elaine_pbdec_batch(msg, n, &arena);
                        const Elaine__RequestStart *r = b && b->n_events == 1 ? b->events[0]->request_start : NULL;
                        wrong += !r || r->n_stack != (size_t)m;
                        for (int c = 0; r && c < m && (size_t)c < r->n_stack; c++)
                            wrong += r->stack[c] != want;
                        t_reset();
                    }
                }
            }
        }
        CHECK_INT(bad, 0);
        CHECK_INT(wrong, 0);
    }

    CASE("wrong wire types, overlong varints, lengths past the end");
    {
        static const struct {
            const char *what;
            uint8_t b[16];
            size_t n;
        } bad_in[] = {
            {"hello as a varint", {0x08, 0x01}, 2},
            {"events as fixed64", {0x11, 1, 2, 3, 4, 5, 6, 7, 8}, 9},
            {"seq as delimited", {0x12, 0x02, 0x0a, 0x00}, 4},
            {"field 0", {0x00, 0x01}, 2},
            {"a group", {0x1b}, 1},
            {"an 11-byte varint", {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
            {"length past the end", {0x12, 0x05, 0x08}, 3},
            {"a cut key", {0x80}, 1},
            {"packed stack cut inside a varint", {0x12, 0x06, 0x1a, 0x04, 0x32, 0x02, 0x01, 0x80}, 8},
        };
        for (size_t i = 0; i < sizeof(bad_in) / sizeof(bad_in[0]); i++) {
            CASE(bad_in[i].what);
            CHECK(elaine_pbdec_batch(bad_in[i].b, bad_in[i].n, &arena) == NULL);
            t_reset();
            CHECK(agree(bad_in[i].b, bad_in[i].n, NULL));
        }
    }

    CASE("every prefix of a batch; random damage; failing allocations");
    {
        int disagree = 0, partial = 0, failed = 0;
        for (int t = 0; t < 40; t++) {
            size_t n;
            uint8_t *buf = random_batch(&n);
            for (size_t k = 0; k < n; k++)
                disagree += !agree(buf, k, NULL);
            for (int m = 0; m < 200 && n; m++) {
                uint8_t *d = malloc(n);
                memcpy(d, buf, n);
                for (int j = 0; j < 1 + (int)(rnd() % 4); j++)
                    d[rnd() % n] = (uint8_t)rnd();
                elaine_pbdec_batch(d, n, &arena); /* no fault (ASan builds check) */
                t_reset();
                free(d);
            }
            /* out of memory at the f-th allocation: NULL, or (when f
             * allocations were enough) the whole batch, never half of one */
            Elaine__Batch *ref = elaine__batch__unpack(NULL, n, buf);
            for (int f = 0; f < 30; f++) {
                fail_after = f;
                Elaine__Batch *b = elaine_pbdec_batch(buf, n, &arena);
                fail_after = -1;
                if (!b)
                    failed++;
                else if (!ref || !same_batch(ref, b))
                    partial++;
                t_reset();
            }
            if (ref)
                elaine__batch__free_unpacked(ref, NULL);
            free(buf);
        }
        CHECK_INT(disagree, 0);
        CHECK_INT(partial, 0);
        CHECK(failed > 0); /* the failures were met */
    }
    return check_done("test_pbdec");
}
