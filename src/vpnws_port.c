/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a websocket port's plumbing around the codec, for every host.
 */


#include <string.h>

#include "vpnws_port.h"


static int vpnws_port_control(void *ctx, int opcode, uint8_t *data,
    size_t len);
static uint8_t *vpnws_port_frag_alloc(void *ctx);
static void vpnws_port_frag_free(void *ctx, uint8_t *buf);
static void vpnws_bufs_trim(vpnws_bufs_t *b, const vpnws_port_ops_t *ops);


void
vpnws_port_host_init(vpnws_port_host_t *host, const vpnws_port_ops_t *ops,
    uint8_t *rbuf, size_t rbuf_size)
{
    host->ops = ops;

    /* the reader calls the host's hook itself: no call in between */
    host->handler.message = ops->message;
    host->handler.control = vpnws_port_control;
    host->handler.frag_alloc = vpnws_port_frag_alloc;
    host->handler.frag_free = vpnws_port_frag_free;

    host->rbuf = rbuf;
    host->rbuf_size = rbuf_size;
    host->dirty.prev = &host->dirty;
    host->dirty.next = &host->dirty;
}


void
vpnws_port_bufs_init(vpnws_port_bufs_t *bufs, size_t in_size,
    size_t out_size)
{
    memset(bufs, 0, sizeof(vpnws_port_bufs_t));

    bufs->in.size = in_size;
    bufs->out.size = out_size;
}


void
vpnws_port_bufs_free(vpnws_port_bufs_t *bufs, const vpnws_port_ops_t *ops)
{
    bufs->in.ports = 0;
    bufs->out.ports = 0;

    while (bufs->in.nfree) {
        ops->free(vpnws_bufs_get(&bufs->in, ops));
    }

    while (bufs->out.nfree) {
        ops->free(vpnws_bufs_get(&bufs->out, ops));
    }
}


void *
vpnws_bufs_get(vpnws_bufs_t *b, const vpnws_port_ops_t *ops)
{
    void  *buf;

    buf = b->free;

    if (buf) {
        b->free = *(void **) buf;
        b->nfree--;
        return buf;
    }

    return ops->alloc(b->size);
}


/* spares are kept up to the number of ports: a flood to every port, the
 * common burst, then finds a buffer for each without an allocation */
void
vpnws_bufs_put(vpnws_bufs_t *b, const vpnws_port_ops_t *ops, void *buf)
{
    if (b->nfree >= VPNWS_BUFS_KEEP && b->nfree >= b->ports) {
        ops->free(buf);
        return;
    }

    *(void **) buf = b->free;
    b->free = buf;
    b->nfree++;
}


/* a port left: a spare it may have left behind goes too */
static void
vpnws_bufs_trim(vpnws_bufs_t *b, const vpnws_port_ops_t *ops)
{
    if (b->ports) {
        b->ports--;
    }

    while (b->nfree > VPNWS_BUFS_KEEP && b->nfree > b->ports) {
        ops->free(vpnws_bufs_get(b, ops));
    }
}


void
vpnws_port_init(vpnws_port_io_t *io, vpnws_port_host_t *host,
    vpnws_port_bufs_t *bufs, vpnws_port_state_t *state,
    vpnws_port_stats_t *stats, uint64_t max_payload)
{
    memset(io, 0, sizeof(vpnws_port_io_t));

    io->host = host;
    io->bufs = bufs;
    io->state = state;
    io->stats = stats;
    io->reader.max_payload = max_payload;

    bufs->in.ports++;
    bufs->out.ports++;
}


void
vpnws_port_release(vpnws_port_io_t *io)
{
    const vpnws_port_ops_t  *ops;

    ops = io->host->ops;

    vpnws_port_undirty(io);
    vpnws_ws_reader_reset(&io->reader, &io->host->handler, io);

    if (io->in) {
        vpnws_bufs_put(&io->bufs->in, ops, io->in);
        io->in = NULL;
    }

    if (io->out) {
        vpnws_bufs_put(&io->bufs->out, ops, io->out);
        io->out = NULL;
    }

    vpnws_bufs_trim(&io->bufs->in, ops);
    vpnws_bufs_trim(&io->bufs->out, ops);
}


