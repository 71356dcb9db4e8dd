/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the switching rules (DESIGN.md section 4).
 */


#include <string.h>

#include "vpnws_switch.h"


#define VPNWS_PORT_SPECIAL   (VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP)


static const char  *vpnws_drop_names[VPNWS_DROP_MAX] = {
    "short",
    "src_invalid",
    "spoofed",
    "mac_taken",
    "bridge_limit",
    "table_full",
    "dst_invalid",
    "same_port",
    "broadcast_off",
    "multicast_off",
    "unknown_unicast",
    "isolated",
    "queue_full",
    "ipc_full",
    "flood_limit",
    "bridged_full",
    "dhcp_server",
    "router_adv",
    "arp_spoof",
    "ip_spoof",
    "unparsed",
    "bad_vnet",
    "rate_limit"
};


static const vpnws_drop_t  vpnws_guard_drops[] = {
    VPNWS_DROP_MAX,
    VPNWS_DROP_DHCP_SERVER,
    VPNWS_DROP_ROUTER_ADV,
    VPNWS_DROP_ARP_SPOOF,
    VPNWS_DROP_IP_SPOOF,
    VPNWS_DROP_UNPARSED
};


const char *
vpnws_drop_name(vpnws_drop_t reason)
{
    return (reason < VPNWS_DROP_MAX) ? vpnws_drop_names[reason] : "?";
}


int
vpnws_switch_aged(const vpnws_switch_ctx_t *ctx, const vpnws_mac_entry_t *e)
{
    return (e->flags & VPNWS_ENTRY_LEARNED)
           && ctx->now - e->seen > ctx->conf->mac_aging;
}


static int
vpnws_switch_aged_match(const vpnws_mac_entry_t *e, void *data)
{
    return vpnws_switch_aged(data, e);
}


uint32_t
vpnws_switch_expire(const vpnws_switch_ctx_t *ctx)
{
    return vpnws_mactab_purge(ctx->table, vpnws_switch_aged_match,
                              (void *) ctx);
}


/* an entry another port holds that still counts; expired ones go */
static vpnws_mac_entry_t *
vpnws_switch_lookup(const vpnws_switch_ctx_t *ctx, const uint8_t *mac)
{
    vpnws_mac_entry_t  *e;

    e = vpnws_mactab_find(ctx->table, mac);

    if (e == NULL) {
        return NULL;
    }

    if (vpnws_switch_aged(ctx, e)) {
        vpnws_mactab_remove(ctx->table, e);
        return NULL;
    }

    if (e->gen != ctx->gen) {
        /* an older generation's port: unreachable from here */
        return NULL;
    }

    return e;
}


/*
 * A full table first drops what has aged, then tries once more; the sweep
 * is O(capacity) under the lock, and nothing ages twice within a second.
 */
static vpnws_mac_entry_t *
vpnws_switch_insert(const vpnws_switch_ctx_t *ctx, const uint8_t *mac)
{
    vpnws_mac_entry_t  *e;

    e = vpnws_mactab_insert(ctx->table, mac);

    if (e == NULL && ctx->table->swept != ctx->now) {
        ctx->table->swept = ctx->now;

        if (vpnws_switch_expire(ctx) > 0) {
            e = vpnws_mactab_insert(ctx->table, mac);
        }
    }

    return e;
}


/* a port's own MAC cannot be taken while that port lives */
static int
vpnws_switch_held(const vpnws_switch_ctx_t *ctx, const vpnws_mac_entry_t *e)
{
    return e->gen == ctx->gen
           && !(e->flags & VPNWS_ENTRY_LEARNED)
           && (ctx->alive == NULL || ctx->alive(e));
}


/*
 * Nor can a peer claim a MAC live behind a bridge (a LAN's gateway, say)
 * before it ages; a station moving between bridges is learned at once.
 */
