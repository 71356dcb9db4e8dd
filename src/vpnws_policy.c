/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the grant decisions at the upgrade (DESIGN.md section 4, rule 8).
 */


#include <string.h>
#include <strings.h>

#include "vpnws_policy.h"
#include "vpnws_switch.h"


/* each decision's refusal in the one table (src/vpnws_upgrade.c) */
static const vpnws_refusal_t  vpnws_policy_refusals[VPNWS_POLICY_MAX] = {
    VPNWS_UPGRADE_OK,
    VPNWS_REFUSE_NOT_GRANTED,
    VPNWS_REFUSE_POLICY_BRIDGE,
    VPNWS_REFUSE_POLICY_MAC,
    VPNWS_REFUSE_MAC_DIFFERS,
    VPNWS_REFUSE_POLICY_IP,
    VPNWS_REFUSE_POLICY_RATE,
    VPNWS_REFUSE_POLICY_USER,
    VPNWS_REFUSE_NO_USER
};


vpnws_refusal_t
vpnws_policy_refusal(vpnws_policy_rc_t rc)
{
    return (rc < VPNWS_POLICY_MAX) ? vpnws_policy_refusals[rc]
                                   : VPNWS_REFUSE_INTERNAL;
}


const char *
vpnws_policy_reason(vpnws_policy_rc_t rc)
{
    return (rc < VPNWS_POLICY_MAX)
           ? vpnws_refusal_info(vpnws_policy_refusals[rc])->reason : "?";
}


int
vpnws_policy_is_config_fault(vpnws_policy_rc_t rc)
{
    return rc != VPNWS_POLICY_OK && rc != VPNWS_POLICY_BRIDGE_DENIED
           && rc != VPNWS_POLICY_MAC_DIFFERS;
}


static int
vpnws_policy_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}


int
vpnws_policy_flag(const char *s, size_t len)
{
    if (len == 0 || vpnws_policy_is(s, len, "off")
        || vpnws_policy_is(s, len, "no") || vpnws_policy_is(s, len, "0")
        || vpnws_policy_is(s, len, "false"))
    {
        return 0;
    }

    if (vpnws_policy_is(s, len, "on") || vpnws_policy_is(s, len, "yes")
        || vpnws_policy_is(s, len, "1") || vpnws_policy_is(s, len, "true"))
    {
        return 1;
    }

    return -1;
}


/* any bytes: status and logs escape them; an auth module checked them */
int
vpnws_policy_user_valid(const char *s, size_t len)
{
    return (s == NULL || len == 0 || len > VPNWS_USER_MAX) ? -1 : 0;
}


static vpnws_policy_rc_t
vpnws_policy_bridge(const vpnws_policy_in_t *in, vpnws_policy_t *out)
{
    int  grant;

    if (in->bridge.data == NULL) {
        /* the original vpn-ws: the client decides */
        grant = 1;

    } else {
        grant = vpnws_policy_flag(in->bridge.data, in->bridge.len);

        if (grant == -1) {
            return VPNWS_POLICY_BAD_BRIDGE;
        }
    }

    out->granted = grant;

    if (in->want_bridge && !grant) {
        return VPNWS_POLICY_BRIDGE_DENIED;
    }

    out->bridge = in->want_bridge;

    return VPNWS_POLICY_OK;
}


static vpnws_policy_rc_t
vpnws_policy_mac(const vpnws_policy_in_t *in, vpnws_policy_t *out)
{
    if (in->pin_mac.data && in->pin_mac.len) {

        if (vpnws_mac_parse(in->pin_mac.data, in->pin_mac.len, out->mac) != 0
            || vpnws_mac_is_zero(out->mac) || vpnws_mac_is_group(out->mac))
        {
            return VPNWS_POLICY_BAD_MAC;
        }

        if (in->want_mac && !vpnws_mac_eq(in->mac, out->mac)) {
            return VPNWS_POLICY_MAC_DIFFERS;
        }

        /* a bridge carries many MACs: a pin means nothing to it */
        out->pinned = !out->bridge;
        out->has_mac = !out->bridge;

        return VPNWS_POLICY_OK;
    }

    if (in->want_mac && !out->bridge) {
        memcpy(out->mac, in->mac, VPNWS_MAC_LEN);
        out->has_mac = 1;
    }

    return VPNWS_POLICY_OK;
}


vpnws_policy_rc_t
vpnws_policy_decide(const vpnws_policy_in_t *in, vpnws_policy_t *out)
{
    vpnws_policy_rc_t  rc;

    memset(out, 0, sizeof(vpnws_policy_t));

    rc = vpnws_policy_bridge(in, out);
    if (rc != VPNWS_POLICY_OK) {
        return rc;
    }

    rc = vpnws_policy_mac(in, out);
    if (rc != VPNWS_POLICY_OK) {
        return rc;
    }

    if (in->pin_ip.data && in->pin_ip.len) {
        if (vpnws_guard_ip4_parse(in->pin_ip.data, in->pin_ip.len, out->ip4)
            != 0)
        {
            return VPNWS_POLICY_BAD_IP;
        }

        out->has_ip4 = 1;
    }

    if (in->rate.data
        && vpnws_rate_parse(in->rate.data, in->rate.len, &out->rate,
                            &out->detail)
           != 0)
    {
        return VPNWS_POLICY_BAD_RATE;
    }

    if (in->user.data && in->user.len) {
        if (vpnws_policy_user_valid(in->user.data, in->user.len) != 0) {
            return VPNWS_POLICY_BAD_USER;
        }

        out->user = in->user.data;
        out->user_len = in->user.len;
    }

    if (in->need_user && out->user == NULL) {
        return VPNWS_POLICY_NO_USER;
    }

    return VPNWS_POLICY_OK;
}


void
vpnws_policy_apply(const vpnws_policy_t *p, vpnws_port_state_t *state,
    uint64_t now)
{
    state->pinned = p->pinned;

    if (p->has_ip4) {
        memcpy(state->guard.ip4, p->ip4, 4);
        state->guard.bound = 1;
    }

    vpnws_limit_init(&state->limit, &p->rate, now);
}


const vpnws_policy_value_t *
vpnws_policy_bad_value(const vpnws_policy_in_t *in, vpnws_policy_rc_t rc)
{
    switch (rc) {
    case VPNWS_POLICY_BAD_BRIDGE:
        return &in->bridge;
    case VPNWS_POLICY_BAD_MAC:
        return &in->pin_mac;
    case VPNWS_POLICY_BAD_IP:
        return &in->pin_ip;
    case VPNWS_POLICY_BAD_RATE:
        return &in->rate;
    case VPNWS_POLICY_BAD_USER:
        return &in->user;
    default:
        return NULL;
    }
}
