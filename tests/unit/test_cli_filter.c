/* Tests for the elaine reader's filters: times, durations, flag parsing, matching records. */
#include "elaine_cli_filter.h"
#include "elaine_cli_rec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static ej_val *parse(const char *s)
{
    ej_val *v = elaine_json_parse(s, strlen(s));
    CHECK(v != NULL);
    return v;
}

static int opt(elaine_cli_filter *f, const char *a, const char *b)
{
    char *argv[3] = {(char *)a, (char *)b, NULL};
    int argc = b ? 2 : 1, i = 0;
    int rc = elaine_cli_filter_opt(f, argc, argv, &i);
    return rc;
}

int main(void)
{
    int64_t us;
    setenv("TZ", "UTC", 1);
    tzset();

    CASE("RFC 3339");
    CHECK_INT(elaine_cli_time_parse("2026-12-04T21:03:11.123456Z", &us), 0);
    CHECK_INT(us, 1796418191123456LL);
    CHECK_INT(elaine_cli_time_parse("2026-12-04T22:03:11.123456+01:00", &us), 0);
    CHECK_INT(us, 1796418191123456LL);
    CHECK_INT(elaine_cli_time_parse("2026-12-04T21:03:11.5Z", &us), 0);
    CHECK_INT(us, 1796418191500000LL);
    CHECK_INT(elaine_cli_time_parse("1970-01-01T00:00:00Z", &us), 0);
    CHECK_INT(us, 0);
    CHECK_INT(elaine_cli_time_parse("2026-12-04 21:03", &us), 0); /* local = UTC here */
    CHECK_INT(us, 1796418180000000LL);
    CHECK_INT(elaine_cli_time_parse("2026-12-04", &us), 0);
    CHECK_INT(us, 1796342400000000LL);
    CHECK_INT(elaine_cli_time_parse("2026-13-04T00:00:00Z", &us), -1);
    CHECK_INT(elaine_cli_time_parse("2026-12-04T21:03:11.Z", &us), -1);
    CHECK_INT(elaine_cli_time_parse("2026-12-04T21:03:11Zx", &us), -1);
    CHECK_INT(elaine_cli_time_parse("yesterday", &us), -1);

    CASE("local time formatting");
    char t[40];
    elaine_cli_time_local(1796418191123456LL, t, sizeof(t));
    CHECK_STR(t, "2026-12-04 21:03:11.123");

    CASE("durations");
    int64_t now = 1796418191000000LL;
    CHECK_INT(elaine_cli_filter_time("15m", now, &us), 0);
    CHECK_INT(now - us, 15 * 60 * 1000000LL);
    CHECK_INT(elaine_cli_filter_time("2h", now, &us), 0);
    CHECK_INT(now - us, 7200 * 1000000LL);
    CHECK_INT(elaine_cli_filter_time("1h30m", now, &us), 0);
    CHECK_INT(now - us, 5400 * 1000000LL);
    CHECK_INT(elaine_cli_filter_time("7d", now, &us), 0);
    CHECK_INT(now - us, 7 * 86400 * 1000000LL);
    CHECK_INT(elaine_cli_filter_time("1w", now, &us), 0);
    CHECK_INT(now - us, 7 * 86400 * 1000000LL);
    CHECK_INT(elaine_cli_filter_time("250ms", now, &us), 0);
    CHECK_INT(now - us, 250000);
    CHECK_INT(elaine_cli_filter_time("now", now, &us), 0);
    CHECK_INT(us, now);
    CHECK_INT(elaine_cli_filter_time("15", now, &us), -1);
    CHECK_INT(elaine_cli_filter_time("m", now, &us), -1);
    CHECK_INT(elaine_cli_filter_time("15x", now, &us), -1);
    CHECK_INT(elaine_cli_filter_time("", now, &us), -1);

    CASE("flags");
    elaine_cli_filter f;
    elaine_cli_filter_init(&f);
    f.now = now;
    CHECK_INT(opt(&f, "--since", "1h"), 1);
    CHECK_INT(f.since, now - 3600 * 1000000LL);
    CHECK_INT(opt(&f, "--until=2026-12-04T21:00:00Z", NULL), 1);
    CHECK_INT(f.until, 1796418000000000LL);
    CHECK_INT(opt(&f, "--since", "soon"), -1);
    CHECK_INT(opt(&f, "--since", NULL), -1);
    CHECK_INT(opt(&f, "--provider", "openai"), 1);
    CHECK_INT(opt(&f, "--provider=anthropic", NULL), 1);
    CHECK_INT(f.provider.n, 2);
    CHECK_INT(opt(&f, "--status", "5xx"), 1);
    CHECK_INT(opt(&f, "--status", "error"), 1);
    CHECK_INT(opt(&f, "--status", "6xx"), -1);
    CHECK_INT(opt(&f, "--status", "20"), -1);
    CHECK_INT(opt(&f, "--grep", "hello"), 1);
    CHECK_STR(f.grep, "hello");
    CHECK_INT(opt(&f, "--model", ""), -1);
    CHECK_INT(opt(&f, "--dir", "x"), 0);
    CHECK_INT(opt(&f, "--providers", "x"), 0);
    elaine_cli_filter_free(&f);

    CASE("matching");
    ej_val *ok = parse("{\"type\":\"exchange\",\"id\":\"a\",\"ts\":\"2026-12-04T21:03:11.000000Z\","
                       "\"exe\":\"/usr/bin/python3.11\",\"host\":\"api.openai.com\",\"port\":443,"
                       "\"request\":{\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"Find the INVOICE\"}]}},"
                       "\"response\":{\"status\":200},\"llm\":{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\","
                       "\"response_model\":\"gpt-4o-mini-2024-07-18\",\"output_text\":\"Here it is\"},\"error\":null}");
    ej_val *bad = parse("{\"type\":\"exchange\",\"id\":\"b\",\"ts\":\"2026-12-04T21:05:00.000000Z\","
                        "\"host\":\"localhost\",\"port\":11434,\"response\":null,\"llm\":{\"provider\":\"ollama\"},"
                        "\"error\":\"connection reset\"}");
    elaine_cli_filter_init(&f);
    CHECK(elaine_cli_filter_match(&f, ok) && elaine_cli_filter_match(&f, bad));
    f.since = 1796418192000000LL; /* after ok */
    CHECK(!elaine_cli_filter_match(&f, ok) && elaine_cli_filter_match(&f, bad));
    f.since = ELAINE_CLI_NO_TIME;
    f.until = 1796418192000000LL;
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    f.until = ELAINE_CLI_NO_TIME;
    const char *pat[1];
    f.model = (elaine_cli_list){pat, 1};
    pat[0] = "gpt-4o*";
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    pat[0] = "gpt-4o-mini-2024-07-18"; /* the response model counts too */
    CHECK(elaine_cli_filter_match(&f, ok));
    f.model = (elaine_cli_list){0};
    f.host = (elaine_cli_list){pat, 1};
    pat[0] = "localhost:11434";
    CHECK(!elaine_cli_filter_match(&f, ok) && elaine_cli_filter_match(&f, bad));
    f.host = (elaine_cli_list){0};
    f.exe = (elaine_cli_list){pat, 1};
    pat[0] = "python3*";
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    f.exe = (elaine_cli_list){0};
    f.status = (elaine_cli_list){pat, 1};
    pat[0] = "error";
    CHECK(!elaine_cli_filter_match(&f, ok) && elaine_cli_filter_match(&f, bad));
    pat[0] = "2xx";
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    pat[0] = "200";
    CHECK(elaine_cli_filter_match(&f, ok));
    pat[0] = "ok";
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    f.status = (elaine_cli_list){0};
    f.grep = "invoice";
    CHECK(elaine_cli_filter_match(&f, ok) && !elaine_cli_filter_match(&f, bad));
    f.grep = "HERE IT";
    CHECK(elaine_cli_filter_match(&f, ok));
    f.grep = "nowhere";
    CHECK(!elaine_cli_filter_match(&f, ok));
    CHECK_STR(elaine_cli_filter_needle(&f), "nowhere");
    f.grep = "say \"hi\"";
    CHECK(elaine_cli_filter_needle(&f) == NULL);

    CASE("record accessors");
    char st[16];
    elaine_cli_rec_status(ok, st, sizeof(st));
    CHECK_STR(st, "200");
    elaine_cli_rec_status(bad, st, sizeof(st));
    CHECK_STR(st, "error");
    CHECK_STR(elaine_cli_rec_model(ok), "gpt-4o-mini");
    CHECK(elaine_cli_rec_model(bad) == NULL);
    CHECK_INT(elaine_cli_rec_failed(ok), 0);
    CHECK_INT(elaine_cli_rec_failed(bad), 1);
    CHECK(elaine_cli_contains("Hello World", 11, "o w"));
    CHECK(!elaine_cli_contains("Hello", 5, "hello!"));
    elaine_json_free(ok);
    elaine_json_free(bad);
    return check_done("test_cli_filter");
}
