/* elaine_json: strict parsing (RFC 8259), accessors, escapes and the writer. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "elaine_json.h"
#include "json_ref_parser.h"

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


/* ---- reference implementations: what the writer did byte by byte before
 * the vectorised escaper and printf-free numbers; the fast paths must match. */

static size_t ref_utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || (k == 1 ? (s[k] < lo || s[k] > hi) : (s[k] < 0x80 || s[k] > 0xBF))) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

static void ref_escape(elaine_buf *b, const unsigned char *u, size_t n)
{
    elaine_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t bad, k;
        if (c >= 0x80) {
            if ((k = ref_utf8_seq(u + i, n - i, &bad)) != 0) {
                elaine_buf_add(b, u + i, k);
                i += k;
            } else {
                elaine_buf_add(b, "\xEF\xBF\xBD", 3);
                i += bad;
            }
            continue;
        }
        switch (c) {
        case '"': elaine_buf_add(b, "\\\"", 2); break;
        case '\\': elaine_buf_add(b, "\\\\", 2); break;
        case '\b': elaine_buf_add(b, "\\b", 2); break;
        case '\f': elaine_buf_add(b, "\\f", 2); break;
        case '\n': elaine_buf_add(b, "\\n", 2); break;
        case '\r': elaine_buf_add(b, "\\r", 2); break;
        case '\t': elaine_buf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20)
                elaine_buf_addf(b, "\\u%04x", c);
            else
                elaine_buf_addc(b, (char)c);
        }
        i++;
    }
    elaine_buf_addc(b, '"');
}

static void ref_double(char *tmp, size_t size, double v)
{
    static const int prec[] = {15, 16, 17};
    for (size_t k = 0; k < 3; k++) {
        snprintf(tmp, size, "%.*g", prec[k], v);
        if (strtod(tmp, NULL) == v)
            break;
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A byte from text that mixes what the escaper treats differently. */
static size_t rand_piece(unsigned char *o)
{
    static const char *const pieces[] = {
        "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\x7f", "/", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xff", "\xc0\xaf",
        "\xed\xa0\x80", "\xe2\x82", "\xf0\x9f\x98", "\x80", "\xf4\x90\x80\x80", "\xef\xbb\xbf",
    };
    uint64_t r = rng();
    if (r % 100 < 80) {
        o[0] = (unsigned char)(' ' + (r >> 8) % 95);
        return 1;
    }
    if (r % 100 < 82) {
        o[0] = 0;
        return 1;
    }
    const char *p = pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
    size_t n = strlen(p);
    memcpy(o, p, n);
    return n;
}

static void check_escape_against_ref(const unsigned char *in, size_t n)
{
    elaine_buf got, want;
    elaine_jw w;
    elaine_buf_init(&got);
    elaine_buf_init(&want);
    elaine_jw_init(&w, &got);
    elaine_jw_str(&w, (const char *)in, n);
    ref_escape(&want, in, n);
    CHECK_MEM(got.p, got.len, want.p, want.len);
    /* and it is valid JSON that reads back (U+FFFD for what was invalid) */
    ej_val *v = elaine_json_parse(got.p, got.len);
    CHECK(v != NULL);
    elaine_json_free(v);
    elaine_buf_free(&got);
    elaine_buf_free(&want);
}

static void check_numbers_against_ref(void)
{
    static const int64_t ints[] = {0, 1, -1, 9, 10, -10, 99, 100, 999, 1000, 12345, -98765,
                                   4294967295LL, 4294967296LL, 999999999999999999LL,
                                   1000000000000000000LL, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char want[64];
    CASE("integers like printf");
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]) + 2000; i++) {
        int64_t x = i < sizeof(ints) / sizeof(ints[0]) ? ints[i] : (int64_t)(rng() >> (rng() % 64));
        if (i % 2)
            x = x == INT64_MIN ? x : -x;
        elaine_buf b;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_jw_init(&w, &b);
        elaine_jw_int(&w, x);
        snprintf(want, sizeof(want), "%lld", (long long)x);
        CHECK_STR(b.p, want);
        elaine_buf_reset(&b);
        elaine_jw_init(&w, &b);
        uint64_t u = i < sizeof(ints) / sizeof(ints[0]) ? (uint64_t)ints[i] : rng() >> (rng() % 64);
        elaine_jw_uint(&w, u);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)u);
        CHECK_STR(b.p, want);
        elaine_buf_free(&b);
    }
    CASE("integers at every digit count, in an array");
    {
        elaine_buf b, want_b;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_buf_init(&want_b);
        elaine_jw_init(&w, &b);
        elaine_jw_arr_begin(&w);
        elaine_buf_addc(&want_b, '[');
        uint64_t p10 = 1;
        for (int k = 0; k < 20; k++, p10 *= 10) {
            uint64_t us[] = {p10 - 1, p10, p10 + 1};
            for (int j = 0; j < 3; j++) {
                elaine_jw_uint(&w, us[j]);
                elaine_jw_int(&w, -(int64_t)(us[j] >> 1));
                elaine_buf_addf(&want_b, "%s%llu,%lld", want_b.len > 1 ? "," : "", (unsigned long long)us[j],
                                -(long long)(us[j] >> 1));
            }
        }
        elaine_jw_uint(&w, UINT64_MAX);
        elaine_jw_int(&w, INT64_MIN);
        elaine_jw_arr_end(&w);
        elaine_buf_addf(&want_b, ",%llu,%lld]", (unsigned long long)UINT64_MAX, (long long)INT64_MIN);
        CHECK_STR(b.p, want_b.p);
        elaine_buf_free(&b);
        elaine_buf_free(&want_b);
    }
    CASE("doubles like %.15g/%.16g/%.17g");
    static const double dbl[] = {0.0, -0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 1.5, 12.345,
                                 412.0, 999.999, 1000.001, 123456789.123, 999999999999.999,
                                 1e12, 1e12 - 0.001, 1e15, 1e-4, 1e-5, 0.0001, 0.0015, 2.5e-7,
                                 -12.345, -0.001, 5e-324, 1.7976931348623157e308, 0.1 + 0.2,
                                 1.0 / 3.0, 9007199254740993.0};
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]) + 30000; i++) {
        double d;
        if (i < sizeof(dbl) / sizeof(dbl[0]))
            d = dbl[i];
        else if (i % 3 == 0) /* timings: round(ms * 1000) / 1000 */
            d = round((double)(rng() % 100000000000ull) / (double)(1 + rng() % 100000) * 1000.0) / 1000.0;
        else if (i % 3 == 1)
            d = (double)(rng() % 1000000000000000ull) / 1000.0;
        else {
            uint64_t bits = rng();
            memcpy(&d, &bits, sizeof(d));
            if (!isfinite(d))
                continue;
        }
        elaine_buf b;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_jw_init(&w, &b);
        elaine_jw_double(&w, d);
        ref_double(want, sizeof(want), d);
        CHECK_STR(b.p, want);
        elaine_buf_free(&b);
    }
}

