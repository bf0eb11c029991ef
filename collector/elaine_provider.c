/* Provider extractors: the llm.* part of a record, and which provider serves a request. */
#include "elaine_provider.h"

#include <stdlib.h>
#include <string.h>

/* Tried in order; the first whose operation() accepts the request wins. */
static const elaine_provider *const providers[] = {
    &elaine_provider_openai,
};

void elaine_llm_init(elaine_llm *l)
{
    memset(l, 0, sizeof(*l));
    l->stream = -1;
    l->input_tokens = -1;
    l->output_tokens = -1;
    l->total_tokens = -1;
    elaine_buf_init(&l->output_text);
}

void elaine_llm_free(elaine_llm *l)
{
    free(l->model);
    free(l->response_model);
    free(l->response_id);
    free(l->finish_reason);
    elaine_buf_free(&l->output_text);
    elaine_llm_init(l);
}

void elaine_llm_finish(elaine_llm *l)
{
    if (l->total_tokens < 0 && l->input_tokens >= 0 && l->output_tokens >= 0)
        l->total_tokens = l->input_tokens + l->output_tokens;
}

const elaine_provider *elaine_provider_detect(elaine_llm *l, const char *host, const char *method,
                                              const char *path)
{
    if (!path || !method)
        return NULL;
    /* providers see the path without its query string or fragment */
    size_t n = strcspn(path, "?#");
    char *clean = strndup(path, n);
    if (!clean)
        return NULL;
    const elaine_provider *found = NULL;
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        const char *op = providers[i]->operation(host, method, clean);
        if (op) {
            found = providers[i];
            l->provider = found->name;
            l->operation = op;
            break;
        }
    }
    free(clean);
    return found;
}
