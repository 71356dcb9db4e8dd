/*
 * vpnws: the grant decisions at the upgrade (DESIGN.md section 4, rule 8).
 */


#include <string.h>
#include <strings.h>

#include "vpnws_policy.h"
#include "vpnws_guard.h"


static const char  *vpnws_policy_reasons[VPNWS_POLICY_MAX] = {
    "granted",
    "bridge mode is not granted to this peer",
    "the bridge grant is neither on nor off",
    "the MAC given to this peer is not a unicast MAC address",
    "X-vpn-ws-MAC differs from the MAC given to this peer",
    "the IPv4 address given to this peer is not a dotted quad",
    "the rate given to this peer is invalid",
    "the user name is longer than 256 bytes or has control characters",
    "no user name, and peers are limited per user"
};


const char *
vpnws_policy_reason(vpnws_policy_rc_t rc)
{
    return (rc < VPNWS_POLICY_MAX) ? vpnws_policy_reasons[rc] : "?";
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


int
vpnws_policy_user_valid(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > VPNWS_USER_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return -1;
        }
    }

    return 0;
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
