/* The collector's server: Unix socket, epoll loop, shim clients, per-process state, acks, log lines. */
#ifndef ELAINE_INGEST_H
#define ELAINE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_logw.h"
#include "elaine_record.h"

#define ELAINE_DETACH_KEEP_S 10 /* a disconnected, still running process is kept this long */

typedef struct elaine_ingest_opts {
    const char *socket_path;  /* NULL: the default (elaine_socket_path) */
    elaine_logw_opts log;     /* on_new_file/ud are set by the ingest */
    size_t max_body;          /* 0: 8 MiB */
    double sample;            /* fraction of successful exchanges kept (1: all) */
    uint64_t sample_seed;
    enum elaine_content content;
    int name_stacks;          /* name stack addresses from /proc/PID/maps */
    int handle_signals;       /* SIGTERM/SIGINT stop, SIGHUP reopens the log (signalfd; blocks them) */
    int verbose;
    size_t max_buffered;      /* partial frames of all clients together; 0: 256 MiB */
    const char *metrics_addr; /* HOST:PORT of the Prometheus endpoint (/metrics); NULL: none */
} elaine_ingest_opts;

typedef struct elaine_ingest elaine_ingest;

/* Prepares the socket folder (0700), refuses when a collector answers on the
 * socket (-EADDRINUSE), removes a stale socket, binds (0600) and listens,
 * opens the log and writes the "start" line. On failure a message naming the
 * call and the cause is in errbuf. 0 or -errno; *out set on success. */
int elaine_ingest_new(elaine_ingest **out, const elaine_ingest_opts *o, char *errbuf,
                      size_t errsize);
/* Serves until elaine_ingest_stop or a stop signal; then finalizes every
 * process (in-flight exchanges written with "incomplete at collector
 * shutdown"), acks what it can and writes the "shutdown" line. 0 or -errno. */
int elaine_ingest_run(elaine_ingest *s);
/* Asks the loop to stop; safe from another thread or a signal handler. */
void elaine_ingest_stop(elaine_ingest *s);
/* Closes everything and removes the socket file. */
void elaine_ingest_free(elaine_ingest *s);

/* Counters so far (also written in the collector lines). */
void elaine_ingest_counters(const elaine_ingest *s, elaine_counters *out);
const char *elaine_ingest_socket(const elaine_ingest *s);

/* 0 when a collector accepts a connection on path, -errno otherwise. */
int elaine_ingest_ping(const char *path);

#endif
