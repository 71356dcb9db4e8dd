/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: Linux tap backend (/dev/net/tun, IFF_TAP|IFF_NO_PI).
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_tun.h>

#include "vpnws_tap.h"
#include "vpnws_vnet.h"


#if (VPNWS_OFFLOAD_CSUM != TUN_F_CSUM || VPNWS_OFFLOAD_TSO4 != TUN_F_TSO4 \
     || VPNWS_OFFLOAD_TSO6 != TUN_F_TSO6 || VPNWS_OFFLOAD_ECN != TUN_F_TSO_ECN)
#error "VPNWS_OFFLOAD_* must be the kernel's TUN_F_* values"
#endif


#define VPNWS_TUN_PATH  "/dev/net/tun"


static void
vpnws_tap_error(char *err, size_t errlen, int e, const char *what,
    const char *ifname)
{
    const char  *hint;

    hint = "";

    if (e == EPERM || e == EACCES) {
        hint = " (needs root or CAP_NET_ADMIN)";

    } else if (e == ENOENT && ifname == NULL) {
        hint = " (is the tun module loaded?)";
    }

    if (err && errlen) {
        snprintf(err, errlen, "%s%s%s: %s%s", what,
                 ifname ? " " : "", ifname ? ifname : "", strerror(e), hint);
    }

    errno = e;
}


static int
vpnws_tap_name(struct ifreq *ifr, const char *ifname, char *err,
    size_t errlen)
{
    size_t  len;

    memset(ifr, 0, sizeof(struct ifreq));

    len = ifname ? strlen(ifname) : 0;

    if (len == 0 || len >= IFNAMSIZ) {
        vpnws_tap_error(err, errlen, EINVAL, "bad interface name", ifname);
        return -1;
    }

    memcpy(ifr->ifr_name, ifname, len);

    return 0;
}


/* an ioctl on a throwaway datagram socket, as ip(8) does */
static int
vpnws_tap_ioctl(unsigned long req, struct ifreq *ifr, const char *what,
    char *err, size_t errlen)
{
    int  s, rc, e;

    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (s == -1) {
        vpnws_tap_error(err, errlen, errno, "socket()", NULL);
        return -1;
    }

    rc = ioctl(s, req, ifr);
    e = errno;

    close(s);

    if (rc == -1) {
        vpnws_tap_error(err, errlen, e, what, ifr->ifr_name);
        return -1;
    }

    return 0;
}


int
vpnws_tap_open(const char *name, unsigned flags, char *ifname, char *err,
    size_t errlen)
{
    int           fd, e, oflags;
    size_t        len;
    struct ifreq  ifr;

    memset(&ifr, 0, sizeof(struct ifreq));

    len = name ? strlen(name) : 0;

    if (len >= IFNAMSIZ) {
        vpnws_tap_error(err, errlen, ENAMETOOLONG, "bad interface name", name);
        return -1;
    }

    if (len) {
        memcpy(ifr.ifr_name, name, len);
    }

    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;

    if (flags & VPNWS_TAP_MULTI_QUEUE) {
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }

    if (flags & VPNWS_TAP_VNET_HDR) {
        ifr.ifr_flags |= IFF_VNET_HDR;
    }

    oflags = O_RDWR | O_CLOEXEC;

    if (!(flags & VPNWS_TAP_BLOCKING)) {
        oflags |= O_NONBLOCK;
    }

    fd = open(VPNWS_TUN_PATH, oflags);

    if (fd == -1) {
        vpnws_tap_error(err, errlen, errno, "open(\"" VPNWS_TUN_PATH "\")",
                        NULL);
        return -1;
    }

    if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
        e = errno;
        close(fd);

        if (e == EINVAL) {
            /* an existing device of another kind or other flags */
            vpnws_tap_error(err, errlen, e,
                            "TUNSETIFF (not a tap device, or its queue "
                            "flags differ)", name);
            return -1;
        }

        vpnws_tap_error(err, errlen, e, "TUNSETIFF", name);
        return -1;
    }

    if (ifname) {
        memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
        ifname[IFNAMSIZ - 1] = '\0';
    }

    return fd;
}


