/* OpenAI (and OpenAI-compatible) extractor: chat completions, legacy
 * completions, embeddings and the Responses API, plain and streamed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elaine_provider.h"

/* 1 when path (no query) ends with the segments in suffix, e.g. "/chat/completions";
 * a trailing slash is tolerated. */
static int ends_with(const char *path, size_t n, const char *suffix)
{
    size_t sl = strlen(suffix);
    if (n && path[n - 1] == '/')
        n--;
    return n >= sl && memcmp(path + n - sl, suffix, sl) == 0;
}

static const char *openai_operation(const char *host, const char *method, const char *path)
{
    (void)host; /* only a hint: any host serving these paths is OpenAI-shaped */
    if (!path || !method || strcasecmp(method, "POST") != 0)
        return NULL; /* GET /v1/models and friends are not LLM calls */
    size_t n = strcspn(path, "?#");
    if (ends_with(path, n, "/chat/completions"))
        return "chat";
    if (ends_with(path, n, "/completions"))
        return "completion";
    if (ends_with(path, n, "/embeddings"))
        return "embeddings";
    if (ends_with(path, n, "/responses"))
        return "responses";
    return NULL;
}

/* Replaces *dst with a copy of v's string when v is a non-empty string. */
static void set_str(char **dst, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (!s || !*s)
        return;
    char *c = strdup(s);
    if (!c)
        return;
    free(*dst);
    *dst = c;
}

static void set_int(int64_t *dst, const ej_val *v)
{
    int64_t x;
    if (elaine_json_int(v, &x) == 0 && x >= 0)
        *dst = x;
}

static void append_str(elaine_llm *l, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (s)
        elaine_buf_add(&l->output_text, s, elaine_json_len(v));
}

static void usage(elaine_llm *l, const ej_val *u)
{
    if (!u || elaine_json_type(u) != EJ_OBJ)
        return;
    /* chat/completions/embeddings name them prompt/completion, Responses input/output */
    set_int(&l->input_tokens, elaine_json_get(u, "prompt_tokens"));
    set_int(&l->input_tokens, elaine_json_get(u, "input_tokens"));
    set_int(&l->output_tokens, elaine_json_get(u, "completion_tokens"));
    set_int(&l->output_tokens, elaine_json_get(u, "output_tokens"));
    set_int(&l->total_tokens, elaine_json_get(u, "total_tokens"));
}

/* The choice with "index": 0 (with n > 1 chunks interleave choices), else the first. */
static const ej_val *choice0(const ej_val *body)
{
    const ej_val *ch = elaine_json_get(body, "choices");
    if (!ch || elaine_json_type(ch) != EJ_ARR || elaine_json_len(ch) == 0)
        return NULL;
    for (size_t i = 0; i < elaine_json_len(ch); i++) {
        int64_t idx;
        const ej_val *c = elaine_json_at(ch, i);
        if (elaine_json_int(elaine_json_get(c, "index"), &idx) == 0 && idx == 0)
            return c;
    }
    const ej_val *c = elaine_json_at(ch, 0);
    return elaine_json_get(c, "index") ? NULL : c;
}

static void openai_request(elaine_llm *l, const char *path, const ej_val *body)
{
    (void)path;
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    set_str(&l->model, elaine_json_get(body, "model"));
    int s = elaine_json_bool(elaine_json_get(body, "stream"));
    l->stream = s == 1 ? 1 : 0;
}

/* Responses API: output[] items of type "message" hold output_text parts. */
static void responses_output(elaine_llm *l, const ej_val *resp)
{
    const ej_val *out = elaine_json_get(resp, "output");
    if (!out || elaine_json_type(out) != EJ_ARR)
        return;
    for (size_t i = 0; i < elaine_json_len(out); i++) {
        const ej_val *item = elaine_json_at(out, i);
        const char *type = elaine_json_str(elaine_json_get(item, "type"));
        if (!type || strcmp(type, "message") != 0)
            continue;
        const ej_val *content = elaine_json_get(item, "content");
        for (size_t k = 0; k < elaine_json_len(content); k++) {
            const ej_val *part = elaine_json_at(content, k);
            const char *pt = elaine_json_str(elaine_json_get(part, "type"));
            if (pt && strcmp(pt, "output_text") == 0) {
                append_str(l, elaine_json_get(part, "text"));
                l->has_output_text = 1;
            }
        }
    }
}

