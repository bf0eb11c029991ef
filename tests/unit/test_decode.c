/* elaine_decode: gzip/x-gzip/deflate (zlib and raw), multi-member gzip, br,
 * zstd (several frames, skippable frames, the 8 MB window limit), stacked
 * codings, truncation at max_out, corrupt and cut-short input, and bombs
 * whose memory stays bounded; compressed bodies also fed split at every byte
 * and one byte at a time. */
#include <malloc.h>
#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

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

/* brotli streams made with BrotliEncoderCompress (libbrotlienc 1.0.9), kept
 * as bytes so that the tests need only the decoder. */
/* sample_text(1500), quality 11, window 2^22 (296 bytes) */
static const unsigned char br_text[] = {
    0x1b, 0xdb, 0x05, 0x00, 0xac, 0x0e, 0x78, 0xd3, 0xbc, 0x28, 0xad, 0x52,
    0x5c, 0x73, 0x20, 0xec, 0x27, 0x52, 0xe9, 0xec, 0x05, 0x48, 0xa4, 0xb6,
    0xc2, 0x30, 0x1d, 0xcd, 0x14, 0x29, 0x9b, 0x4b, 0x19, 0xb4, 0x3e, 0x28,
    0x69, 0x39, 0xa1, 0xfd, 0x5f, 0x9e, 0xa5, 0x37, 0x87, 0x32, 0x61, 0x02,
    0x5d, 0xb5, 0xaa, 0x90, 0x08, 0x83, 0xef, 0xc5, 0x78, 0xd2, 0x51, 0x11,
    0x4c, 0x77, 0x7b, 0xdb, 0xde, 0xb6, 0xe2, 0xf3, 0x3b, 0x91, 0x79, 0x37,
    0xd7, 0x78, 0xfe, 0x0f, 0xd4, 0xa4, 0x53, 0x4f, 0x93, 0x60, 0xb7, 0xd3,
    0x49, 0xdf, 0xc5, 0x99, 0x7e, 0x21, 0x4f, 0x6f, 0x23, 0xc0, 0x4d, 0x93,
    0xbd, 0xce, 0x76, 0xcf, 0x10, 0x6f, 0x09, 0x9f, 0x72, 0x6b, 0xd3, 0xd7,
    0xf0, 0x7e, 0xfd, 0x2f, 0xb9, 0x60, 0x52, 0xd5, 0x90, 0xa2, 0x4c, 0xa3,
    0xfd, 0xb9, 0x4d, 0x7e, 0x76, 0x30, 0xf1, 0x5c, 0xab, 0x85, 0x63, 0xd8,
    0x7e, 0x4d, 0x66, 0x25, 0xa9, 0x22, 0x15, 0x48, 0x9c, 0xe1, 0x8b, 0x3e,
    0xa2, 0x38, 0x26, 0xc3, 0x07, 0x26, 0x22, 0x3f, 0xd1, 0xde, 0xcb, 0x1e,
    0x19, 0x10, 0x61, 0xb6, 0x04, 0xc3, 0xdc, 0xc4, 0xb7, 0xdd, 0x1b, 0x86,
    0x12, 0xc0, 0x6c, 0x98, 0x74, 0x50, 0xf1, 0xe8, 0x12, 0x41, 0x7b, 0x51,
    0x57, 0x33, 0x63, 0xa2, 0xb4, 0x94, 0x38, 0xca, 0x65, 0x21, 0xb6, 0xc8,
    0x33, 0x02, 0x17, 0xcf, 0x4c, 0x4c, 0x94, 0x3c, 0x0e, 0x48, 0xf6, 0xe7,
    0x21, 0x94, 0x00, 0xe9, 0x71, 0x05, 0xda, 0xbe, 0x01, 0x88, 0xb3, 0xfd,
    0x3d, 0x05, 0x53, 0xe5, 0xfa, 0x72, 0x85, 0xb4, 0xa9, 0x24, 0xe3, 0x7c,
    0x22, 0x48, 0xc8, 0x9a, 0x1a, 0x85, 0x1a, 0x17, 0x32, 0x29, 0x8e, 0xce,
    0xa8, 0xfa, 0x63, 0x1f, 0x1c, 0x01, 0x6a, 0x52, 0x21, 0x86, 0xa1, 0x61,
    0x53, 0x10, 0x86, 0x4f, 0x0d, 0x5a, 0xfb, 0x51, 0x13, 0x1e, 0x05, 0x51,
    0x15, 0x4d, 0x4e, 0x38, 0x35, 0x85, 0x07, 0xfd, 0x48, 0xbc, 0xaa, 0x50,
    0x7d, 0xce, 0xa3, 0xcd, 0x0e, 0xb9, 0x86, 0x70, 0x05, 0xa3, 0x4b, 0x96,
    0x2c, 0xb9, 0x64, 0x25, 0x99, 0x09, 0x89, 0x5d,
};
/* sample_text(1500), quality 1, window 2^18 (404 bytes) */
static const unsigned char br_text_q1[] = {
    0x83, 0xed, 0x02, 0x00, 0x80, 0xaa, 0xaa, 0xaa, 0xea, 0xff, 0xce, 0x97,
    0x13, 0x83, 0x9e, 0xed, 0x64, 0x60, 0x27, 0xbb, 0xdd, 0x0c, 0x40, 0x05,
    0x40, 0x0c, 0x4c, 0xcc, 0xf4, 0xa0, 0x72, 0x53, 0xb0, 0xe3, 0x41, 0x2e,
    0x67, 0x86, 0xf7, 0x73, 0x43, 0x80, 0x3b, 0xb0, 0x76, 0x5a, 0xe7, 0xa5,
    0xe5, 0xcb, 0x1a, 0x39, 0x21, 0x27, 0x43, 0xd1, 0x06, 0x39, 0x37, 0x6a,
    0xb8, 0xc7, 0x37, 0x04, 0x44, 0xaf, 0x6a, 0x2f, 0xab, 0xe5, 0x78, 0xec,
    0x9b, 0xed, 0xac, 0x8e, 0xf7, 0x63, 0xff, 0x37, 0xce, 0xeb, 0xee, 0x54,
    0x91, 0x58, 0x01, 0xb0, 0x00, 0xa8, 0xe8, 0x79, 0x71, 0x8b, 0x18, 0x84,
    0x8a, 0xd5, 0xf6, 0x9b, 0x6e, 0x7c, 0x47, 0xb7, 0xf0, 0x9d, 0xb4, 0x49,
    0x1c, 0x2a, 0x7d, 0x1f, 0x2a, 0x6e, 0x45, 0x8c, 0xbc, 0xc7, 0x0a, 0x1b,
    0xc3, 0x3d, 0xa3, 0x90, 0xb5, 0xb8, 0x44, 0x01, 0x0c, 0xd5, 0x65, 0xd1,
    0x22, 0x72, 0x78, 0x05, 0xa3, 0x02, 0xdc, 0x24, 0xb9, 0x51, 0x15, 0xb9,
    0x80, 0x98, 0x6a, 0xef, 0x0d, 0x7d, 0x55, 0x04, 0x46, 0xac, 0x0a, 0x9f,
    0xba, 0x89, 0x00, 0x38, 0x3b, 0x3c, 0x9a, 0x42, 0xab, 0x03, 0x43, 0x8c,
    0xca, 0x6d, 0x18, 0x0b, 0x03, 0x96, 0xe4, 0x88, 0x0d, 0x77, 0x54, 0x88,
    0x8e, 0x6d, 0x07, 0x6b, 0x47, 0x56, 0x48, 0x58, 0x1f, 0xab, 0xa1, 0x9a,
    0xb7, 0x93, 0x13, 0x2e, 0x6d, 0xeb, 0x54, 0xd6, 0x09, 0xd1, 0x42, 0xe1,
    0x7e, 0x9f, 0xde, 0xb2, 0x60, 0x3b, 0xe8, 0x02, 0x10, 0x0c, 0xb0, 0xd1,
    0xa8, 0xf4, 0x06, 0xed, 0xd8, 0x02, 0x68, 0x2c, 0x4c, 0xc1, 0xba, 0x45,
    0xa8, 0xd4, 0x82, 0xb2, 0x37, 0x88, 0x59, 0x9a, 0xae, 0x4c, 0x51, 0xe1,
    0x66, 0x55, 0xfd, 0x6c, 0x11, 0x44, 0x17, 0x20, 0xf8, 0xe6, 0x76, 0x6b,
    0x48, 0x0f, 0x01, 0x32, 0xd3, 0xcf, 0x38, 0xf7, 0x18, 0x41, 0xca, 0x72,
    0x8f, 0x10, 0xa9, 0x07, 0x10, 0x7d, 0x62, 0x7d, 0xff, 0x6e, 0xa8, 0x9d,
    0x88, 0x20, 0x67, 0x46, 0x97, 0x5e, 0x34, 0x18, 0x37, 0xc5, 0x0c, 0xee,
    0xff, 0xf5, 0xcd, 0x84, 0x16, 0x95, 0xe3, 0xda, 0xfb, 0xc0, 0x00, 0xe7,
    0x10, 0x19, 0x56, 0x0b, 0xc1, 0xcd, 0x2c, 0x50, 0xf6, 0xe9, 0x04, 0xe1,
    0x25, 0xb5, 0xf4, 0x24, 0x3f, 0xe4, 0xa1, 0xa5, 0x2b, 0xde, 0x22, 0xda,
    0x1c, 0x85, 0x2d, 0x04, 0x1b, 0x49, 0xd4, 0x0d, 0xbb, 0x82, 0x54, 0x84,
    0x33, 0xaa, 0xe9, 0x47, 0x31, 0xcb, 0x30, 0x65, 0x34, 0x9b, 0xe6, 0x7f,
    0x82, 0x07, 0xc1, 0x0d, 0x6c, 0x81, 0x21, 0xb9, 0x7e, 0x1a, 0x2d, 0xd4,
    0x16, 0xcc, 0x83, 0x64, 0xa8, 0xd6, 0x8f, 0x3d, 0xed, 0x0b, 0x8e, 0x68,
    0xe5, 0x30, 0xe8, 0xf6, 0xcc, 0x25, 0x84, 0x17, 0x0b, 0xe0, 0x5a, 0x6d,
    0x1a, 0xd7, 0x4f, 0xe1, 0x45, 0xa3, 0xbd, 0x6b, 0xc1, 0x46, 0xe5, 0x9c,
    0x3f, 0xe9, 0x46, 0xa4, 0x1b, 0xd3, 0x8d, 0x6b,
};
/* gzip (level 6) of sample_text(1500), quality 5, window 2^16 (332 bytes) */
static const unsigned char br_gzip_text[] = {
    0x70, 0x14, 0x10, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x85, 0x54, 0x31, 0x0e, 0xc2, 0x30, 0x0c, 0xdc, 0xfd, 0x8a, 0xa8,
    0x33, 0x13, 0x62, 0xe2, 0x37, 0x48, 0xad, 0x54, 0x44, 0xa1, 0x43, 0xbb,
    0x55, 0x3c, 0x88, 0x77, 0xf0, 0x31, 0x92, 0x38, 0xb1, 0x9d, 0xab, 0x01,
    0x09, 0x05, 0x27, 0xb1, 0xcf, 0xf1, 0xf9, 0xdc, 0xad, 0x5b, 0xe7, 0xdb,
    0xf0, 0x58, 0xba, 0xf3, 0x26, 0xd6, 0xe9, 0xf8, 0x3c, 0x84, 0xe5, 0x72,
    0xed, 0xc3, 0xfb, 0x15, 0xf2, 0x46, 0x4f, 0xf2, 0x92, 0xb7, 0xea, 0x3f,
    0x0e, 0xd3, 0x34, 0x07, 0x8a, 0xce, 0x6c, 0xad, 0xe3, 0x10, 0xee, 0x73,
    0x3f, 0x4c, 0x01, 0x30, 0xd3, 0x45, 0xf4, 0xe2, 0xbb, 0x68, 0xa4, 0x3d,
    0x60, 0x79, 0x96, 0x66, 0x2f, 0x99, 0x52, 0x1c, 0x9b, 0xfa, 0xa6, 0x08,
    0x17, 0x7f, 0x54, 0x50, 0x39, 0x05, 0xaf, 0xc4, 0x7f, 0x1a, 0x24, 0x69,
    0x21, 0xb7, 0x0d, 0x92, 0x37, 0x12, 0x65, 0xf8, 0x04, 0x8c, 0x9e, 0x8a,
    0xc1, 0xb8, 0x7a, 0x9f, 0x32, 0xe4, 0x30, 0xa4, 0x01, 0x49, 0x63, 0x6c,
    0xa5, 0xce, 0xa3, 0x17, 0x88, 0x68, 0x8a, 0x2a, 0xe5, 0xb6, 0xaf, 0xf3,
    0xac, 0xe8, 0xc0, 0xb9, 0x00, 0x5c, 0xc9, 0xca, 0xd7, 0x58, 0x22, 0x19,
    0xae, 0x0b, 0xf9, 0xea, 0x02, 0x82, 0x30, 0x4c, 0xf0, 0x5a, 0xd5, 0xa3,
    0x7e, 0x79, 0x11, 0x72, 0xc8, 0xa3, 0x8d, 0xca, 0x29, 0x19, 0x42, 0xd2,
    0xb9, 0x34, 0xad, 0xed, 0x63, 0xad, 0xcb, 0x7b, 0x55, 0x0b, 0x2c, 0x1c,
    0xef, 0x49, 0x71, 0x1a, 0xb7, 0x2b, 0x46, 0x72, 0x37, 0xe1, 0x95, 0x7c,
    0x8d, 0x41, 0xf5, 0x15, 0x1e, 0x0d, 0x08, 0x76, 0x3a, 0x89, 0xcc, 0x15,
    0x0b, 0x35, 0xf3, 0xf2, 0x5d, 0x44, 0x64, 0xe4, 0xf8, 0xa3, 0x97, 0x40,
    0x11, 0x6c, 0x75, 0x48, 0x40, 0x6f, 0x4d, 0x17, 0x85, 0x9f, 0x7a, 0x8a,
    0x94, 0xba, 0xf9, 0x4d, 0xf1, 0x75, 0x40, 0x05, 0xcd, 0x2b, 0x0b, 0x07,
    0x02, 0xe2, 0x6d, 0x5b, 0x20, 0x13, 0x7f, 0x05, 0xf6, 0x87, 0x06, 0x01,
    0x11, 0x6b, 0x25, 0x85, 0x6c, 0x18, 0x08, 0x03, 0xe8, 0x7d, 0x02, 0x80,
    0x44, 0x11, 0x29, 0x7d, 0x15, 0x8d, 0x8e, 0x8a, 0x3c, 0x0b, 0xa1, 0x6a,
    0xc2, 0xff, 0x72, 0xc5, 0xe7, 0x64, 0x39, 0xd6, 0x69, 0xd9, 0x3e, 0x10,
    0xb1, 0x9a, 0x7e, 0xdc, 0x05, 0x00, 0x00, 0x03,
};
/* 4 MiB of zeros, quality 11, window 2^16 (405 bytes) */
static const unsigned char br_bomb_small[] = {
    0xf4, 0xff, 0x1f, 0xf0, 0x4f, 0x00, 0xc4, 0x63, 0x81, 0x40, 0xee, 0x7d,
    0x80, 0xfe, 0xff, 0x03, 0xfe, 0x09, 0x80, 0x38, 0x2c, 0x02, 0xd0, 0xbd,
    0x0f, 0xd0, 0xff, 0x7f, 0xc0, 0x3f, 0x01, 0x10, 0x87, 0x05, 0x00, 0xba,
    0xf7, 0x01, 0xfa, 0xff, 0x0f, 0xf8, 0x27, 0x00, 0xe2, 0xb0, 0x00, 0x40,
    0xf7, 0x3e, 0x40, 0xff, 0xff, 0x01, 0xff, 0x04, 0x40, 0x1c, 0x16, 0x00,
    0xe8, 0xde, 0x07, 0xe8, 0xff, 0x3f, 0xe0, 0x9f, 0x00, 0x88, 0xc3, 0x02,
    0x00, 0xdd, 0xfb, 0x00, 0xfd, 0xff, 0x07, 0xfc, 0x13, 0x00, 0x71, 0x58,
    0x00, 0xa0, 0x7b, 0x1f, 0xa0, 0xff, 0xff, 0x80, 0x7f, 0x02, 0x20, 0x0e,
    0x0b, 0x00, 0x74, 0xef, 0x03, 0xf4, 0xff, 0x1f, 0xf0, 0x4f, 0x00, 0xc4,
    0x61, 0x01, 0x80, 0xee, 0x7d, 0x80, 0xfe, 0xff, 0x03, 0xfe, 0x09, 0x80,
    0x38, 0x2c, 0x00, 0xd0, 0xbd, 0x0f, 0xd0, 0xff, 0x7f, 0xc0, 0x3f, 0x01,
    0x10, 0x87, 0x05, 0x00, 0xba, 0xf7, 0x01, 0xfa, 0xff, 0x0f, 0xf8, 0x27,
    0x00, 0xe2, 0xb0, 0x00, 0x40, 0xf7, 0x3e, 0x40, 0xff, 0xff, 0x01, 0xff,
    0x04, 0x40, 0x1c, 0x16, 0x00, 0xe8, 0xde, 0x07, 0xe8, 0xff, 0x3f, 0xe0,
    0x9f, 0x00, 0x88, 0xc3, 0x02, 0x00, 0xdd, 0xfb, 0x00, 0xfd, 0xff, 0x07,
    0xfc, 0x13, 0x00, 0x71, 0x58, 0x00, 0xa0, 0x7b, 0x1f, 0xa0, 0xff, 0xff,
    0x80, 0x7f, 0x02, 0x20, 0x0e, 0x0b, 0x00, 0x74, 0xef, 0x03, 0xf4, 0xff,
    0x1f, 0xf0, 0x4f, 0x00, 0xc4, 0x61, 0x01, 0x80, 0xee, 0x7d, 0x80, 0xfe,
    0xff, 0x03, 0xfe, 0x09, 0x80, 0x38, 0x2c, 0x00, 0xd0, 0xbd, 0x0f, 0xd0,
    0xff, 0x7f, 0xc0, 0x3f, 0x01, 0x10, 0x87, 0x05, 0x00, 0xba, 0xf7, 0x01,
    0xfa, 0xff, 0x0f, 0xf8, 0x27, 0x00, 0xe2, 0xb0, 0x00, 0x40, 0xf7, 0x3e,
    0x40, 0xff, 0xff, 0x01, 0xff, 0x04, 0x40, 0x1c, 0x16, 0x00, 0xe8, 0xde,
    0x07, 0xe8, 0xff, 0x3f, 0xe0, 0x9f, 0x00, 0x88, 0xc3, 0x02, 0x00, 0xdd,
    0xfb, 0x00, 0xfd, 0xff, 0x07, 0xfc, 0x13, 0x00, 0x71, 0x58, 0x00, 0xa0,
    0x7b, 0x1f, 0xa0, 0xff, 0xff, 0x80, 0x7f, 0x02, 0x20, 0x0e, 0x0b, 0x00,
    0x74, 0xef, 0x03, 0xf4, 0xff, 0x1f, 0xf0, 0x4f, 0x00, 0xc4, 0x61, 0x01,
    0x80, 0xee, 0x7d, 0x80, 0xfe, 0xff, 0x03, 0xfe, 0x09, 0x80, 0x38, 0x2c,
    0x00, 0xd0, 0xbd, 0x0f, 0xd0, 0xff, 0x7f, 0xc0, 0x3f, 0x01, 0x10, 0x87,
    0x05, 0x00, 0xba, 0xf7, 0x01, 0xfa, 0xff, 0x0f, 0xf8, 0x27, 0x00, 0xe2,
    0xb0, 0x00, 0x40, 0xf7, 0x3e, 0x40, 0xff, 0xff, 0x01, 0xff, 0x04, 0x40,
    0x1c, 0x16, 0x00, 0xe8, 0xde, 0x07, 0xe8, 0xff, 0x3f, 0xe0, 0x9f, 0x00,
    0x88, 0xc3, 0x02, 0x00, 0xdd, 0xfb, 0x00, 0xfd, 0xff, 0x07, 0xfc, 0x13,
    0x00, 0x71, 0x58, 0x00, 0xa0, 0x7b, 0x1f, 0x50, 0xff, 0xff, 0x81, 0x7f,
    0x02, 0x20, 0x0e, 0x0b, 0x00, 0x74, 0xef, 0x03, 0x00,
};
/* 32 MiB of zeros, quality 11, window 2^22 (53 bytes) */
static const unsigned char br_bomb[] = {
    0xcb, 0xff, 0xff, 0x3f, 0xf8, 0x27, 0x00, 0xe2, 0xb1, 0x40, 0x20, 0xf7,
    0xfe, 0x8f, 0xff, 0xff, 0x7f, 0xf0, 0x4f, 0x00, 0xc4, 0x61, 0x11, 0x80,
    0xee, 0xfd, 0x1f, 0xff, 0xff, 0xff, 0xe0, 0x9f, 0x00, 0x88, 0xc3, 0x02,
    0x00, 0xdd, 0xfb, 0xbf, 0xfc, 0xff, 0xff, 0xc3, 0x3f, 0x01, 0x10, 0x87,
    0x05, 0x00, 0xba, 0xf7, 0x7f,
};

