/* Tests for the Prometheus metrics: series by provider, operation and model,
 * status classes, tokens, histograms, label escaping and the bound on series. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "elaine_metrics.h"

/* An exchange as the collector hands it over, with what the metrics read. */
static elaine_xrec xrec(const char *provider, const char *operation, const char *model, int status,
                        int64_t in, int64_t out, double duration_ms, double ttft_ms)
{
    elaine_xrec x;
    memset(&x, 0, sizeof(x));
    elaine_llm_init(&x.llm);
    x.llm.provider = provider;
    x.llm.operation = operation;
    x.llm.model = (char *)model;
    x.llm.input_tokens = in;
    x.llm.output_tokens = out;
    x.resp.present = status > 0;
    x.resp.status = status;
    x.duration_ms = duration_ms;
    x.ttft_ms = ttft_ms;
    x.ttfb_ms = -1;
    return x;
}

/* 1 when text has this whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

#define CHECK_LINE(text, line)                                                                   \
    do {                                                                                         \
        if (!has_line((text), (line))) {                                                         \
            fprintf(stderr, "%s:%d: [%s] no line: %s\n", __FILE__, __LINE__, check_case_name_, (line)); \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

static void test_counts(void)
{
    CASE("counts");
    elaine_metrics *m = elaine_metrics_new();
    CHECK(m != NULL);
    if (!m)
        return;
    elaine_xrec a = xrec("openai", "chat", "gpt-4o", 200, 10, 20, 120, -1);
    elaine_xrec b = xrec("openai", "chat", "gpt-4o", 200, 5, 7, 300, 40);
    elaine_xrec c = xrec("openai", "chat", "gpt-4o", 429, -1, -1, 3, -1);
    elaine_xrec d = xrec("anthropic", "messages", "claude-3-5-haiku", 0, -1, -1, -1, -1);
    d.error = "connection reset";
    elaine_xrec e = xrec(NULL, NULL, NULL, 200, -1, -1, 2, -1); /* GET /v1/models */
    b.llm.cached_input_tokens = 3;
    elaine_metrics_exchange(m, &a);
    elaine_metrics_exchange(m, &b);
    elaine_metrics_exchange(m, &c);
    elaine_metrics_exchange(m, &d);
    elaine_metrics_exchange(m, &e);
    elaine_counters cn = {.exchanges_written = 4, .sampled_out = 1, .dropped_events = 9, .clients = 2};
    elaine_metrics_gauges g = {.clients = 1, .processes = 3};
    elaine_buf out;
    elaine_buf_init(&out);
    elaine_metrics_render(m, &out, &cn, &g);
    const char *t = out.p;
    CHECK(t != NULL);
    if (!t)
        t = "";
    CHECK_LINE(t, "# TYPE elaine_exchanges_total counter");
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\",status=\"2xx\"} 2");
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\",status=\"4xx\"} 1");
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"anthropic\",operation=\"messages\",model=\"claude-3-5-haiku\","
                  "status=\"error\"} 1");
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"none\",operation=\"none\",model=\"\",status=\"2xx\"} 1");
    CHECK(!strstr(t, "status=\"5xx\"")); /* no zero series */
    CHECK_LINE(t, "elaine_tokens_total{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\",type=\"input\"} 15");
    CHECK_LINE(t, "elaine_tokens_total{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\",type=\"output\"} 27");
    CHECK_LINE(t, "elaine_tokens_total{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\",type=\"cached_input\"} 3");
    CHECK(!strstr(t, "type=\"reasoning\""));
    CHECK(!strstr(t, "elaine_tokens_total{provider=\"anthropic\""));
    /* durations 0.12, 0.3 and 0.003 s, cumulative buckets */
    CHECK_LINE(t, "# TYPE elaine_request_duration_seconds histogram");
    CHECK_LINE(t, "elaine_request_duration_seconds_bucket{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\","
                  "le=\"0.005\"} 1");
    CHECK_LINE(t, "elaine_request_duration_seconds_bucket{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\","
                  "le=\"0.1\"} 1");
    CHECK_LINE(t, "elaine_request_duration_seconds_bucket{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\","
                  "le=\"0.25\"} 2");
    CHECK_LINE(t, "elaine_request_duration_seconds_bucket{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\","
                  "le=\"0.5\"} 3");
    CHECK_LINE(t, "elaine_request_duration_seconds_bucket{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\","
                  "le=\"+Inf\"} 3");
    CHECK_LINE(t, "elaine_request_duration_seconds_sum{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\"} 0.423");
    CHECK_LINE(t, "elaine_request_duration_seconds_count{provider=\"openai\",operation=\"chat\",model=\"gpt-4o\"} 3");
    CHECK(!strstr(t, "elaine_request_duration_seconds_count{provider=\"anthropic\"")); /* no duration known */
    CHECK_LINE(t, "elaine_time_to_first_token_seconds_bucket{provider=\"openai\",operation=\"chat\","
                  "model=\"gpt-4o\",le=\"0.025\"} 0");
    CHECK_LINE(t, "elaine_time_to_first_token_seconds_bucket{provider=\"openai\",operation=\"chat\","
                  "model=\"gpt-4o\",le=\"0.05\"} 1");
    CHECK_LINE(t, "elaine_time_to_first_token_seconds_count{provider=\"openai\",operation=\"chat\","
                  "model=\"gpt-4o\"} 1");
    CHECK_LINE(t, "elaine_exchanges_written_total 4");
    CHECK_LINE(t, "elaine_sampled_out_total 1");
    CHECK_LINE(t, "elaine_dropped_events_total 9");
    CHECK_LINE(t, "elaine_clients_total 2");
    CHECK_LINE(t, "elaine_connected_clients 1");
    CHECK_LINE(t, "elaine_processes 3");
    CHECK_LINE(t, "elaine_build_info{version=\"" ELAINE_VERSION "\"} 1");
    /* every line a comment or "name{...} value" / "name value" */
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        if (!nl)
            break;
        CHECK(*p == '#' || (*p >= 'a' && *p <= 'z'));
        p = nl + 1;
    }
    elaine_buf_free(&out);
    elaine_metrics_free(m);
}

