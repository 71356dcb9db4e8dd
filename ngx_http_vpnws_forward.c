/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: where a frame goes: the core's decision carried out to the local
 * peers, the tap and the other workers; frames from other workers.
 */


#include "ngx_http_vpnws.h"


static void ngx_http_vpnws_flood(ngx_http_vpnws_switch_t *sw,
    vpnws_port_t *src, vpnws_fwd_t action, u_char *frame, size_t len,
    vpnws_vnet_frame_t *gso, ngx_uint_t tap);
static void ngx_http_vpnws_to_tap(ngx_http_vpnws_switch_t *sw, u_char *frame,
    size_t len, vpnws_vnet_frame_t *gso);
static int ngx_http_vpnws_tap_segment(void *ctx, uint8_t *seg, size_t len);


static u_char       *ngx_http_vpnws_tx;       /* one framed ethernet frame */
static u_char       *ngx_http_vpnws_seg;      /* one segment of a super-frame */


ngx_int_t
ngx_http_vpnws_forward_init(ngx_cycle_t *cycle, size_t max_frame)
{
    ngx_http_vpnws_tx = ngx_alloc(max_frame + VPNWS_WS_MAX_HLEN, cycle->log);
    if (ngx_http_vpnws_tx == NULL) {
        return NGX_ERROR;
    }

    ngx_http_vpnws_seg = ngx_alloc(VPNWS_VNET_FRAME_MAX, cycle->log);
    if (ngx_http_vpnws_seg == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A super-frame cut for a port that takes plain frames only: each segment
 * built where place says (NULL: in one buffer), then passed to emit.
 */
ngx_int_t
ngx_http_vpnws_segment(ngx_http_vpnws_switch_t *sw, vpnws_vnet_frame_t *gso,
    u_char *frame, size_t len, vpnws_gso_place_pt place,
    vpnws_gso_emit_pt emit, void *ctx)
{
    int  rc;

    (void) ngx_atomic_fetch_add(&sw->sh->soft_segmented, 1);

    if (place) {
        rc = vpnws_gso_cut(gso, frame, len, place, emit, ctx);

    } else {
        rc = vpnws_gso_segment(gso, frame, len, ngx_http_vpnws_seg,
                               VPNWS_VNET_FRAME_MAX, emit, ctx);
    }

    if (rc < 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * gso: the checked virtio-net header of a super-frame, which sits in the
 * VPNWS_VNET_HLEN bytes before frame; NULL for a plain frame.
 */
void
ngx_http_vpnws_switch_frame(ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *src, u_char *frame, size_t len,
    vpnws_vnet_frame_t *gso)
{
    ngx_uint_t                 w, n;
    vpnws_decision_t           d;
    vpnws_switch_ctx_t         ctx;
    ngx_http_vpnws_peer_t     *q;
    ngx_http_vpnws_ipc_hdr_t   hdr;
    char                       text[VPNWS_MAC_STR_LEN + 1];

    ngx_http_vpnws_switch_ctx(sw, &ctx);

    if (src->port.flags & VPNWS_PORT_TAP) {
        /* the tap's MACs belong to the master, which outlives workers */
        ctx.owner = (int32_t) sw->sh->slots[src->port.slot].pid;
    }

    vpnws_switch_frame(&ctx, src, frame, len, &d);

    if (d.learned && !(src->port.flags & VPNWS_PORT_BRIDGE)) {
        /* a peer's first frame gave it its MAC */
        ngx_http_vpnws_tap_announce(sw, src);
    }

    if (d.log_taken) {
        vpnws_mac_format(frame + VPNWS_MAC_LEN, text);
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "vpnws_switch \"%V\": peer %uL sends from MAC %s, "
                      "which another peer owns; dropping those frames",
                      &sw->name, src->port.id, text);
    }

    switch (d.action) {

    case VPNWS_FWD_DROP:
        ngx_http_vpnws_count_drop(sw, d.reason);
        return;

    case VPNWS_FWD_UNICAST:

        if (d.dst.flags & VPNWS_PORT_TAP) {
            ngx_http_vpnws_to_tap(sw, frame, len, gso);
            return;
        }

        if (d.dst.worker == ngx_worker) {
            q = sw->by_slot[d.dst.slot];

            if (q == NULL || q->state.port.id != d.dst.id) {
                ngx_http_vpnws_count_drop(sw, VPNWS_DROP_UNKNOWN);
                return;
            }

            ngx_http_vpnws_output(q, frame, len, gso);
            return;
        }

        hdr.type = NGX_HTTP_VPNWS_IPC_UNICAST;
        hdr.flags = 0;
        hdr.sw = (uint16_t) sw->index;
        hdr.dst_slot = d.dst.slot;
        hdr.dst_id = d.dst.id;
        hdr.src = src->port;

        if (gso) {
            /* the other worker decides for its peers */
            hdr.flags = NGX_HTTP_VPNWS_IPC_F_VNET;
            frame -= VPNWS_VNET_HLEN;
            len += VPNWS_VNET_HLEN;
        }

        if (ngx_http_vpnws_ipc_send(d.dst.worker, &hdr, frame, len)
            != NGX_OK)
        {
            ngx_http_vpnws_count_drop(sw, VPNWS_DROP_IPC);
        }

        return;

    default: /* VPNWS_FWD_FLOOD, VPNWS_FWD_BRIDGES */

        ngx_http_vpnws_flood(sw, &src->port, d.action, frame, len, gso, 1);

        n = ngx_http_vpnws_ipc_workers();

        if (n == 1) {
            return;
        }

        hdr.type = (d.action == VPNWS_FWD_FLOOD) ? NGX_HTTP_VPNWS_IPC_FLOOD
                                                 : NGX_HTTP_VPNWS_IPC_BRIDGES;
        hdr.flags = 0;
        hdr.sw = (uint16_t) sw->index;
        hdr.dst_slot = 0;
        hdr.dst_id = 0;
        hdr.src = src->port;

        if (gso) {
            hdr.flags = NGX_HTTP_VPNWS_IPC_F_VNET;
            frame -= VPNWS_VNET_HLEN;
            len += VPNWS_VNET_HLEN;
        }

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
    vpnws_vnet_hdr_t              h;
    vpnws_vnet_frame_t            vf, *gso;
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

    if (len > ngx_http_vpnws_msg_max(sw)) {
        return;
    }

    gso = NULL;

    if (hdr->flags & NGX_HTTP_VPNWS_IPC_F_VNET) {

        if (len < VPNWS_VNET_HLEN) {
            return;
        }

        /* checked by the sending worker: this fills vf in again */
        vpnws_vnet_hdr_read(&h, frame);
        frame += VPNWS_VNET_HLEN;
        len -= VPNWS_VNET_HLEN;

        if (vpnws_vnet_check(&vf, &h, frame, len) != VPNWS_VNET_OK) {
            return;
        }

        gso = vf.gso ? &vf : NULL;
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

        ngx_http_vpnws_output(q, frame, len, gso);
        return;

    case NGX_HTTP_VPNWS_IPC_FLOOD:
        ngx_http_vpnws_flood(sw, &hdr->src, VPNWS_FWD_FLOOD, frame, len, gso,
                             0);
        return;

    case NGX_HTTP_VPNWS_IPC_BRIDGES:
        ngx_http_vpnws_flood(sw, &hdr->src, VPNWS_FWD_BRIDGES, frame, len,
                             gso, 0);
        return;

    default:
        return;
    }
}


/* to the local ports; the tap too unless another worker wrote it there */
static void
ngx_http_vpnws_flood(ngx_http_vpnws_switch_t *sw, vpnws_port_t *src,
    vpnws_fwd_t action, u_char *frame, size_t len, vpnws_vnet_frame_t *gso,
    ngx_uint_t tap)
{
    size_t                  hlen;
    ngx_queue_t            *qq;
    ngx_http_vpnws_peer_t  *q;

    if (tap && sw->tap_conn
        && vpnws_switch_to(&sw->conf, src, action, &sw->tap_state.port))
    {
        ngx_http_vpnws_to_tap(sw, frame, len, gso);
    }

    hlen = 0;

    for (qq = ngx_queue_head(&sw->local);
         qq != ngx_queue_sentinel(&sw->local);
         qq = ngx_queue_next(qq))
    {
        q = ngx_queue_data(qq, ngx_http_vpnws_peer_t, queue);

        if (q->io.closing
            || !vpnws_switch_to(&sw->conf, src, action, &q->state.port))
        {
            continue;
        }

        if (gso || q->offload) {
            ngx_http_vpnws_output(q, frame, len, gso);
            continue;
        }

        if (hlen == 0) {
            /* framed once, written to every plain port */
            hlen = vpnws_ws_header(ngx_http_vpnws_tx, VPNWS_WS_OP_BINARY,
                                   len, NULL);
            ngx_memcpy(ngx_http_vpnws_tx + hlen, frame, len);
        }

        ngx_http_vpnws_send(q, ngx_http_vpnws_tx, hlen + len, len);
    }
}


static void
ngx_http_vpnws_to_tap(ngx_http_vpnws_switch_t *sw, u_char *frame, size_t len,
    vpnws_vnet_frame_t *gso)
{
    if (gso == NULL) {
        ngx_http_vpnws_tap_write(sw, frame, len);
        return;
    }

    if (sw->tap_vnet && (vpnws_vnet_needs(gso) & ~sw->tap_offload) == 0) {
        ngx_http_vpnws_tap_write_vnet(sw, frame - VPNWS_VNET_HLEN,
                                      len + VPNWS_VNET_HLEN);
        (void) ngx_atomic_fetch_add(&sw->sh->super_frames, 1);
        return;
    }

    /* a tap without those offloads takes plain frames */
    (void) ngx_http_vpnws_segment(sw, gso, frame, len, NULL,
                                  ngx_http_vpnws_tap_segment, sw);
}


static int
ngx_http_vpnws_tap_segment(void *ctx, uint8_t *seg, size_t len)
{
    ngx_http_vpnws_tap_write(ctx, seg, len);

    return 0;
}
