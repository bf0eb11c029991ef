/* OpenAI (and OpenAI-compatible) extractor: chat completions, legacy
 * completions, embeddings and the Responses API, plain and streamed.
 * Compatible servers (vLLM, llama.cpp, OpenRouter, Groq, DeepSeek, Mistral,
 * Azure OpenAI under /openai/deployments/NAME/...) are recognised by path on
 * any host; the record keeps the real host. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elaine_provider.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Legacy "function_call" (functions API): one call, kept apart from tool_calls indices. */
#define FUNCTION_CALL_KEY ((int64_t)1 << 40)

static const char *openai_operation(const char *host, const char *method, const char *path)
{
    (void)host; /* only a hint: any host serving these paths is OpenAI-shaped */
    if (!path || !method || strcasecmp(method, "POST") != 0)
        return NULL; /* GET /v1/models and friends are not LLM calls */
    if (elaine_provider_path_ends(path, "/chat/completions"))
        return "chat";
    if (elaine_provider_path_ends(path, "/completions"))
        return "completion";
    if (elaine_provider_path_ends(path, "/embeddings"))
        return "embeddings";
    if (elaine_provider_path_ends(path, "/responses"))
        return "responses";
    return NULL;
}

static int is_responses(const elaine_llm *l)
{
    /* the first byte first: on every stream event, the operation is mostly "chat" */
    return l->operation && l->operation[0] == 'r' && strcmp(l->operation, "responses") == 0;
}

/* elaine_llm_set_int, not called for a member that is not there; a number
 * of 1 to 18 digits alone (what token counts are) read here as
 * elaine_json_int reads it, anything else by elaine_llm_set_int */
static inline void set_int(int64_t *dst, const ej_val *v)
{
    const char *t = elaine_json_num_text(v);
    if (!t)
        return; /* absent, or no number: set_int takes none */
    int64_t x = 0;
    size_t k = 0;
    for (; k < 18 && t[k] >= '0' && t[k] <= '9'; k++) /* (below 10^18: no overflow) */
        x = x * 10 + (t[k] - '0');
    if (k && !t[k])
        *dst = x;
    else
        elaine_llm_set_int(dst, v);
}

/* f[slot(key)] = the first member of each name a slot function knows (what
 * elaine_json_get finds), in one pass over obj's members; slot gives -1 for
 * the others. */
static inline void pick_members(const ej_val *obj, const ej_val **f, int (*slot)(const char *k, size_t kl))
{
    const ej_val *m;
    const char *k;
    size_t kl;
    for (size_t i = 0; (m = elaine_json_member_at(obj, i, &k, &kl)) != NULL; i++) {
        int w = slot(k, kl);
        if (w >= 0 && !f[w])
            f[w] = m;
    }
}

/* usage's members: chat/completions/embeddings name them prompt/completion,
 * Responses input/output. */
enum { U_PT, U_IT, U_CT, U_OT, U_TT, U_PTD, U_ITD, U_CTD, U_OTD, U_N };

static inline int usage_slot(const char *k, size_t kl)
{
    switch (kl) {
    case 12:
        return memcmp(k, "input_tokens", 12) == 0 ? U_IT : memcmp(k, "total_tokens", 12) == 0 ? U_TT : -1;
    case 13:
        return memcmp(k, "prompt_tokens", 13) == 0 ? U_PT : memcmp(k, "output_tokens", 13) == 0 ? U_OT : -1;
    case 17:
        return memcmp(k, "completion_tokens", 17) == 0 ? U_CT : -1;
    case 20:
        return memcmp(k, "input_tokens_details", 20) == 0 ? U_ITD : -1;
    case 21:
        return memcmp(k, "prompt_tokens_details", 21) == 0   ? U_PTD
            : memcmp(k, "output_tokens_details", 21) == 0 ? U_OTD
                                                          : -1;
    case 25:
        return memcmp(k, "completion_tokens_details", 25) == 0 ? U_CTD : -1;
    }
    return -1;
}

static void usage(elaine_llm *l, const ej_val *u)
{
    if (!u || elaine_json_type(u) != EJ_OBJ)
        return;
    const ej_val *f[U_N] = {0};
    pick_members(u, f, usage_slot);
    set_int(&l->input_tokens, f[U_PT]);
    set_int(&l->input_tokens, f[U_IT]);
    set_int(&l->output_tokens, f[U_CT]);
    set_int(&l->output_tokens, f[U_OT]);
    set_int(&l->total_tokens, f[U_TT]);
    /* both already counted in prompt/completion (input/output) tokens */
    if (f[U_PTD])
        set_int(&l->cached_input_tokens, elaine_json_get(f[U_PTD], "cached_tokens"));
    if (f[U_ITD])
        set_int(&l->cached_input_tokens, elaine_json_get(f[U_ITD], "cached_tokens"));
    if (f[U_CTD])
        set_int(&l->reasoning_tokens, elaine_json_get(f[U_CTD], "reasoning_tokens"));
    if (f[U_OTD])
        set_int(&l->reasoning_tokens, elaine_json_get(f[U_OTD], "reasoning_tokens"));
}

