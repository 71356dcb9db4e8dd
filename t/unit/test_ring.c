/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_ring.c, the ring that carries frames between
 * nginx workers: sizes, order and bytes through many wraps, a full ring,
 * broken records, the lock (busy, and taken over from a dead process), the
 * doorbell handshake, and writer processes against a reader process in
 * real shared memory with an eventfd doorbell, where a lost wakeup would
 * stall the reader.
 */


#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "tap.h"
#include "vpnws_ring.h"


#define SMALL       4096            /* a ring's data in the small cases */
#define WRITERS     3
#define RECORDS     30000           /* each writer's, in the stress case */


/* a ring of size data bytes in shared memory, as the master makes them */
static vpnws_ring_t *
ring_new(size_t size)
{
    void  *p;

    p = mmap(NULL, vpnws_ring_span(size), PROT_READ|PROT_WRITE,
             MAP_ANONYMOUS|MAP_SHARED, -1, 0);

    if (p == MAP_FAILED) {
        diag("mmap: %s", strerror(errno));
        exit(2);
    }

    vpnws_ring_init(p);

    return p;
}


static void
ring_free(vpnws_ring_t *r, size_t size)
{
    (void) munmap(r, vpnws_ring_span(size));
}


/* record n of a writer: [writer, n, len] and bytes made of them */
static size_t
rec_make(uint8_t *buf, uint32_t writer, uint32_t n, size_t len)
{
    size_t  i;

    if (len < 12) {
        len = 12;
    }

    memcpy(buf, &writer, 4);
    memcpy(buf + 4, &n, 4);
    memcpy(buf + 8, &len, 4);

    for (i = 12; i < len; i++) {
        buf[i] = (uint8_t) (writer * 131 + n * 7 + i);
    }

    return len;
}


static int
rec_check(const uint8_t *p, size_t len, uint32_t *writer, uint32_t *n)
{
    uint8_t   want[70000];
    uint32_t  l;

    if (len < 12 || len > sizeof(want)) {
        return 0;
    }

    memcpy(writer, p, 4);
    memcpy(n, p + 4, 4);
    memcpy(&l, p + 8, 4);

    if (l != len) {
        return 0;
    }

    (void) rec_make(want, *writer, *n, len);

    return memcmp(p, want, len) == 0;
}


/* the length of record n: every alignment, now and then a big one */
static size_t
rec_len(uint32_t n, size_t max)
{
    size_t  len;

    len = (n * 2654435761u) % 2000;

    if (n % 97 == 0) {
        len = max - (n % 13);
    }

    return len < max ? len : max;
}


static void
test_sizes(void)
{
    is_int(vpnws_ring_size(0), VPNWS_RING_MIN, "size: 4 MiB at least");
    is_int(vpnws_ring_size(65704), VPNWS_RING_MIN,
           "size: 4 MiB hold two 64 KiB super-frames");
    is_int(vpnws_ring_size(1048576 + 50), VPNWS_RING_MIN,
           "size: 4 MiB hold two of 1 MiB");
    is_int(vpnws_ring_size(3 * 1048576), 8 * 1048576,
           "size: two of 3 MiB need 8 MiB");
    is_int(vpnws_ring_size((size_t) -1), 0, "size: too big is 0");
    is_int(vpnws_ring_span(SMALL), SMALL + sizeof(vpnws_ring_t),
           "span: header and data");
    is_int(sizeof(vpnws_ring_t), 3 * VPNWS_RING_LINE,
           "header: three cache lines");
}


