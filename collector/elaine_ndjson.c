/* Newline-delimited JSON decoder (application/x-ndjson, Ollama streams), push style. */
#include "elaine_ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "elaine_buf.h"

#define DEFAULT_MAX_LINE (8u << 20)

struct elaine_ndjson {
    elaine_ndjson_cb cb;
    void *ud;
    size_t max_line;
    elaine_buf line; /* the line being collected */
    int too_long;    /* the current line passed max_line: drop it at its end */
    size_t dropped;
};

elaine_ndjson *elaine_ndjson_new(size_t max_line, elaine_ndjson_cb cb, void *ud)
{
    elaine_ndjson *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cb = cb;
    d->ud = ud;
    d->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    elaine_buf_init(&d->line);
    return d;
}

void elaine_ndjson_free(elaine_ndjson *d)
{
    if (!d)
        return;
    elaine_buf_free(&d->line);
    free(d);
}

static void end_line(elaine_ndjson *d)
{
    size_t n = d->line.len;
    if (d->too_long) {
        d->dropped++;
    } else {
        while (n && d->line.p[n - 1] == '\r') /* CRLF */
            n--;
        size_t i = 0;
        while (i < n && (d->line.p[i] == ' ' || d->line.p[i] == '\t' || d->line.p[i] == '\r'))
            i++;
        if (i < n && d->cb && !d->line.oom) {
            d->line.p[n] = 0;
            d->cb(d->ud, d->line.p, n);
        }
    }
    d->too_long = 0;
    elaine_buf_reset(&d->line);
    if (d->line.cap > (1u << 20)) /* do not keep a long line's memory for the whole stream */
        elaine_buf_free(&d->line);
}

static void add(elaine_ndjson *d, const char *p, size_t n)
{
    if (d->too_long || n == 0)
        return;
    if (n > d->max_line - d->line.len) {
        d->too_long = 1;
        elaine_buf_free(&d->line);
        return;
    }
    elaine_buf_add(&d->line, p, n);
}

void elaine_ndjson_feed(elaine_ndjson *d, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        add(d, p, k);
        if (!nl)
            return;
        end_line(d);
        p += k + 1;
        n -= k + 1;
    }
}

void elaine_ndjson_finish(elaine_ndjson *d)
{
    if (d->line.len || d->too_long)
        end_line(d);
}

size_t elaine_ndjson_dropped(const elaine_ndjson *d)
{
    return d->dropped;
}
