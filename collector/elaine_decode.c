/* Content decoding of HTTP bodies (Content-Encoding), streaming and bounded. */
#include "elaine_decode.h"

#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define MAX_CODINGS 4
#define CHUNK 16384 /* output produced per step, per stage (on the stack) */
/* RFC 9659: a zstd-encoded HTTP body needs a window of at most 8 MB; larger
 * frames are refused rather than letting a server make us allocate 128 MB. */
#define ZSTD_WINDOW_LOG_MAX 23

typedef enum { K_GZIP, K_DEFLATE, K_BR, K_ZSTD } kind_t;

/* One content coding: a stage of the decoding pipeline. */
typedef struct stage {
    kind_t kind;
    z_stream z;
    int started;          /* gzip/deflate: inflateInit2 done */
    unsigned char hdr[2]; /* deflate: first bytes held back to tell zlib from raw */
    size_t nhdr;
    BrotliDecoderState *br;
    ZSTD_DStream *zs;
    int ended;       /* the (last) compressed stream, member or frame ended */
    int members;     /* complete gzip members / zstd frames / brotli streams seen */
    int member_out;  /* the current member produced output */
    int ignore_rest; /* trailing bytes after the stream: ignored */
    int fed;         /* any input at all (an empty body is a clean one) */
    int in_frame;    /* zstd: a frame's magic number was taken */
    unsigned char magic[4]; /* zstd: the next frame's magic number, as it comes */
    size_t nmagic;
} stage;

struct elaine_decoder {
    size_t n;
    stage st[MAX_CODINGS]; /* in decoding order: the coding applied last comes first */
    int corrupt;
    int truncated;
};

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* One coding name (trimmed, case-insensitive): its kind, 0 for identity, -1 unknown. */
static int coding_kind(const char *s, size_t l, kind_t *k)
{
    if (l == 8 && strncasecmp(s, "identity", 8) == 0)
        return 0;
    if ((l == 4 && strncasecmp(s, "gzip", 4) == 0) || (l == 6 && strncasecmp(s, "x-gzip", 6) == 0))
        *k = K_GZIP;
    else if (l == 7 && strncasecmp(s, "deflate", 7) == 0)
        *k = K_DEFLATE;
    else if (l == 2 && strncasecmp(s, "br", 2) == 0)
        *k = K_BR;
    else if (l == 4 && strncasecmp(s, "zstd", 4) == 0)
        *k = K_ZSTD;
    else
        return -1;
    return 1;
}

/* The codings of a Content-Encoding list ("gzip, br") in decoding order:
 * the sender applied them left to right, so they are undone right to left.
 * Empty elements and "identity" are skipped. Returns how many (0: nothing
 * to decode), -1 when one is unknown or there are more than MAX_CODINGS. */
static int parse_codings(const char *ce, kind_t out[MAX_CODINGS])
{
    kind_t list[MAX_CODINGS];
    int n = 0;
    if (!ce)
        return 0;
    for (const char *p = ce;;) {
        size_t l = strcspn(p, ",");
        const char *t = p;
        size_t tl = l;
        while (tl && is_ows(*t)) {
            t++;
            tl--;
        }
        while (tl && is_ows(t[tl - 1]))
            tl--;
        if (tl) {
            kind_t k;
            int r = coding_kind(t, tl, &k);
            if (r < 0 || (r > 0 && n == MAX_CODINGS))
                return -1;
            if (r > 0)
                list[n++] = k;
        }
        if (!p[l])
            break;
        p += l + 1;
    }
    for (int i = 0; i < n; i++)
        out[i] = list[n - 1 - i];
    return n;
}

int elaine_decode_supported(const char *content_encoding)
{
    kind_t k[MAX_CODINGS];
    return parse_codings(content_encoding, k) >= 0;
}

static void stage_free(stage *s)
{
    if (s->started)
        inflateEnd(&s->z);
    if (s->br)
        BrotliDecoderDestroyInstance(s->br);
    if (s->zs)
        ZSTD_freeDStream(s->zs);
}

