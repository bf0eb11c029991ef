/* elaine_redact: secret headers, secret query parameters (case-insensitive
 * names), everything else kept byte for byte. */
#include "check.h"
#include "elaine_redact.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static void check_target(const char *in, const char *want)
{
    elaine_buf b;
    elaine_buf_init(&b);
    CASE(in);
    elaine_buf_adds(&b, ">"); /* appends, never resets */
    elaine_redact_target(&b, in);
    CHECK(b.p[0] == '>');
    CHECK_STR(b.p + 1, want);
    elaine_buf_free(&b);
}

/* elaine_redact_headern against strncasecmp on generated names: the
 * secret names with their letters' case flipped, one byte changed to any
 * value (0x80-0xff, the capital's neighbours '@' and '[', '\r' for '-'),
 * cut or lengthened. */
static int ref_secret(const char *name, size_t n)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "x-api-key", "api-key",
                                         "x-goog-api-key", "cookie", "set-cookie"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (strlen(secret[i]) == n && strncasecmp(name, secret[i], n) == 0)
            return 1;
    return 0;
}

static void check_headern_generated(void)
{
    CASE("redact_headern against strncasecmp");
    static const char *const base[] = {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key",
                                       "cookie", "set-cookie", "content-type", "connection", "user-agent", "accept"};
    uint64_t x = 0x2545f4914f6cdd1dull;
    size_t bad = 0, secrets = 0;
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char name[40];
        const char *b = base[x % (sizeof(base) / sizeof(base[0]))];
        size_t n = strlen(b);
        memcpy(name, b, n + 1);
        for (size_t i = 0; i < n; i++)
            if ((x >> (10 + i % 40)) & 1 && name[i] >= 'a' && name[i] <= 'z')
                name[i] = (char)(name[i] - 32);
        uint32_t k = (uint32_t)(x >> 50) % 8;
        if (k == 0) {
            static const unsigned char subs[] = {'@', '[', '`', '{', '\r', 0x80, 0xc1, 0xe1, 0xff, 0, '-', ' '};
            name[(x >> 20) % n] = (char)subs[(x >> 30) % sizeof(subs)];
        } else if (k == 1) {
            name[(x >> 20) % n] = (char)(x >> 40);
        } else if (k == 2 && n > 1) {
            n--;
        } else if (k == 3) {
            name[n++] = 's';
        }
        name[n] = 0;
        int want = ref_secret(name, n);
        secrets += (size_t)want;
        if (elaine_redact_headern(name, n) != want && bad++ < 5)
            fprintf(stderr, "redact_headern [%.*s] %zu: want %d\n", (int)n, name, n, want);
    }
    CHECK(bad == 0);
    CHECK(secrets > 10000);
}

int main(void)
{
    static const char *const secret[] = {"authorization", "proxy-authorization", "x-api-key", "api-key",
                                         "x-goog-api-key", "cookie", "set-cookie"};
    static const char *const plain[] = {"content-type", "host", "x-request-id", "openai-organization",
                                        "authorization-x", "", "user-agent", "anthropic-version"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        CASE(secret[i]);
        CHECK_INT(elaine_redact_header(secret[i]), 1);
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        CASE(plain[i]);
        CHECK_INT(elaine_redact_header(plain[i]), 0);
    }
    CASE("NULL header");
    CHECK_INT(elaine_redact_header(NULL), 0);
    {
        /* any ASCII case, as strcasecmp; same length but one byte off is not secret */
        static const char *const upper[] = {"Authorization", "PROXY-AUTHORIZATION", "X-Api-Key", "API-KEY",
                                            "X-Goog-Api-Key", "Cookie", "Set-Cookie", "cOOKIe"};
        static const char *const near[] = {"cookiz",        "aookie",        "api_key",       "x-api-kex",
                                           "y-api-key",     "set_cookie",    "set-cookiE2",   "authorizatiom",
                                           "x-goog-api-kez", "proxy-authorizatioo", "proxy\rauthorization",
                                           "cook\xc9" "e",    "set-cookie ",   "cookie\x01",   "api\rkey"};
        for (size_t i = 0; i < sizeof(upper) / sizeof(upper[0]); i++) {
            CASE(upper[i]);
            CHECK_INT(elaine_redact_header(upper[i]), 1);
        }
        for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
            CASE(near[i]);
            CHECK_INT(elaine_redact_header(near[i]), 0);
        }
        /* with lengths: a name not NUL-terminated, or cut short */
        CASE("headern");
        CHECK_INT(elaine_redact_headern("cookie: x", 6), 1);
        CHECK_INT(elaine_redact_headern("authorizationX", 13), 1);
        CHECK_INT(elaine_redact_headern("authorizationX", 14), 0);
        CHECK_INT(elaine_redact_headern("cookie", 5), 0);
        CHECK_INT(elaine_redact_headern("set-cookie", 10), 1);
        CHECK_INT(elaine_redact_headern("", 0), 0);
        for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
            CASE(secret[i]);
            CHECK_INT(elaine_redact_headern(secret[i], strlen(secret[i])), 1);
        }
    }

    check_target("/v1/chat/completions", "/v1/chat/completions");
    check_target("/v1beta/models/gemini-pro:generateContent?key=AIzaSyA-secret",
                 "/v1beta/models/gemini-pro:generateContent?key=[REDACTED]");
    check_target("/x?alt=sse&key=abc&b=2", "/x?alt=sse&key=[REDACTED]&b=2");
    check_target("/x?API_KEY=1&Api-Key=2&apikey=3&Access_Token=4&token=5&sig=6&Signature=7&code=8",
                 "/x?API_KEY=[REDACTED]&Api-Key=[REDACTED]&apikey=[REDACTED]&Access_Token=[REDACTED]"
                 "&token=[REDACTED]&sig=[REDACTED]&Signature=[REDACTED]&code=[REDACTED]");
    check_target("/x?keys=1&monkey=2&key2=3&tokens=4&zip%20code=5", "/x?keys=1&monkey=2&key2=3&tokens=4&zip%20code=5");
    check_target("/x?key", "/x?key");
    check_target("/x?key=", "/x?key=");
    check_target("/x?key=a=b&c", "/x?key=[REDACTED]&c");
    check_target("/x?&&key=s&&", "/x?&&key=[REDACTED]&&");
    check_target("/x?a=1&token=s#frag?token=t", "/x?a=1&token=[REDACTED]#frag?token=t");
    check_target("/path/key=notquery?q=%20x+y", "/path/key=notquery?q=%20x+y");
    check_target("/p#f?key=x", "/p#f?key=x");
    check_target("", "");
    check_target("*", "*");
    check_target("http://api.example.com/v1/x?key=s", "http://api.example.com/v1/x?key=[REDACTED]");
    check_target("http://user:pass@proxy.example.com:8080/v1?a=1", "http://[REDACTED]@proxy.example.com:8080/v1?a=1");
    check_target("/v1/x?next=http://u:p@h/", "/v1/x?next=http://u:p@h/");
    check_target("/a?b=\xff&key=\xfe\x01", "/a?b=\xff&key=[REDACTED]");

    {
        CASE("NULL target");
        elaine_buf b;
        elaine_buf_init(&b);
        elaine_redact_target(&b, NULL);
        CHECK_INT(b.len, 0);
        elaine_buf_free(&b);
    }
    check_headern_generated();
    return check_done("test_redact");
}
