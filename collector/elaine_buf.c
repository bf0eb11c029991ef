/* A growable byte buffer, always NUL-terminated, with a sticky out-of-memory flag. */
#include "elaine_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void elaine_buf_free(elaine_buf *b)
{
    if (b->p)
        free(b->p);
    elaine_buf_init(b);
}

int elaine_buf_grow(elaine_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra < b->cap - b->len) /* len + extra + 1 <= cap (cap > len once allocated) */
        return 0;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > (size_t)-1 / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

void elaine_buf_adds(elaine_buf *b, const char *s)
{
    elaine_buf_add(b, s, strlen(s));
}

void elaine_buf_addf(elaine_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        elaine_buf_add(b, small, (size_t)n);
        return;
    }
    if (elaine_buf_grow(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *elaine_buf_take(elaine_buf *b)
{
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    elaine_buf_init(b);
    return p;
}
