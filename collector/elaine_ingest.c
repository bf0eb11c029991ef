/* The collector's server: Unix socket, epoll loop, shim clients, per-process state, acks, log lines. */
#include "elaine_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "elaine.pb-c.h"
#include "elaine_exchange.h"
#include "elaine_frame.h"
#include "elaine_metrics.h"
#include "elaine_mhttp.h"
#include "elaine_pbdec.h"
#include "elaine_paths.h"
#include "elaine_stack.h"

#define READ_CHUNK (64u << 10)
#define READS_PER_WAKEUP 16
#define OUT_MAX (64u << 10) /* unsent ack bytes before a client counts as stuck */
/* A frame that has begun must be whole within this time: a shim writes a
 * frame at once, so a partial frame that stays is a stuck or hostile client
 * (slowloris) holding up to 16 MiB of our memory. It is closed; a real shim
 * reconnects and resends what was not acknowledged. */
#define FRAME_TIMEOUT_MS 10000

enum { W_LISTEN, W_STOP, W_SIGNAL, W_CLIENT, W_METRICS, W_METRICS_CONN };

struct watch {
    int kind;
};

typedef struct proc proc;
typedef struct client client;

/* One socket connection of a shim. */
struct client {
    struct watch w;
    client *next;
    int fd;
    int closed;   /* waiting in the graveyard to be freed */
    int broken;   /* close at the next chance */
    int acks_dead; /* the shim closed its end: no more acks, but read what it sent until EOF */
    uid_t uid;
    pid_t cred_pid;
    struct elaine_frame_dec dec;
    proc *proc;
    uint64_t acked; /* last watermark sent */
    uint64_t frame_start_ms; /* a partial frame is buffered since then; 0: none */
    size_t buffered;         /* the frame decoder's footprint, as last counted */
    elaine_buf out;
    size_t out_off;
    int want_out;
};

/* One captured process, keyed by (pid, start_time); outlives its client for a while. */
struct proc {
    proc *next;
    uint32_t pid;
    uint64_t start_time;
    elaine_exchange_proc *x;
    client *client;     /* NULL: detached */
    uint64_t detached_ms;
};

