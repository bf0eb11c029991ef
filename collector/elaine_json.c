/* JSON: a small DOM parser that keeps numbers as their source text, and a writer. */
#include "elaine_json.h"

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define EJ_MAX_DEPTH 512

typedef struct ej_member ej_member;

struct ej_val {
    ej_type type;
    unsigned char canon; /* the root: 2 when its text is as the writer writes it, else 1; 0 below */
    size_t len; /* string bytes, array/object members */
    union {
        int b;
        char *s;         /* EJ_STR: decoded text; EJ_NUM: source text */
        ej_val *items;   /* EJ_ARR */
        ej_member *mems; /* EJ_OBJ */
    } u;
};

struct ej_member {
    char *key; /* NUL-terminated; may hold \0 when escaped, see klen */
    size_t klen;
    ej_val val;
};

/* ---------------------------------------------------------------- arena */

/* A parsed tree lives in one arena: blocks of memory handed out front to
 * back, freed together. The document header (the block list) and the root
 * value sit at the start of the first block, so elaine_json_free(root) finds
 * them. One block of the usual size is kept for the next parse (a stream
 * parses one small event after another). */
#define EJ_BLOCK_STD (8u << 10)

typedef struct ej_block {
    struct ej_block *next;
    size_t cap, used; /* bytes of data[] */
    _Alignas(16) unsigned char data[];
} ej_block;

typedef struct ej_doc {
    ej_block *blocks; /* newest first; the last one holds this header */
    const char *src;  /* the text parsed (the caller's), for elaine_jw_json */
    size_t src_len;
    int max_depth;    /* of the deepest container, 0 for the root */
    ej_val root;
} ej_doc;

/* Blocks of the usual size kept for the next parses: an exchange holds two
 * trees (request and response body) at once. */
#define EJ_SPARES 2
static _Atomic(ej_block *) spare_block[EJ_SPARES];

static ej_block *block_new(size_t cap)
{
    if (cap == EJ_BLOCK_STD) {
        for (int k = 0; k < EJ_SPARES; k++) {
            if (!atomic_load_explicit(&spare_block[k], memory_order_relaxed))
                continue;
            ej_block *b = atomic_exchange(&spare_block[k], NULL);
            if (b) {
                b->next = NULL;
                b->used = 0;
                return b;
            }
        }
    }
    ej_block *b = malloc(sizeof(*b) + cap);
    if (b) {
        b->next = NULL;
        b->cap = cap;
        b->used = 0;
    }
    return b;
}

static void block_free(ej_block *b)
{
    if (b->cap == EJ_BLOCK_STD) {
        for (int k = 0; k < EJ_SPARES; k++) {
            ej_block *none = NULL;
            if (atomic_compare_exchange_strong(&spare_block[k], &none, b))
                return;
        }
    }
    free(b);
}

typedef struct ej_arena {
    ej_block *cur;
} ej_arena;

static void *arena_alloc_slow(ej_arena *a, size_t n)
{
    size_t cap = a->cur->cap * 2;
    if (cap < n)
        cap = n;
    if (cap > ((size_t)1 << 40))
        return NULL;
    ej_block *b = block_new(cap);
    if (!b)
        return NULL;
    b->next = a->cur;
    a->cur = b;
    b->used = n;
    return b->data;
}

/* n bytes, 8-byte aligned. */
static inline void *arena_alloc(ej_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    ej_block *b = a->cur;
    if (__builtin_expect(b->cap - b->used >= n, 1)) {
        void *p = b->data + b->used;
        b->used += n;
        return p;
    }
    if (n < n - 7) /* wrapped */
        return NULL;
    return arena_alloc_slow(a, n);
}

/* ---------------------------------------------------------------- parser */

typedef struct ej_parser {
    const unsigned char *s;
    size_t n;
    size_t i;
    ej_arena a;
    char *text; /* a copy of s[0..n] in the arena: strings and numbers end in place there */
    ej_member *stack; /* children of the open containers, copied out when one closes */
    size_t top, cap;
    ej_member local[64];
    elaine_buf tmp; /* strings with escapes are decoded here first */
    int noncanon;   /* whitespace or an escape the writer would write otherwise */
    int max_depth;
} ej_parser;

static void skip_ws_slow(ej_parser *p)
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
static inline void skip_ws(ej_parser *p)
{
    if (p->i < p->n && p->s[p->i] > ' ')
        return;
    skip_ws_slow(p);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(ej_parser *p, unsigned *out)
{
    if (p->n - p->i < 4)
        return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + k]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    p->i += 4;
    *out = v;
    return 0;
}

static void put_utf8(elaine_buf *b, unsigned cp)
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
static size_t utf8_seq2(const unsigned char *s, size_t n, size_t *bad)
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

static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t bad;
    return utf8_seq2(s, n, &bad);
}

/* Bytes a string may hold as they are: not '"', '\\', a control or non-ASCII. */
static const unsigned char plain_byte[256] = {
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
static inline size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    /* as plain_run_pad: (x ^ 2) - 0x21, saturated, is negative for a control, '"' or 0x80-0xff */
    const __m128i two = _mm_set1_epi8(2), lim = _mm_set1_epi8(0x21), bs = _mm_set1_epi8('\\');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_subs_epi8(_mm_xor_si128(v, two), lim), _mm_cmpeq_epi8(v, bs));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    while (i < n && plain_byte[s[i]])
        i++;
    return i;
}

/* Decodes the rest of a string (p->i after the opening quote, or within it
 * after plain bytes already in p->tmp) into p->tmp. 0 or -1. */
