/* Provider extractors: the llm.* part of a record, and which provider serves a request. */
#include "elaine_provider.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Tried in order; the first whose operation() accepts the request wins.
 * Ollama comes before OpenAI: its /api/embeddings also ends in /embeddings. */
static const elaine_provider *const providers[] = {
    &elaine_provider_anthropic,
    &elaine_provider_gemini,
    &elaine_provider_ollama,
    &elaine_provider_openai,
};

_Static_assert(offsetof(elaine_llm, model_room) == offsetof(elaine_llm, model) + sizeof(char *) &&
                   offsetof(elaine_llm, response_model_room) ==
                       offsetof(elaine_llm, response_model) + sizeof(char *) &&
                   offsetof(elaine_llm, response_id_room) == offsetof(elaine_llm, response_id) + sizeof(char *) &&
                   offsetof(elaine_llm, finish_reason_room) ==
                       offsetof(elaine_llm, finish_reason) + sizeof(char *),
               "each room follows its pointer");

/* free(*dst) unless it is the room after dst (for any char * field: a
 * malloc'd string is never the next field of a live struct). */
static inline void free_str(char **dst)
{
    if (!elaine_llm_in_room(dst))
        free(*dst);
}

void elaine_llm_init(elaine_llm *l)
{
    /* field by field: the rooms (224 bytes) need no zeroes */
    l->provider = NULL;
    l->operation = NULL;
    l->model = NULL;
    l->response_model = NULL;
    l->response_id = NULL;
    l->finish_reason = NULL;
    l->stream = -1;
    l->input_tokens = -1;
    l->output_tokens = -1;
    l->total_tokens = -1;
    l->cached_input_tokens = -1;
    l->reasoning_tokens = -1;
    elaine_buf_init(&l->output_text);
    l->has_output_text = 0;
    elaine_buf_init(&l->reasoning_text);
    l->has_reasoning_text = 0;
    l->tool_calls = NULL;
    l->n_tool_calls = 0;
    l->cap_tool_calls = 0;
    l->error_type = NULL;
    l->error_message = NULL;
}

void elaine_llm_free(elaine_llm *l)
{
    free_str(&l->model);
    free_str(&l->response_model);
    free_str(&l->response_id);
    free_str(&l->finish_reason);
    elaine_buf_free(&l->output_text);
    elaine_buf_free(&l->reasoning_text);
    for (size_t i = 0; i < l->n_tool_calls; i++) {
        free(l->tool_calls[i].id);
        free(l->tool_calls[i].name);
        elaine_buf_free(&l->tool_calls[i].arguments);
    }
    if (l->tool_calls)
        free(l->tool_calls);
    if (l->error_type)
        free(l->error_type);
    if (l->error_message)
        free(l->error_message);
    elaine_llm_init(l);
}

void elaine_llm_finish(elaine_llm *l)
{
    if (l->total_tokens < 0 && l->input_tokens >= 0 && l->output_tokens >= 0)
        l->total_tokens = elaine_llm_sum(l->input_tokens, l->output_tokens);
}

int64_t elaine_llm_sum(int64_t a, int64_t b)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
        return -1;
    return r;
}

int elaine_provider_path_ends(const char *path, const char *suffix)
{
    size_t n = strcspn(path, "?#"), sl = strlen(suffix);
    if (n && path[n - 1] == '/')
        n--;
    return n >= sl && memcmp(path + n - sl, suffix, sl) == 0;
}

void elaine_llm_set_str(char **dst, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (!s || !*s)
        return;
    if (*dst && strcmp(*dst, s) == 0)
        return; /* a stream repeats it in every event */
    char *c = strdup(s);
    if (!c)
        return;
    free_str(dst);
    *dst = c;
}

void elaine_llm_set_fieldn(char **dst, const char *s, size_t n)
{
    /* (s may hold a \0: the room then holds the bytes after it too, unread;
     * the memcmp below tells the whole bytes apart, which at worst copies
     * again a string that was equal) */
    char *room = (char *)(dst + 1);
    if (n >= ELAINE_LLM_ROOM)
        n = strnlen(s, n); /* (a long one up to its \0: strncmp below reads no further) */
    if (n < ELAINE_LLM_ROOM) {
        if (*dst == room && memcmp(room, s, n) == 0 && room[n] == 0)
            return; /* a stream repeats it in every event */
        if (*dst && *dst != room)
            free(*dst);
        memcpy(room, s, n);
        room[n] = 0;
        *dst = room;
        return;
    }
    if (*dst && *dst != room && strncmp(*dst, s, n) == 0 && (*dst)[n] == 0)
        return;
    char *c = strndup(s, n);
    if (!c)
        return;
    free_str(dst);
    *dst = c;
}

void elaine_llm_set_field(char **dst, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (!s || !*s)
        return;
    /* all its bytes: a \0 among them ends the string there as strdup
     * would (the record reads it as a C string) */
    elaine_llm_set_fieldn(dst, s, elaine_json_len(v));
}

