/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a websocket peer of the switch: joining, reading frames, closing.
 * Partial frames, control frames and the queue are the core's port layer
 * (src/vpnws_port.c), its output ngx_http_vpnws_output.c's, where its
 * frames go ngx_http_vpnws_forward.c's.
 */


#include "ngx_http_vpnws.h"


static void ngx_http_vpnws_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_vpnws_pause(ngx_http_vpnws_peer_t *p);
static void ngx_http_vpnws_resume(ngx_event_t *ev);
static void ngx_http_vpnws_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_http_vpnws_consume(ngx_http_vpnws_peer_t *p,
    size_t n);
static void ngx_http_vpnws_close(ngx_http_vpnws_peer_t *p, uint16_t code,
    const char *reason);
static void ngx_http_vpnws_finalize(ngx_http_vpnws_peer_t *p);
static void ngx_http_vpnws_cleanup(void *data);
static void ngx_http_vpnws_timer(ngx_http_vpnws_peer_t *p);


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
        max = ngx_max(max, ngx_http_vpnws_msg_max(sws[i]));
    }

    if (ngx_http_vpnws_output_init(cycle, max) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_vpnws_forward_init(cycle, max);
}


ngx_int_t
ngx_http_vpnws_peer_start(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot, vpnws_port_state_t *state, unsigned offload)
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
    p->offload = offload;
    vpnws_port_init(&p->io, &ngx_http_vpnws_ports, &sw->bufs, &p->state,
                    &slot->stats, offload ? ngx_http_vpnws_msg_max(sw)
                                          : sw->conf.max_frame);
    p->last_rx = ngx_current_msec;
    p->resume.handler = ngx_http_vpnws_resume;
    p->resume.data = p;
    p->resume.log = c->log;
    p->resume.cancelable = 1;

    ngx_http_set_ctx(r, p, ngx_http_vpnws_module);

    ngx_queue_insert_tail(&sw->local, &p->queue);
    sw->by_slot[state->port.slot] = p;

    cln->handler = ngx_http_vpnws_cleanup;
    cln->data = p;

    c->log->action = "switching websocket frames";

    if (p->state.has_mac) {
        ngx_http_vpnws_tap_announce(sw, &p->state);
    }

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

        /*
         * a flooded frame is written from the buffer every peer shares;
         * when SSL_write() must be retried, the same bytes come from the
         * peer's own queue (which may slide too), at another address
         */
        SSL_set_mode(c->ssl->connection, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
#endif

    c->read->handler = ngx_http_vpnws_read_handler;
    c->write->handler = ngx_http_vpnws_write_handler;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "vpnws: peer %uL joined switch \"%V\"", slot->id,
                   &sw->name);

    /* the client may have sent frames along with its handshake */

    n = r->header_in->last - r->header_in->pos;

    if (n) {
        if (n > ngx_http_vpnws_ports.rbuf_size) {
            return NGX_ERROR;
        }

        ngx_memcpy(ngx_http_vpnws_ports.rbuf, r->header_in->pos, n);
        r->header_in->pos = r->header_in->last;

        if (ngx_http_vpnws_consume(p, n) != NGX_OK) {
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


/* over its rate or flood limit: 1 if the peer is not read for a while */
static ngx_int_t
ngx_http_vpnws_pause(ngx_http_vpnws_peer_t *p)
{
    ngx_msec_t  wait;

    wait = (ngx_msec_t) vpnws_limit_wait(&p->state.limit, ngx_current_msec);

    if (wait == 0) {
        return 0;
    }

    p->paused = 1;
    ngx_add_timer(&p->resume, wait);

    return 1;
}


static void
ngx_http_vpnws_resume(ngx_event_t *ev)
{
    ngx_http_vpnws_peer_t *p = ev->data;

    ngx_connection_t  *c;

    /* the read may finalize the request and free p with its pool */
    c = p->connection;
    p->paused = 0;

    ngx_http_vpnws_read_handler(c->read);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_vpnws_read_handler(ngx_event_t *rev)
{
    size_t                    room;
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
                          "vpnws: peer %uL idle for %M ms, closing",
                          p->state.port.id, idle);
            ngx_http_vpnws_close(p, VPNWS_WS_CLOSE_GOING_AWAY, "idle");
            return;
        }

        if (!p->io.closing) {
            (void) vpnws_port_queue(&p->io, NULL, 0, VPNWS_WS_OP_PING);
            ngx_http_vpnws_flush_dirty();
        }

        ngx_http_vpnws_timer(p);
        return;
    }

    if (p->io.closing) {
        /* a Close is on its way out; whatever comes now is dropped */
        (void) c->recv(c, ngx_http_vpnws_ports.rbuf,
                       ngx_http_vpnws_ports.rbuf_size);
        return;
    }

    if (p->paused) {
        /* over its rate: the resume timer reads on */
        return;
    }

    for (rounds = 0; rounds < VPNWS_PORT_READ_ROUNDS; rounds++) {

        buf = vpnws_port_rbuf(&p->io, ngx_current_msec, &room);

        if (room == 0) {
            /* over its rate */
            break;
        }

        n = c->recv(c, buf, room);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "vpnws: peer %uL closed the connection",
                          p->state.port.id);
            ngx_http_vpnws_finalize(p);
            return;
        }

        p->last_rx = ngx_current_msec;

        if (ngx_http_vpnws_consume(p, n) != NGX_OK) {
            return;
        }

        if (!rev->ready) {
            break;
        }
    }

    if (vpnws_limit_on(&p->state.limit) && ngx_http_vpnws_pause(p)) {
        /* its TCP backs off while nothing is read */

    } else if (rounds == VPNWS_PORT_READ_ROUNDS && rev->ready) {
        /*
         * let other peers run before reading more: in the next cycle, or
         * the posted events never end under load and the worker never
         * sees a reload, its timers or a status request
         */
        ngx_post_event(rev, &ngx_posted_next_events);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_vpnws_finalize(p);
        return;
    }

    ngx_http_vpnws_timer(p);
}


