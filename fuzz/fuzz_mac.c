/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_mac_parse() on any bytes, vpnws_mac_format() of what
 * it accepts.
 */


#include <ctype.h>

#include "fuzz.h"
#include "vpnws_mac.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      rc;
    char    *s, out[VPNWS_MAC_STR_LEN + 1];
    size_t   i;
    uint8_t  mac[VPNWS_MAC_LEN], back[VPNWS_MAC_LEN];

    /* exactly size bytes, no NUL: the parser must respect len */
    s = malloc(size ? size : 1);
    memcpy(s, data, size);

    rc = vpnws_mac_parse(s, size, mac);

    if (rc == 0) {
        fuzz_assert(size == VPNWS_MAC_STR_LEN);
        fuzz_assert(s[2] == ':' || s[2] == '-');

        vpnws_mac_format(mac, out);
        fuzz_assert(strlen(out) == VPNWS_MAC_STR_LEN);

        for (i = 0; i < VPNWS_MAC_STR_LEN; i++) {
            if (i % 3 == 2) {
                fuzz_assert(s[i] == s[2] && out[i] == ':');

            } else {
                fuzz_assert(isxdigit((unsigned char) s[i]));
                fuzz_assert(toupper((unsigned char) s[i]) == out[i]);
            }
        }

        fuzz_assert(vpnws_mac_parse(out, VPNWS_MAC_STR_LEN, back) == 0);
        fuzz_assert(memcmp(mac, back, VPNWS_MAC_LEN) == 0);

    } else {
        fuzz_assert(rc == -1);
    }

    /* any 6 bytes format and parse back */
    if (size >= VPNWS_MAC_LEN) {
        vpnws_mac_format(data, out);
        fuzz_assert(vpnws_mac_parse(out, VPNWS_MAC_STR_LEN, back) == 0);
        fuzz_assert(memcmp(data, back, VPNWS_MAC_LEN) == 0);
    }

    free(s);

    return 0;
}
