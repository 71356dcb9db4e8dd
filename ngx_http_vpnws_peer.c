/*
 * vpnws: a websocket peer of the switch: reading frames, switching them,
 * delivering to local peers and other workers, closing.
 */


#include "ngx_http_vpnws.h"


#define NGX_HTTP_VPNWS_CLOSE_WAIT   2000    /* ms to flush a Close frame */


static void ngx_http_vpnws_read_handler(ngx_event_t *rev);
static void ngx_http_vpnws_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_http_vpnws_consume(ngx_http_vpnws_peer_t *p,
    u_char *buf, size_t len);
static void ngx_http_vpnws_flush(ngx_http_vpnws_peer_t *p);
static void ngx_http_vpnws_close(ngx_http_vpnws_peer_t *p, uint16_t code,
    const char *reason);
static void ngx_http_vpnws_finalize(ngx_http_vpnws_peer_t *p);
static void ngx_http_vpnws_cleanup(void *data);
static ngx_int_t ngx_http_vpnws_queue(ngx_http_vpnws_peer_t *p, u_char *data,
    size_t len, int opcode);
static void ngx_http_vpnws_send(ngx_http_vpnws_peer_t *p, u_char *data,
    size_t size);
static void ngx_http_vpnws_flood(ngx_http_vpnws_switch_t *sw,
    vpnws_port_t *src, vpnws_fwd_t action, u_char *frame, size_t len,
    ngx_uint_t tap);
static void ngx_http_vpnws_timer(ngx_http_vpnws_peer_t *p);

static int ngx_http_vpnws_on_message(void *ctx, uint8_t *data, size_t len);
static int ngx_http_vpnws_on_control(void *ctx, int opcode, uint8_t *data,
    size_t len);
static uint8_t *ngx_http_vpnws_frag_alloc(void *ctx);
static void ngx_http_vpnws_frag_free(void *ctx, uint8_t *buf);


static const vpnws_ws_handler_t  ngx_http_vpnws_ws_handler = {
    ngx_http_vpnws_on_message,
    ngx_http_vpnws_on_control,
    ngx_http_vpnws_frag_alloc,
    ngx_http_vpnws_frag_free
};


static u_char       *ngx_http_vpnws_rbuf;     /* reads land here first */
static size_t        ngx_http_vpnws_rbuf_size;
static u_char       *ngx_http_vpnws_tx;       /* one framed ethernet frame */
static ngx_queue_t   ngx_http_vpnws_dirty;    /* peers with queued output */


ngx_int_t
ngx_http_vpnws_peer_init_process(ngx_cycle_t *cycle)
{
    size_t                       max;
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    max = 0;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        max = ngx_max(max, sws[i]->conf.max_frame);
    }

    ngx_http_vpnws_rbuf_size = ngx_max(max + VPNWS_WS_MAX_HLEN, 65536);

    ngx_http_vpnws_rbuf = ngx_alloc(ngx_http_vpnws_rbuf_size, cycle->log);
    if (ngx_http_vpnws_rbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_http_vpnws_tx = ngx_alloc(max + VPNWS_WS_MAX_HLEN, cycle->log);
    if (ngx_http_vpnws_tx == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&ngx_http_vpnws_dirty);

    return NGX_OK;
}


/* spare buffers: a list threaded through the buffers themselves */

static u_char *
ngx_http_vpnws_buf_get(void **list, ngx_uint_t *n, size_t size)
{
    void  *b;

    b = *list;

    if (b) {
        *list = *(void **) b;
        (*n)--;
        return b;
    }

    return ngx_alloc(size, ngx_cycle->log);
}


static void
ngx_http_vpnws_buf_put(void **list, ngx_uint_t *n, void *b)
{
    if (*n >= NGX_HTTP_VPNWS_FREE_KEEP) {
        ngx_free(b);
        return;
    }

    *(void **) b = *list;
    *list = b;
    (*n)++;
}


#define ngx_http_vpnws_in_size(sw)  ((sw)->conf.max_frame + VPNWS_WS_MAX_HLEN)

#define ngx_http_vpnws_in_get(sw)                                            \
    ngx_http_vpnws_buf_get(&(sw)->free_in, &(sw)->nfree_in,                   \
                           ngx_http_vpnws_in_size(sw))
