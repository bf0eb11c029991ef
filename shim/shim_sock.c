/* The socket hooks. A TCP socket that went through connect() is a candidate;
 * its first write decides: a TLS record is left to the SSL hooks, an HTTP/1
 * request to a known LLM host or path is captured in both directions. Every
 * other descriptor (files, pipes, Unix sockets, the shim's own) costs one
 * array lookup. Inside a captured SSL call, the socket calls are its
 * ciphertext: they only tell the SSL connection its fd. */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))
#define FD_MAX 65536

#define SOCK_HOOKS(X)                                                                           \
    X(int, connect, (int fd, const struct sockaddr *sa, socklen_t len))                         \
    X(int, close, (int fd))                                                                     \
    X(int, dup2, (int oldfd, int newfd))                                                        \
    X(int, dup3, (int oldfd, int newfd, int flags))                                             \
    X(ssize_t, write, (int fd, const void *buf, size_t n))                                      \
    X(ssize_t, send, (int fd, const void *buf, size_t n, int flags))                            \
    X(ssize_t, sendto, (int fd, const void *buf, size_t n, int flags, const struct sockaddr *a, \
                        socklen_t al))                                                          \
    X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int flags))                            \
    X(ssize_t, writev, (int fd, const struct iovec *iov, int iovcnt))                           \
    X(ssize_t, read, (int fd, void *buf, size_t n))                                             \
    X(ssize_t, recv, (int fd, void *buf, size_t n, int flags))                                  \
    X(ssize_t, recvfrom, (int fd, void *buf, size_t n, int flags, struct sockaddr *a,           \
                          socklen_t *al))                                                       \
    X(ssize_t, recvmsg, (int fd, struct msghdr *m, int flags))                                  \
    X(ssize_t, readv, (int fd, const struct iovec *iov, int iovcnt))

