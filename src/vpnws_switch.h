/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the switching rules (DESIGN.md section 4) and the MAC table.
 *
 * The table lives in memory the host gives it (a shared zone in nginx,
 * plain memory in the daemon) and is never resized; the host serializes
 * access (shpool->mutex in nginx).  Nothing here allocates or does I/O.
 */

#ifndef _VPNWS_SWITCH_H_INCLUDED_
#define _VPNWS_SWITCH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_mac.h"
#include "vpnws_limit.h"
#include "vpnws_guard.h"


typedef enum {
    VPNWS_DROP_SHORT = 0,       /* shorter than an ethernet header */
    VPNWS_DROP_SRC_INVALID,     /* source zero, broadcast or multicast */
    VPNWS_DROP_SPOOFED,         /* source is not the peer's own MAC */
    VPNWS_DROP_MAC_TAKEN,       /* source owned by another live peer */
    VPNWS_DROP_BRIDGE_LIMIT,    /* bridge port reached its MAC limit */
    VPNWS_DROP_TABLE_FULL,      /* no room left in the MAC table */
    VPNWS_DROP_DST_INVALID,     /* destination zero or equal to source */
    VPNWS_DROP_SAME_PORT,       /* destination sits behind the source port */
    VPNWS_DROP_BROADCAST,       /* broadcast disabled */
    VPNWS_DROP_MULTICAST,       /* multicast disabled */
    VPNWS_DROP_UNKNOWN,         /* unknown unicast and no bridge port */
    VPNWS_DROP_ISOLATED,        /* isolation: peer to peer */
    VPNWS_DROP_QUEUE_FULL,      /* destination's output queue full */
    VPNWS_DROP_IPC,             /* channel to another worker full */
    VPNWS_DROP_FLOOD_LIMIT,     /* the port's flooded frames per second */
    VPNWS_DROP_BRIDGED_FULL,    /* switch-wide cap on MACs behind bridges */
    VPNWS_DROP_DHCP_SERVER,     /* DHCP server reply from an ordinary peer */
    VPNWS_DROP_ROUTER_ADV,      /* IPv6 router advertisement, ditto */
    VPNWS_DROP_ARP_SPOOF,       /* ARP for an address not the peer's */
    VPNWS_DROP_IP_SPOOF,        /* IPv4 source not the peer's */
    VPNWS_DROP_UNPARSED,        /* a guard cannot see into the frame */
    VPNWS_DROP_VNET,            /* bad virtio-net header (offload peers) */
    VPNWS_DROP_RATE_LIMIT,      /* to a peer over its rate */
    VPNWS_DROP_MAX
} vpnws_drop_t;


#define VPNWS_PORT_BRIDGE       0x01    /* learns every source MAC */
#define VPNWS_PORT_TAP          0x02    /* the switch's own tap device */
#define VPNWS_PORT_SILENT       0x04    /* no frame yet: hears no flood */


typedef struct {
    uint64_t        id;         /* never reused while the switch lives */
    uint32_t        slot;       /* the host's registry index */
    uint16_t        worker;     /* owning process (nginx worker number) */
    uint16_t        flags;      /* VPNWS_PORT_* */
} vpnws_port_t;


#define VPNWS_ENTRY_LEARNED     0x01    /* learned by a bridge port: ages */
#define VPNWS_ENTRY_PINNED      0x02    /* the configuration gave it the port */

#define VPNWS_FRESH             8
#define VPNWS_CACHE_SIZE        256     /* power of two */


typedef struct {
    uint8_t         mac[VPNWS_MAC_LEN];
    uint16_t        flags;
    vpnws_port_t    port;
    uint32_t        gen;        /* host generation (nginx: reload count) */
    uint32_t        seen;       /* last refresh, host seconds */
    int32_t         owner;      /* host liveness token (nginx: worker pid) */
    uint32_t        next;       /* chain: index + 1, 0 ends */
} vpnws_mac_entry_t;


typedef struct {
    uint64_t            version;    /* bumped by every insert and remove */
    uint32_t            nbuckets;   /* power of two */
    uint32_t            capacity;
    uint32_t            count;
    uint32_t            free;       /* free list: index + 1 */
    uint32_t            swept;      /* host second of the last full sweep */
    uint64_t            seed;
    uint32_t           *buckets;
    vpnws_mac_entry_t  *entries;
    uint32_t            learned;    /* entries with VPNWS_ENTRY_LEARNED */
} vpnws_mactab_t;


typedef struct {
    uint32_t        max_frame;      /* largest ethernet frame */
    uint32_t        bridge_macs;    /* MACs a bridge port may learn */
    uint32_t        mac_aging;      /* seconds a learned MAC lives */
    uint32_t        bridged_macs;   /* all bridges together; 0: no cap */
    unsigned        broadcast:1;
    unsigned        multicast:1;
    unsigned        isolation:1;
    unsigned        dhcp_guard:1;   /* guards of ordinary peers */
    unsigned        ra_guard:1;
    unsigned        ip_guard:1;
} vpnws_switch_conf_t;


