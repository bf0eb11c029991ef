/* The Batch decoder of the collector's hot path (elaine_pbdec.h).
 *
 * protobuf-c's generic unpacker walks its field descriptors for every field
 * and copies every bytes field: a tenth of the collector's instructions for
 * small exchanges. The schema is small and only varint and length-delimited
 * fields occur, so each message is a short table of (field number, kind,
 * offset) over protobuf-c's own structs, filled from their INIT values.
 * Wire rules as protobuf-c applies them: unknown fields skipped, a known
 * field of the wrong wire type fails, a repeated scalar packed or not, a
 * message field seen twice replaced by the later one (protobuf-c does not
 * merge), the last oneof member wins. */
#include "elaine_pbdec.h"

#include <stddef.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p, *end;
} rd;

enum kind { K_U32, K_U64, K_BOOL, K_ENUM, K_STR, K_BYTES, K_RSTR, K_RU64 };

typedef struct fld {
    uint32_t num;
    enum kind kind;
    size_t off;  /* the value, or for repeated fields the array pointer */
    size_t noff; /* repeated: the count */
} fld;

typedef struct msgdesc {
    const fld *f;
    size_t nf;
    size_t size;
    const void *init;
} msgdesc;

#define F(msg, num, kind, member) {num, kind, offsetof(msg, member), 0}
#define R(msg, num, kind, member) {num, kind, offsetof(msg, member), offsetof(msg, n_##member)}

static const fld hello_f[] = {
    F(Elaine__Hello, 1, K_U32, pid),        F(Elaine__Hello, 2, K_U32, ppid),
    F(Elaine__Hello, 3, K_U32, uid),        F(Elaine__Hello, 4, K_U64, start_time),
    F(Elaine__Hello, 5, K_STR, exe),        R(Elaine__Hello, 6, K_RSTR, argv),
    F(Elaine__Hello, 7, K_STR, shim_version), F(Elaine__Hello, 8, K_BOOL, sync_mode),
};
static const fld conn_open_f[] = {
    F(Elaine__ConnOpen, 1, K_U64, conn_id), F(Elaine__ConnOpen, 2, K_STR, peer),
    F(Elaine__ConnOpen, 3, K_U32, peer_port), F(Elaine__ConnOpen, 4, K_STR, sni),
    F(Elaine__ConnOpen, 5, K_STR, alpn),    F(Elaine__ConnOpen, 6, K_BOOL, tls),
    F(Elaine__ConnOpen, 7, K_STR, host),    F(Elaine__ConnOpen, 8, K_U32, port),
    F(Elaine__ConnOpen, 9, K_U64, mono_ns),
};
static const fld request_start_f[] = {
    F(Elaine__RequestStart, 1, K_U64, conn_id), F(Elaine__RequestStart, 2, K_U32, tid),
    F(Elaine__RequestStart, 3, K_U64, wall_ns), F(Elaine__RequestStart, 4, K_U64, mono_ns),
    F(Elaine__RequestStart, 5, K_U64, request_no), R(Elaine__RequestStart, 6, K_RU64, stack),
    F(Elaine__RequestStart, 7, K_BOOL, gap),
};
static const fld data_f[] = {
    F(Elaine__Data, 1, K_U64, conn_id), F(Elaine__Data, 2, K_ENUM, dir), F(Elaine__Data, 3, K_U32, tid),
    F(Elaine__Data, 4, K_U64, mono_ns), F(Elaine__Data, 5, K_BYTES, data),
};
static const fld close_f[] = {
    F(Elaine__Close, 1, K_U64, conn_id), F(Elaine__Close, 2, K_U64, mono_ns),
};
static const fld drop_f[] = {
    F(Elaine__Drop, 1, K_U64, events), F(Elaine__Drop, 2, K_U64, bytes),
};
static const fld module_f[] = {
    F(Elaine__Module, 1, K_STR, path), F(Elaine__Module, 2, K_U64, load_base),
};

static const Elaine__Hello hello_init = ELAINE__HELLO__INIT;
static const Elaine__ConnOpen conn_open_init = ELAINE__CONN_OPEN__INIT;
static const Elaine__RequestStart request_start_init = ELAINE__REQUEST_START__INIT;
static const Elaine__Data data_init = ELAINE__DATA__INIT;
static const Elaine__Close close_init = ELAINE__CLOSE__INIT;
static const Elaine__Drop drop_init = ELAINE__DROP__INIT;
static const Elaine__Module module_init = ELAINE__MODULE__INIT;
static const Elaine__Event event_init = ELAINE__EVENT__INIT;
static const Elaine__Batch batch_init = ELAINE__BATCH__INIT;