static int
vpnws_switch_claimable(const vpnws_switch_ctx_t *ctx,
    const vpnws_mac_entry_t *e)
{
    if (vpnws_switch_held(ctx, e)) {
        return 0;
    }

    return !(e->gen == ctx->gen && (e->flags & VPNWS_ENTRY_LEARNED)
             && !vpnws_switch_aged(ctx, e));
}


static void
vpnws_switch_set(const vpnws_switch_ctx_t *ctx, vpnws_mac_entry_t *e,
    const vpnws_port_state_t *src, uint16_t flags)
{
    if ((e->flags ^ flags) & VPNWS_ENTRY_LEARNED) {
        ctx->table->learned += (flags & VPNWS_ENTRY_LEARNED) ? 1 : -1;
    }

    e->flags = flags;
    e->port = src->port;
    e->gen = ctx->gen;
    e->seen = ctx->now;
    e->owner = ctx->owner;

    /* cached destinations must see the new owner */
    __atomic_store_n(&ctx->table->version, ctx->table->version + 1,
                     __ATOMIC_RELEASE);
}


void
vpnws_switch_ctx_init(vpnws_switch_ctx_t *ctx,
    const vpnws_switch_conf_t *conf, vpnws_mactab_t *table, uint32_t now)
{
    memset(ctx, 0, sizeof(vpnws_switch_ctx_t));

    ctx->conf = conf;
    ctx->table = table;
    ctx->now = now;
}


int
vpnws_switch_claim(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *mac)
{
    return vpnws_switch_claim_pinned(ctx, src, mac, NULL);
}


/*
 * A pinned port's grant is stronger than a free choice: it takes its MAC
 * from an unpinned port (which the host then closes) or from behind a
 * bridge; only another live pinned port keeps it.
 */
int
vpnws_switch_claim_pinned(const vpnws_switch_ctx_t *ctx,
    vpnws_port_state_t *src, const uint8_t *mac, vpnws_port_t *displaced)
{
    int                 rc;
    vpnws_mac_entry_t  *e;

    rc = 0;
    e = vpnws_mactab_find(ctx->table, mac);

    if (e && e->port.id != src->port.id && !vpnws_switch_claimable(ctx, e)) {

        if (!src->pinned || (e->flags & VPNWS_ENTRY_PINNED)) {
            return -1;
        }

        if (vpnws_switch_held(ctx, e)) {
            if (displaced) {
                *displaced = e->port;
            }

            rc = 1;
        }
    }

    if (e == NULL) {
        e = vpnws_switch_insert(ctx, mac);

        if (e == NULL) {
            return -2;
        }
    }

    vpnws_switch_set(ctx, e, src, src->pinned ? VPNWS_ENTRY_PINNED : 0);

    memcpy(src->mac, mac, VPNWS_MAC_LEN);
    src->has_mac = 1;

    return rc;
}


typedef struct {
    uint64_t                    id;
    uint32_t                    n;
    const vpnws_switch_ctx_t   *ctx;
} vpnws_switch_count_t;


static int
vpnws_switch_count_match(const vpnws_mac_entry_t *e, void *data)
{
    vpnws_switch_count_t  *c = data;

    if (e->port.id != c->id) {
        return 0;
    }

    if (vpnws_switch_aged(c->ctx, e)) {
        return 1;
    }

    c->n++;

    return 0;
}


/*
 * MACs behind bridges and the tap share a cap, so that ordinary peers
 * always find their one entry; aged ones go first.
 */
static int
vpnws_switch_bridged_full(const vpnws_switch_ctx_t *ctx)
{
    uint32_t  cap;

    cap = ctx->conf->bridged_macs;

    if (cap == 0 || ctx->table->learned < cap) {
        return 0;
    }

    if (ctx->table->swept != ctx->now) {
        ctx->table->swept = ctx->now;
        (void) vpnws_switch_expire(ctx);
    }

    return ctx->table->learned >= cap;
}


