/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: one websocket session, tap <-> server, in an epoll loop.
 * Each ethernet frame is one masked BINARY message; buffers are allocated
 * once and bounded: when the server is slower than the tap, the tap is not
 * read and the kernel drops at its queue, as a switch port would.
 */


#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include <openssl/rand.h>

#include "vpnws_client.h"


#define VPNWS_TAP_BATCH     64      /* tap frames a wakeup */
#define VPNWS_READ_BATCH    16      /* socket reads a wakeup */

#define VPNWS_EV_TAP        0
#define VPNWS_EV_SOCK       1
#define VPNWS_EV_SIGNAL     2


void
vpnws_random(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int) len) == 1) {
        return;
    }

    /* the kernel's generator is as good; RAND_bytes() failing is odd */
    if (getrandom(buf, len, 0) != (ssize_t) len) {
        vpnws_log(VPNWS_LOG_ERR, "no random numbers: %s", strerror(errno));
        _exit(VPNWS_EXIT_INTERNAL);
    }
}


static const uint8_t *
vpnws_next_mask(vpnws_client_t *cl)
{
    const uint8_t  *m;

    if (cl->mask_pos + 4 > sizeof(cl->masks)) {
        vpnws_random(cl->masks, sizeof(cl->masks));
        cl->mask_pos = 0;
    }

    m = cl->masks + cl->mask_pos;
    cl->mask_pos += 4;

    return m;
}


size_t
vpnws_out_free(vpnws_client_t *cl)
{
    return VPNWS_OUT_SIZE - (cl->out_end - cl->out_pos);
}


/*
 * Room for a message of len bytes at the end of the output, its header
 * written: the payload goes where the result points, then vpnws_commit().
 */
uint8_t *
vpnws_place(vpnws_client_t *cl, int opcode, size_t len)
{
    size_t    need, hlen;
    uint8_t  *p;

    need = VPNWS_WS_MAX_HLEN + len;

    if (VPNWS_OUT_SIZE - cl->out_end < need) {

        if (vpnws_out_free(cl) < need) {
            return NULL;
        }

        memmove(cl->out, cl->out + cl->out_pos, cl->out_end - cl->out_pos);
        cl->out_end -= cl->out_pos;
        cl->out_pos = 0;
    }

    cl->place_mask = vpnws_next_mask(cl);
    p = cl->out + cl->out_end;

    hlen = vpnws_ws_header(p, opcode, len, cl->place_mask);
    cl->place_len = hlen + len;

    return p + hlen;
}


/* the payload of the message vpnws_place() made room for is in: mask it */
void
vpnws_commit(vpnws_client_t *cl, uint8_t *data, size_t len)
{
    vpnws_ws_mask(data, len, cl->place_mask, 0);
    cl->out_end += cl->place_len;
}


/*
 * Where a tap frame is read so that it needs no copy: past the end of the
 * output, behind room for the header of a 126..65535-byte message; NULL
 * when that room would cost moving much unsent output (a congested socket:
 * cl->frame and a copy of the frame are cheaper then).
 */
uint8_t *
vpnws_tap_place(vpnws_client_t *cl)
{
    if (VPNWS_OUT_SIZE - cl->out_end < VPNWS_CLIENT_FRAME + VPNWS_WS_MAX_HLEN) {

        if (cl->out_end - cl->out_pos > VPNWS_TAP_PLACE_MOVE) {
            return NULL;
        }

        /* vpnws_tap_room() said the room is there, at the front */
        memmove(cl->out, cl->out + cl->out_pos, cl->out_end - cl->out_pos);
        cl->out_end -= cl->out_pos;
        cl->out_pos = 0;
    }

    return cl->out + cl->out_end + VPNWS_TAP_PLACE_HLEN;
}


/* a BINARY message of the len bytes vpnws_tap_place() pointed to */
void
vpnws_send_placed(vpnws_client_t *cl, uint8_t *data, size_t len)
{
    size_t    hlen;
    uint8_t  *p, hdr[VPNWS_WS_MAX_HLEN];

    cl->place_mask = vpnws_next_mask(cl);
    hlen = vpnws_ws_header(hdr, VPNWS_WS_OP_BINARY, len, cl->place_mask);
    p = cl->out + cl->out_end;

    if (p + hlen != data) {
        /* shorter than 126 bytes (a short move) or longer than 65535 */
        memmove(p + hlen, data, len);
    }

    memcpy(p, hdr, hlen);
    cl->place_len = hlen + len;

    vpnws_commit(cl, p + hlen, len);
}


