/* Ollama native API extractor: /api/chat, /api/generate (NDJSON streams by
 * default), /api/embed and /api/embeddings. Its OpenAI-compatible /v1/...
 * endpoints are OpenAI-shaped and go to the OpenAI extractor. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elaine_provider.h"

static const char *ollama_operation(const char *host, const char *method, const char *path)
{
    (void)host; /* localhost:11434 usually, but also a remote server or a proxy prefix */
    if (!path || !method || strcasecmp(method, "POST") != 0)
        return NULL;
    if (elaine_provider_path_ends(path, "/api/chat"))
        return "chat";
    if (elaine_provider_path_ends(path, "/api/generate"))
        return "completion";
    if (elaine_provider_path_ends(path, "/api/embed") || elaine_provider_path_ends(path, "/api/embeddings"))
        return "embeddings";
    return NULL;
}

static int is_embeddings(const elaine_llm *l)
{
    return l->operation && strcmp(l->operation, "embeddings") == 0;
}

static void ollama_request(elaine_llm *l, const char *path, const ej_val *body)
{
    (void)path;
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    elaine_llm_set_str(&l->model, elaine_json_get(body, "model"));
    if (is_embeddings(l)) {
        l->stream = 0;
        return;
    }
    /* chat and generate stream unless the request says "stream": false */
    l->stream = elaine_json_bool(elaine_json_get(body, "stream")) != 0;
}

/* One response object: a whole body or one NDJSON line. 1 when it carried generated content. */
static int object(elaine_llm *l, const ej_val *o)
{
    if (!o || elaine_json_type(o) != EJ_OBJ)
        return 0;
    const ej_val *err = elaine_json_get(o, "error");
    if (err) { /* {"error":"model \"x\" not found, try pulling it first"} */
        elaine_llm_set_error(l, NULL, err);
        return 0;
    }
    int gen = 0;
    elaine_llm_set_str(&l->response_model, elaine_json_get(o, "model"));
    elaine_llm_set_str(&l->finish_reason, elaine_json_get(o, "done_reason"));
    elaine_llm_set_int(&l->input_tokens, elaine_json_get(o, "prompt_eval_count"));
    elaine_llm_set_int(&l->output_tokens, elaine_json_get(o, "eval_count"));
    if (is_embeddings(l))
        return 0;
    const ej_val *msg = elaine_json_get(o, "message"); /* /api/chat */
    const ej_val *holder = msg ? msg : o;               /* /api/generate */
    gen |= elaine_llm_add_text(l, elaine_json_get(holder, msg ? "content" : "response"));
    gen |= elaine_llm_add_reasoning(l, elaine_json_get(holder, "thinking"));
    const ej_val *tc = elaine_json_get(msg, "tool_calls");
    for (size_t i = 0; tc && elaine_json_type(tc) == EJ_ARR && i < elaine_json_len(tc); i++) {
        const ej_val *c = elaine_json_at(tc, i);
        if (elaine_json_type(c) != EJ_OBJ)
            continue;
        elaine_tool_call *t = elaine_llm_tool_call(l, -1); /* whole calls, also when streamed */
        if (!t)
            break;
        elaine_llm_set_str(&t->id, elaine_json_get(c, "id"));
        elaine_llm_set_str(&t->name, elaine_json_path(c, "function.name"));
        elaine_tool_call_set_args(t, elaine_json_path(c, "function.arguments"));
        gen = 1;
    }
    return gen;
}

static void ollama_response(elaine_llm *l, int status, const ej_val *body)
{
    if (status >= 400) {
        const ej_val *err = elaine_json_get(body, "error");
        elaine_llm_set_error(l, NULL, err);
        return;
    }
    object(l, body);
}

static int ollama_stream_event(elaine_llm *l, const char *event, const char *data, size_t n)
{
    (void)event;
    ej_val *v = elaine_json_parse(data, n);
    if (!v)
        return 0;
    int gen = object(l, v);
    elaine_json_free(v);
    return gen;
}

/* The last line of an Ollama stream says "done": true. */
static int ollama_stream_last(const elaine_llm *l, const char *event, const char *data, size_t n)
{
    (void)l;
    (void)event;
    return elaine_json_text_has(data, n, "done", "true");
}

const elaine_provider elaine_provider_ollama = {
    .name = "ollama",
    .operation = ollama_operation,
    .request = ollama_request,
    .response = ollama_response,
    .stream_event = ollama_stream_event,
    .ndjson = 1,
    .stream_last = ollama_stream_last,
};