/* one writer, one reader, in turn: order and bytes through many wraps */
static void
test_order(void)
{
    int                ok_all, rc;
    size_t             len, got, max;
    uint8_t            buf[SMALL];
    uint32_t           n, w, m, next;
    uint64_t           dead;
    vpnws_ring_t      *r;
    vpnws_ring_rec_t   rec;

    r = ring_new(SMALL);
    max = SMALL / 4 - 16;
    ok_all = 1;
    got = 0;
    next = 0;

    for (n = 0; n < 5000 && ok_all; n++) {
        len = rec_make(buf, 1, n, (n * 37) % max + 1);

        if (vpnws_ring_lock(r, 100, &dead) != VPNWS_RING_OK) {
            ok_all = 0;
            break;
        }

        rc = vpnws_ring_put(r, SMALL, buf, 4, buf + 4, len - 4);
        vpnws_ring_unlock(r);

        if (rc != VPNWS_RING_OK) {
            ok_all = 0;
            break;
        }

        /* read every other turn: the ring holds one to three */
        while (n % 2 == 1
               && vpnws_ring_get(r, SMALL, &rec) == VPNWS_RING_OK)
        {
            if (!rec_check(rec.data, rec.len, &w, &m) || m != next++) {
                ok_all = 0;
            }

            vpnws_ring_done(r, &rec);
            got++;
        }
    }

    while (vpnws_ring_get(r, SMALL, &rec) == VPNWS_RING_OK) {
        if (!rec_check(rec.data, rec.len, &w, &m) || m != next++) {
            ok_all = 0;
        }

        vpnws_ring_done(r, &rec);
        got++;
    }

    ok(ok_all, "order: each record byte-exact, in order");
    is_int(got, 5000, "order: all 5000 read");
    ok(r->tail > 100 * SMALL, "order: the ring wrapped %llu times",
       (unsigned long long) (r->tail / SMALL));
    is_int(r->head, r->tail, "order: nothing left");
    is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_EMPTY,
           "order: then empty");

    ring_free(r, SMALL);
}


static int
put(vpnws_ring_t *r, size_t len)
{
    uint8_t  buf[SMALL];

    memset(buf, 0x5a, len);

    return vpnws_ring_put(r, SMALL, buf, len, NULL, 0);
}


static void
test_full(void)
{
    int                n;
    vpnws_ring_t      *r;
    vpnws_ring_rec_t   rec;

    r = ring_new(SMALL);

    is_int(put(r, SMALL / 2 + 1), VPNWS_RING_FULL,
           "full: a record over half the ring is refused");
    is_int(put(r, SMALL / 2), VPNWS_RING_OK, "full: half the ring fits");

    for (n = 0; put(r, 100) == VPNWS_RING_OK; n++) {
        /* void */
    }

    is_int(n, (SMALL / 2 - 8) / 112, "full: then %d of 100 bytes", n);
    is_int(r->tail - r->head <= SMALL, 1, "full: never more than the ring");

    is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_OK, "full: read one");
    is_int(rec.len, SMALL / 2, "full: the big one first");
    vpnws_ring_done(r, &rec);

    is_int(put(r, 100), VPNWS_RING_OK, "full: its room is free again");

    /* a record that does not fit before the end goes behind a pad */
    while (vpnws_ring_get(r, SMALL, &rec) == VPNWS_RING_OK) {
        vpnws_ring_done(r, &rec);
    }

    while ((r->tail & (SMALL - 1)) <= SMALL / 2) {
        (void) put(r, 1000);
        (void) vpnws_ring_get(r, SMALL, &rec);
        vpnws_ring_done(r, &rec);
    }

    is_int(put(r, SMALL / 2), VPNWS_RING_OK, "wrap: a big one after a pad");
    ok((r->tail & (SMALL - 1)) == SMALL / 2 + 8, "wrap: it starts at 0");
    is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_OK, "wrap: read");
    is_int(rec.len, SMALL / 2, "wrap: whole");
    ok(rec.data == (uint8_t *) (r + 1) + 8, "wrap: at the start of the data");
    vpnws_ring_done(r, &rec);

    ring_free(r, SMALL);
}


