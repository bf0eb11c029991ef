/* A request's conversation in one shape whatever the provider. */
#include "elaine_cli_conv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void elaine_cli_conv_init(elaine_cli_conv *c)
{
    memset(c, 0, sizeof(*c));
}

static void msg_free(elaine_cli_msg *m)
{
    free(m->role);
    free(m->text);
    free(m->tool_call_id);
    free(m->name);
    for (size_t i = 0; i < m->ncalls; i++) {
        free(m->calls[i].id);
        free(m->calls[i].name);
        free(m->calls[i].arguments);
    }
    free(m->calls);
}

void elaine_cli_conv_free(elaine_cli_conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        msg_free(&c->m[i]);
    free(c->m);
    memset(c, 0, sizeof(*c));
}

static char *dup_or_null(elaine_cli_conv *c, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        c->oom = 1;
    return d;
}

static elaine_cli_msg *msg_new(elaine_cli_conv *c, const char *role)
{
    if (c->oom)
        return NULL;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        elaine_cli_msg *nm = realloc(c->m, nc * sizeof(*nm));
        if (!nm) {
            c->oom = 1;
            return NULL;
        }
        c->m = nm;
        c->cap = nc;
    }
    elaine_cli_msg *m = &c->m[c->n++];
    memset(m, 0, sizeof(*m));
    m->role = dup_or_null(c, role);
    return m;
}

/* Appends text to m->text, "\n" between pieces. */
static void msg_text(elaine_cli_conv *c, elaine_cli_msg *m, const char *s, size_t n)
{
    if (!m || !s)
        return;
    size_t old = m->text ? strlen(m->text) : 0;
    char *t = realloc(m->text, old + (old ? 1 : 0) + n + 1);
    if (!t) {
        c->oom = 1;
        return;
    }
    if (old)
        t[old++] = '\n';
    memcpy(t + old, s, n);
    t[old + n] = 0;
    m->text = t;
}

/* A JSON value as JSON text (strings as they are when as_is). */
static char *json_text(elaine_cli_conv *c, const ej_val *v, int as_is)
{
    if (as_is && v && elaine_json_type(v) == EJ_STR)
        return dup_or_null(c, elaine_json_str(v));
    elaine_buf b;
    elaine_jw w;
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    if (v)
        elaine_jw_value(&w, v);
    else
        elaine_buf_adds(&b, "{}");
    if (b.oom) {
        c->oom = 1;
        elaine_buf_free(&b);
        return NULL;
    }
    return elaine_buf_take(&b);
}

static void msg_call(elaine_cli_conv *c, elaine_cli_msg *m, const char *id, const char *name, const ej_val *args)
{
    if (!m)
        return;
    elaine_cli_call *nc = realloc(m->calls, (m->ncalls + 1) * sizeof(*nc));
    if (!nc) {
        c->oom = 1;
        return;
    }
    m->calls = nc;
    elaine_cli_call *k = &m->calls[m->ncalls++];
    k->id = dup_or_null(c, id);
    k->name = dup_or_null(c, name ? name : "");
    k->arguments = json_text(c, args, 1);
}

static const char *str(const ej_val *v, const char *key)
{
    return elaine_json_str(elaine_json_get(v, key));
}

static void add_str_val(elaine_cli_conv *c, elaine_cli_msg *m, const ej_val *v)
{
    if (v && elaine_json_type(v) == EJ_STR)
        msg_text(c, m, elaine_json_str(v), elaine_json_len(v));
}

static const char *placeholder(const char *type)
{
    if (!type)
        return NULL;
    if (strstr(type, "image"))
        return "[image]";
    if (strstr(type, "audio"))
        return "[audio]";
    if (strstr(type, "file") || strstr(type, "document"))
        return "[file]";
    return NULL;
}

/* Tool result content (Anthropic: a string or text blocks) as text. */
static char *result_text(elaine_cli_conv *c, const ej_val *content)
{
    if (!content)
        return dup_or_null(c, "");
    if (elaine_json_type(content) == EJ_STR)
        return dup_or_null(c, elaine_json_str(content));
    if (elaine_json_type(content) == EJ_ARR) {
        elaine_cli_msg tmp = {0};
        for (size_t i = 0; i < elaine_json_len(content); i++) {
            const ej_val *b = elaine_json_at(content, i);
            const char *t = str(b, "text");
            if (t)
                msg_text(c, &tmp, t, strlen(t));
            else if (placeholder(str(b, "type")))
                msg_text(c, &tmp, placeholder(str(b, "type")), strlen(placeholder(str(b, "type"))));
        }
        return tmp.text ? tmp.text : dup_or_null(c, "");
    }
    return json_text(c, content, 0);
}

/* One message of a "messages" array (OpenAI chat, Anthropic, Ollama) or of
 * a Responses "input" array. */
