/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the JSON control interface (uwsgi modifier1 1): the peer list
 * of DESIGN.md section 3 rendered by the core's vpnws_json_*,
 * QUERY_STRING kill=<id>, and format=prometheus (prom.c).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpnwsd.h"
#include "vpnws_json.h"


static const char  vpnwsd_json_type[] = "application/json";


static void
vpnwsd_admin_send(vpnwsd_conn_t *c, const char *line, const char *body,
    size_t len, int head_only)
{
    vpnwsd_respond(c, line, NULL, vpnwsd_json_type, body, len, head_only);
}


/* whether the query string has the item "name" */
static int
vpnwsd_admin_query_has(const vpnws_uwsgi_var_t *qs, const char *item)
{
    size_t          start, end, len;
    const uint8_t  *p;

    if (qs == NULL) {
        return 0;
    }

    p = qs->value;
    len = strlen(item);

    for (start = 0; start < qs->value_len; start = end + 1) {

        for (end = start; end < qs->value_len && p[end] != '&'; end++) {
            /* void */
        }

        if (end - start == len && memcmp(p + start, item, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the value of kill= in the query string: 1, none: 0, malformed: -1 */
static int
vpnwsd_admin_kill_arg(const vpnws_uwsgi_var_t *qs, uint64_t *id)
{
    size_t          i, start;
    const uint8_t  *p;

    if (qs == NULL) {
        return 0;
    }

    p = qs->value;

    for (start = 0; start < qs->value_len; /* void */) {

        if (qs->value_len - start >= 5 && memcmp(p + start, "kill=", 5) == 0)
        {
            for (i = start + 5; i < qs->value_len && p[i] != '&'; i++) {
                /* void */
            }

            if (vpnws_json_id_parse(p + start + 5, i - start - 5, id) != 0) {
                return -1;
            }

            return 1;
        }

        while (start < qs->value_len && p[start] != '&') {
            start++;
        }

        start++;
    }

    return 0;
}


static void
vpnwsd_admin_kill(vpnwsd_conn_t *c, uint64_t id, int head_only)
{
    vpnwsd_conn_t  *q;

    static const char  ok[] = "{\"status\":\"ok\"}\n";
    static const char  notfound[] = "{\"status\":\"not found\"}\n";

    q = vpnwsd_port_find(id);

    if (q == NULL || q->kind != VPNWSD_PEER) {
        vpnwsd_admin_send(c, "404 Not Found", notfound, sizeof(notfound) - 1,
                          head_only);
        return;
    }

    vpnwsd_log(VPNWSD_LOG_NOTICE, "peer %llu killed by the admin",
               (unsigned long long) id);

    vpnwsd_peer_close(q, VPNWS_WS_CLOSE_POLICY, "killed by the admin");

    vpnwsd_admin_send(c, "200 OK", ok, sizeof(ok) - 1, head_only);
}


static void
vpnwsd_admin_list(vpnwsd_conn_t *c, int head_only)
{
    char                 *buf, *p;
    size_t                len;
    uint8_t              *macs;
    uint32_t              i, k, slots, local, *count, *first, *fill;
    vpnwsd_conn_t        *q;
    vpnws_json_peer_t     jp;
    vpnws_mac_entry_t    *e;
    vpnws_json_switch_t   js;
    char                  tap_addr[sizeof("tap:") + sizeof(vpnwsd.tap_name)];

    static const char  nomem[] = "{\"status\":\"error\",\"error\":"
                                 "\"no memory\"}\n";

    /* aged MACs are gone even if nothing looked them up yet */
    vpnwsd_switch_expire();

    slots = vpnwsd.max_peers + 1;

    count = calloc(slots * 3, sizeof(uint32_t));
    macs = malloc((size_t) vpnwsd.table.count * VPNWS_MAC_LEN + 1);

    if (count == NULL || macs == NULL) {
        goto nomem;
    }

    first = count + slots;
    fill = first + slots;

    /* every MAC a port owns: count, then collect */

    for (k = 0; k < vpnwsd.table.capacity; k++) {
        e = &vpnwsd.table.entries[k];

        if (e->port.id && e->port.slot < slots && vpnwsd.slots[e->port.slot]
            && vpnwsd.slots[e->port.slot]->state.port.id == e->port.id)
        {
            count[e->port.slot]++;
        }
    }

    for (i = 0, k = 0; i < slots; i++) {
        first[i] = k;
        k += count[i];
    }

    for (k = 0; k < vpnwsd.table.capacity; k++) {
        e = &vpnwsd.table.entries[k];

        if (e->port.id && e->port.slot < slots && vpnwsd.slots[e->port.slot]
            && vpnwsd.slots[e->port.slot]->state.port.id == e->port.id)
        {
            i = e->port.slot;
            memcpy(macs + (size_t) (first[i] + fill[i]) * VPNWS_MAC_LEN,
                   e->mac, VPNWS_MAC_LEN);
            fill[i]++;
        }
    }

    local = 0;

    /* the tap is a port like the peers, as in the module's status */
    (void) snprintf(tap_addr, sizeof(tap_addr), "tap:%s", vpnwsd.tap_name);

    memset(&js, 0, sizeof(vpnws_json_switch_t));
    js.name = (const uint8_t *) vpnwsd.socket;
    js.name_len = strlen(vpnwsd.socket);
    js.peers_max = vpnwsd.max_peers;
    js.macs_used = vpnwsd.table.count;
    js.macs_max = vpnwsd.max_macs;
    js.macs_bridged = vpnwsd.table.learned;
    js.bridged_max = vpnwsd.conf.bridged_macs;
    js.drops = vpnwsd.drops;

    /* several hosts: the MACs behind the tap are other hosts' stations */
    js.remote_macs = vpnwsd.tap ? count[vpnwsd.tap->state.port.slot] : 0;

    len = vpnws_json_switch_max(&js);

    /* every field the size depends on is set (sw_len too) */
    memset(&jp, 0, sizeof(vpnws_json_peer_t));

    for (q = vpnwsd.ports; q; q = q->port_next) {
        local += (q->kind == VPNWSD_PEER);
        jp.addr = (q->kind == VPNWSD_TAP) ? tap_addr : q->addr;
        jp.user_len = q->user_len;
        jp.dn_len = q->dn_len;
        jp.nmacs = count[q->state.port.slot];
        jp.sw_len = sizeof(VPNWSD_NAME) - 1;
        len += vpnws_json_peer_max(&jp) + 2;
    }

    js.local_peers = local;

    buf = malloc(len);
    if (buf == NULL) {
        goto nomem;
    }

    p = vpnws_json_switch_open(buf, &js);

    k = 0;

    /* oldest first, as ids grow */
    for (q = vpnwsd.ports; q && q->port_next; q = q->port_next) {
        /* void */
    }

    for ( /* void */ ; q; q = q->port_prev) {

        if (q->kind != VPNWSD_PEER && q->kind != VPNWSD_TAP) {
            continue;
        }

        memset(&jp, 0, sizeof(jp));
        jp.id = q->state.port.id;
        jp.mac = q->state.has_mac ? q->state.mac : NULL;
        jp.addr = (q->kind == VPNWSD_TAP) ? tap_addr : q->addr;
        jp.user = q->user;
        jp.user_len = q->user_len;
        jp.dn = q->dn;
        jp.dn_len = q->dn_len;
        jp.start = q->start;
        jp.bridge = (q->state.port.flags & VPNWS_PORT_BRIDGE) ? 1 : 0;
        jp.macs = macs + (size_t) first[q->state.port.slot] * VPNWS_MAC_LEN;
        jp.nmacs = count[q->state.port.slot];
        /* websocket bytes, as the module counts */
        jp.tx = q->stats.tx > q->tx_101 ? q->stats.tx - q->tx_101 : 0;
        jp.rx = q->stats.rx;
        jp.frames_in = q->stats.frames_in;
        jp.frames_out = q->stats.frames_out;
        jp.drops = q->stats.drops;
        jp.queued = vpnws_port_queued(&q->io);
        jp.worker = -1;
        jp.pid = 0;
        jp.rate = &q->state.limit.conf;
        jp.sw = (const uint8_t *) VPNWSD_NAME;
        jp.sw_len = sizeof(VPNWSD_NAME) - 1;
        jp.granted = q->granted;
        jp.pinned = q->state.pinned;

        if (k++) {
            *p++ = ',';
        }

        p = vpnws_json_peer(p, &jp);
    }

    p = vpnws_json_switch_close(p);

    vpnwsd_admin_send(c, "200 OK", buf, (size_t) (p - buf), head_only);

    free(buf);
    free(count);
    free(macs);

    return;

nomem:

    free(count);
    free(macs);

    vpnwsd_log(VPNWSD_LOG_ERR, "admin: no memory for the peer list");
    vpnwsd_admin_send(c, "500 Internal Server Error", nomem,
                      sizeof(nomem) - 1, head_only);
}


void
vpnwsd_admin(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk)
{
    int                         rc, head_only, post;
    uint64_t                    id;
    const vpnws_uwsgi_var_t    *method, *qs;

    static const char  bad[] = "{\"status\":\"error\",\"error\":"
                               "\"kill needs a peer id\"}\n";
    static const char  not_allowed[] = "{\"status\":\"error\",\"error\":"
                                       "\"only GET and HEAD\"}\n";
    static const char  kill_get[] = "{\"status\":\"error\",\"error\":"
                                    "\"kill needs POST\"}\n";

    method = vpnws_uwsgi_get(pk, "REQUEST_METHOD");
    qs = vpnws_uwsgi_get(pk, "QUERY_STRING");

    head_only = method && method->value_len == 4
                && memcmp(method->value, "HEAD", 4) == 0;
    post = method && method->value_len == 4
           && memcmp(method->value, "POST", 4) == 0;

    rc = vpnwsd_admin_kill_arg(qs, &id);

    /* a prefetch or a cross-site link must not cut peers: kills are POST */
    if (rc != 0 && !post) {
        vpnwsd_log(VPNWSD_LOG_INFO, "admin: a kill needs POST");
        vpnwsd_respond(c, "405 Not Allowed", "Allow: POST\r\n",
                       vpnwsd_json_type, kill_get, sizeof(kill_get) - 1, 0);
        return;
    }

    if (method && !head_only && !(post && rc != 0)
        && !(method->value_len == 3 && memcmp(method->value, "GET", 3) == 0))
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "admin: method %.*s not allowed",
                   (int) method->value_len, (const char *) method->value);
        vpnwsd_respond(c, "405 Not Allowed", "Allow: GET, HEAD\r\n",
                       vpnwsd_json_type, not_allowed,
                       sizeof(not_allowed) - 1, 0);
        return;
    }

    if (rc == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "admin: invalid query \"%.*s\"",
                   (int) qs->value_len, (const char *) qs->value);
        vpnwsd_admin_send(c, "400 Bad Request", bad, sizeof(bad) - 1,
                          head_only);
        return;
    }

    if (rc == 1) {
        vpnwsd_admin_kill(c, id, head_only);
        return;
    }

    if (vpnwsd_admin_query_has(qs, "format=prometheus")) {
        vpnwsd_admin_prometheus(c, head_only);
        return;
    }

    vpnwsd_admin_list(c, head_only);
}
