/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_switch.c (DESIGN.md section 4) and
 * src/vpnws_mactab.c.
 */


#include <time.h>

#include "tap.h"
#include "switch.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))


static uint64_t  rng_state = 0x0123456789abcdefULL;

static uint32_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}


/* ---------------------------------------------------------------------- */
/* addresses */


static const uint8_t  MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t  MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t  MAC_C[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0c };
static const uint8_t  MAC_D[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0d };
static const uint8_t  MAC_E[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0e };
static const uint8_t  MAC_F[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0f };
static const uint8_t  MAC_G[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t  MAC_H[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x11 };
static const uint8_t  MAC_GW[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t  MAC_U[6] = { 0x02, 0x00, 0x00, 0x00, 0x99, 0x99 };
static const uint8_t  ZERO[6] = { 0, 0, 0, 0, 0, 0 };
static const uint8_t  BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t  MCAST4[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t  MCAST6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t  STP[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 };
static const uint8_t  ODD[6] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };


static size_t
mkframe(uint8_t *buf, const uint8_t *dst, const uint8_t *src)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x08;
    buf[13] = 0x00;
    memset(buf + 14, 0x45, 46);

    return 60;
}


/* ---------------------------------------------------------------------- */
/* a switch */


static int32_t  dead_owner = -1;

static int
alive_cb(const vpnws_mac_entry_t *e)
{
    return e->owner != dead_owner;
}


static int  total_lock_errors;

static void
sw_done(sw_t *s)
{
    total_lock_errors += s->lock_errors;
    sw_free(s);
}


static void
sw_send(sw_t *s, vpnws_port_state_t *p, const uint8_t *dst,
    const uint8_t *src, vpnws_decision_t *d)
{
    uint8_t  buf[60];

    memset(d, 0xa5, sizeof(vpnws_decision_t));
    s->version = s->tab.version;
    vpnws_switch_frame(&s->ctx, p, buf, mkframe(buf, dst, src), d);

    if (s->ctx.lock && (s->depth != 0 || s->tab.version != s->version)) {
        diag("lock held after the frame, or table changed unlocked");
        s->lock_errors++;
    }
}


static const char *
action_name(vpnws_fwd_t a)
{
    switch (a) {
    case VPNWS_FWD_DROP: return "DROP";
    case VPNWS_FWD_UNICAST: return "UNICAST";
    case VPNWS_FWD_FLOOD: return "FLOOD";
    case VPNWS_FWD_BRIDGES: return "BRIDGES";
    }

    return "?";
}


/* check a decision: a drop reason, a unicast port id, or just the action */
static int
decision_is(const vpnws_decision_t *d, vpnws_fwd_t action, int reason_or_id,
    const char *name)
{
    int  good;

    good = d->action == action;

    if (good && action == VPNWS_FWD_DROP) {
        good = (int) d->reason == reason_or_id;
    }

    if (good && action == VPNWS_FWD_UNICAST) {
        good = (int) d->dst.id == reason_or_id;
    }

    ok(good, "%s: %s %s", name, action_name(action),
       action == VPNWS_FWD_DROP ? vpnws_drop_name(reason_or_id) : "");

    if (!good) {
        diag("    got %s %s (dst id %llu)", action_name(d->action),
             d->action == VPNWS_FWD_DROP ? vpnws_drop_name(d->reason) : "",
             (unsigned long long) (d->action == VPNWS_FWD_UNICAST
                                   ? d->dst.id : 0));
    }

    return good;
}


/* every entry's port is one we know, a non-bridge port has at most one */
static int
table_sane(const vpnws_mactab_t *t)
{
    uint32_t   i, n, steps, b;

    n = 0;

    for (b = 0; b < t->nbuckets; b++) {
        steps = 0;

        for (i = t->buckets[b]; i; i = t->entries[i - 1].next) {
            if (i > t->capacity || ++steps > t->capacity) {
                diag("bucket %u: bad chain", b);
                return 0;
            }

            n++;
        }
    }

    if (n != t->count || t->count > t->capacity) {
        diag("chains hold %u entries, count says %u", n, t->count);
        return 0;
    }

    n = 0;

    for (i = t->free; i; i = t->entries[i - 1].next) {
        if (i > t->capacity || ++n > t->capacity) {
            diag("bad free list");
            return 0;
        }

        if (t->entries[i - 1].port.id != 0) {
            diag("entry %u on the free list has port %llu", i - 1,
                 (unsigned long long) t->entries[i - 1].port.id);
            return 0;
        }
    }

    if (n + t->count != t->capacity) {
        diag("free %u + used %u != capacity %u", n, t->count, t->capacity);
        return 0;
    }

    return 1;
}


/* ---------------------------------------------------------------------- */
/* the rules, table driven over a fixed topology */


enum { P1, P2, P3, P4, BR, TAP, GW, NPORTS };

static const char  *port_names[NPORTS] = {
    "P1", "P2", "P3", "P4", "BR", "TAP", "GW"
};


/*
 * P1 (A), P2 (B): peers that announced their MAC by sending;
 * P3 (E): a peer that claimed its MAC with X-vpn-ws-MAC;
 * P4: a peer that has not sent anything;
 * BR: a bridge peer behind which C and D live;
 * TAP: the server tap in bridge mode, G behind it.
 */
static void
topology(sw_t *s, vpnws_port_state_t *ports)
{
    int                i;
    vpnws_decision_t   d;

    port_init(&ports[P1], 11, 0);
    port_init(&ports[P2], 12, 0);
    port_init(&ports[P3], 13, 0);
    port_init(&ports[P4], 14, 0);
    port_init(&ports[BR], 21, VPNWS_PORT_BRIDGE);
    port_init(&ports[TAP], 1, VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP);
    port_init(&ports[GW], 2, VPNWS_PORT_TAP);
    s->ctx.bridges = 2;

    sw_send(s, &ports[P1], BCAST, MAC_A, &d);
    sw_send(s, &ports[P2], BCAST, MAC_B, &d);
    (void) vpnws_switch_claim(&s->ctx, &ports[P3], MAC_E);
    sw_send(s, &ports[BR], BCAST, MAC_C, &d);
    sw_send(s, &ports[BR], BCAST, MAC_D, &d);
    sw_send(s, &ports[TAP], BCAST, MAC_G, &d);
    sw_send(s, &ports[GW], BCAST, MAC_GW, &d);

    for (i = 0; i < NPORTS; i++) {
        ports[i].taken_logged = 0;
    }
}


typedef struct {
    const char      *name;
    int              port;
    const uint8_t   *dst;
    const uint8_t   *src;
    size_t           len;           /* 0: a 60-byte frame; LEN0: empty */
    vpnws_fwd_t      action;
    int              arg;           /* drop reason, or unicast port index */
} rule_case_t;


#define LEN0      ((size_t) -1)
#define DROP(r)   VPNWS_FWD_DROP, VPNWS_DROP_##r
#define UNI(p)    VPNWS_FWD_UNICAST, p
#define FLOOD     VPNWS_FWD_FLOOD, 0
#define BRIDGES   VPNWS_FWD_BRIDGES, 0


static const rule_case_t  rules_default[] = {
    /* 1: shorter than an ethernet header */
    { "1: empty frame", P1, MAC_B, MAC_A, LEN0, DROP(SHORT) },
    { "1: 13 bytes", P1, MAC_B, MAC_A, 13, DROP(SHORT) },
    { "1: 14 bytes (header only) pass", P1, MAC_B, MAC_A, 14, UNI(P2) },

    /* 2: source validity and ownership */
    { "2: source zero", P1, MAC_B, ZERO, 0, DROP(SRC_INVALID) },
    { "2: source broadcast", P1, MAC_B, BCAST, 0, DROP(SRC_INVALID) },
    { "2: source IPv4 multicast", P1, MAC_B, MCAST4, 0, DROP(SRC_INVALID) },
    { "2: source IPv6 multicast", P1, MAC_B, MCAST6, 0, DROP(SRC_INVALID) },
    { "2: source with the I/G bit", P1, MAC_B, ODD, 0, DROP(SRC_INVALID) },
    { "2: source zero from a bridge", BR, MAC_A, ZERO, 0,
      DROP(SRC_INVALID) },
    { "2: source multicast from a fresh peer", P4, MAC_A, MCAST4, 0,
      DROP(SRC_INVALID) },
    { "2: P1 spoofs a new MAC", P1, MAC_B, MAC_F, 0, DROP(SPOOFED) },
    { "2: P1 spoofs P2's MAC", P1, MAC_C, MAC_B, 0, DROP(SPOOFED) },
    { "2: P1 spoofs a MAC behind the bridge", P1, MAC_B, MAC_C, 0,
      DROP(SPOOFED) },
    { "2: P3 (X-vpn-ws-MAC E) sends from another MAC", P3, MAC_A, MAC_F, 0,
      DROP(SPOOFED) },
    { "2: P3 sends from its claimed MAC", P3, MAC_A, MAC_E, 0, UNI(P1) },
    { "2: fresh P4 takes P1's MAC", P4, MAC_B, MAC_A, 0, DROP(MAC_TAKEN) },
    { "2: fresh P4 takes P3's claimed MAC", P4, MAC_B, MAC_E, 0,
      DROP(MAC_TAKEN) },
    { "2: the bridge takes P1's MAC", BR, MAC_B, MAC_A, 0, DROP(MAC_TAKEN) },
    { "2: the tap takes P2's MAC", TAP, MAC_A, MAC_B, 0, DROP(MAC_TAKEN) },

    /* 4: destination validity */
    { "4: destination zero", P1, ZERO, MAC_A, 0, DROP(DST_INVALID) },
    { "4: destination = source", P1, MAC_A, MAC_A, 0, DROP(DST_INVALID) },
    { "4: destination = source, bridge", BR, MAC_C, MAC_C, 0,
      DROP(DST_INVALID) },
    { "4: destination behind the source bridge", BR, MAC_D, MAC_C, 0,
      DROP(SAME_PORT) },

    /* 5: flooding */
    { "5: broadcast", P1, BCAST, MAC_A, 0, FLOOD },
    { "5: IPv4 multicast", P1, MCAST4, MAC_A, 0, FLOOD },
    { "5: IPv6 multicast", P1, MCAST6, MAC_A, 0, FLOOD },
    { "5: 01:80:c2 group", P1, STP, MAC_A, 0, FLOOD },
    { "5: any I/G address", P2, ODD, MAC_B, 0, FLOOD },
    { "5: broadcast from the bridge", BR, BCAST, MAC_C, 0, FLOOD },

    /* 6: unicast */
    { "6: peer to peer", P1, MAC_B, MAC_A, 0, UNI(P2) },
    { "6: peer to claimed peer", P1, MAC_E, MAC_A, 0, UNI(P3) },
    { "6: peer to a MAC behind the bridge", P1, MAC_C, MAC_A, 0, UNI(BR) },
    { "6: peer to a MAC behind the tap", P2, MAC_G, MAC_B, 0, UNI(TAP) },
    { "6: peer to the gateway tap", P2, MAC_GW, MAC_B, 0, UNI(GW) },
    { "6: gateway tap, unknown unicast: to the bridges", GW, MAC_U, MAC_GW,
      0, BRIDGES },
    { "6: bridge to peer", BR, MAC_A, MAC_C, 0, UNI(P1) },
    { "6: bridge to tap", BR, MAC_G, MAC_D, 0, UNI(TAP) },
    { "6: tap to bridge", TAP, MAC_D, MAC_G, 0, UNI(BR) },
    { "6: unknown unicast from a peer: bridges", P1, MAC_U, MAC_A, 0,
      BRIDGES },
    { "6: unknown unicast from the bridge: the other bridge (tap)", BR,
      MAC_U, MAC_C, 0, BRIDGES },
    { "6: unknown unicast from the tap: the bridge", TAP, MAC_U, MAC_G, 0,
      BRIDGES },
    { "3: the bridge learns H on its first frame", BR, MAC_A, MAC_H, 0,
      UNI(P1) },
    { "6: H is now known", P2, MAC_H, MAC_B, 0, UNI(BR) },
    { "6: fresh P4 announces F by sending", P4, MAC_A, MAC_F, 0, UNI(P1) },
    { "6: F is now known", P1, MAC_F, MAC_A, 0, UNI(P4) },
    { "2: P4 now owns F only", P4, MAC_A, MAC_U, 0, DROP(SPOOFED) },
};


static const rule_case_t  rules_isolation[] = {
    { "7: peer to peer isolated", P1, MAC_B, MAC_A, 0, DROP(ISOLATED) },
    { "7: claimed peer to peer isolated", P3, MAC_A, MAC_E, 0,
      DROP(ISOLATED) },
    { "7: peer to bridge", P1, MAC_C, MAC_A, 0, UNI(BR) },
    { "7: peer to tap", P1, MAC_G, MAC_A, 0, UNI(TAP) },
    { "7: bridge to peer", BR, MAC_A, MAC_C, 0, UNI(P1) },
    { "7: tap to peer", TAP, MAC_B, MAC_G, 0, UNI(P2) },
    { "7: bridge to tap", BR, MAC_G, MAC_C, 0, UNI(TAP) },
    { "7: unknown unicast from a peer: bridges", P1, MAC_U, MAC_A, 0,
      BRIDGES },
    { "7: broadcast (switch_to filters)", P1, BCAST, MAC_A, 0, FLOOD },
    { "7: still no source spoofing", P1, MAC_C, MAC_F, 0, DROP(SPOOFED) },
    { "7: peer to the gateway tap", P1, MAC_GW, MAC_A, 0, UNI(GW) },
    { "7: gateway tap to peer", GW, MAC_B, MAC_GW, 0, UNI(P2) },
    { "7: the gateway tap owns one MAC", GW, MAC_B, MAC_U, 0,
      DROP(SPOOFED) },
};


static const rule_case_t  rules_no_broadcast[] = {
    { "5: broadcast off", P1, BCAST, MAC_A, 0, DROP(BROADCAST) },
    { "5: broadcast off, from the bridge", BR, BCAST, MAC_C, 0,
      DROP(BROADCAST) },
    { "5: broadcast off, multicast floods", P1, MCAST4, MAC_A, 0, FLOOD },
    { "5: broadcast off, unicast passes", P1, MAC_B, MAC_A, 0, UNI(P2) },
};


static const rule_case_t  rules_no_multicast[] = {
    { "5: multicast off, IPv4", P1, MCAST4, MAC_A, 0, DROP(MULTICAST) },
    { "5: multicast off, IPv6", P1, MCAST6, MAC_A, 0, DROP(MULTICAST) },
    { "5: multicast off, other group", BR, STP, MAC_C, 0, DROP(MULTICAST) },
    { "5: multicast off, broadcast floods", P1, BCAST, MAC_A, 0, FLOOD },
};


static const rule_case_t  rules_no_bridges[] = {
    { "6: no bridge port: unknown unicast dropped", P1, MAC_U, MAC_A, 0,
      DROP(UNKNOWN) },
    { "6: no bridge port: known unicast passes", P1, MAC_B, MAC_A, 0,
      UNI(P2) },
    { "6: no bridge port: broadcast floods", P1, BCAST, MAC_A, 0, FLOOD },
};


static const rule_case_t  rules_one_bridge[] = {
    { "6: unknown unicast from the only bridge: dropped", BR, MAC_U, MAC_C,
      0, DROP(UNKNOWN) },
    { "6: unknown unicast from a peer: to the bridge", P1, MAC_U, MAC_A, 0,
      BRIDGES },
};


static void
run_rules(const char *title, const rule_case_t *cases, size_t n,
    int isolation, int broadcast, int multicast, int bridges, int cache)
{
    int                  arg;
    size_t               i, len;
    uint8_t              buf[60];
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   ports[NPORTS];

    diag("%s%s", title, cache == 1 ? ", with a destination cache"
                        : cache == 2 ? ", without a lock" : "");

    sw_init(&s, 64, 8);

    if (cache == 1) {
        s.ctx.cache = &s.cache;
    }

    if (cache == 2) {
        /* a host with one process needs no lock */
        s.ctx.lock = NULL;
        s.ctx.unlock = NULL;
    }

    topology(&s, ports);

    s.conf.isolation = isolation;
    s.conf.broadcast = broadcast;
    s.conf.multicast = multicast;
    s.ctx.bridges = (uint32_t) bridges;

    for (i = 0; i < n; i++) {
        len = mkframe(buf, cases[i].dst, cases[i].src);

        if (cases[i].len) {
            len = (cases[i].len == LEN0) ? 0 : cases[i].len;
        }

        memset(&d, 0xa5, sizeof(d));
        s.version = s.tab.version;
        vpnws_switch_frame(&s.ctx, &ports[cases[i].port], buf, len, &d);

        if (s.ctx.lock && (s.depth != 0 || s.tab.version != s.version)) {
            s.lock_errors++;
        }

        arg = cases[i].arg;

        if (cases[i].action == VPNWS_FWD_UNICAST) {
            arg = (int) ports[arg].port.id;
        }

        if (!decision_is(&d, cases[i].action, arg, cases[i].name)) {
            diag("    from %s", port_names[cases[i].port]);
        }

        if (cases[i].action == VPNWS_FWD_UNICAST) {
            ok(memcmp(&d.dst, &ports[cases[i].arg].port, sizeof(vpnws_port_t))
               == 0, "%s: dst is the whole port (id, slot, worker, flags)",
               cases[i].name);
        }
    }

    ok(table_sane(&s.tab), "%s: table consistent", title);
    is_int(s.lock_errors, 0, "%s: table changed only under the lock, lock"
           " released", title);
    sw_done(&s);
}


/* ---------------------------------------------------------------------- */
/* vpnws_switch_to */


typedef struct {
    int           src;
    vpnws_fwd_t   action;
    int           dst;
    int           isolation;
    int           expect;
} to_case_t;


static const to_case_t  to_cases[] = {
    /* never back to the source */
    { P1, VPNWS_FWD_FLOOD, P1, 0, 0 },
    { BR, VPNWS_FWD_FLOOD, BR, 0, 0 },
    { BR, VPNWS_FWD_BRIDGES, BR, 0, 0 },
    { TAP, VPNWS_FWD_BRIDGES, TAP, 1, 0 },
    { P1, VPNWS_FWD_UNICAST, P1, 0, 0 },
    /* flood: everyone else */
    { P1, VPNWS_FWD_FLOOD, P2, 0, 1 },
    { P1, VPNWS_FWD_FLOOD, BR, 0, 1 },
    { P1, VPNWS_FWD_FLOOD, TAP, 0, 1 },
    { BR, VPNWS_FWD_FLOOD, P1, 0, 1 },
    { TAP, VPNWS_FWD_FLOOD, P2, 0, 1 },
    /* unknown unicast: bridges only */
    { P1, VPNWS_FWD_BRIDGES, P2, 0, 0 },
    { P1, VPNWS_FWD_BRIDGES, BR, 0, 1 },
    { P1, VPNWS_FWD_BRIDGES, TAP, 0, 1 },
    { BR, VPNWS_FWD_BRIDGES, TAP, 0, 1 },
    { TAP, VPNWS_FWD_BRIDGES, BR, 0, 1 },
    { BR, VPNWS_FWD_BRIDGES, P1, 0, 0 },
    /* isolation: peers reach bridge/tap ports only */
    { P1, VPNWS_FWD_FLOOD, P2, 1, 0 },
    { P1, VPNWS_FWD_FLOOD, BR, 1, 1 },
    { P1, VPNWS_FWD_FLOOD, TAP, 1, 1 },
    { BR, VPNWS_FWD_FLOOD, P1, 1, 1 },
    { TAP, VPNWS_FWD_FLOOD, P1, 1, 1 },
    { BR, VPNWS_FWD_FLOOD, TAP, 1, 1 },
    { P1, VPNWS_FWD_UNICAST, P2, 1, 0 },
    { P1, VPNWS_FWD_UNICAST, BR, 1, 1 },
    { P1, VPNWS_FWD_BRIDGES, BR, 1, 1 },
    { P1, VPNWS_FWD_BRIDGES, P2, 1, 0 },
    { P1, VPNWS_FWD_UNICAST, P2, 0, 1 },
    /* the server tap without tap_bridge (gateway): not a bridge port */
    { P1, VPNWS_FWD_FLOOD, GW, 1, 1 },
    { P1, VPNWS_FWD_UNICAST, GW, 1, 1 },
    { GW, VPNWS_FWD_FLOOD, P1, 1, 1 },
    { P1, VPNWS_FWD_BRIDGES, GW, 0, 0 },
    { GW, VPNWS_FWD_BRIDGES, BR, 1, 1 },
    { GW, VPNWS_FWD_FLOOD, GW, 0, 0 },
};


static void
test_switch_to(void)
{
    size_t                i;
    vpnws_switch_conf_t   conf;
    vpnws_port_state_t    ports[NPORTS];

    port_init(&ports[P1], 11, 0);
    port_init(&ports[P2], 12, 0);
    port_init(&ports[P3], 13, 0);
    port_init(&ports[P4], 14, 0);
    port_init(&ports[BR], 21, VPNWS_PORT_BRIDGE);
    port_init(&ports[TAP], 1, VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP);
    port_init(&ports[GW], 2, VPNWS_PORT_TAP);

    memset(&conf, 0, sizeof(conf));
    conf.broadcast = 1;
    conf.multicast = 1;

    for (i = 0; i < nelem(to_cases); i++) {
        conf.isolation = to_cases[i].isolation;

        is_int(vpnws_switch_to(&conf, &ports[to_cases[i].src].port,
                               to_cases[i].action,
                               &ports[to_cases[i].dst].port),
               to_cases[i].expect, "switch_to %s -> %s, %s%s: %d",
               port_names[to_cases[i].src], port_names[to_cases[i].dst],
               action_name(to_cases[i].action),
               to_cases[i].isolation ? ", isolation" : "",
               to_cases[i].expect);
    }
}


static void
test_silent(void)
{
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_switch_conf_t  conf;
    vpnws_port_state_t   a, o, r, b;

    memset(&conf, 0, sizeof(conf));

    port_init(&a, 31, 0);
    port_init(&o, 32, 0);
    port_init(&r, 33, 0);
    port_init(&b, 34, VPNWS_PORT_BRIDGE);

    vpnws_switch_join(&o, 0);
    vpnws_switch_join(&r, 1);
    vpnws_switch_join(&b, 0);

    ok((o.port.flags & VPNWS_PORT_SILENT) && !(r.port.flags
       & VPNWS_PORT_SILENT), "join: silent unless ready");
    is_int(vpnws_switch_to(&conf, &a.port, VPNWS_FWD_FLOOD, &o.port), 0,
           "no flood to a silent peer");
    is_int(vpnws_switch_to(&conf, &a.port, VPNWS_FWD_BRIDGES, &b.port), 0,
           "no unknown unicast to a silent bridge");
    is_int(vpnws_switch_to(&conf, &a.port, VPNWS_FWD_FLOOD, &r.port), 1,
           "a ready peer hears floods at once");

    sw_init(&s, 16, 8);

    /* any frame, even one that is dropped, says the peer's tap is up */
    sw_send(&s, &o, BCAST, BCAST, &d);
    is_int(d.action, VPNWS_FWD_DROP, "silent peer: invalid frame dropped");
    is_int(vpnws_switch_to(&conf, &a.port, VPNWS_FWD_FLOOD, &o.port), 1,
           "a peer that sent a frame hears floods");

    sw_send(&s, &b, BCAST, MAC_B, &d);
    is_int(vpnws_switch_to(&conf, &a.port, VPNWS_FWD_BRIDGES, &b.port), 1,
           "so does a bridge");

    sw_done(&s);
}


/* ---------------------------------------------------------------------- */
/* stateful rules */


static void
test_first_mac(void)
{
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   p, q;
    vpnws_mac_entry_t   *e;
    uint8_t              buf[60];

    sw_init(&s, 16, 8);
    port_init(&p, 5, 0);

    /* drops before the first valid source MAC do not claim anything */
    vpnws_switch_frame(&s.ctx, &p, buf, 10, &d);
    sw_send(&s, &p, MAC_B, BCAST, &d);
    sw_send(&s, &p, MAC_A, MAC_A, &d);
    sw_send(&s, &p, ZERO, MAC_A, &d);
    ok(!p.has_mac && s.tab.count == 0,
       "short, invalid source, invalid destination: nothing claimed");

    sw_send(&s, &p, MAC_B, MAC_A, &d);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_UNKNOWN
       && d.learned, "first valid frame: source claimed (learned) although"
       " the frame is dropped (unknown, no bridge)");
    ok(p.has_mac && vpnws_mac_eq(p.mac, MAC_A), "port state holds the MAC");

    e = vpnws_mactab_find(&s.tab, MAC_A);
    ok(e && e->port.id == 5 && e->port.slot == p.port.slot
       && !(e->flags & VPNWS_ENTRY_LEARNED) && e->gen == 1 && e->owner == 100
       && e->seen == 1000, "entry: port, not LEARNED, gen, owner, seen");

    sw_send(&s, &p, BCAST, MAC_A, &d);
    ok(d.action == VPNWS_FWD_FLOOD && !d.learned, "second frame: not learned"
       " again");

    /* non-bridge MACs never age */
    s.ctx.now += 1000000;
    port_init(&q, 6, 0);
    sw_send(&s, &q, MAC_A, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 5, "a peer's MAC does not age");

    sw_send(&s, &q, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_SPOOFED,
                "q owns B now; A is spoofing");

    sw_done(&s);
}


