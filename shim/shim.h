/* Internal interfaces of the preloaded shim: configuration, matching, connections, queue. */
#ifndef ELAINE_SHIM_H
#define ELAINE_SHIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ELAINE_SHIM_VERSION "0.1.0"
#define ELAINE_MAX_STACK 32
#define ELAINE_DATA_MAX (1u << 20) /* a larger write becomes several events */

#define TLS_IE __attribute__((tls_model("initial-exec")))
#define HIDDEN __attribute__((visibility("hidden")))

/* ---- configuration (shim_config.c), read once ---- */
struct elaine_cfg {
    int disabled;     /* ELAINE_DISABLE=1, or a setuid/setgid program */
    int debug;        /* ELAINE_DEBUG=1 */
    int sync;         /* ELAINE_MODE=sync */
    unsigned sync_timeout_ms; /* ELAINE_SYNC_TIMEOUT_MS: longest wait for room (0: no limit) */
    int match_paths;  /* ELAINE_MATCH_PATHS */
    int stack;        /* ELAINE_STACK */
    size_t queue_bytes;
    char socket[108];
};
extern struct elaine_cfg elaine_cfg HIDDEN;

void elaine_cfg_load(void) HIDDEN;
/* Diagnostics to fd 2 when ELAINE_DEBUG=1; preserves errno; no stdio, no malloc. */
void elaine_dbg(const char *fmt, ...) HIDDEN __attribute__((format(printf, 1, 2)));

/* ---- matching (shim_match.c) ---- */
/* Reads the host list (built-in unless ELAINE_DEFAULT_HOSTS=0, plus ELAINE_HOSTS). */
void elaine_match_init(void) HIDDEN;
/* 1 when host (case-insensitive, no port) with port is in the host list. */
int elaine_match_host(const char *host, unsigned port) HIDDEN;
/* 1 when an HTTP/1 request target names a known LLM endpoint. */
int elaine_match_path(const char *target, size_t len) HIDDEN;
/* Parses the start of an HTTP/1 request in buf: target (not NUL-terminated),
 * Host header split into host (lower-cased, NUL-terminated) and port (0 if
 * absent). Returns 1 when buf starts with an HTTP/1 request line. */
int elaine_parse_request_head(const char *buf, size_t len, const char **target, size_t *target_len,
                              char *host, size_t host_size, unsigned *port) HIDDEN;

/* ---- connections (shim_conn.c) ---- */
enum { PHASE_IDLE, PHASE_REQUEST, PHASE_RESPONSE, PHASE_CLOSED };

struct elaine_conn {
    uint64_t id;
    void *key;          /* the SSL* */
    unsigned gen;       /* fork generation it belongs to */
    int fd;             /* learned from SSL_get_fd or a nested send/recv; -1 unknown */
    int phase;
    int plain;          /* sockets only: 0 undecided, 1 captured, -1 passed through */
    uint64_t next_req;  /* request number of the next RequestStart */
    int gap;            /* events were dropped since the last RequestStart */
    int tls;
    unsigned port;
    char host[256];
    char sni[256];
    char alpn[32];
    char peer[64];
    unsigned peer_port;
    struct elaine_conn *prev, *next; /* live list, under the conn lock */
};

#define ELAINE_CONN_IGNORED ((struct elaine_conn *)1)

/* The SSL* table: open addressing, slots written under the conn lock and read
 * without it. A key is never moved, only turned into a tombstone, so a reader
 * sees either the old or the new value of a slot, both of which are safe for
 * it. The lookup is inline: every SSL hook makes one. */
#define ELAINE_CONN_TABLE_BITS 16
#define ELAINE_CONN_TABLE_SIZE (1u << ELAINE_CONN_TABLE_BITS)
#define ELAINE_CONN_TOMBSTONE ((uintptr_t)1)

struct elaine_conn_slot {
    _Atomic uintptr_t key;
    _Atomic(struct elaine_conn *) val;
};
extern struct elaine_conn_slot *_Atomic elaine_conn_table HIDDEN;
extern atomic_uint elaine_conn_gen HIDDEN;

static inline size_t elaine_conn_hash(uintptr_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)(k & (ELAINE_CONN_TABLE_SIZE - 1));
}