/* Each function's pointer type (name_fn) and its slot, filled at first use. */
#define DECLARE_REAL(ret, name, params) \
    typedef ret(*name##_fn) params;     \
    static _Atomic(name##_fn) real_##name;
SOCK_HOOKS(DECLARE_REAL)

/* The real function, as resolved so far (NULL: not yet). */
#define LOADED(name) atomic_load_explicit(&real_##name, memory_order_relaxed)

/* libc is always there: RTLD_NEXT finds it, even before our constructor ran. */
#define REAL(name)                                                             \
    ({                                                                         \
        name##_fn _r = LOADED(name);                                           \
        if (!_r) {                                                             \
            _r = (name##_fn)dlsym(RTLD_NEXT, #name);                           \
            atomic_store_explicit(&real_##name, _r, memory_order_relaxed);     \
        }                                                                      \
        _r;                                                                    \
    })

/* The hooks' slow paths: first calls, candidate sockets, capture. */
#define SLOW __attribute__((noinline))

/* fd -> candidate or captured connection; NULL for everything else. */
static struct elaine_conn *_Atomic *_Atomic fd_table;

static inline struct elaine_conn *fd_conn(int fd)
{
    struct elaine_conn *_Atomic *t = atomic_load_explicit(&fd_table, memory_order_acquire);
    if (__builtin_expect(!t, 1) || (unsigned)fd >= FD_MAX)
        return NULL;
    return atomic_load_explicit(&t[fd], memory_order_acquire);
}

static struct elaine_conn *_Atomic *get_table(void)
{
    struct elaine_conn *_Atomic *t = atomic_load_explicit(&fd_table, memory_order_acquire);
    if (t)
        return t;
    t = mmap(NULL, FD_MAX * sizeof(*t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    struct elaine_conn *_Atomic *expected = NULL;
    if (!atomic_compare_exchange_strong(&fd_table, &expected, t)) {
        munmap(t, FD_MAX * sizeof(*t));
        t = expected;
    }
    return t;
}

/* The fd is gone (close, dup2 over it, reuse): a captured connection ends. */
static void forget(int fd)
{
    struct elaine_conn *_Atomic *t = atomic_load_explicit(&fd_table, memory_order_acquire);
    if (!t || (unsigned)fd >= FD_MAX)
        return;
    struct elaine_conn *c = atomic_exchange(&t[fd], NULL);
    if (!c)
        return;
    elaine_in_shim = 1;
    if (c->plain == 1) {
        elaine_capture_eof(c);
        elaine_conn_live_remove(c);
    }
    elaine_conn_free(c);
    elaine_in_shim = 0;
}

/* A vfork child runs in its parent's memory: it must not touch our state. */
static inline int in_vfork_child(void)
{
    return getpid() != elaine_pid;
}

static void track(int fd, const struct sockaddr *sa)
{
    struct elaine_conn *_Atomic *t = get_table();
    if (!t || (unsigned)fd >= FD_MAX)
        return;
    struct elaine_conn *c = elaine_conn_new(NULL);
    if (!c)
        return;
    c->fd = fd;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, c->peer, sizeof(c->peer));
        c->peer_port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, c->peer, sizeof(c->peer));
        c->peer_port = ntohs(in6->sin6_port);
    }
    forget(fd); /* a number reused without our close() seeing it */
    atomic_store_explicit(&t[fd], c, memory_order_release);
}

/* The first bytes written on a candidate decide it. */
static void decide(struct elaine_conn *c, const void *buf, size_t len)
{
    const unsigned char *b = buf;
    char host[256];
    unsigned port = 0;
    const char *target = NULL;
    size_t tlen = 0;

    c->plain = -1;
    if (len >= 2 && b[0] == 0x16 && b[1] == 0x03)
        return; /* TLS: the SSL hooks see its plaintext */
    if (!elaine_parse_request_head(buf, len, &target, &tlen, host, sizeof(host), &port))
        return;
    unsigned eport = port ? port : 80;
    char peer_host[80];
    /* An IPv6 peer is written as in a Host header, in brackets. */
    if (strchr(c->peer, ':'))
        snprintf(peer_host, sizeof(peer_host), "[%s]", c->peer);
    else
        elaine_copy_str(peer_host, sizeof(peer_host), c->peer);
    int match = (host[0] && elaine_match_host(host, eport)) || elaine_match_host(peer_host, c->peer_port) ||
                (elaine_cfg.match_paths && elaine_match_path(target, tlen));
    if (!match)
        return;
    c->tls = 0;
    elaine_copy_str(c->host, sizeof(c->host), host[0] ? host : peer_host);
    c->port = port ? port : c->peer_port;
    c->plain = 1;
    elaine_conn_live_add(c);
    elaine_capture_open(c);
}

/* Before a write of buf (the first piece of it): the captured conn, or NULL to pass through. */
static struct elaine_conn *before_write(int fd, const void *buf, size_t len)
{
    struct elaine_conn *c = fd_conn(fd);
    if (__builtin_expect(!c, 1))
        return NULL;
    struct elaine_conn *ssl = elaine_tl_conn;
    if (ssl) {
        if (ssl->fd < 0)
            ssl->fd = fd; /* curl: its own BIO, SSL_get_fd is -1 */
        return NULL;
    }
    if (elaine_cfg.disabled || elaine_in_shim || c->plain < 0 || !len || in_vfork_child())
        return NULL;
    elaine_in_shim = 1;
    if (c->plain == 0)
        decide(c, buf, len);
    if (c->plain == 1 && c->phase != PHASE_CLOSED)
        elaine_capture_request(c);
    else
        c = NULL;
    elaine_in_shim = 0;
    return c;
}

/* Before a read: the captured conn, or NULL to pass through. */
static struct elaine_conn *before_read(int fd)
{
    struct elaine_conn *c = fd_conn(fd);
    if (__builtin_expect(!c, 1))
        return NULL;
    struct elaine_conn *ssl = elaine_tl_conn;
    if (ssl) {
        if (ssl->fd < 0)
            ssl->fd = fd;
        return NULL;
    }
    if (c->plain != 1 || c->phase == PHASE_CLOSED || elaine_cfg.disabled || elaine_in_shim)
        return NULL;
    return c;
}

static void after_write(struct elaine_conn *c, const void *buf, ssize_t ret)
{
    if (ret <= 0)
        return;
    elaine_in_shim = 1;
    elaine_capture_io(c, 0, buf, (size_t)ret);
    elaine_in_shim = 0;
}

static void after_read(struct elaine_conn *c, const void *buf, ssize_t ret, size_t asked)
{
    elaine_in_shim = 1;
    if (ret > 0)
        elaine_capture_io(c, 1, buf, (size_t)ret);
    else if (ret == 0 && asked > 0)
        elaine_capture_eof(c);
    elaine_in_shim = 0;
}

static void after_writev(struct elaine_conn *c, const struct iovec *iov, int n, ssize_t ret)
{
    if (ret <= 0)
        return;
    elaine_in_shim = 1;
    elaine_capture_iov(c, 0, iov, n, (size_t)ret);
    elaine_in_shim = 0;
}

static void after_readv(struct elaine_conn *c, const struct iovec *iov, int n, ssize_t ret)
{
    elaine_in_shim = 1;
    if (ret > 0)
        elaine_capture_iov(c, 1, iov, n, (size_t)ret);
    else if (ret == 0)
        elaine_capture_eof(c);
    elaine_in_shim = 0;
}

static size_t iov_first(const struct iovec *iov, int n, const void **p)
{
    for (int i = 0; i < n; i++)
        if (iov[i].iov_len) {
            *p = iov[i].iov_base;
            return iov[i].iov_len;
        }
    *p = NULL;
    return 0;
}

/* ---- the hooks ----
 * Each data hook starts with its fast path, inline and without a frame of
 * its own: when the real function is resolved and fd is no candidate (a
 * file, a pipe, a socket that never connected) or a socket decided against
 * outside a captured SSL call, a few loads and a tail call to the real
 * function, errno untouched. Everything else goes to the hook's slow path,
 * which checks everything again. */

/* A write on fd passes through without the slow path. */
static inline int write_passes(int fd)
{
    struct elaine_conn *c = fd_conn(fd);
    return __builtin_expect(!c, 1) || (c->plain < 0 && !elaine_tl_conn);
}

/* A read on fd passes through without the slow path. */
static inline int read_passes(int fd)
{
    struct elaine_conn *c = fd_conn(fd);
    return __builtin_expect(!c, 1) || (c->plain != 1 && !elaine_tl_conn);
}

#define FAST(name, passes, args)                                \
    name##_fn real = LOADED(name);                              \
    if (__builtin_expect(real != NULL, 1) && (passes))          \
        return real args;                                       \
    return name##_slow args;

#define WRITE_HOOK(call, first, firstlen, after)             \
    struct elaine_conn *c = before_write(fd, first, firstlen); \
    if (__builtin_expect(!c, 1))                             \
        return call;                                         \
    ssize_t ret = call;                                      \
    int saved = errno;                                       \
    after;                                                   \
    errno = saved;                                           \
    return ret;

#define READ_HOOK(call, after)               \
    struct elaine_conn *c = before_read(fd); \
    if (__builtin_expect(!c, 1))             \
        return call;                         \
    ssize_t ret = call;                      \
    int saved = errno;                       \
    after;                                   \
    errno = saved;                           \
    return ret;

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    int ret = REAL(connect)(fd, sa, len);
    if (elaine_cfg.disabled || elaine_in_shim || !sa ||
        (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return ret;
    int saved = errno;
    if (ret == 0 || saved == EINPROGRESS) {
        int type = 0;
        socklen_t tl = sizeof(type);
        if (!in_vfork_child() && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
            type == SOCK_STREAM) {
            elaine_in_shim = 1;
            track(fd, sa);
            elaine_in_shim = 0;
        }
    }
    errno = saved;
    return ret;
}

static SLOW int close_slow(int fd)
{
    if (fd_conn(fd) != NULL && !in_vfork_child()) {
        int saved = errno;
        forget(fd);
        errno = saved;
    }
    return REAL(close)(fd);
}

EXPORT int close(int fd)
{
    FAST(close, fd_conn(fd) == NULL, (fd))
}

EXPORT int dup2(int oldfd, int newfd)
{
    int ret = REAL(dup2)(oldfd, newfd);
    if (ret >= 0 && oldfd != newfd && fd_conn(newfd) && !in_vfork_child()) {
        int saved = errno;
        forget(newfd);
        errno = saved;
    }
    return ret;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
    int ret = REAL(dup3)(oldfd, newfd, flags);
    if (ret >= 0 && fd_conn(newfd) && !in_vfork_child()) {
        int saved = errno;
        forget(newfd);
        errno = saved;
    }
    return ret;
}

static SLOW ssize_t write_slow(int fd, const void *buf, size_t n)
{
    WRITE_HOOK(REAL(write)(fd, buf, n), buf, n, after_write(c, buf, ret))
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    FAST(write, write_passes(fd), (fd, buf, n))
}

static SLOW ssize_t send_slow(int fd, const void *buf, size_t n, int flags)
{
    WRITE_HOOK(REAL(send)(fd, buf, n, flags), buf, n, after_write(c, buf, ret))
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    FAST(send, write_passes(fd), (fd, buf, n, flags))
}

static SLOW ssize_t sendto_slow(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                                socklen_t al)
{
    WRITE_HOOK(REAL(sendto)(fd, buf, n, flags, a, al), buf, n, after_write(c, buf, ret))
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    FAST(sendto, write_passes(fd), (fd, buf, n, flags, a, al))
}

static SLOW ssize_t writev_slow(int fd, const struct iovec *iov, int iovcnt)
{
    const void *first = NULL;
    size_t firstlen = fd_conn(fd) ? iov_first(iov, iovcnt, &first) : 0;
    WRITE_HOOK(REAL(writev)(fd, iov, iovcnt), first, firstlen, after_writev(c, iov, iovcnt, ret))
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    FAST(writev, write_passes(fd), (fd, iov, iovcnt))
}

static SLOW ssize_t sendmsg_slow(int fd, const struct msghdr *m, int flags)
{
    const void *first = NULL;
    size_t firstlen = fd_conn(fd) && m ? iov_first(m->msg_iov, (int)m->msg_iovlen, &first) : 0;
    WRITE_HOOK(REAL(sendmsg)(fd, m, flags), first, firstlen,
               after_writev(c, m->msg_iov, (int)m->msg_iovlen, ret))
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    FAST(sendmsg, write_passes(fd), (fd, m, flags))
}

static SLOW ssize_t read_slow(int fd, void *buf, size_t n)
{
    READ_HOOK(REAL(read)(fd, buf, n), after_read(c, buf, ret, n))
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    FAST(read, read_passes(fd), (fd, buf, n))
}

static SLOW ssize_t recv_slow(int fd, void *buf, size_t n, int flags)
{
    if (flags & MSG_PEEK) /* the bytes will be read again */
        return REAL(recv)(fd, buf, n, flags);
    READ_HOOK(REAL(recv)(fd, buf, n, flags), after_read(c, buf, ret, n))
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    FAST(recv, (flags & MSG_PEEK) || read_passes(fd), (fd, buf, n, flags))
}

static SLOW ssize_t recvfrom_slow(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
                                  socklen_t *al)
{
    if (flags & MSG_PEEK)
        return REAL(recvfrom)(fd, buf, n, flags, a, al);
    READ_HOOK(REAL(recvfrom)(fd, buf, n, flags, a, al), after_read(c, buf, ret, n))
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    FAST(recvfrom, (flags & MSG_PEEK) || read_passes(fd), (fd, buf, n, flags, a, al))
}

static SLOW ssize_t readv_slow(int fd, const struct iovec *iov, int iovcnt)
{
    READ_HOOK(REAL(readv)(fd, iov, iovcnt), after_readv(c, iov, iovcnt, ret))
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    FAST(readv, read_passes(fd), (fd, iov, iovcnt))
}

static SLOW ssize_t recvmsg_slow(int fd, struct msghdr *m, int flags)
{
    if (flags & MSG_PEEK)
        return REAL(recvmsg)(fd, m, flags);
    READ_HOOK(REAL(recvmsg)(fd, m, flags), after_readv(c, m->msg_iov, (int)m->msg_iovlen, ret))
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    FAST(recvmsg, (flags & MSG_PEEK) || read_passes(fd), (fd, m, flags))
}

void elaine_sock_atfork_child(void)
{
    /* The parent's sockets pass through in the child; a fresh table starts lazily. */
    atomic_store(&fd_table, NULL);
}