#define ngx_http_vpnws_in_put(sw, b)                                         \
    ngx_http_vpnws_buf_put(&(sw)->free_in, &(sw)->nfree_in, b)
#define ngx_http_vpnws_out_get(sw)                                           \
    ngx_http_vpnws_buf_get(&(sw)->free_out, &(sw)->nfree_out, (sw)->queue)
#define ngx_http_vpnws_out_put(sw, b)                                        \
    ngx_http_vpnws_buf_put(&(sw)->free_out, &(sw)->nfree_out, b)


ngx_int_t
ngx_http_vpnws_peer_start(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot, vpnws_port_state_t *state)
{
    size_t                     n;
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_http_vpnws_peer_t     *p;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    /* NGX_DECLINED: nothing was taken over, the caller frees the slot */

    p = ngx_pcalloc(r->pool, sizeof(ngx_http_vpnws_peer_t));
    if (p == NULL) {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    /* from here on the cleanup frees the slot and the MACs */

    p->request = r;
    p->connection = c;
    p->sw = sw;
    p->slot = slot;
    p->state = *state;
    p->reader.max_payload = sw->conf.max_frame;
    p->last_rx = ngx_current_msec;

    ngx_http_set_ctx(r, p, ngx_http_vpnws_module);

    ngx_queue_insert_tail(&sw->local, &p->queue);
    sw->nlocal++;
    sw->by_slot[state->port.slot] = p;

    cln->handler = ngx_http_vpnws_cleanup;
    cln->data = p;

    c->log->action = "switching websocket frames";

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        return NGX_ERROR;
    }

    /* graceful shutdown closes idle connections: ours get Close 1001 */
    c->idle = 1;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        /*
         * nginx frees a connection's TLS buffers whenever they empty; a
         * websocket would allocate them again for nearly every frame
         * (measured: half the wss:// throughput)
         */
        SSL_clear_mode(c->ssl->connection, SSL_MODE_RELEASE_BUFFERS);
    }
#endif

    c->read->handler = ngx_http_vpnws_read_handler;
    c->write->handler = ngx_http_vpnws_write_handler;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "vpnws: peer %uD joined switch \"%V\"", slot->id,
                   &sw->name);

    /* the client may have sent frames along with its handshake */

    n = r->header_in->last - r->header_in->pos;

    if (n) {
        if (n > ngx_http_vpnws_rbuf_size) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_http_vpnws_rbuf, r->header_in->pos, n);
        r->header_in->pos = r->header_in->last;
        slot->rx += n;

        if (ngx_http_vpnws_consume(p, ngx_http_vpnws_rbuf, n) != NGX_OK) {
            return NGX_OK;
        }
    }

    if (r->out || c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    if (r->out) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    ngx_http_vpnws_timer(p);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_vpnws_timer(ngx_http_vpnws_peer_t *p)
{
    ngx_msec_t                t;
    ngx_http_vpnws_switch_t  *sw;

    sw = p->sw;
    t = sw->timeout;

    if (sw->ping && sw->ping < t) {
        t = sw->ping;
    }

    if (t) {
        ngx_add_timer(p->connection->read, t);
    }
}


static void
ngx_http_vpnws_read_handler(ngx_event_t *rev)
{
    size_t                    have, cap;
    ssize_t                   n;
    u_char                   *buf;
    ngx_uint_t                rounds;
    ngx_msec_t                idle;
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_vpnws_peer_t    *p;
    ngx_http_vpnws_switch_t  *sw;

    c = rev->data;
    r = c->data;
    p = ngx_http_get_module_ctx(r, ngx_http_vpnws_module);
    sw = p->sw;

    if (c->close) {
        /* graceful shutdown or reload: clients reconnect at once */
        c->close = 0;
        ngx_http_vpnws_close(p, VPNWS_WS_CLOSE_GOING_AWAY,
                             "server shutting down");

        /* called from the worker cycle, not an event: posted events would
         * wait for the next timer */
        ngx_http_vpnws_write_handler(c->write);
        return;
    }

    if (rev->timedout) {
        rev->timedout = 0;
        idle = ngx_current_msec - p->last_rx;

        if (sw->timeout && idle >= sw->timeout) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "vpnws: peer %uD idle for %M ms, closing",
                          p->state.port.id, idle);
            ngx_http_vpnws_close(p, VPNWS_WS_CLOSE_GOING_AWAY, "idle");
            return;
        }

        if (!p->closing) {
            (void) ngx_http_vpnws_queue(p, NULL, 0, VPNWS_WS_OP_PING);
            ngx_http_vpnws_flush_dirty();
        }

        ngx_http_vpnws_timer(p);
        return;
    }

    if (p->closing) {
        /* a Close is on its way out; whatever comes now is dropped */
        (void) c->recv(c, ngx_http_vpnws_rbuf, ngx_http_vpnws_rbuf_size);
        return;
    }

    for (rounds = 0; rounds < NGX_HTTP_VPNWS_READ_ROUNDS; rounds++) {

        if (p->in) {
            buf = p->in;
            have = p->in_len;
            cap = ngx_http_vpnws_in_size(sw);

        } else {
            buf = ngx_http_vpnws_rbuf;
            have = 0;
            cap = ngx_http_vpnws_rbuf_size;
        }

        n = c->recv(c, buf + have, cap - have);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "vpnws: peer %uD closed the connection",
                          p->state.port.id);
            ngx_http_vpnws_finalize(p);
            return;
        }

        p->slot->rx += n;
        p->last_rx = ngx_current_msec;

        if (ngx_http_vpnws_consume(p, buf, have + n) != NGX_OK) {
            return;
        }

        if (!rev->ready) {
            break;
        }
    }

    if (rounds == NGX_HTTP_VPNWS_READ_ROUNDS && rev->ready) {
        /* let other peers run before reading more */
        ngx_post_event(rev, &ngx_posted_events);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_vpnws_finalize(p);
        return;
    }

    ngx_http_vpnws_timer(p);
}


