/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the switch's ports: websocket peers (reading frames, writing
 * their queues, closing; the plumbing is the core's port layer,
 * src/vpnws_port.c) and the delivery of what vpnws_switch_frame decides.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "vpnwsd.h"


static int vpnwsd_on_message(void *io, uint8_t *data, size_t len);
static ssize_t vpnwsd_io_send(vpnws_port_io_t *io, const uint8_t *buf,
    size_t len);
static void vpnwsd_io_drop(vpnws_port_io_t *io, vpnws_drop_t reason);
static void vpnwsd_flush(vpnwsd_conn_t *c);
static void vpnwsd_peer_linger(vpnwsd_conn_t *c);


static const vpnws_port_ops_t  vpnwsd_port_ops = {
    vpnwsd_on_message,
    vpnwsd_io_send,
    vpnwsd_io_drop,
    malloc,
    free
};


#define vpnwsd_conn(io)  vpnws_port_data(io, vpnwsd_conn_t, io)


int
vpnwsd_peer_init(void)
{
    size_t     size, in;
    uint8_t   *rbuf;
    uint64_t   seed;

    in = vpnwsd.conf.max_frame + VPNWS_WS_MAX_HLEN;
    size = in < 65536 ? 65536 : in;

    rbuf = malloc(size);
    vpnws_port_host_init(&vpnwsd.host, &vpnwsd_port_ops, rbuf, size);
    vpnws_port_bufs_init(&vpnwsd.bufs, in, vpnwsd.queue);

    /* one more slot for the tap */
    vpnwsd.slots = calloc((size_t) vpnwsd.max_peers + 1,
                          sizeof(vpnwsd_conn_t *));

    size = vpnws_mactab_size(vpnwsd.max_macs);
    vpnwsd.table_mem = malloc(size);

    if (rbuf == NULL || vpnwsd.slots == NULL
        || vpnwsd.table_mem == NULL)
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "no memory for the switch (%zu bytes of "
                   "MAC table)", size);
        return -1;
    }

    seed = (uint64_t) time(NULL) ^ (uint64_t) getpid() << 32
           ^ (uint64_t) (uintptr_t) vpnwsd.table_mem;

    vpnws_mactab_init(&vpnwsd.table, vpnwsd.table_mem, vpnwsd.max_macs, seed);

    vpnwsd.next_id = 1;

    return 0;
}


void
vpnwsd_switch_ctx(vpnws_switch_ctx_t *ctx)
{
    struct timespec  ts;

    /* one process owns the table: no lock, no liveness, no cache */
    /* monotonic: a clock stepped back must not age every MAC at once */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    vpnws_switch_ctx_init(ctx, &vpnwsd.conf, &vpnwsd.table,
                          (uint32_t) ts.tv_sec);
    ctx->bridges = vpnwsd.bridges;
    ctx->msec = (uint64_t) vpnwsd.now;
}


/* learned MACs past their aging leave, so the table never fills with them */
void
vpnwsd_switch_expire(void)
{
    vpnws_switch_ctx_t  ctx;

    vpnwsd_switch_ctx(&ctx);
    (void) vpnws_switch_expire(&ctx);
}


/* a new port of the switch: an id never used before and a slot; 0: none */
uint64_t
vpnwsd_port_add(vpnwsd_conn_t *c)
{
    uint32_t  i;

    for (i = 0; i <= vpnwsd.max_peers; i++) {
        if (vpnwsd.slots[i] == NULL) {
            break;
        }
    }

    if (i > vpnwsd.max_peers) {
        return 0;
    }

    vpnwsd.slots[i] = c;

    /* 64 bits from 1: never reused, never 0 (a free table entry) */
    c->state.port.id = vpnwsd.next_id++;
    c->state.port.slot = i;
    c->state.port.worker = 0;
    c->in_switch = 1;
    c->start = (int64_t) time(NULL);

    c->port_prev = NULL;
    c->port_next = vpnwsd.ports;
    if (vpnwsd.ports) {
        vpnwsd.ports->port_prev = c;
    }
    vpnwsd.ports = c;

    if (c->state.port.flags & VPNWS_PORT_BRIDGE) {
        vpnwsd.bridges++;
    }

    if (!(c->state.port.flags & VPNWS_PORT_TAP)) {
        vpnwsd.npeers++;
    }

    return c->state.port.id;
}