static void check_parser_arena(void)
{
    /* many trees alive at once and freed in any order (the block kept for reuse) */
    CASE("arena: interleaved trees");
    ej_val *keep[50];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            char s[128];
            int n = snprintf(s, sizeof(s), "{\"i\":%d,\"s\":\"x\\n%d\",\"a\":[%d,true,null]}", i, i, -i);
            keep[i] = elaine_json_parse(s, (size_t)n);
            CHECK(keep[i] != NULL);
        }
        for (int i = 0; i < 50; i++) {
            int k = round == 1 ? 49 - i : (i * 7) % 50;
            int64_t x = -1;
            char want[16];
            snprintf(want, sizeof(want), "x\n%d", k);
            CHECK(elaine_json_int(elaine_json_get(keep[k], "i"), &x) == 0 && x == k);
            CHECK_STR(elaine_json_str(elaine_json_get(keep[k], "s")), want);
            CHECK(elaine_json_int(elaine_json_at(elaine_json_get(keep[k], "a"), 0), &x) == 0 && x == -k);
            elaine_json_free(keep[k]);
        }
    }
    /* more members than fit the parser's first stack and first block; numbers
     * and strings at the very end of the text */
    CASE("arena: large and wide");
    elaine_buf in;
    elaine_buf_init(&in);
    elaine_buf_addc(&in, '[');
    for (int i = 0; i < 5000; i++) {
        if (i)
            elaine_buf_addc(&in, ',');
        if (i % 3 == 0)
            elaine_buf_addf(&in, "{\"k%d\":[%d,{\"n\":\"\\u00e9%d\"}],\"z\":%d}", i, i, i, i);
        else if (i % 3 == 1)
            elaine_buf_addf(&in, "\"s%d\\t\"", i);
        else
            elaine_buf_addf(&in, "%d.5e1", i);
    }
    elaine_buf_addc(&in, ']');
    ej_val *v = elaine_json_parse(in.p, in.len);
    CHECK(v != NULL && elaine_json_len(v) == 5000);
    if (v) {
        int64_t x = -1;
        char key[16], want[32];
        const ej_val *o = elaine_json_at(v, 4998);
        snprintf(key, sizeof(key), "k%d", 4998);
        CHECK(elaine_json_int(elaine_json_at(elaine_json_get(o, key), 0), &x) == 0 && x == 4998);
        snprintf(want, sizeof(want), "\xc3\xa9%d", 4998);
        CHECK_STR(elaine_json_str(elaine_json_get(elaine_json_at(elaine_json_get(o, key), 1), "n")), want);
        CHECK_STR(elaine_json_str(elaine_json_at(v, 4999)), "s4999\t");
        CHECK_STR(elaine_json_num_text(elaine_json_at(v, 4997)), "4997.5e1");
        /* writing it back gives the input (it is compact already) */
        elaine_buf out;
        elaine_jw w;
        elaine_buf_init(&out);
        elaine_jw_init(&w, &out);
        elaine_jw_value(&w, v);
        CHECK(out.len > 0 && parses(out.p, out.len));
        elaine_buf_free(&out);
    }
    elaine_json_free(v);
    elaine_buf_free(&in);
    CASE("arena: scalars at the end of the text");
    static const char *const tail[] = {"12", "-0", "\"ab\"", "\"a\\\"b\"", "[1,2]", "{\"a\":1.5e3}", "true"};
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        size_t n = 0;
        char *o = reprint(tail[i], strlen(tail[i]), &n);
        CHECK(o != NULL);
        if (o)
            CHECK_MEM(o, n, tail[i], strlen(tail[i]));
        free(o);
    }
    CASE("get: NULL key, keys with NUL, a key not a literal");
    {
        const char *txt = "{\"k\\u0000x\":1,\"k\":2,\"\":3}";
        ej_val *o = elaine_json_parse(txt, strlen(txt));
        int64_t x = 0;
        const char *none = NULL;
        char dyn[8];
        snprintf(dyn, sizeof(dyn), "%s", "k");
        CHECK(o != NULL);
        CHECK(elaine_json_get(o, NULL) == NULL);
        CHECK(elaine_json_get(o, none) == NULL);
        CHECK(elaine_json_int(elaine_json_get(o, "k"), &x) == 0 && x == 2);
        CHECK(elaine_json_int(elaine_json_get(o, dyn), &x) == 0 && x == 2);
        CHECK(elaine_json_int(elaine_json_get(o, ""), &x) == 0 && x == 3);
        CHECK(elaine_json_int(elaine_json_getn(o, "k\0x", 3), &x) == 0 && x == 1);
        CHECK(elaine_json_getn(o, "k\0y", 3) == NULL);
        CHECK(elaine_json_getn(o, "\0", 1) == NULL);
        CHECK(elaine_json_int(elaine_json_path(o, ""), &x) == 0 && x == 3);
        CHECK(elaine_json_path(o, "k.") == NULL);
        ej_val *e = elaine_json_parse("{}", 2); /* no members array at all */
        CHECK(e != NULL && elaine_json_get(e, "k") == NULL && elaine_json_getn(e, "", 0) == NULL);
        CHECK(elaine_json_path(e, "k") == NULL);
        elaine_json_free(e);
        elaine_json_free(o);
    }
    CASE("arena: failed parse after values");
    static const char *const bad[] = {"[1,\"a\",{\"b\":[2,3]},", "{\"a\":\"x\\q\"}", "[1,2,{\"a\":3}]x",
                                      "{\"a\":[\"\\u00e9\",1e5,{\"b\":null}],\"c\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!parses(bad[i], strlen(bad[i])));
}

