/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the epoll loop: accepting, reading the uwsgi packet, writing
 * short HTTP responses, the one-second housekeeping tick, and freeing
 * connections only between epoll rounds.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "vpnwsd.h"


static void vpnwsd_accept(vpnwsd_conn_t *l);
static void vpnwsd_request_read(vpnwsd_conn_t *c);
static void vpnwsd_response_write(vpnwsd_conn_t *c);
static void vpnwsd_tick(void);
static void vpnwsd_free_dead(void);


static vpnwsd_conn_t  vpnwsd_listeners[2];    /* <socket>, --admin */
static int            vpnwsd_accept_paused;


int
vpnwsd_loop_init(void)
{
    int                  i;
    vpnwsd_conn_t       *l;
    struct epoll_event   ev;

    vpnwsd.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (vpnwsd.epfd == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "epoll_create1() failed: %s",
                   strerror(errno));
        return -1;
    }

    vpnwsd_listeners[0].fd = vpnwsd.listen_fd;
    vpnwsd_listeners[1].fd = vpnwsd.admin_fd;
    vpnwsd_listeners[1].admin = 1;

    for (i = 0; i < 2; i++) {
        l = &vpnwsd_listeners[i];

        if (l->fd == -1) {
            continue;
        }

        l->kind = VPNWSD_LISTENER;
        l->events = EPOLLIN;

        ev.events = EPOLLIN;
        ev.data.ptr = l;

        if (epoll_ctl(vpnwsd.epfd, EPOLL_CTL_ADD, l->fd, &ev) == -1) {
            vpnwsd_log(VPNWSD_LOG_ERR, "epoll_ctl() failed: %s",
                       strerror(errno));
            return -1;
        }
    }

    return 0;
}


vpnwsd_conn_t *
vpnwsd_conn_new(int fd, vpnwsd_kind_e kind)
{
    vpnwsd_conn_t       *c;
    struct epoll_event   ev;

    c = calloc(1, sizeof(vpnwsd_conn_t));
    if (c == NULL) {
        return NULL;
    }

    c->fd = fd;
    c->kind = kind;
    c->events = EPOLLIN;
    c->last_rx = vpnwsd.now;

    ev.events = c->events;
    ev.data.ptr = c;

    if (epoll_ctl(vpnwsd.epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "epoll_ctl() failed: %s", strerror(errno));
        free(c);
        return NULL;
    }

    c->all_next = vpnwsd.all;
    if (vpnwsd.all) {
        vpnwsd.all->all_prev = c;
    }
    vpnwsd.all = c;

    return c;
}


