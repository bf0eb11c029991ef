/* JSON: a small DOM parser that keeps numbers as their source text, and a writer. */
#include "elaine_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EJ_MAX_DEPTH 512

typedef struct ej_member {
    char *key; /* NUL-terminated; may hold \0 when escaped, see klen */
    size_t klen;
    ej_val *val;
} ej_member;

struct ej_val {
    ej_type type;
    size_t len; /* string bytes, array/object members */
    union {
        int b;
        char *s;         /* EJ_STR: decoded text; EJ_NUM: source text */
        ej_val **items;  /* EJ_ARR */
        ej_member *mems; /* EJ_OBJ */
    } u;
};

/* ---------------------------------------------------------------- parser */

typedef struct ej_parser {
    const unsigned char *s;
    size_t n;
    size_t i;
} ej_parser;

static void skip_ws(ej_parser *p)
{
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static ej_val *new_val(ej_type t)
{
    ej_val *v = calloc(1, sizeof(*v));
    if (v)
        v->type = t;
    return v;
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

/* Parses a string at p->i (on the opening quote) into out; 0 or -1. */
static int parse_string(ej_parser *p, elaine_buf *out)
{
    p->i++; /* opening quote */
    for (;;) {
        /* copy a run of plain bytes at once */
        size_t start = p->i;
        while (p->i < p->n) {
            unsigned char c = p->s[p->i];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            if (c < 0x80) {
                p->i++;
                continue;
            }
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
        case '/': elaine_buf_addc(out, '/'); break;
        case 'b': elaine_buf_addc(out, '\b'); break;
        case 'f': elaine_buf_addc(out, '\f'); break;
        case 'n': elaine_buf_addc(out, '\n'); break;
        case 'r': elaine_buf_addc(out, '\r'); break;
        case 't': elaine_buf_addc(out, '\t'); break;
        case 'u': {
            unsigned cp;
            if (read_hex4(p, &cp) < 0)
                return -1;
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

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static ej_val *parse_number(ej_parser *p)
{
    size_t start = p->i;
    const unsigned char *s = p->s;
    size_t n = p->n;
    if (p->i < n && s[p->i] == '-')
        p->i++;
    if (p->i >= n)
        return NULL;
    if (s[p->i] == '0') {
        p->i++;
    } else if (s[p->i] >= '1' && s[p->i] <= '9') {
        while (p->i < n && is_digit(s[p->i]))
            p->i++;
    } else {
        return NULL;
    }
    if (p->i < n && s[p->i] == '.') {
        p->i++;
        if (p->i >= n || !is_digit(s[p->i]))
            return NULL;
        while (p->i < n && is_digit(s[p->i]))
            p->i++;
    }
    if (p->i < n && (s[p->i] == 'e' || s[p->i] == 'E')) {
        p->i++;
        if (p->i < n && (s[p->i] == '+' || s[p->i] == '-'))
            p->i++;
        if (p->i >= n || !is_digit(s[p->i]))
            return NULL;
        while (p->i < n && is_digit(s[p->i]))
            p->i++;
    }
    ej_val *v = new_val(EJ_NUM);
    if (!v)
        return NULL;
    v->len = p->i - start;
    v->u.s = strndup((const char *)s + start, v->len);
    if (!v->u.s) {
        free(v);
        return NULL;
    }
    return v;
}

static int match_lit(ej_parser *p, const char *lit)
{
    size_t l = strlen(lit);
    if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0)
        return -1;
    p->i += l;
    return 0;
}

static ej_val *parse_value(ej_parser *p, int depth);

static ej_val *parse_array(ej_parser *p, int depth)
{
    ej_val *v = new_val(EJ_ARR);
    size_t cap = 0;
    if (!v)
        return NULL;
    p->i++; /* [ */
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        return v;
    }
    for (;;) {
        ej_val *item = parse_value(p, depth + 1);
        if (!item)
            goto fail;
        if (v->len == cap) {
            size_t nc = cap ? cap * 2 : 4;
            ej_val **ni = realloc(v->u.items, nc * sizeof(*ni));
            if (!ni) {
                elaine_json_free(item);
                goto fail;
            }
            v->u.items = ni;
            cap = nc;
        }
        v->u.items[v->len++] = item;
        skip_ws(p);
        if (p->i >= p->n)
            goto fail;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == ']') {
            p->i++;
            return v;
        }
        goto fail;
    }
fail:
    elaine_json_free(v);
    return NULL;
}

static ej_val *parse_object(ej_parser *p, int depth)
{
    ej_val *v = new_val(EJ_OBJ);
    size_t cap = 0;
    elaine_buf key;
    elaine_buf_init(&key);
    if (!v)
        return NULL;
    p->i++; /* { */
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        return v;
    }
    for (;;) {
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != '"')
            goto fail;
        elaine_buf_reset(&key);
        if (parse_string(p, &key) < 0)
            goto fail;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
            goto fail;
        p->i++;
        ej_val *item = parse_value(p, depth + 1);
        if (!item)
            goto fail;
        if (v->len == cap) {
            size_t nc = cap ? cap * 2 : 4;
            ej_member *nm = realloc(v->u.mems, nc * sizeof(*nm));
            if (!nm) {
                elaine_json_free(item);
                goto fail;
            }
            v->u.mems = nm;
            cap = nc;
        }
        ej_member *m = &v->u.mems[v->len];
        m->klen = key.len;
        m->key = malloc(key.len + 1);
        if (!m->key) {
            elaine_json_free(item);
            goto fail;
        }
        if (key.len)
            memcpy(m->key, key.p, key.len);
        m->key[key.len] = 0;
        m->val = item;
        v->len++;
        skip_ws(p);
        if (p->i >= p->n)
            goto fail;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == '}') {
            p->i++;
            elaine_buf_free(&key);
            return v;
        }
        goto fail;
    }
fail:
    elaine_buf_free(&key);
    elaine_json_free(v);
    return NULL;
}

