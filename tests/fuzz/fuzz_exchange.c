/* Fuzz target: the exchange layer (elaine_exchange_event), which ties the
 * HTTP/1 and HTTP/2 reassembly, content decoding, SSE/NDJSON and the
 * provider extractors together, fed shim events decoded from the input.
 * Input: 1 byte of options (bits 0-1: --content; bits 2-3: max_body; bit 4:
 * every 3rd record write fails as on a full disk), then events, each one op
 * byte (bits 0-2: kind; bits 3-4: connection 1..4; bits 5-7: the clock
 * advance) and its arguments:
 *   0 ConnOpen      1 byte: tls, ALPN, host, port from tables
 *   1 RequestStart  1 byte: request_no, gap, stack depth
 *   2 Data out      u16 length, bytes        3 Data in   (same)
 *   4 Close         5 Drop  1 byte: events, bytes
 *   6 Module        1 byte: path from a table
 *   7 odd cases     1 byte: a repeated seq, seq 0, or Data without direction
 * tests/fuzz/make_corpus.sh writes the fixtures of tests/data in this form.
 * Oracles: no crash, leak or UB; every record is one valid JSON object on
 * one line (fuzz_sink.h); the watermark never passes max_seq + 1; after
 * finish_all nothing is in flight and (writes succeeding) all is acked. */
#include <errno.h>
#include <string.h>

#include "elaine.pb-c.h"
#include "fuzz_sink.h"

static const char *const alpns[] = {"", "h2", "http/1.1", NULL};
static const char *const hosts[] = {"api.openai.com", "localhost", "", NULL,
                                    "generativelanguage.googleapis.com", "api.anthropic.com",
                                    "127.0.0.1", "x.openai.azure.com"};
