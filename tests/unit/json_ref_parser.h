/* The JSON parser as it was before its rewrite for speed (commit caf0eaf of
 * collector/elaine_json.c, parser and accessors only), kept verbatim but for
 * the names (ref_ / rj_ instead of ref_json_ / ej_), all static: the
 * reference that tests/unit/test_json.c compares the parser with. */
#ifndef JSON_REF_PARSER_H
#define JSON_REF_PARSER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "elaine_buf.h"
#include "elaine_json.h"

#define RJ_MAX_DEPTH 512

typedef struct rj_val rj_val;
typedef struct rj_member rj_member;
static const rj_val *ref_json_getn(const rj_val *v, const char *key, size_t kl);

struct rj_val {
    ej_type type;
    unsigned char canon; /* the root: 2 when its text is as the writer writes it, else 1; 0 below */
    size_t len; /* string bytes, array/object members */
    union {
        int b;
        char *s;         /* EJ_STR: decoded text; EJ_NUM: source text */
        rj_val *items;   /* EJ_ARR */
        rj_member *mems; /* EJ_OBJ */
    } u;
};

struct rj_member {
    char *key; /* NUL-terminated; may hold \0 when escaped, see klen */
    size_t klen;
    rj_val val;
};

/* ---------------------------------------------------------------- arena */

/* A parsed tree lives in one arena: blocks of memory handed out front to
 * back, freed together. The document header (the block list) and the root
 * value sit at the start of the first block, so ref_json_free(root) finds
 * them. One block of the usual size is kept for the next parse (a stream
 * parses one small event after another). */
#define RJ_BLOCK_STD (8u << 10)

typedef struct rj_block {
    struct rj_block *next;
    size_t cap, used; /* bytes of data[] */
    _Alignas(16) unsigned char data[];
} rj_block;

typedef struct rj_doc {
    rj_block *blocks; /* newest first; the last one holds this header */
    const char *src;  /* the text parsed (the caller's), for elaine_jw_json */
    size_t src_len;
    int max_depth;    /* of the deepest container, 0 for the root */
    rj_val root;
} rj_doc;

/* Blocks of the usual size kept for the next parses: an exchange holds two
 * trees (request and response body) at once. */
#define RJ_SPARES 2
static _Atomic(rj_block *) ref_spare_block[RJ_SPARES];

static rj_block *rj_block_new(size_t cap)
{
    if (cap == RJ_BLOCK_STD) {
        for (int k = 0; k < RJ_SPARES; k++) {
            if (!atomic_load_explicit(&ref_spare_block[k], memory_order_relaxed))
                continue;
            rj_block *b = atomic_exchange(&ref_spare_block[k], NULL);
            if (b) {
                b->next = NULL;
                b->used = 0;
                return b;
            }
        }
    }
    rj_block *b = malloc(sizeof(*b) + cap);
    if (b) {
        b->next = NULL;
        b->cap = cap;
        b->used = 0;
    }
    return b;
}

static void rj_block_free(rj_block *b)
{
    if (b->cap == RJ_BLOCK_STD) {
        for (int k = 0; k < RJ_SPARES; k++) {
            rj_block *none = NULL;
            if (atomic_compare_exchange_strong(&ref_spare_block[k], &none, b))
                return;
        }
    }
    free(b);
}

typedef struct rj_arena {
    rj_block *cur;
} rj_arena;

static void *rj_arena_alloc_slow(rj_arena *a, size_t n)
{
    size_t cap = a->cur->cap * 2;
    if (cap < n)
        cap = n;
    if (cap > ((size_t)1 << 40))
        return NULL;
    rj_block *b = rj_block_new(cap);
    if (!b)
        return NULL;
    b->next = a->cur;
    a->cur = b;
    b->used = n;
    return b->data;
}

/* n bytes, 8-byte aligned. */
static inline void *rj_arena_alloc(rj_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    rj_block *b = a->cur;
    if (__builtin_expect(b->cap - b->used >= n, 1)) {
        void *p = b->data + b->used;
        b->used += n;
        return p;
    }
    if (n < n - 7) /* wrapped */
        return NULL;
    return rj_arena_alloc_slow(a, n);
}

