/* The Batch decoder of the collector's hot path (elaine_pbdec.h).
 *
 * protobuf-c's generic unpacker walks its field descriptors for every field
 * and copies every bytes field. The schema is small and only varint and
 * length-delimited fields occur, so the messages of every exchange (Batch,
 * Event, Data, RequestStart, Close) have a decoder of their own: a switch on
 * the key byte, varints read inline, the structs carved from blocks taken
 * from the allocator (not one allocation per message). The rare messages
 * (Hello, ConnOpen, Drop, Module) go through a short table of (field number,
 * kind, offset) over protobuf-c's own structs.
 * Wire rules as protobuf-c applies them: unknown fields skipped, a known
 * field of the wrong wire type fails, a repeated scalar packed or not, a
 * message field seen twice replaced by the later one (protobuf-c does not
 * merge), the last oneof member wins. A key is a varint like any other (an
 * overlong one names its field all the same). */
#include "elaine_pbdec.h"

#include <stddef.h>
#include <string.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- allocation: bump blocks taken from the caller's allocator ---- */

#define BLOCK (16u << 10)
#define BIG (BLOCK / 4) /* bigger requests get an allocation of their own */

typedef struct arena {
    uint8_t *p;
    size_t left;
    ProtobufCAllocator *a;
    const uint8_t *lim; /* the end of the batch: bytes up to there may be read ahead */
} arena;

static void *take_slow(arena *ar, size_t n)
{
    if (n > BIG)
        return ar->a->alloc(ar->a->allocator_data, n);
    uint8_t *b = ar->a->alloc(ar->a->allocator_data, BLOCK);
    if (!b)
        return NULL;
    ar->p = b + n;
    ar->left = BLOCK - n;
    return b;
}

/* n bytes, 8-aligned (the allocator's blocks are at least that). */
static ALWAYS_INLINE void *take(arena *ar, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (LIKELY(n <= ar->left)) {
        void *r = ar->p;
        ar->p += n;
        ar->left -= n;
        return r;
    }
    return take_slow(ar, n);
}

/* ---- varints: at most 10 bytes, bits beyond 64 dropped (as protobuf-c) ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PBDEC_SWAR 1
#define HI8 0x8080808080808080ull

/* The 7-bit groups of the low bytes of w (continuation bits already
 * cleared) side by side: 8 bytes make 56 bits. */
static ALWAYS_INLINE uint64_t squeeze(uint64_t x)
{
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    return ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
}
#endif

/* A varint the fast paths did not take: one of 9 or 10 bytes (a wall
 * clock: 8 bytes at once, then the last one or two), or one less than 8
 * bytes before the end of its message (a byte at a time); the position
 * after it, NULL when it is cut off or longer than 10 bytes. */
static __attribute__((noinline)) const uint8_t *varint_slow(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    unsigned i = 0;
#ifdef PBDEC_SWAR
    if (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t stop = ~w & HI8;
        if (stop) {
            *v = squeeze(w & (stop ^ (stop - 1)) & ~HI8);
            return p + (((unsigned)__builtin_ctzll(stop) + 1) >> 3);
        }
        x = squeeze(w & ~HI8);
        i = 8;
    }
#endif
    for (; i < 10; i++) {
        if (i >= (size_t)(end - p))
            return NULL;
        uint8_t b = p[i];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return p + i + 1;
        }
    }
    return NULL;
}

/* Keys, lengths and small numbers are one byte, lengths of a few hundred
 * bytes two; longer ones (times, stack addresses: 3 to 8 bytes) are read
 * 8 bytes at once, where 8 bytes remain: the lowest clear high bit ends the
 * varint. All inline. */
static ALWAYS_INLINE const uint8_t *varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (LIKELY(p < end)) {
        if (LIKELY(p[0] < 0x80)) {
            *v = p[0];
            return p + 1;
        }
#ifdef PBDEC_SWAR
        if (LIKELY(end - p >= 8)) {
            if (p[1] < 0x80) {
                *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
                return p + 2;
            }
            if (p[2] < 0x80) { /* sequence numbers, thread ids */
                *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)(p[1] & 0x7f) << 7 | (uint64_t)p[2] << 14;
                return p + 3;
            }
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t stop = ~w & HI8;
            if (LIKELY(stop)) { /* the bytes up to and including the last one */
                *v = squeeze(w & (stop ^ (stop - 1)) & ~HI8);
                return p + (((unsigned)__builtin_ctzll(stop) + 1) >> 3);
            }
        }