static void check_escaper(void)
{
    static unsigned char buf[70000];
    CASE("escaper: fixed cases");
    /* U+2028/U+2029 are valid JSON and stay as they are (same rules as before) */
    check_str_write("U+2028", "a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, "\"a\xe2\x80\xa8" "b\xe2\x80\xa9\"", 10);
    check_str_write("DEL stays", "\x7f", 1, "\"\x7f\"", 3);
    check_str_write("all controls", "\x00\x01\x02\x03\x04\x05\x06\x07\x0b\x0e\x10\x1b\x1f", 13,
                    "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u000b\\u000e\\u0010\\u001b\\u001f\"",
                    80);
    check_str_write("16 plain then quote", "0123456789abcdef\"", 17, "\"0123456789abcdef\\\"\"", 20);
    check_str_write("quote at 15", "0123456789abcde\"x", 17, "\"0123456789abcde\\\"x\"", 20);
    check_str_write("split utf8 at 16", "0123456789abcde\xe2\x82\xac", 18, "\"0123456789abcde\xe2\x82\xac\"", 20);
    check_str_write("cut utf8 at the end of 16", "0123456789abcdef\xe2\x82", 18, "\"0123456789abcdef\xef\xbf\xbd\"", 21);
    CASE("escaper: random text against the byte-by-byte reference");
    for (int it = 0; it < 4000; it++) {
        size_t n = 0, want = it < 3000 ? (size_t)(rng() % 80) : (size_t)(rng() % 40000);
        if (it % 500 == 0)
            want = 8192 * 3 + rng() % 64; /* around the writer's chunks */
        while (n < want)
            n += rand_piece(buf + n);
        size_t off = rng() % 16; /* any alignment */
        memmove(buf + off, buf, n);
        check_escape_against_ref(buf + off, n);
    }
    CASE("escaper: an event stream (JSON in the text, quotes every few bytes)");
    {
        size_t n = 0;
        for (int k = 0; n + 400 < sizeof(buf); k++)
            n += (size_t)snprintf((char *)buf + n, 400,
                                  "data: {\"id\":\"c-%d\",\"choices\":[{\"delta\":{\"content\":\"w\\\"%d\\\\\"}}],"
                                  "\"usage\":null}\r\n\r\n",
                                  k, k * 7);
        for (size_t off = 0; off < 40; off += 13)
            check_escape_against_ref(buf + off, n - off - (off & 7));
    }
    CASE("escaper: every byte at every place of short strings, in memory that ends with them");
    /* the short tail is read with overlapping loads that must stay within the
     * string (an ASan build sees a byte too far in this exact-size memory) */
    for (size_t n = 1; n <= 40; n++) {
        unsigned char *s = malloc(n);
        CHECK(s != NULL);
        if (!s)
            break;
        for (size_t pos = 0; pos < n; pos++)
            for (unsigned c = 0; c < 256; c++) {
                for (size_t k = 0; k < n; k++)
                    s[k] = (unsigned char)('a' + k % 26);
                s[pos] = (unsigned char)c;
                if (pos + 1 < n && (c == 0xc3 || c == 0xe2))
                    s[pos + 1] = 0xa9; /* a valid or a cut sequence too */
                check_escape_against_ref(s, n);
            }
        free(s);
    }
    for (size_t n = 0; n <= 40; n++) {
        unsigned char *s = malloc(n ? n : 1);
        CHECK(s != NULL);
        if (!s)
            break;
        for (int it = 0; it < 200; it++) {
            for (size_t k = 0; k < n; k++) {
                uint64_t r = rng();
                s[k] = r % 4 ? (unsigned char)(' ' + (r >> 8) % 95) : (unsigned char)(r >> 16);
            }
            check_escape_against_ref(s, n);
        }
        free(s);
    }
    CASE("escaper: ELAINE_JW_LIT writes what elaine_jw_cstr writes");
    {
        elaine_buf a, b;
        elaine_jw wa, wb;
        elaine_buf_init(&a);
        elaine_buf_init(&b);
        elaine_jw_init(&wa, &a);
        elaine_jw_init(&wb, &b);
        elaine_jw_arr_begin(&wa);
        elaine_jw_arr_begin(&wb);
        ELAINE_JW_LIT(&wa, "exchange");
        elaine_jw_cstr(&wb, "exchange");
        ELAINE_JW_LIT(&wa, "");
        elaine_jw_cstr(&wb, "");
        elaine_jw_obj_begin(&wa);
        elaine_jw_obj_begin(&wb);
        ELAINE_JW_KEY(&wa, "k");
        elaine_jw_key(&wb, "k");
        ELAINE_JW_LIT(&wa, "1.1");
        elaine_jw_cstr(&wb, "1.1");
        ELAINE_JW_KEY(&wa, "x");
        elaine_jw_key(&wb, "x");
        elaine_jw_null(&wa);
        elaine_jw_null(&wb);
        elaine_jw_obj_end(&wa);
        elaine_jw_obj_end(&wb);
        elaine_jw_arr_end(&wa);
        elaine_jw_arr_end(&wb);
        CHECK_STR(a.p, "[\"exchange\",\"\",{\"k\":\"1.1\",\"x\":null}]");
        CHECK_MEM(a.p, a.len, b.p, b.len);
        elaine_buf_free(&a);
        elaine_buf_free(&b);
    }
    CASE("escaper: long runs of one kind");
    memset(buf, 'a', 65536);
    check_escape_against_ref(buf, 65536);
    memset(buf, '"', 20000);
    check_escape_against_ref(buf, 20000);
    memset(buf, 1, 20000); /* \u0001: six bytes out of one */
    check_escape_against_ref(buf, 20000);
    memset(buf, 0xff, 20000);
    check_escape_against_ref(buf, 20000);
    for (size_t i = 0; i + 3 <= 30000; i += 3)
        memcpy(buf + i, "\xe2\x80\xa8", 3);
    check_escape_against_ref(buf, 30000);
}


/* elaine_jw_json writes what elaine_jw_value writes, whether it copies the
 * text (already in the writer's form) or not; at writer depth `depth`. */
static void check_jw_json_same(const char *text, size_t n, int depth, int expect_copy)
{
    ej_val *v = elaine_json_parse(text, n);
    CHECK(v != NULL);
    if (!v)
        return;
    elaine_buf a, b;
    elaine_jw wa, wb;
    elaine_buf_init(&a);
    elaine_buf_init(&b);
    elaine_jw_init(&wa, &a);
    elaine_jw_init(&wb, &b);
    for (int k = 0; k < depth; k++) {
        elaine_jw_arr_begin(&wa);
        elaine_jw_arr_begin(&wb);
        elaine_jw_int(&wa, k);
        elaine_jw_int(&wb, k);
    }
    elaine_jw_json(&wa, v, text, n);
    elaine_jw_value(&wb, v);
    for (int k = 0; k < depth; k++) {
        elaine_jw_arr_end(&wa);
        elaine_jw_arr_end(&wb);
    }
    CHECK_MEM(a.p, a.len, b.p, b.len);
    if (expect_copy >= 0 && depth == 0)
        CHECK(expect_copy == (a.len == n && memcmp(a.p, text, n) == 0));
    /* text elsewhere (a copy): never taken for the tree's own */
    char *copy = malloc(n + 1);
    memcpy(copy, text, n);
    elaine_buf_reset(&a);
    elaine_jw_init(&wa, &a);
    for (int k = 0; k < depth; k++)
        elaine_jw_arr_begin(&wa), elaine_jw_int(&wa, k);
    elaine_jw_json(&wa, v, copy, n);
    for (int k = 0; k < depth; k++)
        elaine_jw_arr_end(&wa);
    CHECK_MEM(a.p, a.len, b.p, b.len);
    free(copy);
    elaine_json_free(v);
    elaine_buf_free(&a);
    elaine_buf_free(&b);
}

static void check_jw_json(void)
{
    static const struct {
        const char *text;
        int copy; /* 1: already the writer's form, 0: rewritten */
    } cases[] = {
        {"{\"a\":1,\"b\":[true,false,null],\"c\":{},\"d\":[]}", 1},
        {"{\"a\": 1}", 0},
        {" {\"a\":1}", 0},
        {"{\"a\":1}\n", 0},
        {"[1.50,1e400,-0.0,1E+2]", 1},
        {"\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"", 1},
        {"\"\\u0000\\u0001\\u001f\\u000b\"", 1},
        {"\"\\u001F\"", 0},
        {"\"\\u0008\"", 0},
        {"\"\\u000a\"", 0},
        {"\"\\u0020\"", 0},
        {"\"\\u007f\"", 0},
        {"\"a\\/b\"", 0},
        {"\"\\u00e9\"", 0},
        {"\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\x7f\"", 1},
        {"\"\\ud83d\\ude00\"", 0},
        {"\"\\ud800\"", 0},
        {"{\"k\\u0000x\":\"v\",\"k\\u0000x\":2}", 1},
        {"{\"dup\":1,\"dup\":2}", 1},
        {"42", 1},
        {"\"\"", 1},
    };
    CASE("jw_json");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CASE(cases[i].text);
        check_jw_json_same(cases[i].text, strlen(cases[i].text), 0, cases[i].copy);
        check_jw_json_same(cases[i].text, strlen(cases[i].text), 3, -1);
    }
    /* nested to the limit: within a deep writer the deepest containers go as strings */
    CASE("jw_json deep");
    char deep[2 * 512 + 1];
    for (int k = 0; k < 512; k++) {
        deep[k] = '[';
        deep[512 + k] = ']';
    }
    check_jw_json_same(deep, 1024, 0, 1);
    check_jw_json_same(deep, 1024, 1, -1);
    check_jw_json_same(deep + 10, 1004, 10, -1);
    check_jw_json_same(deep + 10, 1004, 9, -1);
    CASE("jw_json NULL");
    {
        elaine_buf b;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_jw_init(&w, &b);
        elaine_jw_json(&w, NULL, "x", 1);
        CHECK_STR(b.p, "null");
        elaine_buf_free(&b);
    }
}

