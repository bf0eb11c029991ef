/* Hand-written protobuf for the shim's hot path (see elaine_pbenc.h). */
#include "elaine_pbenc.h"

#include <string.h>

#include "elaine.pb-c.h"

/* Wire types. Every field number here is below 16: a key is one byte. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
#define KEY(field, wt) ((uint8_t)((field) << 3 | (wt)))

static inline size_t vsize(uint64_t v)
{
    /* 7 bits a byte: (bits * 9 + 64) / 64 is ceil(bits / 7) for 1..64 bits. */
    return v < 0x80 ? 1 : ((size_t)(64 - __builtin_clzll(v)) * 9 + 64) / 64;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* proto3: a field with its zero value is not on the wire. */
static inline size_t varint_field_size(uint64_t v)
{
    return v ? 1 + vsize(v) : 0;
}

static inline size_t len_field_size(size_t n)
{
    return n ? 1 + vsize(n) + n : 0;
}

static inline uint8_t *put_varint_field(uint8_t *p, unsigned field, uint64_t v)
{
    if (!v)
        return p;
    *p++ = KEY(field, WT_VARINT);
    return put_varint(p, v);
}

static inline uint8_t *put_len_field(uint8_t *p, unsigned field, const void *data, size_t n)
{
    if (!n)
        return p;
    *p++ = KEY(field, WT_LEN);
    p = put_varint(p, n);
    memcpy(p, data, n);
    return p + n;
}

static inline size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* An enum is an int32 on the wire: a negative one is sign-extended to 10 bytes. */
static inline uint64_t enum_value(int v)
{
    return (uint64_t)(int64_t)v;
}

/* Sizes of the body message of e; *stack_bytes gets RequestStart's packed stack size. */
static size_t body_size(const struct elaine_pb_event *e, size_t *stack_bytes)
{
    size_t n = 0;
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        return varint_field_size(e->conn_id) + len_field_size(slen(e->peer)) +
               varint_field_size(e->peer_port) + len_field_size(slen(e->sni)) +
               len_field_size(slen(e->alpn)) + varint_field_size(e->tls ? 1 : 0) +
               len_field_size(slen(e->host)) + varint_field_size(e->port) +
               varint_field_size(e->mono_ns);
    case ELAINE__EVENT__BODY_REQUEST_START:
        for (size_t i = 0; i < e->n_stack; i++)
            n += vsize(e->stack[i]);
        *stack_bytes = n;
        return varint_field_size(e->conn_id) + varint_field_size(e->tid) +
               varint_field_size(e->wall_ns) + varint_field_size(e->mono_ns) +
               varint_field_size(e->request_no) + (e->n_stack ? 1 + vsize(n) + n : 0) +
               varint_field_size(e->gap ? 1 : 0);
    case ELAINE__EVENT__BODY_DATA:
        return varint_field_size(e->conn_id) + varint_field_size(enum_value(e->dir)) +
               varint_field_size(e->tid) + varint_field_size(e->mono_ns) + len_field_size(e->len);
    case ELAINE__EVENT__BODY_CLOSE:
        return varint_field_size(e->conn_id) + varint_field_size(e->mono_ns);
    default: /* ELAINE__EVENT__BODY_DROP */
        return varint_field_size(e->drop_events) + varint_field_size(e->drop_bytes);
    }
}

static uint8_t *put_str_field(uint8_t *p, unsigned field, const char *s)
{
    return put_len_field(p, field, s, slen(s));
}

