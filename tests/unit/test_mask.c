/* Tests for elaine_mask (--content redacted): a table of positive and
 * negative examples per kind, user patterns, and linear time on hostile input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "elaine_mask.h"

typedef struct mcase {
    const char *in, *out; /* out NULL: unchanged (a false-positive check) */
} mcase;

static const mcase cases[] = {
    /* e-mail */
    {"a@b.co", "[REDACTED:email]"},
    {"mail bob@example.org please", "mail [REDACTED:email] please"},
    {"x first.last+tag@mail.example.com.", "x [REDACTED:email]."},
    {"<alice@x.io>", "<[REDACTED:email]>"},
    {"\"to\":\"carol@corp.example.de\"", "\"to\":\"[REDACTED:email]\""},
    {"hi\\nalice@example.com", "hi\\n[REDACTED:email]"}, /* still-escaped JSON text */
    {"no@tld", NULL},
    {"user@localhost", NULL},
    {"npm i lodash@4.17.21", NULL},
    {"ping @channel and @here", NULL},
    {"a @ b.com", NULL},
    {"x@y.c", NULL},
    /* phone numbers */
    {"call +1 555 123 4567 now", "call [REDACTED:phone] now"},
    {"+1 (555) 123-4567", "[REDACTED:phone]"},
    {"+44 20 7946 0958", "[REDACTED:phone]"},
    {"tel:+14155552671", "tel:[REDACTED:phone]"},
    {"+33 1 23 45 67 89.", "[REDACTED:phone]."},
    {"(555) 123-4567", "[REDACTED:phone]"},
    {"555-123-4567", "[REDACTED:phone]"},
    {"555.123.4567", "[REDACTED:phone]"},
    {"020 7946 0958", "[REDACTED:phone]"},
    {"phone: 01 23 45 67 89", "phone: [REDACTED:phone]"},
    {"order 1234567890 shipped", NULL},          /* an order id is not a phone number */
    {"order ORD-2024-000123-77", NULL},
    {"order #555-123-4567", NULL},
    {"order_id=20240115000123", NULL},
    {"on 2024-01-15", NULL},
    {"at 2024-01-15 10:30:00", NULL},
    {"2024-01-15-1030", NULL},
    {"15.01.2024", NULL},
    {"1 000 000 tokens", NULL},
    {"10 000 000 000 tokens", NULL},
    {"+100 000 000 users", NULL},
    {"pi is 3.14159265358", NULL},
    {"v1.2.3", NULL},
    {"tokens: 123456789", NULL},
    {"ts 1700000000123", NULL},
    {"+12", NULL},
    {"call 1 555 123 4567", "call [REDACTED:phone]"},
    {"1 2 3 4 5 6 7 8 9 10", NULL},
    /* cards, Luhn-checked */
    {"card 4111111111111111 ok", "card [REDACTED:card] ok"},
    {"4111 1111 1111 1111", "[REDACTED:card]"},
    {"4111-1111-1111-1111", "[REDACTED:card]"},
    {"mc 5555555555554444", "mc [REDACTED:card]"},
    {"amex 3782 822463 10005", "amex [REDACTED:card]"},
    {"amex 378282246310005", "amex [REDACTED:card]"},
    {"disc 6011111111111117.", "disc [REDACTED:card]."},
    {"4111111111111112", NULL},                  /* Luhn fails */
    {"4111 1111 1111 111", NULL},
    {"id 550e8400-e29b-41d4-a716-446655440000", NULL}, /* a UUID is not a card number */
    {"12345678-1234-1234-1234-123456789012", NULL},
    {"4111-1111-1111-1111-2222", NULL},
    {"1234567812345670", NULL},                  /* Luhn-valid, but no card network starts with 1 */
    {"seq 79927398713", NULL},                   /* Luhn-valid, 11 digits */
    {"sha 4111111111111111abc", NULL},
    /* IBANs, mod 97 */
    {"DE89370400440532013000", "[REDACTED:iban]"},
    {"iban DE89 3704 0044 0532 0130 00 thanks", "iban [REDACTED:iban] thanks"},
    {"GB82 WEST 1234 5698 7654 32", "[REDACTED:iban]"},
    {"FR1420041010050500013M02606", "[REDACTED:iban]"},
    {"DE89 3704 0044 0532 0130 00 AND MORE", "[REDACTED:iban] AND MORE"},
    {"DE89370400440532013001", NULL},            /* check digits wrong */
    {"SKU12ABCDEFGHIJKLM", NULL},
    {"AB12", NULL},
    /* IPv4 */
    {"from 10.0.0.1", "from [REDACTED:ipv4]"},
    {"192.168.1.100:8080", "[REDACTED:ipv4]:8080"},
    {"http://172.16.0.5/x", "http://[REDACTED:ipv4]/x"},
    {"x-forwarded-for: 203.0.113.7, 198.51.100.2", "x-forwarded-for: [REDACTED:ipv4], [REDACTED:ipv4]"},
    {"1.2.3.4.5", NULL},
    {"256.1.1.1", NULL},
    {"v1.2.3.4", NULL},
    {"01.02.03.04", NULL},
    {"1.2.3", NULL},
    /* API keys */
    {"key=sk-proj-AAAAAAAAAAAAAAAAAAAA!", "key=[REDACTED:openai_key]!"},
    {"sk-abcdefghijklmnopqrstuv", "[REDACTED:openai_key]"},
    {"Bearer sk-ant-api03-abc_DEF-12345_6789-xyzA_BCD-EFGHIJ", "Bearer [REDACTED:anthropic_key]"},
    {"sk-proj-Ab3_dE5-fG7hI9_jK1-lM3nO5_pQ7-rS9tU1_vW3-xY5", "[REDACTED:openai_key]"},
    {"AIzaSyA1234567890abcdefghijklmnopqrstuv", "[REDACTED:google_key]"},
    {"aws AKIAIOSFODNN7EXAMPLE.", "aws [REDACTED:aws_key]."},
    {"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[REDACTED:github_token]"},
    {"github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:github_token]"},
    {"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "[REDACTED:slack_token]"},
    {"sk-short", NULL},
    {"risk-abcdefghijklmnopqrstuvwxyz", NULL},
    {"sk-learn-model-selection-guide-page", NULL},
    {"AIzaShort", NULL},
    {"AKIAlowercase1234567", NULL},
    {"ghp_short", NULL},
    {"xoxb-", NULL},
    /* JWT */
    {"auth eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
     "auth [REDACTED:jwt] end"},
    {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED:jwt]"},
    {"eyJhbGciOi", NULL},
    {"eyJhbGciOiJIUzI1NiJ9.short", NULL},
    /* private keys */
    {"k: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAA==\n-----END RSA PRIVATE KEY-----\nbye",
     "k: [REDACTED:private_key]\nbye"},
    {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA", "[REDACTED:private_key]"},
    {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", NULL},
    {"-----BEGIN PUBLIC KEY-----", NULL},
    /* mixed, and nothing at all */
    {"Reach me at jo@x.org or +49 30 1234567; card 5555 5555 5555 4444, ip 8.8.8.8",
     "Reach me at [REDACTED:email] or [REDACTED:phone]; card [REDACTED:card], ip [REDACTED:ipv4]"},
    {"plain text, nothing to see: 42 apples, 3.5 kg, 100%", NULL},
    {"", NULL},
    {"caf\xc3\xa9 \xe2\x82\xac 12", NULL},
};

static void test_table(void)
{
    char name[128];
    size_t bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const mcase *c = &cases[i];
        snprintf(name, sizeof(name), "table %zu: %.60s", i, c->in);
        CASE(name);
        elaine_buf b;
        elaine_buf_init(&b);
        size_t hits = elaine_mask_apply(NULL, &b, c->in, strlen(c->in));
        const char *want = c->out ? c->out : c->in;
        int before = check_failures;
        CHECK_MEM(b.p ? b.p : "", b.len, want, strlen(want));
        if (!c->out)
            CHECK_INT(hits, 0);
        else
            CHECK(hits > 0);
        bad += check_failures != before;
        elaine_buf_free(&b);
    }
    if (bad)
        fprintf(stderr, "test_mask: %zu of %zu table cases failed\n", bad, sizeof(cases) / sizeof(cases[0]));
}

static char *apply(const elaine_mask *m, const char *s, size_t n, size_t *hits)
{
    elaine_buf b;
    elaine_buf_init(&b);
    size_t h = elaine_mask_apply(m, &b, s, n);
    if (hits)
        *hits = h;
    return elaine_buf_take(&b);
}

static void test_patterns(void)
{
    char err[256];
    CASE("user patterns");
    elaine_mask *m = elaine_mask_new();
    CHECK(m != NULL);
    CHECK_INT(elaine_mask_add_pattern(m, "EMP-[0-9]{6}", err, sizeof(err)), 0);
    CHECK_INT(elaine_mask_add_pattern(m, "project (apollo|gemini)", err, sizeof(err)), 0);
    size_t hits;
    const char *in = "EMP-123456 on project apollo, mail a@b.io; EMP-12 stays";
    char *o = apply(m, in, strlen(in), &hits);
    CHECK_STR(o, "[REDACTED:pattern] on [REDACTED:pattern], mail [REDACTED:email]; EMP-12 stays");
    CHECK_INT(hits, 3);
    free(o);

    CASE("a user pattern takes precedence over a built-in kind it overlaps");
    elaine_mask *m2 = elaine_mask_new();
    CHECK_INT(elaine_mask_add_pattern(m2, "[a-z]+@example\\.com", err, sizeof(err)), 0);
    CHECK_INT(elaine_mask_add_pattern(m2, "bob@ex", err, sizeof(err)), 0); /* overlaps the first */
    in = "to bob@example.com and eve@example.org";
    o = apply(m2, in, strlen(in), &hits);
    CHECK_STR(o, "to [REDACTED:pattern] and [REDACTED:email]");
    CHECK_INT(hits, 2);
    free(o);
    elaine_mask_free(m2);

    CASE("anchors, empty matches, embedded NUL");
    elaine_mask *m3 = elaine_mask_new();
    CHECK_INT(elaine_mask_add_pattern(m3, "^secret", err, sizeof(err)), 0);
    CHECK_INT(elaine_mask_add_pattern(m3, "x*", err, sizeof(err)), 0); /* empty matches: no loop */
    static const char nul[] = "secret a\0xx secret";
    o = apply(m3, nul, sizeof(nul) - 1, &hits);
    CHECK_MEM(o, sizeof("[REDACTED:pattern] a\0[REDACTED:pattern] secret") - 1,
              "[REDACTED:pattern] a\0[REDACTED:pattern] secret",
              sizeof("[REDACTED:pattern] a\0[REDACTED:pattern] secret") - 1);
    CHECK_INT(hits, 2);
    free(o);
    elaine_mask_free(m3);

    CASE("an invalid pattern is refused with regerror's message");
    err[0] = 0;
    CHECK(elaine_mask_add_pattern(m, "([a-z", err, sizeof(err)) < 0);
    CHECK(err[0] != 0);
    o = apply(m, "EMP-654321", 10, &hits); /* the mask still works */
    CHECK_STR(o, "[REDACTED:pattern]");
    free(o);
    elaine_mask_free(m);
    elaine_mask_free(NULL);
}

/* Hostile inputs stay linear: each is 1 MiB of one repeated piece. */
static void test_linear(void)
{
    static const char *const pieces[] = {
        "1 ", "sk-", "eyJ-", "github_pat_", "xoxb-", "AIza-", "a@", "@a.", "1.", "+1 ", "(12) ",
        "AB12 ", "-----BEGIN X PRIVATE KEY-----", "a.b-c_d%e+f", "4111 ", "DE89 3704 ",
    };
    size_t n = 1u << 20;
    char *s = malloc(n);
    CHECK(s != NULL);
    if (!s)
        return;
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        size_t pl = strlen(pieces[p]);
        for (size_t i = 0; i < n; i++)
            s[i] = pieces[p][i % pl];
        char name[80];
        snprintf(name, sizeof(name), "linear: %s", pieces[p]);
        CASE(name);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        elaine_buf b;
        elaine_buf_init(&b);
        elaine_mask_apply(NULL, &b, s, n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        CHECK(!b.oom);
        elaine_buf_free(&b);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        /* ~10 ms natively; a quadratic scan would take minutes. Loose for valgrind. */
        CHECK(ms < 20000);
    }
    CASE("throughput on prose");
    static const char prose[] = "The quick brown fox (id 12345) mailed the report to the team at 10:30, "
                                "see https://example.com/a?b=c; version 1.2.3, total 1 000 000.\n";
    for (size_t i = 0; i < n; i++)
        s[i] = prose[i % (sizeof(prose) - 1)];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    elaine_buf b;
    elaine_buf_init(&b);
    size_t hits = elaine_mask_apply(NULL, &b, s, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(hits, 0);
    CHECK(b.len == n && memcmp(b.p, s, n) == 0);
    elaine_buf_free(&b);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("test_mask: 1 MiB of prose masked in %.1f ms\n", ms);
    free(s);
}

int main(void)
{
    test_table();
    test_patterns();
    test_linear();
    return check_done("test_mask");
}
