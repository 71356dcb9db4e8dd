/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws-load: websocket load generator for the vpnws switch.
 *
 * Opens N websocket peers to a vpnws location and pushes ethernet frames
 * between them (pairs, all-to-all, a share of broadcasts), closed-loop
 * (at most W frames in flight per sender) or open-loop (a fixed rate).
 * Every frame carries its send time, so the receiver measures one-way
 * latency.  --baseline direct|relay moves the same bytes over plain
 * loopback TCP without nginx; --idle connects N idle peers and times it.
 *
 * Output: one "name value unit" line per figure.
 */


#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vpnws_ws.h"


#define LOAD_ETHERTYPE      0x88b5      /* IEEE local experimental */
#define LOAD_MAGIC          0x76706e77  /* "vpnw" */
#define LOAD_STORM_MAGIC    0x73746f72  /* "stor": another process's storm */
#define LOAD_HDR            34          /* eth 14 + magic, from, seq, ts */
#define LOAD_BCAST_FLAG     0x80000000u
#define LOAD_IN_ACTIVE      (256 * 1024)
#define LOAD_IN_IDLE        4096
#define LOAD_OUT_ACTIVE     (256 * 1024)
#define LOAD_OUT_IDLE       1024
#define LOAD_BATCH          32          /* frames built per pump */
#define LOAD_LOST_MS        200         /* no progress: window declared lost */
#define LOAD_HIST           (64 * 16)


typedef struct load_thread_s  load_thread_t;

typedef struct {
    int                 fd;
    uint32_t            idx;
    int                 partner;        /* peer index, -1: none */
    load_thread_t      *thr;
    uint8_t             mac[6];
    uint8_t             mask[4];
    unsigned            sender:1;
    unsigned            want_out:1;
    unsigned            noread:1;
    unsigned            closed:1;
    unsigned            special:1;      /* the slow pair: counted apart */
    uint64_t            closed_at;      /* ns, --reconnect */
    uint64_t            retry_at;       /* ns, next attempt */
    uint64_t            rc_started;     /* ns, this attempt */
    unsigned            rc_state:2;     /* 1 connecting, 2 upgrading */
    uint32_t            rc_fails;       /* attempts failed in a row */
    double              rate;           /* open loop frames/s, 0: closed */

    uint8_t            *in;
    size_t              in_len;
    size_t              in_cap;
    uint8_t            *out;
    size_t              out_pos;
    size_t              out_last;
    size_t              out_cap;

    vpnws_ws_reader_t   reader;

    uint64_t            sent;           /* unicast frames sent */
    uint64_t            lost;           /* declared lost by the window */
    _Atomic uint64_t    acked;          /* unicast frames received */
    uint64_t            seq;
    uint64_t            last_acked;
    uint64_t            last_progress;  /* ns */
    uint64_t            max_stall;      /* ns: window full, no ack */
    uint64_t            rate_start;     /* ns */
    uint64_t            rate_sent;
    uint32_t            rnd;

    /* handshake */
    char                hs[1024];
    size_t              hs_len;
    int                 hs_state;
} load_peer_t;


typedef struct {
    uint64_t            frames;
    uint64_t            bytes;
    uint64_t            bcast;
    uint64_t            special_frames;
    uint64_t            bad;
    uint64_t            storm;          /* storm frames heard, not counted */
    uint64_t            hist[LOAD_HIST];
} load_stats_t;


struct load_thread_s {
    pthread_t           tid;
    int                 ep;
    load_peer_t       **peers;
    size_t              npeers;
    load_peer_t       **senders;    /* pumped every loop: not the idle */
    size_t              nsenders;
    int                 rc_inflight;    /* --reconnect attempts */
    uint64_t            rc_scan;        /* ns, next look for closed peers */
    load_stats_t        st;
};


static struct {
    const char         *host;
    int                 port;
    const char         *path;
    const char         *status;
    const char         *mode;
    const char         *baseline;
    const char         *place;
    const char         *prefix;
    int                 peers;
    int                 pairs;
    int                 threads;
    int                 size;
    int                 window;
    double              rate;
    double              bcast;
    double              duration;
    double              warmup;
    double              hold;
    int                 idle;
    int                 concurrency;
    int                 relay_procs;
    double              slow_rate;
    int                 slow;
    int                 storm;
    int                 mac_base;
    int                 relay_cpu;
    const char         *cpu_pids;
    int                 reconnect;
    const char         *events;
} opt = {
    "127.0.0.1", 0, "/vpn", NULL, "pairs", NULL, "any", "switch",
    2, 0, 1, 1514, 64, 0, 0, 5, 1, 0, 0, 256, 1, 0, 0, 0, -1, -1, NULL, 0,
    NULL
};


static load_peer_t      *peers;
static int               npeers;
static load_thread_t    *threads;
static _Atomic int       phase;        /* 0 warmup, 1 measure, 2 stop */
static _Atomic uint64_t  closed_peers;
static _Atomic uint64_t  reconnects;        /* --reconnect: done */
static _Atomic uint64_t  reconnect_fails;   /* attempts refused or failed */
static _Atomic uint64_t  max_down_ns;       /* longest closed time */
static uint8_t           bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static pid_t             relay_pids[64];
static int               nrelay;
static FILE             *events;       /* --events: the timeline, or NULL */
static uint64_t          events_t0;


static void
die(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fprintf(stderr, "vpnws-load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);

    for (int i = 0; i < nrelay; i++) {
        kill(relay_pids[i], SIGTERM);
    }

    exit(1);
}


static uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}


/* --events: one line per close and reconnect attempt, ms since the start */
static void
event(const char *fmt, ...)
{
    va_list  ap;

    if (events == NULL) {
        return;
    }

    flockfile(events);
    fprintf(events, "%.3f ", (double) (now_ns() - events_t0) / 1e6);
    va_start(ap, fmt);
    vfprintf(events, fmt, ap);
    va_end(ap);
    fputc('\n', events);
    funlockfile(events);
}


static uint32_t
xrand(uint32_t *s)
{
    uint32_t  x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;

    return x;
}


static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}


static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t) (v >> 32));
    put32(p + 4, (uint32_t) v);
}


static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t) get32(p) << 32 | get32(p + 4);
}


/* log-linear histogram: 16 steps per power of two, ns */

static int
hist_index(uint64_t v)
{
    int  e;

    if (v < 16) {
        return (int) v;
    }

    e = 63 - __builtin_clzll(v);

    return (e - 3) * 16 + (int) ((v >> (e - 4)) & 15);
}


static uint64_t
hist_value(int i)
{
    int  e;

    if (i < 16) {
        return (uint64_t) i;
    }

    e = i / 16 + 3;

    /* the middle of the bucket */
    return ((uint64_t) (16 + i % 16) << (e - 4)) + ((1ull << (e - 4)) >> 1);
}