/* The members a body (or a stream event) is read for: the first of each
 * name (what elaine_json_get finds), in one pass over its members. */
enum { B_ERROR, B_OBJECT, B_TYPE, B_MESSAGE, B_MODEL, B_ID, B_USAGE, B_CHOICES, B_N };

static inline int body_slot(const char *k, size_t kl)
{
    switch (kl) {
    case 2:
        return k[0] == 'i' && k[1] == 'd' ? B_ID : -1;
    case 4:
        return memcmp(k, "type", 4) == 0 ? B_TYPE : -1;
    case 5:
        return memcmp(k, "model", 5) == 0   ? B_MODEL
            : memcmp(k, "usage", 5) == 0 ? B_USAGE
            : memcmp(k, "error", 5) == 0 ? B_ERROR
                                         : -1;
    case 6:
        return memcmp(k, "object", 6) == 0 ? B_OBJECT : -1;
    case 7:
        return memcmp(k, "choices", 7) == 0 ? B_CHOICES : memcmp(k, "message", 7) == 0 ? B_MESSAGE : -1;
    }
    return -1;
}

static void body_members(const ej_val *body, const ej_val **f)
{
    pick_members(body, f, body_slot);
}

/* {"error":{"type","message","code"}}, {"error":"text"} (some compatible
 * servers) or vLLM's {"object":"error","type","message"}; f from body_members. */
static int error_fields(elaine_llm *l, const ej_val *const *f)
{
    const ej_val *e = f[B_ERROR];
    if (e && elaine_json_type(e) == EJ_OBJ) {
        const ej_val *type = elaine_json_get(e, "type");
        if (!elaine_json_str(type) || !*elaine_json_str(type))
            type = elaine_json_get(e, "code");
        elaine_llm_set_error(l, type, elaine_json_get(e, "message"));
        return 1;
    }
    if (e && elaine_json_type(e) == EJ_STR) {
        elaine_llm_set_error(l, NULL, e);
        return 1;
    }
    const char *obj = elaine_json_str(f[B_OBJECT]);
    if (obj && strcmp(obj, "error") == 0) {
        elaine_llm_set_error(l, f[B_TYPE], f[B_MESSAGE]);
        return 1;
    }
    return 0;
}

/* The members of a choice, the first of each name. */
enum { C_INDEX, C_FINISH, C_MESSAGE, C_TEXT, C_DELTA, C_N };

static inline int choice_slot(const char *k, size_t kl)
{
    switch (kl) {
    case 4:
        return memcmp(k, "text", 4) == 0 ? C_TEXT : -1;
    case 5:
        return memcmp(k, "index", 5) == 0 ? C_INDEX : memcmp(k, "delta", 5) == 0 ? C_DELTA : -1;
    case 7:
        return memcmp(k, "message", 7) == 0 ? C_MESSAGE : -1;
    case 13:
        return memcmp(k, "finish_reason", 13) == 0 ? C_FINISH : -1;
    }
    return -1;
}

static void choice_members(const ej_val *c, const ej_val **f)
{
    pick_members(c, f, choice_slot);
}

/* The choice with "index": 0 (with n > 1 chunks interleave choices), else
 * the first when it has no index; ch is the "choices" member. f: its members. */
static const ej_val *choice0(const ej_val *ch, const ej_val **f)
{
    if (!ch || elaine_json_type(ch) != EJ_ARR || elaine_json_len(ch) == 0)
        return NULL;
    size_t n = elaine_json_len(ch);
    for (size_t i = 0; i < n; i++) {
        int64_t idx;
        const ej_val *c = elaine_json_at(ch, i);
        memset(f, 0, C_N * sizeof(*f));
        choice_members(c, f);
        if (elaine_json_int(f[C_INDEX], &idx) == 0 && idx == 0)
            return c;
    }
    const ej_val *c = elaine_json_at(ch, 0);
    memset(f, 0, C_N * sizeof(*f));
    choice_members(c, f);
    return f[C_INDEX] ? NULL : c;
}

/* The members of a message (or a stream delta), the first of each name. */
enum { M_CONTENT, M_RCONTENT, M_REASONING, M_TOOLS, M_FUNC, M_N };