struct elaine_ingest {
    elaine_ingest_opts o;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    ino_t sock_ino;
    int lfd, epfd, stopfd, sigfd;
    int accept_paused;
    struct watch wl, ws, wsig;
    elaine_logw *log;
    client *clients, *graveyard;
    size_t buffered; /* frame decoders of all clients; bounded by o.max_buffered */
    proc *procs;
    elaine_counters c;
    client *wbuf_client;    /* the client of the exchange lines in the log's line buffer; NULL: lines are written one by one */
    uint64_t wbuf_exchanges;
    int stopping;
    int write_failing; /* an error was reported; quiet until a write succeeds */
    int replay;        /* writing works again: get the held exchanges resent */
    uint64_t last_tick_ms;
    uint8_t *pb_chunk; /* the arena of unpacked batches (pb_alloc); NULL: all malloc'd */
    size_t pb_cap, pb_used, pb_want;
    struct pb_big *pb_bigs;
    elaine_metrics *metrics; /* --metrics: counted exchanges; NULL: off */
    elaine_mhttp *mhttp;     /* its endpoint */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- writing lines ---- */

/* Counts and reports a write's outcome rc; returns it. */
static int wrote(elaine_ingest *s, int rc)
{
    if (rc < 0) {
        s->c.write_errors++;
        if (!s->write_failing)
            fprintf(stderr, "elaine-collector: write() to %s/elaine.jsonl failed: %s\n",
                    s->o.log.dir, strerror(-rc));
        s->write_failing = 1;
        return rc;
    }
    if (s->write_failing)
        s->replay = 1;
    s->write_failing = 0;
    return 0;
}

static int write_line(elaine_ingest *s, elaine_buf *b)
{
    return wrote(s, b->oom ? -ENOMEM : elaine_logw_write(s->log, b->p ? b->p : "", b->len));
}

/* The exchange lines of one batch (handle_batch) are gathered in the log's
 * line buffer (elaine_logw_lines, which its zstd shadow reads in place) and
 * written with one write at its end, or every WBUF_MAX bytes: a batch of a
 * hundred records costs one system call, not a hundred. Acks go out only
 * after that, so an ack still means "written". A failed write holds the
 * process at the last watermark its client was sent: every exchange in the
 * buffer ended after it, and the shim keeps all events from there on and
 * sends them again once writing works (replay_held). */
#define WBUF_MAX (1u << 20)

static int flush_lines(elaine_ingest *s)
{
    if (!elaine_logw_pending(s->log) && !elaine_logw_lines(s->log)->oom)
        return 0;
    int rc = wrote(s, elaine_logw_flush(s->log));
    if (rc == 0)
        s->c.exchanges_written += s->wbuf_exchanges;
    else if (s->wbuf_client && s->wbuf_client->proc)
        elaine_exchange_hold(s->wbuf_client->proc->x, s->wbuf_client->acked);
    s->wbuf_exchanges = 0;
    return rc;
}

static void write_collector(elaine_ingest *s, const char *event)
{
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_collector(&b, wall_ns(), event, (uint32_t)getpid(), &s->c);
    write_line(s, &b);
    elaine_buf_free(&b);
}

static void on_new_file(void *ud)
{
    write_collector(ud, "rotate");
}

static int sink_exchange(void *ud, const elaine_xrec *x)
{
    elaine_ingest *s = ud;
    if (s->metrics)
        elaine_metrics_exchange(s->metrics, x);
    if (s->o.sample < 1.0 && !elaine_record_failed(x)) {
        char id[96];
        elaine_record_id(id, sizeof(id), x);
        if (!elaine_record_sample_keep(id, s->o.sample, s->o.sample_seed)) {
            s->c.sampled_out++;
            return 0;
        }
    }
    if (!s->log)
        return wrote(s, -EIO);
    elaine_buf *b = elaine_logw_lines(s->log);
    size_t at = b->len;
    elaine_record_exchange(b, x, s->o.content);
    if (b->len > at && memchr(b->p + at, '\n', b->len - at)) { /* it would split the record */
        b->len = at;
        b->p[at] = 0;
        return wrote(s, -EINVAL);
    }
    elaine_buf_add(b, "\n", 1);
    s->wbuf_exchanges++;
    /* outside a batch (a process finalized, shutdown) the line goes at once,
     * and a failure holds the exchange itself (elaine_exchange.c) */
    if (!s->wbuf_client)
        return flush_lines(s);
    if (elaine_logw_pending(s->log) >= WBUF_MAX)
        flush_lines(s); /* a failure holds the batch's process there */
    return 0;
}

static int sink_drop(void *ud, uint32_t pid, uint64_t events, uint64_t bytes)
{
    elaine_ingest *s = ud;
    flush_lines(s); /* the exchange lines before it stay before it */
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_record_drop(&b, wall_ns(), pid, events, bytes);
    int rc = write_line(s, &b);
    elaine_buf_free(&b);
    if (rc < 0)
        return rc;
    s->c.drops_reported++;
    s->c.dropped_events += events;
    return 0;
}

/* ---- acks ---- */

static void flush_out(elaine_ingest *s, client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->out.len - c->out_off > OUT_MAX) {
                c->broken = 1;
                return;
            }
            if (!c->want_out) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &c->w};
                epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
                c->want_out = 1;
            }
            return;
        }
        /* EPIPE, ECONNRESET: the shim is gone (a process that exited at once,
         * wrk), but what it wrote before is still in our receive buffer: keep
         * reading until EOF, only the acks stop (dropping them loses nothing) */
        c->acks_dead = 1;
        c->out_off = c->out.len;
        break;
    }
    elaine_buf_reset(&c->out);
    c->out_off = 0;
    if (c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->w};
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = 0;
    }
}

static void send_ack(elaine_ingest *s, client *c)
{
    if (!c->proc || c->closed || c->broken || c->acks_dead)
        return;
    uint64_t wm = elaine_exchange_watermark(c->proc->x);
    if (wm <= c->acked)
        return;
    Elaine__Ack ack = ELAINE__ACK__INIT;
    ack.watermark = wm;
    uint8_t buf[16];
    size_t len = elaine__ack__pack(&ack, buf);
    uint8_t *frame;
    size_t flen;
    if (elaine_frame_pack(buf, len, 0, &frame, &flen) < 0)
        return;
    elaine_buf_add(&c->out, frame, flen);
    free(frame);
    c->acked = wm;
    flush_out(s, c);
}

/* ---- processes ---- */

static void proc_free(elaine_ingest *s, proc *p)
{
    for (proc **pp = &s->procs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->client)
        p->client->proc = NULL;
    elaine_exchange_proc_free(p->x);
    free(p);
}