static ngx_int_t
ngx_http_vpnws_consume(ngx_http_vpnws_peer_t *p, u_char *buf, size_t len)
{
    size_t                    left;
    ssize_t                   n;
    ngx_http_vpnws_switch_t  *sw;

    sw = p->sw;

    n = vpnws_ws_read(&p->reader, buf, len, &ngx_http_vpnws_ws_handler, p);

    if (n == -1) {

        if (!p->reader.stopped) {
            ngx_log_error(NGX_LOG_ERR, p->connection->log, 0,
                          "vpnws: peer %uD: %s, closing with %d",
                          p->state.port.id, p->reader.error,
                          (int) p->reader.code);
            ngx_http_vpnws_close(p, p->reader.code, p->reader.error);
        }

        ngx_http_vpnws_flush_dirty();
        return NGX_DONE;
    }

    left = len - n;

    if (buf == ngx_http_vpnws_rbuf) {

        if (left) {
            p->in = ngx_http_vpnws_in_get(sw);

            if (p->in == NULL) {
                ngx_http_vpnws_close(p, VPNWS_WS_CLOSE_INTERNAL,
                                     "out of memory");
                ngx_http_vpnws_flush_dirty();
                return NGX_DONE;
            }

            ngx_memcpy(p->in, buf + n, left);
        }

    } else if (left == 0) {
        ngx_http_vpnws_in_put(sw, p->in);
        p->in = NULL;

    } else if (n) {
        ngx_memmove(p->in, p->in + n, left);
    }

    p->in_len = left;

    ngx_http_vpnws_flush_dirty();

    return NGX_OK;
}


static int
ngx_http_vpnws_on_message(void *ctx, uint8_t *data, size_t len)
{
    ngx_http_vpnws_peer_t *p = ctx;

    ngx_http_vpnws_slot_t  *slot;

    slot = p->slot;
    slot->frames_in++;

    ngx_http_vpnws_switch_frame(p->sw, &p->state, data, len);

    if (!slot->has_mac && p->state.has_mac) {
        ngx_memcpy(slot->mac, p->state.mac, VPNWS_MAC_LEN);
        slot->has_mac = 1;
    }

    return 0;
}