/* elaine_jw_member_str against elaine_jw_keyn + elaine_jw_str: random keys
 * and values of 0..40 bytes (both sides of the 16- and 32-byte fast paths,
 * plain and not), first and later members, shallow and deeper than the
 * writer's first[] table (the comma then told by the last byte). */
static void check_member_str(void)
{
    static unsigned char kb[128], vb[128];
    CASE("member_str: against keyn + str");
    for (int it = 0; it < 3000; it++) {
        int depth = it % 3 == 2 ? 130 : 1 + it % 2;
        elaine_buf got, want;
        elaine_jw wg, ww;
        elaine_buf_init(&got);
        elaine_buf_init(&want);
        elaine_jw_init(&wg, &got);
        elaine_jw_init(&ww, &want);
        for (int d = 0; d < depth; d++) {
            elaine_jw_obj_begin(&wg);
            elaine_jw_obj_begin(&ww);
            if (d + 1 < depth) {
                elaine_jw_keyn(&wg, "k", 1);
                elaine_jw_keyn(&ww, "k", 1);
            }
        }
        int members = 1 + (int)(rng() % 3);
        for (int m = 0; m < members; m++) {
            size_t kn = 0, vn = 0, kw = rng() % 41, vw = rng() % 41;
            int plain = rng() % 4 != 0;
            while (kn < kw)
                if (plain)
                    kb[kn++] = (unsigned char)('a' + rng() % 26);
                else
                    kn += rand_piece(kb + kn);
            while (vn < vw)
                if (plain)
                    vb[vn++] = (unsigned char)(' ' + rng() % 95);
                else
                    vn += rand_piece(vb + vn);
            elaine_jw_member_str(&wg, (const char *)kb, kn, (const char *)vb, vn);
            elaine_jw_keyn(&ww, (const char *)kb, kn);
            elaine_jw_str(&ww, (const char *)vb, vn);
        }
        elaine_jw_member_str(&wg, NULL, 3, NULL, 5);
        elaine_jw_keyn(&ww, NULL, 3);
        elaine_jw_str(&ww, NULL, 5);
        elaine_jw_cstr(&wg, "after"); /* a member value after: not a key, the state must say so */
        elaine_jw_cstr(&ww, "after");
        for (int d = 0; d < depth; d++) {
            elaine_jw_obj_end(&wg);
            elaine_jw_obj_end(&ww);
        }
        CHECK_MEM(got.p, got.len, want.p, want.len);
        elaine_buf_free(&got);
        elaine_buf_free(&want);
    }
    {
        elaine_buf b;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_jw_init(&w, &b);
        elaine_jw_obj_begin(&w);
        elaine_jw_member_str(&w, "a", 1, "x", 1);
        elaine_jw_member_str(&w, "0123456789abcdef", 16, "0123456789abcdef0123456789abcdef", 32);
        elaine_jw_member_str(&w, "q\"", 2, "\xff", 1);
        elaine_jw_obj_end(&w);
        CASE("member_str: fixed");
        CHECK_STR(b.p, "{\"a\":\"x\",\"0123456789abcdef\":\"0123456789abcdef0123456789abcdef\","
                       "\"q\\\"\":\"\xef\xbf\xbd\"}");
        elaine_buf_free(&b);
    }
}

/* Member lookup compares keys a word at a time: keys of 1..40 bytes with
 * variants that differ from them in one byte only (each position, the
 * first, last, and around the 4- and 8-byte words), all in one object. */
static void check_key_lookup(void)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
    CASE("getn/path: keys differing in one byte");
    for (size_t l = 1; l <= 40; l++) {
        elaine_buf t;
        elaine_buf_init(&t);
        elaine_buf_addc(&t, '{');
        for (size_t j = 0; j < l; j++) { /* the variants first: a lookup must not stop at one */
            elaine_buf_addf(&t, "\"%.*s%c%.*s\":%zu,", (int)j, abc, '_',
                            (int)(l - j - 1), abc + j + 1, j + 1);
        }
        elaine_buf_addf(&t, "\"%.*s\":{\"%.*s\":0},\"%.*s\":-1}", (int)(l - 1), abc, (int)l, abc, (int)l, abc);
        ej_val *v = elaine_json_parse(t.p, t.len);
        CHECK(v != NULL);
        int64_t x = -2;
        char k[64], path[160];
        CHECK(elaine_json_int(elaine_json_getn(v, abc, l), &x) == 0 && x == -1);
        memcpy(k, abc, l);
        for (size_t j = 0; j < l; j++) {
            k[j] = '_';
            x = -2;
            CHECK(elaine_json_int(elaine_json_getn(v, k, l), &x) == 0 && x == (int64_t)(j + 1));
            k[j] = '^'; /* a key nobody has */
            CHECK(elaine_json_getn(v, k, l) == NULL);
            k[j] = abc[j];
        }
        CHECK(elaine_json_getn(v, abc, l + 1) == NULL);
        /* path: the shorter key, then in it the full one */
        snprintf(path, sizeof(path), "%.*s.%.*s", (int)(l - 1), abc, (int)l, abc);
        x = -2;
        if (l > 1)
            CHECK(elaine_json_int(elaine_json_path(v, path), &x) == 0 && x == 0);
        snprintf(path, sizeof(path), "%.*s", (int)l, abc);
        x = -2;
        CHECK(elaine_json_int(elaine_json_path(v, path), &x) == 0 && x == -1);
        snprintf(path, sizeof(path), "%.*s^", (int)l, abc);
        CHECK(elaine_json_path(v, path) == NULL);
        elaine_json_free(v);
        elaine_buf_free(&t);
    }
}

/* The parser is a loop over a stack of slots: containers of objects and
 * arrays mixed at the depth limit, members past the first stack's 64 slots
 * while outer containers wait (their slots told by index, the stack moved),
 * whitespace everywhere, and each written back as the writer would. */
