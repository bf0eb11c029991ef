/* Is this LLM traffic? The host list (built-in plus ELAINE_HOSTS) and the known LLM paths. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shim.h"

static const char *const builtin_hosts[] = {
    "api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
    "*.openai.azure.com", "api.mistral.ai", "api.groq.com", "api.deepseek.com", "openrouter.ai",
    "api.together.xyz", "api.x.ai", "api.cohere.com", "api.cohere.ai", "api.fireworks.ai",
    "bedrock-runtime.*.amazonaws.com", "api.perplexity.ai", "aiplatform.googleapis.com",
    "*-aiplatform.googleapis.com", "localhost:11434", "127.0.0.1:11434", NULL,
};

struct pattern {
    char host[256];
    unsigned port; /* 0: any */
};

#define MAX_PATTERNS 128
static struct pattern patterns[MAX_PATTERNS];
static int npatterns = -1; /* -1: not loaded yet */

static void add_pattern(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (!n || npatterns >= MAX_PATTERNS || n >= sizeof(patterns[0].host))
        return;
    struct pattern *p = &patterns[npatterns];
    memcpy(p->host, s, n);
    p->host[n] = 0;
    p->port = 0;
    /* host:port, but not a bare IPv6 address ([::1]:8080 keeps its brackets). */
    char *colon = strrchr(p->host, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
        (p->host[0] == '[' || !memchr(p->host, ':', (size_t)(colon - p->host)))) {
        p->port = (unsigned)strtoul(colon + 1, NULL, 10);
        *colon = 0;
    }
    for (char *c = p->host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    npatterns++;
}

void elaine_match_init(void)
{
    npatterns = 0;
    const char *d = getenv("ELAINE_DEFAULT_HOSTS");
    if (!d || strcmp(d, "0") != 0)
        for (int i = 0; builtin_hosts[i]; i++)
            add_pattern(builtin_hosts[i], strlen(builtin_hosts[i]));
    const char *e = getenv("ELAINE_HOSTS");
    while (e && *e) {
        const char *comma = strchr(e, ',');
        size_t n = comma ? (size_t)(comma - e) : strlen(e);
        add_pattern(e, n);
        e = comma ? comma + 1 : NULL;
    }
}

int elaine_match_host(const char *host, unsigned port)
{
    if (npatterns < 0)
        elaine_match_init(); /* only when the constructor did not run (unit tests) */
    if (!host || !*host)
        return 0;
    for (int i = 0; i < npatterns; i++) {
        const struct pattern *p = &patterns[i];
        if (p->port && p->port != port)
            continue;
        if (strchr(p->host, '*') ? fnmatch(p->host, host, FNM_CASEFOLD) == 0
                                 : strcasecmp(p->host, host) == 0)
            return 1;
    }
    return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int contains(const char *s, size_t n, const char *needle)
{
    return memmem(s, n, needle, strlen(needle)) != NULL;
}

int elaine_match_path(const char *target, size_t len)
{
    static const char *const suffixes[] = {
        "/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages",
        "/v1/embeddings", "/api/chat", "/api/generate", "/api/embed", "/api/embeddings", NULL,
    };
    const char *q = memchr(target, '?', len);
    size_t n = q ? (size_t)(q - target) : len;
    for (int i = 0; suffixes[i]; i++)
        if (ends_with(target, n, suffixes[i]))
            return 1;
    if (contains(target, n, "/openai/deployments/") &&
        (ends_with(target, n, "/completions") || ends_with(target, n, "/embeddings")))
        return 1;
    return contains(target, n, ":generateContent") || contains(target, n, ":streamGenerateContent") ||
           contains(target, n, ":embedContent") || contains(target, n, ":batchEmbedContents");
}

int elaine_parse_request_head(const char *buf, size_t len, const char **target, size_t *target_len,
                              char *host, size_t host_size, unsigned *port)
{
    size_t i = 0;
    host[0] = 0;
    *port = 0;
    while (i < len && i < 16 && isupper((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= len || buf[i] != ' ')
        return 0;
    const char *t = buf + i + 1;
    const char *end = memchr(t, ' ', len - (size_t)(t - buf));
    if (!end)
        return 0;
    size_t rest = len - (size_t)(end - buf);
    if (rest < 9 || memcmp(end + 1, "HTTP/1.", 7) != 0)
        return 0;
    *target = t;
    *target_len = (size_t)(end - t);

    /* The Host header, within the first 16 KiB. */
    size_t lim = len < 16384 ? len : 16384;
    const char *p = memchr(buf, '\n', lim);
    while (p && (size_t)(p - buf) + 1 < lim) {
        const char *line = p + 1;
        size_t left = lim - (size_t)(line - buf);
        if (left && (line[0] == '\r' || line[0] == '\n'))
            break; /* end of head */
        if (left > 5 && strncasecmp(line, "host:", 5) == 0) {
            const char *v = line + 5;
            const char *e = line + left;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            size_t n = 0;
            while (v + n < e && v[n] != '\r' && v[n] != '\n' && v[n] != ' ')
                n++;
            /* host[:port], [v6]:port */
            const char *colon = NULL;
            if (n && v[0] == '[') {
                const char *rb = memchr(v, ']', n);
                if (rb && rb + 1 < v + n && rb[1] == ':')
                    colon = rb + 1;
            } else {
                colon = memchr(v, ':', n);
            }
            size_t hn = colon ? (size_t)(colon - v) : n;
            if (hn >= host_size)
                hn = host_size - 1;
            for (size_t k = 0; k < hn; k++)
                host[k] = (char)tolower((unsigned char)v[k]);
            host[hn] = 0;
            if (colon)
                *port = (unsigned)strtoul(colon + 1, NULL, 10);
            break;
        }
        p = memchr(line, '\n', left);
    }
    return 1;
}
