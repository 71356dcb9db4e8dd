/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: capture the kernel's own segmentation of TCP super-frames, the
 * reference the unit tests hold src/vpnws_gso.c to (t/unit/vnet/README).
 *
 * Run as root in a private network namespace (t/unit/vnet/capture.sh):
 * two taps on a bridge; each case's super-frame, behind a virtio-net
 * header, is written into tap "vca", and the kernel, since tap "vcb" has
 * no offloads, segments it and completes the checksums in software; what
 * "vcb" reads is stored next to the input as hex:
 *
 *   # comment
 *   in  <virtio-net header + super-frame>
 *   out <segment>            one line per segment, in order
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "vpnws_vnet.h"


typedef struct {
    const char  *name;
    const char  *comment;
    int          ipv6;
    int          vlan;          /* 802.1Q tags: 0, 1 or 2 (QinQ) */
    int          ipopts;        /* IPv4 option bytes (NOPs), multiple of 4 */
    int          tcpopts;       /* 12: NOP NOP timestamps */
    size_t       payload;
    uint16_t     gso_size;
    uint8_t      gso_type;      /* 0: NEEDS_CSUM only */
    uint8_t      tcp_flags;
    uint8_t      tos;
    uint16_t     ipid;
    uint32_t     seq;
    int          udp;           /* a UDP datagram, checksum only */
} case_t;


static const case_t  cases[] = {
    { "tcp4-basic", "IPv4 TSO, 4 full segments, ACK|PSH",
      0, 0, 0, 12, 5792, 1448, VPNWS_VNET_GSO_TCPV4, 0x18, 0, 0x1234,
      0x01020304, 0 },
    { "tcp4-tail", "IPv4 TSO, short last segment, FIN|PSH|ACK, id wraps",
      0, 0, 0, 12, 5000, 1448, VPNWS_VNET_GSO_TCPV4, 0x19, 0, 0xfffe,
      0xfffff800, 0 },
    { "tcp4-ecn", "IPv4 TSO with GSO_ECN: CWR|ECE|ACK, ECT(0)",
      0, 0, 0, 12, 4000, 1000, VPNWS_VNET_GSO_TCPV4 | VPNWS_VNET_GSO_ECN,
      0xd0, 0x02, 7, 1, 0 },
    { "tcp4-opts", "IPv4 TSO with IP options, no TCP options, odd mss",
      0, 0, 8, 0, 3001, 999, VPNWS_VNET_GSO_TCPV4, 0x18, 0, 100, 5, 0 },
    { "tcp4-vlan", "IPv4 TSO behind an 802.1Q tag",
      0, 1, 0, 12, 4344, 1448, VPNWS_VNET_GSO_TCPV4, 0x18, 0, 42, 77, 0 },
    { "tcp4-qinq", "IPv4 TSO behind 802.1ad + 802.1Q tags",
      0, 2, 0, 12, 2896, 1448, VPNWS_VNET_GSO_TCPV4, 0x10, 0, 43, 78, 0 },
    { "tcp4-many", "IPv4 TSO, 40 segments of 256 bytes",
      0, 0, 0, 12, 10240, 256, VPNWS_VNET_GSO_TCPV4, 0x18, 0, 9, 9, 0 },
    { "tcp6-basic", "IPv6 TSO, PSH|ACK, short tail",
      1, 0, 0, 12, 5000, 1428, VPNWS_VNET_GSO_TCPV6, 0x18, 0, 0,
      0x7fffffff, 0 },
    { "tcp6-vlan", "IPv6 TSO behind an 802.1Q tag, FIN|ACK",
      1, 1, 0, 12, 4284, 1428, VPNWS_VNET_GSO_TCPV6, 0x11, 0, 0, 3, 0 },
    { "tcp6-ecn", "IPv6 TSO with GSO_ECN, CWR|ACK",
      1, 0, 0, 0, 3000, 1000, VPNWS_VNET_GSO_TCPV6 | VPNWS_VNET_GSO_ECN,
      0x90, 0, 0, 11, 0 },
    { "tcp4-one", "IPv4 TSO that fits one segment: checksum only",
      0, 0, 0, 12, 1000, 1448, VPNWS_VNET_GSO_TCPV4, 0x18, 0, 5, 5, 0 },
    { "csum-tcp4", "no GSO, NEEDS_CSUM on a TCP segment",
      0, 0, 0, 12, 1337, 0, 0, 0x18, 0, 6, 6, 0 },
    { "csum-tcp6", "no GSO, NEEDS_CSUM on an IPv6 TCP segment",
      1, 0, 0, 12, 1201, 0, 0, 0x18, 0, 0, 6, 0 },
    { "csum-udp4", "no GSO, NEEDS_CSUM on a UDP datagram",
      0, 0, 0, 0, 513, 0, 0, 0, 0, 8, 0, 1 },
};


