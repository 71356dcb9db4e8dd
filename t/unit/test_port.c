/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_port.c, a websocket port's plumbing: partial
 * frames at every split point, control frames among data, the bounded
 * queue, the Close frame, the spare buffers and the flush list.
 */


#include "tap.h"
#include "vpnws_port.h"
#include "../../fuzz/port_wire.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))

#define T_MAX_FRAME  1600
#define T_QUEUE      4096
#define T_WIRE       (1 << 20)


/* the test's host: a peer with a wire its send hook writes to */
typedef struct {
    vpnws_port_io_t     io;
    vpnws_port_state_t  state;
    vpnws_port_stats_t  stats;
    uint8_t             msgs[T_WIRE];   /* every message, one after another */
    size_t              msgs_len;
    size_t              nmsgs;
    int                 stop_after;     /* message hook: -1 after this many */
    port_wire_t         wire;
    uint8_t             wire_buf[T_WIRE];
} t_peer_t;


static size_t    t_allocs;
static size_t    t_frees;
static int       t_alloc_fail;
static size_t    t_drops[VPNWS_DROP_MAX];


static int
t_message(void *io, uint8_t *data, size_t len)
{
    t_peer_t  *p;

    p = vpnws_port_data(io, t_peer_t, io);

    if (p->msgs_len + len <= sizeof(p->msgs)) {
        memcpy(p->msgs + p->msgs_len, data, len);
        p->msgs_len += len;
    }

    p->nmsgs++;

    return (p->stop_after && (int) p->nmsgs >= p->stop_after) ? -1 : 0;
}


static ssize_t
t_send(vpnws_port_io_t *io, const uint8_t *buf, size_t len)
{
    t_peer_t  *p;

    p = vpnws_port_data(io, t_peer_t, io);

    return port_wire_send(&p->wire, buf, len);
}


static void
t_drop(vpnws_port_io_t *io, vpnws_drop_t reason)
{
    (void) io;

    t_drops[reason]++;
}


static void *
t_alloc(size_t size)
{
    if (t_alloc_fail) {
        return NULL;
    }

    t_allocs++;

    return malloc(size);
}


static void
t_free(void *buf)
{
    t_frees++;
    free(buf);
}


static const vpnws_port_ops_t  t_ops = {
    t_message, t_send, t_drop, t_alloc, t_free
};


static uint8_t            t_rbuf[8192];
static vpnws_port_host_t  t_host;
static vpnws_port_bufs_t  t_bufs;


static t_peer_t *
t_peer_new(void)
{
    t_peer_t  *p;

    p = calloc(1, sizeof(t_peer_t));
    if (p == NULL) {
        abort();
    }

    p->wire.buf = p->wire_buf;
    p->wire.room = T_WIRE;
    vpnws_port_init(&p->io, &t_host, &t_bufs, &p->state, &p->stats,
                    T_MAX_FRAME);

    return p;
}


static void
t_peer_free(t_peer_t *p)
{
    vpnws_port_release(&p->io);
    free(p);
}


/* a client frame: masked unless mask is 0 */
static size_t
t_frame(uint8_t *out, int fin, int opcode, const uint8_t *data, size_t len,
    int mask)
{
    size_t         n;
    static const uint8_t  m[4] = { 0x37, 0xfa, 0x21, 0x3d };

    n = vpnws_ws_header(out, opcode, len, mask ? m : NULL);

    if (!fin) {
        out[0] &= 0x7f;
    }

    if (len) {
        memcpy(out + n, data, len);
    }

    if (mask) {
        vpnws_ws_mask(out + n, len, m, 0);
    }

    return n + len;
}


/* feed bytes to p as reads of at most the room vpnws_port_rbuf() gives */
static int
t_feed(t_peer_t *p, const uint8_t *data, size_t len)
{
    int       rc;
    size_t    room, n;
    uint8_t  *buf;

    while (len) {
        buf = vpnws_port_rbuf(&p->io, 0, &room);
        n = len < room ? len : room;
        memcpy(buf, data, n);

        rc = vpnws_port_consume(&p->io, n);
        if (rc != VPNWS_PORT_OK) {
            return rc;
        }

        data += n;
        len -= n;
    }

    return VPNWS_PORT_OK;
}