static double
hist_pct(const uint64_t *h, double pct)
{
    int       i;
    uint64_t  total, want, run;

    total = 0;

    for (i = 0; i < LOAD_HIST; i++) {
        total += h[i];
    }

    if (total == 0) {
        return 0;
    }

    want = (uint64_t) (pct / 100.0 * (double) total);
    if (want >= total) {
        want = total - 1;
    }

    run = 0;

    for (i = 0; i < LOAD_HIST; i++) {
        run += h[i];

        if (run > want) {
            return (double) hist_value(i) / 1000.0;
        }
    }

    return 0;
}


static void
set_nonblock(int fd)
{
    int  one = 1;

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}


static void
ep_mod(load_peer_t *p)
{
    struct epoll_event  ev;

    ev.events = (p->noread || p->closed ? 0 : EPOLLIN)
                | (p->want_out ? EPOLLOUT : 0);
    ev.data.ptr = p;

    epoll_ctl(p->thr->ep, EPOLL_CTL_MOD, p->fd, &ev);
}


static void
peer_closed(load_peer_t *p, const char *why)
{
    if (p->closed) {
        return;
    }

    p->closed = 1;
    p->want_out = 0;
    p->closed_at = now_ns();
    atomic_fetch_add(&closed_peers, 1);
    event("close %u %s", p->idx, why);

    if (atomic_load(&phase) < 2 && !opt.reconnect) {
        fprintf(stderr, "vpnws-load: peer %u closed: %s\n", p->idx, why);
    }

    epoll_ctl(p->thr->ep, EPOLL_CTL_DEL, p->fd, NULL);

    if (opt.reconnect) {
        /* the server sees the end at once: the peer's MAC is free again */
        close(p->fd);
        p->fd = -1;
        p->retry_at = p->closed_at + 20000000ULL
                      + (uint64_t) xrand(&p->rnd) % 100000000ULL;
    }
}


static void
peer_flush(load_peer_t *p)
{
    ssize_t  n;

    while (p->out_pos < p->out_last) {
        n = send(p->fd, p->out + p->out_pos, p->out_last - p->out_pos,
                 MSG_NOSIGNAL);

        if (n > 0) {
            p->out_pos += (size_t) n;
            continue;
        }

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1 && errno == EAGAIN) {
            if (!p->want_out) {
                p->want_out = 1;
                ep_mod(p);
            }
            return;
        }

        peer_closed(p, strerror(errno));
        return;
    }

    p->out_pos = p->out_last = 0;

    if (p->want_out) {
        p->want_out = 0;
        ep_mod(p);
    }
}


/* append one masked frame; the payload is built in place */
static uint8_t *
peer_frame(load_peer_t *p, int opcode, size_t len)
{
    size_t    h;
    uint8_t  *f;

    if (p->out_pos && p->out_cap - p->out_last < len + VPNWS_WS_MAX_HLEN) {
        memmove(p->out, p->out + p->out_pos, p->out_last - p->out_pos);
        p->out_last -= p->out_pos;
        p->out_pos = 0;
    }

    if (p->out_cap - p->out_last < len + VPNWS_WS_MAX_HLEN) {
        return NULL;
    }

    f = p->out + p->out_last;
    h = vpnws_ws_header(f, opcode, len, p->mask);
    p->out_last += h + len;

    return f + h;
}


static int
peer_send_data(load_peer_t *p, const uint8_t *dst, int bcast, uint64_t ts)
{
    uint8_t  *d;

    d = peer_frame(p, VPNWS_WS_OP_BINARY, (size_t) opt.size);
    if (d == NULL) {
        return -1;
    }

    memcpy(d, dst, 6);
    memcpy(d + 6, p->mac, 6);
    d[12] = LOAD_ETHERTYPE >> 8;
    d[13] = LOAD_ETHERTYPE & 0xff;
    put32(d + 14, opt.storm ? LOAD_STORM_MAGIC : LOAD_MAGIC);
    put32(d + 18, p->idx | (bcast ? LOAD_BCAST_FLAG : 0));
    put32(d + 22, (uint32_t) p->seq++);
    put64(d + 26, ts);
    memset(d + LOAD_HDR, 0, (size_t) opt.size - LOAD_HDR);

    vpnws_ws_mask(d, (size_t) opt.size, p->mask, 0);

    return 0;
}


static void
peer_pump(load_peer_t *p, uint64_t now)
{
    int64_t       inflight, allow;
    uint64_t      acked, due;
    load_peer_t  *dst;
    int           n, bcast;

    if (!p->sender || p->closed || p->want_out) {
        return;
    }

    if (p->rate > 0) {
        due = (uint64_t) ((double) (now - p->rate_start) / 1e9 * p->rate);
        allow = (int64_t) (due - p->rate_sent);

        if (allow > 4 * LOAD_BATCH) {
            /* fell behind (socket full): do not burst without bound */
            p->rate_sent = due - 4 * LOAD_BATCH;
            allow = 4 * LOAD_BATCH;
        }

    } else {
        acked = atomic_load_explicit(&p->acked, memory_order_relaxed);

        inflight = (int64_t) (p->sent - acked - p->lost);

        if (acked != p->last_acked) {
            p->last_acked = acked;
            p->last_progress = now;

        } else if (inflight >= opt.window
                   && now - p->last_progress > p->max_stall
                   && atomic_load_explicit(&phase, memory_order_relaxed) == 1)
        {
            p->max_stall = now - p->last_progress;
        }

        if (inflight >= opt.window
            && now - p->last_progress > LOAD_LOST_MS * 1000000ull)
        {
            /* dropped on the way (queue full, ipc full): give up on them */
            p->lost += (uint64_t) inflight;
            inflight = 0;
            p->last_progress = now;
        }

        allow = opt.window - inflight;
    }

    if (allow <= 0) {
        return;
    }

    if (allow > LOAD_BATCH) {
        allow = LOAD_BATCH;
    }

    for (n = 0; n < allow; n++) {
        bcast = opt.bcast > 0 && (xrand(&p->rnd) % 10000) < opt.bcast * 100;

        if (bcast) {
            if (peer_send_data(p, bcast_mac, 1, now) != 0) {
                break;
            }
            continue;
        }

        if (p->partner >= 0) {
            dst = &peers[p->partner];

        } else {
            /* all-to-all: anyone active but me */
            do {
                dst = &peers[xrand(&p->rnd) % (uint32_t) npeers];
            } while (dst == p || !dst->sender);
        }

        if (peer_send_data(p, dst->mac, 0, now) != 0) {
            break;
        }

        p->sent++;
        p->rate_sent++;
    }

    peer_flush(p);
}


static int
on_message(void *ctx, uint8_t *data, size_t len)
{
    load_peer_t   *p = ctx;
    load_stats_t  *st = &p->thr->st;
    uint32_t       from;
    uint64_t       ts, now;
    load_peer_t   *src;

    if (len >= LOAD_HDR && get32(data + 14) == LOAD_STORM_MAGIC) {
        st->storm++;
        return 0;
    }

    if (len < LOAD_HDR || get32(data + 14) != LOAD_MAGIC) {
        st->bad++;
        return 0;
    }

    from = get32(data + 18);
    ts = get64(data + 26);

    if ((from & ~LOAD_BCAST_FLAG) >= (uint32_t) npeers) {
        st->bad++;
        return 0;
    }

    src = &peers[from & ~LOAD_BCAST_FLAG];

    if (!(from & LOAD_BCAST_FLAG)) {
        atomic_fetch_add_explicit(&src->acked, 1, memory_order_relaxed);
    }

    if (atomic_load_explicit(&phase, memory_order_relaxed) != 1) {
        return 0;
    }

    if (src->special || p->special) {
        st->special_frames++;
        return 0;
    }

    now = now_ns();

    st->frames++;
    st->bytes += len;
    st->bcast += (from & LOAD_BCAST_FLAG) ? 1 : 0;
    st->hist[hist_index(now > ts ? now - ts : 0)]++;

    return 0;
}


