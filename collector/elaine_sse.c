/* Server-sent events decoder (text/event-stream), push style, per the WHATWG
 * "event stream interpretation" algorithm. */
#include "elaine_sse.h"

#include <stdlib.h>
#include <string.h>

#include "elaine_buf.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define LINE_MAX_BYTES (8u << 20)
#define DATA_MAX_BYTES (64u << 20)

struct elaine_sse {
    elaine_sse_cb cb;
    void *ud;
    elaine_buf line;   /* the line being collected (bytes past the limit dropped) */
    elaine_buf event;  /* event type buffer */
    elaine_buf data;   /* data buffer, each data line followed by LF */
    int after_cr;      /* the last byte was CR: a following LF belongs to it */
    int bom_seen;      /* bytes of the start matched against the BOM (0..3), 4 = done */
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

elaine_sse *elaine_sse_new(elaine_sse_cb cb, void *ud)
{
    elaine_sse *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cb = cb;
    s->ud = ud;
    elaine_buf_init(&s->line);
    elaine_buf_init(&s->event);
    elaine_buf_init(&s->data);
    return s;
}

void elaine_sse_free(elaine_sse *s)
{
    if (!s)
        return;
    elaine_buf_free(&s->line);
    elaine_buf_free(&s->event);
    elaine_buf_free(&s->data);
    free(s);
}

static void dispatch(elaine_sse *s)
{
    if (s->data.len == 0) {
        elaine_buf_reset(&s->event);
        return;
    }
    s->data.len--; /* the trailing LF */
    s->data.p[s->data.len] = 0;
    if (s->cb)
        s->cb(s->ud, s->event.p ? s->event.p : "", s->data.p, s->data.len);
    elaine_buf_reset(&s->data);
    elaine_buf_reset(&s->event);
}

static void process_line(elaine_sse *s, const char *l, size_t n)
{
    if (n == 0) {
        dispatch(s);
        return;
    }
    if (l[0] == ':')
        return; /* comment */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    if (fl == 5 && memcmp(l, "event", 5) == 0) {
        elaine_buf_reset(&s->event);
        elaine_buf_add(&s->event, v, vl);
    } else if (fl == 4 && memcmp(l, "data", 4) == 0) {
        if (s->data.len + vl + 1 > DATA_MAX_BYTES)
            return;
        elaine_buf_add(&s->data, v, vl);
        elaine_buf_addc(&s->data, '\n');
    }
    /* id, retry and unknown fields: ignored */
}

static void end_line(elaine_sse *s)
{
    process_line(s, s->line.p ? s->line.p : "", s->line.len);
    elaine_buf_reset(&s->line);
}

static void add_to_line(elaine_sse *s, const char *p, size_t n)
{
    if (s->line.len >= LINE_MAX_BYTES)
        return;
    if (n > LINE_MAX_BYTES - s->line.len)
        n = LINE_MAX_BYTES - s->line.len;
    elaine_buf_add(&s->line, p, n);
}

/* Index of the first CR or LF in p[0..n), n when none. */
static size_t find_eol(const char *p, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i < n && p[i] != '\n' && p[i] != '\r')
        i++;
    return i;
}

static void feed_lines(elaine_sse *s, const char *p, size_t n)
{
    while (n > 0) {
        if (s->after_cr) {
            s->after_cr = 0;
            if (p[0] == '\n') {
                p++;
                n--;
                continue;
            }
        }
        size_t i = find_eol(p, n);
        if (i == n) {
            add_to_line(s, p, i);
            return;
        }
        if (p[i] == '\r')
            s->after_cr = 1;
        if (s->line.len == 0) {
            /* the whole line is in this slice: straight from it (cut at the limit as add_to_line does) */
            process_line(s, p, i < LINE_MAX_BYTES ? i : LINE_MAX_BYTES);
        } else {
            add_to_line(s, p, i);
            end_line(s);
        }
        p += i + 1;
        n -= i + 1;
    }
}

void elaine_sse_feed(elaine_sse *s, const char *p, size_t n)
{
    /* a leading BOM, possibly split across slices */
    while (s->bom_seen < 3 && n > 0) {
        if ((unsigned char)p[0] == BOM[s->bom_seen]) {
            s->bom_seen++;
            p++;
            n--;
            continue;
        }
        /* not a BOM after all: replay what was held back */
        int held = s->bom_seen;
        s->bom_seen = 4;
        feed_lines(s, (const char *)BOM, (size_t)held);
    }
    if (s->bom_seen == 3 && n > 0)
        s->bom_seen = 4;
    feed_lines(s, p, n);
}

void elaine_sse_finish(elaine_sse *s)
{
    if (s->bom_seen > 0 && s->bom_seen < 3) {
        int held = s->bom_seen;
        s->bom_seen = 4;
        feed_lines(s, (const char *)BOM, (size_t)held);
    }
    if (s->line.len)
        end_line(s);
    dispatch(s);
    s->after_cr = 0;
}