int
vpnws_send(vpnws_client_t *cl, int opcode, const uint8_t *data, size_t len)
{
    uint8_t  *p;

    p = vpnws_place(cl, opcode, len);
    if (p == NULL) {
        return -1;
    }

    if (len) {
        /* a keepalive PING has no payload: data is NULL */
        memcpy(p, data, len);
    }

    vpnws_commit(cl, p, len);

    return 0;
}


static int
vpnws_on_message(void *ctx, uint8_t *data, size_t len)
{
    vpnws_offload_to_tap(ctx, data, len);

    return 0;
}


static int
vpnws_on_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    int              code;
    vpnws_client_t  *cl = ctx;

    switch (opcode) {

    case VPNWS_WS_OP_PING:
        /* a full buffer has no room for a pong: the next ping will do */
        (void) vpnws_send(cl, VPNWS_WS_OP_PONG, data, len);
        return 0;

    case VPNWS_WS_OP_CLOSE:
        code = (len >= 2) ? (data[0] << 8 | data[1]) : VPNWS_WS_CLOSE_NO_STATUS;

        vpnws_log(VPNWS_LOG_DEBUG, "server sent CLOSE %d \"%.*s\"", code,
                  len > 2 ? (int) len - 2 : 0, (char *) data + 2);

        (void) vpnws_send(cl, VPNWS_WS_OP_CLOSE, data, len >= 2 ? 2 : 0);
        cl->closing = 1;
        cl->close_code = code;
        return -1;

    default:    /* PONG: last_rx is enough */
        return 0;
    }
}


static uint8_t *
vpnws_frag_alloc(void *ctx)
{
    vpnws_client_t  *cl = ctx;

    return cl->frag;
}


static void
vpnws_frag_free(void *ctx, uint8_t *buf)
{
    /* preallocated once, kept */
    (void) ctx;
    (void) buf;
}


static int vpnws_sock_flush(vpnws_client_t *cl, int64_t now, char *err,
    size_t errlen);


static const vpnws_ws_handler_t  vpnws_handler = {
    vpnws_on_message,
    vpnws_on_control,
    vpnws_frag_alloc,
    vpnws_frag_free
};


static int
vpnws_process_input(vpnws_client_t *cl, char *err, size_t errlen)
{
    char     scratch[VPNWS_ERRLEN];
    uint8_t  payload[2 + 64];
    ssize_t  n;
    size_t   len;

    n = vpnws_ws_read(&cl->reader, cl->in, cl->in_len, &vpnws_handler, cl);

    if (n == -1) {

        if (cl->closing) {
            return 0;
        }

        snprintf(err, errlen, "websocket protocol error from the server: %s",
                 cl->reader.error ? cl->reader.error : "?");

        /* say why, best effort: the connection ends anyway */
        payload[0] = (uint8_t) (cl->reader.code >> 8);
        payload[1] = (uint8_t) cl->reader.code;
        len = cl->reader.error ? strlen(cl->reader.error) : 0;
        len = len < 64 ? len : 64;
        if (len) {
            memcpy(payload + 2, cl->reader.error, len);
        }

        if (vpnws_send(cl, VPNWS_WS_OP_CLOSE, payload, 2 + len) == 0) {
            (void) vpnws_sock_flush(cl, vpnws_now_ms(), scratch,
                                    sizeof(scratch));
        }

        return -1;
    }

    memmove(cl->in, cl->in + n, cl->in_len - n);
    cl->in_len -= n;

    return 0;
}


static int
vpnws_sock_read(vpnws_client_t *cl, int64_t now, char *err, size_t errlen)
{
    int      i;
    size_t   want;
    ssize_t  n;

    for (i = 0; i < VPNWS_READ_BATCH && !cl->closing; i++) {

        want = VPNWS_IN_SIZE - cl->in_len;
        n = vpnws_conn_read(&cl->conn, cl->in + cl->in_len, want, err,
                            errlen);

        if (n == -2) {
            return 0;
        }

        if (n == -1) {
            return -1;
        }

        if (n == 0) {
            snprintf(err, errlen, "server closed the connection");
            return -1;
        }

        cl->in_len += n;
        cl->last_rx = now;

        if (vpnws_process_input(cl, err, errlen) != 0) {
            return -1;
        }

        if (cl->conn.ssl == NULL && (size_t) n < want) {
            /* the socket is empty: no recv() only to learn EAGAIN */
            return 0;
        }
    }

    return 0;
}