static inline int message_slot(const char *k, size_t kl)
{
    switch (kl) {
    case 7:
        return memcmp(k, "content", 7) == 0 ? M_CONTENT : -1;
    case 9:
        return memcmp(k, "reasoning", 9) == 0 ? M_REASONING : -1;
    case 10:
        return memcmp(k, "tool_calls", 10) == 0 ? M_TOOLS : -1;
    case 13:
        return memcmp(k, "function_call", 13) == 0 ? M_FUNC : -1;
    case 17:
        return memcmp(k, "reasoning_content", 17) == 0 ? M_RCONTENT : -1;
    }
    return -1;
}

static void message_members(const ej_val *msg, const ej_val **f)
{
    pick_members(msg, f, message_slot);
}

/* Azure OpenAI names the deployment in the path: /openai/deployments/NAME/... */
static void azure_deployment(elaine_llm *l, const char *path)
{
    const char *d = path ? strstr(path, "/openai/deployments/") : NULL;
    if (!d)
        return;
    d += strlen("/openai/deployments/");
    size_t n = strcspn(d, "/");
    if (n == 0 || d[n] != '/')
        return;
    elaine_llm_set_fieldn(&l->model, d, n);
}

static void openai_request(elaine_llm *l, const char *path, const ej_val *body)
{
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    elaine_llm_set_field(&l->model, elaine_json_get(body, "model"));
    if (!l->model)
        azure_deployment(l, path);
    int s = elaine_json_bool(elaine_json_get(body, "stream"));
    l->stream = s == 1 ? 1 : 0;
}

/* Reasoning text that compatible servers put beside the content
 * (DeepSeek, vLLM: reasoning_content; OpenRouter, Groq: reasoning); f from message_members. */
static int reasoning_field(elaine_llm *l, const ej_val *const *f)
{
    const ej_val *r = f[M_RCONTENT];
    if (!elaine_json_str(r))
        r = f[M_REASONING];
    return elaine_llm_add_reasoning(l, r);
}

/* The call a stream delta continues: by its index; without one (some
 * compatible servers), by its id, else the latest call. */
static elaine_tool_call *delta_call(elaine_llm *l, const ej_val *c)
{
    int64_t idx;
    if (elaine_json_int(elaine_json_get(c, "index"), &idx) == 0 && idx >= 0)
        return elaine_llm_tool_call(l, idx);
    const char *id = elaine_json_str(elaine_json_get(c, "id"));
    for (size_t i = 0; id && *id && i < l->n_tool_calls; i++)
        if (l->tool_calls[i].id && strcmp(l->tool_calls[i].id, id) == 0)
            return &l->tool_calls[i];
    if ((!id || !*id) && l->n_tool_calls)
        return &l->tool_calls[l->n_tool_calls - 1];
    return elaine_llm_tool_call(l, -1);
}

/* Chat tool calls: whole (message.tool_calls) or stream deltas merged by index. */
static int tool_calls(elaine_llm *l, const ej_val *const *mf, int delta)
{
    int gen = 0;
    const ej_val *tc = mf[M_TOOLS];
    for (size_t i = 0; tc && elaine_json_type(tc) == EJ_ARR && i < elaine_json_len(tc); i++) {
        const ej_val *c = elaine_json_at(tc, i);
        if (elaine_json_type(c) != EJ_OBJ)
            continue;
        elaine_tool_call *t = delta ? delta_call(l, c) : elaine_llm_tool_call(l, -1);
        if (!t)
            return gen;
        elaine_llm_set_str(&t->id, elaine_json_get(c, "id"));
        elaine_llm_set_str(&t->name, elaine_json_path(c, "function.name"));
        if (delta)
            gen |= elaine_tool_call_add_args(t, elaine_json_path(c, "function.arguments"));
        else
            elaine_tool_call_set_args(t, elaine_json_path(c, "function.arguments"));
    }
    const ej_val *fc = mf[M_FUNC];
    if (fc && elaine_json_type(fc) == EJ_OBJ) {
        elaine_tool_call *t = elaine_llm_tool_call(l, FUNCTION_CALL_KEY);
        if (t) {
            elaine_llm_set_str(&t->name, elaine_json_get(fc, "name"));
            if (delta)
                gen |= elaine_tool_call_add_args(t, elaine_json_get(fc, "arguments"));
            else
                elaine_tool_call_set_args(t, elaine_json_get(fc, "arguments"));
        }
    }
    return gen;
}

