/* Provider extractors: what an LLM exchange says (model, usage, output), one file per provider. */
#ifndef ELAINE_PROVIDER_H
#define ELAINE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"
#include "elaine_json.h"

/* One tool (function) call the model asked for. */
typedef struct elaine_tool_call {
    char *id;             /* as the provider names the call, NULL = null */
    char *name;           /* function name, NULL = null */
    elaine_buf arguments; /* the JSON text the model produced (a stream may cut it off) */
    int64_t key;          /* the provider's index that stream deltas refer to; -1 none */
    int seeded;           /* arguments hold a start value that the first delta replaces */
} elaine_tool_call;

/* Room for a short string right after its pointer (see elaine_llm_set_field):
 * the pointer and its room make 64 bytes. */
#define ELAINE_LLM_ROOM (64 - sizeof(char *))

/* The llm.* part of a record. Strings are malloc'd (or NULL = null); model,
 * response_model, response_id and finish_reason may instead point to the
 * room that follows each of them (a string shorter than ELAINE_LLM_ROOM,
 * set by elaine_llm_set_field): no malloc and free per exchange. */
typedef struct elaine_llm {
    const char *provider;   /* static name ("openai", ...), NULL: not an LLM call */
    const char *operation;  /* static ("chat", "completion", "embeddings", ...) */
    char *model;            /* requested model */
    char model_room[ELAINE_LLM_ROOM];
    char *response_model;   /* what the server said */
    char response_model_room[ELAINE_LLM_ROOM];
    char *response_id;
    char response_id_room[ELAINE_LLM_ROOM];
    char *finish_reason;
    char finish_reason_room[ELAINE_LLM_ROOM];
    int stream;             /* 1, 0, or -1 unknown */
    int64_t input_tokens;   /* -1 = null; cached input tokens included */
    int64_t output_tokens;  /* reasoning tokens included */
    int64_t total_tokens;
    int64_t cached_input_tokens; /* input tokens served from the provider's cache */
    int64_t reasoning_tokens;    /* output tokens spent on reasoning */
    elaine_buf output_text;
    int has_output_text;    /* output_text is meaningful (it may be empty) */
    elaine_buf reasoning_text; /* reasoning/thinking text the provider marks as such */
    int has_reasoning_text;
    elaine_tool_call *tool_calls; /* in the order the calls first appeared */
    size_t n_tool_calls, cap_tool_calls;
    char *error_type;       /* from an error body (status >= 400) or an error event */
    char *error_message;
} elaine_llm;

void elaine_llm_init(elaine_llm *l);
void elaine_llm_free(elaine_llm *l);
/* After the response: total = input + output when the provider gave only those. */
void elaine_llm_finish(elaine_llm *l);

/* Helpers for the extractors. Each ignores values of the wrong type. */
/* 1 when path (no query) ends with the segments in suffix, e.g. "/chat/completions";
 * a trailing slash is tolerated. */
int elaine_provider_path_ends(const char *path, const char *suffix);
/* Replaces *dst with a copy of v's string when v is a non-empty string
 * (malloc'd; the string up to a \0 it may hold). */
void elaine_llm_set_str(char **dst, const ej_val *v);
/* The same for model, response_model, response_id and finish_reason (a
 * field with its room after it): a short string goes into the room. */
void elaine_llm_set_field(char **dst, const ej_val *v);
/* The same with the string's bytes given, n > 0 (s[0] not \0); a \0 among them ends it. */
void elaine_llm_set_fieldn(char **dst, const char *s, size_t n);
/* 1 when *dst points to the room that follows the pointer (it is not to be freed). */
static inline int elaine_llm_in_room(char *const *dst)
{
    return *dst == (const char *)(dst + 1);
}

/* 1 when the field (model, response_model, response_id or finish_reason) is
 * in its room and holds s[0..n) (n > 0, no \0 among them): what a stream
 * repeats in every event, told apart inline in words (the room has
 * ELAINE_LLM_ROOM bytes to read, s only its n). */
