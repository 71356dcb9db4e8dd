/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a ring of records in memory shared by processes: many writers,
 * taking turns under a lock word that holds the writer's pid, one reader,
 * which reads the records in place.  The reader says when it waits
 * (vpnws_ring_wait()); a writer then learns that it must wake it
 * (vpnws_ring_wake()), by whatever doorbell the host has.  Nothing blocks:
 * a full ring refuses the record.
 *
 * Layout: vpnws_ring_t, then `size` bytes of data (a power of two).  Each
 * record is an 8-byte header (its length, a type) and its bytes, 8-byte
 * aligned; a record never wraps: the rest of the ring is skipped, behind
 * a pad record (a header always fits: the data size is a multiple of 8).
 */

#ifndef _VPNWS_RING_H_INCLUDED_
#define _VPNWS_RING_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_RING_MIN      (4 * 1024 * 1024)   /* data bytes, at least */
#define VPNWS_RING_LINE     64

#define VPNWS_RING_OK       0
#define VPNWS_RING_EMPTY    1       /* vpnws_ring_get(): nothing to read */
#define VPNWS_RING_BAD      2       /* vpnws_ring_get(): a broken record */
#define VPNWS_RING_TAKEN    1       /* vpnws_ring_lock(): from a dead pid */
#define VPNWS_RING_BUSY     -1      /* vpnws_ring_lock(): not had */
#define VPNWS_RING_FULL     -1      /* vpnws_ring_put(): no room */


/* three cache lines: the reader's, the writers', the doorbell's */
typedef struct {
    uint64_t        head;           /* the reader's next record */
    uint8_t         pad1[VPNWS_RING_LINE - 8];
    uint64_t        tail;           /* after the last, under lock */
    uint64_t        lock;           /* 0, or the writing pid */
    uint8_t         pad2[VPNWS_RING_LINE - 16];
    uint64_t        idle;           /* 1: the reader waits to be woken */
    uint8_t         pad3[VPNWS_RING_LINE - 8];
} vpnws_ring_t;


/* a record read: data[0..len), in the ring until vpnws_ring_done() */
typedef struct {
    uint8_t        *data;
    size_t          len;
    uint64_t        end;            /* head after it */
} vpnws_ring_rec_t;


/* the data size for records of up to max bytes (two fit): 0 if too big */
size_t vpnws_ring_size(size_t max);
/* the ring's whole length, its header included */
size_t vpnws_ring_span(size_t size);
void vpnws_ring_init(vpnws_ring_t *r);

/* writers: lock, put (any number), unlock, then wake */
int vpnws_ring_lock(vpnws_ring_t *r, uint64_t pid, uint64_t *dead);
int vpnws_ring_put(vpnws_ring_t *r, size_t size, const void *a, size_t alen,
    const void *b, size_t blen);
void vpnws_ring_unlock(vpnws_ring_t *r);
int vpnws_ring_wake(vpnws_ring_t *r);

/* the reader */
int vpnws_ring_get(vpnws_ring_t *r, size_t size, vpnws_ring_rec_t *rec);
void vpnws_ring_done(vpnws_ring_t *r, const vpnws_ring_rec_t *rec);
int vpnws_ring_wait(vpnws_ring_t *r);


#endif /* _VPNWS_RING_H_INCLUDED_ */
