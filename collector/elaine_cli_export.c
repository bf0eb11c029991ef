/* elaine export: the filtered exchanges as jsonl, OpenAI fine-tuning data, or OTLP/JSON spans. */
#include "elaine_cli_export.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_cli_conv.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"

#define ELAINE_VERSION "0.1.0"

const char elaine_cli_export_usage[] =
    "usage: elaine export --format jsonl|openai|otlp [filters] [--dir DIR]\n"
    "\n"
    "Writes the matching exchanges to stdout, one JSON document a line:\n"
    "  jsonl    the records as stored (duplicates dropped)\n"
    "           elaine export --format jsonl --since 1d > day.jsonl\n"
    "  openai   a chat fine-tuning data set: {\"messages\":[...]} with the system,\n"
    "           user, assistant and tool messages of the request and the assistant\n"
    "           reply; only successful chat exchanges (status < 400, no error, a reply)\n"
    "           elaine export --format openai --model 'gpt-4o*' > train.jsonl\n"
    "  otlp     OTLP/JSON traces: per exchange one {\"resourceSpans\":[...]} with one\n"
    "           CLIENT span \"{gen_ai.operation.name} {gen_ai.request.model}\" and\n"
    "           gen_ai.* attributes (OpenTelemetry GenAI semantic conventions); the\n"
    "           OpenTelemetry Collector's otlpjsonfile receiver reads it\n"
    "           elaine export --format otlp --since 1h > spans.jsonl\n"
    "\n"
    "  --format F     jsonl, openai or otlp (required)\n";

/* ---- openai ---- */

static int is_chat(const ej_val *rec)
{
    const char *op = elaine_cli_rec_str(rec, "llm.operation");
    return op && (!strcmp(op, "chat") || !strcmp(op, "messages") || !strcmp(op, "generate_content") ||
                  !strcmp(op, "responses"));
}

/* "tools" of an OpenAI-shaped request: [{"type":"function","function":{...}}]. */
static const ej_val *openai_tools(const ej_val *body)
{
    const ej_val *t = elaine_json_get(body, "tools");
    if (!t || elaine_json_type(t) != EJ_ARR || !elaine_json_len(t))
        return NULL;
    for (size_t i = 0; i < elaine_json_len(t); i++) {
        const ej_val *x = elaine_json_at(t, i);
        const char *type = elaine_json_str(elaine_json_get(x, "type"));
        const ej_val *fn = elaine_json_get(x, "function");
        if (!type || strcmp(type, "function") || !fn || elaine_json_type(fn) != EJ_OBJ)
            return NULL;
    }
    return t;
}

int elaine_cli_export_openai(elaine_buf *b, const ej_val *rec)
{
    if (!is_chat(rec) || elaine_cli_rec_failed(rec))
        return 0;
    elaine_cli_conv c;
    elaine_cli_conv_init(&c);
    const ej_val *body = elaine_json_path(rec, "request.body");
    int rc = elaine_cli_conv_request(&c, body);
    int any_user = 0;
    for (size_t i = 0; i < c.n; i++)
        any_user |= !strcmp(c.m[i].role, "user");
    if (rc == 0 && any_user)
        rc = elaine_cli_conv_reply(&c, rec);
    else if (rc == 0)
        rc = 0;
    if (rc == 1) {
        elaine_jw w;
        elaine_jw_init(&w, b);
        elaine_jw_obj_begin(&w);
        elaine_jw_key(&w, "messages");
        elaine_cli_conv_openai(&c, &w);
        const ej_val *tools = openai_tools(body);
        if (tools) {
            elaine_jw_key(&w, "tools");
            elaine_jw_value(&w, tools);
        }
        elaine_jw_obj_end(&w);
        if (b->oom)
            rc = -ENOMEM;
    }
    elaine_cli_conv_free(&c);
    return rc;
}

/* ---- otlp ---- */

static void attr_key(elaine_jw *w, const char *key)
{
    elaine_jw_obj_begin(w);
    elaine_jw_key(w, "key");
    elaine_jw_cstr(w, key);
    elaine_jw_key(w, "value");
    elaine_jw_obj_begin(w);
}

