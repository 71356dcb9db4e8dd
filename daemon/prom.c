/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the admin's ?format=prometheus, the module's metrics rendered by
 * the core's vpnws_prom_render() from the daemon's counters.
 */


#include <stdlib.h>
#include <string.h>

#include "vpnwsd.h"
#include "vpnws_prom.h"


void
vpnwsd_admin_prometheus(vpnwsd_conn_t *c, int head_only)
{
    char           *buf, *p;
    vpnws_stats_t   st;
    vpnwsd_conn_t  *q;

    static const char  type[] = "text/plain; version=0.0.4";
    static const char  nomem[] = "no memory\n";

    memset(&st, 0, sizeof(vpnws_stats_t));

    st.name = vpnwsd.socket;
    st.peers = vpnwsd.npeers;
    st.peers_max = vpnwsd.max_peers;
    st.macs = vpnwsd.table.count;
    st.macs_max = vpnwsd.max_macs;
    memcpy(st.drops, vpnwsd.drops, sizeof(st.drops));

    for (q = vpnwsd.ports; q; q = q->port_next) {

        if (q->kind != VPNWSD_PEER) {
            continue;
        }

        st.bridges += (q->state.port.flags & VPNWS_PORT_BRIDGE) ? 1 : 0;
        st.frames_in += q->stats.frames_in;
        st.frames_out += q->stats.frames_out;
        st.bytes_in += q->stats.rx;
        st.bytes_out += q->stats.tx > q->tx_101 ? q->stats.tx - q->tx_101 : 0;
    }

    if (vpnwsd.tap) {
        st.has_tap = 1;
        st.tap_frames_in = vpnwsd.tap->stats.frames_in;
        st.tap_frames_out = vpnwsd.tap->stats.frames_out;
        st.tap_bytes_in = vpnwsd.tap->stats.rx;
        st.tap_bytes_out = vpnwsd.tap->stats.tx;
    }

    buf = malloc(vpnws_prom_max(&st));

    if (buf == NULL) {
        vpnwsd_log(VPNWSD_LOG_ERR, "admin: no memory for the metrics");
        vpnwsd_respond(c, "500 Internal Server Error", NULL, type, nomem,
                       sizeof(nomem) - 1, head_only);
        return;
    }

    p = vpnws_prom_render(buf, &st);

    vpnwsd_respond(c, "200 OK", NULL, type, buf, (size_t) (p - buf),
                   head_only);

    free(buf);
}
