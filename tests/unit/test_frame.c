/* Framing: round trips, every split of the stream, and refusal of bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine.pb-c.h"
#include "elaine_frame.h"

static int failures;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* Packs a batch with one Data event of n bytes and returns the frame. */
static uint8_t *make_frame(uint64_t seq, size_t n, int compress, size_t *len)
{
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 7 + seq);
    Elaine__Data d = ELAINE__DATA__INIT;
    d.conn_id = 42;
    d.dir = ELAINE__DIRECTION__DIR_IN;
    d.data.data = data;
    d.data.len = n;
    Elaine__Event ev = ELAINE__EVENT__INIT;
    ev.seq = seq;
    ev.body_case = ELAINE__EVENT__BODY_DATA;
    ev.data = &d;
    Elaine__Event *evs[1] = {&ev};
    Elaine__Batch b = ELAINE__BATCH__INIT;
    b.n_events = 1;
    b.events = evs;
    size_t raw_len = elaine__batch__get_packed_size(&b);
    uint8_t *raw = malloc(raw_len);
    elaine__batch__pack(&b, raw);
    uint8_t *frame = NULL;
    CHECK(elaine_frame_pack(raw, raw_len, compress, &frame, len) == 0);
    free(raw);
    free(data);
    return frame;
}

static void check_payload(const uint8_t *p, size_t len, uint64_t seq, size_t n)
{
    Elaine__Batch *b = elaine__batch__unpack(NULL, len, p);
    CHECK(b && b->n_events == 1);
    if (!b || b->n_events != 1)
        return;
    Elaine__Event *ev = b->events[0];
    CHECK(ev->seq == seq);
    CHECK(ev->body_case == ELAINE__EVENT__BODY_DATA);
    CHECK(ev->data->conn_id == 42 && ev->data->data.len == n);
    for (size_t i = 0; i < n && i < ev->data->data.len; i++)
        if (ev->data->data.data[i] != (uint8_t)(i * 7 + seq)) {
            CHECK(!"payload byte differs");
            break;
        }
    elaine__batch__free_unpacked(b, NULL);
}

/* Two frames back to back, fed split at every position: both come out whole,
 * as copies (elaine_frame_dec_next) or as views into the decoder. */
static void test_every_split(int compress, int view)
{
    size_t l1, l2;
    uint8_t *f1 = make_frame(1, 300, compress, &l1);
    uint8_t *f2 = make_frame(2, 5000, compress, &l2);
    uint8_t *stream = malloc(l1 + l2);
    memcpy(stream, f1, l1);
    memcpy(stream + l1, f2, l2);
    for (size_t cut = 0; cut <= l1 + l2; cut++) {
        struct elaine_frame_dec d;
        elaine_frame_dec_init(&d);
        int got = 0;
        size_t parts[2][2] = {{0, cut}, {cut, l1 + l2}};
        for (int k = 0; k < 2; k++) {
            CHECK(elaine_frame_dec_feed(&d, stream + parts[k][0], parts[k][1] - parts[k][0]) == 0);
            uint8_t *p;
            size_t len;
            int r;
            while ((r = view ? elaine_frame_dec_view(&d, &p, &len) : elaine_frame_dec_next(&d, &p, &len)) == 1) {
                check_payload(p, len, (uint64_t)got + 1, got ? 5000 : 300);
                if (!view)
                    free(p);
                got++;
            }
            CHECK(r == 0);
        }
        CHECK(got == 2);
        CHECK(elaine_frame_dec_pending(&d) == 0);
        elaine_frame_dec_free(&d);
    }
    free(stream);
    free(f1);
    free(f2);
}

static int decode_one(const uint8_t *buf, size_t len)
{
    struct elaine_frame_dec d;
    uint8_t *p = NULL;
    size_t plen;
    elaine_frame_dec_init(&d);
    elaine_frame_dec_feed(&d, buf, len);
    int r = elaine_frame_dec_next(&d, &p, &plen);
    free(p);
    elaine_frame_dec_free(&d);
    return r;
}

static void test_bad_input(void)
{
    size_t len;
    uint8_t *f = make_frame(1, 100, 1, &len);

    /* Garbage is refused from its first byte. */
    CHECK(decode_one((const uint8_t *)"GET / HTTP/1.1\r\n", 16) == -EPROTO);
    CHECK(decode_one((const uint8_t *)"X", 1) == -EPROTO);
    /* A wrong version. */
    f[4] = 99;
    CHECK(decode_one(f, len) == -EPROTO);
    f[4] = ELAINE_PROTO_VERSION;
    /* A frame claiming 4 GB. */
    uint8_t big[ELAINE_FRAME_HDR];
    memcpy(big, f, ELAINE_FRAME_HDR);
    big[8] = big[9] = big[10] = big[11] = 0xff;
    CHECK(decode_one(big, sizeof(big)) == -EMSGSIZE);
    /* Corrupt zstd payload. */
    f[ELAINE_FRAME_HDR + 6] ^= 0xff;
    f[ELAINE_FRAME_HDR + 7] ^= 0xff;
    CHECK(decode_one(f, len) < 0);
    /* A partial frame waits, and the error is sticky once it comes. */
    struct elaine_frame_dec d;
    uint8_t *p;
    size_t plen;
    elaine_frame_dec_init(&d);
    elaine_frame_dec_feed(&d, "ELN", 3);
    CHECK(elaine_frame_dec_next(&d, &p, &plen) == 0);
    elaine_frame_dec_feed(&d, "2", 1);
    CHECK(elaine_frame_dec_next(&d, &p, &plen) == -EPROTO);
    CHECK(elaine_frame_dec_feed(&d, "x", 1) == -EPROTO);
    elaine_frame_dec_free(&d);
    free(f);
}

