/* Anthropic Messages extractor (POST /v1/messages), plain and streamed:
 * text, thinking and tool_use content blocks, usage with cache tokens, errors. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elaine_provider.h"

static const char *anthropic_operation(const char *host, const char *method, const char *path)
{
    (void)host; /* api.anthropic.com or any Anthropic-compatible server */
    if (!path || !method || strcasecmp(method, "POST") != 0)
        return NULL;
    return elaine_provider_path_ends(path, "/v1/messages") ? "messages" : NULL;
}

static void anthropic_request(elaine_llm *l, const char *path, const ej_val *body)
{
    (void)path;
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    elaine_llm_set_field(&l->model, elaine_json_get(body, "model"));
    l->stream = elaine_json_bool(elaine_json_get(body, "stream")) == 1;
}

/* input_tokens counts only what was not read from or written to the cache;
 * llm.input_tokens is all of it (as OpenAI's prompt_tokens is), the cache
 * reads are cached_input_tokens. message_delta repeats the counts cumulatively. */
static void usage(elaine_llm *l, const ej_val *u)
{
    if (!u || elaine_json_type(u) != EJ_OBJ)
        return;
    int64_t in = -1, rd = -1, wr = -1;
    elaine_llm_set_int(&in, elaine_json_get(u, "input_tokens"));
    elaine_llm_set_int(&rd, elaine_json_get(u, "cache_read_input_tokens"));
    elaine_llm_set_int(&wr, elaine_json_get(u, "cache_creation_input_tokens"));
    if (in >= 0)
        l->input_tokens = elaine_llm_sum(elaine_llm_sum(in, rd > 0 ? rd : 0), wr > 0 ? wr : 0);
    if (rd >= 0)
        l->cached_input_tokens = rd;
    elaine_llm_set_int(&l->output_tokens, elaine_json_get(u, "output_tokens"));
}

/* {"type":"error","error":{"type","message"}}, as a body or as a stream event. */
static int error_object(elaine_llm *l, const ej_val *v)
{
    const ej_val *e = elaine_json_get(v, "error");
    if (!e || elaine_json_type(e) != EJ_OBJ)
        return 0;
    elaine_llm_set_error(l, elaine_json_get(e, "type"), elaine_json_get(e, "message"));
    return 1;
}

/* One content block, whole (a response body) or as content_block_start. */
static int block(elaine_llm *l, const ej_val *b, int64_t index, int whole)
{
    const char *type = elaine_json_str(elaine_json_get(b, "type"));
    if (!type)
        return 0;
    if (strcmp(type, "text") == 0)
        return elaine_llm_add_text(l, elaine_json_get(b, "text"));
    if (strcmp(type, "thinking") == 0)
        return elaine_llm_add_reasoning(l, elaine_json_get(b, "thinking"));
    if (strcmp(type, "tool_use") == 0 || strcmp(type, "server_tool_use") == 0) {
        elaine_tool_call *t = elaine_llm_tool_call(l, whole ? -1 : index);
        if (!t)
            return 0;
        elaine_llm_set_str(&t->id, elaine_json_get(b, "id"));
        elaine_llm_set_str(&t->name, elaine_json_get(b, "name"));
        elaine_tool_call_set_args(t, elaine_json_get(b, "input"));
        t->seeded = !whole; /* "input": {} at the start; input_json_delta brings the real one */
    }
    return 0;
}

static void message(elaine_llm *l, const ej_val *m, int whole)
{
    elaine_llm_set_field(&l->response_model, elaine_json_get(m, "model"));
    elaine_llm_set_field(&l->response_id, elaine_json_get(m, "id"));
    elaine_llm_set_field(&l->finish_reason, elaine_json_get(m, "stop_reason"));
    usage(l, elaine_json_get(m, "usage"));
    if (!whole)
        return;
    const ej_val *content = elaine_json_get(m, "content");
    for (size_t i = 0; content && elaine_json_type(content) == EJ_ARR && i < elaine_json_len(content); i++)
        block(l, elaine_json_at(content, i), (int64_t)i, 1);
}

static void anthropic_response(elaine_llm *l, int status, const ej_val *body)
{
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    if (error_object(l, body) || status >= 400)
        return;
    message(l, body, 1);
}

static int delta(elaine_llm *l, const ej_val *ev)
{
    const ej_val *d = elaine_json_get(ev, "delta");
    const char *type = elaine_json_str(elaine_json_get(d, "type"));
    int64_t index;
    if (!type)
        return 0;
    if (strcmp(type, "text_delta") == 0)
        return elaine_llm_add_text(l, elaine_json_get(d, "text"));
    if (strcmp(type, "thinking_delta") == 0)
        return elaine_llm_add_reasoning(l, elaine_json_get(d, "thinking"));
    if (strcmp(type, "input_json_delta") == 0 &&
        elaine_json_int(elaine_json_get(ev, "index"), &index) == 0 && index >= 0)
        return elaine_tool_call_add_args(elaine_llm_tool_call(l, index), elaine_json_get(d, "partial_json"));
    return 0; /* signature_delta, citations_delta, ... */
}

static int anthropic_stream_event(elaine_llm *l, const char *event, const char *data, size_t n)
{
    ej_val *ev = elaine_json_parse(data, n);
    if (!ev)
        return 0;
    int gen = 0;
    int64_t index = -1;
    const char *type = elaine_json_str(elaine_json_get(ev, "type"));
    if (!type)
        type = event;
    if (elaine_json_type(ev) != EJ_OBJ || !type)
        goto out;
    if (strcmp(type, "message_start") == 0) {
        message(l, elaine_json_get(ev, "message"), 0);
    } else if (strcmp(type, "content_block_start") == 0) {
        if (elaine_json_int(elaine_json_get(ev, "index"), &index) < 0 || index < 0)
            index = -1;
        gen = block(l, elaine_json_get(ev, "content_block"), index, index < 0);
    } else if (strcmp(type, "content_block_delta") == 0) {
        gen = delta(l, ev);
    } else if (strcmp(type, "message_delta") == 0) {
        elaine_llm_set_field(&l->finish_reason, elaine_json_path(ev, "delta.stop_reason"));
        usage(l, elaine_json_get(ev, "usage"));
    } else if (strcmp(type, "error") == 0) {
        error_object(l, ev);
    } /* ping, content_block_stop, message_stop */
out:
    elaine_json_free(ev);
    return gen;
}

/* A Messages stream ends with message_stop. */
static int anthropic_stream_last(const elaine_llm *l, const char *event, const char *data, size_t n)
{
    (void)l;
    return (event && strcmp(event, "message_stop") == 0) ||
           elaine_json_text_has(data, n, "type", "\"message_stop\"");
}

const elaine_provider elaine_provider_anthropic = {
    .name = "anthropic",
    .operation = anthropic_operation,
    .request = anthropic_request,
    .response = anthropic_response,
    .stream_event = anthropic_stream_event,
    .stream_last = anthropic_stream_last,
};
