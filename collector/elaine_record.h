/* The log format: one JSON line per exchange, drop report or collector counters line. */
#ifndef ELAINE_RECORD_H
#define ELAINE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"
#include "elaine_http1.h"
#include "elaine_json.h"
#include "elaine_provider.h"

#define ELAINE_VERSION "0.1.0"

enum elaine_content {
    ELAINE_CONTENT_FULL,     /* bodies kept whole */
    ELAINE_CONTENT_REDACTED, /* also PII and secrets masked in bodies, headers, path and llm texts (elaine_mask) */
    ELAINE_CONTENT_NONE,     /* bodies and output text null */
};

/* One side of an exchange, as captured. Everything is owned by the struct
 * (see elaine_record_msg_free). */
typedef struct elaine_xmsg {
    int present;        /* a head was parsed */
    char *method;       /* request */
    char *target;       /* request, as sent (redacted when written) */
    int status;         /* response */
    int version;        /* 10, 11, or 20 for HTTP/2 */
    size_t nheaders;
    elaine_http_header *headers; /* lower-case names, in order */
    int headers_block;  /* set_head made headers and their strings one allocation */
    /* set_head: in that allocation too, strlen of header i's name at [2i] and
     * of its value at [2i+1] (0 for NULL), and method and target when these
     * still point there; NULL otherwise. For the writer: not to be set by hand. */
    const size_t *header_lens;
    const char *block_method, *block_target;
    /* set_head: the block ends in 32 zero bytes after its last string, so
     * that 32 bytes can be loaded from any header string (the writer's
     * fast path). Not to be set by hand. */
    int headers_padded;
    /* set_head: every header name is plain (the head's names_tchar). */
    int names_plain;
    elaine_buf body;    /* decoded body, at most --max-body bytes */
    uint64_t body_size; /* decoded size, counting what was cut off */
    int body_truncated; /* cut at --max-body: written as "truncated": true */
    ej_val *json;       /* body parsed as JSON, or NULL */
} elaine_xmsg;

/* A finished exchange: what elaine_record_exchange writes. */
typedef struct elaine_xrec {
    uint32_t pid;
    uint64_t start_time;
    const char *exe;
    uint64_t conn_id;
    uint64_t request_no;
    uint32_t tid;
    uint64_t wall_ns;     /* request start, CLOCK_REALTIME */
    const char *conn_host; /* ConnOpen.host, "" or NULL when unknown */
    uint32_t conn_port;    /* 0 unknown */
    const char *sni;
    int tls;
    elaine_xmsg req, resp;
    elaine_llm llm;       /* provider NULL: not an LLM call */
    double ttfb_ms, ttft_ms, duration_ms; /* < 0: null */
    const char *error;    /* NULL or a message */
    char **stack;         /* named frames, NULL: null */
    size_t nstack;
    const char *stack_json; /* the same frames as a JSON array (elaine_stack_json), NULL: from stack */
} elaine_xrec;

void elaine_record_msg_init(elaine_xmsg *m);
void elaine_record_msg_free(elaine_xmsg *m);
/* Copies a parsed head into m (method, target, status, version, headers). 0 or -ENOMEM. */
int elaine_record_msg_set_head(elaine_xmsg *m, const elaine_http_head *h);
/* First value of a header (lower-case name) or NULL. */
const char *elaine_record_msg_header(const elaine_xmsg *m, const char *lower_name);
/* The same with the name's length given (lower_name[0..len), no NUL needed). */
const char *elaine_record_msg_headern(const elaine_xmsg *m, const char *lower_name, size_t len);
/* For a literal name: inline, the comparison of len bytes (a constant) a
 * few moves; names told apart by their lengths first, as set_head keeps
 * them. Not for other callers. */
static inline const char *elaine_record_msg_headerlit_(const elaine_xmsg *m, const char *lit, size_t len)
{
    if (!m->header_lens)
        return elaine_record_msg_headern(m, lit, len);
    for (size_t i = 0; i < m->nheaders; i++)
        if (m->header_lens[2 * i] == len && m->headers[i].name && __builtin_memcmp(m->headers[i].name, lit, len) == 0)
            return m->headers[i].value;
    return NULL;
}
#define ELAINE_RECORD_MSG_HEADER(m, lit) elaine_record_msg_headerlit_((m), lit, sizeof(lit) - 1)

/* "<pid>-<start_time>-<conn_id>-<request_no>" into buf (64 bytes are enough). */
void elaine_record_id(char *buf, size_t size, const elaine_xrec *x);
/* RFC 3339 UTC with microseconds, e.g. 2026-12-04T21:03:11.123456Z (32 bytes are enough). */
void elaine_record_ts(char *buf, size_t size, uint64_t wall_ns);
/* The server name and port as the client named them: :authority (HTTP/2)
 * or the Host header (port removed), else ConnOpen host, else SNI; port from
 * :authority or Host, else ConnOpen, else 443/80 by TLS. host_buf receives the name ("" when unknown). */
void elaine_record_server(const elaine_xrec *x, char *host_buf, size_t size, uint32_t *port);

/* 1 when the exchange failed (error, no response, or status >= 400): never sampled out. */
int elaine_record_failed(const elaine_xrec *x);
/* 1 when a successful exchange with this id is kept at sampling rate (0..1) and seed. */
int elaine_record_sample_keep(const char *id, double rate, uint64_t seed);

/* Appends one exchange line (no newline) to out. */
void elaine_record_exchange(elaine_buf *out, const elaine_xrec *x, enum elaine_content content);
/* {"type":"drop","ts":...,"pid":...,"dropped_events":N,"dropped_bytes":M} */
void elaine_record_drop(elaine_buf *out, uint64_t wall_ns, uint32_t pid, uint64_t events,
                        uint64_t bytes);

typedef struct elaine_counters {
    uint64_t exchanges_written;
    uint64_t drops_reported;  /* drop lines written */
    uint64_t dropped_events;  /* events the shims reported dropped */
    uint64_t sampled_out;
    uint64_t write_errors;
    uint64_t clients;         /* shim connections that said hello */
    uint64_t clients_rejected;
} elaine_counters;

/* {"type":"collector","ts":..,"event":event,"pid":..,"version":..,<counters>} */
void elaine_record_collector(elaine_buf *out, uint64_t wall_ns, const char *event, uint32_t pid,
                             const elaine_counters *c);

/* The mask that elaine_record_exchange applies with ELAINE_CONTENT_REDACTED
 * (the built-in kinds plus the user's --redact-pattern); NULL, the default:
 * the built-in kinds only. Not owned: it must outlive every later call. */
struct elaine_mask;
void elaine_record_set_mask(const struct elaine_mask *m);

#endif