/* ---------------------------------------------------------------- parser */

typedef struct rj_parser {
    const unsigned char *s;
    size_t n;
    size_t i;
    rj_arena a;
    char *text; /* a copy of s[0..n] in the arena: strings and numbers end in place there */
    rj_member *stack; /* children of the open containers, copied out when one closes */
    size_t top, cap;
    rj_member local[64];
    elaine_buf tmp; /* strings with escapes are decoded here first */
    int noncanon;   /* whitespace or an escape the writer would write otherwise */
    int max_depth;
} rj_parser;

static void rj_skip_ws_slow(rj_parser *p)
{
    size_t i0 = p->i;
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r'))
            break;
        p->i++;
    }
    if (p->i != i0)
        p->noncanon = 1;
}

/* Compact text (no whitespace between tokens) is the usual case: one test. */
static inline void rj_skip_ws(rj_parser *p)
{
    if (p->i < p->n && p->s[p->i] > ' ')
        return;
    rj_skip_ws_slow(p);
}

static int rj_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int rj_read_hex4(rj_parser *p, unsigned *out)
{
    if (p->n - p->i < 4)
        return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = rj_hexval(p->s[p->i + k]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    p->i += 4;
    *out = v;
    return 0;
}

static void rj_put_utf8(elaine_buf *b, unsigned cp)
{
    char o[4];
    if (cp < 0x80) {
        elaine_buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        elaine_buf_add(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        elaine_buf_add(b, o, 3);
    } else {
        o[0] = (char)(0xF0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        elaine_buf_add(b, o, 4);
    }
}

/* Length of the well-formed UTF-8 sequence at s (n >= 1 bytes available), or 0
 * when ill-formed; then *bad is the length of its maximal subpart (>= 1), which
 * the writer replaces by one U+FFFD (the WHATWG / Unicode recommendation). */
static size_t rj_utf8_seq2(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n) {
            *bad = k;
            return 0;
        }
        unsigned char d = s[k];
        if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

static size_t rj_utf8_seq(const unsigned char *s, size_t n)
{
    size_t bad;
    return rj_utf8_seq2(s, n, &bad);
}

/* Bytes a string may hold as they are: not '"', '\\', a control or non-ASCII. */
static const unsigned char rj_plain_byte[256] = {
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
    R16(0), R16(0), /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2f: '"' */
    R16(1), R16(1), /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f: '\\' */
    R16(1), R16(1), /* 0x60-0x7f */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), /* 0x80-0xff */
#undef R16
};

/* The length of the run of plain bytes at s[0..n). */
static inline size_t rj_plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* signed compare: below 0x20, and 0x80-0xff (negative) */
        __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, sp),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    while (i < n && rj_plain_byte[s[i]])
        i++;
    return i;
}

/* Decodes the rest of a string (p->i after the opening quote, or within it
 * after plain bytes already in p->tmp) into p->tmp. 0 or -1. */
