/*
 * vpnws: the vpnws location: the websocket upgrade, a seat on the switch,
 * the 101 response; the peer takes over from there.
 */


#include "ngx_http_vpnws.h"


typedef struct {
    ngx_table_elt_t            *key;
    ngx_table_elt_t            *version;
    ngx_table_elt_t            *mac;
    ngx_table_elt_t            *bridge;
    ngx_table_elt_t            *ready;
    ngx_uint_t                  upgrade;    /* Connection: upgrade seen */
} ngx_http_vpnws_headers_t;


typedef struct {
    ngx_uint_t                  status;
    char                       *line;       /* NULL: nginx's own */
    char                       *reason;
} ngx_http_vpnws_refusal_t;


static ngx_http_vpnws_refusal_t *ngx_http_vpnws_validate(
    ngx_http_request_t *r, ngx_http_vpnws_headers_t *hs,
    vpnws_port_state_t *state, uint8_t *mac);
static ngx_http_vpnws_slot_t *ngx_http_vpnws_join(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, vpnws_port_state_t *state, uint8_t *mac,
    ngx_http_vpnws_refusal_t **refusal);
static void ngx_http_vpnws_describe(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_http_vpnws_slot_t *slot);
static ngx_int_t ngx_http_vpnws_has_token(ngx_table_elt_t *h, char *token);
static void ngx_http_vpnws_find_headers(ngx_http_request_t *r,
    ngx_http_vpnws_headers_t *hs);
static ngx_int_t ngx_http_vpnws_accept(ngx_http_request_t *r,
    ngx_table_elt_t *key);
static ngx_int_t ngx_http_vpnws_add_header(ngx_http_request_t *r, char *key,
    char *value);
static ngx_int_t ngx_http_vpnws_refuse(ngx_http_request_t *r,
    ngx_http_vpnws_refusal_t *refusal);


#define ngx_http_vpnws_refusal(status, line, reason)                         \
    static ngx_http_vpnws_refusal_t  refusal = { status, line, reason };     \
    return &refusal


ngx_int_t
ngx_http_vpnws_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    vpnws_port_state_t          state;
    ngx_http_vpnws_slot_t      *slot;
    ngx_http_vpnws_switch_t    *sw;
    ngx_http_vpnws_headers_t    hs;
    ngx_http_vpnws_refusal_t   *refusal;
    ngx_http_vpnws_loc_conf_t  *vlcf;
    vpnws_switch_ctx_t          ctx;
    uint8_t                     mac[VPNWS_MAC_LEN];

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);
    sw = vlcf->sw;

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws: a subrequest cannot be a websocket");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    refusal = ngx_http_vpnws_validate(r, &hs, &state, mac);

    if (refusal) {
        return ngx_http_vpnws_refuse(r, refusal);
    }

    slot = ngx_http_vpnws_join(r, sw, &state, hs.mac ? mac : NULL, &refusal);

    if (slot == NULL) {
        return ngx_http_vpnws_refuse(r, refusal);
    }

    ngx_http_vpnws_describe(r, sw, slot);

    if (ngx_http_vpnws_accept(r, hs.key) != NGX_OK) {
        goto failed;
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;
    r->header_only = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        goto failed;
    }

    rc = ngx_http_vpnws_peer_start(r, sw, slot, &state);

    if (rc == NGX_DECLINED) {
        goto failed;
    }

    if (rc != NGX_OK) {
        /* the peer's pool cleanup releases the slot */
        return NGX_ERROR;
    }

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