/* The text of the parts of the given type in an array, to output_text or reasoning_text. */
static void parts(elaine_llm *l, const ej_val *arr, const char *type, int reasoning)
{
    if (!arr || elaine_json_type(arr) != EJ_ARR)
        return;
    for (size_t k = 0; k < elaine_json_len(arr); k++) {
        const ej_val *part = elaine_json_at(arr, k);
        const char *pt = elaine_json_str(elaine_json_get(part, "type"));
        if (!pt || strcmp(pt, type) != 0)
            continue;
        if (reasoning)
            elaine_llm_add_reasoning(l, elaine_json_get(part, "text"));
        else
            elaine_llm_add_text(l, elaine_json_get(part, "text"));
    }
}

/* Responses API: output[] items: "message" with output_text parts,
 * "reasoning" with summary_text (and reasoning_text) parts, "function_call". */
static void responses_output(elaine_llm *l, const ej_val *resp)
{
    const ej_val *out = elaine_json_get(resp, "output");
    if (!out || elaine_json_type(out) != EJ_ARR)
        return;
    for (size_t i = 0; i < elaine_json_len(out); i++) {
        const ej_val *item = elaine_json_at(out, i);
        const char *type = elaine_json_str(elaine_json_get(item, "type"));
        if (!type)
            continue;
        if (strcmp(type, "function_call") == 0) {
            elaine_tool_call *t = elaine_llm_tool_call(l, -1);
            if (!t)
                continue;
            elaine_llm_set_str(&t->id, elaine_json_get(item, "call_id"));
            elaine_llm_set_str(&t->name, elaine_json_get(item, "name"));
            elaine_tool_call_set_args(t, elaine_json_get(item, "arguments"));
            continue;
        }
        if (strcmp(type, "message") == 0) {
            parts(l, elaine_json_get(item, "content"), "output_text", 0);
        } else if (strcmp(type, "reasoning") == 0) {
            parts(l, elaine_json_get(item, "summary"), "summary_text", 1);
            parts(l, elaine_json_get(item, "content"), "reasoning_text", 1);
        }
    }
}

static void responses_object(elaine_llm *l, const ej_val *resp, int with_output)
{
    elaine_llm_set_field(&l->response_model, elaine_json_get(resp, "model"));
    elaine_llm_set_field(&l->response_id, elaine_json_get(resp, "id"));
    const char *status = elaine_json_str(elaine_json_get(resp, "status"));
    if (status && strcmp(status, "in_progress") != 0 && strcmp(status, "queued") != 0) {
        const ej_val *why = elaine_json_path(resp, "incomplete_details.reason");
        elaine_llm_set_field(&l->finish_reason, elaine_json_get(resp, "status"));
        elaine_llm_set_field(&l->finish_reason, why);
    }
    const ej_val *err = elaine_json_get(resp, "error"); /* status "failed" */
    if (err && elaine_json_type(err) == EJ_OBJ)
        elaine_llm_set_error(l, elaine_json_get(err, "code"), elaine_json_get(err, "message"));
    usage(l, elaine_json_get(resp, "usage"));
    if (with_output)
        responses_output(l, resp);
}

/* The chat (and legacy completions) part of a body or a stream event after
 * its error check: model, id, usage and the choice; its text from
 * choice.text, else from content of choice.message (delta: choice.delta). */
static int chat_object(elaine_llm *l, const ej_val *const *f, int delta)
{
    elaine_llm_set_field(&l->response_model, f[B_MODEL]);
    if (!delta || !l->response_id)
        elaine_llm_set_field(&l->response_id, f[B_ID]);
    usage(l, f[B_USAGE]);
    const ej_val *cf[C_N];
    if (!choice0(f[B_CHOICES], cf))
        return 0;
    elaine_llm_set_field(&l->finish_reason, cf[C_FINISH]);
    const ej_val *mf[M_N] = {0};
    message_members(cf[delta ? C_DELTA : C_MESSAGE], mf);
    const ej_val *text = cf[C_TEXT]; /* legacy completions */
    if (!text)
        text = mf[M_CONTENT];
    int gen = elaine_llm_add_text(l, text);
    gen |= reasoning_field(l, mf);
    gen |= tool_calls(l, mf, delta);
    return gen;
}

static void openai_response(elaine_llm *l, int status, const ej_val *body)
{
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return;
    const ej_val *f[B_N] = {0};
    body_members(body, f);
    if (error_fields(l, f) || status >= 400)
        return;
    if (is_responses(l)) {
        responses_object(l, body, 1);
        return;
    }
    chat_object(l, f, 0);
}