static int
on_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    load_peer_t  *p = ctx;
    uint8_t      *d;

    if (opcode == VPNWS_WS_OP_PING) {
        d = peer_frame(p, VPNWS_WS_OP_PONG, len);

        if (d) {
            memcpy(d, data, len);
            vpnws_ws_mask(d, len, p->mask, 0);
            peer_flush(p);
        }

        return 0;
    }

    if (opcode == VPNWS_WS_OP_CLOSE) {
        peer_closed(p, "server sent Close");
        return -1;
    }

    return 0;
}


static uint8_t *
frag_alloc(void *ctx)
{
    (void) ctx;
    return malloc(65536 + 64);
}


static void
frag_free(void *ctx, uint8_t *buf)
{
    (void) ctx;
    free(buf);
}


static const vpnws_ws_handler_t  load_ws_handler = {
    on_message, on_control, frag_alloc, frag_free
};


static void
peer_read(load_peer_t *p)
{
    ssize_t  n, used;

    for ( ;; ) {
        n = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);

        if (n == 0) {
            peer_closed(p, "EOF");
            return;
        }

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            if (errno != EAGAIN) {
                peer_closed(p, strerror(errno));
            }

            return;
        }

        p->in_len += (size_t) n;

        used = vpnws_ws_read(&p->reader, p->in, p->in_len, &load_ws_handler,
                             p);

        if (used < 0) {
            if (!p->closed) {
                peer_closed(p, p->reader.error ? p->reader.error
                                               : "protocol error");
            }
            return;
        }

        if (used > 0) {
            memmove(p->in, p->in + used, p->in_len - (size_t) used);
            p->in_len -= (size_t) used;
        }

        if ((size_t) n < 16384) {
            /* drained, most likely; epoll says when there is more */
            return;
        }
    }
}


static int hs_request(char *req, size_t size, load_peer_t *p);


/*
 * --reconnect: a closed peer connects again as a client would, without
 * blocking its thread (whose other peers go on sending and reading): a
 * first attempt 20-120 ms after the close, at most LOAD_RC_WINDOW attempts
 * in flight per thread, each with LOAD_RC_TIMEOUT; a failed one tries
 * again after a backoff that doubles up to LOAD_RC_BACKOFF_MAX, with
 * jitter, so a thousand peers thrown out at once do not come back in step.
 */
#define LOAD_RC_TIMEOUT     5000000000ULL   /* ns */
#define LOAD_RC_BACKOFF     100000000ULL
#define LOAD_RC_BACKOFF_MAX 3200000000ULL


static uint64_t
rc_jitter(load_peer_t *p, uint64_t base)
{
    /* base/2 .. base*3/2 */
    return base / 2 + (uint64_t) xrand(&p->rnd) % (base + 1);
}


static void
rc_failed(load_peer_t *p, const char *why)
{
    uint64_t  backoff;

    event("reconnect %u failed (%s) after %.1f ms, attempt %u", p->idx, why,
          (double) (now_ns() - p->rc_started) / 1e6, p->rc_fails + 1);

    close(p->fd);
    p->fd = -1;
    p->rc_state = 0;
    p->thr->rc_inflight--;
    p->rc_fails++;
    atomic_fetch_add(&reconnect_fails, 1);

    backoff = LOAD_RC_BACKOFF << (p->rc_fails < 6 ? p->rc_fails : 6);
    backoff = backoff < LOAD_RC_BACKOFF_MAX ? backoff : LOAD_RC_BACKOFF_MAX;
    p->retry_at = now_ns() + rc_jitter(p, backoff);
}


static void
rc_start(load_peer_t *p, uint64_t now)
{
    int                 fd;
    struct sockaddr_in  sa;
    struct epoll_event  ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd == -1) {
        p->retry_at = now + rc_jitter(p, LOAD_RC_BACKOFF_MAX);
        atomic_fetch_add(&reconnect_fails, 1);
        event("reconnect %u: socket(): %s", p->idx, strerror(errno));
        return;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) opt.port);
    (void) inet_pton(AF_INET, opt.host, &sa.sin_addr);

    p->fd = fd;
    p->rc_state = 1;
    p->rc_started = now;
    p->hs_len = 0;
    p->thr->rc_inflight++;

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        && errno != EINPROGRESS)
    {
        rc_failed(p, strerror(errno));
        return;
    }

    ev.events = EPOLLOUT;
    ev.data.ptr = p;
    epoll_ctl(p->thr->ep, EPOLL_CTL_ADD, fd, &ev);
}


static void
rc_done(load_peer_t *p)
{
    uint64_t  down, max;

    p->in_len = 0;
    p->out_pos = 0;
    p->out_last = 0;
    p->want_out = 0;
    memset(&p->reader, 0, sizeof(vpnws_ws_reader_t));
    p->reader.max_payload = 65536;
    p->closed = 0;
    p->rc_state = 0;
    p->thr->rc_inflight--;
    ep_mod(p);

    down = now_ns() - p->closed_at;
    max = atomic_load(&max_down_ns);

    while (down > max
           && !atomic_compare_exchange_weak(&max_down_ns, &max, down))
    {
        /* void */
    }

    atomic_fetch_add(&reconnects, 1);
    event("reconnect %u ok in %.1f ms, down %.1f ms, attempt %u", p->idx,
          (double) (now_ns() - p->rc_started) / 1e6, (double) down / 1e6,
          p->rc_fails + 1);
    p->rc_fails = 0;
}


/* an event on a reconnecting peer's socket */
static void
rc_event(load_peer_t *p, uint32_t events)
{
    int                 err, len;
    char                req[512];
    ssize_t             r;
    socklen_t           sl;
    struct epoll_event  ev;

    if (p->rc_state == 1) {
        sl = sizeof(err);
        err = 0;
        (void) getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl);

        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            rc_failed(p, err ? strerror(err) : "connect");
            return;
        }

        len = hs_request(req, sizeof(req), p);

        /* a fresh socket takes half a kilobyte at once */
        if (send(p->fd, req, (size_t) len, MSG_NOSIGNAL) != len) {
            rc_failed(p, "send");
            return;
        }

        p->rc_state = 2;
        ev.events = EPOLLIN;
        ev.data.ptr = p;
        epoll_ctl(p->thr->ep, EPOLL_CTL_MOD, p->fd, &ev);
        return;
    }

    /* byte by byte: nothing after the head is taken from the socket */
    while (p->hs_len < sizeof(p->hs) - 1) {
        r = recv(p->fd, p->hs + p->hs_len, 1, 0);

        if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }

        if (r <= 0) {
            rc_failed(p, r == 0 ? "EOF before the response" : strerror(errno));
            return;
        }

        p->hs_len++;

        if (p->hs_len >= 4 && memcmp(p->hs + p->hs_len - 4, "\r\n\r\n", 4)
                              == 0)
        {
            break;
        }
    }

    p->hs[p->hs_len] = '\0';

    if (p->hs_len < 12 || strncmp(p->hs, "HTTP/1.1 101", 12) != 0) {
        p->hs[strcspn(p->hs, "\r\n")] = '\0';
        rc_failed(p, p->hs);
        return;
    }

    rc_done(p);
}