/* the server frames on p's wire: opcodes and payloads in order */
static int
t_wire_frames(t_peer_t *p, int *ops, size_t *lens, size_t max)
{
    int                n;
    size_t             pos;
    uint16_t           code;
    const char        *err;
    vpnws_ws_frame_t   f;

    n = 0;
    pos = 0;

    while (pos < p->wire.len && (size_t) n < max) {
        if (vpnws_ws_parse_header(p->wire.buf + pos, p->wire.len - pos, T_WIRE,
                                  &f, &code, &err)
            != VPNWS_WS_OK
            || f.masked || !f.fin || pos + f.hlen + f.len > p->wire.len)
        {
            return -1;
        }

        ops[n] = f.opcode;
        lens[n] = (size_t) f.len;
        n++;
        pos += f.hlen + (size_t) f.len;
    }

    return n;
}


/* ---------------------------------------------------------------------- */


/* a stream of client frames and what the switch must get from it */
static size_t  s_len, s_msgs, s_msgs_len;
static uint8_t s_stream[16384], s_expect[16384];


static void
s_add(int fin, int opcode, const uint8_t *data, size_t len, int mask)
{
    s_len += t_frame(s_stream + s_len, fin, opcode, data, len, mask);
}


static void
s_build(void)
{
    size_t   i;
    uint8_t  a[1514], b[300], c[60];

    for (i = 0; i < sizeof(a); i++) {
        a[i] = (uint8_t) (i * 7 + 1);
    }

    for (i = 0; i < sizeof(b); i++) {
        b[i] = (uint8_t) (i ^ 0x5a);
    }

    memset(c, 0xc3, sizeof(c));

    s_add(1, VPNWS_WS_OP_BINARY, a, sizeof(a), 1);       /* 16-bit length */
    s_add(1, VPNWS_WS_OP_PING, (const uint8_t *) "hi", 2, 1);
    s_add(1, VPNWS_WS_OP_BINARY, c, sizeof(c), 0);        /* unmasked */
    s_add(0, VPNWS_WS_OP_BINARY, b, 100, 1);              /* fragments */
    s_add(1, VPNWS_WS_OP_PONG, NULL, 0, 1);               /* among them */
    s_add(0, VPNWS_WS_OP_CONT, b + 100, 100, 1);
    s_add(1, VPNWS_WS_OP_PING, NULL, 0, 0);               /* 89 00 */
    s_add(1, VPNWS_WS_OP_CONT, b + 200, 100, 1);
    s_add(1, VPNWS_WS_OP_TEXT, c, 14, 1);                 /* text: binary */

    memcpy(s_expect, a, sizeof(a));
    memcpy(s_expect + sizeof(a), c, sizeof(c));
    memcpy(s_expect + sizeof(a) + sizeof(c), b, sizeof(b));
    memcpy(s_expect + sizeof(a) + sizeof(c) + sizeof(b), c, 14);
    s_msgs = 4;
    s_msgs_len = sizeof(a) + sizeof(c) + sizeof(b) + 14;
}


/* what the port did with the stream: the messages, two PONGs, nothing
 * else queued, no partial frame left; 0 if all true */
static int
s_check(t_peer_t *p, int rc)
{
    int     ops[8], n;
    size_t  lens[8];

    if (rc != VPNWS_PORT_OK || p->nmsgs != s_msgs
        || p->msgs_len != s_msgs_len
        || memcmp(p->msgs, s_expect, s_msgs_len) != 0
        || p->io.in != NULL || p->io.in_len != 0)
    {
        return -1;
    }

    if (vpnws_port_flush(&p->io) != VPNWS_PORT_OK) {
        return -1;
    }

    n = t_wire_frames(p, ops, lens, nelem(ops));

    if (n != 2 || ops[0] != VPNWS_WS_OP_PONG || lens[0] != 2
        || ops[1] != VPNWS_WS_OP_PONG || lens[1] != 0
        || memcmp(p->wire.buf + 2, "hi", 2) != 0)
    {
        return -1;
    }

    return 0;
}


