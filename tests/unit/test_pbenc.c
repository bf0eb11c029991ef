/* The shim's hand-written protobuf (proto/elaine_pbenc.c) against protobuf-c:
 * every event type with edge values encodes to the very bytes protobuf-c
 * packs, and unpacks with protobuf-c to the same fields; Acks decode as
 * protobuf-c decodes them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "elaine.pb-c.h"
#include "elaine_pbenc.h"

/* Every varint size's first and last value, and more. */
static const uint64_t edge_u64[] = {0, 1, 127, 128, 255, 16383, 16384, (1ull << 21) - 1, 1ull << 21,
                                    (1ull << 28) - 1, 1ull << 28, 0xffffffffu, 0x100000000ull,
                                    (1ull << 35) - 1, 1ull << 35, (1ull << 42) - 1, 1ull << 42,
                                    0x7ffff7a2b3c4ull, (1ull << 49) - 1, 1ull << 49,
                                    (1ull << 56) - 1, 1ull << 56, (1ull << 63) - 1, 1ull << 63,
                                    0x8123456789abcdefull, UINT64_MAX};
static const uint32_t edge_u32[] = {0, 1, 127, 128, 65535, 0x7fffffffu, 0xffffffffu};
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ELAINE_PBENC_TEST_STACK 40

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t pick_u64(void)
{
    return rnd() % 4 ? edge_u64[rnd() % N(edge_u64)] : rnd() >> (rnd() % 64);
}

static uint32_t pick_u32(void)
{
    return rnd() % 4 ? edge_u32[rnd() % N(edge_u32)] : (uint32_t)rnd();
}

/* Storage for one random event's strings, stack and data. */
struct store {
    char str[4][300];
    uint64_t stack[ELAINE_PBENC_TEST_STACK];
    uint8_t *data;
};

static const char *pick_str(char *buf)
{
    static const size_t lens[] = {0, 1, 9, 127, 128, 255, 299};
    switch (rnd() % 4) {
    case 0:
        return NULL;
    case 1:
        return "";
    default: {
        size_t n = lens[rnd() % N(lens)];
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(1 + rnd() % 255); /* any byte but NUL: strings are bytes here */
        buf[n] = 0;
        return buf;
    }
    }
}

static void random_event(struct elaine_pb_event *e, struct store *st)
{
    static const size_t data_lens[] = {0, 1, 127, 128, 16383, 16384, 1u << 20};
    memset(e, 0, sizeof(*e));
    e->seq = pick_u64();
    e->body = ELAINE__EVENT__BODY_CONN_OPEN + (int)(rnd() % 5);
    e->conn_id = pick_u64();
    e->mono_ns = pick_u64();
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        e->peer = pick_str(st->str[0]);
        e->sni = pick_str(st->str[1]);
        e->alpn = pick_str(st->str[2]);
        e->host = pick_str(st->str[3]);
        e->peer_port = pick_u32();
        e->port = pick_u32();
        e->tls = (int)(rnd() % 3); /* 2 is true too */
        break;
    case ELAINE__EVENT__BODY_REQUEST_START:
        e->tid = pick_u32();
        e->wall_ns = pick_u64();
        e->request_no = pick_u64();
        e->gap = (int)(rnd() % 3);
        e->n_stack = rnd() % 3 ? rnd() % (ELAINE_PBENC_TEST_STACK + 1) : 0;
        for (size_t i = 0; i < e->n_stack; i++)
            st->stack[i] = pick_u64();
        e->stack = e->n_stack ? st->stack : NULL;
        break;
    case ELAINE__EVENT__BODY_DATA:
        e->tid = pick_u32();
        e->dir = (int)(rnd() % 3);
        e->len = rnd() % 3 ? data_lens[rnd() % N(data_lens)] : rnd() % 2000;
        st->data = malloc(e->len ? e->len : 1);
        for (size_t i = 0; i < e->len; i++)
            st->data[i] = (uint8_t)rnd();
        e->data = st->data;
        break;
    case ELAINE__EVENT__BODY_CLOSE:
        break;
    default:
        e->drop_events = pick_u64();
        e->drop_bytes = pick_u64();
        break;
    }
}

/* The same event as protobuf-c's structures. */
struct pbc {
    Elaine__Event ev;
    Elaine__ConnOpen open;
    Elaine__RequestStart start;
    Elaine__Data data;
    Elaine__Close close;
    Elaine__Drop drop;
};

static char *nonnull(const char *s)
{
    return (char *)(s ? s : "");
}