static void
vpnws_switch_learn(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *mac, vpnws_decision_t *d)
{
    uint32_t               limit;
    vpnws_mac_entry_t     *e;
    vpnws_switch_count_t   c;

    e = vpnws_mactab_find(ctx->table, mac);

    if (e && e->port.id == src->port.id) {
        e->seen = ctx->now;
        return;
    }

    if (e && vpnws_switch_held(ctx, e)) {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_MAC_TAKEN;
        return;
    }

    /* the tap in bridge mode holds the stations of other hosts: its own */
    limit = src->max_macs ? src->max_macs : ctx->conf->bridge_macs;

    if (src->nmacs >= limit) {

        if (ctx->now >= src->recount) {
            /* aged entries of ours may have gone: count again */
            c.id = src->port.id;
            c.n = 0;
            c.ctx = ctx;
            (void) vpnws_mactab_purge(ctx->table, vpnws_switch_count_match,
                                      &c);
            src->nmacs = c.n;
            src->recount = ctx->now + 1;
        }

        if (src->nmacs >= limit) {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_BRIDGE_LIMIT;
            return;
        }
    }

    if ((e == NULL || !(e->flags & VPNWS_ENTRY_LEARNED))
        && vpnws_switch_bridged_full(ctx))
    {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_BRIDGED_FULL;
        return;
    }

    if (e == NULL) {
        e = vpnws_switch_insert(ctx, mac);

        if (e == NULL) {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_TABLE_FULL;
            return;
        }
    }

    /* a new MAC, a stale one, or a station that moved between bridges */
    vpnws_switch_set(ctx, e, src, VPNWS_ENTRY_LEARNED);
    src->nmacs++;
    d->learned = 1;
}


#define vpnws_switch_lock(ctx)                                              \
    if ((ctx)->lock) (ctx)->lock((ctx)->lock_data)
#define vpnws_switch_unlock(ctx)                                            \
    if ((ctx)->unlock) (ctx)->unlock((ctx)->lock_data)


static uint32_t
vpnws_switch_slot(const uint8_t *mac, uint32_t size)
{
    return (uint32_t) (mac[5] ^ mac[4] << 3 ^ mac[3] << 5 ^ mac[2] << 7)
           & (size - 1);
}


/* a bridge port refreshed this source MAC within this second */
static int
vpnws_switch_fresh(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *smac)
{
    uint32_t  i;

    i = vpnws_switch_slot(smac, VPNWS_FRESH);

    return src->fresh_at[i] == ctx->now
           && src->fresh_version[i]
              == __atomic_load_n(&ctx->table->version, __ATOMIC_ACQUIRE)
           && vpnws_mac_eq(src->fresh_mac[i], smac);
}


/* the source step, locked: claim (non-bridge) or learn (bridge) */
static void
vpnws_switch_source(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *smac, vpnws_decision_t *d)
{
    int       rc;
    uint32_t  i;

    if (src->port.flags & VPNWS_PORT_BRIDGE) {
        i = vpnws_switch_slot(smac, VPNWS_FRESH);
        d->action = VPNWS_FWD_UNICAST;
        vpnws_switch_learn(ctx, src, smac, d);

        if (d->action != VPNWS_FWD_DROP) {
            memcpy(src->fresh_mac[i], smac, VPNWS_MAC_LEN);
            src->fresh_at[i] = ctx->now;
            src->fresh_version[i] = ctx->table->version;

            if (!src->has_mac) {
                /* shown as the bridge's MAC, as the original does */
                memcpy(src->mac, smac, VPNWS_MAC_LEN);
                src->has_mac = 1;
            }
        }

        return;
    }

    rc = vpnws_switch_claim(ctx, src, smac);

    if (rc == -1) {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_MAC_TAKEN;

    } else if (rc == -2) {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_TABLE_FULL;

    } else {
        d->learned = 1;
    }
}


