/* The log's compression settings side by side on one file of JSON lines,
 * fed in pieces as the collector's batches feed the shadow: speed (best of
 * several repetitions) and ratio of each. Backs the choices in
 * collector/elaine_logw.c (frames, window, match table, zstd reading the
 * frame in place from the writer's buffer).
 *
 * Usage: zstd_shadow FILE [piece bytes, default 120000] [repetitions, default 5]
 * FILE: a log (an elaine.jsonl), or tests/bench/varied_log.py's output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_stableInBuffer */
#include <zstd.h>

struct cfg {
    const char *name;
    int window_log; /* 0: the level's; else frames of 1 << window_log bytes */
    int hash_log;   /* 0: the level's */
    int stable;     /* frames read in place (ZSTD_c_stableInBuffer): no copy into zstd's buffer */
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Compresses d[0..n) in pieces of piece bytes as one stream (frames ending
 * every 1 << window_log bytes when set); the bytes it made. */
static size_t run(const struct cfg *c, const char *d, size_t n, size_t piece, char *out, size_t cap)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    if (c->window_log)
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, c->window_log);
    if (c->hash_log)
        ZSTD_CCtx_setParameter(cc, ZSTD_c_hashLog, c->hash_log);
    if (c->stable)
        ZSTD_CCtx_setParameter(cc, ZSTD_c_stableInBuffer, 1);
    size_t frame = c->window_log ? (size_t)1 << c->window_log : (size_t)-1, in_frame = 0, op = 0;
    ZSTD_inBuffer sib = {d, 0, 0}; /* stable: the frame so far, in place */
    for (size_t p = 0; p < n;) {
        size_t k = n - p < piece ? n - p : piece;
        if (k > frame - in_frame)
            k = frame - in_frame;
        in_frame += k;
        ZSTD_EndDirective m = in_frame == frame ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer pib = {d + p, k, 0}, *ib = &pib;
        if (c->stable) {
            sib.size += k;
            ib = &sib;
        }
        size_t left;
        do {
            ZSTD_outBuffer ob = {out + op, cap - op, 0};
            left = ZSTD_compressStream2(cc, &ob, ib, m);
            op += ob.pos;
        } while (!ZSTD_isError(left) && (m == ZSTD_e_end ? left != 0 : ib->pos < ib->size));
        if (ZSTD_isError(left)) {
            fprintf(stderr, "zstd_shadow: %s\n", ZSTD_getErrorName(left));
            exit(1);
        }
        p += k;
        if (in_frame == frame) {
            in_frame = 0;
            sib = (ZSTD_inBuffer){d + p, 0, 0};
        }
    }
    size_t left;
    do {
        ZSTD_inBuffer ib = c->stable ? sib : (ZSTD_inBuffer){NULL, 0, 0};
        ZSTD_outBuffer ob = {out + op, cap - op, 0};
        left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        op += ob.pos;
    } while (!ZSTD_isError(left) && left != 0);
    ZSTD_freeCCtx(cc);
    return op;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: zstd_shadow FILE [piece bytes] [repetitions]\n");
        return 2;
    }
    size_t piece = argc > 2 ? strtoul(argv[2], NULL, 10) : 120000;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    FILE *f = fopen(argv[1], "rb");
    if (!f || fseek(f, 0, SEEK_END) < 0) {
        perror(argv[1]);
        return 1;
    }
    long len = ftell(f);
    rewind(f);
    size_t n = len > 0 ? (size_t)len : 0, cap = ZSTD_compressBound(n) + (1 << 20);
    char *d = malloc(n ? n : 1), *out = malloc(cap);
    if (!d || !out || fread(d, 1, n, f) != n || !piece) {
        fprintf(stderr, "zstd_shadow: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    const struct cfg cfgs[] = {
        {"one frame, level 1's window and table", 0, 0, 0},
        {"2 MiB frames, 2 MiB window", 21, 0, 0},
        {"2 MiB frames, 2 MiB window, hashLog 15 (the collector's)", 21, 15, 0},
        {"2 MiB frames, 2 MiB window, hashLog 16", 21, 16, 0},
        {"the collector's, read in place (stableInBuffer)", 21, 15, 1},
    };
    size_t nc = sizeof(cfgs) / sizeof(cfgs[0]);
    double best[sizeof(cfgs) / sizeof(cfgs[0])];
    size_t size[sizeof(cfgs) / sizeof(cfgs[0])];
    for (size_t i = 0; i < nc; i++)
        best[i] = 1e30;
    for (int r = 0; r < reps; r++) /* alternating, so that noise hits all alike */
        for (size_t i = 0; i < nc; i++) {
            double t0 = now();
            size[i] = run(&cfgs[i], d, n, piece, out, cap);
            double t = now() - t0;
            if (t < best[i])
                best[i] = t;
        }
    printf("%s: %zu bytes in pieces of %zu, best of %d\n", argv[1], n, piece, reps);
    for (size_t i = 0; i < nc; i++)
        printf("  %-58s %6.0f MB/s  ratio %6.2f  time %.2fx, size %.2fx of the first\n", cfgs[i].name,
               (double)n / best[i] / 1e6, (double)n / (double)size[i], best[i] / best[0],
               (double)size[i] / (double)size[0]);
    free(d);
    free(out);
    return 0;
}
