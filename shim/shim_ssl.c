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

#define DECLARE_REAL(ret, name, params) static ret(*_Atomic real_##name) params;
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

/* The real function behind a hook (self = the hook, to refuse ourselves) or
 * a used function (self = NULL: never take the address of an SSL symbol). */
#define REAL_OF(name, self)                                                             \
    ({                                                                                  \
        __typeof__(real_##name) _r = atomic_load_explicit(&real_##name, memory_order_acquire); \
        if (!_r) {                                                                      \
            _r = (__typeof__(_r))resolve(#name, (void *)(self));                        \
            atomic_store_explicit(&real_##name, _r, memory_order_release);              \
        }                                                                               \
        _r;                                                                             \
    })
#define REAL(name) REAL_OF(name, name)
#define USED(name) REAL_OF(name, NULL)

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

    __typeof__(real_SSL_get_servername) get_sni = USED(SSL_get_servername);
    __typeof__(real_SSL_get0_alpn_selected) get_alpn = USED(SSL_get0_alpn_selected);
    __typeof__(real_SSL_get_fd) get_fd = USED(SSL_get_fd);
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

/* Lookup for reads: matched conns only. */
static inline struct elaine_conn *captured(SSL *s)
{
    if (elaine_cfg.disabled || elaine_in_shim || elaine_tl_conn)
        return NULL;
    struct elaine_conn *c = elaine_conn_lookup(s);
    return (c == ELAINE_CONN_IGNORED || (c && c->phase == PHASE_CLOSED)) ? NULL : c;
}

/* ---- the hooks ---- */

EXPORT int SSL_write(SSL *s, const void *buf, int num)
{
    __typeof__(real_SSL_write) real = REAL(SSL_write);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (elaine_cfg.disabled || elaine_in_shim || elaine_tl_conn || num <= 0)
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

EXPORT int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)
{
    __typeof__(real_SSL_write_ex) real = REAL(SSL_write_ex);
    if (!real) {
        errno = ENOSYS;
        return 0;
    }
    if (elaine_cfg.disabled || elaine_in_shim || elaine_tl_conn || num == 0)
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

EXPORT int SSL_read(SSL *s, void *buf, int num)
{
    __typeof__(real_SSL_read) real = REAL(SSL_read);
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

EXPORT int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
    __typeof__(real_SSL_read_ex) real = REAL(SSL_read_ex);
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
        __typeof__(real_SSL_get_error) get_error = USED(SSL_get_error);
        if (get_error && get_error(s, ret) == SSL_ERROR_ZERO_RETURN)
            after_eof(c);
    }
    errno = saved;
    return ret;
}

EXPORT void SSL_free(SSL *s)
{
    __typeof__(real_SSL_free) real = REAL(SSL_free);
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