/*
 * The destination's port: from the cache without the lock, else from the
 * table under it.  Releases the lock either way.
 */
static int
vpnws_switch_dest(const vpnws_switch_ctx_t *ctx, const uint8_t *dmac,
    int locked, vpnws_port_t *port)
{
    vpnws_mac_entry_t    *e;
    vpnws_cache_entry_t  *c;

    c = NULL;

    if (ctx->cache) {
        c = &ctx->cache->e[vpnws_switch_slot(dmac, VPNWS_CACHE_SIZE)];

        if (!locked
            && c->version
               == __atomic_load_n(&ctx->table->version, __ATOMIC_ACQUIRE)
            && c->until > ctx->now && vpnws_mac_eq(c->mac, dmac))
        {
            *port = c->port;
            return c->found;
        }
    }

    if (!locked) {
        vpnws_switch_lock(ctx);
    }

    e = vpnws_switch_lookup(ctx, dmac);

    if (e) {
        *port = e->port;
    }

    if (c) {
        memcpy(c->mac, dmac, VPNWS_MAC_LEN);
        c->found = e ? 1 : 0;
        c->port = e ? e->port : c->port;
        c->until = ctx->now + 1;
        c->version = ctx->table->version;
    }

    vpnws_switch_unlock(ctx);

    return e ? 1 : 0;
}


static unsigned
vpnws_switch_guards(const vpnws_switch_conf_t *conf)
{
    return (conf->dhcp_guard ? VPNWS_GUARD_DHCP : 0)
           | (conf->ra_guard ? VPNWS_GUARD_RA : 0)
           | (conf->ip_guard ? VPNWS_GUARD_IP : 0);
}


/* ordinary peers only: bridges and the tap carry whole LANs */
static int
vpnws_switch_guard(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *frame, size_t len, vpnws_decision_t *d)
{
    unsigned               guards;
    vpnws_guard_verdict_t  v;

    guards = vpnws_switch_guards(ctx->conf);

    if (guards == 0 || (src->port.flags & VPNWS_PORT_SPECIAL)) {
        return 0;
    }

    v = vpnws_guard_frame(guards, &src->guard, frame, len);

    if (v == VPNWS_GUARD_PASS) {
        return 0;
    }

    d->action = VPNWS_FWD_DROP;
    d->reason = vpnws_guard_drops[v];

    return -1;
}


static void
vpnws_switch_flood_limit(const vpnws_switch_ctx_t *ctx,
    vpnws_port_state_t *src, vpnws_decision_t *d)
{
    if (src->limit.conf.flood
        && vpnws_limit_flood(&src->limit, ctx->msec) != 0)
    {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_FLOOD_LIMIT;
    }
}