static int rj_parse_string_slow(rj_parser *p)
{
    elaine_buf *out = &p->tmp;
    for (;;) {
        /* copy a run of plain bytes at once */
        size_t start = p->i;
        while (p->i < p->n) {
            p->i += rj_plain_run(p->s + p->i, p->n - p->i);
            if (p->i >= p->n)
                break;
            unsigned char c = p->s[p->i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            size_t k = rj_utf8_seq(p->s + p->i, p->n - p->i);
            if (!k)
                return -1; /* RFC 8259: text is UTF-8 */
            p->i += k;
        }
        elaine_buf_add(out, p->s + start, p->i - start);
        if (p->i >= p->n)
            return -1;
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            return out->oom ? -1 : 0;
        }
        if (c < 0x20)
            return -1;
        /* backslash */
        p->i++;
        if (p->i >= p->n)
            return -1;
        c = p->s[p->i++];
        switch (c) {
        case '"': elaine_buf_addc(out, '"'); break;
        case '\\': elaine_buf_addc(out, '\\'); break;
        case '/': elaine_buf_addc(out, '/'); p->noncanon = 1; break;
        case 'b': elaine_buf_addc(out, '\b'); break;
        case 'f': elaine_buf_addc(out, '\f'); break;
        case 'n': elaine_buf_addc(out, '\n'); break;
        case 'r': elaine_buf_addc(out, '\r'); break;
        case 't': elaine_buf_addc(out, '\t'); break;
        case 'u': {
            unsigned cp;
            if (rj_read_hex4(p, &cp) < 0)
                return -1;
            /* the writer's own: \u00XX, lower case, for a control without a short escape */
            const unsigned char *h = p->s + p->i - 4;
            if (cp >= 0x20 || cp == '\b' || cp == '\t' || cp == '\n' || cp == '\f' || cp == '\r' ||
                (h[3] >= 'A' && h[3] <= 'F'))
                p->noncanon = 1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                size_t save = p->i;
                if (p->n - p->i >= 6 && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                    p->i += 2;
                    if (rj_read_hex4(p, &lo) < 0)
                        return -1;
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else {
                        p->i = save; /* lone high surrogate; next escape read on its own */
                        cp = 0xFFFD;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* lone low surrogate */
            }
            rj_put_utf8(out, cp);
            break;
        }
        default:
            return -1;
        }
    }
}

/* A string that is more than plain ASCII, from start (after the opening
 * quote; p->i there too) into the arena: *out and *len (NUL-terminated),
 * p->i after the closing quote. 0 or -1. */
static __attribute__((noinline)) int rj_parse_string_esc(rj_parser *p, size_t start, char **out, size_t *len);

/* The rest of a string that is more than plain ASCII. */
static int rj_parse_string_esc(rj_parser *p, size_t start, char **out, size_t *len)
{
    /* escapes: decoded never longer than their source text, so in place too */
    elaine_buf_reset(&p->tmp);
    if (rj_parse_string_slow(p) < 0)
        return -1;
    *len = p->tmp.len;
    *out = p->text + start;
    if (p->tmp.len)
        memcpy(*out, p->tmp.p, p->tmp.len);
    (*out)[p->tmp.len] = 0;
    return 0;
}

static inline int rj_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The end of the number at s[i..n) (RFC 8259 grammar), or 0 when there is
 * none (a number never ends at 0: it has a digit). */
static inline size_t rj_scan_number(const unsigned char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        i++;
        while (i < n && rj_is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !rj_is_digit(s[i]))
            return 0;
        while (i < n && rj_is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !rj_is_digit(s[i]))
            return 0;
        while (i < n && rj_is_digit(s[i]))
            i++;
    }
    return i;
}

/* The children stack full: twice the room (the first growth leaves the
 * parser's local array). NULL on ENOMEM. */
static __attribute__((noinline)) rj_member *stack_grow(rj_parser *p)
{
    size_t nc = p->cap * 2;
    rj_member *ns;
    if (p->stack == p->local) {
        ns = malloc(nc * sizeof(*ns));
        if (ns)
            memcpy(ns, p->local, p->top * sizeof(*ns));
    } else {
        ns = realloc(p->stack, nc * sizeof(*ns));
    }
    if (!ns)
        return NULL;
    p->stack = ns;
    p->cap = nc;
    return ns;
}

/* Parses the one value at p->i into *root: a loop, not a recursion. Every
 * value gets a slot on the children stack before it is parsed (for a member,
 * with its key), and is parsed into that slot; a container's children follow
 * its slot, and when it closes they are copied into the arena, the stack cut
 * back to them. The slots are told by index (the stack may move). bases[d]
 * is where the children of the open container at depth d start (its own slot
 * is the one before). 0 or -1; p->i after the value. */
