/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: offloaded super-frames (README, "Offload").  The tap is
 * opened with IFF_VNET_HDR and TUNSETOFFLOAD, so the kernel hands over
 * 64 KiB TCP segments behind a virtio-net header and takes them back.
 * When the server agreed (X-vpn-ws-Offload in the 101) every message
 * carries the header; otherwise the frames the server cannot take are
 * segmented and checksummed here, and the server sees plain frames.
 */


#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "vpnws_client.h"
#include "vpnws_gso.h"


static const uint8_t  vpnws_vnet_zero[VPNWS_VNET_HLEN];


void
vpnws_offload_probe(vpnws_client_t *cl)
{
    char      err[VPNWS_ERRLEN], set[VPNWS_OFFLOAD_STR_LEN];
    unsigned  got;

    if (!cl->tap_vnet) {
        return;
    }

    if (vpnws_tap_set_offload(cl->tap, VPNWS_OFFLOAD_ALL, &got, err,
                              sizeof(err))
        != 0)
    {
        vpnws_log(VPNWS_LOG_INFO, "tap %s: no offloads (%s): plain frames",
                  cl->ifname, err);
        cl->tap_caps = 0;
        return;
    }

    cl->tap_caps = got;
    vpnws_offload_format(got, set);
    vpnws_log(VPNWS_LOG_DEBUG, "tap %s offloads: %s", cl->ifname, set);
}


/* the server's answer is in: what the session carries and the tap makes */
int
vpnws_offload_start(vpnws_client_t *cl, char *err, size_t errlen)
{
    char      set[VPNWS_OFFLOAD_STR_LEN];
    unsigned  got;

    cl->reader.max_payload = cl->offload ? VPNWS_CLIENT_FRAME
                                         : VPNWS_TAP_MAX_FRAME;

    if (!cl->tap_caps) {
        return 0;
    }

    /*
     * Without the server's offload the tap keeps its own: a super-frame
     * cut here costs one read for ~44 segments (README, "Offload").
     */
    if (vpnws_tap_set_offload(cl->tap, cl->offload ? cl->offload
                                                   : cl->tap_caps,
                              &got, err, errlen)
        != 0)
    {
        return -1;
    }

    vpnws_offload_format(cl->offload, set);
    vpnws_log(VPNWS_LOG_DEBUG, "offload: %s", cl->offload
              ? set : "off (the server did not accept it), segmenting here");

    return 0;
}


/* a segment goes straight into the output, behind a zero header if wanted */
static uint8_t *
vpnws_offload_place(void *ctx, size_t len)
{
    uint8_t         *p;
    vpnws_client_t  *cl = ctx;

    if (!cl->offload) {
        return vpnws_place(cl, VPNWS_WS_OP_BINARY, len);
    }

    p = vpnws_place(cl, VPNWS_WS_OP_BINARY, VPNWS_VNET_HLEN + len);
    if (p == NULL) {
        return NULL;
    }

    memset(p, 0, VPNWS_VNET_HLEN);

    return p + VPNWS_VNET_HLEN;
}


static int
vpnws_offload_emit(void *ctx, uint8_t *seg, size_t len)
{
    vpnws_client_t  *cl = ctx;

    if (cl->offload) {
        vpnws_commit(cl, seg - VPNWS_VNET_HLEN, VPNWS_VNET_HLEN + len);

    } else {
        vpnws_commit(cl, seg, len);
    }

    return 0;
}


static void
vpnws_offload_bad(vpnws_client_t *cl, const char *from, vpnws_vnet_err_t e)
{
    if (cl->vnet_errors++ == 0) {
        vpnws_log(VPNWS_LOG_INFO, "frame from %s dropped: %s (counted, "
                  "logged once)", from, vpnws_vnet_strerror(e));
    }
}


/* the n bytes at p as one message: p is cl->frame or vpnws_tap_place() */
static void
vpnws_offload_send(vpnws_client_t *cl, uint8_t *p, size_t n)
{
    if (p == cl->frame) {
        (void) vpnws_send(cl, VPNWS_WS_OP_BINARY, p, n);

    } else {
        vpnws_send_placed(cl, p, n);
    }
}


