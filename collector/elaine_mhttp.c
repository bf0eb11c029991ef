/* The collector's /metrics endpoint: see elaine_mhttp.h. */
#include "elaine_mhttp.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 16       /* scrapers at once; more are closed at accept */
#define HEAD_MAX 4096      /* a request head longer than this is refused */
#define CONN_TIMEOUT_MS 5000

typedef struct mconn {
    int kind; /* first: the epoll tag */
    struct mconn *next;
    int fd;
    char in[HEAD_MAX];
    size_t inlen;
    elaine_buf out; /* the whole answer once the head is in */
    size_t off;
    int answering;
    uint64_t since_ms;
} mconn;

struct elaine_mhttp {
    int kind; /* first: the listening socket's epoll tag */
    int kind_conn;
    int fd, epfd;
    mconn *conns;
    size_t nconns;
    elaine_mhttp_render render;
    void *ud;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* host and port of addr into the buffers: "h:p", "[h]:p", ":p" (host ""). 0 or -1. */
static int split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        hl = (size_t)(close - addr - 1);
        colon = close + 1;
        addr++;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - addr);
    }
    size_t pl = strlen(colon + 1);
    if (hl >= hsize || pl == 0 || pl >= psize || strspn(colon + 1, "0123456789") != pl)
        return -1;
    memcpy(host, addr, hl);
    host[hl] = 0;
    memcpy(port, colon + 1, pl + 1);
    return 0;
}

int elaine_mhttp_open(elaine_mhttp **out, const char *addr, int epfd, int kind_listen, int kind_conn,
                      elaine_mhttp_render render, void *ud, char *err, size_t errsize)
{
    *out = NULL;
    char host[256], port[16];
    if (split_addr(addr, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errsize, "--metrics \"%s\": not HOST:PORT", addr);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int grc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (grc != 0) {
        snprintf(err, errsize, "--metrics \"%s\": %s", addr, gai_strerror(grc));
        return -EINVAL;
    }
    int fd = -1, rc = -EADDRNOTAVAIL;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, MAX_CONNS) < 0) {
            rc = -errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        snprintf(err, errsize, "--metrics \"%s\": bind() failed: %s", addr, strerror(-rc));
        return rc;
    }
    elaine_mhttp *h = calloc(1, sizeof(*h));
    if (!h) {
        close(fd);
        snprintf(err, errsize, "out of memory");
        return -ENOMEM;
    }
    h->kind = kind_listen;
    h->kind_conn = kind_conn;
    h->fd = fd;
    h->epfd = epfd;
    h->render = render;
    h->ud = ud;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        rc = -errno;
        snprintf(err, errsize, "epoll_ctl() failed: %s", strerror(errno));
        close(fd);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

static void conn_close(elaine_mhttp *h, mconn *c)
{
    for (mconn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    h->nconns--;
    /* what the peer sent and we did not read would turn the close into a
     * reset, which can reach it before our answer does */
    char drain[4096];
    for (int i = 0; i < 16 && recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd); /* (also takes it out of the epoll set) */
    elaine_buf_free(&c->out);
    free(c);
}

static void do_accept(elaine_mhttp *h)
{
    for (;;) {
        int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an error that the next event retries */
        mconn *c = h->nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        c->kind = h->kind_conn;
        c->fd = fd;
        c->since_ms = mono_ms();
        elaine_buf_init(&c->out);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = h->conns;
        h->conns = c;
        h->nconns++;
    }
}

static void answer(mconn *c, int status, const char *reason, int head_only, const char *type,
                   const char *extra, const elaine_buf *body)
{
    size_t len = body && body->p ? body->len : 0;
    elaine_buf_addf(&c->out,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                    status, reason, type, len, extra ? extra : "");
    if (!head_only && len)
        elaine_buf_add(&c->out, body->p, len);
    c->answering = 1;
}

/* The head is in: what it asks for, answered into c->out. */
static void respond(elaine_mhttp *h, mconn *c)
{
    const char *sp = memchr(c->in, ' ', c->inlen);
    size_t ml = sp ? (size_t)(sp - c->in) : 0;
    int get = ml == 3 && memcmp(c->in, "GET", 3) == 0, head = ml == 4 && memcmp(c->in, "HEAD", 4) == 0;
    const char *text = "text/plain; charset=utf-8";
    elaine_buf body;
    elaine_buf_init(&body);
    if (!sp) {
        elaine_buf_adds(&body, "bad request\n");
        answer(c, 400, "Bad Request", 0, text, NULL, &body);
    } else if (!get && !head) {
        elaine_buf_adds(&body, "only GET and HEAD\n");
        answer(c, 405, "Method Not Allowed", 0, text, "Allow: GET, HEAD\r\n", &body);
    } else {
        const char *t = sp + 1, *end = c->in + c->inlen;
        size_t tl = 0;
        while (t + tl < end && t[tl] != ' ' && t[tl] != '?' && t[tl] != '\r' && t[tl] != '\n')
            tl++;
        if (tl == 8 && memcmp(t, "/metrics", 8) == 0) {
            h->render(h->ud, &body);
            if (body.oom)
                answer(c, 500, "Internal Server Error", head, text, NULL, NULL);
            else
                answer(c, 200, "OK", head, "text/plain; version=0.0.4; charset=utf-8", NULL, &body);
        } else {
            elaine_buf_adds(&body, "not found: the metrics are at /metrics\n");
            answer(c, 404, "Not Found", head, text, NULL, &body);
        }
    }
    elaine_buf_free(&body);
}

/* Writes what is left of the answer; closes when all of it is out or the peer went. */
static void send_out(elaine_mhttp *h, mconn *c)
{
    while (c->off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->off, c->out.len - c->off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                break;
            return;
        }
        if (n <= 0)
            break;
        c->off += (size_t)n;
    }
    conn_close(h, c);
}

static int head_complete(const mconn *c)
{
    for (size_t i = 1; i < c->inlen; i++)
        if (c->in[i] == '\n' && (c->in[i - 1] == '\n' || (i >= 3 && c->in[i - 1] == '\r' && c->in[i - 2] == '\n')))
            return 1;
    return 0;
}

void elaine_mhttp_event(elaine_mhttp *h, void *tag, uint32_t events)
{
    if (tag == h) {
        do_accept(h);
        return;
    }
    mconn *c = tag;
    if (c->answering) {
        send_out(h, c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    for (;;) {
        if (c->inlen == sizeof(c->in)) {
            answer(c, 431, "Request Header Fields Too Large", 0, "text/plain; charset=utf-8", NULL, NULL);
            send_out(h, c);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(h, c);
            return;
        }
        c->inlen += (size_t)n;
        if (head_complete(c)) {
            respond(h, c);
            send_out(h, c);
            return;
        }
    }
}

void elaine_mhttp_tick(elaine_mhttp *h, uint64_t now_ms)
{
    for (mconn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (now_ms - c->since_ms >= CONN_TIMEOUT_MS)
            conn_close(h, c);
    }
}

void elaine_mhttp_free(elaine_mhttp *h)
{
    if (!h)
        return;
    while (h->conns)
        conn_close(h, h->conns);
    close(h->fd);
    free(h);
}
