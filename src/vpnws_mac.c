/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: ethernet MAC address helpers.
 */


#include "vpnws_mac.h"


static int
vpnws_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
vpnws_mac_parse(const char *s, size_t len, uint8_t mac[VPNWS_MAC_LEN])
{
    int     hi, lo;
    char    sep;
    size_t  i;

    if (len != VPNWS_MAC_STR_LEN) {
        return -1;
    }

    sep = s[2];

    if (sep != ':' && sep != '-') {
        return -1;
    }

    for (i = 0; i < VPNWS_MAC_LEN; i++) {

        if (i > 0 && s[i * 3 - 1] != sep) {
            return -1;
        }

        hi = vpnws_hex(s[i * 3]);
        lo = vpnws_hex(s[i * 3 + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        mac[i] = (uint8_t) (hi << 4 | lo);
    }

    return 0;
}


void
vpnws_mac_format(const uint8_t mac[VPNWS_MAC_LEN], char *out)
{
    static const char  hex[] = "0123456789ABCDEF";
    size_t             i;

    for (i = 0; i < VPNWS_MAC_LEN; i++) {
        out[i * 3] = hex[mac[i] >> 4];
        out[i * 3 + 1] = hex[mac[i] & 0x0f];
        out[i * 3 + 2] = (i == VPNWS_MAC_LEN - 1) ? '\0' : ':';
    }
}
