/* HTTP/2 connection reassembly: a push decoder for both directions of one connection. */
#include "elaine_http2.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "elaine_buf.h"

/* A frame's length field has 24 bits: every frame fits the 16 MiB limit. */
#define BLOCK_MAX (1u << 20) /* encoded header block, HEADERS + CONTINUATIONs */
#define LIST_MAX (1u << 20)  /* decoded header list, counted as RFC 7541 does */
#define STREAMS_MAX 10000    /* open streams (servers allow some 100 at once) */
#define PENDING_MAX 32       /* SETTINGS frames sent and not yet acknowledged */
#define NBUCKETS 256
#define PAYLOAD_KEEP (1u << 20) /* frame buffer memory kept between frames */

enum { T_DATA, T_HEADERS, T_PRIORITY, T_RST_STREAM, T_SETTINGS, T_PUSH_PROMISE, T_PING, T_GOAWAY,
       T_WINDOW_UPDATE, T_CONTINUATION };

#define F_END_STREAM 0x01
#define F_ACK 0x01
#define F_END_HEADERS 0x04
#define F_PADDED 0x08
#define F_PRIORITY 0x20

#define SETTINGS_HEADER_TABLE_SIZE 1
#define HPACK_DEFAULT_TABLE 4096

#if NGHTTP2_VERSION_NUM >= 0x013d00 /* 1.61: the nghttp2_ssize API */
#define inflate_hd nghttp2_hd_inflate_hd3
typedef nghttp2_ssize hd_ssize;
#else
#define inflate_hd nghttp2_hd_inflate_hd2
typedef ssize_t hd_ssize;
#endif

typedef struct h2stream h2stream;
struct h2stream {
    h2stream *next; /* hash chain */
    uint32_t id;
    uint8_t req_head, req_end;
    uint8_t resp_head; /* the final (non-1xx) response head was reported */
    uint8_t resp_end;
};

/* One direction: the frames one endpoint sends, and the HPACK state of its encoder. */
typedef struct h2dir {
    int server;
    size_t preface_got;     /* client: bytes of the preface matched so far */
    int seen_frame;         /* the first frame must be SETTINGS */
    uint8_t hdr[9];
    size_t hdr_got;
    int in_frame;           /* the header is parsed, the payload is due */
    uint32_t len, sid;
    uint8_t type, flags;
    size_t got;             /* payload bytes so far */
    int skip;               /* the payload is not kept (ignored frame types) */
    elaine_buf pay;         /* the payload, when it came in several slices */
    uint32_t blk_sid;       /* a header block awaits CONTINUATION (0: none) */
    uint8_t blk_type, blk_end_stream;
    uint32_t blk_promised;
    elaine_buf blk;
    nghttp2_hd_inflater *inf; /* decodes the header blocks this side sends */
    size_t limit;             /* SETTINGS_HEADER_TABLE_SIZE in force for inf */
    /* SETTINGS_HEADER_TABLE_SIZE this side sent, in order, until the peer
     * acknowledges them (-1: that SETTINGS frame did not carry it). */
    int64_t pend[PENDING_MAX];
    size_t pend_first, npend;
} h2dir;

typedef struct field {
    size_t name, value;  /* offsets into the string arena */
    int pseudo, cookie;
} field;