static void add_message(elaine_cli_conv *c, const ej_val *msg)
{
    const char *role = str(msg, "role");
    const char *type = str(msg, "type");
    if (!role && type && !strcmp(type, "function_call")) { /* Responses API */
        elaine_cli_msg *m = msg_new(c, "assistant");
        msg_call(c, m, str(msg, "call_id"), str(msg, "name"), elaine_json_get(msg, "arguments"));
        return;
    }
    if (!role && type && !strcmp(type, "function_call_output")) {
        elaine_cli_msg *m = msg_new(c, "tool");
        if (m) {
            m->tool_call_id = dup_or_null(c, str(msg, "call_id"));
            m->text = result_text(c, elaine_json_get(msg, "output"));
        }
        return;
    }
    if (!role)
        return;
    if (!strcmp(role, "developer"))
        role = "system";
    const ej_val *content = elaine_json_get(msg, "content");
    /* Anthropic tool results come first, as their own messages. */
    if (content && elaine_json_type(content) == EJ_ARR) {
        for (size_t i = 0; i < elaine_json_len(content); i++) {
            const ej_val *b = elaine_json_at(content, i);
            const char *bt = str(b, "type");
            if (bt && !strcmp(bt, "tool_result")) {
                elaine_cli_msg *m = msg_new(c, "tool");
                if (m) {
                    m->tool_call_id = dup_or_null(c, str(b, "tool_use_id"));
                    m->text = result_text(c, elaine_json_get(b, "content"));
                }
            }
        }
    }
    size_t before = c->n;
    elaine_cli_msg *m = msg_new(c, role);
    if (!m)
        return;
    size_t idx = c->n - 1;
    if (!strcmp(role, "tool")) {
        m->tool_call_id = dup_or_null(c, str(msg, "tool_call_id"));
        m->name = dup_or_null(c, str(msg, "name"));
    }
    int has_text_part = 0, only_results = content && elaine_json_type(content) == EJ_ARR;
    if (content && elaine_json_type(content) == EJ_STR) {
        add_str_val(c, m, content);
    } else if (content && elaine_json_type(content) == EJ_ARR) {
        for (size_t i = 0; i < elaine_json_len(content); i++) {
            m = &c->m[idx]; /* msg_new may have moved it */
            const ej_val *b = elaine_json_at(content, i);
            if (elaine_json_type(b) == EJ_STR) { /* Ollama-style list of strings */
                add_str_val(c, m, b);
                only_results = 0;
                continue;
            }
            const char *bt = str(b, "type");
            if (bt && !strcmp(bt, "tool_result"))
                continue;
            only_results = 0;
            if (bt && !strcmp(bt, "tool_use")) {
                msg_call(c, m, str(b, "id"), str(b, "name"), elaine_json_get(b, "input"));
            } else if (bt && (!strcmp(bt, "thinking") || !strcmp(bt, "redacted_thinking") || !strcmp(bt, "reasoning"))) {
                continue;
            } else if (str(b, "text")) {
                add_str_val(c, m, elaine_json_get(b, "text"));
                has_text_part = 1;
            } else if (placeholder(bt)) {
                msg_text(c, m, placeholder(bt), strlen(placeholder(bt)));
            }
        }
    }
    m = &c->m[idx];
    /* OpenAI and Ollama tool calls. */
    const ej_val *tc = elaine_json_get(msg, "tool_calls");
    for (size_t i = 0; tc && i < elaine_json_len(tc) && elaine_json_type(tc) == EJ_ARR; i++) {
        const ej_val *t = elaine_json_at(tc, i);
        const ej_val *fn = elaine_json_get(t, "function");
        msg_call(c, &c->m[idx], str(t, "id"), str(fn, "name"), elaine_json_get(fn, "arguments"));
        only_results = 0;
    }
    m = &c->m[idx];
    (void)has_text_part;
    /* A user message that only carried tool results: drop the empty shell. */
    if (only_results && !m->text && !m->ncalls && c->n == idx + 1 && idx >= before) {
        msg_free(m);
        c->n--;
    }
}

static void add_messages(elaine_cli_conv *c, const ej_val *arr)
{
    for (size_t i = 0; i < elaine_json_len(arr) && !c->oom; i++)
        add_message(c, elaine_json_at(arr, i));
}