/* what a switch is without configuration, in every host */
#define VPNWS_DEFAULT_PEERS         1024
/* a 64 KiB super-frame and its virtio-net header (VPNWS_VNET_FRAME_MAX) */
#define VPNWS_DEFAULT_FRAME         (65536 + 128)
#define VPNWS_DEFAULT_QUEUE         (256 * 1024)    /* bytes per peer */
#define VPNWS_DEFAULT_BRIDGE_MACS   256
#define VPNWS_DEFAULT_MAC_AGING     300             /* seconds */
#define VPNWS_DEFAULT_IDLE          60000           /* ms before closing */
#define VPNWS_DEFAULT_PING          20000           /* ms before a ping */
#define VPNWS_MACS_PER_PEER         4
#define VPNWS_MIN_MACS              4096


/* per source port state, kept by the host that reads the port's frames */
typedef struct vpnws_port_state_s {
    vpnws_port_t    port;
    uint8_t         mac[VPNWS_MAC_LEN];  /* its one MAC; bridge: first */
    unsigned        has_mac:1;
    unsigned        taken_logged:1;
    unsigned        pinned:1;       /* mac came from the configuration */
    vpnws_guard_state_t  guard;     /* non-bridge: its IPv4 address */
    vpnws_limit_t   limit;          /* rate and flood limits */
    uint32_t        nmacs;          /* bridge: MACs learned (upper bound) */
    uint32_t        max_macs;       /* bridge: its limit, 0: bridge_macs */
    uint32_t        recount;        /* bridge: next recount, host seconds */
    /* bridge: source MACs refreshed this second, table unchanged since */
    uint8_t         fresh_mac[VPNWS_FRESH][VPNWS_MAC_LEN];
    uint32_t        fresh_at[VPNWS_FRESH];
    uint64_t        fresh_version[VPNWS_FRESH];
} vpnws_port_state_t;


/*
 * A host's private cache of unicast destinations, so that the common frame
 * needs no lock: an entry holds while the table's version is unchanged and
 * for the second it was filled in (learned MACs age).
 */
typedef struct {
    uint8_t         mac[VPNWS_MAC_LEN];
    uint16_t        found;
    vpnws_port_t    port;
    uint32_t        until;
    uint64_t        version;
} vpnws_cache_entry_t;


typedef struct {
    vpnws_cache_entry_t  e[VPNWS_CACHE_SIZE];
} vpnws_switch_cache_t;


typedef struct {
    const vpnws_switch_conf_t  *conf;
    vpnws_mactab_t             *table;
    uint32_t                    now;        /* monotonic host seconds */
    uint64_t                    msec;       /* monotonic host milliseconds */
    uint32_t                    gen;        /* the caller's generation */
    int32_t                     owner;      /* the caller's liveness token */
    uint32_t                    bridges;    /* bridge ports in the switch */
    /* 1 if the owner of a conflicting entry still runs; NULL: always */
    int                       (*alive)(const vpnws_mac_entry_t *e);
    /* serialize table access (vpnws_switch_frame only); NULL: none */
    void                      (*lock)(void *data);
    void                      (*unlock)(void *data);
    void                       *lock_data;
    vpnws_switch_cache_t       *cache;      /* NULL: no cache */
} vpnws_switch_ctx_t;


typedef enum {
    VPNWS_FWD_DROP = 0,
    VPNWS_FWD_UNICAST,          /* to d->dst only */
    VPNWS_FWD_FLOOD,            /* every other port (vpnws_switch_to) */
    VPNWS_FWD_BRIDGES           /* every other bridge port */
} vpnws_fwd_t;


typedef struct {
    vpnws_fwd_t     action;
    vpnws_drop_t    reason;         /* with VPNWS_FWD_DROP */
    vpnws_port_t    dst;            /* with VPNWS_FWD_UNICAST */
    unsigned        learned:1;      /* a new MAC entered the table */
    unsigned        log_taken:1;    /* first MAC_TAKEN of this port */
} vpnws_decision_t;


/* bytes of memory a table of this capacity needs */
size_t vpnws_mactab_size(uint32_t capacity);
void vpnws_mactab_init(vpnws_mactab_t *t, void *mem, uint32_t capacity,
    uint64_t seed);
