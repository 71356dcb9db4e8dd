/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the congestion control of a websocket's TCP connection.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "vpnws_tcp.h"


#define VPNWS_TCP_CA_AVAILABLE \
    "/proc/sys/net/ipv4/tcp_available_congestion_control"
#define VPNWS_TCP_CA_DEFAULT \
    "/proc/sys/net/ipv4/tcp_congestion_control"


static void vpnws_tcp_congestion_available(char *buf, size_t len);
static ssize_t vpnws_tcp_proc_read(const char *path, char *buf, size_t len);


const char *
vpnws_tcp_congestion_check(const char *name, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0) {
        return "empty";
    }

    if (len >= VPNWS_TCP_CA_NAME_MAX) {
        return "longer than 15 characters";
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if ((c < 'a' || c > 'z') && (c < '0' || c > '9')
            && c != '_' && c != '-')
        {
            return "only a-z, 0-9, \"_\" and \"-\" may appear";
        }
    }

    return NULL;
}


int
vpnws_tcp_congestion_set(int fd, const char *name)
{
    return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name,
                      (socklen_t) strlen(name));
}


int
vpnws_tcp_congestion_get(int fd, char name[VPNWS_TCP_CA_NAME_MAX])
{
    socklen_t  len;

    len = VPNWS_TCP_CA_NAME_MAX;

    if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) {
        return -1;
    }

    /* the kernel copies its NUL-padded name, up to len bytes */
    name[len < VPNWS_TCP_CA_NAME_MAX ? len : VPNWS_TCP_CA_NAME_MAX - 1]
        = '\0';

    return 0;
}


int
vpnws_tcp_congestion_probe(const char *name)
{
    int  fd, rc;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1) {
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }

    if (fd == -1) {
        return errno;
    }

    rc = (vpnws_tcp_congestion_set(fd, name) == 0) ? 0 : errno;

    (void) close(fd);

    return rc;
}


int
vpnws_tcp_congestion_default(char name[VPNWS_TCP_CA_NAME_MAX])
{
    ssize_t  n;

    n = vpnws_tcp_proc_read(VPNWS_TCP_CA_DEFAULT, name,
                            VPNWS_TCP_CA_NAME_MAX);

    if (n < 0) {
        return -1;
    }

    if (vpnws_tcp_congestion_check(name, (size_t) n) != NULL) {
        errno = EINVAL;
        return -1;
    }

    return 0;
}


char *
vpnws_tcp_congestion_error(int err, const char *who, char *buf, size_t len)
{
    char  avail[256];

    switch (err) {

    case ENOENT:
        vpnws_tcp_congestion_available(avail, sizeof(avail));
        snprintf(buf, len, "not available on this kernel (available: %s)",
                 avail);
        break;

    case EPERM:
        snprintf(buf, len, "not permitted for %s (add it to "
                 "net.ipv4.tcp_allowed_congestion_control)", who);
        break;

    default:
        snprintf(buf, len, "setsockopt(TCP_CONGESTION): %s", strerror(err));
    }

    return buf;
}


/* the kernel's list on one line, or what kept us from reading it */
static void
vpnws_tcp_congestion_available(char *buf, size_t len)
{
    if (vpnws_tcp_proc_read(VPNWS_TCP_CA_AVAILABLE, buf, len) < 0) {
        snprintf(buf, len, "unknown, %s: %s", VPNWS_TCP_CA_AVAILABLE,
                 strerror(errno));
    }
}


/*
 * A /proc/sys file's value into buf, NUL-terminated, without the trailing
 * newline: its length, or -1 with errno
 */
static ssize_t
vpnws_tcp_proc_read(const char *path, char *buf, size_t len)
{
    int      fd, err;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        return -1;
    }

    n = read(fd, buf, len - 1);
    err = errno;

    (void) close(fd);

    if (n < 0) {
        errno = err;
        return -1;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        n--;
    }

    buf[n] = '\0';

    return n;
}
