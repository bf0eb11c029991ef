/* PII and secret masking for --content redacted: hand-written scanners for the
 * built-in kinds, POSIX extended regexes for the user's --redact-pattern.
 *
 * The built-in scan is one pass over the bytes. Most kinds are tried only at
 * the start of a word (the previous byte is not a letter or digit) and are
 * dispatched on the first byte, so ordinary prose costs a table lookup a
 * byte; an e-mail address is found from its '@'. Every scanner is a bounded
 * loop: no backtracking, nothing quadratic except a PEM block's END search,
 * which runs once per BEGIN line. Each kind is checked strictly enough to
 * leave look-alikes alone (see tests/unit/test_mask.c): cards pass Luhn and
 * IBANs mod 97, phone numbers need a '+' or phone-like grouping, and a match
 * must end at a word boundary. */
#include "elaine_mask.h"

#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mask_re {
    regex_t re;
} mask_re;

struct elaine_mask {
    mask_re *pats;
    size_t npats;
};

elaine_mask *elaine_mask_new(void)
{
    return calloc(1, sizeof(elaine_mask));
}

void elaine_mask_free(elaine_mask *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->npats; i++)
        regfree(&m->pats[i].re);
    free(m->pats);
    free(m);
}

int elaine_mask_add_pattern(elaine_mask *m, const char *regex, char *err, size_t errsize)
{
    mask_re *np = realloc(m->pats, (m->npats + 1) * sizeof(*np));
    if (!np)
        return -ENOMEM;
    m->pats = np;
    int rc = regcomp(&m->pats[m->npats].re, regex, REG_EXTENDED);
    if (rc != 0) {
        if (err && errsize)
            regerror(rc, &m->pats[m->npats].re, err, errsize);
        return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
    }
    m->npats++;
    return 0;
}

/* ---- byte classes ---- */

enum { C_DIGIT = 1, C_UPPER = 2, C_LOWER = 4, C_B64URL = 8, C_LOCAL = 16 };

static const unsigned char cls[256] = {
#define D (C_DIGIT | C_B64URL | C_LOCAL)
#define U (C_UPPER | C_B64URL | C_LOCAL)
#define L (C_LOWER | C_B64URL | C_LOCAL)
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D, ['6'] = D, ['7'] = D,
    ['8'] = D, ['9'] = D,
    ['A'] = U, ['B'] = U, ['C'] = U, ['D'] = U, ['E'] = U, ['F'] = U, ['G'] = U, ['H'] = U,
    ['I'] = U, ['J'] = U, ['K'] = U, ['L'] = U, ['M'] = U, ['N'] = U, ['O'] = U, ['P'] = U,
    ['Q'] = U, ['R'] = U, ['S'] = U, ['T'] = U, ['U'] = U, ['V'] = U, ['W'] = U, ['X'] = U,
    ['Y'] = U, ['Z'] = U,
    ['a'] = L, ['b'] = L, ['c'] = L, ['d'] = L, ['e'] = L, ['f'] = L, ['g'] = L, ['h'] = L,
    ['i'] = L, ['j'] = L, ['k'] = L, ['l'] = L, ['m'] = L, ['n'] = L, ['o'] = L, ['p'] = L,
    ['q'] = L, ['r'] = L, ['s'] = L, ['t'] = L, ['u'] = L, ['v'] = L, ['w'] = L, ['x'] = L,
    ['y'] = L, ['z'] = L,
    ['_'] = C_B64URL | C_LOCAL, ['-'] = C_B64URL | C_LOCAL, ['.'] = C_LOCAL, ['%'] = C_LOCAL,
    ['+'] = C_LOCAL,
#undef D
#undef U
#undef L
};

#define CL(c) cls[(unsigned char)(c)]
#define IS_DIGIT(c) (CL(c) & C_DIGIT)
#define IS_UPPER(c) (CL(c) & C_UPPER)
#define IS_ALPHA(c) (CL(c) & (C_UPPER | C_LOWER))
#define IS_ALNUM(c) (CL(c) & (C_DIGIT | C_UPPER | C_LOWER))
#define IS_B64URL(c) (CL(c) & C_B64URL)

