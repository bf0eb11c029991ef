/* Tests for the collector server: a fake shim on a temporary socket, acks, log lines, bad clients. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "elaine.pb-c.h"
#include "elaine_exchange.h"
#include "elaine_frame.h"
#include "elaine_ingest.h"
#include "tmpdir.h"

static char root[40], sock_path[96], log_dir[96], log_file[128];

/* ---- fake shim ---- */

static int shim_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(2);
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) {
            perror("write");
            exit(2);
        }
        c += w;
        n -= (size_t)w;
    }
}

/* A batch under construction. */
typedef struct batch {
    Elaine__Batch b;
    Elaine__Hello hello;
    Elaine__Event *ev[32];
    Elaine__Event evs[32];
    union {
        Elaine__ConnOpen o;
        Elaine__RequestStart rs;
        Elaine__Data d;
        Elaine__Close c;
        Elaine__Drop drop;
    } u[32];
} batch;

static void batch_init(batch *b, uint32_t pid, uint64_t start_time)
{
    memset(b, 0, sizeof(*b));
    elaine__batch__init(&b->b);
    b->b.events = b->ev;
    if (pid) {
        elaine__hello__init(&b->hello);
        b->hello.pid = pid;
        b->hello.start_time = start_time;
        b->hello.exe = "/usr/bin/fake";
        b->hello.shim_version = "test";
        b->b.hello = &b->hello;
    }
}

static Elaine__Event *add_ev(batch *b, uint64_t seq)
{
    size_t i = b->b.n_events++;
    elaine__event__init(&b->evs[i]);
    b->evs[i].seq = seq;
    b->ev[i] = &b->evs[i];
    return &b->evs[i];
}

static void add_open(batch *b, uint64_t seq, uint64_t conn)
{
    Elaine__Event *e = add_ev(b, seq);
    Elaine__ConnOpen *o = &b->u[b->b.n_events - 1].o;
    elaine__conn_open__init(o);
    o->conn_id = conn;
    o->host = "api.openai.com";
    o->port = 443;
    o->tls = 1;
    e->body_case = ELAINE__EVENT__BODY_CONN_OPEN;
    e->conn_open = o;
}

static void add_rs(batch *b, uint64_t seq, uint64_t conn, uint64_t no)
{
    Elaine__Event *e = add_ev(b, seq);
    Elaine__RequestStart *r = &b->u[b->b.n_events - 1].rs;
    elaine__request_start__init(r);
    r->conn_id = conn;
    r->request_no = no;
    r->tid = 1;
    r->wall_ns = 1796418191000000000ull;
    r->mono_ns = 1000000;
    e->body_case = ELAINE__EVENT__BODY_REQUEST_START;
    e->request_start = r;
}

static void add_data(batch *b, uint64_t seq, uint64_t conn, int out, const char *s)
{
    Elaine__Event *e = add_ev(b, seq);
    Elaine__Data *d = &b->u[b->b.n_events - 1].d;
    elaine__data__init(d);
    d->conn_id = conn;
    d->dir = out ? ELAINE__DIRECTION__DIR_OUT : ELAINE__DIRECTION__DIR_IN;
    d->mono_ns = 2000000;
    d->data.data = (uint8_t *)s;
    d->data.len = strlen(s);
    e->body_case = ELAINE__EVENT__BODY_DATA;
    e->data = d;
}

static void add_drop(batch *b, uint64_t seq, uint64_t events, uint64_t bytes)
{
    Elaine__Event *e = add_ev(b, seq);
    Elaine__Drop *d = &b->u[b->b.n_events - 1].drop;
    elaine__drop__init(d);
    d->events = events;
    d->bytes = bytes;
    e->body_case = ELAINE__EVENT__BODY_DROP;
    e->drop = d;
}

static void batch_send(int fd, batch *b)
{
    size_t n = elaine__batch__get_packed_size(&b->b);
    uint8_t *buf = malloc(n ? n : 1), *frame;
    size_t flen;
    elaine__batch__pack(&b->b, buf);
    if (elaine_frame_pack(buf, n, 1, &frame, &flen) < 0)
        exit(2);
    write_all(fd, frame, flen);
    free(frame);
    free(buf);
}