static void
test_claim(void)
{
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   p, q, r, b;
    vpnws_mac_entry_t   *e;

    sw_init(&s, 2, 8);
    port_init(&p, 1, 0);
    port_init(&q, 2, 0);
    port_init(&r, 3, 0);

    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_A), 0, "claim A");
    ok(p.has_mac && vpnws_mac_eq(p.mac, MAC_A), "claim fills the port");
    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_A), 0, "claim A again, same"
           " port");
    is_int(s.tab.count, 1, "one entry");
    is_int(vpnws_switch_claim(&s.ctx, &q, MAC_A), -1,
           "another live port cannot claim A");
    ok(!q.has_mac, "refused claim leaves the port alone");
    is_int(vpnws_switch_claim(&s.ctx, &q, MAC_B), 0, "claim B");
    is_int(vpnws_switch_claim(&s.ctx, &r, MAC_C), -2, "table full: -2");
    ok(!r.has_mac, "table full leaves the port alone");

    /* the refused peer's frames are dropped as taken, logged once */
    sw_send(&s, &r, MAC_B, MAC_A, &d);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_MAC_TAKEN
       && d.log_taken, "frame from a taken MAC: MAC_TAKEN, log_taken");
    sw_send(&s, &r, MAC_B, MAC_A, &d);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_MAC_TAKEN
       && !d.log_taken, "again: MAC_TAKEN, not logged twice");
    sw_send(&s, &r, MAC_A, MAC_C, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_TABLE_FULL,
                "a frame from a new MAC with the table full");
    ok(!r.has_mac, "still no MAC");

    /* the owner goes: A is free */
    vpnws_switch_port_gone(&s.ctx, &p);
    ok(vpnws_mactab_find(&s.tab, MAC_A) == NULL && s.tab.count == 1,
       "port_gone removes the port's MAC");
    sw_send(&s, &r, MAC_B, MAC_A, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == 2 && d.learned
       && r.has_mac, "then another port takes A by sending");
    sw_done(&s);

    /* alive(): a dead owner's MAC is taken over */
    sw_init(&s, 8, 8);
    s.ctx.alive = alive_cb;
    port_init(&p, 1, 0);
    port_init(&q, 2, 0);
    port_init(&r, 3, 0);

    s.ctx.owner = 7001;
    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_A), 0, "worker 7001 claims A");
    s.ctx.owner = 7002;
    dead_owner = -1;
    is_int(vpnws_switch_claim(&s.ctx, &q, MAC_A), -1,
           "worker 7002 cannot take it while 7001 lives");
    sw_send(&s, &q, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_MAC_TAKEN,
                "nor by sending");
    dead_owner = 7001;
    is_int(vpnws_switch_claim(&s.ctx, &q, MAC_A), 0,
           "7001 died: 7002 takes A over");
    e = vpnws_mactab_find(&s.tab, MAC_A);
    ok(e && e->port.id == 2 && e->owner == 7002 && s.tab.count == 1,
       "the entry now names port 2, owner 7002; no second entry");
    vpnws_switch_port_gone(&s.ctx, &p);
    ok(vpnws_mactab_find(&s.tab, MAC_A) == e,
       "the dead port's port_gone leaves the new owner's entry");

    /* takeover by sending */
    s.ctx.owner = 7003;
    dead_owner = -1;
    sw_send(&s, &r, MAC_A, MAC_C, &d);
    dead_owner = 7003;
    s.ctx.owner = 7004;
    port_init(&p, 4, 0);
    sw_send(&s, &p, MAC_A, MAC_C, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == 2 && p.has_mac
       && vpnws_mactab_find(&s.tab, MAC_C)->port.id == 4,
       "a frame takes a dead owner's MAC over");
    dead_owner = -1;
    sw_done(&s);

    /*
     * A MAC live behind a bridge or the tap (the LAN's gateway) is owned
     * by that port until it ages: a peer that claims it would capture
     * traffic meant for the gateway, and in isolation mode cut every peer
     * off from it (the gateway's own frames drop as mac_taken).
     */
    sw_init(&s, 8, 8);
    s.conf.isolation = 1;
    s.ctx.bridges = 1;
    port_init(&b, 9, VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP);
    port_init(&p, 1, 0);
    port_init(&q, 2, 0);
    sw_send(&s, &b, BCAST, MAC_G, &d);
    sw_send(&s, &q, BCAST, MAC_B, &d);
    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_G), -1,
           "a peer cannot claim the gateway's MAC, live behind the tap");
    sw_send(&s, &q, MAC_G, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 9,
                "other peers still reach the gateway behind the tap");
    s.ctx.now++;
    sw_send(&s, &b, MAC_B, MAC_G, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 2, "the gateway's frames still pass");

    /* nor by sending from it */
    sw_send(&s, &p, MAC_B, MAC_G, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_MAC_TAKEN,
                "a peer's first frame from the gateway's MAC: mac_taken");
    ok(!p.has_mac, "and the peer owns nothing");
    sw_done(&s);

    /* aged out behind a bridge: the station may have moved to a peer */
    sw_init(&s, 8, 8);
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    port_init(&p, 1, 0);
    sw_send(&s, &b, BCAST, MAC_C, &d);
    s.ctx.now += s.conf.mac_aging + 1;
    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_C), 0,
           "a peer may claim a MAC aged out behind a bridge");
    e = vpnws_mactab_find(&s.tab, MAC_C);
    ok(e && e->port.id == 1 && !(e->flags & VPNWS_ENTRY_LEARNED),
       "the entry is the peer's own now, not LEARNED");
    sw_send(&s, &b, BCAST, MAC_C, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_MAC_TAKEN,
                "the bridge cannot learn it back");
    sw_done(&s);
}