static void
test_splits(void)
{
    int        rc, bad2, bad3, bad1;
    size_t     k, j;
    t_peer_t  *p;

    s_build();

    p = t_peer_new();
    rc = t_feed(p, s_stream, s_len);
    ok(s_check(p, rc) == 0, "the stream in one read: 4 messages, 2 PONGs");
    t_peer_free(p);

    bad2 = 0;

    for (k = 1; k < s_len; k++) {
        p = t_peer_new();
        rc = t_feed(p, s_stream, k);

        if (rc == VPNWS_PORT_OK) {
            rc = t_feed(p, s_stream + k, s_len - k);
        }

        if (s_check(p, rc) != 0) {
            if (bad2++ == 0) {
                diag("split at %zu fails", k);
            }
        }

        t_peer_free(p);
    }

    is_int(bad2, 0, "split in two at each of %zu points", s_len - 1);

    bad3 = 0;

    for (k = 1; k < s_len; k += 37) {
        for (j = k + 1; j < s_len; j += 13) {
            p = t_peer_new();
            rc = t_feed(p, s_stream, k);

            if (rc == VPNWS_PORT_OK) {
                rc = t_feed(p, s_stream + k, j - k);
            }

            if (rc == VPNWS_PORT_OK) {
                rc = t_feed(p, s_stream + j, s_len - j);
            }

            bad3 += s_check(p, rc) != 0;
            t_peer_free(p);
        }
    }

    is_int(bad3, 0, "split in three at many pairs of points");

    p = t_peer_new();
    bad1 = 0;

    for (k = 0; k < s_len && bad1 == 0; k++) {
        bad1 = t_feed(p, s_stream + k, 1) != VPNWS_PORT_OK;
        /* a partial frame lives in a spare buffer, never in rbuf */
        bad1 |= (p->io.in_len != 0) != (p->io.in != NULL);
    }

    ok(bad1 == 0 && s_check(p, VPNWS_PORT_OK) == 0,
       "one byte at a time");
    is_int((long long) p->stats.rx, (long long) s_len,
           "rx counts every byte read");
    t_peer_free(p);
}


static void
test_close(void)
{
    int        rc, ops[4], n;
    size_t     len, lens[4];
    uint8_t    frame[64], two[256];
    t_peer_t  *p;

    /* Close 1001, then a data frame that is never switched */
    p = t_peer_new();
    len = t_frame(two, 1, VPNWS_WS_OP_CLOSE, (const uint8_t *) "\x03\xe9",
                  2, 1);
    len += t_frame(two + len, 1, VPNWS_WS_OP_BINARY, (const uint8_t *) "x",
                   1, 1);

    rc = t_feed(p, two, len);
    is_int(rc, VPNWS_PORT_PEER_CLOSE, "a Close: PEER_CLOSE");
    is_int(p->io.peer_code, 1001, "its code");
    is_int(p->io.reply, 1001, "answered with the same code");
    is_int((long long) p->nmsgs, 0, "nothing after the Close is switched");

    ok(vpnws_port_close(&p->io, p->io.reply, p->io.why) == 0
       && p->io.closing, "the host closes with it");
    ok(vpnws_port_close(&p->io, 1000, "again") == -1, "once only");
    ok(vpnws_port_queue(&p->io, (const uint8_t *) "late", 4,
                        VPNWS_WS_OP_BINARY) == -1,
       "nothing is queued after the Close");
    is_int(vpnws_port_flush(&p->io), VPNWS_PORT_OK, "the Close is written");

    n = t_wire_frames(p, ops, lens, nelem(ops));
    ok(n == 1 && ops[0] == VPNWS_WS_OP_CLOSE && lens[0] == 2
       && p->wire.buf[2] == 0x03 && p->wire.buf[3] == 0xe9,
       "one Close 1001 on the wire");
    t_peer_free(p);

    /* an empty Close: 1005 from it, 1000 back */
    p = t_peer_new();
    len = t_frame(frame, 1, VPNWS_WS_OP_CLOSE, NULL, 0, 1);
    rc = t_feed(p, frame, len);
    ok(rc == VPNWS_PORT_PEER_CLOSE && p->io.peer_code == 1005
       && p->io.reply == 1000, "an empty Close: 1005, answered with 1000");
    t_peer_free(p);

    /* a protocol error: reserved bits */
    p = t_peer_new();
    len = t_frame(frame, 1, VPNWS_WS_OP_BINARY, (const uint8_t *) "abc", 3,
                  1);
    frame[0] |= 0x40;
    rc = t_feed(p, frame, len);
    ok(rc == VPNWS_PORT_PROTOCOL && p->io.reply == 1002
       && p->io.why != NULL, "reserved bits: PROTOCOL, 1002, a reason");
    t_peer_free(p);

    /* an oversized frame, told by its header alone */
    p = t_peer_new();
    len = vpnws_ws_header(frame, VPNWS_WS_OP_BINARY, T_MAX_FRAME + 1,
                          (const uint8_t *) "abcd");
    rc = t_feed(p, frame, len);
    ok(rc == VPNWS_PORT_PROTOCOL && p->io.reply == 1009,
       "a frame over max_payload: 1009");
    t_peer_free(p);

    /* the host's message hook stops the reading */
    p = t_peer_new();
    p->stop_after = 1;
    len = t_frame(two, 1, VPNWS_WS_OP_BINARY, (const uint8_t *) "a", 1, 1);
    len += t_frame(two + len, 1, VPNWS_WS_OP_BINARY, (const uint8_t *) "b",
                   1, 1);
    rc = t_feed(p, two, len);
    ok(rc == VPNWS_PORT_STOPPED && p->nmsgs == 1 && !p->io.closing,
       "the message hook stops it: STOPPED, no Close");
    t_peer_free(p);

    /* no Close frame fits: closing all the same, and on the flush list */
    p = t_peer_new();

    while (vpnws_port_queue(&p->io, two, 200, VPNWS_WS_OP_BINARY) == 0) {
        /* fill */
    }

    vpnws_port_undirty(&p->io);
    ok(vpnws_port_close(&p->io, 1001, NULL) == 0 && p->io.closing
       && p->io.is_dirty, "a full queue: closing, listed for the flush");
    t_peer_free(p);
}