/* Writes what the process had in flight, acks it to a client still attached, forgets it. */
static void proc_finalize(elaine_ingest *s, proc *p, const char *error)
{
    elaine_exchange_finish_all(p->x, error);
    if (p->client)
        send_ack(s, p->client);
    proc_free(s, p);
}

static proc *proc_find(elaine_ingest *s, uint32_t pid, uint64_t start_time)
{
    for (proc *p = s->procs; p; p = p->next)
        if (p->pid == pid && p->start_time == start_time)
            return p;
    return NULL;
}

/* ---- clients ---- */

static void client_close(elaine_ingest *s, client *c, const char *why)
{
    if (c->closed)
        return;
    if (why && (s->o.verbose || strncmp(why, "malformed", 9) == 0))
        fprintf(stderr, "elaine-collector: client pid %d: %s; connection closed\n", (int)c->cred_pid,
                why);
    s->buffered -= c->buffered;
    c->buffered = 0;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->closed = 1;
    for (client **pp = &s->clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = s->graveyard;
    s->graveyard = c;
    proc *p = c->proc;
    c->proc = NULL;
    if (!p)
        return;
    p->client = NULL;
    if (!elaine_stack_proc_alive(p->pid, p->start_time) || s->stopping)
        proc_finalize(s, p, s->stopping ? ELAINE_ERR_SHUTDOWN : ELAINE_ERR_EXITED);
    else
        p->detached_ms = now_ms();
}

static void bury(elaine_ingest *s)
{
    while (s->graveyard) {
        client *c = s->graveyard;
        s->graveyard = c->next;
        elaine_frame_dec_free(&c->dec);
        elaine_buf_free(&c->out);
        free(c);
    }
}

static int attach(elaine_ingest *s, client *c, const Elaine__Hello *h)
{
    if (c->proc) /* a repeated hello must name the same process */
        return c->proc->pid == h->pid && c->proc->start_time == h->start_time ? 0 : -EPROTO;
    if (h->pid == 0)
        return -EPROTO;
    if (s->o.verbose && c->cred_pid > 0 && (uint32_t)c->cred_pid != h->pid)
        fprintf(stderr, "elaine-collector: hello from pid %" PRIu32 " on a socket of pid %d\n",
                h->pid, (int)c->cred_pid);
    proc *p = proc_find(s, h->pid, h->start_time);
    if (p && p->client && p->client != c) {
        client *old = p->client;
        old->proc = NULL;
        p->client = NULL;
        client_close(s, old, "replaced by a newer connection of the same process");
    }
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return -ENOMEM;
        elaine_exchange_opts xo = {
            .max_body = s->o.max_body,
            .name_stacks = s->o.name_stacks,
            .verbose = s->o.verbose,
            .sink = {.ud = s, .exchange = sink_exchange, .drop = sink_drop},
        };
        p->x = elaine_exchange_proc_new(&xo, h->pid, h->start_time, h->exe);
        if (!p->x) {
            free(p);
            return -ENOMEM;
        }
        p->pid = h->pid;
        p->start_time = h->start_time;
        p->next = s->procs;
        s->procs = p;
    }
    p->client = c;
    c->proc = p;
    c->acked = 0;
    s->c.clients++;
    return 0;
}

/* An exit report: a shim whose exit flush gave up on its stalled connection
 * sends the number of events it could not write there on a fresh connection,
 * as a hello and unsequenced (seq 0) Drop events only. Their drop lines are
 * written at once and the connection is not attached: the process's own
 * connection (which may still hold unread events) is not replaced, and its
 * sequence numbers, watermark and dedupe are not touched. */
static int is_exit_report(const Elaine__Batch *b)
{
    if (!b->hello || b->hello->pid == 0 || !b->n_events)
        return 0;
    for (size_t i = 0; i < b->n_events; i++) {
        const Elaine__Event *ev = b->events[i];
        if (!ev || ev->seq != 0 || ev->body_case != ELAINE__EVENT__BODY_DROP || !ev->drop)
            return 0;
    }
    return 1;
}

/* ---- the decoded batch's allocations: a bump arena ----
 * A batch's messages (elaine_pbdec_batch) live until handle_batch ends, so
 * they come from one chunk instead of a malloc each, kept from
 * batch to batch and grown to what a batch needed (up to PB_CHUNK_MAX);
 * what does not fit is malloc'd and freed at the reset. */