vpnws_mac_entry_t *vpnws_mactab_find(vpnws_mactab_t *t, const uint8_t *mac);
vpnws_mac_entry_t *vpnws_mactab_insert(vpnws_mactab_t *t, const uint8_t *mac);
void vpnws_mactab_remove(vpnws_mactab_t *t, vpnws_mac_entry_t *e);
/* entries that port id holds (the tap: the stations of other hosts) */
uint32_t vpnws_mactab_port_count(const vpnws_mactab_t *t, uint64_t id);
/* remove every entry match() says 1 to; returns how many */
uint32_t vpnws_mactab_purge(vpnws_mactab_t *t,
    int (*match)(const vpnws_mac_entry_t *e, void *data), void *data);


/*
 * The functions below expect the caller to hold the lock.
 *
 * Claim a MAC for a non-bridge port before any frame (X-vpn-ws-MAC).
 * 0: claimed; -1: owned by another live port (d unused), -2: table full.
 */
int vpnws_switch_claim(const vpnws_switch_ctx_t *ctx, vpnws_port_state_t *src,
    const uint8_t *mac);

/*
 * The same for a port with src->pinned set: 1 if it took the MAC from
 * another live port, *displaced (NULL: not wanted), which the host closes;
 * -1 only when another live pinned port holds it.
 */
int vpnws_switch_claim_pinned(const vpnws_switch_ctx_t *ctx,
    vpnws_port_state_t *src, const uint8_t *mac, vpnws_port_t *displaced);

/* every optional field off (no lock, no cache, owners always alive) */
void vpnws_switch_ctx_init(vpnws_switch_ctx_t *ctx,
    const vpnws_switch_conf_t *conf, vpnws_mactab_t *table, uint32_t now);

/*
 * Decide where frame[0..len) from src goes; learns source MACs.  Takes
 * ctx->lock itself around table access, only when the frame needs it.
 */
void vpnws_switch_frame(const vpnws_switch_ctx_t *ctx,
    vpnws_port_state_t *src, const uint8_t *frame, size_t len,
    vpnws_decision_t *d);

/* may a frame of this action from src be sent to port dst?  1 or 0 */
int vpnws_switch_to(const vpnws_switch_conf_t *conf, const vpnws_port_t *src,
    vpnws_fwd_t action, const vpnws_port_t *dst);

/*
 * A new port: unless it said it is ready (X-vpn-ws-ready: on, as our client
 * does), it hears no flood before it sent a frame.  The original client
 * dies on a frame that arrives before its tap is up.
 */
void vpnws_switch_join(vpnws_port_state_t *src, int ready);

/* remove every learned MAC past its aging; returns how many */
uint32_t vpnws_switch_expire(const vpnws_switch_ctx_t *ctx);

/* 1 if a learned entry outlived mac_aging */
int vpnws_switch_aged(const vpnws_switch_ctx_t *ctx,
    const vpnws_mac_entry_t *e);

/* the port left: remove every entry it owns */
void vpnws_switch_port_gone(const vpnws_switch_ctx_t *ctx,
    const vpnws_port_state_t *src);

#define VPNWS_ANNOUNCE_LEN      60

/*
 * A station joined this switch: the frame that announces it behind a tap
 * in bridge mode (a RARP broadcast from its MAC, as QEMU sends after a
 * migration), so that the Linux bridge, VXLAN and EVPN on this and every
 * other host learn at once where it is now.  Returns the frame's length,
 * or 0 when no announce is due (no bridge tap, a bridge port, no MAC).
 */
size_t vpnws_switch_announce(const vpnws_port_state_t *src,
    uint16_t tap_flags, uint8_t *frame);

const char *vpnws_drop_name(vpnws_drop_t reason);

/* bridged_macs until vpnws_switch_conf_finish() derives it */
#define VPNWS_BRIDGED_DEFAULT       UINT32_MAX

/* the rules' defaults: max_frame, bridge_macs, mac_aging, floods on */
void vpnws_switch_conf_default(vpnws_switch_conf_t *conf);

/*
 * What follows once every setting is read, in every host: bridged_macs
 * left at VPNWS_BRIDGED_DEFAULT becomes macs - peers, so that every
 * ordinary peer finds its entry (-1: one set larger leaves them too few);
 * the guards follow isolation, but those in set (VPNWS_GUARD_*) are on
 * when in guards and off when not.
 */
int vpnws_switch_conf_finish(vpnws_switch_conf_t *conf, uint32_t peers,
    uint32_t macs, unsigned guards, unsigned set);

/* a bridge tap's MAC limit when not set: what the peers leave of the
 * table (the stations of the other hosts), bridge_macs at least */
uint32_t vpnws_switch_tap_macs(const vpnws_switch_conf_t *conf,
    uint32_t peers, uint32_t macs);

/* the MAC table's size when not configured: 4 a peer, 4096 at least */
uint32_t vpnws_switch_default_macs(uint32_t peers);


#endif /* _VPNWS_SWITCH_H_INCLUDED_ */
