/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: switch metrics in the Prometheus text exposition format.
 */


#include <stdio.h>
#include <string.h>

#include "vpnws_prom.h"
#include "vpnws_version.h"


typedef struct {
    const char         *name;
    const char         *type;
    const char         *help;
    size_t              offset;
} vpnws_prom_metric_t;


#define vpnws_prom_field(f)  offsetof(vpnws_stats_t, f)


static const vpnws_prom_metric_t  vpnws_prom_metrics[] = {
    { "vpnws_peers", "gauge", "Connected peers.",
      vpnws_prom_field(peers) },
    { "vpnws_local_peers", "gauge",
      "Websocket peers connected to this host.",
      vpnws_prom_field(local_peers) },
    { "vpnws_peers_max", "gauge", "Peers the switch can hold.",
      vpnws_prom_field(peers_max) },
    { "vpnws_bridge_peers", "gauge", "Connected bridge peers.",
      vpnws_prom_field(bridges) },
    { "vpnws_mac_entries", "gauge", "Entries in the MAC table.",
      vpnws_prom_field(macs) },
    { "vpnws_mac_capacity", "gauge", "Capacity of the MAC table.",
      vpnws_prom_field(macs_max) },
    { "vpnws_frames_received_total", "counter",
      "Ethernet frames received from peers.",
      vpnws_prom_field(frames_in) },
    { "vpnws_frames_sent_total", "counter",
      "Ethernet frames sent to peers.",
      vpnws_prom_field(frames_out) },
    { "vpnws_received_bytes_total", "counter",
      "Websocket bytes received from peers.",
      vpnws_prom_field(bytes_in) },
    { "vpnws_sent_bytes_total", "counter",
      "Websocket bytes sent to peers.",
      vpnws_prom_field(bytes_out) },
    { "vpnws_super_frames_total", "counter",
      "Offloaded super-frames (up to 64 KiB) sent whole to offload peers.",
      vpnws_prom_field(super_frames) },
    { "vpnws_segmented_total", "counter",
      "Super-frames cut into plain frames for a port without offload.",
      vpnws_prom_field(soft_segmented) },
    { NULL, NULL, NULL, 0 }
};


static const vpnws_prom_metric_t  vpnws_prom_tap[] = {
    { "vpnws_remote_macs", "gauge",
      "MACs behind the switch's tap (in bridge mode: other hosts').",
      vpnws_prom_field(remote_macs) },
    { "vpnws_tap_frames_received_total", "counter",
      "Frames read from the switch's tap device.",
      vpnws_prom_field(tap_frames_in) },
    { "vpnws_tap_frames_sent_total", "counter",
      "Frames written to the switch's tap device.",
      vpnws_prom_field(tap_frames_out) },
    { "vpnws_tap_received_bytes_total", "counter",
      "Bytes read from the switch's tap device.",
      vpnws_prom_field(tap_bytes_in) },
    { "vpnws_tap_sent_bytes_total", "counter",
      "Bytes written to the switch's tap device.",
      vpnws_prom_field(tap_bytes_out) },
    { NULL, NULL, NULL, 0 }
};


/* a label value: backslash, double quote and newline are escaped */
static char *
vpnws_prom_label(char *out, const char *s)
{
    for ( /* void */ ; *s; s++) {

        if (*s == '\\' || *s == '"') {
            *out++ = '\\';
            *out++ = *s;

        } else if (*s == '\n') {
            *out++ = '\\';
            *out++ = 'n';

        } else {
            *out++ = *s;
        }
    }

    return out;
}


static char *
vpnws_prom_sample(char *out, const char *metric, const vpnws_stats_t *s,
    const char *reason, uint64_t value)
{
    out += sprintf(out, "%s{switch=\"", metric);
    out = vpnws_prom_label(out, s->name);

    if (reason) {
        out += sprintf(out, "\",reason=\"%s", reason);
    }

    out += sprintf(out, "\"} %llu\n", (unsigned long long) value);

    return out;
}


static char *
vpnws_prom_list(char *out, const vpnws_prom_metric_t *m,
    const vpnws_stats_t *s)
{
    for ( /* void */ ; m->name; m++) {
        out += sprintf(out, "# HELP %s %s\n# TYPE %s %s\n",
                       m->name, m->help, m->name, m->type);
        out = vpnws_prom_sample(out, m->name, s, NULL,
                                *(const uint64_t *)
                                    ((const char *) s + m->offset));
    }

    return out;
}


char *
vpnws_prom_render(char *out, const vpnws_stats_t *s)
{
    int  i;

    out += sprintf(out, "# HELP vpnws_build_info The vpnws build, its "
                   "version in a label.\n# TYPE vpnws_build_info gauge\n"
                   "vpnws_build_info{switch=\"");
    out = vpnws_prom_label(out, s->name);
    out += sprintf(out, "\",version=\"" VPNWS_VERSION "\"} 1\n");

    out = vpnws_prom_list(out, vpnws_prom_metrics, s);

    out += sprintf(out, "# HELP vpnws_drops_total Frames dropped, by "
                   "reason.\n# TYPE vpnws_drops_total counter\n");

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        out = vpnws_prom_sample(out, "vpnws_drops_total", s,
                                vpnws_drop_name((vpnws_drop_t) i),
                                s->drops[i]);
    }

    if (s->has_tap) {
        out = vpnws_prom_list(out, vpnws_prom_tap, s);
    }

    return out;
}


size_t
vpnws_prom_max(const vpnws_stats_t *s)
{
    /* every line at most 160 bytes plus the label, doubled when escaped */
    return (sizeof(vpnws_prom_metrics) / sizeof(vpnws_prom_metrics[0])
            + sizeof(vpnws_prom_tap) / sizeof(vpnws_prom_tap[0])
            + VPNWS_DROP_MAX + 3)
           * 3 * (160 + 2 * strlen(s->name));
}