void
vpnwsd_port_remove(vpnwsd_conn_t *c)
{
    vpnws_switch_ctx_t  ctx;

    if (!c->in_switch) {
        return;
    }

    c->in_switch = 0;

    vpnwsd_switch_ctx(&ctx);
    vpnws_switch_port_gone(&ctx, &c->state);

    vpnwsd.slots[c->state.port.slot] = NULL;

    if (c->port_prev) {
        c->port_prev->port_next = c->port_next;

    } else {
        vpnwsd.ports = c->port_next;
    }

    if (c->port_next) {
        c->port_next->port_prev = c->port_prev;
    }

    if (c->state.port.flags & VPNWS_PORT_BRIDGE) {
        vpnwsd.bridges--;
    }

    if (!(c->state.port.flags & VPNWS_PORT_TAP)) {
        vpnwsd.npeers--;
    }
}


vpnwsd_conn_t *
vpnwsd_port_find(uint64_t id)
{
    vpnwsd_conn_t  *c;

    for (c = vpnwsd.ports; c; c = c->port_next) {
        if (c->state.port.id == id) {
            return c;
        }
    }

    return NULL;
}


/* the handshake succeeded: response is the 101, sent before any frame */
int
vpnwsd_peer_start(vpnwsd_conn_t *c, const uint8_t *response, size_t len)
{
    uint8_t  *dst;

    vpnws_port_init(&c->io, &vpnwsd.host, &vpnwsd.bufs, &c->state,
                    &c->stats, vpnwsd.conf.max_frame);

    c->kind = VPNWSD_PEER;
    c->last_rx = vpnwsd.now;
    c->deadline = 0;

    if (vpnwsd_conn_events(c, EPOLLIN | EPOLLRDHUP) != 0) {
        return -1;
    }

    /* the 101 goes out first, through the queue */
    dst = vpnws_port_room(&c->io, len);
    if (dst == NULL) {
        vpnwsd_log(VPNWSD_LOG_ERR, "no memory for peer %llu",
                   (unsigned long long) c->state.port.id);
        return -1;
    }

    memcpy(dst, response, len);
    c->io.out_last += len;
    c->tx_101 = len;

    return 0;
}


/* over its rate or flood limit: not read until the bucket has tokens */
static int
vpnwsd_peer_pause(vpnwsd_conn_t *c)
{
    uint64_t  wait;

    wait = vpnws_limit_wait(&c->state.limit, (uint64_t) vpnwsd.now);

    if (wait == 0) {
        return 0;
    }

    c->paused = 1;
    c->resume = vpnwsd.now + (int64_t) wait;

    if (vpnwsd.resume == 0 || c->resume < vpnwsd.resume) {
        vpnwsd.resume = c->resume;
    }

    /* level-triggered: no EPOLLIN while paused, or the loop would spin */
    (void) vpnwsd_conn_events(c, c->io.out ? EPOLLOUT : 0);

    return 1;
}


/* the loop's timer: read the paused ports whose time has come */
void
vpnwsd_peer_resume(void)
{
    int64_t         next;
    vpnwsd_conn_t  *c, *n;

    if (vpnwsd.resume == 0 || vpnwsd.now < vpnwsd.resume) {
        return;
    }

    next = 0;

    for (c = vpnwsd.ports; c; c = n) {
        n = c->port_next;

        if (!c->paused || c->dead) {
            continue;
        }

        if (vpnwsd.now < c->resume) {
            next = (next == 0 || c->resume < next) ? c->resume : next;
            continue;
        }

        c->paused = 0;
        (void) vpnwsd_conn_events(c, EPOLLIN | EPOLLRDHUP
                                     | (c->io.out ? EPOLLOUT : 0));
        vpnwsd_peer_read(c);
    }

    vpnwsd.resume = 0;

    /* ports read above may have paused again and set it */
    for (c = vpnwsd.ports; c; c = c->port_next) {
        if (c->paused && (next == 0 || c->resume < next)) {
            next = c->resume;
        }
    }

    vpnwsd.resume = next;
}