static void responses_object(elaine_llm *l, const ej_val *resp, int with_output)
{
    set_str(&l->response_model, elaine_json_get(resp, "model"));
    set_str(&l->response_id, elaine_json_get(resp, "id"));
    const char *status = elaine_json_str(elaine_json_get(resp, "status"));
    if (status && strcmp(status, "in_progress") != 0 && strcmp(status, "queued") != 0) {
        const ej_val *why = elaine_json_path(resp, "incomplete_details.reason");
        set_str(&l->finish_reason, elaine_json_get(resp, "status"));
        set_str(&l->finish_reason, why);
    }
    usage(l, elaine_json_get(resp, "usage"));
    if (with_output)
        responses_output(l, resp);
}

static void openai_response(elaine_llm *l, int status, const ej_val *body)
{
    (void)status;
    if (!body || elaine_json_type(body) != EJ_OBJ || elaine_json_get(body, "error"))
        return;
    if (l->operation && strcmp(l->operation, "responses") == 0) {
        responses_object(l, body, 1);
        return;
    }
    set_str(&l->response_model, elaine_json_get(body, "model"));
    set_str(&l->response_id, elaine_json_get(body, "id"));
    usage(l, elaine_json_get(body, "usage"));
    const ej_val *c = choice0(body);
    if (!c)
        return;
    set_str(&l->finish_reason, elaine_json_get(c, "finish_reason"));
    const ej_val *text = elaine_json_get(c, "text"); /* legacy completions */
    if (!text)
        text = elaine_json_path(c, "message.content");
    if (elaine_json_str(text)) {
        append_str(l, text);
        l->has_output_text = 1;
    }
}

static int responses_event(elaine_llm *l, const char *event, const ej_val *ev)
{
    const char *type = elaine_json_str(elaine_json_get(ev, "type"));
    if (!type)
        type = event;
    if (!type)
        return 0;
    if (strcmp(type, "response.output_text.delta") == 0) {
        const ej_val *d = elaine_json_get(ev, "delta");
        l->has_output_text = 1;
        append_str(l, d);
        return elaine_json_len(d) > 0;
    }
    const ej_val *resp = elaine_json_get(ev, "response");
    if (resp && strncmp(type, "response.", 9) == 0)
        responses_object(l, resp, 0);
    return 0;
}

static int openai_stream_event(elaine_llm *l, const char *event, const char *data, size_t n)
{
    if (n == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    ej_val *ev = elaine_json_parse(data, n);
    if (!ev)
        return 0;
    int gen = 0;
    if (elaine_json_type(ev) != EJ_OBJ || elaine_json_get(ev, "error"))
        goto out;
    if (l->operation && strcmp(l->operation, "responses") == 0) {
        gen = responses_event(l, event, ev);
        goto out;
    }
    set_str(&l->response_model, elaine_json_get(ev, "model"));
    if (!l->response_id)
        set_str(&l->response_id, elaine_json_get(ev, "id"));
    usage(l, elaine_json_get(ev, "usage"));
    if (elaine_json_get(ev, "choices"))
        l->has_output_text = 1;
    const ej_val *c = choice0(ev);
    if (!c)
        goto out;
    set_str(&l->finish_reason, elaine_json_get(c, "finish_reason"));
    const ej_val *text = elaine_json_get(c, "text"); /* legacy completions */
    if (!text)
        text = elaine_json_path(c, "delta.content");
    if (elaine_json_str(text)) {
        append_str(l, text);
        gen = elaine_json_len(text) > 0;
    }
out:
    elaine_json_free(ev);
    return gen;
}

const elaine_provider elaine_provider_openai = {
    .name = "openai",
    .operation = openai_operation,
    .request = openai_request,
    .response = openai_response,
    .stream_event = openai_stream_event,
};
