/* elaine_sse: WHATWG event stream parsing (fields, multi-line data, comments,
 * line ends, BOM, finish); every stream also fed split at every byte and one
 * byte at a time, with identical events. */
#include "check.h"
#include "elaine_buf.h"
#include "elaine_sse.h"

static void on_event(void *ud, const char *event, const char *data, size_t n)
{
    elaine_buf *log = ud;
    CHECK(data[n] == 0);
    elaine_buf_addf(log, "EV [%s] %zu:", event, n);
    elaine_buf_add(log, data, n);
    elaine_buf_addc(log, '\n');
}

static char *run(const char *in, size_t n, size_t cut, size_t step, int finish)
{
    elaine_buf log;
    elaine_buf_init(&log);
    elaine_sse *s = elaine_sse_new(on_event, &log);
    CHECK(s != NULL);
    size_t off = 0;
    while (off < n) {
        size_t len = step ? step : (off < cut ? cut - off : n - off);
        if (off + len > n)
            len = n - off;
        elaine_sse_feed(s, in + off, len);
        off += len;
    }
    if (finish) {
        elaine_buf_adds(&log, "FINISH\n");
        elaine_sse_finish(s);
    }
    elaine_sse_free(s);
    return elaine_buf_take(&log);
}

static void check_stream(const char *name, const char *in, size_t n, int finish, const char *want)
{
    CASE(name);
    char *got = run(in, n, n, 0, finish);
    CHECK_STR(got, want);
    free(got);
    for (size_t cut = 0; cut <= n; cut++) {
        got = run(in, n, cut, 0, finish);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "[%s] split at %zu differs:\n%s\n", name, cut, got);
            check_failures++;
            free(got);
            break;
        }
        free(got);
    }
    got = run(in, n, 0, 1, finish);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "[%s] one-byte slices differ:\n%s\n", name, got);
        check_failures++;
    }
    free(got);
}

#define STREAM(name, in, finish, want) check_stream(name, in, sizeof(in) - 1, finish, want)

int main(void)
{
    STREAM("openai-like data events", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", 1,
           "EV [] 7:{\"a\":1}\n"
           "EV [] 7:{\"b\":2}\n"
           "EV [] 6:[DONE]\n"
           "FINISH\n");

    STREAM("event types, reset after dispatch", "event: message_start\ndata: {\"x\":1}\n\ndata: plain\n\n", 1,
           "EV [message_start] 7:{\"x\":1}\n"
           "EV [] 5:plain\n"
           "FINISH\n");

    STREAM("multi-line data joined by LF", "data: line one\ndata: line two\ndata:\ndata: four\n\n", 0,
           "EV [] 23:line one\nline two\n\nfour\n");

    STREAM("one leading space stripped, only one", "data:x\n\ndata: x\n\ndata:  x\n\ndata: \n\n", 0,
           "EV [] 1:x\n"
           "EV [] 1:x\n"
           "EV [] 2: x\n"
           "EV [] 0:\n");

    STREAM("field without colon", "data\n\nevent\ndata\ndata\n\n", 0,
           "EV [] 0:\n"
           "EV [] 1:\n\n");

    STREAM("comments, id, retry and unknown fields ignored",
           ": keep-alive\n:\nid: 7\nretry: 1000\nfoo: bar\ndata: ok\n: inside\n\n", 0, "EV [] 2:ok\n");

    STREAM("event without data is not dispatched and its type is reset",
           "event: ping\n\ndata: after\n\n", 0, "EV [] 5:after\n");

    STREAM("value with colons", "data: a:b: c\nevent: e:f\n\n", 0, "EV [e:f] 6:a:b: c\n");

    STREAM("CRLF line ends", "event: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", 0,
           "EV [x] 3:a\nb\n"
           "EV [] 1:c\n");

    STREAM("CR line ends", "data: a\rdata: b\r\rdata: c\r\r", 0,
           "EV [] 3:a\nb\n"
           "EV [] 1:c\n");

    STREAM("mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r", 0,
           "EV [] 5:a\nb\nc\n"
           "EV [] 1:d\n");

    STREAM("CR CR LF is two line ends", "data: a\r\r\ndata: b\n\n", 0,
           "EV [] 1:a\n"
           "EV [] 1:b\n");

    STREAM("BOM stripped at the start", "\xef\xbb\xbf" "data: bom\n\n", 0, "EV [] 3:bom\n");
    STREAM("BOM only at the start", "\xef\xbb\xbf\xef\xbb\xbf" "data: x\n\ndata: \xef\xbb\xbfy\n\n", 0,
           "EV [] 4:\xef\xbb\xbfy\n");
    STREAM("partial BOM is content", "\xef\xbb" "data: x\n\ndata: y\n\n", 0, "EV [] 1:y\n");

    STREAM("finish dispatches a pending event", "data: a\n\ndata: tail", 1,
           "EV [] 1:a\n"
           "FINISH\n"
           "EV [] 4:tail\n");
    STREAM("finish with complete line but no blank line", "event: e\ndata: x\ndata: y\n", 1,
           "FINISH\n"
           "EV [e] 3:x\ny\n");
    STREAM("finish with only an event type", "event: e\n", 1, "FINISH\n");
    STREAM("finish after trailing CR", "data: z\r", 1, "FINISH\nEV [] 1:z\n");
    STREAM("empty stream", "", 1, "FINISH\n");

    STREAM("NUL bytes pass through", "data: a\0b\n\n", 0, "EV [] 3:a\0b\n");

    {
        /* a long line in many pieces */
        CASE("long data line");
        elaine_buf in, want;
        elaine_buf_init(&in);
        elaine_buf_init(&want);
        elaine_buf_adds(&in, "data: ");
        for (int i = 0; i < 200000; i++)
            elaine_buf_addc(&in, (char)('a' + i % 26));
        elaine_buf_adds(&in, "\n\n");
        elaine_buf_adds(&want, "EV [] 200000:");
        elaine_buf_add(&want, in.p + 6, 200000);
        elaine_buf_addc(&want, '\n');
        for (size_t step = 1; step < 70000; step = step * 3 + 1) {
            char *got = run(in.p, in.len, 0, step, 0);
            CHECK_MEM(got, strlen(got), want.p, want.len);
            free(got);
        }
        elaine_buf_free(&in);
        elaine_buf_free(&want);
    }
    return check_done("test_sse");
}
