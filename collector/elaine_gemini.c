/* Google Gemini extractor (generativelanguage.googleapis.com and Vertex AI):
 * models/M:generateContent and :streamGenerateContent (SSE with alt=sse,
 * else a JSON array of responses), :embedContent; the model is in the path. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elaine_provider.h"

/* The ":verb" after the last path segment, or NULL. */
static const char *verb(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *colon = strchr(slash ? slash : path, ':');
    return colon ? colon + 1 : NULL;
}

static const char *gemini_operation(const char *host, const char *method, const char *path)
{
    (void)host; /* generativelanguage.googleapis.com, *-aiplatform.googleapis.com or a proxy */
    if (!path || !method || strcasecmp(method, "POST") != 0)
        return NULL;
    const char *v = verb(path);
    if (!v)
        return NULL;
    if (strcmp(v, "generateContent") == 0 || strcmp(v, "streamGenerateContent") == 0)
        return "generate_content";
    if (strcmp(v, "embedContent") == 0 || strcmp(v, "batchEmbedContents") == 0)
        return "embeddings";
    return NULL;
}

/* The model is the last path segment, before the verb: models/M:generateContent
 * (Vertex: .../publishers/google/models/M:..., tuned: tunedModels/M:...). */
static void gemini_request(elaine_llm *l, const char *path, const ej_val *body)
{
    (void)body; /* the body names no model and no stream flag */
    const char *v = path ? verb(path) : NULL;
    if (!v)
        return;
    l->stream = strcmp(v, "streamGenerateContent") == 0;
    const char *m = v - 1;
    while (m > path && m[-1] != '/')
        m--;
    if (m == v - 1)
        return;
    char *model = strndup(m, (size_t)(v - 1 - m));
    if (model) {
        free(l->model);
        l->model = model;
    }
}

/* promptTokenCount includes cachedContentTokenCount; candidatesTokenCount does not
 * include thoughtsTokenCount, so output = candidates + thoughts (reasoning tokens
 * are part of the output, as with the other providers). */
static void usage(elaine_llm *l, const ej_val *u)
{
    if (!u || elaine_json_type(u) != EJ_OBJ)
        return;
    int64_t cand = -1, thoughts = -1;
    elaine_llm_set_int(&l->input_tokens, elaine_json_get(u, "promptTokenCount"));
    elaine_llm_set_int(&l->total_tokens, elaine_json_get(u, "totalTokenCount"));
    elaine_llm_set_int(&l->cached_input_tokens, elaine_json_get(u, "cachedContentTokenCount"));
    elaine_llm_set_int(&cand, elaine_json_get(u, "candidatesTokenCount"));
    elaine_llm_set_int(&thoughts, elaine_json_get(u, "thoughtsTokenCount"));
    if (thoughts >= 0)
        l->reasoning_tokens = thoughts;
    if (cand >= 0 || thoughts >= 0)
        l->output_tokens = elaine_llm_sum(cand > 0 ? cand : 0, thoughts > 0 ? thoughts : 0);
}

/* {"error":{"code","message","status"}}: the type is the status ("INVALID_ARGUMENT"). */
static int error_object(elaine_llm *l, const ej_val *v)
{
    const ej_val *e = elaine_json_get(v, "error");
    if (!e || elaine_json_type(e) != EJ_OBJ)
        return 0;
    const ej_val *type = elaine_json_get(e, "status");
    if (!elaine_json_str(type))
        type = elaine_json_get(e, "code");
    elaine_llm_set_error(l, type, elaine_json_get(e, "message"));
    return 1;
}

/* The candidate with "index": 0, else the first. */
static const ej_val *candidate0(const ej_val *r)
{
    const ej_val *cs = elaine_json_get(r, "candidates");
    if (!cs || elaine_json_type(cs) != EJ_ARR)
        return NULL;
    for (size_t i = 0; i < elaine_json_len(cs); i++) {
        int64_t idx;
        const ej_val *c = elaine_json_at(cs, i);
        if (elaine_json_int(elaine_json_get(c, "index"), &idx) == 0 && idx == 0)
            return c;
    }
    const ej_val *c = elaine_json_at(cs, 0);
    return elaine_json_get(c, "index") ? NULL : c;
}

/* One GenerateContentResponse (a whole body, one SSE event or one array element).
 * 1 when it carried generated content. */
static int one_response(elaine_llm *l, const ej_val *r)
{
    if (!r || elaine_json_type(r) != EJ_OBJ || error_object(l, r))
        return 0;
    int gen = 0;
    elaine_llm_set_str(&l->response_model, elaine_json_get(r, "modelVersion"));
    elaine_llm_set_str(&l->response_id, elaine_json_get(r, "responseId"));
    usage(l, elaine_json_get(r, "usageMetadata"));
    const ej_val *c = candidate0(r);
    if (!c)
        return 0;
    elaine_llm_set_str(&l->finish_reason, elaine_json_get(c, "finishReason"));
    const ej_val *parts = elaine_json_path(c, "content.parts");
    for (size_t i = 0; parts && elaine_json_type(parts) == EJ_ARR && i < elaine_json_len(parts); i++) {
        const ej_val *p = elaine_json_at(parts, i);
        const ej_val *fc = elaine_json_get(p, "functionCall");
        if (fc && elaine_json_type(fc) == EJ_OBJ) {
            /* calls come whole, also when streamed */
            elaine_tool_call *t = elaine_llm_tool_call(l, -1);
            if (!t)
                continue;
            elaine_llm_set_str(&t->id, elaine_json_get(fc, "id"));
            elaine_llm_set_str(&t->name, elaine_json_get(fc, "name"));
            elaine_tool_call_set_args(t, elaine_json_get(fc, "args"));
            gen = 1;
        } else if (elaine_json_bool(elaine_json_get(p, "thought")) == 1) {
            gen |= elaine_llm_add_reasoning(l, elaine_json_get(p, "text"));
        } else {
            gen |= elaine_llm_add_text(l, elaine_json_get(p, "text"));
        }
    }
    return gen;
}

static void gemini_response(elaine_llm *l, int status, const ej_val *body)
{
    if (!body)
        return;
    if (elaine_json_type(body) == EJ_ARR) { /* streamGenerateContent without alt=sse */
        for (size_t i = 0; i < elaine_json_len(body); i++)
            one_response(l, elaine_json_at(body, i));
        return;
    }
    if (status >= 400) {
        error_object(l, body);
        return;
    }
    one_response(l, body);
}

static int gemini_stream_event(elaine_llm *l, const char *event, const char *data, size_t n)
{
    (void)event;
    ej_val *ev = elaine_json_parse(data, n);
    if (!ev)
        return 0;
    int gen = one_response(l, ev);
    elaine_json_free(ev);
    return gen;
}

const elaine_provider elaine_provider_gemini = {
    .name = "gemini",
    .operation = gemini_operation,
    .request = gemini_request,
    .response = gemini_response,
    .stream_event = gemini_stream_event,
};