static void check_parser_loop(void)
{
    CASE("loop: mixed nesting at the limit");
    for (int extra = 0; extra < 2; extra++) {
        elaine_buf t;
        elaine_buf_init(&t);
        int d = 512 + extra;
        for (int k = 0; k < d; k++)
            elaine_buf_adds(&t, k % 3 == 1 ? "[0, " : "{\"k\" :");
        elaine_buf_adds(&t, "\"x\"");
        for (int k = d - 1; k >= 0; k--)
            elaine_buf_adds(&t, k % 3 == 1 ? "]" : "}");
        CHECK(parses(t.p, t.len) == !extra);
        elaine_buf_free(&t);
    }
    CASE("loop: wide members inside nested containers");
    {
        elaine_buf t, want;
        elaine_buf_init(&t);
        elaine_buf_init(&want);
        elaine_buf_adds(&t, " { \"a\" : [ 1 , { \"b\" : [");
        elaine_buf_adds(&want, "{\"a\":[1,{\"b\":[");
        for (int k = 0; k < 300; k++) {
            elaine_buf_addf(&t, "%s{\"i\":%d,\"s\":\"v%d\",\"o\":{}, \"e\":[]}", k ? " ,\n" : "", k, k);
            elaine_buf_addf(&want, "%s{\"i\":%d,\"s\":\"v%d\",\"o\":{},\"e\":[]}", k ? "," : "", k, k);
        }
        elaine_buf_adds(&t, "] , \"c\":true}\t], \"z\" :null , \"y\":-1.5e3 } ");
        elaine_buf_adds(&want, "],\"c\":true}],\"z\":null,\"y\":-1.5e3}");
        size_t n = 0;
        char *o = reprint(t.p, t.len, &n);
        CHECK(o != NULL);
        if (o)
            CHECK_MEM(o, n, want.p, want.len);
        free(o);
        ej_val *v = elaine_json_parse(t.p, t.len);
        const ej_val *b = elaine_json_path(elaine_json_at(elaine_json_get(v, "a"), 1), "b");
        int64_t x = -1;
        CHECK(elaine_json_len(b) == 300);
        CHECK(elaine_json_int(elaine_json_get(elaine_json_at(b, 299), "i"), &x) == 0 && x == 299);
        CHECK(elaine_json_int(elaine_json_get(elaine_json_at(b, 64), "i"), &x) == 0 && x == 64);
        CHECK_STR(elaine_json_str(elaine_json_get(elaine_json_at(b, 65), "s")), "v65");
        CHECK(elaine_json_len(elaine_json_get(elaine_json_at(b, 7), "o")) == 0);
        CHECK(elaine_json_bool(elaine_json_get(elaine_json_at(elaine_json_get(v, "a"), 1), "c")) == 1);
        CHECK(elaine_json_get(v, "z") != NULL && elaine_json_type(elaine_json_get(v, "z")) == EJ_NULL);
        CHECK_STR(elaine_json_num_text(elaine_json_get(v, "y")), "-1.5e3");
        elaine_json_free(v);
        /* cut anywhere, it is not JSON any more (only whole, or with the trailing blank gone) */
        for (size_t cut = 0; cut + 1 < t.len; cut += 7)
            CHECK(!parses(t.p, cut));
        elaine_buf_free(&t);
        elaine_buf_free(&want);
    }
    CASE("loop: a separator or closer out of place");
    static const char *const bad[] = {"[1}", "{\"a\":1]", "[1,,2]", "{\"a\":1,,\"b\":2}", "{,}", "[,]",
                                      "{\"a\"::1}", "[1:2]", "{\"a\",1}", "[[]", "[]]", "{\"a\":{}}}",
                                      "{\"a\":[}]", "[{]}", "{\"a\":1 \"b\":2}", "[\"a\" \"b\"]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CASE(bad[i]);
        CHECK(!parses(bad[i], strlen(bad[i])));
    }
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

/* The tree-free scans against the parser: a text the parser takes whole (no
 * whitespace around it) is one value for elaine_json_scan_value, and a
 * string's decoded text is the same; over the strictness lists and every
 * byte of some texts replaced or cut. */
static void check_scan_one(const char *s, size_t n)
{
    ej_val *v = elaine_json_parse(s, n);
    int edge_ws = n && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' || s[n - 1] == ' ' ||
                        s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r');
    size_t e = elaine_json_scan_value(s, n, 0, 0);
    if (!edge_ws && n) {
        if ((e == n) != (v != NULL))
            fprintf(stderr, "scan %zu parse %d: [%.*s]\n", e, v != NULL, (int)n, s);
        CHECK_INT(e == n, v != NULL);
    }
    if (n && s[0] == '"') {
        elaine_buf b;
        elaine_buf_init(&b);
        int plain = -1;
        size_t e1 = elaine_json_scan_str(s, n, 0, &plain);
        size_t e2 = elaine_json_str_append(s, n, 0, &b);
        CHECK_INT(e1, e2);
        if (v && e1 == n) {
            CHECK_MEM(b.p ? b.p : "", b.len, elaine_json_str(v), elaine_json_len(v));
            if (plain == 1)
                CHECK_MEM(s + 1, n - 2, elaine_json_str(v), elaine_json_len(v));
        }
        elaine_buf_free(&b);
    }
    elaine_json_free(v);
}

static void check_scans(void)
{
    CASE("scan vs parse");
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        check_scan_one(valid[i], strlen(valid[i]));
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        check_scan_one(invalid[i], strlen(invalid[i]));
    static const char *const seeds[] = {
        "{\"a\":[1,-2.5e+3,true,false,null,\"x\\n\\u00e9\\ud83d\\ude00\"],\"b\":{\"c\":{}},\"d\":[]}",
        "\"plain text\"", "\"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0041 \\uD800 \\uDC00 caf\xC3\xA9\"",
        "[ 0 , -0 , 0.5 , 1E2 , { \"k\" : \"v\" } ]",
    };
    static const char repl[] = {'"', '\\', ' ', ',', '}', ']', '{', '[', '0', '-', '.', 'e', 'x', ':', '\0',
                                '\x80', '\xC3', 'u', 'D'};
    for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
        size_t n = strlen(seeds[k]);
        char m[256];
        for (size_t cut = 0; cut <= n; cut++)
            check_scan_one(seeds[k], cut);
        for (size_t i = 0; i < n; i++)
            for (size_t r = 0; r < sizeof(repl); r++) {
                memcpy(m, seeds[k], n);
                m[i] = repl[r];
                check_scan_one(m, n);
            }
    }
    /* nesting: the parser's limit, counted with the containers around */
    char d[1100];
    for (int k = 0; k < 513; k++) {
        d[k] = '[';
        d[513 + k] = ']';
    }
    CHECK_INT(elaine_json_scan_value(d + 1, 1024, 0, 0), 1024);
    CHECK_INT(elaine_json_scan_value(d + 1, 1024, 0, 1), 0);
    CHECK_INT(elaine_json_scan_value(d, 1026, 0, 0), 0);
    CHECK_INT(elaine_json_scan_value(d + 2, 1022, 0, 1), 1022);
}

/* ---- the parser against its reference (json_ref_parser.h, the parser as it
 * was before the rewrite for speed): the same inputs accepted, the same
 * trees (types, strings with their NUL, numbers' text and integer values,
 * keys and which member a lookup finds), the same whole-text copy by
 * elaine_jw_json (canonical text, deepest container), and the tree-free
 * scans the same; over generated JSON, cut, mutated and deeply nested. */
static int diff_fails;

