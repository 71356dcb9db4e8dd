/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_vnet_check() and vpnws_gso_segment() on any bytes.
 * Input: a 10-byte virtio-net header, then the frame.  Seeds: the kernel
 * vectors of t/unit/vnet.  Invariants: nothing is read or written out of
 * bounds (exact-size heap copies), every segment fits gso_size plus the
 * headers, the payloads add up, and every segment's IPv4 header and TCP
 * checksums verify.
 */


#include "fuzz.h"
#include "vpnws_gso.h"
#include "vpnws_vnet.h"


typedef struct {
    const vpnws_vnet_frame_t  *f;
    const uint8_t             *frame;
    size_t                     len;
    size_t                     n;
    size_t                     payload;
} fuzz_gso_t;


static uint16_t
fuzz_tcp_sum(const vpnws_vnet_frame_t *f, const uint8_t *seg, size_t len)
{
    uint32_t  sum;

    sum = f->ipv6 ? vpnws_csum_add(0, seg + f->l3 + 8, 32)
                  : vpnws_csum_add(0, seg + f->l3 + 12, 8);
    sum += 6 + (uint32_t) (len - f->l4);

    return vpnws_csum_fold(vpnws_csum_add(sum, seg + f->l4, len - f->l4));
}


static int
fuzz_emit(void *ctx, uint8_t *seg, size_t len)
{
    fuzz_gso_t                *g = ctx;
    const vpnws_vnet_frame_t  *f = g->f;

    g->n++;

    if (!f->gso) {
        fuzz_assert(len == g->len);
        g->payload = len;
        return 0;
    }

    fuzz_assert(len > f->hlen && len <= (size_t) f->hlen + f->hdr.gso_size);
    fuzz_assert(memcmp(seg, g->frame, f->l3) == 0);

    /* the payload is the frame's, in order */
    fuzz_assert(memcmp(seg + f->hlen, g->frame + f->hlen + g->payload,
                       len - f->hlen) == 0);
    g->payload += len - f->hlen;

    if (f->ipv6) {
        fuzz_assert(vpnws_get16(seg + f->l3 + 4) == len - f->l3 - 40);

    } else {
        fuzz_assert(vpnws_get16(seg + f->l3 + 2) == len - f->l3);
        fuzz_assert(vpnws_csum_fold(vpnws_csum_add(0, seg + f->l3,
                                                   f->l4 - f->l3))
                    == 0xffff);
    }

    fuzz_assert(fuzz_tcp_sum(f, seg, len) == 0xffff);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    size_t              len, need;
    uint8_t            *frame, *buf;
    fuzz_gso_t          g;
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_frame_t  f;

    if (size < VPNWS_VNET_HLEN) {
        return 0;
    }

    vpnws_vnet_hdr_read(&h, data);
    len = size - VPNWS_VNET_HLEN;

    /* exact copies: reads past the end are caught */
    frame = malloc(len ? len : 1);
    memcpy(frame, data + VPNWS_VNET_HLEN, len);

    if (vpnws_vnet_check(&f, &h, frame, len) != VPNWS_VNET_OK) {
        free(frame);
        return 0;
    }

    fuzz_assert(f.segs >= 1 && f.segs <= VPNWS_VNET_SEGS_MAX);

    if (f.gso) {
        fuzz_assert(f.l3 >= 14 && f.l3 < f.l4 && f.l4 < f.hlen
                    && f.hlen < len);
    }

    need = vpnws_gso_buf_size(&f, len);
    buf = malloc(need);

    memset(&g, 0, sizeof(g));
    g.f = &f;
    g.frame = frame;
    g.len = len;

    rc = vpnws_gso_segment(&f, frame, len, buf, need, fuzz_emit, &g);

    fuzz_assert(rc == (int) f.segs && g.n == f.segs);
    fuzz_assert(g.payload == (f.gso ? len - f.hlen : len));

    free(buf);
    free(frame);

    return 0;
}
