/* Server-sent events decoder (text/event-stream), push style. */
#ifndef ELAINE_SSE_H
#define ELAINE_SSE_H

#include <stddef.h>

/* One dispatched event: event type ("" when none was given; "message" is not
 * substituted) and data (the data: lines joined by "\n"). Both are
 * NUL-terminated and valid only during the call. */
typedef void (*elaine_sse_cb)(void *ud, const char *event, const char *data, size_t data_len);

typedef struct elaine_sse elaine_sse;

elaine_sse *elaine_sse_new(elaine_sse_cb cb, void *ud); /* NULL on ENOMEM */
void elaine_sse_free(elaine_sse *s);
/* Any slicing; LF, CRLF and CR line ends; comments (":...") and id/retry
 * fields ignored; a leading UTF-8 BOM skipped. Lines are limited to 8 MiB. */
void elaine_sse_feed(elaine_sse *s, const char *p, size_t n);
/* End of stream: an event whose blank line never came is dispatched too (we
 * record what was seen). */
void elaine_sse_finish(elaine_sse *s);

#endif
