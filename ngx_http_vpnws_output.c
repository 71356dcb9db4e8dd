/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a peer's output, and the module as the host of the core's port
 * layer (src/vpnws_port.c): its I/O hooks, frames behind a virtio-net
 * header and cut super-frames, writing the queues out.
 */


#include "ngx_http_vpnws.h"


static ssize_t ngx_http_vpnws_io_send(vpnws_port_io_t *io,
    const uint8_t *buf, size_t len);
static void ngx_http_vpnws_io_drop(vpnws_port_io_t *io, vpnws_drop_t reason);
static void *ngx_http_vpnws_io_alloc(size_t size);
static void ngx_http_vpnws_io_free(void *buf);
static uint8_t *ngx_http_vpnws_place(void *ctx, size_t len);
static int ngx_http_vpnws_emit(void *ctx, uint8_t *seg, size_t len);


typedef struct {
    ngx_http_vpnws_peer_t      *peer;
    u_char                     *dst;        /* room for every segment */
    size_t                      hlen;       /* the segment's headers */
} ngx_http_vpnws_cut_t;


static const u_char  ngx_http_vpnws_vnet_zero[VPNWS_VNET_HLEN];


static const vpnws_port_ops_t  ngx_http_vpnws_port_ops = {
    ngx_http_vpnws_on_message,
    ngx_http_vpnws_io_send,
    ngx_http_vpnws_io_drop,
    ngx_http_vpnws_io_alloc,
    ngx_http_vpnws_io_free
};


vpnws_port_host_t  ngx_http_vpnws_ports;     /* read buffer, flush list */


/* max: the largest message of any switch */
ngx_int_t
ngx_http_vpnws_output_init(ngx_cycle_t *cycle, size_t max)
{
    size_t                        size;
    u_char                       *rbuf;
    ngx_uint_t                    i;
    ngx_http_vpnws_switch_t     **sws;
    ngx_http_vpnws_main_conf_t   *vmcf;

    size = ngx_max(max + VPNWS_WS_MAX_HLEN, 65536);

    rbuf = ngx_alloc(size, cycle->log);
    if (rbuf == NULL) {
        return NGX_ERROR;
    }

    vpnws_port_host_init(&ngx_http_vpnws_ports, &ngx_http_vpnws_port_ops,
                         rbuf, size);

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        vpnws_port_bufs_init(&sws[i]->bufs, ngx_http_vpnws_in_size(sws[i]),
                             sws[i]->queue);
    }

    return NGX_OK;
}


static ssize_t
ngx_http_vpnws_io_send(vpnws_port_io_t *io, const uint8_t *buf, size_t len)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_http_vpnws_peer_t  *p;

    p = ngx_http_vpnws_peer(io);
    c = p->connection;

    if (p->request->out) {
        /* the 101 response first: ngx_http_vpnws_flush() */
        return 0;
    }

    n = c->send(c, (u_char *) buf, len);

    if (n == NGX_AGAIN) {
        return 0;
    }

    return (n == NGX_ERROR) ? -1 : n;
}


static void
ngx_http_vpnws_io_drop(vpnws_port_io_t *io, vpnws_drop_t reason)
{
    ngx_http_vpnws_count_drop(ngx_http_vpnws_peer(io)->sw, reason);
}


static void *
ngx_http_vpnws_io_alloc(size_t size)
{
    return ngx_alloc(size, ngx_cycle->log);
}


static void
ngx_http_vpnws_io_free(void *buf)
{
    ngx_free(buf);
}


/*
 * A frame for peer p: as it is to an offload peer that takes it (behind
 * its virtio-net header, or a zero one), else cut into plain frames; all
 * segments are queued or none (gso: see ngx_http_vpnws_switch_frame()).
 */
