/* The TLS hooks: SSL_write/_ex, SSL_read/_ex, SSL_free. Each passes through
 * untouched unless its connection was matched at its first write. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

/* Every hooked or used function, once: return type, name, parameters. */
#define SSL_HOOKS(X)                                                                   \
    X(int, SSL_write, (SSL * s, const void *buf, int num))                              \
    X(int, SSL_write_ex, (SSL * s, const void *buf, size_t num, size_t *written))      \
    X(int, SSL_read, (SSL * s, void *buf, int num))                                     \
    X(int, SSL_read_ex, (SSL * s, void *buf, size_t num, size_t *readbytes))           \
    X(void, SSL_free, (SSL * s))
#define SSL_USED(X)                                                                    \
    X(const char *, SSL_get_servername, (const SSL *s, const int type))                \
    X(int, SSL_get_fd, (const SSL *s))                                                  \
    X(void, SSL_get0_alpn_selected, (const SSL *s, const unsigned char **d, unsigned *n)) \
    X(int, SSL_get_error, (const SSL *s, int ret))

/* Each function's pointer type (name_fn) and its slot, filled at first use. */
#define DECLARE_REAL(ret, name, params) \
    typedef ret(*name##_fn) params;     \
    static _Atomic(name##_fn) real_##name;
SSL_HOOKS(DECLARE_REAL)
SSL_USED(DECLARE_REAL)

/* libssl is often loaded after us, and by Python with RTLD_LOCAL, where
 * RTLD_NEXT cannot see it: then ask the loaded library itself. */
static void *resolve(const char *name, void *self)
{
    static const char *const libs[] = {"libssl.so.3", "libssl.so.1.1", "libssl.so", NULL};
    void *p = dlsym(RTLD_NEXT, name);
    for (int i = 0; (!p || p == self) && libs[i]; i++) {
        void *h = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            p = dlsym(h, name);
            dlclose(h);
        }
    }
    if (p && p == self) {
        elaine_dbg("circular reference detected for %s", name);
        p = NULL;
    }
    return p;
}

/* The real function, as resolved so far (NULL: not yet, or not loaded). A
 * plain typed value: the fast paths load it once and jump to it. */
#define LOADED(name) atomic_load_explicit(&real_##name, memory_order_acquire)

/* The real function behind a hook (self = the hook, to refuse ourselves) or
 * a used function (self = NULL: never take the address of an SSL symbol),
 * resolved now when it was not yet: off the fast paths. */
#define REAL_OF(name, self)                                                       \
    ({                                                                            \
        name##_fn _r = LOADED(name);                                              \
        if (!_r) {                                                                \
            _r = (name##_fn)resolve(#name, (void *)(self));                       \
            atomic_store_explicit(&real_##name, _r, memory_order_release);        \
        }                                                                         \
        _r;                                                                       \
    })
#define REAL(name) REAL_OF(name, name)
#define USED(name) REAL_OF(name, NULL)

/* The hooks' slow paths: first calls, captured connections, and deciding. */
#define SLOW __attribute__((noinline))

/* ---- deciding ---- */

/* The first write on an SSL object decides: capture it or pass it through for good. */
static struct elaine_conn *decide(SSL *s, const void *buf, size_t len)
{
    static const char h2_preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; /* no NUL */
    char host[256];
    unsigned port = 0;
    const char *target = NULL;
    size_t tlen = 0;
    int http = elaine_parse_request_head(buf, len, &target, &tlen, host, sizeof(host), &port);

    SSL_get_servername_fn get_sni = USED(SSL_get_servername);
    SSL_get0_alpn_selected_fn get_alpn = USED(SSL_get0_alpn_selected);
    SSL_get_fd_fn get_fd = USED(SSL_get_fd);
    const char *sni = get_sni ? get_sni(s, TLSEXT_NAMETYPE_host_name) : NULL;
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    if (get_alpn)
        get_alpn(s, &alpn, &alpn_len);

    /* HTTP/2 (ALPN h2, or the preface without ALPN): the collector decodes
     * it, but its paths are HPACK-coded, so only the SNI (or host) decides
     * and ELAINE_MATCH_PATHS does not apply. */
    int h2 = (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) ||
             (len >= sizeof(h2_preface) && memcmp(buf, h2_preface, sizeof(h2_preface)) == 0);
    unsigned eport = port ? port : 443;
    int match = (host[0] && elaine_match_host(host, eport)) || (sni && elaine_match_host(sni, eport)) ||
                (!h2 && http && elaine_cfg.match_paths && elaine_match_path(target, tlen));
    if (!match || !(http || h2 || !len)) {
        if (match)
            elaine_dbg("connection to %s: first write is neither HTTP/1 nor HTTP/2, not captured",
                       sni ? sni : host);
        elaine_conn_insert(s, ELAINE_CONN_IGNORED);
        return ELAINE_CONN_IGNORED;
    }

    struct elaine_conn *c = elaine_conn_new(s);
    if (!c)
        return ELAINE_CONN_IGNORED;
    c->tls = 1;
    elaine_copy_str(c->host, sizeof(c->host), host[0] ? host : sni);
    elaine_copy_str(c->sni, sizeof(c->sni), sni);
    c->port = eport;
    if (alpn_len && alpn_len < sizeof(c->alpn)) {
        memcpy(c->alpn, alpn, alpn_len);
        c->alpn[alpn_len] = 0;
    }
    c->fd = get_fd ? get_fd(s) : -1;
    elaine_peer_of(c);
    if (elaine_conn_insert(s, c) < 0) {
        elaine_conn_free(c);
        return ELAINE_CONN_IGNORED;
    }
    elaine_capture_open(c);
    return c;
}

/* Before a write: the conn to capture for, or NULL to pass through. */
static struct elaine_conn *before_write(SSL *s, const void *buf, size_t len)
{
    struct elaine_conn *c = elaine_conn_lookup(s);
    if (c == ELAINE_CONN_IGNORED)
        return NULL;
    elaine_in_shim = 1;
    if (!c)
        c = decide(s, buf, len);
    if (c == ELAINE_CONN_IGNORED || c->phase == PHASE_CLOSED) {
        elaine_in_shim = 0;
        return NULL;
    }
    elaine_capture_request(c);
    elaine_in_shim = 0;
    return c;
}

static void after_io(struct elaine_conn *c, int dir_in, const void *buf, size_t n)
{
    elaine_in_shim = 1;
    elaine_capture_io(c, dir_in, buf, n);
    elaine_in_shim = 0;
}

static void after_eof(struct elaine_conn *c)
{
    elaine_in_shim = 1;
    elaine_capture_eof(c);
    elaine_in_shim = 0;
}

/* ---- the hooks ----
 * Each hook starts with its fast path, inline and without a frame of its
 * own: when the real function is resolved and the call passes through (the
 * shim is off or busy on this thread, or the connection was decided against
 * at its first write), one lookup and a tail call to the real function,
 * errno untouched. Everything else (a first call, which resolves; an
 * undecided, captured or closed connection) goes to the hook's slow path,
 * which checks everything again. */

/* The thread is inside the shim or a captured SSL call, or the shim is off. */
static inline int busy(void)
{
    return elaine_cfg.disabled || elaine_in_shim || elaine_tl_conn;
}

/* A write of num > 0 bytes on s passes through without the slow path. */
static inline int write_passes(SSL *s)
{
    return busy() || elaine_conn_lookup(s) == ELAINE_CONN_IGNORED;
}

/* A read on s passes through without the slow path: s is not captured. */
static inline int read_passes(SSL *s)
{
    if (busy())
        return 1;
    struct elaine_conn *c = elaine_conn_lookup(s);
    return !c || c == ELAINE_CONN_IGNORED;
}

/* Lookup for reads: matched conns only. */
static struct elaine_conn *captured(SSL *s)
{
    if (busy())
        return NULL;
    struct elaine_conn *c = elaine_conn_lookup(s);
    return (c == ELAINE_CONN_IGNORED || (c && c->phase == PHASE_CLOSED)) ? NULL : c;
}

static SLOW int write_slow(SSL *s, const void *buf, int num)
{
    SSL_write_fn real = REAL(SSL_write);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (busy() || num <= 0)
        return real(s, buf, num);
    struct elaine_conn *c = before_write(s, buf, (size_t)num);
    if (!c)
        return real(s, buf, num);
    elaine_tl_conn = c;
    int ret = real(s, buf, num);
    int saved = errno;
    elaine_tl_conn = NULL;
    if (ret > 0)
        after_io(c, 0, buf, (size_t)ret);
    errno = saved;
    return ret;
}

EXPORT int SSL_write(SSL *s, const void *buf, int num)
{
    SSL_write_fn real = LOADED(SSL_write);
    if (__builtin_expect(real != NULL, 1) && (num <= 0 || write_passes(s)))
        return real(s, buf, num);
    return write_slow(s, buf, num);
}

static SLOW int write_ex_slow(SSL *s, const void *buf, size_t num, size_t *written)
{
    SSL_write_ex_fn real = REAL(SSL_write_ex);
    if (!real) {
        errno = ENOSYS;
        return 0;
    }
    if (busy() || num == 0)
        return real(s, buf, num, written);
    struct elaine_conn *c = before_write(s, buf, num);
    if (!c)
        return real(s, buf, num, written);
    size_t done = 0;
    elaine_tl_conn = c;
    int ret = real(s, buf, num, &done);
    int saved = errno;
    elaine_tl_conn = NULL;
    if (written)
        *written = done;
    if (ret > 0 && done)
        after_io(c, 0, buf, done);
    errno = saved;
    return ret;
}

EXPORT int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)
{
    SSL_write_ex_fn real = LOADED(SSL_write_ex);
    if (__builtin_expect(real != NULL, 1) && (num == 0 || write_passes(s)))
        return real(s, buf, num, written);
    return write_ex_slow(s, buf, num, written);
}

static SLOW int read_slow(SSL *s, void *buf, int num)
{
    SSL_read_fn real = REAL(SSL_read);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    struct elaine_conn *c = captured(s);
    if (!c)
        return real(s, buf, num);
    elaine_tl_conn = c;
    int ret = real(s, buf, num);
    int saved = errno;
    elaine_tl_conn = NULL;
    if (ret > 0)
        after_io(c, 1, buf, (size_t)ret);
    else if (ret == 0)
        after_eof(c); /* SSL_read returns 0 only when the connection ended */
    errno = saved;
    return ret;
}

EXPORT int SSL_read(SSL *s, void *buf, int num)
{
    SSL_read_fn real = LOADED(SSL_read);
    if (__builtin_expect(real != NULL, 1) && read_passes(s))
        return real(s, buf, num);
    return read_slow(s, buf, num);
}

static SLOW int read_ex_slow(SSL *s, void *buf, size_t num, size_t *readbytes)
{
    SSL_read_ex_fn real = REAL(SSL_read_ex);
    if (!real) {
        errno = ENOSYS;
        return 0;
    }
    struct elaine_conn *c = captured(s);
    if (!c)
        return real(s, buf, num, readbytes);
    size_t got = 0;
    elaine_tl_conn = c;
    int ret = real(s, buf, num, &got);
    int saved = errno;
    elaine_tl_conn = NULL;
    if (readbytes)
        *readbytes = got;
    if (ret > 0 && got) {
        after_io(c, 1, buf, got);
    } else if (ret <= 0) {
        /* 0 also means WANT_READ on a non-blocking socket: only a real end closes. */
        SSL_get_error_fn get_error = USED(SSL_get_error);
        if (get_error && get_error(s, ret) == SSL_ERROR_ZERO_RETURN)
            after_eof(c);
    }
    errno = saved;
    return ret;
}

EXPORT int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
    SSL_read_ex_fn real = LOADED(SSL_read_ex);
    if (__builtin_expect(real != NULL, 1) && read_passes(s))
        return real(s, buf, num, readbytes);
    return read_ex_slow(s, buf, num, readbytes);
}

static SLOW void free_slow(SSL *s)
{
    SSL_free_fn real = REAL(SSL_free);
    /* Addresses are reused after SSL_free: forget the decision either way. */
    if (s && !elaine_in_shim && elaine_conn_lookup(s)) {
        int saved = errno;
        elaine_in_shim = 1;
        struct elaine_conn *c = elaine_conn_remove(s);
        if (c) {
            if (c->phase != PHASE_CLOSED)
                elaine_emit_close(c);
            elaine_conn_free(c);
        }
        elaine_in_shim = 0;
        errno = saved;
    }
    if (real)
        real(s);
}

EXPORT void SSL_free(SSL *s)
{
    SSL_free_fn real = LOADED(SSL_free);
    if (__builtin_expect(real != NULL, 1) && (!s || elaine_in_shim || !elaine_conn_lookup(s))) {
        real(s);
        return;
    }
    free_slow(s);
}