static void test_escaping_and_bound(void)
{
    CASE("escaping and bound");
    elaine_metrics *m = elaine_metrics_new();
    if (!m)
        return;
    elaine_xrec q = xrec("ollama", "chat", "we\"ird\\mo\ndel", 200, 1, 1, 5, -1);
    elaine_metrics_exchange(m, &q);
    /* more models than the bound: the rest under model="other" */
    char names[ELAINE_METRICS_MAX_SERIES + 50][16];
    for (int i = 0; i < ELAINE_METRICS_MAX_SERIES + 50; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        elaine_xrec x = xrec("openai", "chat", names[i], 200, 1, 2, 5, -1);
        elaine_metrics_exchange(m, &x);
        elaine_metrics_exchange(m, &x); /* the same series again */
    }
    elaine_buf out;
    elaine_buf_init(&out);
    elaine_metrics_render(m, &out, &(elaine_counters){0}, NULL);
    const char *t = out.p ? out.p : "";
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"ollama\",operation=\"chat\",model=\"we\\\"ird\\\\mo\\ndel\","
                  "status=\"2xx\"} 1");
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"openai\",operation=\"chat\",model=\"m0\",status=\"2xx\"} 2");
    /* one series is the ollama one: 255 openai models have their own, 51 go to other */
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"openai\",operation=\"chat\",model=\"m254\",status=\"2xx\"} 2");
    CHECK(!strstr(t, "model=\"m255\""));
    CHECK_LINE(t, "elaine_exchanges_total{provider=\"openai\",operation=\"chat\",model=\"other\",status=\"2xx\"} 102");
    CHECK_LINE(t, "elaine_tokens_total{provider=\"openai\",operation=\"chat\",model=\"other\",type=\"output\"} 204");
    CHECK_LINE(t, "elaine_metrics_uncounted_total 0");
    elaine_buf_free(&out);
    elaine_metrics_free(m);
}

int main(void)
{
    test_counts();
    test_escaping_and_bound();
    return check_done("test_metrics");
}
