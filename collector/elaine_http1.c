/* HTTP/1.x message reassembly: a push parser for one direction of a connection. */
#include "elaine_http1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "elaine_buf.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define HEAD_MAX (256 * 1024)
#define LINE_MAX_CHUNK 4096 /* chunk-size line with extensions */
#define HEAD_PAD 16         /* zero bytes kept after a collected head: 16-byte loads stay in it */

typedef enum {
    S_IDLE,       /* between messages: skipping stray CR/LF */
    S_HEAD,       /* collecting the head into p->head */
    S_BODY_LEN,   /* Content-Length body, p->remain bytes left */
    S_BODY_CLOSE, /* body until the connection closes */
    S_CHUNK_SIZE, /* collecting a chunk-size line into p->line */
    S_CHUNK_DATA, /* p->remain bytes of chunk data */
    S_CHUNK_END,  /* CRLF after chunk data, collected into p->line */
    S_TRAILER,    /* trailer lines until an empty one */
    S_STOPPED,    /* 101 / CONNECT / elaine_http1_stop: bytes ignored */
    S_DEAD,       /* not HTTP/1.x */
} state_t;

struct elaine_http1 {
    int is_request;
    elaine_http1_cb cb;
    state_t st;
    elaine_buf head;       /* head bytes being collected */
    size_t line_start;     /* 0 while collecting the start line, then its length with the LF */
    int lines_nul;         /* a NUL in the head's bytes after the start line */
    elaine_buf line;       /* chunk-size / chunk-end / trailer line */
    size_t trailer_bytes;
    uint64_t remain;
    elaine_http_header *hdrs;
    size_t *hlens; /* strlen of hdrs[i].name at [2i], of its value at [2i+1] */
    size_t hcap;
    /* framing headers, noted by parse_head */
    const char *te; /* the last non-empty Transfer-Encoding */
    uint64_t cl;
    int have_cl, bad_cl;
};

elaine_http1 *elaine_http1_new(int is_request, const elaine_http1_cb *cb)
{
    elaine_http1 *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->is_request = is_request ? 1 : 0;
    if (cb)
        p->cb = *cb;
    p->st = S_IDLE;
    elaine_buf_init(&p->head);
    elaine_buf_init(&p->line);
    return p;
}

void elaine_http1_free(elaine_http1 *p)
{
    if (!p)
        return;
    elaine_buf_free(&p->head);
    elaine_buf_free(&p->line);
    free(p->hdrs);
    free(p->hlens);
    free(p);
}

void elaine_http1_stop(elaine_http1 *p)
{
    if (p->st != S_DEAD)
        p->st = S_STOPPED;
}

int elaine_http1_in_message(const elaine_http1 *p)
{
    return p->st != S_IDLE && p->st != S_STOPPED && p->st != S_DEAD;
}

const char *elaine_http_head_get(const elaine_http_head *h, const char *lower_name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (strcmp(h->headers[i].name, lower_name) == 0)
            return h->headers[i].value;
    return NULL;
}

/* ------------------------------------------------------------ head parsing */

/* A header name byte lower-cased, 0 for what is not a tchar (RFC 9110 5.6.2:
 * digits, letters and !#$%&'*+-.^_`|~). */
static const unsigned char name_char[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,  33,   0,  35,  36,  37,  38,  39,   0,   0,  42,  43,   0,  45,  46,   0,
     48,  49,  50,  51,  52,  53,  54,  55,  56,  57,   0,   0,   0,   0,   0,   0,
      0,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0,   0,   0,  94,  95,
     96,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0, 124,   0, 126,   0,
    /* 0x80..0xff: none */
};

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* "HTTP/1.0" or "HTTP/1.1" in s[0..8) (the caller knows there are 8 bytes). */
static int parse_version(const char *s, int *version)
{
    if (memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1'))
        return -1;
    *version = s[7] == '1' ? 11 : 10;
    return 0;
}

/* A request target: no byte below 0x21 nor 0x7f (bytes from 0x80 are
 * allowed). t[0..n), with the head's bytes up to end readable. */
static int target_ok(const char *t, size_t n, const char *end)
{
    size_t i = 0;
#ifdef __SSE2__
    /* 16 bytes at a time while they are in the head; bits past n masked off */
    for (; i < n && end - (t + i) >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
        __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v),
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (n - i < 16)
            m &= (1u << (n - i)) - 1;
        if (m)
            return 0;
    }
#else
    (void)end;
#endif
    for (; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || t[i] == 0x7f)
            return 0;
    return 1;
}