void
vpnws_switch_frame(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *frame, size_t len, vpnws_decision_t *d)
{
    int              found, locked;
    uint32_t         bridges;
    const uint8_t   *dmac, *smac;
    vpnws_port_t     dst;

    d->action = VPNWS_FWD_DROP;
    d->learned = 0;
    d->log_taken = 0;

    /* it sends: its tap is up */
    src->port.flags &= ~VPNWS_PORT_SILENT;

    if (len < VPNWS_ETH_HLEN) {
        d->reason = VPNWS_DROP_SHORT;
        return;
    }

    dmac = frame;
    smac = frame + VPNWS_MAC_LEN;

    if (vpnws_mac_is_zero(smac) || vpnws_mac_is_group(smac)) {
        d->reason = VPNWS_DROP_SRC_INVALID;
        return;
    }

    if (vpnws_mac_is_zero(dmac) || vpnws_mac_eq(dmac, smac)) {
        d->reason = VPNWS_DROP_DST_INVALID;
        return;
    }

    if (!(src->port.flags & VPNWS_PORT_BRIDGE) && src->has_mac
        && !vpnws_mac_eq(smac, src->mac))
    {
        d->reason = VPNWS_DROP_SPOOFED;
        return;
    }

    locked = 0;
    d->action = VPNWS_FWD_UNICAST;

    if ((src->port.flags & VPNWS_PORT_BRIDGE)
        ? !vpnws_switch_fresh(ctx, src, smac) : !src->has_mac)
    {
        vpnws_switch_lock(ctx);
        locked = 1;

        vpnws_switch_source(ctx, src, smac, d);

        if (d->action == VPNWS_FWD_DROP) {
            vpnws_switch_unlock(ctx);

            if (d->reason == VPNWS_DROP_MAC_TAKEN && !src->taken_logged) {
                src->taken_logged = 1;
                d->log_taken = 1;
            }

            return;
        }
    }

    if (vpnws_switch_guard(ctx, src, frame, len, d) != 0) {

        if (locked) {
            vpnws_switch_unlock(ctx);
        }

        return;
    }

    if (vpnws_mac_is_group(dmac)) {

        if (locked) {
            vpnws_switch_unlock(ctx);
        }

        if (vpnws_mac_is_broadcast(dmac) ? !ctx->conf->broadcast
                                         : !ctx->conf->multicast)
        {
            d->action = VPNWS_FWD_DROP;
            d->reason = vpnws_mac_is_broadcast(dmac) ? VPNWS_DROP_BROADCAST
                                                     : VPNWS_DROP_MULTICAST;
            return;
        }

        d->action = VPNWS_FWD_FLOOD;
        vpnws_switch_flood_limit(ctx, src, d);
        return;
    }

    found = vpnws_switch_dest(ctx, dmac, locked, &dst);

    if (found) {

        if (dst.id == src->port.id) {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_SAME_PORT;
            return;
        }

        if (ctx->conf->isolation
            && !(src->port.flags & VPNWS_PORT_SPECIAL)
            && !(dst.flags & VPNWS_PORT_SPECIAL))
        {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_ISOLATED;
            return;
        }

        d->action = VPNWS_FWD_UNICAST;
        d->dst = dst;
        return;
    }

    bridges = ctx->bridges;

    if ((src->port.flags & VPNWS_PORT_BRIDGE) && bridges > 0) {
        bridges--;
    }

    if (bridges == 0) {
        d->action = VPNWS_FWD_DROP;
        d->reason = VPNWS_DROP_UNKNOWN;
        return;
    }

    d->action = VPNWS_FWD_BRIDGES;
    vpnws_switch_flood_limit(ctx, src, d);
}


int
vpnws_switch_to(const vpnws_switch_conf_t *conf, const vpnws_port_t *src,
    vpnws_fwd_t action, const vpnws_port_t *dst)
{
    if (dst->id == src->id || (dst->flags & VPNWS_PORT_SILENT)) {
        return 0;
    }

    if (action == VPNWS_FWD_BRIDGES && !(dst->flags & VPNWS_PORT_BRIDGE)) {
        return 0;
    }

    if (conf->isolation
        && !(src->flags & VPNWS_PORT_SPECIAL)
        && !(dst->flags & VPNWS_PORT_SPECIAL))
    {
        return 0;
    }

    return 1;
}


void
vpnws_switch_join(vpnws_port_state_t *src, int ready)
{
    if (!ready) {
        src->port.flags |= VPNWS_PORT_SILENT;
    }
}


static int
vpnws_switch_gone_match(const vpnws_mac_entry_t *e, void *data)
{
    return e->port.id == *(uint64_t *) data;
}


void
vpnws_switch_port_gone(const vpnws_switch_ctx_t *ctx,
    const vpnws_port_state_t *src)
{
    uint64_t            id;
    vpnws_mac_entry_t  *e;

    if (src->port.flags & VPNWS_PORT_BRIDGE) {
        id = src->port.id;
        (void) vpnws_mactab_purge(ctx->table, vpnws_switch_gone_match, &id);
        return;
    }

    if (src->has_mac) {
        e = vpnws_mactab_find(ctx->table, src->mac);

        if (e && e->port.id == src->port.id) {
            vpnws_mactab_remove(ctx->table, e);
        }
    }
}