static void buf_of(elaine_buf *b, const void *p, size_t n)
{
    elaine_buf_init(b);
    elaine_buf_add(b, p, n);
}

/* A zstd frame of in (checksummed). wlog 0: the level's window. streamed:
 * no content size in the header, and a block flushed every 500 bytes. */
static void zstd_to(elaine_buf *out, const void *in, size_t n, int level, int wlog, int streamed)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    CHECK(c != NULL);
    CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)));
    CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
    if (wlog)
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog)));
    if (!streamed)
        CHECK(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, n)));
    unsigned char tmp[4096];
    size_t off = 0, r;
    do {
        size_t step = streamed && n - off > 500 ? 500 : n - off;
        ZSTD_inBuffer ib = {(const char *)in + off, step, 0};
        ZSTD_EndDirective how = off + step < n ? ZSTD_e_flush : ZSTD_e_end;
        do {
            ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
            r = ZSTD_compressStream2(c, &ob, &ib, how);
            CHECK(!ZSTD_isError(r));
            elaine_buf_add(out, tmp, ob.pos);
        } while (!ZSTD_isError(r) && (r != 0 || ib.pos < ib.size));
        off += step;
    } while (off < n && !ZSTD_isError(r));
    ZSTD_freeCCtx(c);
}

/* A zstd frame of mib MiB of zeros (content size unknown, like a stream). */
static void zstd_zeros(elaine_buf *out, size_t mib, int level, int wlog)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)));
    if (wlog)
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog)));
    static const unsigned char zeros[65536];
    unsigned char tmp[4096];
    size_t left = mib << 20, r;
    do {
        ZSTD_inBuffer ib = {zeros, left < sizeof(zeros) ? left : sizeof(zeros), 0};
        ZSTD_EndDirective how = ib.size < left ? ZSTD_e_continue : ZSTD_e_end;
        do {
            ZSTD_outBuffer ob = {tmp, sizeof(tmp), 0};
            r = ZSTD_compressStream2(c, &ob, &ib, how);
            CHECK(!ZSTD_isError(r));
            elaine_buf_add(out, tmp, ob.pos);
        } while (!ZSTD_isError(r) && (ib.pos < ib.size || (how == ZSTD_e_end && r != 0)));
        left -= ib.size;
    } while (left > 0 && !ZSTD_isError(r));
    ZSTD_freeCCtx(c);
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

