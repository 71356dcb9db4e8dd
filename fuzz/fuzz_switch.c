/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: the switch driven by a sequence of operations from a few
 * ports on a small table: frames, X-vpn-ws-MAC claims, ports leaving and
 * coming back, time passing, reloads (generations), expiry sweeps.
 * Invariants after every step: the table is consistent and never holds
 * more than its capacity, every entry belongs to a live port, a non-bridge
 * port owns at most one MAC, a bridge at most bridge_macs, a peer never
 * takes over a MAC live behind a bridge; decisions obey the rules; the
 * table changes only under the lock, which is released.
 */


#include "fuzz.h"
#include "vpnws_switch.h"


#define NPORTS  6
#define NMACS   12


typedef struct {
    vpnws_port_state_t   st;
    uint32_t             gen;
    int                  sent;
} port_t;


typedef struct {
    vpnws_switch_conf_t    conf;
    vpnws_mactab_t         tab;
    int                    use_cache;
    port_t                 ports[NPORTS];
    uint64_t               next_id;
    uint32_t               gen;
    uint32_t               now;
    int                    depth;
    uint64_t               version;
    uint8_t                macs[NMACS][6];
    /* last: cleared only for inputs that use it (20 KiB a run) */
    vpnws_switch_cache_t   cache[2];    /* one per generation parity */
} sw_t;


static void
sw_lock(void *data)
{
    sw_t  *s = data;

    fuzz_assert(s->depth == 0);
    fuzz_assert(s->tab.version == s->version);
    s->depth++;
}


static void
sw_unlock(void *data)
{
    sw_t  *s = data;

    fuzz_assert(s->depth == 1);
    s->depth--;
    s->version = s->tab.version;
}


static FUZZ_CHECKER uint32_t
bridges(const sw_t *s)
{
    uint32_t  i, n;

    n = 0;

    for (i = 0; i < NPORTS; i++) {
        n += (s->ports[i].st.port.flags & VPNWS_PORT_BRIDGE) ? 1 : 0;
    }

    return n;
}


static FUZZ_CHECKER void
ctx_for(sw_t *s, const port_t *p, vpnws_switch_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->conf = &s->conf;
    ctx->table = &s->tab;
    ctx->now = s->now;
    ctx->gen = p->gen;
    ctx->owner = 1000 + (int32_t) p->st.port.worker;
    ctx->bridges = bridges(s);
    ctx->alive = NULL;
    ctx->lock = sw_lock;
    ctx->unlock = sw_unlock;
    ctx->lock_data = s;
    ctx->cache = s->use_cache ? &s->cache[p->gen & 1] : NULL;
}


static void
port_new(sw_t *s, int i, unsigned kind)
{
    port_t  *p = &s->ports[i];

    memset(p, 0, sizeof(*p));
    p->st.port.id = s->next_id++;
    p->st.port.slot = (uint32_t) i;
    p->st.port.worker = (uint16_t) (kind >> 2 & 3);
    p->st.port.flags = (kind & 3) == 0 ? VPNWS_PORT_BRIDGE
                       : (kind & 3) == 1 ? VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP
                       : 0;
    p->gen = s->gen;
}


static FUZZ_CHECKER const port_t *
port_by_id(const sw_t *s, uint64_t id)
{
    int  i;

    for (i = 0; i < NPORTS; i++) {
        if (s->ports[i].st.port.id == id) {
            return &s->ports[i];
        }
    }

    return NULL;
}