/* Responses API stream: typed events; the final response object carries usage. */
static int responses_event(elaine_llm *l, const char *event, const ej_val *ev)
{
    const char *type = elaine_json_str(elaine_json_get(ev, "type"));
    if (!type)
        type = event;
    if (!type)
        return 0;
    if (strcmp(type, "response.output_text.delta") == 0)
        return elaine_llm_add_text(l, elaine_json_get(ev, "delta"));
    if (strcmp(type, "response.reasoning_summary_text.delta") == 0 ||
        strcmp(type, "response.reasoning_text.delta") == 0)
        return elaine_llm_add_reasoning(l, elaine_json_get(ev, "delta"));
    if (strcmp(type, "error") == 0) {
        const ej_val *type_v = elaine_json_get(ev, "code");
        if (!elaine_json_str(type_v))
            type_v = elaine_json_path(ev, "error.type");
        const ej_val *msg = elaine_json_get(ev, "message");
        if (!msg)
            msg = elaine_json_path(ev, "error.message");
        elaine_llm_set_error(l, type_v, msg);
        return 0;
    }
    int64_t idx;
    if (elaine_json_int(elaine_json_get(ev, "output_index"), &idx) < 0 || idx < 0)
        idx = -1;
    int added = strcmp(type, "response.output_item.added") == 0;
    if (added || strcmp(type, "response.output_item.done") == 0) {
        const ej_val *item = elaine_json_get(ev, "item");
        const char *it = elaine_json_str(elaine_json_get(item, "type"));
        if (!it || strcmp(it, "function_call") != 0 || idx < 0)
            return 0;
        elaine_tool_call *t = elaine_llm_tool_call(l, idx);
        if (!t)
            return 0;
        elaine_llm_set_str(&t->id, elaine_json_get(item, "call_id"));
        elaine_llm_set_str(&t->name, elaine_json_get(item, "name"));
        const ej_val *args = elaine_json_get(item, "arguments");
        if (!added || elaine_json_len(args)) /* .done holds the whole arguments */
            elaine_tool_call_set_args(t, args);
        return 0;
    }
    if (strcmp(type, "response.function_call_arguments.delta") == 0 && idx >= 0)
        return elaine_tool_call_add_args(elaine_llm_tool_call(l, idx), elaine_json_get(ev, "delta"));
    const ej_val *resp = elaine_json_get(ev, "response");
    if (resp && strncmp(type, "response.", 9) == 0)
        responses_object(l, resp, 0);
    return 0;
}

/* ---- the usual chat chunk, read from its text ----
 *
 * {"id":..,"object":"chat.completion.chunk",..,"model":..,"choices":[{"index":0,
 * "delta":{"content":".."},"finish_reason":..}],..} in any member order, other
 * members anything: what the tree path below takes from it, taken by one
 * scan, no tree. Whatever the scan is not sure of (whitespace between
 * tokens, an escaped key, a key given twice, an error, usage numbers, more
 * than one choice, tool calls, reasoning, legacy "text", an escaped id,
 * model or finish reason, invalid JSON) leaves the event to the tree path,
 * and the event changes nothing before that. */

typedef struct {
    const char *p;
    size_t n; /* 0: none (or not a string: set_str ignores those) */
} chunk_span;

/* The plain string at s[i] == '"' (printable ASCII, no escapes: its text is
 * its bytes, as elaine_json_scan_str says plain): the index after its closing
 * quote, 0 when it is not one. Inline: most strings of a chunk are short. */
static inline size_t plain_end(const char *s, size_t n, size_t i)
{
    if (i >= n || s[i] != '"')
        return 0;
    size_t j = i + 1;
#ifdef __SSE2__
    /* (x ^ 2) - 0x21, saturated, is negative for a control, '"' or a byte from 0x80 */
    const __m128i two = _mm_set1_epi8(2), lim = _mm_set1_epi8(0x21), bs = _mm_set1_epi8('\\');
    for (; j + 16 <= n; j += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_subs_epi8(_mm_xor_si128(v, two), lim), _mm_cmpeq_epi8(v, bs)));
        if (m) {
            j += (size_t)__builtin_ctz(m);
            return s[j] == '"' ? j + 1 : 0;
        }
    }
    if (j < n && n >= 16) { /* the rest: the last 16 bytes of the text, those before j shifted out */
        size_t b = n - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + b));
        unsigned m = (unsigned)_mm_movemask_epi8(
                         _mm_or_si128(_mm_subs_epi8(_mm_xor_si128(v, two), lim), _mm_cmpeq_epi8(v, bs))) >>
                     (j - b);
        if (!m)
            return 0;
        j += (size_t)__builtin_ctz(m);
        return s[j] == '"' ? j + 1 : 0;
    }