/* Bytes the heap holds (glibc: arenas plus mmapped chunks). Under valgrind
 * this does not move, and the bound below is not checked. */
static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* A compressed stream of zeros with max_out 64 KiB, fed in 256-byte slices:
 * truncated at exactly 64 KiB of zeros, the stream itself clean, and the heap
 * never more than limit above where it was before the decoder existed. */
static void check_bomb(const char *name, const char *coding, const void *in, size_t n, size_t limit)
{
    CASE(name);
    elaine_buf out;
    elaine_buf_init(&out);
    size_t base = heap_in_use(), peak = 0;
    elaine_decoder *d = elaine_decoder_new(coding);
    CHECK(d != NULL);
    if (!d)
        return;
    int rc = 0;
    for (size_t off = 0; off < n; off += 256) {
        size_t len = n - off < 256 ? n - off : 256;
        int r = elaine_decoder_feed(d, (const uint8_t *)in + off, len, &out, 65536);
        if (r != 0)
            rc = r;
        size_t now = heap_in_use();
        if (now > base && now - base > peak)
            peak = now - base;
    }
    CHECK_INT(rc, 1);
    CHECK_INT(out.len, 65536);
    size_t nz = 0;
    for (size_t i = 0; i < out.len; i++)
        nz += out.p[i] != 0;
    CHECK_INT(nz, 0);
    CHECK_INT(elaine_decoder_finish(d), 0);
    if (peak > limit) {
        fprintf(stderr, "[%s] the heap grew by %zu bytes, more than %zu\n", name, peak, limit);
        check_failures++;
    }
    elaine_decoder_free(d);
    elaine_buf_free(&out);
}