void
vpnwsd_peer_read(vpnwsd_conn_t *c)
{
    size_t     room;
    ssize_t    n;
    uint8_t   *buf;
    uint32_t   rounds;

    for (rounds = 0; rounds < VPNWS_PORT_READ_ROUNDS; rounds++) {

        if (c->io.closing || c->dead) {
            return;
        }

        if (c->paused) {
            /* only a hangup or an error wakes a paused port: read it out */
            c->paused = 0;
        }

        buf = vpnws_port_rbuf(&c->io, (uint64_t) vpnwsd.now, &room);

        if (room == 0) {
            /* over its rate */
            (void) vpnwsd_peer_pause(c);
            return;
        }

        n = read(c->fd, buf, room);

        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu: read() failed: %s",
                       (unsigned long long) c->state.port.id, strerror(errno));
            vpnwsd_conn_free(c);
            return;
        }

        if (n == 0) {
            vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu closed the connection",
                       (unsigned long long) c->state.port.id);
            vpnwsd_conn_free(c);
            return;
        }

        c->last_rx = vpnwsd.now;
        c->pinged = 0;

        if (vpnwsd_peer_consume(c, (size_t) n) != 0) {
            return;
        }

        if (vpnws_limit_on(&c->state.limit) && !c->dead
            && vpnwsd_peer_pause(c))
        {
            return;
        }

        if ((size_t) n < room) {
            /* drained; level-triggered epoll says if more comes */
            return;
        }
    }
}


/* n bytes read where vpnws_port_rbuf() said */
int
vpnwsd_peer_consume(vpnwsd_conn_t *c, size_t n)
{
    int  rc;

    rc = vpnws_port_consume(&c->io, n);

    switch (rc) {

    case VPNWS_PORT_OK:
        return 0;

    case VPNWS_PORT_PROTOCOL:
        vpnwsd_log(VPNWS_LOG_PROTOCOL, "peer %llu: %s, closing with %d",
                   (unsigned long long) c->state.port.id, c->io.why,
                   (int) c->io.reply);
        break;

    case VPNWS_PORT_PEER_CLOSE:
        vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu sent Close %d",
                   (unsigned long long) c->state.port.id,
                   (int) c->io.peer_code);
        break;

    case VPNWS_PORT_NOMEM:
        vpnwsd_log(VPNWSD_LOG_ERR, "peer %llu: no memory, closing",
                   (unsigned long long) c->state.port.id);
        break;

    default: /* VPNWS_PORT_STOPPED */
        return -1;
    }

    vpnwsd_peer_close(c, c->io.reply, c->io.why);

    return -1;
}


/* the port layer's message hook: a frame from peer c */
static int
vpnwsd_on_message(void *io, uint8_t *data, size_t len)
{
    vpnwsd_conn_t  *c;

    c = vpnwsd_conn(io);
    c->stats.frames_in++;

    vpnwsd_switch_frame(c, data, len);

    return 0;
}


static ssize_t
vpnwsd_io_send(vpnws_port_io_t *io, const uint8_t *buf, size_t len)
{
    ssize_t         n;
    vpnwsd_conn_t  *c;

    c = vpnwsd_conn(io);

    do {
        n = write(c->fd, buf, len);
    } while (n == -1 && errno == EINTR);

    if (n >= 0) {
        return n;
    }

    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return 0;
    }

    vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu: write() failed: %s",
               (unsigned long long) c->state.port.id, strerror(errno));

    return -1;
}


static void
vpnwsd_io_drop(vpnws_port_io_t *io, vpnws_drop_t reason)
{
    (void) io;

    vpnwsd.drops[reason]++;
}


static void
vpnwsd_deliver(vpnwsd_conn_t *q, const uint8_t *frame, size_t len)
{
    if (q->kind == VPNWSD_TAP) {
        vpnwsd_tap_write(q, frame, len);
        return;
    }

    (void) vpnws_port_output(&q->io, (uint64_t) vpnwsd.now, frame, len);
}


void
vpnwsd_switch_frame(vpnwsd_conn_t *src, uint8_t *frame, size_t len)
{
    vpnwsd_conn_t       *q;
    vpnws_decision_t     d;
    vpnws_switch_ctx_t   ctx;
    char                 text[VPNWS_MAC_STR_LEN + 1];

    vpnwsd_switch_ctx(&ctx);
    vpnws_switch_frame(&ctx, &src->state, frame, len, &d);

    if (d.learned && !(src->state.port.flags & VPNWS_PORT_BRIDGE)) {
        /* a peer's first frame gave it its MAC */
        vpnwsd_tap_announce(src);
    }

    if (d.log_taken) {
        vpnws_mac_format(frame + VPNWS_MAC_LEN, text);
        vpnwsd_log(VPNWSD_LOG_ERR, "peer %llu sends from MAC %s, which "
                   "another peer owns; dropping those frames",
                   (unsigned long long) src->state.port.id, text);
    }

    switch (d.action) {

    case VPNWS_FWD_DROP:
        vpnwsd.drops[d.reason]++;
        return;

    case VPNWS_FWD_UNICAST:
        q = (d.dst.slot <= vpnwsd.max_peers) ? vpnwsd.slots[d.dst.slot]
                                             : NULL;

        if (q == NULL || q->state.port.id != d.dst.id) {
            vpnwsd.drops[VPNWS_DROP_UNKNOWN]++;
            return;
        }

        vpnwsd_deliver(q, frame, len);
        return;

    default: /* VPNWS_FWD_FLOOD, VPNWS_FWD_BRIDGES */

        for (q = vpnwsd.ports; q; q = q->port_next) {

            if (q->io.closing
                || !vpnws_switch_to(&vpnwsd.conf, &src->state.port, d.action,
                                    &q->state.port))
            {
                continue;
            }

            vpnwsd_deliver(q, frame, len);
        }

        return;
    }
}