/*
 * n bytes read from the tap into p, header first when the tap has one;
 * p is cl->frame, or the output's end when the frame is likely to go as
 * it is (plain taps, offload sessions).
 */
void
vpnws_offload_from_tap(vpnws_client_t *cl, uint8_t *p, size_t n)
{
    size_t              len, room;
    uint8_t            *frame;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_err_t    e;
    vpnws_vnet_frame_t  f;

    if (!cl->tap_vnet) {
        vpnws_offload_send(cl, p, n);
        return;
    }

    if (n < VPNWS_VNET_HLEN + VPNWS_ETH_HLEN) {
        return;
    }

    frame = p + VPNWS_VNET_HLEN;
    len = n - VPNWS_VNET_HLEN;

    vpnws_vnet_hdr_read(&h, p);
    e = vpnws_vnet_check(&f, &h, frame, len);

    if (e != VPNWS_VNET_OK) {
        vpnws_offload_bad(cl, "the tap", e);
        return;
    }

    if (cl->offload && (vpnws_vnet_needs(&f) & ~cl->offload) == 0) {
        cl->super_frames += f.gso;
        vpnws_offload_send(cl, p, n);
        return;
    }

    if (!f.gso) {
        vpnws_vnet_csum_complete(&f, frame, len);

        if (cl->offload) {
            memset(p, 0, VPNWS_VNET_HLEN);
            vpnws_offload_send(cl, p, n);

        } else {
            /* read into cl->frame: no offload, no placed read */
            (void) vpnws_send(cl, VPNWS_WS_OP_BINARY, frame, len);
        }

        return;
    }

    /* all segments or none: never half a super-frame */
    room = len - f.hlen + (size_t) f.segs * (f.hlen + VPNWS_VNET_HLEN
                                             + VPNWS_WS_MAX_HLEN);

    if (vpnws_out_free(cl) < room + VPNWS_OUT_RESERVE) {
        cl->tap_drops++;
        return;
    }

    cl->soft_segmented++;

    if (p != cl->frame) {
        /* the segments are built where the frame was read */
        memcpy(cl->frame, p, n);
        frame = cl->frame + VPNWS_VNET_HLEN;
    }

    (void) vpnws_gso_cut(&f, frame, len, vpnws_offload_place,
                         vpnws_offload_emit, cl);
}


/* a message from the server to the tap */
void
vpnws_offload_to_tap(vpnws_client_t *cl, uint8_t *data, size_t len)
{
    ssize_t             n;
    size_t              want;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_err_t    e;
    struct iovec        iov[2];
    vpnws_vnet_frame_t  f;

    if (cl->offload) {

        if (len < VPNWS_VNET_HLEN + VPNWS_ETH_HLEN) {
            cl->tap_drops++;
            return;
        }

        /* the kernel checks too, but it does not say which peer lied */
        vpnws_vnet_hdr_read(&h, data);
        e = vpnws_vnet_check(&f, &h, data + VPNWS_VNET_HLEN,
                             len - VPNWS_VNET_HLEN);

        if (e != VPNWS_VNET_OK) {
            vpnws_offload_bad(cl, "the server", e);
            return;
        }

        cl->super_frames += f.gso;
        n = write(cl->tap, data, len);
        want = len;

    } else if (len < VPNWS_ETH_HLEN) {
        cl->tap_drops++;
        return;

    } else if (cl->tap_vnet) {
        iov[0].iov_base = (void *) vpnws_vnet_zero;
        iov[0].iov_len = VPNWS_VNET_HLEN;
        iov[1].iov_base = data;
        iov[1].iov_len = len;
        n = writev(cl->tap, iov, 2);
        want = VPNWS_VNET_HLEN + len;

    } else {
        n = write(cl->tap, data, len);
        want = len;
    }

    if (n != (ssize_t) want) {
        if (cl->tap_drops++ == 0) {
            vpnws_log(VPNWS_LOG_DEBUG, "write(tap %s): %s", cl->ifname,
                      n == -1 ? strerror(errno) : "short write");
        }

        return;
    }

    cl->rx_frames++;
}