static int diff_tree(const ej_val *a, const rj_val *b)
{
    if ((int)elaine_json_type(a) != (int)ref_json_type(b))
        return 0;
    int64_t x = 0, y = 0;
    switch (ref_json_type(b)) {
    case EJ_NULL:
        return 1;
    case EJ_BOOL:
        return elaine_json_bool(a) == ref_json_bool(b);
    case EJ_NUM: {
        const char *ta = elaine_json_num_text(a), *tb = ref_json_num_text(b);
        int ra = elaine_json_int(a, &x), rb = ref_json_int(b, &y);
        return strcmp(ta, tb) == 0 && ra == rb && (ra < 0 || x == y) && elaine_json_len(a) == 0;
    }
    case EJ_STR:
        return elaine_json_len(a) == ref_json_len(b) &&
               memcmp(elaine_json_str(a), ref_json_str(b), ref_json_len(b) + 1) == 0;
    case EJ_ARR: {
        const char *km = NULL;
        size_t klm = 0;
        if (elaine_json_len(a) != ref_json_len(b) || elaine_json_member_at(a, 0, &km, &klm) != NULL)
            return 0;
        for (size_t i = 0; i < ref_json_len(b); i++)
            if (!diff_tree(elaine_json_at(a, i), ref_json_at(b, i)))
                return 0;
        return elaine_json_at(a, ref_json_len(b)) == NULL;
    }
    case EJ_OBJ:
        if (elaine_json_len(a) != ref_json_len(b))
            return 0;
        for (size_t i = 0; i < ref_json_len(b); i++) {
            size_t kl = ref_json_klen(b, i);
            const char *ka = elaine_json_key_at(a, i), *kb = ref_json_key_at(b, i);
            if (memcmp(ka, kb, kl + 1) != 0)
                return 0;
            const char *km = NULL;
            size_t klm = 0;
            if (elaine_json_member_at(a, i, &km, &klm) != elaine_json_at(a, i) || km != ka || klm != kl)
                return 0;
            /* the member a lookup finds: the same index (the first of the key) */
            const rj_val *fb = ref_json_getn(b, kb, kl);
            size_t j = 0;
            while (ref_json_at(b, j) != fb)
                j++;
            if (elaine_json_getn(a, ka, kl) != elaine_json_at(a, j))
                return 0;
            if (kl && !memchr(kb, 0, kl) && !strchr(kb, '.') && kl < 256 &&
                elaine_json_path(a, ka) != elaine_json_at(a, j))
                return 0;
            if (!diff_tree(elaine_json_at(a, i), ref_json_at(b, i)))
                return 0;
        }
        {
            const char *km = NULL;
            size_t klm = 0;
            if (elaine_json_member_at(a, ref_json_len(b), &km, &klm) != NULL || km || klm)
                return 0;
        }
        return elaine_json_key_at(a, ref_json_len(b)) == NULL;
    }
    return 0;
}

/* elaine_jw_json of the tree a inside `around` arrays: the text itself when
 * the reference says so (canonical, not too deep), else as elaine_jw_value writes it. */
static int diff_copy(const ej_val *a, const rj_val *b, const char *s, size_t n, int around)
{
    elaine_buf got, want;
    elaine_jw w1, w2;
    elaine_buf_init(&got);
    elaine_buf_init(&want);
    elaine_jw_init(&w1, &got);
    elaine_jw_init(&w2, &want);
    for (int k = 0; k < around; k++) {
        elaine_jw_arr_begin(&w1);
        elaine_jw_arr_begin(&w2);
    }
    elaine_jw_json(&w1, a, s, n);
    if (ref_json_canon(b) == 2 && around + ref_json_max_depth(b) < 512)
        elaine_buf_add(&want, s, n);
    else
        elaine_jw_value(&w2, a);
    int same = got.len == want.len && memcmp(got.p, want.p, got.len) == 0;
    elaine_buf_free(&got);
    elaine_buf_free(&want);
    return same;
}

static void diff_scans(const char *s, size_t n, size_t i)
{
    for (int depth = 0; depth < 2; depth++)
        if (elaine_json_scan_value(s, n, i, depth) != ref_json_scan_value(s, n, i, depth))
            diff_fails++;
    if (i < n && s[i] == '"') {
        int pa = -1, pb = -1;
        if (elaine_json_scan_str(s, n, i, &pa) != ref_json_scan_str(s, n, i, &pb) || pa != pb)
            diff_fails++;
        elaine_buf ba, bb;
        elaine_buf_init(&ba);
        elaine_buf_init(&bb);
        size_t ea = elaine_json_str_append(s, n, i, &ba), eb = ref_json_str_append(s, n, i, &bb);
        if (ea != eb || (eb && (ba.len != bb.len || memcmp(ba.p, bb.p, bb.len) != 0)))
            diff_fails++;
        elaine_buf_free(&ba);
        elaine_buf_free(&bb);
    }
}

static void diff_one(const char *s, size_t n)
{
    /* an exact-size copy: the parser must not read past n */
    char *c = malloc(n ? n : 1);
    memcpy(c, s, n);
    ej_val *a = elaine_json_parse(c, n);
    rj_val *b = ref_json_parse(c, n);
    int ok = (a == NULL) == (b == NULL);
    if (ok && a) {
        ok = diff_tree(a, b) && diff_copy(a, b, c, n, 0);
        if (ok && rng() % 8 == 0) {
            int d = 511 - ref_json_max_depth(b);
            ok = diff_copy(a, b, c, n, d) && diff_copy(a, b, c, n, d + 1);
        }
    }
    if (!ok) {
        if (diff_fails < 10)
            fprintf(stderr, "parser differs from the reference (parse %d ref %d): [%.*s]\n", a != NULL,
                    b != NULL, (int)(n > 300 ? 300 : n), s);
        diff_fails++;
    }
    diff_scans(c, n, 0);
    if (n)
        diff_scans(c, n, (size_t)(rng() % n));
    elaine_json_free(a);
    ref_json_free(b);
    free(c);
}

static void gen_ws(elaine_buf *b, int ws)
{
    static const char *const blanks[] = {" ", "\n", "\t", "\r", "  ", "\n    ", " \t\r\n"};
    if (ws && rng() % 3 == 0)
        elaine_buf_adds(b, blanks[rng() % 7]);
}

static void gen_digits(elaine_buf *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        elaine_buf_addc(b, (char)('0' + rng() % 10));
}

static void gen_number(elaine_buf *b)
{
    static const char *const edge[] = {"9223372036854775807", "9223372036854775808", "-9223372036854775808",
                                       "-9223372036854775809", "18446744073709551615", "18446744073709551616",
                                       "999999999999999999", "1000000000000000000", "-0", "0", "-0.0e-0",
                                       "123456789012345678901234567890", "1E400", "0.000001"};
    uint64_t r = rng();
    if (r % 8 == 0) {
        elaine_buf_adds(b, edge[(r >> 3) % (sizeof(edge) / sizeof(edge[0]))]);
        return;
    }
    if (r & 8)
        elaine_buf_addc(b, '-');
    if (r & 16) {
        elaine_buf_addc(b, '0');
    } else {
        elaine_buf_addc(b, (char)('1' + (r >> 5) % 9));
        gen_digits(b, (r >> 9) % 21);
    }
    if ((r >> 14) % 4 == 0) {
        elaine_buf_addc(b, '.');
        gen_digits(b, 1 + (r >> 16) % 6);
    }
    if ((r >> 19) % 5 == 0) {
        elaine_buf_addc(b, (r >> 22) & 1 ? 'e' : 'E');
        if ((r >> 23) % 3)
            elaine_buf_addc(b, (r >> 25) & 1 ? '+' : '-');
        gen_digits(b, 1 + (r >> 26) % 4);
    }
}