void
vpnwsd_flush_dirty(void)
{
    vpnws_port_io_t  *io;

    while ((io = vpnws_port_dirty_next(&vpnwsd.host)) != NULL) {
        vpnwsd_flush(vpnwsd_conn(io));
    }
}


static void
vpnwsd_flush(vpnwsd_conn_t *c)
{
    uint32_t  events;

    if (c->dead) {
        return;
    }

    switch (vpnws_port_flush(&c->io)) {

    case VPNWS_PORT_OK:

        if (c->io.closing) {
            vpnwsd_peer_linger(c);
            vpnwsd_conn_free(c);
            return;
        }

        events = c->paused ? 0 : EPOLLIN | EPOLLRDHUP;
        break;

    case VPNWS_PORT_AGAIN:
        events = c->io.closing ? EPOLLOUT
                 : (c->paused ? 0 : EPOLLIN | EPOLLRDHUP) | EPOLLOUT;
        break;

    default:
        vpnwsd_conn_free(c);
        return;
    }

    if (vpnwsd_conn_events(c, events) != 0) {
        c->io.error = 1;
        vpnwsd_conn_free(c);
    }
}


/*
 * The Close frame is out: end our side, and read what the peer still sent
 * so that close() does not turn into a reset that could destroy the frame.
 */
static void
vpnwsd_peer_linger(vpnwsd_conn_t *c)
{
    int  i;

    (void) shutdown(c->fd, SHUT_WR);

    for (i = 0; i < 16; i++) {
        if (read(c->fd, vpnwsd.host.rbuf, vpnwsd.host.rbuf_size) <= 0) {
            return;
        }
    }
}


void
vpnwsd_peer_write(vpnwsd_conn_t *c)
{
    vpnwsd_flush(c);
}


void
vpnwsd_peer_close(vpnwsd_conn_t *c, uint16_t code, const char *reason)
{
    if (c->dead || vpnws_port_close(&c->io, code, reason) != 0) {
        return;
    }

    /* stop reading; the flush ends the connection when the queue is out */
    c->deadline = vpnwsd.now + VPNWS_PORT_CLOSE_WAIT;

    (void) vpnwsd_conn_events(c, EPOLLOUT);
}


/* the connection is gone: leave the switch, return the buffers */
void
vpnwsd_peer_gone(vpnwsd_conn_t *c)
{
    if (c->in_switch) {
        vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu left (rx %llu, tx %llu bytes)",
                   (unsigned long long) c->state.port.id,
                   (unsigned long long) c->stats.rx,
                   (unsigned long long) c->stats.tx);
    }

    vpnwsd_port_remove(c);

    if (c->io.host) {
        /* a peer, not the tap */
        vpnws_port_release(&c->io);
    }
}


void
vpnwsd_peer_tick(vpnwsd_conn_t *c)
{
    int64_t  idle;

    if (c->io.closing) {
        if (vpnwsd.now >= c->deadline) {
            vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu did not take its Close "
                       "frame", (unsigned long long) c->state.port.id);
            vpnwsd_conn_free(c);
        }

        return;
    }

    idle = vpnwsd.now - c->last_rx;

    if (idle >= VPNWS_DEFAULT_IDLE) {
        vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu idle for %lld ms, closing",
                   (unsigned long long) c->state.port.id, (long long) idle);
        vpnwsd_peer_close(c, VPNWS_WS_CLOSE_GOING_AWAY, "idle");
        return;
    }

    if (idle >= VPNWS_DEFAULT_PING && !c->pinged) {
        c->pinged = 1;
        (void) vpnws_port_queue(&c->io, NULL, 0, VPNWS_WS_OP_PING);
    }
}
