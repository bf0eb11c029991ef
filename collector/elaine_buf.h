/* A growable byte buffer, always NUL-terminated, with a sticky out-of-memory flag. */
#ifndef ELAINE_BUF_H
#define ELAINE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct elaine_buf {
    char *p;     /* NULL until the first append; p[len] == 0 afterwards */
    size_t len;
    size_t cap;
    int oom;     /* set when an append failed; later appends are ignored */
} elaine_buf;

static inline void elaine_buf_init(elaine_buf *b);
void elaine_buf_free(elaine_buf *b);               /* frees p, back to init state */
static inline void elaine_buf_reset(elaine_buf *b); /* len = 0, keeps memory */
/* Makes room for extra more bytes (and the NUL): 0, or -1 when out of memory
 * (oom set). The inline appends below call it only when the room is short. */
int elaine_buf_grow(elaine_buf *b, size_t extra);
static inline void elaine_buf_add(elaine_buf *b, const void *data, size_t n);
void elaine_buf_adds(elaine_buf *b, const char *s); /* strlen(s) bytes */
static inline void elaine_buf_addc(elaine_buf *b, char c);
/* For writers that store bytes themselves: a pointer to room for n bytes
 * after the end (NULL when out of memory), then _commit(k <= n) appends the
 * k bytes written there. */
static inline char *elaine_buf_reserve(elaine_buf *b, size_t n);
static inline void elaine_buf_commit(elaine_buf *b, size_t k);
void elaine_buf_addf(elaine_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the memory out (caller frees; never NULL, "" when empty); b is re-initialised. */
char *elaine_buf_take(elaine_buf *b);

/* ---- inline fast paths ---- */

static inline void elaine_buf_init(elaine_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

static inline void elaine_buf_reset(elaine_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static inline char *elaine_buf_reserve(elaine_buf *b, size_t n)
{
    if (__builtin_expect(b->cap - b->len <= n || b->oom, 0)) {
        if (elaine_buf_grow(b, n) < 0)
            return NULL;
    }
    return b->p + b->len;
}

static inline void elaine_buf_commit(elaine_buf *b, size_t k)
{
    b->len += k;
    b->p[b->len] = 0;
}

static inline void elaine_buf_add(elaine_buf *b, const void *data, size_t n)
{
    char *d = elaine_buf_reserve(b, n);
    if (!d)
        return;
    if (n)
        __builtin_memcpy(d, data, n);
    elaine_buf_commit(b, n);
}

static inline void elaine_buf_addc(elaine_buf *b, char c)
{
    char *d = elaine_buf_reserve(b, 1);
    if (!d)
        return;
    d[0] = c;
    elaine_buf_commit(b, 1);
}

#endif