static ej_val *parse_value(ej_parser *p, int depth)
{
    ej_val *v;
    skip_ws(p);
    if (p->i >= p->n)
        return NULL;
    switch (p->s[p->i]) {
    case '{':
        if (depth >= EJ_MAX_DEPTH)
            return NULL;
        return parse_object(p, depth);
    case '[':
        if (depth >= EJ_MAX_DEPTH)
            return NULL;
        return parse_array(p, depth);
    case '"': {
        elaine_buf b;
        elaine_buf_init(&b);
        if (parse_string(p, &b) < 0) {
            elaine_buf_free(&b);
            return NULL;
        }
        v = new_val(EJ_STR);
        if (!v) {
            elaine_buf_free(&b);
            return NULL;
        }
        v->len = b.len;
        v->u.s = elaine_buf_take(&b);
        if (!v->u.s) {
            free(v);
            return NULL;
        }
        return v;
    }
    case 't':
    case 'f': {
        int t = p->s[p->i] == 't';
        if (match_lit(p, t ? "true" : "false") < 0)
            return NULL;
        v = new_val(EJ_BOOL);
        if (v)
            v->u.b = t;
        return v;
    }
    case 'n':
        if (match_lit(p, "null") < 0)
            return NULL;
        return new_val(EJ_NULL);
    default:
        return parse_number(p);
    }
}

ej_val *elaine_json_parse(const char *s, size_t n)
{
    if (!s)
        return NULL;
    ej_parser p = {(const unsigned char *)s, n, 0};
    ej_val *v = parse_value(&p, 0);
    if (!v)
        return NULL;
    skip_ws(&p);
    if (p.i != p.n) {
        elaine_json_free(v);
        return NULL;
    }
    return v;
}

void elaine_json_free(ej_val *v)
{
    if (!v)
        return;
    switch (v->type) {
    case EJ_STR:
    case EJ_NUM:
        free(v->u.s);
        break;
    case EJ_ARR:
        for (size_t i = 0; i < v->len; i++)
            elaine_json_free(v->u.items[i]);
        free(v->u.items);
        break;
    case EJ_OBJ:
        for (size_t i = 0; i < v->len; i++) {
            free(v->u.mems[i].key);
            elaine_json_free(v->u.mems[i].val);
        }
        free(v->u.mems);
        break;
    default:
        break;
    }
    free(v);
}

/* ---------------------------------------------------------------- access */

ej_type elaine_json_type(const ej_val *v)
{
    return v->type;
}

const ej_val *elaine_json_get(const ej_val *v, const char *key)
{
    if (!v || v->type != EJ_OBJ || !key)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->len; i++) {
        const ej_member *m = &v->u.mems[i];
        if (m->klen == kl && memcmp(m->key, key, kl) == 0)
            return m->val;
    }
    return NULL;
}

const ej_val *elaine_json_path(const ej_val *v, const char *path)
{
    char key[256];
    if (!path)
        return NULL;
    while (v) {
        const char *dot = strchr(path, '.');
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof(key))
            return NULL;
        memcpy(key, path, l);
        key[l] = 0;
        v = elaine_json_get(v, key);
        if (!dot)
            return v;
        path = dot + 1;
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
        return v->u.items[i];
    if (v->type == EJ_OBJ)
        return v->u.mems[i].val;
    return NULL;
}

const char *elaine_json_key_at(const ej_val *v, size_t i)
{
    if (!v || v->type != EJ_OBJ || i >= v->len)
        return NULL;
    return v->u.mems[i].key;
}

const char *elaine_json_str(const ej_val *v)
{
    return v && v->type == EJ_STR ? v->u.s : NULL;
}

