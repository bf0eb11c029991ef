/* elaine_replay: drives a collector as fast as it can take it, with capture
 * frames built ahead of time from synthetic exchanges, and says how fast it went.
 *
 * It connects like a shim (Hello, then zstd Batch frames of ConnOpen,
 * RequestStart, Data out, Data in, Close events, packed as shim/shim_queue.c
 * packs them), reads the acknowledgements while it sends, and stops the clock
 * when the collector's watermark covers the last event: everything sent was
 * parsed and written. Every frame is built before the clock starts, so the
 * numbers are the collector's (and the socket's), not this tool's.
 *
 *   elaine_replay --socket S [--mode json|sse] [--exchanges N] [--per-conn K]
 *                 [--events-per-sse 400] [--read-size BYTES] [--stack N]
 *                 [--pid COLLECTOR_PID] [--max-seconds S] [--save FILE | --load FILE]
 *
 * json: non-streamed chat completions (request ~0.6 KB, response ~0.7 KB).
 * sse:  streamed chat completions, chunked SSE, --events-per-sse events each,
 *       delivered in Data events of --read-size bytes (16 KiB: one TLS record;
 *       0: one Data event per SSE event, as a client reading small records does).
 * --pid: samples the collector's RSS (VmRSS) and CPU time while it runs.
 * --save FILE: writes the frames to FILE and exits; --load FILE sends a saved
 * stream instead of building one (its Hello names the process that saved it).
 *
 * Prints one line of key=value results (and the RSS samples with --pid).
 * Exit 0 when the collector acknowledged everything in time, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "elaine.pb-c.h"
#include "elaine_frame.h"

#define BATCH_EVENTS 4096      /* as the shim: at most this many events ... */
#define BATCH_BYTES (4u << 20) /* ... or this many data bytes per batch */
#define MAX_RSS_SAMPLES 4096

struct opts {
    const char *socket, *save, *load;
    int sse;
    long exchanges, per_conn, events_per_sse, read_size, stack;
    int pid;
    double max_seconds;
};

/* ---- time, /proc ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* VmRSS of pid in KiB, -1 when unknown. */
static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* utime + stime of pid in seconds, -1 when unknown. */
static double cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* after "pid (comm)": state is field 3, utime 14, stime 15 */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static uint64_t self_start_time(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return p ? strtoull(p, NULL, 10) : 0;
}

/* ---- the synthetic traffic ---- */

static const char *const kwords[] = {"Sure", "here", "is", "a", "short", "answer", "about",
                                     "the", "weather", "in", "Paris", "today,", "with",
                                     "light", "rain", "and", "mild", "winds."};
#define NWORDS (sizeof(kwords) / sizeof(kwords[0]))

struct text {
    char *p;
    size_t len, cap;
};