static int
ngx_http_vpnws_on_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    ngx_http_vpnws_peer_t *p = ctx;

    uint16_t  code;

    switch (opcode) {

    case VPNWS_WS_OP_PING:
        (void) ngx_http_vpnws_queue(p, data, len, VPNWS_WS_OP_PONG);
        return 0;

    case VPNWS_WS_OP_PONG:
        return 0;

    default: /* VPNWS_WS_OP_CLOSE */
        code = vpnws_ws_close_code(data, len);

        ngx_log_error(NGX_LOG_INFO, p->connection->log, 0,
                      "vpnws: peer %uD sent Close %d", p->state.port.id,
                      (int) code);

        ngx_http_vpnws_close(p, vpnws_ws_close_reply(data, len), NULL);
        return -1;
    }
}


static uint8_t *
ngx_http_vpnws_frag_alloc(void *ctx)
{
    ngx_http_vpnws_peer_t *p = ctx;

    return ngx_http_vpnws_in_get(p->sw);
}


static void
ngx_http_vpnws_frag_free(void *ctx, uint8_t *buf)
{
    ngx_http_vpnws_peer_t *p = ctx;

    ngx_http_vpnws_in_put(p->sw, buf);
}


void
ngx_http_vpnws_switch_frame(ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *src, u_char *frame, size_t len)
{
    ngx_uint_t                 w, n;
    vpnws_decision_t           d;
    vpnws_switch_ctx_t         ctx;
    ngx_http_vpnws_peer_t     *q;
    ngx_http_vpnws_ipc_hdr_t   hdr;
    char                       text[VPNWS_MAC_STR_LEN + 1];

    ngx_http_vpnws_switch_ctx(sw, &ctx);

    vpnws_switch_frame(&ctx, src, frame, len, &d);

    if (d.log_taken) {
        vpnws_mac_format(frame + VPNWS_MAC_LEN, text);
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpnws_switch \"%V\": peer %uD sends from MAC %s, "
                      "which another peer owns; dropping those frames",
                      &sw->name, src->port.id, text);
    }

    switch (d.action) {

    case VPNWS_FWD_DROP:
        ngx_http_vpnws_count_drop(sw, d.reason);
        return;

    case VPNWS_FWD_UNICAST:

        if (d.dst.flags & VPNWS_PORT_TAP) {
            ngx_http_vpnws_tap_write(sw, frame, len);
            return;
        }

        if (d.dst.worker == ngx_worker) {
            q = sw->by_slot[d.dst.slot];

            if (q == NULL || q->state.port.id != d.dst.id) {
                ngx_http_vpnws_count_drop(sw, VPNWS_DROP_UNKNOWN);
                return;
            }

            (void) ngx_http_vpnws_queue(q, frame, len, VPNWS_WS_OP_BINARY);
            return;
        }

        hdr.type = NGX_HTTP_VPNWS_IPC_UNICAST;
        hdr.reserved = 0;
        hdr.sw = (uint16_t) sw->index;
        hdr.dst_slot = d.dst.slot;
        hdr.dst_id = d.dst.id;
        hdr.src = src->port;

        if (ngx_http_vpnws_ipc_send(d.dst.worker, &hdr, frame, len)
            != NGX_OK)
        {
            ngx_http_vpnws_count_drop(sw, VPNWS_DROP_IPC);
        }

        return;

    default: /* VPNWS_FWD_FLOOD, VPNWS_FWD_BRIDGES */

        ngx_http_vpnws_flood(sw, &src->port, d.action, frame, len, 1);

        n = ngx_http_vpnws_ipc_workers();

        if (n == 1) {
            return;
        }

        hdr.type = (d.action == VPNWS_FWD_FLOOD) ? NGX_HTTP_VPNWS_IPC_FLOOD
                                                 : NGX_HTTP_VPNWS_IPC_BRIDGES;
        hdr.reserved = 0;
        hdr.sw = (uint16_t) sw->index;
        hdr.dst_slot = 0;
        hdr.dst_id = 0;
        hdr.src = src->port;

        for (w = 0; w < n; w++) {

            if (w == ngx_worker || sw->sh->worker_peers[w] == 0) {
                continue;
            }

            if (ngx_http_vpnws_ipc_send(w, &hdr, frame, len) != NGX_OK) {
                ngx_http_vpnws_count_drop(sw, VPNWS_DROP_IPC);
            }
        }

        return;
    }
}


