/* What every hook shares once a connection is captured: request starts with
 * their stacks, data, end of stream; and the shim's life cycle (init, fork, exit). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

__thread struct elaine_conn *elaine_tl_conn TLS_IE;
pid_t elaine_pid;

/* ---- stacks: libunwind, loaded lazily and locally (never exports _Unwind_* to the host) ---- */
static int (*p_unw_backtrace)(void **, int);
static pthread_once_t unwind_once = PTHREAD_ONCE_INIT;
extern const char __ehdr_start[] HIDDEN;
extern const char _etext[] HIDDEN;

static void unwind_load(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
    if (h)
        p_unw_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
    if (!p_unw_backtrace)
        elaine_dbg("libunwind not available: no stacks");
}

static int capture_stack(uint64_t *out, int max)
{
    if (!elaine_cfg.stack)
        return 0;
    pthread_once(&unwind_once, unwind_load);
    if (!p_unw_backtrace)
        return 0;
    void *frames[ELAINE_MAX_STACK + 8];
    int n = p_unw_backtrace(frames, ELAINE_MAX_STACK + 8);
    int k = 0;
    for (int i = 0; i < n && k < max; i++) {
        const char *a = frames[i];
        if (k == 0 && a >= __ehdr_start && a < _etext)
            continue; /* our own frames */
        out[k++] = (uint64_t)(uintptr_t)a;
    }
    return k;
}

void elaine_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
}

void elaine_peer_of(struct elaine_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, c->peer, sizeof(c->peer));
        c->peer_port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, c->peer, sizeof(c->peer));
        c->peer_port = ntohs(in6->sin6_port);
    }
}

void elaine_capture_open(struct elaine_conn *c)
{
    elaine_dbg("capturing conn %llu to %s:%u%s", (unsigned long long)c->id, c->host, c->port,
               c->tls ? "" : " (plain)");
    elaine_sender_start();
    if (elaine_emit_conn_open(c) < 0)
        c->gap = 1;
}

void elaine_capture_request(struct elaine_conn *c)
{
    if (c->phase == PHASE_REQUEST)
        return;
    uint64_t stack[ELAINE_MAX_STACK];
    int n = capture_stack(stack, ELAINE_MAX_STACK);
    int gap = c->gap;
    c->gap = elaine_emit_request_start(c, c->next_req++, gap, stack, n) < 0 ? 1 : 0;
    c->phase = PHASE_REQUEST;
}

void elaine_capture_io(struct elaine_conn *c, int dir_in, const void *buf, size_t n)
{
    if (dir_in)
        c->phase = PHASE_RESPONSE;
    if (c->gap)
        elaine_note_drop(n); /* this exchange is already broken: don't send a torn stream */
    else if (elaine_emit_data(c, dir_in, buf, n) < 0)
        c->gap = 1;
}

void elaine_capture_iov(struct elaine_conn *c, int dir_in, const struct iovec *iov, int iovcnt,
                        size_t n)
{
    for (int i = 0; i < iovcnt && n; i++) {
        size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
        if (k)
            elaine_capture_io(c, dir_in, iov[i].iov_base, k);
        n -= k;
    }
}

void elaine_capture_eof(struct elaine_conn *c)
{
    if (c->phase != PHASE_CLOSED) {
        c->phase = PHASE_CLOSED;
        elaine_emit_close(c);
    }
}

/* ---- life cycle ---- */

static void atfork_prepare(void)
{
    elaine_conn_atfork_prepare();
    elaine_queue_atfork_prepare();
}

static void atfork_parent(void)
{
    elaine_queue_atfork_parent();
    elaine_conn_atfork_parent();
}

static void atfork_child(void)
{
    elaine_queue_atfork_child();
    elaine_conn_atfork_child();
    elaine_sock_atfork_child();
    elaine_pid = getpid();
    elaine_tl_conn = NULL;
    elaine_in_shim = 0;
}

__attribute__((constructor)) static void elaine_init(void)
{
    int saved = errno;
    elaine_pid = getpid();
    elaine_cfg_load();
    if (!elaine_cfg.disabled)
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    errno = saved;
}

/* _exit() skips destructors, and os._exit(), multiprocessing's fork and
 * forkserver workers and prefork servers leave through it: flush first (same
 * bound as at exit). Not in a vfork child: it runs in its parent's memory. */
static void exit_now(const char *name, int status) __attribute__((noreturn));
static void exit_now(const char *name, int status)
{
    if (!elaine_cfg.disabled && getpid() == elaine_pid)
        elaine_sender_flush_at_exit();
    void (*real)(int) = (void (*)(int))dlsym(RTLD_NEXT, name);
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"))) void _exit(int status)
{
    exit_now("_exit", status);
}

__attribute__((visibility("default"))) void _Exit(int status)
{
    exit_now("_Exit", status);
}

__attribute__((destructor)) static void elaine_fini(void)
{
    int saved = errno;
    if (!elaine_cfg.disabled)
        elaine_sender_flush_at_exit();
    errno = saved;
}
