/* HTTP/1.1 reassembly: a request and a response parser per connection, exchanges in request order
 * (pipelining, 1xx, HEAD, 101), synced by the shim's RequestStarts. */
#include <errno.h>
#include <stdint.h>

#include "elaine_exchange_int.h"

static xchg *first_without_request(xconn *c)
{
    for (xchg *x = c->fifo; x; x = x->next)
        if (!x->req_head)
            return x;
    return NULL;
}

static xchg *first_without_response(xconn *c)
{
    for (xchg *x = c->fifo; x; x = x->next)
        if (x->req_head && !x->resp_done)
            return x;
    return NULL;
}

/* ---- parser callbacks: requests ---- */

static int req_on_head(void *ud, const elaine_http_head *h)
{
    xconn *c = ud;
    elaine_exchange_proc *p = c->p;
    xchg *x = first_without_request(c);
    if (!x) { /* no RequestStart announced this one */
        uint64_t no = c->have_rs ? c->last_request_no + 1 : 0;
        x = elaine_exchange_open(c, p->cur_seq, no, p->cur_tid,
                                 elaine_exchange_wall_for_mono(p->cur_mono), p->cur_mono);
        if (!x)
            return 0;
    }
    c->req_x = x;
    elaine_exchange_request_head(x, h);
    return 0;
}

static void req_on_body(void *ud, const uint8_t *data, size_t n)
{
    xconn *c = ud;
    xchg *x = c->req_x;
    if (!x)
        return;
    elaine_exchange_request_body(x, data, n);
}

static void req_on_done(void *ud)
{
    xconn *c = ud;
    xchg *x = c->req_x;
    if (!x)
        return;
    c->req_x = NULL;
    elaine_exchange_request_end(x);
}

/* ---- parser callbacks: responses ---- */

static int resp_on_head(void *ud, const elaine_http_head *h)
{
    xconn *c = ud;
    xchg *x = first_without_response(c);
    c->resp_x = x;
    c->resp_interim = 0;
    if (!x) {
        elaine_exchange_note(c, "response without a request; ignored");
        return 0;
    }
    int interim = h->status >= 100 && h->status < 200 && h->status != 101;
    elaine_exchange_response_head(x, h, interim);
    if (interim) {
        c->resp_interim = 1; /* folds into the final response */
        return 0;
    }
    if (h->status == 101)
        c->upgrade = 1;
    return x->head_req;
}

static void resp_on_body(void *ud, const uint8_t *data, size_t n)
{
    xconn *c = ud;
    xchg *x = c->resp_x;
    if (!x || c->resp_interim)
        return;
    elaine_exchange_response_body(x, data, n);
}

static void resp_on_done(void *ud)
{
    xconn *c = ud;
    xchg *x = c->resp_x;
    if (c->resp_interim) {
        c->resp_interim = 0;
        return;
    }
    c->resp_x = NULL;
    if (!x)
        return;
    elaine_exchange_response_end(x);
}

/* ---- connections: parsers, sync points, data ---- */

void elaine_exchange_h1_free(xconn *c)
{
    elaine_http1_free(c->reqp);
    elaine_http1_free(c->respp);
    c->reqp = c->respp = NULL;
    c->req_x = c->resp_x = NULL;
    c->resp_interim = 0;
}

int elaine_exchange_h1_reset(xconn *c)
{
    elaine_exchange_h1_free(c);
    elaine_http1_cb rq = {c, req_on_head, req_on_body, req_on_done};
    elaine_http1_cb rs = {c, resp_on_head, resp_on_body, resp_on_done};
    c->reqp = elaine_http1_new(1, &rq);
    c->respp = elaine_http1_new(0, &rs);
    c->upgrade = 0;
    c->out_bytes = 0;
    if (!c->reqp || !c->respp) {
        elaine_exchange_h1_free(c);
        return -ENOMEM;
    }
    return 0;
}

/* Data of c is ignored from now on; what is in flight is dropped silently. */
static void kill_conn(xconn *c, const char *why)
{
    elaine_exchange_note(c, why);
    elaine_exchange_discard(c);
    elaine_exchange_h1_free(c);
    c->dead = 1;
    c->synced = 0;
}

int elaine_exchange_h1_request_start(xconn *c, uint64_t seq, const Elaine__RequestStart *rs)
{
    if (rs->gap) {
        elaine_exchange_flush(c, ELAINE_ERR_GAP);
        if (elaine_exchange_h1_reset(c) < 0)
            return -ENOMEM;
        c->dead = 0;
        c->synced = 1;
        c->sync_seq = seq;
    } else if (c->dead) {
        return 0;
    } else if (!c->synced) {
        elaine_exchange_flush(c, ELAINE_ERR_GAP);
        if (elaine_exchange_h1_reset(c) < 0)
            return -ENOMEM;
        c->synced = 1;
        c->sync_seq = seq;
    } else if (c->reqp && elaine_http1_in_message(c->reqp)) {
        /* the request before is still being written (e.g. a body after 100-continue) */
        return 0;
    }
    xchg *x = elaine_exchange_open(c, seq, rs->request_no, rs->tid, rs->wall_ns, rs->mono_ns);
    if (!x)
        return -ENOMEM;
    elaine_exchange_name_stack(c->p, x, rs->stack, rs->n_stack);
    return 0;
}

static void after_feed(xconn *c, int rc)
{
    if (rc < 0)
        kill_conn(c, "not HTTP/1.x (HTTP/2 preface or garbage); connection ignored");
    else if (c->upgrade)
        kill_conn(c, "protocol upgrade (101); rest of the connection ignored");
}

void elaine_exchange_h1_data(xconn *c, const Elaine__Data *d)
{
    if (!c->synced || !c->reqp)
        return;
    if (d->dir == ELAINE__DIRECTION__DIR_OUT) {
        xchg *x = c->req_x ? c->req_x : first_without_request(c);
        if (x) {
            x->last_out_mono = d->mono_ns;
            x->req_bytes = 1;
        }
        c->out_bytes += d->data.len;
        after_feed(c, elaine_http1_feed(c->reqp, d->data.data, d->data.len));
    } else {
        xchg *x = c->resp_x ? c->resp_x : first_without_response(c);
        if (x && !x->first_in_mono)
            x->first_in_mono = d->mono_ns;
        after_feed(c, elaine_http1_feed(c->respp, d->data.data, d->data.len));
    }
}