#define PB_CHUNK (64u << 10)
#define PB_CHUNK_MAX (4u << 20)

struct pb_big {
    struct pb_big *next;
    max_align_t align[];
};

static void *pb_alloc(void *ud, size_t n)
{
    elaine_ingest *s = ud;
    n = (n + 15) & ~(size_t)15;
    s->pb_want += n;
    if (s->pb_chunk && n <= s->pb_cap - s->pb_used) {
        void *p = s->pb_chunk + s->pb_used;
        s->pb_used += n;
        return p;
    }
    struct pb_big *b = malloc(sizeof(*b) + n);
    if (!b)
        return NULL;
    b->next = s->pb_bigs;
    s->pb_bigs = b;
    return b->align;
}

static void pb_free(void *ud, void *p)
{
    (void)ud;
    (void)p; /* all at once, in pb_reset */
}

static void pb_reset(elaine_ingest *s)
{
    s->pb_used = 0;
    while (s->pb_bigs) {
        struct pb_big *b = s->pb_bigs;
        s->pb_bigs = b->next;
        free(b);
    }
    size_t want = s->pb_want < PB_CHUNK_MAX ? s->pb_want : PB_CHUNK_MAX;
    s->pb_want = 0;
    if (want > s->pb_cap || !s->pb_chunk) { /* the next batch like this one fits */
        size_t cap = s->pb_cap ? s->pb_cap : PB_CHUNK;
        while (cap < want)
            cap *= 2;
        free(s->pb_chunk);
        s->pb_chunk = malloc(cap);
        s->pb_cap = s->pb_chunk ? cap : 0;
    }
}

/* One frame's payload: a Batch. 0, or <0 when the client must go. */
static int handle_batch(elaine_ingest *s, client *c, const uint8_t *payload, size_t len)
{
    ProtobufCAllocator pa = {.alloc = pb_alloc, .free = pb_free, .allocator_data = s};
    Elaine__Batch *b = elaine_pbdec_batch(payload, len, &pa); /* Data points into payload */
    if (!b) {
        pb_reset(s);
        return -EPROTO;
    }
    int rc = 0;
    if (!c->proc && is_exit_report(b)) {
        for (size_t i = 0; i < b->n_events; i++)
            sink_drop(s, b->hello->pid, b->events[i]->drop->events, b->events[i]->drop->bytes);
        pb_reset(s);
        return 0;
    }
    if (b->hello)
        rc = attach(s, c, b->hello);
    if (rc == 0 && !c->proc && b->n_events)
        rc = -EPROTO; /* events before hello */
    s->wbuf_client = c;
    for (size_t i = 0; rc == 0 && i < b->n_events; i++) {
        if (!b->events[i] || elaine_exchange_event(c->proc->x, b->events[i]) < 0)
            rc = -EPROTO;
    }
    flush_lines(s);
    s->wbuf_client = NULL;
    pb_reset(s);
    return rc;
}

/* Counts c's frame buffer again; over the bound for all clients together,
 * the client holding the biggest partial frame is closed (an honest shim
 * reconnects and sends it again; many hostile clients cannot add up to more
 * than the bound). 1 when c itself was closed. */
static int account_buffered(elaine_ingest *s, client *c)
{
    size_t now = elaine_frame_dec_footprint(&c->dec);
    s->buffered = s->buffered - c->buffered + now;
    c->buffered = now;
    while (s->buffered > s->o.max_buffered) {
        client *big = NULL;
        for (client *k = s->clients; k; k = k->next)
            if (!k->closed && elaine_frame_dec_pending(&k->dec) && (!big || k->buffered > big->buffered))
                big = k;
        if (!big)
            break;
        client_close(s, big, "malformed frame (partial frames of all clients over --max-buffered)");
    }
    return c->closed;
}