static void
test_generations(void)
{
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   p, q, r, b;
    vpnws_mac_entry_t   *e;

    sw_init(&s, 8, 8);
    port_init(&p, 1, 0);
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    s.ctx.bridges = 1;

    /* generation 1 */
    sw_send(&s, &p, BCAST, MAC_A, &d);
    sw_send(&s, &b, BCAST, MAC_C, &d);
    is_int(s.tab.count, 2, "gen 1: A (peer) and C (bridge)");

    /* reload: generation 2 */
    s.ctx.gen = 2;
    port_init(&q, 2, 0);
    port_init(&r, 3, 0);
    s.ctx.bridges = 0;
    sw_send(&s, &q, MAC_A, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_UNKNOWN,
                "gen 2: gen 1's A is absent (no bridge in gen 2)");
    s.ctx.bridges = 1;
    sw_send(&s, &q, MAC_C, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_BRIDGES, 0,
                "gen 2: gen 1's C is absent: unknown unicast");

    is_int(vpnws_switch_claim(&s.ctx, &r, MAC_A), 0,
           "gen 2 claims gen 1's A although its owner lives");
    e = vpnws_mactab_find(&s.tab, MAC_A);
    ok(e && e->port.id == 3 && e->gen == 2 && s.tab.count == 3,
       "the entry is overwritten in place, gen 2");

    sw_send(&s, &q, MAC_A, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 3, "gen 2 reaches the new A");

    /* the old port leaves: it must not remove the new owner's entry */
    s.ctx.gen = 1;
    vpnws_switch_port_gone(&s.ctx, &p);
    ok(vpnws_mactab_find(&s.tab, MAC_A) == e && e->port.id == 3,
       "gen 1 port_gone leaves gen 2's A");

    /* gen 1 still sees its own entries, not gen 2's */
    sw_send(&s, &b, MAC_A, MAC_C, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_UNKNOWN,
                "gen 1 bridge: gen 2's A is absent to it");

    /* a gen 2 bridge learns over a gen 1 learned entry */
    s.ctx.gen = 2;
    port_init(&p, 4, VPNWS_PORT_BRIDGE);
    sw_send(&s, &p, BCAST, MAC_C, &d);
    ok(d.action == VPNWS_FWD_FLOOD && d.learned,
       "gen 2 bridge learns gen 1's C");
    e = vpnws_mactab_find(&s.tab, MAC_C);
    ok(e && e->port.id == 4 && e->gen == 2, "C now gen 2, port 4");
    ok(table_sane(&s.tab), "table consistent");
    sw_done(&s);
}