struct elaine_http2 {
    elaine_http2_cb cb;
    int err;   /* sticky: -EPROTO, -ENOMEM */
    int ended; /* elaine_http2_eof was called */
    uint64_t mono;
    h2dir d[2]; /* [0] client -> server, [1] server -> client */
    h2stream *tab[NBUCKETS];
    size_t nstreams;
    uint32_t max_client_id, max_push_id;
    /* the header block being decoded */
    elaine_buf strs;
    field *fields;
    size_t nfields, fcap;
    elaine_http_header *hdrs;
    size_t hcap;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ streams */

static h2stream *stream_find(const elaine_http2 *h, uint32_t id)
{
    for (h2stream *s = h->tab[(id >> 1) % NBUCKETS]; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* NULL with h->err set on ENOMEM or too many streams. */
static h2stream *stream_new(elaine_http2 *h, uint32_t id)
{
    if (h->nstreams >= STREAMS_MAX) {
        h->err = -EPROTO;
        return NULL;
    }
    h2stream *s = calloc(1, sizeof(*s));
    if (!s) {
        h->err = -ENOMEM;
        return NULL;
    }
    s->id = id;
    h2stream **b = &h->tab[(id >> 1) % NBUCKETS];
    s->next = *b;
    *b = s;
    h->nstreams++;
    return s;
}

static void stream_del(elaine_http2 *h, h2stream *s)
{
    for (h2stream **pp = &h->tab[(s->id >> 1) % NBUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            h->nstreams--;
            free(s);
            return;
        }
    }
}

/* END_STREAM from one side; the stream is forgotten once both ended. */
static void stream_end(elaine_http2 *h, h2stream *s, int from_server)
{
    if (from_server) {
        if (s->resp_end)
            return;
        s->resp_end = 1;
        if (h->cb.on_response_end)
            h->cb.on_response_end(h->cb.ud, s->id, h->mono);
    } else {
        if (s->req_end)
            return;
        s->req_end = 1;
        if (h->cb.on_request_end)
            h->cb.on_request_end(h->cb.ud, s->id, h->mono);
    }
    if (s->req_end && s->resp_end)
        stream_del(h, s);
}

/* ------------------------------------------------------------ HPACK */

static int add_field(elaine_http2 *h, const nghttp2_nv *nv, size_t *list_size)
{
    *list_size += nv->namelen + nv->valuelen + 32;
    if (*list_size > LIST_MAX)
        return -EPROTO;
    if (h->nfields == h->fcap) {
        size_t nc = h->fcap ? h->fcap * 2 : 32;
        field *nf = realloc(h->fields, nc * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        h->fields = nf;
        h->fcap = nc;
    }
    field *f = &h->fields[h->nfields];
    f->name = h->strs.len;
    for (size_t i = 0; i < nv->namelen; i++) {
        char c = (char)nv->name[i];
        elaine_buf_addc(&h->strs, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
    elaine_buf_addc(&h->strs, 0);
    f->value = h->strs.len;
    elaine_buf_add(&h->strs, nv->value, nv->valuelen);
    elaine_buf_addc(&h->strs, 0);
    if (h->strs.oom)
        return -ENOMEM;
    f->pseudo = nv->namelen > 0 && nv->name[0] == ':';
    f->cookie = nv->namelen == 6 && strcmp(h->strs.p + f->name, "cookie") == 0;
    h->nfields++;
    return 0;
}

/* Decodes one complete header block with d's inflater into h->fields. */
static int inflate_block(elaine_http2 *h, h2dir *d, const uint8_t *in, size_t inlen)
{
    size_t list_size = 0;
    elaine_buf_reset(&h->strs);
    h->nfields = 0;
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        hd_ssize r = inflate_hd(d->inf, &nv, &flags, in, inlen, 1);
        if (r < 0)
            return r == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
        in += r;
        inlen -= (size_t)r;
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            int rc = add_field(h, &nv, &list_size);
            if (rc < 0)
                return rc;
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(d->inf);
            return 0;
        }
        if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && inlen == 0)
            return -EPROTO; /* cannot happen with in_final set */
    }
}

/* Builds head from h->fields: pseudo-headers first, cookies joined. */
static int build_head(elaine_http2 *h, elaine_http_head *head, int is_request)
{
    memset(head, 0, sizeof(*head));
    head->is_request = is_request;
    head->version = 20;
    size_t ncookies = 0;
    for (size_t i = 0; i < h->nfields; i++)
        ncookies += h->fields[i].cookie;
    size_t joined = 0;
    if (ncookies > 1) {
        joined = h->strs.len;
        int first = 1;
        for (size_t i = 0; i < h->nfields; i++) {
            if (!h->fields[i].cookie)
                continue;
            if (!first)
                elaine_buf_adds(&h->strs, "; ");
            first = 0;
            /* h->strs.p may move while appending: copy through an offset */
            size_t off = h->fields[i].value;
            size_t len = strlen(h->strs.p + off);
            for (size_t k = 0; k < len && !h->strs.oom; k++)
                elaine_buf_addc(&h->strs, h->strs.p[off + k]);
        }
        elaine_buf_addc(&h->strs, 0);
        if (h->strs.oom)
            return -ENOMEM;
    }
    if (h->nfields > h->hcap) {
        elaine_http_header *nh = realloc(h->hdrs, h->nfields * sizeof(*nh));
        if (!nh)
            return -ENOMEM;
        h->hdrs = nh;
        h->hcap = h->nfields;
    }
    size_t n = 0;
    int cookie_done = 0;
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t i = 0; i < h->nfields; i++) {
            const field *f = &h->fields[i];
            if (f->pseudo != pass)
                continue;
            size_t v = f->value;
            if (f->cookie && ncookies > 1) {
                if (cookie_done)
                    continue;
                cookie_done = 1;
                v = joined;
            }
            h->hdrs[n].name = h->strs.p + f->name;
            h->hdrs[n].value = h->strs.p + v;
            n++;
        }
    }
    head->headers = h->hdrs;
    head->nheaders = n;
    if (is_request) {
        head->method = (char *)elaine_http_head_get(head, ":method");
        head->target = (char *)elaine_http_head_get(head, ":path");
    } else {
        const char *st = elaine_http_head_get(head, ":status");
        if (st && st[0] >= '0' && st[0] <= '9' && st[1] >= '0' && st[1] <= '9' && st[2] >= '0' &&
            st[2] <= '9' && !st[3])
            head->status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
    }
    return 0;
}

/* Applies SETTINGS_HEADER_TABLE_SIZE v to the inflater of d. */
static int set_table_size(h2dir *d, size_t v)
{
    int rc = nghttp2_hd_inflate_change_table_size(d->inf, v);
    if (rc < 0)
        return rc == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EPROTO;
    d->limit = v;
    return 0;
}

/* ------------------------------------------------------------ frames */

/* A complete header block of d (HEADERS or PUSH_PROMISE, CONTINUATIONs
 * included). It is always decoded, even for a stream that is gone, so that
 * the HPACK state follows the encoder's. */
static int on_block(elaine_http2 *h, h2dir *d, const uint8_t *blk, size_t len)
{
    uint32_t sid = d->blk_sid;
    int end_stream = d->blk_end_stream;
    int type = d->blk_type;
    uint32_t promised = d->blk_promised;
    d->blk_sid = 0;
    int rc = inflate_block(h, d, blk, len);
    if (rc < 0)
        return rc;
    elaine_http_head head;
    h2stream *s = stream_find(h, sid);

    if (type == T_PUSH_PROMISE) {
        if ((promised & 1) || promised <= h->max_push_id || !s)
            return 0; /* not a new push for a stream we follow */
        h->max_push_id = promised;
        h2stream *ps = stream_new(h, promised);
        if (!ps)
            return h->err;
        ps->req_head = ps->req_end = 1;
        if ((rc = build_head(h, &head, 1)) < 0)
            return rc;
        if (h->cb.on_push)
            h->cb.on_push(h->cb.ud, sid, promised, &head, h->mono);
        return 0;
    }

    if (!d->server) {
        if (!s) {
            if (!(sid & 1) || sid <= h->max_client_id)
                return 0; /* a stream that is closed (or bogus) */
            h->max_client_id = sid;
            if (!(s = stream_new(h, sid)))
                return h->err;
            s->req_head = 1;
            if ((rc = build_head(h, &head, 1)) < 0)
                return rc;
            if (h->cb.on_request_head)
                h->cb.on_request_head(h->cb.ud, sid, &head, h->mono);
        } else if (!s->req_end) {
            if ((rc = build_head(h, &head, 1)) < 0)
                return rc;
            if (h->cb.on_trailers)
                h->cb.on_trailers(h->cb.ud, sid, 0, &head, h->mono);
        } else {
            return 0;
        }
    } else {
        if (!s) {
            if (!(sid & 1) || sid <= h->max_client_id)
                return 0;
            /* a response on a stream the client did not open here: the
             * request of an h2c upgrade (stream 1) went as HTTP/1.1 */
            h->max_client_id = sid;
            if (!(s = stream_new(h, sid)))
                return h->err;
            s->req_end = 1;
        }
        if (s->resp_end)
            return 0;
        if ((rc = build_head(h, &head, 0)) < 0)
            return rc;
        if (!s->resp_head) {
            int info = head.status >= 100 && head.status < 200;
            if (!info)
                s->resp_head = 1;
            if (h->cb.on_response_head)
                h->cb.on_response_head(h->cb.ud, sid, &head, info, h->mono);
        } else if (h->cb.on_trailers) {
            h->cb.on_trailers(h->cb.ud, sid, 1, &head, h->mono);
        }
    }
    if (end_stream)
        stream_end(h, s, d->server);
    return 0;
}

/* Strips the pad length byte and the padding of a PADDED frame. */
static int unpad(const h2dir *d, const uint8_t **p, size_t *len)
{
    if (!(d->flags & F_PADDED))
        return 0;
    if (*len < 1)
        return -EPROTO;
    size_t pad = (*p)[0];
    if (pad >= *len)
        return -EPROTO;
    *p += 1;
    *len -= 1 + pad;
    return 0;
}

/* Starts a header block fragment of HEADERS, PUSH_PROMISE or CONTINUATION. */
static int on_fragment(elaine_http2 *h, h2dir *d, const uint8_t *p, size_t len)
{
    if ((d->flags & F_END_HEADERS) && d->blk.len == 0)
        return on_block(h, d, p, len); /* the common case: one frame, no copy */
    if (d->blk.len + len > BLOCK_MAX)
        return -EPROTO;
    elaine_buf_add(&d->blk, p, len);
    if (d->blk.oom)
        return -ENOMEM;
    if (!(d->flags & F_END_HEADERS))
        return 0;
    int rc = on_block(h, d, (const uint8_t *)d->blk.p, d->blk.len);
    if (d->blk.cap > PAYLOAD_KEEP)
        elaine_buf_free(&d->blk);
    else
        elaine_buf_reset(&d->blk);
    return rc;
}

static int on_settings(elaine_http2 *h, h2dir *d, const uint8_t *p, size_t len)
{
    h2dir *peer = &h->d[!d->server];
    if (d->flags & F_ACK) {
        if (len)
            return -EPROTO;
        /* d acknowledges the peer's oldest SETTINGS: d's encoder uses it now */
        if (!peer->npend)
            return 0;
        int64_t v = peer->pend[peer->pend_first];
        peer->pend_first = (peer->pend_first + 1) % PENDING_MAX;
        peer->npend--;
        return v >= 0 && (size_t)v != d->limit ? set_table_size(d, (size_t)v) : 0;
    }
    if (len % 6)
        return -EPROTO;
    int64_t v = -1;
    for (size_t i = 0; i < len; i += 6)
        if (((unsigned)p[i] << 8 | p[i + 1]) == SETTINGS_HEADER_TABLE_SIZE)
            v = be32(p + i + 2);
    if (d->npend == PENDING_MAX) { /* never acknowledged: forget the oldest */
        d->pend_first = (d->pend_first + 1) % PENDING_MAX;
        d->npend--;
    }
    d->pend[(d->pend_first + d->npend) % PENDING_MAX] = v;
    d->npend++;
    /* A larger table may be used by the peer's encoder as soon as it has
     * read this; a smaller one is forced on the decoder at the ACK. */
    if (v >= 0 && (size_t)v > peer->limit)
        return set_table_size(peer, (size_t)v);
    return 0;
}

/* Checks a frame header before its payload; decides whether it is kept. */
static int frame_begin(elaine_http2 *h, h2dir *d)
{
    (void)h;
    if (!d->seen_frame) {
        if (d->type != T_SETTINGS || (d->flags & F_ACK))
            return -EPROTO;
        d->seen_frame = 1;
    }
    if (d->blk_sid ? d->type != T_CONTINUATION || d->sid != d->blk_sid
                   : d->type == T_CONTINUATION)
        return -EPROTO;
    switch (d->type) {
    case T_DATA:
    case T_HEADERS:
    case T_RST_STREAM:
    case T_CONTINUATION:
        if (!d->sid)
            return -EPROTO;
        break;
    case T_PUSH_PROMISE:
        if (!d->sid || !d->server)
            return -EPROTO;
        break;
    case T_SETTINGS:
    case T_GOAWAY:
    case T_PING:
        if (d->sid)
            return -EPROTO;
        break;
    default:
        break;
    }
    d->skip = d->type == T_PRIORITY || d->type == T_PING || d->type == T_WINDOW_UPDATE ||
              d->type > T_CONTINUATION;
    return 0;
}

/* A whole frame is here: p holds its payload (NULL when skipped). */
static int frame_end(elaine_http2 *h, h2dir *d, const uint8_t *p)
{
    size_t len = d->len;
    h2stream *s;
    d->in_frame = 0;
    switch (d->type) {
    case T_DATA: {
        if (unpad(d, &p, &len) < 0)
            return -EPROTO;
        s = stream_find(h, d->sid);
        if (!s || (d->server ? s->resp_end : s->req_end))
            return 0; /* closed, reset, or never opened */
        if (len && (d->server ? s->resp_head : s->req_head)) {
            void (*cb)(void *, uint32_t, const uint8_t *, size_t, uint64_t) =
                d->server ? h->cb.on_response_data : h->cb.on_request_data;
            if (cb)
                cb(h->cb.ud, d->sid, p, len, h->mono);
        }
        if (d->flags & F_END_STREAM)
            stream_end(h, s, d->server);
        return 0;
    }
    case T_HEADERS:
        if (unpad(d, &p, &len) < 0)
            return -EPROTO;
        if (d->flags & F_PRIORITY) {
            if (len < 5)
                return -EPROTO;
            p += 5;
            len -= 5;
        }
        d->blk_sid = d->sid;
        d->blk_type = T_HEADERS;
        d->blk_end_stream = (d->flags & F_END_STREAM) != 0;
        return on_fragment(h, d, p, len);
    case T_PUSH_PROMISE:
        if (unpad(d, &p, &len) < 0 || len < 4)
            return -EPROTO;
        d->blk_sid = d->sid;
        d->blk_type = T_PUSH_PROMISE;
        d->blk_end_stream = 0;
        d->blk_promised = be32(p) & 0x7fffffffu;
        return on_fragment(h, d, p + 4, len - 4);
    case T_CONTINUATION:
        return on_fragment(h, d, p, len);
    case T_RST_STREAM:
        if (len != 4)
            return -EPROTO;
        s = stream_find(h, d->sid);
        if (s) {
            if (h->cb.on_reset)
                h->cb.on_reset(h->cb.ud, d->sid, d->server, be32(p), h->mono);
            stream_del(h, s);
        }
        return 0;
    case T_SETTINGS:
        return on_settings(h, d, p, len);
    case T_GOAWAY:
        if (len < 8)
            return -EPROTO;
        if (h->cb.on_goaway)
            h->cb.on_goaway(h->cb.ud, d->server, be32(p) & 0x7fffffffu, be32(p + 4), h->mono);
        return 0;
    default: /* PRIORITY, PING, WINDOW_UPDATE, extensions: nothing to record */
        return 0;
    }
}

/* ------------------------------------------------------------ API */

elaine_http2 *elaine_http2_new(const elaine_http2_cb *cb)
{
    elaine_http2 *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    if (cb)
        h->cb = *cb;
    elaine_buf_init(&h->strs);
    for (int i = 0; i < 2; i++) {
        h2dir *d = &h->d[i];
        d->server = i;
        d->limit = HPACK_DEFAULT_TABLE;
        elaine_buf_init(&d->pay);
        elaine_buf_init(&d->blk);
        if (nghttp2_hd_inflate_new(&d->inf) != 0) {
            d->inf = NULL;
            elaine_http2_free(h);
            return NULL;
        }
    }
    return h;
}

void elaine_http2_free(elaine_http2 *h)
{
    if (!h)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        while (h->tab[b]) {
            h2stream *s = h->tab[b];
            h->tab[b] = s->next;
            free(s);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (h->d[i].inf)
            nghttp2_hd_inflate_del(h->d[i].inf);
        elaine_buf_free(&h->d[i].pay);
        elaine_buf_free(&h->d[i].blk);
    }
    elaine_buf_free(&h->strs);
    free(h->fields);
    free(h->hdrs);
    free(h);
}

static int fail(elaine_http2 *h, int rc)
{
    if (!h->err)
        h->err = rc;
    return h->err;
}

int elaine_http2_feed(elaine_http2 *h, int from_server, const uint8_t *data, size_t n,
                      uint64_t mono_ns)
{
    if (h->err)
        return h->err;
    if (h->ended)
        return 0;
    h2dir *d = &h->d[from_server ? 1 : 0];
    h->mono = mono_ns;
    while (n > 0) {
        if (!d->server && d->preface_got < ELAINE_HTTP2_PREFACE_LEN) {
            size_t k = ELAINE_HTTP2_PREFACE_LEN - d->preface_got;
            if (k > n)
                k = n;
            if (memcmp(data, ELAINE_HTTP2_PREFACE + d->preface_got, k) != 0)
                return fail(h, -EPROTO);
            d->preface_got += k;
            data += k;
            n -= k;
            continue;
        }
        if (!d->in_frame) {
            size_t k = 9 - d->hdr_got;
            if (k > n)
                k = n;
            memcpy(d->hdr + d->hdr_got, data, k);
            d->hdr_got += k;
            data += k;
            n -= k;
            if (d->hdr_got < 9)
                break;
            d->hdr_got = 0;
            d->len = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];
            d->type = d->hdr[3];
            d->flags = d->hdr[4];
            d->sid = be32(d->hdr + 5) & 0x7fffffffu;
            d->got = 0;
            d->in_frame = 1;
            elaine_buf_reset(&d->pay);
            int rc = frame_begin(h, d);
            if (rc < 0)
                return fail(h, rc);
            if (d->len == 0 && (rc = frame_end(h, d, (const uint8_t *)"")) < 0)
                return fail(h, rc);
            continue;
        }
        size_t want = d->len - d->got;
        size_t k = want < n ? want : n;
        const uint8_t *payload = NULL;
        if (d->skip) {
            d->got += k;
        } else if (d->got == 0 && k == want) {
            payload = data; /* the whole payload is in this slice */
            d->got = k;
        } else {
            elaine_buf_add(&d->pay, data, k);
            if (d->pay.oom)
                return fail(h, -ENOMEM);
            d->got += k;
            if (d->got == d->len)
                payload = (const uint8_t *)d->pay.p;
        }
        data += k;
        n -= k;
        if (d->got == d->len) {
            int rc = frame_end(h, d, payload);
            if (rc < 0)
                return fail(h, rc);
            if (d->pay.cap > PAYLOAD_KEEP)
                elaine_buf_free(&d->pay);
        }
    }
    return 0;
}

int elaine_http2_eof(elaine_http2 *h)
{
    if (h->err)
        return h->err;
    h->ended = 1;
    return h->nstreams > INT_MAX ? INT_MAX : (int)h->nstreams;
}

size_t elaine_http2_open_streams(const elaine_http2 *h)
{
    return h->nstreams;
}

int elaine_http2_is_preface(const uint8_t *data, size_t n)
{
    if (n > ELAINE_HTTP2_PREFACE_LEN)
        n = ELAINE_HTTP2_PREFACE_LEN;
    return memcmp(data, ELAINE_HTTP2_PREFACE, n) == 0;
}

size_t elaine_http2_npseudo(const elaine_http_head *h)
{
    size_t n = 0;
    while (n < h->nheaders && h->headers[n].name[0] == ':')
        n++;
    return n;
}
