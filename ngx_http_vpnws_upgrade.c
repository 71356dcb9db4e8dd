/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the vpnws location: the websocket upgrade (validated by the
 * core's rules, src/vpnws_upgrade.c), a seat on the switch, the 101
 * response; the peer takes over from there.
 */


#include "ngx_http_vpnws.h"
#include "vpnws_upgrade.h"


_Static_assert(ngx_http_vpnws_log_level(VPNWS_LOG_WARN) == NGX_LOG_WARN
               && ngx_http_vpnws_log_level(VPNWS_LOG_INFO) == NGX_LOG_INFO,
               "the core's levels map onto nginx's");


static vpnws_refusal_t ngx_http_vpnws_validate(ngx_http_request_t *r,
    vpnws_upgrade_in_t *in, vpnws_upgrade_out_t *out);
static ngx_http_vpnws_slot_t *ngx_http_vpnws_join(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, vpnws_port_state_t *state,
    vpnws_upgrade_out_t *up, vpnws_policy_t *policy,
    vpnws_refusal_t *refusal);
static void ngx_http_vpnws_describe(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_http_vpnws_slot_t *slot);
static ngx_int_t ngx_http_vpnws_accept(ngx_http_request_t *r,
    vpnws_upgrade_value_t *key);
static ngx_int_t ngx_http_vpnws_add_header(ngx_http_request_t *r,
    const char *key, const char *value);
static ngx_int_t ngx_http_vpnws_offload_header(ngx_http_request_t *r,
    unsigned offload);
static ngx_int_t ngx_http_vpnws_refuse(ngx_http_request_t *r,
    vpnws_refusal_t refusal);


ngx_int_t
ngx_http_vpnws_handler(ngx_http_request_t *r)
{
    unsigned                    offload;
    ngx_int_t                   rc;
    vpnws_refusal_t             refusal;
    vpnws_port_state_t          state;
    vpnws_switch_ctx_t          ctx;
    vpnws_upgrade_in_t          in;
    vpnws_upgrade_out_t         up;
    ngx_http_vpnws_slot_t      *slot;
    ngx_http_vpnws_switch_t    *sw;
    ngx_http_vpnws_grant_t      g;
    ngx_http_vpnws_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws: a subrequest cannot be a websocket");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    refusal = ngx_http_vpnws_validate(r, &in, &up);

    if (refusal != VPNWS_UPGRADE_OK) {
        return ngx_http_vpnws_refuse(r, refusal);
    }

    /* what the server grants (src/vpnws_policy.c) */
    refusal = ngx_http_vpnws_grant(r, vlcf, &up, &g);

    if (refusal != VPNWS_UPGRADE_OK) {
        return ngx_http_vpnws_refuse(r, refusal);
    }

    sw = g.sw;

    slot = ngx_http_vpnws_join(r, sw, &state, &up, &g.policy, &refusal);

    if (slot == NULL) {
        return ngx_http_vpnws_refuse(r, refusal);
    }

    refusal = ngx_http_vpnws_grant_seat(r, vlcf, &g, slot);

    if (refusal != VPNWS_UPGRADE_OK) {
        ngx_http_vpnws_switch_ctx(sw, &ctx);
        ngx_shmtx_lock(&sw->shpool->mutex);
        vpnws_switch_port_gone(&ctx, &state);
        ngx_shmtx_unlock(&sw->shpool->mutex);

        ngx_http_vpnws_slot_free(sw, slot);

        return ngx_http_vpnws_refuse(r, refusal);
    }

    ngx_http_vpnws_describe(r, sw, slot);

    if (ngx_http_vpnws_accept(r, &in.key) != NGX_OK) {
        goto failed;
    }

    offload = up.offload & sw->offload;

    if (offload && ngx_http_vpnws_offload_header(r, offload) != NGX_OK) {
        goto failed;
    }

    slot->offload = (uint8_t) offload;

    /* the upgrade is granted: in place before the 101 reaches the peer */
    ngx_http_vpnws_congestion_apply(r, sw, slot);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        goto failed;
    }

    rc = ngx_http_vpnws_peer_start(r, sw, slot, &state, offload);

    if (rc == NGX_DECLINED) {
        goto failed;
    }

    if (rc != NGX_OK) {
        /* the peer's pool cleanup releases the slot */
        return NGX_ERROR;
    }

    ((ngx_http_vpnws_peer_t *) ngx_http_get_module_ctx(r,
                                   ngx_http_vpnws_module))->user = g.user;

    r->main->count++;

    return NGX_DONE;

failed:

    ngx_http_vpnws_switch_ctx(sw, &ctx);
    ngx_shmtx_lock(&sw->shpool->mutex);
    vpnws_switch_port_gone(&ctx, &state);
    ngx_shmtx_unlock(&sw->shpool->mutex);

    ngx_http_vpnws_slot_free(sw, slot);

    return NGX_ERROR;
}


