/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: frame guards for ordinary (non-bridge) peers.
 */


#include <stdio.h>
#include <string.h>

#include "vpnws_guard.h"


#define VPNWS_ETH_P_IP          0x0800
#define VPNWS_ETH_P_ARP         0x0806
#define VPNWS_ETH_P_IPV6        0x86dd
#define VPNWS_ETH_P_8021Q       0x8100
#define VPNWS_ETH_P_8021AD      0x88a8

#define VPNWS_GUARD_TAGS        2       /* QinQ; deeper: unparsed */
#define VPNWS_GUARD_EXT_HDRS    8       /* IPv6 extension headers followed */

#define VPNWS_IPPROTO_UDP       17
#define VPNWS_IPPROTO_ICMPV6    58


static uint16_t
vpnws_guard_u16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}


/* a UDP datagram from sport to dport at p[0..len)? */
static int
vpnws_guard_udp(const uint8_t *p, size_t len, uint16_t sport, uint16_t dport)
{
    return len >= 4 && vpnws_guard_u16(p) == sport
           && vpnws_guard_u16(p + 2) == dport;
}


static vpnws_guard_verdict_t
vpnws_guard_source(unsigned guards, vpnws_guard_state_t *g,
    const uint8_t *ip4, vpnws_guard_verdict_t spoof)
{
    if (!(guards & VPNWS_GUARD_IP)) {
        return VPNWS_GUARD_PASS;
    }

    if ((ip4[0] | ip4[1] | ip4[2] | ip4[3]) == 0) {
        /* DHCP discovery and ARP probes come from 0.0.0.0 */
        return VPNWS_GUARD_PASS;
    }

    if (!g->bound) {
        memcpy(g->ip4, ip4, 4);
        g->bound = 1;
        return VPNWS_GUARD_PASS;
    }

    return memcmp(g->ip4, ip4, 4) == 0 ? VPNWS_GUARD_PASS : spoof;
}


static vpnws_guard_verdict_t
vpnws_guard_arp(unsigned guards, vpnws_guard_state_t *g, const uint8_t *src,
    const uint8_t *p, size_t len)
{
    if (!(guards & VPNWS_GUARD_IP)) {
        return VPNWS_GUARD_PASS;
    }

    /*
     * htype 1, ptype IPv4, hlen 6, plen 4, oper, sha, spa, tha, tpa;
     * anything else no host takes for ARP about IPv4 (junk passes)
     */
    if (len < 28 || vpnws_guard_u16(p) != 1
        || vpnws_guard_u16(p + 2) != VPNWS_ETH_P_IP || p[4] != 6 || p[5] != 4)
    {
        return VPNWS_GUARD_PASS;
    }

    if (memcmp(p + 8, src, 6) != 0) {
        return VPNWS_GUARD_ARP_SPOOF;
    }

    return vpnws_guard_source(guards, g, p + 14, VPNWS_GUARD_ARP_SPOOF);
}


static vpnws_guard_verdict_t
vpnws_guard_ip4(unsigned guards, vpnws_guard_state_t *g, const uint8_t *p,
    size_t len)
{
    size_t                 hlen;
    vpnws_guard_verdict_t  v;

    /* a header no IPv4 stack accepts is junk, not a threat: it passes */
    if (len < 20 || (p[0] >> 4) != 4) {
        return VPNWS_GUARD_PASS;
    }

    hlen = (size_t) (p[0] & 0x0f) * 4;

    if (hlen < 20 || hlen > len) {
        return VPNWS_GUARD_PASS;
    }

    v = vpnws_guard_source(guards, g, p + 12, VPNWS_GUARD_IP_SPOOF);

    if (v != VPNWS_GUARD_PASS) {
        return v;
    }

    /* later fragments carry no UDP header; the first one is checked */
    if ((guards & VPNWS_GUARD_DHCP) && p[9] == VPNWS_IPPROTO_UDP
        && (vpnws_guard_u16(p + 6) & 0x1fff) == 0
        && vpnws_guard_udp(p + hlen, len - hlen, 67, 68))
    {
        return VPNWS_GUARD_DHCP_SERVER;
    }

    return VPNWS_GUARD_PASS;
}


/*
 * Follow the extension headers to the upper layer; a first fragment must
 * hold the whole chain (RFC 7112), or the guard could not see the RA.
 */
