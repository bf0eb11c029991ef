/* Content decoding of HTTP bodies (Content-Encoding), streaming and bounded. */
#include "elaine_decode.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

typedef enum { K_GZIP, K_DEFLATE } kind_t;

struct elaine_decoder {
    kind_t kind;
    z_stream z;
    int started;        /* inflateInit2 done */
    unsigned char hdr[2]; /* deflate: first bytes held back to tell zlib from raw */
    size_t nhdr;
    int ended;          /* the (last) compressed stream ended */
    int members;        /* gzip: complete members seen */
    int member_out;     /* the current member produced output */
    int ignore_rest;    /* trailing bytes after the stream: ignored */
    int fed;            /* any input at all (an empty body is a clean one) */
    int corrupt;
    int truncated;
};

/* The coding named by a Content-Encoding value: trimmed, case-insensitive.
 * 0 identity/absent, 1 gzip, 2 deflate, -1 unsupported. */
static int coding(const char *ce)
{
    if (!ce)
        return 0;
    while (*ce == ' ' || *ce == '\t')
        ce++;
    size_t l = strlen(ce);
    while (l && (ce[l - 1] == ' ' || ce[l - 1] == '\t'))
        l--;
    if (l == 0 || (l == 8 && strncasecmp(ce, "identity", 8) == 0))
        return 0;
    if ((l == 4 && strncasecmp(ce, "gzip", 4) == 0) || (l == 6 && strncasecmp(ce, "x-gzip", 6) == 0))
        return 1;
    if (l == 7 && strncasecmp(ce, "deflate", 7) == 0)
        return 2;
    return -1;
}

int elaine_decode_supported(const char *content_encoding)
{
    return coding(content_encoding) >= 0;
}

elaine_decoder *elaine_decoder_new(const char *content_encoding)
{
    int c = coding(content_encoding);
    if (c <= 0)
        return NULL;
    elaine_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->kind = c == 1 ? K_GZIP : K_DEFLATE;
    if (d->kind == K_GZIP) {
        if (inflateInit2(&d->z, 15 + 16) != Z_OK) {
            free(d);
            return NULL;
        }
        d->started = 1;
    }
    return d;
}

void elaine_decoder_free(elaine_decoder *d)
{
    if (!d)
        return;
    if (d->started)
        inflateEnd(&d->z);
    free(d);
}

static void emit(elaine_decoder *d, const unsigned char *p, size_t n, elaine_buf *out, size_t max_out)
{
    size_t room = out->len < max_out ? max_out - out->len : 0;
    if (n > room) {
        d->truncated = 1;
        n = room;
    }
    if (n)
        elaine_buf_add(out, p, n);
}

/* Inflates one slice of input (all of it, output chunk by chunk). */
static int run(elaine_decoder *d, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out)
{
    unsigned char tmp[16384];
    while (n > 0 && !d->ignore_rest) {
        if (d->ended) {
            /* bytes after the end: another gzip member, or trailing garbage */
            if (d->kind != K_GZIP) {
                d->ignore_rest = 1;
                break;
            }
            if (inflateReset(&d->z) != Z_OK)
                return -1;
            d->ended = 0;
            d->member_out = 0;
        }
        uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
        d->z.next_in = (Bytef *)in;
        d->z.avail_in = take;
        int r;
        do {
            d->z.next_out = tmp;
            d->z.avail_out = sizeof(tmp);
            r = inflate(&d->z, Z_NO_FLUSH);
            size_t got = sizeof(tmp) - d->z.avail_out;
            if (got)
                d->member_out = 1;
            emit(d, tmp, got, out, max_out);
        } while (r == Z_OK && (d->z.avail_in > 0 || d->z.avail_out == 0));
        size_t used = take - d->z.avail_in;
        in += used;
        n -= used;
        if (r == Z_STREAM_END) {
            d->ended = 1;
            d->members++;
            continue;
        }
        if (r == Z_OK || r == Z_BUF_ERROR) {
            if (d->z.avail_in == 0)
                continue;
            return -1; /* no progress with input left: should not happen */
        }
        /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR */
        if (d->kind == K_GZIP && d->members > 0 && !d->member_out) {
            d->ignore_rest = 1; /* garbage (e.g. zero padding) after a complete member */
            d->ended = 1;
            break;
        }
        return -1;
    }
    return 0;
}

static int start_deflate(elaine_decoder *d)
{
    /* RFC 9110 "deflate" is zlib-wrapped, but servers send raw deflate too:
     * a zlib header is CM=8, CINFO<=7 and a multiple of 31 as a 16-bit number. */
    int zlib_wrapped = (d->hdr[0] & 0x0F) == 8 && (d->hdr[0] >> 4) <= 7 &&
                       ((d->hdr[0] << 8) | d->hdr[1]) % 31 == 0;
    if (inflateInit2(&d->z, zlib_wrapped ? 15 : -15) != Z_OK)
        return -1;
    d->started = 1;
    return 0;
}

int elaine_decoder_feed(elaine_decoder *d, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out)
{
    if (d->corrupt)
        return -1;
    if (n)
        d->fed = 1;
    if (!d->started) {
        while (d->nhdr < 2 && n > 0) {
            d->hdr[d->nhdr++] = *in++;
            n--;
        }
        if (d->nhdr < 2)
            return d->truncated;
        if (start_deflate(d) < 0 || run(d, d->hdr, 2, out, max_out) < 0) {
            d->corrupt = 1;
            return -1;
        }
    }
    if (run(d, in, n, out, max_out) < 0) {
        d->corrupt = 1;
        return -1;
    }
    return d->truncated;
}

int elaine_decoder_finish(elaine_decoder *d)
{
    if (d->corrupt)
        return -1;
    if (!d->started) {
        /* fewer than two bytes of deflate: only an empty body is clean */
        if (d->nhdr == 0)
            return 0;
        if (start_deflate(d) < 0)
            return -1;
        elaine_buf sink;
        elaine_buf_init(&sink);
        int r = run(d, d->hdr, d->nhdr, &sink, 0);
        elaine_buf_free(&sink);
        if (r < 0)
            return -1;
    }
    return d->ended || !d->fed ? 0 : -1;
}