static void
thread_reconnect(load_thread_t *t, uint64_t now)
{
    size_t        i;
    int           window;
    load_peer_t  *p;

    if (now < t->rc_scan) {
        return;
    }

    t->rc_scan = now + 5000000ULL;
    window = opt.concurrency / opt.threads > 0 ? opt.concurrency / opt.threads
                                               : 1;

    for (i = 0; i < t->npeers; i++) {
        p = t->peers[i];

        if (!p->closed) {
            continue;
        }

        if (p->rc_state) {
            if (now - p->rc_started > LOAD_RC_TIMEOUT) {
                rc_failed(p, "timeout");
            }

            continue;
        }

        if (now >= p->retry_at && t->rc_inflight < window) {
            rc_start(p, now);
        }
    }
}


static void *
thread_main(void *arg)
{
    load_thread_t       *t = arg;
    struct epoll_event   evs[256];
    load_peer_t         *p;
    uint64_t             now;
    size_t               i;
    int                  n, k, noread_done;

    noread_done = 0;

    while (atomic_load(&phase) < 2) {
        n = epoll_wait(t->ep, evs, 256, 1);

        for (k = 0; k < n; k++) {
            p = evs[k].data.ptr;

            if (p->closed) {
                if (p->rc_state) {
                    rc_event(p, evs[k].events);
                }

                continue;
            }

            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                peer_read(p);
            }

            if (!p->closed && (evs[k].events & EPOLLOUT)) {
                peer_flush(p);
            }
        }

        if (!noread_done && opt.slow && atomic_load(&phase) == 1) {
            /* the slow peer stops reading when measuring starts */
            noread_done = 1;

            for (i = 0; i < t->npeers; i++) {
                if (t->peers[i]->noread) {
                    ep_mod(t->peers[i]);
                }
            }
        }

        now = now_ns();

        for (i = 0; i < t->nsenders; i++) {
            peer_pump(t->senders[i], now);
        }

        if (opt.reconnect) {
            thread_reconnect(t, now);
        }
    }

    return NULL;
}


/* connecting */

static int
tcp_connect(int port)
{
    int                 fd;
    struct sockaddr_in  sa;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        die("socket(): %s (raise ulimit -n)", strerror(errno));
    }

    set_nonblock(fd);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);

    if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) {
        die("bad --host %s (IPv4 address)", opt.host);
    }

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        && errno != EINPROGRESS)
    {
        die("connect(): %s", strerror(errno));
    }

    return fd;
}


static void
peer_init(load_peer_t *p, uint32_t idx, int active)
{
    p->idx = idx;
    p->partner = -1;
    p->fd = -1;
    /* a storm's MACs never meet the other process's */
    p->mac[0] = opt.storm ? 0x06 : 0x02;
    p->mac[1] = (uint8_t) opt.mac_base;
    put32(p->mac + 2, idx + 1);
    p->rnd = 0x9e3779b9u ^ (idx * 2654435761u) ^ (uint32_t) getpid();
    xrand(&p->rnd);

    for (int i = 0; i < 4; i++) {
        p->mask[i] = (uint8_t) xrand(&p->rnd);
    }

    p->in_cap = active ? LOAD_IN_ACTIVE : LOAD_IN_IDLE;
    p->out_cap = active ? LOAD_OUT_ACTIVE : LOAD_OUT_IDLE;
    p->in = malloc(p->in_cap);
    p->out = malloc(p->out_cap);

    if (p->in == NULL || p->out == NULL) {
        die("no memory");
    }

    p->reader.max_payload = 65536;
}


static int
hs_request(char *req, size_t size, load_peer_t *p)
{
    return snprintf(req, size,
                    "GET %s HTTP/1.1\r\n"
                    "Host: %s:%d\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n"
                    "X-vpn-ws-MAC: %02x:%02x:%02x:%02x:%02x:%02x\r\n"
                    "X-vpn-ws-ready: on\r\n"
                    "\r\n",
                    opt.path, opt.host, opt.port,
                    p->mac[0], p->mac[1], p->mac[2], p->mac[3],
                    p->mac[4], p->mac[5]);
}


/* connect and upgrade peers [0, n) with at most opt.concurrency pending */
static double
connect_ws(int n)
{
    int                 ep, next, done, pending, k, m, err;
    char                req[512];
    ssize_t             r;
    socklen_t           sl;
    uint64_t            t0;
    load_peer_t        *p;
    struct epoll_event  ev, evs[256];
    char               *eoh;

    ep = epoll_create1(0);
    next = done = pending = 0;
    t0 = now_ns();

    while (done < n) {

        while (next < n && pending < opt.concurrency) {
            p = &peers[next++];
            p->fd = tcp_connect(opt.port);
            p->hs_state = 0;
            ev.events = EPOLLOUT;
            ev.data.ptr = p;
            epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
            pending++;
        }

        m = epoll_wait(ep, evs, 256, 10000);

        if (m == 0) {
            die("handshakes stalled: %d of %d done", done, n);
        }

        for (k = 0; k < m; k++) {
            p = evs[k].data.ptr;

            if (p->hs_state == 0) {
                sl = sizeof(err);
                getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl);

                if (err) {
                    die("connect() peer %u: %s", p->idx, strerror(err));
                }

                (void) hs_request(req, sizeof(req), p);

                if (send(p->fd, req, strlen(req), MSG_NOSIGNAL)
                    != (ssize_t) strlen(req))
                {
                    die("send() handshake peer %u: %s", p->idx,
                        strerror(errno));
                }

                p->hs_state = 1;
                ev.events = EPOLLIN;
                ev.data.ptr = p;
                epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
                continue;
            }

            r = recv(p->fd, p->hs + p->hs_len, sizeof(p->hs) - 1 - p->hs_len,
                     0);

            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                die("handshake peer %u: %s", p->idx,
                    r ? strerror(errno) : "EOF");
            }

            p->hs_len += (size_t) r;
            p->hs[p->hs_len] = '\0';

            eoh = strstr(p->hs, "\r\n\r\n");
            if (eoh == NULL) {
                if (p->hs_len >= sizeof(p->hs) - 1) {
                    die("handshake peer %u: response too long", p->idx);
                }
                continue;
            }

            if (strncmp(p->hs, "HTTP/1.1 101", 12) != 0) {
                *strchr(p->hs, '\r') = '\0';
                die("handshake peer %u: \"%s\"", p->idx, p->hs);
            }

            /* a frame right behind the 101 */
            eoh += 4;
            p->in_len = p->hs_len - (size_t) (eoh - p->hs);
            memcpy(p->in, eoh, p->in_len);
            p->hs_state = 2;

            epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
            pending--;
            done++;
        }
    }

    close(ep);

    return (double) (now_ns() - t0) / 1e9;
}