static void attr_str(elaine_jw *w, const char *key, const char *v)
{
    if (!v)
        return;
    attr_key(w, key);
    elaine_jw_key(w, "stringValue");
    elaine_jw_cstr(w, v);
    elaine_jw_obj_end(w);
    elaine_jw_obj_end(w);
}

/* OTLP/JSON: int64 as a decimal string (the protobuf JSON mapping). */
static void attr_int(elaine_jw *w, const char *key, int64_t v)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)v);
    attr_key(w, key);
    elaine_jw_key(w, "intValue");
    elaine_jw_cstr(w, t);
    elaine_jw_obj_end(w);
    elaine_jw_obj_end(w);
}

static void attr_int_at(elaine_jw *w, const char *key, const ej_val *rec, const char *path)
{
    int64_t v;
    if (elaine_json_int(elaine_json_path(rec, path), &v) == 0)
        attr_int(w, key, v);
}

static void attr_double_at(elaine_jw *w, const char *key, const ej_val *rec, const char *path)
{
    double v;
    if (elaine_cli_rec_num(rec, path, &v) < 0)
        return;
    attr_key(w, key);
    elaine_jw_key(w, "doubleValue");
    elaine_jw_double(w, v);
    elaine_jw_obj_end(w);
    elaine_jw_obj_end(w);
}

static void hex(char *out, uint64_t v)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = d[v & 15];
}

/* The GenAI conventions' names. */
static const char *otel_operation(const char *op)
{
    if (!op)
        return NULL;
    if (!strcmp(op, "messages") || !strcmp(op, "responses"))
        return "chat";
    if (!strcmp(op, "completion"))
        return "text_completion";
    return op; /* chat, embeddings, generate_content */
}