void
ngx_http_vpnws_deliver_ipc(ngx_http_vpnws_ipc_hdr_t *hdr, u_char *frame,
    size_t len)
{
    ngx_http_vpnws_peer_t        *q;
    ngx_http_vpnws_switch_t      *sw, **sws;
    ngx_http_vpnws_main_conf_t   *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_vpnws_module);

    if (hdr->sw >= vmcf->switches.nelts) {
        return;
    }

    sws = vmcf->switches.elts;
    sw = sws[hdr->sw];

    if (len > sw->conf.max_frame) {
        return;
    }

    switch (hdr->type) {

    case NGX_HTTP_VPNWS_IPC_UNICAST:
    case NGX_HTTP_VPNWS_IPC_KILL:

        if (hdr->dst_slot >= sw->max_peers) {
            return;
        }

        q = sw->by_slot[hdr->dst_slot];

        if (q == NULL || q->state.port.id != hdr->dst_id) {
            if (hdr->type == NGX_HTTP_VPNWS_IPC_UNICAST) {
                ngx_http_vpnws_count_drop(sw, VPNWS_DROP_UNKNOWN);
            }
            return;
        }

        if (hdr->type == NGX_HTTP_VPNWS_IPC_KILL) {
            ngx_http_vpnws_peer_kill(sw, hdr->dst_slot, hdr->dst_id,
                                     VPNWS_WS_CLOSE_POLICY);
            return;
        }

        (void) ngx_http_vpnws_queue(q, frame, len, VPNWS_WS_OP_BINARY);
        return;

    case NGX_HTTP_VPNWS_IPC_FLOOD:
        ngx_http_vpnws_flood(sw, &hdr->src, VPNWS_FWD_FLOOD, frame, len, 0);
        return;

    case NGX_HTTP_VPNWS_IPC_BRIDGES:
        ngx_http_vpnws_flood(sw, &hdr->src, VPNWS_FWD_BRIDGES, frame, len,
                             0);
        return;

    default:
        return;
    }
}


/* to the local ports; the tap too unless another worker wrote it there */
static void
ngx_http_vpnws_flood(ngx_http_vpnws_switch_t *sw, vpnws_port_t *src,
    vpnws_fwd_t action, u_char *frame, size_t len, ngx_uint_t tap)
{
    size_t                  hlen;
    ngx_queue_t            *qq;
    ngx_http_vpnws_peer_t  *q;

    if (tap && sw->tap_conn
        && vpnws_switch_to(&sw->conf, src, action, &sw->tap_state.port))
    {
        ngx_http_vpnws_tap_write(sw, frame, len);
    }

    hlen = 0;

    for (qq = ngx_queue_head(&sw->local);
         qq != ngx_queue_sentinel(&sw->local);
         qq = ngx_queue_next(qq))
    {
        q = ngx_queue_data(qq, ngx_http_vpnws_peer_t, queue);

        if (q->closing
            || !vpnws_switch_to(&sw->conf, src, action, &q->state.port))
        {
            continue;
        }

        if (hlen == 0) {
            /* framed once, written to every port */
            hlen = vpnws_ws_header(ngx_http_vpnws_tx, VPNWS_WS_OP_BINARY,
                                   len, NULL);
            ngx_memcpy(ngx_http_vpnws_tx + hlen, frame, len);
        }

        ngx_http_vpnws_send(q, ngx_http_vpnws_tx, hlen + len);
    }
}


/* make room for size more bytes in p's output queue; NULL: full */
static u_char *
ngx_http_vpnws_room(ngx_http_vpnws_peer_t *p, size_t size)
{
    size_t                    used;
    ngx_http_vpnws_switch_t  *sw;

    sw = p->sw;

    if (p->out == NULL) {
        p->out = ngx_http_vpnws_out_get(sw);

        if (p->out == NULL) {
            return NULL;
        }

        p->out_pos = 0;
        p->out_last = 0;
    }

    if (p->out_last + size > sw->queue) {
        used = p->out_last - p->out_pos;

        if (used + size > sw->queue) {
            return NULL;
        }

        /* only under back-pressure: slide the unsent bytes to the front */
        ngx_memmove(p->out, p->out + p->out_pos, used);
        p->out_pos = 0;
        p->out_last = used;
    }

    if (!p->is_dirty) {
        p->is_dirty = 1;
        ngx_queue_insert_tail(&ngx_http_vpnws_dirty, &p->dirty);
    }

    return p->out + p->out_last;
}


