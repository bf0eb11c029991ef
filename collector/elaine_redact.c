/* Credentials never reach disk: which headers and URL parameters are secret. */
#include "elaine_redact.h"

#include <string.h>
#include <strings.h>

/* With their lengths: every header name of every record is checked. */
#define NAME(s) {s, sizeof(s) - 1}
static const struct {
    const char *s;
    size_t n;
} secret_headers[] = {
    NAME("authorization"), NAME("proxy-authorization"), NAME("x-api-key"), NAME("api-key"),
    NAME("x-goog-api-key"), NAME("cookie"), NAME("set-cookie"),
};
#undef NAME

static const char *const secret_params[] = {
    "key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature", "code",
};

int elaine_redact_header(const char *lower_name)
{
    if (!lower_name)
        return 0;
    size_t n = strlen(lower_name);
    for (size_t i = 0; i < sizeof(secret_headers) / sizeof(secret_headers[0]); i++)
        if (secret_headers[i].n == n && strcasecmp(lower_name, secret_headers[i].s) == 0)
            return 1;
    return 0;
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