static vpnws_guard_verdict_t
vpnws_guard_ip6(unsigned guards, const uint8_t *p, size_t len)
{
    size_t    off, hlen;
    uint8_t   next;
    unsigned  n;

    if (!(guards & (VPNWS_GUARD_DHCP | VPNWS_GUARD_RA))) {
        return VPNWS_GUARD_PASS;
    }

    if (len < 40 || (p[0] >> 4) != 6) {
        /* no IPv6 stack takes it */
        return VPNWS_GUARD_PASS;
    }

    next = p[6];
    off = 40;

    for (n = 0; /* void */ ; n++) {

        switch (next) {

        case 0:     /* hop-by-hop options */
        case 43:    /* routing */
        case 60:    /* destination options */
        case 51:    /* authentication header */
        case 44:    /* fragment */

            if (n == VPNWS_GUARD_EXT_HDRS || len - off < 8) {
                return VPNWS_GUARD_UNPARSED;
            }

            if (next == 44) {
                if ((vpnws_guard_u16(p + off + 2) & 0xfff8) != 0) {
                    /* a later fragment: its first one was checked */
                    return VPNWS_GUARD_PASS;
                }

                hlen = 8;

            } else if (next == 51) {
                hlen = ((size_t) p[off + 1] + 2) * 4;

            } else {
                hlen = ((size_t) p[off + 1] + 1) * 8;
            }

            if (hlen > len - off) {
                return VPNWS_GUARD_UNPARSED;
            }

            next = p[off];
            off += hlen;
            continue;

        case VPNWS_IPPROTO_ICMPV6:

            if (len - off < 1) {
                return VPNWS_GUARD_UNPARSED;
            }

            return ((guards & VPNWS_GUARD_RA) && p[off] == 134)
                   ? VPNWS_GUARD_ROUTER_ADV : VPNWS_GUARD_PASS;

        case VPNWS_IPPROTO_UDP:

            if (len - off < 4) {
                return VPNWS_GUARD_UNPARSED;
            }

            return ((guards & VPNWS_GUARD_DHCP)
                    && vpnws_guard_udp(p + off, len - off, 547, 546))
                   ? VPNWS_GUARD_DHCP_SERVER : VPNWS_GUARD_PASS;

        default:
            /* TCP, ESP, no next header...: nothing guarded inside */
            return VPNWS_GUARD_PASS;
        }
    }
}


vpnws_guard_verdict_t
vpnws_guard_frame(unsigned guards, vpnws_guard_state_t *g,
    const uint8_t *frame, size_t len)
{
    size_t    off;
    uint16_t  type;
    unsigned  tags;

    if (guards == 0 || len < 14) {
        return VPNWS_GUARD_PASS;
    }

    off = 12;
    type = vpnws_guard_u16(frame + off);

    for (tags = 0;
         type == VPNWS_ETH_P_8021Q || type == VPNWS_ETH_P_8021AD;
         tags++)
    {
        if (tags == VPNWS_GUARD_TAGS || len - off < 6) {
            return VPNWS_GUARD_UNPARSED;
        }

        off += 4;
        type = vpnws_guard_u16(frame + off);
    }

    off += 2;

    switch (type) {

    case VPNWS_ETH_P_ARP:
        return vpnws_guard_arp(guards, g, frame + 6, frame + off, len - off);

    case VPNWS_ETH_P_IP:
        return vpnws_guard_ip4(guards, g, frame + off, len - off);

    case VPNWS_ETH_P_IPV6:
        return vpnws_guard_ip6(guards, frame + off, len - off);

    default:
        return VPNWS_GUARD_PASS;
    }
}


int
vpnws_guard_ip4_parse(const char *s, size_t len, uint8_t ip4[4])
{
    size_t    i;
    unsigned  part, n, digits;

    part = 0;
    n = 0;
    digits = 0;

    for (i = 0; i <= len; i++) {

        if (i == len || s[i] == '.') {
            if (digits == 0 || part == 4 || (i == len) != (part == 3)) {
                return -1;
            }

            ip4[part++] = (uint8_t) n;
            n = 0;
            digits = 0;
            continue;
        }

        if (s[i] < '0' || s[i] > '9' || digits == 3
            || (digits == 1 && n == 0))
        {
            return -1;
        }

        n = n * 10 + (unsigned) (s[i] - '0');
        digits++;

        if (n > 255) {
            return -1;
        }
    }

    return 0;
}


void
vpnws_guard_ip4_format(const uint8_t ip4[4], char *out)
{
    (void) sprintf(out, "%u.%u.%u.%u", ip4[0], ip4[1], ip4[2], ip4[3]);
}
