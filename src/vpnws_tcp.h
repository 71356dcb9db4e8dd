/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the TCP congestion control of a websocket's own connection
 * (the client's --congestion, the module's vpnws_congestion), checked and
 * applied the same way in both.
 */

#ifndef _VPNWS_TCP_H_INCLUDED_
#define _VPNWS_TCP_H_INCLUDED_


#include <stddef.h>


/* the kernel's TCP_CA_NAME_MAX: a name and its NUL */
#define VPNWS_TCP_CA_NAME_MAX   16

/* room for a message of vpnws_tcp_congestion_error() */
#define VPNWS_TCP_CA_ERRLEN     512


/*
 * A congestion control name as the kernel can know it: 1 to 15 bytes of
 * a-z, 0-9, "_" and "-".  NULL, or why not.
 */
const char *vpnws_tcp_congestion_check(const char *name, size_t len);

/* TCP_CONGESTION on a TCP socket: 0, or -1 and errno */
int vpnws_tcp_congestion_set(int fd, const char *name);

/* the algorithm fd uses, NUL-terminated: 0, or -1 and errno */
int vpnws_tcp_congestion_get(int fd, char name[VPNWS_TCP_CA_NAME_MAX]);

/*
 * name set on a throwaway TCP socket, with the caller's privileges (one
 * with CAP_NET_ADMIN also loads the algorithm's module): 0, or the errno:
 * ENOENT not on this kernel, EPERM not for this user.
 */
int vpnws_tcp_congestion_probe(const char *name);

/*
 * The default of this network namespace (net.ipv4.tcp_congestion_control),
 * NUL-terminated: 0, or -1 and errno
 */
int vpnws_tcp_congestion_default(char name[VPNWS_TCP_CA_NAME_MAX]);

/*
 * What a failed set or probe means for the administrator, into buf:
 * ENOENT "not available on this kernel (available: reno cubic)", EPERM
 * "not permitted for <who> (add it to net.ipv4.tcp_allowed_...)",
 * otherwise the errno's text.  Returns buf.
 */
char *vpnws_tcp_congestion_error(int err, const char *who, char *buf,
    size_t len);


#endif /* _VPNWS_TCP_H_INCLUDED_ */