int elaine_json_int(const ej_val *v, int64_t *out)
{
    if (!v || v->type != EJ_NUM)
        return -1;
    if (strpbrk(v->u.s, ".eE"))
        return -1;
    errno = 0;
    char *end;
    long long x = strtoll(v->u.s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (int64_t)x;
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

/* Places a comma before a value or key when one is due. Deeper than the
 * first[] table, the last byte written tells (it is ours inside a container). */
static void sep(elaine_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth < (int)sizeof(w->first)) {
        if (w->depth > 0 && !w->first[w->depth])
            elaine_buf_addc(w->b, ',');
        w->first[w->depth] = 0;
        return;
    }
    char last = w->b->len ? w->b->p[w->b->len - 1] : 0;
    if (last != '{' && last != '[' && last != ':')
        elaine_buf_addc(w->b, ',');
}

static void open_c(elaine_jw *w, char c)
{
    sep(w);
    elaine_buf_addc(w->b, c);
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

static void put_str(elaine_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    elaine_buf_addc(b, '"');
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t bad = 1;
        size_t k = c >= 0x80 ? utf8_seq2(u + i, n - i, &bad) : 0;
        if (k) {
            i += k;
            continue;
        }
        elaine_buf_add(b, u + run, i - run);
        if (c >= 0x80) {
            size_t adv = bad;
            elaine_buf_add(b, "\xEF\xBF\xBD", 3);
            i += adv;
        } else {
            char e[7] = {'\\', 0, 0, 0, 0, 0, 0};
            size_t el = 2;
            switch (c) {
            case '"': e[1] = '"'; break;
            case '\\': e[1] = '\\'; break;
            case '\b': e[1] = 'b'; break;
            case '\f': e[1] = 'f'; break;
            case '\n': e[1] = 'n'; break;
            case '\r': e[1] = 'r'; break;
            case '\t': e[1] = 't'; break;
            default:
                e[1] = 'u';
                e[2] = '0';
                e[3] = '0';
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                el = 6;
            }
            elaine_buf_add(b, e, el);
            i++;
        }
        run = i;
    }
    elaine_buf_add(b, u + run, n - run);
    elaine_buf_addc(b, '"');
}

void elaine_jw_key(elaine_jw *w, const char *key)
{
    sep(w);
    put_str(w->b, key ? key : "", key ? strlen(key) : 0);
    elaine_buf_addc(w->b, ':');
    w->after_key = 1;
}

static void key_n(elaine_jw *w, const char *key, size_t n)
{
    sep(w);
    put_str(w->b, key, n);
    elaine_buf_addc(w->b, ':');
    w->after_key = 1;
}

void elaine_jw_str(elaine_jw *w, const char *s, size_t n)
{
    sep(w);
    put_str(w->b, s ? s : "", s ? n : 0);
}

void elaine_jw_cstr(elaine_jw *w, const char *s)
{
    if (!s) {
        elaine_jw_null(w);
        return;
    }
    elaine_jw_str(w, s, strlen(s));
}

void elaine_jw_int(elaine_jw *w, int64_t v)
{
    sep(w);
    elaine_buf_addf(w->b, "%lld", (long long)v);
}

void elaine_jw_uint(elaine_jw *w, uint64_t v)
{
    sep(w);
    elaine_buf_addf(w->b, "%llu", (unsigned long long)v);
}

void elaine_jw_double(elaine_jw *w, double v)
{
    if (!isfinite(v)) {
        elaine_jw_null(w);
        return;
    }
    char tmp[40];
    static const int prec[] = {15, 16, 17};
    for (size_t k = 0; k < 3; k++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec[k], v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    sep(w);
    elaine_buf_adds(w->b, tmp);
}

void elaine_jw_bool(elaine_jw *w, int v)
{
    sep(w);
    elaine_buf_adds(w->b, v ? "true" : "false");
}

void elaine_jw_null(elaine_jw *w)
{
    sep(w);
    elaine_buf_adds(w->b, "null");
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
        sep(w);
        elaine_buf_add(w->b, v->u.s, v->len);
        break;
    case EJ_STR:
        elaine_jw_str(w, v->u.s, v->len);
        break;
    case EJ_ARR:
        if (jw_too_deep(w, v))
            break;
        elaine_jw_arr_begin(w);
        for (size_t i = 0; i < v->len; i++)
            elaine_jw_value(w, v->u.items[i]);
        elaine_jw_arr_end(w);
        break;
    case EJ_OBJ:
        if (jw_too_deep(w, v))
            break;
        elaine_jw_obj_begin(w);
        for (size_t i = 0; i < v->len; i++) {
            key_n(w, v->u.mems[i].key, v->u.mems[i].klen);
            elaine_jw_value(w, v->u.mems[i].val);
        }
        elaine_jw_obj_end(w);
        break;
    }
}
