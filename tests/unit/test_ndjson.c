/* NDJSON decoder: lines under any slicing, CRLF, blank lines, a last line
 * without LF, and the line length bound. */
#include <stdint.h>

#include "check.h"
#include "elaine_buf.h"
#include "elaine_ndjson.h"

/* Each line as "[line]" so that line boundaries show. */
static void collect(void *ud, const char *line, size_t n)
{
    elaine_buf *b = ud;
    CHECK(line[n] == 0);
    elaine_buf_addc(b, '[');
    elaine_buf_add(b, line, n);
    elaine_buf_addc(b, ']');
}

static char *run(const char *in, size_t n, size_t max_line, size_t cut, size_t step, size_t *dropped)
{
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_ndjson *d = elaine_ndjson_new(max_line, collect, &b);
    CHECK(d != NULL);
    size_t off = 0;
    while (off < n) {
        size_t len = step ? step : (off < cut ? cut - off : n - off);
        if (off + len > n)
            len = n - off;
        elaine_ndjson_feed(d, in + off, len);
        off += len;
    }
    elaine_ndjson_finish(d);
    if (dropped)
        *dropped = elaine_ndjson_dropped(d);
    elaine_ndjson_free(d);
    return elaine_buf_take(&b);
}

/* Whole, split at every byte, and one byte at a time: always want. */
static void check_all(const char *name, const char *in, size_t max_line, const char *want, size_t want_dropped)
{
    CASE(name);
    size_t n = strlen(in), dropped = 0;
    char *got = run(in, n, max_line, SIZE_MAX, 0, &dropped);
    CHECK_STR(got, want);
    CHECK_INT(dropped, want_dropped);
    free(got);
    for (size_t cut = 0; cut <= n; cut++) {
        got = run(in, n, max_line, cut, 0, &dropped);
        if (strcmp(got, want) != 0 || dropped != want_dropped) {
            fprintf(stderr, "[%s] split at %zu: got %s (dropped %zu)\n", name, cut, got, dropped);
            check_failures++;
            free(got);
            break;
        }
        free(got);
    }
    got = run(in, n, max_line, 0, 1, &dropped);
    CHECK_STR(got, want);
    CHECK_INT(dropped, want_dropped);
    free(got);
}

int main(void)
{
    check_all("ollama stream",
              "{\"model\":\"llama3.2\",\"response\":\"The\",\"done\":false}\n"
              "{\"model\":\"llama3.2\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}\n",
              0,
              "[{\"model\":\"llama3.2\",\"response\":\"The\",\"done\":false}]"
              "[{\"model\":\"llama3.2\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}]",
              0);
    check_all("CRLF and blank lines", "{\"a\":1}\r\n\r\n  \n\t\r\n{\"b\":2}\r\n", 0, "[{\"a\":1}][{\"b\":2}]", 0);
    check_all("last line without LF", "{\"a\":1}\n{\"b\":2}", 0, "[{\"a\":1}][{\"b\":2}]", 0);
    check_all("last line with CR only at the end", "{\"a\":1}\r", 0, "[{\"a\":1}]", 0);
    check_all("leading spaces kept", "  {\"a\":1}  \n", 0, "[  {\"a\":1}  ]", 0);
    check_all("empty", "", 0, "", 0);
    check_all("only newlines", "\n\n\r\n", 0, "", 0);
    /* bound: 8 bytes per line (a CR counts) */
    check_all("line at the bound", "12345678\n1234567\r\n", 8, "[12345678][1234567]", 0);
    check_all("line over the bound dropped whole", "12345678\n123456789\nabc\n", 8, "[12345678][abc]", 1);
    check_all("CRLF line over the bound", "12345678\r\nabc\n", 8, "[abc]", 1);
    check_all("long last line without LF", "abc\n0123456789abcdef", 8, "[abc]", 1);
    check_all("two long lines", "0123456789\n0123456789\nok\n", 8, "[ok]", 2);
    /* a NUL inside a line is passed on with its length */
    CASE("NUL in a line");
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_ndjson *d = elaine_ndjson_new(0, collect, &b);
    elaine_ndjson_feed(d, "a\0b\n", 4);
    elaine_ndjson_finish(d);
    CHECK_MEM(b.p, b.len, "[a\0b]", 5);
    elaine_ndjson_free(d);
    elaine_buf_free(&b);
    elaine_ndjson_free(NULL);
    return check_done("test_ndjson");
}
