/* elaine_decode: gzip/x-gzip/deflate (zlib and raw), multi-member gzip,
 * truncation at max_out, corrupt and cut-short input; compressed bodies also
 * fed split at every byte and one byte at a time. */
#include <stdint.h>
#include <zlib.h>

#include "check.h"
#include "elaine_decode.h"

/* windowBits: 31 gzip, 15 zlib, -15 raw. */
static void compress_to(elaine_buf *out, const char *in, size_t n, int window_bits)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    CHECK(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    unsigned char tmp[4096];
    int r;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof(tmp);
        r = deflate(&z, Z_FINISH);
        elaine_buf_add(out, tmp, sizeof(tmp) - z.avail_out);
    } while (r == Z_OK);
    CHECK(r == Z_STREAM_END);
    deflateEnd(&z);
}

static void sample_text(elaine_buf *b, size_t n)
{
    uint32_t x = 12345;
    static const char *words[] = {"the ", "model ", "said ", "hello ", "{\"tokens\":", "42}, ", "\n", "é "};
    while (b->len < n) {
        x = x * 1103515245u + 12345u;
        elaine_buf_adds(b, words[(x >> 16) % 8]);
    }
    b->len = n;
    b->p[n] = 0;
}

/* Decodes in slices; returns feed's last result, *fin the finish result. */
static int decode(const char *coding, const char *in, size_t n, size_t cut, size_t step, elaine_buf *out,
                  size_t max_out, int *fin)
{
    elaine_decoder *d = elaine_decoder_new(coding);
    CHECK(d != NULL);
    if (!d)
        return -2;
    int rc = 0;
    size_t off = 0;
    do {
        size_t len = step ? step : (off < cut ? cut - off : n - off);
        if (off + len > n)
            len = n - off;
        int r = elaine_decoder_feed(d, (const uint8_t *)in + off, len, out, max_out);
        if (r != 0)
            rc = r;
        CHECK(out->len <= max_out);
        off += len;
    } while (off < n);
    *fin = elaine_decoder_finish(d);
    elaine_decoder_free(d);
    return rc;
}

