/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the virtio-net header in front of offloaded frames.
 *
 * A tap opened with IFF_VNET_HDR hands out and takes each frame behind a
 * struct virtio_net_hdr (<linux/virtio_net.h>): 10 bytes, the 16-bit
 * fields little-endian (the kernel's own order on little-endian hosts,
 * TUNSETVNETLE elsewhere).  The same 10 bytes travel on the wire in front
 * of every frame between peers that negotiated offload (README, "Offload").
 *
 *   0  flags        VPNWS_VNET_F_NEEDS_CSUM, VPNWS_VNET_F_DATA_VALID
 *   1  gso_type     VPNWS_VNET_GSO_*, | VPNWS_VNET_GSO_ECN
 *   2  hdr_len      a hint (the kernel gives its linear length), <= frame
 *   4  gso_size     payload bytes per segment
 *   6  csum_start   where the checksum starts (the L4 header)
 *   8  csum_offset  where, after csum_start, the checksum goes
 *
 * Nothing here allocates; frames are checked before anything reads them.
 */

#ifndef _VPNWS_VNET_H_INCLUDED_
#define _VPNWS_VNET_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_VNET_HLEN             10

#define VPNWS_VNET_F_NEEDS_CSUM     0x01
#define VPNWS_VNET_F_DATA_VALID     0x02

#define VPNWS_VNET_GSO_NONE         0
#define VPNWS_VNET_GSO_TCPV4        1
#define VPNWS_VNET_GSO_UDP          3       /* UFO: refused */
#define VPNWS_VNET_GSO_TCPV6        4
#define VPNWS_VNET_GSO_UDP_L4       5       /* USO: refused */
#define VPNWS_VNET_GSO_ECN          0x80    /* first segment carries CWR */

/*
 * Offloads a peer can take (X-vpn-ws-Offload, README "Offload"); the
 * values are the kernel's TUN_F_* so a set goes to TUNSETOFFLOAD as is.
 */
#define VPNWS_OFFLOAD_CSUM          0x01    /* "csum": NEEDS_CSUM frames */
#define VPNWS_OFFLOAD_TSO4          0x02    /* "tso4": GSO_TCPV4 */
#define VPNWS_OFFLOAD_TSO6          0x04    /* "tso6": GSO_TCPV6 */
#define VPNWS_OFFLOAD_ECN           0x08    /* "ecn": GSO_ECN */
#define VPNWS_OFFLOAD_ALL           0x0f

/* "csum, tso4, tso6, ecn": the longest formatted set, NUL included */
#define VPNWS_OFFLOAD_STR_LEN       24

/* the largest frame behind a header: 64 KiB of IP plus link headers */
#define VPNWS_VNET_FRAME_MAX        (65536 + 128)

/* a super-frame never yields more segments than this (gso_size >= 8) */
#define VPNWS_VNET_SEGS_MAX         8192


typedef enum {
    VPNWS_VNET_OK = 0,
    VPNWS_VNET_ESHORT,          /* shorter than the header or the headers */
    VPNWS_VNET_EBIG,            /* longer than VPNWS_VNET_FRAME_MAX */
    VPNWS_VNET_EFLAGS,          /* unknown flag bits */
    VPNWS_VNET_EHDRLEN,         /* hdr_len beyond the frame */
    VPNWS_VNET_ECSUM,           /* csum_start/csum_offset outside the frame */
    VPNWS_VNET_EGSOTYPE,        /* UDP, USO or an unknown GSO type */
    VPNWS_VNET_EGSOSIZE,        /* gso_size 0 */
    VPNWS_VNET_EPROTO,          /* GSO frame that is not IPv4/IPv6 TCP */
    VPNWS_VNET_EIP,             /* IP header inconsistent with the frame */
    VPNWS_VNET_ETCP,            /* TCP header inconsistent with the frame */
    VPNWS_VNET_EMAX
} vpnws_vnet_err_t;


typedef struct {
    uint8_t         flags;
    uint8_t         gso_type;
    uint16_t        hdr_len;
    uint16_t        gso_size;
    uint16_t        csum_start;
    uint16_t        csum_offset;
} vpnws_vnet_hdr_t;


/* a checked frame: what the segmenter and the checksum code rely on */
typedef struct {
    vpnws_vnet_hdr_t  hdr;
    uint16_t          l3;       /* IP header, after ethernet and VLAN tags */
    uint16_t          l4;       /* TCP header (GSO frames) */
    uint16_t          hlen;     /* every header: l4 + TCP data offset */
    uint16_t          segs;     /* segments (GSO frames; 1 otherwise) */
    uint8_t           ipv6;     /* GSO frames: 1 IPv6, 0 IPv4 */
    uint8_t           gso;      /* 1: segment it, 0: a single frame */
} vpnws_vnet_frame_t;


void vpnws_vnet_hdr_read(vpnws_vnet_hdr_t *h, const uint8_t *p);
void vpnws_vnet_hdr_write(const vpnws_vnet_hdr_t *h, uint8_t *p);

/*
 * Check the header h against the ethernet frame it precedes (len bytes,
 * the header not included) and fill f.  Reads only frame[0 .. len).
 */
vpnws_vnet_err_t vpnws_vnet_check(vpnws_vnet_frame_t *f,
    const vpnws_vnet_hdr_t *h, const uint8_t *frame, size_t len);

/* a short reason for logs, e.g. "bad csum_start" */
const char *vpnws_vnet_strerror(vpnws_vnet_err_t err);

/* counter names for status output, e.g. "vnet_csum" */
const char *vpnws_vnet_errname(vpnws_vnet_err_t err);

/*
 * A checked single frame with NEEDS_CSUM: write the checksum the sender
 * left to the device, as the kernel does (0 becomes 0xffff).
 */
void vpnws_vnet_csum_complete(const vpnws_vnet_frame_t *f, uint8_t *frame,
    size_t len);


/*
 * A header value: comma or space separated tokens, unknown ones ignored
 * (a newer peer may offer more).  TSO without csum means nothing: 0.
 */
unsigned vpnws_offload_parse(const char *s, size_t len);

/* the set as tokens into out[VPNWS_OFFLOAD_STR_LEN]; "" for none */
size_t vpnws_offload_format(unsigned set, char *out);

/* what the frame f needs of a receiver: VPNWS_OFFLOAD_* bits */
unsigned vpnws_vnet_needs(const vpnws_vnet_frame_t *f);


/* the internet checksum: ones' complement sum, folded, not inverted */
uint32_t vpnws_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t vpnws_csum_fold(uint32_t sum);


static inline uint16_t
vpnws_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}


static inline void
vpnws_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}


#endif /* _VPNWS_VNET_H_INCLUDED_ */