static FUZZ_CHECKER void
check_table(const sw_t *s)
{
    uint32_t                  i, b, n, steps, learned, own[NPORTS];
    const port_t             *p;
    const vpnws_mactab_t     *t = &s->tab;
    const vpnws_mac_entry_t  *e;

    fuzz_assert(t->count <= t->capacity);

    n = 0;

    for (b = 0; b < t->nbuckets; b++) {
        steps = 0;

        for (i = t->buckets[b]; i; i = t->entries[i - 1].next) {
            fuzz_assert(i <= t->capacity && ++steps <= t->capacity);
            n++;
        }
    }

    fuzz_assert(n == t->count);

    memset(own, 0, sizeof(own));
    learned = 0;

    for (i = 0; i < t->capacity; i++) {
        e = &t->entries[i];

        if (e->port.id == 0) {
            continue;
        }

        learned += (e->flags & VPNWS_ENTRY_LEARNED) ? 1 : 0;

        p = port_by_id(s, e->port.id);
        fuzz_assert(p != NULL);
        fuzz_assert(vpnws_mactab_find((vpnws_mactab_t *) t, e->mac) == e);
        fuzz_assert(!vpnws_mac_is_zero(e->mac) && !vpnws_mac_is_group(e->mac));
        own[p->st.port.slot]++;

        if (!(p->st.port.flags & VPNWS_PORT_BRIDGE)) {
            fuzz_assert(p->st.has_mac && vpnws_mac_eq(e->mac, p->st.mac));
        }
    }

    /* the count the bridges' cap reads, and the cap itself */
    fuzz_assert(learned == t->learned);
    fuzz_assert(s->conf.bridged_macs == 0 || learned <= s->conf.bridged_macs);

    for (i = 0; i < NPORTS; i++) {
        if (s->ports[i].st.port.flags & VPNWS_PORT_BRIDGE) {
            fuzz_assert(own[i] <= s->conf.bridge_macs);

        } else {
            fuzz_assert(own[i] <= 1);
        }
    }
}


/* a MAC live behind a bridge of p's generation: the bridge's id, or 0 */
static FUZZ_CHECKER uint64_t
live_learned(sw_t *s, const port_t *p, const uint8_t *mac)
{
    vpnws_mac_entry_t  *e;

    e = vpnws_mactab_find(&s->tab, mac);

    if (e == NULL || !(e->flags & VPNWS_ENTRY_LEARNED) || e->gen != p->gen
        || s->now - e->seen > s->conf.mac_aging)
    {
        return 0;
    }

    return e->port.id;
}


/* a peer never takes a MAC live behind a bridge over */
static FUZZ_CHECKER void
check_not_hijacked(sw_t *s, const port_t *p, const uint8_t *mac,
    uint64_t owner)
{
    vpnws_mac_entry_t  *e;

    if (owner == 0 || (p->st.port.flags & VPNWS_PORT_BRIDGE)) {
        return;
    }

    e = vpnws_mactab_find(&s->tab, mac);
    fuzz_assert(e != NULL && e->port.id == owner);
    fuzz_assert(!p->st.has_mac || !vpnws_mac_eq(p->st.mac, mac));
}


static void
do_frame(sw_t *s, port_t *p, const uint8_t *dst, const uint8_t *src,
    size_t len)
{
    uint64_t             owner;
    uint8_t              frame[60];
    const port_t        *q;
    vpnws_decision_t     d;
    vpnws_switch_ctx_t   ctx;

    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = 0x86;
    frame[13] = 0xdd;
    memset(frame + 14, 0, sizeof(frame) - 14);

    ctx_for(s, p, &ctx);
    s->version = s->tab.version;
    memset(&d, 0x5a, sizeof(d));
    owner = p->st.has_mac ? 0 : live_learned(s, p, src);

    vpnws_switch_frame(&ctx, &p->st, frame, len, &d);
    p->sent = 1;

    check_not_hijacked(s, p, src, owner);

    fuzz_assert(s->depth == 0 && s->tab.version == s->version);

    switch (d.action) {

    case VPNWS_FWD_DROP:
        fuzz_assert(d.reason < VPNWS_DROP_MAX);
        return;

    case VPNWS_FWD_UNICAST:
        fuzz_assert(!vpnws_mac_is_group(dst));
        fuzz_assert(d.dst.id != p->st.port.id);
        q = port_by_id(s, d.dst.id);
        fuzz_assert(q != NULL);
        fuzz_assert(memcmp(&d.dst, &q->st.port, sizeof(d.dst)) == 0);

        if (s->conf.isolation && !(p->st.port.flags & 3)) {
            fuzz_assert(d.dst.flags & 3);
        }

        break;

    case VPNWS_FWD_FLOOD:
        fuzz_assert(vpnws_mac_is_group(dst));
        fuzz_assert(vpnws_mac_is_broadcast(dst) ? s->conf.broadcast
                                                : s->conf.multicast);
        break;

    case VPNWS_FWD_BRIDGES:
        fuzz_assert(!vpnws_mac_is_group(dst));
        fuzz_assert(bridges(s)
                    > ((p->st.port.flags & VPNWS_PORT_BRIDGE) ? 1 : 0));
        break;

    default:
        fuzz_assert(0);
    }

    /* forwarded: the frame was at least a header, with valid addresses */
    fuzz_assert(len >= VPNWS_ETH_HLEN);
    fuzz_assert(!vpnws_mac_is_zero(src) && !vpnws_mac_is_group(src));
    fuzz_assert(!vpnws_mac_is_zero(dst) && !vpnws_mac_eq(src, dst));

    if (!(p->st.port.flags & VPNWS_PORT_BRIDGE)) {
        fuzz_assert(p->st.has_mac && vpnws_mac_eq(p->st.mac, src));
    }
}