/* baseline: the same frames over loopback TCP without nginx */

static int
tcp_listen(int *port)
{
    int                 fd, one = 1;
    struct sockaddr_in  sa;
    socklen_t           sl;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || listen(fd, 4096) == -1)
    {
        die("bind()/listen(): %s", strerror(errno));
    }

    sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *) &sa, &sl);
    *port = ntohs(sa.sin_port);

    return fd;
}


static void
wait_connected(int fd)
{
    int        err;
    socklen_t  sl;
    fd_set     w;

    FD_ZERO(&w);
    FD_SET(fd, &w);
    select(fd + 1, NULL, &w, NULL, NULL);

    sl = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);

    if (err) {
        die("connect(): %s", strerror(err));
    }
}


/*
 * The relay: a process that forwards bytes between the two connections of
 * a pair (each sends a 4-byte pair number first), like the switch does
 * with one read and one write per chunk but without switching anything.
 */

typedef struct relay_conn_s  relay_conn_t;

struct relay_conn_s {
    int             fd;
    relay_conn_t   *other;
    uint8_t        *buf;        /* bytes read here, to write to other */
    size_t          pos;
    size_t          last;
    int             hello;
    uint32_t        events;     /* what epoll watches now */
    uint8_t         id[4];
};


static void
relay_mod(int ep, relay_conn_t *c)
{
    uint32_t            want;
    struct epoll_event  ev;

    /* read while our buffer is empty; write while the other's is not */
    want = (c->pos == c->last ? EPOLLIN : 0)
           | (c->other && c->other->pos < c->other->last ? EPOLLOUT : 0);

    if (want == c->events) {
        return;
    }

    c->events = want;
    ev.events = want;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}


static void
relay_main(int lfd)
{
    int                  ep, n, k, fd;
    ssize_t              r;
    uint32_t             id;
    relay_conn_t        *c, *o, **waiting;
    struct epoll_event   ev, evs[256];

    waiting = calloc(65536, sizeof(relay_conn_t *));
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    for ( ;; ) {
        n = epoll_wait(ep, evs, 256, -1);

        for (k = 0; k < n; k++) {
            c = evs[k].data.ptr;

            if (c == NULL) {
                fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (fd == -1) {
                    continue;
                }
                set_nonblock(fd);
                c = calloc(1, sizeof(relay_conn_t));
                c->fd = fd;
                c->buf = malloc(65536);
                c->events = EPOLLIN;
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                continue;
            }

            if (c->hello < 4) {
                r = recv(c->fd, c->id + c->hello, 4 - c->hello, 0);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN) {
                        continue;
                    }
                    _exit(0);
                }
                c->hello += (int) r;
                if (c->hello < 4) {
                    continue;
                }
                id = get32(c->id) & 0xffff;
                if (waiting[id]) {
                    c->other = waiting[id];
                    c->other->other = c;
                    waiting[id] = NULL;
                } else {
                    waiting[id] = c;
                }
                continue;
            }

            if (c->other == NULL) {
                continue;
            }

            o = c->other;

            if ((evs[k].events & EPOLLOUT) && o->pos < o->last) {
                r = send(c->fd, o->buf + o->pos, o->last - o->pos,
                         MSG_NOSIGNAL);
                if (r > 0) {
                    o->pos += (size_t) r;
                    if (o->pos == o->last) {
                        o->pos = o->last = 0;
                    }
                }
                relay_mod(ep, c);
                relay_mod(ep, o);
            }

            if ((evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                && c->pos == c->last)
            {
                r = recv(c->fd, c->buf, 65536, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    _exit(0);
                }
                if (r < 0) {
                    continue;
                }
                c->pos = 0;
                c->last = (size_t) r;
                r = send(o->fd, c->buf, c->last, MSG_NOSIGNAL);
                if (r > 0) {
                    c->pos = (size_t) r;
                    if (c->pos == c->last) {
                        c->pos = c->last = 0;
                    }
                }
                relay_mod(ep, c);
                relay_mod(ep, o);
            }
        }
    }
}


static void
connect_baseline(int n)
{
    int      i, lfd, port, fd, ports[64];
    uint8_t  hello[4];
    pid_t    pid;

    if (strcmp(opt.baseline, "direct") == 0) {
        lfd = tcp_listen(&port);

        for (i = 0; i + 1 < n; i += 2) {
            fd = tcp_connect(port);
            wait_connected(fd);
            peers[i].fd = fd;

            fd = accept(lfd, NULL, NULL);
            if (fd == -1) {
                die("accept(): %s", strerror(errno));
            }
            set_nonblock(fd);
            peers[i + 1].fd = fd;
        }

        close(lfd);
        return;
    }

    if (strcmp(opt.baseline, "relay") != 0) {
        die("--baseline direct|relay");
    }

    if (opt.relay_procs < 1 || opt.relay_procs > 64) {
        die("--relay-procs 1..64");
    }

    for (i = 0; i < opt.relay_procs; i++) {
        lfd = tcp_listen(&ports[i]);
        pid = fork();

        if (pid == 0) {
            if (opt.relay_cpu >= 0) {
                cpu_set_t  set;
                long       ncpu = sysconf(_SC_NPROCESSORS_ONLN);

                CPU_ZERO(&set);
                CPU_SET((opt.relay_cpu + i) % ncpu, &set);
                sched_setaffinity(0, sizeof(set), &set);
            }

            relay_main(lfd);
            _exit(0);
        }

        close(lfd);
        relay_pids[nrelay++] = pid;
    }

    for (i = 0; i < n; i++) {
        fd = tcp_connect(ports[(i / 2) % opt.relay_procs]);
        wait_connected(fd);
        put32(hello, (uint32_t) i / 2);
        if (send(fd, hello, 4, MSG_NOSIGNAL) != 4) {
            die("send(): %s", strerror(errno));
        }
        peers[i].fd = fd;
    }
}


/* placement: which worker holds each peer, from the status JSON */

static char *
http_get(const char *path)
{
    int      fd;
    size_t   len, cap;
    ssize_t  r;
    char     req[512], *buf, *body;

    fd = tcp_connect(opt.port);
    wait_connected(fd);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);

    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
             opt.host);

    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
        die("status: send(): %s", strerror(errno));
    }

    cap = 1 << 20;
    len = 0;
    buf = malloc(cap + 1);

    while ((r = recv(fd, buf + len, cap - len, 0)) > 0) {
        len += (size_t) r;

        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }

    close(fd);
    buf[len] = '\0';

    body = strstr(buf, "\r\n\r\n");
    if (body == NULL || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
        die("status %s: bad answer", path);
    }

    return body + 4;
}