#endif
    for (; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        if (c == '"')
            return j + 1;
        if (c < 0x20 || c >= 0x80 || c == '\\')
            return 0;
    }
    return 0;
}

/* The key at s[*i] == '"' (plain, no escapes) and its colon: k[0..kl), *i
 * at the value. 0 when the key is anything else. */
static inline int chunk_key(const char *s, size_t n, size_t *i, const char **k, size_t *kl)
{
    size_t e = plain_end(s, n, *i);
    /* whitespace before the value: the tree path (the value scans would skip it) */
    if (!e || e + 1 >= n || s[e] != ':' || (unsigned char)s[e + 1] <= ' ')
        return 0;
    *k = s + *i + 1;
    *kl = e - *i - 2;
    *i = e + 1;
    return 1;
}

static inline int key_is(const char *k, size_t kl, const char *lit, size_t ll)
{
    return kl == ll && memcmp(k, lit, ll) == 0;
}
#define KEY_IS(k, kl, lit) key_is((k), (kl), lit, sizeof(lit) - 1)

/* A value that only has to be valid: index after it, 0 when invalid. */
static inline size_t chunk_skip(const char *s, size_t n, size_t i, int depth)
{
    if (i >= n)
        return 0;
    char c = s[i];
    if (c == '"') {
        size_t e = plain_end(s, n, i);
        return e ? e : elaine_json_scan_str(s, n, i, NULL);
    }
    if (c == 'n')
        return n - i >= 4 && memcmp(s + i, "null", 4) == 0 ? i + 4 : 0;
    if (c >= '1' && c <= '9') { /* an integer (else the whole grammar below) */
        size_t e = i + 1;
        /* 8 digits at a time ("created" has 10): a byte is no digit when
         * it is below '0' or above '9' (its top bit after the subtract or add) */
        while (n - e >= 8) {
            uint64_t x;
            memcpy(&x, s + e, 8);
            uint64_t nd = ((x - 0x3030303030303030ull) | (x + 0x4646464646464646ull) | x) & 0x8080808080808080ull;
            if (nd) {
                e += (size_t)__builtin_ctzll(nd) >> 3;
                break;
            }
            e += 8;
        }
        while (e < n && s[e] >= '0' && s[e] <= '9')
            e++;
        if (e < n && s[e] != '.' && s[e] != 'e' && s[e] != 'E')
            return e;
    }
    if (c == '0' && i + 1 < n) { /* 0 ("index":0), unless a digit, fraction or exponent follows */
        char d = s[i + 1];
        if ((d < '0' || d > '9') && d != '.' && d != 'e' && d != 'E')
            return i + 1;
    }
    return elaine_json_scan_value(s, n, i, depth);
}

/* A value that set_str takes when it is a non-empty string: plain strings
 * into *sp; any other value skipped (nothing taken). 0 to leave the event. */
static inline size_t chunk_str(const char *s, size_t n, size_t i, int depth, chunk_span *sp)
{
    if (i < n && s[i] == '"') {
        size_t e = plain_end(s, n, i);
        if (!e)
            return 0;
        sp->p = s + i + 1;
        sp->n = e - i - 2;
        return e;
    }
    return chunk_skip(s, n, i, depth);
}

/* After a member: ',' and the next key (1), the closing brace (2), 0 else. */
static inline int chunk_next(const char *s, size_t n, size_t *i)
{
    if (*i == 0 || *i >= n) /* 0: the member before failed */
        return 0;
    char c = s[(*i)++];
    return c == ',' ? 1 : c == '}' ? 2 : 0;
}

enum { SEEN_ID = 1, SEEN_MODEL = 2, SEEN_OBJECT = 4, SEEN_CHOICES = 8, SEEN_USAGE = 16, SEEN_INDEX = 32,
       SEEN_DELTA = 64, SEEN_FINISH = 128, SEEN_CONTENT = 256 };

typedef struct {
    chunk_span id, model, finish;
    int has_choice; /* a choice object was read */
    int index_zero; /* its "index" is the integer 0 */
    int content;    /* delta.content was a string (appended to output_text) */
    size_t content_len;
    unsigned seen;
} chunk;