static void client_read(elaine_ingest *s, client *c)
{
    for (int i = 0; i < READS_PER_WAKEUP && !c->closed && !c->broken; i++) {
        /* straight into the client's frame buffer: no copy */
        size_t room = 0;
        uint8_t *buf = elaine_frame_dec_room(&c->dec, READ_CHUNK, &room);
        if (!buf) {
            client_close(s, c, "malformed frame (or out of memory)");
            return;
        }
        ssize_t n = read(c->fd, buf, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            send_ack(s, c);
            client_close(s, c, n < 0 ? "read() failed" : NULL);
            return;
        }
        elaine_frame_dec_commit(&c->dec, (size_t)n);
        if (account_buffered(s, c))
            return;
        for (;;) {
            uint8_t *payload;
            size_t len;
            int rc = elaine_frame_dec_view(&c->dec, &payload, &len); /* valid until the next call */
            if (rc == 0)
                break;
            if (rc < 0) {
                send_ack(s, c);
                client_close(s, c, rc == -EMSGSIZE ? "malformed frame (too large)"
                                   : rc == -EIO    ? "malformed frame (zstd failed)"
                                                   : "malformed frame (bad header)");
                return;
            }
            rc = handle_batch(s, c, payload, len);
            c->frame_start_ms = 0; /* progress: the clock starts again for the next frame */
            if (rc < 0) {
                send_ack(s, c);
                client_close(s, c, rc == -ENOMEM ? "out of memory" : "malformed batch");
                return;
            }
        }
    }
    account_buffered(s, c); /* the frames taken out may have freed the buffer */
    if (elaine_frame_dec_pending(&c->dec) && !c->frame_start_ms)
        c->frame_start_ms = now_ms();
    else if (!elaine_frame_dec_pending(&c->dec))
        c->frame_start_ms = 0;
    send_ack(s, c);
    if (c->broken)
        client_close(s, c, "ack write failed");
}

static void do_accept(elaine_ingest *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
                fprintf(stderr, "elaine-collector: accept4() failed: %s; pausing accepts\n",
                        strerror(errno));
                epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
                s->accept_paused = 1;
            }
            return;
        }
        struct ucred cr;
        socklen_t cl = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
            (cr.uid != getuid() && cr.uid != 0)) {
            s->c.clients_rejected++;
            if (s->o.verbose)
                fprintf(stderr, "elaine-collector: refused a client of another user\n");
            close(fd);
            continue;
        }
        client *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->w.kind = W_CLIENT;
        c->fd = fd;
        c->uid = cr.uid;
        c->cred_pid = cr.pid;
        elaine_frame_dec_init(&c->dec);
        elaine_buf_init(&c->out);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->w};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->clients;
        s->clients = c;
    }
}

static void tick(elaine_ingest *s)
{
    uint64_t now = now_ms();
    elaine_logw_tick(s->log, time(NULL));
    if (s->mhttp)
        elaine_mhttp_tick(s->mhttp, now);
    for (proc *p = s->procs, *next; p; p = next) {
        next = p->next;
        if (p->client)
            continue;
        if (!elaine_stack_proc_alive(p->pid, p->start_time))
            proc_finalize(s, p, ELAINE_ERR_EXITED);
        else if (now - p->detached_ms >= ELAINE_DETACH_KEEP_S * 1000u)
            proc_finalize(s, p, ELAINE_ERR_DISCONNECTED);
    }
    for (client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->frame_start_ms && now - c->frame_start_ms >= FRAME_TIMEOUT_MS)
            client_close(s, c, "malformed frame (not finished in time)");
    }
    if (s->accept_paused) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->wl};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) == 0)
            s->accept_paused = 0;
    }
    s->last_tick_ms = now;
}

/* Writing works again after a failure. A process whose line failed holds its
 * watermark below that exchange, so its shim still has every event from
 * there on: forget the process's state and close its connection; the shim
 * reconnects and resends them, and the exchanges are written now (those
 * written meanwhile again, with the same ids). Outside the event handlers. */
static void replay_held(elaine_ingest *s)
{
    s->replay = 0;
    for (proc *p = s->procs, *next; p; p = next) {
        next = p->next;
        if (!p->client || !elaine_exchange_held(p->x))
            continue;
        client *c = p->client;
        proc_free(s, p);
        client_close(s, c, "resend requested after a write error");
    }
}

static void handle_signal(elaine_ingest *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            int rc = elaine_logw_reopen(s->log);
            if (rc < 0)
                fprintf(stderr, "elaine-collector: reopen of %s/elaine.jsonl failed: %s\n",
                        s->o.log.dir, strerror(-rc));
        } else {
            s->stopping = 1;
        }
    }
}