void elaine_llm_set_int(int64_t *dst, const ej_val *v)
{
    int64_t x;
    if (elaine_json_int(v, &x) == 0 && x >= 0)
        *dst = x;
}

static int add_to(elaine_buf *b, int *has, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (!s)
        return 0;
    *has = 1;
    elaine_buf_add(b, s, elaine_json_len(v));
    return elaine_json_len(v) > 0;
}

int elaine_llm_add_text(elaine_llm *l, const ej_val *v)
{
    return add_to(&l->output_text, &l->has_output_text, v);
}

int elaine_llm_add_reasoning(elaine_llm *l, const ej_val *v)
{
    return add_to(&l->reasoning_text, &l->has_reasoning_text, v);
}

void elaine_llm_set_error(elaine_llm *l, const ej_val *type, const ej_val *message)
{
    const char *num = elaine_json_num_text(type);
    if (num) {
        char *c = strdup(num);
        if (c) {
            free_str(&l->error_type);
            l->error_type = c;
        }
    } else {
        elaine_llm_set_str(&l->error_type, type);
    }
    elaine_llm_set_str(&l->error_message, message);
}

elaine_tool_call *elaine_llm_tool_call(elaine_llm *l, int64_t key)
{
    if (key >= 0)
        for (size_t i = 0; i < l->n_tool_calls; i++)
            if (l->tool_calls[i].key == key)
                return &l->tool_calls[i];
    if (l->n_tool_calls == l->cap_tool_calls) {
        size_t cap = l->cap_tool_calls ? l->cap_tool_calls * 2 : 4;
        elaine_tool_call *n = realloc(l->tool_calls, cap * sizeof(*n));
        if (!n)
            return NULL;
        l->tool_calls = n;
        l->cap_tool_calls = cap;
    }
    elaine_tool_call *t = &l->tool_calls[l->n_tool_calls++];
    memset(t, 0, sizeof(*t));
    elaine_buf_init(&t->arguments);
    t->key = key < 0 ? -1 : key;
    return t;
}

void elaine_tool_call_set_args(elaine_tool_call *t, const ej_val *v)
{
    if (!t || !v)
        return;
    elaine_buf_reset(&t->arguments);
    t->seeded = 0;
    const char *s = elaine_json_str(v);
    if (s) {
        elaine_buf_add(&t->arguments, s, elaine_json_len(v));
        return;
    }
    elaine_jw w;
    elaine_jw_init(&w, &t->arguments);
    elaine_jw_value(&w, v);
}

int elaine_tool_call_add_args(elaine_tool_call *t, const ej_val *v)
{
    const char *s = elaine_json_str(v);
    if (!t || !s)
        return 0;
    if (t->seeded && elaine_json_len(v) > 0) {
        elaine_buf_reset(&t->arguments);
        t->seeded = 0;
    }
    elaine_buf_add(&t->arguments, s, elaine_json_len(v));
    return elaine_json_len(v) > 0;
}

/* The last request line detected (per thread): a program sends the same
 * one again and again, and every operation() is a function of its
 * arguments alone. Keyed by the three strings, one after another. */
#define LAST_KEY 256

static _Thread_local struct {
    size_t hl, ml, pl; /* lengths of host, method, path in key; pl 0: empty */
    char key[LAST_KEY];
    const elaine_provider *found;
    const char *op;
} last;

const elaine_provider *elaine_provider_detect(elaine_llm *l, const char *host, const char *method,
                                              const char *path)
{
    if (!path || !method)
        return NULL;
    /* providers see the path without its query string or fragment */
    size_t n = strcspn(path, "?#");
    size_t hl = host ? strlen(host) : 0, ml = strlen(method);
    int keyed = host && n && hl + ml + n <= LAST_KEY;
    if (keyed && last.pl == n && last.hl == hl && last.ml == ml &&
        memcmp(last.key + hl + ml, path, n) == 0 && memcmp(last.key + hl, method, ml) == 0 &&
        memcmp(last.key, host, hl) == 0) {
        if (last.found) {
            l->provider = last.found->name;
            l->operation = last.op;
        }
        return last.found;
    }
    char local[LAST_KEY];
    char *clean = n < sizeof(local) ? local : malloc(n + 1);
    if (!clean)
        return NULL;
    memcpy(clean, path, n);
    clean[n] = 0;
    const elaine_provider *found = NULL;
    const char *op = NULL;
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        op = providers[i]->operation(host, method, clean);
        if (op) {
            found = providers[i];
            l->provider = found->name;
            l->operation = op;
            break;
        }
    }
    if (clean != local)
        free(clean);
    if (keyed) {
        memcpy(last.key, host, hl);
        memcpy(last.key + hl, method, ml);
        memcpy(last.key + hl + ml, path, n);
        last.hl = hl;
        last.ml = ml;
        last.pl = n;
        last.found = found;
        last.op = op;
    }
    return found;
}