uint8_t *
vpnws_port_rbuf(vpnws_port_io_t *io, uint64_t now, size_t *room)
{
    size_t    n;
    uint8_t  *buf;

    if (io->in) {
        buf = io->in + io->in_len;
        n = io->bufs->in.size - io->in_len;

    } else {
        buf = io->host->rbuf;
        n = io->host->rbuf_size;
    }

    if (vpnws_limit_on(&io->state->limit)) {
        n = vpnws_limit_room(&io->state->limit, now, n);
    }

    *room = n;

    return buf;
}


int
vpnws_port_consume(vpnws_port_io_t *io, size_t n)
{
    size_t    len, left;
    ssize_t   used;
    uint8_t  *buf;

    io->stats->rx += n;
    vpnws_limit_charge(&io->state->limit, n);

    if (io->in) {
        buf = io->in;
        len = io->in_len + n;

    } else {
        buf = io->host->rbuf;
        len = n;
    }

    used = vpnws_ws_read(&io->reader, buf, len, &io->host->handler, io);

    if (used == -1) {

        if (io->peer_closed) {
            /* vpnws_port_control() set reply */
            io->why = NULL;
            return VPNWS_PORT_PEER_CLOSE;
        }

        if (io->reader.stopped) {
            return VPNWS_PORT_STOPPED;
        }

        io->reply = io->reader.code;
        io->why = io->reader.error;
        return VPNWS_PORT_PROTOCOL;
    }

    left = len - (size_t) used;

    if (buf == io->host->rbuf) {

        if (left) {
            /* the rest of a frame the next read completes */
            io->in = vpnws_bufs_get(&io->bufs->in, io->host->ops);

            if (io->in == NULL) {
                io->reply = VPNWS_WS_CLOSE_INTERNAL;
                io->why = "out of memory";
                return VPNWS_PORT_NOMEM;
            }

            memcpy(io->in, buf + used, left);
        }

    } else if (left == 0) {
        vpnws_bufs_put(&io->bufs->in, io->host->ops, io->in);
        io->in = NULL;

    } else if (used) {
        memmove(io->in, io->in + used, left);
    }

    io->in_len = left;

    return VPNWS_PORT_OK;
}


static int
vpnws_port_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    vpnws_port_io_t *io = ctx;

    switch (opcode) {

    case VPNWS_WS_OP_PING:
        (void) vpnws_port_frame(io, VPNWS_WS_OP_PONG, NULL, 0, data, len);
        return 0;

    case VPNWS_WS_OP_PONG:
        return 0;

    default: /* VPNWS_WS_OP_CLOSE */
        io->peer_closed = 1;
        io->peer_code = vpnws_ws_close_code(data, len);
        io->reply = vpnws_ws_close_reply(data, len);
        return -1;
    }
}


static uint8_t *
vpnws_port_frag_alloc(void *ctx)
{
    vpnws_port_io_t *io = ctx;

    return vpnws_bufs_get(&io->bufs->in, io->host->ops);
}


static void
vpnws_port_frag_free(void *ctx, uint8_t *buf)
{
    vpnws_port_io_t *io = ctx;

    vpnws_bufs_put(&io->bufs->in, io->host->ops, buf);
}


/* the hot path's, inlined */
static inline uint8_t *
vpnws_port_room_in(vpnws_port_io_t *io, size_t size)
{
    size_t  used, cap;

    cap = io->bufs->out.size;

    if (io->out == NULL) {
        io->out = vpnws_bufs_get(&io->bufs->out, io->host->ops);

        if (io->out == NULL) {
            return NULL;
        }

        io->out_pos = 0;
        io->out_last = 0;
    }

    if (io->out_last + size > cap) {
        used = io->out_last - io->out_pos;

        if (used + size > cap) {
            return NULL;
        }

        /* only under back-pressure: slide the unsent bytes to the front */
        memmove(io->out, io->out + io->out_pos, used);
        io->out_pos = 0;
        io->out_last = used;
    }

    vpnws_port_mark(io);

    return io->out + io->out_last;
}


uint8_t *
vpnws_port_room(vpnws_port_io_t *io, size_t size)
{
    return vpnws_port_room_in(io, size);
}