static inline int elaine_llm_field_is(char *const *dst, const char *s, size_t n)
{
    const char *r = (const char *)(dst + 1);
    if (*dst != r || n >= ELAINE_LLM_ROOM || r[n] != 0)
        return 0;
    uint64_t x, y;
    if (n >= 8) {
        for (size_t k = 0; k + 8 < n; k += 8) {
            __builtin_memcpy(&x, r + k, 8);
            __builtin_memcpy(&y, s + k, 8);
            if (x != y)
                return 0;
        }
        __builtin_memcpy(&x, r + n - 8, 8);
        __builtin_memcpy(&y, s + n - 8, 8);
        return x == y;
    }
    for (size_t k = 0; k < n; k++)
        if (r[k] != s[k])
            return 0;
    return 1;
}
/* Sets *dst when v is a non-negative integer. */
void elaine_llm_set_int(int64_t *dst, const ej_val *v);
/* a + b for token counts: -1 (null) when either is null or the sum does not
 * fit int64 (a server's usage numbers are not to be trusted). */
int64_t elaine_llm_sum(int64_t a, int64_t b);
/* Appends v's string to output_text (reasoning_text) and marks it present;
 * 1 when it added bytes, 0 otherwise (also when v is not a string). */
int elaine_llm_add_text(elaine_llm *l, const ej_val *v);
int elaine_llm_add_reasoning(elaine_llm *l, const ej_val *v);
/* Sets error_type / error_message from string values (a number for type is
 * kept as its text); either may be NULL. */
void elaine_llm_set_error(elaine_llm *l, const ej_val *type, const ej_val *message);
/* The tool call that stream deltas with index key refer to, appended when
 * new; key < 0 always appends. NULL on ENOMEM. */
elaine_tool_call *elaine_llm_tool_call(elaine_llm *l, int64_t key);
/* Sets t's arguments: a string value is the JSON text itself (OpenAI), any
 * other value is written as compact JSON (Anthropic input, Gemini args). */
void elaine_tool_call_set_args(elaine_tool_call *t, const ej_val *v);
/* Appends a stream delta of argument text (a string value). 1 when it added bytes. */
int elaine_tool_call_add_args(elaine_tool_call *t, const ej_val *v);

typedef struct elaine_provider {
    const char *name;
    /* The operation for a request, or NULL when this provider does not serve it. */
    const char *(*operation)(const char *host, const char *method, const char *path);
    /* The request body (NULL when not JSON); path without the query string. */
    void (*request)(elaine_llm *l, const char *path, const ej_val *body);
    /* A whole (non-streamed) response body, NULL when not JSON; also for a
     * status >= 400, where it takes error_type and error_message from the body. */
    void (*response)(elaine_llm *l, int status, const ej_val *body);
    /* One stream event (SSE: event type and data; NDJSON: "" and the line).
     * Returns 1 when the event carried generated content (for ttft). */
    int (*stream_event)(elaine_llm *l, const char *event, const char *data, size_t n);
    /* 1: a streamed (llm.stream) successful response is NDJSON even when its
     * Content-Type does not say application/x-ndjson. */
    int ndjson;
    /* 1 when this stream event is the last one of a whole stream by the
     * provider's protocol ("data: [DONE]", message_stop, "done": true); NULL:
     * its streams have no such marker. A stream that ends without it (and
     * without an error event) was cut: the record gets an error. */
    int (*stream_last)(const elaine_llm *l, const char *event, const char *data, size_t n);
} elaine_provider;

/* The provider serving method+path on host (path may carry a query string),
 * setting l->provider and l->operation; NULL (and l untouched) when none does.
 * The path decides; a host alone never does. */
const elaine_provider *elaine_provider_detect(elaine_llm *l, const char *host, const char *method,
                                              const char *path);

/* The OpenAI stream event paths apart, for tests: the usual chat chunk read
 * from its text (-1: not sure of it, l unchanged; else what stream_event
 * returns), and the parsed-tree path that takes every event. */
int elaine_openai_chunk_fast(elaine_llm *l, const char *data, size_t n);
int elaine_openai_stream_event_tree(elaine_llm *l, const char *event, const char *data, size_t n);

extern const elaine_provider elaine_provider_openai;
extern const elaine_provider elaine_provider_anthropic;
extern const elaine_provider elaine_provider_gemini;
extern const elaine_provider elaine_provider_ollama;

#endif
