/* The bounded event queue and the sender thread: protobuf batches to the collector,
 * acknowledgements back, resend after a reconnect. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "elaine.pb-c.h"
#include "elaine_frame.h"
#include "elaine_pbenc.h"
#include "shim.h"

#define BATCH_BYTES (4u << 20) /* raw bytes of data per batch */
#define BATCH_EVENTS 4096
#define EXIT_FLUSH_MS 2000
/* A send() on the collector's socket returns after this long at most (then
 * is tried again), so that the exit flush can make the sender let go of a
 * batch the collector does not take. */
#define SEND_TIMEOUT_MS 100
/* After giving up, how long the exit flush waits for the sender to let go
 * of the batch it is writing (a send() returns within SEND_TIMEOUT_MS). */
#define LET_GO_MS 300
/* Below this a batch goes uncompressed (the frame says so; the collector
 * takes both). On the local socket zstd only costs CPU, in the application
 * (a fresh context, its buffers' page faults, ~2 ms per MiB at level 1)
 * and in the collector: under wrk, batches of 64 KiB and more made zstd a
 * third of the sender's time. Only the biggest batches (large bodies, a
 * backlog resent) are compressed. */
#define COMPRESS_MIN (1u << 20)
/* After a wake-up, the sender lets a burst gather this long before it takes
 * a batch: one wake-up, one batch and one ack per millisecond at most,
 * instead of one each per event of a sequential client. */
#define LINGER_NS 1000000L
/* A busy application (events arriving while a batch is written) gets its
 * batches this far apart, unless the queue is half full or the process
 * exits: under wrk with the application on one core, 4 ms instead of 1 ms
 * took 0.4 us of the application's CPU per request off (fewer sends, acks
 * and switches to the sender); 10 ms gained nothing more. */
#define BUSY_LINGER_NS 4000000L

struct conn_meta {
    char host[256], sni[256], alpn[32], peer[64];
    unsigned port, peer_port;
    int tls;
};

struct block;

/* An event as it will be encoded (pb.body is its type, pb.seq its sequence
 * number, pb.len its data bytes), its stack, data or meta right after it. */
struct ev {
    struct ev *next;
    size_t cost;    /* bytes counted against the bound */
    struct block *blk;      /* the block it was carved from, NULL: malloc'd */
    struct conn_meta *meta; /* ConnOpen and Close */
    struct elaine_pb_event pb;
};

/* Event memory. An event of up to SMALL_MAX bytes is carved out of a block
 * in the critical section that queues it (its stack or data copied there):
 * no malloc and no free per event, in particular none across threads (the
 * sender frees what the application's threads allocated, which is what
 * costs glibc most). A block is done when its last event is, and since
 * events are freed in order, so are blocks. Up to SPARE_BLOCKS empty ones
 * are kept for reuse: a block given back to malloc comes back as fresh
 * pages (glibc trims the heap), a page fault each 4 KiB on the hooks' path.
 * A bigger event is malloc'd and filled outside the lock. */
#define BLOCK_SIZE (64u << 10)
#define SMALL_MAX (16u << 10)
#define SPARE_BLOCKS 16

struct block {
    struct block *next; /* in the spare list */
    size_t used;        /* bytes carved out (after the header) */
    size_t live;        /* events in it not yet freed */
    size_t pad;         /* events start 16-byte aligned after the header */
};

/* Everything below is guarded by q_lock. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_space = PTHREAD_COND_INITIALIZER; /* room freed (sync mode) */
static pthread_cond_t q_sent = PTHREAD_COND_INITIALIZER;  /* cursor advanced (exit flush) */
static struct ev *q_head, *q_tail; /* unacknowledged events, in seq order */
static struct ev *q_cursor;        /* first event not yet sent on this socket */
static size_t q_bytes;
static uint64_t q_next_seq = 1;
static uint64_t q_drop_events, q_drop_bytes;
static int q_connected;
static int q_sleeping; /* the sender waits in poll(): wake it through wake_wr */
static int q_exiting;
static int q_tried; /* the sender has tried to connect at least once */
static int q_ever_connected; /* a collector answered once: worth waiting for at exit */
static int q_flushing;       /* exit flush running: reconnect without backoff */
static int q_sending;        /* a batch taken off the queue is being written */
static struct ev *q_batch;   /* its first event (the batch runs up to q_cursor) */
static size_t q_batch_n;     /* and its number of events */
static int q_batch_cut;      /* its frame was given up part-written: the collector drops it */
static int q_gave_up;        /* the exit flush gave up: the sender writes nothing more */
static struct block *q_block;  /* the block events are carved from */
static struct block *q_spare;  /* empty ones, kept for reuse */
static unsigned q_nspare;

/* The sender's wakeup: a pipe rather than an eventfd, so that it has an inode
 * of its own to check (every eventfd shares one). The application may close
 * it (close_range) and get the number back for a file or pipe of its own,
 * which the shim must then never read, write or close. */
