/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: the policy value parsers (rates, dotted quads, flags, user
 * names, the whole upgrade decision) on any bytes.
 */


#include "fuzz.h"
#include "vpnws_policy.h"
#include "vpnws_guard.h"


static void
fuzz_rate(const char *s, size_t size)
{
    const char    *err;
    char           text[VPNWS_RATE_TEXT_LEN];
    vpnws_rate_t   r, back;

    err = NULL;

    if (vpnws_rate_parse(s, size, &r, &err) != 0) {
        fuzz_assert(err != NULL);
        return;
    }

    fuzz_assert(r.rate == 0 || (r.rate >= VPNWS_RATE_MIN
                                && r.rate <= VPNWS_RATE_MAX
                                && r.burst >= VPNWS_RATE_MIN));
    fuzz_assert(r.flood <= VPNWS_FLOOD_MAX);

    fuzz_assert(vpnws_rate_format(&r, text) < VPNWS_RATE_TEXT_LEN);
    fuzz_assert(vpnws_rate_parse(text, strlen(text), &back, &err) == 0);
    fuzz_assert(memcmp(&r, &back, sizeof(r)) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char               *s, text[VPNWS_GUARD_IP4_LEN];
    size_t              cut;
    uint8_t             ip[4], back[4];
    vpnws_policy_t      out;
    vpnws_policy_in_t   in;
    vpnws_policy_rc_t   rc;

    /* exactly size bytes, no NUL: the parsers must respect len */
    s = malloc(size ? size : 1);
    memcpy(s, data, size);

    fuzz_rate(s, size);

    if (vpnws_guard_ip4_parse(s, size, ip) == 0) {
        vpnws_guard_ip4_format(ip, text);
        fuzz_assert(strlen(text) == size && memcmp(text, s, size) == 0);
        fuzz_assert(vpnws_guard_ip4_parse(text, size, back) == 0);
    }

    fuzz_assert(vpnws_policy_flag(s, size) >= -1
                && vpnws_policy_flag(s, size) <= 1);

    if (vpnws_policy_user_valid(s, size) == 0) {
        fuzz_assert(size >= 1 && size <= VPNWS_USER_MAX);
    }

    /* the input split five ways into the decision's values */
    memset(&in, 0, sizeof(in));
    cut = size / 5;
    in.want_bridge = size & 1;
    in.need_user = (size >> 1) & 1;
    in.bridge.data = s;
    in.bridge.len = cut;
    in.pin_mac.data = s + cut;
    in.pin_mac.len = cut;
    in.pin_ip.data = s + 2 * cut;
    in.pin_ip.len = cut;
    in.rate.data = s + 3 * cut;
    in.rate.len = cut;
    in.user.data = s + 4 * cut;
    in.user.len = size - 4 * cut;

    rc = vpnws_policy_decide(&in, &out);

    fuzz_assert(rc < VPNWS_POLICY_MAX);
    fuzz_assert(strcmp(vpnws_policy_reason(rc), "?") != 0);

    if (rc == VPNWS_POLICY_OK) {
        fuzz_assert(!out.bridge || out.granted);
        fuzz_assert(!out.pinned || out.has_mac);
        fuzz_assert(!out.has_mac || !vpnws_mac_is_group(out.mac));
        fuzz_assert(!in.need_user || out.user != NULL);
    }

    free(s);

    return 0;
}
