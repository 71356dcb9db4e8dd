/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: frame guards for ordinary peers: no DHCP server replies, no IPv6
 * router advertisements, ARP and IPv4 source bound to the peer's address.
 * Never reads past the frame; looks through 802.1Q/802.1ad tags and IPv6
 * extension headers.
 */

#ifndef _VPNWS_GUARD_H_INCLUDED_
#define _VPNWS_GUARD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_GUARD_DHCP        0x01    /* guards to apply */
#define VPNWS_GUARD_RA          0x02
#define VPNWS_GUARD_IP          0x04

#define VPNWS_GUARD_IP4_LEN     16      /* "255.255.255.255" + NUL */


typedef enum {
    VPNWS_GUARD_PASS = 0,
    VPNWS_GUARD_DHCP_SERVER,
    VPNWS_GUARD_ROUTER_ADV,
    VPNWS_GUARD_ARP_SPOOF,
    VPNWS_GUARD_IP_SPOOF,
    VPNWS_GUARD_UNPARSED        /* tags or an IPv6 chain it cannot follow */
} vpnws_guard_verdict_t;


typedef struct {
    uint8_t         ip4[4];         /* the peer's IPv4 address */
    unsigned        bound:1;        /* ip4 is set (first use or pinned) */
} vpnws_guard_state_t;


/* check (and on first use bind) a frame of an ordinary peer */
vpnws_guard_verdict_t vpnws_guard_frame(unsigned guards,
    vpnws_guard_state_t *g, const uint8_t *frame, size_t len);

/* strict dotted quad, exactly len bytes; 0 or -1 */
int vpnws_guard_ip4_parse(const char *s, size_t len, uint8_t ip4[4]);

/* out[VPNWS_GUARD_IP4_LEN] */
void vpnws_guard_ip4_format(const uint8_t ip4[4], char *out);


#endif /* _VPNWS_GUARD_H_INCLUDED_ */
