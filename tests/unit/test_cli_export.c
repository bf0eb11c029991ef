/* Tests for elaine export: which exchanges make fine-tuning lines, and the OTLP/JSON span's shape. */
#include "elaine_cli_conv.h"
#include "elaine_cli_export.h"
#include "elaine_cli_filter.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static const char *REC =
    "{\"type\":\"exchange\",\"id\":\"9-1-2-3\",\"ts\":\"2026-12-04T21:03:11.123456Z\",\"pid\":9,"
    "\"exe\":\"/usr/bin/python3.11\",\"host\":\"api.openai.com\",\"port\":443,"
    "\"request\":{\"body\":{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}},"
    "\"response\":{\"status\":%d,\"body\":{\"id\":\"chatcmpl-7\"}},"
    "\"llm\":{\"provider\":\"openai\",\"operation\":\"%s\",\"model\":\"gpt-4o\",\"response_model\":\"gpt-4o-2024\","
    "\"input_tokens\":3,\"output_tokens\":5,\"finish_reason\":\"stop\",\"output_text\":%s},"
    "\"timing\":{\"duration_ms\":12.5},\"error\":%s}";

static ej_val *rec(int status, const char *op, const char *text, const char *err)
{
    char s[2048];
    snprintf(s, sizeof(s), REC, status, op, text, err);
    ej_val *v = elaine_json_parse(s, strlen(s));
    CHECK(v != NULL);
    return v;
}

static int openai_line(ej_val *v, elaine_buf *b)
{
    elaine_buf_reset(b);
    int rc = elaine_cli_export_openai(b, v);
    elaine_json_free(v);
    return rc;
}

int main(void)
{
    elaine_buf b;
    elaine_buf_init(&b);

    CASE("openai: a successful chat exchange");
    CHECK_INT(openai_line(rec(200, "chat", "\"Hello\"", "null"), &b), 1);
    CHECK_STR(b.p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"}]}");
    CASE("openai: left out");
    CHECK_INT(openai_line(rec(429, "chat", "\"Hello\"", "null"), &b), 0);
    CHECK_INT(openai_line(rec(200, "chat", "\"Hello\"", "\"connection reset\""), &b), 0);
    CHECK_INT(openai_line(rec(200, "embeddings", "\"Hello\"", "null"), &b), 0);
    CHECK_INT(openai_line(rec(200, "chat", "null", "null"), &b), 0); /* no reply */

    CASE("otlp: one span, GenAI attributes, OTLP/JSON encodings");
    ej_val *v = rec(200, "chat", "\"Hello\"", "null");
    elaine_buf_reset(&b);
    CHECK_INT(elaine_cli_export_otlp(&b, v), 1);
    ej_val *o = elaine_json_parse(b.p, b.len);
    CHECK(o != NULL);
    const ej_val *rs = elaine_json_at(elaine_json_get(o, "resourceSpans"), 0);
    const ej_val *ss = elaine_json_at(elaine_json_get(rs, "scopeSpans"), 0);
    CHECK_STR(elaine_json_str(elaine_json_path(ss, "scope.name")), "memoryelaine");
    const ej_val *sp = elaine_json_at(elaine_json_get(ss, "spans"), 0);
    CHECK_STR(elaine_json_str(elaine_json_get(sp, "name")), "chat gpt-4o");
    CHECK_STR(elaine_json_num_text(elaine_json_get(sp, "kind")), "3");
    CHECK_STR(elaine_json_str(elaine_json_get(sp, "startTimeUnixNano")), "1796418191123456000");
    CHECK_STR(elaine_json_str(elaine_json_get(sp, "endTimeUnixNano")), "1796418191135956000");
    CHECK_INT(elaine_json_len(elaine_json_get(sp, "traceId")), 32);
    CHECK_INT(elaine_json_len(elaine_json_get(sp, "spanId")), 16);
    CHECK_INT(elaine_json_len(elaine_json_get(sp, "status")), 0);
    const ej_val *attrs = elaine_json_get(sp, "attributes");
    static const char *want[][3] = {
        {"gen_ai.provider.name", "stringValue", "openai"}, {"gen_ai.system", "stringValue", "openai"},
        {"gen_ai.operation.name", "stringValue", "chat"},  {"gen_ai.request.model", "stringValue", "gpt-4o"},
        {"gen_ai.response.model", "stringValue", "gpt-4o-2024"}, {"gen_ai.response.id", "stringValue", "chatcmpl-7"},
        {"gen_ai.usage.input_tokens", "intValue", "3"},    {"gen_ai.usage.output_tokens", "intValue", "5"},
        {"server.address", "stringValue", "api.openai.com"}, {"server.port", "intValue", "443"},
    };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const char *got = NULL;
        for (size_t i = 0; i < elaine_json_len(attrs); i++) {
            const ej_val *a = elaine_json_at(attrs, i);
            if (!strcmp(elaine_json_str(elaine_json_get(a, "key")), want[k][0]))
                got = elaine_json_str(elaine_json_get(elaine_json_get(a, "value"), want[k][1]));
        }
        CASE(want[k][0]);
        CHECK_STR(got, want[k][2]);
    }
    CASE("finish reasons: an array");
    CHECK(strstr(b.p, "{\"key\":\"gen_ai.response.finish_reasons\",\"value\":{\"arrayValue\":{\"values\":"
                      "[{\"stringValue\":\"stop\"}]}}}") != NULL);
    elaine_json_free(o);
    elaine_json_free(v);

    CASE("otlp: a failed exchange has error.type and an error status");
    v = rec(503, "completion", "null", "null");
    elaine_buf_reset(&b);
    CHECK_INT(elaine_cli_export_otlp(&b, v), 1);
    CHECK(strstr(b.p, "\"name\":\"text_completion gpt-4o\"") != NULL);
    CHECK(strstr(b.p, "{\"key\":\"error.type\",\"value\":{\"stringValue\":\"503\"}}") != NULL);
    CHECK(strstr(b.p, "\"status\":{\"code\":2,\"message\":\"503\"}") != NULL);
    elaine_json_free(v);

    CASE("otlp: not an LLM exchange");
    const char *plain = "{\"type\":\"exchange\",\"id\":\"x\",\"ts\":\"2026-12-04T21:03:11Z\",\"llm\":{\"provider\":null}}";
    v = elaine_json_parse(plain, strlen(plain));
    CHECK(v != NULL);
    elaine_buf_reset(&b);
    CHECK_INT(elaine_cli_export_otlp(&b, v), 0);
    elaine_json_free(v);
    elaine_buf_free(&b);
    return check_done("test_cli_export");
}