#else
        if (end - p >= 2 && p[1] < 0x80) {
            *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            return p + 2;
        }
#endif
    }
    return varint_slow(p, end, v);
}

/* A length-delimited field's contents: [*s, *se); the position after it or NULL. */
static ALWAYS_INLINE const uint8_t *delimited(const uint8_t *p, const uint8_t *end, const uint8_t **s,
                                              const uint8_t **se)
{
    uint64_t len;
    if (UNLIKELY(!(p = varint(p, end, &len))) || UNLIKELY(len > (uint64_t)(end - p)))
        return NULL;
    *s = p;
    *se = p + len;
    return p + len;
}

/* Skips a field of wire type wt; NULL for groups, the reserved wire types
 * and what runs past the end. */
static const uint8_t *skip(const uint8_t *p, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    const uint8_t *s, *se;
    switch (wt) {
    case 0:
        return varint(p, end, &v);
    case 1:
    case 5: {
        size_t k = wt == 1 ? 8 : 4;
        if ((size_t)(end - p) < k)
            return NULL;
        return p + k;
    }
    case 2:
        return delimited(p, end, &s, &se);
    default: /* groups (3, 4) and the reserved 6, 7 */
        return NULL;
    }
}

/* A key the message's switch did not take: field numbers 1..nknown are the
 * message's own (so it came with the wrong wire type: fail), 0 and those
 * past 32 bits are invalid, the rest is unknown and skipped. */
static const uint8_t *other(const uint8_t *p, const uint8_t *end, uint64_t key, uint32_t nknown)
{
    uint64_t num = key >> 3;
    if (num == 0 || num > UINT32_MAX || num <= nknown)
        return NULL;
    return skip(p, end, (unsigned)(key & 7));
}

/* ---- packed repeated uint64 (the stack) ---- */

/* Appends k elements of size sz to the array *arr of *n (the arena never
 * frees, so a copy per append is cheap for the short lists here: argv, a
 * stack); returns where they go. */
static void *grow(arena *ar, void **arr, size_t *n, size_t sz, size_t k)
{
    if (k > (SIZE_MAX / sz) - *n)
        return NULL;
    char *a = take(ar, (*n + k) * sz);
    if (!a)
        return NULL;
    if (*n)
        memcpy(a, *arr, *n * sz);
    *arr = a;
    *n += k;
    return a + (*n - k) * sz;
}

/* A packed run of varints [s, se) appended to *arr of *n. 0 or -1. */
static int packed_u64(arena *ar, const uint8_t *s, const uint8_t *se, uint64_t **arr, size_t *n)
{
    size_t max = (size_t)(se - s); /* varints: one a byte at most */
    if (*n == 0 && max && max <= BIG / sizeof(uint64_t)) {
        /* the first run (the only one the shim sends): decoded at once into
         * room for the most it can hold, the rest given back to the block */
        size_t room = max * sizeof(uint64_t); /* a multiple of 8, as take rounds */
        uint64_t *out = take(ar, room);
        if (!out)
            return -1;
        size_t k = 0;
#ifdef PBDEC_SWAR
        /* 8 bytes at a time, each varint ended by the lowest clear high
         * bit: first while the run has 8 bytes (a varint ends inside), then
         * while the batch has them (ar->lim: the last address too) */
        while (se - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            uint64_t stop = ~w & HI8;
            if (UNLIKELY(!stop))
                break; /* 9 or 10 bytes: below */
            out[k++] = squeeze(w & (stop ^ (stop - 1)) & ~HI8);
            s += ((unsigned)__builtin_ctzll(stop) + 1) >> 3;
        }
        while (s < se && ar->lim - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            uint64_t stop = ~w & HI8;
            if (!stop)
                break;
            size_t len = ((unsigned)__builtin_ctzll(stop) + 1) >> 3;
            if (len > (size_t)(se - s))
                return -1; /* cut off by the end of the run */
            out[k++] = squeeze(w & (stop ^ (stop - 1)) & ~HI8);
            s += len;
        }
#endif
        while (s < se)
            if (!(s = varint(s, se, &out[k++])))
                return -1;
        if (ar->p == (uint8_t *)out + room) {
            ar->p -= room - k * sizeof(uint64_t);
            ar->left += room - k * sizeof(uint64_t);
        }
        *arr = out;
        *n = k;
        return 0;
    }
    size_t k = 0; /* the varints: bytes without a continuation bit */
    const uint8_t *q = s;
#ifdef PBDEC_SWAR
    for (; se - q >= 8; q += 8) {
        uint64_t w;
        memcpy(&w, q, 8);
        k += (((~w & HI8) >> 7) * 0x0101010101010101ull) >> 56;
    }
#endif
    for (; q < se; q++)
        k += !(*q & 0x80);
    if (k == 0)
        return s == se ? 0 : -1;
    void *a = *arr;
    uint64_t *out = grow(ar, &a, n, sizeof(uint64_t), k);
    if (!out)
        return -1;
    *arr = a;
    for (size_t i = 0; i < k; i++)
        if (!(s = varint(s, se, &out[i])))
            return -1;
    return s == se ? 0 : -1;
}

