/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: the frame guards on any frame; the input is the frame, its
 * first byte picks the guards and the bound address.
 */


#include "fuzz.h"
#include "vpnws_guard.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t                *frame;
    unsigned                guards;
    vpnws_guard_state_t     g, before;
    vpnws_guard_verdict_t   v;

    if (size == 0) {
        return 0;
    }

    guards = data[0] & 7;

    memset(&g, 0, sizeof(g));

    if (data[0] & 8) {
        g.bound = 1;
        g.ip4[0] = 10;
        g.ip4[3] = 2;
    }

    /* exactly the frame's bytes: ASan sees any read past it */
    frame = malloc(size - 1 ? size - 1 : 1);
    memcpy(frame, data + 1, size - 1);

    before = g;
    v = vpnws_guard_frame(guards, &g, frame, size - 1);

    fuzz_assert(v <= VPNWS_GUARD_UNPARSED);
    fuzz_assert(guards != 0 || v == VPNWS_GUARD_PASS);
    fuzz_assert(!before.bound || memcmp(&before, &g, sizeof(g)) == 0);
    fuzz_assert((guards & VPNWS_GUARD_IP) || !g.bound || before.bound);

    /* the verdict for a frame does not change once bound to its source */
    if (v == VPNWS_GUARD_PASS) {
        before = g;
        fuzz_assert(vpnws_guard_frame(guards, &g, frame, size - 1)
                    == VPNWS_GUARD_PASS);
        fuzz_assert(memcmp(&before, &g, sizeof(g)) == 0);
    }

    free(frame);

    return 0;
}
