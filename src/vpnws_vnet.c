/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the virtio-net header in front of offloaded frames.
 */


#include <string.h>
#include <strings.h>

#include "vpnws_vnet.h"


#define VPNWS_ETH_P_IP          0x0800
#define VPNWS_ETH_P_IPV6        0x86dd
#define VPNWS_ETH_P_8021Q       0x8100
#define VPNWS_ETH_P_8021AD      0x88a8
#define VPNWS_VLAN_DEPTH        2
#define VPNWS_IPPROTO_TCP       6
#define VPNWS_TCP_CSUM_OFFSET   16


static const char  *vpnws_vnet_errors[VPNWS_VNET_EMAX][2] = {
    { "ok",           "ok" },
    { "vnet_short",   "frame shorter than its headers" },
    { "vnet_big",     "frame larger than 64 KiB" },
    { "vnet_flags",   "unknown virtio-net header flags" },
    { "vnet_hdr_len", "hdr_len beyond the frame" },
    { "vnet_csum",    "bad csum_start or csum_offset" },
    { "vnet_gso_type", "unsupported GSO type" },
    { "vnet_gso_size", "bad gso_size" },
    { "vnet_proto",   "GSO frame is not IPv4 or IPv6 TCP" },
    { "vnet_ip",      "IP header does not match the frame" },
    { "vnet_tcp",     "TCP header does not match the frame" },
};


static const struct {
    const char  *name;
    size_t       len;
    unsigned     bit;
} vpnws_offload_names[] = {
    { "csum", 4, VPNWS_OFFLOAD_CSUM },
    { "tso4", 4, VPNWS_OFFLOAD_TSO4 },
    { "tso6", 4, VPNWS_OFFLOAD_TSO6 },
    { "ecn",  3, VPNWS_OFFLOAD_ECN },
};


static vpnws_vnet_err_t vpnws_vnet_check_gso(vpnws_vnet_frame_t *f,
    const uint8_t *frame, size_t len);
static vpnws_vnet_err_t vpnws_vnet_check_ip(vpnws_vnet_frame_t *f,
    const uint8_t *frame, size_t len);


void
vpnws_vnet_hdr_read(vpnws_vnet_hdr_t *h, const uint8_t *p)
{
    h->flags = p[0];
    h->gso_type = p[1];
    h->hdr_len = (uint16_t) (p[2] | p[3] << 8);
    h->gso_size = (uint16_t) (p[4] | p[5] << 8);
    h->csum_start = (uint16_t) (p[6] | p[7] << 8);
    h->csum_offset = (uint16_t) (p[8] | p[9] << 8);
}


void
vpnws_vnet_hdr_write(const vpnws_vnet_hdr_t *h, uint8_t *p)
{
    p[0] = h->flags;
    p[1] = h->gso_type;
    p[2] = (uint8_t) h->hdr_len;
    p[3] = (uint8_t) (h->hdr_len >> 8);
    p[4] = (uint8_t) h->gso_size;
    p[5] = (uint8_t) (h->gso_size >> 8);
    p[6] = (uint8_t) h->csum_start;
    p[7] = (uint8_t) (h->csum_start >> 8);
    p[8] = (uint8_t) h->csum_offset;
    p[9] = (uint8_t) (h->csum_offset >> 8);
}


vpnws_vnet_err_t
vpnws_vnet_check(vpnws_vnet_frame_t *f, const vpnws_vnet_hdr_t *h,
    const uint8_t *frame, size_t len)
{
    f->hdr = *h;
    f->l3 = 0;
    f->l4 = 0;
    f->hlen = 0;
    f->segs = 1;
    f->ipv6 = 0;
    f->gso = 0;

    if (len > VPNWS_VNET_FRAME_MAX) {
        return VPNWS_VNET_EBIG;
    }

    if (len < 14) {
        return VPNWS_VNET_ESHORT;
    }

    if (h->flags & ~(VPNWS_VNET_F_NEEDS_CSUM | VPNWS_VNET_F_DATA_VALID)) {
        return VPNWS_VNET_EFLAGS;
    }

    if (h->hdr_len > len) {
        return VPNWS_VNET_EHDRLEN;
    }

    if ((h->flags & VPNWS_VNET_F_NEEDS_CSUM)
        && (h->csum_start < 14
            || (size_t) h->csum_start + h->csum_offset + 2 > len))
    {
        return VPNWS_VNET_ECSUM;
    }

    if (h->gso_type == VPNWS_VNET_GSO_NONE) {
        return VPNWS_VNET_OK;
    }

    return vpnws_vnet_check_gso(f, frame, len);
}