/* n bytes read where vpnws_port_rbuf() said */
static ngx_int_t
ngx_http_vpnws_consume(ngx_http_vpnws_peer_t *p, size_t n)
{
    int         rc;
    ngx_log_t  *log;

    rc = vpnws_port_consume(&p->io, n);
    log = p->connection->log;

    switch (rc) {

    case VPNWS_PORT_OK:
        ngx_http_vpnws_flush_dirty();
        return NGX_OK;

    case VPNWS_PORT_PROTOCOL:
        ngx_log_error(ngx_http_vpnws_log_level(VPNWS_LOG_PROTOCOL), log, 0,
                      "vpnws: peer %uL: %s, closing with %d",
                      p->state.port.id, p->io.why, (int) p->io.reply);
        break;

    case VPNWS_PORT_PEER_CLOSE:
        ngx_log_error(NGX_LOG_INFO, log, 0, "vpnws: peer %uL sent Close %d",
                      p->state.port.id, (int) p->io.peer_code);
        break;

    default: /* VPNWS_PORT_NOMEM (logged by ngx_alloc()), STOPPED */
        break;
    }

    if (rc != VPNWS_PORT_STOPPED) {
        ngx_http_vpnws_close(p, p->io.reply, p->io.why);
    }

    ngx_http_vpnws_flush_dirty();

    return NGX_DONE;
}


/* the port layer's message hook: a frame from peer p */
int
ngx_http_vpnws_on_message(void *io, uint8_t *data, size_t len)
{
    ngx_http_vpnws_slot_t  *slot;
    ngx_http_vpnws_peer_t  *p;

    vpnws_vnet_hdr_t     h;
    vpnws_vnet_err_t     e;
    vpnws_vnet_frame_t   vf;

    p = ngx_http_vpnws_peer(io);
    slot = p->slot;
    slot->stats.frames_in++;

    if (!p->offload) {
        ngx_http_vpnws_switch_frame(p->sw, &p->state, data, len, NULL);
        goto done;
    }

    if (len < VPNWS_VNET_HLEN) {
        ngx_http_vpnws_count_drop(p->sw, VPNWS_DROP_SHORT);
        return 0;
    }

    vpnws_vnet_hdr_read(&h, data);
    e = vpnws_vnet_check(&vf, &h, data + VPNWS_VNET_HLEN,
                         len - VPNWS_VNET_HLEN);

    if (e != VPNWS_VNET_OK) {
        ngx_log_error(NGX_LOG_INFO, p->connection->log, 0,
                      "vpnws: peer %uL: frame dropped: %s",
                      p->state.port.id, vpnws_vnet_strerror(e));
        ngx_http_vpnws_count_drop(p->sw,
                                  e == VPNWS_VNET_ESHORT ? VPNWS_DROP_SHORT
                                                         : VPNWS_DROP_VNET);
        return 0;
    }

    data += VPNWS_VNET_HLEN;
    len -= VPNWS_VNET_HLEN;

    if (!vf.gso) {
        /* once here, so every port can take it as a plain frame */
        vpnws_vnet_csum_complete(&vf, data, len);
    }

    ngx_http_vpnws_switch_frame(p->sw, &p->state, data, len,
                                vf.gso ? &vf : NULL);

done:

    if (!slot->has_mac && p->state.has_mac) {
        ngx_memcpy(slot->mac, p->state.mac, VPNWS_MAC_LEN);
        slot->has_mac = 1;
    }

    return 0;
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
                      "vpnws: peer %uL did not take its Close frame",
                      p->state.port.id);
        ngx_http_vpnws_finalize(p);
        return;
    }

    vpnws_port_undirty(&p->io);

    ngx_http_vpnws_flush(p);

    if (p->io.error
        || (p->io.closing && vpnws_port_queued(&p->io) == 0
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
    if (vpnws_port_close(&p->io, code, reason) != 0) {
        return;
    }

    p->close_code = code;

    /* stop reading; the write handler ends the connection when flushed */
    if (p->connection->read->timer_set) {
        ngx_del_timer(p->connection->read);
    }

    ngx_add_timer(p->connection->write, VPNWS_PORT_CLOSE_WAIT);
    ngx_post_event(p->connection->write, &ngx_posted_events);
}


void
ngx_http_vpnws_peer_kill(ngx_http_vpnws_switch_t *sw, uint32_t slot,
    uint64_t id, uint16_t code)
{
    ngx_http_vpnws_peer_t  *p;

    p = sw->by_slot[slot];

    if (p == NULL || p->state.port.id != id) {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, p->connection->log, 0,
                  "vpnws: peer %uL killed by the admin", id);

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

    if (p->resume.timer_set) {
        ngx_del_timer(&p->resume);
    }

    vpnws_port_release(&p->io);

    ngx_queue_remove(&p->queue);
    sw->by_slot[p->state.port.slot] = NULL;

    ngx_http_vpnws_switch_ctx(sw, &ctx);

    ngx_shmtx_lock(&sw->shpool->mutex);
    vpnws_switch_port_gone(&ctx, &p->state);
    ngx_shmtx_unlock(&sw->shpool->mutex);

    ngx_http_vpnws_slot_free(sw, p->slot);
}
