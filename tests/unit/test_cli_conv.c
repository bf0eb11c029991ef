/* Tests for the elaine reader's conversations: OpenAI, Anthropic, Gemini, Ollama and Responses
 * requests in one shape, rendered for people and written as OpenAI messages. */
#include "elaine_cli_conv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* The conversation of a request body (and the reply of a record when given), as OpenAI messages. */
static void openai(const char *body, const char *rec, const char *want)
{
    ej_val *b = elaine_json_parse(body, strlen(body));
    ej_val *r = rec ? elaine_json_parse(rec, strlen(rec)) : NULL;
    CHECK(b != NULL);
    elaine_cli_conv c;
    elaine_cli_conv_init(&c);
    CHECK_INT(elaine_cli_conv_request(&c, b), 0);
    if (r)
        CHECK_INT(elaine_cli_conv_reply(&c, r), 1);
    elaine_buf out;
    elaine_jw w;
    elaine_buf_init(&out);
    elaine_jw_init(&w, &out);
    elaine_cli_conv_openai(&c, &w);
    CHECK_STR(out.p, want);
    elaine_buf_free(&out);
    elaine_cli_conv_free(&c);
    elaine_json_free(b);
    elaine_json_free(r);
}

static void render(const char *body, const char *want, const char *last_user)
{
    ej_val *b = elaine_json_parse(body, strlen(body));
    elaine_cli_conv c;
    elaine_cli_conv_init(&c);
    CHECK_INT(elaine_cli_conv_request(&c, b), 0);
    elaine_buf out;
    elaine_buf_init(&out);
    elaine_cli_conv_render(&c, 0, &out, 0);
    CHECK_STR(out.p ? out.p : "", want);
    CHECK_STR(elaine_cli_conv_last_user(&c), last_user);
    elaine_buf_free(&out);
    elaine_cli_conv_free(&c);
    elaine_json_free(b);
}

int main(void)
{
    CASE("OpenAI chat: string and parts content, tool calls and results");
    openai("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"Be nice.\"},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Look\"},{\"type\":\"image_url\",\"image_url\":{}}]},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
           "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"}]}",
           "{\"llm\":{\"output_text\":\"Done.\",\"tool_calls\":null}}",
           "[{\"role\":\"system\",\"content\":\"Be nice.\"},{\"role\":\"user\",\"content\":\"Look\\n[image]\"},"
           "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
           "\"arguments\":\"{\\\"a\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"},"
           "{\"role\":\"assistant\",\"content\":\"Done.\"}]");

    CASE("Anthropic: system blocks, tool_use, tool_result with blocks, thinking skipped");
    openai("{\"system\":[{\"type\":\"text\",\"text\":\"S1\"},{\"type\":\"text\",\"text\":\"S2\"}],\"messages\":["
           "{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\"},"
           "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"get\",\"input\":{\"k\":\"v\"}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
           "\"content\":[{\"type\":\"text\",\"text\":\"R\"}]},{\"type\":\"text\",\"text\":\"and?\"}]}]}",
           "{\"llm\":{\"output_text\":null,\"tool_calls\":[{\"id\":\"t2\",\"name\":\"put\",\"arguments\":\"{}\"}]}}",
           "[{\"role\":\"system\",\"content\":\"S1\\nS2\"},{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"get\","
           "\"arguments\":\"{\\\"k\\\":\\\"v\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"R\"},"
           "{\"role\":\"user\",\"content\":\"and?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"t2\","
           "\"type\":\"function\",\"function\":{\"name\":\"put\",\"arguments\":\"{}\"}}]}]");

    CASE("Gemini: systemInstruction, model role, functionCall/functionResponse, thoughts skipped");
    openai("{\"system_instruction\":{\"parts\":[{\"text\":\"Sys\"}]},\"contents\":["
           "{\"role\":\"user\",\"parts\":[{\"text\":\"A\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"x\"}}]},"
           "{\"role\":\"model\",\"parts\":[{\"text\":\"think\",\"thought\":true},{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},"
           "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{\"ok\":true}}}]}]}",
           "{\"llm\":{\"output_text\":\"B\"}}",
           "[{\"role\":\"system\",\"content\":\"Sys\"},{\"role\":\"user\",\"content\":\"A\\n[image]\"},"
           "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"f\",\"type\":\"function\",\"function\":{\"name\":\"f\","
           "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"f\",\"content\":\"{\\\"ok\\\":true}\"},"
           "{\"role\":\"assistant\",\"content\":\"B\"}]");

    CASE("Ollama: chat with tool_calls (arguments an object), generate with system and prompt");
    openai("{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
           "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}}]}]}",
           NULL,
           "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":"
           "\"call_1_0\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]}]");
    openai("{\"model\":\"llama3.2\",\"system\":\"S\",\"prompt\":\"P\"}", "{\"llm\":{\"output_text\":\"O\"}}",
           "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"P\"},"
           "{\"role\":\"assistant\",\"content\":\"O\"}]");

    CASE("OpenAI Responses: instructions, input items, function_call(_output)");
    openai("{\"instructions\":\"I\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"U\"}]},"
           "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"},"
           "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"out\"}]}",
           NULL,
           "[{\"role\":\"system\",\"content\":\"I\"},{\"role\":\"user\",\"content\":\"U\"},{\"role\":\"assistant\","
           "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"out\"}]");
    openai("{\"input\":\"just text\"}", NULL, "[{\"role\":\"user\",\"content\":\"just text\"}]");

    CASE("not a conversation");
    openai("{\"model\":\"m\"}", NULL, "[]");

    CASE("rendering for people");
    render("{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"get\",\"input\":{}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"R\"}]},"
           "{\"role\":\"user\",\"content\":\"last one\"}]}",
           "[system]\nS\n\n[user]\nfirst\n\n[assistant]\n-> call get (t1) {}\n\n[tool t1]\nR\n\n[user]\nlast one\n",
           "last one");
    render("{\"contents\":[{\"parts\":[{\"text\":\"no role\"}]},{\"role\":\"function\",\"parts\":"
           "[{\"functionResponse\":{\"name\":\"f\",\"id\":\"i9\",\"response\":{}}}]}]}",
           "[user]\nno role\n\n[tool f (i9)]\n{}\n", "no role");
    return check_done("test_cli_conv");
}
