/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws-gso: a fixed software-segmentation workload, for instruction
 * counts (valgrind --tool=callgrind build/bench/vpnws-gso) and timing.
 * A 64 KiB IPv4 (or with -6 IPv6) TCP super-frame as the Linux stack
 * hands a tap (NEEDS_CSUM, TSO, gso_size 1448, timestamps) is cut N times
 * into plain frames, each framed as a server-to-client websocket message
 * in an output buffer, as the module does for a peer without offload.
 *
 *   vpnws-gso [-6] [-c] [N]   N super-frames (1000); prints ns per segment
 *
 * -c: through one segment buffer and a copy into the output, as callers
 * of vpnws_gso_segment() do, instead of vpnws_gso_cut() straight into it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpnws_gso.h"
#include "vpnws_ws.h"


#define GSO_MSS         1448
#define GSO_PAYLOAD     (45 * GSO_MSS)          /* 65160: 45 segments */
#define GSO_OUT_SIZE    (2 * VPNWS_VNET_FRAME_MAX)


typedef struct {
    uint8_t   *out;
    size_t     last;
    size_t     segs;
} gso_out_t;


static uint8_t  gso_frame[VPNWS_VNET_HLEN + VPNWS_VNET_FRAME_MAX];
static uint8_t  gso_seg[VPNWS_VNET_FRAME_MAX];
static uint8_t  gso_buf[GSO_OUT_SIZE];


/* what a peer's output does: each segment built behind its websocket header */
static uint8_t *
gso_place(void *ctx, size_t len)
{
    gso_out_t  *o = ctx;

    o->last += vpnws_ws_header(o->out + o->last, VPNWS_WS_OP_BINARY, len,
                               NULL);

    return o->out + o->last;
}


static int
gso_emit(void *ctx, uint8_t *seg, size_t len)
{
    gso_out_t  *o = ctx;

    (void) seg;

    o->last += len;
    o->segs++;

    return 0;
}


/* the same through one segment buffer and a copy (vpnws_gso_segment()) */
static int
gso_emit_copy(void *ctx, uint8_t *seg, size_t len)
{
    gso_out_t  *o = ctx;

    gso_place(o, len);
    memcpy(o->out + o->last, seg, len);

    return gso_emit(o, seg, len);
}


/* ethernet, IP, TCP with timestamps, payload; returns the frame's length */
static size_t
gso_build(uint8_t *p, int ipv6, vpnws_vnet_hdr_t *h)
{
    size_t    i, l3, l4, hlen, len;
    uint8_t  *ip, *th, pseudo[4];
    uint32_t  sum;

    memcpy(p, "\x02\x31\x00\x00\x00\x0b\x02\x31\x00\x00\x00\x0a", 12);
    l3 = 14;

    if (ipv6) {
        vpnws_put16(p + 12, 0x86dd);
        l4 = l3 + 40;

    } else {
        vpnws_put16(p + 12, 0x0800);
        l4 = l3 + 20;
    }

    hlen = l4 + 32;
    len = hlen + GSO_PAYLOAD;
    ip = p + l3;
    th = p + l4;
    memset(ip, 0, hlen - l3);

    if (ipv6) {
        ip[0] = 0x60;
        vpnws_put16(ip + 4, (uint16_t) (len - l4));
        ip[6] = 6;
        ip[7] = 64;
        ip[8] = 0xfd;
        ip[23] = 1;
        ip[24] = 0xfd;
        ip[39] = 2;
        sum = vpnws_csum_add(0, ip + 8, 32);

    } else {
        ip[0] = 0x45;
        vpnws_put16(ip + 2, (uint16_t) (len - l3));
        vpnws_put16(ip + 4, 0x1234);
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        memcpy(ip + 12, "\x0a\xe7\x64\x01\x0a\xe7\x64\x02", 8);
        vpnws_put16(ip + 10, (uint16_t) ~vpnws_csum_fold(vpnws_csum_add(0,
                                                                 ip, 20)));
        sum = vpnws_csum_add(0, ip + 12, 8);
    }

    vpnws_put16(th, 40000);
    vpnws_put16(th + 2, 5201);
    memcpy(th + 4, "\x10\x20\x30\x40\x50\x60\x70\x80", 8);
    th[12] = 8 << 4;
    th[13] = 0x18;                                      /* ACK PSH */
    vpnws_put16(th + 14, 512);
    memcpy(th + 20, "\x01\x01\x08\x0a\x00\x01\x02\x03\x04\x05\x06\x07", 12);

    for (i = hlen; i < len; i++) {
        p[i] = (uint8_t) (i * 7 + (i >> 8));
    }

    /* the pseudo-header sum in the checksum field, as a sender leaves it */
    pseudo[0] = 0;
    pseudo[1] = 6;
    vpnws_put16(pseudo + 2, (uint16_t) (len - l4));
    sum = vpnws_csum_add(sum, pseudo, 4);
    vpnws_put16(th + 16, vpnws_csum_fold(sum));

    h->flags = VPNWS_VNET_F_NEEDS_CSUM;
    h->gso_type = ipv6 ? VPNWS_VNET_GSO_TCPV6 : VPNWS_VNET_GSO_TCPV4;
    h->hdr_len = (uint16_t) hlen;
    h->gso_size = GSO_MSS;
    h->csum_start = (uint16_t) l4;
    h->csum_offset = 16;

    return len;
}


int
main(int argc, char **argv)
{
    int                 ipv6, copy, rc;
    long                i, n;
    size_t              len;
    uint32_t            check;
    gso_out_t           o;
    struct timespec     t0, t1;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_frame_t  f;

    ipv6 = 0;
    copy = 0;

    while (argc > 1 && argv[1][0] == '-') {
        if (strcmp(argv[1], "-6") == 0) {
            ipv6 = 1;

        } else if (strcmp(argv[1], "-c") == 0) {
            copy = 1;

        } else {
            fprintf(stderr, "usage: vpnws-gso [-6] [-c] [N]\n");
            return 2;
        }

        argc--;
        argv++;
    }

    n = argc > 1 ? atol(argv[1]) : 1000;

    len = gso_build(gso_frame, ipv6, &h);

    if (vpnws_vnet_check(&f, &h, gso_frame, len) != VPNWS_VNET_OK) {
        fprintf(stderr, "vpnws-gso: the super-frame does not check\n");
        return 1;
    }

    o.out = gso_buf;
    o.segs = 0;
    check = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n; i++) {
        o.last = 0;

        rc = copy ? vpnws_gso_segment(&f, gso_frame, len, gso_seg,
                                      sizeof(gso_seg), gso_emit_copy, &o)
                  : vpnws_gso_cut(&f, gso_frame, len, gso_place, gso_emit,
                                  &o);

        if (rc != f.segs) {
            fprintf(stderr, "vpnws-gso: segmentation failed\n");
            return 1;
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    /* the same every time: a sum of the last output tells builds apart */
    check = vpnws_csum_fold(vpnws_csum_add(0, gso_buf, o.last));

    printf("%s%s: %ld super-frames, %zu segments, %.1f ns per segment "
           "(output sum %08x)\n", ipv6 ? "ipv6" : "ipv4",
           copy ? " through a copy" : "", n, o.segs,
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
           / (double) o.segs, check);

    return 0;
}
