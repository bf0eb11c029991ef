/* The collector's Batch decoder against protobuf-c's: random batches of
 * every event kind (edge values, empty and binary strings, long stacks)
 * packed by protobuf-c decode to the same values; so do other encodings
 * protobuf-c accepts (unpacked repeated scalars, unknown fields, a message
 * field twice); every prefix and random damage fail or decode the same way,
 * without a fault. And against the decoder it replaced (a copy below): the
 * same verdict and values for every batch, also for shapes no packer
 * writes (fields in any order and repeated, overlong keys and values,
 * unknown fields of every wire type, several stack runs) and for damaged
 * ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "elaine.pb-c.h"
#include "elaine_pbdec.h"

/* ---- the reference: the collector's decoder before it was specialised
 * (collector/elaine_pbdec.c at caf0eaf), unchanged but for the names. The
 * new one must accept and reject the same batches and decode them to the
 * same values, Data bytes at the same place. ---- */

typedef struct ref_rd {
    const uint8_t *p, *end;
} ref_rd;

enum ref_kind { ref_K_U32, ref_K_U64, ref_K_BOOL, ref_K_ENUM, ref_K_STR, ref_K_BYTES, ref_K_RSTR, ref_K_RU64 };

typedef struct ref_fld {
    uint32_t num;
    enum ref_kind kind;
    size_t off;  /* the value, or for repeated fields the array pointer */
    size_t noff; /* repeated: the count */
} ref_fld;

typedef struct ref_msgdesc {
    const ref_fld *f;
    size_t nf;
    size_t size;
    const void *init;
} ref_msgdesc;

#define REF_F(msg, num, kind, member) {num, kind, offsetof(msg, member), 0}
#define REF_R(msg, num, kind, member) {num, kind, offsetof(msg, member), offsetof(msg, n_##member)}

static const ref_fld ref_hello_f[] = {
    REF_F(Elaine__Hello, 1, ref_K_U32, pid),        REF_F(Elaine__Hello, 2, ref_K_U32, ppid),
    REF_F(Elaine__Hello, 3, ref_K_U32, uid),        REF_F(Elaine__Hello, 4, ref_K_U64, start_time),
    REF_F(Elaine__Hello, 5, ref_K_STR, exe),        REF_R(Elaine__Hello, 6, ref_K_RSTR, argv),
    REF_F(Elaine__Hello, 7, ref_K_STR, shim_version), REF_F(Elaine__Hello, 8, ref_K_BOOL, sync_mode),
};
static const ref_fld ref_conn_open_f[] = {
    REF_F(Elaine__ConnOpen, 1, ref_K_U64, conn_id), REF_F(Elaine__ConnOpen, 2, ref_K_STR, peer),
    REF_F(Elaine__ConnOpen, 3, ref_K_U32, peer_port), REF_F(Elaine__ConnOpen, 4, ref_K_STR, sni),
    REF_F(Elaine__ConnOpen, 5, ref_K_STR, alpn),    REF_F(Elaine__ConnOpen, 6, ref_K_BOOL, tls),
    REF_F(Elaine__ConnOpen, 7, ref_K_STR, host),    REF_F(Elaine__ConnOpen, 8, ref_K_U32, port),
    REF_F(Elaine__ConnOpen, 9, ref_K_U64, mono_ns),
};
static const ref_fld ref_request_start_f[] = {
    REF_F(Elaine__RequestStart, 1, ref_K_U64, conn_id), REF_F(Elaine__RequestStart, 2, ref_K_U32, tid),
    REF_F(Elaine__RequestStart, 3, ref_K_U64, wall_ns), REF_F(Elaine__RequestStart, 4, ref_K_U64, mono_ns),
    REF_F(Elaine__RequestStart, 5, ref_K_U64, request_no), REF_R(Elaine__RequestStart, 6, ref_K_RU64, stack),
    REF_F(Elaine__RequestStart, 7, ref_K_BOOL, gap),
};
static const ref_fld ref_data_f[] = {
    REF_F(Elaine__Data, 1, ref_K_U64, conn_id), REF_F(Elaine__Data, 2, ref_K_ENUM, dir), REF_F(Elaine__Data, 3, ref_K_U32, tid),
    REF_F(Elaine__Data, 4, ref_K_U64, mono_ns), REF_F(Elaine__Data, 5, ref_K_BYTES, data),
};
static const ref_fld ref_close_f[] = {
    REF_F(Elaine__Close, 1, ref_K_U64, conn_id), REF_F(Elaine__Close, 2, ref_K_U64, mono_ns),
};
static const ref_fld ref_drop_f[] = {
    REF_F(Elaine__Drop, 1, ref_K_U64, events), REF_F(Elaine__Drop, 2, ref_K_U64, bytes),
};
static const ref_fld ref_module_f[] = {
    REF_F(Elaine__Module, 1, ref_K_STR, path), REF_F(Elaine__Module, 2, ref_K_U64, load_base),
};