/* Early sanity of a start line still being collected, so that a stream that
 * is not HTTP/1 fails fast instead of after 256 KiB. */
static int start_line_plausible(const elaine_http1 *p, const char *s, size_t n)
{
    if (!p->is_request) {
        size_t k = n < 5 ? n : 5;
        return memcmp(s, "HTTP/", k) == 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ')
            return i > 0;
        if (!is_tchar((unsigned char)s[i]) || i >= 32)
            return 0;
    }
    return 1;
}

static int parse_cl(const char *v, uint64_t *out, int *have);

#ifdef __SSE2__
/* The run of letters, digits and '-' (the usual name bytes) at the start
 * of 16 bytes, lower-cased in place; bytes after the run are written back
 * as they were. Its length, 16 when all are. */
static inline unsigned name_run16(char *c)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)c);
    __m128i low = _mm_or_si128(v, _mm_set1_epi8(0x20));
    /* signed compares: bytes from 0x80 are below everything */
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i ok = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    unsigned stop = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
    unsigned run = stop ? (unsigned)__builtin_ctz(stop) : 16;
    /* letters of the run: | 0x20 */
    __m128i in_run = _mm_cmpgt_epi8(_mm_set1_epi8((char)run),
                                    _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m128i add = _mm_and_si128(_mm_and_si128(alpha, in_run), _mm_set1_epi8(0x20));
    _mm_storeu_si128((__m128i *)(void *)c, _mm_or_si128(v, add));
    return run;
}
#endif

/* The first LF at or after c in a head (there is one, the head's last
 * byte; the head is followed by HEAD_PAD readable bytes). */
static inline char *find_lf(char *c, char *end)
{
#ifdef __SSE2__
    (void)end;
    for (;; c += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)c);
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
        if (m)
            return c + __builtin_ctz(m);
    }
#else
    return memchr(c, '\n', (size_t)(end - c));
#endif
}

/* ' ', '\t' or '\r': what values and the start line are trimmed of. */
static inline int is_ows_cr(unsigned char c)
{
    return c <= ' ' && ((0x100002200ull >> c) & 1);
}

