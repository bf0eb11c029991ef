/* Fuzz target: the JSON parser and writer (elaine_json).
 * Input: any bytes.
 * Oracles: no crash, leak or UB; what parses is written back as JSON that
 * parses again and writes back to the same text (a fixed point); any bytes
 * written as a string (elaine_jw_str) are a valid JSON string that decodes
 * to valid UTF-8 of at most 3x the input. */
#include <string.h>

#include "elaine_json.h"
#include "fuzz_util.h"

static void write_value(elaine_buf *b, const ej_val *v)
{
    elaine_jw w;
    elaine_jw_init(&w, b);
    elaine_jw_value(&w, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ej_val *v = elaine_json_parse((const char *)data, size);
    if (v) {
        elaine_buf a, b;
        elaine_buf_init(&a);
        elaine_buf_init(&b);
        write_value(&a, v);
        ej_val *v2 = elaine_json_parse(a.p, a.len);
        if (!v2)
            fprintf(stderr, "written text does not parse: %.*s\n", (int)(a.len > 2000 ? 2000 : a.len), a.p);
        FZ_ASSERT(v2 != NULL);
        write_value(&b, v2);
        FZ_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
        /* accessors on whatever came out */
        (void)elaine_json_path(v, "a.b");
        for (size_t i = 0; i < elaine_json_len(v) && i < 8; i++) {
            (void)elaine_json_at(v, i);
            (void)elaine_json_key_at(v, i);
        }
        int64_t iv;
        (void)elaine_json_int(v, &iv);
        elaine_json_free(v2);
        elaine_buf_free(&a);
        elaine_buf_free(&b);
        elaine_json_free(v);
    }

    /* raw bytes as a string value inside an object, as records hold bodies */
    elaine_buf s;
    elaine_buf_init(&s);
    elaine_jw w;
    elaine_jw_init(&w, &s);
    elaine_jw_obj_begin(&w);
    elaine_jw_key(&w, "body");
    elaine_jw_str(&w, (const char *)data, size);
    elaine_jw_obj_end(&w);
    ej_val *o = elaine_json_parse(s.p, s.len);
    if (!o)
        fprintf(stderr, "string does not parse: %.*s\n", (int)(s.len > 2000 ? 2000 : s.len), s.p);
    FZ_ASSERT(o != NULL);
    const ej_val *str = elaine_json_get(o, "body");
    FZ_ASSERT(str && elaine_json_str(str));
    FZ_ASSERT(elaine_json_len(str) <= 3 * size);
    elaine_json_free(o);
    elaine_buf_free(&s);
    return 0;
}