static uint8_t  frame[VPNWS_VNET_HLEN + VPNWS_VNET_FRAME_MAX];
static uint8_t  rbuf[VPNWS_VNET_HLEN + VPNWS_VNET_FRAME_MAX];


static void
die(const char *what)
{
    fprintf(stderr, "capture: %s: %s\n", what, strerror(errno));
    exit(1);
}


static int
tap_open(const char *name, int offload)
{
    int           fd;
    struct ifreq  ifr;

    fd = open("/dev/net/tun", O_RDWR);
    if (fd == -1) {
        die("open /dev/net/tun");
    }

    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);

    if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
        die("TUNSETIFF");
    }

    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long) offload) == -1) {
        die("TUNSETOFFLOAD");
    }

    return fd;
}


static void
put32(uint8_t *p, uint32_t v)
{
    vpnws_put16(p, (uint16_t) (v >> 16));
    vpnws_put16(p + 2, (uint16_t) v);
}


/* the super-frame a Linux sender hands its device, behind its header */
static size_t
build(const case_t *c, uint8_t *out)
{
    size_t            off, l3, l4, l4len, i, len;
    uint8_t          *f;
    uint32_t          sum;
    vpnws_vnet_hdr_t  h;

    f = out + VPNWS_VNET_HLEN;
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    off = 12;

    for (i = 0; i < (size_t) c->vlan; i++) {
        vpnws_put16(f + off, (i == 0 && c->vlan == 2) ? 0x88a8 : 0x8100);
        vpnws_put16(f + off + 2, (uint16_t) (100 + i));
        off += 4;
    }

    vpnws_put16(f + off, c->ipv6 ? 0x86dd : 0x0800);
    l3 = off + 2;
    l4 = l3 + (c->ipv6 ? 40 : 20 + (size_t) c->ipopts);
    l4len = c->udp ? 8 : 20 + (size_t) c->tcpopts;
    len = l4 + l4len + c->payload;

    memset(f + l3, 0, l4 + l4len - l3);

    if (c->ipv6) {
        f[l3] = 0x60 | (c->tos >> 4);
        f[l3 + 1] = (uint8_t) (c->tos << 4);
        vpnws_put16(f + l3 + 4, (uint16_t) (len - l3 - 40));
        f[l3 + 6] = c->udp ? 17 : 6;
        f[l3 + 7] = 64;
        memcpy(f + l3 + 8, "\xfd\x13\x02\x13\x00\x01\x00\x00"
                           "\x00\x00\x00\x00\x00\x00\x00\x01", 16);
        memcpy(f + l3 + 24, "\xfd\x13\x02\x13\x00\x01\x00\x00"
                            "\x00\x00\x00\x00\x00\x00\x00\x02", 16);
        sum = vpnws_csum_add(0, f + l3 + 8, 32);

    } else {
        f[l3] = (uint8_t) (0x40 | (5 + c->ipopts / 4));
        f[l3 + 1] = c->tos;
        vpnws_put16(f + l3 + 2, (uint16_t) (len - l3));
        vpnws_put16(f + l3 + 4, c->ipid);
        vpnws_put16(f + l3 + 6, 0x4000);
        f[l3 + 8] = 64;
        f[l3 + 9] = c->udp ? 17 : 6;
        memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
        memset(f + l3 + 20, 1, (size_t) c->ipopts);
        vpnws_put16(f + l3 + 10, (uint16_t) ~vpnws_csum_fold(
                                     vpnws_csum_add(0, f + l3, l4 - l3)));
        sum = vpnws_csum_add(0, f + l3 + 12, 8);
    }

    /* the pseudo-header sum a sender leaves in the checksum field */
    sum += c->udp ? 17 : 6;
    sum += (uint32_t) (len - l4);

    vpnws_put16(f + l4, 40000);
    vpnws_put16(f + l4 + 2, 5201);

    if (c->udp) {
        vpnws_put16(f + l4 + 4, (uint16_t) (len - l4));
        vpnws_put16(f + l4 + 6, vpnws_csum_fold(sum));

    } else {
        put32(f + l4 + 4, c->seq);
        put32(f + l4 + 8, 0xa0b0c0d0);
        f[l4 + 12] = (uint8_t) ((20 + c->tcpopts) / 4 << 4);
        f[l4 + 13] = c->tcp_flags;
        vpnws_put16(f + l4 + 14, 502);
        vpnws_put16(f + l4 + 16, vpnws_csum_fold(sum));

        if (c->tcpopts) {
            memcpy(f + l4 + 20, "\x01\x01\x08\x0a\x00\x11\x22\x33"
                                "\x44\x55\x66\x77", 12);
        }
    }

    for (i = l4 + l4len; i < len; i++) {
        f[i] = (uint8_t) (i * 7 + c->payload);
    }

    memset(&h, 0, sizeof(h));
    h.flags = VPNWS_VNET_F_NEEDS_CSUM;
    h.gso_type = c->gso_type;
    h.hdr_len = (uint16_t) (l4 + l4len);
    h.gso_size = c->gso_size;
    h.csum_start = (uint16_t) l4;
    h.csum_offset = c->udp ? 6 : 16;
    vpnws_vnet_hdr_write(&h, out);

    return VPNWS_VNET_HLEN + len;
}


