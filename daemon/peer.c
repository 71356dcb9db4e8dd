/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the switch's ports: websocket peers (reading frames, output
 * queues, closing) and the delivery of what vpnws_switch_frame decides.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "vpnwsd.h"


static int vpnwsd_on_message(void *ctx, uint8_t *data, size_t len);
static int vpnwsd_on_control(void *ctx, int opcode, uint8_t *data,
    size_t len);
static uint8_t *vpnwsd_frag_alloc(void *ctx);
static void vpnwsd_frag_free(void *ctx, uint8_t *buf);
static void vpnwsd_flush(vpnwsd_conn_t *c);
static void vpnwsd_peer_linger(vpnwsd_conn_t *c);


static const vpnws_ws_handler_t  vpnwsd_ws_handler = {
    vpnwsd_on_message,
    vpnwsd_on_control,
    vpnwsd_frag_alloc,
    vpnwsd_frag_free
};


#define vpnwsd_in_size()  (vpnwsd.conf.max_frame + VPNWS_WS_MAX_HLEN)


/* spare buffers: a list threaded through the buffers themselves */

static uint8_t *
vpnwsd_buf_get(void **list, uint32_t *n, size_t size)
{
    void  *b;

    b = *list;

    if (b) {
        *list = *(void **) b;
        (*n)--;
        return b;
    }

    return malloc(size);
}


/* spares are kept up to the number of peers: a flood to every peer, the
 * common burst, then finds a buffer for each without malloc */
static void
vpnwsd_buf_put(void **list, uint32_t *n, void *b)
{
    if (*n >= VPNWSD_FREE_KEEP && *n > vpnwsd.npeers) {
        free(b);
        return;
    }

    *(void **) b = *list;
    *list = b;
    (*n)++;
}


#define vpnwsd_in_get()                                                       \
    vpnwsd_buf_get(&vpnwsd.free_in, &vpnwsd.nfree_in, vpnwsd_in_size())
#define vpnwsd_in_put(b)                                                      \
    vpnwsd_buf_put(&vpnwsd.free_in, &vpnwsd.nfree_in, b)
#define vpnwsd_out_get()                                                      \
    vpnwsd_buf_get(&vpnwsd.free_out, &vpnwsd.nfree_out, vpnwsd.queue)
#define vpnwsd_out_put(b)                                                     \
    vpnwsd_buf_put(&vpnwsd.free_out, &vpnwsd.nfree_out, b)