static vpnws_vnet_err_t
vpnws_vnet_check_gso(vpnws_vnet_frame_t *f, const uint8_t *frame, size_t len)
{
    size_t            doff, payload, segs;
    vpnws_vnet_err_t  rc;

    switch (f->hdr.gso_type & ~VPNWS_VNET_GSO_ECN) {

    case VPNWS_VNET_GSO_TCPV4:
        break;

    case VPNWS_VNET_GSO_TCPV6:
        f->ipv6 = 1;
        break;

    default:
        return VPNWS_VNET_EGSOTYPE;
    }

    if (f->hdr.gso_size == 0) {
        return VPNWS_VNET_EGSOSIZE;
    }

    /* the kernel's TSO frames always ask for the TCP checksum */
    if (!(f->hdr.flags & VPNWS_VNET_F_NEEDS_CSUM)
        || f->hdr.csum_offset != VPNWS_TCP_CSUM_OFFSET)
    {
        return VPNWS_VNET_ECSUM;
    }

    rc = vpnws_vnet_check_ip(f, frame, len);
    if (rc != VPNWS_VNET_OK) {
        return rc;
    }

    if (f->hdr.csum_start != f->l4) {
        return VPNWS_VNET_ECSUM;
    }

    if ((size_t) f->l4 + 20 > len) {
        return VPNWS_VNET_ESHORT;
    }

    doff = (size_t) (frame[f->l4 + 12] >> 4) * 4;

    if (doff < 20 || f->l4 + doff > len) {
        return VPNWS_VNET_ETCP;
    }

    f->hlen = (uint16_t) (f->l4 + doff);
    payload = len - f->hlen;

    /* as the kernel: a frame that fits one segment is not a GSO frame */
    if (payload <= f->hdr.gso_size) {
        return VPNWS_VNET_OK;
    }

    segs = (payload + f->hdr.gso_size - 1) / f->hdr.gso_size;

    if (segs > VPNWS_VNET_SEGS_MAX) {
        return VPNWS_VNET_EGSOSIZE;
    }

    f->segs = (uint16_t) segs;
    f->gso = 1;

    return VPNWS_VNET_OK;
}


static vpnws_vnet_err_t
vpnws_vnet_check_ip(vpnws_vnet_frame_t *f, const uint8_t *frame, size_t len)
{
    size_t    off, ihl, n;
    uint16_t  type;

    off = 12;
    type = vpnws_get16(frame + off);

    for (n = 0; n < VPNWS_VLAN_DEPTH; n++) {

        if (type != VPNWS_ETH_P_8021Q && type != VPNWS_ETH_P_8021AD) {
            break;
        }

        off += 4;

        if (off + 2 > len) {
            return VPNWS_VNET_ESHORT;
        }

        type = vpnws_get16(frame + off);
    }

    off += 2;
    f->l3 = (uint16_t) off;

    if (type != (f->ipv6 ? VPNWS_ETH_P_IPV6 : VPNWS_ETH_P_IP)) {
        return VPNWS_VNET_EPROTO;
    }

    if (f->ipv6) {
        if (off + 40 > len) {
            return VPNWS_VNET_ESHORT;
        }

        if ((frame[off] >> 4) != 6
            || vpnws_get16(frame + off + 4) != len - off - 40)
        {
            return VPNWS_VNET_EIP;
        }

        /* extension headers are not segmented here */
        if (frame[off + 6] != VPNWS_IPPROTO_TCP) {
            return VPNWS_VNET_EPROTO;
        }

        f->l4 = (uint16_t) (off + 40);

        return VPNWS_VNET_OK;
    }

    if (off + 20 > len) {
        return VPNWS_VNET_ESHORT;
    }

    ihl = (size_t) (frame[off] & 0x0f) * 4;

    /* version, header length, total length; fragments never segment */
    if ((frame[off] >> 4) != 4
        || ihl < 20
        || off + ihl > len
        || vpnws_get16(frame + off + 2) != len - off
        || (vpnws_get16(frame + off + 6) & 0x3fff) != 0)
    {
        return VPNWS_VNET_EIP;
    }

    if (frame[off + 9] != VPNWS_IPPROTO_TCP) {
        return VPNWS_VNET_EPROTO;
    }

    f->l4 = (uint16_t) (off + ihl);

    return VPNWS_VNET_OK;
}


const char *
vpnws_vnet_strerror(vpnws_vnet_err_t err)
{
    if ((unsigned) err >= VPNWS_VNET_EMAX) {
        return "unknown error";
    }

    return vpnws_vnet_errors[err][1];
}