/* which worker holds each peer, from the status JSON; -1: not listed */
static int *
load_workers(void)
{
    int           *worker, i, w;
    char          *json, *s, *ws, *end, mac[18];
    unsigned int   m[6];

    worker = calloc((size_t) npeers, sizeof(int));
    for (i = 0; i < npeers; i++) {
        worker[i] = -1;
    }

    json = http_get(opt.status);

    for (s = strstr(json, "\"MAC\":\""); s; s = strstr(s + 1, "\"MAC\":\"")) {
        memcpy(mac, s + 7, 17);
        mac[17] = '\0';

        if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
                   &m[4], &m[5]) != 6
            || m[0] != 2 || m[1] != (unsigned) opt.mac_base)
        {
            continue;
        }

        i = (int) ((m[2] << 24 | m[3] << 16 | m[4] << 8 | m[5]) - 1);
        w = -1;

        ws = strstr(s, "\"worker\":");
        end = strchr(s, '}');
        if (ws && end && ws < end) {
            w = atoi(ws + 9);
        }

        if (i >= 0 && i < npeers) {
            worker[i] = w;
        }
    }

    return worker;
}


static void
place_pairs(void)
{
    int  *worker, i, j, w, nw, *bucket[64], nb[64], want, got, a, b;

    worker = load_workers();

    nw = 0;
    memset(nb, 0, sizeof(nb));

    for (i = 0; i < 64; i++) {
        bucket[i] = calloc((size_t) npeers, sizeof(int));
    }

    for (i = 0; i < npeers; i++) {
        w = worker[i];
        if (w < 0 || w >= 64) {
            die("peer %d: no worker in %s", i, opt.status);
        }
        bucket[w][nb[w]++] = i;
        if (w + 1 > nw) {
            nw = w + 1;
        }
    }

    for (w = 0; w < nw; w++) {
        printf("# worker %d holds %d peers\n", w, nb[w]);
    }

    want = opt.pairs ? opt.pairs : npeers / 2;
    got = 0;

    if (strcmp(opt.place, "same") == 0) {
        /* round-robin over workers, both ends on the same one */
        int pos[64] = { 0 };

        while (got < want) {
            int progress = 0;

            for (w = 0; w < nw && got < want; w++) {
                if (nb[w] - pos[w] >= 2) {
                    a = bucket[w][pos[w]++];
                    b = bucket[w][pos[w]++];
                    peers[a].partner = b;
                    peers[b].partner = a;
                    got++;
                    progress = 1;
                }
            }

            if (!progress) {
                break;
            }
        }

    } else if (strcmp(opt.place, "cross") == 0) {
        int pos[64] = { 0 };

        if (nw < 2) {
            die("--place cross needs 2 or more workers");
        }

        /* w and the next worker; any two non-empty ones when that fails */
        for (j = 0; got < want; j++) {
            int  found = 0, x, y;

            for (x = 0; x < nw && !found; x++) {
                for (y = 1; y < nw && !found; y++) {
                    w = (j + x) % nw;
                    int v2 = (w + y) % nw;

                    if (nb[w] - pos[w] >= 1 && nb[v2] - pos[v2] >= 1) {
                        a = bucket[w][pos[w]++];
                        b = bucket[v2][pos[v2]++];
                        peers[a].partner = b;
                        peers[b].partner = a;
                        got++;
                        found = 1;
                    }
                }
            }

            if (!found) {
                break;
            }
        }

    } else {
        die("--place same|cross|any");
    }

    if (got < want) {
        die("--place %s: only %d pairs of %d (connect more --peers)",
            opt.place, got, want);
    }

    for (i = 0; i < npeers; i++) {
        peers[i].sender = peers[i].partner >= 0;
    }

    free(worker);
}


