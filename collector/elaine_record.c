/* The log format: one JSON line per exchange, drop report or collector counters line. */
#include "elaine_record.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "elaine_mask.h"
#include "elaine_redact.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Zero bytes after the strings of a set_head block (headers_padded). */
#define HEAD_PAD 32

void elaine_record_msg_init(elaine_xmsg *m)
{
    memset(m, 0, sizeof(*m));
    elaine_buf_init(&m->body);
}

/* set_head's blocks: their size in a 16-byte prefix; the last two freed
 * are kept for the next heads (an exchange holds two: request and
 * response), so that the usual exchange allocates none. */
#define BLK_PREFIX 16
#define BLK_KEEP_MAX (64u << 10) /* larger blocks go back to malloc */
#define BLK_MIN 2048u
static _Atomic(char *) blk_spare[2]; /* (any thread may free what another set) */

static char *blk_alloc(size_t n)
{
    for (int k = 0; k < 2; k++) {
        if (!atomic_load_explicit(&blk_spare[k], memory_order_relaxed))
            continue;
        char *b = atomic_exchange(&blk_spare[k], NULL);
        if (!b)
            continue;
        size_t cap;
        memcpy(&cap, b, sizeof(cap));
        if (cap >= n)
            return b + BLK_PREFIX;
        free(b); /* too small: the next one is made larger */
    }
    size_t cap = n < BLK_MIN ? BLK_MIN : n;
    if (cap > SIZE_MAX - BLK_PREFIX)
        return NULL;
    char *b = malloc(BLK_PREFIX + cap);
    if (!b)
        return NULL;
    memcpy(b, &cap, sizeof(cap));
    return b + BLK_PREFIX;
}

static void blk_free(void *p)
{
    if (!p)
        return;
    char *b = (char *)p - BLK_PREFIX;
    size_t cap;
    memcpy(&cap, b, sizeof(cap));
    if (cap <= BLK_KEEP_MAX) {
        for (int k = 0; k < 2; k++) {
            char *none = NULL;
            if (atomic_compare_exchange_strong(&blk_spare[k], &none, b))
                return;
        }
    }
    free(b);
}

/* Frees what set_head copied (and what a caller set by hand), back to no head. */
static void free_head(elaine_xmsg *m)
{
    /* method and target are in the headers block unless replaced since */
    if (m->method != m->block_method)
        free(m->method);
    if (m->target != m->block_target)
        free(m->target);
    m->method = m->target = NULL;
    if (m->headers_block) {
        blk_free(m->headers);
    } else {
        for (size_t i = 0; i < m->nheaders; i++) {
            free(m->headers[i].name);
            free(m->headers[i].value);
        }
        free(m->headers);
    }
    m->headers = NULL;
    m->nheaders = 0;
    m->headers_block = 0;
    m->header_lens = NULL;
    m->block_method = m->block_target = NULL;
    m->headers_padded = 0;
    m->names_plain = 0;
}