static const char *otel_provider(const char *p)
{
    static const struct {
        const char *elaine, *otel;
    } map[] = {{"gemini", "gcp.gemini"}, {"vertex_ai", "gcp.vertex_ai"}, {"bedrock", "aws.bedrock"},
               {"azure", "azure.ai.openai"}, {"mistral", "mistral_ai"}, {"xai", "x_ai"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(p, map[i].elaine))
            return map[i].otel;
    return p;
}

int elaine_cli_export_otlp(elaine_buf *b, const ej_val *rec)
{
    const char *provider = elaine_cli_rec_str(rec, "llm.provider");
    const char *id = elaine_cli_rec_str(rec, "id");
    int64_t ts = elaine_cli_rec_ts(rec);
    if (!provider || !id || ts == ELAINE_CLI_NO_TIME)
        return 0;
    const char *op = otel_operation(elaine_cli_rec_str(rec, "llm.operation"));
    const char *model = elaine_cli_rec_str(rec, "llm.model");
    const char *exe = elaine_cli_rec_str(rec, "exe");
    size_t idn = strlen(id);
    char trace[33], span[17], name[512], t0[32], t1[32];
    char salted[600];
    hex(trace, elaine_cli_id_hash(id, idn));
    snprintf(salted, sizeof(salted), "trace:%s", id);
    hex(trace + 16, elaine_cli_id_hash(salted, strlen(salted)));
    trace[32] = 0;
    snprintf(salted, sizeof(salted), "span:%s", id);
    hex(span, elaine_cli_id_hash(salted, strlen(salted)));
    span[16] = 0;
    if (model)
        snprintf(name, sizeof(name), "%s %s", op ? op : "request", model);
    else
        snprintf(name, sizeof(name), "%s", op ? op : "request");
    double dur = 0;
    elaine_cli_rec_num(rec, "timing.duration_ms", &dur);
    snprintf(t0, sizeof(t0), "%lld", (long long)ts * 1000);
    snprintf(t1, sizeof(t1), "%lld", (long long)ts * 1000 + (long long)llround(dur * 1e6));

    elaine_jw w;
    elaine_jw_init(&w, b);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "resourceSpans");
    elaine_jw_arr_begin(&w);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "resource");
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "attributes");
    elaine_jw_arr_begin(&w);
    const char *base = exe ? strrchr(exe, '/') : NULL;
    attr_str(&w, "service.name", base ? base + 1 : (exe ? exe : "unknown_service"));
    attr_int_at(&w, "process.pid", rec, "pid");
    attr_str(&w, "process.executable.path", exe);
    elaine_jw_arr_end(&w);
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "scopeSpans");
    elaine_jw_arr_begin(&w);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "scope");
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "name");
    elaine_jw_cstr(&w, "memoryelaine");
    elaine_jw_key(&w, "version");
    elaine_jw_cstr(&w, ELAINE_VERSION);
    elaine_jw_obj_end(&w);
    elaine_jw_key(&w, "spans");
    elaine_jw_arr_begin(&w);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "traceId");
    elaine_jw_cstr(&w, trace);
    elaine_jw_key(&w, "spanId");
    elaine_jw_cstr(&w, span);
    elaine_jw_key(&w, "name");
    elaine_jw_cstr(&w, name);
    elaine_jw_key(&w, "kind");
    elaine_jw_int(&w, 3); /* SPAN_KIND_CLIENT */
    elaine_jw_key(&w, "startTimeUnixNano");
    elaine_jw_cstr(&w, t0);
    elaine_jw_key(&w, "endTimeUnixNano");
    elaine_jw_cstr(&w, t1);
    elaine_jw_key(&w, "attributes");
    elaine_jw_arr_begin(&w);
    attr_str(&w, "gen_ai.provider.name", otel_provider(provider));
    attr_str(&w, "gen_ai.system", provider);
    attr_str(&w, "gen_ai.operation.name", op);
    attr_str(&w, "gen_ai.request.model", model);
    attr_str(&w, "gen_ai.response.model", elaine_cli_rec_str(rec, "llm.response_model"));
    const char *rid = elaine_cli_rec_str(rec, "response.body.id");
    if (!rid)
        rid = elaine_cli_rec_str(rec, "response.body.responseId");
    attr_str(&w, "gen_ai.response.id", rid);
    const char *fin = elaine_cli_rec_str(rec, "llm.finish_reason");
    if (fin) {
        attr_key(&w, "gen_ai.response.finish_reasons");
        elaine_jw_key(&w, "arrayValue");
        elaine_jw_obj_begin(&w);
        elaine_jw_key(&w, "values");
        elaine_jw_arr_begin(&w);
        elaine_jw_obj_begin(&w);
        elaine_jw_key(&w, "stringValue");
        elaine_jw_cstr(&w, fin);
        elaine_jw_obj_end(&w);
        elaine_jw_arr_end(&w);
        elaine_jw_obj_end(&w);
        elaine_jw_obj_end(&w);
        elaine_jw_obj_end(&w);
    }
    attr_int_at(&w, "gen_ai.usage.input_tokens", rec, "llm.input_tokens");
    attr_int_at(&w, "gen_ai.usage.output_tokens", rec, "llm.output_tokens");
    attr_str(&w, "server.address", elaine_cli_rec_str(rec, "host"));
    attr_int_at(&w, "server.port", rec, "port");
    attr_int_at(&w, "http.response.status_code", rec, "response.status");
    int failed = elaine_cli_rec_failed(rec);
    char etype[32];
    const char *et = NULL;
    int64_t st;
    if (failed) {
        et = elaine_cli_rec_str(rec, "llm.error_type");
        if (!et && elaine_json_int(elaine_json_path(rec, "response.status"), &st) == 0 && st >= 400) {
            snprintf(etype, sizeof(etype), "%lld", (long long)st);
            et = etype;
        }
        if (!et)
            et = "_OTHER";
        attr_str(&w, "error.type", et);
    }
    attr_str(&w, "elaine.id", id);
    attr_double_at(&w, "elaine.ttft_ms", rec, "timing.ttft_ms");
    elaine_jw_arr_end(&w);
    elaine_jw_key(&w, "status");
    elaine_jw_obj_begin(&w);
    if (failed) {
        const char *msg = elaine_cli_rec_str(rec, "error");
        if (!msg)
            msg = elaine_cli_rec_str(rec, "llm.error_message");
        elaine_jw_key(&w, "code");
        elaine_jw_int(&w, 2); /* STATUS_CODE_ERROR */
        elaine_jw_key(&w, "message");
        elaine_jw_cstr(&w, msg ? msg : et);
    }
    elaine_jw_obj_end(&w);
    elaine_jw_obj_end(&w);
    elaine_jw_arr_end(&w);
    elaine_jw_obj_end(&w);
    elaine_jw_arr_end(&w);
    elaine_jw_obj_end(&w);
    elaine_jw_arr_end(&w);
    elaine_jw_obj_end(&w);
    return b->oom ? -ENOMEM : 1;
}

