/* The collector's /metrics endpoint: a small HTTP/1.x server inside the
 * collector's epoll loop (no thread, no locks: the loop renders the page
 * between batches). GET /metrics answers with the page; anything else 404
 * or 405; every connection is closed after one answer. */
#ifndef ELAINE_MHTTP_H
#define ELAINE_MHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"

typedef struct elaine_mhttp elaine_mhttp;

/* Renders the metrics page into out. */
typedef void (*elaine_mhttp_render)(void *ud, elaine_buf *out);

/* Listens on addr ("host:port", "[v6addr]:port", or ":port" for every
 * address) and adds the socket to epfd. Every epoll data.ptr this module
 * registers points to an int that holds kind_listen (the listening socket)
 * or kind_conn (a connection): the loop hands those to
 * elaine_mhttp_event. 0, or -errno with a message in err. */
int elaine_mhttp_open(elaine_mhttp **out, const char *addr, int epfd, int kind_listen, int kind_conn,
                      elaine_mhttp_render render, void *ud, char *err, size_t errsize);
/* An epoll event on one of this module's descriptors (tag: its data.ptr). */
void elaine_mhttp_event(elaine_mhttp *h, void *tag, uint32_t events);
/* Closes connections that took longer than a few seconds (call about once a second). */
void elaine_mhttp_tick(elaine_mhttp *h, uint64_t now_ms);
void elaine_mhttp_free(elaine_mhttp *h);

#endif