/* s[i-1] is the letter of a JSON escape such as \n in text that is still
 * escaped (a raw event stream): it ends a word rather than joins one. */
static int after_escape(const char *s, size_t i)
{
    return i >= 2 && s[i - 2] == '\\' && memchr("ntrbf", s[i - 1], 5) && s[i - 1] &&
           !(i >= 3 && s[i - 3] == '\\');
}

/* A match may start at i: the byte before is no letter or digit (or ends an
 * escape), nor one of extra. */
static int starts_word(const char *s, size_t i, const char *extra)
{
    if (i == 0)
        return 1;
    char c = s[i - 1];
    if (IS_ALNUM(c))
        return after_escape(s, i);
    return c == 0 || !strchr(extra, c);
}

/* A match may end at e: the byte there is no letter or digit, nor one of
 * extra, nor a '.' or ',' that goes on with a digit (1.5, 1,000). */
static int ends_word(const char *s, size_t n, size_t e, const char *extra)
{
    if (e >= n)
        return 1;
    char c = s[e];
    if (IS_ALNUM(c) || (c && strchr(extra, c)))
        return 0;
    if ((c == '.' || c == ',') && e + 1 < n && IS_DIGIT(s[e + 1]))
        return 0;
    return 1;
}

/* ---- the kinds: each returns the match length at s[i..n), 0 for none ---- */

/* local@domain.tld, found from the '@' at a: *start receives the local part's
 * start (not before lo). The domain has two labels or more and an
 * alphabetic top-level label of two letters or more. */
static size_t email_at(const char *s, size_t n, size_t a, size_t lo, size_t *start)
{
    size_t b = a;
    while (b > lo && (CL(s[b - 1]) & C_LOCAL))
        b--;
    if (b > lo && b < a && after_escape(s, b + 1))
        b++;
    while (b < a && s[b] == '.')
        b++;
    if (b == a)
        return 0;
    size_t i = a + 1, labels = 0, last = 0, end = 0;
    for (;;) {
        size_t l = i;
        while (i < n && (IS_ALNUM(s[i]) || s[i] == '-'))
            i++;
        if (i == l || s[l] == '-' || s[i - 1] == '-')
            break;
        labels++;
        last = l;
        end = i;
        if (i + 1 < n && s[i] == '.' && IS_ALNUM(s[i + 1]))
            i++;
        else
            break;
    }
    if (labels < 2 || end - last < 2)
        return 0;
    for (size_t k = last; k < end; k++)
        if (!IS_ALPHA(s[k]))
            return 0;
    if (!ends_word(s, n, end, "_@-"))
        return 0;
    *start = b;
    return end - a;
}

static size_t run(const char *s, size_t n, size_t i, unsigned char mask)
{
    size_t j = i;
    while (j < n && (CL(s[j]) & mask))
        j++;
    return j - i;
}

/* sk-ant-... (Anthropic): twenty key characters or more. sk-... (OpenAI:
 * sk-proj-, sk-svcacct-, legacy): the same, and random-looking: a run of
 * sixteen letters and digits or forty characters in all, which names such
 * as sk-learn-model-selection-guide lack. */
