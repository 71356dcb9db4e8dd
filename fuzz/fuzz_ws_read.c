/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_ws_read() as a connection uses it.  The same bytes are
 * read once in one call and once in random pieces through a buffer of
 * max_payload + VPNWS_WS_MAX_HLEN bytes (unconsumed bytes move to the
 * front, state carried across calls); both must see the same callbacks and
 * end the same way, and the connection buffer must never stall.
 *
 * Input: 2 bytes max_payload (mod 4096), 4 bytes split seed, 1 byte of
 * flags (1: a message starting 0x55 stops, 2: CLOSE stops, 4: frag_alloc
 * fails), then the stream.
 */


#include "fuzz.h"
#include "vpnws_ws.h"


typedef struct {
    uint64_t    max;
    unsigned    flags;
    uint64_t    hash;
    uint32_t    events;
    uint8_t    *live;
} run_t;


static void
run_hash(run_t *r, int type, const uint8_t *p, size_t len)
{
    size_t  i;

    r->hash = (r->hash ^ (uint64_t) type) * 0x100000001b3ULL;
    r->hash = (r->hash ^ len) * 0x100000001b3ULL;

    for (i = 0; i < len; i++) {
        r->hash = (r->hash ^ p[i]) * 0x100000001b3ULL;
    }

    r->events++;
}


static int
on_message(void *ctx, uint8_t *data, size_t len)
{
    run_t  *r = ctx;

    fuzz_assert(len <= r->max);
    run_hash(r, 'M', data, len);

    return ((r->flags & 1) && len && data[0] == 0x55) ? -1 : 0;
}


static int
on_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    run_t  *r = ctx;

    fuzz_assert(opcode == VPNWS_WS_OP_CLOSE || opcode == VPNWS_WS_OP_PING
                || opcode == VPNWS_WS_OP_PONG);
    fuzz_assert(len <= VPNWS_WS_MAX_CONTROL && len <= r->max);
    run_hash(r, opcode, data, len);

    if (opcode == VPNWS_WS_OP_CLOSE) {
        uint16_t  code, reply;

        code = vpnws_ws_close_code(data, len);
        reply = vpnws_ws_close_reply(data, len);

        /* the reply is a code one may send: the peer's, 1000 or 1002 */
        fuzz_assert((reply >= 1000 && reply <= 1003)
                    || (reply >= 1007 && reply <= 1014)
                    || (reply >= 3000 && reply <= 4999));
        fuzz_assert(reply == code || reply == VPNWS_WS_CLOSE_NORMAL
                    || reply == VPNWS_WS_CLOSE_PROTOCOL);
        fuzz_assert(len >= 2 || code == VPNWS_WS_CLOSE_NO_STATUS);
    }

    return ((r->flags & 2) && opcode == VPNWS_WS_OP_CLOSE) ? -1 : 0;
}


static uint8_t *
on_frag_alloc(void *ctx)
{
    run_t  *r = ctx;

    fuzz_assert(r->live == NULL);

    if (r->flags & 4) {
        return NULL;
    }

    r->live = malloc(r->max ? r->max : 1);

    return r->live;
}


static void
on_frag_free(void *ctx, uint8_t *buf)
{
    run_t  *r = ctx;

    fuzz_assert(buf != NULL && buf == r->live);
    free(buf);
    r->live = NULL;
}


static const vpnws_ws_handler_t  handler = {
    on_message, on_control, on_frag_alloc, on_frag_free
};


typedef struct {
    ssize_t     rc;             /* -1 or 0 */
    size_t      left;           /* unconsumed bytes at the end */
    uint16_t    code;
    unsigned    stopped;
} result_t;


static void
finish(vpnws_ws_reader_t *rd, run_t *r)
{
    fuzz_assert(rd->frag_len <= r->max);
    fuzz_assert(!rd->frag_active || rd->frag != NULL);
    vpnws_ws_reader_reset(rd, &handler, r);
    fuzz_assert(r->live == NULL && rd->frag == NULL);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t              cap, have, off, step;
    ssize_t             got;
    uint8_t            *buf;
    uint32_t            seed;
    run_t               one, many;
    fuzz_in_t           in;
    result_t            r1, r2;
    vpnws_ws_reader_t   rd;

    in.p = data;
    in.n = size;

    memset(&one, 0, sizeof(one));
    one.max = fuzz_u16(&in) % 4096;
    seed = fuzz_u32(&in) | 1;
    one.flags = fuzz_u8(&in);
    many = one;

    /* all at once */
    memset(&rd, 0, sizeof(rd));
    rd.max_payload = one.max;
    buf = malloc(in.n ? in.n : 1);
    memcpy(buf, in.p, in.n);

    got = vpnws_ws_read(&rd, buf, in.n, &handler, &one);
    fuzz_assert(got >= -1 && got <= (ssize_t) in.n);

    memset(&r1, 0, sizeof(r1));
    r1.rc = got < 0 ? -1 : 0;
    r1.left = got < 0 ? 0 : in.n - (size_t) got;
    r1.code = got < 0 && !rd.stopped ? rd.code : 0;
    r1.stopped = rd.stopped;

    if (got < 0) {
        fuzz_assert(rd.stopped ? rd.error == NULL : rd.error != NULL);
    }

    finish(&rd, &one);
    free(buf);

    /* in pieces, through a connection-sized buffer */
    memset(&rd, 0, sizeof(rd));
    rd.max_payload = many.max;
    cap = (size_t) many.max + VPNWS_WS_MAX_HLEN;
    buf = malloc(cap);
    have = 0;
    off = 0;
    memset(&r2, 0, sizeof(r2));

    for ( ;; ) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        step = (seed & 0x80) ? seed % 7 : seed % (cap + 1);

        if (step > cap - have) {
            step = cap - have;
        }

        if (step > in.n - off) {
            step = in.n - off;
        }

        memcpy(buf + have, in.p + off, step);
        have += step;
        off += step;

        got = vpnws_ws_read(&rd, buf, have, &handler, &many);

        if (got < 0) {
            r2.rc = -1;
            r2.code = rd.stopped ? 0 : rd.code;
            r2.stopped = rd.stopped;
            break;
        }

        fuzz_assert((size_t) got <= have);
        memmove(buf, buf + got, have - (size_t) got);
        have -= (size_t) got;

        /* a full buffer always holds a complete frame */
        fuzz_assert(have < cap || in.n == 0);

        if (off == in.n && got == 0) {
            r2.left = have;
            break;
        }
    }

    finish(&rd, &many);
    free(buf);

    fuzz_assert(one.events == many.events);
    fuzz_assert(one.hash == many.hash);
    fuzz_assert(r1.rc == r2.rc && r1.code == r2.code
                && r1.stopped == r2.stopped);

    if (r1.rc == 0) {
        fuzz_assert(r1.left == r2.left);
    }

    return 0;
}