/* the request as the core's rules read it: method, version, headers */
static vpnws_refusal_t
ngx_http_vpnws_validate(ngx_http_request_t *r, vpnws_upgrade_in_t *in,
    vpnws_upgrade_out_t *out)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_memzero(in, sizeof(vpnws_upgrade_in_t));

    in->method.data = (char *) r->method_name.data;
    in->method.len = r->method_name.len;
    in->method.count = 1;
    in->http_version = r->http_version;

#if (NGX_HTTP_V2)
    if (r->stream) {
        in->http_version = NGX_HTTP_VERSION_20;
    }
#endif

#if (NGX_HTTP_V3)
    /* refused like HTTP/2: no Upgrade over QUIC (RFC 9220 not supported) */
    if (r->connection->quic) {
        in->http_version = NGX_HTTP_VERSION_30;
    }
#endif

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        vpnws_upgrade_header(in, (char *) h[i].key.data, h[i].key.len,
                             (char *) h[i].value.data, h[i].value.len);
    }

    return vpnws_upgrade_check(in, out);
}


/* a slot, and the announced MAC claimed for a non-bridge port */
static ngx_http_vpnws_slot_t *
ngx_http_vpnws_join(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *state, vpnws_upgrade_out_t *up,
    vpnws_policy_t *policy, vpnws_refusal_t *refusal)
{
    ngx_int_t               rc;
    vpnws_port_t            gone;
    vpnws_switch_ctx_t      ctx;
    ngx_http_vpnws_slot_t  *slot;
    char                    text[VPNWS_MAC_STR_LEN + 1];

    ngx_memzero(state, sizeof(vpnws_port_state_t));

    slot = ngx_http_vpnws_slot_alloc(sw);

    if (slot == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws_switch \"%V\" is full (peers=%ui)", &sw->name,
                      sw->max_peers);
        *refusal = VPNWS_REFUSE_SWITCH_FULL;
        return NULL;
    }

    state->port.id = slot->id;
    state->port.slot = (uint32_t) (slot - sw->sh->slots);
    state->port.worker = (uint16_t) ngx_worker;
    state->port.flags = up->bridge ? VPNWS_PORT_BRIDGE : 0;
    vpnws_switch_join(state, up->ready);
    vpnws_policy_apply(policy, state, ngx_current_msec);
    slot->flags = state->port.flags;

    if (up->has_mac && !up->bridge) {
        ngx_http_vpnws_switch_ctx(sw, &ctx);

        ngx_shmtx_lock(&sw->shpool->mutex);
        rc = vpnws_switch_claim_pinned(&ctx, state, up->mac, &gone);
        ngx_shmtx_unlock(&sw->shpool->mutex);

        if (rc == 1) {
            /* the MAC is this peer's by the configuration */
            vpnws_mac_format(up->mac, text);
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "vpnws: MAC %s is given to this peer: closing "
                          "peer %uL, which had chosen it", text, gone.id);
            (void) ngx_http_vpnws_kill(sw, gone.worker, gone.slot, gone.id);
            rc = 0;
        }

        if (rc != 0) {
            ngx_http_vpnws_slot_free(sw, slot);

            if (rc == -1) {
                vpnws_mac_format(up->mac, text);
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "vpnws: MAC %s is in use by another peer",
                              text);
                *refusal = VPNWS_REFUSE_MAC_TAKEN;
                return NULL;
            }

            *refusal = VPNWS_REFUSE_TABLE_FULL;
            return NULL;
        }

        ngx_memcpy(slot->mac, up->mac, VPNWS_MAC_LEN);
        slot->has_mac = 1;
    }

    if (up->bridge) {
        (void) ngx_atomic_fetch_add(&sw->sh->bridges, 1);
    }

    return slot;
}