/* Truncation, cut-short and corrupt input for one coding; comp decodes to plain. */
static void check_damage(const char *name, const char *coding, const elaine_buf *comp, const elaine_buf *plain)
{
    char what[128];
    elaine_buf out;
    elaine_buf_init(&out);
    int fin;
    snprintf(what, sizeof(what), "%s: truncated at max_out", name);
    CASE(what);
    CHECK_INT(decode(coding, comp->p, comp->len, 0, 7, &out, 100, &fin), 1);
    CHECK_MEM(out.p, out.len, plain->p, 100);
    CHECK_INT(fin, 0);
    elaine_buf_reset(&out);
    CHECK_INT(decode(coding, comp->p, comp->len, comp->len, 0, &out, plain->len, &fin), 0);
    CHECK_INT(out.len, plain->len);

    snprintf(what, sizeof(what), "%s: cut short", name);
    CASE(what);
    size_t cuts[] = {1, 5, comp->len / 2, comp->len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        elaine_buf_reset(&out);
        CHECK_INT(decode(coding, comp->p, cuts[i], cuts[i], 0, &out, SIZE_MAX, &fin), 0);
        CHECK_INT(fin, -1);
        CHECK(out.len <= plain->len && (out.len == 0 || memcmp(out.p, plain->p, out.len) == 0));
    }

    snprintf(what, sizeof(what), "%s: empty body is clean", name);
    CASE(what);
    elaine_decoder *d = elaine_decoder_new(coding);
    CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)"", 0, &out, SIZE_MAX), 0);
    CHECK_INT(elaine_decoder_finish(d), 0);
    elaine_decoder_free(d);

    snprintf(what, sizeof(what), "%s: trailing zeros ignored", name);
    CASE(what);
    elaine_buf pad;
    buf_of(&pad, comp->p, comp->len);
    elaine_buf_add(&pad, "\0\0\0\0\0\0\0\0", 8);
    elaine_buf_reset(&out);
    CHECK_INT(decode(coding, pad.p, pad.len, comp->len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_MEM(out.p, out.len, plain->p, plain->len);
    elaine_buf_free(&pad);

    snprintf(what, sizeof(what), "%s: corrupt, sticky", name);
    CASE(what);
    static const char *junk[] = {"not compressed at all", "\xff\xff\xff\xff\xff\xff\xff\xff"};
    for (size_t i = 0; i < 2; i++) {
        d = elaine_decoder_new(coding);
        elaine_buf_reset(&out);
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)junk[i], strlen(junk[i]), &out, SIZE_MAX), -1);
        CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)comp->p, comp->len, &out, SIZE_MAX), -1);
        CHECK_INT(elaine_decoder_finish(d), -1);
        CHECK_INT(out.len, 0);
        elaine_decoder_free(d);
    }
    elaine_buf_free(&out);
}