int
vpnws_tap_set_offload(int fd, unsigned want, unsigned *got, char *err,
    size_t errlen)
{
    int       e, one;
    unsigned  set;

    *got = 0;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    /* the header is little-endian on the wire and in vpnws_vnet.c */
    one = 1;

    if (ioctl(fd, TUNSETVNETLE, &one) == -1) {
        vpnws_tap_error(err, errlen, errno, "TUNSETVNETLE", NULL);
        (void) ioctl(fd, TUNSETOFFLOAD, 0UL);
        return -1;
    }
#else
    (void) one;
#endif

    set = want & VPNWS_OFFLOAD_ALL;

    for ( ;; ) {

        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long) set) == 0) {
            *got = set;
            return 0;
        }

        e = errno;

        /* EINVAL: a bit this kernel does not know; try without it */
        if (e != EINVAL || !(set & VPNWS_OFFLOAD_ECN)) {
            break;
        }

        set &= ~VPNWS_OFFLOAD_ECN;
    }

    (void) ioctl(fd, TUNSETOFFLOAD, 0UL);
    vpnws_tap_error(err, errlen, e, "TUNSETOFFLOAD", NULL);

    return -1;
}


int
vpnws_tap_has_vnet_hdr(const char *ifname)
{
    char          path[64];
    FILE         *fp;
    unsigned int  flags;

    if (ifname == NULL || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
        return -1;
    }

    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);

    fp = fopen(path, "re");
    if (fp == NULL) {
        return -1;
    }

    if (fscanf(fp, "%x", &flags) != 1) {
        fclose(fp);
        return -1;
    }

    fclose(fp);

    return (flags & IFF_VNET_HDR) ? 1 : 0;
}


int
vpnws_tap_get_mac(const char *ifname, uint8_t mac[6], char *err,
    size_t errlen)
{
    struct ifreq  ifr;

    if (vpnws_tap_name(&ifr, ifname, err, errlen) != 0) {
        return -1;
    }

    if (vpnws_tap_ioctl(SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR", err, errlen)
        != 0)
    {
        return -1;
    }

    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);

    return 0;
}


int
vpnws_tap_set_mac(const char *ifname, const uint8_t mac[6], char *err,
    size_t errlen)
{
    struct ifreq  ifr;

    if (vpnws_tap_name(&ifr, ifname, err, errlen) != 0) {
        return -1;
    }

    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);

    return vpnws_tap_ioctl(SIOCSIFHWADDR, &ifr, "SIOCSIFHWADDR", err, errlen);
}


int
vpnws_tap_get_mtu(const char *ifname, int *mtu, char *err, size_t errlen)
{
    struct ifreq  ifr;

    if (vpnws_tap_name(&ifr, ifname, err, errlen) != 0) {
        return -1;
    }

    if (vpnws_tap_ioctl(SIOCGIFMTU, &ifr, "SIOCGIFMTU", err, errlen) != 0) {
        return -1;
    }

    *mtu = ifr.ifr_mtu;

    return 0;
}


int
vpnws_tap_set_mtu(const char *ifname, int mtu, char *err, size_t errlen)
{
    struct ifreq  ifr;

    if (vpnws_tap_name(&ifr, ifname, err, errlen) != 0) {
        return -1;
    }

    ifr.ifr_mtu = mtu;

    return vpnws_tap_ioctl(SIOCSIFMTU, &ifr, "SIOCSIFMTU", err, errlen);
}


int
vpnws_tap_up(const char *ifname, char *err, size_t errlen)
{
    struct ifreq  ifr;

    if (vpnws_tap_name(&ifr, ifname, err, errlen) != 0) {
        return -1;
    }

    if (vpnws_tap_ioctl(SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS", err, errlen)
        != 0)
    {
        return -1;
    }

    if (ifr.ifr_flags & IFF_UP) {
        /* an unprivileged user may attach to a tap an admin brought up */
        return 0;
    }

    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;

    return vpnws_tap_ioctl(SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS", err, errlen);
}
