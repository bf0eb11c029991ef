/* elaine_sink: a collector that does nothing but take frames and acknowledge
 * them, for measuring the floor of the capture path (what the shim and the
 * kernel cost with no parsing or record writing at all).
 *
 *   elaine_sink --socket S [--write FILE] [--unpack] [--burn-ns N]
 *               [--log DIR --line FILE]
 *
 * It accepts shims on S, unframes (and unzstds) their frames, finds each
 * Batch's highest sequence number by a shallow scan (the seq field of every
 * event, nothing else decoded; --unpack: protobuf-c unpacks the whole batch),
 * and acks it at once. --write FILE appends every frame's payload to FILE (a stand-in for
 * the bytes a real collector writes). --burn-ns N spends N ns of its own CPU
 * time per event on nothing (arithmetic in registers: no memory, no cache
 * taken from others), a stand-in for a collector of a given cost per
 * request, to see what the application's rate makes of that cost alone.
 * --log DIR --line FILE writes, for every RequestStart, the next of the
 * record lines in FILE, in turn (its "id" value replaced by a counter of the
 * same length, as ids are unique; real lines from a run of the collector
 * make zstd's work what it is there), through
 * the collector's own log writer with its default settings (64M rotation,
 * the zstd shadow, fsync at rotation, 48 kept), the lines of one read in
 * one write as the collector does: what the log's file work alone costs,
 * before any decoding, parsing or formatting.
 * Stops on SIGTERM or SIGINT and prints
 * "frames=N events=M bytes=B" on stdout. Not a test; see bench.py --sink. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "elaine.pb-c.h"
#include "elaine_frame.h"
#include "elaine_logw.h"

#define MAX_CLIENTS 256

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Batch { Hello hello = 1; repeated Event events = 2; }, Event { uint64 seq = 1; ... }:
 * the highest seq + 1 and the number of events, or -1 when the bytes are no Batch. */
static int scan_batch(const uint8_t *p, size_t len, uint64_t *wm, unsigned long long *events,
                      unsigned long long *starts)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t key, n;
        if (get_varint(&p, end, &key) < 0)
            return -1;
        if ((key & 7) == 0) {
            if (get_varint(&p, end, &n) < 0)
                return -1;
            continue;
        }
        if ((key & 7) != 2 || get_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
            return -1;
        if (key >> 3 == 2) {
            const uint8_t *e = p, *ee = p + n;
            uint64_t k, seq;
            if (get_varint(&e, ee, &k) == 0 && k == (1 << 3) && get_varint(&e, ee, &seq) == 0) {
                if (seq + 1 > *wm)
                    *wm = seq + 1;
                /* the next field: its tag says which event this is (3: RequestStart) */
                if (e < ee && *e == ((3 << 3) | 2))
                    (*starts)++;
            }
            (*events)++;
        }
        p += n;
    }
    return 0;
}