static void
ngx_http_vpnws_dropped(ngx_http_vpnws_peer_t *p)
{
    p->slot->drops++;
    ngx_http_vpnws_count_drop(p->sw, VPNWS_DROP_QUEUE_FULL);

    if (p->out && p->out_pos == p->out_last && !p->is_dirty) {
        ngx_http_vpnws_out_put(p->sw, p->out);
        p->out = NULL;
    }
}


static ngx_int_t
ngx_http_vpnws_queue(ngx_http_vpnws_peer_t *p, u_char *data, size_t len,
    int opcode)
{
    size_t   hlen;
    u_char  *dst, hdr[VPNWS_WS_MAX_HLEN];

    if (p->closing) {
        return NGX_DECLINED;
    }

    hlen = vpnws_ws_header(hdr, opcode, len, NULL);

    dst = ngx_http_vpnws_room(p, hlen + len);

    if (dst == NULL) {
        ngx_http_vpnws_dropped(p);
        return NGX_DECLINED;
    }

    dst = ngx_cpymem(dst, hdr, hlen);

    if (len) {
        ngx_memcpy(dst, data, len);
    }

    p->out_last += hlen + len;

    if (opcode == VPNWS_WS_OP_BINARY) {
        p->slot->frames_out++;
    }

    return NGX_OK;
}


/* a flooded frame: written at once when nothing waits before it */
static void
ngx_http_vpnws_send(ngx_http_vpnws_peer_t *p, u_char *data, size_t size)
{
    ssize_t            n;
    u_char            *dst;
    ngx_connection_t  *c;

    c = p->connection;
    n = 0;

    if ((p->out == NULL || p->out_pos == p->out_last)
        && p->request->out == NULL && !p->is_dirty)
    {
        n = c->send(c, data, size);

        if (n == NGX_ERROR) {
            p->closing = 1;
            p->error = 1;
            ngx_post_event(c->write, &ngx_posted_events);
            return;
        }

        if (n == NGX_AGAIN) {
            n = 0;
        }

        p->slot->tx += n;
    }

    if ((size_t) n < size) {
        dst = ngx_http_vpnws_room(p, size - n);

        if (dst == NULL) {

            if (n) {
                /* a torn frame would corrupt the stream */
                p->closing = 1;
                p->error = 1;
                ngx_post_event(c->write, &ngx_posted_events);
                return;
            }

            ngx_http_vpnws_dropped(p);
            return;
        }

        ngx_memcpy(dst, data + n, size - n);
        p->out_last += size - n;
    }

    p->slot->frames_out++;
}


void
ngx_http_vpnws_flush_dirty(void)
{
    ngx_queue_t            *q;
    ngx_http_vpnws_peer_t  *p;

    /* other workers first: they switch in parallel with our writes */
    ngx_http_vpnws_ipc_flush();

    while (!ngx_queue_empty(&ngx_http_vpnws_dirty)) {
        q = ngx_queue_head(&ngx_http_vpnws_dirty);
        ngx_queue_remove(q);

        p = ngx_queue_data(q, ngx_http_vpnws_peer_t, dirty);
        p->is_dirty = 0;

        ngx_http_vpnws_flush(p);
    }
}


static void
ngx_http_vpnws_flush(ngx_http_vpnws_peer_t *p)
{
    ssize_t              n;
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = p->connection;
    r = p->request;

    if (p->error) {
        return;
    }

    if (r->out) {
        /* the 101 response is still on its way */
        rc = ngx_http_output_filter(r, NULL);

        if (rc == NGX_ERROR) {
            goto failed;
        }

        if (r->out) {
            goto again;
        }
    }

    while (p->out && p->out_pos < p->out_last) {

        n = c->send(c, p->out + p->out_pos, p->out_last - p->out_pos);

        if (n == NGX_ERROR) {
            goto failed;
        }

        if (n == NGX_AGAIN) {
            goto again;
        }

        p->out_pos += n;
        p->slot->tx += n;
    }

    p->slot->queued = 0;

    if (p->out) {
        ngx_http_vpnws_out_put(p->sw, p->out);
        p->out = NULL;
    }

    if (p->closing) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return;

again:

    p->slot->queued = p->out ? p->out_last - p->out_pos : 0;

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        goto failed;
    }

    return;