static void
test_queue(void)
{
    int            ops[64], n, full, rc;
    size_t         i, lens[64], fits, last;
    uint8_t        frame[1000];
    t_peer_t      *p;
    vpnws_rate_t   rate;

    memset(frame, 0xab, sizeof(frame));
    memset(t_drops, 0, sizeof(t_drops));

    p = t_peer_new();

    /* 1000 bytes + a 4-byte header: four fit in 4096 */
    full = 0;
    fits = 0;

    for (i = 0; i < 6; i++) {
        if (vpnws_port_queue(&p->io, frame, sizeof(frame),
                             VPNWS_WS_OP_BINARY) == 0)
        {
            fits++;

        } else {
            full++;
        }
    }

    is_int((long long) fits, 4, "the queue takes what fits in its bytes");
    ok(full == 2 && p->stats.drops == 2
       && t_drops[VPNWS_DROP_QUEUE_FULL] == 2,
       "the rest is dropped and counted, in the port and the switch");
    is_int((long long) p->stats.frames_out, 4, "frames_out counts 4");
    is_int((long long) vpnws_port_queued(&p->io), 4 * 1004,
           "queued bytes");

    /* the socket takes 1500 bytes: the rest waits, then slides */
    p->wire.room = 1500;
    is_int(vpnws_port_flush(&p->io), VPNWS_PORT_AGAIN, "a full socket: AGAIN");
    is_int((long long) vpnws_port_queued(&p->io), 4 * 1004 - 1500,
           "the unsent rest stays queued");

    ok(vpnws_port_queue(&p->io, frame, sizeof(frame), VPNWS_WS_OP_BINARY)
       == 0, "room again once a frame's worth left: the queue slides");
    ok(p->io.out_pos == 0, "slid to the front");

    p->wire.room = T_WIRE;
    is_int(vpnws_port_flush(&p->io), VPNWS_PORT_OK, "then all is written");
    ok(p->io.out == NULL, "an empty queue goes back to the spares");

    n = t_wire_frames(p, ops, lens, nelem(ops));
    rc = n == 5;

    for (i = 0; rc && i < 5; i++) {
        rc = ops[i] == VPNWS_WS_OP_BINARY && lens[i] == sizeof(frame);
    }

    ok(rc, "the wire holds the five frames whole, in order");
    is_int((long long) p->stats.tx, (long long) p->wire.len,
           "tx counts every byte written");

    /* a frame larger than the queue: dropped, the queue not held */
    vpnws_port_undirty(&p->io);
    ok(vpnws_port_queue(&p->io, s_stream, T_QUEUE, VPNWS_WS_OP_BINARY) == -1
       && p->io.out == NULL, "a frame larger than the queue: dropped, "
       "no buffer held");
    vpnws_port_undirty(&p->io);

    /* a failing socket */
    (void) vpnws_port_queue(&p->io, frame, 10, VPNWS_WS_OP_BINARY);
    p->wire.fail = 1;
    ok(vpnws_port_flush(&p->io) == VPNWS_PORT_ERROR && p->io.error
       && p->io.closing, "a failed send: ERROR, error, closing");
    is_int(vpnws_port_flush(&p->io), VPNWS_PORT_ERROR, "and stays failed");
    t_peer_free(p);

    /* a prefix (a virtio-net header) and the frame in one message */
    p = t_peer_new();
    ok(vpnws_port_frame(&p->io, VPNWS_WS_OP_BINARY, (const uint8_t *) "PRE",
                        3, frame, 200) == 0
       && vpnws_port_flush(&p->io) == VPNWS_PORT_OK
       && t_wire_frames(p, ops, lens, 4) == 1 && lens[0] == 203
       && memcmp(p->wire.buf + 2 + 2, "PRE", 3) == 0
       && p->wire.buf[2 + 2 + 3] == 0xab,
       "a prefixed frame: one message, prefix first");
    t_peer_free(p);

    /* policed toward a port over its rate */
    p = t_peer_new();
    memset(&rate, 0, sizeof(rate));
    rate.rate = 1024;
    rate.burst = 1024;
    vpnws_limit_init(&p->state.limit, &rate, 0);
    memset(t_drops, 0, sizeof(t_drops));
    last = 0;

    for (i = 0; i < 4; i++) {
        last += vpnws_port_output(&p->io, 0, frame, 500) == 0;
    }

    /* one frame may go into debt: 1024 - 500 - 500, then - 500 */
    ok(last == 3 && t_drops[VPNWS_DROP_RATE_LIMIT] == 1
       && p->stats.drops == 1, "over its rate: policed, counted");
    t_peer_free(p);
}


