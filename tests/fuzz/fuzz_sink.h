/* The exchange sink of the fuzz targets that drive the exchange layer: every
 * record is written as the collector writes it and must be one valid JSON
 * object on one line, whatever the captured bytes were. */
#ifndef ELAINE_FUZZ_SINK_H
#define ELAINE_FUZZ_SINK_H

#include <string.h>

#include "elaine_exchange.h"
#include "elaine_json.h"
#include "elaine_metrics.h"
#include "elaine_record.h"
#include "fuzz_util.h"

typedef struct fz_sink {
    enum elaine_content content;
    int fail_every; /* > 0: every n-th write "fails" (-ENOSPC), as on a full disk */
    unsigned writes;
    unsigned records;
} fz_sink;

/* Every exchange counted for /metrics, and the page checked: each line a comment or
 * "elaine_<name>[{labels}] <number>", whatever the model names were. */
static void fz_check_metrics(const elaine_xrec *x)
{
    static elaine_metrics *m;
    if (!m)
        m = elaine_metrics_new();
    FZ_ASSERT(m != NULL);
    elaine_metrics_exchange(m, x);
    static unsigned n;
    if (n++ % 16) /* (the page grows with the series: rendered now and then; the series stay) */
        return;
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_metrics_render(m, &b, &(elaine_counters){0}, NULL);
    FZ_ASSERT(!b.oom && b.len > 0 && b.p[b.len - 1] == '\n');
    for (const char *p = b.p, *end = b.p + b.len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        FZ_ASSERT(nl != NULL);
        FZ_ASSERT((nl - p >= 2 && p[0] == '#' && p[1] == ' ') ||
                  (nl - p > 9 && memcmp(p, "elaine_", 7) == 0 && nl[-1] >= '0' && nl[-1] <= '9'));
        p = nl + 1;
    }
    elaine_buf_free(&b);
}

static int fz_sink_exchange(void *ud, const elaine_xrec *x)
{
    fz_sink *s = ud;
    fz_check_metrics(x);
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_exchange(&b, x, s->content);
    FZ_ASSERT(!b.oom);
    FZ_ASSERT(b.len > 0 && b.p[0] == '{');
    FZ_ASSERT(memchr(b.p, '\n', b.len) == NULL); /* one record, one line */
    ej_val *v = elaine_json_parse(b.p, b.len);
    if (!v)
        fprintf(stderr, "record is not JSON: %.*s\n", (int)(b.len > 2000 ? 2000 : b.len), b.p);
    FZ_ASSERT(v != NULL);
    FZ_ASSERT(elaine_json_type(v) == EJ_OBJ);
    FZ_ASSERT(elaine_json_get(v, "id") && elaine_json_str(elaine_json_get(v, "id")));
    const ej_val *t = elaine_json_get(v, "type");
    FZ_ASSERT(t && elaine_json_str(t) && strcmp(elaine_json_str(t), "exchange") == 0);
    elaine_json_free(v);
    elaine_buf_free(&b);
    s->records++;
    if (s->fail_every > 0 && ++s->writes % (unsigned)s->fail_every == 0)
        return -ENOSPC;
    return 0;
}

static int fz_sink_drop(void *ud, uint32_t pid, uint64_t events, uint64_t bytes)
{
    (void)ud;
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_drop(&b, 1796418191123456789ull, pid, events, bytes);
    ej_val *v = elaine_json_parse(b.p, b.len);
    FZ_ASSERT(v != NULL);
    elaine_json_free(v);
    elaine_buf_free(&b);
    return 0;
}

#endif