void
vpnws_port_dropped(vpnws_port_io_t *io, vpnws_drop_t reason)
{
    io->stats->drops++;
    io->host->ops->drop(io, reason);

    if (io->out && io->out_pos == io->out_last && !io->is_dirty) {
        /* nothing waits: the queue need not be held */
        vpnws_bufs_put(&io->bufs->out, io->host->ops, io->out);
        io->out = NULL;
    }
}


int
vpnws_port_frame(vpnws_port_io_t *io, int opcode, const uint8_t *pre,
    size_t plen, const uint8_t *data, size_t len)
{
    size_t    hlen, size;
    uint8_t  *dst;

    if (io->closing) {
        return -1;
    }

    size = plen + len;
    hlen = vpnws_ws_hlen(size);

    dst = vpnws_port_room_in(io, hlen + size);

    if (dst == NULL) {
        vpnws_port_dropped(io, VPNWS_DROP_QUEUE_FULL);
        return -1;
    }

    /* the header in place, then the one copy of the payload */
    dst += vpnws_ws_header(dst, opcode, size, NULL);

    if (plen) {
        memcpy(dst, pre, plen);
        dst += plen;
    }

    if (len) {
        memcpy(dst, data, len);
    }

    io->out_last += hlen + size;

    if (opcode == VPNWS_WS_OP_BINARY) {
        io->stats->frames_out++;
    }

    return 0;
}


int
vpnws_port_over_rate(vpnws_port_io_t *io, uint64_t now, size_t len)
{
    if (vpnws_limit_send(&io->state->limit, now, len) != 0) {
        vpnws_port_dropped(io, VPNWS_DROP_RATE_LIMIT);
        return -1;
    }

    return 0;
}


int
vpnws_port_output(vpnws_port_io_t *io, uint64_t now, const uint8_t *frame,
    size_t len)
{
    if (vpnws_port_police(io, now, len) != 0) {
        return -1;
    }

    return vpnws_port_frame(io, VPNWS_WS_OP_BINARY, NULL, 0, frame, len);
}


int
vpnws_port_send(vpnws_port_io_t *io, const uint8_t *msg, size_t size)
{
    ssize_t   n;
    uint8_t  *dst;

    if (io->closing) {
        return 1;
    }

    n = 0;

    if (!io->is_dirty && vpnws_port_queued(io) == 0) {
        n = io->host->ops->send(io, msg, size);

        if (n == -1) {
            goto failed;
        }

        io->stats->tx += n;
    }

    if ((size_t) n < size) {
        dst = vpnws_port_room_in(io, size - n);

        if (dst == NULL) {

            if (n) {
                /* a torn frame would corrupt the stream */
                goto failed;
            }

            vpnws_port_dropped(io, VPNWS_DROP_QUEUE_FULL);
            return 1;
        }

        memcpy(dst, msg + n, size - n);
        io->out_last += size - n;
    }

    io->stats->frames_out++;

    return 0;

failed:

    io->closing = 1;
    io->error = 1;

    return -1;
}


int
vpnws_port_flush(vpnws_port_io_t *io)
{
    ssize_t  n;

    if (io->error) {
        return VPNWS_PORT_ERROR;
    }

    while (io->out && io->out_pos < io->out_last) {

        n = io->host->ops->send(io, io->out + io->out_pos,
                                io->out_last - io->out_pos);

        if (n == -1) {
            io->closing = 1;
            io->error = 1;
            return VPNWS_PORT_ERROR;
        }

        if (n == 0) {
            return VPNWS_PORT_AGAIN;
        }

        io->out_pos += n;
        io->stats->tx += n;
    }

    if (io->out) {
        vpnws_bufs_put(&io->bufs->out, io->host->ops, io->out);
        io->out = NULL;
    }

    return VPNWS_PORT_OK;
}


int
vpnws_port_close(vpnws_port_io_t *io, uint16_t code, const char *reason)
{
    size_t    n;
    uint8_t  *dst, frame[VPNWS_WS_CLOSE_FRAME];

    if (io->closing) {
        return -1;
    }

    n = vpnws_ws_close_frame(frame, code, reason, NULL);

    dst = vpnws_port_room_in(io, n);

    if (dst) {
        memcpy(dst, frame, n);
        io->out_last += n;

    } else {
        /* no room: the flush ends the port all the same */
        vpnws_port_mark(io);
    }

    io->closing = 1;

    return 0;
}