static void
test_send(void)
{
    uint8_t    msg[600];
    t_peer_t  *p;

    memset(msg, 0x11, sizeof(msg));

    p = t_peer_new();
    ok(vpnws_port_send(&p->io, msg, 600) == 0 && p->wire.len == 600
       && p->io.out == NULL && !p->io.is_dirty,
       "an idle port: written at once, nothing queued");

    p->wire.room = 100;
    ok(vpnws_port_send(&p->io, msg, 600) == 0
       && vpnws_port_queued(&p->io) == 500 && p->io.is_dirty,
       "a partial write: the rest queued");

    p->wire.room = T_WIRE;
    ok(vpnws_port_send(&p->io, msg, 600) == 0 && p->wire.len == 700
       && vpnws_port_queued(&p->io) == 1100,
       "something queued: behind it, not written first");
    is_int((long long) p->stats.frames_out, 3, "three frames out");
    is_int(vpnws_port_flush(&p->io), VPNWS_PORT_OK, "flushed");
    is_int((long long) p->wire.len, 1800, "in full");
    t_peer_free(p);

    /* a torn frame whose rest does not fit would corrupt the stream */
    p = t_peer_new();

    while (vpnws_port_queue(&p->io, msg, 500, VPNWS_WS_OP_BINARY) == 0) {
        /* fill */
    }

    ok(vpnws_port_send(&p->io, msg, 600) == 1 && !p->io.error,
       "queued output and no room: dropped");
    t_peer_free(p);

    p = t_peer_new();
    p->wire.room = 10;
    ok(vpnws_port_send(&p->io, msg, T_QUEUE + 100) == -1 && p->io.error
       && p->io.closing, "a torn frame that cannot be queued: error");
    t_peer_free(p);
}