static ngx_http_vpnws_refusal_t *
ngx_http_vpnws_validate(ngx_http_request_t *r, ngx_http_vpnws_headers_t *hs,
    vpnws_port_state_t *state, uint8_t *mac)
{
    ngx_memzero(state, sizeof(vpnws_port_state_t));

    if (r->method != NGX_HTTP_GET) {
        ngx_http_vpnws_refusal(NGX_HTTP_NOT_ALLOWED, NULL,
                               "only GET can open a websocket");
    }

    if (r->http_version < NGX_HTTP_VERSION_11
#if (NGX_HTTP_V2)
        || r->stream
#endif
       )
    {
        ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                               "websocket needs HTTP/1.1");
    }

    ngx_http_vpnws_find_headers(r, hs);

    if (!ngx_http_vpnws_has_token(r->headers_in.upgrade, "websocket")) {
        ngx_http_vpnws_refusal(426, "426 Upgrade Required",
                               "no \"Upgrade: websocket\" header");
    }

    if (!hs->upgrade) {
        ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                               "no \"Connection: Upgrade\" header");
    }

    if (hs->version
        && !(hs->version->value.len == 2
             && ngx_strncmp(hs->version->value.data, "13", 2) == 0))
    {
        ngx_http_vpnws_refusal(426, "426 Upgrade Required",
                               "unsupported Sec-WebSocket-Version");
    }

    if (hs->key == NULL) {
        ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                               "no Sec-WebSocket-Key header");
    }

    if (vpnws_ws_key_valid((char *) hs->key->value.data, hs->key->value.len)
        != 0)
    {
        ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                               "invalid Sec-WebSocket-Key");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                               "a websocket upgrade has no body");
    }

    if (hs->bridge) {
        if (hs->bridge->value.len == 2
            && ngx_strncasecmp(hs->bridge->value.data, (u_char *) "on", 2)
               == 0)
        {
            state->port.flags |= VPNWS_PORT_BRIDGE;

        } else if (!(hs->bridge->value.len == 3
                     && ngx_strncasecmp(hs->bridge->value.data,
                                        (u_char *) "off", 3) == 0))
        {
            ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                                   "X-vpn-ws-bridge must be on or off");
        }
    }

    vpnws_switch_join(state,
                      hs->ready && hs->ready->value.len == 2
                      && ngx_strncasecmp(hs->ready->value.data,
                                         (u_char *) "on", 2) == 0);

    if (hs->mac) {
        if (vpnws_mac_parse((char *) hs->mac->value.data, hs->mac->value.len,
                            mac)
            != 0)
        {
            ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                                   "invalid X-vpn-ws-MAC");
        }

        if (vpnws_mac_is_zero(mac) || vpnws_mac_is_group(mac)) {
            ngx_http_vpnws_refusal(NGX_HTTP_BAD_REQUEST, NULL,
                                   "X-vpn-ws-MAC is not a unicast address");
        }
    }

    return NULL;
}


/* a slot, and the announced MAC (NULL: none) claimed for a non-bridge */
static ngx_http_vpnws_slot_t *
ngx_http_vpnws_join(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *state, uint8_t *mac,
    ngx_http_vpnws_refusal_t **refusal)
{
    ngx_int_t               rc;
    vpnws_switch_ctx_t      ctx;
    ngx_http_vpnws_slot_t  *slot;
    char                    text[VPNWS_MAC_STR_LEN + 1];

    static ngx_http_vpnws_refusal_t  full = {
        NGX_HTTP_SERVICE_UNAVAILABLE, NULL, "the switch is full"
    };
    static ngx_http_vpnws_refusal_t  taken = {
        NGX_HTTP_CONFLICT, "409 Conflict",
        "X-vpn-ws-MAC is in use by another peer"
    };
    static ngx_http_vpnws_refusal_t  table_full = {
        NGX_HTTP_SERVICE_UNAVAILABLE, NULL, "the MAC table is full"
    };

    slot = ngx_http_vpnws_slot_alloc(sw);

    if (slot == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws_switch \"%V\" is full (peers=%ui)", &sw->name,
                      sw->max_peers);
        *refusal = &full;
        return NULL;
    }

    state->port.id = slot->id;
    state->port.slot = (uint32_t) (slot - sw->sh->slots);
    state->port.worker = (uint16_t) ngx_worker;
    slot->flags = state->port.flags;

    if (mac && !(state->port.flags & VPNWS_PORT_BRIDGE)) {
        ngx_http_vpnws_switch_ctx(sw, &ctx);

        ngx_shmtx_lock(&sw->shpool->mutex);
        rc = vpnws_switch_claim(&ctx, state, mac);
        ngx_shmtx_unlock(&sw->shpool->mutex);

        if (rc != 0) {
            ngx_http_vpnws_slot_free(sw, slot);

            if (rc == -1) {
                vpnws_mac_format(mac, text);
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "vpnws: MAC %s is in use by another peer",
                              text);
                *refusal = &taken;
                return NULL;
            }

            *refusal = &table_full;
            return NULL;
        }

        ngx_memcpy(slot->mac, mac, VPNWS_MAC_LEN);
        slot->has_mac = 1;
    }

    if (state->port.flags & VPNWS_PORT_BRIDGE) {
        (void) ngx_atomic_fetch_add(&sw->sh->bridges, 1);
    }

    return slot;
}


