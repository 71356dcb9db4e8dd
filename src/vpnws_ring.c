/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a ring of records in shared memory (see vpnws_ring.h).
 *
 * Positions (head, tail) only grow; a position's offset in the data is
 * position & (size - 1).  The writer publishes a record by storing the
 * tail after writing it (release), the reader frees it by storing the head
 * after reading it (release).  The doorbell is Dekker's: the writer stores
 * the tail, then reads idle; the reader stores idle, then reads the tail,
 * each with a full fence between, so at least one of them sees the other.
 */


#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "vpnws_ring.h"


#define VPNWS_RING_HLEN     8       /* a record's header: length, type */
#define VPNWS_RING_DATA     0x52    /* record types */
#define VPNWS_RING_PAD      0x50

#define VPNWS_RING_SPIN     1024    /* tries at a taken lock, */
#define VPNWS_RING_YIELD    128     /* then giving the CPU up */


#define vpnws_ring_align(n)  (((n) + 7) & ~(size_t) 7)


static void vpnws_ring_hdr(uint8_t *p, uint32_t len, uint32_t type);


static void
vpnws_ring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}


size_t
vpnws_ring_size(size_t max)
{
    size_t  need, size;

    if (max > SIZE_MAX / 8) {
        return 0;
    }

    need = vpnws_ring_align(VPNWS_RING_HLEN + max);

    for (size = VPNWS_RING_MIN; size < 2 * need; size *= 2) {
        /* void */
    }

    return size;
}


size_t
vpnws_ring_span(size_t size)
{
    return sizeof(vpnws_ring_t) + size;
}


void
vpnws_ring_init(vpnws_ring_t *r)
{
    memset(r, 0, sizeof(vpnws_ring_t));

    /* until its reader has looked, writers wake it */
    r->idle = 1;
}


/*
 * A writer copies its records under the lock, so a wait is short unless
 * the holder lost its CPU (then ours is given up, for it: more writers than
 * CPUs) or died.  A writer that died holding it (kill(pid, 0): ESRCH) left
 * the ring whole, as the tail moves only after a copy: its lock is taken
 * over, *dead says from whom.
 */
