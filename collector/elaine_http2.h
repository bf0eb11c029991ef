/* HTTP/2 connection reassembly: a push decoder for both directions of one connection. */
#ifndef ELAINE_HTTP2_H
#define ELAINE_HTTP2_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_http1.h" /* elaine_http_head, elaine_http_header */

/* Callbacks, all optional (NULL: not reported). Each gets the stream id and
 * the mono_ns of the feed call that completed the frame (for a header block:
 * its last frame). Streams interleave arbitrarily; the callbacks of one
 * stream come in order: request head, request data..., request end (maybe
 * after on_trailers), and response heads, data, end likewise; the two
 * directions of one stream interleave as the bytes were fed.
 *
 * Heads are only valid during the call. Their headers are every field of
 * the header block in order, names lower-cased, pseudo-headers (":method",
 * ":path", ":authority", ":scheme", ":status", ...) first (see
 * elaine_http2_npseudo), cookie crumbs joined into one "cookie" field with
 * "; ". version is 20; requests: method = ":method", target = ":path" (NULL
 * when absent); responses: status from ":status" (0 when absent or not
 * three digits), reason NULL.
 *
 * Callbacks must not call elaine_http2_feed/eof/free on the same decoder. */
typedef struct elaine_http2_cb {
    void *ud;
    /* A client HEADERS opened stream `stream`. */
    void (*on_request_head)(void *ud, uint32_t stream, const elaine_http_head *h, uint64_t mono_ns);
    /* Request body bytes of one DATA frame, padding removed (n > 0). */
    void (*on_request_data)(void *ud, uint32_t stream, const uint8_t *p, size_t n, uint64_t mono_ns);
    /* END_STREAM from the client. */
    void (*on_request_end)(void *ud, uint32_t stream, uint64_t mono_ns);
    /* A response head. informational = 1 for a 1xx head (100 Continue, 103
     * Early Hints): more heads follow, fold it into the final one. */
    void (*on_response_head)(void *ud, uint32_t stream, const elaine_http_head *h,
                             int informational, uint64_t mono_ns);
    void (*on_response_data)(void *ud, uint32_t stream, const uint8_t *p, size_t n, uint64_t mono_ns);
    /* END_STREAM from the server. */
    void (*on_response_end)(void *ud, uint32_t stream, uint64_t mono_ns);
    /* A header block after the head (trailers; is_request as for the
     * direction); the matching on_*_end follows when it carried END_STREAM. */
    void (*on_trailers)(void *ud, uint32_t stream, int from_server, const elaine_http_head *h,
                        uint64_t mono_ns);
    /* RST_STREAM on a stream still open (either end not ended). The stream
     * is forgotten: nothing more is reported for it. A server may reset with
     * error_code 0 (NO_ERROR) after a complete response to stop an upload. */
    void (*on_reset)(void *ud, uint32_t stream, int from_server, uint32_t error_code,
                     uint64_t mono_ns);
    /* GOAWAY: streams above last_stream_id were not (and will not be)
     * processed by the sender; open streams stay open here. */
    void (*on_goaway)(void *ud, int from_server, uint32_t last_stream_id, uint32_t error_code,
                      uint64_t mono_ns);
    /* PUSH_PROMISE: the server promises stream `promised` (even) with request
     * head h, associated with client stream `stream`; the pushed response
     * follows with the response callbacks on `promised`. (The request side
     * of a pushed stream is complete: no on_request_end is reported.) */
    void (*on_push)(void *ud, uint32_t stream, uint32_t promised, const elaine_http_head *h,
                    uint64_t mono_ns);
} elaine_http2_cb;

typedef struct elaine_http2 elaine_http2;

#define ELAINE_HTTP2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define ELAINE_HTTP2_PREFACE_LEN 24

/* cb is copied. NULL on ENOMEM. */
elaine_http2 *elaine_http2_new(const elaine_http2_cb *cb);
/* Frees the decoder; open streams are dropped without callbacks. NULL is fine. */
void elaine_http2_free(elaine_http2 *h);

/* Feeds bytes of one direction in any slicing: from_server 0 is the client's
 * (starting with the connection preface), 1 the server's. Frames are
 * reported when their last byte arrives, with this call's mono_ns.
 * 0, or a negative errno once the connection cannot be followed: -EPROTO
 * (not HTTP/2, a malformed frame, a header block that HPACK cannot decode,
 * a frame over 16 MiB or a header list over 1 MiB), -ENOMEM. The error is
 * sticky: later calls return it and report nothing. */
int elaine_http2_feed(elaine_http2 *h, int from_server, const uint8_t *data, size_t n,
                      uint64_t mono_ns);

/* The connection ended. Returns how many streams were still open (0: a
 * clean end; the caller finishes those as cut off), or the sticky error.
 * Later feeds are ignored. */
int elaine_http2_eof(elaine_http2 *h);

/* Streams open now (either end not ended, not reset). */
size_t elaine_http2_open_streams(const elaine_http2 *h);

/* 1 when the first min(n, 24) bytes of data agree with the client preface
 * (n == 0 gives 1): how the exchange layer can recognise prior-knowledge
 * HTTP/2 (h2c, or TLS without a captured ALPN). */
int elaine_http2_is_preface(const uint8_t *data, size_t n);

/* How many of h->headers are pseudo-headers (they come first). */
size_t elaine_http2_npseudo(const elaine_http_head *h);

#endif