/* A big frame's buffer is given back once the frame was taken out; a small
 * one is kept for the next frames. */
static void test_footprint(void)
{
    size_t big = 3u << 20;
    uint8_t *payload = calloc(1, big), *f, *p;
    size_t flen, plen;
    CHECK(payload != NULL);
    CHECK(elaine_frame_pack(payload, big, 0, &f, &flen) == 0);
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    CHECK(elaine_frame_dec_feed(&d, f, flen - 1) == 0);
    CHECK(elaine_frame_dec_next(&d, &p, &plen) == 0);
    CHECK(elaine_frame_dec_pending(&d) == flen - 1);
    CHECK(elaine_frame_dec_footprint(&d) >= flen - 1);
    CHECK(elaine_frame_dec_feed(&d, f + flen - 1, 1) == 0);
    CHECK(elaine_frame_dec_next(&d, &p, &plen) == 1);
    CHECK(plen == big);
    free(p);
    CHECK(elaine_frame_dec_pending(&d) == 0);
    CHECK(elaine_frame_dec_footprint(&d) == 0);
    free(f);
    CHECK(elaine_frame_pack(payload, 100, 0, &f, &flen) == 0);
    CHECK(elaine_frame_dec_feed(&d, f, flen) == 0);
    CHECK(elaine_frame_dec_next(&d, &p, &plen) == 1);
    free(p);
    size_t small = elaine_frame_dec_footprint(&d);
    CHECK(small > 0 && small <= 4096);
    elaine_frame_dec_free(&d);
    free(f);
    free(payload);
}

/* Views: several frames of one feed (plain and zstd) come out in order without
 * moving the buffer, each valid until the next call; a partial frame waits
 * for the rest, which the next feed appends after moving the partial frame to
 * the front; an emptied big buffer is given back. */
static void test_views(void)
{
    size_t l[4];
    uint8_t *f[4] = {make_frame(1, 200, 0, &l[0]), make_frame(2, 3000, 1, &l[1]), make_frame(3, 50, 0, &l[2]),
                     make_frame(4, 700, 0, &l[3])};
    size_t total = l[0] + l[1] + l[2] + l[3], sizes[4] = {200, 3000, 50, 700};
    uint8_t *stream = malloc(total);
    for (size_t k = 0, off = 0; k < 4; off += l[k], k++)
        memcpy(stream + off, f[k], l[k]);
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    size_t first = total - l[3] / 2; /* the fourth frame cut in the middle */
    CHECK(elaine_frame_dec_feed(&d, stream, first) == 0);
    uint8_t *p, *buf = d.buf;
    size_t len;
    for (int k = 0; k < 3; k++) {
        CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
        check_payload(p, len, (uint64_t)k + 1, sizes[k]);
        if (k != 1) /* plain frames are read where they lie */
            CHECK(p >= buf && p + len <= buf + first);
    }
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 0);
    CHECK(elaine_frame_dec_pending(&d) == first - (l[0] + l[1] + l[2]));
    CHECK(elaine_frame_dec_feed(&d, stream + first, total - first) == 0);
    CHECK(elaine_frame_dec_pending(&d) == l[3]);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
    check_payload(p, len, 4, 700);
    CHECK(p == d.buf + ELAINE_FRAME_HDR); /* moved to the front by the feed */
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 0);
    CHECK(elaine_frame_dec_pending(&d) == 0);
    /* a big frame's buffer is given back once the view after it finds it empty */
    size_t bl;
    uint8_t *big = make_frame(5, 1u << 20, 0, &bl);
    CHECK(elaine_frame_dec_feed(&d, big, bl) == 0);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
    check_payload(p, len, 5, 1u << 20);
    CHECK(elaine_frame_dec_footprint(&d) >= bl);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 0);
    CHECK(d.cap == 0 && elaine_frame_dec_footprint(&d) < 4096); /* frame 2's small zstd buffer is kept */
    /* garbage after good frames: the error comes at its frame and stays */
    CHECK(elaine_frame_dec_feed(&d, f[0], l[0]) == 0);
    CHECK(elaine_frame_dec_feed(&d, "XXXXXXXXXXXXXXXX", 16) == 0);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == -EPROTO);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == -EPROTO);
    elaine_frame_dec_free(&d);
    free(big);
    free(stream);
    for (int k = 0; k < 4; k++)
        free(f[k]);
}