static void
test_bridge_learning(void)
{
    sw_t                 s;
    uint8_t              m[6];
    uint32_t             i;
    vpnws_decision_t     d;
    vpnws_port_state_t   b, b2, p;
    vpnws_mac_entry_t   *e;

    sw_init(&s, 64, 8);
    s.conf.bridge_macs = 4;
    s.conf.mac_aging = 10;
    s.ctx.bridges = 2;
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    port_init(&b2, 10, VPNWS_PORT_BRIDGE);
    port_init(&p, 1, 0);
    sw_send(&s, &p, BCAST, MAC_A, &d);

    for (i = 0; i < 4; i++) {
        mkmac(m, i);
        sw_send(&s, &b, MAC_A, m, &d);

        if (d.action != VPNWS_FWD_UNICAST || !d.learned) {
            break;
        }
    }

    is_int(i, 4, "a bridge learns 4 MACs (its limit)");
    is_int(b.nmacs, 4, "nmacs counts them");

    e = vpnws_mactab_find(&s.tab, m);
    ok(e && (e->flags & VPNWS_ENTRY_LEARNED) && e->port.id == 9
       && e->seen == 1000, "learned entry: LEARNED, port, seen");

    mkmac(m, 4);
    sw_send(&s, &b, MAC_A, m, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_BRIDGE_LIMIT, "a fifth MAC");
    ok(vpnws_mactab_find(&s.tab, m) == NULL, "not in the table");

    mkmac(m, 2);
    sw_send(&s, &b, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && !d.learned,
       "a known MAC at the limit passes, not learned again");

    /* refresh: 0 and 2 seen at 1008, 1 and 3 stay at 1000 */
    s.ctx.now = 1008;
    mkmac(m, 0);
    sw_send(&s, &b, MAC_A, m, &d);
    mkmac(m, 2);
    sw_send(&s, &b, MAC_A, m, &d);
    ok(vpnws_mactab_find(&s.tab, m)->seen == 1008, "a frame refreshes seen");

    /* aging boundary: exactly mac_aging seconds old still counts */
    s.ctx.now = 1010;
    mkmac(m, 1);
    sw_send(&s, &p, m, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 9, "10 s old (= aging): still known");

    s.ctx.now = 1011;
    sw_send(&s, &p, m, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_BRIDGES, 0,
                "11 s old (> aging): unknown unicast");
    ok(vpnws_mactab_find(&s.tab, m) == NULL,
       "the expired entry left the table on lookup");

    /* the bridge's count is an upper bound: a recount finds room */
    mkmac(m, 5);
    sw_send(&s, &b, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.learned,
       "after aging a new MAC is learned (recount)");
    is_int(b.nmacs, 3, "nmacs: 0 and 2 live, 1 and 3 expired, 5 new");
    mkmac(m, 3);
    ok(vpnws_mactab_find(&s.tab, m) == NULL, "recount removed expired 3");

    mkmac(m, 6);
    sw_send(&s, &b, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.learned && b.nmacs == 4,
       "a fourth MAC is learned");
    mkmac(m, 7);
    sw_send(&s, &b, MAC_A, m, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_BRIDGE_LIMIT,
                "a fifth within the recount second: limit");

    s.ctx.now = 1012;
    sw_send(&s, &b, MAC_A, m, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_BRIDGE_LIMIT,
                "next second, nothing expired: still the limit");

    s.ctx.now = 1019;
    sw_send(&s, &b, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.learned && b.nmacs == 3,
       "at 1019 0 and 2 (seen 1008) expired: 7 learned, nmacs 3");

    /* a station moves and moves back within one second */
    mkmac(m, 6);
    sw_send(&s, &b2, MAC_A, m, &d);
    sw_send(&s, &p, m, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 10, "6 moved to bridge 10");
    sw_send(&s, &b, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.learned,
       "bridge 9 sends from 6 again in the same second: the refresh cache"
       " does not hide the move");
    sw_send(&s, &p, m, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 9, "6 is behind bridge 9 again");

    /* a station moves between bridges */
    mkmac(m, 5);
    sw_send(&s, &b2, MAC_A, m, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.learned,
       "another bridge takes a learned MAC over (station moved)");
    sw_send(&s, &p, m, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 10, "frames follow the station");

    /* a bridge cannot learn a peer's MAC */
    sw_send(&s, &b2, MAC_C, MAC_A, &d);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_MAC_TAKEN
       && d.log_taken && b2.taken_logged,
       "bridge sending from a peer's MAC: MAC_TAKEN, logged once");
    sw_send(&s, &b2, MAC_C, MAC_A, &d);
    ok(d.action == VPNWS_FWD_DROP && !d.log_taken, "not logged twice");

    /* the bridge leaves: all its MACs go, nobody else's */
    i = s.tab.count;
    vpnws_switch_port_gone(&s.ctx, &b);
    mkmac(m, 6);
    ok(vpnws_mactab_find(&s.tab, m) == NULL && s.tab.count == i - 2,
       "port_gone of a bridge removes its 2 remaining MACs (6, 7)");
    mkmac(m, 5);
    ok(vpnws_mactab_find(&s.tab, m) != NULL
       && vpnws_mactab_find(&s.tab, MAC_A) != NULL,
       "the moved station and the peer stay");
    ok(table_sane(&s.tab), "table consistent");
    sw_done(&s);

    /* bridge_macs 0: a bridge learns nothing, forwards nothing */
    sw_init(&s, 8, 8);
    s.conf.bridge_macs = 0;
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    sw_send(&s, &b, BCAST, MAC_C, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_BRIDGE_LIMIT,
                "bridge_macs 0");
    sw_done(&s);

    /* a bridge and a full table */
    sw_init(&s, 2, 8);
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    sw_send(&s, &b, BCAST, MAC_C, &d);
    sw_send(&s, &b, BCAST, MAC_D, &d);
    sw_send(&s, &b, BCAST, MAC_H, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_TABLE_FULL,
                "bridge learning into a full table");
    is_int(b.nmacs, 2, "nmacs not counted for the refused MAC");
    sw_done(&s);
}


