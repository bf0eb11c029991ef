/* Content decoding of HTTP bodies (Content-Encoding), streaming and bounded. */
#ifndef ELAINE_DECODE_H
#define ELAINE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"

typedef struct elaine_decoder elaine_decoder;

/* Codings: gzip (x-gzip; multi-member), deflate (zlib-wrapped or raw), br,
 * zstd (several frames; windows up to 8 MB as RFC 9659 allows), identity.
 * A list ("gzip, br", the order they were applied in) is decoded right to
 * left; up to 4 codings besides identity.
 *
 * Memory is bounded whatever the input: besides what goes into out (at most
 * max_out), a decoder holds its codecs' windows (zlib 32 KiB, zstd at most
 * 8 MiB, brotli at most 16 MiB per coding) and 16 KiB of stack per coding
 * while feeding. */

/* 1 when the Content-Encoding value (e.g. "gzip", "br", "gzip, zstd",
 * "identity", NULL) can be decoded by elaine_decoder_new, 0 otherwise. */
int elaine_decode_supported(const char *content_encoding);
/* NULL for identity/absent (no decoding needed) or unsupported codings, or ENOMEM. */
elaine_decoder *elaine_decoder_new(const char *content_encoding);
void elaine_decoder_free(elaine_decoder *d);
/* Appends decoded bytes to out, never letting out->len exceed max_out
 * (beyond it, output is still decoded, to follow the stream to its end, but
 * discarded, and 1 is returned from then on: truncated).
 * 0 ok, 1 truncated, -1 corrupt input (sticky). */
int elaine_decoder_feed(elaine_decoder *d, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out);
/* 0 when the compressed stream ended cleanly (every coding of a list), or
 * nothing was fed; -1 when it was cut short or corrupt. Bytes after the end
 * of a deflate or br stream, and garbage after a complete gzip member or
 * zstd frame, are ignored. */
int elaine_decoder_finish(elaine_decoder *d);

#endif