/* CPU seconds used so far by the processes in opt.cpu_pids ("1,2,3") */
static double
pids_cpu(const char *list)
{
    char    path[64], buf[1024], *s, *e;
    long    pid;
    double  total;
    FILE   *f;
    int     i;
    unsigned long long  ut, st;

    total = 0;

    for (s = (char *) list; s && *s; s = *e ? e + 1 : e) {
        pid = strtol(s, &e, 10);
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        if (fgets(buf, sizeof(buf), f)) {
            /* fields 14 and 15 (utime, stime) after the ")" of comm */
            char *p = strrchr(buf, ')');

            for (i = 0; p && i < 12; i++) {
                p = strchr(p + 1, ' ');
            }

            if (p && sscanf(p + 1, "%llu %llu", &ut, &st) == 2) {
                total += (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
            }
        }

        fclose(f);
    }

    return total;
}


static double
server_cpu(void)
{
    char  list[64 * 12], *p;
    int   i;

    if (opt.cpu_pids) {
        return pids_cpu(opt.cpu_pids);
    }

    p = list;
    *p = '\0';

    for (i = 0; i < nrelay; i++) {
        p += sprintf(p, "%s%d", i ? "," : "", (int) relay_pids[i]);
    }

    return pids_cpu(list);
}


static double
self_cpu(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static void
usage(void)
{
    fprintf(stderr,
"usage: vpnws-load [options]\n"
"  --port P          nginx (or the status) port, on --host (127.0.0.1)\n"
"  --path /vpn       websocket location\n"
"  --peers N         websocket peers (2)\n"
"  --threads T       generator threads (1)\n"
"  --mode M          pairs | all (all-to-all) (pairs)\n"
"  --bcast PCT       share of frames sent to ff:ff:ff:ff:ff:ff (0)\n"
"  --size B          ethernet frame size, 64..65536 (1514)\n"
"  --window W        closed loop: frames in flight per sender (64); a\n"
"                    window without an ack for 200 ms counts as lost\n"
"  --rate R          open loop: frames/s per sender (0: closed loop)\n"
"  --duration S      measuring time (5); --warmup S (1)\n"
"  --baseline B      direct | relay: same frames over loopback TCP, no "
"nginx\n"
"  --relay-procs N   relay processes for --baseline relay (1)\n"
"  --status PATH     vpnws_status location, for --place\n"
"  --place P         same | cross: pairs on the same or different "
"workers\n"
"  --pairs N         pairs to form with --place (peers/2)\n"
"  --idle N          connect N idle peers, time it, then --hold S and run\n"
"                    traffic between two of them\n"
"  --storm           this process is another's broadcast storm: its frames\n"
"                    are told apart and never counted by the other\n"
"  --slow-rate R     pair 0 is special: peer 0 sends R frames/s to peer 1,\n"
"                    counted apart; --slow: peer 1 stops reading\n"
"  --concurrency C   handshakes in flight while connecting (256)\n"
"  --relay-cpu C     pin relay process i to CPU C+i\n"
"  --cpu-pids LIST   report the CPU use of these pids (nginx workers)\n"
"  --prefix NAME     prefix of the figure names (switch)\n"
"  --reconnect       a peer the server closes (reload, kill -9) connects\n"
"                    again at once, as a client would (for a soak)\n"
"  --events FILE     write a timeline of closes and reconnects to FILE\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int             c, i, t, active, n_active, rr;
    double          conn_s, secs, cpu0, cpu1, gcpu0, gcpu1;
    uint64_t        t0, t1, lost, sent;
    load_stats_t    st;
    struct rlimit   rl;
    const char     *pf;

    static struct option  lo[] = {
        { "host", 1, NULL, 'H' }, { "port", 1, NULL, 'p' },
        { "path", 1, NULL, 'P' }, { "peers", 1, NULL, 'n' },
        { "threads", 1, NULL, 't' }, { "mode", 1, NULL, 'm' },
        { "bcast", 1, NULL, 'b' }, { "size", 1, NULL, 's' },
        { "window", 1, NULL, 'w' }, { "rate", 1, NULL, 'r' },
        { "duration", 1, NULL, 'd' }, { "warmup", 1, NULL, 'W' },
        { "baseline", 1, NULL, 'B' }, { "relay-procs", 1, NULL, 'R' },
        { "status", 1, NULL, 'S' }, { "place", 1, NULL, 'L' },
        { "pairs", 1, NULL, 'a' }, { "idle", 1, NULL, 'i' },
        { "hold", 1, NULL, 'h' }, { "slow-rate", 1, NULL, 'x' },
        { "slow", 0, NULL, 'X' }, { "concurrency", 1, NULL, 'c' },
        { "storm", 0, NULL, 'Z' },
        { "prefix", 1, NULL, 'f' }, { "help", 0, NULL, '?' },
        { "relay-cpu", 1, NULL, 'C' }, { "cpu-pids", 1, NULL, 'U' },
        { "reconnect", 0, NULL, 'Y' }, { "events", 1, NULL, 'E' },
        { NULL, 0, NULL, 0 }
    };

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'H': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'P': opt.path = optarg; break;
        case 'n': opt.peers = atoi(optarg); break;
        case 't': opt.threads = atoi(optarg); break;
        case 'm': opt.mode = optarg; break;
        case 'b': opt.bcast = atof(optarg); break;
        case 's': opt.size = atoi(optarg); break;
        case 'w': opt.window = atoi(optarg); break;
        case 'r': opt.rate = atof(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'W': opt.warmup = atof(optarg); break;
        case 'B': opt.baseline = optarg; break;
        case 'R': opt.relay_procs = atoi(optarg); break;
        case 'S': opt.status = optarg; break;
        case 'L': opt.place = optarg; break;
        case 'a': opt.pairs = atoi(optarg); break;
        case 'i': opt.idle = atoi(optarg); break;
        case 'h': opt.hold = atof(optarg); break;
        case 'x': opt.slow_rate = atof(optarg); break;
        case 'X': opt.slow = 1; break;
        case 'Z': opt.storm = 1; break;
        case 'c': opt.concurrency = atoi(optarg); break;
        case 'f': opt.prefix = optarg; break;
        case 'C': opt.relay_cpu = atoi(optarg); break;
        case 'U': opt.cpu_pids = optarg; break;
        case 'Y': opt.reconnect = 1; break;
        case 'E': opt.events = optarg; break;
        default: usage();
        }
    }

    if (opt.size < 64 || opt.size > 65536 || opt.threads < 1
        || opt.threads > 64 || opt.window < 1 || opt.concurrency < 1)
    {
        usage();
    }

    if (opt.mac_base < 0) {
        opt.mac_base = (int) (getpid() & 0xff);
    }

    signal(SIGPIPE, SIG_IGN);

    events_t0 = now_ns();

    if (opt.events) {
        events = fopen(opt.events, "w");

        if (events == NULL) {
            die("%s: %s", opt.events, strerror(errno));
        }

        setvbuf(events, NULL, _IOLBF, 0);
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    pf = opt.prefix;

    if (opt.idle) {
        npeers = opt.idle;
        n_active = 2;

    } else {
        npeers = opt.peers;
        n_active = npeers;

        if (strcmp(opt.mode, "pairs") != 0 && strcmp(opt.mode, "all") != 0) {
            usage();
        }

        if (npeers < 2 || (opt.baseline && npeers % 2)) {
            die("--peers: at least 2 (an even number with --baseline)");
        }
    }

    if (opt.port == 0 && !opt.baseline) {
        die("--port is needed");
    }

    peers = calloc((size_t) npeers, sizeof(load_peer_t));
    if (peers == NULL) {
        die("no memory");
    }

    for (i = 0; i < npeers; i++) {
        peer_init(&peers[i], (uint32_t) i, i < n_active);
    }

    /* connect */

    if (opt.baseline) {
        connect_baseline(npeers);
        conn_s = 0;

    } else {
        conn_s = connect_ws(npeers);
    }

    if (opt.idle) {
        printf("%s.idle_peers %d peers\n", pf, npeers);
        printf("%s.connect_time %.3f s\n", pf, conn_s);
        printf("%s.connect_rate %.0f peers/s\n", pf, npeers / conn_s);
        printf("%s.idle_connected 1 flag\n", pf);
        fflush(stdout);

        peers[0].partner = 1;
        peers[1].partner = 0;
        peers[0].sender = peers[1].sender = 1;

    } else if (opt.place && strcmp(opt.place, "any") != 0) {
        if (opt.status == NULL || opt.baseline) {
            die("--place needs --status and no --baseline");
        }

        place_pairs();

    } else {
        for (i = 0; i < npeers; i++) {
            peers[i].sender = 1;

            if (strcmp(opt.mode, "pairs") == 0) {
                peers[i].partner = i ^ 1;

                if (peers[i].partner >= npeers) {
                    peers[i].partner = -1;
                    peers[i].sender = 0;
                }
            }
        }

        if (opt.status && !opt.baseline && strcmp(opt.mode, "pairs") == 0) {
            /* how the kernel's reuseport hash placed the pairs */
            int  *worker = load_workers(), cross = 0, pairs = 0;

            for (i = 0; i + 1 < npeers; i += 2) {
                pairs++;
                cross += worker[i] != worker[i + 1];
            }

            printf("%s.cross_worker_pairs %d pairs\n", pf, cross);
            printf("%s.same_worker_pairs %d pairs\n", pf, pairs - cross);
            free(worker);
        }
    }

    if (opt.rate > 0) {
        for (i = 0; i < npeers; i++) {
            peers[i].rate = opt.rate;
        }
    }

    if (opt.slow_rate > 0) {
        /* pair 0: peer 0 sends at a fixed rate to peer 1, which is quiet */
        peers[0].special = peers[1].special = 1;
        peers[0].rate = opt.slow_rate;
        peers[0].partner = 1;
        peers[1].partner = 0;
        peers[0].sender = 1;
        peers[1].sender = 0;
        peers[1].noread = opt.slow;
    }

    /* threads: both ends of a pair in the same thread when possible */

    threads = calloc((size_t) opt.threads, sizeof(load_thread_t));

    for (t = 0; t < opt.threads; t++) {
        threads[t].ep = epoll_create1(0);
        threads[t].peers = calloc((size_t) npeers, sizeof(load_peer_t *));
        threads[t].senders = calloc((size_t) npeers, sizeof(load_peer_t *));
    }

    active = 0;
    rr = 0;

    for (i = 0; i < npeers; i++) {
        peers[i].thr = NULL;
    }

    for (i = 0; i < npeers; i++) {
        load_peer_t         *p = &peers[i];
        struct epoll_event   ev;

        if (p->thr) {
            t = (int) (p->thr - threads);

        } else {
            t = rr++ % opt.threads;

            if (p->partner >= 0) {
                peers[p->partner].thr = &threads[t];
            }
        }

        p->thr = &threads[t];
        threads[t].peers[threads[t].npeers++] = p;

        ev.events = EPOLLIN;
        ev.data.ptr = p;
        epoll_ctl(threads[t].ep, EPOLL_CTL_ADD, p->fd, &ev);

        active += p->sender;
    }

    /* bytes that came with the 101 */
    for (i = 0; i < npeers; i++) {
        if (peers[i].in_len) {
            ssize_t used = vpnws_ws_read(&peers[i].reader, peers[i].in,
                                         peers[i].in_len, &load_ws_handler,
                                         &peers[i]);
            if (used > 0) {
                memmove(peers[i].in, peers[i].in + used,
                        peers[i].in_len - (size_t) used);
                peers[i].in_len -= (size_t) used;
            }
        }
    }

    if (opt.idle && opt.hold > 0) {
        /* idle: only answer pings while the caller measures memory */
        uint64_t end = now_ns() + (uint64_t) (opt.hold * 1e9);

        for (i = 0; i < npeers; i++) {
            peers[i].sender = 0;
        }

        atomic_store(&phase, 0);

        for (t = 0; t < opt.threads; t++) {
            pthread_create(&threads[t].tid, NULL, thread_main, &threads[t]);
        }

        while (now_ns() < end) {
            usleep(50000);
        }

        atomic_store(&phase, 2);

        for (t = 0; t < opt.threads; t++) {
            pthread_join(threads[t].tid, NULL);
        }

        atomic_store(&phase, 0);
        peers[0].sender = peers[1].sender = 1;
    }

    t0 = now_ns();

    for (i = 0; i < npeers; i++) {
        peers[i].last_progress = t0;
        peers[i].rate_start = t0;
    }

    for (t = 0; t < opt.threads; t++) {
        threads[t].nsenders = 0;

        for (i = 0; i < (int) threads[t].npeers; i++) {
            if (threads[t].peers[i]->sender) {
                threads[t].senders[threads[t].nsenders++] = threads[t].peers[i];
            }
        }
    }

    for (t = 0; t < opt.threads; t++) {
        pthread_create(&threads[t].tid, NULL, thread_main, &threads[t]);
    }

    usleep((useconds_t) (opt.warmup * 1e6));
    cpu0 = server_cpu();
    gcpu0 = self_cpu();
    t0 = now_ns();
    atomic_store(&phase, 1);
    usleep((useconds_t) (opt.duration * 1e6));
    atomic_store(&phase, 2);
    t1 = now_ns();
    cpu1 = server_cpu();
    gcpu1 = self_cpu();

    for (t = 0; t < opt.threads; t++) {
        pthread_join(threads[t].tid, NULL);
    }

    for (i = 0; i < nrelay; i++) {
        kill(relay_pids[i], SIGTERM);
        waitpid(relay_pids[i], NULL, 0);
    }

    memset(&st, 0, sizeof(st));

    for (t = 0; t < opt.threads; t++) {
        st.frames += threads[t].st.frames;
        st.bytes += threads[t].st.bytes;
        st.bcast += threads[t].st.bcast;
        st.special_frames += threads[t].st.special_frames;
        st.bad += threads[t].st.bad;
        st.storm += threads[t].st.storm;

        for (i = 0; i < LOAD_HIST; i++) {
            st.hist[i] += threads[t].st.hist[i];
        }
    }

    lost = sent = 0;
    uint64_t  stall = 0;

    for (i = 0; i < npeers; i++) {
        if (!peers[i].special) {
            lost += peers[i].lost;
            sent += peers[i].sent;

            if (peers[i].max_stall > stall) {
                stall = peers[i].max_stall;
            }
        }
    }

    secs = (double) (t1 - t0) / 1e9;

    printf("%s.senders %d peers\n", pf, active - (opt.slow_rate > 0));
    printf("%s.frames_per_s %.0f frames/s\n", pf, st.frames / secs);
    printf("%s.gbit_per_s %.3f Gbit/s\n", pf, st.bytes * 8 / secs / 1e9);
    printf("%s.lat_p50 %.1f us\n", pf, hist_pct(st.hist, 50));
    printf("%s.lat_p99 %.1f us\n", pf, hist_pct(st.hist, 99));
    printf("%s.lat_p999 %.1f us\n", pf, hist_pct(st.hist, 99.9));

    if (opt.bcast > 0) {
        printf("%s.bcast_deliveries_per_s %.0f frames/s\n", pf,
               st.bcast / secs);
    }

    printf("%s.lost %llu frames\n", pf, (unsigned long long) lost);

    if (opt.rate == 0) {
        /* longest wait of a sender with a full window while measuring */
        printf("%s.max_stall %.1f ms\n", pf, (double) stall / 1e6);
    }
    printf("%s.gen_cpu %.2f cores\n", pf, (gcpu1 - gcpu0) / secs);

    if (opt.cpu_pids || nrelay) {
        printf("%s.server_cpu %.2f cores\n", pf, (cpu1 - cpu0) / secs);

        if (cpu1 > cpu0) {
            printf("%s.frames_per_cpu_s %.0f frames/s\n", pf,
                   st.frames / (cpu1 - cpu0));
        }
    }

    if (opt.rate > 0) {
        printf("%s.offered_per_s %.0f frames/s\n", pf,
               (double) sent / ((double) (t1 - peers[0].rate_start) / 1e9));
    }

    if (opt.slow_rate > 0) {
        printf("%s.slowpair_frames_per_s %.0f frames/s\n", pf,
               st.special_frames / secs);
    }

    printf("%s.closed %llu peers\n", pf,
           (unsigned long long) atomic_load(&closed_peers));

    if (opt.reconnect) {
        lost = 0;

        for (i = 0; i < npeers; i++) {
            lost += peers[i].closed;
        }

        printf("%s.reconnects %llu peers\n", pf,
               (unsigned long long) atomic_load(&reconnects));
        printf("%s.reconnect_failures %llu attempts\n", pf,
               (unsigned long long) atomic_load(&reconnect_fails));
        printf("%s.max_down %.0f ms\n", pf,
               (double) atomic_load(&max_down_ns) / 1e6);
        printf("%s.down_at_end %llu peers\n", pf, (unsigned long long) lost);
    }

    if (st.bad) {
        printf("%s.bad_frames %llu frames\n", pf,
               (unsigned long long) st.bad);
    }

    if (st.storm) {
        printf("%s.storm_heard_per_s %.0f frames/s\n", pf, st.storm / secs);
    }

    fflush(stdout);

    /* abortive close: no TIME_WAIT pile-up across runs */
    for (i = 0; i < npeers; i++) {
        struct linger  l = { 1, 0 };

        if (peers[i].fd >= 0) {
            setsockopt(peers[i].fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
            close(peers[i].fd);
        }
    }

    return 0;
}