int
vpnws_ring_lock(vpnws_ring_t *r, uint64_t pid, uint64_t *dead)
{
    int       i;
    uint64_t  holder, none;

    for (i = 0; i < VPNWS_RING_SPIN + VPNWS_RING_YIELD; i++) {
        none = 0;

        if (__atomic_load_n(&r->lock, __ATOMIC_RELAXED) == 0
            && __atomic_compare_exchange_n(&r->lock, &none, pid, 0,
                                           __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED))
        {
            return VPNWS_RING_OK;
        }

        if (i < VPNWS_RING_SPIN) {
            vpnws_ring_relax();

        } else {
            (void) sched_yield();
        }
    }

    holder = __atomic_load_n(&r->lock, __ATOMIC_RELAXED);

    if (holder != 0
        && (kill((pid_t) holder, 0) == 0 || errno != ESRCH))
    {
        return VPNWS_RING_BUSY;
    }

    if (!__atomic_compare_exchange_n(&r->lock, &holder, pid, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    {
        return VPNWS_RING_BUSY;
    }

    if (holder == 0) {
        /* let go just now */
        return VPNWS_RING_OK;
    }

    *dead = holder;

    return VPNWS_RING_TAKEN;
}


void
vpnws_ring_unlock(vpnws_ring_t *r)
{
    __atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}


/* one record of a[0..alen) and b[0..blen), under the lock */
int
vpnws_ring_put(vpnws_ring_t *r, size_t size, const void *a, size_t alen,
    const void *b, size_t blen)
{
    size_t    need, off, rest, skip;
    uint8_t  *data, *p;
    uint64_t  head, tail;

    if (alen + blen > size / 2) {
        return VPNWS_RING_FULL;
    }

    data = (uint8_t *) (r + 1);
    need = vpnws_ring_align(VPNWS_RING_HLEN + alen + blen);

    /* a broken writer's tail off the 8-byte grid is put back on it */
    tail = vpnws_ring_align(r->tail);
    head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

    off = tail & (size - 1);
    rest = size - off;
    skip = (rest < need) ? rest : 0;

    if (tail + skip + need - head > size) {
        return VPNWS_RING_FULL;
    }

    if (skip) {
        /* records are 8-byte aligned: a header always fits */
        vpnws_ring_hdr(data + off, (uint32_t) (skip - VPNWS_RING_HLEN),
                       VPNWS_RING_PAD);
    }

    p = data + ((tail + skip) & (size - 1));

    vpnws_ring_hdr(p, (uint32_t) (alen + blen), VPNWS_RING_DATA);
    p += VPNWS_RING_HLEN;

    if (alen) {
        memcpy(p, a, alen);
    }

    if (blen) {
        memcpy(p + alen, b, blen);
    }

    __atomic_store_n(&r->tail, tail + skip + need, __ATOMIC_RELEASE);

    return VPNWS_RING_OK;
}


static void
vpnws_ring_hdr(uint8_t *p, uint32_t len, uint32_t type)
{
    memcpy(p, &len, 4);
    memcpy(p + 4, &type, 4);
}


/* after the records: 1 if the reader waits to be woken (once: it is now) */
int
vpnws_ring_wake(vpnws_ring_t *r)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    return __atomic_load_n(&r->idle, __ATOMIC_RELAXED)
           && __atomic_exchange_n(&r->idle, 0, __ATOMIC_SEQ_CST) == 1;
}


/*
 * The next record, in place; VPNWS_RING_BAD: a record that does not fit
 * what was written (a writer broke the ring): everything written is
 * dropped, rec->len says how much.
 */
int
vpnws_ring_get(vpnws_ring_t *r, size_t size, vpnws_ring_rec_t *rec)
{
    size_t    off, rest, need;
    uint8_t  *data;
    uint32_t  len, type;
    uint64_t  pos, tail;

    data = (uint8_t *) (r + 1);
    pos = r->head;
    tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

    while (pos != tail) {

        off = pos & (size - 1);
        rest = size - off;

        if (tail - pos > size || (pos & 7)) {
            goto bad;
        }

        memcpy(&len, data + off, 4);
        memcpy(&type, data + off + 4, 4);

        if (type == VPNWS_RING_PAD) {

            if (len != rest - VPNWS_RING_HLEN || rest > tail - pos) {
                goto bad;
            }

            pos += rest;
            continue;
        }

        need = vpnws_ring_align(VPNWS_RING_HLEN + (size_t) len);

        if (type != VPNWS_RING_DATA || len > rest - VPNWS_RING_HLEN
            || need > tail - pos)
        {
            goto bad;
        }

        if (pos != r->head) {
            /* past the skipped end: its room is the writers' again */
            __atomic_store_n(&r->head, pos, __ATOMIC_RELEASE);
        }

        rec->data = data + off + VPNWS_RING_HLEN;
        rec->len = len;
        rec->end = pos + need;

        return VPNWS_RING_OK;
    }

    if (pos != r->head) {
        __atomic_store_n(&r->head, pos, __ATOMIC_RELEASE);
    }

    return VPNWS_RING_EMPTY;

bad:

    rec->data = NULL;
    rec->len = tail - r->head;
    rec->end = tail;

    __atomic_store_n(&r->head, tail, __ATOMIC_RELEASE);

    return VPNWS_RING_BAD;
}


/* the record is read: its room is the writers' again */
void
vpnws_ring_done(vpnws_ring_t *r, const vpnws_ring_rec_t *rec)
{
    __atomic_store_n(&r->head, rec->end, __ATOMIC_RELEASE);
}


/* the reader is about to wait: 1 if it may (nothing left to read) */
int
vpnws_ring_wait(vpnws_ring_t *r)
{
    __atomic_store_n(&r->idle, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == r->head;
}
