/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: several server URLs, which one to try next, and how long
 * to wait before it.
 *
 * Every failure (a refused attempt or a lost session) moves on to another
 * server, so losing a host costs one reconnect.  A round tries each server
 * once; the backoff grows with the rounds that failed, not with the
 * attempts, so with one URL it is the same as it always was.  In random
 * order each round visits the servers in a new order, never starting with
 * the one that just failed (unless it is the only one).
 */


#include <string.h>

#include "vpnws_client.h"


void
vpnws_servers_start(vpnws_servers_t *s, unsigned n, unsigned random)
{
    uint32_t  r;

    memset(s, 0, sizeof(vpnws_servers_t));

    s->n = n;
    s->random = random;

    if (random && n > 1) {
        vpnws_random(&r, sizeof(r));
        s->current = r % n;
    }
}


/* a server not tried in this round and not "avoid", at random */
static unsigned
vpnws_servers_pick(vpnws_servers_t *s, uint32_t avoid)
{
    unsigned  i, k, left;
    uint32_t  r, skip;

    skip = s->tried | avoid;
    left = 0;

    for (i = 0; i < s->n; i++) {
        left += !(skip & (1u << i));
    }

    vpnws_random(&r, sizeof(r));
    k = r % left;

    for (i = 0; i < s->n; i++) {

        if (skip & (1u << i)) {
            continue;
        }

        if (k-- == 0) {
            break;
        }
    }

    return i;
}


unsigned
vpnws_servers_failed(vpnws_servers_t *s, int stable)
{
    uint32_t  all, avoid;

    if (stable) {
        /* a session that lasted: start over, without backoff history */
        s->failures = 0;
        s->tried = 0;
    }

    s->failures++;
    s->tried |= 1u << s->current;
    avoid = 0;

    all = (s->n >= 32) ? 0xffffffff : (1u << s->n) - 1;

    if ((s->tried & all) == all) {
        /* a round is over: the next one starts elsewhere (if it can) */
        s->tried = 0;
        avoid = (s->n > 1) ? 1u << s->current : 0;
    }

    if (s->random) {
        s->current = vpnws_servers_pick(s, avoid);

    } else {
        s->current = (s->current + 1) % s->n;
    }

    /* the backoff step: 1 in the first round, 2 in the second, ... */
    return (s->failures - 1) / s->n + 1;
}
