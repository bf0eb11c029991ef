/* A minimal TLS client for the stack test (test_stack.sh): one POST
 * /v1/chat/completions to 127.0.0.1:PORT without certificate verification,
 * written by elaine_probe_chat_call so that the recorded stack names it.
 * Prints the response body; exit 0 when a whole 2xx response arrived.
 * --linger: then wait for EOF on stdin before exiting (the collector names a
 * stack from /proc/PID/maps, so a test keeps the process alive until its
 * record is written).
 * Usage: ssl_client PORT [--linger] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char body[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"stack probe\"}]}";

/* Writes the request (head and body in one SSL_write). 0, or -1. Not static,
 * never inlined: the frame the test looks for in the record's stack. */
__attribute__((noinline)) int elaine_probe_chat_call(SSL *ssl, int port)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:%d\r\n"
                     "Content-Type: application/json\r\nAuthorization: Bearer sk-stack-probe\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     port, sizeof(body) - 1, body);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -1;
    int w = SSL_write(ssl, req, n);
    return w == n ? 0 : -1;
}

/* Reads the response until its Content-Length is complete; prints the body.
 * 0 for a whole 2xx response, -1 otherwise. */
static int read_response(SSL *ssl)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return -1;
    long clen = -1;
    char *head_end = NULL;
    int rc = -1;
    for (;;) {
        if (head_end && clen >= 0 && len - (size_t)(head_end + 4 - buf) >= (size_t)clen)
            break;
        if (len == cap) {
            fprintf(stderr, "ssl_client: response larger than %zu bytes\n", cap);
            goto out;
        }
        int r = SSL_read(ssl, buf + len, (int)(cap - len));
        if (r <= 0) {
            fprintf(stderr, "ssl_client: SSL_read() failed: connection closed before the whole response\n");
            goto out;
        }
        len += (size_t)r;
        buf[len] = 0;
        if (!head_end && (head_end = strstr(buf, "\r\n\r\n"))) {
            for (char *p = strstr(buf, "\r\n"); p && p < head_end; p = strstr(p + 2, "\r\n"))
                if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                    clen = strtol(p + 17, NULL, 10);
            if (clen < 0) {
                fprintf(stderr, "ssl_client: response without Content-Length\n");
                goto out;
            }
        }
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status < 200 || status > 299)
        fprintf(stderr, "ssl_client: status %d\n", status);
    else
        rc = 0;
    fwrite(head_end + 4, 1, (size_t)clen, stdout);
    fputc('\n', stdout);
out:
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: ssl_client PORT [--linger]\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("ssl_client: connect() 127.0.0.1 failed");
        return 1;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    int rc = 1;
    if (!ssl)
        goto out;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
        fprintf(stderr, "ssl_client: SSL_connect() failed\n");
        ERR_print_errors_fp(stderr);
        goto out;
    }
    if (elaine_probe_chat_call(ssl, port) < 0) {
        fprintf(stderr, "ssl_client: SSL_write() failed\n");
        goto out;
    }
    rc = read_response(ssl) == 0 ? 0 : 1;
    SSL_shutdown(ssl);
    if (argc > 2 && strcmp(argv[2], "--linger") == 0) {
        char c;
        fflush(stdout);
        while (read(0, &c, 1) > 0)
            ;
    }
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return rc;
}
