/* Fuzz target: the text/event-stream decoder (elaine_sse).
 * Input: 1 byte of slicing, then the stream.
 * Oracles: no crash, leak or UB; every event's data is NUL-terminated at
 * data_len; the events do not depend on how the stream was sliced (the
 * same input fed whole gives the same events). */
#include <string.h>

#include "elaine_buf.h"
#include "elaine_sse.h"
#include "fuzz_util.h"

static void on_event(void *ud, const char *event, const char *data, size_t n)
{
    elaine_buf *b = ud;
    FZ_ASSERT(event && data);
    FZ_ASSERT(data[n] == 0);
    /* event and data, framed so that different splits cannot collide */
    elaine_buf_addf(b, "%zu:", strlen(event));
    elaine_buf_adds(b, event);
    elaine_buf_addf(b, "|%zu:", n);
    elaine_buf_add(b, data, n);
}

static void run(const uint8_t *data, size_t size, uint8_t mode, elaine_buf *out)
{
    fz_slicer sl;
    fz_slicer_init(&sl, mode);
    elaine_sse *s = elaine_sse_new(on_event, out);
    if (!s)
        abort();
    for (size_t off = 0; off < size;) {
        size_t k = fz_slice(&sl, size - off);
        elaine_sse_feed(s, (const char *)data + off, k);
        off += k;
    }
    elaine_sse_finish(s);
    elaine_sse_finish(s); /* twice: nothing more */
    elaine_sse_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = fz_byte(&data, &size);
    elaine_buf a, b;
    elaine_buf_init(&a);
    elaine_buf_init(&b);
    run(data, size, mode, &a);
    run(data, size, 0, &b);
    if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0)) {
        fprintf(stderr, "sliced (mode %u): %.*s\nwhole: %.*s\n", mode, (int)a.len,
                a.p ? a.p : "", (int)b.len, b.p ? b.p : "");
        abort();
    }
    elaine_buf_free(&a);
    elaine_buf_free(&b);
    return 0;
}