static int stage_init(stage *s, kind_t kind)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    switch (kind) {
    case K_GZIP:
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            return -1;
        s->started = 1;
        return 0;
    case K_DEFLATE:
        return 0; /* started once two bytes tell zlib from raw */
    case K_BR:
        s->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        return s->br ? 0 : -1;
    case K_ZSTD:
        s->zs = ZSTD_createDStream();
        if (!s->zs || ZSTD_isError(ZSTD_DCtx_setParameter(s->zs, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
            return -1;
        return 0;
    }
    return -1;
}

elaine_decoder *elaine_decoder_new(const char *content_encoding)
{
    kind_t k[MAX_CODINGS];
    int n = parse_codings(content_encoding, k);
    if (n <= 0)
        return NULL;
    elaine_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    for (int i = 0; i < n; i++) {
        d->n = (size_t)i + 1;
        if (stage_init(&d->st[i], k[i]) < 0) {
            elaine_decoder_free(d);
            return NULL;
        }
    }
    return d;
}

void elaine_decoder_free(elaine_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        stage_free(&d->st[i]);
    free(d);
}

/* ---- the pipeline: stage i's output is stage i+1's input; after the last, out ---- */

static int push(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out);

static void emit(elaine_decoder *d, const uint8_t *p, size_t n, elaine_buf *out, size_t max_out)
{
    size_t room = out->len < max_out ? max_out - out->len : 0;
    if (n > room) {
        d->truncated = 1; /* the rest is decoded (to see the stream end) and discarded */
        n = room;
    }
    if (n)
        elaine_buf_add(out, p, n);
}

/* Passes one stage's output on; -1 when a later stage found it corrupt. */
static int pass(elaine_decoder *d, size_t i, stage *s, const uint8_t *p, size_t n, elaine_buf *out,
                size_t max_out)
{
    if (!n)
        return 0;
    s->member_out = 1;
    return push(d, i + 1, p, n, out, max_out);
}

/* gzip and deflate: inflates one slice of input (all of it, output chunk by chunk). */
static int run_zlib(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out,
                    size_t max_out)
{
    stage *s = &d->st[i];
    uint8_t tmp[CHUNK];
    while (n > 0 && !s->ignore_rest) {
        if (s->ended) {
            /* bytes after the end: another gzip member, or trailing garbage */
            if (s->kind != K_GZIP) {
                s->ignore_rest = 1;
                break;
            }
            if (inflateReset(&s->z) != Z_OK)
                return -1;
            s->ended = 0;
            s->member_out = 0;
        }
        uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
        s->z.next_in = (Bytef *)in;
        s->z.avail_in = take;
        int r;
        do {
            s->z.next_out = tmp;
            s->z.avail_out = sizeof(tmp);
            r = inflate(&s->z, Z_NO_FLUSH);
            if (pass(d, i, s, tmp, sizeof(tmp) - s->z.avail_out, out, max_out) < 0)
                return -1;
        } while (r == Z_OK && (s->z.avail_in > 0 || s->z.avail_out == 0));
        size_t used = take - s->z.avail_in;
        in += used;
        n -= used;
        if (r == Z_STREAM_END) {
            s->ended = 1;
            s->members++;
            continue;
        }
        if (r == Z_OK || r == Z_BUF_ERROR) {
            if (s->z.avail_in == 0)
                continue;
            return -1; /* no progress with input left: should not happen */
        }
        /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR */
        if (s->kind == K_GZIP && s->members > 0 && !s->member_out) {
            s->ignore_rest = 1; /* garbage (e.g. zero padding) after a complete member */
            s->ended = 1;
            break;
        }
        return -1;
    }
    return 0;
}

static int start_deflate(stage *s)
{
    /* RFC 9110 "deflate" is zlib-wrapped, but servers send raw deflate too:
     * a zlib header is CM=8, CINFO<=7 and a multiple of 31 as a 16-bit number. */
    int zlib_wrapped = (s->hdr[0] & 0x0F) == 8 && (s->hdr[0] >> 4) <= 7 &&
                       ((s->hdr[0] << 8) | s->hdr[1]) % 31 == 0;
    if (inflateInit2(&s->z, zlib_wrapped ? 15 : -15) != Z_OK)
        return -1;
    s->started = 1;
    return 0;
}

static int run_deflate(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out,
                       size_t max_out)
{
    stage *s = &d->st[i];
    if (!s->started) {
        while (s->nhdr < 2 && n > 0) {
            s->hdr[s->nhdr++] = *in++;
            n--;
        }
        if (s->nhdr < 2)
            return 0;
        if (start_deflate(s) < 0 || run_zlib(d, i, s->hdr, 2, out, max_out) < 0)
            return -1;
    }
    return run_zlib(d, i, in, n, out, max_out);
}

/* br: one brotli stream; bytes after its end are ignored. */
static int run_br(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out,
                  size_t max_out)
{
    stage *s = &d->st[i];
    uint8_t tmp[CHUNK];
    while (!s->ignore_rest) {
        if (s->ended) {
            if (n)
                s->ignore_rest = 1;
            break;
        }
        size_t avail_out = sizeof(tmp);
        uint8_t *next_out = tmp;
        BrotliDecoderResult r = BrotliDecoderDecompressStream(s->br, &n, &in, &avail_out, &next_out, NULL);
        if (pass(d, i, s, tmp, sizeof(tmp) - avail_out, out, max_out) < 0)
            return -1;
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            s->ended = 1;
            s->members++;
        } else if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            break; /* all of the input is taken */
        } else if (r != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            return -1;
        }
    }
    return 0;
}