static const uint32_t ports[] = {443, 80, 11434, 0};
static const char *const modules[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "", "/nonexistent",
                                      NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t opt = fz_byte(&data, &size);
    static const size_t max_bodies[] = {0, 16, 1024, 65536};
    fz_sink sink = {.content = (enum elaine_content)((opt & 3) % 3),
                    .fail_every = (opt & 16) ? 3 : 0};
    elaine_exchange_opts o = {
        .max_body = max_bodies[(opt >> 2) & 3],
        .sink = {.ud = &sink, .exchange = fz_sink_exchange, .drop = fz_sink_drop},
    };
    elaine_exchange_proc *p = elaine_exchange_proc_new(&o, 4242, 777, "/usr/bin/fuzz");
    if (!p)
        return 0;
    uint64_t seq = 0, mono = 1000000, wm = 0;
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    uint64_t stack[3] = {0x401000, 0x7f0000001234, 0};
    while (size > 0) {
        uint8_t op = fz_byte(&data, &size);
        uint64_t conn = 1 + ((op >> 3) & 3);
        mono += (uint64_t)(op >> 5) * 1000000;
        Elaine__Event e = ELAINE__EVENT__INIT;
        e.seq = ++seq;
        Elaine__ConnOpen co = ELAINE__CONN_OPEN__INIT;
        Elaine__RequestStart rs = ELAINE__REQUEST_START__INIT;
        Elaine__Data d = ELAINE__DATA__INIT;
        Elaine__Close cl = ELAINE__CLOSE__INIT;
        Elaine__Drop dr = ELAINE__DROP__INIT;
        Elaine__Module mo = ELAINE__MODULE__INIT;
        uint8_t a;
        switch (op & 7) {
        case 0:
            a = fz_byte(&data, &size);
            co.conn_id = conn;
            co.tls = a & 1;
            co.alpn = (char *)alpns[(a >> 1) & 3];
            co.host = (char *)hosts[(a >> 3) & 7];
            co.sni = co.host;
            co.port = ports[(a >> 6) & 3];
            co.mono_ns = mono;
            e.body_case = ELAINE__EVENT__BODY_CONN_OPEN;
            e.conn_open = &co;
            break;
        case 1:
            a = fz_byte(&data, &size);
            rs.conn_id = conn;
            rs.tid = 7;
            rs.wall_ns = 1796418191123456789ull + mono;
            rs.mono_ns = mono;
            rs.request_no = a & 7;
            rs.gap = (a >> 3) & 1;
            rs.n_stack = (a >> 4) & 3;
            rs.stack = rs.n_stack ? stack : NULL;
            e.body_case = ELAINE__EVENT__BODY_REQUEST_START;
            e.request_start = &rs;
            break;
        case 2:
        case 3: {
            size_t n = fz_u16(&data, &size);
            if (n > size)
                n = size;
            d.conn_id = conn;
            d.dir = (op & 7) == 2 ? ELAINE__DIRECTION__DIR_OUT : ELAINE__DIRECTION__DIR_IN;
            d.tid = 7;
            d.mono_ns = mono;
            d.data.data = (uint8_t *)data;
            d.data.len = n;
            data += n;
            size -= n;
            e.body_case = ELAINE__EVENT__BODY_DATA;
            e.data = &d;
            break;
        }
        case 4:
            cl.conn_id = conn;
            cl.mono_ns = mono;
            e.body_case = ELAINE__EVENT__BODY_CLOSE;
            e.close = &cl;
            break;
        case 5:
            a = fz_byte(&data, &size);
            dr.events = a & 15;
            dr.bytes = (uint64_t)(a >> 4) << 20;
            e.body_case = ELAINE__EVENT__BODY_DROP;
            e.drop = &dr;
            break;
        case 6:
            a = fz_byte(&data, &size);
            mo.path = (char *)modules[a & 3];
            mo.load_base = (uint64_t)a << 12;
            e.body_case = ELAINE__EVENT__BODY_MODULE;
            e.module = &mo;
            break;
        default:
            a = fz_byte(&data, &size);
            if ((a & 3) == 0 && seq > 1) {
                e.seq = seq - 1 - (a >> 2) % (seq - 1); /* an event seen before */
                seq--;
                e.body_case = ELAINE__EVENT__BODY_CLOSE;
                cl.conn_id = conn;
                e.close = &cl;
            } else if ((a & 3) == 1) {
                e.seq = 0; /* a ConnOpen re-announced after a reconnect */
                seq--;
                co.conn_id = conn;
                co.host = (char *)hosts[(a >> 2) & 7];
                co.tls = 1;
                e.body_case = ELAINE__EVENT__BODY_CONN_OPEN;
                e.conn_open = &co;
            } else if ((a & 3) == 2) {
                d.conn_id = conn; /* no direction */
                e.body_case = ELAINE__EVENT__BODY_DATA;
                e.data = &d;
            } /* else: an event without a body */
            break;
        }
        int rc = elaine_exchange_event(p, &e);
        FZ_ASSERT(rc == 0 || rc == 1 || rc == -EINVAL || rc == -ENOMEM);
        uint64_t w = elaine_exchange_watermark(p);
        if (verbose) /* FUZZ_VERBOSE=1: what each event did, to read a crash */
            fprintf(stderr, "seq %llu kind %d conn %llu: rc %d watermark %llu inflight %zu conns %zu\n",
                    (unsigned long long)e.seq, op & 7, (unsigned long long)conn, rc,
                    (unsigned long long)w, elaine_exchange_inflight(p), elaine_exchange_conns(p));
        FZ_ASSERT(w <= elaine_exchange_max_seq(p) + 1);
        /* (it may step back: a prior-knowledge HTTP/2 preface holds it at the
         * ConnOpen, maybe acked before; the collector never acks less) */
        if (w > wm)
            wm = w;
    }
    elaine_exchange_finish_all(p, ELAINE_ERR_SHUTDOWN);
    FZ_ASSERT(elaine_exchange_inflight(p) == 0);
    if (!sink.fail_every) /* everything is written: all of it may be acked */
        FZ_ASSERT(elaine_exchange_watermark(p) == elaine_exchange_max_seq(p) + 1);
    elaine_exchange_proc_free(p);
    return 0;
}
