/* Fuzz target: the shim -> collector framing (elaine_frame_dec) as the
 * collector's ingest uses it, with every payload decoded as a Batch (by
 * elaine_pbdec.c, as ingest does; protobuf-c must find as many events in
 * what both take) and applied to a process's exchange state.
 * Input: 1 byte of slicing, 1 byte of options (0x80: the round trip;
 * 0x40: bytes stored in the decoder's room and frames taken as views, as
 * ingest does; else fed and taken as copies), then the socket bytes.
 * Oracles: no crash, leak or UB; the decoder never holds more than one
 * frame; a pack/unpack round trip of the input gives it back. */
#include <errno.h>
#include <string.h>

#include "elaine.pb-c.h"
#include "elaine_frame.h"
#include "elaine_pbdec.h"
#include "fuzz_sink.h"

/* The collector's decoder (elaine_pbdec.c) allocates from ingest's arena:
 * here a list freed at once. */
typedef struct fz_blk {
    struct fz_blk *next;
    max_align_t data[];
} fz_blk;

static void *fz_alloc(void *ud, size_t n)
{
    fz_blk **list = ud, *b = malloc(sizeof(*b) + n);
    if (!b)
        return NULL;
    b->next = *list;
    *list = b;
    return b->data;
}

static void fz_nofree(void *ud, void *p)
{
    (void)ud;
    (void)p;
}

static void apply_batch(elaine_exchange_proc **proc, fz_sink *sink, const uint8_t *p, size_t n)
{
    fz_blk *blocks = NULL;
    ProtobufCAllocator pa = {.alloc = fz_alloc, .free = fz_nofree, .allocator_data = &blocks};
    Elaine__Batch *b = elaine_pbdec_batch(p, n, &pa);
    /* protobuf-c's verdict on what both take: the same number of events */
    Elaine__Batch *ref = elaine__batch__unpack(NULL, n, p);
    if (b && ref)
        FZ_ASSERT(b->n_events == ref->n_events && !b->hello == !ref->hello);
    if (ref)
        elaine__batch__free_unpacked(ref, NULL);
    if (b && b->hello && !*proc && b->hello->pid) {
        elaine_exchange_opts o = {.max_body = 4096,
                                  .sink = {.ud = sink, .exchange = fz_sink_exchange,
                                           .drop = fz_sink_drop}};
        *proc = elaine_exchange_proc_new(&o, b->hello->pid, b->hello->start_time, b->hello->exe);
    }
    for (size_t i = 0; b && *proc && i < b->n_events; i++) {
        if (!b->events[i] || elaine_exchange_event(*proc, b->events[i]) < 0)
            break; /* the collector closes the client here */
    }
    while (blocks) {
        fz_blk *k = blocks;
        blocks = k->next;
        free(k);
    }
}

static void roundtrip(const uint8_t *data, size_t size, int compress)
{
    uint8_t *frame = NULL, *payload = NULL;
    size_t flen = 0, plen = 0;
    FZ_ASSERT(elaine_frame_pack(data, size, compress, &frame, &flen) == 0);
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    FZ_ASSERT(elaine_frame_dec_feed(&d, frame, flen) == 0);
    FZ_ASSERT(elaine_frame_dec_next(&d, &payload, &plen) == 1);
    FZ_ASSERT(plen == size && (size == 0 || memcmp(payload, data, size) == 0));
    FZ_ASSERT(elaine_frame_dec_pending(&d) == 0);
    free(payload);
    free(frame);
    elaine_frame_dec_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_slicer sl;
    fz_slicer_init(&sl, fz_byte(&data, &size));
    uint8_t opt = fz_byte(&data, &size);
    if (opt & 0x80) {
        roundtrip(data, size, opt & 1);
        return 0;
    }
    fz_sink sink = {.content = (enum elaine_content)(opt % 3)};
    elaine_exchange_proc *proc = NULL;
    struct elaine_frame_dec d;
    elaine_frame_dec_init(&d);
    size_t off = 0;
    int bad = 0, in_room = opt & 0x40;
    while (off < size && !bad) {
        size_t k = fz_slice(&sl, size - off);
        if (in_room) {
            size_t room = 0;
            uint8_t *r = elaine_frame_dec_room(&d, k, &room);
            if (!r)
                break;
            FZ_ASSERT(room >= k);
            memcpy(r, data + off, k);
            elaine_frame_dec_commit(&d, k);
        } else if (elaine_frame_dec_feed(&d, data + off, k) < 0) {
            break;
        }
        off += k;
        for (;;) {
            uint8_t *payload = NULL;
            size_t len = 0;
            int rc = in_room ? elaine_frame_dec_view(&d, &payload, &len) : elaine_frame_dec_next(&d, &payload, &len);
            if (rc < 0) {
                FZ_ASSERT(rc == -EPROTO || rc == -EMSGSIZE || rc == -EIO);
                /* sticky: the stream stays refused */
                size_t room = 0;
                if (in_room) {
                    FZ_ASSERT(elaine_frame_dec_view(&d, &payload, &len) == rc);
                    FZ_ASSERT(elaine_frame_dec_room(&d, 1, &room) == NULL);
                } else {
                    FZ_ASSERT(elaine_frame_dec_next(&d, &payload, &len) == rc);
                    FZ_ASSERT(elaine_frame_dec_feed(&d, "x", 1) == rc);
                }
                bad = 1;
                break;
            }
            if (rc == 0) {
                /* what is held is one partial frame, never more */
                FZ_ASSERT(elaine_frame_dec_pending(&d) < ELAINE_FRAME_HDR + ELAINE_FRAME_MAX);
                break;
            }
            FZ_ASSERT(len <= ELAINE_FRAME_MAX_DECODED);
            apply_batch(&proc, &sink, payload, len);
            if (!in_room)
                free(payload);
        }
    }
    if (proc) {
        elaine_exchange_finish_all(proc, ELAINE_ERR_DISCONNECTED);
        FZ_ASSERT(elaine_exchange_inflight(proc) == 0);
        elaine_exchange_proc_free(proc);
    }
    elaine_frame_dec_free(&d);
    return 0;
}
