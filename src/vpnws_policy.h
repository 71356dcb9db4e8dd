/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: what a peer may do, decided at the upgrade from the server's
 * policy values (nginx variables in the module, uwsgi variables and
 * options in the daemon) and the client's requests.
 */

#ifndef _VPNWS_POLICY_H_INCLUDED_
#define _VPNWS_POLICY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_mac.h"
#include "vpnws_limit.h"
#include "vpnws_upgrade.h"


#define VPNWS_USER_MAX          256


typedef struct {
    const char     *data;           /* NULL: not configured */
    size_t          len;
} vpnws_policy_value_t;


typedef struct {
    /* what the client asks for */
    unsigned                want_bridge:1;  /* X-vpn-ws-bridge: on */
    unsigned                want_mac:1;     /* X-vpn-ws-MAC, in mac */
    uint8_t                 mac[VPNWS_MAC_LEN];
    unsigned                need_user:1;    /* a per-user peer limit */

    /* the server's values; bridge not configured: the client decides */
    vpnws_policy_value_t    bridge;
    vpnws_policy_value_t    pin_mac;
    vpnws_policy_value_t    pin_ip;
    vpnws_policy_value_t    rate;
    vpnws_policy_value_t    user;
} vpnws_policy_in_t;


typedef struct {
    unsigned                bridge:1;       /* a bridge port */
    unsigned                granted:1;      /* bridge mode was granted */
    unsigned                pinned:1;       /* mac is given, not chosen */
    unsigned                has_mac:1;      /* claim mac at the upgrade */
    unsigned                has_ip4:1;
    uint8_t                 mac[VPNWS_MAC_LEN];
    uint8_t                 ip4[4];
    vpnws_rate_t            rate;
    const char             *user;           /* NULL: no identity */
    size_t                  user_len;
    const char             *detail;         /* with VPNWS_POLICY_BAD_RATE */
} vpnws_policy_t;


typedef enum {
    VPNWS_POLICY_OK = 0,
    VPNWS_POLICY_BRIDGE_DENIED,
    VPNWS_POLICY_BAD_BRIDGE,
    VPNWS_POLICY_BAD_MAC,
    VPNWS_POLICY_MAC_DIFFERS,
    VPNWS_POLICY_BAD_IP,
    VPNWS_POLICY_BAD_RATE,
    VPNWS_POLICY_BAD_USER,
    VPNWS_POLICY_NO_USER,
    VPNWS_POLICY_MAX
} vpnws_policy_rc_t;


/* the decision; anything but VPNWS_POLICY_OK is refused with 403 */
vpnws_policy_rc_t vpnws_policy_decide(const vpnws_policy_in_t *in,
    vpnws_policy_t *out);

struct vpnws_port_state_s;

/* a granted port's state: its pin, its address, its limits */
void vpnws_policy_apply(const vpnws_policy_t *p,
    struct vpnws_port_state_s *state, uint64_t now);

/* the refusal (status, log level, text) of a decision */
vpnws_refusal_t vpnws_policy_refusal(vpnws_policy_rc_t rc);

/* its text, for the client and the log */
const char *vpnws_policy_reason(vpnws_policy_rc_t rc);

/* 1 if the refusal is the server's bad value, not the client's ask */
int vpnws_policy_is_config_fault(vpnws_policy_rc_t rc);

/* the value a config fault came from (NULL: none), for the host's line */
const vpnws_policy_value_t *vpnws_policy_bad_value(
    const vpnws_policy_in_t *in, vpnws_policy_rc_t rc);

/* on/yes/1/true: 1, off/no/0/false or empty: 0, else -1 (any case) */
int vpnws_policy_flag(const char *s, size_t len);

/* a user name: 1..VPNWS_USER_MAX bytes; 0 or -1 */
int vpnws_policy_user_valid(const char *s, size_t len);


#endif /* _VPNWS_POLICY_H_INCLUDED_ */