/*
 * Expired learned entries must not keep the table full: DESIGN section 2
 * (LRU/aging, "retry once on exhaustion").  Today only a lookup of that
 * very MAC, the owning bridge's recount or the host's periodic
 * vpnws_switch_expire() removes them.
 */
static void
test_table_full_of_expired(void)
{
    sw_t                 s;
    uint8_t              m[6];
    uint32_t             i;
    vpnws_decision_t     d;
    vpnws_port_state_t   b, b2, p;

    sw_init(&s, 4, 8);
    s.conf.bridge_macs = 4;
    s.conf.mac_aging = 10;
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    port_init(&b2, 10, VPNWS_PORT_BRIDGE);
    port_init(&p, 1, 0);

    for (i = 0; i < 4; i++) {
        mkmac(m, i);
        sw_send(&s, &b, BCAST, m, &d);
    }

    is_int(s.tab.count, 4, "a bridge filled the table with learned MACs");

    s.ctx.now += 3600;

    /* the periodic vpnws_switch_expire() may not have run yet */
    is_int(vpnws_switch_claim(&s.ctx, &p, MAC_A), 0,
           "an hour later (all expired) a peer can claim a MAC: a full"
           " table expires aged entries and retries");
    sw_send(&s, &b2, BCAST, MAC_C, &d);
    ok(d.action == VPNWS_FWD_FLOOD && d.learned,
       "and another bridge can learn one");
    ok(table_sane(&s.tab), "table consistent");
    sw_done(&s);
}


/*
 * A full table of live entries: every frame from a new MAC fails to
 * insert.  The sweep for aged entries is O(capacity) under the switch
 * lock; run per frame, one peer could hold every worker off the table.
 * Nothing ages twice within a host second, so once a second is enough.
 */
static void
test_full_table_cost(void)
{
    sw_t                 s;
    double               t;
    uint8_t              m[6];
    uint32_t             i, cap;
    struct timespec      a, b;
    vpnws_decision_t     d;
    vpnws_port_state_t   p;

    cap = 200000;
    sw_init(&s, cap, 8);

    for (i = 0; i < cap; i++) {
        port_init(&p, i + 1, 0);
        mkmac(m, i);
        (void) vpnws_switch_claim(&s.ctx, &p, m);
    }

    is_int(s.tab.count, cap, "200000 peers fill the table");

    port_init(&p, cap + 1, VPNWS_PORT_BRIDGE);
    s.conf.bridge_macs = 1000000;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);

    for (i = 0; i < 2000; i++) {
        mkmac(m, cap + i);
        sw_send(&s, &p, BCAST, m, &d);
    }

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    t = (double) (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;

    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_TABLE_FULL,
                "a bridge learning into the full table");
    ok(t < 0.2, "2000 such frames in one second cost %.3f s of CPU (< 0.2:"
       " no table sweep per frame)", t);
    sw_done(&s);
}


static void
test_expire(void)
{
    sw_t                 s;
    uint8_t              m[6];
    uint32_t             i;
    vpnws_decision_t     d;
    vpnws_port_state_t   b, p;
    vpnws_mac_entry_t   *e;

    sw_init(&s, 16, 8);
    s.conf.mac_aging = 10;
    port_init(&b, 9, VPNWS_PORT_BRIDGE);
    port_init(&p, 1, 0);

    sw_send(&s, &p, BCAST, MAC_A, &d);

    for (i = 0; i < 4; i++) {
        mkmac(m, i);
        s.ctx.now = 1000 + i;
        sw_send(&s, &b, BCAST, m, &d);
    }

    is_int(vpnws_switch_expire(&s.ctx), 0, "expire: nothing aged yet");

    e = vpnws_mactab_find(&s.tab, MAC_A);
    s.ctx.now = 1000 + 1000000;
    ok(e && !vpnws_switch_aged(&s.ctx, e), "aged: a peer's own MAC never");

    s.ctx.now = 1011;
    mkmac(m, 0);
    e = vpnws_mactab_find(&s.tab, m);
    ok(e && vpnws_switch_aged(&s.ctx, e), "aged: learned at 1000, now 1011");
    mkmac(m, 1);
    e = vpnws_mactab_find(&s.tab, m);
    ok(e && !vpnws_switch_aged(&s.ctx, e),
       "not aged: learned at 1001, now 1011 (exactly mac_aging)");

    is_int(vpnws_switch_expire(&s.ctx), 1, "expire at 1011: one");
    s.ctx.now = 1013;
    is_int(vpnws_switch_expire(&s.ctx), 2, "expire at 1013: two more");
    s.ctx.now = 5000000;
    is_int(vpnws_switch_expire(&s.ctx), 1, "expire much later: the last");
    ok(s.tab.count == 1 && vpnws_mactab_find(&s.tab, MAC_A) != NULL
       && table_sane(&s.tab), "the peer's MAC stays");

    /* host seconds wrap around */
    s.ctx.now = 0xfffffffe;
    sw_send(&s, &b, BCAST, MAC_C, &d);
    s.ctx.now = 5;
    is_int(vpnws_switch_expire(&s.ctx), 0,
           "learned at 2^32-2, now 5 (wrapped, 7 s): not aged");
    s.ctx.now = 9;
    is_int(vpnws_switch_expire(&s.ctx), 1, "now 9 (11 s): aged");
    sw_done(&s);
}