/* Anthropic/Ollama "system": a string or text blocks. */
static void add_system(elaine_cli_conv *c, const ej_val *sys)
{
    if (!sys || elaine_json_type(sys) == EJ_NULL)
        return;
    elaine_cli_msg *m = msg_new(c, "system");
    if (elaine_json_type(sys) == EJ_STR) {
        add_str_val(c, m, sys);
    } else if (elaine_json_type(sys) == EJ_ARR) {
        for (size_t i = 0; i < elaine_json_len(sys); i++)
            add_str_val(c, m, elaine_json_get(elaine_json_at(sys, i), "text"));
    } else if (elaine_json_type(sys) == EJ_OBJ) { /* Gemini systemInstruction */
        const ej_val *parts = elaine_json_get(sys, "parts");
        for (size_t i = 0; i < elaine_json_len(parts); i++)
            add_str_val(c, m, elaine_json_get(elaine_json_at(parts, i), "text"));
    }
}

static void add_gemini(elaine_cli_conv *c, const ej_val *contents)
{
    for (size_t i = 0; i < elaine_json_len(contents) && !c->oom; i++) {
        const ej_val *ct = elaine_json_at(contents, i);
        const char *role = str(ct, "role");
        if (!role || !strcmp(role, "user"))
            role = "user";
        else if (!strcmp(role, "model"))
            role = "assistant";
        else if (!strcmp(role, "function") || !strcmp(role, "tool"))
            role = "tool";
        const ej_val *parts = elaine_json_get(ct, "parts");
        size_t idx = c->n;
        elaine_cli_msg *m = NULL;
        for (size_t k = 0; k < elaine_json_len(parts); k++) {
            const ej_val *p = elaine_json_at(parts, k);
            const ej_val *fr = elaine_json_get(p, "functionResponse");
            if (fr) {
                elaine_cli_msg *t = msg_new(c, "tool");
                if (t) {
                    const char *name = str(fr, "name");
                    t->tool_call_id = dup_or_null(c, str(fr, "id") ? str(fr, "id") : name);
                    t->name = dup_or_null(c, name);
                    t->text = json_text(c, elaine_json_get(fr, "response"), 0);
                }
                idx = c->n;
                m = NULL;
                continue;
            }
            if (elaine_json_bool(elaine_json_get(p, "thought")) == 1)
                continue;
            if (!m) {
                m = msg_new(c, !strcmp(role, "tool") ? "user" : role);
                idx = c->n - 1;
            }
            m = &c->m[idx];
            const ej_val *fc = elaine_json_get(p, "functionCall");
            if (fc) {
                const char *name = str(fc, "name");
                msg_call(c, m, str(fc, "id") ? str(fc, "id") : name, name, elaine_json_get(fc, "args"));
            } else if (str(p, "text")) {
                add_str_val(c, m, elaine_json_get(p, "text"));
            } else if (elaine_json_get(p, "inlineData") || elaine_json_get(p, "fileData")) {
                const char *mt = str(elaine_json_get(p, "inlineData") ? elaine_json_get(p, "inlineData")
                                                                     : elaine_json_get(p, "fileData"),
                                     "mimeType");
                const char *ph = mt && !strncmp(mt, "image/", 6) ? "[image]"
                                 : mt && !strncmp(mt, "audio/", 6) ? "[audio]"
                                                                   : "[file]";
                msg_text(c, m, ph, strlen(ph));
            }
        }
    }
}

int elaine_cli_conv_request(elaine_cli_conv *c, const ej_val *body)
{
    if (!body || elaine_json_type(body) != EJ_OBJ)
        return 0;
    const ej_val *v;
    if ((v = elaine_json_get(body, "systemInstruction")) || (v = elaine_json_get(body, "system_instruction")))
        add_system(c, v);
    if ((v = elaine_json_get(body, "contents")) && elaine_json_type(v) == EJ_ARR) {
        add_gemini(c, v);
        return c->oom ? -ENOMEM : 0;
    }
    add_system(c, elaine_json_get(body, "system"));
    const ej_val *ins = elaine_json_get(body, "instructions");
    if (ins && elaine_json_type(ins) == EJ_STR)
        add_system(c, ins);
    if ((v = elaine_json_get(body, "messages")) && elaine_json_type(v) == EJ_ARR) {
        add_messages(c, v);
    } else if ((v = elaine_json_get(body, "input")) && elaine_json_type(v) == EJ_ARR) {
        /* Responses: items, or (embeddings) strings */
        for (size_t i = 0; i < elaine_json_len(v) && !c->oom; i++) {
            const ej_val *it = elaine_json_at(v, i);
            if (elaine_json_type(it) == EJ_STR)
                add_str_val(c, msg_new(c, "user"), it);
            else
                add_message(c, it);
        }
    } else if ((v = elaine_json_get(body, "input")) && elaine_json_type(v) == EJ_STR) {
        add_str_val(c, msg_new(c, "user"), v);
    } else if ((v = elaine_json_get(body, "prompt"))) {
        elaine_cli_msg *m = msg_new(c, "user");
        if (elaine_json_type(v) == EJ_STR)
            add_str_val(c, m, v);
        else
            for (size_t i = 0; i < elaine_json_len(v); i++)
                add_str_val(c, m, elaine_json_at(v, i));
    }
    return c->oom ? -ENOMEM : 0;
}