static int wake_rd = -1, wake_wr = -1;
static dev_t wake_dev;
static ino_t wake_ino;
static int sock_fd = -1;
static dev_t sock_dev;
static ino_t sock_ino;
static _Atomic int sender_started;
static pthread_t sender_thread;
/* Set by the exit flush when it gives up: send_all stops between two send()
 * calls (read without q_lock). */
static _Atomic int sender_abandon;

__thread int elaine_in_shim TLS_IE;
static __thread uint32_t tl_tid TLS_IE;

uint64_t elaine_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t elaine_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t elaine_tid(void)
{
    if (!tl_tid)
        tl_tid = (uint32_t)syscall(SYS_gettid);
    return tl_tid;
}

static int fd_is(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* Wakes the sender from poll(); any thread, without q_lock. */
static void wake_sender(void)
{
    int fd = __atomic_load_n(&wake_wr, __ATOMIC_ACQUIRE);
    if (fd_is(fd, wake_dev, wake_ino)) {
        char one = 1;
        ssize_t r = write(fd, &one, 1);
        (void)r;
    }
}

/* (Re)makes the wakeup pipe; the sender, or the start before it runs. The old
 * numbers are not ours any more: they are forgotten, never closed. */
static void wake_renew(void)
{
    int p[2];
    struct stat st;
    __atomic_store_n(&wake_wr, -1, __ATOMIC_RELEASE);
    wake_rd = -1;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return;
    if (fstat(p[0], &st) < 0) {
        close(p[0]);
        close(p[1]);
        return;
    }
    wake_dev = st.st_dev;
    wake_ino = st.st_ino;
    wake_rd = p[0];
    __atomic_store_n(&wake_wr, p[1], __ATOMIC_RELEASE);
}

static void fill_meta(struct conn_meta *m, const struct elaine_conn *c)
{
    memcpy(m->host, c->host, sizeof(m->host));
    memcpy(m->sni, c->sni, sizeof(m->sni));
    memcpy(m->alpn, c->alpn, sizeof(m->alpn));
    memcpy(m->peer, c->peer, sizeof(m->peer));
    m->port = c->port;
    m->peer_port = c->peer_port;
    m->tls = c->tls;
}

/* e->meta's connection, as a ConnOpen says it. */
static void open_fields(struct ev *e)
{
    const struct conn_meta *m = e->meta;
    e->pb.peer = m->peer;
    e->pb.peer_port = m->peer_port;
    e->pb.sni = m->sni;
    e->pb.alpn = m->alpn;
    e->pb.tls = m->tls;
    e->pb.host = m->host;
    e->pb.port = m->port;
}

/* An event of size bytes from the current block (a new one when it is
 * full); NULL without memory. Under q_lock. */
static struct ev *block_alloc(size_t size)
{
    struct block *b = q_block;
    size = (size + 15) & ~(size_t)15;
    if (!b || sizeof(*b) + b->used + size > BLOCK_SIZE) {
        /* The full block is let go by its last event (ev_free). */
        if (q_spare) {
            b = q_spare;
            q_spare = b->next;
            q_nspare--;
        } else if (!(b = malloc(BLOCK_SIZE))) {
            return NULL;
        }
        b->used = b->live = 0;
        q_block = b;
    }
    struct ev *e = (struct ev *)((char *)(b + 1) + b->used);
    b->used += size;
    b->live++;
    e->blk = b;
    return e;
}

/* Under q_lock when e came from a block. */
static void ev_free(struct ev *e)
{
    struct block *b = e->blk;
    if (!b) {
        free(e);
        return;
    }
    if (--b->live)
        return;
    if (b == q_block) {
        b->used = 0; /* empty: carve it again from the start */
    } else if (q_nspare < SPARE_BLOCKS) {
        b->next = q_spare;
        q_spare = b;
        q_nspare++;
    } else {
        free(b);
    }
}

/* Makes e the event t describes, its n bytes of stack, data or meta copied
 * from extra right after it. */
static void ev_place(struct ev *e, const struct ev *t, const void *extra, size_t n)
{
    struct block *b = e->blk;
    *e = *t;
    e->blk = b;
    e->cost = sizeof(*e) + n;
    if (n)
        memcpy(e + 1, extra, n);
    switch (e->pb.body) {
    case ELAINE__EVENT__BODY_REQUEST_START:
        e->pb.stack = n ? (const uint64_t *)(e + 1) : NULL;
        break;
    case ELAINE__EVENT__BODY_DATA:
        e->pb.data = (const uint8_t *)(e + 1);
        break;
    case ELAINE__EVENT__BODY_CONN_OPEN:
        e->meta = (struct conn_meta *)(e + 1);
        open_fields(e);
        break;
    case ELAINE__EVENT__BODY_CLOSE:
        e->meta = (struct conn_meta *)(e + 1);
        break;
    }
}

/* Sync mode: whether a hook should wait for room. It waits while the sender
 * has events still to write (or no collector), since sending and the
 * collector's acks free room. Once everything queued is in the collector's
 * hands, the rest is held only for exchanges still in flight (the collector
 * acks an exchange when its record is written): waiting would then wait for
 * itself, so the event is taken over the bound. Under q_lock. */
static int sync_should_wait(size_t cost)
{
    if (q_bytes + cost <= elaine_cfg.queue_bytes || q_exiting || q_bytes == 0)
        return 0;
    return q_cursor != NULL || q_sending || !q_connected;
}

/* Appends the event t describes, with its n bytes of extra (see ev_place),
 * or drops it, counted (also without memory). Returns 0, or -1 when dropped.
 * Async: drops at once when the queue is full. Sync: waits on q_space (which
 * releases q_lock; the hook holds no other shim lock here), for at most
 * ELAINE_SYNC_TIMEOUT_MS when set; the exit flush (q_exiting) releases it. */
static int enqueue(const struct ev *t, const void *extra, size_t n)
{
    int wake = 0, over = 0;
    size_t cost = sizeof(struct ev) + n;
    struct ev *e = NULL;
    if (n > SMALL_MAX) { /* too big to copy under the lock */
        e = malloc(cost);
        if (e) {
            e->blk = NULL;
            ev_place(e, t, extra, n);
        }
    }
    pthread_mutex_lock(&q_lock);
    if (elaine_cfg.sync && sync_should_wait(cost)) {
        struct timespec deadline;
        unsigned ms = elaine_cfg.sync_timeout_ms;
        if (ms) {
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += ms / 1000;
            deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
        }
        while (sync_should_wait(cost)) {
            if (!ms) {
                pthread_cond_wait(&q_space, &q_lock);
            } else if (pthread_cond_clockwait(&q_space, &q_lock, CLOCK_MONOTONIC, &deadline) ==
                       ETIMEDOUT) {
                break;
            }
        }
    }
    /* Sync, no room, but nothing left to wait for (an event larger than the
     * bound, or the queue all in the collector's hands): taken over the
     * bound. A timed-out wait or the exit drops it, counted. */
    if (elaine_cfg.sync)
        over = !q_exiting && !sync_should_wait(cost);
    if (n <= SMALL_MAX && (q_bytes + cost <= elaine_cfg.queue_bytes || over)) {
        e = block_alloc(cost);
        if (e)
            ev_place(e, t, extra, n);
    }
    if (!e || (q_bytes + cost > elaine_cfg.queue_bytes && !over)) {
        q_drop_events++;
        q_drop_bytes += t->pb.len;
        if (q_sleeping) { /* the drop report goes out as soon as the sender can send */
            q_sleeping = 0;
            wake = 1;
        }
        pthread_mutex_unlock(&q_lock);
        free(e); /* a malloc'd one: a carved one is never dropped */
        if (wake)
            wake_sender();
        return -1;
    }
    e->pb.seq = q_next_seq++;
    q_bytes += e->cost;
    if (q_tail)
        q_tail->next = e;
    else
        q_head = e;
    q_tail = e;
    if (!q_cursor)
        q_cursor = e;
    if (q_sleeping) {
        q_sleeping = 0;
        wake = 1;
    }
    pthread_mutex_unlock(&q_lock);
    if (wake)
        wake_sender();
    return 0;
}

/* The common part of an event: type, thread, time. */
static void ev_init(struct ev *t, int body)
{
    memset(t, 0, sizeof(*t));
    t->pb.body = body;
    t->pb.tid = elaine_tid();
    t->pb.mono_ns = elaine_mono_ns();
}

/* An event that carries the connection's metadata: ConnOpen, and Close (the
 * conn is freed after it, and a collector that gets it resent must still
 * learn what the connection was). */
static int emit_with_meta(struct elaine_conn *c, int body)
{
    struct ev t;
    struct conn_meta m;
    ev_init(&t, body);
    t.pb.conn_id = c->id;
    fill_meta(&m, c);
    return enqueue(&t, &m, sizeof(m));
}

int elaine_emit_conn_open(struct elaine_conn *c)
{
    return emit_with_meta(c, ELAINE__EVENT__BODY_CONN_OPEN);
}

int elaine_emit_request_start(struct elaine_conn *c, uint64_t req_no, int gap, const uint64_t *stack,
                              int nstack)
{
    struct ev t;
    ev_init(&t, ELAINE__EVENT__BODY_REQUEST_START);
    t.pb.conn_id = c->id;
    t.pb.wall_ns = elaine_wall_ns();
    t.pb.request_no = req_no;
    t.pb.gap = gap;
    t.pb.n_stack = (size_t)nstack;
    return enqueue(&t, stack, (size_t)nstack * sizeof(uint64_t));
}

/* Counts the pieces of a write from the first one not queued on (that one
 * included unless counted already): none of them is sent. */
static void drop_rest(size_t len)
{
    if (!len)
        return;
    pthread_mutex_lock(&q_lock);
    q_drop_events += (len + ELAINE_DATA_MAX - 1) / ELAINE_DATA_MAX;
    q_drop_bytes += len;
    pthread_mutex_unlock(&q_lock);
}

int elaine_emit_data(struct elaine_conn *c, int dir_in, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    struct ev t;
    ev_init(&t, ELAINE__EVENT__BODY_DATA);
    t.pb.conn_id = c->id;
    t.pb.dir = dir_in ? ELAINE__DIRECTION__DIR_IN : ELAINE__DIRECTION__DIR_OUT;
    while (len) {
        size_t n = len > ELAINE_DATA_MAX ? ELAINE_DATA_MAX : len;
        t.pb.len = n;
        if (p != buf)
            t.pb.mono_ns = elaine_mono_ns();
        if (enqueue(&t, p, n) < 0) { /* counted this piece */
            drop_rest(len - n);
            return -1;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void elaine_note_drop(size_t bytes)
{
    pthread_mutex_lock(&q_lock);
    q_drop_events++;
    q_drop_bytes += bytes;
    pthread_mutex_unlock(&q_lock);
}

int elaine_emit_close(struct elaine_conn *c)
{
    return emit_with_meta(c, ELAINE__EVENT__BODY_CLOSE);
}

/* ---- the sender thread ---- */

static void read_file(const char *path, char *buf, size_t size, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (*len < size - 1) {
        ssize_t n = read(fd, buf + *len, size - 1 - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    buf[*len] = 0;
    close(fd);
}

struct hello_info {
    char exe[4096];
    char cmdline[4096];
    size_t cmdline_len;
    uint64_t start_time;
};

/* The sender's, loaded once; the exit flush reuses it for its drop report. */
static struct hello_info *_Atomic sender_hello;

static void load_hello(struct hello_info *h)
{
    char stat[1024];
    size_t n;
    ssize_t r = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
    h->exe[r > 0 ? r : 0] = 0;
    read_file("/proc/self/cmdline", h->cmdline, sizeof(h->cmdline), &h->cmdline_len);
    read_file("/proc/self/stat", stat, sizeof(stat), &n);
    h->start_time = 0;
    char *p = strrchr(stat, ')');
    /* After "pid (comm)": state is field 3, starttime field 22. */
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (p)
        h->start_time = strtoull(p, NULL, 10);
}

static int sock_still_ours(void)
{
    struct stat st;
    return sock_fd >= 0 && fstat(sock_fd, &st) == 0 && st.st_dev == sock_dev && st.st_ino == sock_ino;
}

static void disconnect(void)
{
    /* Only close a descriptor that is still ours: the application may have
     * closed it (close_range) and reused the number. */
    if (sock_still_ours())
        close(sock_fd);
    sock_fd = -1;
    pthread_mutex_lock(&q_lock);
    q_connected = 0;
    q_cursor = q_head; /* resend everything unacknowledged */
    pthread_mutex_unlock(&q_lock);
}

static int try_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(elaine_cfg.socket);
    if (n >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, elaine_cfg.socket, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    /* Whoever listens gets the plaintext, credentials included: only a
     * collector of our own user (or root) may. The socket's folder might be
     * another user's (/tmp/memoryelaine-UID made by somebody else). */
    struct ucred cr = {.uid = (uid_t)-1};
    socklen_t crl = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 ||
        (cr.uid != geteuid() && cr.uid != 0)) {
        elaine_dbg("%s is served by uid %d, not ours: not sending there", elaine_cfg.socket,
                   (int)cr.uid);
        close(fd);
        return -1;
    }
    /* A stalled collector must not hold a send() for ever (see send_all). */
    struct timeval tv = {0, SEND_TIMEOUT_MS * 1000L};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct stat st;
    fstat(fd, &st);
    sock_dev = st.st_dev;
    sock_ino = st.st_ino;
    sock_fd = fd;
    pthread_mutex_lock(&q_lock);
    q_connected = 1;
    q_ever_connected = 1;
    q_cursor = q_head;
    pthread_mutex_unlock(&q_lock);
    elaine_dbg("connected to %s", elaine_cfg.socket);
    return 0;
}

/* 0, -1 when the socket is gone, -2 when the exit flush gave up on it
 * (what was written of the frame stays part-written: the collector drops it). */
static int send_all(const uint8_t *p, size_t n)
{
    while (n) {
        if (atomic_load_explicit(&sender_abandon, memory_order_acquire))
            return -2;
        if (!sock_still_ours())
            return -1;
        ssize_t w = send(sock_fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) /* SO_SNDTIMEO */
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

struct reannounce {
    struct ev *evs;
    size_t n, cap;
};

static void reannounce_add(struct reannounce *r, uint64_t conn_id, const struct conn_meta *m)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->evs[i].pb.conn_id == conn_id)
            return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct ev *ne = realloc(r->evs, cap * sizeof(struct ev));
        if (!ne)
            return;
        r->evs = ne;
        r->cap = cap;
    }
    struct ev *e = &r->evs[r->n];
    memset(e, 0, sizeof(*e));
    e->pb.body = ELAINE__EVENT__BODY_CONN_OPEN;
    e->pb.conn_id = conn_id;
    e->pb.mono_ns = elaine_mono_ns();
    e->meta = malloc(sizeof(struct conn_meta));
    if (!e->meta)
        return;
    memcpy(e->meta, m, sizeof(*m));
    open_fields(e);
    r->n++;
}

/* Connections closed while their events wait unacknowledged: the collector
 * that gets them resent must learn them too. Under q_lock. */
static void collect_closed(struct reannounce *r)
{
    for (struct ev *e = q_head; e; e = e->next)
        if (e->pb.body == ELAINE__EVENT__BODY_CLOSE && e->meta)
            reannounce_add(r, e->pb.conn_id, e->meta);
}

static void collect_live(struct elaine_conn *c, void *ud)
{
    struct conn_meta m;
    fill_meta(&m, c);
    reannounce_add(ud, c->id, &m);
}

/* The hello of this process, pointing into hi and argv (64 entries). */
static void fill_hello(Elaine__Hello *hello, const struct hello_info *hi, char **argv)
{
    elaine__hello__init(hello);
    hello->pid = (uint32_t)getpid();
    hello->ppid = (uint32_t)getppid();
    hello->uid = (uint32_t)getuid();
    hello->start_time = hi->start_time;
    hello->exe = (char *)hi->exe;
    size_t argc = 0;
    for (size_t off = 0; off < hi->cmdline_len && argc < 64; argc++) {
        argv[argc] = (char *)hi->cmdline + off;
        off += strlen(hi->cmdline + off) + 1;
    }
    hello->n_argv = argc;
    hello->argv = argv;
    hello->shim_version = (char *)ELAINE_SHIM_VERSION;
    hello->sync_mode = elaine_cfg.sync;
}

/* The sender's frame buffer, kept from one batch to the next unless a big
 * batch made it larger than SB_KEEP. Only the sender thread uses it. */
#define SB_KEEP (256u << 10)
static uint8_t *sb_buf;
static size_t sb_cap;

/* Sends one batch: hello (when first on this socket), then events, each
 * encoded straight into the frame. 0, -1 (socket gone, or no memory) or -2
 * (the exit flush gave up on it). */
static int send_batch(struct hello_info *hi, int with_hello, struct ev **evs, size_t n,
                      struct reannounce *ra)
{
    char *argv[64];
    Elaine__Hello hello;
    size_t hello_len = 0, max = ELAINE_FRAME_HDR;
    int rc = -1;

    if (with_hello) {
        fill_hello(&hello, hi, argv);
        hello_len = elaine__hello__get_packed_size(&hello);
        max += 11 + hello_len;
    }
    for (size_t i = 0; ra && i < ra->n; i++)
        max += elaine_pb_batch_event_max(&ra->evs[i].pb);
    for (size_t i = 0; i < n; i++)
        max += elaine_pb_batch_event_max(&evs[i]->pb);
    if (max > sb_cap) {
        free(sb_buf);
        sb_cap = (max + 0xffff) & ~(size_t)0xffff; /* whole 64 KiB: fewer regrowths */
        sb_buf = malloc(sb_cap);
        if (!sb_buf) {
            sb_cap = 0;
            return -1;
        }
    }
    uint8_t *payload = sb_buf + ELAINE_FRAME_HDR, *p = payload;
    if (with_hello) {
        p = elaine_pb_put_batch_hello(p, hello_len);
        p += elaine__hello__pack(&hello, p);
    }
    for (size_t i = 0; ra && i < ra->n; i++)
        p = elaine_pb_put_batch_event(p, &ra->evs[i].pb);
    for (size_t i = 0; i < n; i++)
        p = elaine_pb_put_batch_event(p, &evs[i]->pb);
    size_t len = (size_t)(p - payload);
    if (len >= COMPRESS_MIN) {
        uint8_t *frame = NULL;
        size_t frame_len = 0;
        if (elaine_frame_pack(payload, len, 1, &frame, &frame_len) == 0)
            rc = send_all(frame, frame_len);
        free(frame);
    } else {
        elaine_frame_put_header(sb_buf, len, 0);
        rc = send_all(sb_buf, ELAINE_FRAME_HDR + len);
    }
    if (sb_cap > SB_KEEP) {
        free(sb_buf);
        sb_buf = NULL;
        sb_cap = 0;
    }
    return rc;
}

static void apply_ack(uint64_t watermark)
{
    pthread_mutex_lock(&q_lock);
    while (q_head && q_head->pb.seq < watermark && q_head != q_cursor) {
        struct ev *e = q_head;
        q_head = e->next;
        if (!q_head)
            q_tail = NULL;
        q_bytes -= e->cost;
        if (e == q_batch) { /* acknowledged: that batch is whole in the collector */
            q_batch = NULL;
            q_batch_n = 0;
        }
        ev_free(e);
    }
    pthread_cond_broadcast(&q_space);
    pthread_mutex_unlock(&q_lock);
}

/* Reads whatever acknowledgements are waiting. -1 when the socket is gone. */
static int read_acks(struct elaine_frame_dec *dec)
{
    uint8_t buf[4096];
    if (!sock_still_ours())
        return -1;
    for (;;) {
        ssize_t n = recv(sock_fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        if (elaine_frame_dec_feed(dec, buf, (size_t)n) < 0)
            return -1;
        uint8_t *payload;
        size_t plen;
        uint64_t top = 0; /* watermarks only grow: the last one says it all */
        int r;
        while ((r = elaine_frame_dec_next(dec, &payload, &plen)) == 1) {
            uint64_t watermark;
            int ok = elaine_pb_get_ack(payload, plen, &watermark) == 0;
            free(payload);
            if (!ok) {
                r = -1;
                break;
            }
            if (watermark > top)
                top = watermark;
        }
        if (top)
            apply_ack(top);
        if (r < 0)
            return -1;
        /* A short read emptied the socket: spare the recv() that would say
         * so (what comes later is read after the next batch, or wakes poll). */
        if ((size_t)n < sizeof(buf))
            return 0;
    }
}

static void *sender_main(void *arg)
{
    (void)arg;
    struct hello_info *hi = calloc(1, sizeof(*hi));
    struct elaine_frame_dec dec;
    int backoff_ms = 50, need_hello = 1;
    uint64_t batch_ns = 0; /* when the last batch was taken */

    elaine_in_shim = 1;
    if (!hi)
        return NULL;
    load_hello(hi);
    atomic_store_explicit(&sender_hello, hi, memory_order_release);
    elaine_frame_dec_init(&dec);

    for (;;) {
        /* The exit flush gave up and counted what is left as dropped: nothing
         * more may reach the collector (it would be counted twice). */
        pthread_mutex_lock(&q_lock);
        while (q_gave_up)
            pthread_cond_wait(&q_sent, &q_lock);
        /* Events came while the last batch was written: let more join them
         * (one batch, one send and one ack for many events), unless the exit
         * flush waits or the queue fills. */
        uint64_t pace_ns = 0;
        if (q_cursor && sock_fd >= 0 && !need_hello && !q_flushing &&
            q_bytes < elaine_cfg.queue_bytes / 2) {
            uint64_t since = elaine_mono_ns() - batch_ns;
            if (since < (uint64_t)BUSY_LINGER_NS)
                pace_ns = (uint64_t)BUSY_LINGER_NS - since;
        }
        pthread_mutex_unlock(&q_lock);
        if (pace_ns) {
            struct timespec ts = {0, (long)pace_ns};
            nanosleep(&ts, NULL);
        }
        if (sock_fd < 0) {
            int crc = try_connect();
            pthread_mutex_lock(&q_lock);
            q_tried = 1;
            pthread_cond_broadcast(&q_sent);
            pthread_mutex_unlock(&q_lock);
            if (crc < 0) {
                pthread_mutex_lock(&q_lock);
                int exiting = q_exiting;
                if (!exiting) {
                    struct timespec ts;
                    clock_gettime(CLOCK_REALTIME, &ts);
                    ts.tv_nsec += (long)(q_flushing ? 50 : backoff_ms) * 1000000L;
                    ts.tv_sec += ts.tv_nsec / 1000000000L;
                    ts.tv_nsec %= 1000000000L;
                    pthread_cond_timedwait(&q_sent, &q_lock, &ts);
                }
                pthread_mutex_unlock(&q_lock);
                if (backoff_ms < 1000)
                    backoff_ms *= 2;
                continue;
            }
            backoff_ms = 50;
            need_hello = 1;
            elaine_frame_dec_free(&dec);
            elaine_frame_dec_init(&dec);
        }

        struct reannounce ra = {0};
        if (need_hello) {
            elaine_conn_each(collect_live, &ra);
            pthread_mutex_lock(&q_lock);
            collect_closed(&ra);
            pthread_mutex_unlock(&q_lock);
        }

        /* Take the next run of unsent events; only this thread frees events. */
        struct ev *evs[BATCH_EVENTS];
        size_t n = 0, bytes = 0;
        pthread_mutex_lock(&q_lock);
        if (q_gave_up) {
            pthread_mutex_unlock(&q_lock);
            for (size_t i = 0; i < ra.n; i++)
                free(ra.evs[i].meta);
            free(ra.evs);
            continue;
        }
        if (q_drop_events) {
            struct ev *d = calloc(1, sizeof(*d));
            if (d) {
                d->pb.body = ELAINE__EVENT__BODY_DROP;
                d->cost = sizeof(*d);
                d->pb.drop_events = q_drop_events;
                d->pb.drop_bytes = q_drop_bytes;
                d->pb.seq = q_next_seq++;
                q_drop_events = q_drop_bytes = 0;
                q_bytes += d->cost;
                if (q_tail)
                    q_tail->next = d;
                else
                    q_head = d;
                q_tail = d;
                if (!q_cursor)
                    q_cursor = d;
            }
        }
        while (q_cursor && n < BATCH_EVENTS && bytes < BATCH_BYTES) {
            evs[n++] = q_cursor;
            bytes += q_cursor->pb.len + 64;
            q_cursor = q_cursor->next;
        }
        if (n == 0 && !need_hello) {
            q_sleeping = 1;
            pthread_cond_broadcast(&q_sent);
            pthread_mutex_unlock(&q_lock);
            if (!fd_is(wake_rd, wake_dev, wake_ino))
                wake_renew(); /* closed or taken over by the application */
            struct pollfd pfd[2] = {{.fd = sock_fd, .events = POLLIN}, {.fd = wake_rd, .events = POLLIN}};
            poll(pfd, 2, 500);
            pthread_mutex_lock(&q_lock);
            q_sleeping = 0;
            pthread_mutex_unlock(&q_lock);
            if ((pfd[1].revents & POLLIN) && fd_is(wake_rd, wake_dev, wake_ino)) {
                char buf[64];
                while (read(wake_rd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
                    ; /* a short read emptied the pipe */
                pthread_mutex_lock(&q_lock);
                int flushing = q_flushing;
                pthread_mutex_unlock(&q_lock);
                if (!flushing) {
                    struct timespec ts = {0, LINGER_NS};
                    nanosleep(&ts, NULL);
                }
            }
            if (read_acks(&dec) < 0)
                disconnect();
            continue;
        }
        q_sending = 1; /* the cursor moved on, but these are not in the socket yet */
        batch_ns = elaine_mono_ns();
        q_batch = n ? evs[0] : NULL;
        q_batch_n = n;
        pthread_mutex_unlock(&q_lock);

        int rc = send_batch(hi, need_hello, evs, n, &ra);
        for (size_t i = 0; i < ra.n; i++)
            free(ra.evs[i].meta);
        free(ra.evs);
        if (rc == -2) {
            /* Given up at exit: the batch stays where it is, counted by the
             * exit flush; the socket is left as it is (closed at exit). */
            pthread_mutex_lock(&q_lock);
            q_batch_cut = 1;
            q_sending = 0;
            pthread_cond_broadcast(&q_sent);
            pthread_mutex_unlock(&q_lock);
            continue;
        }
        if (rc < 0 || read_acks(&dec) < 0) {
            elaine_dbg("collector connection lost");
            disconnect(); /* rewinds the cursor over them */
        } else {
            need_hello = 0;
        }
        pthread_mutex_lock(&q_lock);
        q_sending = 0;
        pthread_cond_broadcast(&q_sent);
        pthread_cond_broadcast(&q_space); /* sync waiters re-check (see sync_should_wait) */
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

void elaine_sender_start(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&sender_started, &expected, 1))
        return;
    wake_renew();
    /* The thread gets no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&sender_thread, &attr, sender_main, NULL) != 0)
        elaine_dbg("pthread_create() failed: capture disabled");
    else
        pthread_setname_np(sender_thread, "elaine-sender"); /* top -H, perf, /proc/PID/task */
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Adds the events from e on (n of them, or to the end when n is SIZE_MAX)
 * to a loss count: a drop report counts what it reports. Under q_lock. */
static void count_lost(const struct ev *e, size_t n, uint64_t *events, uint64_t *bytes)
{
    for (; e && n; e = e->next, n--) {
        if (e->pb.body == ELAINE__EVENT__BODY_DROP) {
            *events += e->pb.drop_events;
            *bytes += e->pb.drop_bytes;
        } else {
            *events += 1;
            *bytes += e->pb.len;
        }
    }
}

/* The exit flush gave up with events still queued: tells the collector how
 * many on a fresh connection of its own (the sender's may be stalled). A
 * unix stream connect succeeds into the listen backlog even while the
 * collector does not run, and the one small frame fits in the empty socket
 * buffer: nothing here waits. The Drop event has no sequence number (0): the
 * collector writes its drop line without attaching this connection to the
 * process, so it neither replaces the process's own connection (which may
 * still hold unread events) nor moves its sequence, watermark or dedupe. */
static void send_exit_report(uint64_t events, uint64_t bytes)
{
    const struct hello_info *hi = atomic_load_explicit(&sender_hello, memory_order_acquire);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(elaine_cfg.socket);
    if (!hi || plen >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, elaine_cfg.socket, plen);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return;
    struct ucred cr = {.uid = (uid_t)-1};
    socklen_t crl = sizeof(cr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || (cr.uid != geteuid() && cr.uid != 0)) {
        close(fd);
        return;
    }
    char *argv[64];
    Elaine__Hello hello;
    Elaine__Drop drop;
    Elaine__Event ev, *evp = &ev;
    Elaine__Batch batch;
    fill_hello(&hello, hi, argv);
    elaine__drop__init(&drop);
    drop.events = events;
    drop.bytes = bytes;
    elaine__event__init(&ev);
    ev.seq = 0;
    ev.body_case = ELAINE__EVENT__BODY_DROP;
    ev.drop = &drop;
    elaine__batch__init(&batch);
    batch.hello = &hello;
    batch.n_events = 1;
    batch.events = &evp;
    /* No malloc here: _exit() may come from a signal handler. The frame is
     * built in place (header as in elaine_frame.h, payload not compressed);
     * one exit report per process at most (q_gave_up is set once). */
    static uint8_t frame[ELAINE_FRAME_HDR + 9216];
    size_t len = elaine__batch__get_packed_size(&batch);
    if (len > sizeof(frame) - ELAINE_FRAME_HDR) { /* cannot be: exe and cmdline are 4 KiB each */
        hello.n_argv = 0;
        len = elaine__batch__get_packed_size(&batch);
    }
    if (len <= sizeof(frame) - ELAINE_FRAME_HDR) {
        memcpy(frame, "ELN1", 4);
        frame[4] = ELAINE_PROTO_VERSION;
        frame[5] = frame[6] = frame[7] = 0;
        for (int i = 0; i < 4; i++)
            frame[8 + i] = (uint8_t)(len >> (8 * i));
        elaine__batch__pack(&batch, frame + ELAINE_FRAME_HDR);
        size_t frame_len = ELAINE_FRAME_HDR + len;
        ssize_t w = send(fd, frame, frame_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        elaine_dbg("exit: %llu events (%llu bytes) not handed to the collector: %s",
                   (unsigned long long)events, (unsigned long long)bytes,
                   w == (ssize_t)frame_len ? "reported as dropped" : "report failed");
    }
    close(fd);
}

void elaine_sender_flush_at_exit(void)
{
    if (!atomic_load(&sender_started))
        return;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += EXIT_FLUSH_MS / 1000;
    /* Bounded: _exit() and exit() may come from a signal handler that
     * interrupted a holder of q_lock. */
    if (pthread_mutex_timedlock(&q_lock, &deadline) != 0)
        return;
    if (q_gave_up) { /* a second exit path after the first one gave up */
        pthread_mutex_unlock(&q_lock);
        return;
    }
    q_flushing = 1;
    pthread_cond_broadcast(&q_sent); /* cut a reconnect backoff short */
    /* Wait, bounded, while a collector can take the events: one is connected,
     * the first attempt is still to come, or one answered before (it may be
     * restarting). With no collector at all, exit at once. Counted drops not
     * yet reported are waited for too: the sender turns them into an event. */
    while ((q_cursor || q_sending || q_drop_events) && (q_connected || !q_tried || q_ever_connected)) {
        if (pthread_cond_timedwait(&q_sent, &q_lock, &deadline) == ETIMEDOUT)
            break;
    }
    uint64_t lost_events = 0, lost_bytes = 0;
    int report = 0;
    if (q_cursor || q_sending || q_drop_events) {
        /* Giving up: what did not completely reach the socket is lost, and is
         * counted. The sender stops before its next send() (one returns
         * within SEND_TIMEOUT_MS): its batch is then either whole in the
         * socket or cut, never finished later. */
        q_gave_up = 1;
        atomic_store_explicit(&sender_abandon, 1, memory_order_release);
        pthread_cond_broadcast(&q_sent);
        struct timespec let_go;
        clock_gettime(CLOCK_REALTIME, &let_go);
        let_go.tv_nsec += LET_GO_MS * 1000000L;
        let_go.tv_sec += let_go.tv_nsec / 1000000000L;
        let_go.tv_nsec %= 1000000000L;
        while (q_sending && pthread_cond_timedwait(&q_sent, &q_lock, &let_go) != ETIMEDOUT)
            ;
        if (q_sending || q_batch_cut) /* still sending: counted as lost too */
            count_lost(q_batch, q_batch_n, &lost_events, &lost_bytes);
        count_lost(q_cursor, SIZE_MAX, &lost_events, &lost_bytes);
        lost_events += q_drop_events;
        lost_bytes += q_drop_bytes;
        q_drop_events = q_drop_bytes = 0;
        /* Only a collector that answered once can be told. */
        report = lost_events && q_ever_connected;
    }
    q_exiting = 1;
    pthread_cond_broadcast(&q_space);
    pthread_mutex_unlock(&q_lock);
    if (report) {
        int in_shim = elaine_in_shim;
        elaine_in_shim = 1;
        send_exit_report(lost_events, lost_bytes);
        elaine_in_shim = in_shim;
    }
}

void elaine_queue_atfork_prepare(void)
{
    pthread_mutex_lock(&q_lock);
}

void elaine_queue_atfork_parent(void)
{
    pthread_mutex_unlock(&q_lock);
}

void elaine_queue_atfork_child(void)
{
    /* The child starts empty: the parent's events are the parent's to send.
     * Their memory is leaked here rather than walked (fork must stay cheap). */
    q_head = q_tail = q_cursor = NULL;
    q_block = q_spare = NULL;
    q_nspare = 0;
    sb_buf = NULL; /* the parent's sender may be between free() and malloc() of it */
    sb_cap = 0;
    q_bytes = 0;
    q_next_seq = 1;
    q_drop_events = q_drop_bytes = 0;
    q_connected = q_sleeping = q_exiting = q_tried = q_ever_connected = q_flushing = q_sending = 0;
    q_batch = NULL;
    q_batch_n = 0;
    q_batch_cut = q_gave_up = 0;
    atomic_store(&sender_abandon, 0);
    atomic_store(&sender_hello, NULL); /* the parent's identity; the child's sender loads its own */
    if (sock_fd >= 0)
        close(sock_fd);
    if (fd_is(wake_rd, wake_dev, wake_ino))
        close(wake_rd);
    if (fd_is(wake_wr, wake_dev, wake_ino))
        close(wake_wr);
    sock_fd = wake_rd = wake_wr = -1;
    atomic_store(&sender_started, 0);
    tl_tid = 0;
    pthread_mutex_init(&q_lock, NULL);
    pthread_cond_init(&q_space, NULL);
    pthread_cond_init(&q_sent, NULL);
}
