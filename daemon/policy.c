/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: what each peer may do, from the uwsgi variables the proxy sets
 * (uwsgi_param VPNWS_BRIDGE $vpn_bridge; ...) and the options, decided by
 * the core (src/vpnws_policy.c) as in the module.  With neither, a client
 * may ask for bridge mode, as with the original vpn-ws.
 */


#include <string.h>

#include "vpnwsd.h"


static void vpnwsd_policy_value(vpnws_uwsgi_packet_t *pk, const char *name,
    vpnws_policy_value_t *v);
static uint32_t vpnwsd_user_peers(const uint8_t *user, size_t len);


/* once at start: say which policy applies */
void
vpnwsd_policy_init(void)
{
    if (vpnwsd.policy) {
        vpnwsd_log(VPNWSD_LOG_NOTICE, "policy: bridge mode only where "
                   "VPNWS_BRIDGE grants it%s",
                   vpnwsd.rate ? ", every peer limited by --rate" : "");
        return;
    }

    vpnwsd_log(VPNWSD_LOG_NOTICE, "no --policy: a client may ask for bridge "
               "mode (X-vpn-ws-bridge: on) as with the original vpn-ws, "
               "unless the proxy passes VPNWS_BRIDGE or another VPNWS_ "
               "variable");
}


/*
 * The decisions for this request into *p and up (what is granted);
 * VPNWS_UPGRADE_OK or the refusal, whose line the caller writes.
 */
vpnws_refusal_t
vpnwsd_policy(vpnws_uwsgi_packet_t *pk, vpnws_upgrade_out_t *up,
    vpnws_policy_t *p)
{
    const char                  *name;
    vpnws_policy_in_t            in;
    vpnws_policy_rc_t            rc;
    const vpnws_policy_value_t  *bad;

    static const char  *names[VPNWS_POLICY_MAX] = {
        NULL, NULL, "VPNWS_BRIDGE", "VPNWS_MAC", NULL, "VPNWS_IP",
        "VPNWS_RATE", "VPNWS_USER", NULL
    };

    memset(&in, 0, sizeof(vpnws_policy_in_t));

    in.want_bridge = up->bridge;
    in.want_mac = up->has_mac;
    in.need_user = vpnwsd.peers_per_user ? 1 : 0;
    memcpy(in.mac, up->mac, VPNWS_MAC_LEN);

    vpnwsd_policy_value(pk, "VPNWS_BRIDGE", &in.bridge);
    vpnwsd_policy_value(pk, "VPNWS_MAC", &in.pin_mac);
    vpnwsd_policy_value(pk, "VPNWS_IP", &in.pin_ip);
    vpnwsd_policy_value(pk, "VPNWS_RATE", &in.rate);
    vpnwsd_policy_value(pk, "VPNWS_USER", &in.user);

    if (in.bridge.data == NULL
        && (vpnwsd.policy || in.pin_mac.data || in.pin_ip.data
            || in.rate.data || in.user.data))
    {
        /* a policy is on: what it does not grant is refused */
        in.bridge.data = "off";
        in.bridge.len = 3;
    }

    if (in.rate.data == NULL && vpnwsd.rate) {
        in.rate.data = vpnwsd.rate;
        in.rate.len = strlen(vpnwsd.rate);
    }

    if (in.user.data == NULL) {
        /* the identity the proxy passed, as the original shows it */
        vpnwsd_policy_value(pk, "REMOTE_USER", &in.user);
    }

    rc = vpnws_policy_decide(&in, p);

    if (rc != VPNWS_POLICY_OK) {

        bad = vpnws_policy_bad_value(&in, rc);
        name = names[rc];

        if (bad && bad->data && name) {
            vpnwsd_log(VPNWSD_LOG_ERR, "%s value \"%.*s\"%s is invalid%s%s",
                       name, (int) (bad->len > 64 ? 64 : bad->len),
                       bad->data, bad->len > 64 ? "..." : "",
                       p->detail ? ": " : "", p->detail ? p->detail : "");
        }

        return vpnws_policy_refusal(rc);
    }

    if (vpnwsd.peers_per_user
        && vpnwsd_user_peers((const uint8_t *) p->user, p->user_len)
           >= vpnwsd.peers_per_user)
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "user \"%.*s\" has %u peers already "
                   "(--peers-per-user %u)", (int) p->user_len, p->user,
                   vpnwsd.peers_per_user, vpnwsd.peers_per_user);
        return VPNWS_REFUSE_USER_PEERS;
    }

    up->bridge = p->bridge;
    up->has_mac = p->has_mac;
    memcpy(up->mac, p->mac, VPNWS_MAC_LEN);

    return VPNWS_UPGRADE_OK;
}


static void
vpnwsd_policy_value(vpnws_uwsgi_packet_t *pk, const char *name,
    vpnws_policy_value_t *v)
{
    const vpnws_uwsgi_var_t  *var;

    var = vpnws_uwsgi_get(pk, name);

    v->data = var ? (const char *) var->value : NULL;
    v->len = var ? var->value_len : 0;

    if (var && v->len == 0) {
        v->data = "";
    }
}


static uint32_t
vpnwsd_user_peers(const uint8_t *user, size_t len)
{
    uint32_t        n;
    vpnwsd_conn_t  *q;

    n = 0;

    for (q = vpnwsd.ports; q; q = q->port_next) {
        if (q->kind == VPNWSD_PEER && q->user && q->user_len == len
            && memcmp(q->user, user, len) == 0)
        {
            n++;
        }
    }

    return n;
}