static int
vpnws_tap_room(vpnws_client_t *cl)
{
    return vpnws_out_free(cl) >= VPNWS_CLIENT_FRAME + VPNWS_WS_MAX_HLEN
                                 + VPNWS_SEG_SLACK + VPNWS_OUT_RESERVE;
}


static int
vpnws_tap_read(vpnws_client_t *cl, char *err, size_t errlen)
{
    int       i;
    ssize_t   n;
    uint8_t  *p;

    for (i = 0; i < VPNWS_TAP_BATCH && vpnws_tap_room(cl); i++) {

        /* frames that go as they are are read where they are sent from */
        p = (!cl->tap_vnet || cl->offload) ? vpnws_tap_place(cl) : NULL;

        if (p == NULL) {
            p = cl->frame;
        }

        n = read(cl->tap, p, VPNWS_CLIENT_FRAME);

        if (n == -1) {

            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }

            snprintf(err, errlen, "read(tap %s): %s%s", cl->ifname,
                     strerror(errno),
                     errno == EBADFD ? " (the device was deleted)" : "");
            return -1;
        }

        if (n == 0) {
            /* a tap whose device is gone reads 0 for ever: do not spin */
            snprintf(err, errlen, "read(tap %s): end of file (the device "
                     "was deleted)", cl->ifname);
            return -1;
        }

        if (n < VPNWS_ETH_HLEN) {
            continue;
        }

        vpnws_offload_from_tap(cl, p, n);
        cl->tx_frames++;
    }

    return 0;
}


static int
vpnws_sock_flush(vpnws_client_t *cl, int64_t now, char *err, size_t errlen)
{
    ssize_t  n;

    while (cl->out_pos < cl->out_end) {
        n = vpnws_conn_write(&cl->conn, cl->out + cl->out_pos,
                             cl->out_end - cl->out_pos, err, errlen);

        if (n == -2) {
            return 0;
        }

        if (n == -1) {
            return -1;
        }

        cl->out_pos += n;
        cl->last_tx = now;
    }

    cl->out_pos = 0;
    cl->out_end = 0;

    return 0;
}


static int
vpnws_set_events(int ep, int fd, uint32_t tag, uint32_t *cur, uint32_t want)
{
    struct epoll_event  ev;

    if (*cur == want) {
        return 0;
    }

    ev.events = want;
    ev.data.u32 = tag;

    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == -1) {
        return -1;
    }

    *cur = want;

    return 0;
}


/* what the timers want now; the delay to the next one into *wait */
static int
vpnws_timers(vpnws_client_t *cl, int64_t now, int *wait, char *err,
    size_t errlen)
{
    int64_t  ping, dead, next, idle, t;

    ping = (int64_t) cl->conf->ping_interval * 1000;
    dead = (int64_t) cl->conf->timeout * 1000;
    next = now + 3600 * 1000;

    if (dead) {

        if (now - cl->last_rx >= dead) {
            snprintf(err, errlen, "nothing from the server for %d s",
                     cl->conf->timeout);
            return -1;
        }

        next = cl->last_rx + dead;
    }

    if (ping) {
        /* keep idle proxies and NATs open, and learn a dead server */
        idle = cl->last_rx < cl->last_tx ? cl->last_rx : cl->last_tx;
        t = (idle > cl->last_ping ? idle : cl->last_ping) + ping;

        if (now >= t) {
            (void) vpnws_send(cl, VPNWS_WS_OP_PING, NULL, 0);
            cl->last_ping = now;
            t = now + ping;
        }

        next = t < next ? t : next;
    }

    *wait = (int) (next > now ? next - now : 0);

    return 0;
}


static void
vpnws_say_goodbye(vpnws_client_t *cl)
{
    char     err[VPNWS_ERRLEN];
    uint8_t  payload[2 + 16];

    /* best effort, never blocking: the server learns we leave on purpose */
    payload[0] = (uint8_t) (VPNWS_WS_CLOSE_GOING_AWAY >> 8);
    payload[1] = (uint8_t) VPNWS_WS_CLOSE_GOING_AWAY;
    memcpy(payload + 2, "client exiting", 14);

    if (vpnws_send(cl, VPNWS_WS_OP_CLOSE, payload, 16) == 0) {
        (void) vpnws_sock_flush(cl, vpnws_now_ms(), err, sizeof(err));
    }
}