static void to_pbc(struct pbc *s, const struct elaine_pb_event *e)
{
    elaine__event__init(&s->ev);
    s->ev.seq = e->seq;
    s->ev.body_case = (Elaine__Event__BodyCase)e->body;
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        elaine__conn_open__init(&s->open);
        s->open.conn_id = e->conn_id;
        s->open.peer = nonnull(e->peer);
        s->open.peer_port = e->peer_port;
        s->open.sni = nonnull(e->sni);
        s->open.alpn = nonnull(e->alpn);
        s->open.tls = e->tls != 0;
        s->open.host = nonnull(e->host);
        s->open.port = e->port;
        s->open.mono_ns = e->mono_ns;
        s->ev.conn_open = &s->open;
        break;
    case ELAINE__EVENT__BODY_REQUEST_START:
        elaine__request_start__init(&s->start);
        s->start.conn_id = e->conn_id;
        s->start.tid = e->tid;
        s->start.wall_ns = e->wall_ns;
        s->start.mono_ns = e->mono_ns;
        s->start.request_no = e->request_no;
        s->start.n_stack = e->n_stack;
        s->start.stack = (uint64_t *)e->stack;
        s->start.gap = e->gap != 0;
        s->ev.request_start = &s->start;
        break;
    case ELAINE__EVENT__BODY_DATA:
        elaine__data__init(&s->data);
        s->data.conn_id = e->conn_id;
        s->data.dir = (Elaine__Direction)e->dir;
        s->data.tid = e->tid;
        s->data.mono_ns = e->mono_ns;
        s->data.data.data = (uint8_t *)e->data;
        s->data.data.len = e->len;
        s->ev.data = &s->data;
        break;
    case ELAINE__EVENT__BODY_CLOSE:
        elaine__close__init(&s->close);
        s->close.conn_id = e->conn_id;
        s->close.mono_ns = e->mono_ns;
        s->ev.close = &s->close;
        break;
    default:
        elaine__drop__init(&s->drop);
        s->drop.events = e->drop_events;
        s->drop.bytes = e->drop_bytes;
        s->ev.drop = &s->drop;
        break;
    }
}

/* The unpacked event has e's fields. */
static void check_fields(const Elaine__Event *u, const struct elaine_pb_event *e)
{
    CHECK_INT(u->seq, e->seq);
    CHECK_INT(u->body_case, e->body);
    if ((int)u->body_case != e->body)
        return;
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        CHECK(u->conn_open->conn_id == e->conn_id);
        CHECK_STR(u->conn_open->peer, nonnull(e->peer));
        CHECK_INT(u->conn_open->peer_port, e->peer_port);
        CHECK_STR(u->conn_open->sni, nonnull(e->sni));
        CHECK_STR(u->conn_open->alpn, nonnull(e->alpn));
        CHECK_INT(u->conn_open->tls, e->tls != 0);
        CHECK_STR(u->conn_open->host, nonnull(e->host));
        CHECK_INT(u->conn_open->port, e->port);
        CHECK(u->conn_open->mono_ns == e->mono_ns);
        break;
    case ELAINE__EVENT__BODY_REQUEST_START:
        CHECK(u->request_start->conn_id == e->conn_id);
        CHECK_INT(u->request_start->tid, e->tid);
        CHECK(u->request_start->wall_ns == e->wall_ns);
        CHECK(u->request_start->mono_ns == e->mono_ns);
        CHECK(u->request_start->request_no == e->request_no);
        CHECK_INT(u->request_start->n_stack, e->n_stack);
        if (u->request_start->n_stack == e->n_stack && e->n_stack)
            CHECK(memcmp(u->request_start->stack, e->stack, e->n_stack * sizeof(uint64_t)) == 0);
        CHECK_INT(u->request_start->gap, e->gap != 0);
        break;
    case ELAINE__EVENT__BODY_DATA:
        CHECK(u->data->conn_id == e->conn_id);
        CHECK_INT(u->data->dir, e->dir);
        CHECK_INT(u->data->tid, e->tid);
        CHECK(u->data->mono_ns == e->mono_ns);
        CHECK_MEM(u->data->data.data, u->data->data.len, e->data, e->len);
        break;
    case ELAINE__EVENT__BODY_CLOSE:
        CHECK(u->close->conn_id == e->conn_id);
        CHECK(u->close->mono_ns == e->mono_ns);
        break;
    default:
        CHECK(u->drop->events == e->drop_events);
        CHECK(u->drop->bytes == e->drop_bytes);
        break;
    }
}

/* Encodes n events (and a hello when given) as the shim does, checks the
 * bytes against protobuf-c's and the round trip through its unpack. */