/* zstd: one or more frames (skippable ones too), like gzip members. Each
 * frame's magic number is checked here, before libzstd sees it: libzstd
 * also takes the legacy formats (v0.5-v0.7), whose decoders give a
 * different verdict on the same bytes depending on how they are sliced
 * (found by tests/fuzz/fuzz_decode); RFC 8878 content is the v1 format. */
static int zstd_magic_ok(const unsigned char m[4])
{
    uint32_t v = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

/* Decodes the current frame from in until in is used up or the frame ends
 * (fully flushed); *used: the bytes taken. */
static int zstd_frame(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, size_t *used,
                      elaine_buf *out, size_t max_out)
{
    stage *s = &d->st[i];
    uint8_t tmp[CHUNK];
    ZSTD_inBuffer ib = {in, n, 0};
    int full = 0; /* the last step filled tmp: more output may be waiting */
    *used = 0;
    while ((ib.pos < ib.size || full) && !s->ended) {
        ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
        size_t r = ZSTD_decompressStream(s->zs, &ob, &ib);
        *used = ib.pos;
        if (ZSTD_isError(r)) {
            if (s->members > 0 && !s->member_out) {
                s->ignore_rest = 1; /* garbage (e.g. zero padding) after a complete frame */
                s->ended = 1;
                return 0;
            }
            return -1;
        }
        if (pass(d, i, s, tmp, ob.pos, out, max_out) < 0)
            return -1;
        full = ob.pos == ob.size;
        if (r == 0) { /* a frame is decoded and flushed */
            s->ended = 1;
            s->members++;
            s->in_frame = 0;
        }
    }
    return 0;
}

static int run_zstd(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out,
                    size_t max_out)
{
    stage *s = &d->st[i];
    while (n > 0 && !s->ignore_rest) {
        if (!s->in_frame) {
            while (s->nmagic < 4 && n > 0) {
                s->magic[s->nmagic++] = *in++;
                n--;
            }
            if (s->nmagic < 4)
                return 0;
            s->nmagic = 0;
            if (!zstd_magic_ok(s->magic)) {
                if (s->members > 0) { /* trailing garbage after a complete frame */
                    s->ignore_rest = 1;
                    return 0;
                }
                return -1;
            }
            s->in_frame = 1; /* a new frame */
            s->ended = 0;
            s->member_out = 0;
            size_t used;
            if (zstd_frame(d, i, s->magic, 4, &used, out, max_out) < 0)
                return -1;
            continue;
        }
        size_t used;
        if (zstd_frame(d, i, in, n, &used, out, max_out) < 0)
            return -1;
        in += used;
        n -= used;
    }
    return 0;
}

/* Feeds stage i (or out, past the last stage). 0, or -1 when corrupt. */
static int push(elaine_decoder *d, size_t i, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out)
{
    if (i == d->n) {
        emit(d, in, n, out, max_out);
        return 0;
    }
    stage *s = &d->st[i];
    if (n)
        s->fed = 1;
    switch (s->kind) {
    case K_GZIP:
        return run_zlib(d, i, in, n, out, max_out);
    case K_DEFLATE:
        return run_deflate(d, i, in, n, out, max_out);
    case K_BR:
        return run_br(d, i, in, n, out, max_out);
    case K_ZSTD:
        return run_zstd(d, i, in, n, out, max_out);
    }
    return -1;
}

int elaine_decoder_feed(elaine_decoder *d, const uint8_t *in, size_t n, elaine_buf *out, size_t max_out)
{
    if (d->corrupt)
        return -1;
    if (push(d, 0, in, n, out, max_out) < 0) {
        d->corrupt = 1;
        return -1;
    }
    return d->truncated;
}

int elaine_decoder_finish(elaine_decoder *d)
{
    if (d->corrupt)
        return -1;
    for (size_t i = 0; i < d->n; i++) {
        const stage *s = &d->st[i];
        /* a stage that saw no bytes is an empty body: clean; one byte of
         * deflate held back cannot be a whole stream (the shortest is two) */
        if (s->fed && !s->ended)
            return -1;
    }
    return 0;
}