static void
hex(FILE *fp, const char *tag, const uint8_t *p, size_t n)
{
    size_t  i;

    fprintf(fp, "%s ", tag);

    for (i = 0; i < n; i++) {
        fprintf(fp, "%02x", p[i]);
    }

    fputc('\n', fp);
}


static int
replay(const char *name, const char *comment, size_t n, int a, int b,
    const char *dir)
{
    int            segs;
    char           path[512];
    FILE          *fp;
    ssize_t        r;
    struct pollfd  pfd;

    snprintf(path, sizeof(path), "%s/%s.hex", dir, name);
    fp = fopen(path, "w");
    if (fp == NULL) {
        die(path);
    }

    fprintf(fp, "# %s\n# captured from Linux segmentation by "
            "t/unit/vnet/capture.sh\n", comment);
    hex(fp, "in", frame, n);

    if (write(a, frame, n) != (ssize_t) n) {
        die("write tap");
    }

    pfd.fd = b;
    pfd.events = POLLIN;
    segs = 0;

    while (poll(&pfd, 1, 300) == 1) {
        r = read(b, rbuf, sizeof(rbuf));
        if (r < VPNWS_VNET_HLEN + 14) {
            die("read tap");
        }

        /* only our sender: the bridge and the kernel talk as well */
        if (memcmp(rbuf + VPNWS_VNET_HLEN + 6, frame + VPNWS_VNET_HLEN + 6,
                   6) != 0)
        {
            continue;
        }

        if (rbuf[1] != VPNWS_VNET_GSO_NONE
            || (rbuf[0] & VPNWS_VNET_F_NEEDS_CSUM))
        {
            fprintf(stderr, "capture: %s: kernel left offload work\n", name);
            exit(1);
        }

        hex(fp, "out", rbuf + VPNWS_VNET_HLEN,
            (size_t) r - VPNWS_VNET_HLEN);
        segs++;
    }

    fclose(fp);
    printf("%s: %zu bytes in, %d frames out\n", name, n, segs);

    return segs;
}


/*
 * Real super-frames: what a TCP sender hands its veth, read with a packet
 * socket that gives the virtio-net header (PACKET_VNET_HDR); count GSO
 * frames of TCP port 5201 as "in" lines into file.
 */