struct sclient {
    int fd;
    struct elaine_frame_dec dec;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ns of this thread's CPU time spent on register arithmetic. */
static void burn(uint64_t ns)
{
    uint64_t end = cpu_ns() + ns;
    volatile uint64_t sink = 0;
    uint64_t x = 88172645463325252ull;
    do {
        for (int k = 0; k < 256; k++) { /* xorshift: nothing the compiler can fold */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        sink = x;
    } while (cpu_ns() < end);
    (void)sink;
}

/* The record lines of FILE (at most MAX_LINES, each with an "id" value of
 * 8 or more characters), kept one after another in a buffer. */
#define MAX_LINES 4096
struct rline {
    size_t at, n, id_at, id_len;
};

static char *load_lines(const char *file, struct rline *ls, size_t *count)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return NULL;
    char *all = NULL, *l = NULL;
    size_t len = 0, cap = 0, k = 0;
    ssize_t r;
    while (k < MAX_LINES && (r = getline(&l, &cap, f)) > 0) {
        size_t n = strcspn(l, "\n");
        char *id = strstr(l, "\"id\":\"");
        if (!id || !n)
            continue;
        size_t id_at = (size_t)(id - l) + 6, id_len = strcspn(l + id_at, "\"");
        char *grown = id_len >= 8 ? realloc(all, len + n) : NULL;
        if (!grown)
            continue;
        all = grown;
        memcpy(all + len, l, n);
        ls[k++] = (struct rline){len, n, len + id_at, id_len};
        len += n;
    }
    free(l);
    fclose(f);
    *count = k;
    if (!k) {
        free(all);
        return NULL;
    }
    return all;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *log_dir = NULL, *line_file = NULL;
    int unpack = 0;
    uint64_t burn_ns = 0;
    static const struct option lo[] = {{"socket", required_argument, 0, 's'},
                                       {"write", required_argument, 0, 'w'},
                                       {"unpack", no_argument, 0, 'u'},
                                       {"burn-ns", required_argument, 0, 'b'},
                                       {"log", required_argument, 0, 'l'},
                                       {"line", required_argument, 0, 'L'},
                                       {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (o == 's')
            path = optarg;
        else if (o == 'w')
            out_path = optarg;
        else if (o == 'u')
            unpack = 1;
        else if (o == 'b')
            burn_ns = strtoull(optarg, NULL, 10);
        else if (o == 'l')
            log_dir = optarg;
        else if (o == 'L')
            line_file = optarg;
        else
            return 2;
    }
    if (!path || !log_dir != !line_file) {
        fprintf(stderr, "usage: elaine_sink --socket S [--write FILE] [--unpack] [--burn-ns N] "
                        "[--log DIR --line FILE]\n");
        return 2;
    }
    elaine_logw *log = NULL;
    char *lines = NULL;
    static struct rline rl[MAX_LINES];
    size_t nlines = 0;
    if (log_dir) {
        if (!(lines = load_lines(line_file, rl, &nlines))) {
            fprintf(stderr, "elaine_sink: %s: no record line with an \"id\" of 8 or more characters\n", line_file);
            return 1;
        }
        elaine_logw_opts lo2 = {.dir = log_dir, .max_size = 64ull << 20, .max_age_s = 3600, .keep = 48,
                                .fsync_mode = ELAINE_FSYNC_ROTATE};
        int rc = elaine_logw_open(&log, &lo2);
        if (rc < 0) {
            fprintf(stderr, "elaine_sink: %s: %s\n", log_dir, strerror(-rc));
            return 1;
        }
    }
    int out = -1;
    if (out_path && (out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        perror(out_path);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (ls < 0 || strlen(path) >= sizeof a.sun_path)
        return 1;
    strcpy(a.sun_path, path);
    unlink(path);
    mode_t old = umask(077);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 64) < 0) {
        perror(path);
        return 1;
    }
    umask(old);

    struct pollfd pfd[MAX_CLIENTS + 1];
    struct sclient cl[MAX_CLIENTS];
    int n = 0;
    unsigned long long frames = 0, events = 0, bytes = 0, starts = 0, written = 0;
    static uint8_t buf[256 << 10];
    while (!stop) {
        pfd[0] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (int i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n + 1, 200) < 0)
            continue;
        if ((pfd[0].revents & POLLIN) && n < MAX_CLIENTS) {
            int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                cl[n].fd = fd;
                elaine_frame_dec_init(&cl[n].dec);
                n++;
            }
        }
        for (int i = 0; i < n; i++) {
            if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(cl[i].fd, buf, sizeof buf);
            int dead = r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN);
            if (r > 0 && elaine_frame_dec_feed(&cl[i].dec, buf, (size_t)r) < 0)
                dead = 1;
            uint64_t wm = 0;
            uint8_t *payload;
            size_t len;
            int rc;
            while (!dead && (rc = elaine_frame_dec_view(&cl[i].dec, &payload, &len)) > 0) {
                frames++;
                bytes += len;
                if (out >= 0 && write(out, payload, len) != (ssize_t)len)
                    dead = 1;
                if (!unpack) {
                    unsigned long long before = events;
                    if (scan_batch(payload, len, &wm, &events, &starts) < 0)
                        dead = 1;
                    if (burn_ns && events > before)
                        burn(burn_ns * (events - before));
                    continue;
                }
                Elaine__Batch *b = elaine__batch__unpack(NULL, len, payload);
                if (!b) {
                    dead = 1;
                    break;
                }
                for (size_t k = 0; k < b->n_events; k++)
                    if (b->events[k]->seq + 1 > wm)
                        wm = b->events[k]->seq + 1;
                events += b->n_events;
                elaine__batch__free_unpacked(b, NULL);
            }
            for (; log && written < starts; written++) {
                /* the counter, zero-padded, at the end of the id's place */
                const struct rline *x = &rl[written % nlines];
                char num[24];
                int k = snprintf(num, sizeof num, "%020llu", written);
                size_t take = (size_t)k < x->id_len ? (size_t)k : x->id_len;
                memcpy(lines + x->id_at + x->id_len - take, num + k - take, take);
                elaine_buf *b = elaine_logw_lines(log);
                elaine_buf_add(b, lines + x->at, x->n);
                elaine_buf_add(b, "\n", 1);
            }
            if (log && elaine_logw_pending(log) && elaine_logw_flush(log) < 0)
                fprintf(stderr, "elaine_sink: a write to the log failed\n");
            if (!dead && wm) {
                Elaine__Ack ack = ELAINE__ACK__INIT;
                ack.watermark = wm;
                uint8_t ab[16], *frame;
                size_t alen = elaine__ack__pack(&ack, ab), flen;
                if (elaine_frame_pack(ab, alen, 0, &frame, &flen) == 0) {
                    if (send_all(cl[i].fd, frame, flen) < 0)
                        dead = 1;
                    free(frame);
                }
            }
            if (dead) {
                close(cl[i].fd);
                elaine_frame_dec_free(&cl[i].dec);
                cl[i] = cl[--n];
                pfd[i + 1] = pfd[n + 1];
                i--;
            }
        }
    }
    elaine_logw_close(log);
    free(lines);
    printf("frames=%llu events=%llu bytes=%llu lines=%llu\n", frames, events, bytes, written);
    unlink(path);
    return 0;
}