/* delta: {"content": string, role, refusal, ...}; s[*i] == '{', depth 3. */
static int chunk_delta(elaine_llm *l, chunk *c, const char *s, size_t n, size_t *pi)
{
    size_t i = *pi + 1;
    int nx; /* after each member: 1 a comma, 2 the closing brace, 0 anything else */
    if (i < n && s[i] == '}') {
        *pi = i + 1;
        return 1;
    }
    for (;;) {
        const char *k;
        size_t kl;
        if (!chunk_key(s, n, &i, &k, &kl))
            return 0;
        if (KEY_IS(k, kl, "content")) {
            if (c->seen & SEEN_CONTENT)
                return 0;
            c->seen |= SEEN_CONTENT;
            size_t e;
            if ((e = plain_end(s, n, i)) != 0) {
                elaine_buf_add(&l->output_text, s + i + 1, e - i - 2);
                c->content = 1;
                c->content_len = e - i - 2;
                i = e;
                if (l->output_text.oom)
                    return 0;
            } else if (i < n && s[i] == '"') {
                size_t before = l->output_text.len;
                i = elaine_json_str_append(s, n, i, &l->output_text);
                c->content = 1;
                c->content_len = l->output_text.len - before;
                if (!i || l->output_text.oom)
                    return 0;
            } else {
                i = chunk_skip(s, n, i, 4);
            }
        } else if (KEY_IS(k, kl, "tool_calls") || KEY_IS(k, kl, "function_call") ||
                   KEY_IS(k, kl, "reasoning_content") || KEY_IS(k, kl, "reasoning")) {
            return 0;
        } else {
            i = chunk_skip(s, n, i, 4);
        }
        if ((nx = chunk_next(s, n, &i)) != 1)
            break;
    }
    if (nx != 2)
        return 0;
    *pi = i;
    return 1;
}

/* The one choice: {"index":0,"delta":{...},"finish_reason":..}; s[*i] == '{', depth 2. */
static int chunk_choice(elaine_llm *l, chunk *c, const char *s, size_t n, size_t *pi)
{
    size_t i = *pi + 1;
    int nx; /* after each member: 1 a comma, 2 the closing brace, 0 anything else */
    c->has_choice = 1;
    if (i < n && s[i] == '}') {
        *pi = i + 1;
        return 1;
    }
    for (;;) {
        const char *k;
        size_t kl;
        if (!chunk_key(s, n, &i, &k, &kl))
            return 0;
        if (KEY_IS(k, kl, "index")) {
            if (c->seen & SEEN_INDEX)
                return 0;
            c->seen |= SEEN_INDEX;
            /* elaine_json_int gives 0 for these two texts only */
            size_t e = chunk_skip(s, n, i, 3);
            c->index_zero = (e == i + 1 && s[i] == '0') || (e == i + 2 && s[i] == '-' && s[i + 1] == '0');
            i = e;
        } else if (KEY_IS(k, kl, "delta")) {
            if (c->seen & SEEN_DELTA)
                return 0;
            c->seen |= SEEN_DELTA;
            if (i < n && s[i] == '{') {
                if (!chunk_delta(l, c, s, n, &i))
                    return 0;
            } else {
                i = chunk_skip(s, n, i, 3); /* no delta.content */
            }
        } else if (KEY_IS(k, kl, "finish_reason")) {
            if (c->seen & SEEN_FINISH)
                return 0;
            c->seen |= SEEN_FINISH;
            i = chunk_str(s, n, i, 3, &c->finish);
        } else if (KEY_IS(k, kl, "text") || KEY_IS(k, kl, "message")) {
            return 0;
        } else {
            i = chunk_skip(s, n, i, 3);
        }
        if ((nx = chunk_next(s, n, &i)) != 1)
            break;
    }
    if (nx != 2)
        return 0;
    *pi = i;
    return 1;
}

