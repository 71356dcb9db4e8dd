/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: a websocket port (src/vpnws_port.c) as a host drives it.  The
 * same bytes are read once in one read and once in random pieces of at
 * most the room vpnws_port_rbuf() gives, with flushes into a socket that
 * takes random amounts in between; both must switch the same messages,
 * write the same bytes (the PONGs) and end the same way, the partial frame
 * must stay in its buffer, and every buffer must come back.
 *
 * Input: 2 bytes max_payload (mod 2048), 4 bytes split seed, 1 byte of
 * flags (1: a message starting 0x55 stops), then the stream.
 */


#include "fuzz.h"
#include "port_wire.h"
#include "vpnws_port.h"


#define FUZZ_QUEUE  (256 * 1024)


typedef struct {
    vpnws_port_io_t     io;
    vpnws_port_state_t  state;
    vpnws_port_stats_t  stats;
    unsigned            flags;
    uint64_t            hash;
    uint32_t            nmsgs;
    port_wire_t         wire;
} fuzz_peer_t;


static long  live;      /* buffers allocated and not freed */


static int
on_message(void *io, uint8_t *data, size_t len)
{
    size_t        i;
    fuzz_peer_t  *p;

    p = vpnws_port_data(io, fuzz_peer_t, io);

    fuzz_assert(len <= p->io.reader.max_payload);

    p->hash = (p->hash ^ len) * 0x100000001b3ULL;

    for (i = 0; i < len; i++) {
        p->hash = (p->hash ^ data[i]) * 0x100000001b3ULL;
    }

    p->nmsgs++;

    return ((p->flags & 1) && len && data[0] == 0x55) ? -1 : 0;
}


static ssize_t
on_send(vpnws_port_io_t *io, const uint8_t *buf, size_t len)
{
    return port_wire_send(&vpnws_port_data(io, fuzz_peer_t, io)->wire, buf,
                          len);
}


static void
on_drop(vpnws_port_io_t *io, vpnws_drop_t reason)
{
    (void) io;
    (void) reason;

    /* the queue holds every PONG this input can ask for */
    fuzz_assert(0);
}


static void *
on_alloc(size_t size)
{
    live++;

    return malloc(size);
}


static void
on_free(void *buf)
{
    live--;
    free(buf);
}


static const vpnws_port_ops_t  ops = {
    on_message, on_send, on_drop, on_alloc, on_free
};


static vpnws_port_host_t  host;
static vpnws_port_bufs_t  bufs;
static uint8_t            rbuf[65536];


static void
peer_init(fuzz_peer_t *p, uint64_t max, unsigned flags, size_t wire)
{
    memset(p, 0, sizeof(fuzz_peer_t));

    p->flags = flags;
    p->wire.buf = malloc(wire ? wire : 1);
    p->wire.room = wire;

    vpnws_port_init(&p->io, &host, &bufs, &p->state, &p->stats, max);
}


FUZZ_CHECKER static void
check_rest(fuzz_peer_t *p)
{
    fuzz_assert((p->io.in == NULL) == (p->io.in_len == 0));
    fuzz_assert(p->io.in_len < bufs.in.size);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           rc1, rc2;
    size_t        room, step, off, wire;
    uint8_t      *buf;
    uint32_t      seed;
    uint64_t      max;
    unsigned      flags;
    fuzz_in_t     in;
    fuzz_peer_t   one, many;

    in.p = data;
    in.n = size;

    max = fuzz_u16(&in) % 2048;
    seed = fuzz_u32(&in) | 1;
    flags = fuzz_u8(&in);

    if (in.n > sizeof(rbuf)) {
        return 0;
    }

    vpnws_port_host_init(&host, &ops, rbuf, sizeof(rbuf));
    vpnws_port_bufs_init(&bufs, max + VPNWS_WS_MAX_HLEN, FUZZ_QUEUE);

    /* a PONG is at most 2 + 125 bytes for 6 + 125 read */
    wire = in.n + 64;

    /* all at once */
    peer_init(&one, max, flags, wire);
    memcpy(rbuf, in.p, in.n);
    rc1 = in.n ? vpnws_port_consume(&one.io, in.n) : VPNWS_PORT_OK;
    check_rest(&one);
    fuzz_assert(vpnws_port_flush(&one.io) == VPNWS_PORT_OK);

    /* in pieces, flushed into a socket that takes what it likes */
    peer_init(&many, max, flags, wire);
    off = 0;
    rc2 = VPNWS_PORT_OK;

    while (off < in.n && rc2 == VPNWS_PORT_OK) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;

        buf = vpnws_port_rbuf(&many.io, 0, &room);
        fuzz_assert(room > 0);

        step = (seed & 0x80) ? seed % 7 + 1 : seed % room + 1;
        step = step < room ? step : room;
        step = step < in.n - off ? step : in.n - off;

        memcpy(buf, in.p + off, step);
        off += step;

        rc2 = vpnws_port_consume(&many.io, step);
        check_rest(&many);

        many.wire.room = (seed >> 8) % 64;
        (void) vpnws_port_flush(&many.io);
        many.wire.room = wire - many.wire.len;
    }

    fuzz_assert(vpnws_port_flush(&many.io) == VPNWS_PORT_OK);

    /* the pieces end where the whole did, after the same messages */
    fuzz_assert(rc1 == rc2);
    fuzz_assert(one.hash == many.hash && one.nmsgs == many.nmsgs);
    fuzz_assert(one.wire.len == many.wire.len
                && memcmp(one.wire.buf, many.wire.buf, one.wire.len) == 0);

    if (rc1 == VPNWS_PORT_OK) {
        fuzz_assert(one.stats.rx == in.n && many.stats.rx == in.n);
        fuzz_assert(one.io.in_len == many.io.in_len);

    } else if (rc1 == VPNWS_PORT_PROTOCOL || rc1 == VPNWS_PORT_PEER_CLOSE) {
        fuzz_assert(one.io.reply == many.io.reply);
        fuzz_assert(vpnws_port_close(&one.io, one.io.reply, one.io.why) == 0);
        fuzz_assert(vpnws_port_queue(&one.io, NULL, 0, VPNWS_WS_OP_PING)
                    == -1);
    }

    vpnws_port_release(&one.io);
    vpnws_port_release(&many.io);
    vpnws_port_bufs_free(&bufs, &ops);
    fuzz_assert(live == 0);

    free(one.wire.buf);
    free(many.wire.buf);

    return 0;
}
