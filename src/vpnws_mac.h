/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: ethernet MAC address helpers.
 */

#ifndef _VPNWS_MAC_H_INCLUDED_
#define _VPNWS_MAC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define VPNWS_MAC_LEN        6
#define VPNWS_MAC_STR_LEN    17          /* "aa:bb:cc:dd:ee:ff" */
#define VPNWS_ETH_HLEN       14          /* dst + src + ethertype */


/* parse "aa:bb:cc:dd:ee:ff" (or '-' separated), exactly len bytes; 0 or -1 */
int vpnws_mac_parse(const char *s, size_t len, uint8_t mac[VPNWS_MAC_LEN]);

/* write 17 upper-case characters and a NUL into out[18] */
void vpnws_mac_format(const uint8_t mac[VPNWS_MAC_LEN], char *out);


static inline int
vpnws_mac_is_zero(const uint8_t *mac)
{
    return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}


/* the I/G bit: broadcast and every multicast group */
static inline int
vpnws_mac_is_group(const uint8_t *mac)
{
    return mac[0] & 1;
}


static inline int
vpnws_mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}


/* two fixed-size loads each: memcmp() was 4% of a worker's profile */
static inline int
vpnws_mac_eq(const uint8_t *a, const uint8_t *b)
{
    uint16_t  a2, b2;
    uint32_t  a4, b4;

    memcpy(&a4, a, 4);
    memcpy(&b4, b, 4);
    memcpy(&a2, a + 4, 2);
    memcpy(&b2, b + 4, 2);

    return ((a4 ^ b4) | (uint32_t) (a2 ^ b2)) == 0;
}


#endif /* _VPNWS_MAC_H_INCLUDED_ */
