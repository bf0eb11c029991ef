/* Shared helpers of the fuzz targets: how an input is cut into the slices a
 * push parser is fed (parsers must not care how bytes arrive), and a hard
 * failure that libFuzzer reports as a crash. */
#ifndef ELAINE_FUZZ_UTIL_H
#define ELAINE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An oracle failed: print why and crash (libFuzzer saves the input). */
#define FZ_ASSERT(cond)                                                                          \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: FZ_ASSERT failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* Slicing, chosen by one byte of the input:
 *   0      the whole input in one call
 *   1      one byte at a time
 *   2..255 pseudo-random slices of 1 .. 2^(1 + b % 12) bytes, seeded by b */
typedef struct fz_slicer {
    uint8_t mode;
    uint32_t rng;
    size_t max;
} fz_slicer;

static inline void fz_slicer_init(fz_slicer *s, uint8_t b)
{
    s->mode = b;
    s->rng = 0x9e3779b9u ^ ((uint32_t)b * 2654435761u);
    s->max = (size_t)1 << (1 + b % 12);
}

static inline uint32_t fz_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Length of the next slice, 1 .. left (left > 0). */
static inline size_t fz_slice(fz_slicer *s, size_t left)
{
    if (s->mode == 0)
        return left;
    if (s->mode == 1)
        return 1;
    size_t k = 1 + fz_rand(&s->rng) % s->max;
    return k < left ? k : left;
}

/* Takes one byte off the front of the input (0 when it is empty). */
static inline uint8_t fz_byte(const uint8_t **p, size_t *n)
{
    if (*n == 0)
        return 0;
    uint8_t b = **p;
    (*p)++;
    (*n)--;
    return b;
}

/* A little-endian u16 off the front (missing bytes are 0). */
static inline uint16_t fz_u16(const uint8_t **p, size_t *n)
{
    uint16_t lo = fz_byte(p, n);
    return (uint16_t)(lo | (uint16_t)fz_byte(p, n) << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