static void test_br(void)
{
    elaine_buf plain, br, brq1, bad, out;
    elaine_buf_init(&plain);
    sample_text(&plain, 1500);
    buf_of(&br, br_text, sizeof(br_text));
    buf_of(&brq1, br_text_q1, sizeof(br_text_q1));
    check_all_slicings("br", "br", &br, &plain);
    check_all_slicings("br quality 1, upper case", " BR ", &brq1, &plain);
    check_damage("br", "br", &br, &plain);

    /* a byte changed in the middle: brotli has no checksum, but these do not parse */
    CASE("br: corrupt in the middle");
    buf_of(&bad, br_text, sizeof(br_text));
    bad.p[20] ^= 0x55;
    elaine_buf_init(&out);
    elaine_decoder *d = elaine_decoder_new("br");
    int rc = elaine_decoder_feed(d, (const uint8_t *)bad.p, bad.len, &out, SIZE_MAX);
    CHECK_INT(rc, -1);
    CHECK_INT(elaine_decoder_feed(d, (const uint8_t *)br.p, br.len, &out, SIZE_MAX), -1);
    CHECK_INT(elaine_decoder_finish(d), -1);
    elaine_decoder_free(d);

    CASE("br: bytes after the stream are ignored");
    elaine_buf_reset(&bad);
    elaine_buf_add(&bad, br.p, br.len);
    elaine_buf_add(&bad, br.p, br.len);
    elaine_buf_reset(&out);
    int fin;
    CHECK_INT(decode("br", bad.p, bad.len, br.len + 3, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_MEM(out.p, out.len, plain.p, plain.len);

    elaine_buf_free(&plain);
    elaine_buf_free(&br);
    elaine_buf_free(&brq1);
    elaine_buf_free(&bad);
    elaine_buf_free(&out);
}

static void test_zstd(void)
{
    elaine_buf plain, z1, z19, zs, two, skip, bad, big, out;
    elaine_buf_init(&plain);
    elaine_buf_init(&z1);
    elaine_buf_init(&z19);
    elaine_buf_init(&zs);
    elaine_buf_init(&two);
    elaine_buf_init(&skip);
    elaine_buf_init(&big);
    elaine_buf_init(&out);
    sample_text(&plain, 3000);
    zstd_to(&z1, plain.p, plain.len, 1, 0, 0);
    zstd_to(&z19, plain.p, plain.len, 19, 0, 0);
    zstd_to(&zs, plain.p, plain.len, 3, 10, 1);
    check_all_slicings("zstd level 1", "zstd", &z1, &plain);
    check_all_slicings("zstd level 19, upper case", "ZSTD", &z19, &plain);
    check_all_slicings("zstd streamed, small window, several blocks", "zstd", &zs, &plain);
    check_damage("zstd", "zstd", &z1, &plain);

    /* two frames, as zstd -c a b would make them */
    elaine_buf_add(&two, z1.p, z1.len);
    zstd_to(&two, "second frame\n", 13, 3, 0, 0);
    {
        elaine_buf want;
        buf_of(&want, plain.p, plain.len);
        elaine_buf_adds(&want, "second frame\n");
        check_all_slicings("zstd two frames", "zstd", &two, &want);
        elaine_buf_free(&want);
    }
    /* a skippable frame (magic 0x184D2A50, 4-byte length) before the data */
    elaine_buf_add(&skip, "\x50\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
    elaine_buf_add(&skip, z1.p, z1.len);
    check_all_slicings("zstd skippable frame first", "zstd", &skip, &plain);

    CASE("zstd: checksum mismatch");
    buf_of(&bad, z1.p, z1.len);
    bad.p[bad.len - 2] ^= 0x01;
    int fin;
    CHECK_INT(decode("zstd", bad.p, bad.len, bad.len, 0, &out, SIZE_MAX, &fin), -1);
    CHECK_INT(fin, -1);

    /* the legacy formats (v0.5-v0.7 magic numbers) are refused, however
     * sliced: libzstd's legacy decoders judged these bytes corrupt in
     * 1-byte slices and "more to come" whole (tests/fuzz/fuzz_decode) */
    CASE("zstd: a legacy v0.6 frame is corrupt, whole or byte by byte");
    static const char legacy[] = "\x26\xb5\x2f\xfd\x99\xe9\xd8\x51";
    elaine_buf_reset(&out);
    CHECK_INT(decode("zstd", legacy, 8, 8, 0, &out, 0, &fin), -1);
    CHECK_INT(fin, -1);
    CHECK_INT(decode("zstd", legacy, 8, 8, 1, &out, 0, &fin), -1);
    CHECK_INT(fin, -1);
    CASE("zstd: garbage after a complete frame is ignored, even shorter than a magic number");
    elaine_buf_reset(&bad);
    elaine_buf_add(&bad, z1.p, z1.len);
    elaine_buf_add(&bad, "\x26\xb5\x2f\xfd\x99", 5);
    elaine_buf_reset(&out);
    CHECK_INT(decode("zstd", bad.p, bad.len, bad.len, 1, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);
    CHECK_INT(out.len, plain.len);
    elaine_buf_reset(&bad);
    elaine_buf_add(&bad, z1.p, z1.len);
    elaine_buf_add(&bad, "\0\0", 2);
    elaine_buf_reset(&out);
    CHECK_INT(decode("zstd", bad.p, bad.len, bad.len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, 0);

    CASE("zstd: a window over 8 MB is refused");
    zstd_zeros(&big, 12, 1, 24);
    elaine_buf_reset(&out);
    CHECK_INT(decode("zstd", big.p, big.len, big.len, 0, &out, SIZE_MAX, &fin), -1);
    CHECK_INT(out.len, 0);
    CHECK_INT(fin, -1);
    elaine_buf_reset(&big);
    zstd_zeros(&big, 12, 1, 23);
    CHECK_INT(decode("zstd", big.p, big.len, big.len, 0, &out, 1000, &fin), 1);
    CHECK_INT(fin, 0);

    elaine_buf_free(&plain);
    elaine_buf_free(&z1);
    elaine_buf_free(&z19);
    elaine_buf_free(&zs);
    elaine_buf_free(&two);
    elaine_buf_free(&skip);
    elaine_buf_free(&bad);
    elaine_buf_free(&big);
    elaine_buf_free(&out);
}

/* Codings applied in the order listed, undone in reverse. */
static void test_stacked(void)
{
    elaine_buf plain, brgz, gzbr, zl, gz, z4, zcut, gzcut, out;
    elaine_buf_init(&plain);
    elaine_buf_init(&gzbr);
    elaine_buf_init(&zl);
    elaine_buf_init(&gz);
    elaine_buf_init(&z4);
    elaine_buf_init(&zcut);
    elaine_buf_init(&gzcut);
    elaine_buf_init(&out);
    sample_text(&plain, 1500);
    buf_of(&brgz, br_gzip_text, sizeof(br_gzip_text));
    check_all_slicings("stacked gzip, br", "gzip, br", &brgz, &plain);
    check_all_slicings("stacked x-gzip,identity ,BR", "x-gzip,identity ,BR", &brgz, &plain);
    compress_to(&gzbr, (const char *)br_text, sizeof(br_text), 31);
    check_all_slicings("stacked br, gzip", "br, gzip", &gzbr, &plain);
    /* four: br, then zlib deflate, then gzip, then zstd */
    compress_to(&zl, (const char *)br_text, sizeof(br_text), 15);
    compress_to(&gz, zl.p, zl.len, 31);
    zstd_to(&z4, gz.p, gz.len, 3, 0, 0);
    check_all_slicings("stacked br, deflate, gzip, zstd", "br, deflate, gzip, zstd", &z4, &plain);
    check_damage("stacked br, deflate, gzip, zstd", "br, deflate, gzip, zstd", &z4, &plain);

    int fin;
    CASE("stacked: listed in the wrong order");
    CHECK_INT(decode("br, gzip", brgz.p, brgz.len, brgz.len, 0, &out, SIZE_MAX, &fin), -1);
    CHECK_INT(fin, -1);
    CHECK_INT(decode("zstd, br, deflate, gzip", z4.p, z4.len, z4.len, 0, &out, SIZE_MAX, &fin), -1);

    CASE("stacked: the inner stream cut short, the outer one whole");
    compress_to(&gzcut, plain.p, plain.len, 31);
    zstd_to(&zcut, gzcut.p, gzcut.len - 4, 3, 0, 0);
    elaine_buf_reset(&out);
    CHECK_INT(decode("gzip, zstd", zcut.p, zcut.len, zcut.len, 0, &out, SIZE_MAX, &fin), 0);
    CHECK_INT(fin, -1);
    CHECK_MEM(out.p, out.len, plain.p, plain.len); /* only the gzip trailer is missing */

    CASE("stacked: corrupt inner stream");
    elaine_buf_reset(&zcut);
    elaine_buf_reset(&out);
    zstd_to(&zcut, "not gzip at all", 15, 3, 0, 0);
    CHECK_INT(decode("gzip, zstd", zcut.p, zcut.len, zcut.len, 0, &out, SIZE_MAX, &fin), -1);
    CHECK_INT(fin, -1);

    elaine_buf_free(&plain);
    elaine_buf_free(&brgz);
    elaine_buf_free(&gzbr);
    elaine_buf_free(&zl);
    elaine_buf_free(&gz);
    elaine_buf_free(&z4);
    elaine_buf_free(&zcut);
    elaine_buf_free(&gzcut);
    elaine_buf_free(&out);
}

/* Bombs: a few MB of zeros, max_out 64 KiB; the heap stays near 64 KiB of
 * output (its buffer is 128 KiB) plus the coding's window, whatever the
 * expansion. */
static void test_bombs(void)
{
    elaine_buf zs, zl, gz, zgz;
    elaine_buf_init(&zs);
    elaine_buf_init(&zl);
    elaine_buf_init(&gz);
    elaine_buf_init(&zgz);
    check_bomb("br bomb, 4 MiB, 64 KiB window", "br", br_bomb_small, sizeof(br_bomb_small), 1u << 20);
    check_bomb("br bomb, 32 MiB, 4 MiB window", "br", br_bomb, sizeof(br_bomb), 5u << 20);
    zstd_zeros(&zs, 32, 3, 17);
    check_bomb("zstd bomb, 32 MiB, 128 KiB window", "zstd", zs.p, zs.len, 1u << 20);
    zstd_zeros(&zl, 32, 3, 0);
    check_bomb("zstd bomb, 32 MiB, level 3 window", "zstd", zl.p, zl.len, 4u << 20);
    compress_to(&gz, zs.p, zs.len, 31);
    check_bomb("stacked bomb zstd, gzip", "zstd, gzip", gz.p, gz.len, 1u << 20);
    {
        /* gzip's own: 32 MiB of zeros deflate to about 32 KiB */
        char *zeros = calloc(1, 32u << 20);
        compress_to(&zgz, zeros, 32u << 20, 31);
        free(zeros);
        check_bomb("gzip bomb, 32 MiB", "gzip", zgz.p, zgz.len, 1u << 20);
    }
    elaine_buf_free(&zs);
    elaine_buf_free(&zl);
    elaine_buf_free(&gz);
    elaine_buf_free(&zgz);
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
    CHECK_INT(elaine_decode_supported("br"), 1);
    CHECK_INT(elaine_decode_supported(" BR"), 1);
    CHECK_INT(elaine_decode_supported("zstd"), 1);
    CHECK_INT(elaine_decode_supported("Zstd\t"), 1);
    CHECK_INT(elaine_decode_supported("gzip, br"), 1);
    CHECK_INT(elaine_decode_supported("gzip,br"), 1);
    CHECK_INT(elaine_decode_supported("br, , identity,"), 1);
    CHECK_INT(elaine_decode_supported("x-gzip, deflate, br, zstd"), 1);
    CHECK_INT(elaine_decode_supported("gzip, gzip, gzip, identity, gzip"), 1);
    CHECK_INT(elaine_decode_supported("gzip, gzip, gzip, gzip, gzip"), 0); /* more than 4 */
    CHECK_INT(elaine_decode_supported("gzip, compress"), 0);
    CHECK_INT(elaine_decode_supported("brotli"), 0);
    CHECK_INT(elaine_decode_supported("gzip br"), 0);
    CHECK_INT(elaine_decode_supported("gzipx"), 0);
    CASE("no decoder for identity and unsupported");
    CHECK(elaine_decoder_new(NULL) == NULL);
    CHECK(elaine_decoder_new("identity") == NULL);
    CHECK(elaine_decoder_new("Identity") == NULL);
    CHECK(elaine_decoder_new("identity, identity") == NULL);
    CHECK(elaine_decoder_new(" , ") == NULL);
    CHECK(elaine_decoder_new("br, compress") == NULL);
    CHECK(elaine_decoder_new("zstd, zstd, zstd, zstd, zstd") == NULL);
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

    test_br();
    test_zstd();
    test_stacked();
    test_bombs();

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