static int rj_parse_doc(rj_parser *p, rj_val *root)
{
    const unsigned char *s = p->s;
    const size_t n = p->n;
    char *const text = p->text;
    size_t i = p->i;
    size_t bases[RJ_MAX_DEPTH];
    int depth = 0; /* open containers */
    rj_member *stk = p->stack;
    rj_member *m = &stk[0]; /* the slot of the value to parse */
    rj_val *v;
    p->top = 1;
    m->key = NULL;
    m->klen = 0;

/* whitespace: one test for compact text */
#define SKIP_WS()                                                  \
    do {                                                           \
        if (__builtin_expect(i >= n || s[i] <= ' ', 0)) {          \
            p->i = i;                                              \
            rj_skip_ws_slow(p);                                       \
            i = p->i;                                              \
        }                                                          \
    } while (0)
/* a new slot on top of the stack into m */
#define PUSH()                                                     \
    do {                                                           \
        if (__builtin_expect(p->top == p->cap, 0)) {               \
            if (!(stk = stack_grow(p)))                            \
                goto fail;                                         \
        }                                                          \
        m = &stk[p->top++];                                        \
    } while (0)

value:
    SKIP_WS();
    if (i >= n)
        goto fail;
    v = &m->val;
    v->canon = 0;
    switch (s[i]) {
    case '{':
    case '[':
        if (depth >= RJ_MAX_DEPTH)
            goto fail;
        if (depth > p->max_depth)
            p->max_depth = depth;
        v->type = s[i] == '{' ? EJ_OBJ : EJ_ARR;
        v->len = 0;
        v->u.items = NULL;
        i++;
        SKIP_WS();
        if (i < n && s[i] == (v->type == EJ_OBJ ? '}' : ']')) {
            i++;
            break; /* empty */
        }
        bases[depth++] = p->top;
        if (v->type == EJ_OBJ)
            goto key;
        PUSH();
        m->key = NULL;
        m->klen = 0;
        goto value;
    case '"': {
        size_t start = i + 1;
        size_t k = rj_plain_run(s + start, n - start);
        v->type = EJ_STR;
        if (__builtin_expect(start + k < n && s[start + k] == '"', 1)) {
            /* the usual case: plain ASCII up to the closing quote, ended in place */
            text[start + k] = 0;
            v->u.s = text + start;
            v->len = k;
            i = start + k + 1;
        } else {
            p->i = start;
            if (rj_parse_string_esc(p, start, &v->u.s, &v->len) < 0)
                goto fail;
            i = p->i;
        }
        break;
    }
    case 't':
        if (n - i < 4 || memcmp(s + i, "true", 4) != 0)
            goto fail;
        i += 4;
        v->type = EJ_BOOL;
        v->len = 0;
        v->u.b = 1;
        break;
    case 'f':
        if (n - i < 5 || memcmp(s + i, "false", 5) != 0)
            goto fail;
        i += 5;
        v->type = EJ_BOOL;
        v->len = 0;
        v->u.b = 0;
        break;
    case 'n':
        if (n - i < 4 || memcmp(s + i, "null", 4) != 0)
            goto fail;
        i += 4;
        v->type = EJ_NULL;
        v->len = 0;
        v->u.s = NULL;
        break;
    default: {
        size_t end = rj_scan_number(s, n, i);
        if (!end)
            goto fail;
        v->type = EJ_NUM;
        v->len = end - i;
        v->u.s = text + i;
        text[end] = 0; /* the delimiter that follows (the parser reads s, not text) */
        i = end;
        break;
    }
    }

next: /* after a value: the next member or item, or the end of containers */
    if (!depth)
        goto done;
    SKIP_WS();
    if (i >= n)
        goto fail;
    {
        size_t base = bases[depth - 1];
        rj_val *c = &stk[base - 1].val;
        if (s[i] == ',') {
            i++;
            if (c->type == EJ_OBJ)
                goto key;
            PUSH();
            m->key = NULL;
            m->klen = 0;
            goto value;
        }
        if (s[i] != (c->type == EJ_OBJ ? '}' : ']'))
            goto fail;
        i++;
        size_t cnt = p->top - base;
        if (c->type == EJ_OBJ) {
            rj_member *mems = rj_arena_alloc(&p->a, cnt * sizeof(*mems));
            if (!mems)
                goto fail;
            memcpy(mems, stk + base, cnt * sizeof(*mems));
            c->u.mems = mems;
        } else {
            rj_val *items = rj_arena_alloc(&p->a, cnt * sizeof(*items));
            if (!items)
                goto fail;
            for (size_t k = 0; k < cnt; k++)
                items[k] = stk[base + k].val;
            c->u.items = items;
        }
        c->len = cnt;
        p->top = base;
        depth--;
        goto next;
    }

key: /* a member: its key, the colon, then its value */
    SKIP_WS();
    if (i >= n || s[i] != '"')
        goto fail;
    PUSH();
    {
        size_t start = i + 1;
        size_t k = rj_plain_run(s + start, n - start);
        if (__builtin_expect(start + k < n && s[start + k] == '"', 1)) {
            text[start + k] = 0;
            m->key = text + start;
            m->klen = k;
            i = start + k + 1;
        } else {
            p->i = start;
            if (rj_parse_string_esc(p, start, &m->key, &m->klen) < 0)
                goto fail;
            i = p->i;
        }
    }
    SKIP_WS();
    if (i >= n || s[i] != ':')
        goto fail;
    i++;
    goto value;

done:
    *root = stk[0].val;
    p->i = i;
    return 0;
fail:
    p->i = i;
    return -1;
#undef SKIP_WS
#undef PUSH
}