static void gen_string(elaine_buf *b, size_t maxlen)
{
    static const char *const pieces[] = {
        "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9", "\\u00E9", "\\u0000",
        "\\u001f", "\\u001F", "\\u0008", "\\u000a", "\\u20ac", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud800",
        "\\udc00", "\\ud800\\u0041", "\\ud800\\ud800\\udc00", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xef\xbf\xbd", "\x7f", "\xe2\x80\xa8",
    };
    elaine_buf_addc(b, '"');
    uint64_t r = rng();
    size_t len = r % 4 == 0 ? (r >> 2) % (maxlen + 1) : (r >> 2) % 12;
    int fancy = (r >> 20) % 3 == 0;
    for (size_t k = 0; k < len; k++) {
        uint64_t q = rng();
        if (fancy && q % 10 == 0)
            elaine_buf_adds(b, pieces[(q >> 4) % (sizeof(pieces) / sizeof(pieces[0]))]);
        else
            elaine_buf_addc(b, (char)("abcdefghijklmnopqrstuvwxyz ABCXYZ0189_-.:,{}[]"[(q >> 4) % 47]));
    }
    elaine_buf_addc(b, '"');
}

static void gen_value(elaine_buf *b, int depth, int ws)
{
    uint64_t r = rng() % (depth > 6 ? 7 : 10);
    switch (r) {
    case 0: elaine_buf_adds(b, "null"); break;
    case 1: elaine_buf_adds(b, rng() & 1 ? "true" : "false"); break;
    case 2: case 3: gen_number(b); break;
    case 4: case 5: case 6: gen_string(b, 70); break;
    case 7: case 8: {
        size_t k = rng() % 7;
        elaine_buf_addc(b, '[');
        for (size_t i = 0; i < k; i++) {
            if (i)
                elaine_buf_addc(b, ',');
            gen_ws(b, ws);
            gen_value(b, depth + 1, ws);
            gen_ws(b, ws);
        }
        elaine_buf_addc(b, ']');
        break;
    }
    default: {
        static const char *const keys[] = {"a", "b", "id", "model", "usage", "", "k\\u0000x", "\\u0061",
                                           "content", "prompt_tokens", "prompt_tokens_details", "ab", "ba"};
        size_t k = rng() % 7;
        elaine_buf_addc(b, '{');
        for (size_t i = 0; i < k; i++) {
            if (i)
                elaine_buf_addc(b, ',');
            gen_ws(b, ws);
            if (rng() % 4)
                elaine_buf_addf(b, "\"%s\"", keys[rng() % (sizeof(keys) / sizeof(keys[0]))]);
            else
                gen_string(b, 30);
            gen_ws(b, ws);
            elaine_buf_addc(b, ':');
            gen_ws(b, ws);
            gen_value(b, depth + 1, ws);
            gen_ws(b, ws);
        }
        elaine_buf_addc(b, '}');
    }
    }
}

static void check_parser_against_ref(void)
{
    CASE("parser vs reference: fixed texts");
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        diff_one(valid[i], strlen(valid[i]));
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        diff_one(invalid[i], strlen(invalid[i]));
    CHECK_INT(diff_fails, 0);

    CASE("parser vs reference: generated, cut and mutated");
    static const char repl[] = {'"', '\\', ' ', '\n', ',', '}', ']', '{', '[', '0', '1', '-', '+', '.', 'e', 'E',
                                'x', ':', '\0', '\x01', '\x1f', '\x7f', '\x80', '\xC3', '\xff', 'u', 'D', 't', 'n'};
    elaine_buf b, m;
    elaine_buf_init(&b);
    elaine_buf_init(&m);
    for (int it = 0; it < 6000; it++) {
        elaine_buf_reset(&b);
        int ws = it % 3 == 0;
        gen_ws(&b, ws);
        gen_value(&b, it % 5 == 0 ? 0 : 3, ws);
        gen_ws(&b, ws);
        diff_one(b.p, b.len);
        for (int k = 0; k < 8; k++) {
            size_t n = b.len;
            elaine_buf_reset(&m);
            elaine_buf_add(&m, b.p, n);
            size_t at = (size_t)(rng() % n);
            switch (rng() % 4) {
            case 0: /* cut */
                diff_one(m.p, at);
                continue;
            case 1: /* a byte replaced */
                m.p[at] = rng() % 4 ? repl[rng() % sizeof(repl)] : (char)rng();
                break;
            case 2: /* a byte gone */
                memmove(m.p + at, m.p + at + 1, n - at - 1);
                m.len--;
                break;
            default: /* a byte more */
                elaine_buf_addc(&m, 0);
                memmove(m.p + at + 1, m.p + at, n - at);
                m.p[at] = repl[rng() % sizeof(repl)];
            }
            diff_one(m.p, m.len);
        }
    }
    CHECK_INT(diff_fails, 0);

    CASE("parser vs reference: long strings across 16-byte blocks");
    for (size_t len = 0; len < 70; len++)
        for (size_t at = 0; at <= len; at++)
            for (size_t r = 0; r < 8; r++) {
                static const char *const ends[] = {"\"", "\\n\"", "\xc3\xa9\"", "\x01\"", "", "\\", "\xc3", "\\u12"};
                elaine_buf_reset(&b);
                elaine_buf_adds(&b, "[\"");
                for (size_t k = 0; k < len; k++)
                    elaine_buf_addc(&b, k == at ? '~' : (char)('a' + k % 26));
                elaine_buf_adds(&b, ends[r]);
                diff_one(b.p, b.len);
                elaine_buf_addc(&b, ']');
                diff_one(b.p, b.len);
                diff_one(b.p + 1, b.len - 2);
            }
    CHECK_INT(diff_fails, 0);

    CASE("parser vs reference: numbers at the end and before every delimiter");
    for (int it = 0; it < 3000; it++) {
        elaine_buf_reset(&b);
        gen_number(&b);
        size_t nl = b.len;
        diff_one(b.p, nl);
        static const char *const after[] = {"", " ", "\n", ",", "]", "}", "x", ".", "e", "\x00", " ]", "]]"};
        for (size_t k = 0; k < sizeof(after) / sizeof(after[0]); k++) {
            elaine_buf_reset(&m);
            elaine_buf_adds(&m, k % 2 ? "[" : "{\"n\":");
            elaine_buf_add(&m, b.p, nl);
            elaine_buf_add(&m, after[k], k == 9 ? 1 : strlen(after[k]));
            elaine_buf_adds(&m, k % 2 ? "]" : "}");
            diff_one(m.p, m.len);
            diff_one(m.p, m.len - 1);
        }
    }
    CHECK_INT(diff_fails, 0);

    CASE("parser vs reference: wide objects, keys of every length, lookups");
    for (int it = 0; it < 400; it++) {
        static const size_t lens[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 254, 255, 256, 300};
        size_t cnt = 1 + (size_t)it % 40;
        elaine_buf_reset(&b);
        elaine_buf_addc(&b, '{');
        char key[320];
        for (size_t k = 0; k < cnt; k++) {
            size_t kl = lens[rng() % (sizeof(lens) / sizeof(lens[0]))];
            for (size_t j = 0; j < kl; j++)
                key[j] = (char)('a' + (rng() % 3 == 0 ? rng() % 3 : j % 3));
            elaine_buf_addf(&b, "%s\"%.*s\":%zu", k ? "," : "", (int)kl, key, k);
        }
        elaine_buf_addc(&b, '}');
        diff_one(b.p, b.len);
        ej_val *a = elaine_json_parse(b.p, b.len);
        rj_val *r = ref_json_parse(b.p, b.len);
        for (int q = 0; a && r && q < 200; q++) {
            size_t kl = lens[rng() % (sizeof(lens) / sizeof(lens[0]))];
            for (size_t j = 0; j < kl; j++)
                key[j] = (char)('a' + (rng() % 3 == 0 ? rng() % 3 : j % 3));
            const rj_val *fr = ref_json_getn(r, key, kl);
            const ej_val *fa = elaine_json_getn(a, key, kl);
            size_t j = 0;
            while (j < ref_json_len(r) && ref_json_at(r, j) != fr)
                j++;
            if (fa != elaine_json_at(a, j))
                diff_fails++;
        }
        elaine_json_free(a);
        ref_json_free(r);
    }
    CHECK_INT(diff_fails, 0);

    CASE("parser vs reference: deep nesting");
    for (int it = 0; it < 60; it++) {
        int d = 505 + it % 10;
        int ws = it % 3 == 0;
        elaine_buf_reset(&b);
        for (int k = 0; k < d; k++) {
            elaine_buf_adds(&b, (k + it) % 3 == 1 ? "[" : "{\"k\":");
            gen_ws(&b, ws);
        }
        gen_value(&b, 7, ws);
        for (int k = d - 1; k >= 0; k--) {
            gen_ws(&b, ws);
            elaine_buf_adds(&b, (k + it) % 3 == 1 ? "]" : "}");
        }
        diff_one(b.p, b.len);
        diff_one(b.p, b.len - 1);
        diff_one(b.p + 1, b.len - 1);
    }
    CHECK_INT(diff_fails, 0);
    elaine_buf_free(&b);
    elaine_buf_free(&m);
}