static void
test_port_gone(void)
{
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   p, q, b;

    sw_init(&s, 8, 8);
    port_init(&p, 1, 0);
    port_init(&q, 2, 0);
    port_init(&b, 3, VPNWS_PORT_BRIDGE);
    s.ctx.bridges = 1;

    vpnws_switch_port_gone(&s.ctx, &p);
    is_int(s.tab.count, 0, "port_gone of a port that never sent: no-op");

    sw_send(&s, &p, BCAST, MAC_A, &d);
    sw_send(&s, &q, BCAST, MAC_B, &d);
    sw_send(&s, &b, BCAST, MAC_C, &d);
    sw_send(&s, &b, BCAST, MAC_D, &d);
    is_int(s.tab.count, 4, "4 entries");

    vpnws_switch_port_gone(&s.ctx, &p);
    ok(s.tab.count == 3 && vpnws_mactab_find(&s.tab, MAC_A) == NULL,
       "peer gone: its MAC left");
    vpnws_switch_port_gone(&s.ctx, &p);
    is_int(s.tab.count, 3, "port_gone twice: no-op");

    sw_send(&s, &q, MAC_A, MAC_B, &d);
    decision_is(&d, VPNWS_FWD_BRIDGES, 0, "A unknown now");

    vpnws_switch_port_gone(&s.ctx, &b);
    ok(s.tab.count == 1 && vpnws_mactab_find(&s.tab, MAC_B) != NULL,
       "bridge gone: its MACs left, B stays");
    ok(table_sane(&s.tab), "table consistent");
    sw_done(&s);
}


static void
test_cache(void)
{
    int                  locks;
    sw_t                 s;
    vpnws_decision_t     d;
    vpnws_port_state_t   p, q, r, b, b2;

    sw_init(&s, 16, 8);
    s.ctx.cache = &s.cache;
    port_init(&p, 1, 0);
    port_init(&q, 2, 0);
    port_init(&r, 3, 0);
    port_init(&b, 8, VPNWS_PORT_BRIDGE);
    port_init(&b2, 9, VPNWS_PORT_BRIDGE);

    sw_send(&s, &p, BCAST, MAC_A, &d);
    sw_send(&s, &q, BCAST, MAC_B, &d);

    sw_send(&s, &p, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 2, "cache: first lookup");
    locks = s.locks;
    sw_send(&s, &p, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 2, "cache: second lookup");
    is_int(s.locks, locks, "cache: the second lookup takes no lock");

    vpnws_switch_port_gone(&s.ctx, &q);
    sw_send(&s, &p, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_UNKNOWN,
                "cache: a removed destination is not served from the cache");

    /* a negative result is cached, and invalidated by an insert */
    sw_send(&s, &p, MAC_U, MAC_A, &d);
    sw_send(&s, &p, MAC_U, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_UNKNOWN, "cache: U unknown");
    sw_send(&s, &r, BCAST, MAC_U, &d);
    sw_send(&s, &p, MAC_U, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 3,
                "cache: U known once a port announced it");

    /* learned destinations age although cached */
    s.ctx.bridges = 2;
    sw_send(&s, &b, BCAST, MAC_C, &d);
    sw_send(&s, &p, MAC_C, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 8, "cache: C behind bridge 8");
    s.ctx.now += s.conf.mac_aging + 1;
    sw_send(&s, &p, MAC_C, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_BRIDGES, 0, "cache: C aged out");

    /* a station that moves, within one second */
    sw_send(&s, &b, BCAST, MAC_D, &d);
    sw_send(&s, &p, MAC_D, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 8, "cache: D behind bridge 8");
    sw_send(&s, &b2, BCAST, MAC_D, &d);
    sw_send(&s, &p, MAC_D, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 9,
                "cache: D moved to bridge 9 in the same second");

    /* a takeover from a dead owner */
    s.ctx.alive = alive_cb;
    s.ctx.owner = 8001;
    port_init(&q, 4, 0);
    sw_send(&s, &q, BCAST, MAC_B, &d);
    sw_send(&s, &p, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 4, "cache: B at port 4");
    dead_owner = 8001;
    s.ctx.owner = 8002;
    port_init(&r, 5, 0);
    sw_send(&s, &r, BCAST, MAC_B, &d);
    ok(d.action == VPNWS_FWD_FLOOD && r.has_mac, "port 5 takes B over");
    sw_send(&s, &p, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_UNICAST, 5, "cache: B now at port 5");
    dead_owner = -1;

    is_int(s.lock_errors, 0, "cache: lock discipline");
    sw_done(&s);
}


static void
test_ctx_init(void)
{
    vpnws_mactab_t        t;
    vpnws_switch_ctx_t    ctx;
    vpnws_switch_conf_t   conf;

    memset(&ctx, 0x5a, sizeof(ctx));
    vpnws_switch_ctx_init(&ctx, &conf, &t, 1234);
    ok(ctx.conf == &conf && ctx.table == &t && ctx.now == 1234
       && ctx.gen == 0 && ctx.owner == 0 && ctx.bridges == 0
       && ctx.alive == NULL && ctx.lock == NULL && ctx.unlock == NULL
       && ctx.lock_data == NULL && ctx.cache == NULL,
       "ctx_init: conf, table, now; every optional field off");
}


static void
test_drop_names(void)
{
    int          i, j, fail;
    const char  *n[VPNWS_DROP_MAX];

    fail = 0;

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        n[i] = vpnws_drop_name((vpnws_drop_t) i);

        if (n[i] == NULL || n[i][0] == '\0' || strcmp(n[i], "?") == 0
            || strspn(n[i], "abcdefghijklmnopqrstuvwxyz_") != strlen(n[i]))
        {
            diag("drop %d has name \"%s\"", i, n[i] ? n[i] : "(null)");
            fail++;
        }

        for (j = 0; j < i; j++) {
            if (n[j] && n[i] && strcmp(n[i], n[j]) == 0) {
                diag("drops %d and %d share \"%s\"", i, j, n[i]);
                fail++;
            }
        }
    }

    ok(fail == 0, "every drop reason has a distinct [a-z_] name");
    is_str(vpnws_drop_name(VPNWS_DROP_MAX), "?", "out of range: \"?\"");
    is_str(vpnws_drop_name(VPNWS_DROP_SPOOFED), "spoofed", "spoofed");
}


/* ---------------------------------------------------------------------- */
/* the MAC table */


/* the bucket a MAC hashes to, seen from outside: insert it alone */
static uint32_t
bucket_of(vpnws_mactab_t *t, const uint8_t *mac)
{
    uint32_t            b;
    vpnws_mac_entry_t  *e;

    e = vpnws_mactab_insert(t, mac);

    for (b = 0; b < t->nbuckets; b++) {
        if (t->buckets[b] == (uint32_t) (e - t->entries) + 1) {
            break;
        }
    }

    e->port.id = 1;
    vpnws_mactab_remove(t, e);

    return b;
}