static void rj_arena_release(rj_block *b)
{
    while (b) {
        rj_block *next = b->next;
        rj_block_free(b);
        b = next;
    }
}

/* 0 when the text cannot start a JSON value: a body that is no JSON (an
 * upload, a form) fails here before its text is copied into the arena. */
static int rj_plausible_start(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i >= n)
        return 0;
    unsigned char c = s[i];
    if (c == '-')
        return i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9';
    return c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || (c >= '0' && c <= '9');
}

static __attribute__((unused)) rj_val *ref_json_parse(const char *s, size_t n)
{
    if (!s || !rj_plausible_start((const unsigned char *)s, n))
        return NULL;
    rj_parser p;
    p.s = (const unsigned char *)s;
    p.n = n;
    p.i = 0;
    p.stack = p.local;
    p.top = 0;
    p.cap = sizeof(p.local) / sizeof(p.local[0]);
    p.noncanon = 0;
    p.max_depth = 0;
    elaine_buf_init(&p.tmp);
    /* about what a tree takes for text of this size, rounded to the reusable block */
    size_t want = n < ((size_t)32 << 20) ? n * 3 + sizeof(rj_doc) + 64 : ((size_t)96 << 20);
    rj_block *first = rj_block_new(want <= RJ_BLOCK_STD ? RJ_BLOCK_STD : want);
    if (!first)
        return NULL;
    p.a.cur = first;
    rj_doc *doc = rj_arena_alloc(&p.a, sizeof(*doc));
    p.text = rj_arena_alloc(&p.a, n + 1);
    if (!p.text) {
        rj_arena_release(p.a.cur);
        return NULL;
    }
    memcpy(p.text, s, n);
    p.text[n] = 0;
    int rc = rj_parse_doc(&p, &doc->root);
    if (rc == 0) {
        rj_skip_ws(&p);
        if (p.i != p.n)
            rc = -1;
    }
    if (p.stack != p.local)
        free(p.stack);
    elaine_buf_free(&p.tmp);
    if (rc < 0) {
        rj_arena_release(p.a.cur);
        return NULL;
    }
    doc->blocks = p.a.cur;
    doc->src = s;
    doc->src_len = n;
    doc->max_depth = p.max_depth;
    doc->root.canon = p.noncanon ? 1 : 2;
    return &doc->root;
}

static __attribute__((unused)) void ref_json_free(rj_val *v)
{
    if (!v)
        return;
    rj_doc *doc = (rj_doc *)(void *)((char *)v - offsetof(rj_doc, root));
    rj_arena_release(doc->blocks);
}

/* ---------------------------------------------------------------- scanning without a tree */