static void t_add(struct text *t, const void *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->p = realloc(t->p, cap);
        if (!t->p) {
            perror("realloc");
            exit(2);
        }
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void t_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_printf(struct text *t, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    t_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Request bytes of exchange i: head and body (two writes, as Python's clients do). */
static void make_request(struct text *head, struct text *body, long i, int stream)
{
    body->len = 0;
    head->len = 0;
    t_printf(body,
             "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
             "helpful assistant. Answer briefly.\"},{\"role\":\"user\",\"content\":\"Question "
             "number %ld: what is the weather like in Paris today, and should I take an "
             "umbrella?\"}],\"temperature\":0.2,\"max_tokens\":256%s}",
             i, stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "");
    t_printf(head,
             "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
             "User-Agent: OpenAI/Python 1.40.0\r\nAccept: application/json\r\n"
             "Accept-Encoding: identity\r\nAuthorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
             body->len);
}

static void make_json_response(struct text *r, long i)
{
    struct text body = {0};
    struct text content = {0};
    for (size_t w = 0; w < NWORDS; w++)
        t_printf(&content, "%s%s", w ? " " : "", kwords[w]);
    t_printf(&body,
             "{\"id\":\"chatcmpl-%08ld\",\"object\":\"chat.completion\",\"created\":1700000000,"
             "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
             "\"assistant\",\"content\":\"%s\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
             "\"stop\"}],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":%zu,\"total_tokens\":%zu,"
             "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":"
             "{\"reasoning_tokens\":0}},\"system_fingerprint\":\"fp_0123456789\"}",
             i, content.p, NWORDS, 31 + NWORDS);
    r->len = 0;
    t_printf(r,
             "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: keep-alive\r\nopenai-processing-ms: 412\r\n"
             "x-request-id: req_%08ld\r\n\r\n",
             body.len, i);
    t_add(r, body.p, body.len);
    free(body.p);
    free(content.p);
}

/* A streamed response: head, then each SSE event as its own HTTP chunk.
 * *sse_bytes: the event-stream bytes (without the chunk framing). Boundaries of
 * the events (offsets into r, after each chunk) go to cuts. */
static void make_sse_response(struct text *r, long i, long nevents, size_t *sse_bytes, size_t *cuts,
                              size_t *ncuts)
{
    r->len = 0;
    *sse_bytes = 0;
    *ncuts = 0;
    t_printf(r,
             "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/event-stream; "
             "charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
             "x-request-id: req_%08ld\r\n\r\n",
             i);
    cuts[(*ncuts)++] = r->len;
    char ev[1024];
    for (long k = 0; k <= nevents + 1; k++) {
        int n;
        if (k < nevents)
            n = snprintf(ev, sizeof(ev),
                         "data: {\"id\":\"chatcmpl-%08ld\",\"object\":\"chat.completion.chunk\","
                         "\"created\":1700000000,\"model\":\"gpt-4o-mini-2024-07-18\","
                         "\"system_fingerprint\":\"fp_0123456789\",\"choices\":[{\"index\":0,\"delta\":"
                         "{\"content\":\"%s%s\"},\"logprobs\":null,\"finish_reason\":null}],"
                         "\"usage\":null}\n\n",
                         i, k ? " " : "", kwords[k % NWORDS]);
        else if (k == nevents)
            n = snprintf(ev, sizeof(ev),
                         "data: {\"id\":\"chatcmpl-%08ld\",\"object\":\"chat.completion.chunk\","
                         "\"created\":1700000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{"
                         "\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                         "\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n\n",
                         i, nevents, 31 + nevents);
        else
            n = snprintf(ev, sizeof(ev), "data: [DONE]\n\n");
        t_printf(r, "%x\r\n", n);
        t_add(r, ev, (size_t)n);
        t_add(r, "\r\n", 2);
        *sse_bytes += (size_t)n;
        cuts[(*ncuts)++] = r->len;
    }
    t_add(r, "0\r\n\r\n", 5);
    cuts[(*ncuts)++] = r->len;
}

/* ---- events and frames ---- */

struct evq {
    Elaine__Event **ev;
    size_t n, cap;
    size_t data_bytes;
};

/* The storage of one event: freed after its batch is packed. */
struct evbox {
    Elaine__Event ev;
    union {
        Elaine__ConnOpen open;
        Elaine__RequestStart start;
        Elaine__Data data;
        Elaine__Close close;
    } u;
    uint8_t bytes[]; /* Data payload */
};

struct gen {
    struct opts *o;
    uint64_t seq;
    uint64_t mono;
    uint32_t tid;
    uint64_t stack[64];
    int nstack;
    struct evq q;
    int hello_sent;
    Elaine__Hello hello;
    /* output: the frames, back to back */
    uint8_t *out;
    size_t out_len, out_cap;
    size_t frames;
    size_t raw_bytes;
};

static struct evbox *ev_add(struct gen *g, size_t extra)
{
    struct evbox *b = calloc(1, sizeof(*b) + extra);
    if (!b) {
        perror("calloc");
        exit(2);
    }
    elaine__event__init(&b->ev);
    b->ev.seq = g->seq++;
    if (g->q.n == g->q.cap) {
        g->q.cap = g->q.cap ? g->q.cap * 2 : 1024;
        g->q.ev = realloc(g->q.ev, g->q.cap * sizeof(*g->q.ev));
        if (!g->q.ev) {
            perror("realloc");
            exit(2);
        }
    }
    g->q.ev[g->q.n++] = &b->ev;
    g->q.data_bytes += extra + 64;
    g->mono += 1000; /* 1 us between events */
    return b;
}

static void out_add(struct gen *g, const uint8_t *p, size_t n)
{
    if (g->out_len + n > g->out_cap) {
        size_t cap = g->out_cap ? g->out_cap * 2 : (1u << 20);
        while (cap < g->out_len + n)
            cap *= 2;
        g->out = realloc(g->out, cap);
        if (!g->out) {
            perror("realloc");
            exit(2);
        }
        g->out_cap = cap;
    }
    memcpy(g->out + g->out_len, p, n);
    g->out_len += n;
}

static void flush_batch(struct gen *g)
{
    if (!g->q.n && g->hello_sent)
        return;
    Elaine__Batch batch;
    elaine__batch__init(&batch);
    batch.n_events = g->q.n;
    batch.events = g->q.ev;
    if (!g->hello_sent) {
        batch.hello = &g->hello;
        g->hello_sent = 1;
    }
    size_t len = elaine__batch__get_packed_size(&batch);
    uint8_t *raw = malloc(len ? len : 1);
    if (!raw) {
        perror("malloc");
        exit(2);
    }
    elaine__batch__pack(&batch, raw);
    uint8_t *frame;
    size_t flen;
    if (elaine_frame_pack(raw, len, 1, &frame, &flen) < 0) {
        fprintf(stderr, "elaine_replay: elaine_frame_pack() failed\n");
        exit(2);
    }
    out_add(g, frame, flen);
    g->frames++;
    g->raw_bytes += len;
    free(frame);
    free(raw);
    for (size_t i = 0; i < g->q.n; i++)
        free(g->q.ev[i]); /* the evbox starts with its Event */
    g->q.n = 0;
    g->q.data_bytes = 0;
}

static void maybe_flush(struct gen *g)
{
    if (g->q.n >= BATCH_EVENTS || g->q.data_bytes >= BATCH_BYTES)
        flush_batch(g);
}

static void ev_open(struct gen *g, uint64_t conn)
{
    struct evbox *b = ev_add(g, 0);
    Elaine__ConnOpen *o = &b->u.open;
    elaine__conn_open__init(o);
    o->conn_id = conn;
    o->peer = "127.0.0.1";
    o->peer_port = 443;
    o->sni = "api.openai.com";
    o->alpn = "http/1.1";
    o->tls = 1;
    o->host = "api.openai.com";
    o->port = 443;
    o->mono_ns = g->mono;
    b->ev.body_case = ELAINE__EVENT__BODY_CONN_OPEN;
    b->ev.conn_open = o;
    maybe_flush(g);
}

static void ev_start(struct gen *g, uint64_t conn, uint64_t req_no)
{
    struct evbox *b = ev_add(g, (size_t)g->nstack * sizeof(uint64_t));
    Elaine__RequestStart *s = &b->u.start;
    elaine__request_start__init(s);
    s->conn_id = conn;
    s->tid = g->tid;
    s->wall_ns = wall_ns();
    s->mono_ns = g->mono;
    s->request_no = req_no;
    s->n_stack = (size_t)g->nstack;
    s->stack = (uint64_t *)b->bytes;
    memcpy(s->stack, g->stack, (size_t)g->nstack * sizeof(uint64_t));
    b->ev.body_case = ELAINE__EVENT__BODY_REQUEST_START;
    b->ev.request_start = s;
    maybe_flush(g);
}

static void ev_data(struct gen *g, uint64_t conn, int dir_in, const void *p, size_t n)
{
    struct evbox *b = ev_add(g, n);
    Elaine__Data *d = &b->u.data;
    elaine__data__init(d);
    d->conn_id = conn;
    d->dir = dir_in ? ELAINE__DIRECTION__DIR_IN : ELAINE__DIRECTION__DIR_OUT;
    d->tid = g->tid;
    d->mono_ns = g->mono;
    memcpy(b->bytes, p, n);
    d->data.data = b->bytes;
    d->data.len = n;
    b->ev.body_case = ELAINE__EVENT__BODY_DATA;
    b->ev.data = d;
    maybe_flush(g);
}

static void ev_close(struct gen *g, uint64_t conn)
{
    struct evbox *b = ev_add(g, 0);
    Elaine__Close *c = &b->u.close;
    elaine__close__init(c);
    c->conn_id = conn;
    c->mono_ns = g->mono;
    b->ev.body_case = ELAINE__EVENT__BODY_CLOSE;
    b->ev.close = c;
    maybe_flush(g);
}

struct acks;
static int read_acks(int fd, struct acks *a);

static char cmdline_buf[4096];
static char *argv_ptrs[64];
static char exe_buf[4096];

/* Builds every frame. Returns the stream-data bytes (sse) or response bytes (json). */
static size_t build(struct gen *g)
{
    struct opts *o = g->o;
    elaine__hello__init(&g->hello);
    g->hello.pid = (uint32_t)getpid();
    g->hello.ppid = (uint32_t)getppid();
    g->hello.uid = (uint32_t)getuid();
    g->hello.start_time = self_start_time();
    ssize_t r = readlink("/proc/self/exe", exe_buf, sizeof(exe_buf) - 1);
    exe_buf[r > 0 ? r : 0] = 0;
    g->hello.exe = exe_buf;
    int fd = open("/proc/self/cmdline", O_RDONLY);
    ssize_t cl = fd >= 0 ? read(fd, cmdline_buf, sizeof(cmdline_buf) - 1) : 0;
    if (fd >= 0)
        close(fd);
    size_t argc = 0;
    for (ssize_t off = 0; off < cl && argc < 64; argc++) {
        argv_ptrs[argc] = cmdline_buf + off;
        off += (ssize_t)strlen(cmdline_buf + off) + 1;
    }
    g->hello.n_argv = argc;
    g->hello.argv = argv_ptrs;
    g->hello.shim_version = "0.1.0";
    g->seq = 1;
    g->mono = mono_ns();
    g->tid = (uint32_t)getpid();
    /* A stack of real return addresses in this program and libc, as the shim sends. */
    uint64_t bases[] = {(uint64_t)(uintptr_t)&build, (uint64_t)(uintptr_t)&flush_batch,
                        (uint64_t)(uintptr_t)&read_acks, (uint64_t)(uintptr_t)&snprintf,
                        (uint64_t)(uintptr_t)&malloc, (uint64_t)(uintptr_t)&read};
    g->nstack = (int)(o->stack < 64 ? o->stack : 64);
    for (int k = 0; k < g->nstack; k++)
        g->stack[k] = bases[k % 6] + 16 + (uint64_t)k;

    struct text head = {0}, body = {0}, resp = {0};
    size_t ncuts_max = (size_t)o->events_per_sse + 8, ncuts = 0;
    size_t *cuts = calloc(ncuts_max, sizeof(*cuts));
    size_t payload = 0;
    uint64_t conn = 0, req_no = 0;
    for (long i = 0; i < o->exchanges; i++) {
        if (i % o->per_conn == 0) {
            if (conn)
                ev_close(g, conn);
            conn++;
            req_no = 0;
            ev_open(g, conn);
        }
        make_request(&head, &body, i, o->sse);
        ev_start(g, conn, req_no++);
        ev_data(g, conn, 0, head.p, head.len);
        ev_data(g, conn, 0, body.p, body.len);
        if (!o->sse) {
            make_json_response(&resp, i);
            /* head and body in two reads, as http.client reads them */
            const char *sep = strstr(resp.p, "\r\n\r\n");
            size_t hl = sep ? (size_t)(sep - resp.p) + 4 : resp.len;
            ev_data(g, conn, 1, resp.p, hl);
            if (resp.len > hl)
                ev_data(g, conn, 1, resp.p + hl, resp.len - hl);
            payload += resp.len;
        } else {
            size_t sse_bytes;
            make_sse_response(&resp, i, o->events_per_sse, &sse_bytes, cuts, &ncuts);
            payload += sse_bytes;
            if (o->read_size > 0) {
                for (size_t off = 0; off < resp.len;) {
                    size_t n = resp.len - off < (size_t)o->read_size ? resp.len - off : (size_t)o->read_size;
                    ev_data(g, conn, 1, resp.p + off, n);
                    off += n;
                }
            } else {
                size_t prev = 0;
                for (size_t k = 0; k < ncuts; k++) {
                    ev_data(g, conn, 1, resp.p + prev, cuts[k] - prev);
                    prev = cuts[k];
                }
            }
        }
    }
    if (conn)
        ev_close(g, conn);
    flush_batch(g);
    free(head.p);
    free(body.p);
    free(resp.p);
    free(cuts);
    return payload;
}

/* ---- sending ---- */

struct acks {
    struct elaine_frame_dec dec;
    uint64_t watermark;
};

/* Reads what is there. 0, or -1 when the collector closed or spoke nonsense. */
static int read_acks(int fd, struct acks *a)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        if (elaine_frame_dec_feed(&a->dec, buf, (size_t)n) < 0)
            return -1;
        uint8_t *p;
        size_t len;
        int r;
        while ((r = elaine_frame_dec_next(&a->dec, &p, &len)) == 1) {
            Elaine__Ack *ack = elaine__ack__unpack(NULL, len, p);
            free(p);
            if (!ack)
                return -1;
            if (ack->watermark > a->watermark)
                a->watermark = ack->watermark;
            elaine__ack__free_unpacked(ack, NULL);
        }
        if (r < 0)
            return -1;
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: elaine_replay --socket PATH [--mode json|sse] [--exchanges N] [--per-conn K]\n"
            "                     [--events-per-sse N] [--read-size BYTES] [--stack N] [--pid PID]\n"
            "                     [--max-seconds S] [--save FILE | --load FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.exchanges = 100000, .per_conn = 100, .events_per_sse = 400, .read_size = 16384,
                     .stack = 12, .max_seconds = 60};
    static const struct option lo[] = {
        {"socket", 1, 0, 's'}, {"mode", 1, 0, 'm'},         {"exchanges", 1, 0, 'n'},
        {"per-conn", 1, 0, 'k'}, {"events-per-sse", 1, 0, 'e'}, {"read-size", 1, 0, 'r'},
        {"stack", 1, 0, 'S'},  {"pid", 1, 0, 'p'},          {"max-seconds", 1, 0, 't'},
        {"save", 1, 0, 'w'},   {"load", 1, 0, 'l'},         {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's': o.socket = optarg; break;
        case 'm': o.sse = strcmp(optarg, "sse") == 0; break;
        case 'n': o.exchanges = atol(optarg); break;
        case 'k': o.per_conn = atol(optarg); break;
        case 'e': o.events_per_sse = atol(optarg); break;
        case 'r': o.read_size = atol(optarg); break;
        case 'S': o.stack = atol(optarg); break;
        case 'p': o.pid = atoi(optarg); break;
        case 't': o.max_seconds = atof(optarg); break;
        case 'w': o.save = optarg; break;
        case 'l': o.load = optarg; break;
        default: usage();
        }
    }
    if ((!o.socket && !o.save) || o.exchanges <= 0 || o.per_conn <= 0 || o.events_per_sse <= 0)
        usage();

    /* Build (or load) every frame before the clock starts. */
    struct gen g = {.o = &o};
    size_t payload = 0;
    uint64_t last_seq;
    double t_build = now_s();
    if (o.load) {
        FILE *f = fopen(o.load, "rb");
        if (!f || fread(&last_seq, sizeof(last_seq), 1, f) != 1 || fread(&payload, sizeof(payload), 1, f) != 1 ||
            fread(&o.exchanges, sizeof(o.exchanges), 1, f) != 1) {
            fprintf(stderr, "elaine_replay: cannot read %s\n", o.load);
            return 2;
        }
        uint8_t buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            out_add(&g, buf, n);
        fclose(f);
    } else {
        payload = build(&g);
        last_seq = g.seq - 1;
    }
    t_build = now_s() - t_build;
    if (o.save) {
        FILE *f = fopen(o.save, "wb");
        if (!f || fwrite(&last_seq, sizeof(last_seq), 1, f) != 1 || fwrite(&payload, sizeof(payload), 1, f) != 1 ||
            fwrite(&o.exchanges, sizeof(o.exchanges), 1, f) != 1 || fwrite(g.out, 1, g.out_len, f) != g.out_len ||
            fclose(f) != 0) {
            fprintf(stderr, "elaine_replay: cannot write %s\n", o.save);
            return 2;
        }
        printf("saved=%s frames=%zu bytes=%zu events=%llu\n", o.save, g.frames, g.out_len,
               (unsigned long long)last_seq);
        return 0;
    }

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(o.socket) >= sizeof(sa.sun_path))
        usage();
    strcpy(sa.sun_path, o.socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "elaine_replay: connect() \"%s\" failed: %s\n", o.socket, strerror(errno));
        return 2;
    }
    struct acks a = {.watermark = 0};
    elaine_frame_dec_init(&a.dec);

    long rss[MAX_RSS_SAMPLES];
    double rss_t[MAX_RSS_SAMPLES];
    int nrss = 0;
    double cpu0 = o.pid ? cpu_s(o.pid) : -1;
    long rss0 = o.pid ? rss_kib(o.pid) : -1;

    double t0 = now_s(), next_sample = t0, deadline = t0 + o.max_seconds;
    size_t off = 0;
    int ok = 1;
    while (a.watermark <= last_seq) {
        double t = now_s();
        if (t > deadline) {
            fprintf(stderr, "elaine_replay: gave up after %.0f s: sent %zu of %zu bytes, watermark %llu of %llu\n",
                    o.max_seconds, off, g.out_len, (unsigned long long)a.watermark,
                    (unsigned long long)last_seq + 1);
            ok = 0;
            break;
        }
        if (o.pid && t >= next_sample && nrss < MAX_RSS_SAMPLES) {
            rss_t[nrss] = t - t0;
            rss[nrss++] = rss_kib(o.pid);
            next_sample = t + 0.25;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (off < g.out_len ? POLLOUT : 0)};
        if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
            break;
        if (pfd.revents & POLLOUT) {
            ssize_t w = send(fd, g.out + off, g.out_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                fprintf(stderr, "elaine_replay: send() failed: %s\n", strerror(errno));
                ok = 0;
                break;
            }
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (read_acks(fd, &a) < 0) {
                fprintf(stderr, "elaine_replay: the collector closed the connection (watermark %llu of %llu)\n",
                        (unsigned long long)a.watermark, (unsigned long long)last_seq + 1);
                ok = 0;
                break;
            }
        }
    }
    double el = now_s() - t0;
    double cpu1 = o.pid ? cpu_s(o.pid) : -1;
    if (o.pid && nrss < MAX_RSS_SAMPLES) {
        rss_t[nrss] = el;
        rss[nrss++] = rss_kib(o.pid);
    }
    close(fd);
    elaine_frame_dec_free(&a.dec);

    long rss_max = -1, rss_min = -1;
    for (int i = 0; i < nrss; i++) {
        if (rss[i] > rss_max)
            rss_max = rss[i];
        if (rss_min < 0 || rss[i] < rss_min)
            rss_min = rss[i];
    }
    /* Flat: the second half's peak against the first half's. */
    long peak_h1 = -1, peak_h2 = -1;
    for (int i = 0; i < nrss; i++) {
        long *pk = rss_t[i] < el / 2 ? &peak_h1 : &peak_h2;
        if (rss[i] > *pk)
            *pk = rss[i];
    }
    double cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    printf("mode=%s exchanges=%ld events=%llu frames=%zu wire_bytes=%zu raw_bytes=%zu build_s=%.2f "
           "elapsed_s=%.3f exchanges_per_s=%.0f payload_MB=%.1f MB_per_s=%.1f collector_cpu_s=%.2f "
           "collector_cpu_util=%.2f exchanges_per_cpu_s=%.0f MB_per_cpu_s=%.1f rss0_kib=%ld "
           "rss_min_kib=%ld rss_max_kib=%ld rss_peak_first_half_kib=%ld rss_peak_second_half_kib=%ld "
           "acked=%d\n",
           o.sse ? "sse" : "json", o.exchanges, (unsigned long long)last_seq, g.frames, g.out_len,
           g.raw_bytes, t_build, el, (double)o.exchanges / el, (double)payload / 1e6,
           (double)payload / 1e6 / el, cpu, cpu >= 0 ? cpu / el : -1,
           cpu > 0 ? (double)o.exchanges / cpu : -1, cpu > 0 ? (double)payload / 1e6 / cpu : -1, rss0,
           rss_min, rss_max, peak_h1, peak_h2, ok);
    if (o.pid) {
        printf("rss_samples_kib=");
        int step = nrss > 40 ? nrss / 40 : 1;
        for (int i = 0; i < nrss; i += step)
            printf("%s%.2f:%ld", i ? "," : "", rss_t[i], rss[i]);
        printf("\n");
    }
    free(g.out);
    free(g.q.ev);
    return ok ? 0 : 1;
}