static void
test_mactab_basic(void)
{
    void                *mem;
    uint8_t              m[6];
    uint32_t             i, cap, fail;
    vpnws_mactab_t       t;
    vpnws_mac_entry_t   *e, *es[40];
    static const uint32_t  caps[] = { 1, 2, 15, 16, 17, 100, 1000 };

    is_int(vpnws_mactab_size(0), 16 * sizeof(uint32_t),
           "size(0): 16 buckets, no entries");
    ok(vpnws_mactab_size(1000) >= 1000 * sizeof(vpnws_mac_entry_t)
       + 1000 * sizeof(uint32_t), "size(1000) holds entries and buckets");

    /* capacity 0 */
    mem = malloc(vpnws_mactab_size(0));
    vpnws_mactab_init(&t, mem, 0, 1);
    ok(vpnws_mactab_insert(&t, MAC_A) == NULL
       && vpnws_mactab_find(&t, MAC_A) == NULL && t.count == 0,
       "capacity 0: insert fails, find finds nothing");
    free(mem);

    for (i = 0; i < nelem(caps); i++) {
        cap = caps[i];
        mem = malloc(vpnws_mactab_size(cap));
        memset(mem, 0xff, vpnws_mactab_size(cap));   /* init must clear */
        vpnws_mactab_init(&t, mem, cap, 42 + cap);

        ok(t.nbuckets >= cap && t.nbuckets >= 16
           && (t.nbuckets & (t.nbuckets - 1)) == 0 && t.count == 0,
           "capacity %u: %u buckets, a power of two", cap, t.nbuckets);

        fail = 0;

        for (uint32_t k = 0; k < cap; k++) {
            mkmac(m, k * 7919);
            e = vpnws_mactab_insert(&t, m);

            if (e == NULL || !vpnws_mac_eq(e->mac, m) || e->port.id != 0
                || e->flags != 0 || e->gen != 0)
            {
                fail++;
                continue;
            }

            e->port.id = k + 1;
        }

        mkmac(m, 0xffffff);
        ok(fail == 0 && t.count == cap && vpnws_mactab_insert(&t, m) == NULL,
           "capacity %u: %u inserts (zeroed entries), then full", cap, cap);

        fail = 0;

        for (uint32_t k = 0; k < cap; k++) {
            mkmac(m, k * 7919);
            e = vpnws_mactab_find(&t, m);

            if (e == NULL || e->port.id != k + 1) {
                fail++;
            }
        }

        mkmac(m, 0xfffffe);
        ok(fail == 0 && vpnws_mactab_find(&t, m) == NULL,
           "capacity %u: every MAC found, an absent one not", cap);
        ok(table_sane(&t), "capacity %u: consistent when full", cap);

        /* empty it and fill it again */
        for (uint32_t k = 0; k < cap; k++) {
            mkmac(m, k * 7919);
            vpnws_mactab_remove(&t, vpnws_mactab_find(&t, m));
        }

        ok(t.count == 0 && table_sane(&t), "capacity %u: emptied", cap);

        fail = 0;

        for (uint32_t k = 0; k < cap; k++) {
            mkmac(m, k + 100000);

            if ((e = vpnws_mactab_insert(&t, m)) == NULL) {
                fail++;
                continue;
            }

            e->port.id = 5;
        }

        ok(fail == 0 && t.count == cap && table_sane(&t),
           "capacity %u: filled again after emptying", cap);
        free(mem);
    }

    /* collisions: MACs that share a bucket */
    mem = malloc(vpnws_mactab_size(40));
    vpnws_mactab_init(&t, mem, 40, 7);
    ok(t.nbuckets == 64, "capacity 40: 64 buckets");

    {
        uint8_t   same[6][6];
        uint32_t  target, k, n;

        mkmac(m, 0);
        target = bucket_of(&t, m);
        n = 0;

        for (k = 0; n < 6 && k < 100000; k++) {
            mkmac(m, k);

            if (bucket_of(&t, m) == target) {
                memcpy(same[n++], m, 6);
            }
        }

        is_int(n, 6, "found 6 MACs of one bucket");

        for (k = 0; k < n; k++) {
            es[k] = vpnws_mactab_insert(&t, same[k]);
            es[k]->port.id = k + 1;
        }

        /* the chain is newest first: remove head, middle, tail */
        vpnws_mactab_remove(&t, vpnws_mactab_find(&t, same[5]));
        ok(vpnws_mactab_find(&t, same[5]) == NULL
           && vpnws_mactab_find(&t, same[4])->port.id == 5
           && vpnws_mactab_find(&t, same[0])->port.id == 1,
           "collision chain: head removed, the rest found");
        vpnws_mactab_remove(&t, vpnws_mactab_find(&t, same[2]));
        ok(vpnws_mactab_find(&t, same[2]) == NULL
           && vpnws_mactab_find(&t, same[3])->port.id == 4
           && vpnws_mactab_find(&t, same[1])->port.id == 2,
           "collision chain: middle removed, the rest found");
        vpnws_mactab_remove(&t, vpnws_mactab_find(&t, same[0]));
        ok(vpnws_mactab_find(&t, same[0]) == NULL
           && vpnws_mactab_find(&t, same[1])->port.id == 2
           && vpnws_mactab_find(&t, same[4])->port.id == 5
           && t.count == 3 && table_sane(&t),
           "collision chain: tail removed, the rest found");

        /* removing an entry that is already free changes nothing */
        e = &t.entries[39];
        vpnws_mactab_remove(&t, e);
        ok(t.count == 3 && table_sane(&t), "removing a free entry: no-op");
    }

    free(mem);
}


typedef struct {
    uint32_t  mod;
    uint32_t  rem;
} purge_arg_t;


static int
purge_match(const vpnws_mac_entry_t *e, void *data)
{
    purge_arg_t  *a = data;

    return e->port.id % a->mod == a->rem;
}


static int
purge_all(const vpnws_mac_entry_t *e, void *data)
{
    (void) e;
    (void) data;

    return 1;
}


static void
test_mactab_purge(void)
{
    void                *mem;
    uint8_t              m[6];
    uint32_t             k, n, fail;
    purge_arg_t          a;
    vpnws_mactab_t       t;
    vpnws_mac_entry_t   *e;

    mem = malloc(vpnws_mactab_size(100));
    vpnws_mactab_init(&t, mem, 100, 99);

    for (k = 0; k < 100; k++) {
        mkmac(m, k);
        e = vpnws_mactab_insert(&t, m);
        e->port.id = k + 1;
    }

    a.mod = 3;
    a.rem = 0;
    n = vpnws_mactab_purge(&t, purge_match, &a);
    is_int(n, 33, "purge ids divisible by 3: 33");

    fail = 0;

    for (k = 0; k < 100; k++) {
        mkmac(m, k);
        e = vpnws_mactab_find(&t, m);

        if ((e == NULL) != ((k + 1) % 3 == 0)) {
            fail++;
        }
    }

    ok(fail == 0 && t.count == 67 && table_sane(&t),
       "exactly those left; consistent");

    /* an inserted entry without a port is free as far as purge goes */
    mkmac(m, 5000);
    e = vpnws_mactab_insert(&t, m);
    n = vpnws_mactab_purge(&t, purge_all, NULL);
    ok(n == 67 && t.count == 1 && vpnws_mactab_find(&t, m) == e,
       "purge skips entries with port id 0 (free by definition)");

    e->port.id = 1;
    n = vpnws_mactab_purge(&t, purge_all, NULL);
    ok(n == 1 && t.count == 0 && table_sane(&t), "purge all: empty");

    free(mem);
}


/* random operations against a plain array */

typedef struct {
    uint8_t    mac[6];
    uint32_t   id;
    int        present;
} model_t;


static int
mactab_random(uint32_t cap, uint32_t universe, uint32_t ops, uint64_t seed)
{
    int                  good;
    void                *mem;
    uint32_t             i, k, count, op;
    model_t             *mod;
    purge_arg_t          a;
    vpnws_mactab_t       t;
    vpnws_mac_entry_t   *e;

    mem = malloc(vpnws_mactab_size(cap));
    vpnws_mactab_init(&t, mem, cap, seed);
    mod = calloc(universe, sizeof(model_t));

    for (k = 0; k < universe; k++) {
        /* neighbours differ in one byte: stress the hash */
        mkmac(mod[k].mac, k % 3 == 0 ? k : k << 16 | k);
    }

    count = 0;
    good = 1;

    for (i = 0; i < ops && good; i++) {
        op = rng() % 100;
        k = rng() % universe;

        if (op < 45) {
            e = vpnws_mactab_find(&t, mod[k].mac);

            if (mod[k].present) {
                /* the switch never inserts a MAC that is there */
                good = e != NULL;

            } else {
                e = vpnws_mactab_insert(&t, mod[k].mac);

                if (count == cap) {
                    good = e == NULL;

                } else if ((good = e != NULL)) {
                    mod[k].present = 1;
                    mod[k].id = 1 + rng() % 50;
                    e->port.id = mod[k].id;
                    count++;
                }
            }

        } else if (op < 80) {
            e = vpnws_mactab_find(&t, mod[k].mac);

            if (mod[k].present) {
                good = e != NULL && e->port.id == mod[k].id;
                vpnws_mactab_remove(&t, e);
                mod[k].present = 0;
                count--;

            } else {
                good = e == NULL;
            }

        } else if (op < 83) {
            a.mod = 2 + rng() % 7;
            a.rem = rng() % a.mod;
            k = vpnws_mactab_purge(&t, purge_match, &a);

            for (uint32_t j = 0; j < universe; j++) {
                if (mod[j].present && mod[j].id % a.mod == a.rem) {
                    mod[j].present = 0;
                    count--;
                    k--;
                }
            }

            good = k == 0;

        } else {
            e = vpnws_mactab_find(&t, mod[k].mac);
            good = mod[k].present ? (e != NULL && e->port.id == mod[k].id
                                     && vpnws_mac_eq(e->mac, mod[k].mac))
                                  : e == NULL;
        }

        if (good && t.count != count) {
            good = 0;
        }

        if (good && i % 97 == 0) {
            good = table_sane(&t);

            for (k = 0; good && k < universe; k++) {
                e = vpnws_mactab_find(&t, mod[k].mac);
                good = mod[k].present ? e != NULL && e->port.id == mod[k].id
                                      : e == NULL;
            }
        }
    }

    if (!good) {
        diag("capacity %u universe %u: model differs at op %u", cap, universe,
             i);
    }

    free(mod);
    free(mem);

    return good;
}


static void
test_mactab_random(void)
{
    ok(mactab_random(8, 20, 20000, 1), "random ops: capacity 8, 20 MACs");
    ok(mactab_random(17, 17, 20000, 2), "random ops: capacity 17, 17 MACs");
    ok(mactab_random(64, 200, 50000, 3), "random ops: capacity 64, 200 MACs");
    ok(mactab_random(1000, 1500, 100000, 4),
       "random ops: capacity 1000, 1500 MACs");
    ok(mactab_random(3, 1000, 10000, 0), "random ops: capacity 3, seed 0");
}


/*
 * Several hosts of one segment: the MACs behind the tap are the stations
 * of other hosts.  One of them moving here keeps its MAC when the
 * configuration pinned it to the peer (vpnws_mac), never otherwise.
 */
