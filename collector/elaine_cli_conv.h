/* A request's conversation in one shape whatever the provider: OpenAI
 * messages (chat and responses), Anthropic system + content blocks, Gemini
 * contents/parts, Ollama messages or prompt; rendered for people (elaine
 * show) or written as OpenAI chat messages (elaine export --format openai). */
#ifndef ELAINE_CLI_CONV_H
#define ELAINE_CLI_CONV_H

#include <stddef.h>

#include "elaine_buf.h"
#include "elaine_json.h"

typedef struct elaine_cli_call {
    char *id;        /* may be NULL (Ollama); Gemini has none: its name stands in */
    char *name;
    char *arguments; /* JSON text */
} elaine_cli_call;

typedef struct elaine_cli_msg {
    char *role;         /* "system", "user", "assistant" or "tool" */
    char *text;         /* NULL when the message has none */
    char *tool_call_id; /* role "tool": the call answered */
    char *name;         /* role "tool": the function's name when known */
    elaine_cli_call *calls;
    size_t ncalls;
} elaine_cli_msg;

/* Owns every string in it. */
typedef struct elaine_cli_conv {
    elaine_cli_msg *m;
    size_t n, cap;
    int oom;
} elaine_cli_conv;

void elaine_cli_conv_init(elaine_cli_conv *c);
void elaine_cli_conv_free(elaine_cli_conv *c);

/* Appends the messages of a request body (request.body of a record); a body
 * of another shape adds nothing. Non-text parts appear as "[image]",
 * "[audio]", "[file]". 0, or -ENOMEM. */
int elaine_cli_conv_request(elaine_cli_conv *c, const ej_val *body);
/* Appends the assistant reply of a record: llm.output_text and
 * llm.tool_calls. 1 when there was one, 0 when not, -ENOMEM. */
int elaine_cli_conv_reply(elaine_cli_conv *c, const ej_val *rec);

/* The text of the last user message, NULL when there is none. */
const char *elaine_cli_conv_last_user(const elaine_cli_conv *c);

/* For people: a "[role]" heading (bold on a terminal) and the text, tool
 * calls as "-> call NAME(ID) ARGS". Messages from index `from` on. */
void elaine_cli_conv_render(const elaine_cli_conv *c, size_t from, elaine_buf *out, int color);

/* OpenAI chat messages: [{"role":"system","content":"..."}, {"role":"assistant",
 * "content":..., "tool_calls":[{"id","type":"function","function":{"name",
 * "arguments"}}]}, {"role":"tool","tool_call_id":...,"content":...}]. */
void elaine_cli_conv_openai(const elaine_cli_conv *c, elaine_jw *w);

#endif
