/* Content decoding of HTTP bodies (Content-Encoding), streaming and bounded. */
#ifndef ELAINE_DECODE_H
#define ELAINE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"

typedef struct elaine_decoder elaine_decoder;

/* 1 when the Content-Encoding value (e.g. "gzip", "deflate", "x-gzip",
 * "identity", NULL) can be decoded by elaine_decoder_new, 0 otherwise. */
int elaine_decode_supported(const char *content_encoding);
/* NULL for identity/absent (no decoding needed) or unsupported codings, or ENOMEM. */
elaine_decoder *elaine_decoder_new(const char *content_encoding);
void elaine_decoder_free(elaine_decoder *d);
/* Appends decoded bytes to out, never letting out->len exceed max_out
 * (beyond it, output is discarded and 1 is returned: truncated).
 * 0 ok, 1 truncated, -1 corrupt input (sticky). */
int elaine_decoder_feed(elaine_decoder *d, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out);
/* 0 when the compressed stream ended cleanly, -1 when it was cut short. */
int elaine_decoder_finish(elaine_decoder *d);

#endif