/* ---- the rare messages: table driven ---- */

enum kind { K_U32, K_U64, K_BOOL, K_STR, K_RSTR };

typedef struct fld {
    uint32_t num;
    enum kind kind;
    size_t off;  /* the value, or for repeated fields the array pointer */
    size_t noff; /* repeated: the count */
} fld;

typedef struct msgdesc {
    const fld *f;
    size_t nf; /* the fields are 1..nf, in order */
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
static const msgdesc conn_open_d = DESC(conn_open_f, conn_open_init);
static const msgdesc drop_d = DESC(drop_f, drop_init);
static const msgdesc module_d = DESC(module_f, module_init);

static char *str(arena *ar, const uint8_t *s, const uint8_t *se)
{
    size_t n = (size_t)(se - s);
    char *c = take(ar, n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

/* A message of a table [p, end) into a fresh struct; NULL on failure. */
static void *table_msg(arena *ar, const msgdesc *md, const uint8_t *p, const uint8_t *end)
{
    char *m = take(ar, md->size);
    if (!m)
        return NULL;
    memcpy(m, md->init, md->size);
    while (p < end) {
        uint64_t key, v;
        if (!(p = varint(p, end, &key)))
            return NULL;
        uint64_t num = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (num - 1 >= md->nf) { /* 0 (num - 1 wraps), unknown or past 32 bits */
            if (!(p = other(p, end, key, 0)))
                return NULL;
            continue;
        }
        const fld *d = &md->f[num - 1];
        if (d->kind == K_STR || d->kind == K_RSTR) {
            const uint8_t *s, *se;
            char *c;
            if (wt != 2 || !(p = delimited(p, end, &s, &se)) || !(c = str(ar, s, se)))
                return NULL;
            if (d->kind == K_STR) {
                memcpy(m + d->off, &c, sizeof(c));
            } else {
                void *arr;
                size_t n;
                memcpy(&arr, m + d->off, sizeof(arr));
                memcpy(&n, m + d->noff, sizeof(n));
                char **slot = grow(ar, &arr, &n, sizeof(char *), 1);
                if (!slot)
                    return NULL;
                *slot = c;
                memcpy(m + d->off, &arr, sizeof(arr));
                memcpy(m + d->noff, &n, sizeof(n));
            }
            continue;
        }
        if (wt != 0 || !(p = varint(p, end, &v)))
            return NULL;
        if (d->kind == K_U64) {
            memcpy(m + d->off, &v, sizeof(v));
        } else if (d->kind == K_U32) {
            uint32_t u = (uint32_t)v;
            memcpy(m + d->off, &u, sizeof(u));
        } else {
            protobuf_c_boolean b = v != 0;
            memcpy(m + d->off, &b, sizeof(b));
        }
    }
    return m;
}

/* ---- the messages of every exchange ---- */

/* The next key of [p, end) into key; fails the decoder (returns fail) when cut off. */
#define KEY(fail)                                 \
    do {                                          \
        if (UNLIKELY(!(p = varint(p, end, &key)))) \
            return fail;                          \
    } while (0)
#define VAL(fail)                               \
    do {                                        \
        if (UNLIKELY(!(p = varint(p, end, &v)))) \
            return fail;                        \
    } while (0)
#define OTHER(nknown, fail)                               \
    do {                                                  \
        if (UNLIKELY(!(p = other(p, end, key, nknown)))) \
            return fail;                                  \
    } while (0)

/* The fields of Data and RequestStart: the same code for the in-order
 * chain (each field tried once, in number order: what every packer writes)
 * and for the loop after it (anything else: any order, repeats, unknown
 * fields), so that both read a field alike. */
#define DATA_F1 { VAL(NULL); d->conn_id = v; }
#define DATA_F2 { VAL(NULL); d->dir = (Elaine__Direction)(int32_t)(uint32_t)v; }
#define DATA_F3 { VAL(NULL); d->tid = (uint32_t)v; }
#define DATA_F4 { VAL(NULL); d->mono_ns = v; }
#define DATA_F5                                                \
    {                                                          \
        const uint8_t *s, *se;                                 \
        if (UNLIKELY(!(p = delimited(p, end, &s, &se))))       \
            return NULL;                                       \
        d->data.len = (size_t)(se - s);                        \
        d->data.data = (uint8_t *)s;                           \
    }
/* In order: the key is one byte (an overlong one goes to the loop). */
#define NEXT_IS(k) (p < end && *p == (k) && (++p, 1))

static ALWAYS_INLINE Elaine__Data *data_msg(arena *ar, const uint8_t *p, const uint8_t *end)
{
    Elaine__Data *d = take(ar, sizeof(*d));
    if (UNLIKELY(!d))
        return NULL;
    *d = data_init;
    uint64_t key, v;
    if (NEXT_IS((1 << 3) | 0))
        DATA_F1
    if (NEXT_IS((2 << 3) | 0))
        DATA_F2
    if (NEXT_IS((3 << 3) | 0))
        DATA_F3
    if (NEXT_IS((4 << 3) | 0))
        DATA_F4
    if (NEXT_IS((5 << 3) | 2))
        DATA_F5
    while (p < end) {
        KEY(NULL);
        switch (key) {
        case (1 << 3) | 0:
            DATA_F1
            break;
        case (2 << 3) | 0:
            DATA_F2
            break;
        case (3 << 3) | 0:
            DATA_F3
            break;
        case (4 << 3) | 0:
            DATA_F4
            break;
        case (5 << 3) | 2:
            DATA_F5
            break;
        default:
            OTHER(5, NULL);
        }
    }
    return d;
}

#define RS_F1 { VAL(NULL); r->conn_id = v; }
#define RS_F2 { VAL(NULL); r->tid = (uint32_t)v; }
#define RS_F3 { VAL(NULL); r->wall_ns = v; }
#define RS_F4 { VAL(NULL); r->mono_ns = v; }
#define RS_F5 { VAL(NULL); r->request_no = v; }
#define RS_F6                                                                                      \
    {                                                                                              \
        const uint8_t *s, *se;                                                                     \
        if (!(p = delimited(p, end, &s, &se)) || packed_u64(ar, s, se, &r->stack, &r->n_stack) < 0) \
            return NULL;                                                                           \
    }
#define RS_F7 { VAL(NULL); r->gap = v != 0; }

static Elaine__RequestStart *request_start_msg(arena *ar, const uint8_t *p, const uint8_t *end)
{
    Elaine__RequestStart *r = take(ar, sizeof(*r));
    if (!r)
        return NULL;
    *r = request_start_init;
    uint64_t key, v;
    if (NEXT_IS((1 << 3) | 0))
        RS_F1
    if (NEXT_IS((2 << 3) | 0))
        RS_F2
    if (NEXT_IS((3 << 3) | 0))
        RS_F3
    if (NEXT_IS((4 << 3) | 0))
        RS_F4
    if (NEXT_IS((5 << 3) | 0))
        RS_F5
    if (NEXT_IS((6 << 3) | 2))
        RS_F6
    if (NEXT_IS((7 << 3) | 0))
        RS_F7
    while (p < end) {
        KEY(NULL);
        switch (key) {
        case (1 << 3) | 0:
            RS_F1
            break;
        case (2 << 3) | 0:
            RS_F2
            break;
        case (3 << 3) | 0:
            RS_F3
            break;
        case (4 << 3) | 0:
            RS_F4
            break;
        case (5 << 3) | 0:
            RS_F5
            break;
        case (6 << 3) | 2:
            RS_F6
            break;
        case (6 << 3) | 0: {
            VAL(NULL);
            void *a = r->stack;
            uint64_t *slot = grow(ar, &a, &r->n_stack, sizeof(uint64_t), 1);
            if (!slot)
                return NULL;
            r->stack = a;
            *slot = v;
            break;
        }
        case (7 << 3) | 0:
            RS_F7
            break;
        default:
            OTHER(7, NULL);
        }
    }
    return r;
}

static Elaine__Close *close_msg(arena *ar, const uint8_t *p, const uint8_t *end)
{
    Elaine__Close *c = take(ar, sizeof(*c));
    if (!c)
        return NULL;
    *c = close_init;
    while (p < end) {
        uint64_t key, v;
        KEY(NULL);
        switch (key) {
        case (1 << 3) | 0:
            VAL(NULL);
            c->conn_id = v;
            break;
        case (2 << 3) | 0:
            VAL(NULL);
            c->mono_ns = v;
            break;
        default:
            OTHER(2, NULL);
        }
    }
    return c;
}

/* An Event [p, end) into e. 0 or -1. */
static ALWAYS_INLINE int event_msg(arena *ar, Elaine__Event *e, const uint8_t *p, const uint8_t *end)
{
    uint64_t key, v;
    /* in order: seq, then (mostly) a Data */
    if (LIKELY(NEXT_IS((1 << 3) | 0))) {
        VAL(-1);
        e->seq = v;
    }
    if (LIKELY(NEXT_IS((4 << 3) | 2))) {
        const uint8_t *s, *se;
        void *m;
        if (UNLIKELY(!(p = delimited(p, end, &s, &se))) || UNLIKELY(!(m = data_msg(ar, s, se))))
            return -1;
        e->body_case = ELAINE__EVENT__BODY_DATA;
        memcpy(&e->conn_open, &m, sizeof(m));
    }
    while (p < end) {
        KEY(-1);
        if (key == ((1 << 3) | 0)) {
            VAL(-1);
            e->seq = v;
            continue;
        }
        const uint8_t *s, *se;
        void *m;
        switch (key) {
        case (4 << 3) | 2: /* Data first: four of five events */
            if (UNLIKELY(!(p = delimited(p, end, &s, &se))) || UNLIKELY(!(m = data_msg(ar, s, se))))
                return -1;
            break;
        case (3 << 3) | 2:
            if (!(p = delimited(p, end, &s, &se)) || !(m = request_start_msg(ar, s, se)))
                return -1;
            break;
        case (5 << 3) | 2:
            if (!(p = delimited(p, end, &s, &se)) || !(m = close_msg(ar, s, se)))
                return -1;
            break;
        case (2 << 3) | 2:
            if (!(p = delimited(p, end, &s, &se)) || !(m = table_msg(ar, &conn_open_d, s, se)))
                return -1;
            break;
        case (6 << 3) | 2:
            if (!(p = delimited(p, end, &s, &se)) || !(m = table_msg(ar, &drop_d, s, se)))
                return -1;
            break;
        case (7 << 3) | 2:
            if (!(p = delimited(p, end, &s, &se)) || !(m = table_msg(ar, &module_d, s, se)))
                return -1;
            break;
        default:
            OTHER(7, -1);
            continue;
        }
        e->body_case = (Elaine__Event__BodyCase)(key >> 3);
        memcpy(&e->conn_open, &m, sizeof(m)); /* the union's members are all message pointers */
    }
    return 0;
}

Elaine__Batch *elaine_pbdec_batch(const uint8_t *p, size_t n, ProtobufCAllocator *a)
{
    arena ar = {NULL, 0, a, p + n};
    const uint8_t *end = p + n;
    Elaine__Batch *b = take(&ar, sizeof(*b));
    if (!b)
        return NULL;
    *b = batch_init;
    /* the events' array grows by doubling (the arena keeps the old ones: at
     * most as much again) */
    size_t cap = 0;
    while (p < end) {
        uint64_t key;
        const uint8_t *s, *se;
        KEY(NULL);
        if (LIKELY(key == ((2 << 3) | 2))) {
            if (UNLIKELY(!(p = delimited(p, end, &s, &se))))
                return NULL;
            Elaine__Event *e = take(&ar, sizeof(*e));
            if (UNLIKELY(!e))
                return NULL;
            *e = event_init;
            if (UNLIKELY(event_msg(&ar, e, s, se) < 0))
                return NULL;
            if (UNLIKELY(b->n_events == cap)) {
                size_t ncap = cap ? 2 * cap : 64;
                Elaine__Event **evs = take(&ar, ncap * sizeof(*evs));
                if (!evs)
                    return NULL;
                if (cap)
                    memcpy(evs, b->events, cap * sizeof(*evs));
                b->events = evs;
                cap = ncap;
            }
            b->events[b->n_events++] = e;
        } else if (key == ((1 << 3) | 2)) {
            if (!(p = delimited(p, end, &s, &se)) || !(b->hello = table_msg(&ar, &hello_d, s, se)))
                return NULL;
        } else {
            OTHER(2, NULL);
        }
    }
    return b;
}
