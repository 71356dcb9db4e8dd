/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the server tap (--tuntap): a port of the switch like a peer;
 * with --bridge it learns every MAC behind it and takes unknown unicast.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "vpnwsd.h"
#include "vpnws_tap.h"
#include "vpnws_hook.h"


int
vpnwsd_tap_open(void)
{
    int                  fd, rc;
    char                 err[256], text[VPNWS_MAC_STR_LEN + 1];
    uint8_t              mac[VPNWS_MAC_LEN];
    vpnwsd_conn_t       *c;
    vpnws_switch_ctx_t   ctx;

    fd = vpnws_tap_open(vpnwsd.tuntap, 0, vpnwsd.tap_name, err, sizeof(err));
    if (fd == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\": %s", vpnwsd.tuntap, err);
        return -1;
    }

    if (vpnws_tap_up(vpnwsd.tap_name, err, sizeof(err)) != 0) {
        vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\": %s", vpnwsd.tap_name, err);
        (void) close(fd);
        return -1;
    }

    c = vpnwsd_conn_new(fd, VPNWSD_TAP);
    if (c == NULL) {
        (void) close(fd);
        return -1;
    }

    c->state.port.flags = VPNWS_PORT_TAP
                          | (vpnwsd.bridge ? VPNWS_PORT_BRIDGE : 0);

    /* a bridge tap holds a LAN or other hosts' stations */
    c->state.max_macs = vpnws_switch_tap_macs(&vpnwsd.conf, vpnwsd.max_peers,
                                              vpnwsd.max_macs);

    if (vpnwsd_port_add(c) == 0) {
        vpnwsd_conn_free(c);
        return -1;
    }

    snprintf(c->addr, sizeof(c->addr), "tap:%s", vpnwsd.tap_name);

    vpnwsd.tap = c;

    /* not a bridge: the tap owns its own MAC, reachable at once */

    if (!vpnwsd.bridge
        && vpnws_tap_get_mac(vpnwsd.tap_name, mac, err, sizeof(err)) == 0)
    {
        vpnwsd_switch_ctx(&ctx);
        rc = vpnws_switch_claim(&ctx, &c->state, mac);

        if (rc != 0) {
            vpnws_mac_format(mac, text);
            vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\": cannot claim MAC %s",
                       vpnwsd.tap_name, text);
        }
    }

    vpnwsd_log(VPNWSD_LOG_NOTICE, "tap \"%s\" is port %llu%s", vpnwsd.tap_name,
               (unsigned long long) c->state.port.id,
               vpnwsd.bridge ? " (bridge)" : "");

    return 0;
}


void
vpnwsd_tap_read(vpnwsd_conn_t *c)
{
    ssize_t   n;
    uint32_t  rounds;

    for (rounds = 0; rounds < VPNWS_PORT_READ_ROUNDS * 8; rounds++) {

        n = read(c->fd, vpnwsd.host.rbuf, vpnwsd.host.rbuf_size);

        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\": read() failed: %s, "
                       "exiting", vpnwsd.tap_name, strerror(errno));
            vpnwsd_quit = 2;
            return;
        }

        if (n == 0) {
            vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\" is gone, exiting",
                       vpnwsd.tap_name);
            vpnwsd_quit = 2;
            return;
        }

        c->stats.rx += n;
        c->stats.frames_in++;

        vpnwsd_switch_frame(c, vpnwsd.host.rbuf, (size_t) n);
    }
}


void
vpnwsd_tap_write(vpnwsd_conn_t *c, const uint8_t *frame, size_t len)
{
    ssize_t  n;

    n = write(c->fd, frame, len);

    if (n == -1) {
        /* the kernel queue is full: an L2 switch drops */
        c->stats.drops++;
        vpnwsd.drops[VPNWS_DROP_QUEUE_FULL]++;

        if (errno != EAGAIN && errno != EWOULDBLOCK && !c->werr) {
            c->werr = 1;
            vpnwsd_log(VPNWSD_LOG_ERR, "tap \"%s\": write() failed: %s",
                       vpnwsd.tap_name, strerror(errno));
        }

        return;
    }

    c->stats.tx += n;
    c->stats.frames_out++;
}


/* a station joined: announce it behind a bridge tap (see vpnws_switch.h) */
void
vpnwsd_tap_announce(vpnwsd_conn_t *src)
{
    size_t   n;
    uint8_t  frame[VPNWS_ANNOUNCE_LEN];

    if (vpnwsd.tap == NULL) {
        return;
    }

    n = vpnws_switch_announce(&src->state, vpnwsd.tap->state.port.flags,
                              frame);

    if (n) {
        vpnwsd_tap_write(vpnwsd.tap, frame, n);
    }
}


void
vpnwsd_tap_close(void)
{
    if (vpnwsd.tap) {
        vpnwsd_conn_free(vpnwsd.tap);
        vpnwsd.tap = NULL;
    }
}


int
vpnwsd_tap_exec(void)
{
    char  err[512];

    if (vpnws_hook_run(vpnwsd.exec, vpnwsd.tap_name[0] ? vpnwsd.tap_name
                                                       : NULL,
                       vpnwsd.socket, err, sizeof(err))
        != 0)
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "--exec: %s", err);
        return -1;
    }

    return 0;
}