#define DESC(f, init) {f, sizeof(f) / sizeof(f[0]), sizeof(init), &init}
static const msgdesc hello_d = DESC(hello_f, hello_init);
/* The Event oneof, by field number 2..7 (protobuf-c's case values are the numbers). */
static const msgdesc bodies[] = {
    DESC(conn_open_f, conn_open_init), DESC(request_start_f, request_start_init),
    DESC(data_f, data_init),           DESC(close_f, close_init),
    DESC(drop_f, drop_init),           DESC(module_f, module_init),
};

static void *alloc(ProtobufCAllocator *a, size_t n)
{
    return a->alloc(a->allocator_data, n ? n : 1);
}

static void *new_msg(ProtobufCAllocator *a, const msgdesc *d)
{
    void *m = alloc(a, d->size);
    if (m)
        memcpy(m, d->init, d->size);
    return m;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PBDEC_SWAR 1
#define HI8 0x8080808080808080ull

/* The 7-bit groups of the low bytes of w (continuation bits already
 * cleared) side by side: 8 bytes make 56 bits. */
static inline uint64_t squeeze(uint64_t x)
{
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    return ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
}
#endif

/* A varint of at most 10 bytes (bits beyond 64 dropped, as protobuf-c does). */
static inline int varint_slow(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *p = r->p;
    if (r->end - p >= 10) { /* no end to watch */
        if (!(p[1] & 0x80)) { /* lengths of a few hundred bytes */
            r->p = p + 2;
            *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            return 0;
        }
#ifdef PBDEC_SWAR
        /* Eight bytes at once (stack addresses and timestamps are 6 to 9
         * bytes): the lowest clear high bit ends the varint. */
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t stop = ~w & HI8;
        if (stop) { /* the bytes up to and including the last one */
            r->p = p + (((unsigned)__builtin_ctzll(stop) + 1) >> 3);
            *v = squeeze(w & (stop ^ (stop - 1)) & ~HI8);
            return 0;
        }
        x = squeeze(w & ~HI8);
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
static inline int varint(rd *r, uint64_t *v)
{
    if (r->p < r->end && !(*r->p & 0x80)) {
        *v = *r->p++;
        return 0;
    }
    return varint_slow(r, v);
}

/* A length-delimited field's contents into sub. */
static int delimited(rd *r, rd *sub)
{
    uint64_t len;
    if (varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return 0;
}

static int skip(rd *r, unsigned wt)
{
    uint64_t v;
    rd sub;
    switch (wt) {
    case 0:
        return varint(r, &v);
    case 1:
    case 5: {
        size_t k = wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < k)
            return -1;
        r->p += k;
        return 0;
    }
    case 2:
        return delimited(r, &sub);
    default: /* groups (3, 4) and the reserved 6, 7 */
        return -1;
    }
}

static char *str(ProtobufCAllocator *a, const rd *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *c = alloc(a, n + 1);
    if (c) {
        memcpy(c, s->p, n);
        c[n] = 0;
    }
    return c;
}

/* Appends k elements of size sz to the repeated field at base+off (count
 * at base+noff); returns where they go. The arena never frees, so a copy
 * per append is cheap for the short lists here (argv, a stack). */
static void *grow(ProtobufCAllocator *a, char *base, const fld *d, size_t sz, size_t k)
{
    size_t n;
    void *old;
    memcpy(&n, base + d->noff, sizeof(n));
    memcpy(&old, base + d->off, sizeof(old));
    if (k > (SIZE_MAX / sz) - n)
        return NULL;
    char *arr = alloc(a, (n + k) * sz);
    if (!arr)
        return NULL;
    if (n)
        memcpy(arr, old, n * sz);
    n += k;
    memcpy(base + d->noff, &n, sizeof(n));
    memcpy(base + d->off, &arr, sizeof(arr));
    return arr + (n - k) * sz;
}

static int field(rd *r, unsigned wt, char *base, const fld *d, ProtobufCAllocator *a)
{
    uint64_t v;
    rd s;
    switch (d->kind) {
    case K_U32:
    case K_U64:
    case K_BOOL:
    case K_ENUM:
        if (wt != 0 || varint(r, &v) < 0)
            return -1;
        if (d->kind == K_U64) {
            memcpy(base + d->off, &v, sizeof(v));
        } else if (d->kind == K_U32) {
            uint32_t u = (uint32_t)v;
            memcpy(base + d->off, &u, sizeof(u));
        } else if (d->kind == K_BOOL) {
            protobuf_c_boolean b = v != 0;
            memcpy(base + d->off, &b, sizeof(b));
        } else {
            int e = (int)(int32_t)(uint32_t)v;
            memcpy(base + d->off, &e, sizeof(e));
        }
        return 0;
    case K_STR:
    case K_BYTES:
    case K_RSTR:
        if (wt != 2 || delimited(r, &s) < 0)
            return -1;
        if (d->kind == K_BYTES) {
            ProtobufCBinaryData bd = {(size_t)(s.end - s.p), (uint8_t *)s.p};
            memcpy(base + d->off, &bd, sizeof(bd));
            return 0;
        }
        char *c = str(a, &s);
        if (!c)
            return -1;
        if (d->kind == K_STR) {
            memcpy(base + d->off, &c, sizeof(c));
            return 0;
        }
        char **slot = grow(a, base, d, sizeof(char *), 1);
        if (!slot)
            return -1;
        *slot = c;
        return 0;
    case K_RU64:
        if (wt == 0) {
            uint64_t *slot;
            if (varint(r, &v) < 0 || !(slot = grow(a, base, d, sizeof(uint64_t), 1)))
                return -1;
            *slot = v;
            return 0;
        }
        if (wt != 2 || delimited(r, &s) < 0)
            return -1;
        size_t k = 0; /* the varints: bytes without a continuation bit */
        const uint8_t *q = s.p;
#ifdef PBDEC_SWAR
        for (; s.end - q >= 8; q += 8) {
            uint64_t w;
            memcpy(&w, q, 8);
            k += (((~w & HI8) >> 7) * 0x0101010101010101ull) >> 56;
        }
#endif
        for (; q < s.end; q++)
            k += !(*q & 0x80);
        if (k == 0)
            return s.p == s.end ? 0 : -1;
        uint64_t *out = grow(a, base, d, sizeof(uint64_t), k);
        if (!out)
            return -1;
        for (size_t i = 0; i < k; i++)
            if (varint(&s, &out[i]) < 0)
                return -1;
        return s.p == s.end ? 0 : -1;
    }
    return -1;
}

static int message(rd *r, void *m, const msgdesc *md, ProtobufCAllocator *a)
{
    while (r->p < r->end) {
        uint64_t key;
        if (varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
            return -1;
        uint32_t num = (uint32_t)(key >> 3);
        unsigned wt = (unsigned)(key & 7);
        const fld *d = NULL;
        if (num - 1 < md->nf && md->f[num - 1].num == num) {
            d = &md->f[num - 1]; /* the tables list fields 1..n in order */
        } else {
            for (size_t i = 0; i < md->nf; i++)
                if (md->f[i].num == num) {
                    d = &md->f[i];
                    break;
                }
        }
        if (d ? field(r, wt, m, d, a) < 0 : skip(r, wt) < 0)
            return -1;
    }
    return 0;
}

static int event(rd *r, Elaine__Event *e, ProtobufCAllocator *a)
{
    while (r->p < r->end) {
        uint64_t key, v;
        if (varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
            return -1;
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num == 1) {
            if (wt != 0 || varint(r, &v) < 0)
                return -1;
            e->seq = v;
        } else if (num >= 2 && num <= 7) {
            rd s;
            if (wt != 2 || delimited(r, &s) < 0)
                return -1;
            const msgdesc *md = &bodies[num - 2];
            void *m = new_msg(a, md);
            if (!m || message(&s, m, md, a) < 0)
                return -1;
            e->body_case = (Elaine__Event__BodyCase)num;
            memcpy(&e->conn_open, &m, sizeof(m)); /* the union's members are all message pointers */
        } else if (skip(r, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

Elaine__Batch *elaine_pbdec_batch(const uint8_t *p, size_t n, ProtobufCAllocator *a)
{
    /* first the events' count, for one array */
    size_t count = 0;
    rd r = {p, p + n};
    while (r.p < r.end) {
        uint64_t key;
        if (varint(&r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX ||
            skip(&r, (unsigned)(key & 7)) < 0)
            return NULL;
        count += key == ((2u << 3) | 2);
    }
    Elaine__Batch *b = alloc(a, sizeof(*b));
    if (!b)
        return NULL;
    *b = batch_init;
    if (count && !(b->events = alloc(a, count * sizeof(*b->events))))
        return NULL;
    r.p = p;
    while (r.p < r.end) {
        uint64_t key = 0;
        rd s;
        varint(&r, &key); /* well formed: checked above */
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num == 1 && wt == 2) {
            delimited(&r, &s);
            if (!(b->hello = new_msg(a, &hello_d)))
                return NULL;
            if (message(&s, b->hello, &hello_d, a) < 0)
                return NULL;
        } else if (num == 2 && wt == 2) {
            delimited(&r, &s);
            Elaine__Event *e = alloc(a, sizeof(*e));
            if (!e)
                return NULL;
            *e = event_init;
            if (event(&s, e, a) < 0)
                return NULL;
            b->events[b->n_events++] = e;
        } else if (num == 1 || num == 2) {
            return NULL; /* a message field of another wire type */
        } else {
            skip(&r, wt);
        }
    }
    return b;
}
