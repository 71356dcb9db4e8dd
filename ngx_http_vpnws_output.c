/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a peer's output: the bounded output queue, writing it out, and
 * the spare buffers peers take their queues and partial frames from.
 */


#include "ngx_http_vpnws.h"


static void ngx_http_vpnws_dropped(ngx_http_vpnws_peer_t *p);
static ngx_int_t ngx_http_vpnws_queue_vnet(ngx_http_vpnws_peer_t *p,
    const u_char *vnet, u_char *frame, size_t len);
static uint8_t *ngx_http_vpnws_place(void *ctx, size_t len);
static int ngx_http_vpnws_emit(void *ctx, uint8_t *seg, size_t len);


typedef struct {
    ngx_http_vpnws_peer_t      *peer;
    u_char                     *dst;        /* room for every segment */
    size_t                      hlen;       /* the segment's headers */
} ngx_http_vpnws_cut_t;


static const u_char  ngx_http_vpnws_vnet_zero[VPNWS_VNET_HLEN];


static ngx_queue_t   ngx_http_vpnws_dirty;    /* peers with queued output */


void
ngx_http_vpnws_output_init(void)
{
    ngx_queue_init(&ngx_http_vpnws_dirty);
}


/* spare buffers: a list threaded through the buffers themselves */

u_char *
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


void
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


/* make room for size more bytes in p's output queue; NULL: full */
u_char *
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


ngx_int_t
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

    if (vpnws_limit_on(&p->state.limit)
        && vpnws_limit_send(&p->state.limit, ngx_current_msec, len) != 0)
    {
        /* over the peer's rate: what others send it is policed */
        p->slot->drops++;
        ngx_http_vpnws_count_drop(p->sw, VPNWS_DROP_RATE_LIMIT);
        return;
    }

    if (gso == NULL) {

        if (p->offload) {
            (void) ngx_http_vpnws_queue_vnet(p, ngx_http_vpnws_vnet_zero,
                                             frame, len);
            return;
        }

        (void) ngx_http_vpnws_queue(p, frame, len, VPNWS_WS_OP_BINARY);
        return;
    }

    if ((vpnws_vnet_needs(gso) & ~p->offload) == 0) {
        (void) ngx_http_vpnws_queue_vnet(p, frame - VPNWS_VNET_HLEN, frame,
                                         len);
        (void) ngx_atomic_fetch_add(&p->sw->sh->super_frames, 1);
        return;
    }

    if (p->closing) {
        return;
    }

    room = len - gso->hlen + (size_t) gso->segs * (gso->hlen
                                 + VPNWS_VNET_HLEN + VPNWS_WS_MAX_HLEN);

    cut.peer = p;
    cut.dst = ngx_http_vpnws_room(p, room);

    if (cut.dst == NULL) {
        ngx_http_vpnws_dropped(p);
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
    cut->peer->out_last += cut->hlen + len;
    cut->peer->slot->frames_out++;

    return 0;
}


static ngx_int_t
ngx_http_vpnws_queue_vnet(ngx_http_vpnws_peer_t *p, const u_char *vnet,
    u_char *frame, size_t len)
{
    size_t   hlen;
    u_char  *dst, hdr[VPNWS_WS_MAX_HLEN];

    if (p->closing) {
        return NGX_DECLINED;
    }

    hlen = vpnws_ws_header(hdr, VPNWS_WS_OP_BINARY, VPNWS_VNET_HLEN + len,
                           NULL);

    dst = ngx_http_vpnws_room(p, hlen + VPNWS_VNET_HLEN + len);

    if (dst == NULL) {
        ngx_http_vpnws_dropped(p);
        return NGX_DECLINED;
    }

    dst = ngx_cpymem(dst, hdr, hlen);
    dst = ngx_cpymem(dst, vnet, VPNWS_VNET_HLEN);
    ngx_memcpy(dst, frame, len);

    p->out_last += hlen + VPNWS_VNET_HLEN + len;
    p->slot->frames_out++;

    return NGX_OK;
}


/* a flooded frame: written at once when nothing waits before it */
void
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


void
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
