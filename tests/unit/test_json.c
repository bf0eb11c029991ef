/* elaine_json: strict parsing (RFC 8259), accessors, escapes and the writer. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "elaine_json.h"

static int parses(const char *s, size_t n)
{
    ej_val *v = elaine_json_parse(s, n);
    elaine_json_free(v);
    return v != NULL;
}

/* Parses s and writes it back compactly; caller frees. */
static char *reprint(const char *s, size_t n, size_t *outlen)
{
    ej_val *v = elaine_json_parse(s, n);
    if (!v)
        return NULL;
    elaine_buf b;
    elaine_jw w;
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    elaine_jw_value(&w, v);
    elaine_json_free(v);
    *outlen = b.len;
    return elaine_buf_take(&b);
}

static void check_reprint(const char *name, const char *in, const char *want)
{
    size_t n = 0;
    CASE(name);
    char *o = reprint(in, strlen(in), &n);
    CHECK(o != NULL);
    if (o)
        CHECK_MEM(o, n, want, strlen(want));
    free(o);
}

static void check_str_write(const char *name, const char *in, size_t n, const char *want, size_t wn)
{
    elaine_buf b;
    elaine_jw w;
    CASE(name);
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    elaine_jw_str(&w, in, n);
    CHECK_MEM(b.p, b.len, want, wn);
    elaine_buf_free(&b);
}

static void check_double(double d, const char *want)
{
    elaine_buf b;
    elaine_jw w;
    CASE(want);
    elaine_buf_init(&b);
    elaine_jw_init(&w, &b);
    elaine_jw_double(&w, d);
    CHECK_STR(b.p, want);
    elaine_buf_free(&b);
}

static const char *const valid[] = {
    "0", "-0", "12", "-12.5", "1.5e+10", "1E-2", "0.0e0", " {} ", "\t[]\r\n", "\"\"", "true", "false",
    "null", "[[[]]]", "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\/\"}", "\"\xe2\x82\xac\"",
    "\"\xf0\x9f\x98\x80\"", "[1,2,3]", "{\"\":0}", "\"\\\"\\\\\\b\\f\\n\\r\\t\"", "1e400",
};

static const char *const invalid[] = {
    "", " ", "01", "1.", ".5", "+1", "-", "1e", "1e+", "[1,]", "{\"a\":1,}", "'a'", "\"\t\"",
    "\"\\x\"", "tru", "nul", "NaN", "Infinity", "[1 2]", "{\"a\" 1}", "{1:2}", "\"abc", "1 2",
    "\xef\xbb\xbf{}", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xe2\x82\"", "[", "{", "]",
    "{\"a\"}", "\"\\u12\"", "\"\\u12G4\"", "-01", "[true false]", "truex", "0x10", "{\"a\":1}}",
};