int
vpnwsd_conn_events(vpnwsd_conn_t *c, uint32_t events)
{
    struct epoll_event  ev;

    if (c->dead || c->events == events) {
        return 0;
    }

    ev.events = events;
    ev.data.ptr = c;

    if (epoll_ctl(vpnwsd.epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        vpnwsd_log(VPNWSD_LOG_ERR, "epoll_ctl() failed: %s", strerror(errno));
        return -1;
    }

    c->events = events;

    return 0;
}


/* close at once; the memory goes after this epoll round */
void
vpnwsd_conn_free(vpnwsd_conn_t *c)
{
    if (c->dead) {
        return;
    }

    if (c->kind == VPNWSD_PEER || c->kind == VPNWSD_TAP) {
        vpnwsd_peer_gone(c);
    }

    c->dead = 1;

    if (c->fd != -1) {
        (void) close(c->fd);
        c->fd = -1;
    }

    if (c->all_prev) {
        c->all_prev->all_next = c->all_next;

    } else {
        vpnwsd.all = c->all_next;
    }

    if (c->all_next) {
        c->all_next->all_prev = c->all_prev;
    }

    free(c->req);
    c->req = NULL;
    free(c->resp);
    c->resp = NULL;

    c->all_next = vpnwsd.dead;
    vpnwsd.dead = c;
}


static void
vpnwsd_free_dead(void)
{
    vpnwsd_conn_t  *c;

    while (vpnwsd.dead) {
        c = vpnwsd.dead;
        vpnwsd.dead = c->all_next;
        free(c->user);
        free(c->dn);
        free(c);
    }
}


int
vpnwsd_loop_run(void)
{
    int                  i, n, timeout;
    int64_t              next_tick;
    vpnwsd_conn_t       *c;
    struct epoll_event   events[VPNWSD_EVENTS];

    vpnwsd.now = vpnwsd_now_ms();
    next_tick = vpnwsd.now + 1000;

    while (!vpnwsd_quit) {

        timeout = (int) (next_tick - vpnwsd.now);

        if (vpnwsd.resume && vpnwsd.resume - vpnwsd.now < timeout) {
            /* a rate-limited port reads again then */
            timeout = (int) (vpnwsd.resume - vpnwsd.now);
        }

        if (timeout < 0) {
            timeout = 0;
        }

        n = epoll_wait(vpnwsd.epfd, events, VPNWSD_EVENTS, timeout);

        if (n == -1) {
            if (errno == EINTR) {
                vpnwsd.now = vpnwsd_now_ms();
                continue;
            }

            vpnwsd_log(VPNWSD_LOG_ERR, "epoll_wait() failed: %s",
                       strerror(errno));
            return -1;
        }

        vpnwsd.now = vpnwsd_now_ms();
        vpnwsd_peer_resume();

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;

            if (c->dead) {
                continue;
            }

            switch (c->kind) {

            case VPNWSD_LISTENER:
                vpnwsd_accept(c);
                break;

            case VPNWSD_REQUEST:
                vpnwsd_request_read(c);
                break;

            case VPNWSD_RESPONSE:
                vpnwsd_response_write(c);
                break;

            case VPNWSD_PEER:

                if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                    vpnwsd_peer_write(c);
                }

                if (!c->dead
                    && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                {
                    vpnwsd_peer_read(c);
                }

                break;

            case VPNWSD_TAP:
                vpnwsd_tap_read(c);
                break;
            }

            vpnwsd_flush_dirty();
        }

        vpnwsd_free_dead();

        if (vpnwsd.now >= next_tick) {
            vpnwsd_tick();
            vpnwsd_flush_dirty();
            vpnwsd_free_dead();
            next_tick = vpnwsd.now + 1000;
        }
    }

    return 0;
}


static void
vpnwsd_accept(vpnwsd_conn_t *l)
{
    int             fd, i;
    vpnwsd_conn_t  *c;

    /* a bounded batch: established peers must not starve */
    for (i = 0; i < 64; i++) {
        fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                || errno == ECONNABORTED)
            {
                return;
            }

            vpnwsd_log(VPNWSD_LOG_ERR, "accept4() failed: %s%s",
                       strerror(errno),
                       (errno == EMFILE || errno == ENFILE)
                       ? ", not accepting for a second" : "");

            /* level-triggered: a listener we cannot serve would spin */
            if (vpnwsd_conn_events(l, 0) == 0) {
                l->stalled = 1;
                vpnwsd_accept_paused = 1;
            }

            return;
        }

        c = vpnwsd_conn_new(fd, VPNWSD_REQUEST);
        if (c == NULL) {
            vpnwsd_log(VPNWSD_LOG_ERR, "no memory for a connection");
            (void) close(fd);
            return;
        }

        c->admin = l->admin;

        c->req = malloc(VPNWSD_UWSGI_MAX);
        if (c->req == NULL) {
            vpnwsd_log(VPNWSD_LOG_ERR, "no memory for a connection");
            vpnwsd_conn_free(c);
            return;
        }

        c->deadline = vpnwsd.now + VPNWSD_REQUEST_TIMEOUT;
    }
}


/*
 * VPNWS_ADMIN on: the JSON control interface for a front end that cannot
 * set modifier1 (Apache's mod_proxy_uwsgi: SetEnv VPNWS_ADMIN on).  A
 * client cannot set it: headers reach us as HTTP_ variables only.
 * 1: admin, 0: a websocket, -1: refused (an invalid value).
 */
static int
vpnwsd_admin_asked(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk)
{
    const vpnws_uwsgi_var_t  *v;

    v = vpnws_uwsgi_get(pk, "VPNWS_ADMIN");

    if (v == NULL) {
        return 0;
    }

    if ((v->value_len == 2 && memcmp(v->value, "on", 2) == 0)
        || (v->value_len == 1 && v->value[0] == '1'))
    {
        return 1;
    }

    if ((v->value_len == 3 && memcmp(v->value, "off", 3) == 0)
        || (v->value_len == 1 && v->value[0] == '0'))
    {
        return 0;
    }

    vpnwsd_log(VPNWSD_LOG_ERR, "invalid uwsgi packet: VPNWS_ADMIN is "
               "neither on nor off");
    vpnwsd_respond_status(c, 400, "400 Bad Request",
                          "VPNWS_ADMIN must be on or off");

    return -1;
}


