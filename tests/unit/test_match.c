/* The shim's matching: host list patterns, LLM paths, and the request-head parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static int failures;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static int path(const char *p)
{
    return elaine_match_path(p, strlen(p));
}

int main(void)
{
    setenv("ELAINE_HOSTS", "llm.internal, 10.0.0.5:8000,*.example.net,[::1]:9000", 1);
    unsetenv("ELAINE_DEFAULT_HOSTS");

    /* Built-in list. */
    CHECK(elaine_match_host("api.openai.com", 443));
    CHECK(elaine_match_host("API.OpenAI.com", 443));
    CHECK(elaine_match_host("myres.openai.azure.com", 443));
    CHECK(elaine_match_host("bedrock-runtime.us-east-1.amazonaws.com", 443));
    CHECK(elaine_match_host("localhost", 11434));
    CHECK(!elaine_match_host("localhost", 8443));
    CHECK(!elaine_match_host("openai.com", 443));
    CHECK(!elaine_match_host("api.openai.com.evil.org", 443));
    CHECK(!elaine_match_host("", 443));
    CHECK(!elaine_match_host(NULL, 443));
    /* ELAINE_HOSTS additions: host (any port), ip:port, *.suffix, [v6]:port. */
    CHECK(elaine_match_host("llm.internal", 1234));
    CHECK(elaine_match_host("10.0.0.5", 8000));
    CHECK(!elaine_match_host("10.0.0.5", 8001));
    CHECK(elaine_match_host("a.b.example.net", 443));
    CHECK(elaine_match_host("[::1]", 9000));

    /* Paths, with prefixes and query strings. */
    CHECK(path("/v1/chat/completions"));
    CHECK(path("/openai/deployments/gpt4/chat/completions?api-version=2024-02-01"));
    CHECK(path("/openai/deployments/emb/embeddings?api-version=2024-02-01"));
    CHECK(path("/api/v1/chat/completions"));
    CHECK(path("/v1/completions"));
    CHECK(path("/v1/responses"));
    CHECK(path("/v1/messages"));
    CHECK(path("/v1/embeddings"));
    CHECK(path("/api/chat"));
    CHECK(path("/api/generate"));
    CHECK(path("/v1beta/models/gemini-2.0-flash:generateContent"));
    CHECK(path("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"));
    CHECK(!path("/v1/models"));
    CHECK(!path("/api/messages/inbox"));
    CHECK(!path("/index.html"));
    CHECK(!path("/search?q=/v1/chat/completions"));

    /* Request heads. */
    const char *req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nUser-Agent: t\r\n"
                      "host:  LocalHost:8443\r\nContent-Length: 2\r\n\r\n{}";
    const char *target;
    size_t tlen;
    char host[256];
    unsigned port;
    CHECK(elaine_parse_request_head(req, strlen(req), &target, &tlen, host, sizeof(host), &port));
    CHECK(tlen == strlen("/v1/chat/completions?x=1") && memcmp(target, "/v1/chat/completions", 20) == 0);
    CHECK(strcmp(host, "localhost") == 0 && port == 8443);

    const char *v6 = "GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n";
    CHECK(elaine_parse_request_head(v6, strlen(v6), &target, &tlen, host, sizeof(host), &port));
    CHECK(strcmp(host, "[::1]") == 0 && port == 9000);

    const char *nohost = "GET /x HTTP/1.0\r\n\r\n";
    CHECK(elaine_parse_request_head(nohost, strlen(nohost), &target, &tlen, host, sizeof(host), &port));
    CHECK(host[0] == 0 && port == 0);

    const char *h2 = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    CHECK(!elaine_parse_request_head(h2, strlen(h2), &target, &tlen, host, sizeof(host), &port));
    CHECK(!elaine_parse_request_head("\x16\x03\x01", 3, &target, &tlen, host, sizeof(host), &port));
    CHECK(!elaine_parse_request_head("POST", 4, &target, &tlen, host, sizeof(host), &port));

    if (failures) {
        fprintf(stderr, "test_match: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_match: ok\n");
    return 0;
}