/* The next ack's watermark; 0 on EOF or timeout. */
static uint64_t read_ack(int fd)
{
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    uint64_t wm = 0;
    for (;;) {
        uint8_t c; /* byte by byte: never read past this ack */
        if (read(fd, &c, 1) != 1)
            break;
        elaine_frame_dec_feed(&d, &c, 1);
        uint8_t *payload;
        size_t len;
        int rc = elaine_frame_dec_next(&d, &payload, &len);
        if (rc == 1) {
            Elaine__Ack *a = elaine__ack__unpack(NULL, len, payload);
            free(payload);
            if (a) {
                wm = a->watermark;
                elaine__ack__free_unpacked(a, NULL);
            }
            break;
        }
        if (rc < 0)
            break;
    }
    elaine_frame_dec_free(&d);
    return wm;
}

/* 1 when the peer closed the connection within 5 s. */
static int closed_by_peer(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- log ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    elaine_buf b;
    elaine_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        elaine_buf_add(&b, tmp, n);
    fclose(f);
    return elaine_buf_take(&b);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Waits up to 5 s until the log holds at least want copies of needle. */
static int wait_log(const char *needle, int want)
{
    for (int i = 0; i < 500; i++) {
        char *s = slurp(log_file);
        int n = count(s, needle);
        free(s);
        if (n >= want)
            return n;
        usleep(10000);
    }
    char *s = slurp(log_file);
    int n = count(s, needle);
    fprintf(stderr, "log has %d of %s (want %d):\n%s\n", n, needle, want, s);
    free(s);
    return n;
}

/* ---- server ---- */

static elaine_ingest *server;
static pthread_t server_thread;
static int server_rc;

static void *serve(void *arg)
{
    (void)arg;
    server_rc = elaine_ingest_run(server);
    return NULL;
}

static int start_server(void)
{
    elaine_ingest_opts o = {
        .socket_path = sock_path,
        .log = {.dir = log_dir, .max_size = 64 << 20, .keep = 4, .fsync_mode = ELAINE_FSYNC_NEVER},
        .sample = 1.0,
        .content = ELAINE_CONTENT_FULL,
    };
    char err[256];
    int rc = elaine_ingest_new(&server, &o, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "elaine_ingest_new: %s\n", err);
        return rc;
    }
    pthread_create(&server_thread, NULL, serve, NULL);
    return 0;
}

static void stop_server(void)
{
    elaine_ingest_stop(server);
    pthread_join(server_thread, NULL);
    elaine_ingest_free(server);
    server = NULL;
}

static uint64_t my_start_time(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strrchr(buf, ')') + 2;
    for (int i = 0; i < 19; i++)
        p = strchr(p, ' ') + 1;
    return strtoull(p, NULL, 10);
}

