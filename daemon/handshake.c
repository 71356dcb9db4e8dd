/*
 * vpn-ws: the websocket handshake from the uwsgi variables: validate as
 * the module does, claim the announced MAC, answer 101 ourselves.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "vpnwsd.h"


/* does the comma separated list v contain token (any case)? */
static int
vpnwsd_has_token(const vpnws_uwsgi_var_t *v, const char *token)
{
    size_t          len, i, start, end;
    const uint8_t  *p;

    len = strlen(token);
    p = v->value;

    for (i = 0; i < v->value_len; /* void */) {

        while (i < v->value_len && (p[i] == ' ' || p[i] == '\t'
                                    || p[i] == ','))
        {
            i++;
        }

        start = i;

        while (i < v->value_len && p[i] != ',') {
            i++;
        }

        end = i;

        while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
            end--;
        }

        if (end - start == len
            && strncasecmp((const char *) p + start, token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
vpnwsd_is(const vpnws_uwsgi_var_t *v, const char *value)
{
    size_t  len;

    len = strlen(value);

    return v->value_len == len
           && strncasecmp((const char *) v->value, value, len) == 0;
}


static uint8_t *
vpnwsd_dup(const vpnws_uwsgi_var_t *v, size_t *len)
{
    uint8_t  *p;

    *len = 0;

    if (v == NULL || v->value_len == 0) {
        return NULL;
    }

    p = malloc(v->value_len);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, v->value, v->value_len);
    *len = v->value_len;

    return p;
}


static void
vpnwsd_refuse(vpnwsd_conn_t *c, int status, const char *line,
    const char *reason)
{
    vpnwsd_log(VPNWSD_LOG_ERR, "refused websocket upgrade from %s: %s",
               c->addr[0] ? c->addr : "?", reason);

    vpnwsd_respond_error(c, status, line, reason);
}


void
vpnwsd_handshake(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk)
{
    int                         rc, n;
    size_t                      len, rest;
    uint8_t                     mac[VPNWS_MAC_LEN], *data;
    unsigned int                mdlen;
    vpnws_switch_ctx_t          ctx;
    const vpnws_uwsgi_var_t    *method, *upgrade, *connection, *version;
    const vpnws_uwsgi_var_t    *key, *vmac, *bridge, *addr, *user, *dn;
    const vpnws_uwsgi_var_t    *ready;
    char                        input[VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN];
    char                        accept[64], resp[256];
    char                        text[VPNWS_MAC_STR_LEN + 1];
    unsigned char               md[EVP_MAX_MD_SIZE];

    method = vpnws_uwsgi_get(pk, "REQUEST_METHOD");
    upgrade = vpnws_uwsgi_get(pk, "HTTP_UPGRADE");
    connection = vpnws_uwsgi_get(pk, "HTTP_CONNECTION");
    version = vpnws_uwsgi_get(pk, "HTTP_SEC_WEBSOCKET_VERSION");
    key = vpnws_uwsgi_get(pk, "HTTP_SEC_WEBSOCKET_KEY");
    vmac = vpnws_uwsgi_get(pk, "HTTP_X_VPN_WS_MAC");
    bridge = vpnws_uwsgi_get(pk, "HTTP_X_VPN_WS_BRIDGE");
    ready = vpnws_uwsgi_get(pk, "HTTP_X_VPN_WS_READY");
    addr = vpnws_uwsgi_get(pk, "REMOTE_ADDR");
    user = vpnws_uwsgi_get(pk, "REMOTE_USER");
    dn = vpnws_uwsgi_get(pk, "HTTPS_DN");

    if (dn == NULL) {
        dn = vpnws_uwsgi_get(pk, "DN");
    }

    if (addr) {
        len = addr->value_len < VPNWSD_ADDR_LEN - 1 ? addr->value_len
                                                    : VPNWSD_ADDR_LEN - 1;
        memcpy(c->addr, addr->value, len);
        c->addr[len] = '\0';
    }

    /*
     * Proxies that strip hop-by-hop headers exist: a missing Upgrade or
     * Connection passes (as with the original vpn-ws), a wrong one not.
     */

    if (method && !vpnwsd_is(method, "GET")) {
        vpnwsd_refuse(c, 405, "405 Not Allowed",
                      "only GET can open a websocket");
        return;
    }

    if (upgrade && !vpnwsd_has_token(upgrade, "websocket")) {
        vpnwsd_refuse(c, 426, "426 Upgrade Required",
                      "no \"Upgrade: websocket\" header");
        return;
    }

    if (connection && upgrade && !vpnwsd_has_token(connection, "upgrade")) {
        vpnwsd_refuse(c, 400, "400 Bad Request",
                      "no \"Connection: Upgrade\" header");
        return;
    }

    if (version && !vpnwsd_is(version, "13")) {
        vpnwsd_refuse(c, 426, "426 Upgrade Required",
                      "unsupported Sec-WebSocket-Version");
        return;
    }

    if (key == NULL) {
        vpnwsd_refuse(c, 400, "400 Bad Request",
                      "no Sec-WebSocket-Key header");
        return;
    }

    if (vpnws_ws_key_valid((const char *) key->value, key->value_len) != 0) {
        vpnwsd_refuse(c, 400, "400 Bad Request",
                      "invalid Sec-WebSocket-Key");
        return;
    }

    memset(&c->state, 0, sizeof(vpnws_port_state_t));

    vpnws_switch_join(&c->state, ready && vpnwsd_is(ready, "on"));

    if (bridge) {
        if (vpnwsd_is(bridge, "on")) {
            c->state.port.flags |= VPNWS_PORT_BRIDGE;

        } else if (!vpnwsd_is(bridge, "off")) {
            vpnwsd_refuse(c, 400, "400 Bad Request",
                          "X-vpn-ws-bridge must be on or off");
            return;
        }
    }

    if (vmac) {
        if (vpnws_mac_parse((const char *) vmac->value, vmac->value_len, mac)
            != 0)
        {
            vpnwsd_refuse(c, 400, "400 Bad Request", "invalid X-vpn-ws-MAC");
            return;
        }

        if (vpnws_mac_is_zero(mac) || vpnws_mac_is_group(mac)) {
            vpnwsd_refuse(c, 400, "400 Bad Request",
                          "X-vpn-ws-MAC is not a unicast address");
            return;
        }
    }

    if (vpnwsd.npeers >= vpnwsd.max_peers) {
        vpnwsd_log(VPNWSD_LOG_ERR, "the switch is full (%u peers)",
                   vpnwsd.max_peers);
        vpnwsd_refuse(c, 503, "503 Service Unavailable",
                      "the switch is full");
        return;
    }

    /* the port exists from here on: its id is never used again */

    if (vpnwsd_port_add(c) == 0) {
        vpnwsd_refuse(c, 503, "503 Service Unavailable", "out of memory");
        return;
    }

    if (vmac && !(c->state.port.flags & VPNWS_PORT_BRIDGE)) {
        vpnwsd_switch_ctx(&ctx);

        rc = vpnws_switch_claim(&ctx, &c->state, mac);

        if (rc != 0) {
            vpnwsd_port_remove(c);
            vpnws_mac_format(mac, text);

            if (rc == -1) {
                vpnwsd_log(VPNWSD_LOG_ERR, "MAC %s is in use by another "
                           "peer", text);
                vpnwsd_refuse(c, 409, "409 Conflict",
                              "X-vpn-ws-MAC is in use by another peer");
                return;
            }

            vpnwsd_refuse(c, 503, "503 Service Unavailable",
                          "the MAC table is full");
            return;
        }
    }

    c->user = vpnwsd_dup(user, &c->user_len);
    c->dn = vpnwsd_dup(dn, &c->dn_len);

    /* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)) */

    len = vpnws_ws_accept_input((const char *) key->value, key->value_len,
                                input);

    if (EVP_Digest(input, len, md, &mdlen, EVP_sha1(), NULL) != 1) {
        vpnwsd_port_remove(c);
        vpnwsd_refuse(c, 500, "500 Internal Server Error", "SHA-1 failed");
        return;
    }

    (void) EVP_EncodeBlock((unsigned char *) accept, md, (int) mdlen);

    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "\r\n", accept);

    /* bytes after the packet are the first websocket frames */
    rest = c->req_len - pk->len;
    data = c->req + pk->len;

    if (vpnwsd_peer_start(c, (const uint8_t *) resp, (size_t) n) != 0) {
        vpnwsd_conn_free(c);
        return;
    }

    vpnwsd_log(VPNWSD_LOG_INFO, "peer %u joined from %s%s%s",
               c->state.port.id, c->addr[0] ? c->addr : "?",
               (c->state.port.flags & VPNWS_PORT_BRIDGE) ? " (bridge)" : "",
               c->state.has_mac ? "" : " (MAC not yet known)");

    if (rest) {
        if (rest > vpnwsd.rbuf_size) {
            vpnwsd_conn_free(c);
            return;
        }

        memcpy(vpnwsd.rbuf, data, rest);
        c->rx += rest;
        (void) vpnwsd_peer_consume(c, vpnwsd.rbuf, rest);
    }

    free(c->req);
    c->req = NULL;
    c->req_len = 0;
}
