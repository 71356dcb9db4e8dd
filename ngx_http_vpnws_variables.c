/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: $vpnws_* variables of a websocket session, for log_format (the
 * request is logged when the session ends).
 */


#include "ngx_http_vpnws.h"


enum {
    NGX_HTTP_VPNWS_VAR_ID = 0,
    NGX_HTTP_VPNWS_VAR_MAC,
    NGX_HTTP_VPNWS_VAR_RX,
    NGX_HTTP_VPNWS_VAR_TX,
    NGX_HTTP_VPNWS_VAR_FRAMES_IN,
    NGX_HTTP_VPNWS_VAR_FRAMES_OUT,
    NGX_HTTP_VPNWS_VAR_DROPS,
    NGX_HTTP_VPNWS_VAR_SWITCH,
    NGX_HTTP_VPNWS_VAR_USER,
    NGX_HTTP_VPNWS_VAR_CLOSE
};


static ngx_int_t ngx_http_vpnws_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_vpnws_vars[] = {

    { ngx_string("vpnws_peer_id"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_mac"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_MAC, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_rx"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_RX, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_tx"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_TX, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_frames_in"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_FRAMES_IN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_frames_out"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_FRAMES_OUT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_drops"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_DROPS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_switch"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_SWITCH, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_user"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("vpnws_close_code"), NULL, ngx_http_vpnws_variable,
      NGX_HTTP_VPNWS_VAR_CLOSE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_vpnws_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_vpnws_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                 *p;
    uint64_t                n;
    ngx_http_vpnws_peer_t  *peer;
    ngx_http_vpnws_slot_t  *slot;

    peer = ngx_http_get_module_ctx(r->main, ngx_http_vpnws_module);

    if (peer == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    slot = peer->slot;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + VPNWS_MAC_STR_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    switch (data) {

    case NGX_HTTP_VPNWS_VAR_MAC:

        if (!peer->state.has_mac) {
            v->not_found = 1;
            return NGX_OK;
        }

        vpnws_mac_format(peer->state.mac, (char *) p);
        v->len = VPNWS_MAC_STR_LEN;
        goto found;

    case NGX_HTTP_VPNWS_VAR_SWITCH:
        v->len = peer->sw->name.len;
        v->data = peer->sw->name.data;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;

    case NGX_HTTP_VPNWS_VAR_USER:

        if (peer->user.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->len = peer->user.len;
        v->data = peer->user.data;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;

    case NGX_HTTP_VPNWS_VAR_ID:
        n = peer->state.port.id;
        break;

    case NGX_HTTP_VPNWS_VAR_RX:
        n = slot->stats.rx;
        break;

    case NGX_HTTP_VPNWS_VAR_TX:
        n = slot->stats.tx;
        break;

    case NGX_HTTP_VPNWS_VAR_FRAMES_IN:
        n = slot->stats.frames_in;
        break;

    case NGX_HTTP_VPNWS_VAR_FRAMES_OUT:
        n = slot->stats.frames_out;
        break;

    case NGX_HTTP_VPNWS_VAR_DROPS:
        n = slot->stats.drops;
        break;

    default: /* NGX_HTTP_VPNWS_VAR_CLOSE */
        n = peer->close_code;
        break;
    }

    v->len = ngx_sprintf(p, "%uL", n) - p;

found:

    v->data = p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