static void
test_mobility(void)
{
    int                  rc;
    size_t               n;
    sw_t                 s;
    uint8_t              f[VPNWS_ANNOUNCE_LEN];
    vpnws_port_t         displaced;
    vpnws_decision_t     d;
    vpnws_port_state_t   tap, local, thief, owner, br;
    vpnws_mac_entry_t   *e;

    sw_init(&s, 16, 8);
    s.ctx.bridges = 1;
    port_init(&tap, 1, VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP);
    port_init(&local, 2, 0);
    port_init(&thief, 3, 0);
    port_init(&owner, 4, 0);
    owner.pinned = 1;

    /* A lives on another host: its broadcast comes out of the tap */
    sw_send(&s, &tap, BCAST, MAC_A, &d);
    ok(d.action == VPNWS_FWD_FLOOD && d.learned,
       "mobility: a remote station is learned behind the tap");
    sw_send(&s, &local, MAC_A, MAC_B, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == tap.port.id,
       "mobility: frames for it go to the tap");
    sw_send(&s, &tap, BCAST, MAC_C, &d);
    is_int(vpnws_mactab_port_count(&s.tab, tap.port.id), 2,
           "mobility: port_count: two stations behind the tap");
    is_int(vpnws_mactab_port_count(&s.tab, 0), 0,
           "mobility: port_count of id 0 (free entries): none");

    /* an unauthorized peer announcing A here */
    is_int(vpnws_switch_claim(&s.ctx, &thief, MAC_A), -1,
           "mobility: a peer without a grant cannot take A from the tap");
    sw_send(&s, &thief, MAC_B, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_MAC_TAKEN,
                "mobility: nor by sending from A");
    sw_send(&s, &local, MAC_A, MAC_B, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == tap.port.id,
       "mobility: A still goes to the tap");

    /* the owner, A pinned to it by the configuration, moves here */
    displaced.id = 0;
    rc = vpnws_switch_claim_pinned(&s.ctx, &owner, MAC_A, &displaced);
    is_int(rc, 0, "mobility: the pinned owner takes A over from the tap");
    is_int(displaced.id, 0, "mobility: and closes no peer (the tap stays)");
    e = vpnws_mactab_find(&s.tab, MAC_A);
    ok(e && e->port.id == owner.port.id && !(e->flags & VPNWS_ENTRY_LEARNED),
       "mobility: A is the owner's own MAC now, not learned");
    is_int(vpnws_mactab_port_count(&s.tab, tap.port.id), 1,
           "mobility: one station left behind the tap");
    sw_send(&s, &local, MAC_A, MAC_B, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == owner.port.id,
       "mobility: A's traffic follows it to this host");
    sw_send(&s, &tap, MAC_A, MAC_C, &d);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == owner.port.id,
       "mobility: and from the other hosts, through the tap");

    /* a late frame from the old host cannot pull A back behind the tap */
    sw_send(&s, &tap, BCAST, MAC_A, &d);
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_MAC_TAKEN,
                "mobility: the tap cannot take back A while the owner lives");

    /* the announce that moves it in the bridges of every host */
    n = vpnws_switch_announce(&owner, tap.port.flags, f);
    ok(n == VPNWS_ANNOUNCE_LEN && vpnws_mac_is_broadcast(f)
       && vpnws_mac_eq(f + 6, MAC_A) && f[12] == 0x80 && f[13] == 0x35
       && f[21] == 0x03 && vpnws_mac_eq(f + 22, MAC_A)
       && vpnws_mac_eq(f + 32, MAC_A),
       "mobility: announce: a RARP broadcast from A, about A");
    is_int((int) vpnws_switch_announce(&owner, VPNWS_PORT_TAP, f), 0,
           "mobility: no announce into a tap that is not a bridge port");
    is_int((int) vpnws_switch_announce(&thief, tap.port.flags, f), 0,
           "mobility: none for a peer without a MAC");
    port_init(&br, 5, VPNWS_PORT_BRIDGE);
    br.has_mac = 1;
    is_int((int) vpnws_switch_announce(&br, tap.port.flags, f), 0,
           "mobility: none for a bridge peer");

    /* the owner leaves this host: A is the tap's to learn again */
    vpnws_switch_port_gone(&s.ctx, &owner);
    sw_send(&s, &tap, BCAST, MAC_A, &d);
    ok(d.action == VPNWS_FWD_FLOOD && d.learned,
       "mobility: gone again, A is learned behind the tap at once");

    /* the tap's own limit, not bridge_macs (8): the other hosts' stations */
    tap.max_macs = 12;

    for (rc = 0; rc < 20; rc++) {
        uint8_t  m[6];

        mkmac(m, 9000 + rc);
        sw_send(&s, &tap, BCAST, m, &d);

        if (d.action == VPNWS_FWD_DROP) {
            break;
        }
    }

    is_int(rc, 12 - 2, "mobility: the tap (A, C) learns up to its own"
           " max_macs, beyond bridge_macs");
    decision_is(&d, VPNWS_FWD_DROP, VPNWS_DROP_BRIDGE_LIMIT,
                "mobility: then BRIDGE_LIMIT");

    sw_done(&s);
}


/* the defaults every host starts from */
static void
test_conf_default(void)
{
    vpnws_switch_conf_t  conf;

    memset(&conf, 0xff, sizeof(vpnws_switch_conf_t));
    vpnws_switch_conf_default(&conf);

    ok(conf.max_frame == 65664 && conf.bridge_macs == 256
       && conf.mac_aging == 300 && conf.broadcast && conf.multicast
       && !conf.isolation && conf.bridged_macs == VPNWS_BRIDGED_DEFAULT,
       "conf_default: 64k super-frames, 256 bridge MACs, 300 s aging, floods on");

    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, 0, 0) == 0
       && conf.bridged_macs == 3072
       && !conf.dhcp_guard && !conf.ra_guard && !conf.ip_guard,
       "conf_finish: bridges share macs - peers; no isolation, no guards");

    vpnws_switch_conf_default(&conf);
    ok(vpnws_switch_conf_finish(&conf, 100, 100, 0, 0) == 0
       && conf.bridged_macs == 1, "conf_finish: macs = peers leaves 1");

    vpnws_switch_conf_default(&conf);
    conf.bridged_macs = 3073;
    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, 0, 0) == -1,
       "conf_finish: bridged_macs over macs - peers refused");

    vpnws_switch_conf_default(&conf);
    conf.bridged_macs = 0;
    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, 0, 0) == 0
       && conf.bridged_macs == 0, "conf_finish: bridged_macs 0 stays: no cap");

    vpnws_switch_conf_default(&conf);
    conf.isolation = 1;
    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, 0, 0) == 0
       && conf.dhcp_guard && conf.ra_guard && conf.ip_guard,
       "conf_finish: isolation turns every guard on");

    vpnws_switch_conf_default(&conf);
    conf.isolation = 1;
    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, 0, VPNWS_GUARD_IP) == 0
       && conf.dhcp_guard && conf.ra_guard && !conf.ip_guard,
       "conf_finish: a guard set off stays off under isolation");

    vpnws_switch_conf_default(&conf);
    ok(vpnws_switch_conf_finish(&conf, 1024, 4096, VPNWS_GUARD_RA,
                                VPNWS_GUARD_RA | VPNWS_GUARD_DHCP) == 0
       && !conf.dhcp_guard && conf.ra_guard && !conf.ip_guard,
       "conf_finish: a guard set on without isolation is on, the rest off");

    ok(vpnws_switch_tap_macs(&conf, 1024, 4096) == 3072
       && vpnws_switch_tap_macs(&conf, 4000, 4096) == 256
       && vpnws_switch_tap_macs(&conf, 4096, 4096) == 256,
       "tap_macs: what the peers leave, bridge_macs at least");
    ok(vpnws_switch_default_macs(1024) == 4096
       && vpnws_switch_default_macs(4) == 4096
       && vpnws_switch_default_macs(10000) == 40000
       && vpnws_switch_default_macs(UINT32_MAX) == UINT32_MAX,
       "default_macs: 4 a peer, 4096 at least, no overflow");
}


int
main(void)
{
    int  c;

    for (c = 0; c < 3; c++) {
        run_rules("default", rules_default, nelem(rules_default),
                  0, 1, 1, 2, c);
        run_rules("isolation", rules_isolation, nelem(rules_isolation),
                  1, 1, 1, 2, c);
        run_rules("broadcast off", rules_no_broadcast,
                  nelem(rules_no_broadcast), 0, 0, 1, 2, c);
        run_rules("multicast off", rules_no_multicast,
                  nelem(rules_no_multicast), 0, 1, 0, 2, c);
        run_rules("no bridges", rules_no_bridges, nelem(rules_no_bridges),
                  0, 1, 1, 0, c);
        run_rules("one bridge", rules_one_bridge, nelem(rules_one_bridge),
                  0, 1, 1, 1, c);
    }

    test_switch_to();
    test_silent();
    test_first_mac();
    test_claim();
    test_generations();
    test_bridge_learning();
    test_table_full_of_expired();
    test_expire();
    test_full_table_cost();
    test_port_gone();
    test_mobility();
    test_cache();
    test_ctx_init();
    test_conf_default();
    test_drop_names();
    test_mactab_basic();
    test_mactab_purge();
    test_mactab_random();

    is_int(total_lock_errors, 0, "every frame: table changed only under the"
           " lock, lock released at the end");

    return done_testing();
}
