/* Tiny assertion helpers for the unit tests: a failed CHECK prints the case and
 * the location and counts; main() returns check_failures != 0. */
#ifndef ELAINE_TEST_CHECK_H
#define ELAINE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static const char *check_case_name_ = "";

#define CASE(name) (check_case_name_ = (name))

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, check_case_name_, #cond); \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

/* Strings: NULL-safe, prints both sides. */
#define CHECK_STR(got, want)                                                                     \
    do {                                                                                         \
        const char *g_ = (got), *w_ = (want);                                                    \
        if (!(g_ == w_ || (g_ && w_ && strcmp(g_, w_) == 0))) {                                  \
            fprintf(stderr, "%s:%d: [%s] %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,       \
                    check_case_name_, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                    \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

/* Byte strings of known length. */
#define CHECK_MEM(got, glen, want, wlen)                                                         \
    do {                                                                                         \
        size_t gl_ = (glen), wl_ = (wlen);                                                       \
        const char *g_ = (const char *)(got), *w_ = (const char *)(want);                        \
        if (gl_ != wl_ || (gl_ && memcmp(g_, w_, gl_) != 0)) {                                   \
            fprintf(stderr, "%s:%d: [%s] %s: got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"\n",  \
                    __FILE__, __LINE__, check_case_name_, #got, gl_, (int)(gl_ > 400 ? 400 : gl_),     \
                    g_ ? g_ : "", wl_, (int)(wl_ > 400 ? 400 : wl_), w_ ? w_ : "");             \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

#define CHECK_INT(got, want)                                                                     \
    do {                                                                                         \
        long long g_ = (long long)(got), w_ = (long long)(want);                                 \
        if (g_ != w_) {                                                                          \
            fprintf(stderr, "%s:%d: [%s] %s: got %lld, want %lld\n", __FILE__, __LINE__,         \
                    check_case_name_, #got, g_, w_);                                                   \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

static inline int check_done(const char *prog)
{
    if (check_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", prog, check_failures);
    return check_failures ? 1 : 0;
}

/* Reads $ELAINE_TEST_DATA/rel (default: tests/data from the source tree
 * relative to the working directory). Caller frees; exits when missing. */
static inline char *check_read_data(const char *rel, size_t *len)
{
    const char *dir = getenv("ELAINE_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/data", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fopen() \"%s\" failed (is ELAINE_TEST_DATA set?)\n", path);
        exit(2);
    }
    size_t cap = 4096, n = 0;
    char *p = malloc(cap + 1);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *np = realloc(p, cap * 2 + 1);
            if (!np) {
                free(p);
                p = NULL;
                break;
            }
            p = np;
            cap *= 2;
        }
    }
    fclose(f);
    if (!p) {
        fprintf(stderr, "out of memory reading \"%s\"\n", path);
        exit(2);
    }
    p[n] = 0;
    *len = n;
    return p;
}

#endif
