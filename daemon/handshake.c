/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the websocket handshake from the uwsgi variables: validated by
 * the core's rules as in the module, the announced MAC claimed, the 101
 * answered ourselves.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "vpnwsd.h"


static uint8_t *
vpnwsd_dup_str(const char *s, size_t len, size_t *out_len)
{
    uint8_t  *p;

    *out_len = 0;

    if (s == NULL || len == 0) {
        return NULL;
    }

    p = malloc(len);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    *out_len = len;

    return p;
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
vpnwsd_refuse(vpnwsd_conn_t *c, vpnws_refusal_t refusal)
{
    const vpnws_refusal_info_t  *ri;

    ri = vpnws_refusal_info(refusal);

    vpnwsd_log(ri->level,
               "refused websocket upgrade from %s: %s",
               c->addr[0] ? c->addr : "?", ri->reason);

    vpnwsd_respond_error(c, ri);
}


void
vpnwsd_handshake(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk)
{
    int                         rc, n;
    size_t                      len, rest;
    uint8_t                    *data;
    uint32_t                    i;
    unsigned int                mdlen;
    vpnws_refusal_t             refusal;
    vpnws_policy_t              pol;
    vpnws_port_t                gone;
    vpnwsd_conn_t              *q;
    vpnws_switch_ctx_t          ctx;
    vpnws_upgrade_in_t          in;
    vpnws_upgrade_out_t         up;
    const vpnws_uwsgi_var_t    *v, *addr, *dn;
    char                        input[VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN];
    char                        accept[64], resp[256];
    char                        text[VPNWS_MAC_STR_LEN + 1];
    unsigned char               md[EVP_MAX_MD_SIZE];

    addr = vpnws_uwsgi_get(pk, "REMOTE_ADDR");
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

    memset(&in, 0, sizeof(vpnws_upgrade_in_t));

    for (i = 0; i < pk->nvars; i++) {
        v = &pk->vars[i];
        vpnws_upgrade_var(&in, (const char *) v->key, v->key_len,
                          (const char *) v->value, v->value_len);
    }

    refusal = vpnws_upgrade_check(&in, &up);

    if (refusal == VPNWS_UPGRADE_OK) {
        /* what the server grants (src/vpnws_policy.c) */
        refusal = vpnwsd_policy(pk, &up, &pol);
    }

    if (refusal != VPNWS_UPGRADE_OK) {
        vpnwsd_refuse(c, refusal);
        return;
    }

    memset(&c->state, 0, sizeof(vpnws_port_state_t));

    if (up.bridge) {
        c->state.port.flags |= VPNWS_PORT_BRIDGE;
    }

    vpnws_switch_join(&c->state, up.ready);
    vpnws_policy_apply(&pol, &c->state, (uint64_t) vpnwsd.now);
    c->granted = pol.granted;

    if (vpnwsd.npeers >= vpnwsd.max_peers) {
        vpnwsd_log(VPNWSD_LOG_ERR, "the switch is full (%u peers)",
                   vpnwsd.max_peers);
        vpnwsd_refuse(c, VPNWS_REFUSE_SWITCH_FULL);
        return;
    }

    /* the port exists from here on: its id is never used again */

    if (vpnwsd_port_add(c) == 0) {
        vpnwsd_refuse(c, VPNWS_REFUSE_INTERNAL);
        return;
    }

    if (up.has_mac && !up.bridge) {
        vpnwsd_switch_ctx(&ctx);

        rc = vpnws_switch_claim_pinned(&ctx, &c->state, up.mac, &gone);

        if (rc == 1) {
            /* the MAC is this peer's by the configuration */
            vpnws_mac_format(up.mac, text);
            vpnwsd_log(VPNWSD_LOG_WARN, "MAC %s is given to this peer: "
                       "closing peer %llu, which had chosen it", text,
                       (unsigned long long) gone.id);
            q = vpnwsd_port_find(gone.id);

            if (q && q->kind == VPNWSD_PEER) {
                vpnwsd_peer_close(q, VPNWS_WS_CLOSE_POLICY,
                                  "its MAC is given to another peer");
            }

            rc = 0;
        }

        if (rc != 0) {
            vpnwsd_port_remove(c);

            if (rc == -1) {
                vpnws_mac_format(up.mac, text);
                vpnwsd_log(VPNWSD_LOG_WARN, "MAC %s is in use by another "
                           "peer", text);
                vpnwsd_refuse(c, VPNWS_REFUSE_MAC_TAKEN);
                return;
            }

            vpnwsd_refuse(c, VPNWS_REFUSE_TABLE_FULL);
            return;
        }
    }

    c->user = vpnwsd_dup_str(pol.user, pol.user_len, &c->user_len);
    c->dn = vpnwsd_dup(dn, &c->dn_len);

    /* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)) */

    len = vpnws_ws_accept_input(in.key.data, in.key.len, input);

    if (EVP_Digest(input, len, md, &mdlen, EVP_sha1(), NULL) != 1) {
        vpnwsd_port_remove(c);
        vpnwsd_log(VPNWSD_LOG_ERR, "EVP_Digest(SHA-1) failed");
        vpnwsd_refuse(c, VPNWS_REFUSE_INTERNAL);
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

    if (c->state.has_mac) {
        vpnwsd_tap_announce(c);
    }

    vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu joined from %s%s%s",
               (unsigned long long) c->state.port.id,
               c->addr[0] ? c->addr : "?",
               (c->state.port.flags & VPNWS_PORT_BRIDGE) ? " (bridge)" : "",
               c->state.has_mac ? "" : " (MAC not yet known)");

    if (rest) {
        if (rest > vpnwsd.host.rbuf_size) {
            vpnwsd_conn_free(c);
            return;
        }

        memcpy(vpnwsd.host.rbuf, data, rest);
        (void) vpnwsd_peer_consume(c, rest);
    }

    free(c->req);
    c->req = NULL;
    c->req_len = 0;
}
