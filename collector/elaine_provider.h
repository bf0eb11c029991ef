/* Provider extractors: what an LLM exchange says (model, usage, output), one file per provider. */
#ifndef ELAINE_PROVIDER_H
#define ELAINE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"
#include "elaine_json.h"

/* The llm.* part of a record. Strings are malloc'd (or NULL = null). */
typedef struct elaine_llm {
    const char *provider;   /* static name ("openai", ...), NULL: not an LLM call */
    const char *operation;  /* static ("chat", "completion", "embeddings", ...) */
    char *model;            /* requested model */
    char *response_model;   /* what the server said */
    char *response_id;
    char *finish_reason;
    int stream;             /* 1, 0, or -1 unknown */
    int64_t input_tokens;   /* -1 = null */
    int64_t output_tokens;
    int64_t total_tokens;
    elaine_buf output_text;
    int has_output_text;    /* output_text is meaningful (it may be empty) */
} elaine_llm;

void elaine_llm_init(elaine_llm *l);
void elaine_llm_free(elaine_llm *l);
/* After the response: total = input + output when the provider gave only those. */
void elaine_llm_finish(elaine_llm *l);

typedef struct elaine_provider {
    const char *name;
    /* The operation for a request, or NULL when this provider does not serve it. */
    const char *(*operation)(const char *host, const char *method, const char *path);
    /* The request body (NULL when not JSON); path without the query string. */
    void (*request)(elaine_llm *l, const char *path, const ej_val *body);
    /* A whole (non-streamed) response body, NULL when not JSON. */
    void (*response)(elaine_llm *l, int status, const ej_val *body);
    /* One stream event (SSE: event type and data; NDJSON: "" and the line).
     * Returns 1 when the event carried generated content (for ttft). */
    int (*stream_event)(elaine_llm *l, const char *event, const char *data, size_t n);
} elaine_provider;

/* The provider serving method+path on host (path may carry a query string),
 * setting l->provider and l->operation; NULL (and l untouched) when none does. */
const elaine_provider *elaine_provider_detect(elaine_llm *l, const char *host, const char *method,
                                              const char *path);

extern const elaine_provider elaine_provider_openai;

#endif