static __attribute__((unused)) size_t ref_json_str_append(const char *s, size_t n, size_t i, elaine_buf *out)
{
    if (i >= n || s[i] != '"')
        return 0;
    /* rj_parse_string_slow reads s, n, i and writes tmp (noncanon too) */
    rj_parser p;
    p.s = (const unsigned char *)s;
    p.n = n;
    p.i = i + 1;
    p.tmp = *out;
    p.noncanon = 0;
    int rc = rj_parse_string_slow(&p);
    *out = p.tmp;
    return rc < 0 ? 0 : p.i;
}

static __attribute__((unused)) size_t ref_json_scan_str(const char *s, size_t n, size_t i, int *plain)
{
    const unsigned char *u = (const unsigned char *)s;
    if (i >= n || u[i] != '"')
        return 0;
    size_t k = rj_plain_run(u + i + 1, n - i - 1);
    if (i + 1 + k < n && u[i + 1 + k] == '"') {
        if (plain)
            *plain = 1;
        return i + k + 2;
    }
    if (plain)
        *plain = 0;
    elaine_buf tmp;
    elaine_buf_init(&tmp);
    size_t end = ref_json_str_append(s, n, i, &tmp);
    elaine_buf_free(&tmp);
    return end;
}

static inline size_t rj_scan_ws(const unsigned char *u, size_t n, size_t i)
{
    while (i < n && (u[i] == ' ' || u[i] == '\t' || u[i] == '\n' || u[i] == '\r'))
        i++;
    return i;
}

static __attribute__((unused)) size_t ref_json_scan_value(const char *s, size_t n, size_t i, int depth)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char close[RJ_MAX_DEPTH]; /* the bracket that closes each container opened here */
    int d = 0;
value:
    i = rj_scan_ws(u, n, i);
    if (i >= n)
        return 0;
    switch (u[i]) {
    case '{':
    case '[':
        if (depth < 0 || depth + d >= RJ_MAX_DEPTH)
            return 0;
        close[d++] = u[i] == '{' ? '}' : ']';
        i = rj_scan_ws(u, n, i + 1);
        if (i < n && u[i] == close[d - 1]) {
            i++;
            d--;
            goto next;
        }
        if (close[d - 1] == '}')
            goto key;
        goto value;
    case '"':
        i = ref_json_scan_str(s, n, i, NULL);
        if (!i)
            return 0;
        break;
    case 't':
        if (n - i < 4 || memcmp(u + i, "true", 4) != 0)
            return 0;
        i += 4;
        break;
    case 'f':
        if (n - i < 5 || memcmp(u + i, "false", 5) != 0)
            return 0;
        i += 5;
        break;
    case 'n':
        if (n - i < 4 || memcmp(u + i, "null", 4) != 0)
            return 0;
        i += 4;
        break;
    default:
        i = rj_scan_number(u, n, i);
        if (!i)
            return 0;
        break;
    }
next:
    if (!d)
        return i;
    i = rj_scan_ws(u, n, i);
    if (i >= n)
        return 0;
    if (u[i] == ',') {
        i++;
        if (close[d - 1] == '}')
            goto key;
        goto value;
    }
    if (u[i] != close[d - 1])
        return 0;
    i++;
    d--;
    goto next;
key:
    i = rj_scan_ws(u, n, i);
    if (i >= n || u[i] != '"')
        return 0;
    i = ref_json_scan_str(s, n, i, NULL);
    if (!i)
        return 0;
    i = rj_scan_ws(u, n, i);
    if (i >= n || u[i] != ':')
        return 0;
    i++;
    goto value;
}

/* ---------------------------------------------------------------- access */

static __attribute__((unused)) ej_type ref_json_type(const rj_val *v)
{
    return v->type;
}

static __attribute__((unused)) const rj_val *(ref_json_get)(const rj_val *v, const char *key)
{
    if (!v || v->type != EJ_OBJ || !key)
        return NULL;
    return ref_json_getn(v, key, strlen(key));
}

/* a[0..n) == b[0..n), n >= 1, both n bytes long at least: words, not bytes
 * (the first and last 8 or 4 overlap when n is not a multiple). */