/* The top-level members; 0 to leave the event to the tree path. */
static int chunk_scan(elaine_llm *l, chunk *c, const char *s, size_t n)
{
    size_t i = 1;
    if (n < 2 || s[0] != '{')
        return 0;
    if (s[1] == '}')
        return n == 2;
    for (;;) {
        const char *k;
        size_t kl;
        if (!chunk_key(s, n, &i, &k, &kl))
            return 0;
        unsigned bit = 0;
        switch (kl) {
        case 2:
            if (memcmp(k, "id", 2) == 0)
                bit = SEEN_ID;
            break;
        case 5:
            if (memcmp(k, "model", 5) == 0)
                bit = SEEN_MODEL;
            else if (memcmp(k, "usage", 5) == 0)
                bit = SEEN_USAGE;
            else if (memcmp(k, "error", 5) == 0)
                return 0;
            break;
        case 6:
            if (memcmp(k, "object", 6) == 0)
                bit = SEEN_OBJECT;
            break;
        case 7:
            if (memcmp(k, "choices", 7) == 0)
                bit = SEEN_CHOICES;
            break;
        }
        if (c->seen & bit)
            return 0; /* the tree path takes the first of them */
        c->seen |= bit;
        switch (bit) {
        case SEEN_ID:
            i = chunk_str(s, n, i, 1, &c->id);
            break;
        case SEEN_MODEL:
            i = chunk_str(s, n, i, 1, &c->model);
            break;
        case SEEN_OBJECT: {
            chunk_span o = {0};
            size_t e = chunk_str(s, n, i, 1, &o);
            if (o.p && o.n == 5 && memcmp(o.p, "error", 5) == 0)
                return 0; /* vLLM's error object */
            i = e;
            break;
        }
        case SEEN_USAGE:
            if (i < n && s[i] == '{')
                return 0; /* the numbers: the tree path */
            i = chunk_skip(s, n, i, 1); /* null: no usage */
            break;
        case SEEN_CHOICES:
            if (i < n && s[i] == '[') {
                i++;
                if (i < n && s[i] == ']') {
                    i++; /* no choice */
                    break;
                }
                if (i >= n || s[i] != '{' || !chunk_choice(l, c, s, n, &i))
                    return 0;
                if (i >= n || s[i] != ']')
                    return 0; /* more than one */
                i++;
            } else {
                i = chunk_skip(s, n, i, 1); /* not an array: no choice */
            }
            break;
        default:
            i = chunk_skip(s, n, i, 1);
            break;
        }
        int nx = chunk_next(s, n, &i);
        if (nx != 1)
            return nx == 2 && i == n;
    }
}

/* Sets *dst as elaine_llm_set_str does from a string value of these bytes (no NUL among them). */
static void set_span(char **dst, chunk_span sp)
{
    if (sp.n && !elaine_llm_field_is(dst, sp.p, sp.n))
        elaine_llm_set_fieldn(dst, sp.p, sp.n);
}

int elaine_openai_chunk_fast(elaine_llm *l, const char *data, size_t n)
{
    chunk c;
    memset(&c, 0, sizeof(c));
    size_t mark = l->output_text.len;
    int ok = chunk_scan(l, &c, data, n);
    /* the choice the tree path takes: index 0, or the only one without an index */
    int use = c.has_choice && (c.index_zero || !(c.seen & SEEN_INDEX));
    if (!ok || !use || !c.content) {
        if (l->output_text.len != mark) { /* appended by the scan: taken back */
            l->output_text.len = mark;
            l->output_text.p[mark] = 0;
        }
        if (!ok)
            return -1;
    }
    set_span(&l->response_model, c.model);
    if (!l->response_id)
        set_span(&l->response_id, c.id);
    if (!use)
        return 0;
    set_span(&l->finish_reason, c.finish);
    if (!c.content)
        return 0;
    l->has_output_text = 1;
    return c.content_len > 0;
}

static int openai_stream_event(elaine_llm *l, const char *event, const char *data, size_t n)
{
    if (!is_responses(l) && n && data[0] == '{') {
        int gen = elaine_openai_chunk_fast(l, data, n);
        if (gen >= 0)
            return gen;
    }
    return elaine_openai_stream_event_tree(l, event, data, n);
}

int elaine_openai_stream_event_tree(elaine_llm *l, const char *event, const char *data, size_t n)
{
    if (n == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    ej_val *ev = elaine_json_parse(data, n);
    if (!ev)
        return 0;
    int gen = 0;
    if (elaine_json_type(ev) != EJ_OBJ)
        goto out;
    if (is_responses(l)) {
        gen = responses_event(l, event, ev);
        goto out;
    }
    const ej_val *f[B_N] = {0};
    body_members(ev, f);
    if (error_fields(l, f))
        goto out;
    gen = chat_object(l, f, 1);
out:
    elaine_json_free(ev);
    return gen;
}

/* Chat and legacy completions streams end with data: [DONE]; a Responses
 * stream with response.completed (or .failed, .incomplete). */
static int openai_stream_last(const elaine_llm *l, const char *event, const char *data, size_t n)
{
    if (!is_responses(l))
        return n == 6 && memcmp(data, "[DONE]", 6) == 0;
    static const char *const last[] = {"response.completed", "response.failed", "response.incomplete"};
    static const char *const quoted[] = {"\"response.completed\"", "\"response.failed\"",
                                         "\"response.incomplete\""};
    for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
        if ((event && strcmp(event, last[i]) == 0) || elaine_json_text_has(data, n, "type", quoted[i]))
            return 1;
    return 0;
}

const elaine_provider elaine_provider_openai = {
    .name = "openai",
    .operation = openai_operation,
    .request = openai_request,
    .response = openai_response,
    .stream_event = openai_stream_event,
    .stream_last = openai_stream_last,
};
