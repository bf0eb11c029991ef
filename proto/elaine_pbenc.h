/* Hand-written protobuf for the shim's hot path: the Event messages of a
 * Batch (elaine.proto), byte for byte what protobuf-c's packer produces
 * (proto3: zero and empty fields left out, fields in number order, the
 * oneof body always present), written straight into the frame being sent,
 * without protobuf-c's descriptor walk; and the Ack the collector answers
 * with. tests/unit/test_pbenc.c checks both against protobuf-c. */
#ifndef ELAINE_PBENC_H
#define ELAINE_PBENC_H

#include <stddef.h>
#include <stdint.h>

/* One Event. body is the oneof case as protobuf-c numbers it
 * (ELAINE__EVENT__BODY_CONN_OPEN ... ELAINE__EVENT__BODY_DROP; anything
 * else is written as a Drop); the fields a body does not have are ignored. */
struct elaine_pb_event {
    uint64_t seq;
    int body;
    uint64_t conn_id;    /* ConnOpen, RequestStart, Data, Close */
    uint64_t mono_ns;    /* ConnOpen, RequestStart, Data, Close */
    uint32_t tid;        /* RequestStart, Data */
    int gap;             /* RequestStart */
    uint64_t wall_ns, request_no;
    const uint64_t *stack;
    size_t n_stack;
    int dir;             /* Data: an Elaine__Direction */
    const uint8_t *data;
    size_t len;
    const char *peer, *sni, *alpn, *host; /* ConnOpen: NUL-terminated, NULL is "" */
    uint32_t peer_port, port;
    int tls;
    uint64_t drop_events, drop_bytes; /* Drop */
};

/* At least the bytes elaine_pb_put_batch_event() writes for e. */
size_t elaine_pb_batch_event_max(const struct elaine_pb_event *e);
/* Writes e as one element of Batch.events (tag, length, Event) at p, which
 * has room for elaine_pb_batch_event_max(e) bytes; returns the end. */
uint8_t *elaine_pb_put_batch_event(uint8_t *p, const struct elaine_pb_event *e);
/* Tag and length of Batch.hello, for a Hello of len packed bytes that the
 * caller writes right after; returns the end. p has room for 11 bytes. */
uint8_t *elaine_pb_put_batch_hello(uint8_t *p, size_t len);

/* Decodes an Ack as protobuf-c would (unknown fields skipped, the last
 * watermark wins, absent is 0). 0, or -1 when the bytes are no valid Ack. */
int elaine_pb_get_ack(const uint8_t *p, size_t len, uint64_t *watermark);

#endif