void elaine_record_msg_free(elaine_xmsg *m)
{
    free_head(m);
    elaine_buf_free(&m->body);
    if (m->json)
        elaine_json_free(m->json);
    elaine_record_msg_init(m);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* A string into the block at *o (its length l known), NULL stays NULL. */
static char *block_str(char **o, const char *s, size_t l)
{
    if (!s)
        return NULL;
    char *d = *o;
    memcpy(d, s, l + 1);
    *o += l + 1;
    return d;
}

/* A pointer into raw[0..raw_len) moved to the same place in the copy at to; NULL stays NULL. */
static char *rebase(const char *s, const char *raw, char *to)
{
    return s ? to + (s - raw) : NULL;
}

static int in_raw(const char *s, const elaine_http_head *h)
{
    return !s || (uintptr_t)s - (uintptr_t)h->raw < h->raw_len;
}

/* set_head for a head that says where its strings are and how long the
 * header ones are (elaine_http1's): the raw block copied whole, the
 * pointers moved into the copy. 1 when done, 0 when not such a head, -1 short of memory. */
static int set_head_raw(elaine_xmsg *m, const elaine_http_head *h)
{
    size_t nh = h->nheaders;
    if (!h->raw || (nh && !h->header_lens) || !in_raw(h->method, h) || !in_raw(h->target, h))
        return 0; /* (header strings: in raw or NULL, as elaine_http_head says) */
    size_t hsz = nh * (sizeof(*m->headers) + 2 * sizeof(size_t));
    char *blk = blk_alloc(hsz + h->raw_len + HEAD_PAD);
    if (!blk)
        return -1;
    m->headers = (elaine_http_header *)(void *)blk;
    m->headers_block = 1;
    size_t *lens = (size_t *)(void *)(blk + nh * sizeof(*m->headers));
    char *o = blk + hsz;
    memcpy(o, h->raw, h->raw_len);
    memset(o + h->raw_len, 0, HEAD_PAD);
    m->headers_padded = 1;
    m->names_plain = h->names_tchar != 0;
    if (nh)
        memcpy(lens, h->header_lens, 2 * nh * sizeof(size_t));
    const ptrdiff_t delta = o - h->raw;
    const elaine_http_header *from = h->headers;
    elaine_http_header *to = m->headers;
    for (size_t i = 0; i < nh; i++) {
        const char *nm = from[i].name, *va = from[i].value;
        if (__builtin_expect(nm && va, 1)) {
            to[i].name = (char *)(uintptr_t)((uintptr_t)nm + (uintptr_t)delta);
            to[i].value = (char *)(uintptr_t)((uintptr_t)va + (uintptr_t)delta);
        } else {
            to[i].name = rebase(nm, h->raw, o);
            to[i].value = rebase(va, h->raw, o);
        }
    }
    m->nheaders = nh;
    m->header_lens = lens;
    m->method = rebase(h->method, h->raw, o);
    m->target = rebase(h->target, h->raw, o);
    m->block_method = m->method;
    m->block_target = m->target;
    return 1;
}

int elaine_record_msg_set_head(elaine_xmsg *m, const elaine_http_head *h)
{
    free_head(m);
    m->present = 1;
    m->status = h->status;
    m->version = h->version;
    int fast = set_head_raw(m, h);
    if (fast > 0)
        return 0;
    if (fast < 0) {
        int oom = 0; /* method and target at least, as below */
        m->method = dup_or_null(h->method, &oom);
        m->target = dup_or_null(h->target, &oom);
        return -ENOMEM;
    }
    /* the header array, the lengths, every name and value, method and target:
     * one allocation (freed as one); the lengths measured once when few */
    size_t nh = h->nheaders;
    size_t local[2 * 64];
    int have = nh <= 64;
    size_t ml = h->method ? strlen(h->method) + 1 : 0;
    size_t tl = h->target ? strlen(h->target) + 1 : 0;
    size_t total = nh * (sizeof(*m->headers) + 2 * sizeof(size_t)) + ml + tl;
    for (size_t i = 0; i < nh; i++) {
        size_t nl = h->headers[i].name ? strlen(h->headers[i].name) : 0;
        size_t vl = h->headers[i].value ? strlen(h->headers[i].value) : 0;
        total += (h->headers[i].name ? nl + 1 : 0) + (h->headers[i].value ? vl + 1 : 0);
        if (have) {
            local[2 * i] = nl;
            local[2 * i + 1] = vl;
        }
    }
    if (!nh && !ml && !tl)
        return 0;
    char *blk = blk_alloc(total + HEAD_PAD);
    if (!blk) {
        int oom = 0; /* method and target at least, as before */
        m->method = dup_or_null(h->method, &oom);
        m->target = dup_or_null(h->target, &oom);
        return -ENOMEM;
    }
    m->headers = (elaine_http_header *)(void *)blk;
    m->headers_block = 1;
    size_t *lens = (size_t *)(void *)(blk + nh * sizeof(*m->headers));
    char *o = (char *)(lens + 2 * nh);
    for (size_t i = 0; i < nh; i++) {
        const char *nm = h->headers[i].name, *va = h->headers[i].value;
        size_t nl = have ? local[2 * i] : nm ? strlen(nm) : 0;
        size_t vl = have ? local[2 * i + 1] : va ? strlen(va) : 0;
        lens[2 * i] = nl;
        lens[2 * i + 1] = vl;
        m->headers[i].name = block_str(&o, nm, nl);
        m->headers[i].value = block_str(&o, va, vl);
    }
    m->nheaders = nh;
    m->header_lens = lens;
    m->method = block_str(&o, h->method, ml ? ml - 1 : 0);
    m->target = block_str(&o, h->target, tl ? tl - 1 : 0);
    memset(o, 0, HEAD_PAD);
    m->headers_padded = 1;
    m->block_method = m->method;
    m->block_target = m->target;
    return 0;
}

const char *elaine_record_msg_headern(const elaine_xmsg *m, const char *lower_name, size_t len)
{
    if (m->header_lens) { /* names told apart by their lengths first */
        for (size_t i = 0; i < m->nheaders; i++)
            if (m->header_lens[2 * i] == len && m->headers[i].name &&
                memcmp(m->headers[i].name, lower_name, len) == 0)
                return m->headers[i].value;
        return NULL;
    }
    for (size_t i = 0; i < m->nheaders; i++)
        if (m->headers[i].name && strcmp(m->headers[i].name, lower_name) == 0)
            return m->headers[i].value;
    return NULL;
}

const char *elaine_record_msg_header(const elaine_xmsg *m, const char *lower_name)
{
    return elaine_record_msg_headern(m, lower_name, strlen(lower_name));
}

/* s[0..n) into buf of size bytes as snprintf "%.*s" would (cut, NUL-terminated); the length kept. */
static size_t copy_cut(char *buf, size_t size, const char *s, size_t n)
{
    if (!size)
        return 0;
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return n;
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

/* Decimal digits of v at o (20 bytes of room); returns the end. */
static char *put_u64(char *o, uint64_t v)
{
    if (v < 10) {
        *o = (char)('0' + v);
        return o + 1;
    }
    if (v < 100) {
        memcpy(o, digit_pairs + 2 * v, 2);
        return o + 2;
    }
    /* the number of digits: from the bit length, then one compare */
    static const uint64_t pow10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
                                       10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
                                       100000000000ull, 1000000000000ull, 10000000000000ull,
                                       100000000000000ull, 1000000000000000ull, 10000000000000000ull,
                                       100000000000000000ull, 1000000000000000000ull,
                                       10000000000000000000ull};
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233u >> 12; /* floor(log10(2^bits)) */
    size_t n = (size_t)t + 1 - (v < pow10[t]);
    char *p = o + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return o + n;
}

/* v as elaine_jw_int writes it. */
static char *put_i64(char *o, int64_t v)
{
    if (v < 0) {
        *o++ = '-';
        return put_u64(o, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(o, (uint64_t)v);
}

/* JSON text at o (a literal): the end. */
#define PUT(o, lit) (memcpy((o), lit, sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* elaine_record_id, returning the length written. */
static size_t record_id(char *buf, size_t size, const elaine_xrec *x)
{
    char tmp[96], *o = tmp; /* "%u-%llu-%llu-%llu": at most 10 + 3 * 21 bytes */
    o = put_u64(o, x->pid);
    *o++ = '-';
    o = put_u64(o, x->start_time);
    *o++ = '-';
    o = put_u64(o, x->conn_id);
    *o++ = '-';
    o = put_u64(o, x->request_no);
    return copy_cut(buf, size, tmp, (size_t)(o - tmp));
}

void elaine_record_id(char *buf, size_t size, const elaine_xrec *x)
{
    record_id(buf, size, x);
}

/* The timestamp of elaine_record_ts at o (32 bytes of room, no NUL); the end. */
static char *put_ts(char *o, uint64_t wall_ns)
{
    /* the date and time to the second change rarely between records: formatted once */
    static _Thread_local time_t last_s = (time_t)-1;
    static _Thread_local char date[24];
    static _Thread_local size_t date_len;
    time_t s = (time_t)(wall_ns / 1000000000u);
    unsigned us = (unsigned)(wall_ns % 1000000000u / 1000u);
    if (s != last_s) {
        struct tm tm;
        gmtime_r(&s, &tm);
        if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            date[0] = 0;
        date_len = strlen(date);
        last_s = s;
    }
    memcpy(o, date, sizeof(date)); /* (the length's bytes count) */
    o += date_len;
    o[0] = '.';
    unsigned hi = us / 10000, mid = us / 100 % 100, lo = us % 100;
    memcpy(o + 1, digit_pairs + 2 * hi, 2);
    memcpy(o + 3, digit_pairs + 2 * mid, 2);
    memcpy(o + 5, digit_pairs + 2 * lo, 2);
    o[7] = 'Z';
    return o + 8;
}

/* elaine_record_ts, returning the length written. */
static size_t record_ts(char *buf, size_t size, uint64_t wall_ns)
{
    char tmp[40];
    return copy_cut(buf, size, tmp, (size_t)(put_ts(tmp, wall_ns) - tmp));
}

void elaine_record_ts(char *buf, size_t size, uint64_t wall_ns)
{
    record_ts(buf, size, wall_ns);
}

/* The server as the request names it: HTTP/2's :authority, else Host. */
static const char *request_authority(const elaine_xmsg *req)
{
    if (!req->present)
        return NULL;
    const char *a = req->version == 20 ? ELAINE_RECORD_MSG_HEADER(req, ":authority") : NULL;
    return a && *a ? a : ELAINE_RECORD_MSG_HEADER(req, "host");
}

/* elaine_record_server, returning the host's length. */
static size_t record_server(const elaine_xrec *x, char *host_buf, size_t size, uint32_t *port)
{
    const char *hh = request_authority(&x->req);
    size_t hl = 0;
    host_buf[0] = 0;
    *port = 0;
    if (hh && *hh) {
        const char *name = hh, *end, *pp = NULL;
        if (*hh == '[') {
            name = hh + 1;
            end = strchr(name, ']');
            if (!end)
                end = name + strlen(name);
            else if (end[1] == ':')
                pp = end + 2;
        } else {
            end = strchr(hh, ':');
            if (end && strchr(end + 1, ':')) /* a bare IPv6 address */
                end = NULL;
            if (end)
                pp = end + 1;
            else
                end = hh + strlen(hh);
        }
        hl = copy_cut(host_buf, size, name, (size_t)(end - name));
        if (pp && *pp) {
            char *e;
            unsigned long v = strtoul(pp, &e, 10);
            if (*e == 0 && v > 0 && v < 65536)
                *port = (uint32_t)v;
        }
    }
    if (!host_buf[0] && x->conn_host && x->conn_host[0])
        hl = copy_cut(host_buf, size, x->conn_host, strlen(x->conn_host));
    if (!host_buf[0] && x->sni && x->sni[0])
        hl = copy_cut(host_buf, size, x->sni, strlen(x->sni));
    if (!*port)
        *port = x->conn_port ? x->conn_port : (x->tls ? 443 : 80);
    return host_buf[0] ? hl : 0;
}

void elaine_record_server(const elaine_xrec *x, char *host_buf, size_t size, uint32_t *port)
{
    record_server(x, host_buf, size, port);
}

int elaine_record_failed(const elaine_xrec *x)
{
    return x->error != NULL || !x->resp.present || x->resp.status >= 400;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int elaine_record_sample_keep(const char *id, double rate, uint64_t seed)
{
    if (rate >= 1.0)
        return 1;
    if (!(rate > 0.0))
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h = mix64(h ^ mix64(seed + 0x9e3779b97f4a7c15ull));
    return (double)(h >> 11) * (1.0 / 9007199254740992.0) < rate;
}

/* ---- masking (--content redacted): elaine_mask ---- */

static const elaine_mask *record_mask;

/* A literal key for the helpers below: quoted, with its colon, and its length. */
#define KEYLIT(lit) "\"" lit "\":", sizeof("\"" lit "\":") - 1

void elaine_record_set_mask(const elaine_mask *m)
{
    record_mask = m;
}

/* scratch: reused between strings of one record (its memory stays with the caller). */
static void jw_masked_str(elaine_jw *w, elaine_buf *scratch, const char *s, size_t n)
{
    elaine_buf_reset(scratch);
    elaine_mask_apply(record_mask, scratch, s, n);
    if (scratch->oom)
        ELAINE_JW_LIT(w, ELAINE_REDACTED); /* never the text unmasked */
    else
        elaine_jw_str(w, scratch->p ? scratch->p : "", scratch->len);
}

static void jw_masked_value(elaine_jw *w, elaine_buf *scratch, const ej_val *v)
{
    ej_type t = elaine_json_type(v);
    if ((t == EJ_ARR || t == EJ_OBJ) && w->depth >= 512) {
        /* deeper than elaine_json_parse takes: as a string (masked), as elaine_jw_value does */
        elaine_buf text;
        elaine_jw sub;
        elaine_buf_init(&text);
        elaine_jw_init(&sub, &text);
        elaine_jw_value(&sub, v);
        jw_masked_str(w, scratch, text.p ? text.p : "", text.len);
        elaine_buf_free(&text);
        return;
    }
    switch (t) {
    case EJ_STR:
        jw_masked_str(w, scratch, elaine_json_str(v), elaine_json_len(v));
        break;
    case EJ_ARR:
        elaine_jw_arr_begin(w);
        for (size_t i = 0; i < elaine_json_len(v); i++)
            jw_masked_value(w, scratch, elaine_json_at(v, i));
        elaine_jw_arr_end(w);
        break;
    case EJ_OBJ:
        elaine_jw_obj_begin(w);
        for (size_t i = 0; i < elaine_json_len(v); i++) {
            elaine_jw_key(w, elaine_json_key_at(v, i));
            jw_masked_value(w, scratch, elaine_json_at(v, i));
        }
        elaine_jw_obj_end(w);
        break;
    default:
        elaine_jw_value(w, v);
    }
}

/* One masked string: for the few fields outside a body. */
static void jw_masked_once(elaine_jw *w, const char *s, size_t n)
{
    elaine_buf tmp;
    elaine_buf_init(&tmp);
    jw_masked_str(w, &tmp, s, n);
    elaine_buf_free(&tmp);
}

/* ---- bodies ---- */

static int binary_type(const char *ct)
{
    if (!ct)
        return 0;
    return strncasecmp(ct, "audio/", 6) == 0 || strncasecmp(ct, "image/", 6) == 0 ||
           strncasecmp(ct, "video/", 6) == 0 ||
           strncasecmp(ct, "application/octet-stream", 24) == 0;
}

/* 1 when the bytes do not look like text: a NUL, or more than 1 in 20 bytes invalid UTF-8. */
static int binary_bytes(const unsigned char *s, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        /* eight ASCII bytes, none of them NUL, at once */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (((w | ((w & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full)) & 0x8080808080808080ull) ==
                0x8080808080808080ull &&
                !(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c == 0)
            return 1;
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = len != 0 && i + len <= n && !(len == 2 && c < 0xc2) && !(len == 4 && c > 0xf4);
        for (size_t k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (ok) {
            i += len;
        } else {
            bad++;
            i++;
        }
    }
    return bad * 20 > n;
}

static void add_base64(elaine_buf *b, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = tab[(v >> 6) & 63];
        q[3] = tab[v & 63];
        elaine_buf_add(b, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        q[3] = '=';
        elaine_buf_add(b, q, 4);
    }
}

/* HTTP/2 pseudo-headers (":method", ":path", ":authority", ":status", ...)
 * are the request line and status, written as such: not headers. */
static int pseudo_header(const elaine_xmsg *m, const char *name)
{
    return m->version == 20 && name[0] == ':';
}

/* Header values: credentials replaced whole (always), the rest masked with --content redacted. */
static int same_name(const char *a, const char *b)
{
    return a && a[0] == b[0] && strcmp(a, b) == 0;
}

/* Length of header i's name or value, as set_head measured it. */
static size_t header_len(const elaine_xmsg *m, size_t i, int value)
{
    if (m->header_lens)
        return m->header_lens[2 * i + (size_t)value];
    const char *s = value ? m->headers[i].value : m->headers[i].name;
    return s ? strlen(s) : 0;
}

/* 1 when two headers of m have the same name. Names are told apart by a
 * hash of their length and a few bytes first: only one whose hash came
 * before is compared with the names before it. */
static int repeated_name(const elaine_xmsg *m)
{
    uint64_t seen = 0;
    for (size_t i = 0; i < m->nheaders; i++) {
        const unsigned char *name = (const unsigned char *)m->headers[i].name;
        if (!name)
            continue;
        size_t l = header_len(m, i, 0);
        uint32_t h = (uint32_t)l;
        if (l)
            h ^= (uint32_t)name[0] << 8 ^ (uint32_t)name[l / 2] << 16 ^ (uint32_t)name[l - 1] << 24;
        h = (h * 0x9e3779b1u) >> 26;
        if (seen >> h & 1) {
            for (size_t k = 0; k < i; k++)
                if (same_name(m->headers[k].name, (const char *)name))
                    return 1;
        }
        seen |= (uint64_t)1 << h;
    }
    return 0;
}

/* Repeated names: the first place of each writes its values joined with ", ". */
static void write_headers_joined(elaine_jw *w, const elaine_xmsg *m, enum elaine_content content)
{
    elaine_buf scratch, v;
    elaine_buf_init(&scratch);
    elaine_buf_init(&v);
    for (size_t i = 0; i < m->nheaders; i++) {
        const char *name = m->headers[i].name;
        if (!name || pseudo_header(m, name))
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = same_name(m->headers[k].name, name);
        if (seen)
            continue;
        elaine_jw_key(w, name);
        if (elaine_redact_header(name)) {
            ELAINE_JW_LIT(w, ELAINE_REDACTED);
            continue;
        }
        const char *val = m->headers[i].value ? m->headers[i].value : "";
        size_t vlen = strlen(val);
        size_t more = i + 1;
        while (more < m->nheaders && !same_name(m->headers[more].name, name))
            more++;
        if (more < m->nheaders) {
            elaine_buf_reset(&v);
            elaine_buf_add(&v, val, vlen);
            for (size_t k = more; k < m->nheaders; k++) {
                if (!same_name(m->headers[k].name, name))
                    continue;
                elaine_buf_add(&v, ", ", 2);
                elaine_buf_adds(&v, m->headers[k].value ? m->headers[k].value : "");
            }
            val = v.p ? v.p : "";
            vlen = v.len;
        }
        if (content == ELAINE_CONTENT_REDACTED)
            jw_masked_str(w, &scratch, val, vlen);
        else
            elaine_jw_str(w, val, vlen);
    }
    elaine_buf_free(&v);
    elaine_buf_free(&scratch);
}

/* One header of the usual head (no repeated name) as a member. */
static void write_header(elaine_jw *w, const elaine_xmsg *m, size_t i, size_t nlen, elaine_buf *scratch,
                         enum elaine_content content)
{
    const char *name = m->headers[i].name;
    if (elaine_redact_headern(name, nlen)) {
        /* plain ASCII, written as it is */
        elaine_jw_member_str(w, name, nlen, ELAINE_REDACTED, sizeof(ELAINE_REDACTED) - 1);
        return;
    }
    const char *val = m->headers[i].value ? m->headers[i].value : "";
    size_t vlen = header_len(m, i, 1);
    if (content == ELAINE_CONTENT_REDACTED) {
        elaine_jw_keyn(w, name, nlen);
        jw_masked_str(w, scratch, val, vlen);
    } else {
        elaine_jw_member_str(w, name, nlen, val, vlen);
    }
}

#ifdef __SSE2__
/* Bits of the bytes of v that a JSON string escapes or checks: '"', '\\',
 * controls, 0x80-0xff (a signed compare). */
static inline unsigned esc_bits(__m128i v)
{
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
}

/* s[0..n), n <= 32, 32 bytes readable at s (a padded block): its bytes
 * in *a (and *b when n > 16), not checked (a name known to be plain). */
static inline int load32(const char *s, size_t n, __m128i *a, __m128i *b)
{
    *a = _mm_loadu_si128((const __m128i *)(const void *)s);
    if (n > 16)
        *b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
    return 1;
}

/* s[0..n), n <= 32, 32 bytes readable at s (a padded block): 1 when it
 * has nothing to escape; its bytes in *a (and *b when n > 16). */
static inline int plain32(const char *s, size_t n, __m128i *a, __m128i *b)
{
    *a = _mm_loadu_si128((const __m128i *)(const void *)s);
    uint32_t bits = esc_bits(*a);
    if (n > 16) {
        *b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
        bits |= esc_bits(*b) << 16;
    }
    return !(bits & (uint32_t)((1ull << n) - 1));
}

/* The first byte of each secret header name by its length (elaine_redact_headern), 0: none. */
static const char secret_first[20] = {[6] = 'c', [7] = 'a', [9] = 'x', [10] = 's', [13] = 'a', [14] = 'x', [19] = 'p'};

/* write_headers for the padded block of set_head (not redacted), after
 * the '{': every short plain header as "name":"value" by loads and stores
 * of 16 bytes, others through write_header; names hashed on the way as
 * repeated_name does (by their length and first 4 bytes). 0 when a name
 * repeats: what it wrote is taken back (the buffer and the writer as after
 * the '{'). */
static int write_headers_padded(elaine_jw *w, const elaine_xmsg *m, elaine_buf *scratch)
{
    const size_t nh = m->nheaders;
    const elaine_http_header *hs = m->headers;
    const size_t *lens = m->header_lens;
    const size_t len0 = w->b->len;
    const int names_plain = m->names_plain;
    uint64_t seen = 0;
    char *d = NULL, *dend = NULL, *d0 = NULL;
    size_t c = 0;
    int any = 0;
    for (size_t i = 0; i < nh; i++) {
        const char *name = hs[i].name;
        if (!name)
            continue;
        const size_t nlen = lens[2 * i];
        /* a repeated name? (NULL names aside, as repeated_name) */
        uint32_t first4;
        memcpy(&first4, name, 4); /* (padded: readable) */
        first4 &= nlen >= 4 ? 0xffffffffu : (uint32_t)((1ull << (8 * nlen)) - 1);
        uint32_t h = ((first4 ^ (uint32_t)nlen * 0x85ebca6bu) * 0x9e3779b1u) >> 26;
        if (__builtin_expect((seen >> h & 1) != 0, 0)) {
            for (size_t k = 0; k < i; k++)
                if (same_name(hs[k].name, name)) {
                    w->b->len = len0; /* back to just after the '{' */
                    if (w->b->p)
                        w->b->p[len0] = 0;
                    if (w->depth < (int)sizeof(w->first))
                        w->first[w->depth] = 1;
                    w->after_key = 0;
                    return 0;
                }
        }
        seen |= (uint64_t)1 << h;
        if (pseudo_header(m, name))
            continue;
        const char *val = hs[i].value;
        const size_t vlen = lens[2 * i + 1];
        __m128i n1, n2 = _mm_setzero_si128(), v1, v2 = _mm_setzero_si128();
        if (dend - d < 96) { /* room for one more: 72 bytes and a store of 16 */
            if (d)
                elaine_buf_commit(w->b, (size_t)(d - d0));
            d0 = d = elaine_buf_reserve(w->b, 1024);
            dend = d ? d + 1024 : NULL;
        }
        if (d && val && nlen <= 32 && vlen <= 32 &&
            !(nlen < 20 && ((unsigned char)name[0] | 0x20) == secret_first[nlen] && elaine_redact_headern(name, nlen)) &&
            (names_plain ? load32(name, nlen, &n1, &n2) : plain32(name, nlen, &n1, &n2)) &&
            plain32(val, vlen, &v1, &v2)) {
            if (!any) {
                c = (size_t)elaine_jw_comma_(w);
                any = 1;
            }
            d[0] = ',';
            d += c;
            c = 1;
            d[0] = '"';
            _mm_storeu_si128((__m128i *)(void *)(d + 1), n1);
            if (nlen > 16)
                _mm_storeu_si128((__m128i *)(void *)(d + 17), n2);
            d += nlen + 1;
            d[0] = '"';
            d[1] = ':';
            d[2] = '"';
            _mm_storeu_si128((__m128i *)(void *)(d + 3), v1);
            if (vlen > 16)
                _mm_storeu_si128((__m128i *)(void *)(d + 19), v2);
            d[vlen + 3] = '"';
            d += vlen + 4;
            continue;
        }
        /* the written part first, then this one as any other */
        if (d)
            elaine_buf_commit(w->b, (size_t)(d - d0));
        d = d0 = dend = NULL;
        write_header(w, m, i, nlen, scratch, ELAINE_CONTENT_FULL);
        any = 1;
        c = 1;
    }
    if (d)
        elaine_buf_commit(w->b, (size_t)(d - d0));
    return 1;
}
#endif

static void write_headers(elaine_jw *w, const elaine_xmsg *m, enum elaine_content content)
{
    elaine_jw_obj_begin(w);
    elaine_buf scratch;
    elaine_buf_init(&scratch);
#ifdef __SSE2__
    if (m->headers_padded && m->header_lens && content != ELAINE_CONTENT_REDACTED &&
        w->b->len && w->b->p[w->b->len - 1] == '{' && write_headers_padded(w, m, &scratch)) {
        elaine_jw_obj_end(w);
        if (scratch.p)
            elaine_buf_free(&scratch);
        return;
    }
#endif
    if (repeated_name(m)) {
        write_headers_joined(w, m, content);
        elaine_jw_obj_end(w);
        return;
    }
    /* the usual head: every name once, one pass */
    for (size_t i = 0; i < m->nheaders; i++) {
        const char *name = m->headers[i].name;
        if (!name || pseudo_header(m, name))
            continue;
        write_header(w, m, i, header_len(m, i, 0), &scratch, content);
    }
    elaine_jw_obj_end(w);
    if (scratch.p)
        elaine_buf_free(&scratch);
}

/* The length of s[0..n) without a UTF-8 sequence cut off at its end. */
static size_t utf8_whole(const char *s, size_t n)
{
    size_t k = n, back = 0;
    while (k > 0 && back < 4 && ((unsigned char)s[k - 1] & 0xc0) == 0x80) {
        k--;
        back++;
    }
    if (k == 0)
        return n;
    unsigned char c = (unsigned char)s[k - 1];
    size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back + 1 && c >= 0xc0 ? k - 1 : n;
}

/* body, body_encoding (when base64), body_size (the decoded size, counting
 * what --max-body cut off), truncated (true, when cut: the body is then the
 * text up to the last whole UTF-8 character within the bound). */
static void write_body(elaine_jw *w, const elaine_xmsg *m, enum elaine_content content)
{
    const char *s = m->body.p ? m->body.p : "";
    size_t n = m->body.len;
    size_t tn = m->body_truncated ? utf8_whole(s, n) : n; /* as text */
    int b64 = 0;
    elaine_buf scratch;
    elaine_buf_init(&scratch);
    ELAINE_JW_KEY(w, "body");
    if (content == ELAINE_CONTENT_NONE || n == 0) {
        elaine_jw_null(w);
    } else if (m->json && !m->body_truncated) {
        if (content == ELAINE_CONTENT_REDACTED)
            jw_masked_value(w, &scratch, m->json);
        else
            elaine_jw_json(w, m->json, s, n); /* parsed from the body itself */
    } else if (binary_type(ELAINE_RECORD_MSG_HEADER(m, "content-type")) ||
               binary_bytes((const unsigned char *)s, tn)) {
        elaine_buf tmp;
        elaine_buf_init(&tmp);
        add_base64(&tmp, (const unsigned char *)s, n);
        elaine_jw_str(w, tmp.p ? tmp.p : "", tmp.len);
        elaine_buf_free(&tmp);
        b64 = 1;
    } else if (content == ELAINE_CONTENT_REDACTED) {
        jw_masked_str(w, &scratch, s, tn);
    } else {
        elaine_jw_str(w, s, tn);
    }
    elaine_buf_free(&scratch);
    if (b64) {
        ELAINE_JW_KEY(w, "body_encoding");
        ELAINE_JW_LIT(w, "base64");
    }
    ELAINE_JW_KEY(w, "body_size");
    elaine_jw_uint(w, m->body_size);
    if (m->body_truncated) {
        ELAINE_JW_KEY(w, "truncated");
        elaine_jw_bool(w, 1);
    }
}

/* Generated text: null when absent or with --content none, masked when redacted. */
static void jw_llm_text(elaine_jw *w, const char *qkey, size_t qn, const elaine_buf *b,
                        enum elaine_content content)
{
    elaine_jw_raw_(w, qkey, qn, 1);
    if (!b || content == ELAINE_CONTENT_NONE) {
        elaine_jw_null(w);
        return;
    }
    const char *t = b->p ? b->p : "";
    if (content == ELAINE_CONTENT_REDACTED)
        jw_masked_once(w, t, b->len);
    else
        elaine_jw_str(w, t, b->len);
}

/* {id, name, arguments}: arguments as the JSON value the model produced, or
 * as a string when it is not valid JSON (a cut-off stream); content. */
static void jw_tool_call(elaine_jw *w, const elaine_tool_call *t, enum elaine_content content)
{
    elaine_jw_obj_begin(w);
    ELAINE_JW_KEY(w, "id");
    elaine_jw_cstr(w, t->id);
    ELAINE_JW_KEY(w, "name");
    elaine_jw_cstr(w, t->name);
    ELAINE_JW_KEY(w, "arguments");
    ej_val *v = NULL;
    if (content == ELAINE_CONTENT_NONE || t->arguments.len == 0) {
        elaine_jw_null(w);
    } else if ((v = elaine_json_parse(t->arguments.p, t->arguments.len)) != NULL) {
        if (content == ELAINE_CONTENT_REDACTED) {
            elaine_buf scratch;
            elaine_buf_init(&scratch);
            jw_masked_value(w, &scratch, v);
            elaine_buf_free(&scratch);
        } else {
            elaine_jw_value(w, v);
        }
        elaine_json_free(v);
    } else if (content == ELAINE_CONTENT_REDACTED) {
        jw_masked_once(w, t->arguments.p, t->arguments.len);
    } else {
        elaine_jw_str(w, t->arguments.p, t->arguments.len);
    }
    elaine_jw_obj_end(w);
}

/* ---- fixed parts of the exchange line: pieces of JSON text written
 * straight into the buffer, in one reservation each, where the writer's
 * state is known (after a value in an object, so that a comma is due and
 * is part of the text); the state is then set as the writer would have
 * left it. */

/* Room for n bytes after the end of w's buffer, NULL when out of memory
 * (then the text is not written: the buffer is failed anyway). */
static inline char *fix_begin(elaine_jw *w, size_t n)
{
    return elaine_buf_reserve(w->b, n);
}

static inline void fix_end(elaine_jw *w, char *d0, char *d)
{
    elaine_buf_commit(w->b, (size_t)(d - d0));
}

/* The text ends with a key's colon (after_key) inside an object at depth,
 * every level up to depth with a member written. */
static inline void fix_state(elaine_jw *w, int depth, int after_key)
{
    for (int k = 0; k <= depth; k++)
        w->first[k] = 0;
    w->depth = depth;
    w->after_key = after_key;
}

/* ,"key": and a string or null (s NULL): a literal key with its comma. */
#define FIX_CSTR(w, lit, s)                                                 \
    do {                                                                    \
        const char *s_ = (s);                                               \
        char *d0_ = fix_begin((w), sizeof(",\"" lit "\":null"));            \
        if (d0_) {                                                          \
            char *d_ = PUT(d0_, ",\"" lit "\":");                           \
            if (!s_)                                                        \
                d_ = PUT(d_, "null");                                       \
            fix_end((w), d0_, d_);                                          \
        }                                                                   \
        (w)->after_key = s_ != NULL;                                        \
        if (s_)                                                             \
            elaine_jw_cstr((w), s_);                                        \
    } while (0)

/* ,"key": (the value follows) */
#define FIX_KEY(w, lit)                                                     \
    do {                                                                    \
        char *d0_ = fix_begin((w), sizeof(",\"" lit "\":"));                \
        if (d0_)                                                            \
            fix_end((w), d0_, PUT(d0_, ",\"" lit "\":"));                   \
        (w)->after_key = 1;                                                 \
    } while (0)

/* A token count or null (v < 0), as jw_tokens writes it. */
static inline char *put_tokens(char *d, int64_t v)
{
    if (v < 0)
        return PUT(d, "null");
    return put_i64(d, v);
}

static void write_llm(elaine_jw *w, const elaine_llm *l, enum elaine_content content)
{
    int on = l->provider != NULL;
    elaine_jw_obj_begin(w);
    ELAINE_JW_KEY(w, "provider");
    elaine_jw_cstr(w, on ? l->provider : NULL);
    FIX_CSTR(w, "operation", on ? l->operation : NULL);
    FIX_CSTR(w, "model", on ? l->model : NULL);
    FIX_CSTR(w, "response_model", on ? l->response_model : NULL);
    /* stream, the token counts, finish_reason's key: one piece */
    char *d0 = fix_begin(w, 256);
    if (d0) {
        char *d = PUT(d0, ",\"stream\":");
        if (on && l->stream >= 0)
            d = l->stream ? PUT(d, "true") : PUT(d, "false");
        else
            d = PUT(d, "null");
        d = put_tokens(PUT(d, ",\"input_tokens\":"), on ? l->input_tokens : -1);
        d = put_tokens(PUT(d, ",\"output_tokens\":"), on ? l->output_tokens : -1);
        d = put_tokens(PUT(d, ",\"total_tokens\":"), on ? l->total_tokens : -1);
        d = put_tokens(PUT(d, ",\"cached_input_tokens\":"), on ? l->cached_input_tokens : -1);
        d = put_tokens(PUT(d, ",\"reasoning_tokens\":"), on ? l->reasoning_tokens : -1);
        fix_end(w, d0, d);
    }
    w->after_key = 0;
    FIX_CSTR(w, "finish_reason", on ? l->finish_reason : NULL);
    jw_llm_text(w, KEYLIT("output_text"), on && l->has_output_text ? &l->output_text : NULL, content);
    jw_llm_text(w, KEYLIT("reasoning_text"), on && l->has_reasoning_text ? &l->reasoning_text : NULL,
                content);
    if (on && l->n_tool_calls) {
        FIX_KEY(w, "tool_calls");
        elaine_jw_arr_begin(w);
        for (size_t i = 0; i < l->n_tool_calls; i++)
            jw_tool_call(w, &l->tool_calls[i], content);
        elaine_jw_arr_end(w);
    } else {
        FIX_CSTR(w, "tool_calls", (const char *)NULL);
    }
    FIX_CSTR(w, "error_type", on ? l->error_type : NULL);
    if (on && l->error_message && content == ELAINE_CONTENT_REDACTED) {
        FIX_KEY(w, "error_message");
        jw_masked_once(w, l->error_message, strlen(l->error_message));
    } else {
        FIX_CSTR(w, "error_message", on ? l->error_message : NULL);
    }
    elaine_jw_obj_end(w);
}

/* A timing value as jw_ms writes it: null when negative or NaN. */
static void jw_ms_value(elaine_jw *w, double ms)
{
    if (ms < 0 || isnan(ms))
        elaine_jw_null(w);
    else
        elaine_jw_double(w, round(ms * 1000.0) / 1000.0);
}

void elaine_record_exchange(elaine_buf *out, const elaine_xrec *x, enum elaine_content content)
{
    char host[256];
    uint32_t port;
    elaine_jw w;
    elaine_jw_init(&w, out);
    size_t hostn = record_server(x, host, sizeof(host), &port);

    /* {"type":"exchange","id":..,"ts":..,"pid":..,"tid":..,"exe": : the id
     * and the ts are digits, '-', ':', '.', 'T' and 'Z' (nothing to escape) */
    char *d0 = fix_begin(&w, 256);
    if (d0) {
        char *d = PUT(d0, "{\"type\":\"exchange\",\"id\":\"");
        d = put_u64(d, x->pid);
        *d++ = '-';
        d = put_u64(d, x->start_time);
        *d++ = '-';
        d = put_u64(d, x->conn_id);
        *d++ = '-';
        d = put_u64(d, x->request_no);
        d = put_ts(PUT(d, "\",\"ts\":\""), x->wall_ns);
        d = put_u64(PUT(d, "\",\"pid\":"), x->pid);
        d = put_u64(PUT(d, ",\"tid\":"), x->tid);
        fix_end(&w, d0, PUT(d, ",\"exe\":"));
    }
    fix_state(&w, 1, 1);
    elaine_jw_cstr(&w, x->exe);
    if (host[0]) {
        FIX_KEY(&w, "host");
        elaine_jw_str(&w, host, hostn);
    } else {
        FIX_CSTR(&w, "host", (const char *)NULL);
    }

    int ver = x->req.present ? x->req.version : x->resp.version;
    d0 = fix_begin(&w, 128);
    if (d0) {
        char *d = put_u64(PUT(d0, ",\"port\":"), port);
        d = x->tls ? PUT(d, ",\"tls\":true") : PUT(d, ",\"tls\":false");
        d = PUT(d, ",\"http\":{\"version\":");
        if (ver == 11)
            d = PUT(d, "\"1.1\"");
        else if (ver == 20)
            d = PUT(d, "\"2\"");
        else if (ver == 10)
            d = PUT(d, "\"1.0\"");
        else
            d = PUT(d, "null");
        fix_end(&w, d0, PUT(d, "},\"request\":{\"method\":"));
    }
    fix_state(&w, 2, 1);
    elaine_jw_cstr(&w, x->req.method);
    FIX_KEY(&w, "path");
    if (x->req.target && x->req.target[0] == '/' && !strchr(x->req.target, '?')) {
        /* an origin-form path without a query: elaine_redact_target keeps it as it is */
        if (content == ELAINE_CONTENT_REDACTED)
            jw_masked_once(&w, x->req.target, strlen(x->req.target));
        else
            elaine_jw_cstr(&w, x->req.target);
    } else if (x->req.target) {
        elaine_buf t;
        elaine_buf_init(&t);
        elaine_redact_target(&t, x->req.target);
        if (content == ELAINE_CONTENT_REDACTED)
            jw_masked_once(&w, t.p ? t.p : "", t.len);
        else
            elaine_jw_str(&w, t.p ? t.p : "", t.len);
        elaine_buf_free(&t);
    } else {
        elaine_jw_null(&w);
    }
    if (x->req.present) {
        FIX_KEY(&w, "headers");
        write_headers(&w, &x->req, content);
    } else {
        FIX_CSTR(&w, "headers", (const char *)NULL);
    }
    write_body(&w, &x->req, content);

    d0 = fix_begin(&w, 128);
    if (d0) {
        char *d = PUT(d0, "},\"response\":{\"status\":");
        d = x->resp.present ? put_i64(d, x->resp.status) : PUT(d, "null");
        if (x->resp.present)
            d = PUT(d, ",\"headers\":");
        else
            d = PUT(d, ",\"headers\":null,\"body\":null,\"body_size\":null");
        fix_end(&w, d0, d);
    }
    fix_state(&w, 2, x->resp.present);
    if (x->resp.present) {
        write_headers(&w, &x->resp, content);
        write_body(&w, &x->resp, content);
    }
    d0 = fix_begin(&w, 16);
    if (d0)
        fix_end(&w, d0, PUT(d0, "},\"llm\":"));
    fix_state(&w, 1, 1);
    write_llm(&w, &x->llm, content);

    FIX_KEY(&w, "timing");
    elaine_jw_obj_begin(&w);
    ELAINE_JW_KEY(&w, "ttfb_ms");
    jw_ms_value(&w, x->ttfb_ms);
    FIX_KEY(&w, "ttft_ms");
    jw_ms_value(&w, x->ttft_ms);
    FIX_KEY(&w, "duration_ms");
    jw_ms_value(&w, x->duration_ms);
    elaine_jw_obj_end(&w);

    FIX_CSTR(&w, "error", x->error);
    if (x->stack) {
        FIX_KEY(&w, "stack");
        if (x->stack_json)
            elaine_jw_raw_(&w, x->stack_json, strlen(x->stack_json), 0);
        else
            elaine_jw_cstr_array(&w, x->stack, x->nstack);
    } else {
        FIX_CSTR(&w, "stack", (const char *)NULL);
    }
    elaine_jw_obj_end(&w);
}

/* The opening every non-exchange line shares: {"type":T,"ts":TS (object left open). */
static void line_begin(elaine_jw *w, elaine_buf *out, const char *type, uint64_t wall_ns)
{
    char ts[40];
    elaine_record_ts(ts, sizeof(ts), wall_ns);
    elaine_jw_init(w, out);
    elaine_jw_obj_begin(w);
    ELAINE_JW_KEY(w, "type");
    elaine_jw_cstr(w, type);
    ELAINE_JW_KEY(w, "ts");
    elaine_jw_cstr(w, ts);
}

static void kv_uint(elaine_jw *w, const char *qkey, size_t qn, uint64_t v)
{
    elaine_jw_raw_(w, qkey, qn, 1);
    elaine_jw_uint(w, v);
}

void elaine_record_drop(elaine_buf *out, uint64_t wall_ns, uint32_t pid, uint64_t events,
                        uint64_t bytes)
{
    elaine_jw w;
    line_begin(&w, out, "drop", wall_ns);
    kv_uint(&w, KEYLIT("pid"), pid);
    kv_uint(&w, KEYLIT("dropped_events"), events);
    kv_uint(&w, KEYLIT("dropped_bytes"), bytes);
    elaine_jw_obj_end(&w);
}

void elaine_record_collector(elaine_buf *out, uint64_t wall_ns, const char *event, uint32_t pid,
                             const elaine_counters *c)
{
    elaine_jw w;
    line_begin(&w, out, "collector", wall_ns);
    ELAINE_JW_KEY(&w, "event");
    elaine_jw_cstr(&w, event);
    kv_uint(&w, KEYLIT("pid"), pid);
    ELAINE_JW_KEY(&w, "version");
    ELAINE_JW_LIT(&w, ELAINE_VERSION);
    kv_uint(&w, KEYLIT("exchanges_written"), c->exchanges_written);
    kv_uint(&w, KEYLIT("drops_reported"), c->drops_reported);
    kv_uint(&w, KEYLIT("dropped_events"), c->dropped_events);
    kv_uint(&w, KEYLIT("sampled_out"), c->sampled_out);
    kv_uint(&w, KEYLIT("write_errors"), c->write_errors);
    kv_uint(&w, KEYLIT("clients"), c->clients);
    kv_uint(&w, KEYLIT("clients_rejected"), c->clients_rejected);
    elaine_jw_obj_end(&w);
}
