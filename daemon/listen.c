/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the listening sockets (<socket>, --admin PATH): a unix socket
 * path (--socket-mode, default 0660, --socket-owner and --socket-group: the
 * proxy's group must reach it, nobody else; a stale file is replaced, a
 * live socket is an error) or host:port for TCP.
 */


#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "vpnwsd.h"


typedef struct {
    char    path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
    dev_t   dev;
    ino_t   ino;
} vpnwsd_unix_t;


static vpnwsd_unix_t  vpnwsd_unix[2];   /* <socket>, --admin */


/* owner, group, then mode: never more open than asked, even for a moment */
static int
vpnwsd_listen_perms(const char *path, const char *what)
{
    if ((vpnwsd.socket_uid != (uid_t) -1 || vpnwsd.socket_gid != (gid_t) -1)
        && chown(path, vpnwsd.socket_uid, vpnwsd.socket_gid) == -1)
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "%s \"%s\": chown(%d, %d) failed: %s",
                   what, path, (int) vpnwsd.socket_uid,
                   (int) vpnwsd.socket_gid, strerror(errno));
        return -1;
    }

    if (chmod(path, vpnwsd.socket_mode) == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "%s \"%s\": chmod(%04o) failed: %s",
                   what, path, (unsigned) vpnwsd.socket_mode,
                   strerror(errno));
        return -1;
    }

    return 0;
}


static int
vpnwsd_bind_unix(int fd, struct sockaddr_un *sun)
{
    int     rc, err;
    mode_t  old;

    /* created owner-only; vpnwsd_listen_perms() opens it as asked */
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *) sun, sizeof(struct sockaddr_un));
    err = errno;
    (void) umask(old);
    errno = err;

    return rc;
}


static int
vpnwsd_listen_unix(const char *path, const char *what, vpnwsd_unix_t *u)
{
    int                 fd, probe, err;
    struct stat         st;
    struct sockaddr_un  sun;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        vpnwsd_log(VPNWSD_LOG_ERR, "socket path \"%s\" is too long", path);
        return -1;
    }

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path));

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "socket(AF_UNIX) failed: %s",
                   strerror(errno));
        return -1;
    }

    if (vpnwsd_bind_unix(fd, &sun) == -1) {
        err = errno;

        if (err != EADDRINUSE) {
            vpnwsd_log(VPNWSD_LOG_ERR, "bind(\"%s\") failed: %s", path,
                       strerror(err));
            goto failed;
        }

        if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
            vpnwsd_log(VPNWSD_LOG_ERR, "\"%s\" exists and is not a socket",
                       path);
            goto failed;
        }

        /* a socket file: live if someone accepts on it */
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe == -1) {
            vpnwsd_log(VPNWSD_LOG_ERR, "socket(AF_UNIX) failed: %s",
                       strerror(errno));
            goto failed;
        }

        if (connect(probe, (struct sockaddr *) &sun, sizeof(sun)) == 0) {
            close(probe);
            vpnwsd_log(VPNWSD_LOG_ERR, "socket \"%s\" is in use by a "
                       "running server", path);
            goto failed;
        }

        err = errno;
        close(probe);

        if (err != ECONNREFUSED) {
            vpnwsd_log(VPNWSD_LOG_ERR, "socket \"%s\" exists and cannot be "
                       "probed: %s", path, strerror(err));
            goto failed;
        }

        vpnwsd_log(VPNWSD_LOG_NOTICE, "replacing the stale socket \"%s\"",
                   path);

        if (unlink(path) == -1) {
            vpnwsd_log(VPNWSD_LOG_ERR, "unlink(\"%s\") failed: %s", path,
                       strerror(errno));
            goto failed;
        }

        if (vpnwsd_bind_unix(fd, &sun) == -1) {
            vpnwsd_log(VPNWSD_LOG_ERR, "bind(\"%s\") failed: %s", path,
                       strerror(errno));
            goto failed;
        }
    }

    if (vpnwsd_listen_perms(path, what) != 0) {
        (void) unlink(path);
        goto failed;
    }

    if (stat(path, &st) == 0) {
        memcpy(u->path, path, strlen(path) + 1);
        u->dev = st.st_dev;
        u->ino = st.st_ino;
    }

    return fd;

failed:

    close(fd);
    return -1;
}


static int
vpnwsd_listen_tcp(const char *spec)
{
    int               fd, rc, one;
    char              host[256];
    const char       *colon, *port, *h;
    size_t            hlen;
    struct addrinfo   hints, *res, *ai;

    colon = strrchr(spec, ':');
    h = spec;
    hlen = (size_t) (colon - spec);
    port = colon + 1;

    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }

    if (hlen >= sizeof(host) || *port == '\0') {
        vpnwsd_log(VPNWSD_LOG_ERR, "invalid address \"%s\"", spec);
        return -1;
    }

    memcpy(host, h, hlen);
    host[hlen] = '\0';

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;

    rc = getaddrinfo(hlen ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        vpnwsd_log(VPNWSD_LOG_ERR, "invalid address \"%s\": %s", spec,
                   gai_strerror(rc));
        return -1;
    }

    fd = -1;

    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd == -1) {
            continue;
        }

        one = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }

        rc = errno;
        close(fd);
        fd = -1;
        errno = rc;
    }

    freeaddrinfo(res);

    if (fd == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "bind(\"%s\") failed: %s", spec,
                   strerror(errno));
    }

    return fd;
}


/* <socket>, or (admin) --admin PATH */
int
vpnwsd_listen(const char *spec, int admin)
{
    int  fd;

    /* a path, or host:port as the original vpn-ws */
    if (spec[0] == '/' || spec[0] == '.' || strchr(spec, ':') == NULL) {
        fd = vpnwsd_listen_unix(spec, admin ? "admin socket" : "socket",
                                &vpnwsd_unix[admin ? 1 : 0]);

    } else {
        fd = vpnwsd_listen_tcp(spec);
    }

    if (fd == -1) {
        return -1;
    }

    if (listen(fd, 1024) == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "listen(\"%s\") failed: %s", spec,
                   strerror(errno));
        close(fd);
        vpnwsd_listen_cleanup();
        return -1;
    }

    return fd;
}


/* remove our socket files, unless another server replaced them meanwhile */
void
vpnwsd_listen_cleanup(void)
{
    size_t          i;
    struct stat     st;
    vpnwsd_unix_t  *u;

    for (i = 0; i < 2; i++) {
        u = &vpnwsd_unix[i];

        if (u->path[0] == '\0') {
            continue;
        }

        if (stat(u->path, &st) == 0 && st.st_dev == u->dev
            && st.st_ino == u->ino)
        {
            (void) unlink(u->path);
        }

        u->path[0] = '\0';
    }
}