/* an admin request on <socket>: unless --admin moved or removed it */
static void
vpnwsd_admin_here(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk)
{
    if (vpnwsd.admin == NULL && !vpnwsd.admin_off) {
        vpnwsd_admin(c, pk);
        return;
    }

    vpnwsd_log(VPNWSD_LOG_ERR, "refused an admin request on %s: the admin "
               "interface is %s", vpnwsd.socket,
               vpnwsd.admin_off ? "off (--admin off)"
                                : "on its own socket (--admin)");
    vpnwsd_respond_status(c, 403, "403 Forbidden",
                          "the admin interface is not on this socket");
}


static void
vpnwsd_request_read(vpnwsd_conn_t *c)
{
    int                    rc;
    ssize_t                n;
    vpnws_uwsgi_packet_t   pk;

    n = read(c->fd, c->req + c->req_len, VPNWSD_UWSGI_MAX - c->req_len);

    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return;
        }

        vpnwsd_log(VPNWSD_LOG_ERR, "uwsgi request: read() failed: %s",
                   strerror(errno));
        vpnwsd_conn_free(c);
        return;
    }

    if (n == 0) {
        if (c->req_len) {
            vpnwsd_log(VPNWSD_LOG_ERR, "uwsgi request: connection closed "
                       "after %zu bytes of a packet", c->req_len);

        } else {
            vpnwsd_log(VPNWSD_LOG_INFO, "uwsgi request: connection closed "
                       "before a packet");
        }

        vpnwsd_conn_free(c);
        return;
    }

    c->req_len += n;

    /* a front end that speaks HTTP: its head becomes the uwsgi packet */
    if (vpnwsd_http_is(c) && vpnwsd_http_request(c) != 1) {
        return;
    }

    rc = vpnws_uwsgi_parse(&pk, c->req, c->req_len, VPNWSD_UWSGI_MAX);

    if (rc == VPNWS_UWSGI_AGAIN) {
        return;
    }

    if (rc == VPNWS_UWSGI_ERROR) {
        vpnwsd_log(VPNWSD_LOG_ERR, "invalid uwsgi packet: %s, closing",
                   pk.error);
        vpnwsd_conn_free(c);
        return;
    }

    c->deadline = 0;

    if (c->admin) {
        /* --admin PATH: nothing but the admin */
        vpnwsd_admin(c, &pk);
        return;
    }

    switch (pk.modifier1) {

    case 0:
        rc = vpnwsd_admin_asked(c, &pk);

        if (rc == 1) {
            vpnwsd_admin_here(c, &pk);

        } else if (rc == 0) {
            vpnwsd_handshake(c, &pk);
        }

        return;

    case 1:
        vpnwsd_admin_here(c, &pk);
        return;

    default:
        vpnwsd_log(VPNWSD_LOG_ERR, "invalid uwsgi packet: modifier1 %d is "
                   "neither 0 (websocket) nor 1 (admin), closing",
                   (int) pk.modifier1);
        vpnwsd_conn_free(c);
        return;
    }
}


/* an HTTP response (the body copied), written before the connection ends */
void
vpnwsd_respond(vpnwsd_conn_t *c, const char *line, const char *headers,
    const char *type, const char *body, size_t len, int head_only)
{
    int   n;
    char  head[512];

    free(c->req);
    c->req = NULL;
    c->req_len = 0;

    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "%s"
                 "Connection: close\r\n"
                 "\r\n",
                 line, type, len, headers ? headers : "");

    if (n < 0 || (size_t) n >= sizeof(head)) {
        vpnwsd_conn_free(c);
        return;
    }

    if (head_only) {
        len = 0;
    }

    c->kind = VPNWSD_RESPONSE;
    c->resp = malloc((size_t) n + len);

    if (c->resp == NULL) {
        vpnwsd_log(VPNWSD_LOG_ERR, "no memory for a response");
        vpnwsd_conn_free(c);
        return;
    }

    memcpy(c->resp, head, (size_t) n);

    if (len) {
        memcpy(c->resp + n, body, len);
    }

    c->resp_len = (size_t) n + len;
    c->resp_pos = 0;
    c->deadline = vpnwsd.now + VPNWS_DEFAULT_IDLE;

    if (vpnwsd_conn_events(c, EPOLLOUT) != 0) {
        vpnwsd_conn_free(c);
        return;
    }

    vpnwsd_response_write(c);
}