static void check_batch(const struct elaine_pb_event *evs, size_t n, Elaine__Hello *hello)
{
    size_t max = 0, hello_len = 0;
    if (hello) {
        hello_len = elaine__hello__get_packed_size(hello);
        max += 11 + hello_len;
    }
    for (size_t i = 0; i < n; i++)
        max += elaine_pb_batch_event_max(&evs[i]);
    uint8_t *buf = malloc(max ? max : 1), *p = buf; /* exactly: ASan sees a write past it */
    if (hello) {
        p = elaine_pb_put_batch_hello(p, hello_len);
        p += elaine__hello__pack(hello, p);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *start = p;
        p = elaine_pb_put_batch_event(p, &evs[i]);
        CHECK((size_t)(p - start) <= elaine_pb_batch_event_max(&evs[i]));
    }
    size_t len = (size_t)(p - buf);
    CHECK(len <= max);

    struct pbc *s = calloc(n ? n : 1, sizeof(*s));
    Elaine__Event **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    for (size_t i = 0; i < n; i++) {
        to_pbc(&s[i], &evs[i]);
        ptrs[i] = &s[i].ev;
    }
    Elaine__Batch b = ELAINE__BATCH__INIT;
    b.hello = hello;
    b.n_events = n;
    b.events = ptrs;
    size_t want_len = elaine__batch__get_packed_size(&b);
    uint8_t *want = malloc(want_len ? want_len : 1);
    elaine__batch__pack(&b, want);
    CHECK_INT(len, want_len);
    CHECK(len == want_len && memcmp(buf, want, len) == 0);

    Elaine__Batch *u = elaine__batch__unpack(NULL, len, buf);
    CHECK(u != NULL);
    if (u) {
        CHECK(!hello == !u->hello);
        if (hello && u->hello) {
            CHECK_INT(u->hello->pid, hello->pid);
            CHECK_STR(u->hello->exe, hello->exe);
            CHECK_INT(u->hello->n_argv, hello->n_argv);
        }
        CHECK_INT(u->n_events, n);
        for (size_t i = 0; i < n && i < u->n_events; i++)
            check_fields(u->events[i], &evs[i]);
        elaine__batch__free_unpacked(u, NULL);
    }
    free(want);
    free(ptrs);
    free(s);
    free(buf);
}