void
ngx_http_vpnws_output(ngx_http_vpnws_peer_t *p, u_char *frame, size_t len,
    vpnws_vnet_frame_t *gso)
{
    size_t                 room;
    ngx_http_vpnws_cut_t   cut;

    if (vpnws_port_police(&p->io, ngx_current_msec, len) != 0) {
        return;
    }

    if (gso == NULL) {

        if (p->offload) {
            (void) vpnws_port_frame(&p->io, VPNWS_WS_OP_BINARY,
                                    ngx_http_vpnws_vnet_zero, VPNWS_VNET_HLEN,
                                    frame, len);
            return;
        }

        (void) vpnws_port_queue(&p->io, frame, len, VPNWS_WS_OP_BINARY);
        return;
    }

    if ((vpnws_vnet_needs(gso) & ~p->offload) == 0) {
        (void) vpnws_port_frame(&p->io, VPNWS_WS_OP_BINARY,
                                frame - VPNWS_VNET_HLEN, VPNWS_VNET_HLEN,
                                frame, len);
        (void) ngx_atomic_fetch_add(&p->sw->sh->super_frames, 1);
        return;
    }

    if (p->io.closing) {
        return;
    }

    room = len - gso->hlen + (size_t) gso->segs * (gso->hlen
                                 + VPNWS_VNET_HLEN + VPNWS_WS_MAX_HLEN);

    cut.peer = p;
    cut.dst = vpnws_port_room(&p->io, room);

    if (cut.dst == NULL) {
        vpnws_port_dropped(&p->io, VPNWS_DROP_QUEUE_FULL);
        return;
    }

    (void) ngx_http_vpnws_segment(p->sw, gso, frame, len,
                                  ngx_http_vpnws_place, ngx_http_vpnws_emit,
                                  &cut);
}


/* one segment built in the room taken for all: a plain frame, or behind a
 * zero virtio-net header for an offload peer that cannot take this whole */
static uint8_t *
ngx_http_vpnws_place(void *ctx, size_t len)
{
    ngx_http_vpnws_cut_t *cut = ctx;

    size_t  hlen, vlen;

    vlen = cut->peer->offload ? VPNWS_VNET_HLEN : 0;

    hlen = vpnws_ws_header(cut->dst, VPNWS_WS_OP_BINARY, vlen + len, NULL);
    cut->dst += hlen;

    if (vlen) {
        cut->dst = ngx_cpymem(cut->dst, ngx_http_vpnws_vnet_zero, vlen);
    }

    cut->hlen = hlen + vlen;

    return cut->dst;
}


static int
ngx_http_vpnws_emit(void *ctx, uint8_t *seg, size_t len)
{
    ngx_http_vpnws_cut_t *cut = ctx;

    cut->dst += len;
    cut->peer->io.out_last += cut->hlen + len;
    cut->peer->slot->stats.frames_out++;

    return 0;
}


/* a flooded frame msg[0..size), framed: len is the ethernet frame's */
void
ngx_http_vpnws_send(ngx_http_vpnws_peer_t *p, u_char *msg, size_t size,
    size_t len)
{
    if (vpnws_port_police(&p->io, ngx_current_msec, len) != 0) {
        return;
    }

    if (vpnws_port_send(&p->io, msg, size) == -1) {
        ngx_post_event(p->connection->write, &ngx_posted_events);
    }
}


void
ngx_http_vpnws_flush_dirty(void)
{
    vpnws_port_io_t  *io;

    /* other workers first: they switch in parallel with our writes */
    ngx_http_vpnws_ipc_flush();

    while ((io = vpnws_port_dirty_next(&ngx_http_vpnws_ports)) != NULL) {
        ngx_http_vpnws_flush(ngx_http_vpnws_peer(io));
    }
}


void
ngx_http_vpnws_flush(ngx_http_vpnws_peer_t *p)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = p->connection;
    r = p->request;

    if (p->io.error) {
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

    switch (vpnws_port_flush(&p->io)) {

    case VPNWS_PORT_OK:
        p->slot->queued = 0;

        if (p->io.closing) {
            ngx_post_event(c->write, &ngx_posted_events);
        }

        return;

    case VPNWS_PORT_AGAIN:
        goto again;

    default:
        goto failed;
    }

again:

    p->slot->queued = vpnws_port_queued(&p->io);

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        goto failed;
    }

    return;

failed:

    p->io.closing = 1;
    p->io.error = 1;
    ngx_post_event(c->write, &ngx_posted_events);
}