static size_t sk_key_at(const char *s, size_t n, size_t i, const char **kind, size_t *seen)
{
    if (n - i < 3 || memcmp(s + i, "sk-", 3) != 0)
        return 0;
    size_t len = run(s, n, i + 3, C_B64URL);
    *seen = i + 3 + len;
    if (len < 20 || !ends_word(s, n, i + 3 + len, ""))
        return 0;
    size_t best = 0, cur = 0;
    for (size_t k = i + 3; k < i + 3 + len; k++) {
        cur = IS_ALNUM(s[k]) ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    int ant = len >= 24 && memcmp(s + i, "sk-ant-", 7) == 0;
    if (!ant && best < 16 && len < 40)
        return 0;
    *kind = ant ? "anthropic_key" : "openai_key";
    return 3 + len;
}

/* prefix and min..max characters of body. The run is read no further than
 * max + 1, so that a long run costs the same at each word start inside it. */
static size_t prefixed(const char *s, size_t n, size_t i, const char *prefix, unsigned char body,
                       size_t min, size_t max)
{
    size_t p = strlen(prefix);
    if (n - i < p || memcmp(s + i, prefix, p) != 0)
        return 0;
    size_t lim = n - (i + p) > max + 1 ? i + p + max + 1 : n;
    size_t len = run(s, lim, i + p, body);
    if (len < min || len > max || !ends_word(s, n, i + p + len, "_-"))
        return 0;
    return p + len;
}

static size_t google_key_at(const char *s, size_t n, size_t i)
{
    return prefixed(s, n, i, "AIza", C_B64URL, 35, 35);
}

static size_t aws_key_at(const char *s, size_t n, size_t i)
{
    size_t m = prefixed(s, n, i, "AKIA", C_UPPER | C_DIGIT, 16, 16);
    return m ? m : prefixed(s, n, i, "ASIA", C_UPPER | C_DIGIT, 16, 16);
}

static size_t github_at(const char *s, size_t n, size_t i, size_t *seen)
{
    static const char *const pre[] = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
    for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
        size_t m = prefixed(s, n, i, pre[k], C_UPPER | C_LOWER | C_DIGIT, 30, 251);
        if (m)
            return m;
    }
    if (n - i >= 11 && memcmp(s + i, "github_pat_", 11) == 0) {
        size_t len = run(s, n, i + 11, C_UPPER | C_LOWER | C_DIGIT | C_B64URL);
        *seen = i + 11 + len;
        if (len >= 22 && ends_word(s, n, i + 11 + len, ""))
            return 11 + len;
    }
    return 0;
}

static size_t slack_at(const char *s, size_t n, size_t i, size_t *seen)
{
    if (n - i < 5 || memcmp(s + i, "xox", 3) != 0 || !memchr("bpaesr", s[i + 3], 6) || !s[i + 3] ||
        s[i + 4] != '-')
        return 0;
    size_t len = run(s, n, i + 5, C_UPPER | C_LOWER | C_DIGIT | C_B64URL);
    *seen = i + 5 + len;
    if (len < 10 || !ends_word(s, n, i + 5 + len, ""))
        return 0;
    return 5 + len;
}

/* header.payload.signature, base64url, the header starting eyJ ('{"'). */
static size_t jwt_at(const char *s, size_t n, size_t i, size_t *seen)
{
    if (n - i < 3 || memcmp(s + i, "eyJ", 3) != 0 || (i > 0 && s[i - 1] == '.'))
        return 0;
    size_t a = run(s, n, i, C_B64URL);
    *seen = i + a;
    if (a < 10 || i + a >= n || s[i + a] != '.')
        return 0;
    size_t j = i + a + 1;
    size_t b = run(s, n, j, C_B64URL);
    if (b < 10 || j + b >= n || s[j + b] != '.')
        return 0;
    j += b + 1;
    j += run(s, n, j, C_B64URL);
    if (j < n && (s[j] == '.' || IS_B64URL(s[j])))
        return 0;
    return j - i;
}

/* -----BEGIN ...PRIVATE KEY...----- up to its END line, or to the end of the
 * text when that is missing (a body cut by --max-body). */
static size_t private_key_at(const char *s, size_t n, size_t i)
{
    static const char begin[] = "-----BEGIN ";
    if (n - i < sizeof(begin) - 1 || memcmp(s + i, begin, sizeof(begin) - 1) != 0)
        return 0;
    size_t l = i + sizeof(begin) - 1, e = l;
    while (e < n && e - l < 64 && (IS_UPPER(s[e]) || s[e] == ' '))
        e++;
    if (n - e < 5 || memcmp(s + e, "-----", 5) != 0 || e - l < 11 ||
        !memmem(s + l, e - l, "PRIVATE KEY", 11))
        return 0;
    char end[96];
    size_t elen = (size_t)(e - l) + 14;
    memcpy(end, "-----END ", 9);
    memcpy(end + 9, s + l, e - l);
    memcpy(end + 9 + (e - l), "-----", 5);
    const char *f = memmem(s + e + 5, n - e - 5, end, elen);
    return f ? (size_t)(f - s) + elen - i : n - i;
}

