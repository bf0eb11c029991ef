/* elaine_tls_client: a sequential keep-alive HTTPS client for the benchmarks:
 * N requests on one TLS connection to 127.0.0.1:PORT, each one SSL_write of
 * the request and SSL_read until the Content-Length is complete (wrk's way).
 * Built for callgrind (a fixed amount of work, so instruction counts with and
 * without the shim compare exactly) and as a C cross-check of latency.
 *
 *   elaine_tls_client PORT PATH N [--post] [--warmup W]
 *
 * --post: POST a chat-completion body (the captured path); else GET.
 * Prints: requests=N median_us=.. p90_us=.. p99_us=.. mean_us=.. maxrss_kib=.. (VmHWM)
 * Exit 0 when every response was a whole 200. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char body[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful "
    "assistant.\"},{\"role\":\"user\",\"content\":\"What is the weather like in Paris today?\"}]}";

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads one response (head + Content-Length body). 0, or -1. */
static int read_response(SSL *ssl, char *buf, size_t cap)
{
    size_t len = 0;
    long clen = -1;
    char *head_end = NULL;
    for (;;) {
        if (head_end && clen >= 0 && len - (size_t)(head_end + 4 - buf) >= (size_t)clen)
            break;
        if (len == cap)
            return -1;
        int r = SSL_read(ssl, buf + len, (int)(cap - len));
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = 0;
        if (!head_end && (head_end = strstr(buf, "\r\n\r\n"))) {
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
                return -1;
            for (char *p = buf; p < head_end; p = strstr(p, "\r\n") + 2)
                if (strncasecmp(p, "content-length:", 15) == 0)
                    clen = atol(p + 15);
            if (clen < 0)
                return -1;
        }
    }
    return len - (size_t)(head_end + 4 - buf) == (size_t)clen ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: elaine_tls_client PORT PATH N [--post] [--warmup W]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *path = argv[2];
    long n = atol(argv[3]), warmup = 0;
    int post = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--post") == 0)
            post = 1;
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atol(argv[++i]);
    }
    char req[2048];
    int rn = post ? snprintf(req, sizeof(req),
                             "POST %s HTTP/1.1\r\nHost: localhost:%d\r\nContent-Type: application/json\r\n"
                             "Authorization: Bearer sk-bench\r\nContent-Length: %zu\r\n\r\n%s",
                             path, port, sizeof(body) - 1, body)
                  : snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", path, port);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return 1;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
        fprintf(stderr, "elaine_tls_client: handshake failed\n");
        return 1;
    }
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1);
    double *lat = calloc((size_t)n, sizeof(double));
    for (long i = 0; i < warmup + n; i++) {
        double t0 = now_us();
        if (SSL_write(ssl, req, rn) != rn || read_response(ssl, buf, cap) < 0) {
            fprintf(stderr, "elaine_tls_client: request %ld failed\n", i);
            return 1;
        }
        if (i >= warmup)
            lat[i - warmup] = now_us() - t0;
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += lat[i];
    qsort(lat, (size_t)n, sizeof(double), cmp_d);
    /* Peak RSS of this program: VmHWM belongs to this exec's memory, while
     * ru_maxrss carries the parent's peak across a vfork + exec. */
    long hwm = -1;
    char line[256];
    FILE *st = fopen("/proc/self/status", "r");
    while (st && fgets(line, sizeof(line), st))
        if (sscanf(line, "VmHWM: %ld kB", &hwm) == 1)
            break;
    if (st)
        fclose(st);
    printf("requests=%ld median_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f maxrss_kib=%ld\n", n,
           lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], sum / (double)n, hwm);
    free(lat);
    free(buf);
    return 0;
}