static const Elaine__Hello ref_hello_init = ELAINE__HELLO__INIT;
static const Elaine__ConnOpen ref_conn_open_init = ELAINE__CONN_OPEN__INIT;
static const Elaine__RequestStart ref_request_start_init = ELAINE__REQUEST_START__INIT;
static const Elaine__Data ref_data_init = ELAINE__DATA__INIT;
static const Elaine__Close ref_close_init = ELAINE__CLOSE__INIT;
static const Elaine__Drop ref_drop_init = ELAINE__DROP__INIT;
static const Elaine__Module ref_module_init = ELAINE__MODULE__INIT;
static const Elaine__Event ref_event_init = ELAINE__EVENT__INIT;
static const Elaine__Batch ref_batch_init = ELAINE__BATCH__INIT;

#define REF_DESC(f, init) {f, sizeof(f) / sizeof(f[0]), sizeof(init), &init}
static const ref_msgdesc ref_hello_d = REF_DESC(ref_hello_f, ref_hello_init);
/* The Event oneof, by field number 2..7 (protobuf-c's case values are the numbers). */
static const ref_msgdesc ref_bodies[] = {
    REF_DESC(ref_conn_open_f, ref_conn_open_init), REF_DESC(ref_request_start_f, ref_request_start_init),
    REF_DESC(ref_data_f, ref_data_init),           REF_DESC(ref_close_f, ref_close_init),
    REF_DESC(ref_drop_f, ref_drop_init),           REF_DESC(ref_module_f, ref_module_init),
};

static void *ref_alloc(ProtobufCAllocator *a, size_t n)
{
    return a->alloc(a->allocator_data, n ? n : 1);
}

