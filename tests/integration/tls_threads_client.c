/* A TLS client of our own, with threads and fork, for test_native_threads.sh:
 * the one client that a ThreadSanitizer build can preload its shim into
 * (build-tsan: this client is built with -fsanitize=thread too).
 *
 * THREADS threads start together (a barrier), each on its own keep-alive
 * connection to 127.0.0.1:PORT (no certificate check), and make CALLS POST
 * /v1/chat/completions, alternating JSON and SSE (stream with include_usage).
 * With --fork the main thread forks while they are in flight; the child makes
 * CALLS calls of its own on a new connection, from one thread, and exits.
 * --fork-exec: the child execs this client instead (1 thread, CALLS calls):
 * for ThreadSanitizer, whose runtime may deadlock in a child that allocates
 * after a fork of a multi-threaded process (its allocator is not locked
 * across fork() in GCC 12's libtsan).
 * The user text of each call is "native <pid> t<thread> c<call>"; a line
 * "<text> <json|sse>" per call is printed once its whole reply arrived.
 * Exit 0 when every call got a whole 200 response with its echo.
 * --linger: then wait for EOF on stdin before exiting (the shim's sender may
 * still be resending after a collector restart).
 * Usage: tls_threads_client PORT THREADS CALLS [--fork | --fork-exec] [--linger] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int port;
static int calls;
static SSL_CTX *ctx;
static pthread_barrier_t start;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct conn {
    int fd;
    SSL *ssl;
};

static int conn_open(struct conn *c)
{
    c->ssl = NULL;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("tls_threads_client: connect() 127.0.0.1 failed");
        return -1;
    }
    c->ssl = SSL_new(ctx);
    if (!c->ssl)
        return -1;
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1) {
        fprintf(stderr, "tls_threads_client: SSL_connect() failed\n");
        return -1;
    }
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
}

/* Reads one response (Content-Length or chunked) into buf (NUL-terminated,
 * the body de-chunked from *body on). 0 for a whole 200 response, else -1. */
static int read_response(SSL *ssl, char *buf, size_t cap, char **body)
{
    size_t len = 0;
    char *head_end = NULL;
    long clen = -1;
    int chunked = 0;
    size_t pos = 0, out = 0; /* chunked: parse position and de-chunked end, past the head */
    for (;;) {
        if (head_end) {
            size_t hl = (size_t)(head_end + 4 - buf);
            if (!chunked && len - hl >= (size_t)clen) {
                buf[hl + (size_t)clen] = 0;
                break;
            }
            if (chunked) {
                /* de-chunk in place what has arrived: size line, data, CRLF */
                int done = 0;
                for (;;) {
                    char *p = buf + hl + pos, *eol = memmem(p, len - hl - pos, "\r\n", 2);
                    if (!eol)
                        break;
                    size_t n = strtoul(p, NULL, 16);
                    size_t need = (size_t)(eol + 2 - p) + n + 2;
                    if (len - hl - pos < need)
                        break;
                    memmove(buf + hl + out, eol + 2, n);
                    out += n;
                    pos += need;
                    if (n == 0) {
                        done = 1;
                        break;
                    }
                }
                if (done) {
                    buf[hl + out] = 0;
                    break;
                }
            }
        }
        if (len == cap) {
            fprintf(stderr, "tls_threads_client: response larger than %zu bytes\n", cap);
            return -1;
        }
        int r = SSL_read(ssl, buf + len, (int)(cap - len));
        if (r <= 0) {
            fprintf(stderr, "tls_threads_client: connection closed before the whole response\n");
            return -1;
        }
        len += (size_t)r;
        if (!head_end) {
            buf[len] = 0;
            if ((head_end = strstr(buf, "\r\n\r\n"))) {
                for (char *p = strstr(buf, "\r\n"); p && p < head_end; p = strstr(p + 2, "\r\n")) {
                    if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                        clen = strtol(p + 17, NULL, 10);
                    if (strncasecmp(p + 2, "Transfer-Encoding: chunked", 26) == 0)
                        chunked = 1;
                }
                if (clen < 0 && !chunked) {
                    fprintf(stderr, "tls_threads_client: response without Content-Length\n");
                    return -1;
                }
            }
        }
    }
    *body = head_end + 4;
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
        fprintf(stderr, "tls_threads_client: status %d\n", status);
        return -1;
    }
    return 0;
}