/* Digits and single separators from i: the digit groups, their count and
 * sizes (up to 8 kept), the separators seen. Stops before a separator that
 * no digit follows. */
typedef struct numrun {
    size_t end, digits, ngroups;
    size_t group[8];
    char seps[4]; /* distinct separators, NUL-terminated */
    int paren;    /* the first group was (ddd) */
} numrun;

static void add_sep(numrun *r, char c)
{
    size_t k = strlen(r->seps);
    if (!memchr(r->seps, c, k) && k < sizeof(r->seps) - 1) {
        r->seps[k] = c;
        r->seps[k + 1] = 0;
    }
}

static void num_run(const char *s, size_t n, size_t i, const char *sepset, numrun *r)
{
    memset(r, 0, sizeof(*r));
    size_t j = i;
    if (j < n && s[j] == '(') {
        size_t d = run(s, n, j + 1, C_DIGIT);
        if (d < 2 || d > 4 || j + 1 + d >= n || s[j + 1 + d] != ')')
            return;
        r->paren = 1;
        r->group[r->ngroups++] = d;
        r->digits = d;
        j += d + 2;
        r->end = j;
        if (j < n && s[j] == ' ')
            j++;
    }
    for (;;) {
        size_t d = run(s, n, j, C_DIGIT);
        if (d == 0)
            break;
        if (r->digits + d > 20) { /* too long for any kind: stop reading */
            r->digits += d;
            r->end = j + d;
            break;
        }
        if (r->ngroups < 8)
            r->group[r->ngroups] = d;
        r->ngroups++;
        r->digits += d;
        j += d;
        r->end = j;
        if (j + 1 < n && s[j] && strchr(sepset, s[j]) && IS_DIGIT(s[j + 1])) {
            add_sep(r, s[j]);
            j++;
        } else {
            break;
        }
    }
}

/* The issuer prefixes and lengths of the card networks (Visa, Mastercard,
 * Amex, Discover, JCB, Diners, UnionPay, Maestro): random 16-digit ids that
 * happen to pass Luhn mostly fail here. */
static int card_brand(const char *d, size_t len)
{
    int p2 = (d[0] - '0') * 10 + (d[1] - '0');
    int p3 = p2 * 10 + (d[2] - '0');
    int p4 = p3 * 10 + (d[3] - '0');
    switch (d[0]) {
    case '4': return len == 13 || len == 16 || len == 19;
    case '5': return (p2 >= 51 && p2 <= 55 && len == 16) || ((p2 == 50 || p2 >= 56) && len >= 12);
    case '2': return p4 >= 2221 && p4 <= 2720 && len == 16;
    case '3':
        return ((p2 == 34 || p2 == 37) && len == 15) || (p4 >= 3528 && p4 <= 3589 && len >= 16) ||
               ((p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) && len >= 14);
    case '6':
        return len >= 16 && (p4 == 6011 || p3 >= 644 || p2 == 65 || p2 == 62 || p2 == 67);
    default: return 0;
    }
}