/* elaine_jw_uint / elaine_jw_int against printf: every power of ten and of
 * two and their neighbours, and random values of every length, in arrays
 * (with the commas the writer places). */
static void check_ints_against_printf(void)
{
    CASE("jw_uint/jw_int against printf");
    uint64_t vals[400];
    size_t n = 0;
    uint64_t p10 = 1;
    for (int k = 0; k < 20; k++, p10 *= 10)
        for (int d = -2; d <= 2; d++)
            vals[n++] = p10 + (uint64_t)(int64_t)d;
    for (int b = 0; b < 64; b++)
        for (int d = -1; d <= 1; d++)
            vals[n++] = ((uint64_t)1 << b) + (uint64_t)(int64_t)d;
    uint64_t x = 0x243f6a8885a308d3ull;
    while (n < sizeof(vals) / sizeof(vals[0])) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vals[n++] = x >> (x % 64);
    }
    for (int sgn = 0; sgn < 2; sgn++) {
        elaine_buf b, want;
        elaine_jw w;
        elaine_buf_init(&b);
        elaine_buf_init(&want);
        elaine_jw_init(&w, &b);
        elaine_jw_arr_begin(&w);
        elaine_buf_addc(&want, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                elaine_buf_addc(&want, ',');
            if (sgn) {
                elaine_jw_int(&w, (int64_t)vals[i]);
                elaine_buf_addf(&want, "%lld", (long long)(int64_t)vals[i]);
            } else {
                elaine_jw_uint(&w, vals[i]);
                elaine_buf_addf(&want, "%llu", (unsigned long long)vals[i]);
            }
        }
        elaine_jw_arr_end(&w);
        elaine_buf_addc(&want, ']');
        CHECK_STR(b.p, want.p);
        elaine_buf_free(&b);
        elaine_buf_free(&want);
    }
}

/* elaine_jw_cstr_array against elaine_jw_cstr one by one: NULLs, empty,
 * plain and not, 0 to 40 bytes, before and after other members, and at a
 * depth beyond the writer's first[] table. */
static void check_cstr_array(void)
{
    CASE("jw_cstr_array against jw_cstr");
    static const char *const pool[] = {NULL, "", "main", "a\"b", "0123456789abcdef", "0123456789abcdef0",
                                       "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef0",
                                       "caf\xc3\xa9", "bad\xff", "tab\there", "0123456789abcdef0123456789abcdef01234567"};
    const size_t np = sizeof(pool) / sizeof(pool[0]);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 3000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % 9);
        char *arr[8];
        for (size_t i = 0; i < n; i++)
            arr[i] = (char *)pool[(x >> (8 + 4 * i)) % np];
        int deep = (x >> 60) == 0 ? 130 : (int)(x >> 62);
        elaine_buf a, b;
        elaine_jw wa, wb;
        elaine_buf_init(&a);
        elaine_buf_init(&b);
        elaine_jw_init(&wa, &a);
        elaine_jw_init(&wb, &b);
        for (int k = 0; k < deep; k++) {
            elaine_jw_arr_begin(&wa);
            elaine_jw_arr_begin(&wb);
            if ((x >> (k % 64)) & 1) {
                elaine_jw_null(&wa);
                elaine_jw_null(&wb);
            }
        }
        elaine_jw_cstr_array(&wa, arr, n);
        elaine_jw_arr_begin(&wb);
        for (size_t i = 0; i < n; i++)
            elaine_jw_cstr(&wb, arr[i]);
        elaine_jw_arr_end(&wb);
        elaine_jw_cstr(&wa, "after");
        elaine_jw_cstr(&wb, "after");
        CHECK_STR(a.p, b.p);
        elaine_buf_free(&a);
        elaine_buf_free(&b);
    }
}

int main(void)
{
    check_member_str();
    check_key_lookup();
    check_parser_loop();
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
        CHECK(elaine_json_path(v, "usage.") == NULL);
        CHECK(elaine_json_path(v, ".usage") == NULL);
        CHECK(elaine_json_path(v, "") == NULL);
        CHECK(elaine_json_get(v, "") == NULL);
        CHECK(elaine_json_get(v, "mode") == NULL && elaine_json_get(v, "modem") == NULL);
        CHECK(elaine_json_get(v, "dum") == NULL && elaine_json_get(v, "du") == NULL);
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
    check_escaper();
    check_jw_json();
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        CASE(valid[i]);
        check_jw_json_same(valid[i], strlen(valid[i]), 0, -1);
    }
    check_numbers_against_ref();
    check_parser_arena();
    check_scans();
    check_parser_against_ref();
    check_ints_against_printf();
    check_cstr_array();
    return check_done("test_json");
}