int main(void)
{
    /* ---- strictness */
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        CASE(valid[i]);
        CHECK(parses(valid[i], strlen(valid[i])));
    }
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        CASE(invalid[i]);
        CHECK(!parses(invalid[i], strlen(invalid[i])));
    }
    CASE("NUL byte in text");
    CHECK(!parses("[1]\0", 4));
    CHECK(!parses("\"a\0b\"", 5));
    CASE("NULL input");
    CHECK(elaine_json_parse(NULL, 0) == NULL);

    /* ---- depth limit 512 */
    {
        char s[2 * 513 + 1];
        for (int k = 0; k < 512; k++) {
            s[k] = '[';
            s[512 + k] = ']';
        }
        CASE("depth 512 accepted");
        CHECK(parses(s, 1024));
        for (int k = 0; k < 513; k++) {
            s[k] = '[';
            s[513 + k] = ']';
        }
        CASE("depth 513 rejected");
        CHECK(!parses(s, 1026));
        /* the writer goes deeper than its 128-entry table */
        size_t n;
        char *o = reprint(s + 1, 1024, &n);
        CASE("writer at depth 512");
        CHECK(o && n == 1024 && memcmp(o, s + 1, 1024) == 0);
        free(o);
        {
            /* commas stay right beyond the writer's 128-level table */
            elaine_buf in;
            elaine_buf_init(&in);
            for (int k = 0; k < 140; k++)
                elaine_buf_addc(&in, '[');
            elaine_buf_adds(&in, "1,2,{\"a\":1,\"b\":[3,4]},[],{}");
            for (int k = 0; k < 139; k++)
                elaine_buf_adds(&in, "],0");
            elaine_buf_addc(&in, ']');
            check_reprint("writer commas deep", in.p, in.p);
            elaine_buf_free(&in);
        }
    }

    /* ---- accessors */
    {
        const char *s = "{\"model\":\"gpt-4o\",\"n\":12,\"f\":12.0,\"e\":1e2,\"neg\":-7,"
                        "\"big\":9223372036854775807,\"over\":9223372036854775808,"
                        "\"min\":-9223372036854775808,\"t\":true,\"no\":false,\"z\":null,"
                        "\"usage\":{\"prompt_tokens\":19,\"x\":{\"y\":\"deep\"}},"
                        "\"arr\":[10,\"s\",[]],\"dup\":1,\"dup\":2}";
        ej_val *v = elaine_json_parse(s, strlen(s));
        int64_t x = 0;
        CASE("accessors");
        CHECK(v != NULL);
        CHECK(elaine_json_type(v) == EJ_OBJ);
        CHECK_INT(elaine_json_len(v), 15);
        CHECK_STR(elaine_json_str(elaine_json_get(v, "model")), "gpt-4o");
        CHECK_INT(elaine_json_len(elaine_json_get(v, "model")), 6);
        CHECK(elaine_json_int(elaine_json_get(v, "n"), &x) == 0 && x == 12);
        CHECK(elaine_json_int(elaine_json_get(v, "f"), &x) == -1);
        CHECK(elaine_json_int(elaine_json_get(v, "e"), &x) == -1);
        CHECK(elaine_json_int(elaine_json_get(v, "neg"), &x) == 0 && x == -7);
        CHECK(elaine_json_int(elaine_json_get(v, "big"), &x) == 0 && x == INT64_MAX);
        CHECK(elaine_json_int(elaine_json_get(v, "over"), &x) == -1);
        CHECK(elaine_json_int(elaine_json_get(v, "min"), &x) == 0 && x == INT64_MIN);
        CHECK(elaine_json_int(elaine_json_get(v, "model"), &x) == -1);
        CHECK_STR(elaine_json_num_text(elaine_json_get(v, "f")), "12.0");
        CHECK_STR(elaine_json_num_text(elaine_json_get(v, "e")), "1e2");
        CHECK(elaine_json_num_text(elaine_json_get(v, "t")) == NULL);
        CHECK_INT(elaine_json_bool(elaine_json_get(v, "t")), 1);
        CHECK_INT(elaine_json_bool(elaine_json_get(v, "no")), 0);
        CHECK_INT(elaine_json_bool(elaine_json_get(v, "z")), -1);
        CHECK(elaine_json_type(elaine_json_get(v, "z")) == EJ_NULL);
        CHECK(elaine_json_get(v, "missing") == NULL);
        CHECK(elaine_json_get(NULL, "model") == NULL);
        CHECK(elaine_json_get(elaine_json_get(v, "n"), "model") == NULL);
        CHECK(elaine_json_int(elaine_json_path(v, "usage.prompt_tokens"), &x) == 0 && x == 19);
        CHECK_STR(elaine_json_str(elaine_json_path(v, "usage.x.y")), "deep");
        CHECK(elaine_json_path(v, "usage.nope.y") == NULL);
        CHECK(elaine_json_path(v, "model.x") == NULL);
        CHECK(elaine_json_path(NULL, "a.b") == NULL);
        const ej_val *arr = elaine_json_get(v, "arr");
        CHECK(elaine_json_type(arr) == EJ_ARR);
        CHECK_INT(elaine_json_len(arr), 3);
        CHECK(elaine_json_int(elaine_json_at(arr, 0), &x) == 0 && x == 10);
        CHECK_STR(elaine_json_str(elaine_json_at(arr, 1)), "s");
        CHECK_INT(elaine_json_len(elaine_json_at(arr, 2)), 0);
        CHECK(elaine_json_at(arr, 3) == NULL);
        CHECK(elaine_json_key_at(arr, 0) == NULL);
        CHECK_STR(elaine_json_key_at(v, 0), "model");
        CHECK(elaine_json_key_at(v, 15) == NULL);
        CHECK(elaine_json_int(elaine_json_at(v, 1), &x) == 0 && x == 12);
        CHECK(elaine_json_int(elaine_json_get(v, "dup"), &x) == 0 && x == 1); /* first match */
        CHECK_INT(elaine_json_len(elaine_json_get(v, "n")), 0);
        elaine_json_free(v);
    }

    /* ---- string escapes */
    {
        struct {
            const char *in, *want;
            size_t wn;
        } cases[] = {
            {"\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac", 6},
            {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
            {"\"\\uD83D\\uDE00x\"", "\xf0\x9f\x98\x80x", 5},
            {"\"a\\u0000b\"", "a\0b", 3},
            {"\"\\ud800\"", "\xef\xbf\xbd", 3},
            {"\"\\udc00\"", "\xef\xbf\xbd", 3},
            {"\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A", 4},
            {"\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80", 7},
            {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            CASE(cases[i].in);
            ej_val *v = elaine_json_parse(cases[i].in, strlen(cases[i].in));
            CHECK(v != NULL);
            if (!v)
                continue;
            CHECK_MEM(elaine_json_str(v), elaine_json_len(v), cases[i].want, cases[i].wn);
            elaine_json_free(v);
        }
    }

    /* ---- round trips: numbers exactly as in the source, compact output */
    check_reprint("numbers kept", "[1.50, 1e400, -0.0, 12345678901234567890123, 1E+2, 0.1e-7]",
                  "[1.50,1e400,-0.0,12345678901234567890123,1E+2,0.1e-7]");
    check_reprint("object compact", " { \"a\" : 1 , \"b\" : [ true , false , null ] , \"c\" : { } , \"d\" : [ ] } ",
                  "{\"a\":1,\"b\":[true,false,null],\"c\":{},\"d\":[]}");
    check_reprint("escapes rewritten", "\"\\u00e9\\/\\u0001\\u001f\\u007f\"", "\"\xc3\xa9/\\u0001\\u001f\x7f\"");
    check_reprint("NUL in string", "\"a\\u0000b\"", "\"a\\u0000b\"");
    check_reprint("NUL in key", "{\"k\\u0000x\":1}", "{\"k\\u0000x\":1}");
    check_reprint("scalar", "  42  ", "42");

    /* ---- writer */
    check_str_write("plain", "hello", 5, "\"hello\"", 7);
    check_str_write("controls", "a\"b\\c\n\r\t\b\f\x01\x1f", 12, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\"", 31);
    check_str_write("NUL byte", "a\0b", 3, "\"a\\u0000b\"", 10);
    check_str_write("valid utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", 11);
    check_str_write("invalid byte", "a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"", 7);
    check_str_write("truncated at end", "a\xe2\x82", 3, "\"a\xef\xbf\xbd\"", 6);
    check_str_write("truncated 4-byte", "\xf0\x9f\x98x", 4, "\"\xef\xbf\xbdx\"", 6);
    check_str_write("utf8 surrogate", "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 11);
    check_str_write("overlong", "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"", 8);
    check_str_write("lone continuation", "\x80x", 2, "\"\xef\xbf\xbdx\"", 6);
    check_str_write("above U+10FFFF", "\xf4\x90\x80\x80", 4,
                    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 14);
    check_str_write("empty", "", 0, "\"\"", 2);

    {
        elaine_buf b;
        elaine_jw w;
        CASE("writer document");
        elaine_buf_init(&b);
        elaine_jw_init(&w, &b);
        elaine_jw_obj_begin(&w);
        elaine_jw_key(&w, "type");
        elaine_jw_cstr(&w, "exchange");
        elaine_jw_key(&w, "n");
        elaine_jw_int(&w, INT64_MIN);
        elaine_jw_key(&w, "u");
        elaine_jw_uint(&w, UINT64_MAX);
        elaine_jw_key(&w, "d");
        elaine_jw_double(&w, 12.5);
        elaine_jw_key(&w, "a");
        elaine_jw_arr_begin(&w);
        elaine_jw_bool(&w, 1);
        elaine_jw_bool(&w, 0);
        elaine_jw_null(&w);
        elaine_jw_cstr(&w, NULL);
        elaine_jw_obj_begin(&w);
        elaine_jw_obj_end(&w);
        elaine_jw_arr_begin(&w);
        elaine_jw_arr_end(&w);
        elaine_jw_value(&w, NULL);
        elaine_jw_arr_end(&w);
        elaine_jw_key(&w, "k\"q");
        elaine_jw_obj_begin(&w);
        elaine_jw_key(&w, "x");
        elaine_jw_int(&w, 1);
        elaine_jw_key(&w, "y");
        elaine_jw_int(&w, 2);
        elaine_jw_obj_end(&w);
        elaine_jw_obj_end(&w);
        CHECK_STR(b.p, "{\"type\":\"exchange\",\"n\":-9223372036854775808,\"u\":18446744073709551615,"
                       "\"d\":12.5,\"a\":[true,false,null,null,{},[],null],\"k\\\"q\":{\"x\":1,\"y\":2}}");
        /* the writer output is valid JSON for our own parser */
        ej_val *v = elaine_json_parse(b.p, b.len);
        CHECK(v != NULL);
        elaine_json_free(v);
        elaine_buf_free(&b);
    }

    /* ---- doubles: shortest round trip */
    check_double(12.5, "12.5");
    check_double(0.1, "0.1");
    check_double(3.0, "3");
    check_double(-2.25, "-2.25");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1e300, "1e+300");
    check_double(123456789.123, "123456789.123");
    check_double(NAN, "null");
    check_double(INFINITY, "null");
    check_double(-INFINITY, "null");
    {
        /* every double written reads back to itself */
        CASE("double round trip");
        double vals[] = {0.1, 2.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, 123.456, -0.0078125, 9007199254740993.0};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            elaine_buf b;
            elaine_jw w;
            elaine_buf_init(&b);
            elaine_jw_init(&w, &b);
            elaine_jw_double(&w, vals[i]);
            CHECK(strtod(b.p, NULL) == vals[i]);
            CHECK(parses(b.p, b.len));
            elaine_buf_free(&b);
        }
    }
    return check_done("test_json");
}