static int parse_string_slow(ej_parser *p)
{
    elaine_buf *out = &p->tmp;
    for (;;) {
        /* copy a run of plain bytes at once */
        size_t start = p->i;
        while (p->i < p->n) {
            p->i += plain_run(p->s + p->i, p->n - p->i);
            if (p->i >= p->n)
                break;
            unsigned char c = p->s[p->i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            size_t k = utf8_seq(p->s + p->i, p->n - p->i);
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
            if (read_hex4(p, &cp) < 0)
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
                    if (read_hex4(p, &lo) < 0)
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
            put_utf8(out, cp);
            break;
        }
        default:
            return -1;
        }
    }
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The end of the number at s[i..n) (RFC 8259 grammar), or 0 when there is
 * none (a number never ends at 0: it has a digit). */
static inline size_t scan_number(const unsigned char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        i++;
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i;
}

/* The children stack full: twice the room (the first growth leaves the
 * parser's local array). NULL on ENOMEM. */
static __attribute__((noinline)) ej_member *stack_grow(ej_parser *p)
{
    size_t nc = p->cap * 2;
    ej_member *ns;
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

/* Bytes of zeros after the parser's copy of the text: the NUL at text[n]
 * ends every scan (it is no JSON token and a control in a string), so the
 * loops test no bound, and a 16-byte load anywhere up to text[n] stays in
 * the copy. */
#define EJ_PAD 16

/* The run of plain bytes at s, which ends before text[n] at the latest (a
 * NUL there): 16 at a time. x ^ 2 < 0x21 (signed) is a control, '"' or a
 * byte from 0x80: the sign of (x ^ 2) - 0x21, saturated; '\\' is the other one. */
static inline size_t plain_run_pad(const unsigned char *s)
{
#ifdef __SSE2__
    const __m128i two = _mm_set1_epi8(2), lim = _mm_set1_epi8(0x21), bs = _mm_set1_epi8('\\');
    for (size_t i = 0;; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_subs_epi8(_mm_xor_si128(v, two), lim), _mm_cmpeq_epi8(v, bs));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#else
    size_t i = 0;
    while (plain_byte[s[i]])
        i++;
    return i;
#endif
}

/* Whitespace at t[i] (the padded text), noncanon set when there is some. */
static __attribute__((noinline)) size_t skip_ws_pad(const unsigned char *t, size_t i, int *noncanon)
{
    size_t i0 = i;
    while (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')
        i++;
    if (i != i0)
        *noncanon = 1;
    return i;
}

/* A string that is more than plain ASCII, from start (after the opening
 * quote) in the padded copy of the text, decoded where it stands (never
 * longer than its source text: the bytes ahead are still the source):
 * *out and *len (NUL-terminated), p->i after the closing quote. As
 * parse_string_slow decodes and checks, noncanon too. 0 or -1. */
static __attribute__((noinline)) int parse_string_esc(ej_parser *p, size_t start, char **out, size_t *len)
{
    unsigned char *const t = (unsigned char *)p->text;
    const size_t n = p->n;
    size_t r = start, w = start; /* read and write positions, w <= r */
    for (;;) {
        size_t k = plain_run_pad(t + r);
        if (w != r)
            memmove(t + w, t + r, k);
        r += k;
        w += k;
        unsigned c = t[r];
        if (c == '"')
            break;
        if (c >= 0x80) {
            /* RFC 8259: text is UTF-8 (t[n] is a NUL: the sequence ends before n) */
            size_t q = utf8_seq(t + r, n - r);
            if (!q)
                return -1;
            for (size_t j = 0; j < q; j++)
                t[w + j] = t[r + j];
            r += q;
            w += q;
            continue;
        }
        if (c != '\\')
            return -1; /* a control, or the end of the text */
        /* an escape: the zeros after the text fail every test below */
        c = t[r + 1];
        r += 2;
        switch (c) {
        case '"': t[w++] = '"'; break;
        case '\\': t[w++] = '\\'; break;
        case '/': t[w++] = '/'; p->noncanon = 1; break;
        case 'b': t[w++] = '\b'; break;
        case 'f': t[w++] = '\f'; break;
        case 'n': t[w++] = '\n'; break;
        case 'r': t[w++] = '\r'; break;
        case 't': t[w++] = '\t'; break;
        case 'u': {
            int h0 = hexval(t[r]), h1 = hexval(t[r + 1]), h2 = hexval(t[r + 2]), h3 = hexval(t[r + 3]);
            if ((h0 | h1 | h2 | h3) < 0)
                return -1;
            unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
            /* the writer's own: \u00XX, lower case, for a control without a short escape */
            if (cp >= 0x20 || cp == '\b' || cp == '\t' || cp == '\n' || cp == '\f' || cp == '\r' ||
                (t[r + 3] >= 'A' && t[r + 3] <= 'F'))
                p->noncanon = 1;
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (t[r] == '\\' && t[r + 1] == 'u') {
                    int l0 = hexval(t[r + 2]), l1 = hexval(t[r + 3]), l2 = hexval(t[r + 4]), l3 = hexval(t[r + 5]);
                    if ((l0 | l1 | l2 | l3) < 0)
                        return -1;
                    unsigned lo = (unsigned)(l0 << 12 | l1 << 8 | l2 << 4 | l3);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        r += 6;
                    } else {
                        cp = 0xFFFD; /* lone high surrogate; next escape read on its own */
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD; /* lone low surrogate */
            }
            if (cp < 0x80) {
                t[w++] = (unsigned char)cp;
            } else if (cp < 0x800) {
                t[w++] = (unsigned char)(0xC0 | cp >> 6);
                t[w++] = (unsigned char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                t[w++] = (unsigned char)(0xE0 | cp >> 12);
                t[w++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                t[w++] = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                t[w++] = (unsigned char)(0xF0 | cp >> 18);
                t[w++] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
                t[w++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                t[w++] = (unsigned char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return -1;
        }
    }
    t[w] = 0;
    *out = (char *)t + start;
    *len = w - start;
    p->i = r + 1;
    return 0;
}

/* Parses the one value at p->i into *root: a loop, not a recursion. Every
 * value gets a slot on the children stack before it is parsed (for a member,
 * with its key), and is parsed into that slot; a container's children follow
 * its slot, and when it closes they are copied into the arena, the stack cut
 * back to them. The slots are told by index (the stack may move). bases[d]
 * is where the children of the open container at depth d start (its own slot
 * is the one before), times 2, plus 1 for an object. The text is read from
 * the padded copy (p->text, a NUL at p->n) without bounds: a string that
 * is more than plain ASCII is left to parse_string_esc.
 * 0 or -1; p->i after the value. */
static int parse_doc(ej_parser *p, ej_val *root)
{
    char *const text = p->text;
    const unsigned char *const t = (const unsigned char *)text;
    size_t i = p->i;
    size_t bases[EJ_MAX_DEPTH];
    int depth = 0;  /* open containers */
    int in_obj = 0; /* the innermost open one is an object */
    ej_member *stk = p->stack;
    size_t top = 1, cap = p->cap;
    ej_member *m = &stk[0]; /* the slot of the value to parse */
    ej_val *v;
    unsigned c;
    m->key = NULL;
    m->klen = 0;

/* whitespace: one test for compact text */
#define SKIP_WS()                                                  \
    do {                                                           \
        if (__builtin_expect(t[i] <= ' ', 0))                      \
            i = skip_ws_pad(t, i, &p->noncanon);                   \
    } while (0)
/* a new slot on top of the stack into m */
#define PUSH()                                                     \
    do {                                                           \
        if (__builtin_expect(top == cap, 0)) {                     \
            p->top = top;                                          \
            if (!(stk = stack_grow(p)))                            \
                goto fail;                                         \
            cap = p->cap;                                          \
        }                                                          \
        m = &stk[top++];                                           \
    } while (0)
/* a string at t[i] == '"' into (out, len): plain ASCII ends in place */
#define STRING(out, len)                                           \
    do {                                                           \
        size_t start_ = i + 1;                                     \
        size_t e_ = start_ + plain_run_pad(t + start_);            \
        if (__builtin_expect(t[e_] == '"', 1)) {                   \
            text[e_] = 0;                                          \
            (out) = text + start_;                                 \
            (len) = e_ - start_;                                   \
            i = e_ + 1;                                            \
        } else {                                                   \
            if (parse_string_esc(p, start_, &(out), &(len)) < 0)   \
                goto fail;                                         \
            i = p->i;                                              \
        }                                                          \
    } while (0)

value:
    SKIP_WS();
    v = &m->val;
    v->canon = 0;
    c = t[i];
    /* the usual values first, the rest by a switch */
    if (c == '"') {
        v->type = EJ_STR;
        STRING(v->u.s, v->len);
        goto next;
    }
    if ((unsigned)(c - '0') < 10u || c == '-')
        goto number;
    switch (c) {
    case '{':
    case '[': {
        if (depth >= EJ_MAX_DEPTH)
            goto fail;
        if (depth > p->max_depth)
            p->max_depth = depth;
        int obj = t[i] == '{';
        v->type = obj ? EJ_OBJ : EJ_ARR;
        v->len = 0;
        v->u.items = NULL;
        i++;
        SKIP_WS();
        if (t[i] == (obj ? '}' : ']')) {
            i++;
            goto next; /* empty */
        }
        bases[depth++] = top << 1 | (size_t)obj;
        in_obj = obj;
        if (obj)
            goto key;
        PUSH();
        m->key = NULL;
        m->klen = 0;
        goto value;
    }
    case 't': {
        uint32_t w;
        memcpy(&w, t + i, 4);
        if (w != ((uint32_t)'t' | (uint32_t)'r' << 8 | (uint32_t)'u' << 16 | (uint32_t)'e' << 24))
            goto fail;
        i += 4;
        v->type = EJ_BOOL;
        v->len = 0;
        v->u.b = 1;
        goto next;
    }
    case 'f': {
        uint32_t w;
        memcpy(&w, t + i + 1, 4);
        if (w != ((uint32_t)'a' | (uint32_t)'l' << 8 | (uint32_t)'s' << 16 | (uint32_t)'e' << 24))
            goto fail;
        i += 5;
        v->type = EJ_BOOL;
        v->len = 0;
        v->u.b = 0;
        goto next;
    }
    case 'n': {
        uint32_t w;
        memcpy(&w, t + i, 4);
        if (w != ((uint32_t)'n' | (uint32_t)'u' << 8 | (uint32_t)'l' << 16 | (uint32_t)'l' << 24))
            goto fail;
        i += 4;
        v->type = EJ_NULL;
        v->len = 0;
        v->u.s = NULL;
        goto next;
    }
    number: {
        /* RFC 8259 grammar; the NUL after the text ends every digit run */
        size_t j = i + (t[i] == '-');
        if (t[j] == '0')
            j++;
        else if ((unsigned)(t[j] - '1') < 9u)
            do
                j++;
            while ((unsigned)(t[j] - '0') < 10u);
        else
            goto fail;
        c = t[j];
        if (c == '.') {
            j++;
            if ((unsigned)(t[j] - '0') >= 10u)
                goto fail;
            do
                j++;
            while ((unsigned)(t[j] - '0') < 10u);
            c = t[j];
        }
        if ((c | 0x20) == 'e') {
            j++;
            if (t[j] == '+' || t[j] == '-')
                j++;
            if ((unsigned)(t[j] - '0') >= 10u)
                goto fail;
            do
                j++;
            while ((unsigned)(t[j] - '0') < 10u);
            c = t[j];
        }
        v->type = EJ_NUM;
        v->len = j - i;
        v->u.s = text + i;
        text[j] = 0; /* over the delimiter, which is c now */
        i = j;
        if (!depth)
            goto done;
        if (__builtin_expect(c <= ' ', 0)) {
            if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
                goto fail;
            p->noncanon = 1;
            i = skip_ws_pad(t, i + 1, &p->noncanon);
            c = t[i];
        }
        goto delim;
    }
    default:
        goto fail;
    }

next: /* after a value: the next member or item, or the end of containers */
    if (!depth)
        goto done;
    SKIP_WS();
    c = t[i];
delim:
    if (c == ',') {
        i++;
        if (in_obj)
            goto key;
        PUSH();
        m->key = NULL;
        m->klen = 0;
        goto value;
    }
    if (c != (in_obj ? '}' : ']'))
        goto fail;
    i++;
    {
        size_t base = bases[depth - 1] >> 1;
        ej_val *cv = &stk[base - 1].val;
        size_t cnt = top - base;
        if (in_obj) {
            ej_member *mems = arena_alloc(&p->a, cnt * sizeof(*mems));
            if (!mems)
                goto fail;
            memcpy(mems, stk + base, cnt * sizeof(*mems));
            cv->u.mems = mems;
        } else {
            ej_val *items = arena_alloc(&p->a, cnt * sizeof(*items));
            if (!items)
                goto fail;
            for (size_t k = 0; k < cnt; k++)
                items[k] = stk[base + k].val;
            cv->u.items = items;
        }
        cv->len = cnt;
        top = base;
        depth--;
        in_obj = depth ? (int)(bases[depth - 1] & 1) : 0;
    }
    goto next;

key: /* a member: its key, the colon, then its value */
    SKIP_WS();
    if (t[i] != '"')
        goto fail;
    PUSH();
    STRING(m->key, m->klen);
    if (__builtin_expect(t[i] != ':', 0)) {
        SKIP_WS();
        if (t[i] != ':')
            goto fail;
    }
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
#undef STRING
}

static void arena_release(ej_block *b)
{
    while (b) {
        ej_block *next = b->next;
        block_free(b);
        b = next;
    }
}

/* 0 when the text cannot start a JSON value: a body that is no JSON (an
 * upload, a form) fails here before its text is copied into the arena. */
static int plausible_start(const unsigned char *s, size_t n)
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

ej_val *elaine_json_parse(const char *s, size_t n)
{
    if (!s || !plausible_start((const unsigned char *)s, n))
        return NULL;
    ej_parser p;
    p.s = (const unsigned char *)s;
    p.n = n;
    p.i = 0;
    p.stack = p.local;
    p.top = 0;
    p.cap = sizeof(p.local) / sizeof(p.local[0]);
    p.noncanon = 0;
    p.max_depth = 0;
    /* about what a tree takes for text of this size, rounded to the reusable block */
    size_t want = n < ((size_t)32 << 20) ? n * 3 + sizeof(ej_doc) + 64 : ((size_t)96 << 20);
    ej_block *first = block_new(want <= EJ_BLOCK_STD ? EJ_BLOCK_STD : want);
    if (!first)
        return NULL;
    p.a.cur = first;
    ej_doc *doc = arena_alloc(&p.a, sizeof(*doc));
    p.text = n < SIZE_MAX - EJ_PAD ? arena_alloc(&p.a, n + EJ_PAD) : NULL;
    if (!p.text) {
        arena_release(p.a.cur);
        return NULL;
    }
    memcpy(p.text, s, n);
    memset(p.text + n, 0, EJ_PAD);
    int rc = parse_doc(&p, &doc->root);
    if (rc == 0) {
        skip_ws(&p);
        if (p.i != p.n)
            rc = -1;
    }
    if (p.stack != p.local)
        free(p.stack);
    if (rc < 0) {
        arena_release(p.a.cur);
        return NULL;
    }
    doc->blocks = p.a.cur;
    doc->src = s;
    doc->src_len = n;
    doc->max_depth = p.max_depth;
    doc->root.canon = p.noncanon ? 1 : 2;
    return &doc->root;
}

void elaine_json_free(ej_val *v)
{
    if (!v)
        return;
    ej_doc *doc = (ej_doc *)(void *)((char *)v - offsetof(ej_doc, root));
    arena_release(doc->blocks);
}

/* ---------------------------------------------------------------- scanning without a tree */

size_t elaine_json_str_append(const char *s, size_t n, size_t i, elaine_buf *out)
{
    if (i >= n || s[i] != '"')
        return 0;
    /* parse_string_slow reads s, n, i and writes tmp (noncanon too) */
    ej_parser p;
    p.s = (const unsigned char *)s;
    p.n = n;
    p.i = i + 1;
    p.tmp = *out;
    p.noncanon = 0;
    int rc = parse_string_slow(&p);
    *out = p.tmp;
    return rc < 0 ? 0 : p.i;
}

size_t elaine_json_scan_str(const char *s, size_t n, size_t i, int *plain)
{
    const unsigned char *u = (const unsigned char *)s;
    if (i >= n || u[i] != '"')
        return 0;
    size_t k = plain_run(u + i + 1, n - i - 1);
    if (i + 1 + k < n && u[i + 1 + k] == '"') {
        if (plain)
            *plain = 1;
        return i + k + 2;
    }
    if (plain)
        *plain = 0;
    elaine_buf tmp;
    elaine_buf_init(&tmp);
    size_t end = elaine_json_str_append(s, n, i, &tmp);
    elaine_buf_free(&tmp);
    return end;
}

static inline size_t scan_ws(const unsigned char *u, size_t n, size_t i)
{
    while (i < n && (u[i] == ' ' || u[i] == '\t' || u[i] == '\n' || u[i] == '\r'))
        i++;
    return i;
}

size_t elaine_json_scan_value(const char *s, size_t n, size_t i, int depth)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char close[EJ_MAX_DEPTH]; /* the bracket that closes each container opened here */
    int d = 0;
value:
    i = scan_ws(u, n, i);
    if (i >= n)
        return 0;
    switch (u[i]) {
    case '{':
    case '[':
        if (depth < 0 || depth + d >= EJ_MAX_DEPTH)
            return 0;
        close[d++] = u[i] == '{' ? '}' : ']';
        i = scan_ws(u, n, i + 1);
        if (i < n && u[i] == close[d - 1]) {
            i++;
            d--;
            goto next;
        }
        if (close[d - 1] == '}')
            goto key;
        goto value;
    case '"':
        i = elaine_json_scan_str(s, n, i, NULL);
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
        i = scan_number(u, n, i);
        if (!i)
            return 0;
        break;
    }
next:
    if (!d)
        return i;
    i = scan_ws(u, n, i);
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
    i = scan_ws(u, n, i);
    if (i >= n || u[i] != '"')
        return 0;
    i = elaine_json_scan_str(s, n, i, NULL);
    if (!i)
        return 0;
    i = scan_ws(u, n, i);
    if (i >= n || u[i] != ':')
        return 0;
    i++;
    goto value;
}

/* ---------------------------------------------------------------- access */

ej_type elaine_json_type(const ej_val *v)
{
    return v->type;
}

const ej_val *(elaine_json_get)(const ej_val *v, const char *key)
{
    if (!v || v->type != EJ_OBJ || !key)
        return NULL;
    return elaine_json_getn(v, key, strlen(key));
}

/* a[0..n) == b[0..n), n >= 1, both n bytes long at least: words, not bytes
 * (the first and last 8 or 4 overlap when n is not a multiple). */
static inline int same_bytes(const char *a, const char *b, size_t n)
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
static inline const ej_val *member(const ej_val *v, const char *key, size_t kl)
{
    const ej_member *m = v->u.mems, *end = m + v->len;
    if (!kl) {
        for (; m < end; m++)
            if (!m->klen)
                return &m->val;
        return NULL;
    }
    for (; m < end; m++) {
        /* the length and the first byte tell most keys apart */
        if (m->klen == kl && m->key[0] == key[0] && same_bytes(m->key, key, kl))
            return &m->val;
    }
    return NULL;
}

const ej_val *elaine_json_getn(const ej_val *v, const char *key, size_t kl)
{
    if (!v || v->type != EJ_OBJ || !key || !v->len) /* an empty object has no members array */
        return NULL;
    return member(v, key, kl);
}

const ej_val *(elaine_json_path)(const ej_val *v, const char *path)
{
    if (!path)
        return NULL;
    while (v) {
        size_t l = (size_t)(strchrnul(path, '.') - path);
        if (l >= 256)
            return NULL;
        if (v->type != EJ_OBJ)
            return NULL;
        v = v->len ? member(v, path, l) : NULL;
        if (!path[l])
            return v;
        path += l + 1;
    }
    return NULL;
}

size_t elaine_json_len(const ej_val *v)
{
    if (!v)
        return 0;
    if (v->type == EJ_STR || v->type == EJ_ARR || v->type == EJ_OBJ)
        return v->len;
    return 0;
}

const ej_val *elaine_json_at(const ej_val *v, size_t i)
{
    if (!v || i >= v->len)
        return NULL;
    if (v->type == EJ_ARR)
        return &v->u.items[i];
    if (v->type == EJ_OBJ)
        return &v->u.mems[i].val;
    return NULL;
}

const char *elaine_json_key_at(const ej_val *v, size_t i)
{
    if (!v || v->type != EJ_OBJ || i >= v->len)
        return NULL;
    return v->u.mems[i].key;
}

const ej_val *elaine_json_member_at(const ej_val *v, size_t i, const char **key, size_t *klen)
{
    if (!v || v->type != EJ_OBJ || i >= v->len)
        return NULL;
    *key = v->u.mems[i].key;
    *klen = v->u.mems[i].klen;
    return &v->u.mems[i].val;
}

const char *elaine_json_str(const ej_val *v)
{
    return v && v->type == EJ_STR ? v->u.s : NULL;
}

int elaine_json_int(const ej_val *v, int64_t *out)
{
    if (!v || v->type != EJ_NUM)
        return -1;
    /* the parser checked the grammar: -?digits, then maybe . or e */
    const char *s = v->u.s;
    if (v->len <= 18) { /* at most 18 digits: below 10^18, no overflow to test */
        size_t k = *s == '-';
        int64_t x = 0;
        for (; k < v->len; k++) {
            unsigned d = (unsigned)(unsigned char)s[k] - '0';
            if (d > 9) /* a fraction or an exponent */
                return -1;
            x = x * 10 + (int64_t)d;
        }
        *out = *s == '-' ? -x : x;
        return 0;
    }
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

int elaine_json_bool(const ej_val *v)
{
    return v && v->type == EJ_BOOL ? v->u.b : -1;
}

const char *elaine_json_num_text(const ej_val *v)
{
    return v && v->type == EJ_NUM ? v->u.s : NULL;
}

/* ---------------------------------------------------------------- writer */

void elaine_jw_init(elaine_jw *w, elaine_buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->first[0] = 1;
}

static void open_c(elaine_jw *w, char c)
{
    elaine_jw_raw_(w, &c, 1, 0);
    w->depth++;
    if (w->depth < (int)sizeof(w->first))
        w->first[w->depth] = 1;
}

static void close_c(elaine_jw *w, char c)
{
    elaine_buf_addc(w->b, c);
    if (w->depth > 0)
        w->depth--;
    w->after_key = 0;
}

void elaine_jw_obj_begin(elaine_jw *w)
{
    open_c(w, '{');
}

void elaine_jw_obj_end(elaine_jw *w)
{
    close_c(w, '}');
}

void elaine_jw_arr_begin(elaine_jw *w)
{
    open_c(w, '[');
}

void elaine_jw_arr_end(elaine_jw *w)
{
    close_c(w, ']');
}

/* What a byte of a string becomes: 0 as it is, 1 non-ASCII (checked as
 * UTF-8), else the letter after the backslash ('u': \u00XX). */
static const char esc_byte[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
#undef R16
};

/* Input bytes escaped per reservation: the output of one is at most 6 bytes
 * (\u00XX; an invalid byte becomes the 3 of U+FFFD, a valid sequence itself). */
#define PUT_CHUNK 8192u
#define PUT_SLACK 64u /* a 16-byte store past the end, a 4-byte sequence across the chunk end */

#ifdef __SSE2__
/* s[0..n), n < 16, in the low bytes of a vector and zeros above: loads that
 * stay within the string (two overlapping ones for 4 bytes and more). */
static inline __m128i load_short(const unsigned char *s, size_t n)
{
    uint64_t lo = 0, hi = 0;
    if (n >= 8) {
        memcpy(&lo, s, 8);
        if (n > 8) {
            memcpy(&hi, s + n - 8, 8);
            hi >>= 8 * (16 - n);
        }
    } else if (n >= 4) {
        uint32_t a, c;
        memcpy(&a, s, 4);
        memcpy(&c, s + n - 4, 4);
        lo = a | (uint64_t)c << (8 * (n - 4));
    } else if (n) {
        lo = s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) | (uint64_t)s[n - 1] << (8 * (n - 1));
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}
#endif

static __attribute__((noinline)) void put_str_any(elaine_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int first = 1;
    do {
        size_t chunk = n - i < PUT_CHUNK ? n - i : PUT_CHUNK;
        char *d = elaine_buf_reserve(b, chunk * 6 + PUT_SLACK);
        if (!d)
            return;
        char *o = d;
        if (first)
            *o++ = '"';
        first = 0;
        size_t end = i + chunk;
        while (i < end) {
#ifdef __SSE2__
            /* 16 bytes at a time (fewer at the string's end, zero-filled):
             * stored as they are, then the first that needs a look. A short
             * string is one round. */
            const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
                          sp = _mm_set1_epi8(0x20);
            size_t rem = n - i;
            __m128i v = rem >= 16 ? _mm_loadu_si128((const __m128i *)(const void *)(u + i))
                                  : load_short(u + i, rem);
            _mm_storeu_si128((__m128i *)(void *)o, v);
            /* signed compare: below 0x20 (the zero fill too), and 0x80-0xff */
            __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, sp),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)));
            unsigned mask = (unsigned)_mm_movemask_epi8(m);
            if (end - i < 16)
                mask |= 1u << (end - i); /* the chunk ends there */
            if (!mask) {
                i += 16;
                o += 16;
                continue;
            }
            size_t k = (size_t)__builtin_ctz(mask);
            i += k;
            o += k;
            if (i >= end)
                break;
#endif
            unsigned char c = u[i];
            char e = esc_byte[c];
            if (!e) {
                *o++ = (char)c;
                i++;
                continue;
            }
            if (e == 1) {
                size_t bad;
                size_t k = utf8_seq2(u + i, n - i, &bad);
                if (k) {
                    for (size_t j = 0; j < k; j++)
                        o[j] = (char)u[i + j];
                    o += k;
                    i += k;
                } else {
                    memcpy(o, "\xEF\xBF\xBD", 3);
                    o += 3;
                    i += bad;
                }
                continue;
            }
            o[0] = '\\';
            o[1] = e;
            if (e == 'u') {
                o[2] = '0';
                o[3] = '0';
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            } else {
                o += 2;
            }
            i++;
        }
        elaine_buf_commit(b, (size_t)(o - d));
    } while (i < n);
    elaine_buf_addc(b, '"');
}

#ifdef __SSE2__
/* The bytes of v that need a look: '"', '\\', controls (and a zero fill),
 * and 0x80-0xff (a signed compare). */
static inline unsigned special_mask(__m128i v)
{
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs))));
}
#endif

#ifdef __SSE2__
/* s[0..n), n <= 32, when it has nothing to escape: in *v1 and *v2 for
 * store_short (n < 16: one vector, zero-filled; else the first and the last
 * 16 bytes). 0 when a byte needs a look. */
static inline int short_plain(const unsigned char *u, size_t n, __m128i *v1, __m128i *v2)
{
    if (n < 16) {
        *v1 = load_short(u, n);
        return !(special_mask(*v1) & ((1u << n) - 1));
    }
    *v1 = _mm_loadu_si128((const __m128i *)(const void *)u);
    *v2 = _mm_loadu_si128((const __m128i *)(const void *)(u + n - 16));
    return !(special_mask(*v1) | special_mask(*v2));
}

/* The n bytes that short_plain loaded, at d (16 bytes of room past d + n). */
static inline void store_short(char *d, __m128i v1, __m128i v2, size_t n)
{
    _mm_storeu_si128((__m128i *)(void *)d, v1);
    if (n >= 16)
        _mm_storeu_si128((__m128i *)(void *)(d + n - 16), v2);
}
#endif

/* A string as JSON, after a comma when comma is 1 and before a colon when
 * colon is 1 (a key). Most are short and plain (names, ids, header values):
 * up to 32 bytes with nothing to escape are one or two loads and stores,
 * in one append with the comma and colon. */
static inline void put_str(elaine_buf *b, const char *s, size_t n, size_t comma, size_t colon)
{
#ifdef __SSE2__
    __m128i v1, v2 = _mm_setzero_si128();
    if (n <= 32 && short_plain((const unsigned char *)s, n, &v1, &v2)) {
        char *d = elaine_buf_reserve(b, n + 36);
        if (!d)
            return;
        d[0] = ',';
        d += comma;
        d[0] = '"';
        store_short(d + 1, v1, v2, n);
        d[n + 1] = '"';
        d[n + 2] = ':';
        elaine_buf_commit(b, comma + n + 2 + colon);
        return;
    }
#endif
    if (comma)
        elaine_buf_addc(b, ',');
    put_str_any(b, s, n);
    if (colon)
        elaine_buf_addc(b, ':');
}

/* Key and string value of a member, "key":"value", in one append when both
 * are short and plain (headers). */
void elaine_jw_member_str(elaine_jw *w, const char *key, size_t kn, const char *s, size_t n)
{
    if (!key)
        key = "", kn = 0;
    if (!s)
        s = "", n = 0;
#ifdef __SSE2__
    __m128i k1, k2 = _mm_setzero_si128(), v1, v2 = _mm_setzero_si128();
    if (kn <= 32 && n <= 32 && short_plain((const unsigned char *)key, kn, &k1, &k2) &&
        short_plain((const unsigned char *)s, n, &v1, &v2)) {
        size_t c = (size_t)elaine_jw_comma_(w);
        char *d = elaine_buf_reserve(w->b, kn + n + 40);
        if (!d)
            return;
        d[0] = ',';
        d += c;
        d[0] = '"';
        store_short(d + 1, k1, k2, kn);
        d += kn + 1;
        d[0] = '"';
        d[1] = ':';
        d[2] = '"';
        store_short(d + 3, v1, v2, n);
        d[n + 3] = '"';
        elaine_buf_commit(w->b, c + kn + n + 5);
        return;
    }
#endif
    elaine_jw_keyn(w, key, kn);
    elaine_jw_str(w, s, n);
}

void elaine_jw_key(elaine_jw *w, const char *key)
{
    put_str(w->b, key ? key : "", key ? strlen(key) : 0, (size_t)elaine_jw_comma_(w), 1);
    w->after_key = 1;
}

void elaine_jw_key_raw(elaine_jw *w, const char *quoted, size_t n)
{
    elaine_jw_raw_(w, quoted, n, 1);
}

static void key_n(elaine_jw *w, const char *key, size_t n)
{
    put_str(w->b, key, n, (size_t)elaine_jw_comma_(w), 1);
    w->after_key = 1;
}

void elaine_jw_keyn(elaine_jw *w, const char *key, size_t n)
{
    key_n(w, key ? key : "", key ? n : 0);
}

void elaine_jw_str(elaine_jw *w, const char *s, size_t n)
{
    put_str(w->b, s ? s : "", s ? n : 0, (size_t)elaine_jw_comma_(w), 0);
}

void elaine_jw_cstr(elaine_jw *w, const char *s)
{
    if (!s) {
        elaine_jw_null(w);
        return;
    }
    elaine_jw_str(w, s, strlen(s));
}

void elaine_jw_cstr_array(elaine_jw *w, char *const *s, size_t n)
{
    elaine_jw_arr_begin(w);
    size_t i = 0;
#ifdef __SSE2__
    /* short plain strings (and nulls) straight into one reservation of 40
     * bytes each; the rest from the first other one on as elaine_jw_cstr */
    char *d0 = elaine_buf_reserve(w->b, n * 40 + 16), *d = d0;
    if (d0) {
        for (; i < n; i++) {
            const char *e = s[i];
            size_t c = i > 0;
            if (!e) {
                d[0] = ',';
                memcpy(d + c, "null", 4);
                d += c + 4;
                continue;
            }
            size_t l = strlen(e);
            __m128i v1, v2 = _mm_setzero_si128();
            if (l > 32 || !short_plain((const unsigned char *)e, l, &v1, &v2))
                break;
            d[0] = ',';
            d += c;
            d[0] = '"';
            store_short(d + 1, v1, v2, l);
            d[l + 1] = '"';
            d += l + 2;
        }
        elaine_buf_commit(w->b, (size_t)(d - d0));
        if (i > 0 && w->depth < (int)sizeof(w->first))
            w->first[w->depth] = 0; /* as the comma check leaves it after a value */
    }
#endif
    for (; i < n; i++)
        elaine_jw_cstr(w, s[i]);
    elaine_jw_arr_end(w);
}

/* Decimal digits of v, ending at end; returns where they start. */
static char *u64_digits(char *end, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        p[0] = pairs[2 * r];
        p[1] = pairs[2 * r + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = pairs[2 * v];
        p[1] = pairs[2 * v + 1];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

/* The number of decimal digits of v: from its bit length, then one compare. */
static inline size_t u64_len(uint64_t v)
{
    static const uint64_t pow10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
                                       10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
                                       100000000000ull, 1000000000000ull, 10000000000000ull,
                                       100000000000000ull, 1000000000000000ull, 10000000000000000ull,
                                       100000000000000000ull, 1000000000000000000ull,
                                       10000000000000000000ull};
    if (v < 10)
        return 1;
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233u >> 12; /* floor(log10(2^bits)) */
    return (size_t)t + 1 - (v < pow10[t]);
}

/* A number, '-' first when neg, written straight into the buffer after the
 * comma when one is due: one append, no copy. */
static void jw_u64(elaine_jw *w, uint64_t u, size_t neg)
{
    size_t c = (size_t)elaine_jw_comma_(w);
    char *d = elaine_buf_reserve(w->b, 24);
    if (!d)
        return;
    d[0] = ',';
    d += c;
    d[0] = '-';
    size_t n = neg + u64_len(u);
    u64_digits(d + n, u);
    elaine_buf_commit(w->b, c + n);
}

void elaine_jw_int(elaine_jw *w, int64_t v)
{
    jw_u64(w, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void elaine_jw_uint(elaine_jw *w, uint64_t v)
{
    jw_u64(w, v, 0);
}

/* v as "%.15g" prints it when v is a whole number of thousandths below 1e12
 * (the timings): then those digits are v's shortest round trip. 0 when v is
 * not such a number. */
static size_t thousandths(double v, char *out)
{
    if (!(v >= 0.0 && v < 1e12) || (v == 0.0 && signbit(v)))
        return 0;
    double k = round(v * 1000.0);
    if (k / 1000.0 != v)
        return 0;
    uint64_t q = (uint64_t)k;
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    unsigned frac = (unsigned)(q % 1000);
    char *p = u64_digits(end, q / 1000);
    size_t n = (size_t)(end - p);
    memcpy(out, p, n);
    if (frac) {
        out[n++] = '.';
        out[n++] = (char)('0' + frac / 100);
        if (frac % 100) {
            out[n++] = (char)('0' + frac / 10 % 10);
            if (frac % 10)
                out[n++] = (char)('0' + frac % 10);
        }
    }
    out[n] = 0;
    return n;
}

void elaine_jw_double(elaine_jw *w, double v)
{
    if (!isfinite(v)) {
        elaine_jw_null(w);
        return;
    }
    char tmp[40];
    size_t n = thousandths(v, tmp);
    if (!n) {
        static const int prec[] = {15, 16, 17};
        for (size_t k = 0; k < 3; k++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec[k], v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        n = strlen(tmp);
    }
    elaine_jw_raw_(w, tmp, n, 0);
}

void elaine_jw_bool(elaine_jw *w, int v)
{
    if (v)
        elaine_jw_raw_(w, "true", 4, 0);
    else
        elaine_jw_raw_(w, "false", 5, 0);
}

void elaine_jw_null(elaine_jw *w)
{
    elaine_jw_raw_(w, "null", 4, 0);
}

/* A container that would nest deeper than the parser takes (a body nested
 * 512 deep, written inside a record) goes as a string of its JSON text, so
 * that what we write can always be read back. 1 when v was written so. */
static int jw_too_deep(elaine_jw *w, const ej_val *v)
{
    if (w->depth < EJ_MAX_DEPTH)
        return 0;
    elaine_buf t;
    elaine_jw sub;
    elaine_buf_init(&t);
    elaine_jw_init(&sub, &t);
    elaine_jw_value(&sub, v);
    if (t.oom)
        w->b->oom = 1;
    elaine_jw_str(w, t.p ? t.p : "", t.len);
    elaine_buf_free(&t);
    return 1;
}

void elaine_jw_json(elaine_jw *w, const ej_val *v, const char *text, size_t n)
{
    if (v && v->canon == 2) {
        const ej_doc *doc = (const ej_doc *)(const void *)((const char *)v - offsetof(ej_doc, root));
        if (doc->src == text && doc->src_len == n && w->depth + doc->max_depth < EJ_MAX_DEPTH) {
            elaine_jw_raw_(w, text, n, 0);
            return;
        }
    }
    elaine_jw_value(w, v);
}

void elaine_jw_value(elaine_jw *w, const ej_val *v)
{
    if (!v) {
        elaine_jw_null(w);
        return;
    }
    switch (v->type) {
    case EJ_NULL:
        elaine_jw_null(w);
        break;
    case EJ_BOOL:
        elaine_jw_bool(w, v->u.b);
        break;
    case EJ_NUM:
        elaine_jw_raw_(w, v->u.s, v->len, 0);
        break;
    case EJ_STR:
        elaine_jw_str(w, v->u.s, v->len);
        break;
    case EJ_ARR:
        if (jw_too_deep(w, v))
            break;
        elaine_jw_arr_begin(w);
        for (size_t i = 0; i < v->len; i++)
            elaine_jw_value(w, &v->u.items[i]);
        elaine_jw_arr_end(w);
        break;
    case EJ_OBJ:
        if (jw_too_deep(w, v))
            break;
        elaine_jw_obj_begin(w);
        for (size_t i = 0; i < v->len; i++) {
            key_n(w, v->u.mems[i].key, v->u.mems[i].klen);
            elaine_jw_value(w, &v->u.mems[i].val);
        }
        elaine_jw_obj_end(w);
        break;
    }
}

static int text_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int elaine_json_text_has(const char *data, size_t n, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    const char *end = data + n;
    for (const char *p = data; p + kl + 2 <= end;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q || q + kl + 2 > end)
            return 0;
        p = q + 1;
        if ((q > data && q[-1] == '\\') || memcmp(q + 1, key, kl) != 0 || q[kl + 1] != '"')
            continue;
        const char *v = q + kl + 2;
        while (v < end && text_ws(*v))
            v++;
        if (v >= end || *v != ':')
            continue;
        v++;
        while (v < end && text_ws(*v))
            v++;
        if ((size_t)(end - v) >= vl && memcmp(v, value, vl) == 0 &&
            (value[vl - 1] == '"' || v + vl == end || !((v[vl] >= 'a' && v[vl] <= 'z'))))
            return 1;
    }
    return 0;
}
