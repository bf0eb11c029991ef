/* Framing of the shim <-> collector stream: header, zstd, push-style decoder. */
#include "elaine_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const uint8_t magic[4] = {'E', 'L', 'N', '1'};

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void elaine_frame_put_header(uint8_t *hdr, size_t len, int flags)
{
    memcpy(hdr, magic, 4);
    hdr[4] = ELAINE_PROTO_VERSION;
    hdr[5] = (uint8_t)flags;
    hdr[6] = hdr[7] = 0;
    put_u32(hdr + 8, (uint32_t)len);
}

int elaine_frame_pack(const void *payload, size_t len, int compress, uint8_t **out,
                      size_t *out_len)
{
    size_t cap = compress ? ZSTD_compressBound(len) : len;
    uint8_t *buf = malloc(ELAINE_FRAME_HDR + cap);
    size_t plen = len;

    if (!buf)
        return -ENOMEM;
    if (compress) {
        plen = ZSTD_compress(buf + ELAINE_FRAME_HDR, cap, payload, len, 1);
        if (ZSTD_isError(plen)) {
            free(buf);
            return -EIO;
        }
    } else if (len) {
        memcpy(buf + ELAINE_FRAME_HDR, payload, len);
    }
    if (plen > ELAINE_FRAME_MAX) {
        free(buf);
        return -EMSGSIZE;
    }
    elaine_frame_put_header(buf, plen, compress ? ELAINE_FRAME_ZSTD : 0);
    *out = buf;
    *out_len = ELAINE_FRAME_HDR + plen;
    return 0;
}

void elaine_frame_dec_init(struct elaine_frame_dec *d)
{
    memset(d, 0, sizeof(*d));
}

void elaine_frame_dec_free(struct elaine_frame_dec *d)
{
    free(d->buf);
    free(d->zbuf);
    memset(d, 0, sizeof(*d));
}

/* A decoder keeps a buffer up to this size between frames; a bigger one
 * (a frame of megabytes) is freed when it empties. */
#define DEC_KEEP (256u << 10)

/* Forgets what views gave out: bytes already returned leave the buffer, an
 * empty oversized buffer (or decompression buffer) is given back. */
static void release(struct elaine_frame_dec *d)
{
    if (d->off) {
        d->len -= d->off;
        if (d->len)
            memmove(d->buf, d->buf + d->off, d->len);
        d->off = 0;
    }
    if (d->len == 0 && d->cap > DEC_KEEP) { /* one big frame must not pin its buffer */
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
    if (d->zcap > DEC_KEEP) {
        free(d->zbuf);
        d->zbuf = NULL;
        d->zcap = 0;
    }
}

int elaine_frame_dec_feed(struct elaine_frame_dec *d, const void *data, size_t len)
{
    if (d->err)
        return d->err;
    release(d);
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + len)
            cap *= 2;
        uint8_t *nb = realloc(d->buf, cap);
        if (!nb)
            return -ENOMEM;
        d->buf = nb;
        d->cap = cap;
    }
    if (len) /* d->buf may still be NULL: memcpy(NULL, ..., 0) is undefined */
        memcpy(d->buf + d->len, data, len);
    d->len += len;
    return 0;
}

uint8_t *elaine_frame_dec_room(struct elaine_frame_dec *d, size_t want, size_t *room)
{
    if (d->err)
        return NULL;
    /* all taken out (start over at the buffer's start, give a big one
     * back), or a big decompression buffer to give back: as the views do */
    if (d->off == d->len || d->zcap > DEC_KEEP)
        release(d);
    if (!want)
        want = 1;
    /* room for the rest of a frame whose header is in: one read, one growth */
    size_t have = d->len - d->off;
    if (have >= ELAINE_FRAME_HDR) {
        size_t plen = get_u32(d->buf + d->off + 8);
        if (plen <= ELAINE_FRAME_MAX && ELAINE_FRAME_HDR + plen > have && ELAINE_FRAME_HDR + plen - have > want)
            want = ELAINE_FRAME_HDR + plen - have;
    }
    if (d->cap - d->len < want) {
        /* the unread bytes move to the start only when the room is short */
        if (d->off) {
            d->len -= d->off;
            memmove(d->buf, d->buf + d->off, d->len);
            d->off = 0;
        }
        if (d->cap - d->len < want) {
            size_t cap = d->cap ? d->cap : 4096;
            while (cap - d->len < want)
                cap *= 2;
            uint8_t *nb = realloc(d->buf, cap);
            if (!nb)
                return NULL;
            d->buf = nb;
            d->cap = cap;
        }
    }
    *room = d->cap - d->len;
    return d->buf + d->len;
}

