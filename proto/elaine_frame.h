/* Framing of the shim <-> collector stream: header, zstd, push-style decoder. */
#ifndef ELAINE_FRAME_H
#define ELAINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Header: magic "ELN1", version (u8), flags (u8), reserved (u16 = 0),
 * payload length (u32 little endian, at most ELAINE_FRAME_MAX). */
#define ELAINE_FRAME_HDR 12
#define ELAINE_PROTO_VERSION 1
#define ELAINE_FRAME_MAX (16u << 20)
#define ELAINE_FRAME_MAX_DECODED (64u << 20)
#define ELAINE_FRAME_ZSTD 0x01 /* payload is one zstd frame */

/* Builds one frame around payload (compressing it when compress != 0).
 * On success *out is malloc'd (the caller frees it) and 0 is returned;
 * -ENOMEM, -EMSGSIZE or -EIO otherwise. */
int elaine_frame_pack(const void *payload, size_t len, int compress, uint8_t **out,
                      size_t *out_len);

/* Writes the header of a frame whose payload, len bytes (at most
 * ELAINE_FRAME_MAX), follows it: flags 0 or ELAINE_FRAME_ZSTD. */
void elaine_frame_put_header(uint8_t *hdr, size_t len, int flags);

/* Push decoder: feed arbitrary slices, take whole payloads out. */
struct elaine_frame_dec {
    uint8_t *buf;
    size_t off, len, cap; /* buf[off..len) is not yet taken out */
    size_t last;          /* bytes of the frame the last view took */
    uint8_t *zbuf;        /* where a zstd payload is decompressed for a view */
    size_t zcap;
    int err; /* sticky: once a frame was bad, everything after is refused */
};

void elaine_frame_dec_init(struct elaine_frame_dec *d);
void elaine_frame_dec_free(struct elaine_frame_dec *d);
/* Copies data in. 0, or -ENOMEM / the sticky error. */
int elaine_frame_dec_feed(struct elaine_frame_dec *d, const void *data, size_t len);
/* For a caller that reads straight into the decoder (no copy): room for at
 * least want bytes after what it holds, or for the rest of a frame whose
 * header is in when that is more (*room: how many), or NULL (out of memory,
 * or the sticky error); then _commit(n <= *room) takes the n bytes stored
 * there. Views given out before are no longer valid. An emptied buffer
 * bigger than 256 KiB is given back, as by the views. */
uint8_t *elaine_frame_dec_room(struct elaine_frame_dec *d, size_t want, size_t *room);
void elaine_frame_dec_commit(struct elaine_frame_dec *d, size_t n);
/* 1: *payload (malloc'd, decompressed; the caller frees it) and *len are set;
 * 0: more bytes needed; <0: the stream is bad (-EPROTO: magic or version,
 * -EMSGSIZE: too large, -EIO: zstd failed) and stays bad. */
int elaine_frame_dec_next(struct elaine_frame_dec *d, uint8_t **payload, size_t *len);
/* The same without a copy: *payload points into the decoder (its buffer, or
 * for a zstd frame its decompression buffer) and stays valid until the next
 * call on d. Taking frames out moves nothing: what is left of the buffer
 * moves to its start at the next feed. */
int elaine_frame_dec_view(struct elaine_frame_dec *d, uint8_t **payload, size_t *len);
/* Bytes buffered but not yet returned (a partial frame). */
size_t elaine_frame_dec_pending(const struct elaine_frame_dec *d);
/* Bytes of memory the decoder holds (its buffer's capacity): a big buffer is
 * given back once the frames in it were taken out. */
size_t elaine_frame_dec_footprint(const struct elaine_frame_dec *d);

#endif
