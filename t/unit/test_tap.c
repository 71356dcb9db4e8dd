/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_tap_linux.c.  Needs root (CAP_NET_ADMIN) and
 * /dev/net/tun; runs in a network namespace of its own, so nothing it
 * creates is seen outside and every device goes with the process.
 */


#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>

#include "tap.h"
#include "vpnws_tap.h"


static int
if_flags(const char *ifname)
{
    int           s, rc;
    struct ifreq  ifr;

    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    close(s);

    return rc == 0 ? ifr.ifr_flags : -1;
}


int
main(void)
{
    int       fd, fd2, fd3, mtu, rc, fl;
    char      ifname[VPNWS_TAP_NAME_LEN], name2[VPNWS_TAP_NAME_LEN];
    char      err[256];
    uint8_t   mac[6], frame[60];
    static const uint8_t  mine[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };

    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        return skip_all("no /dev/net/tun");
    }

    if (unshare(CLONE_NEWNET) != 0) {
        return skip_all("needs root for a network namespace and taps");
    }

    /* the kernel names it */
    memset(ifname, 'X', sizeof(ifname));
    fd = vpnws_tap_open(NULL, 0, ifname, err, sizeof(err));
    ok(fd >= 0 && strlen(ifname) > 0 && strlen(ifname) < VPNWS_TAP_NAME_LEN,
       "open(NULL): a tap named by the kernel (%s)", fd >= 0 ? ifname : err);
    fl = fcntl(fd, F_GETFL);
    ok(fl != -1 && (fl & O_NONBLOCK), "non-blocking");
    fl = fcntl(fd, F_GETFD);
    ok(fl != -1 && (fl & FD_CLOEXEC), "close-on-exec");
    close(fd);

    fd = vpnws_tap_open("", 0, ifname, err, sizeof(err));
    ok(fd >= 0, "open(\"\"): a tap named by the kernel");
    close(fd);

    /* a pattern */
    fd = vpnws_tap_open("vput%d", VPNWS_TAP_BLOCKING, ifname, err,
                        sizeof(err));
    ok(fd >= 0 && strncmp(ifname, "vput", 4) == 0,
       "open(\"vput%%d\"): %s", fd >= 0 ? ifname : err);
    fl = fcntl(fd, F_GETFL);
    ok(fl != -1 && !(fl & O_NONBLOCK), "VPNWS_TAP_BLOCKING: blocking");

    /* hardware address */
    rc = vpnws_tap_get_mac(ifname, mac, err, sizeof(err));
    ok(rc == 0 && !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4]
                                    | mac[5]),
       "get_mac: a unicast address");
    rc = vpnws_tap_set_mac(ifname, mine, err, sizeof(err));
    ok(rc == 0, "set_mac 02:00:00:00:00:0a (%s)", rc ? err : "ok");
    rc = vpnws_tap_get_mac(ifname, mac, err, sizeof(err));
    ok(rc == 0 && memcmp(mac, mine, 6) == 0, "get_mac reads it back");

    /* MTU */
    rc = vpnws_tap_get_mtu(ifname, &mtu, err, sizeof(err));
    ok(rc == 0 && mtu == 1500, "get_mtu: 1500 (%d)", mtu);
    rc = vpnws_tap_set_mtu(ifname, 1400, err, sizeof(err));
    ok(rc == 0, "set_mtu 1400");
    rc = vpnws_tap_get_mtu(ifname, &mtu, err, sizeof(err));
    ok(rc == 0 && mtu == 1400, "get_mtu reads it back");
    rc = vpnws_tap_set_mtu(ifname, 100000, err, sizeof(err));
    ok(rc == -1 && errno == EINVAL && strstr(err, "SIOCSIFMTU"),
       "set_mtu 100000: -1, EINVAL, \"%s\"", err);

    /* up */
    rc = vpnws_tap_up(ifname, err, sizeof(err));
    ok(rc == 0 && (if_flags(ifname) & IFF_UP), "up: IFF_UP");
    rc = vpnws_tap_up(ifname, err, sizeof(err));
    ok(rc == 0, "up twice: 0");

    /* frames without a packet information header */
    memset(frame, 0, sizeof(frame));
    memset(frame, 0xff, 6);
    memcpy(frame + 6, mine, 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;                   /* local experimental ethertype */
    ok(write(fd, frame, sizeof(frame)) == (ssize_t) sizeof(frame),
       "a 60-byte frame is written whole (IFF_NO_PI)");

    /* attach to the existing device */
    fd2 = vpnws_tap_open(ifname, 0, name2, err, sizeof(err));
    ok(fd2 == -1 && errno == EBUSY,
       "second open of a single-queue tap: -1 EBUSY (%s)", err);

    close(fd);
    ok(if_flags(ifname) == -1, "the tap goes with its descriptor");

    /* multi-queue: one fd per queue */
    fd = vpnws_tap_open("vpmq%d", VPNWS_TAP_MULTI_QUEUE, ifname, err,
                        sizeof(err));
    fd2 = vpnws_tap_open(ifname, VPNWS_TAP_MULTI_QUEUE, name2, err,
                         sizeof(err));
    ok(fd >= 0 && fd2 >= 0 && strcmp(ifname, name2) == 0,
       "multi-queue: two queues of %s", ifname);
    fd3 = vpnws_tap_open(ifname, 0, name2, err, sizeof(err));
    ok(fd3 == -1 && errno == EINVAL && strstr(err, "queue flags"),
       "a single-queue open of a multi-queue tap: -1 EINVAL, \"%s\"", err);
    close(fd);
    close(fd2);

    /* errors */
    fd = vpnws_tap_open("0123456789abcdef", 0, ifname, err, sizeof(err));
    ok(fd == -1 && errno == ENAMETOOLONG && strstr(err, "0123456789abcdef"),
       "16-character name: -1 ENAMETOOLONG, \"%s\"", err);
    rc = vpnws_tap_get_mac("nosuchif0", mac, err, sizeof(err));
    ok(rc == -1 && errno == ENODEV && strstr(err, "nosuchif0"),
       "get_mac of a missing interface: -1 ENODEV, \"%s\"", err);
    rc = vpnws_tap_up("", err, sizeof(err));
    ok(rc == -1 && errno == EINVAL, "up(\"\"): -1 EINVAL");
    rc = vpnws_tap_set_mtu(NULL, 1500, err, sizeof(err));
    ok(rc == -1 && errno == EINVAL, "set_mtu(NULL): -1 EINVAL");
    rc = vpnws_tap_get_mtu("nosuchif0", &mtu, NULL, 0);
    ok(rc == -1 && errno == ENODEV, "no err buffer: errno still set");
    rc = vpnws_tap_get_mtu("nosuchif0", &mtu, err, 8);
    ok(rc == -1 && strlen(err) == 7, "err is truncated to errlen");

    return done_testing();
}