/* ---- main ---- */

typedef struct export {
    elaine_cli_opts o;
    const char *format;
    elaine_buf b;
    uint64_t written;
    int failed;
} export;

static int on_rec(void *ud, const elaine_cli_rec *r)
{
    export *e = ud;
    int rc;
    elaine_buf_reset(&e->b);
    if (!strcmp(e->format, "jsonl")) {
        elaine_buf_add(&e->b, r->line, r->n);
        rc = 1;
    } else if (!strcmp(e->format, "openai")) {
        rc = elaine_cli_export_openai(&e->b, r->v);
    } else {
        rc = elaine_cli_export_otlp(&e->b, r->v);
    }
    if (rc < 0)
        return rc;
    if (rc == 0)
        return 0;
    elaine_buf_addc(&e->b, '\n');
    if (e->b.oom)
        return -ENOMEM;
    if (fwrite(e->b.p, 1, e->b.len, stdout) != e->b.len) {
        e->failed = 1;
        return 1;
    }
    e->written++;
    return 0;
}

int elaine_cli_export_main(int argc, char **argv)
{
    export e = {0};
    int status = 0, rc;
    elaine_cli_opts_init(&e.o);
    elaine_buf_init(&e.b);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if ((rc = elaine_cli_opts_take(&e.o, argc, argv, &i)) != 0) {
            if (rc < 0) {
                status = elaine_cli_usage_error(elaine_cli_export_usage, NULL, NULL);
                goto out;
            }
        } else if (elaine_cli_arg(argc, argv, &i, "--format", &val)) {
            if (!val || (strcmp(val, "jsonl") && strcmp(val, "openai") && strcmp(val, "otlp"))) {
                status = elaine_cli_usage_error(elaine_cli_export_usage, "--format takes jsonl, openai or otlp", val);
                goto out;
            }
            e.format = val;
        } else {
            status = elaine_cli_usage_error(elaine_cli_export_usage, "unknown option", a);
            goto out;
        }
    }
    if (e.o.help) {
        fputs(elaine_cli_export_usage, stdout);
        fputs(elaine_cli_opts_help, stdout);
        fputs(elaine_cli_filter_help, stdout);
        goto out;
    }
    if (!e.format) {
        status = elaine_cli_usage_error(elaine_cli_export_usage, "export needs --format", NULL);
        goto out;
    }
    if (elaine_cli_opts_done(&e.o) < 0) {
        status = 1;
        goto out;
    }
    elaine_cli_reader rd;
    elaine_cli_reader_init(&rd, e.o.dir, &e.o.filter, on_rec, &e);
    rc = elaine_cli_read_all(&rd);
    elaine_cli_reader_free(&rd);
    if (rc == -ENOMEM) {
        fprintf(stderr, "elaine: %s\n", strerror(ENOMEM));
        status = 1;
    } else if (rc < 0) {
        status = 1;
    }
    if (fflush(stdout) == EOF || e.failed) {
        fprintf(stderr, "elaine: write() stdout failed: %s\n", strerror(errno));
        status = 1;
    }
out:
    elaine_buf_free(&e.b);
    elaine_cli_opts_free(&e.o);
    return status;
}