int elaine_cli_conv_reply(elaine_cli_conv *c, const ej_val *rec)
{
    const ej_val *text = elaine_json_path(rec, "llm.output_text");
    const ej_val *calls = elaine_json_path(rec, "llm.tool_calls");
    int has_text = text && elaine_json_type(text) == EJ_STR;
    int has_calls = calls && elaine_json_type(calls) == EJ_ARR && elaine_json_len(calls) > 0;
    if (!has_text && !has_calls)
        return 0;
    elaine_cli_msg *m = msg_new(c, "assistant");
    if (!m)
        return -ENOMEM;
    size_t idx = c->n - 1;
    if (has_text)
        add_str_val(c, m, text);
    for (size_t i = 0; has_calls && i < elaine_json_len(calls); i++) {
        const ej_val *t = elaine_json_at(calls, i);
        msg_call(c, &c->m[idx], str(t, "id"), str(t, "name"), elaine_json_get(t, "arguments"));
    }
    return c->oom ? -ENOMEM : 1;
}

const char *elaine_cli_conv_last_user(const elaine_cli_conv *c)
{
    for (size_t i = c->n; i-- > 0;)
        if (!strcmp(c->m[i].role, "user") && c->m[i].text)
            return c->m[i].text;
    return NULL;
}

void elaine_cli_conv_render(const elaine_cli_conv *c, size_t from, elaine_buf *out, int color)
{
    for (size_t i = from; i < c->n; i++) {
        const elaine_cli_msg *m = &c->m[i];
        if (i > from)
            elaine_buf_addc(out, '\n');
        elaine_buf_adds(out, color ? "\033[1m[" : "[");
        elaine_buf_adds(out, m->role);
        if (!strcmp(m->role, "tool") && (m->name || m->tool_call_id)) {
            elaine_buf_addc(out, ' ');
            elaine_buf_adds(out, m->name ? m->name : m->tool_call_id);
            if (m->name && m->tool_call_id && strcmp(m->name, m->tool_call_id))
                elaine_buf_addf(out, " (%s)", m->tool_call_id);
        }
        elaine_buf_adds(out, color ? "]\033[0m\n" : "]\n");
        if (m->text) {
            elaine_buf_adds(out, m->text);
            elaine_buf_addc(out, '\n');
        }
        for (size_t k = 0; k < m->ncalls; k++) {
            const elaine_cli_call *t = &m->calls[k];
            elaine_buf_addf(out, "-> call %s", t->name);
            if (t->id && strcmp(t->id, t->name))
                elaine_buf_addf(out, " (%s)", t->id);
            elaine_buf_addf(out, " %s\n", t->arguments ? t->arguments : "");
        }
    }
}

void elaine_cli_conv_openai(const elaine_cli_conv *c, elaine_jw *w)
{
    elaine_jw_arr_begin(w);
    for (size_t i = 0; i < c->n; i++) {
        const elaine_cli_msg *m = &c->m[i];
        elaine_jw_obj_begin(w);
        elaine_jw_key(w, "role");
        elaine_jw_cstr(w, m->role);
        if (!strcmp(m->role, "tool")) {
            elaine_jw_key(w, "tool_call_id");
            elaine_jw_cstr(w, m->tool_call_id ? m->tool_call_id : (m->name ? m->name : ""));
        }
        if (m->text || !m->ncalls) {
            elaine_jw_key(w, "content");
            elaine_jw_cstr(w, m->text ? m->text : "");
        }
        if (m->ncalls) {
            elaine_jw_key(w, "tool_calls");
            elaine_jw_arr_begin(w);
            for (size_t k = 0; k < m->ncalls; k++) {
                const elaine_cli_call *t = &m->calls[k];
                elaine_jw_obj_begin(w);
                elaine_jw_key(w, "id");
                if (t->id) {
                    elaine_jw_cstr(w, t->id);
                } else {
                    char id[64];
                    snprintf(id, sizeof(id), "call_%zu_%zu", i, k);
                    elaine_jw_cstr(w, id);
                }
                elaine_jw_key(w, "type");
                elaine_jw_cstr(w, "function");
                elaine_jw_key(w, "function");
                elaine_jw_obj_begin(w);
                elaine_jw_key(w, "name");
                elaine_jw_cstr(w, t->name);
                elaine_jw_key(w, "arguments");
                elaine_jw_cstr(w, t->arguments ? t->arguments : "{}");
                elaine_jw_obj_end(w);
                elaine_jw_obj_end(w);
            }
            elaine_jw_arr_end(w);
        }
        elaine_jw_obj_end(w);
    }
    elaine_jw_arr_end(w);
}