static uint8_t *put_body(uint8_t *p, const struct elaine_pb_event *e, size_t stack_bytes)
{
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        p = put_varint_field(p, 1, e->conn_id);
        p = put_str_field(p, 2, e->peer);
        p = put_varint_field(p, 3, e->peer_port);
        p = put_str_field(p, 4, e->sni);
        p = put_str_field(p, 5, e->alpn);
        p = put_varint_field(p, 6, e->tls ? 1 : 0);
        p = put_str_field(p, 7, e->host);
        p = put_varint_field(p, 8, e->port);
        return put_varint_field(p, 9, e->mono_ns);
    case ELAINE__EVENT__BODY_REQUEST_START:
        p = put_varint_field(p, 1, e->conn_id);
        p = put_varint_field(p, 2, e->tid);
        p = put_varint_field(p, 3, e->wall_ns);
        p = put_varint_field(p, 4, e->mono_ns);
        p = put_varint_field(p, 5, e->request_no);
        if (e->n_stack) { /* proto3 packs a repeated scalar */
            *p++ = KEY(6, WT_LEN);
            p = put_varint(p, stack_bytes);
            for (size_t i = 0; i < e->n_stack; i++)
                p = put_varint(p, e->stack[i]);
        }
        return put_varint_field(p, 7, e->gap ? 1 : 0);
    case ELAINE__EVENT__BODY_DATA:
        p = put_varint_field(p, 1, e->conn_id);
        p = put_varint_field(p, 2, enum_value(e->dir));
        p = put_varint_field(p, 3, e->tid);
        p = put_varint_field(p, 4, e->mono_ns);
        return put_len_field(p, 5, e->data, e->len);
    case ELAINE__EVENT__BODY_CLOSE:
        p = put_varint_field(p, 1, e->conn_id);
        return put_varint_field(p, 2, e->mono_ns);
    default:
        p = put_varint_field(p, 1, e->drop_events);
        return put_varint_field(p, 2, e->drop_bytes);
    }
}

size_t elaine_pb_batch_event_max(const struct elaine_pb_event *e)
{
    /* Keys, lengths and scalars: at most 11 bytes for each of the 9 fields
     * of the largest body, plus the Event's seq, body key and length and
     * the Batch element's key and length. */
    size_t n = 11 * 9 + 11 + 11 + 11;
    switch (e->body) {
    case ELAINE__EVENT__BODY_CONN_OPEN:
        return n + slen(e->peer) + slen(e->sni) + slen(e->alpn) + slen(e->host);
    case ELAINE__EVENT__BODY_REQUEST_START:
        return n + 10 * e->n_stack;
    case ELAINE__EVENT__BODY_DATA:
        return n + e->len;
    default:
        return n;
    }
}

uint8_t *elaine_pb_put_batch_event(uint8_t *p, const struct elaine_pb_event *e)
{
    /* body_size() and put_body() take anything unknown for a Drop: so does the key. */
    unsigned member = e->body >= ELAINE__EVENT__BODY_CONN_OPEN && e->body < ELAINE__EVENT__BODY_DROP
                          ? (unsigned)e->body
                          : ELAINE__EVENT__BODY_DROP;
    size_t stack_bytes = 0;
    size_t bsize = body_size(e, &stack_bytes);
    size_t esize = varint_field_size(e->seq) + 1 + vsize(bsize) + bsize;
    *p++ = KEY(2, WT_LEN); /* Batch.events */
    p = put_varint(p, esize);
    p = put_varint_field(p, 1, e->seq);
    *p++ = KEY(member, WT_LEN); /* the oneof member, there even when empty */
    p = put_varint(p, bsize);
    return put_body(p, e, stack_bytes);
}

uint8_t *elaine_pb_put_batch_hello(uint8_t *p, size_t len)
{
    *p++ = KEY(1, WT_LEN);
    return put_varint(p, len);
}

/* Reads a varint of at most 10 bytes; NULL when it runs past end or is longer. */
static const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

int elaine_pb_get_ack(const uint8_t *p, size_t len, uint64_t *watermark)
{
    const uint8_t *end = p + len;
    uint64_t wm = 0;
    while (p < end) {
        uint64_t key, v;
        if (!(p = get_varint(p, end, &key)) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
            return -1;
        unsigned wt = (unsigned)(key & 7);
        if (key >> 3 == 1 && wt != WT_VARINT)
            return -1;
        switch (wt) {
        case WT_VARINT:
            if (!(p = get_varint(p, end, &v)))
                return -1;
            if (key >> 3 == 1)
                wm = v;
            break;
        case WT_I64:
            if ((size_t)(end - p) < 8)
                return -1;
            p += 8;
            break;
        case WT_LEN:
            if (!(p = get_varint(p, end, &v)) || v > (uint64_t)(end - p))
                return -1;
            p += v;
            break;
        case WT_I32:
            if ((size_t)(end - p) < 4)
                return -1;
            p += 4;
            break;
        default: /* groups (3, 4) and 6, 7: protobuf-c refuses them too */
            return -1;
        }
    }
    *watermark = wm;
    return 0;
}