static int
sniff(const char *ifname, const char *file, int count)
{
    int                 s, one, got;
    FILE               *fp;
    ssize_t             r;
    socklen_t           alen;
    struct sockaddr_ll  sll;

    s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (s == -1) {
        die("socket(AF_PACKET)");
    }

    one = 1;
    if (setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == -1) {
        die("PACKET_VNET_HDR");
    }

    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int) if_nametoindex(ifname);

    if (sll.sll_ifindex == 0 || bind(s, (void *) &sll, sizeof(sll)) == -1) {
        die(ifname);
    }

    fp = fopen(file, "w");
    if (fp == NULL) {
        die(file);
    }

    printf("READY\n");
    fflush(stdout);

    for (got = 0; got < count; ) {
        alen = sizeof(sll);
        r = recvfrom(s, frame, sizeof(frame), 0, (void *) &sll, &alen);
        if (r < VPNWS_VNET_HLEN + 54) {
            continue;
        }

        /* outgoing TSO frames of the test connection (to port 5201) */
        if (sll.sll_pkttype != PACKET_OUTGOING
            || frame[1] == VPNWS_VNET_GSO_NONE
            || vpnws_get16(frame + VPNWS_VNET_HLEN + 12) != 0x0800
            || vpnws_get16(frame + VPNWS_VNET_HLEN + 36) != 5201)
        {
            continue;
        }

        hex(fp, "in", frame, (size_t) r);
        got++;
    }

    fclose(fp);

    return 0;
}


static size_t
unhex(const char *p, uint8_t *out, size_t max)
{
    size_t        n;
    unsigned int  v;

    for (n = 0; n < max && sscanf(p, "%2x", &v) == 1; n++, p += 2) {
        out[n] = (uint8_t) v;
    }

    return n;
}


static int
bridge(int *a, int *b)
{
    *a = tap_open("vca", 0);
    *b = tap_open("vcb", 0);

    if (system("ip link add vcbr type bridge"
               " && ip link set vca master vcbr"
               " && ip link set vcb master vcbr"
               " && ip link set vca mtu 1500 up"
               " && ip link set vcb up && ip link set vcbr up") != 0)
    {
        fprintf(stderr, "capture: bridge setup failed\n");
        return -1;
    }

    return 0;
}

/*
 *   capture DIR                    the cases above (private netns)
 *   capture sniff IF FILE N        N real super-frames sent on IF
 *   capture replay FILE DIR NAME   each one of FILE through the bridge
 */
int
main(int argc, char **argv)
{
    int     a, b, k;
    char    name[64], *line;
    FILE   *fp;
    size_t  i, cap, n;

    if (argc == 5 && strcmp(argv[1], "sniff") == 0) {
        return sniff(argv[2], argv[3], atoi(argv[4]));
    }

    if (argc == 5 && strcmp(argv[1], "replay") == 0) {
        fp = fopen(argv[2], "r");
        if (fp == NULL || bridge(&a, &b) != 0) {
            die(argv[2]);
        }

        line = NULL;
        cap = 0;

        for (k = 1; getline(&line, &cap, fp) > 0; k++) {
            n = unhex(line + 3, frame, sizeof(frame));
            snprintf(name, sizeof(name), "%s-%d", argv[4], k);

            if (replay(name, "a real TSO super-frame of a Linux TCP sender "
                       "(veth, PACKET_VNET_HDR)", n, a, b, argv[3])
                == 0)
            {
                return 1;
            }
        }

        free(line);
        fclose(fp);

        return 0;
    }

    if (argc != 2) {
        fprintf(stderr, "usage: capture <dir> | sniff <if> <file> <n> | "
                "replay <file> <dir> <name> (root)\n");
        return 2;
    }

    if (bridge(&a, &b) != 0) {
        return 1;
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = build(&cases[i], frame);

        if (replay(cases[i].name, cases[i].comment, n, a, b, argv[1]) == 0) {
            fprintf(stderr, "capture: %s: nothing came out\n",
                    cases[i].name);
            return 1;
        }
    }

    return 0;
}