static void test_each_type_edges(void)
{
    CASE("each type, edge values");
    static uint64_t stack[ELAINE_PBENC_TEST_STACK];
    static uint8_t data[1u << 20];
    for (size_t i = 0; i < N(stack); i++)
        stack[i] = edge_u64[i % N(edge_u64)];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    char longs[1000];
    memset(longs, 'h', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = 0;
    for (size_t k = 0; k < N(edge_u64); k++) {
        uint64_t v = edge_u64[k];
        uint32_t v32 = edge_u32[k % N(edge_u32)];
        struct elaine_pb_event e[5];
        memset(e, 0, sizeof(e));
        for (int t = 0; t < 5; t++) {
            e[t].seq = v;
            e[t].body = ELAINE__EVENT__BODY_CONN_OPEN + t;
            e[t].conn_id = v;
            e[t].mono_ns = edge_u64[(k + 3) % N(edge_u64)];
        }
        e[0].peer = k % 2 ? "2001:db8::1" : "";
        e[0].sni = k % 3 ? longs : NULL;
        e[0].alpn = "h2";
        e[0].host = "api.openai.com";
        e[0].peer_port = v32;
        e[0].port = v32;
        e[0].tls = (int)(k % 2);
        e[1].tid = v32;
        e[1].wall_ns = v;
        e[1].request_no = v;
        e[1].gap = (int)(k % 2);
        e[1].n_stack = k * 3 % (N(stack) + 1);
        e[1].stack = e[1].n_stack ? stack : NULL;
        e[2].tid = v32;
        e[2].dir = (int)(k % 3);
        static const size_t lens[] = {0, 1, 127, 128, 16383, 16384, 2097151, 1u << 20};
        e[2].len = lens[k % N(lens)] <= sizeof(data) ? lens[k % N(lens)] : sizeof(data);
        e[2].data = data;
        e[4].drop_events = v;
        e[4].drop_bytes = edge_u64[N(edge_u64) - 1 - k];
        for (int t = 0; t < 5; t++)
            check_batch(&e[t], 1, NULL);
        check_batch(e, 5, NULL);
    }
    /* Every varint length, at both ends of it. */
    for (int b = 0; b < 64; b++) {
        struct elaine_pb_event d = {.body = ELAINE__EVENT__BODY_DROP, .seq = 1ull << b,
                                    .drop_events = (1ull << b) - 1, .drop_bytes = UINT64_MAX >> b};
        check_batch(&d, 1, NULL);
    }
    /* All zero: each body is there, empty. */
    struct elaine_pb_event z[5];
    memset(z, 0, sizeof(z));
    for (int t = 0; t < 5; t++)
        z[t].body = ELAINE__EVENT__BODY_CONN_OPEN + t;
    check_batch(z, 5, NULL);
    check_batch(NULL, 0, NULL);
}

static void test_with_hello(void)
{
    CASE("hello");
    char *argv[] = {"python3", "app.py", ""};
    Elaine__Hello h = ELAINE__HELLO__INIT;
    h.pid = 4242;
    h.ppid = 1;
    h.uid = 1000;
    h.start_time = 123456789;
    h.exe = "/usr/bin/python3.11";
    h.n_argv = 3;
    h.argv = argv;
    h.shim_version = "0.1.0";
    h.sync_mode = 1;
    struct elaine_pb_event e = {.seq = 1, .body = ELAINE__EVENT__BODY_CLOSE, .conn_id = 7, .mono_ns = 99};
    check_batch(&e, 1, &h);
    check_batch(NULL, 0, &h);
    Elaine__Hello empty = ELAINE__HELLO__INIT;
    check_batch(&e, 1, &empty);
}

static void test_random(void)
{
    CASE("random batches");
    for (int round = 0; round < 300; round++) {
        size_t n = rnd() % 12;
        struct elaine_pb_event evs[12];
        struct store *st = calloc(n ? n : 1, sizeof(*st));
        for (size_t i = 0; i < n; i++)
            random_event(&evs[i], &st[i]);
        check_batch(evs, n, NULL);
        for (size_t i = 0; i < n; i++)
            free(st[i].data);
        free(st);
    }
}

/* Agreement with protobuf-c's verdict and value on an Ack's bytes. Not
 * strict: ours may refuse what protobuf-c takes, which it does only for a
 * key of field number 0 written in more than one byte (invalid protobuf). */
static void check_ack_verdict(const uint8_t *p, size_t len, int strict)
{
    uint64_t wm = 12345;
    int r = elaine_pb_get_ack(p, len, &wm);
    Elaine__Ack *a = elaine__ack__unpack(NULL, len, p);
    if (strict)
        CHECK_INT(r == 0, a != NULL);
    else
        CHECK(r != 0 || a != NULL);
    if (a && r == 0)
        CHECK(wm == a->watermark);
    if (a)
        elaine__ack__free_unpacked(a, NULL);
}

static void check_ack_bytes(const uint8_t *p, size_t len)
{
    check_ack_verdict(p, len, 1);
}

static void test_ack(void)
{
    CASE("ack");
    for (size_t k = 0; k < N(edge_u64); k++) {
        Elaine__Ack a = ELAINE__ACK__INIT;
        a.watermark = edge_u64[k];
        uint8_t buf[16];
        size_t len = elaine__ack__pack(&a, buf);
        uint64_t wm = 777;
        CHECK(elaine_pb_get_ack(buf, len, &wm) == 0 && wm == edge_u64[k]);
        check_ack_bytes(buf, len);
        for (size_t cut = 0; cut < len; cut++)
            check_ack_bytes(buf, cut);
    }
    /* Unknown fields of every wire type around the watermark; the last one wins. */
    static const uint8_t known[] = {0x08, 0x05, 0x10, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8,
                                    0x22, 0x02, 0xaa, 0xbb, 0x2d, 1, 2, 3, 4, 0x08, 0x96, 0x01};
    uint64_t wm = 0;
    CHECK(elaine_pb_get_ack(known, sizeof(known), &wm) == 0 && wm == 150);
    check_ack_bytes(known, sizeof(known));
    for (size_t cut = 0; cut < sizeof(known); cut++)
        check_ack_bytes(known, cut);
    /* A non-minimal varint (10 bytes) and a too long one (11). */
    static const uint8_t ten[] = {0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    check_ack_bytes(ten, sizeof(ten));
    static const uint8_t eleven[] = {0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    CHECK(elaine_pb_get_ack(eleven, sizeof(eleven), &wm) < 0);
    /* The watermark with the wrong wire type, a group, field number 0. */
    static const uint8_t bad1[] = {0x0a, 0x01, 0x05}, bad2[] = {0x13, 0x14}, bad3[] = {0x00, 0x01};
    CHECK(elaine_pb_get_ack(bad1, sizeof(bad1), &wm) < 0);
    CHECK(elaine_pb_get_ack(bad2, sizeof(bad2), &wm) < 0);
    CHECK(elaine_pb_get_ack(bad3, sizeof(bad3), &wm) < 0);
    check_ack_bytes(bad1, sizeof(bad1));
    check_ack_bytes(bad3, sizeof(bad3));
    /* Random short inputs made of plausible bytes: same verdict, same value. */
    static const uint8_t alphabet[] = {0x08, 0x10, 0x19, 0x22, 0x2d, 0x80, 0x81, 0xff, 0x01, 0x00, 0x7f, 0x02};
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[16];
        size_t len = rnd() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = alphabet[rnd() % N(alphabet)];
        check_ack_verdict(buf, len, 0);
    }
}

int main(void)
{
    test_each_type_edges();
    test_with_hello();
    test_random();
    test_ack();
    return check_done("test_pbenc");
}
