/*
 * vpnws: a layer-2 switch for websocket peers inside nginx.
 * Directives, module hooks and the websocket upgrade.
 */


#include "ngx_http_vpnws.h"


static void *ngx_http_vpnws_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_vpnws_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vpnws_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_vpnws(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_vpnws_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_vpnws_init_process(ngx_cycle_t *cycle);
static void ngx_http_vpnws_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_vpnws_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_vpnws_refuse(ngx_http_request_t *r,
    ngx_uint_t status, char *line, char *reason);


typedef struct {
    ngx_table_elt_t            *key;
    ngx_table_elt_t            *version;
    ngx_table_elt_t            *mac;
    ngx_table_elt_t            *bridge;
    ngx_uint_t                  upgrade;    /* Connection: upgrade seen */
} ngx_http_vpnws_headers_t;


static ngx_command_t  ngx_http_vpnws_commands[] = {

    { ngx_string("vpnws_switch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vpnws_switch_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpnws,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpnws,
      NGX_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vpnws_module_ctx = {
    ngx_http_vpnws_add_variables,          /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_vpnws_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vpnws_create_loc_conf,        /* create location configuration */
    ngx_http_vpnws_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_vpnws_module = {
    NGX_MODULE_V1,
    &ngx_http_vpnws_module_ctx,            /* module context */
    ngx_http_vpnws_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_vpnws_init_module,            /* init module */
    ngx_http_vpnws_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vpnws_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_vpnws_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&vmcf->switches, cf->pool, 4,
                       sizeof(ngx_http_vpnws_switch_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return vmcf;
}


static void *
ngx_http_vpnws_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_loc_conf_t));
}


static char *
ngx_http_vpnws_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /* content handlers are per location: nothing is inherited */
    return NGX_CONF_OK;
}


static char *
ngx_http_vpnws(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpnws_loc_conf_t *vlcf = conf;

    ngx_str_t                 *value;
    ngx_http_vpnws_switch_t   *sw;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    if (vlcf->sw || vlcf->status) {
        return "is duplicate: a location is either vpnws or vpnws_status";
    }

    sw = ngx_http_vpnws_switch_find(cf, &value[1]);

    if (sw == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown vpnws_switch \"%V\" (a vpnws_switch "
                           "must be defined in the http block before it is "
                           "used)", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cmd->offset) {
        vlcf->status = sw;
        clcf->handler = ngx_http_vpnws_status_handler;

    } else {
        vlcf->sw = sw;
        clcf->handler = ngx_http_vpnws_handler;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpnws_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    if (ngx_http_vpnws_ipc_init_module(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL) {
        return NGX_OK;
    }

    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_tap_init_module(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL || vmcf->switches.nelts == 0) {
        return NGX_OK;
    }

    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_switch_init_worker(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_vpnws_peer_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_tap_init_process(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_vpnws_ipc_init_process(cycle);
}


static void
ngx_http_vpnws_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf) {
        sws = vmcf->switches.elts;

        for (i = 0; i < vmcf->switches.nelts; i++) {
            ngx_http_vpnws_tap_exit_process(sws[i]);
        }
    }

    ngx_http_vpnws_ipc_exit_process(cycle);
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
ngx_http_vpnws_refuse(ngx_http_request_t *r, ngx_uint_t status, char *line,
    char *reason)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

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


static ngx_int_t
ngx_http_vpnws_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   user;
    vpnws_port_state_t          state;
    ngx_http_vpnws_slot_t      *slot;
    ngx_http_vpnws_switch_t    *sw;
    ngx_http_vpnws_headers_t    hs;
    ngx_http_vpnws_loc_conf_t  *vlcf;
    vpnws_switch_ctx_t          ctx;
    uint8_t                     mac[VPNWS_MAC_LEN];
    u_char                      text[VPNWS_MAC_STR_LEN + 1];

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);
    sw = vlcf->sw;

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws: a subrequest cannot be a websocket");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_GET) {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_NOT_ALLOWED, NULL,
                                     "only GET can open a websocket");
    }

    if (r->http_version < NGX_HTTP_VERSION_11
#if (NGX_HTTP_V2)
        || r->stream
#endif
       )
    {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                     "websocket needs HTTP/1.1");
    }

    ngx_http_vpnws_find_headers(r, &hs);

    if (!ngx_http_vpnws_has_token(r->headers_in.upgrade, "websocket")) {
        return ngx_http_vpnws_refuse(r, 426, "426 Upgrade Required",
                                     "no \"Upgrade: websocket\" header");
    }

    if (!hs.upgrade) {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                     "no \"Connection: Upgrade\" header");
    }

    if (hs.version
        && !(hs.version->value.len == 2
             && ngx_strncmp(hs.version->value.data, "13", 2) == 0))
    {
        return ngx_http_vpnws_refuse(r, 426, "426 Upgrade Required",
                                     "unsupported Sec-WebSocket-Version");
    }

    if (hs.key == NULL) {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                     "no Sec-WebSocket-Key header");
    }

    if (vpnws_ws_key_valid((char *) hs.key->value.data, hs.key->value.len)
        != 0)
    {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                     "invalid Sec-WebSocket-Key");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                     "a websocket upgrade has no body");
    }

    ngx_memzero(&state, sizeof(vpnws_port_state_t));

    if (hs.bridge) {
        if (hs.bridge->value.len == 2
            && ngx_strncasecmp(hs.bridge->value.data, (u_char *) "on", 2)
               == 0)
        {
            state.port.flags |= VPNWS_PORT_BRIDGE;

        } else if (!(hs.bridge->value.len == 3
                     && ngx_strncasecmp(hs.bridge->value.data,
                                        (u_char *) "off", 3) == 0))
        {
            return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                         "X-vpn-ws-bridge must be on or off");
        }
    }

    if (hs.mac) {
        if (vpnws_mac_parse((char *) hs.mac->value.data, hs.mac->value.len,
                            mac)
            != 0)
        {
            return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                         "invalid X-vpn-ws-MAC");
        }

        if (vpnws_mac_is_zero(mac) || vpnws_mac_is_group(mac)) {
            return ngx_http_vpnws_refuse(r, NGX_HTTP_BAD_REQUEST, NULL,
                                         "X-vpn-ws-MAC is not a unicast "
                                         "address");
        }
    }

    slot = ngx_http_vpnws_slot_alloc(sw);

    if (slot == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "vpnws_switch \"%V\" is full (peers=%ui)", &sw->name,
                      sw->max_peers);
        return ngx_http_vpnws_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                                     "the switch is full");
    }

    state.port.id = slot->id;
    state.port.slot = (uint32_t) (slot - sw->sh->slots);
    state.port.worker = (uint16_t) ngx_worker;
    slot->flags = state.port.flags;

    if (hs.mac && !(state.port.flags & VPNWS_PORT_BRIDGE)) {
        ngx_http_vpnws_switch_ctx(sw, &ctx);

        ngx_shmtx_lock(&sw->shpool->mutex);
        rc = vpnws_switch_claim(&ctx, &state, mac);
        ngx_shmtx_unlock(&sw->shpool->mutex);

        if (rc != 0) {
            ngx_http_vpnws_slot_free(sw, slot);
            (void) ngx_cpymem(text, hs.mac->value.data, VPNWS_MAC_STR_LEN);
            text[VPNWS_MAC_STR_LEN] = '\0';

            if (rc == -1) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "vpnws: MAC %s is in use by another peer",
                              text);
                return ngx_http_vpnws_refuse(r, NGX_HTTP_CONFLICT,
                                             "409 Conflict",
                                             "X-vpn-ws-MAC is in use by "
                                             "another peer");
            }

            return ngx_http_vpnws_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         NULL, "the MAC table is full");
        }

        ngx_memcpy(slot->mac, mac, VPNWS_MAC_LEN);
        slot->has_mac = 1;
    }

    if (state.port.flags & VPNWS_PORT_BRIDGE) {
        (void) ngx_atomic_fetch_add(&sw->sh->bridges, 1);
    }

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
