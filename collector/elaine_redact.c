/* Credentials never reach disk: which headers and URL parameters are secret. */
#include "elaine_redact.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ASCII lower case; other bytes as they are (strcasecmp in the C locale). */
static inline unsigned char lc(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* The bytes of w with ASCII capitals lower-cased (as lc() does each). */
static inline uint64_t lc8(uint64_t w)
{
    const uint64_t hi = 0x8080808080808080ull;
    uint64_t low7 = w & ~hi;
    uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3full; /* bit 7: the low 7 bits >= 'A' */
    uint64_t gt_z = low7 + 0x2525252525252525ull; /* bit 7: the low 7 bits > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~w & hi;      /* and the byte below 0x80 */
    return w | upper >> 2;
}

static inline uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t load4(const char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* name[0..n) equal to the lower-case lit[0..n), ASCII case ignored; 4 <= n:
 * 8 (or 4) bytes at a time, the last ones overlapping. */
static int same_lc(const char *name, const char *lit, size_t n)
{
    if (n < 8)
        return lc8(load4(name)) == load4(lit) && lc8(load4(name + n - 4)) == load4(lit + n - 4);
    for (size_t i = 0; i + 8 <= n; i += 8)
        if (lc8(load8(name + i)) != load8(lit + i))
            return 0;
    return lc8(load8(name + n - 8)) == load8(lit + n - 8);
}

static const char *const secret_params[] = {
    "key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature", "code",
};

/* Every header name of every record is checked: told apart by length and
 * first byte, compared in full only then. The names, by length: cookie (6),
 * api-key (7), x-api-key (9), set-cookie (10), authorization (13),
 * x-goog-api-key (14), proxy-authorization (19). */
int elaine_redact_headern(const char *name, size_t n)
{
    const char *lit;
    switch (n) {
    case 6: lit = "cookie"; break;
    case 7: lit = "api-key"; break;
    case 9: lit = "x-api-key"; break;
    case 10: lit = "set-cookie"; break;
    case 13: lit = "authorization"; break;
    case 14: lit = "x-goog-api-key"; break;
    case 19: lit = "proxy-authorization"; break;
    default: return 0;
    }
    return lc((unsigned char)name[0]) == (unsigned char)lit[0] && same_lc(name, lit, n);
}

int elaine_redact_header(const char *lower_name)
{
    if (!lower_name)
        return 0;
    return elaine_redact_headern(lower_name, strlen(lower_name));
}

static int secret_param(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(secret_params) / sizeof(secret_params[0]); i++)
        if (strlen(secret_params[i]) == n && strncasecmp(name, secret_params[i], n) == 0)
            return 1;
    return 0;
}

/* Absolute-form targets ("http://user:pass@host/..."): the userinfo is a
 * credential too. Appends the target up to the authority's end and returns
 * where the rest starts. */
static const char *authority(elaine_buf *out, const char *t)
{
    const char *sep = strstr(t, "://");
    if (!sep || t[0] == '/')
        return t;
    for (const char *c = t; c < sep; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '+' ||
              *c == '-' || *c == '.'))
            return t;
    const char *host = sep + 3;
    size_t alen = strcspn(host, "/?#");
    const char *at = memrchr(host, '@', alen);
    if (!at)
        return t;
    elaine_buf_add(out, t, (size_t)(host - t));
    elaine_buf_adds(out, ELAINE_REDACTED);
    return at; /* "@host..." follows */
}

void elaine_redact_target(elaine_buf *out, const char *target)
{
    if (!target)
        return;
    const char *t = authority(out, target);
    const char *q = strchr(t, '?');
    size_t pre = q ? (size_t)(q - t) : strlen(t);
    const char *hash = memchr(t, '#', pre);
    if (!q || hash) {
        elaine_buf_adds(out, t);
        return;
    }
    elaine_buf_add(out, t, pre + 1);
    const char *p = q + 1;
    for (;;) {
        size_t plen = strcspn(p, "&#");
        const char *eq = memchr(p, '=', plen);
        if (eq && secret_param(p, (size_t)(eq - p)) && eq + 1 < p + plen) {
            elaine_buf_add(out, p, (size_t)(eq - p) + 1);
            elaine_buf_adds(out, ELAINE_REDACTED);
        } else {
            elaine_buf_add(out, p, plen);
        }
        p += plen;
        if (*p != '&') {
            elaine_buf_adds(out, p); /* end, or "#fragment" kept as is */
            return;
        }
        elaine_buf_addc(out, '&');
        p++;
    }
}