/* who the peer is, for the status: address, user, certificate subject */
static void
ngx_http_vpnws_describe(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot)
{
    ngx_str_t  user;

    (void) ngx_sock_ntop(r->connection->sockaddr, r->connection->socklen,
                         slot->addr, NGX_HTTP_VPNWS_ADDR_LEN - 1, 0);

    if (ngx_http_auth_basic_user(r) == NGX_OK) {
        user = r->headers_in.user;

        ngx_shmtx_lock(&sw->shpool->mutex);
        slot->user = ngx_slab_alloc_locked(sw->shpool, user.len + 1);
        if (slot->user) {
            ngx_memcpy(slot->user, user.data, user.len);
            slot->user_len = user.len;
        }
        ngx_shmtx_unlock(&sw->shpool->mutex);
    }

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
ngx_http_vpnws_has_token(ngx_table_elt_t *h, char *token)
{
    size_t   len;
    u_char  *p, *last, *start;

    if (h == NULL) {
        return 0;
    }

    len = ngx_strlen(token);
    p = h->value.data;
    last = p + h->value.len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_vpnws_find_headers(ngx_http_request_t *r,
    ngx_http_vpnws_headers_t *hs)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_memzero(hs, sizeof(ngx_http_vpnws_headers_t));

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

#define is(name)  (h[i].key.len == sizeof(name) - 1                          \
                   && ngx_strncasecmp(h[i].key.data, (u_char *) name,        \
                                      sizeof(name) - 1) == 0)

        if (is("Connection")) {
            /* nginx 1.22 does not keep this header in headers_in */
            hs->upgrade |= ngx_http_vpnws_has_token(&h[i], "upgrade");

        } else if (is("Sec-WebSocket-Key")) {
            hs->key = &h[i];

        } else if (is("Sec-WebSocket-Version")) {
            hs->version = &h[i];

        } else if (is("X-vpn-ws-MAC")) {
            hs->mac = &h[i];

        } else if (is("X-vpn-ws-bridge")) {
            hs->bridge = &h[i];

        } else if (is("X-vpn-ws-ready")) {
            hs->ready = &h[i];
        }

#undef is
    }
}


static ngx_int_t
ngx_http_vpnws_accept(ngx_http_request_t *r, ngx_table_elt_t *key)
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
                    vpnws_ws_accept_input((char *) key->value.data,
                                          key->value.len, buf));
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


static ngx_int_t
ngx_http_vpnws_add_header(ngx_http_request_t *r, char *key, char *value)
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
ngx_http_vpnws_refuse(ngx_http_request_t *r,
    ngx_http_vpnws_refusal_t *refusal)
{
    char         *line, *reason;
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_uint_t    status;
    ngx_chain_t   out;

    status = refusal->status;
    line = refusal->line;
    reason = refusal->reason;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vpnws: refused websocket upgrade: %s", reason);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_BAD_REQUEST;
    }

    len = sizeof("vpnws: " CRLF) - 1 + ngx_strlen(reason);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "vpnws: %s" CRLF, reason);
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (line) {
        r->headers_out.status_line.data = (u_char *) line;
        r->headers_out.status_line.len = ngx_strlen(line);
    }

    if (status == 426) {
        if (ngx_http_vpnws_add_header(r, "Upgrade", "websocket") != NGX_OK
            || ngx_http_vpnws_add_header(r, "Sec-WebSocket-Version", "13")
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_vpnws_add_header(r, "Allow", "GET") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
