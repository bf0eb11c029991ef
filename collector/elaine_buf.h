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

void elaine_buf_init(elaine_buf *b);
void elaine_buf_free(elaine_buf *b);               /* frees p, back to init state */
void elaine_buf_reset(elaine_buf *b);              /* len = 0, keeps memory */
void elaine_buf_add(elaine_buf *b, const void *data, size_t n);
void elaine_buf_adds(elaine_buf *b, const char *s); /* strlen(s) bytes */
void elaine_buf_addc(elaine_buf *b, char c);
void elaine_buf_addf(elaine_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the memory out (caller frees; never NULL, "" when empty); b is re-initialised. */
char *elaine_buf_take(elaine_buf *b);

#endif
