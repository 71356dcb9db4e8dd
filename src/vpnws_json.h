/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the admin JSON (DESIGN.md section 3), shared by module and daemon.
 * Writers return the end of what they wrote; callers size buffers with the
 * *_max() bounds.
 */

#ifndef _VPNWS_JSON_H_INCLUDED_
#define _VPNWS_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_mac.h"
#include "vpnws_switch.h"
#include "vpnws_limit.h"


typedef struct {
    uint64_t            id;
    const uint8_t      *mac;            /* NULL: none yet, all zeros */
    const char         *addr;           /* NUL-terminated */
    const uint8_t      *user;
    size_t              user_len;
    const uint8_t      *dn;
    size_t              dn_len;
    int64_t             start;          /* unix seconds */
    unsigned            bridge:1;
    unsigned            offload;        /* VPNWS_OFFLOAD_*: "offload":".." */
    const char         *congestion;     /* TCP's; NULL or "": not shown */
    const uint8_t      *macs;           /* nmacs * 6 bytes */
    uint32_t            nmacs;
    uint64_t            tx;
    uint64_t            rx;
    uint64_t            frames_in;
    uint64_t            frames_out;
    uint64_t            drops;
    uint64_t            queued;
    int32_t             worker;         /* < 0: not shown */
    int32_t             pid;            /* <= 0: not shown */
    /* what the server granted; rate NULL: none of these shown */
    const vpnws_rate_t *rate;
    const uint8_t      *sw;             /* the switch's name */
    size_t              sw_len;
    unsigned            granted:1;      /* bridge mode granted */
    unsigned            pinned:1;       /* MAC given by the server */
} vpnws_json_peer_t;


/* a switch's status document around its peers, the same in every host */
typedef struct {
    const uint8_t      *name;           /* the switch (daemon: its socket) */
    size_t              name_len;
    uint64_t            peers_max;
    uint64_t            macs_used;
    uint64_t            macs_max;
    uint64_t            local_peers;    /* websocket peers, not the tap */
    uint64_t            remote_macs;    /* MACs behind the tap */
    uint64_t            macs_bridged;   /* learned behind bridges */
    uint64_t            bridged_max;
    uint64_t            super_frames;
    uint64_t            soft_segmented;
    const uint64_t     *drops;          /* VPNWS_DROP_MAX counters */
} vpnws_json_switch_t;


/* a JSON string body (no quotes): UTF-8 passes, the rest is \u-escaped */
char *vpnws_json_string(char *out, const uint8_t *s, size_t len);
size_t vpnws_json_string_max(size_t len);

char *vpnws_json_peer(char *out, const vpnws_json_peer_t *p);
size_t vpnws_json_peer_max(const vpnws_json_peer_t *p);

/*
 * {"status":"ok","switch":...,"drops":{...},...,"peers":[ then the peers
 * (vpnws_json_peer(), the tap among them as "REMOTE_ADDR":"tap:NAME"),
 * then vpnws_json_switch_close(): the original vpn-ws's envelope, extended.
 */
char *vpnws_json_switch_open(char *out, const vpnws_json_switch_t *s);
size_t vpnws_json_switch_max(const vpnws_json_switch_t *s);
char *vpnws_json_switch_close(char *out);

/*
 * A peer id as the admin's ?kill= gives it: decimal digits only, 1 to
 * 2^64 - 1 (ids are 64 bits and never reused).  0, or -1 for anything else.
 */
int vpnws_json_id_parse(const uint8_t *s, size_t len, uint64_t *id);

/* "drops":{"short":N,...} */
char *vpnws_json_drops(char *out, const uint64_t drops[VPNWS_DROP_MAX]);
size_t vpnws_json_drops_max(void);


#endif /* _VPNWS_JSON_H_INCLUDED_ */