static const char REQ[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                          "Content-Type: application/json\r\nContent-Length: 20\r\n\r\n"
                          "{\"model\":\"gpt-test\"}";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 33\r\n\r\n{\"model\":\"gpt-test-1\",\"usage\":{}}";

/* ---- cases ---- */

int main(void)
{
    if (tmpdir_make(root, sizeof(root), "elaine-ingest") < 0)
        return 2;
    snprintf(sock_path, sizeof(sock_path), "%s/run/collector.sock", root);
    snprintf(log_dir, sizeof(log_dir), "%s/logs", root);
    snprintf(log_file, sizeof(log_file), "%s/elaine.jsonl", log_dir);
    uint32_t me = (uint32_t)getpid();
    uint64_t st = my_start_time();

    CASE("stale socket is replaced");
    {
        char dir[160];
        snprintf(dir, sizeof(dir), "%s/run", root);
        mkdir(dir, 0700);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        close(fd); /* the file stays, nobody listens */
    }
    CHECK_INT(elaine_ingest_ping(sock_path), -ECONNREFUSED);
    if (start_server() < 0)
        return 1;
    struct stat sst;
    CHECK(stat(sock_path, &sst) == 0 && (sst.st_mode & 0777) == 0600);
    char rundir[160];
    snprintf(rundir, sizeof(rundir), "%s/run", root);
    CHECK(stat(rundir, &sst) == 0 && (sst.st_mode & 0777) == 0700);
    CHECK_INT(elaine_ingest_ping(sock_path), 0);
    CHECK_INT(wait_log("\"event\":\"start\"", 1), 1);

    CASE("already running");
    {
        elaine_ingest *second;
        elaine_ingest_opts o = {.socket_path = sock_path, .log = {.dir = log_dir}};
        char err[256];
        CHECK_INT(elaine_ingest_new(&second, &o, err, sizeof(err)), -EADDRINUSE);
        CHECK(strstr(err, "already running on") != NULL);
        CHECK_INT(elaine_ingest_ping(sock_path), 0); /* and the socket is still there */
    }

    CASE("exchange and acks");
    int a = shim_connect();
    batch b;
    batch_init(&b, me, st);
    add_open(&b, 1, 1);
    add_rs(&b, 2, 1, 0);
    add_data(&b, 3, 1, 1, REQ);
    batch_send(a, &b);
    CHECK_INT(read_ack(a), 2); /* the exchange started at seq 2 is in flight */
    batch_init(&b, 0, 0);
    add_data(&b, 4, 1, 0, RESP);
    batch_send(a, &b);
    CHECK_INT(read_ack(a), 5);
    char id[64];
    snprintf(id, sizeof(id), "\"id\":\"%u-%llu-1-0\"", me, (unsigned long long)st);
    CHECK_INT(wait_log(id, 1), 1);
    CHECK_INT(wait_log("\"response_model\":\"gpt-test-1\"", 1), 1);

    CASE("garbage closes only that client");
    int g = shim_connect();
    write_all(g, "GARBAGE GARBAGE GARBAGE!", 24);
    CHECK(closed_by_peer(g));
    close(g);
    g = shim_connect(); /* a valid frame whose payload is not a batch */
    {
        uint8_t *frame;
        size_t flen;
        elaine_frame_pack("\xff\xff\xff\xff", 4, 1, &frame, &flen);
        write_all(g, frame, flen);
        free(frame);
    }
    CHECK(closed_by_peer(g));
    close(g);
    g = shim_connect(); /* events before hello */
    batch_init(&b, 0, 0);
    add_open(&b, 1, 1);
    batch_send(g, &b);
    CHECK(closed_by_peer(g));
    close(g);
    batch_init(&b, 0, 0); /* the first client still works */
    add_rs(&b, 5, 1, 1);
    add_data(&b, 6, 1, 1, REQ);
    add_data(&b, 7, 1, 0, RESP);
    add_drop(&b, 8, 3, 300);
    batch_send(a, &b);
    CHECK_INT(read_ack(a), 9);
    CHECK_INT(wait_log("\"type\":\"drop\"", 1), 1);
    CHECK_INT(wait_log("\"dropped_events\":3,\"dropped_bytes\":300", 1), 1);

    CASE("reconnect: resent events are skipped");
    batch_init(&b, 0, 0);
    add_rs(&b, 9, 1, 2);
    add_data(&b, 10, 1, 1, REQ); /* in flight when the connection drops */
    batch_send(a, &b);             /* no ack: the watermark stays at 9 */
    close(a);
    usleep(100000);
    a = shim_connect();
    batch_init(&b, me, st);
    add_open(&b, 0, 1); /* re-announcement */
    add_rs(&b, 9, 1, 2);
    add_data(&b, 10, 1, 1, REQ);
    add_data(&b, 11, 1, 0, RESP);
    batch_send(a, &b);
    /* the reattached process acks right away (9), then after the batch (12) */
    uint64_t w = read_ack(a);
    if (w == 9)
        w = read_ack(a);
    CHECK_INT(w, 12);
    snprintf(id, sizeof(id), "\"id\":\"%u-%llu-1-2\"", me, (unsigned long long)st);
    CHECK_INT(wait_log(id, 1), 1);
    {
        char *s = slurp(log_file);
        CHECK_INT(count(s, id), 1);
        CHECK_INT(count(s, "\"type\":\"exchange\""), 3);
        free(s);
    }

    CASE("process exit writes what was in flight");
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* child is gone: its pid names nobody */
    int e = shim_connect();
    batch_init(&b, (uint32_t)child, 42);
    add_open(&b, 1, 3);
    add_rs(&b, 2, 3, 0);
    add_data(&b, 3, 3, 1, REQ);
    batch_send(e, &b);
    CHECK_INT(read_ack(e), 2);
    close(e);
    CHECK_INT(wait_log("\"error\":\"" ELAINE_ERR_EXITED "\"", 1), 1);
    snprintf(id, sizeof(id), "\"id\":\"%d-42-3-0\"", (int)child);
    CHECK_INT(wait_log(id, 1), 1);

    CASE("a shim that closed its end still gets read to the end");
    {
        /* The shim exits (wrk) while the collector is still reading what it
         * sent: an ack then fails with EPIPE. What is in the socket must
         * still be read (it once was thrown away with the connection). */
        int f = shim_connect();
        batch_init(&b, me, st + 7);
        add_open(&b, 1, 5);
        add_rs(&b, 2, 5, 0);
        add_data(&b, 3, 5, 1, REQ);
        add_data(&b, 4, 5, 0, RESP);
        batch_send(f, &b);
        shutdown(f, SHUT_RD); /* acks to f fail with EPIPE from now on */
        snprintf(id, sizeof(id), "\"id\":\"%u-%llu-5-0\"", me, (unsigned long long)st + 7);
        CHECK_INT(wait_log(id, 1), 1); /* the collector has acked (or tried) */
        batch_init(&b, 0, 0);
        add_rs(&b, 5, 5, 1);
        add_data(&b, 6, 5, 1, REQ);
        add_data(&b, 7, 5, 0, RESP);
        batch_send(f, &b);
        close(f);
        snprintf(id, sizeof(id), "\"id\":\"%u-%llu-5-1\"", me, (unsigned long long)st + 7);
        CHECK_INT(wait_log(id, 1), 1);
    }

    if (getuid() == 0) {
        CASE("another user is refused");
        chmod(root, 0755);
        chmod(rundir, 0755);
        chmod(sock_path, 0666);
        pid_t p = fork();
        if (p == 0) {
            if (setuid(65534) < 0)
                _exit(3);
            int fd = shim_connect();
            char c;
            _exit(read(fd, &c, 1) == 0 ? 0 : 4); /* closed on us */
        }
        int status;
        waitpid(p, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        chmod(root, 0700);
        chmod(rundir, 0700);
        chmod(sock_path, 0600);
    }

    CASE("shutdown writes in-flight exchanges");
    batch_init(&b, 0, 0);
    add_rs(&b, 12, 1, 3);
    add_data(&b, 13, 1, 1, REQ);
    batch_send(a, &b); /* no ack (still 12); what has arrived is read before shutting down */
    stop_server();
    CHECK_INT(read_ack(a), 14); /* the record is written: the shim may forget it */
    CHECK(closed_by_peer(a));
    close(a);
    CHECK_INT(server_rc, 0);
    CHECK_INT(wait_log("\"error\":\"" ELAINE_ERR_SHUTDOWN "\"", 1), 1);
    CHECK_INT(wait_log("\"event\":\"shutdown\"", 1), 1);
    {
        char *s = slurp(log_file);
        const char *sh = strstr(s, "\"event\":\"shutdown\"");
        CHECK(sh && strstr(sh, "\"exchanges_written\":7,"));
        CHECK(sh && strstr(sh, "\"drops_reported\":1,\"dropped_events\":3,"));
        CHECK(sh && strstr(sh, "\"clients\":4,"));
        if (getuid() == 0)
            CHECK(sh && strstr(sh, "\"clients_rejected\":1}"));
        /* every line is JSON */
        int lines = 0;
        for (char *line = s, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
            ej_val *v = elaine_json_parse(line, (size_t)(nl - line));
            CHECK(v != NULL);
            elaine_json_free(v);
            lines++;
        }
        CHECK_INT(lines, 10); /* start, 7 exchanges, drop, shutdown */
        free(s);
    }
    CHECK(access(sock_path, F_OK) != 0 && errno == ENOENT);
    CHECK(elaine_ingest_ping(sock_path) < 0);

    rm_rf(root);
    return check_done("test_ingest");
}