static int luhn(const char *s, size_t i, size_t end)
{
    int sum = 0, dbl = 0;
    for (size_t k = end; k-- > i;) {
        if (!IS_DIGIT(s[k]))
            continue;
        int d = s[k] - '0';
        if (dbl && (d *= 2) > 9)
            d -= 9;
        sum += d;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

/* 13 to 19 digits, whole or in groups of four (4-6-5, 4-6-4: Amex, Diners)
 * split by one kind of ' ' or '-', a known first digit (2-6), Luhn valid. */
static size_t card_at(const char *s, size_t n, size_t i)
{
    if (s[i] < '2' || s[i] > '6')
        return 0;
    numrun r;
    num_run(s, n, i, " -", &r);
    if (r.digits < 13 || r.digits > 19 || strlen(r.seps) > 1 || r.ngroups > 5)
        return 0;
    if (r.ngroups > 1) {
        int fours = 1;
        for (size_t k = 0; k + 1 < r.ngroups; k++)
            fours &= r.group[k] == 4;
        fours &= r.group[r.ngroups - 1] >= 1 && r.group[r.ngroups - 1] <= 4;
        int amex = r.ngroups == 3 && r.group[0] == 4 && r.group[1] == 6 &&
                   (r.group[2] == 5 || r.group[2] == 4);
        if (!fours && !amex)
            return 0;
    }
    if (!ends_word(s, n, r.end, "_@/-") || !luhn(s, i, r.end))
        return 0;
    char d[20];
    size_t nd = 0;
    for (size_t k = i; k < r.end; k++)
        if (IS_DIGIT(s[k]))
            d[nd++] = s[k];
    return card_brand(d, nd) ? r.end - i : 0;
}

/* Four decimal octets 0-255 without leading zeros, not part of a longer
 * dotted number (1.2.3.4.5, a version or an OID). */
static size_t ipv4_at(const char *s, size_t n, size_t i)
{
    size_t j = i;
    for (int o = 0; o < 4; o++) {
        size_t d = run(s, n, j, C_DIGIT);
        if (d == 0 || d > 3 || (d > 1 && s[j] == '0'))
            return 0;
        int v = 0;
        for (size_t k = j; k < j + d; k++)
            v = v * 10 + (s[k] - '0');
        if (v > 255)
            return 0;
        j += d;
        if (o < 3) {
            if (j >= n || s[j] != '.')
                return 0;
            j++;
        }
    }
    if (j < n && (IS_ALNUM(s[j]) || s[j] == '_' ||
                  (s[j] == '.' && j + 1 < n && IS_DIGIT(s[j + 1]))))
        return 0;
    return j - i;
}

/* +CC and 8 to 15 digits in any grouping; or, without '+', 9 to 12 digits in
 * two groups or more of 2+ digits split by one kind of separator (a "(555) "
 * area code may come first), which is not a date (2024-01-15...) nor a
 * number in thousands (10 000 000). A bare run of digits is no phone number:
 * ids, timestamps and counts look just like that. */
static size_t phone_at(const char *s, size_t n, size_t i)
{
    numrun r;
    if (s[i] == '+') {
        if (i + 1 >= n || !IS_DIGIT(s[i + 1]))
            return 0;
        num_run(s, n, i + 1, " -.", &r);
        size_t end = r.end;
        /* +1 (555) 123-4567 */
        if (r.ngroups == 1 && r.group[0] <= 3 && end + 1 < n && s[end] == ' ' && s[end + 1] == '(') {
            numrun r2;
            num_run(s, n, end + 1, " -.", &r2);
            if (r2.paren && r2.ngroups > 1) {
                r.digits += r2.digits;
                end = r2.end;
            }
        }
        int thousands = r.ngroups >= 3 && !strchr(r.seps, '-');
        for (size_t k = 1; k < r.ngroups && k < 8; k++)
            thousands &= r.group[k] == 3;
        if (r.digits < 8 || r.digits > 15 || thousands || !ends_word(s, n, end, "_@/-"))
            return 0;
        return end - i;
    }
    num_run(s, n, i, " -.", &r);
    if (r.digits < 9 || r.digits > 12 || r.ngroups < 2 || r.ngroups > 8)
        return 0;
    size_t nsep = strlen(r.seps);
    if (nsep > 1 || (nsep == 0 && !r.paren))
        return 0;
    for (size_t k = 1; k < r.ngroups; k++)
        if (r.group[k] < 2 || r.group[k] > 8)
            return 0;
    if (!r.paren && (r.group[0] > 5 || (r.group[0] < 2 && r.ngroups < 4)))
        return 0;
    if (r.group[0] == 4 && r.group[1] == 2 && (s[i] == '1' || s[i] == '2'))
        return 0; /* 2024-01-15 10... */
    int thousands = 1;
    for (size_t k = 1; k < r.ngroups; k++)
        thousands &= r.group[k] == 3;
    if (thousands && r.seps[0] != '-')
        return 0;
    if (!ends_word(s, n, r.end, "_@/-"))
        return 0;
    return r.end - i;
}

static int iban_mod97(const char *s, size_t i, size_t end)
{
    /* the first four characters go last; letters count as 10..35 */
    unsigned rem = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t from = pass == 0 ? i + 4 : i, to = pass == 0 ? end : i + 4;
        for (size_t k = from; k < to; k++) {
            char c = s[k];
            if (c == ' ')
                continue;
            if (IS_DIGIT(c))
                rem = (rem * 10 + (unsigned)(c - '0')) % 97;
            else
                rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
        }
    }
    return rem == 1;
}

/* CCdd then 11 to 30 letters and digits, whole or in groups of four split
 * by single spaces (the last group 1-4); the mod-97 check must hold. */
static size_t iban_at(const char *s, size_t n, size_t i)
{
    if (n - i < 15 || !IS_UPPER(s[i]) || !IS_UPPER(s[i + 1]) || !IS_DIGIT(s[i + 2]) ||
        !IS_DIGIT(s[i + 3]))
        return 0;
    size_t whole = run(s, n, i, C_UPPER | C_DIGIT);
    if (whole >= 15 && whole <= 34) {
        if (ends_word(s, n, i + whole, "_-") && iban_mod97(s, i, i + whole))
            return whole;
        if (whole > 4)
            return 0;
    }
    if (whole != 4)
        return 0;
    /* grouped: try the longest candidate first */
    size_t ends[9], nends = 0, j = i + 4, len = 4;
    while (nends < 9 && j + 1 < n && s[j] == ' ') {
        size_t g = run(s, n, j + 1, C_UPPER | C_DIGIT);
        if (g == 0 || g > 4)
            break;
        j += 1 + g;
        len += g;
        if (len > 34)
            break;
        if (len >= 15)
            ends[nends++] = j;
        if (g < 4)
            break;
    }
    while (nends--) {
        size_t e = ends[nends];
        if (ends_word(s, n, e, "_-") && iban_mod97(s, i, e))
            return e - i;
    }
    return 0;
}

/* ---- the scan ---- */

static void emit(elaine_buf *out, const char *kind)
{
    elaine_buf_adds(out, ELAINE_MASK_PREFIX);
    elaine_buf_adds(out, kind);
    elaine_buf_addc(out, ']');
}

/* The built-in kinds over s[0..n): appends to out, returns the count. */
static size_t scan(elaine_buf *out, const char *s, size_t n)
{
    size_t i = 0, copied = 0, hits = 0;
    /* A token scanner that failed read its run of key characters to seen[]:
     * a later start inside that run ends at the same place and fails too,
     * so it is not tried again (sk-sk-sk-... stays linear). */
    size_t seen_sk = 0, seen_jwt = 0, seen_gh = 0, seen_slack = 0;
    while (i < n) {
        char c = s[i];
        const char *kind = NULL;
        size_t m = 0, start = i;
        if (c == '@') {
            m = email_at(s, n, i, copied, &start);
            if (m) {
                kind = "email";
                m += i - start;
            }
        } else if (c == '-') {
            if ((m = private_key_at(s, n, i)))
                kind = "private_key";
        } else if (IS_ALNUM(c) || c == '+' || c == '(') {
            if (!starts_word(s, i, "")) {
                i++;
                continue;
            }
            if (IS_DIGIT(c)) {
                /* not the middle of a longer number: "4111 1111 1111 111" */
                int inside = i >= 2 && (s[i - 1] == ' ' || s[i - 1] == '-') && IS_DIGIT(s[i - 2]);
                if (starts_word(s, i, "._-#$\\") && (m = ipv4_at(s, n, i)))
                    kind = "ipv4";
                else if (!inside && starts_word(s, i, "._-/@#$\\+") && (m = card_at(s, n, i)))
                    kind = "card";
                else if (!inside && starts_word(s, i, "._-/@#$\\+") && (m = phone_at(s, n, i)))
                    kind = "phone";
            } else if (c == '+' || c == '(') {
                if (starts_word(s, i, "._-/@#$\\+)") && (m = phone_at(s, n, i)))
                    kind = "phone";
            } else {
                switch (c) {
                case 's':
                    if (i >= seen_sk)
                        m = sk_key_at(s, n, i, &kind, &seen_sk);
                    break;
                case 'e':
                    if (i >= seen_jwt && (m = jwt_at(s, n, i, &seen_jwt)))
                        kind = "jwt";
                    break;
                case 'g':
                    if (i >= seen_gh && (m = github_at(s, n, i, &seen_gh)))
                        kind = "github_token";
                    break;
                case 'x':
                    if (i >= seen_slack && (m = slack_at(s, n, i, &seen_slack)))
                        kind = "slack_token";
                    break;
                case 'A':
                    if ((m = google_key_at(s, n, i)))
                        kind = "google_key";
                    else if ((m = aws_key_at(s, n, i)))
                        kind = "aws_key";
                    break;
                default: break;
                }
                if (!m && IS_UPPER(c) && starts_word(s, i, "_-") && (m = iban_at(s, n, i)))
                    kind = "iban";
            }
        }
        if (!m) {
            i++;
            continue;
        }
        elaine_buf_add(out, s + copied, start - copied);
        emit(out, kind);
        hits++;
        i = start + m;
        copied = i;
    }
    elaine_buf_add(out, s + copied, n - copied);
    return hits;
}

typedef struct span {
    size_t so, eo;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->so < y->so ? -1 : x->so > y->so ? 1 : x->eo > y->eo ? -1 : x->eo < y->eo;
}

/* Matches of every user pattern in s[0..n), sorted, overlaps merged. -ENOMEM or the count. */
static long user_spans(const elaine_mask *m, const char *s, size_t n, span **out)
{
    span *v = NULL;
    size_t nv = 0, cap = 0;
    for (size_t p = 0; p < m->npats; p++) {
        size_t off = 0;
        while (off <= n) {
            regmatch_t rm[1];
            rm[0].rm_so = (regoff_t)off;
            rm[0].rm_eo = (regoff_t)n;
            if (regexec(&m->pats[p].re, s, 1, rm, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
                break;
            size_t so = (size_t)rm[0].rm_so, eo = (size_t)rm[0].rm_eo;
            if (eo > so) {
                if (nv == cap) {
                    cap = cap ? cap * 2 : 8;
                    span *nvv = realloc(v, cap * sizeof(*v));
                    if (!nvv) {
                        free(v);
                        return -ENOMEM;
                    }
                    v = nvv;
                }
                v[nv++] = (span){so, eo};
                off = eo;
            } else {
                off = eo + 1; /* an empty match: move on */
            }
        }
    }
    if (nv > 1) {
        qsort(v, nv, sizeof(*v), span_cmp);
        size_t k = 0;
        for (size_t i = 1; i < nv; i++) {
            if (v[i].so < v[k].eo) {
                if (v[i].eo > v[k].eo)
                    v[k].eo = v[i].eo;
            } else {
                v[++k] = v[i];
            }
        }
        nv = k + 1;
    }
    *out = v;
    return (long)nv;
}

size_t elaine_mask_apply(const elaine_mask *m, elaine_buf *out, const char *s, size_t n)
{
    if (!m || m->npats == 0)
        return scan(out, s, n);
    span *v = NULL;
    long nv = user_spans(m, s, n, &v);
    if (nv < 0) {
        out->oom = 1; /* the text is not written unmasked */
        return 0;
    }
    size_t hits = 0, at = 0;
    for (long k = 0; k < nv; k++) {
        hits += scan(out, s + at, v[k].so - at);
        emit(out, "pattern");
        hits++;
        at = v[k].eo;
    }
    hits += scan(out, s + at, n - at);
    free(v);
    return hits;
}
