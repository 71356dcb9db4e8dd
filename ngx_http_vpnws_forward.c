/*
 * vpnws: where a frame goes: the core's decision carried out to the local
 * peers, the tap and the other workers; frames from other workers.
 */


#include "ngx_http_vpnws.h"


static void ngx_http_vpnws_flood(ngx_http_vpnws_switch_t *sw,
    vpnws_port_t *src, vpnws_fwd_t action, u_char *frame, size_t len,
    ngx_uint_t tap);


static u_char       *ngx_http_vpnws_tx;       /* one framed ethernet frame */


ngx_int_t
ngx_http_vpnws_forward_init(ngx_cycle_t *cycle, size_t max_frame)
{
    ngx_http_vpnws_tx = ngx_alloc(max_frame + VPNWS_WS_MAX_HLEN, cycle->log);
    if (ngx_http_vpnws_tx == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
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

    if (d.learned && !(src->port.flags & VPNWS_PORT_BRIDGE)) {
        /* a peer's first frame gave it its MAC */
        ngx_http_vpnws_tap_announce(sw, src);
    }

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