int elaine_ingest_run(elaine_ingest *s)
{
    struct epoll_event evs[64];
    s->last_tick_ms = now_ms();
    while (!s->stopping) {
        uint64_t now = now_ms();
        int timeout = now - s->last_tick_ms >= 1000 ? 0 : (int)(1000 - (now - s->last_tick_ms));
        int n = epoll_wait(s->epfd, evs, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            fprintf(stderr, "elaine-collector: epoll_wait() failed: %s\n", strerror(errno));
            return rc;
        }
        for (int i = 0; i < n; i++) {
            struct watch *w = evs[i].data.ptr;
            switch (w->kind) {
            case W_LISTEN:
                do_accept(s);
                break;
            case W_STOP: {
                uint64_t v;
                if (read(s->stopfd, &v, sizeof(v)) < 0) {
                    /* nothing to do: level-triggered, stopping anyway */
                }
                s->stopping = 1;
                break;
            }
            case W_SIGNAL:
                handle_signal(s);
                break;
            case W_METRICS:
            case W_METRICS_CONN:
                elaine_mhttp_event(s->mhttp, w, evs[i].events);
                break;
            default: {
                client *c = (client *)w;
                if (c->closed)
                    break;
                if (evs[i].events & EPOLLOUT)
                    flush_out(s, c);
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    client_read(s, c);
                if (c->broken)
                    client_close(s, c, "ack write failed");
            }
            }
        }
        if (s->replay)
            replay_held(s);
        bury(s);
        if (now_ms() - s->last_tick_ms >= 1000)
            tick(s);
    }
    /* shutdown: read what has already arrived, write what is in flight, ack it, say goodbye */
    for (client *c = s->clients, *next; c; c = next) {
        next = c->next;
        client_read(s, c);
    }
    while (s->procs)
        proc_finalize(s, s->procs, ELAINE_ERR_SHUTDOWN);
    write_collector(s, "shutdown");
    while (s->clients)
        client_close(s, s->clients, NULL);
    bury(s);
    return 0;
}

void elaine_ingest_stop(elaine_ingest *s)
{
    uint64_t one = 1;
    if (write(s->stopfd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: a stop is pending */
    }
}

/* ---- setup ---- */

int elaine_ingest_ping(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int bind_socket(elaine_ingest *s, char *err, size_t errsize)
{
    char dir[sizeof(s->path)];
    snprintf(dir, sizeof(dir), "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = elaine_mkdirs(dir, 0700);
        if (rc < 0) {
            snprintf(err, errsize, "mkdir() \"%s\" failed: %s", dir, strerror(-rc));
            return rc;
        }
        /* another user who may write there can swap our socket for theirs */
        if ((rc = elaine_private_dir(dir, 1)) < 0) {
            snprintf(err, errsize, "socket folder \"%s\" refused: %s", dir,
                     rc == -EACCES ? "writable by others (chmod 700 it)"
                     : rc == -EPERM ? "owned by another user"
                                    : strerror(-rc));
            return rc;
        }
    }
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errsize, "\"%s\" exists and is not a socket", s->path);
            return -EEXIST;
        }
        if (elaine_ingest_ping(s->path) == 0) {
            snprintf(err, errsize, "already running on %s", s->path);
            return -EADDRINUSE;
        }
        unlink(s->path); /* stale */
    }
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) {
        int rc = -errno;
        snprintf(err, errsize, "socket() failed: %s", strerror(errno));
        return rc;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, s->path);
    mode_t old = umask(0177);
    int brc = bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa));
    int berr = errno;
    umask(old);
    if (brc < 0) {
        if (berr == EADDRINUSE)
            snprintf(err, errsize, "already running on %s", s->path);
        else
            snprintf(err, errsize, "bind() \"%s\" failed: %s", s->path, strerror(berr));
        return -berr;
    }
    if (lstat(s->path, &st) == 0)
        s->sock_ino = st.st_ino;
    if (listen(s->lfd, 128) < 0) {
        int rc = -errno;
        snprintf(err, errsize, "listen() \"%s\" failed: %s", s->path, strerror(errno));
        unlink(s->path);
        s->sock_ino = 0;
        return rc;
    }
    return 0;
}

/* The /metrics page: the exchanges counted, the counters, and what is open now. */
static void render_metrics(void *ud, elaine_buf *out)
{
    elaine_ingest *s = ud;
    elaine_metrics_gauges g = {0};
    for (const client *c = s->clients; c; c = c->next)
        g.clients += !c->closed;
    for (const proc *p = s->procs; p; p = p->next)
        g.processes++;
    elaine_metrics_render(s->metrics, out, &s->c, &g);
}