const char *
vpnws_vnet_errname(vpnws_vnet_err_t err)
{
    if ((unsigned) err >= VPNWS_VNET_EMAX) {
        return "vnet_unknown";
    }

    return vpnws_vnet_errors[err][0];
}


void
vpnws_vnet_csum_complete(const vpnws_vnet_frame_t *f, uint8_t *frame,
    size_t len)
{
    uint8_t   *p;
    uint16_t   csum;

    if (!(f->hdr.flags & VPNWS_VNET_F_NEEDS_CSUM)) {
        return;
    }

    /* the field holds the sender's pseudo-header sum: it is summed too */
    p = frame + f->hdr.csum_start + f->hdr.csum_offset;
    csum = (uint16_t) ~vpnws_csum_fold(vpnws_csum_add(0,
                                          frame + f->hdr.csum_start,
                                          len - f->hdr.csum_start));

    vpnws_put16(p, csum ? csum : 0xffff);
}


unsigned
vpnws_offload_parse(const char *s, size_t len)
{
    size_t    i, n, t;
    unsigned  set;

    set = 0;
    i = 0;

    while (i < len) {

        while (i < len && (s[i] == ',' || s[i] == ' ' || s[i] == '\t')) {
            i++;
        }

        for (n = 0; i + n < len && s[i + n] != ',' && s[i + n] != ' '
                    && s[i + n] != '\t'; n++)
        {
            /* the token's length */
        }

        for (t = 0; t < sizeof(vpnws_offload_names)
                        / sizeof(vpnws_offload_names[0]); t++)
        {
            if (n == vpnws_offload_names[t].len
                && strncasecmp(s + i, vpnws_offload_names[t].name, n) == 0)
            {
                set |= vpnws_offload_names[t].bit;
            }
        }

        i += n;
    }

    /* segmentation offloads leave the checksum to the receiver */
    return (set & VPNWS_OFFLOAD_CSUM) ? set : 0;
}


size_t
vpnws_offload_format(unsigned set, char *out)
{
    size_t  t, n;

    n = 0;

    for (t = 0; t < sizeof(vpnws_offload_names)
                    / sizeof(vpnws_offload_names[0]); t++)
    {
        if (!(set & vpnws_offload_names[t].bit)) {
            continue;
        }

        if (n) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }

        memcpy(out + n, vpnws_offload_names[t].name,
               vpnws_offload_names[t].len);
        n += vpnws_offload_names[t].len;
    }

    out[n] = '\0';

    return n;
}


unsigned
vpnws_vnet_needs(const vpnws_vnet_frame_t *f)
{
    unsigned  need;

    need = (f->hdr.flags & VPNWS_VNET_F_NEEDS_CSUM) ? VPNWS_OFFLOAD_CSUM : 0;

    if (f->gso) {
        need |= f->ipv6 ? VPNWS_OFFLOAD_TSO6 : VPNWS_OFFLOAD_TSO4;

        if (f->hdr.gso_type & VPNWS_VNET_GSO_ECN) {
            need |= VPNWS_OFFLOAD_ECN;
        }
    }

    return need;
}


uint32_t
vpnws_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    uint16_t  w16;
    uint32_t  w32;
    uint64_t  acc, w, carry;

    acc = 0;
    carry = 0;

    /*
     * Native-order words, four a round: an add and an add-with-carry each
     * (the compiler makes "carry += acc < w" one adc); the folded result
     * is swapped once at the end.
     */
    while (len >= 32) {
        memcpy(&w, p, 8);
        acc += w;
        carry += (acc < w);
        memcpy(&w, p + 8, 8);
        acc += w;
        carry += (acc < w);
        memcpy(&w, p + 16, 8);
        acc += w;
        carry += (acc < w);
        memcpy(&w, p + 24, 8);
        acc += w;
        carry += (acc < w);
        p += 32;
        len -= 32;
    }

    while (len >= 8) {
        memcpy(&w, p, 8);
        acc += w;
        carry += (acc < w);
        p += 8;
        len -= 8;
    }

    acc = (acc & 0xffffffff) + (acc >> 32) + carry;

    if (len >= 4) {
        memcpy(&w32, p, 4);
        acc += w32;
        p += 4;
        len -= 4;
    }

    if (len >= 2) {
        memcpy(&w16, p, 2);
        acc += w16;
        p += 2;
        len -= 2;
    }

    if (len) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        acc += p[0];
#else
        acc += (uint32_t) p[0] << 8;
#endif
    }

    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    acc = ((acc & 0xff) << 8) | (acc >> 8);
#endif

    return sum + (uint32_t) acc;
}


uint16_t
vpnws_csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);

    return (uint16_t) sum;
}