/* RARP (RFC 903): ethernet, IPv4, a reverse request "who is this MAC" */
static const uint8_t  vpnws_rarp[] = {
    0x80, 0x35, 0x00, 0x01, 0x08, 0x00, VPNWS_MAC_LEN, 4, 0x00, 0x03
};


size_t
vpnws_switch_announce(const vpnws_port_state_t *src, uint16_t tap_flags,
    uint8_t *frame)
{
    uint8_t  *p;

    if (!(tap_flags & VPNWS_PORT_BRIDGE)
        || (src->port.flags & VPNWS_PORT_SPECIAL) || !src->has_mac)
    {
        return 0;
    }

    memset(frame, 0, VPNWS_ANNOUNCE_LEN);
    memset(frame, 0xff, VPNWS_MAC_LEN);
    memcpy(frame + VPNWS_MAC_LEN, src->mac, VPNWS_MAC_LEN);

    p = frame + 2 * VPNWS_MAC_LEN;
    memcpy(p, vpnws_rarp, sizeof(vpnws_rarp));

    /* sender and target hardware address: the station, no IPv4 addresses */
    p += sizeof(vpnws_rarp);
    memcpy(p, src->mac, VPNWS_MAC_LEN);
    memcpy(p + VPNWS_MAC_LEN + 4, src->mac, VPNWS_MAC_LEN);

    return VPNWS_ANNOUNCE_LEN;
}


void
vpnws_switch_conf_default(vpnws_switch_conf_t *conf)
{
    memset(conf, 0, sizeof(vpnws_switch_conf_t));

    conf->max_frame = VPNWS_DEFAULT_FRAME;
    conf->bridge_macs = VPNWS_DEFAULT_BRIDGE_MACS;
    conf->mac_aging = VPNWS_DEFAULT_MAC_AGING;
    conf->bridged_macs = VPNWS_BRIDGED_DEFAULT;
    conf->broadcast = 1;
    conf->multicast = 1;
}


int
vpnws_switch_conf_finish(vpnws_switch_conf_t *conf, uint32_t peers,
    uint32_t macs, unsigned guards, unsigned set)
{
    uint32_t  room;
    unsigned  on;

    room = macs > peers ? macs - peers : 0;

    if (conf->bridged_macs == VPNWS_BRIDGED_DEFAULT) {
        conf->bridged_macs = room ? room : 1;

    } else if (conf->bridged_macs > room) {
        return -1;
    }

    /* isolation (gateway mode) guards the peers from each other */
    on = conf->isolation ? VPNWS_GUARD_DHCP | VPNWS_GUARD_RA | VPNWS_GUARD_IP
                         : 0;
    on = (on & ~set) | (guards & set);

    conf->dhcp_guard = (on & VPNWS_GUARD_DHCP) ? 1 : 0;
    conf->ra_guard = (on & VPNWS_GUARD_RA) ? 1 : 0;
    conf->ip_guard = (on & VPNWS_GUARD_IP) ? 1 : 0;

    return 0;
}


uint32_t
vpnws_switch_tap_macs(const vpnws_switch_conf_t *conf, uint32_t peers,
    uint32_t macs)
{
    uint32_t  room;

    room = macs > peers ? macs - peers : 0;

    return room > conf->bridge_macs ? room : conf->bridge_macs;
}


uint32_t
vpnws_switch_default_macs(uint32_t peers)
{
    uint64_t  n;

    n = (uint64_t) peers * VPNWS_MACS_PER_PEER;

    if (n < VPNWS_MIN_MACS) {
        return VPNWS_MIN_MACS;
    }

    return n > UINT32_MAX ? UINT32_MAX : (uint32_t) n;
}
