/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: the transport stream, plain TCP or TLS, non-blocking.
 */


#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <openssl/err.h>

#include "vpnws_client.h"


/* keep little unsent data in the kernel: TCP-in-TCP hates bufferbloat */
#define VPNWS_NOTSENT_LOWAT  (128 * 1024)


/*
 * SIGINT, SIGTERM and SIGHUP are blocked and read from a signalfd that
 * every wait watches: a busy descriptor cannot keep them from being seen.
 */
volatile sig_atomic_t  vpnws_quit;
int                    vpnws_signal_fd = -1;


void
vpnws_signal_read(void)
{
    struct signalfd_siginfo  si;

    while (read(vpnws_signal_fd, &si, sizeof(si)) == sizeof(si)) {
        vpnws_log(VPNWS_LOG_DEBUG, "signal %u", si.ssi_signo);
        vpnws_quit = 1;
    }
}


/* poll fd and the signals: 1 ready, 0 timeout, -1 error (errno) */
int
vpnws_signal_poll(int fd, short events, int timeout)
{
    int            n;
    struct pollfd  pfd[2];

    pfd[0].fd = fd;
    pfd[0].events = events;
    pfd[0].revents = 0;
    pfd[1].fd = vpnws_signal_fd;
    pfd[1].events = POLLIN;
    pfd[1].revents = 0;

    n = poll(pfd, 2, timeout);

    if (n > 0 && pfd[1].revents) {
        vpnws_signal_read();
    }

    if (n > 0) {
        return pfd[0].revents ? 1 : 0;
    }

    return n;
}


int
vpnws_conn_wait(vpnws_conn_t *c, short events, int64_t deadline, char *err,
    size_t errlen)
{
    int      n;
    int64_t  left;

    for ( ;; ) {

        if (vpnws_quit) {
            snprintf(err, errlen, "interrupted");
            return VPNWS_QUIT;
        }

        left = deadline - vpnws_now_ms();

        if (left <= 0) {
            snprintf(err, errlen, "timed out");
            return VPNWS_RETRY;
        }

        n = vpnws_signal_poll(c->fd, events, (int) left);

        if (n == -1) {

            if (errno == EINTR) {
                continue;
            }

            snprintf(err, errlen, "poll(): %s", strerror(errno));
            return VPNWS_RETRY;
        }

        if (n > 0) {
            return VPNWS_OK;
        }
    }
}


static void
vpnws_addr_text(struct sockaddr *sa, char *buf, size_t len)
{
    void  *a;

    a = (sa->sa_family == AF_INET6)
        ? (void *) &((struct sockaddr_in6 *) sa)->sin6_addr
        : (void *) &((struct sockaddr_in *) sa)->sin_addr;

    if (inet_ntop(sa->sa_family, a, buf, len) == NULL) {
        snprintf(buf, len, "?");
    }
}


static void
vpnws_socket_options(int fd)
{
    int  on, lowat;

    on = 1;
    lowat = VPNWS_NOTSENT_LOWAT;

    /* one ethernet frame a message: never wait for more */
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
                      sizeof(lowat));
    (void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}


int
vpnws_conn_connect(vpnws_conn_t *c, const char *host, const char *port,
    int64_t deadline, char *err, size_t errlen)
{
    int               fd, rc, e;
    char              addr[INET6_ADDRSTRLEN], cerr[VPNWS_TCP_CA_ERRLEN];
    int64_t           left;
    socklen_t         elen;
    struct addrinfo   hints, *res, *ai, *next;

    memset(&hints, 0, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;

    /* blocking, but bounded by the resolver's own timeouts */
    rc = getaddrinfo(host, port, &hints, &res);

    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
        hints.ai_flags = 0;
        rc = getaddrinfo(host, port, &hints, &res);
    }

    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return VPNWS_RETRY;
    }

    rc = VPNWS_RETRY;
    snprintf(err, errlen, "no address for \"%s\"", host);

    for (ai = res; ai; ai = ai->ai_next) {

        vpnws_addr_text(ai->ai_addr, addr, sizeof(addr));

        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);

        if (fd == -1) {
            snprintf(err, errlen, "socket(): %s", strerror(errno));
            continue;
        }

        vpnws_socket_options(fd);

        /* before connect(): the SYN already uses it */
        if (c->congestion
            && vpnws_tcp_congestion_set(fd, c->congestion) != 0)
        {
            e = errno;
            snprintf(err, errlen, "--congestion %s: %s", c->congestion,
                     vpnws_tcp_congestion_error(e, "this user", cerr,
                                                sizeof(cerr)));
            close(fd);
            continue;
        }

        c->fd = fd;

        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            rc = VPNWS_OK;
            break;
        }

        if (errno != EINPROGRESS) {
            snprintf(err, errlen, "connect to %s port %s: %s", addr, port,
                     strerror(errno));
            close(fd);
            c->fd = -1;
            continue;
        }

        /* an address that swallows SYNs leaves time for the next ones */
        for (left = 0, next = ai; next; next = next->ai_next) {
            left++;
        }

        rc = vpnws_conn_wait(c, POLLOUT,
                             vpnws_now_ms()
                             + (deadline - vpnws_now_ms()) / left,
                             err, errlen);

        if (rc != VPNWS_OK) {

            if (rc == VPNWS_RETRY) {
                snprintf(err, errlen, "connect to %s port %s: timed out",
                         addr, port);
            }

            close(fd);
            c->fd = -1;

            if (rc == VPNWS_QUIT) {
                break;
            }

            continue;
        }

        e = 0;
        elen = sizeof(e);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1) {
            e = errno;
        }

        if (e == 0) {
            vpnws_log(VPNWS_LOG_DEBUG, "TCP connected to %s port %s",
                      addr, port);
            rc = VPNWS_OK;
            break;
        }

        snprintf(err, errlen, "connect to %s port %s: %s", addr, port,
                 strerror(e));
        rc = VPNWS_RETRY;
        close(fd);
        c->fd = -1;
    }

    freeaddrinfo(res);

    return rc;
}