void elaine_frame_dec_commit(struct elaine_frame_dec *d, size_t n)
{
    d->len += n;
}

size_t elaine_frame_dec_pending(const struct elaine_frame_dec *d)
{
    return d->len - d->off;
}

size_t elaine_frame_dec_footprint(const struct elaine_frame_dec *d)
{
    return d->cap + d->zcap;
}

static int fail(struct elaine_frame_dec *d, int err)
{
    d->err = err;
    return err;
}

int elaine_frame_dec_view(struct elaine_frame_dec *d, uint8_t **payload, size_t *len)
{
    if (d->err)
        return d->err;
    if (d->off == d->len)
        release(d); /* the last view's bytes are no longer looked at */
    size_t have = d->len - d->off;
    if (have < ELAINE_FRAME_HDR) {
        /* Refuse garbage as early as its first bytes show it (d->buf may be NULL when have is 0). */
        if (have && memcmp(d->buf + d->off, magic, have < 4 ? have : 4) != 0)
            return fail(d, -EPROTO);
        return 0;
    }
    const uint8_t *h = d->buf + d->off;
    if (memcmp(h, magic, 4) != 0 || h[4] != ELAINE_PROTO_VERSION || (h[5] & ~ELAINE_FRAME_ZSTD) || h[6] ||
        h[7])
        return fail(d, -EPROTO);
    uint32_t plen = get_u32(h + 8);
    if (plen > ELAINE_FRAME_MAX)
        return fail(d, -EMSGSIZE);
    if (have < ELAINE_FRAME_HDR + (size_t)plen)
        return 0;

    uint8_t *p = d->buf + d->off + ELAINE_FRAME_HDR;
    if (h[5] & ELAINE_FRAME_ZSTD) {
        unsigned long long sz = ZSTD_getFrameContentSize(p, plen);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN)
            return fail(d, -EIO);
        if (sz > ELAINE_FRAME_MAX_DECODED)
            return fail(d, -EMSGSIZE);
        if (sz > d->zcap || !d->zbuf) {
            uint8_t *nb = malloc(sz ? sz : 1);
            if (!nb)
                return -ENOMEM;
            free(d->zbuf);
            d->zbuf = nb;
            d->zcap = sz ? sz : 1;
        }
        size_t outn = ZSTD_decompress(d->zbuf, sz, p, plen);
        if (ZSTD_isError(outn) || outn != sz)
            return fail(d, -EIO);
        *payload = d->zbuf;
        *len = outn;
    } else {
        *payload = p;
        *len = plen;
    }
    d->last = ELAINE_FRAME_HDR + plen;
    d->off += d->last;
    return 1;
}

int elaine_frame_dec_next(struct elaine_frame_dec *d, uint8_t **payload, size_t *len)
{
    uint8_t *view = NULL;
    size_t n = 0;
    int rc = elaine_frame_dec_view(d, &view, &n);
    if (rc != 1)
        return rc;
    uint8_t *outb = malloc(n ? n : 1);
    if (!outb) {
        d->off -= d->last; /* as if it had not been taken: the same frame comes again */
        return -ENOMEM;
    }
    memcpy(outb, view, n);
    release(d);
    *payload = outb;
    *len = n;
    return 1;
}
