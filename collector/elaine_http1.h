/* HTTP/1.x message reassembly: a push parser for one direction of a connection. */
#ifndef ELAINE_HTTP1_H
#define ELAINE_HTTP1_H

#include <stddef.h>
#include <stdint.h>

typedef struct elaine_http_header {
    char *name;  /* lower-cased */
    char *value; /* leading/trailing whitespace removed */
} elaine_http_header;

typedef struct elaine_http_head {
    int is_request;
    char *method;    /* requests */
    char *target;    /* requests: the request target as sent */
    int status;      /* responses */
    char *reason;    /* responses */
    int version;     /* 10 or 11 */
    size_t nheaders;
    elaine_http_header *headers;
    /* Optional, for copying the head (0/NULL when unknown, e.g. HTTP/2 or a
     * head built by hand): raw[0..raw_len) holds every string above, each
     * NUL-terminated there (or NULL); header_lens[2i] and [2i+1] are strlen
     * of header i's name and value (0 for NULL). elaine_http1 sets both. */
    const char *raw;
    size_t raw_len;
    const size_t *header_lens;
    /* 1 when every header name is known to be tchars (RFC 9110: nothing a
     * JSON string escapes), as elaine_http1 checks them; 0 when unknown. */
    int names_tchar;
} elaine_http_head;

typedef struct elaine_http1_cb {
    void *ud;
    /* A head is complete. The head is only valid during the call.
     * For responses the return value says whether a body may follow:
     * return 1 when the request was HEAD (no body whatever the headers say),
     * 0 otherwise. Requests: return value ignored. 1xx responses (other than
     * 101) are messages without a body: on_head then on_done. */
    int (*on_head)(void *ud, const elaine_http_head *h);
    /* (Return values, responses: ELAINE_HTTP1_HEAD, or ELAINE_HTTP1_CONNECT
     * when the request was CONNECT: a 2xx then ends parsing like a 101. A 101
     * or CONNECT 2xx response is still on_head then on_done, without body.) */
    /* Body bytes after chunked decoding (content encoding is left alone). */
    void (*on_body)(void *ud, const uint8_t *p, size_t n);
    /* The message is complete (trailers, if any, are parsed and ignored). */
    void (*on_done)(void *ud);
} elaine_http1_cb;

/* on_head return values for responses (0: the request was anything else). */
#define ELAINE_HTTP1_HEAD 1
#define ELAINE_HTTP1_CONNECT 2

typedef struct elaine_http1 elaine_http1;

/* is_request: 1 parses requests, 0 responses. cb is copied. NULL on ENOMEM. */
elaine_http1 *elaine_http1_new(int is_request, const elaine_http1_cb *cb);
void elaine_http1_free(elaine_http1 *p);
/* Feeds bytes in any slicing. 0, or -EPROTO once the stream is not HTTP/1.x
 * (then every later call returns -EPROTO and nothing more is emitted).
 * Heads are limited to 256 KiB (-EPROTO beyond). A 101 response or a
 * CONNECT 2xx ends parsing: later bytes are ignored. */
int elaine_http1_feed(elaine_http1 *p, const uint8_t *data, size_t n);
/* The connection ended. A body delimited by the close is completed (on_done)
 * and 1 is returned; 0 when no message was in progress; -1 when a message
 * was cut off (no on_done). */
int elaine_http1_eof(elaine_http1 *p);
/* Ends parsing: later bytes are ignored (e.g. the request side once the
 * response side saw a 101 Switching Protocols). */
void elaine_http1_stop(elaine_http1 *p);
/* 1 while a message has started (some of its bytes were fed) and is not done. */
int elaine_http1_in_message(const elaine_http1 *p);

/* Helpers over a head. */
const char *elaine_http_head_get(const elaine_http_head *h, const char *lower_name); /* first value or NULL */

#endif
