/* Fuzz target: the newline-delimited JSON decoder (elaine_ndjson).
 * Input: 1 byte of slicing, 1 byte choosing max_line (0: the default, else
 * a small limit so that long lines are dropped), then the stream.
 * Oracles: no crash, leak or UB; every line is NUL-terminated, holds no LF,
 * is not blank and is at most max_line bytes; slicing changes nothing. */
#include <string.h>

#include "elaine_buf.h"
#include "elaine_ndjson.h"
#include "fuzz_util.h"

typedef struct st {
    elaine_buf out;
    size_t max_line;
} st;

static void on_line(void *ud, const char *line, size_t n)
{
    st *s = ud;
    FZ_ASSERT(line && line[n] == 0);
    FZ_ASSERT(memchr(line, '\n', n) == NULL);
    FZ_ASSERT(n <= s->max_line);
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    FZ_ASSERT(i < n); /* blank lines are not passed */
    elaine_buf_addf(&s->out, "%zu:", n);
    elaine_buf_add(&s->out, line, n);
}

static size_t run(const uint8_t *data, size_t size, uint8_t mode, size_t max_line, st *s)
{
    fz_slicer sl;
    fz_slicer_init(&sl, mode);
    s->max_line = max_line ? max_line : (8u << 20);
    elaine_ndjson *d = elaine_ndjson_new(max_line, on_line, s);
    if (!d)
        abort();
    for (size_t off = 0; off < size;) {
        size_t k = fz_slice(&sl, size - off);
        elaine_ndjson_feed(d, (const char *)data + off, k);
        off += k;
    }
    elaine_ndjson_finish(d);
    size_t dropped = elaine_ndjson_dropped(d);
    elaine_ndjson_free(d);
    return dropped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = fz_byte(&data, &size);
    uint8_t lim = fz_byte(&data, &size);
    size_t max_line = lim ? (size_t)lim : 0;
    st a = {0}, b = {0};
    elaine_buf_init(&a.out);
    elaine_buf_init(&b.out);
    size_t da = run(data, size, mode, max_line, &a);
    size_t db = run(data, size, 0, max_line, &b);
    FZ_ASSERT(da == db);
    FZ_ASSERT(a.out.len == b.out.len && (a.out.len == 0 || memcmp(a.out.p, b.out.p, a.out.len) == 0));
    elaine_buf_free(&a.out);
    elaine_buf_free(&b.out);
    return 0;
}