static __attribute__((noinline)) int grow_headers(elaine_http1 *p)
{
    size_t nc = p->hcap ? p->hcap * 2 : 16;
    elaine_http_header *nh = realloc(p->hdrs, nc * sizeof(*nh));
    if (!nh)
        return -ENOMEM;
    p->hdrs = nh;
    size_t *nl = realloc(p->hlens, nc * 2 * sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    p->hlens = nl;
    p->hcap = nc;
    return 0;
}

/* Parses the collected head in place (strings point into p->head), noting
 * the framing headers (p->te, p->cl, p->have_cl, p->bad_cl) on the way. */
static int parse_head(elaine_http1 *p, elaine_http_head *h)
{
    char *s = p->head.p;
    size_t n = p->head.len;
    memset(h, 0, sizeof(*h));
    h->is_request = p->is_request;

    char *end = s + n;
    p->te = NULL;
    p->cl = 0;
    p->have_cl = p->bad_cl = 0;

    /* the start line, cut at its LF (and at a NUL), trimmed of whitespace
     * and CR (the trailing ones overwritten with NULs) */
    char *line = s;
    /* (its LF ended the start line's collecting: at line_start - 1) */
    char *nl = p->line_start && p->line_start <= n && s[p->line_start - 1] == '\n' ? s + p->line_start - 1
                                                                                  : memchr(line, '\n', n);
    if (!nl)
        return -EPROTO;
    *nl = 0;
    char *start = line;
    size_t sl = (size_t)(nl - line);
    /* Lines are cut at a NUL as strings are (every length below is the
     * string's); a head without one, the usual, needs no strnlen. The
     * header lines' NULs were looked for while collecting them. */
    if (memchr(start, 0, sl))
        sl = strnlen(start, sl);
    while (sl && (is_ows(*start) || *start == '\r')) {
        start++;
        sl--;
    }
    while (sl && (is_ows(start[sl - 1]) || start[sl - 1] == '\r'))
        start[--sl] = 0;
    line = nl + 1;

    if (p->is_request) {
        /* "method SP target SP HTTP/1.x": the version is the line's last 8
         * bytes (they hold no space: its space is the last one) */
        if (sl < 9 || start[sl - 9] != ' ' || parse_version(start + sl - 8, &h->version) < 0)
            return -EPROTO;
        char *sp2 = start + sl - 9;
        char *sp1 = memchr(start, ' ', (size_t)(sp2 - start) + 1);
        if (sp1 == sp2)
            return -EPROTO;
        *sp1 = 0;
        *sp2 = 0;
        h->method = start;
        for (char *c = start; c < sp1; c++) /* tchars (the table maps those only) */
            if (!name_char[(unsigned char)*c])
                return -EPROTO;
        char *t = sp1 + 1, *te = sp2;
        while (t < te && (is_ows(*t) || *t == '\r'))
            t++;
        while (te > t && (is_ows(te[-1]) || te[-1] == '\r'))
            *--te = 0;
        h->target = t;
        if (sp1 == start || t == te || !target_ok(t, (size_t)(te - t), end))
            return -EPROTO;
    } else {
        /* "HTTP/1.x SP status ..." */
        if (sl < 9 || start[8] != ' ' || parse_version(start, &h->version) < 0)
            return -EPROTO;
        start[8] = 0;
        char *st = start + 9;
        if (st[0] < '1' || st[0] > '9' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9' ||
            (st[3] && st[3] != ' '))
            return -EPROTO;
        h->status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
        h->reason = st[3] ? st + 4 : st + 3;
    }

    /* Header lines. What the loop keeps in locals (the head's bytes are
     * written through char pointers, which would make the compiler reload
     * anything reached through p after each store). */
    const int has_nul = p->lines_nul;
    elaine_http_header *hdrs = p->hdrs;
    size_t *hlens = p->hlens;
    size_t nh = 0, cap = p->hcap;
    const char *te = NULL;
    uint64_t cl = 0;
    int have_cl = 0, bad_cl = 0;
    int r = 0;
    while (line < end) {
        nl = find_lf(line, end);
        /* obs-fold: a header line starting with SP/HT continues this one */
        while (nl + 1 < end && is_ows(nl[1])) {
            *nl = ' ';
            if (nl[-1] == '\r')
                nl[-1] = ' ';
            nl = find_lf(nl + 1, end);
        }
        *nl = 0;
        char *cur = line;
        line = nl + 1;
        size_t l = (size_t)(nl - cur);
        if (has_nul)
            l = strnlen(cur, l);
        if (l && cur[l - 1] == '\r')
            cur[--l] = 0;
        if (!l)
            break; /* end of head */
        if (is_ows(cur[0]))
            continue; /* whitespace line right after the start line: ignored */
        /* The name: tchars up to the colon, lower-cased on the way. The
         * line ends in a NUL (cur[l]; none before), which the table does
         * not map: no bound to check. */
        char *name = cur, *colon = cur;
        unsigned char lc;
#ifdef __SSE2__
        /* 16 bytes at a time (the run ends at the line's NUL at the
         * latest; the head's padding keeps the loads and stores in it) */
        for (;;) {
            unsigned run = name_run16(colon);
            colon += run;
            if (run < 16)
                break;
        }
#endif
        while ((lc = name_char[(unsigned char)*colon]) != 0)
            *colon++ = (char)lc;
        size_t nl_len = (size_t)(colon - cur);
        if (__builtin_expect(*colon != ':', 0)) {
            if (is_ows(*colon)) { /* tolerated: "Name : value" */
                char *ws = colon;
                while (is_ows(*colon))
                    colon++;
                if (*colon == ':')
                    memset(ws, 0, (size_t)(colon - ws));
            }
            if (*colon != ':')
                return -EPROTO; /* no colon or not a tchar */
        }
        if (!nl_len)
            return -EPROTO; /* an empty name */
        *colon = 0;
        /* the value trimmed of whitespace and CR, as the start line is */
        char *v = colon + 1, *ve = cur + l;
        if (v < ve && *v == ' ') /* the usual one space */
            v++;
        while (v < ve && is_ows_cr((unsigned char)*v))
            v++;
        while (ve > v && is_ows_cr((unsigned char)ve[-1]))
            ve--;
        *ve = 0;
        if (nl_len == 17 && memcmp(name, "transfer-encoding", 17) == 0 && *v)
            te = v;
        else if (nl_len == 14 && memcmp(name, "content-length", 14) == 0 &&
                 parse_cl(v, &cl, &have_cl) < 0)
            bad_cl = 1;
        if (__builtin_expect(nh == cap, 0)) {
            if ((r = grow_headers(p)) < 0)
                break;
            hdrs = p->hdrs;
            hlens = p->hlens;
            cap = p->hcap;
        }
        hdrs[nh].name = name;
        hdrs[nh].value = v;
        hlens[2 * nh] = nl_len;
        hlens[2 * nh + 1] = (size_t)(ve - v);
        nh++;
    }
    p->te = te;
    p->cl = cl;
    p->have_cl = have_cl;
    p->bad_cl = bad_cl;
    if (r < 0)
        return r;
    h->nheaders = nh;
    h->headers = hdrs;
    h->header_lens = hlens;
    h->raw = s;
    h->raw_len = n;
    h->names_tchar = 1; /* (the name loop takes tchars only) */
    return 0;
}

/* ------------------------------------------------------------ framing */

typedef enum { F_NONE, F_LEN, F_CHUNKED, F_CLOSE, F_ERROR } framing_t;

/* Last transfer coding named by the Transfer-Encoding headers. */
static int te_is_chunked(const char *v)
{
    const char *last = v;
    for (const char *c = v; *c; c++)
        if (*c == ',')
            last = c + 1;
    while (is_ows(*last))
        last++;
    size_t l = 0;
    while (last[l] && !is_ows(last[l]) && last[l] != ';')
        l++;
    return l == 7 && strncasecmp(last, "chunked", 7) == 0;
}

/* Content-Length: digits, or a list of equal values ("42, 42"); -1 if invalid. */
static int parse_cl(const char *v, uint64_t *out, int *have)
{
    const char *c = v;
    for (;;) {
        while (is_ows(*c))
            c++;
        if (*c < '0' || *c > '9')
            return -1;
        uint64_t x = 0;
        while (*c >= '0' && *c <= '9') {
            if (x > (UINT64_MAX - 9) / 10)
                return -1;
            x = x * 10 + (uint64_t)(*c - '0');
            c++;
        }
        while (is_ows(*c))
            c++;
        if (*have && *out != x)
            return -1;
        *out = x;
        *have = 1;
        if (!*c)
            return 0;
        if (*c != ',')
            return -1;
        c++;
    }
}

/* The framing of the head parse_head just noted. */
static framing_t framing(const elaine_http1 *p, const elaine_http_head *h, uint64_t *len)
{
    if (p->te) {
        if (te_is_chunked(p->te))
            return F_CHUNKED;
        return h->is_request ? F_ERROR : F_CLOSE;
    }
    if (p->bad_cl)
        return F_ERROR;
    *len = p->cl;
    if (p->have_cl)
        return *len ? F_LEN : F_NONE;
    return h->is_request ? F_NONE : F_CLOSE;
}

static void emit_done(elaine_http1 *p)
{
    p->st = S_IDLE;
    if (p->cb.on_done)
        p->cb.on_done(p->cb.ud);
}

static int die(elaine_http1 *p)
{
    p->st = S_DEAD;
    return -EPROTO;
}

/* The head in p->head is complete: parse it, emit it, choose the body state. */
static int head_done(elaine_http1 *p)
{
    elaine_http_head h;
    /* HEAD_PAD zero bytes after the head (not counted in its length) */
    char *pad = elaine_buf_reserve(&p->head, HEAD_PAD);
    if (!pad)
        return die(p);
    memset(pad, 0, HEAD_PAD);
    int r = parse_head(p, &h);
    if (r < 0)
        return die(p);
    uint64_t len = 0;
    framing_t f = framing(p, &h, &len);
    int informational = !p->is_request && h.status < 200;
    int bodiless = !p->is_request && (informational || h.status == 204 || h.status == 304);
    if (f == F_ERROR && !bodiless)
        return die(p);

    int hr = p->cb.on_head ? p->cb.on_head(p->cb.ud, &h) : 0;

    if (p->is_request) {
        if (strcmp(h.method, "CONNECT") == 0) {
            emit_done(p);
            p->st = S_STOPPED;
            return 0;
        }
    } else {
        if (h.status == 101 || (hr == ELAINE_HTTP1_CONNECT && h.status >= 200 && h.status < 300)) {
            emit_done(p);
            p->st = S_STOPPED;
            return 0;
        }
        if (hr == ELAINE_HTTP1_HEAD)
            bodiless = 1;
    }
    if (bodiless || f == F_NONE) {
        emit_done(p);
        return 0;
    }
    switch (f) {
    case F_LEN:
        p->remain = len;
        p->st = S_BODY_LEN;
        break;
    case F_CHUNKED:
        elaine_buf_reset(&p->line);
        p->st = S_CHUNK_SIZE;
        break;
    default:
        p->st = S_BODY_CLOSE;
        break;
    }
    return 0;
}

/* Collects bytes up to and including LF into p->line; returns bytes used and
 * sets *complete when the line ended. -1 when the line exceeds max. */
static ssize_t take_line(elaine_http1 *p, const uint8_t *d, size_t n, size_t max, int *complete)
{
    const uint8_t *nl = memchr(d, '\n', n);
    size_t use = nl ? (size_t)(nl - d) + 1 : n;
    *complete = nl != NULL;
    if (p->line.len + use > max)
        return -1;
    elaine_buf_add(&p->line, d, use);
    if (p->line.oom)
        return -1;
    return (ssize_t)use;
}

/* p->line without its line end. */
static size_t line_body(const elaine_http1 *p)
{
    size_t l = p->line.len;
    if (l && p->line.p[l - 1] == '\n')
        l--;
    if (l && p->line.p[l - 1] == '\r')
        l--;
    return l;
}

static int chunk_size_line(elaine_http1 *p)
{
    size_t l = line_body(p);
    const char *s = p->line.p;
    size_t i = 0;
    uint64_t x = 0;
    while (i < l && is_ows(s[i]))
        i++;
    size_t digits = 0;
    for (; i < l; i++, digits++) {
        int v;
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            break;
        if (x >> 60)
            return -1;
        x = x << 4 | (uint64_t)v;
    }
    if (!digits)
        return -1;
    while (i < l && is_ows(s[i]))
        i++;
    if (i < l && s[i] != ';')
        return -1; /* anything but extensions after the size */
    p->remain = x;
    return 0;
}

/* The byte at d[k], k >= -2: before d it is in the head (hp, base bytes
 * long), before the head there is none. */
static inline uint8_t byte_at(const uint8_t *d, const char *hp, size_t base, ptrdiff_t k)
{
    if (k >= 0)
        return d[k];
    return (ptrdiff_t)base + k >= 0 ? (uint8_t)hp[(ptrdiff_t)base + k] : 0;
}

/* Of the candidate LFs at d[b + bit] (bits of cand), the first one that
 * ends an empty line: its index + 1, or 0. */
static inline size_t first_empty(const uint8_t *d, const char *hp, size_t base, size_t b, uint64_t cand)
{
    do {
        ptrdiff_t j = (ptrdiff_t)(b + (size_t)__builtin_ctzll(cand));
        cand &= cand - 1;
        uint8_t c1 = byte_at(d, hp, base, j - 1);
        if (c1 == '\n' || (c1 == '\r' && byte_at(d, hp, base, j - 2) == '\n'))
            return (size_t)j + 1;
    } while (cand);
    return 0;
}

/* Header lines (the start line is in p->head): finds the empty line that
 * ends the head in d ("\n\n" or "\n\r\n": header lines start after an
 * LF, the first one after the start line's) and adds what belongs to the
 * head to p->head in one piece; at the empty line the head is done. 16
 * bytes at a time: an LF with another one one or two bytes before it is
 * a candidate, looked at closer. Bytes used, or -EPROTO (dead: the head is
 * too long, memory short, or not HTTP). */
static ssize_t head_lines(elaine_http1 *p, const uint8_t *d, size_t n)
{
    const size_t base = p->head.len; /* head offset of d[0]; the start line's LF before it */
    const char *hp = p->head.p;
    /* the byte at d[k], k >= -2 (before d: in the head; before the head: none) */
#define AT(k) ((ptrdiff_t)(k) >= 0 ? d[k] : (ptrdiff_t)base + (ptrdiff_t)(k) >= 0 ? (uint8_t)hp[(ptrdiff_t)base + (ptrdiff_t)(k)] : 0)
    /* the LF at d[j] ends an empty line */
#define EMPTY_AT(j) (AT((ptrdiff_t)(j) - 1) == '\n' || (AT((ptrdiff_t)(j) - 1) == '\r' && AT((ptrdiff_t)(j) - 2) == '\n'))
    size_t use = n; /* bytes of d that belong to the head */
    int done = 0, nul = 0;
    size_t b = 0;
#ifdef __SSE2__
    size_t e; /* first_empty's answer */
    /* bits 0 and 1: LFs two and one bytes before the block */
    unsigned carry = (unsigned)(AT(-2) == '\n') | (unsigned)(AT(-1) == '\n') << 1;
    __m128i zeros = _mm_setzero_si128();
    /* 32 bytes a step while there are (one 32-bit mask) */
    for (; n - b >= 32; b += 32) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + b));
        __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(d + b + 16));
        uint64_t lf = (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))) |
                      (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, _mm_set1_epi8('\n'))) << 16;
        uint64_t ext = lf << 2 | carry; /* bit k + 2: an LF at k */
        uint64_t cand = lf & (ext | ext >> 1);
        carry = (unsigned)(lf >> 30);
        if (__builtin_expect(cand != 0, 0) && (e = first_empty(d, hp, base, b, cand)) != 0) {
            use = e;
            done = 1;
            nul |= memchr(d + b, 0, use - b) != NULL;
            break;
        }
        zeros = _mm_or_si128(zeros, _mm_cmpeq_epi8(_mm_min_epu8(v, v2), _mm_setzero_si128())); /* a NUL in either */
    }
    for (; !done && n - b >= 16; b += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + b));
        unsigned lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
        unsigned ext = lf << 2 | carry; /* bit k + 2: an LF at k */
        unsigned cand = lf & (ext | ext >> 1);
        carry = lf >> 14;
        if (__builtin_expect(cand != 0, 0) && (e = first_empty(d, hp, base, b, cand)) != 0) {
            use = e;
            done = 1;
            nul |= memchr(d + b, 0, use - b) != NULL;
            break;
        }
        zeros = _mm_or_si128(zeros, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    }
    nul |= _mm_movemask_epi8(zeros) != 0;
