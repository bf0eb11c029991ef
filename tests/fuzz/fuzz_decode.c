/* Fuzz target: content decoding (elaine_decoder: gzip, deflate, br, zstd and
 * lists of them), the place where a small body can claim a huge one.
 * Input: 1 byte of slicing, 1 byte choosing the coding (values below 0xF0
 * index a table; 0xF0 and up: the coding is the text up to the next LF, to
 * fuzz the Content-Encoding parsing too), 1 byte choosing max_out, then the
 * body as it came off the wire.
 * Oracles: no crash, leak or UB; out never exceeds max_out (a bomb is cut,
 * not buffered); -1 is sticky; a stream decodes to the same bytes and the
 * same verdict whether it came in one slice or many (a stream cut short: to
 * a prefix of the same bytes). */
#include <string.h>

#include "elaine_decode.h"
#include "fuzz_util.h"

static const char *const codings[] = {
    "gzip", "deflate", "br", "zstd", "x-gzip", "identity", "gzip, br", "br, gzip",
    "zstd, gzip", "gzip, gzip", "deflate, zstd", "GZIP", " br ", "identity, zstd",
    "gzip, deflate, br, zstd", "gzip, identity",
};
#define NCODINGS (sizeof(codings) / sizeof(codings[0]))

static const size_t max_outs[] = {0, 1, 7, 100, 4096, 65536, 1u << 20, 8u << 20};

typedef struct result {
    elaine_buf out;
    int last;   /* last feed's return */
    int finish; /* elaine_decoder_finish */
} result;

static void run(const char *ce, const uint8_t *data, size_t size, uint8_t mode, size_t max_out,
                result *r)
{
    elaine_buf_init(&r->out);
    r->last = 0;
    r->finish = 0;
    elaine_decoder *d = elaine_decoder_new(ce);
    if (!d)
        return;
    fz_slicer sl;
    fz_slicer_init(&sl, mode);
    for (size_t off = 0; off < size;) {
        size_t k = fz_slice(&sl, size - off);
        int rc = elaine_decoder_feed(d, data + off, k, &r->out, max_out);
        FZ_ASSERT(rc == 0 || rc == 1 || rc == -1);
        FZ_ASSERT(r->out.len <= max_out);
        if (r->last == -1)
            FZ_ASSERT(rc == -1); /* corrupt is sticky */
        if (r->last == 1)
            FZ_ASSERT(rc != 0); /* so is truncated */
        r->last = rc;
        off += k;
    }
    r->finish = elaine_decoder_finish(d);
    FZ_ASSERT(r->finish == 0 || r->finish == -1);
    if (r->last == -1)
        FZ_ASSERT(r->finish == -1);
    elaine_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = fz_byte(&data, &size);
    uint8_t sel = fz_byte(&data, &size);
    size_t max_out = max_outs[fz_byte(&data, &size) % (sizeof(max_outs) / sizeof(max_outs[0]))];
    char ce[65];
    if (sel >= 0xF0) {
        size_t l = 0;
        while (l < size && l < 64 && data[l] != '\n')
            l++;
        memcpy(ce, data, l);
        ce[l] = 0;
        if (l < size)
            l++;
        data += l;
        size -= l;
    } else {
        snprintf(ce, sizeof(ce), "%s", codings[sel % NCODINGS]);
    }
    int supported = elaine_decode_supported(ce);
    elaine_decoder *probe = elaine_decoder_new(ce);
    if (probe)
        FZ_ASSERT(supported); /* what can be made is supported */
    elaine_decoder_free(probe);

    result a, b;
    run(ce, data, size, mode, max_out, &a);
    run(ce, data, size, 0, max_out, &b);
    if (a.last != b.last || a.finish != b.finish || a.out.len != b.out.len ||
        (a.out.len && memcmp(a.out.p, b.out.p, a.out.len) != 0))
        fprintf(stderr, "coding \"%s\", max_out %zu: sliced (mode %u): feed %d finish %d, %zu bytes; "
                "whole: feed %d finish %d, %zu bytes\n", ce, max_out, mode, a.last, a.finish,
                a.out.len, b.last, b.finish, b.out.len);
    FZ_ASSERT((a.last == -1) == (b.last == -1)); /* corrupt whatever the slicing */
    if (a.last != -1 && b.last != -1) {
        FZ_ASSERT(a.finish == b.finish);
        if (a.finish == 0) { /* a whole stream: the same bytes */
            FZ_ASSERT(a.last == b.last);
            FZ_ASSERT(a.out.len == b.out.len);
            FZ_ASSERT(a.out.len == 0 || memcmp(a.out.p, b.out.p, a.out.len) == 0);
        } else { /* cut short: a codec may hold back its last bytes (brotli's
                  * ring buffer), depending on the slicing; one is a prefix of
                  * the other */
            size_t n = a.out.len < b.out.len ? a.out.len : b.out.len;
            FZ_ASSERT(n == 0 || memcmp(a.out.p, b.out.p, n) == 0);
        }
    }
    elaine_buf_free(&a.out);
    elaine_buf_free(&b.out);
    return 0;
}