/* records a writer broke: dropped, the ring usable again */
static void
test_bad(void)
{
    int                i;
    uint8_t           *data;
    uint32_t           v;
    vpnws_ring_t      *r;
    vpnws_ring_rec_t   rec;

    static const struct {
        size_t       off;
        uint32_t     value;
        const char  *what;
    } cases[] = {
        { 0, 0xffff0, "a length past the end" },
        { 0, 200, "a length past the tail" },
        { 4, 0x41, "an unknown type" },
        { 4, 0x50, "a pad that does not reach the end" },
    };

    r = ring_new(SMALL);
    data = (uint8_t *) (r + 1);

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        (void) put(r, 100);
        (void) put(r, 50);

        /* the first record's header: length, type */
        v = cases[i].value;
        memcpy(data + (r->head & (SMALL - 1)) + cases[i].off, &v, 4);

        is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_BAD,
               "bad: %s", cases[i].what);
        is_int(rec.len, 176, "bad: %s: both records dropped",
               cases[i].what);
        is_int(r->head, r->tail, "bad: %s: nothing left", cases[i].what);

        (void) put(r, 10);
        ok(vpnws_ring_get(r, SMALL, &rec) == VPNWS_RING_OK && rec.len == 10,
           "bad: %s: the next record is read", cases[i].what);
        vpnws_ring_done(r, &rec);
    }

    /* a head that is not a record's: the reader does not trust it */
    r->head += 4;
    r->tail = r->head + 16;
    is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_BAD,
           "bad: a head off the 8-byte grid");

    r->tail = r->head + SMALL + 8;
    is_int(vpnws_ring_get(r, SMALL, &rec), VPNWS_RING_BAD,
           "bad: more than the ring between head and tail");

    ring_free(r, SMALL);
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
test_lock(void)
{
    int            st;
    pid_t          pid;
    double         t0;
    uint64_t       dead;
    vpnws_ring_t  *r;

    r = ring_new(SMALL);

    is_int(vpnws_ring_lock(r, getpid(), &dead), VPNWS_RING_OK, "lock: had");
    is_int(r->lock, getpid(), "lock: it holds our pid");

    t0 = now();
    is_int(vpnws_ring_lock(r, 1, &dead), VPNWS_RING_BUSY,
           "lock: held by a live process: busy");
    ok(now() - t0 < 1.0, "lock: busy after %.1f ms, not a hang",
       (now() - t0) * 1000);

    vpnws_ring_unlock(r);
    is_int(r->lock, 0, "unlock: free");

    /* a writer that dies holding it */
    pid = fork();

    if (pid == 0) {
        _exit(vpnws_ring_lock(r, getpid(), &dead) == VPNWS_RING_OK ? 0 : 1);
    }

    ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)
       && WEXITSTATUS(st) == 0, "lock: a child took it and exited");
    is_int(r->lock, pid, "lock: the dead child's pid is in it");

    dead = 0;
    is_int(vpnws_ring_lock(r, getpid(), &dead), VPNWS_RING_TAKEN,
           "lock: taken over from the dead");
    is_int(dead, pid, "lock: and it says from whom");
    is_int(r->lock, getpid(), "lock: ours now");
    vpnws_ring_unlock(r);

    /* a live holder that never lets go: busy, every time */
    pid = fork();

    if (pid == 0) {
        (void) vpnws_ring_lock(r, getpid(), &dead);
        pause();
        _exit(0);
    }

    for (st = 0; st < 200 && r->lock != (uint64_t) pid; st++) {
        usleep(5000);
    }

    is_int(vpnws_ring_lock(r, getpid(), &dead), VPNWS_RING_BUSY,
           "lock: a live holder keeps it");
    (void) kill(pid, SIGKILL);
    (void) waitpid(pid, &st, 0);

    is_int(vpnws_ring_lock(r, getpid(), &dead), VPNWS_RING_TAKEN,
           "lock: killed, it is taken over");
    vpnws_ring_unlock(r);

    ring_free(r, SMALL);
}


/* the doorbell handshake, in one process */
static void
test_wake(void)
{
    vpnws_ring_t      *r;
    vpnws_ring_rec_t   rec;

    r = ring_new(SMALL);

    is_int(vpnws_ring_wake(r), 1, "wake: a new ring's reader is woken");
    is_int(vpnws_ring_wake(r), 0, "wake: once");

    (void) put(r, 10);
    is_int(vpnws_ring_wait(r), 0, "wait: a record waits: do not sleep");
    is_int(vpnws_ring_wake(r), 1, "wake: the reader said it would wait");

    (void) vpnws_ring_get(r, SMALL, &rec);
    vpnws_ring_done(r, &rec);
    is_int(vpnws_ring_wait(r), 1, "wait: empty: sleep");
    is_int(vpnws_ring_wait(r), 1, "wait: again");
    is_int(vpnws_ring_wake(r), 1, "wake: then a writer wakes it");
    is_int(vpnws_ring_wake(r), 0, "wake: one doorbell for many writes");

    ring_free(r, SMALL);
}


