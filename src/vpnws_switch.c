/*
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
    "ipc_full"
};


const char *
vpnws_drop_name(vpnws_drop_t reason)
{
    return (reason < VPNWS_DROP_MAX) ? vpnws_drop_names[reason] : "?";
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

    if ((e->flags & VPNWS_ENTRY_LEARNED)
        && ctx->now - e->seen > ctx->conf->mac_aging)
    {
        vpnws_mactab_remove(ctx->table, e);
        return NULL;
    }

    if (e->gen != ctx->gen) {
        /* an older generation's port: unreachable from here */
        return NULL;
    }

    return e;
}


static int
vpnws_switch_held(const vpnws_switch_ctx_t *ctx, const vpnws_mac_entry_t *e)
{
    /* a port's own MAC cannot be taken while that port lives */
    return e->gen == ctx->gen
           && !(e->flags & VPNWS_ENTRY_LEARNED)
           && (ctx->alive == NULL || ctx->alive(e));
}


static void
vpnws_switch_set(const vpnws_switch_ctx_t *ctx, vpnws_mac_entry_t *e,
    const vpnws_port_state_t *src, uint16_t flags)
{
    e->flags = flags;
    e->port = src->port;
    e->gen = ctx->gen;
    e->seen = ctx->now;
    e->owner = ctx->owner;
}


int
vpnws_switch_claim(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *mac)
{
    vpnws_mac_entry_t  *e;

    e = vpnws_mactab_find(ctx->table, mac);

    if (e && e->port.id != src->port.id && vpnws_switch_held(ctx, e)) {
        return -1;
    }

    if (e == NULL) {
        e = vpnws_mactab_insert(ctx->table, mac);

        if (e == NULL) {
            return -2;
        }
    }

    vpnws_switch_set(ctx, e, src, 0);

    memcpy(src->mac, mac, VPNWS_MAC_LEN);
    src->has_mac = 1;

    return 0;
}


typedef struct {
    uint32_t                    id;
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

    if ((e->flags & VPNWS_ENTRY_LEARNED)
        && c->ctx->now - e->seen > c->ctx->conf->mac_aging)
    {
        return 1;
    }

    c->n++;

    return 0;
}


static void
vpnws_switch_learn(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *mac, vpnws_decision_t *d)
{
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

    if (src->nmacs >= ctx->conf->bridge_macs) {

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

        if (src->nmacs >= ctx->conf->bridge_macs) {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_BRIDGE_LIMIT;
            return;
        }
    }

    if (e == NULL) {
        e = vpnws_mactab_insert(ctx->table, mac);

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


void
vpnws_switch_frame(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *frame, size_t len, vpnws_decision_t *d)
{
    int                 rc;
    uint32_t            bridges;
    const uint8_t      *dmac, *smac;
    vpnws_mac_entry_t  *e;

    d->action = VPNWS_FWD_DROP;
    d->learned = 0;
    d->log_taken = 0;

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

    if (src->port.flags & VPNWS_PORT_BRIDGE) {
        d->action = VPNWS_FWD_UNICAST;
        vpnws_switch_learn(ctx, src, smac, d);

        if (d->action == VPNWS_FWD_DROP) {
            goto taken;
        }

    } else if (src->has_mac) {

        if (!vpnws_mac_eq(smac, src->mac)) {
            d->reason = VPNWS_DROP_SPOOFED;
            return;
        }

    } else {
        rc = vpnws_switch_claim(ctx, src, smac);

        if (rc == -1) {
            d->reason = VPNWS_DROP_MAC_TAKEN;
            goto taken;
        }

        if (rc == -2) {
            d->reason = VPNWS_DROP_TABLE_FULL;
            return;
        }

        d->learned = 1;
    }

    if (vpnws_mac_is_group(dmac)) {

        if (vpnws_mac_is_broadcast(dmac) ? !ctx->conf->broadcast
                                         : !ctx->conf->multicast)
        {
            d->action = VPNWS_FWD_DROP;
            d->reason = vpnws_mac_is_broadcast(dmac) ? VPNWS_DROP_BROADCAST
                                                     : VPNWS_DROP_MULTICAST;
            return;
        }

        d->action = VPNWS_FWD_FLOOD;
        return;
    }

    e = vpnws_switch_lookup(ctx, dmac);

    if (e) {

        if (e->port.id == src->port.id) {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_SAME_PORT;
            return;
        }

        if (ctx->conf->isolation
            && !(src->port.flags & VPNWS_PORT_SPECIAL)
            && !(e->port.flags & VPNWS_PORT_SPECIAL))
        {
            d->action = VPNWS_FWD_DROP;
            d->reason = VPNWS_DROP_ISOLATED;
            return;
        }

        d->action = VPNWS_FWD_UNICAST;
        d->dst = e->port;
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
    return;

taken:

    if (d->reason == VPNWS_DROP_MAC_TAKEN && !src->taken_logged) {
        src->taken_logged = 1;
        d->log_taken = 1;
    }
}


int
vpnws_switch_to(const vpnws_switch_conf_t *conf, const vpnws_port_t *src,
    vpnws_fwd_t action, const vpnws_port_t *dst)
{
    if (dst->id == src->id) {
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


static int
vpnws_switch_gone_match(const vpnws_mac_entry_t *e, void *data)
{
    return e->port.id == *(uint32_t *) data;
}


void
vpnws_switch_port_gone(const vpnws_switch_ctx_t *ctx,
    const vpnws_port_state_t *src)
{
    uint32_t            id;
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