static inline int rj_same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        for (size_t k = 0; k + 8 < n; k += 8) {
            memcpy(&x, a + k, 8);
            memcpy(&y, b + k, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x1, y1, x2, y2;
        memcpy(&x1, a, 4);
        memcpy(&y1, b, 4);
        memcpy(&x2, a + n - 4, 4);
        memcpy(&y2, b + n - 4, 4);
        return x1 == y1 && x2 == y2;
    }
    /* 1 to 3 bytes: 0, n/2 and n-1 are all of them */
    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

/* The first member of object v whose key is key[0..kl). */
static inline const rj_val *rj_member_find(const rj_val *v, const char *key, size_t kl)
{
    const rj_member *m = v->u.mems, *end = m + v->len;
    if (!kl) {
        for (; m < end; m++)
            if (!m->klen)
                return &m->val;
        return NULL;
    }
    for (; m < end; m++) {
        /* the length and the first byte tell most keys apart */
        if (m->klen == kl && m->key[0] == key[0] && rj_same_bytes(m->key, key, kl))
            return &m->val;
    }
    return NULL;
}

static __attribute__((unused)) const rj_val *ref_json_getn(const rj_val *v, const char *key, size_t kl)
{
    if (!v || v->type != EJ_OBJ || !key || !v->len) /* an empty object has no members array */
        return NULL;
    return rj_member_find(v, key, kl);
}

static __attribute__((unused)) const rj_val *ref_json_path(const rj_val *v, const char *path)
{
    if (!path)
        return NULL;
    while (v) {
        size_t l = (size_t)(strchrnul(path, '.') - path);
        if (l >= 256)
            return NULL;
        if (v->type != EJ_OBJ)
            return NULL;
        v = v->len ? rj_member_find(v, path, l) : NULL;
        if (!path[l])
            return v;
        path += l + 1;
    }
    return NULL;
}

static __attribute__((unused)) size_t ref_json_len(const rj_val *v)
{
    if (!v)
        return 0;
    if (v->type == EJ_STR || v->type == EJ_ARR || v->type == EJ_OBJ)
        return v->len;
    return 0;
}

static __attribute__((unused)) const rj_val *ref_json_at(const rj_val *v, size_t i)
{
    if (!v || i >= v->len)
        return NULL;
    if (v->type == EJ_ARR)
        return &v->u.items[i];
    if (v->type == EJ_OBJ)
        return &v->u.mems[i].val;
    return NULL;
}

static __attribute__((unused)) const char *ref_json_key_at(const rj_val *v, size_t i)
{
    if (!v || v->type != EJ_OBJ || i >= v->len)
        return NULL;
    return v->u.mems[i].key;
}

static __attribute__((unused)) const char *ref_json_str(const rj_val *v)
{
    return v && v->type == EJ_STR ? v->u.s : NULL;
}

static __attribute__((unused)) int ref_json_int(const rj_val *v, int64_t *out)
{
    if (!v || v->type != EJ_NUM)
        return -1;
    /* the parser checked the grammar: -?digits, then maybe . or e */
    const char *s = v->u.s;
    int neg = *s == '-';
    s += neg;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    if (*s) /* a fraction or an exponent */
        return -1;
    if (neg ? x > (uint64_t)INT64_MAX + 1 : x > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

static __attribute__((unused)) int ref_json_bool(const rj_val *v)
{
    return v && v->type == EJ_BOOL ? v->u.b : -1;
}

static __attribute__((unused)) const char *ref_json_num_text(const rj_val *v)
{
    return v && v->type == EJ_NUM ? v->u.s : NULL;
}


/* ---- test access to what the tree holds besides the public accessors */
static __attribute__((unused)) int ref_json_canon(const rj_val *root)
{
    return root->canon;
}

static __attribute__((unused)) int ref_json_max_depth(const rj_val *root)
{
    const rj_doc *doc = (const rj_doc *)(const void *)((const char *)root - offsetof(rj_doc, root));
    return doc->max_depth;
}

static __attribute__((unused)) size_t ref_json_klen(const rj_val *v, size_t i)
{
    return v->u.mems[i].klen;
}

#endif