static void *ref_new_msg(ProtobufCAllocator *a, const ref_msgdesc *d)
{
    void *m = ref_alloc(a, d->size);
    if (m)
        memcpy(m, d->init, d->size);
    return m;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define REF_PBDEC_SWAR 1
#define REF_HI8 0x8080808080808080ull

/* The 7-bit groups of the low bytes of w (continuation bits already
 * cleared) side by side: 8 bytes make 56 bits. */
static inline uint64_t ref_squeeze(uint64_t x)
{
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    return ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
}
#endif

/* A varint of at most 10 bytes (bits beyond 64 dropped, as protobuf-c does). */
static inline int ref_varint_slow(ref_rd *r, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *p = r->p;
    if (r->end - p >= 10) { /* no end to watch */
        if (!(p[1] & 0x80)) { /* lengths of a few hundred bytes */
            r->p = p + 2;
            *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            return 0;
        }
#ifdef REF_PBDEC_SWAR
        /* Eight bytes at once (stack addresses and timestamps are 6 to 9
         * bytes): the lowest clear high bit ends the varint. */
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t stop = ~w & REF_HI8;
        if (stop) { /* the bytes up to and including the last one */
            r->p = p + (((unsigned)__builtin_ctzll(stop) + 1) >> 3);
            *v = ref_squeeze(w & (stop ^ (stop - 1)) & ~REF_HI8);
            return 0;
        }
        x = ref_squeeze(w & ~REF_HI8);
        for (unsigned i = 8; i < 10; i++) {
#else
        for (unsigned i = 0; i < 10; i++) {
#endif
            uint8_t b = p[i];
            x |= (uint64_t)(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) {
                r->p = p + i + 1;
                *v = x;
                return 0;
            }
        }
        return -1;
    }
    for (unsigned i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Keys, lengths and small numbers are one byte. */
static inline int ref_varint(ref_rd *r, uint64_t *v)
{
    if (r->p < r->end && !(*r->p & 0x80)) {
        *v = *r->p++;
        return 0;
    }
    return ref_varint_slow(r, v);
}

/* A length-delimited field's contents into sub. */
static int ref_delimited(ref_rd *r, ref_rd *sub)
{
    uint64_t len;
    if (ref_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return 0;
}

static int ref_skip(ref_rd *r, unsigned wt)
{
    uint64_t v;
    ref_rd sub;
    switch (wt) {
    case 0:
        return ref_varint(r, &v);
    case 1:
    case 5: {
        size_t k = wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < k)
            return -1;
        r->p += k;
        return 0;
    }
    case 2:
        return ref_delimited(r, &sub);
    default: /* groups (3, 4) and the reserved 6, 7 */
        return -1;
    }
}

static char *ref_str(ProtobufCAllocator *a, const ref_rd *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *c = ref_alloc(a, n + 1);
    if (c) {
        memcpy(c, s->p, n);
        c[n] = 0;
    }
    return c;
}

/* Appends k elements of size sz to the repeated field at base+off (count
 * at base+noff); returns where they go. The arena never frees, so a copy
 * per append is cheap for the short lists here (argv, a stack). */
static void *ref_grow(ProtobufCAllocator *a, char *base, const ref_fld *d, size_t sz, size_t k)
{
    size_t n;
    void *old;
    memcpy(&n, base + d->noff, sizeof(n));
    memcpy(&old, base + d->off, sizeof(old));
    if (k > (SIZE_MAX / sz) - n)
        return NULL;
    char *arr = ref_alloc(a, (n + k) * sz);
    if (!arr)
        return NULL;
    if (n)
        memcpy(arr, old, n * sz);
    n += k;
    memcpy(base + d->noff, &n, sizeof(n));
    memcpy(base + d->off, &arr, sizeof(arr));
    return arr + (n - k) * sz;
}

static int ref_field(ref_rd *r, unsigned wt, char *base, const ref_fld *d, ProtobufCAllocator *a)
{
    uint64_t v;
    ref_rd s;
    switch (d->kind) {
    case ref_K_U32:
    case ref_K_U64:
    case ref_K_BOOL:
    case ref_K_ENUM:
        if (wt != 0 || ref_varint(r, &v) < 0)
            return -1;
        if (d->kind == ref_K_U64) {
            memcpy(base + d->off, &v, sizeof(v));
        } else if (d->kind == ref_K_U32) {
            uint32_t u = (uint32_t)v;
            memcpy(base + d->off, &u, sizeof(u));
        } else if (d->kind == ref_K_BOOL) {
            protobuf_c_boolean b = v != 0;
            memcpy(base + d->off, &b, sizeof(b));
        } else {
            int e = (int)(int32_t)(uint32_t)v;
            memcpy(base + d->off, &e, sizeof(e));
        }
        return 0;
    case ref_K_STR:
    case ref_K_BYTES:
    case ref_K_RSTR:
        if (wt != 2 || ref_delimited(r, &s) < 0)
            return -1;
        if (d->kind == ref_K_BYTES) {
            ProtobufCBinaryData bd = {(size_t)(s.end - s.p), (uint8_t *)s.p};
            memcpy(base + d->off, &bd, sizeof(bd));
            return 0;
        }
        char *c = ref_str(a, &s);
        if (!c)
            return -1;
        if (d->kind == ref_K_STR) {
            memcpy(base + d->off, &c, sizeof(c));
            return 0;
        }
        char **slot = ref_grow(a, base, d, sizeof(char *), 1);
        if (!slot)
            return -1;
        *slot = c;
        return 0;
    case ref_K_RU64:
        if (wt == 0) {
            uint64_t *slot;
            if (ref_varint(r, &v) < 0 || !(slot = ref_grow(a, base, d, sizeof(uint64_t), 1)))
                return -1;
            *slot = v;
            return 0;
        }
        if (wt != 2 || ref_delimited(r, &s) < 0)
            return -1;
        size_t k = 0; /* the varints: bytes without a continuation bit */
        const uint8_t *q = s.p;
#ifdef REF_PBDEC_SWAR
        for (; s.end - q >= 8; q += 8) {
            uint64_t w;
            memcpy(&w, q, 8);
            k += (((~w & REF_HI8) >> 7) * 0x0101010101010101ull) >> 56;
        }
#endif
        for (; q < s.end; q++)
            k += !(*q & 0x80);
        if (k == 0)
            return s.p == s.end ? 0 : -1;
        uint64_t *out = ref_grow(a, base, d, sizeof(uint64_t), k);
        if (!out)
            return -1;
        for (size_t i = 0; i < k; i++)
            if (ref_varint(&s, &out[i]) < 0)
                return -1;
        return s.p == s.end ? 0 : -1;
    }
    return -1;
}

static int ref_message(ref_rd *r, void *m, const ref_msgdesc *md, ProtobufCAllocator *a)
{
    while (r->p < r->end) {
        uint64_t key;
        if (ref_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
            return -1;
        uint32_t num = (uint32_t)(key >> 3);
        unsigned wt = (unsigned)(key & 7);
        const ref_fld *d = NULL;
        if (num - 1 < md->nf && md->f[num - 1].num == num) {
            d = &md->f[num - 1]; /* the tables list fields 1..n in order */
        } else {
            for (size_t i = 0; i < md->nf; i++)
                if (md->f[i].num == num) {
                    d = &md->f[i];
                    break;
                }
        }
        if (d ? ref_field(r, wt, m, d, a) < 0 : ref_skip(r, wt) < 0)
            return -1;
    }
    return 0;
}

static int ref_event(ref_rd *r, Elaine__Event *e, ProtobufCAllocator *a)
{
    while (r->p < r->end) {
        uint64_t key, v;
        if (ref_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
            return -1;
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num == 1) {
            if (wt != 0 || ref_varint(r, &v) < 0)
                return -1;
            e->seq = v;
        } else if (num >= 2 && num <= 7) {
            ref_rd s;
            if (wt != 2 || ref_delimited(r, &s) < 0)
                return -1;
            const ref_msgdesc *md = &ref_bodies[num - 2];
            void *m = ref_new_msg(a, md);
            if (!m || ref_message(&s, m, md, a) < 0)
                return -1;
            e->body_case = (Elaine__Event__BodyCase)num;
            memcpy(&e->conn_open, &m, sizeof(m)); /* the union's members are all message pointers */
        } else if (ref_skip(r, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

Elaine__Batch *ref_pbdec_batch(const uint8_t *p, size_t n, ProtobufCAllocator *a)
{
    /* first the events' count, for one array */
    size_t count = 0;
    ref_rd r = {p, p + n};
    while (r.p < r.end) {
        uint64_t key;
        if (ref_varint(&r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX ||
            ref_skip(&r, (unsigned)(key & 7)) < 0)
            return NULL;
        count += key == ((2u << 3) | 2);
    }
    Elaine__Batch *b = ref_alloc(a, sizeof(*b));
    if (!b)
        return NULL;
    *b = ref_batch_init;
    if (count && !(b->events = ref_alloc(a, count * sizeof(*b->events))))
        return NULL;
    r.p = p;
    while (r.p < r.end) {
        uint64_t key = 0;
        ref_rd s;
        ref_varint(&r, &key); /* well formed: checked above */
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num == 1 && wt == 2) {
            ref_delimited(&r, &s);
            if (!(b->hello = ref_new_msg(a, &ref_hello_d)))
                return NULL;
            if (ref_message(&s, b->hello, &ref_hello_d, a) < 0)
                return NULL;
        } else if (num == 2 && wt == 2) {
            ref_delimited(&r, &s);
            Elaine__Event *e = ref_alloc(a, sizeof(*e));
            if (!e)
                return NULL;
            *e = ref_event_init;
            if (ref_event(&s, e, a) < 0)
                return NULL;
            b->events[b->n_events++] = e;
        } else if (num == 1 || num == 2) {
            return NULL; /* a message field of another wire type */
        } else {
            ref_skip(&r, wt);
        }
    }
    return b;
}

#undef REF_F
#undef REF_R
#undef REF_DESC
#undef REF_PBDEC_SWAR
#undef REF_HI8

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

/* Data bytes where the other decoder has them too (both point into the input). */
static int same_places(const Elaine__Batch *a, const Elaine__Batch *b)
{
    for (size_t i = 0; i < a->n_events && i < b->n_events; i++)
        if (a->events[i]->body_case == ELAINE__EVENT__BODY_DATA &&
            b->events[i]->body_case == ELAINE__EVENT__BODY_DATA && a->events[i]->data->data.len &&
            a->events[i]->data->data.data != b->events[i]->data->data.data)
            return 0;
    return 1;
}

/* Decodes buf with the new decoder and the reference; 1 when both fail or
 * both give the same batch (*ok: the new one took it). */
static int agree_ref(const uint8_t *buf, size_t n, int *ok)
{
    Elaine__Batch *ref = ref_pbdec_batch(buf, n, &arena);
    Elaine__Batch *got = elaine_pbdec_batch(buf, n, &arena);
    int r = (!ref && !got) || (ref && got && same_batch(ref, got) && same_places(ref, got));
    if (ok)
        *ok = got != NULL;
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

/* ---- batches of any shape, written by hand ---- */

typedef struct wb {
    uint8_t *p;
    size_t len, cap;
} wb;

static void w_bytes(wb *w, const void *d, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
        if (!w->p)
            abort();
    }
    if (n)
        memcpy(w->p + w->len, d, n);
    w->len += n;
}

static int wild_odds = 16; /* 1 in this many: an odd encoding */

static int odd(void)
{
    return rnd() % (uint64_t)wild_odds == 0;
}

/* A varint, overlong now and then (up to 10 bytes, its top bits beyond 64
 * set at times), rarely 11 bytes or more (invalid). */
static void w_varint(wb *w, uint64_t v)
{
    uint8_t b[16];
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | 0x80);
        v >>= 7;
    } while (v);
    b[n - 1] &= 0x7f;
    if (odd()) {
        size_t to = n + 1 + rnd() % (rnd() % 8 == 0 ? 11 : 10 - n + (n == 10));
        if (to > 12)
            to = 12;
        while (n < to) {
            b[n - 1] |= 0x80;
            b[n++] = 0;
        }
        if (n == 10 && rnd() % 2)
            b[9] = (uint8_t)(rnd() % 128); /* bits past 64 */
    }
    w_bytes(w, b, n);
}

static void w_key(wb *w, uint64_t num, unsigned wt)
{
    w_varint(w, num << 3 | wt);
}

/* A field the message does not know, of any wire type (now and then an
 * invalid one: a group, 6, 7; a field number 0 or past 32 bits). */
static void w_unknown(wb *w, uint32_t nknown)
{
    static const unsigned wts[] = {0, 1, 2, 5, 0, 2, 3, 4, 6, 7};
    unsigned wt = wts[rnd() % (rnd() % 8 ? 6 : 10)];
    uint64_t num;
    switch (rnd() % 8) {
    case 0: num = rnd() % 16 ? UINT32_MAX : (uint64_t)UINT32_MAX + 1 + rnd() % 4; break;
    case 1: num = rnd() % 8 ? 1u << (rnd() % 29) : 0; break;
    default: num = nknown + 1 + rnd() % 20;
    }
    if (num && num <= nknown)
        num = nknown + 1;
    w_key(w, num, wt);
    uint8_t junk[16];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rnd();
    switch (wt) {
    case 0: w_varint(w, r64()); break;
    case 1: w_bytes(w, junk, 8); break;
    case 5: w_bytes(w, junk, 4); break;
    case 2: {
        size_t n = rnd() % 17;
        w_varint(w, n);
        w_bytes(w, junk, n);
        break;
    }
    default: break;
    }
}

/* The fields of the messages: their number and wire type (a repeated
 * uint64 'P' takes both 0 and 2; 'S' a string; 'V' a varint; 'B' bytes). */
static const char *const shapes[] = {
    /* Hello */ "VVVVSSSV", /* ConnOpen */ "VSVSSVSVV", /* RequestStart */ "VVVVVPV",
    /* Data */ "VVVVB",     /* Close */ "VV",           /* Drop */ "VV", /* Module */ "SV",
};

static void w_message(wb *w, int m, int depth);

static void w_field(wb *w, int m, uint32_t num)
{
    char k = shapes[m][num - 1];
    if (odd() && odd()) { /* the wrong wire type */
        w_key(w, num, k == 'V' ? 2 : 0);
        if (k == 'V') {
            w_varint(w, 1);
            w_bytes(w, "x", 1);
        } else {
            w_varint(w, r64());
        }
        return;
    }
    switch (k) {
    case 'V':
        w_key(w, num, 0);
        w_varint(w, r64());
        break;
    case 'S':
    case 'B': {
        w_key(w, num, 2);
        size_t n = rnd() % (k == 'B' ? 300 : 20);
        w_varint(w, n);
        for (size_t i = 0; i < n; i++) {
            uint8_t c = (uint8_t)(k == 'S' ? 1 + rnd() % 255 : rnd());
            w_bytes(w, &c, 1);
        }
        break;
    }
    case 'P':
        if (rnd() % 3 == 0) { /* one, unpacked */
            w_key(w, num, 0);
            w_varint(w, r64());
        } else {
            wb in = {0};
            size_t n = rnd() % 24;
            for (size_t i = 0; i < n; i++)
                w_varint(&in, rnd() % 2 ? 0x7f0000000000ull + rnd() % (1ull << 40) : r64());
            if (odd() && in.len) /* cut inside a varint */
                in.p[in.len - 1] |= 0x80;
            w_key(w, num, 2);
            w_varint(w, in.len);
            w_bytes(w, in.p, in.len);
            free(in.p);
        }
        break;
    }
}

/* Message m (0 Hello .. 6 Module): its fields in order, each now and then
 * left out, repeated, or in another place; unknown fields between. */
static void w_message(wb *w, int m, int depth)
{
    (void)depth;
    uint32_t nf = (uint32_t)strlen(shapes[m]);
    int shuffled = odd();
    for (uint32_t i = 1; i <= nf; i++) {
        if (odd())
            w_unknown(w, nf);
        if (rnd() % 4 == 0)
            continue;
        uint32_t num = shuffled ? 1 + (uint32_t)(rnd() % nf) : i;
        w_field(w, m, num);
        if (odd())
            w_field(w, m, num);
    }
    if (odd())
        w_unknown(w, nf);
}

static void w_sub(wb *w, uint64_t num, int m)
{
    wb in = {0};
    w_message(&in, m, 1);
    w_key(w, num, 2);
    w_varint(w, in.len);
    w_bytes(w, in.p, in.len);
    free(in.p);
}

static void w_event(wb *w)
{
    wb in = {0};
    if (!odd()) {
        w_key(&in, 1, 0);
        w_varint(&in, r64());
    }
    int bodies = odd() ? (int)(rnd() % 3) : 1;
    for (int i = 0; i < bodies; i++) {
        uint32_t num = rnd() % 2 ? 4 : 2 + (uint32_t)(rnd() % 6); /* Data mostly */
        w_sub(&in, num, (int)num - 1);
        if (odd()) {
            w_key(&in, 1, 0);
            w_varint(&in, r64());
        }
        if (odd())
            w_unknown(&in, 7);
        if (odd() && odd()) { /* seq or a body of the wrong wire type */
            w_key(&in, rnd() % 2 ? 1 : num, rnd() % 2 ? 2 : 0);
            w_varint(&in, 0);
        }
    }
    w_key(w, 2, 2);
    w_varint(w, in.len);
    w_bytes(w, in.p, in.len);
    free(in.p);
}

static uint8_t *wild_batch(size_t *n)
{
    wb w = {0};
    if (rnd() % 2)
        w_sub(&w, 1, 0);
    size_t k = rnd() % 40;
    for (size_t i = 0; i < k; i++) {
        w_event(&w);
        if (odd())
            w_unknown(&w, 2);
        if (odd() && odd())
            w_sub(&w, 1, 0); /* a later hello replaces the first */
        if (odd() && odd()) { /* hello or events of the wrong wire type */
            w_key(&w, 1 + rnd() % 2, 0);
            w_varint(&w, 3);
        }
    }
    *n = w.len;
    if (!w.p)
        w.p = malloc(1);
    return w.p;
}

/* A copy of buf with random damage: bytes changed, cut, put in, taken out. */
static uint8_t *damage(const uint8_t *buf, size_t n, size_t *out)
{
    uint8_t *d = malloc(n + 16);
    memcpy(d, buf, n);
    size_t len = n;
    int hits = 1 + (int)(rnd() % 4);
    for (int j = 0; j < hits; j++) {
        size_t at = len ? rnd() % len : 0;
        switch (rnd() % 5) {
        case 0:
        case 1:
            if (len)
                d[at] = (uint8_t)rnd();
            break;
        case 2:
            if (len)
                d[at] ^= 0x80; /* a continuation bit */
            break;
        case 3:
            if (len < n + 16) {
                memmove(d + at + 1, d + at, len - at);
                d[at] = (uint8_t)rnd();
                len++;
            }
            break;
        default:
            if (len) {
                memmove(d + at, d + at + 1, len - at - 1);
                len--;
            }
        }
    }
    if (rnd() % 4 == 0 && len)
        len = rnd() % len;
    *out = len;
    return d;
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
    CASE("against the decoder it replaced: packed batches, every prefix, damage");
    {
        int disagree = 0, took = 0;
        for (int t = 0; t < 300; t++) {
            size_t n;
            uint8_t *buf = random_batch(&n);
            disagree += !agree_ref(buf, n, NULL);
            for (size_t k = 0; k < n; k += 1 + rnd() % 7)
                disagree += !agree_ref(buf, k, NULL);
            for (int m = 0; m < 40; m++) {
                size_t dn;
                uint8_t *d = damage(buf, n, &dn);
                int ok;
                disagree += !agree_ref(d, dn, &ok);
                took += ok;
                free(d);
            }
            free(buf);
        }
        CHECK_INT(disagree, 0);
        CHECK(took > 0);
    }

    CASE("against the decoder it replaced: batches of any shape");
    {
        int disagree = 0, ok_n = 0, bad_n = 0;
        for (int odds = 2; odds <= 64; odds *= 2) {
            wild_odds = odds;
            for (int t = 0; t < 1500; t++) {
                size_t n;
                uint8_t *buf = wild_batch(&n);
                int ok;
                disagree += !agree_ref(buf, n, &ok);
                ok ? ok_n++ : bad_n++;
                for (int m = 0; m < 6; m++) {
                    size_t dn;
                    uint8_t *d = damage(buf, n, &dn);
                    disagree += !agree_ref(d, dn, NULL);
                    free(d);
                }
                free(buf);
            }
        }
        wild_odds = 16;
        CHECK_INT(disagree, 0);
        CHECK(ok_n > 1000 && bad_n > 1000); /* both verdicts were met often */
    }
    return check_done("test_pbdec");
}