failed:

    p->closing = 1;
    p->error = 1;
    ngx_post_event(c->write, &ngx_posted_events);
}


static void
ngx_http_vpnws_write_handler(ngx_event_t *wev)
{
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_vpnws_peer_t  *p;

    c = wev->data;
    r = c->data;
    p = ngx_http_get_module_ctx(r, ngx_http_vpnws_module);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "vpnws: peer %uD did not take its Close frame",
                      p->state.port.id);
        ngx_http_vpnws_finalize(p);
        return;
    }

    if (p->is_dirty) {
        ngx_queue_remove(&p->dirty);
        p->is_dirty = 0;
    }

    ngx_http_vpnws_flush(p);

    if (p->error
        || (p->closing && (p->out == NULL || p->out_pos == p->out_last)
            && r->out == NULL))
    {
        ngx_http_vpnws_finalize(p);
        return;
    }
}


static void
ngx_http_vpnws_close(ngx_http_vpnws_peer_t *p, uint16_t code,
    const char *reason)
{
    size_t   n;
    u_char  *dst, frame[VPNWS_WS_CLOSE_FRAME];

    if (p->closing) {
        return;
    }

    p->close_code = code;

    n = vpnws_ws_close_frame(frame, code, reason, NULL);

    dst = ngx_http_vpnws_room(p, n);

    if (dst) {
        ngx_memcpy(dst, frame, n);
        p->out_last += n;
    }

    p->closing = 1;

    /* stop reading; the write handler ends the connection when flushed */
    if (p->connection->read->timer_set) {
        ngx_del_timer(p->connection->read);
    }

    ngx_add_timer(p->connection->write, NGX_HTTP_VPNWS_CLOSE_WAIT);
    ngx_post_event(p->connection->write, &ngx_posted_events);
}


void
ngx_http_vpnws_peer_kill(ngx_http_vpnws_switch_t *sw, uint32_t slot,
    uint32_t id, uint16_t code)
{
    ngx_http_vpnws_peer_t  *p;

    p = sw->by_slot[slot];

    if (p == NULL || p->state.port.id != id) {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, p->connection->log, 0,
                  "vpnws: peer %uD killed by the admin", id);

    ngx_http_vpnws_close(p, code, "killed by the admin");
}


static void
ngx_http_vpnws_finalize(ngx_http_vpnws_peer_t *p)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (p->done) {
        return;
    }

    p->done = 1;
    c = p->connection;
    r = p->request;

    ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_vpnws_cleanup(void *data)
{
    ngx_http_vpnws_peer_t *p = data;

    vpnws_switch_ctx_t        ctx;
    ngx_http_vpnws_switch_t  *sw;

    sw = p->sw;
    p->done = 1;

    if (p->is_dirty) {
        ngx_queue_remove(&p->dirty);
        p->is_dirty = 0;
    }

    if (p->in) {
        ngx_http_vpnws_in_put(sw, p->in);
        p->in = NULL;
    }

    if (p->out) {
        ngx_http_vpnws_out_put(sw, p->out);
        p->out = NULL;
    }

    vpnws_ws_reader_reset(&p->reader, &ngx_http_vpnws_ws_handler, p);

    ngx_queue_remove(&p->queue);
    sw->nlocal--;
    sw->by_slot[p->state.port.slot] = NULL;

    ngx_http_vpnws_switch_ctx(sw, &ctx);

    ngx_shmtx_lock(&sw->shpool->mutex);
    vpnws_switch_port_gone(&ctx, &p->state);
    ngx_shmtx_unlock(&sw->shpool->mutex);

    ngx_http_vpnws_slot_free(sw, p->slot);
}
