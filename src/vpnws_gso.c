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

/* ethernet, two VLAN tags, IPv4 with options, TCP with options: 142 */
#define VPNWS_GSO_HDR_MAX       160


/* what every segment starts from, made once a super-frame */
typedef struct {
    uint8_t                    hdr[VPNWS_GSO_HDR_MAX];
    uint32_t                   ip_sum;     /* IPv4 header, len/id/csum 0 */
    uint32_t                   pseudo;     /* addresses and protocol */
    uint32_t                   seq;
    uint16_t                   id;
    const vpnws_vnet_frame_t  *f;
} vpnws_gso_tmpl_t;


typedef struct {
    uint8_t                   *buf;
    vpnws_gso_emit_pt          emit;
    void                      *ctx;
} vpnws_gso_fixed_t;


static void vpnws_gso_tmpl(vpnws_gso_tmpl_t *t, const vpnws_vnet_frame_t *f,
    const uint8_t *frame);
static void vpnws_gso_build(const vpnws_gso_tmpl_t *t, uint8_t *seg,
    const uint8_t *payload, size_t plen, size_t i);
static uint8_t *vpnws_gso_fixed_place(void *ctx, size_t len);
static int vpnws_gso_fixed_emit(void *ctx, uint8_t *seg, size_t len);


int
vpnws_gso_segment(const vpnws_vnet_frame_t *f, const uint8_t *frame,
    size_t len, uint8_t *buf, size_t size, vpnws_gso_emit_pt emit, void *ctx)
{
    vpnws_gso_fixed_t  fx;

    if (size < vpnws_gso_buf_size(f, len)) {
        return -1;
    }

    fx.buf = buf;
    fx.emit = emit;
    fx.ctx = ctx;

    return vpnws_gso_cut(f, frame, len, vpnws_gso_fixed_place,
                         vpnws_gso_fixed_emit, &fx);
}


int
vpnws_gso_cut(const vpnws_vnet_frame_t *f, const uint8_t *frame, size_t len,
    vpnws_gso_place_pt place, vpnws_gso_emit_pt emit, void *ctx)
{
    size_t            i, off, plen;
    uint8_t          *seg;
    vpnws_gso_tmpl_t  t;

    if (!f->gso) {
        seg = place(ctx, len);
        if (seg == NULL) {
            return -1;
        }

        memcpy(seg, frame, len);
        vpnws_vnet_csum_complete(f, seg, len);

        return emit(ctx, seg, len) == 0 ? 1 : -1;
    }

    if (f->hlen > VPNWS_GSO_HDR_MAX) {
        /* vpnws_vnet_check() allows 142 bytes at most */
        return -1;
    }

    vpnws_gso_tmpl(&t, f, frame);

    for (i = 0, off = f->hlen; off < len; i++, off += plen) {

        plen = len - off;

        if (plen > f->hdr.gso_size) {
            plen = f->hdr.gso_size;
        }

        seg = place(ctx, f->hlen + plen);
        if (seg == NULL) {
            return -1;
        }

        vpnws_gso_build(&t, seg, frame + off, plen, i);

        if (emit(ctx, seg, f->hlen + plen) != 0) {
            return -1;
        }
    }

    return (int) i;
}


/* the headers with the fields segments change zeroed, and fixed sums */
static void
vpnws_gso_tmpl(vpnws_gso_tmpl_t *t, const vpnws_vnet_frame_t *f,
    const uint8_t *frame)
{
    uint8_t  *ip, *th;

    t->f = f;
    memcpy(t->hdr, frame, f->hlen);

    ip = t->hdr + f->l3;
    th = t->hdr + f->l4;

    if (f->ipv6) {
        vpnws_put16(ip + 4, 0);
        t->pseudo = vpnws_csum_add(0, ip + 8, 32);
        t->ip_sum = 0;
        t->id = 0;

    } else {
        t->id = vpnws_get16(ip + 4);
        vpnws_put16(ip + 2, 0);
        vpnws_put16(ip + 4, 0);
        vpnws_put16(ip + 10, 0);
        t->ip_sum = vpnws_csum_add(0, ip, f->l4 - f->l3);
        t->pseudo = vpnws_csum_add(0, ip + 12, 8);
    }

    t->pseudo += 6;                                 /* IPPROTO_TCP */

    t->seq = (uint32_t) th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
    vpnws_put16(th + 16, 0);
}


/* segment i, plen payload bytes, at seg: headers from the template */
static void
vpnws_gso_build(const vpnws_gso_tmpl_t *t, uint8_t *seg,
    const uint8_t *payload, size_t plen, size_t i)
{
    size_t                     len, tcplen;
    uint8_t                   *ip, *th;
    uint16_t                   id;
    uint32_t                   seq;
    const vpnws_vnet_frame_t  *f;

    f = t->f;
    len = f->hlen + plen;
    tcplen = len - f->l4;

    memcpy(seg, t->hdr, f->hlen);
    memcpy(seg + f->hlen, payload, plen);

    ip = seg + f->l3;
    th = seg + f->l4;

    if (f->ipv6) {
        vpnws_put16(ip + 4, (uint16_t) tcplen);

    } else {
        id = (uint16_t) (t->id + i);
        vpnws_put16(ip + 2, (uint16_t) (len - f->l3));
        vpnws_put16(ip + 4, id);
        vpnws_put16(ip + 10, (uint16_t) ~vpnws_csum_fold(t->ip_sum
                                                 + (uint32_t) (len - f->l3)
                                                 + id));
    }

    seq = t->seq + (uint32_t) (i * f->hdr.gso_size);
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

    vpnws_put16(th + 16, (uint16_t) ~vpnws_csum_fold(
                             vpnws_csum_add(t->pseudo + (uint32_t) tcplen,
                                            th, tcplen)));
}


static uint8_t *
vpnws_gso_fixed_place(void *ctx, size_t len)
{
    vpnws_gso_fixed_t  *fx = ctx;

    (void) len;

    return fx->buf;
}


static int
vpnws_gso_fixed_emit(void *ctx, uint8_t *seg, size_t len)
{
    vpnws_gso_fixed_t  *fx = ctx;

    return fx->emit(fx->ctx, seg, len);
}
