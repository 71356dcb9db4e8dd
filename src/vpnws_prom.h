/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: switch metrics in the Prometheus text exposition format,
 * shared by module and daemon.
 */

#ifndef _VPNWS_PROM_H_INCLUDED_
#define _VPNWS_PROM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_switch.h"


typedef struct {
    const char         *name;           /* the switch, NUL-terminated */
    uint64_t            peers;
    uint64_t            local_peers;    /* peers without the tap */
    uint64_t            peers_max;
    uint64_t            bridges;
    uint64_t            macs;
    uint64_t            macs_max;
    uint64_t            frames_in;
    uint64_t            frames_out;
    uint64_t            bytes_in;
    uint64_t            bytes_out;
    uint64_t            drops[VPNWS_DROP_MAX];
    uint64_t            super_frames;
    uint64_t            soft_segmented;
    int                 has_tap;
    uint64_t            remote_macs;    /* behind the tap: other hosts' */
    uint64_t            tap_frames_in;
    uint64_t            tap_frames_out;
    uint64_t            tap_bytes_in;
    uint64_t            tap_bytes_out;
} vpnws_stats_t;


char *vpnws_prom_render(char *out, const vpnws_stats_t *s);
size_t vpnws_prom_max(const vpnws_stats_t *s);


#endif /* _VPNWS_PROM_H_INCLUDED_ */
