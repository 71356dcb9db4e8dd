/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: tap devices.  One backend per OS (vpnws_tap_linux.c) behind this
 * header; used by the client, the daemon and the module's server tap.
 */

#ifndef _VPNWS_TAP_H_INCLUDED_
#define _VPNWS_TAP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_TAP_NAME_LEN      16          /* IFNAMSIZ, NUL included */
#define VPNWS_TAP_MAX_FRAME     65536       /* largest frame a tap hands out */

/* vpnws_tap_open() flags */
#define VPNWS_TAP_MULTI_QUEUE   0x01        /* IFF_MULTI_QUEUE: fd per queue */
#define VPNWS_TAP_BLOCKING      0x02        /* leave O_NONBLOCK off */
#define VPNWS_TAP_VNET_HDR      0x04        /* IFF_VNET_HDR: vpnws_vnet.h */


/*
 * Create the tap device "name" (a kernel pattern like "vpn%d" works, NULL or
 * "" lets the kernel choose), or attach to an existing one of that name.
 * Frames carry no packet information header (IFF_NO_PI).  Returns a
 * close-on-exec, non-blocking descriptor and writes the device name into
 * ifname[VPNWS_TAP_NAME_LEN]; or -1 with a line of text in err, errno kept.
 */
int vpnws_tap_open(const char *name, unsigned flags, char *ifname,
    char *err, size_t errlen);

/*
 * A tap opened with VPNWS_TAP_VNET_HDR: ask the kernel for the offloads in
 * want (VPNWS_OFFLOAD_*, vpnws_vnet.h); those it does not know (ECN on an
 * old kernel) are dropped one by one.  The set it took goes to *got.
 * 0 or -1 (err, errno): then the tap has no offloads at all.
 */
int vpnws_tap_set_offload(int fd, unsigned want, unsigned *got, char *err,
    size_t errlen);

/* does the existing tap device ifname hand out virtio-net headers?
 * 1 or 0; -1 when that cannot be read (not a tap, no sysfs) */
int vpnws_tap_has_vnet_hdr(const char *ifname);

/* hardware address of an interface; 0 or -1 (err, errno) */
int vpnws_tap_get_mac(const char *ifname, uint8_t mac[6], char *err,
    size_t errlen);
int vpnws_tap_set_mac(const char *ifname, const uint8_t mac[6], char *err,
    size_t errlen);

/* MTU of an interface; 0 or -1 (err, errno) */
int vpnws_tap_get_mtu(const char *ifname, int *mtu, char *err, size_t errlen);
int vpnws_tap_set_mtu(const char *ifname, int mtu, char *err, size_t errlen);

/* set IFF_UP (and IFF_RUNNING where the OS wants it); 0 or -1 (err, errno) */
int vpnws_tap_up(const char *ifname, char *err, size_t errlen);


#endif /* _VPNWS_TAP_H_INCLUDED_ */
