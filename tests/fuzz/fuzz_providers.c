/* Fuzz target: the provider extractors (OpenAI, Anthropic, Gemini, Ollama),
 * called the way the exchange layer calls them, and the llm object written
 * into a record.
 * Input: 1 byte choosing the response status, 1 byte of flags (bit 0: the
 * response is a stream of events; bits 1-2: the host; bits 3-4: --content),
 * then segments separated by 0xFF bytes (never part of valid UTF-8, hence of
 * JSON): "METHOD PATH", the request body, then either the response body or
 * one segment per stream event ("event type" 0xFE "data"; without 0xFE the
 * type is "").
 * Oracles: no crash, leak or UB; the record written around the llm object
 * is valid JSON; token counts are null or non-negative. */
#include <string.h>

#include "elaine_json.h"
#include "elaine_provider.h"
#include "elaine_record.h"
#include "fuzz_util.h"

static const int statuses[] = {200, 200, 200, 201, 400, 401, 404, 429, 500, 503, 100, 0};
static const char *const hosts[] = {"api.openai.com", "api.anthropic.com",
                                    "generativelanguage.googleapis.com", "localhost"};

/* The next segment (up to 0xFF or the end); NULL when there is none. */
static const uint8_t *segment(const uint8_t **p, size_t *n, size_t *len, int *more)
{
    if (!*more)
        return NULL;
    const uint8_t *s = *p;
    const uint8_t *e = memchr(s, 0xFF, *n);
    *len = e ? (size_t)(e - s) : *n;
    *more = e != NULL;
    *p += *len + (e ? 1 : 0);
    *n -= *len + (e ? 1 : 0);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int status = statuses[fz_byte(&data, &size) % (sizeof(statuses) / sizeof(statuses[0]))];
    uint8_t flags = fz_byte(&data, &size);
    int more = 1;
    size_t len;
    const uint8_t *seg = segment(&data, &size, &len, &more);
    if (!seg || len > 512)
        return 0;
    char line[513];
    memcpy(line, seg, len);
    line[len] = 0;
    if (strlen(line) != len)
        return 0; /* a NUL in the request line: no HTTP parser passes that on */
    char *sp = strchr(line, ' ');
    if (!sp)
        return 0;
    *sp = 0;
    const char *method = line, *target = sp + 1;

    elaine_xrec x;
    memset(&x, 0, sizeof(x));
    elaine_record_msg_init(&x.req);
    elaine_record_msg_init(&x.resp);
    elaine_llm_init(&x.llm);
    x.pid = 1;
    x.exe = "/fuzz";
    x.conn_host = hosts[(flags >> 1) & 3];
    x.ttfb_ms = x.ttft_ms = x.duration_ms = -1;
    x.req.present = 1;
    x.req.method = strdup(method);
    x.req.target = strdup(target);
    x.req.version = 11;
    const elaine_provider *prov = elaine_provider_detect(&x.llm, x.conn_host, method, target);
    if (prov) {
        FZ_ASSERT(x.llm.provider && x.llm.operation);
        /* the request body, as finish_request hands it over: path without the query */
        seg = segment(&data, &size, &len, &more);
        ej_val *req = seg ? elaine_json_parse((const char *)seg, len) : NULL;
        if (seg)
            elaine_buf_add(&x.req.body, seg, len);
        char *path = strndup(target, strcspn(target, "?"));
        if (prov->request && path)
            prov->request(&x.llm, path, req);
        free(path);
        x.req.json = req;
        x.resp.present = 1;
        x.resp.status = status;
        x.resp.version = 11;
        if (flags & 1) {
            while ((seg = segment(&data, &size, &len, &more)) != NULL) {
                const uint8_t *fe = memchr(seg, 0xFE, len);
                size_t el = fe ? (size_t)(fe - seg) : 0;
                char *ev = strndup((const char *)seg, el);
                const uint8_t *d = fe ? fe + 1 : seg;
                size_t dl = fe ? len - el - 1 : len;
                char *dd = strndup((const char *)d, dl); /* data is NUL-terminated at n */
                if (ev && dd && prov->stream_event) {
                    int rc = prov->stream_event(&x.llm, ev, dd, strlen(dd));
                    FZ_ASSERT(rc == 0 || rc == 1);
                }
                elaine_buf_add(&x.resp.body, d, dl);
                free(ev);
                free(dd);
            }
        } else if ((seg = segment(&data, &size, &len, &more)) != NULL) {
            x.resp.json = elaine_json_parse((const char *)seg, len);
            elaine_buf_add(&x.resp.body, seg, len);
            if (prov->response)
                prov->response(&x.llm, status, x.resp.json);
        }
        x.req.body_size = x.req.body.len;
        x.resp.body_size = x.resp.body.len;
        elaine_llm_finish(&x.llm);
        FZ_ASSERT(x.llm.input_tokens >= -1 && x.llm.output_tokens >= -1 &&
                  x.llm.total_tokens >= -1);
        FZ_ASSERT(x.llm.stream >= -1 && x.llm.stream <= 1);
        for (size_t i = 0; i < x.llm.n_tool_calls; i++)
            FZ_ASSERT(!x.llm.tool_calls[i].arguments.p ||
                      x.llm.tool_calls[i].arguments.p[x.llm.tool_calls[i].arguments.len] == 0);
    }
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_exchange(&b, &x, (enum elaine_content)(((flags >> 3) & 3) % 3));
    ej_val *v = elaine_json_parse(b.p, b.len);
    if (!v)
        fprintf(stderr, "record is not JSON: %.*s\n", (int)(b.len > 2000 ? 2000 : b.len), b.p);
    FZ_ASSERT(v != NULL);
    elaine_json_free(v);
    elaine_buf_free(&b);
    elaine_record_msg_free(&x.req);
    elaine_record_msg_free(&x.resp);
    elaine_llm_free(&x.llm);
    return 0;
}