int
vpnws_session(vpnws_client_t *cl, char *err, size_t errlen)
{
    int                  ep, n, i, rc, wait;
    int64_t              now;
    uint32_t             tap_ev, sock_ev, want;
    unsigned             sock_ready, tap_ready;
    struct epoll_event   ev, events[4];

    memset(&cl->reader, 0, sizeof(vpnws_ws_reader_t));
    cl->out_pos = 0;
    cl->out_end = 0;
    cl->closing = 0;
    cl->close_code = 0;

    now = vpnws_now_ms();
    cl->last_rx = now;
    cl->last_tx = now;
    cl->last_ping = now;

    if (vpnws_offload_start(cl, err, errlen) != 0) {
        return VPNWS_FAIL_TAP;
    }

    ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep == -1) {
        snprintf(err, errlen, "epoll_create1(): %s", strerror(errno));
        return VPNWS_RETRY;
    }

    rc = VPNWS_RETRY;

    tap_ev = EPOLLIN;
    ev.events = tap_ev;
    ev.data.u32 = VPNWS_EV_TAP;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, cl->tap, &ev) == -1) {
        snprintf(err, errlen, "epoll_ctl(tap): %s", strerror(errno));
        goto done;
    }

    sock_ev = EPOLLIN;
    ev.events = sock_ev;
    ev.data.u32 = VPNWS_EV_SOCK;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, cl->conn.fd, &ev) == -1) {
        snprintf(err, errlen, "epoll_ctl(socket): %s", strerror(errno));
        goto done;
    }

    ev.events = EPOLLIN;
    ev.data.u32 = VPNWS_EV_SIGNAL;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, vpnws_signal_fd, &ev) == -1) {
        snprintf(err, errlen, "epoll_ctl(signalfd): %s", strerror(errno));
        goto done;
    }

    /* frames that came with the 101 */
    if (cl->in_len && vpnws_process_input(cl, err, errlen) != 0) {
        goto done;
    }

    for ( ;; ) {

        if (cl->closing && cl->out_pos == cl->out_end) {
            snprintf(err, errlen, "server closed the websocket (%d%s)",
                     cl->close_code,
                     cl->close_code == VPNWS_WS_CLOSE_GOING_AWAY
                     ? ", going away" : "");
            goto done;
        }

        now = vpnws_now_ms();

        if (vpnws_timers(cl, now, &wait, err, errlen) != 0) {
            goto done;
        }

        want = (vpnws_tap_room(cl) && !cl->closing) ? EPOLLIN : 0;

        if (vpnws_set_events(ep, cl->tap, VPNWS_EV_TAP, &tap_ev, want) != 0) {
            snprintf(err, errlen, "epoll_ctl(tap): %s", strerror(errno));
            goto done;
        }

        /* closing: only the CLOSE reply is left to write */
        want = (cl->closing && !cl->conn.write_wants_read) ? 0 : EPOLLIN;

        if (cl->out_pos < cl->out_end || cl->conn.read_wants_write) {
            want |= EPOLLOUT;
        }

        if (vpnws_set_events(ep, cl->conn.fd, VPNWS_EV_SOCK, &sock_ev, want)
            != 0)
        {
            snprintf(err, errlen, "epoll_ctl(socket): %s", strerror(errno));
            goto done;
        }

        sock_ready = 0;

        if (cl->conn.ssl && SSL_has_pending(cl->conn.ssl)) {
            /* bytes read ahead or decrypted that epoll cannot see */
            wait = 0;
            sock_ready = 1;
        }

        n = epoll_wait(ep, events, 4, wait);

        if (n == -1) {

            if (errno != EINTR) {
                snprintf(err, errlen, "epoll_wait(): %s", strerror(errno));
                goto done;
            }

            n = 0;
        }

        now = vpnws_now_ms();
        tap_ready = 0;

        for (i = 0; i < n; i++) {

            switch (events[i].data.u32) {

            case VPNWS_EV_TAP:
                tap_ready = 1;
                break;

            case VPNWS_EV_SOCK:
                sock_ready = 1;
                break;

            default:
                vpnws_signal_read();
            }
        }

        if (vpnws_quit) {
            vpnws_say_goodbye(cl);
            snprintf(err, errlen, "stopped by a signal");
            rc = VPNWS_QUIT;
            goto done;
        }

        if (sock_ready && vpnws_sock_read(cl, now, err, errlen) != 0) {
            goto done;
        }

        if (tap_ready && !cl->closing
            && vpnws_tap_read(cl, err, errlen) != 0)
        {
            rc = VPNWS_FAIL_TAP;
            goto done;
        }

        if (cl->out_pos < cl->out_end
            && vpnws_sock_flush(cl, now, err, errlen) != 0)
        {
            goto done;
        }
    }

done:

    vpnws_ws_reader_reset(&cl->reader, &vpnws_handler, cl);
    cl->in_len = 0;
    close(ep);

    return rc;
}