/* writer process w: RECORDS records, retried while the ring is full */
static void
writer(vpnws_ring_t *r, size_t size, int bell, uint32_t w)
{
    int       rc;
    size_t    len;
    uint8_t   buf[70000];
    uint32_t  n;
    uint64_t  dead, one;

    one = 1;

    for (n = 0; n < RECORDS; n++) {
        len = rec_make(buf, w, n, rec_len(n * WRITERS + w, 65704));

        for ( ;; ) {
            rc = vpnws_ring_lock(r, getpid(), &dead);

            if (rc != VPNWS_RING_BUSY) {
                rc = vpnws_ring_put(r, size, buf, 12, buf + 12, len - 12);
                vpnws_ring_unlock(r);

                if (rc == VPNWS_RING_OK) {
                    break;
                }
            }

            (void) sched_yield();
        }

        /* as a worker does after each event: a batch of 1 to 8 */
        if ((n * 5 + w) % 8 == 0 || n == RECORDS - 1) {
            if (vpnws_ring_wake(r)
                && write(bell, &one, sizeof(one)) != sizeof(one))
            {
                _exit(3);
            }
        }
    }

    _exit(0);
}


/*
 * WRITERS processes write, this one reads and sleeps in poll() on an
 * eventfd whenever vpnws_ring_wait() lets it: a lost wakeup times out.
 */
static void
test_processes(void)
{
    int                bell, st, i, ok_all, exited, stalls;
    pid_t              pids[WRITERS];
    size_t             size, got;
    double             t0;
    uint32_t           w, n, next[WRITERS];
    uint64_t           v;
    vpnws_ring_t      *r;
    struct pollfd      pfd;
    vpnws_ring_rec_t   rec;

    size = vpnws_ring_size(65704);
    r = ring_new(size);
    bell = eventfd(0, EFD_NONBLOCK);
    ok(bell != -1, "processes: eventfd");

    for (i = 0; i < WRITERS; i++) {
        next[i] = 0;
        pids[i] = fork();

        if (pids[i] == 0) {
            writer(r, size, bell, i);
        }
    }

    ok_all = 1;
    got = 0;
    exited = 0;
    stalls = 0;
    t0 = now();

    while (got < (size_t) WRITERS * RECORDS && now() - t0 < 60) {

        while (vpnws_ring_get(r, size, &rec) == VPNWS_RING_OK) {

            if (!rec_check(rec.data, rec.len, &w, &n) || w >= WRITERS
                || n != next[w])
            {
                if (ok_all) {
                    diag("record %zu: writer %u, %u, %zu bytes", got, w, n,
                         rec.len);
                }

                ok_all = 0;

            } else {
                next[w]++;
            }

            vpnws_ring_done(r, &rec);
            got++;
        }

        if (got == (size_t) WRITERS * RECORDS || !vpnws_ring_wait(r)) {
            continue;
        }

        pfd.fd = bell;
        pfd.events = POLLIN;

        if (poll(&pfd, 1, 2000) == 0 && r->tail != r->head) {
            /* nothing rang for 2 s, and records wait: a lost wakeup */
            stalls++;
            diag("no doorbell for 2 s with %llu bytes in the ring",
                 (unsigned long long) (r->tail - r->head));
        }

        (void) read(bell, &v, sizeof(v));
    }

    for (i = 0; i < WRITERS; i++) {
        if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st)
            && WEXITSTATUS(st) == 0)
        {
            exited++;
        }
    }

    is_int(exited, WRITERS, "processes: %d writers done", WRITERS);
    is_int(got, WRITERS * RECORDS, "processes: every record read");
    ok(ok_all, "processes: byte-exact, each writer's in order");
    is_int(stalls, 0, "processes: never a lost wakeup");
    diag("%d x %d records, %.2f s, the ring wrapped %llu times", WRITERS,
         RECORDS, now() - t0, (unsigned long long) (r->tail / size));

    (void) close(bell);
    ring_free(r, size);
}


int
main(void)
{
    test_sizes();
    test_order();
    test_full();
    test_bad();
    test_lock();
    test_wake();
    test_processes();

    return done_testing();
}