void
vpnwsd_respond_error(vpnwsd_conn_t *c, const vpnws_refusal_info_t *ri)
{
    int                  n;
    size_t               len;
    char                 body[256], headers[256];
    const char * const  *h;

    n = snprintf(body, sizeof(body), VPNWSD_NAME ": %s\r\n", ri->reason);

    if (n < 0 || (size_t) n >= sizeof(body)) {
        n = 0;
    }

    len = 0;
    headers[0] = '\0';

    for (h = ri->headers; h[0]; h += 2) {
        len += (size_t) snprintf(headers + len, sizeof(headers) - len,
                                 "%s: %s\r\n", h[0], h[1]);

        if (len >= sizeof(headers)) {
            headers[0] = '\0';
            break;
        }
    }

    vpnwsd_respond(c, ri->status_line, headers[0] ? headers : NULL,
                   "text/plain", body, (size_t) n, 0);
}


/* an error of the daemon's own, not one of the upgrade rules' refusals */
void
vpnwsd_respond_status(vpnwsd_conn_t *c, int status, const char *line,
    const char *reason)
{
    vpnws_refusal_info_t        ri;
    static const char * const   none[] = { NULL };

    ri.status = (uint16_t) status;
    ri.status_line = line;
    ri.level = VPNWS_LOG_ERR;
    ri.reason = reason;
    ri.headers = none;

    vpnwsd_respond_error(c, &ri);
}


static void
vpnwsd_response_write(vpnwsd_conn_t *c)
{
    ssize_t  n;

    while (c->resp_pos < c->resp_len) {
        n = write(c->fd, c->resp + c->resp_pos, c->resp_len - c->resp_pos);

        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            vpnwsd_log(VPNWSD_LOG_INFO, "response: write() failed: %s",
                       strerror(errno));
            vpnwsd_conn_free(c);
            return;
        }

        c->resp_pos += n;
    }

    /* the proxy reads until EOF */
    (void) shutdown(c->fd, SHUT_WR);
    vpnwsd_conn_free(c);
}


static void
vpnwsd_tick(void)
{
    int              i;
    vpnwsd_conn_t   *c, *next, *l;
    static int64_t   expire;

    if (vpnwsd_accept_paused) {
        vpnwsd_accept_paused = 0;

        for (i = 0; i < 2; i++) {
            l = &vpnwsd_listeners[i];

            if (l->stalled && vpnwsd_conn_events(l, EPOLLIN) == 0) {
                l->stalled = 0;
            }

            vpnwsd_accept_paused |= l->stalled;
        }
    }

    if (vpnwsd.now >= expire) {
        vpnwsd_switch_expire();
        expire = vpnwsd.now + (vpnwsd.conf.mac_aging * 1000 / 4 > 1000
                               ? vpnwsd.conf.mac_aging * 1000 / 4 : 1000);
    }

    for (c = vpnwsd.all; c; c = next) {
        next = c->all_next;

        switch (c->kind) {

        case VPNWSD_REQUEST:

            if (c->deadline && vpnwsd.now >= c->deadline) {
                vpnwsd_log(VPNWSD_LOG_ERR, "uwsgi request: no complete "
                           "packet within %d ms (%zu bytes), closing",
                           VPNWSD_REQUEST_TIMEOUT, c->req_len);
                vpnwsd_conn_free(c);
            }

            break;

        case VPNWSD_RESPONSE:

            if (c->deadline && vpnwsd.now >= c->deadline) {
                vpnwsd_log(VPNWSD_LOG_INFO, "response: not read in time, "
                           "closing");
                vpnwsd_conn_free(c);
            }

            break;

        case VPNWSD_PEER:
            vpnwsd_peer_tick(c);
            break;

        default:
            break;
        }
    }
}