int
vpnwsd_peer_init(void)
{
    size_t    size;
    uint64_t  seed;

    vpnwsd.rbuf_size = vpnwsd_in_size();

    if (vpnwsd.rbuf_size < 65536) {
        vpnwsd.rbuf_size = 65536;
    }

    vpnwsd.rbuf = malloc(vpnwsd.rbuf_size);

    /* one more slot for the tap */
    vpnwsd.slots = calloc((size_t) vpnwsd.max_peers + 1,
                          sizeof(vpnwsd_conn_t *));

    size = vpnws_mactab_size(vpnwsd.max_macs);
    vpnwsd.table_mem = malloc(size);

    if (vpnwsd.rbuf == NULL || vpnwsd.slots == NULL
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

    c->kind = VPNWSD_PEER;
    c->reader.max_payload = vpnwsd.conf.max_frame;
    c->last_rx = vpnwsd.now;
    c->deadline = 0;

    if (vpnwsd_conn_events(c, EPOLLIN | EPOLLRDHUP) != 0) {
        return -1;
    }

    c->out = vpnwsd_out_get();
    if (c->out == NULL) {
        vpnwsd_log(VPNWSD_LOG_ERR, "no memory for peer %llu",
                   (unsigned long long) c->state.port.id);
        return -1;
    }

    c->out_pos = 0;
    c->out_last = 0;

    dst = c->out;
    memcpy(dst, response, len);
    c->out_last = len;
    c->tx_101 = len;

    c->dirty = 1;
    c->dirty_next = vpnwsd.dirty;
    vpnwsd.dirty = c;

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
    (void) vpnwsd_conn_events(c, c->out ? EPOLLOUT : 0);

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
                                     | (c->out ? EPOLLOUT : 0));
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
    size_t     have, cap, room;
    ssize_t    n;
    uint8_t   *buf;
    uint32_t   rounds;

    for (rounds = 0; rounds < VPNWSD_READ_ROUNDS; rounds++) {

        if (c->closing || c->dead) {
            return;
        }

        if (c->paused) {
            /* only a hangup or an error wakes a paused port: read it out */
            c->paused = 0;
        }

        if (c->in) {
            buf = c->in;
            have = c->in_len;
            cap = vpnwsd_in_size();

        } else {
            buf = vpnwsd.rbuf;
            have = 0;
            cap = vpnwsd.rbuf_size;
        }

        room = cap - have;

        if (vpnws_limit_on(&c->state.limit)) {
            room = vpnws_limit_room(&c->state.limit, (uint64_t) vpnwsd.now,
                                    room);

            if (room == 0) {
                (void) vpnwsd_peer_pause(c);
                return;
            }
        }

        n = read(c->fd, buf + have, room);

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

        c->rx += n;
        c->last_rx = vpnwsd.now;
        c->pinged = 0;
        vpnws_limit_charge(&c->state.limit, (size_t) n);

        if (vpnwsd_peer_consume(c, buf, have + n) != 0) {
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


int
vpnwsd_peer_consume(vpnwsd_conn_t *c, uint8_t *buf, size_t len)
{
    size_t   left;
    ssize_t  n;

    n = vpnws_ws_read(&c->reader, buf, len, &vpnwsd_ws_handler, c);

    if (n == -1) {

        if (!c->reader.stopped) {
            vpnwsd_log(VPNWS_LOG_PROTOCOL, "peer %llu: %s, closing with %d",
                       (unsigned long long) c->state.port.id, c->reader.error,
                       (int) c->reader.code);
            vpnwsd_peer_close(c, c->reader.code, c->reader.error);
        }

        return -1;
    }

    left = len - (size_t) n;

    if (buf == vpnwsd.rbuf) {

        if (left) {
            c->in = vpnwsd_in_get();

            if (c->in == NULL) {
                vpnwsd_log(VPNWSD_LOG_ERR, "peer %llu: no memory, closing",
                           (unsigned long long) c->state.port.id);
                vpnwsd_peer_close(c, VPNWS_WS_CLOSE_INTERNAL,
                                  "out of memory");
                return -1;
            }

            memcpy(c->in, buf + n, left);
        }

    } else if (left == 0) {
        vpnwsd_in_put(c->in);
        c->in = NULL;

    } else if (n) {
        memmove(c->in, c->in + n, left);
    }

    c->in_len = left;

    return 0;
}


static int
vpnwsd_on_message(void *ctx, uint8_t *data, size_t len)
{
    vpnwsd_conn_t *c = ctx;

    c->frames_in++;

    vpnwsd_switch_frame(c, data, len);

    return 0;
}


static int
vpnwsd_on_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    vpnwsd_conn_t *c = ctx;

    uint16_t  code;

    switch (opcode) {

    case VPNWS_WS_OP_PING:
        (void) vpnwsd_queue(c, data, len, VPNWS_WS_OP_PONG);
        return 0;

    case VPNWS_WS_OP_PONG:
        return 0;

    default: /* VPNWS_WS_OP_CLOSE */
        code = vpnws_ws_close_code(data, len);

        vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu sent Close %d",
                   (unsigned long long) c->state.port.id, (int) code);

        vpnwsd_peer_close(c, vpnws_ws_close_reply(data, len), NULL);
        return -1;
    }
}


static uint8_t *
vpnwsd_frag_alloc(void *ctx)
{
    (void) ctx;

    return vpnwsd_in_get();
}


static void
vpnwsd_frag_free(void *ctx, uint8_t *buf)
{
    (void) ctx;

    vpnwsd_in_put(buf);
}


static void
vpnwsd_deliver(vpnwsd_conn_t *q, const uint8_t *frame, size_t len)
{
    if (q->kind == VPNWSD_TAP) {
        vpnwsd_tap_write(q, frame, len);
        return;
    }

    if (vpnws_limit_on(&q->state.limit)
        && vpnws_limit_send(&q->state.limit, (uint64_t) vpnwsd.now, len)
           != 0)
    {
        /* over the peer's rate: what others send it is policed */
        q->drops++;
        vpnwsd.drops[VPNWS_DROP_RATE_LIMIT]++;
        return;
    }

    (void) vpnwsd_queue(q, frame, len, VPNWS_WS_OP_BINARY);
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

            if (q->closing
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


/* make room for size more bytes in c's output queue; NULL: full */
static uint8_t *
vpnwsd_room(vpnwsd_conn_t *c, size_t size)
{
    size_t  used;

    if (c->out == NULL) {
        c->out = vpnwsd_out_get();

        if (c->out == NULL) {
            return NULL;
        }

        c->out_pos = 0;
        c->out_last = 0;
    }

    if (c->out_last + size > vpnwsd.queue) {
        used = c->out_last - c->out_pos;

        if (used + size > vpnwsd.queue) {
            return NULL;
        }

        /* only under back-pressure: slide the unsent bytes to the front */
        memmove(c->out, c->out + c->out_pos, used);
        c->out_pos = 0;
        c->out_last = used;
    }

    if (!c->dirty) {
        c->dirty = 1;
        c->dirty_next = vpnwsd.dirty;
        vpnwsd.dirty = c;
    }

    return c->out + c->out_last;
}


int
vpnwsd_queue(vpnwsd_conn_t *c, const uint8_t *data, size_t len, int opcode)
{
    size_t    hlen;
    uint8_t  *dst, hdr[VPNWS_WS_MAX_HLEN];

    if (c->closing) {
        return -1;
    }

    hlen = vpnws_ws_header(hdr, opcode, len, NULL);

    dst = vpnwsd_room(c, hlen + len);

    if (dst == NULL) {
        c->drops++;
        vpnwsd.drops[VPNWS_DROP_QUEUE_FULL]++;
        return -1;
    }

    memcpy(dst, hdr, hlen);

    if (len) {
        memcpy(dst + hlen, data, len);
    }

    c->out_last += hlen + len;

    if (opcode == VPNWS_WS_OP_BINARY) {
        c->frames_out++;
    }

    return 0;
}


void
vpnwsd_flush_dirty(void)
{
    vpnwsd_conn_t  *c;

    while (vpnwsd.dirty) {
        c = vpnwsd.dirty;
        vpnwsd.dirty = c->dirty_next;
        c->dirty_next = NULL;
        c->dirty = 0;

        if (!c->dead) {
            vpnwsd_flush(c);
        }
    }
}


static void
vpnwsd_flush(vpnwsd_conn_t *c)
{
    ssize_t   n;
    uint32_t  events;

    if (c->error) {
        return;
    }

    while (c->out && c->out_pos < c->out_last) {

        n = write(c->fd, c->out + c->out_pos, c->out_last - c->out_pos);

        if (n == -1) {

            if (errno == EINTR) {
                continue;
            }

            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                events = c->closing ? EPOLLOUT
                         : (c->paused ? 0 : EPOLLIN | EPOLLRDHUP)
                           | EPOLLOUT;

                if (vpnwsd_conn_events(c, events) != 0) {
                    goto failed;
                }

                return;
            }

            vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu: write() failed: %s",
                       (unsigned long long) c->state.port.id, strerror(errno));
            goto failed;
        }

        c->out_pos += n;
        c->tx += n;
    }

    if (c->out) {
        vpnwsd_out_put(c->out);
        c->out = NULL;
    }

    if (c->closing) {
        vpnwsd_peer_linger(c);
        vpnwsd_conn_free(c);
        return;
    }

    if (vpnwsd_conn_events(c, c->paused ? 0 : EPOLLIN | EPOLLRDHUP) != 0)
    {
        goto failed;
    }

    return;

failed:

    c->error = 1;
    vpnwsd_conn_free(c);
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
        if (read(c->fd, vpnwsd.rbuf, vpnwsd.rbuf_size) <= 0) {
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
    size_t    n;
    uint8_t  *dst, frame[VPNWS_WS_CLOSE_FRAME];

    if (c->closing || c->dead) {
        return;
    }

    n = vpnws_ws_close_frame(frame, code, reason, NULL);

    dst = vpnwsd_room(c, n);

    if (dst) {
        memcpy(dst, frame, n);
        c->out_last += n;

    } else if (!c->dirty) {
        c->dirty = 1;
        c->dirty_next = vpnwsd.dirty;
        vpnwsd.dirty = c;
    }

    /* stop reading; the flush ends the connection when the queue is out */
    c->closing = 1;
    c->deadline = vpnwsd.now + VPNWSD_CLOSE_WAIT;

    (void) vpnwsd_conn_events(c, EPOLLOUT);
}


/* the connection is gone: leave the switch, return the buffers */
void
vpnwsd_peer_gone(vpnwsd_conn_t *c)
{
    if (c->in_switch) {
        vpnwsd_log(VPNWSD_LOG_INFO, "peer %llu left (rx %llu, tx %llu bytes)",
                   (unsigned long long) c->state.port.id,
                   (unsigned long long) c->rx,
                   (unsigned long long) c->tx);
    }

    vpnwsd_port_remove(c);

    if (c->in) {
        vpnwsd_in_put(c->in);
        c->in = NULL;
    }

    if (c->out) {
        vpnwsd_out_put(c->out);
        c->out = NULL;
    }

    vpnws_ws_reader_reset(&c->reader, &vpnwsd_ws_handler, c);
}


void
vpnwsd_peer_tick(vpnwsd_conn_t *c)
{
    int64_t  idle;

    if (c->closing) {
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
        (void) vpnwsd_queue(c, NULL, 0, VPNWS_WS_OP_PING);
    }
}