/* One call on c; 0 when its reply is whole and right. */
static int chat(struct conn *c, const char *text, int stream)
{
    char body[512], req[1024];
    int bn = snprintf(body, sizeof(body),
                      "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]%s}",
                      text, stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "");
    int n = snprintf(req, sizeof(req),
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:%d\r\n"
                     "Content-Type: application/json\r\nAuthorization: Bearer sk-native-threads\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     port, bn, body);
    if (SSL_write(c->ssl, req, n) != n) {
        fprintf(stderr, "tls_threads_client: SSL_write() failed\n");
        return -1;
    }
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1), *reply;
    if (!buf)
        return -1;
    int rc = read_response(c->ssl, buf, cap, &reply);
    if (rc == 0) {
        char want[300];
        snprintf(want, sizeof(want), "%s", stream ? "data: [DONE]" : "Echo: ");
        if (!strstr(reply, want) || (!stream && !strstr(reply, text))) {
            fprintf(stderr, "tls_threads_client: unexpected reply to %s: %.300s\n", text, reply);
            rc = -1;
        }
    }
    free(buf);
    if (rc == 0) {
        pthread_mutex_lock(&out_lock);
        printf("%s %s\n", text, stream ? "sse" : "json");
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
    }
    return rc;
}

/* Makes the calls of thread no on one connection; returns the failures. */
static int calls_of(int no)
{
    struct conn c;
    int fails = 0;
    if (conn_open(&c) < 0) {
        ERR_print_errors_fp(stderr);
        conn_close(&c);
        return calls;
    }
    for (int i = 0; i < calls; i++) {
        char text[64];
        snprintf(text, sizeof(text), "native %d t%d c%d", (int)getpid(), no, i);
        if (chat(&c, text, i % 2) < 0) {
            fails += calls - i;
            break;
        }
    }
    conn_close(&c);
    return fails;
}

static void *worker(void *arg)
{
    int no = (int)(long)arg;
    pthread_barrier_wait(&start);
    return (void *)(long)calls_of(no);
}

int main(int argc, char **argv)
{
    port = argc > 3 ? atoi(argv[1]) : 0;
    int threads = argc > 3 ? atoi(argv[2]) : 0;
    calls = argc > 3 ? atoi(argv[3]) : 0;
    int fork_exec = 0, do_fork = 0, linger = 0, bad = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--fork-exec") == 0)
            do_fork = fork_exec = 1;
        else if (strcmp(argv[i], "--fork") == 0)
            do_fork = 1;
        else if (strcmp(argv[i], "--linger") == 0)
            linger = 1;
        else
            bad = 1;
    }
    if (bad || port <= 0 || port > 65535 || threads < 1 || threads > 64 || calls < 1) {
        fprintf(stderr, "usage: tls_threads_client PORT THREADS CALLS [--fork | --fork-exec] [--linger]\n");
        return 2;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return 1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_t tids[64];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[i], NULL, worker, (void *)(long)i) != 0) {
            fprintf(stderr, "tls_threads_client: pthread_create failed\n");
            return 1;
        }
    pthread_barrier_wait(&start);
    int fails = 0;
    if (do_fork) {
        usleep(20000); /* the threads are in their first calls */
        pid_t child = fork();
        if (child < 0) {
            perror("tls_threads_client: fork");
            fails++;
        } else if (child == 0) {
            if (fork_exec) {
                execl("/proc/self/exe", argv[0], argv[1], "1", argv[3], (char *)NULL);
                _exit(127);
            }
            int f = calls_of(threads);
            SSL_CTX_free(ctx);
            exit(f ? 1 : 0);
        } else {
            int st;
            if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "tls_threads_client: the child failed (status 0x%x)\n", st);
                fails++;
            }
        }
    }
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(tids[i], &r);
        fails += (int)(long)r;
    }
    pthread_barrier_destroy(&start);
    SSL_CTX_free(ctx);
    if (fails)
        fprintf(stderr, "tls_threads_client: %d calls failed\n", fails);
    if (linger) {
        char c;
        while (read(0, &c, 1) > 0)
            ;
    }
    return fails ? 1 : 0;
}