static void
test_bufs(void)
{
    int        bad;
    size_t     i, a0, f0;
    uint8_t    frame[100], in[128];
    t_peer_t  *p, *many[40];

    memset(frame, 1, sizeof(frame));

    /* warm: a queue and a partial-frame buffer exist as spares */
    p = t_peer_new();
    (void) vpnws_port_queue(&p->io, frame, sizeof(frame), VPNWS_WS_OP_BINARY);
    (void) vpnws_port_flush(&p->io);

    a0 = t_allocs;
    bad = 0;

    for (i = 0; i < 10000; i++) {
        size_t  n;

        bad |= vpnws_port_queue(&p->io, frame, sizeof(frame),
                                VPNWS_WS_OP_BINARY) != 0;
        bad |= vpnws_port_flush(&p->io) != VPNWS_PORT_OK;

        /* a frame split over two reads */
        n = t_frame(in, 1, VPNWS_WS_OP_BINARY, frame, 60, 1);
        bad |= t_feed(p, in, 7) != VPNWS_PORT_OK;
        bad |= t_feed(p, in + 7, n - 7) != VPNWS_PORT_OK;
    }

    ok(bad == 0 && t_allocs == a0,
       "10000 frames out and split frames in: no allocation");
    t_peer_free(p);

    /* spares are kept up to the number of ports, then trimmed */
    a0 = t_allocs;
    f0 = t_frees;

    for (i = 0; i < nelem(many); i++) {
        many[i] = t_peer_new();
        (void) vpnws_port_queue(&many[i]->io, frame, 10, VPNWS_WS_OP_BINARY);
    }

    for (i = 0; i < nelem(many); i++) {
        (void) vpnws_port_flush(&many[i]->io);
    }

    is_int((long long) t_bufs.out.nfree, (long long) nelem(many),
           "a flood to 40 ports leaves 40 spare queues");

    for (i = 0; i < nelem(many); i++) {
        (void) vpnws_port_queue(&many[i]->io, frame, 10, VPNWS_WS_OP_BINARY);
    }

    ok(t_allocs - a0 <= nelem(many),
       "the next flood finds them: no allocation");

    for (i = 0; i < nelem(many); i++) {
        t_peer_free(many[i]);
    }

    ok(t_bufs.out.nfree <= VPNWS_BUFS_KEEP && t_bufs.in.nfree
       <= VPNWS_BUFS_KEEP, "the ports gone: spares trimmed to %d",
       VPNWS_BUFS_KEEP);
    ok(t_frees > f0, "what was trimmed was freed");

    /* no memory for the rest of a frame */
    p = t_peer_new();
    vpnws_port_bufs_free(&t_bufs, &t_ops);
    t_bufs.in.ports = 1;
    t_bufs.out.ports = 1;
    t_alloc_fail = 1;
    (void) t_frame(in, 1, VPNWS_WS_OP_BINARY, frame, 60, 1);
    ok(t_feed(p, in, 10) == VPNWS_PORT_NOMEM && p->io.reply == 1011,
       "no buffer for a partial frame: NOMEM, 1011");
    t_alloc_fail = 0;
    t_peer_free(p);
}


static void
test_dirty(void)
{
    t_peer_t  *a, *b, *c;

    a = t_peer_new();
    b = t_peer_new();
    c = t_peer_new();

    (void) vpnws_port_queue(&b->io, (const uint8_t *) "b", 1,
                            VPNWS_WS_OP_BINARY);
    (void) vpnws_port_queue(&a->io, (const uint8_t *) "a", 1,
                            VPNWS_WS_OP_BINARY);
    (void) vpnws_port_queue(&c->io, (const uint8_t *) "c", 1,
                            VPNWS_WS_OP_BINARY);
    (void) vpnws_port_queue(&b->io, (const uint8_t *) "b", 1,
                            VPNWS_WS_OP_BINARY);

    vpnws_port_undirty(&a->io);

    ok(vpnws_port_dirty_next(&t_host) == &b->io
       && vpnws_port_dirty_next(&t_host) == &c->io
       && vpnws_port_dirty_next(&t_host) == NULL,
       "the flush list: in order, each port once, without the one taken "
       "off");

    (void) vpnws_port_queue(&a->io, (const uint8_t *) "a", 1,
                            VPNWS_WS_OP_BINARY);
    t_peer_free(a);
    ok(vpnws_port_dirty_next(&t_host) == NULL,
       "a released port leaves the list");

    t_peer_free(b);
    t_peer_free(c);
}


int
main(void)
{
    vpnws_port_host_init(&t_host, &t_ops, t_rbuf, sizeof(t_rbuf));
    vpnws_port_bufs_init(&t_bufs, T_MAX_FRAME + VPNWS_WS_MAX_HLEN, T_QUEUE);

    test_splits();
    test_close();
    test_queue();
    test_send();
    test_bufs();
    test_dirty();

    vpnws_port_bufs_free(&t_bufs, &t_ops);
    is_int((long long) t_allocs, (long long) t_frees,
           "every buffer freed in the end");

    return done_testing();
}