static void check_all_slicings(const char *name, const char *coding, const elaine_buf *comp, const elaine_buf *plain)
{
    CASE(name);
    int fin;
    elaine_buf out;
    elaine_buf_init(&out);
    CHECK_INT(decode(coding, comp->p, comp->len, comp->len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_MEM(out.p, out.len, plain->p, plain->len);
    for (size_t cut = 0; cut <= comp->len; cut++) {
        elaine_buf_reset(&out);
        int r = decode(coding, comp->p, comp->len, cut, 0, &out, SIZE_MAX, &fin);
        if (r != 0 || fin != 0 || out.len != plain->len || memcmp(out.p, plain->p, out.len) != 0) {
            fprintf(stderr, "[%s] split at %zu differs (rc %d, finish %d, %zu bytes)\n", name, cut, r, fin, out.len);
            check_failures++;
            break;
        }
    }
    elaine_buf_reset(&out);
    CHECK_INT(decode(coding, comp->p, comp->len, 0, 1, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_MEM(out.p, out.len, plain->p, plain->len);
    elaine_buf_free(&out);
}

int main(void)
{
    elaine_buf plain, gz, zl, raw, big, biggz, two, out;
    elaine_buf_init(&plain);
    elaine_buf_init(&gz);
    elaine_buf_init(&zl);
    elaine_buf_init(&raw);
    elaine_buf_init(&big);
    elaine_buf_init(&biggz);
    elaine_buf_init(&two);
    elaine_buf_init(&out);
    int fin;

    CASE("supported");
    CHECK_INT(elaine_decode_supported("gzip"), 1);
    CHECK_INT(elaine_decode_supported("x-gzip"), 1);
    CHECK_INT(elaine_decode_supported("GZip"), 1);
    CHECK_INT(elaine_decode_supported(" deflate "), 1);
    CHECK_INT(elaine_decode_supported("DEFLATE"), 1);
    CHECK_INT(elaine_decode_supported("identity"), 1);
    CHECK_INT(elaine_decode_supported(NULL), 1);
    CHECK_INT(elaine_decode_supported("br"), 0);
    CHECK_INT(elaine_decode_supported("zstd"), 0);
    CHECK_INT(elaine_decode_supported("gzip, br"), 0);
    CHECK_INT(elaine_decode_supported("gzipx"), 0);
    CASE("no decoder for identity and unsupported");
    CHECK(elaine_decoder_new(NULL) == NULL);
    CHECK(elaine_decoder_new("identity") == NULL);
    CHECK(elaine_decoder_new("Identity") == NULL);
    CHECK(elaine_decoder_new("br") == NULL);
    CHECK(elaine_decoder_new("zstd") == NULL);
    elaine_decoder_free(NULL);

    sample_text(&plain, 3000);
    compress_to(&gz, plain.p, plain.len, 31);
    compress_to(&zl, plain.p, plain.len, 15);
    compress_to(&raw, plain.p, plain.len, -15);
    check_all_slicings("gzip", "gzip", &gz, &plain);
    check_all_slicings("x-gzip upper case", "X-GZIP", &gz, &plain);
    check_all_slicings("deflate zlib-wrapped", "deflate", &zl, &plain);
    check_all_slicings("deflate raw", "Deflate", &raw, &plain);

    /* two gzip members (RFC 1952 allows it; gzip -c a b > c does it) */
    elaine_buf_add(&two, gz.p, gz.len);
    compress_to(&two, "second member\n", 14, 31);
    {
        elaine_buf want;
        elaine_buf_init(&want);
        elaine_buf_add(&want, plain.p, plain.len);
        elaine_buf_adds(&want, "second member\n");
        check_all_slicings("gzip two members", "gzip", &two, &want);
        elaine_buf_free(&want);
    }

    CASE("gzip with trailing zero padding");
    elaine_buf_reset(&out);
    {
        elaine_buf pad;
        elaine_buf_init(&pad);
        elaine_buf_add(&pad, gz.p, gz.len);
        elaine_buf_add(&pad, "\0\0\0\0\0\0\0\0", 8);
        CHECK_INT(decode("gzip", pad.p, pad.len, pad.len, 0, &out, SIZE_MAX, &fin), 0);
        CHECK_INT(fin, 0);
        CHECK_MEM(out.p, out.len, plain.p, plain.len);
        elaine_buf_free(&pad);
    }

    CASE("large body, bounded output");
    sample_text(&big, 5 << 20);
    compress_to(&biggz, big.p, big.len, 31);
    elaine_buf_reset(&out);
    CHECK_INT(decode("gzip", biggz.p, biggz.len, biggz.len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_MEM(out.p, out.len, big.p, big.len);
    elaine_buf_reset(&out);
    CHECK_INT(decode("gzip", biggz.p, biggz.len, 0, 65536, &out, 1000000, &fin), 1);
    CHECK_INT(out.len, 1000000);
    CHECK(memcmp(out.p, big.p, 1000000) == 0);
    CHECK_INT(fin, 0); /* the stream itself ended cleanly */

    CASE("max_out counts what out already holds");
    elaine_buf_reset(&out);
    elaine_buf_adds(&out, "prefix:");
    CHECK_INT(decode("gzip", gz.p, gz.len, gz.len, 0, &out, 107, &fin), 1);
    CHECK_INT(out.len, 107);
    CHECK(memcmp(out.p, "prefix:", 7) == 0 && memcmp(out.p + 7, plain.p, 100) == 0);

    CASE("exactly max_out is not truncation");
    elaine_buf_reset(&out);
    CHECK_INT(decode("gzip", gz.p, gz.len, gz.len, 0, &out, plain.len, &fin), 0);
    CHECK_INT(out.len, plain.len);

    CASE("cut short");
    elaine_buf_reset(&out);
    CHECK_INT(decode("gzip", gz.p, gz.len - 5, gz.len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, -1);
    elaine_buf_reset(&out);
    CHECK_INT(decode("deflate", zl.p, zl.len / 2, zl.len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, -1);
    CHECK(out.len < plain.len && memcmp(out.p, plain.p, out.len) == 0);
    elaine_buf_reset(&out);
    CHECK_INT(decode("deflate", zl.p, 1, 1, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, -1);

    CASE("empty body is clean");
    {
        elaine_decoder *d = elaine_decoder_new("gzip");
        CHECK_INT(elaine_decoder_finish(d), 0);
        elaine_decoder_free(d);
        d = elaine_decoder_new("deflate");
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)"", 0, &out, SIZE_MAX), 0);
        CHECK_INT(elaine_decoder_finish(d), 0);
        elaine_decoder_free(d);
    }

    CASE("corrupt input, sticky");
    {
        elaine_buf bad;
        elaine_buf_init(&bad);
        elaine_buf_add(&bad, gz.p, gz.len);
        bad.p[20] ^= 0x55;
        bad.p[21] ^= 0xAA;
        bad.p[40] ^= 0xFF;
        elaine_decoder *d = elaine_decoder_new("gzip");
        elaine_buf_reset(&out);
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)bad.p, bad.len, &out, SIZE_MAX), -1);
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)gz.p, gz.len, &out, SIZE_MAX), -1);
        CHECK_INT(elaine_decoder_finish(d), -1);
        elaine_decoder_free(d);
        elaine_buf_free(&bad);

        d = elaine_decoder_new("gzip");
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)"not gzip at all", 15, &out, SIZE_MAX), -1);
        elaine_decoder_free(d);
        d = elaine_decoder_new("deflate");
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 6, &out, SIZE_MAX), -1);
        elaine_decoder_free(d);
    }

    elaine_buf_free(&plain);
    elaine_buf_free(&gz);
    elaine_buf_free(&zl);
    elaine_buf_free(&raw);
    elaine_buf_free(&big);
    elaine_buf_free(&biggz);
    elaine_buf_free(&two);
    elaine_buf_free(&out);
    return check_done("test_decode");
}