/* who the peer is, for the status: address, user, certificate subject */
static void
ngx_http_vpnws_describe(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot)
{
    /* the user is the grant's (ngx_http_vpnws_grant_seat) */
    (void) ngx_sock_ntop(r->connection->sockaddr, r->connection->socklen,
                         slot->addr, NGX_HTTP_VPNWS_ADDR_LEN - 1, 0);

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_t  dn;

        if (ngx_ssl_get_subject_dn(r->connection, r->pool, &dn) == NGX_OK
            && dn.len)
        {
            ngx_shmtx_lock(&sw->shpool->mutex);
            slot->dn = ngx_slab_alloc_locked(sw->shpool, dn.len);
            if (slot->dn) {
                ngx_memcpy(slot->dn, dn.data, dn.len);
                slot->dn_len = dn.len;
            }
            ngx_shmtx_unlock(&sw->shpool->mutex);
        }
    }
#endif
}


static ngx_int_t
ngx_http_vpnws_accept(ngx_http_request_t *r, vpnws_upgrade_value_t *key)
{
    u_char            hash[20];
    ngx_str_t         src, dst;
    ngx_sha1_t        sha1;
    ngx_table_elt_t  *h;
    char              buf[VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN];

    src.len = 20;
    src.data = hash;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, buf,
                    vpnws_ws_accept_input(key->data, key->len, buf));
    ngx_sha1_final(hash, &sha1);

    dst.len = ngx_base64_encoded_length(20);
    dst.data = ngx_pnalloc(r->pool, dst.len);
    if (dst.data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64(&dst, &src);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Sec-WebSocket-Accept");
    h->value = dst;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Upgrade");
    ngx_str_set(&h->value, "websocket");

    return NGX_OK;
}


/* the 101 says which offloads the peer's frames may carry (README) */
static ngx_int_t
ngx_http_vpnws_offload_header(ngx_http_request_t *r, unsigned offload)
{
    char  *set;

    set = ngx_pnalloc(r->pool, VPNWS_OFFLOAD_STR_LEN);
    if (set == NULL) {
        return NGX_ERROR;
    }

    vpnws_offload_format(offload, set);

    return ngx_http_vpnws_add_header(r, "X-vpn-ws-Offload", set);
}


static ngx_int_t
ngx_http_vpnws_add_header(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_refuse(ngx_http_request_t *r, vpnws_refusal_t refusal)
{
    size_t                       len;
    ngx_int_t                    rc;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    const char * const          *hdr;
    const vpnws_refusal_info_t  *ri;

    ri = vpnws_refusal_info(refusal);

    ngx_log_error(ngx_http_vpnws_log_level(ri->level), r->connection->log,
                  0, "vpnws: refused websocket upgrade: %s", ri->reason);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_BAD_REQUEST;
    }

    len = sizeof("vpnws: " CRLF) - 1 + ngx_strlen(ri->reason);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "vpnws: %s" CRLF, ri->reason);
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = ri->status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status_line.data = (u_char *) ri->status_line;
    r->headers_out.status_line.len = ngx_strlen(ri->status_line);

    for (hdr = ri->headers; hdr[0]; hdr += 2) {
        if (ngx_http_vpnws_add_header(r, hdr[0], hdr[1]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
