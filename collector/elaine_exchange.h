/* Per-process reassembly: events in (deduplicated by seq), finished exchanges out, the ack watermark. */
#ifndef ELAINE_EXCHANGE_H
#define ELAINE_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "elaine.pb-c.h"
#include "elaine_record.h"

#define ELAINE_ERR_EXITED "incomplete: client process exited"
#define ELAINE_ERR_DISCONNECTED "incomplete: client disconnected"
#define ELAINE_ERR_SHUTDOWN "incomplete at collector shutdown"
#define ELAINE_ERR_GAP "events dropped by the shim"
#define ELAINE_ERR_CLOSED "connection closed before the response completed"
#define ELAINE_ERR_BAD_JSON "response body is not valid JSON"
#define ELAINE_ERR_DECODE "response body could not be decoded"
#define ELAINE_ERR_STREAM_END "incomplete: the stream ended without its final event"

/* Where finished work goes. Both return 0 when the line is on disk or was
 * deliberately not kept (sampling), -errno when writing failed: the
 * watermark then stays below that event for the life of the process state,
 * so that the shim keeps it for a later collector. */
typedef struct elaine_exchange_sink {
    void *ud;
    /* x (and everything it points to) is valid during the call only. */
    int (*exchange)(void *ud, const elaine_xrec *x);
    int (*drop)(void *ud, uint32_t pid, uint64_t events, uint64_t bytes);
} elaine_exchange_sink;

typedef struct elaine_exchange_opts {
    size_t max_body;  /* decoded bytes kept per body (0: 8 MiB) */
    int name_stacks;  /* 1: name stack addresses from /proc/PID/maps */
    int verbose;      /* notes on stderr (HTTP/2, unparseable streams) */
    elaine_exchange_sink sink;
} elaine_exchange_opts;

typedef struct elaine_exchange_proc elaine_exchange_proc;

/* State of one captured process. exe is copied; o is copied. NULL on ENOMEM. */
elaine_exchange_proc *elaine_exchange_proc_new(const elaine_exchange_opts *o, uint32_t pid,
                                               uint64_t start_time, const char *exe);
/* Frees everything; in-flight exchanges are discarded without a record
 * (call elaine_exchange_finish_all first to write them). */
void elaine_exchange_proc_free(elaine_exchange_proc *p);

/* Applies one event. Events with seq <= the highest seq already applied are
 * skipped (except seq 0, a ConnOpen re-announcement, applied idempotently).
 * Finished exchanges and drops go to the sink during the call.
 * 0; 1 when the event was a duplicate and skipped; -EINVAL for an event
 * that makes no sense (no body, Data without direction). */
int elaine_exchange_event(elaine_exchange_proc *p, const Elaine__Event *ev);

/* Writes every in-flight exchange with error (what we have so far) and forgets all connections. */
void elaine_exchange_finish_all(elaine_exchange_proc *p, const char *error);

/* Every event with seq < watermark is written or belongs to nothing still open. */
uint64_t elaine_exchange_watermark(const elaine_exchange_proc *p);
uint64_t elaine_exchange_max_seq(const elaine_exchange_proc *p);
/* 1 when a line of this process failed to write: its watermark is held there. */
int elaine_exchange_held(const elaine_exchange_proc *p);
/* Holds the watermark at seq at most (lines written later that failed). */
void elaine_exchange_hold(elaine_exchange_proc *p, uint64_t seq);
/* Exchanges started and not yet written; connections tracked. */
size_t elaine_exchange_inflight(const elaine_exchange_proc *p);
size_t elaine_exchange_conns(const elaine_exchange_proc *p);

#endif