static int watch_fd(elaine_ingest *s, int fd, struct watch *w, int kind)
{
    w->kind = kind;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int elaine_ingest_new(elaine_ingest **out, const elaine_ingest_opts *o, char *err, size_t errsize)
{
    int rc;
    *out = NULL;
    err[0] = 0;
    elaine_ingest *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errsize, "out of memory");
        return -ENOMEM;
    }
    s->o = *o;
    if (!s->o.max_buffered)
        s->o.max_buffered = 256u << 20;
    s->lfd = s->epfd = s->stopfd = s->sigfd = -1;
    if (o->socket_path) {
        if (strlen(o->socket_path) >= sizeof(s->path)) {
            snprintf(err, errsize, "socket path \"%s\" is too long", o->socket_path);
            rc = -ENAMETOOLONG;
            goto out;
        }
        strcpy(s->path, o->socket_path);
    } else if ((rc = elaine_socket_path(s->path, sizeof(s->path), 1)) < 0) {
        snprintf(err, errsize, "the default socket path is too long");
        goto out;
    }
    rc = bind_socket(s, err, errsize);
    if (rc < 0)
        goto out;

    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epfd < 0 || s->stopfd < 0) {
        rc = -errno;
        snprintf(err, errsize, "epoll_create1()/eventfd() failed: %s", strerror(errno));
        goto out;
    }
    if (o->handle_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, NULL);
        s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sigfd < 0) {
            rc = -errno;
            snprintf(err, errsize, "signalfd() failed: %s", strerror(errno));
            goto out;
        }
    }
    if ((rc = watch_fd(s, s->lfd, &s->wl, W_LISTEN)) < 0 ||
        (rc = watch_fd(s, s->stopfd, &s->ws, W_STOP)) < 0 ||
        (s->sigfd >= 0 && (rc = watch_fd(s, s->sigfd, &s->wsig, W_SIGNAL)) < 0)) {
        snprintf(err, errsize, "epoll_ctl() failed: %s", strerror(-rc));
        goto out;
    }

    s->o.log.on_new_file = on_new_file;
    s->o.log.ud = s;
    rc = elaine_logw_open(&s->log, &s->o.log);
    if (rc < 0) {
        const char *d = o->log.dir ? o->log.dir : "";
        if (rc == -EACCES && elaine_private_dir(d, 0) == -EACCES)
            snprintf(err, errsize, "log folder \"%s\" refused: writable by others (chmod 700 it)", d);
        else if (rc == -EBUSY)
            snprintf(err, errsize, "log folder \"%s\" is in use by another elaine-collector", d);
        else if (rc == -EPERM)
            snprintf(err, errsize, "log folder \"%s\" refused: it or its elaine.jsonl is owned by another user", d);
        else
            snprintf(err, errsize, "open() \"%s/elaine.jsonl\" failed: %s", d, strerror(-rc));
        goto out;
    }
    if (o->metrics_addr) {
        if (!(s->metrics = elaine_metrics_new())) {
            rc = -ENOMEM;
            snprintf(err, errsize, "out of memory");
            goto out;
        }
        if ((rc = elaine_mhttp_open(&s->mhttp, o->metrics_addr, s->epfd, W_METRICS, W_METRICS_CONN, render_metrics, s,
                                    err, errsize)) < 0) {
            if (rc == -EADDRINUSE)
                rc = -EBUSY; /* not "a collector runs on the socket" */
            goto out;
        }
    }
    write_collector(s, "start");
    *out = s;
    return 0;
out:
    elaine_ingest_free(s);
    return rc;
}

void elaine_ingest_free(elaine_ingest *s)
{
    if (!s)
        return;
    while (s->clients)
        client_close(s, s->clients, NULL);
    bury(s);
    while (s->procs)
        proc_free(s, s->procs);
    elaine_mhttp_free(s->mhttp);
    elaine_metrics_free(s->metrics);
    if (s->log)
        elaine_logw_close(s->log);
    if (s->lfd >= 0) {
        struct stat st;
        /* remove the socket only while it is still the one we bound */
        if (s->sock_ino && lstat(s->path, &st) == 0 && st.st_ino == s->sock_ino)
            unlink(s->path);
        close(s->lfd);
    }
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->stopfd >= 0)
        close(s->stopfd);
    if (s->sigfd >= 0)
        close(s->sigfd);
    pb_reset(s);
    free(s->pb_chunk);
    free(s);
}

void elaine_ingest_counters(const elaine_ingest *s, elaine_counters *out)
{
    *out = s->c;
}

const char *elaine_ingest_socket(const elaine_ingest *s)
{
    return s->path;
}
