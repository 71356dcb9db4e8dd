/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: software segmentation of offloaded TCP super-frames.
 */


#include <string.h>

#include "vpnws_gso.h"


#define VPNWS_TCP_FIN           0x01
#define VPNWS_TCP_PSH           0x08
#define VPNWS_TCP_CWR           0x80


static void vpnws_gso_fix(const vpnws_vnet_frame_t *f, uint8_t *seg,
    size_t plen, size_t i);
static uint16_t vpnws_gso_tcp_csum(const vpnws_vnet_frame_t *f,
    const uint8_t *seg, size_t len);


int
vpnws_gso_segment(const vpnws_vnet_frame_t *f, const uint8_t *frame,
    size_t len, uint8_t *buf, size_t size, vpnws_gso_emit_pt emit, void *ctx)
{
    size_t  i, off, plen, payload;

    if (size < vpnws_gso_buf_size(f, len)) {
        return -1;
    }

    if (!f->gso) {
        memcpy(buf, frame, len);
        vpnws_vnet_csum_complete(f, buf, len);

        return emit(ctx, buf, len) == 0 ? 1 : -1;
    }

    payload = len - f->hlen;

    for (i = 0, off = f->hlen; off < len; i++, off += plen) {

        plen = payload - (off - f->hlen);

        if (plen > f->hdr.gso_size) {
            plen = f->hdr.gso_size;
        }

        memcpy(buf, frame, f->hlen);
        memcpy(buf + f->hlen, frame + off, plen);

        vpnws_gso_fix(f, buf, plen, i);

        if (emit(ctx, buf, f->hlen + plen) != 0) {
            return -1;
        }
    }

    return (int) i;
}


/* the headers of segment i, plen payload bytes, from the copied ones */
static void
vpnws_gso_fix(const vpnws_vnet_frame_t *f, uint8_t *seg, size_t plen,
    size_t i)
{
    size_t    len, ihl;
    uint8_t  *ip, *th;
    uint32_t  seq;
    uint16_t  csum;

    len = f->hlen + plen;
    ip = seg + f->l3;
    th = seg + f->l4;

    if (f->ipv6) {
        vpnws_put16(ip + 4, (uint16_t) (len - f->l3 - 40));

    } else {
        ihl = f->l4 - f->l3;
        vpnws_put16(ip + 2, (uint16_t) (len - f->l3));
        vpnws_put16(ip + 4, (uint16_t) (vpnws_get16(ip + 4) + i));
        vpnws_put16(ip + 10, 0);
        csum = (uint16_t) ~vpnws_csum_fold(vpnws_csum_add(0, ip, ihl));
        vpnws_put16(ip + 10, csum);
    }

    seq = (uint32_t) th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
    seq += (uint32_t) (i * f->hdr.gso_size);
    th[4] = (uint8_t) (seq >> 24);
    th[5] = (uint8_t) (seq >> 16);
    th[6] = (uint8_t) (seq >> 8);
    th[7] = (uint8_t) seq;

    if (i + 1 < f->segs) {
        th[13] &= (uint8_t) ~(VPNWS_TCP_FIN | VPNWS_TCP_PSH);
    }

    if (i > 0) {
        th[13] &= (uint8_t) ~VPNWS_TCP_CWR;
    }

    vpnws_put16(th + 16, 0);
    vpnws_put16(th + 16, vpnws_gso_tcp_csum(f, seg, len));
}


static uint16_t
vpnws_gso_tcp_csum(const vpnws_vnet_frame_t *f, const uint8_t *seg,
    size_t len)
{
    size_t          tcplen;
    uint8_t         pseudo[4];
    uint32_t        sum;
    const uint8_t  *ip;

    ip = seg + f->l3;
    tcplen = len - f->l4;

    pseudo[0] = 0;
    pseudo[1] = 6;
    vpnws_put16(pseudo + 2, (uint16_t) tcplen);

    if (f->ipv6) {
        sum = vpnws_csum_add(0, ip + 8, 32);

    } else {
        sum = vpnws_csum_add(0, ip + 12, 8);
    }

    sum = vpnws_csum_add(sum, pseudo, 4);
    sum = vpnws_csum_add(sum, seg + f->l4, tcplen);

    return (uint16_t) ~vpnws_csum_fold(sum);
}