#endif
    for (; !done && b < n; b++) {
        if (!d[b])
            nul = 1;
        if (d[b] == '\n' && EMPTY_AT(b)) {
            use = b + 1;
            done = 1;
        }
    }
#undef EMPTY_AT
#undef AT
    if (base + use > HEAD_MAX)
        return die(p);
    elaine_buf_add(&p->head, d, use);
    if (p->head.oom)
        return die(p);
    p->lines_nul |= nul;
    if (done) {
        int r = head_done(p);
        if (r < 0)
            return r;
    }
    return (ssize_t)use;
}

int elaine_http1_feed(elaine_http1 *p, const uint8_t *data, size_t n)
{
    while (n > 0) {
        switch (p->st) {
        case S_DEAD:
            return -EPROTO;
        case S_STOPPED:
            return 0;
        case S_IDLE:
            if (data[0] == '\r' || data[0] == '\n') {
                data++;
                n--;
                break;
            }
            elaine_buf_reset(&p->head);
            p->line_start = 0;
            p->lines_nul = 0;
            p->st = S_HEAD;
            break;
        case S_HEAD: {
            if (p->line_start) { /* header lines: scanned in data, copied at once */
                ssize_t used = head_lines(p, data, n);
                if (used < 0)
                    return (int)used;
                data += used;
                n -= (size_t)used;
                break;
            }
            /* the start line, checked as it comes */
            const uint8_t *nl = memchr(data, '\n', n);
            size_t use = nl ? (size_t)(nl - data) + 1 : n;
            if (p->head.len + use > HEAD_MAX)
                return die(p);
            elaine_buf_add(&p->head, data, use);
            if (p->head.oom)
                return die(p);
            data += use;
            n -= use;
            if (!start_line_plausible(p, p->head.p, nl ? p->head.len - 1 : p->head.len))
                return die(p);
            if (!nl)
                break;
            size_t ll = p->head.len; /* includes the LF */
            p->line_start = p->head.len;
            if (ll == 1 || (ll == 2 && p->head.p[0] == '\r')) {
                int r = head_done(p);
                if (r < 0)
                    return r;
            }
            break;
        }
        case S_BODY_LEN: {
            size_t use = p->remain < n ? (size_t)p->remain : n;
            if (p->cb.on_body)
                p->cb.on_body(p->cb.ud, data, use);
            data += use;
            n -= use;
            p->remain -= use;
            if (!p->remain)
                emit_done(p);
            break;
        }
        case S_BODY_CLOSE:
            if (p->cb.on_body)
                p->cb.on_body(p->cb.ud, data, n);
            n = 0;
            break;
        case S_CHUNK_SIZE:
        case S_CHUNK_END:
        case S_TRAILER: {
            int complete;
            size_t max = p->st == S_TRAILER ? HEAD_MAX - p->trailer_bytes : LINE_MAX_CHUNK;
            ssize_t used = take_line(p, data, n, max, &complete);
            if (used < 0)
                return die(p);
            data += used;
            n -= (size_t)used;
            if (!complete)
                break;
            size_t l = line_body(p);
            if (p->st == S_CHUNK_SIZE) {
                if (chunk_size_line(p) < 0)
                    return die(p);
                if (p->remain) {
                    p->st = S_CHUNK_DATA;
                } else {
                    p->st = S_TRAILER;
                    p->trailer_bytes = 0;
                }
            } else if (p->st == S_CHUNK_END) {
                if (l)
                    return die(p);
                p->st = S_CHUNK_SIZE;
            } else {
                p->trailer_bytes += p->line.len;
                if (!l) {
                    elaine_buf_reset(&p->line);
                    emit_done(p);
                    break;
                }
            }
            elaine_buf_reset(&p->line);
            break;
        }
        case S_CHUNK_DATA: {
            size_t use = p->remain < n ? (size_t)p->remain : n;
            if (p->cb.on_body)
                p->cb.on_body(p->cb.ud, data, use);
            data += use;
            n -= use;
            p->remain -= use;
            if (!p->remain) {
                elaine_buf_reset(&p->line);
                p->st = S_CHUNK_END;
            }
            break;
        }
        }
    }
    return p->st == S_DEAD ? -EPROTO : 0;
}

int elaine_http1_eof(elaine_http1 *p)
{
    switch (p->st) {
    case S_IDLE:
    case S_STOPPED:
        return 0;
    case S_BODY_CLOSE:
        emit_done(p);
        return 1;
    case S_DEAD:
        return -1;
    default:
        p->st = S_DEAD; /* nothing more will come */
        return -1;
    }
}