/* Lock-free lookup: NULL when key was never decided, ELAINE_CONN_IGNORED, or the conn. */
static inline struct elaine_conn *elaine_conn_lookup(void *key)
{
    struct elaine_conn_slot *t = atomic_load_explicit(&elaine_conn_table, memory_order_acquire);
    if (!t)
        return NULL;
    uintptr_t k = (uintptr_t)key;
    size_t i = elaine_conn_hash(k);
    for (size_t n = 0; n < ELAINE_CONN_TABLE_SIZE; n++, i = (i + 1) & (ELAINE_CONN_TABLE_SIZE - 1)) {
        uintptr_t sk = atomic_load_explicit(&t[i].key, memory_order_acquire);
        if (sk == k) {
            struct elaine_conn *c = atomic_load_explicit(&t[i].val, memory_order_acquire);
            /* A conn inherited across fork() belongs to the parent: pass it through. */
            if (c && c != ELAINE_CONN_IGNORED &&
                c->gen != atomic_load_explicit(&elaine_conn_gen, memory_order_relaxed))
                return ELAINE_CONN_IGNORED;
            return c;
        }
        if (sk == 0)
            return NULL;
    }
    return NULL;
}
/* Records a decision for key: conn (matched; added to the live list) or ELAINE_CONN_IGNORED.
 * Returns 0, or -1 when the table is full (the caller passes through). */
int elaine_conn_insert(void *key, struct elaine_conn *c) HIDDEN;
/* Forgets key (SSL_free); returns the conn that was matched for it, if any (the
 * caller sends Close and frees it with elaine_conn_free). */
struct elaine_conn *elaine_conn_remove(void *key) HIDDEN;
struct elaine_conn *elaine_conn_new(void *key) HIDDEN;
/* The live list without the SSL table (plain sockets live in the fd table). */
void elaine_conn_live_add(struct elaine_conn *c) HIDDEN;
void elaine_conn_live_remove(struct elaine_conn *c) HIDDEN;
void elaine_conn_free(struct elaine_conn *c) HIDDEN;
/* Calls fn for each live conn of this process, under the conn lock. */
void elaine_conn_each(void (*fn)(struct elaine_conn *c, void *ud), void *ud) HIDDEN;
void elaine_conn_atfork_prepare(void) HIDDEN;
void elaine_conn_atfork_parent(void) HIDDEN;
void elaine_conn_atfork_child(void) HIDDEN;

/* ---- events and the sender (shim_queue.c) ---- */
/* Each returns 0, or -1 when the event was dropped (queue full in async mode). */
int elaine_emit_conn_open(struct elaine_conn *c) HIDDEN;
int elaine_emit_request_start(struct elaine_conn *c, uint64_t req_no, int gap, const uint64_t *stack,
                              int nstack) HIDDEN;
int elaine_emit_data(struct elaine_conn *c, int dir_in, const void *buf, size_t len) HIDDEN;
int elaine_emit_close(struct elaine_conn *c) HIDDEN;
/* Counts data the shim chose not to send (its connection already lost events). */
void elaine_note_drop(size_t bytes) HIDDEN;
/* Starts the sender thread once (first match). */
void elaine_sender_start(void) HIDDEN;
/* At exit: waits (bounded) until everything queued was handed to the collector. */
void elaine_sender_flush_at_exit(void) HIDDEN;
void elaine_queue_atfork_prepare(void) HIDDEN;
void elaine_queue_atfork_parent(void) HIDDEN;
void elaine_queue_atfork_child(void) HIDDEN;

uint64_t elaine_mono_ns(void) HIDDEN;
uint64_t elaine_wall_ns(void) HIDDEN;
uint32_t elaine_tid(void) HIDDEN;

/* ---- capture, shared by the TLS and the socket hooks (shim_capture.c) ---- */
/* The matched connection whose SSL call runs on this thread: socket calls
 * nested in it are its ciphertext (and tell its fd). */
extern __thread struct elaine_conn *elaine_tl_conn TLS_IE HIDDEN;
/* getpid() at start and after fork(): a vfork child runs with another pid. */
extern pid_t elaine_pid HIDDEN;
void elaine_copy_str(char *dst, size_t size, const char *src) HIDDEN;
void elaine_peer_of(struct elaine_conn *c) HIDDEN; /* from c->fd */
void elaine_capture_open(struct elaine_conn *c) HIDDEN;    /* starts the sender, ConnOpen */
void elaine_capture_request(struct elaine_conn *c) HIDDEN; /* RequestStart unless mid-request */
void elaine_capture_io(struct elaine_conn *c, int dir_in, const void *buf, size_t n) HIDDEN;
struct iovec;
void elaine_capture_iov(struct elaine_conn *c, int dir_in, const struct iovec *iov, int iovcnt,
                        size_t n) HIDDEN;
void elaine_capture_eof(struct elaine_conn *c) HIDDEN; /* Close, once */
void elaine_sock_atfork_child(void) HIDDEN;

/* Thread-local guard: set while the shim itself runs, so that nested calls pass through. */
extern __thread int elaine_in_shim TLS_IE HIDDEN;

#endif