static sw_t  sw;      /* one switch, reset per input */


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  i, rc;
    sw_t                *s;
    void                *mem;
    port_t              *p;
    uint8_t              op, flags;
    uint32_t             cap, k;
    uint64_t             owner;
    fuzz_in_t            in;
    vpnws_switch_ctx_t   ctx;

    in.p = data;
    in.n = size;

    s = &sw;
    memset(s, 0, offsetof(sw_t, cache));

    flags = fuzz_u8(&in);
    s->conf.isolation = flags & 1;
    s->conf.broadcast = !(flags & 2);
    s->conf.multicast = !(flags & 4);
    s->use_cache = (flags & 8) != 0;

    if (s->use_cache) {
        memset(s->cache, 0, sizeof(s->cache));
    }

    s->conf.max_frame = 1514;
    cap = 1 + fuzz_u8(&in) % 16;
    s->conf.bridge_macs = fuzz_u8(&in) % 6;
    s->conf.mac_aging = fuzz_u8(&in) % 8;
    k = fuzz_u8(&in);
    s->conf.bridged_macs = k % 8;           /* 0: no cap */
    s->conf.dhcp_guard = (k >> 3) & 1;
    s->conf.ra_guard = (k >> 4) & 1;
    s->conf.ip_guard = (k >> 5) & 1;

    mem = malloc(vpnws_mactab_size(cap));
    vpnws_mactab_init(&s->tab, mem, cap, (uint64_t) flags * 0x9e3779b97f4a7c15ULL);
    s->version = s->tab.version;

    /* ids are 64 bits: from just below 2^32, 32-bit truncation collides */
    s->next_id = 0xfffffffeULL;
    s->gen = 1;
    s->now = 100;

    for (i = 0; i < NPORTS; i++) {
        port_new(s, i, fuzz_u8(&in));
    }

    memset(s->macs[1], 0xff, 6);
    memcpy(s->macs[2], "\x01\x00\x5e\x00\x00\x01", 6);
    memcpy(s->macs[3], "\x33\x33\x00\x00\x00\x01", 6);

    for (i = 4; i < NMACS; i++) {
        memcpy(s->macs[i], "\x02\x00\x00\x00\x00", 5);
        s->macs[i][5] = (uint8_t) i;
    }

    while (in.n) {
        op = fuzz_u8(&in);
        p = &s->ports[fuzz_u8(&in) % NPORTS];

        switch (op % 8) {

        case 0: case 1: case 2: case 3:
            k = fuzz_u8(&in);
            do_frame(s, p, s->macs[k % NMACS], s->macs[(k >> 4) % NMACS],
                     (op & 0x80) ? (size_t) (op >> 3 & 15) : 60);
            break;

        case 4:
            /* X-vpn-ws-MAC: before any frame, unicast, non-bridge */
            k = 4 + fuzz_u8(&in) % (NMACS - 4);

            if (p->sent || p->st.has_mac
                || (p->st.port.flags & VPNWS_PORT_BRIDGE))
            {
                break;
            }

            ctx_for(s, p, &ctx);
            owner = live_learned(s, p, s->macs[k]);
            rc = vpnws_switch_claim(&ctx, &p->st, s->macs[k]);
            fuzz_assert(rc == 0 || rc == -1 || rc == -2);
            fuzz_assert((rc == 0) == (p->st.has_mac != 0));
            check_not_hijacked(s, p, s->macs[k], owner);
            break;

        case 5:
            ctx_for(s, p, &ctx);
            vpnws_switch_port_gone(&ctx, &p->st);
            port_new(s, (int) p->st.port.slot, fuzz_u8(&in));
            break;

        case 6:
            s->now += fuzz_u8(&in) % 8;
            break;

        case 7:
            if (op & 0x10) {
                s->gen++;
                p->gen = s->gen;

            } else {
                ctx_for(s, p, &ctx);
                (void) vpnws_switch_expire(&ctx);
            }

            break;
        }

        s->version = s->tab.version;
        check_table(s);
    }

    free(mem);

    return 0;
}