ssize_t
vpnws_conn_read(vpnws_conn_t *c, void *buf, size_t len, char *err,
    size_t errlen)
{
    int      n, e;
    ssize_t  rc;

    if (c->ssl == NULL) {
        rc = recv(c->fd, buf, len, 0);

        if (rc >= 0) {
            return rc;
        }

        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return -2;
        }

        snprintf(err, errlen, "recv(): %s", strerror(errno));
        return -1;
    }

    c->read_wants_write = 0;

    ERR_clear_error();
    errno = 0;
    n = SSL_read(c->ssl, buf, len > 0x40000000 ? 0x40000000 : (int) len);

    if (n > 0) {
        return n;
    }

    e = SSL_get_error(c->ssl, n);

    switch (e) {

    case SSL_ERROR_WANT_READ:
        return -2;

    case SSL_ERROR_WANT_WRITE:
        c->read_wants_write = 1;
        return -2;

    case SSL_ERROR_ZERO_RETURN:
        return 0;

    case SSL_ERROR_SYSCALL:

        if (ERR_peek_error() == 0) {

            if (errno == 0) {
                return 0;
            }

            if (errno == EAGAIN || errno == EINTR) {
                return -2;
            }

            snprintf(err, errlen, "SSL_read(): %s", strerror(errno));
            return -1;
        }

        /* fall through */

    default:
        vpnws_tls_error("SSL_read()", err, errlen);
        return -1;
    }
}


ssize_t
vpnws_conn_write(vpnws_conn_t *c, const void *buf, size_t len, char *err,
    size_t errlen)
{
    int      n, e;
    ssize_t  rc;

    if (c->ssl == NULL) {
        rc = send(c->fd, buf, len, MSG_NOSIGNAL);

        if (rc >= 0) {
            return rc;
        }

        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return -2;
        }

        snprintf(err, errlen, "send(): %s", strerror(errno));
        return -1;
    }

    c->write_wants_read = 0;

    ERR_clear_error();
    errno = 0;
    n = SSL_write(c->ssl, buf, len > 0x40000000 ? 0x40000000 : (int) len);

    if (n > 0) {
        return n;
    }

    e = SSL_get_error(c->ssl, n);

    switch (e) {

    case SSL_ERROR_WANT_WRITE:
        return -2;

    case SSL_ERROR_WANT_READ:
        c->write_wants_read = 1;
        return -2;

    case SSL_ERROR_SYSCALL:

        if (ERR_peek_error() == 0) {

            if (errno == EAGAIN || errno == EINTR) {
                return -2;
            }

            snprintf(err, errlen, "SSL_write(): %s",
                     errno ? strerror(errno) : "connection closed");
            return -1;
        }

        /* fall through */

    default:
        vpnws_tls_error("SSL_write()", err, errlen);
        return -1;
    }
}


int
vpnws_conn_write_all(vpnws_conn_t *c, const void *buf, size_t len,
    int64_t deadline, char *err, size_t errlen)
{
    int             rc;
    ssize_t         n;
    const uint8_t  *p;

    p = buf;

    while (len) {
        n = vpnws_conn_write(c, p, len, err, errlen);

        if (n == -1) {
            return VPNWS_RETRY;
        }

        if (n == -2) {
            rc = vpnws_conn_wait(c, c->write_wants_read ? POLLIN : POLLOUT,
                                 deadline, err, errlen);

            if (rc != VPNWS_OK) {
                return rc;
            }

            continue;
        }

        p += n;
        len -= n;
    }

    return VPNWS_OK;
}


void
vpnws_conn_close(vpnws_conn_t *c)
{
    if (c->ssl) {
        /* no SSL_shutdown(): the websocket CLOSE already said goodbye */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }

    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }

    c->read_wants_write = 0;
    c->write_wants_read = 0;
}