/* Reading straight into the decoder (room/commit, as the collector does): a
 * stream of plain and zstd frames stored in pieces of every size from 1 to
 * beyond a frame comes out whole and in order; the room is at least what was
 * asked, or the rest of a frame whose header is in; unread bytes move to
 * the front only when the room is short; after bad bytes there is no room. */
static void test_room(void)
{
    size_t l[5], sizes[5] = {200, 3000, 50, 70000, 9};
    uint8_t *f[5];
    size_t total = 0;
    for (int k = 0; k < 5; k++) {
        f[k] = make_frame((uint64_t)k + 1, sizes[k], k % 2, &l[k]);
        total += l[k];
    }
    uint8_t *stream = malloc(total);
    for (size_t k = 0, off = 0; k < 5; off += l[k], k++)
        memcpy(stream + off, f[k], l[k]);
    const size_t pieces[] = {1, 7, 100, 4096, 65536, 200000};
    for (size_t pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
        struct elaine_frame_dec d;
        elaine_frame_dec_init(&d);
        int got = 0;
        for (size_t at = 0; at < total;) {
            size_t room = 0, want = pieces[pi] < 4096 ? 16 : pieces[pi];
            uint8_t *r = elaine_frame_dec_room(&d, want, &room);
            CHECK(r != NULL);
            if (!r)
                break;
            CHECK(room >= want);
            size_t n = total - at < pieces[pi] ? total - at : pieces[pi];
            if (n > room)
                n = room;
            memcpy(r, stream + at, n);
            elaine_frame_dec_commit(&d, n);
            at += n;
            uint8_t *p;
            size_t len;
            int rc;
            while ((rc = elaine_frame_dec_view(&d, &p, &len)) == 1) {
                check_payload(p, len, (uint64_t)got + 1, sizes[got]);
                got++;
            }
            CHECK(rc == 0);
        }
        CHECK(got == 5);
        elaine_frame_dec_free(&d);
    }
    /* the unread part moves only when the room at the end is short */
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    size_t room = 0;
    uint8_t *r = elaine_frame_dec_room(&d, 8192, &room), *p;
    size_t len, first = l[0] + 10; /* frame 1 and 10 bytes of frame 2 */
    memcpy(r, stream, first);
    elaine_frame_dec_commit(&d, first);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 0);
    uint8_t *r2 = elaine_frame_dec_room(&d, 16, &room);
    CHECK(r2 == r + first); /* room enough: nothing moved */
    r2 = elaine_frame_dec_room(&d, d.cap, &room);
    CHECK(r2 == d.buf + 10 && room >= d.cap - 10); /* short: the 10 bytes went to the front */
    CHECK(room >= l[1] - 10);
    memcpy(r2, stream + first, l[1] - 10);
    elaine_frame_dec_commit(&d, l[1] - 10);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == 1);
    check_payload(p, len, 2, 3000);
    /* a frame whose header is in gets room for all of its rest at once */
    {
        struct elaine_frame_dec e;
        elaine_frame_dec_init(&e);
        size_t bl;
        uint8_t *bf = make_frame(9, 100000, 0, &bl), *q;
        uint8_t *w = elaine_frame_dec_room(&e, 16, &room);
        memcpy(w, bf, 16);
        elaine_frame_dec_commit(&e, 16);
        w = elaine_frame_dec_room(&e, 16, &room);
        CHECK(w != NULL && room >= bl - 16);
        if (w) {
            memcpy(w, bf + 16, bl - 16);
            elaine_frame_dec_commit(&e, bl - 16);
            CHECK(elaine_frame_dec_view(&e, &q, &len) == 1);
            check_payload(q, len, 9, 100000);
        }
        elaine_frame_dec_free(&e);
        free(bf);
    }
    /* bad bytes: the error stays, no more room */
    r = elaine_frame_dec_room(&d, 16, &room);
    memcpy(r, "XXXXXXXXXXXXXXXX", 16);
    elaine_frame_dec_commit(&d, 16);
    CHECK(elaine_frame_dec_view(&d, &p, &len) == -EPROTO);
    CHECK(elaine_frame_dec_room(&d, 16, &room) == NULL);
    elaine_frame_dec_free(&d);
    free(stream);
    for (int k = 0; k < 5; k++)
        free(f[k]);
}

int main(void)
{
    test_room();
    test_footprint();
    test_views();
    for (int view = 0; view < 2; view++) {
        test_every_split(1, view);
        test_every_split(0, view);
    }
    test_bad_input();
    if (failures) {
        fprintf(stderr, "test_frame: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_frame: ok\n");
    return 0;
}
