/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: src/vpnws_ring.c driven by the input: records put and read
 * against a model (what is read is what was put, in order), bytes of the
 * ring overwritten and head or tail moved as a broken writer would; then the
 * reader must stay inside the ring, drop what it cannot trust, and be
 * consistent again once it is empty.
 */


#include "fuzz.h"
#include "vpnws_ring.h"


#define SIZE    256             /* the ring's data: small, to wrap often */
#define MODEL   64              /* records a 256-byte ring can hold */


typedef struct {
    size_t          len;
    uint8_t         fill;
} model_rec_t;


typedef struct {
    model_rec_t     recs[MODEL];
    size_t          first, n;
    int             broken;     /* the ring was written behind its back */
} model_t;


static void
reader(vpnws_ring_t *r, model_t *m)
{
    int                rc;
    size_t             i;
    uint8_t           *data;
    model_rec_t       *want;
    vpnws_ring_rec_t   rec;

    data = (uint8_t *) (r + 1);
    rc = vpnws_ring_get(r, SIZE, &rec);

    if (rc == VPNWS_RING_OK) {
        fuzz_assert(rec.data >= data && rec.len <= SIZE
                    && rec.data + rec.len <= data + SIZE);
        fuzz_assert(rec.end != r->head && rec.end - r->head <= SIZE);

        if (!m->broken) {
            fuzz_assert(m->n > 0);
            want = &m->recs[m->first];
            fuzz_assert(rec.len == want->len);

            for (i = 0; i < rec.len; i++) {
                fuzz_assert(rec.data[i] == want->fill);
            }

            m->first = (m->first + 1) % MODEL;
            m->n--;
        }

        vpnws_ring_done(r, &rec);

    } else if (rc == VPNWS_RING_EMPTY) {
        fuzz_assert(m->broken || m->n == 0);
        fuzz_assert(r->head == r->tail);

    } else {
        fuzz_assert(rc == VPNWS_RING_BAD);
        fuzz_assert(m->broken);
        fuzz_assert(r->head == r->tail);
    }

    if (r->head == r->tail && !(r->head & 7)) {
        /* empty, on the grid: what comes next is trusted again */
        m->broken = 0;
        m->n = 0;
    }
}


static void
writer(vpnws_ring_t *r, model_t *m, size_t len, uint8_t fill)
{
    uint64_t  tail;
    uint8_t   buf[SIZE];

    memset(buf, fill, len);
    tail = r->tail;

    if (vpnws_ring_put(r, SIZE, buf, len / 2, buf + len / 2, len - len / 2)
        != VPNWS_RING_OK)
    {
        fuzz_assert(r->tail == tail);
        return;
    }

    fuzz_assert(!(r->tail & 7));
    fuzz_assert(m->broken || (r->tail != tail && r->tail - tail <= SIZE
                              && r->tail - r->head <= SIZE));

    if (!m->broken) {
        fuzz_assert(m->n < MODEL);
        m->recs[(m->first + m->n) % MODEL].len = len;
        m->recs[(m->first + m->n) % MODEL].fill = fill;
        m->n++;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         i;
    uint8_t        op, a, b;
    model_t        m;
    vpnws_ring_t  *r;

    r = malloc(vpnws_ring_span(SIZE));
    vpnws_ring_init(r);
    memset(r + 1, 0, SIZE);
    memset(&m, 0, sizeof(model_t));

    /* any starting position: the 64-bit positions may be near a wrap */
    if (size >= 1) {
        r->head = r->tail = ((uint64_t) data[0] << 56) - 512
                            + (data[0] & 0x3f) * 8;
    }

    for (i = 1; i + 2 < size; i += 3) {
        op = data[i] % 5;
        a = data[i + 1];
        b = data[i + 2];

        switch (op) {

        case 0:
        case 1:
            writer(r, &m, a % (SIZE / 2 + 8), b);
            break;

        case 2:
            reader(r, &m);
            break;

        case 3:
            /* a broken writer: one byte of the data */
            ((uint8_t *) (r + 1))[a] = b;
            m.broken |= (r->head != r->tail);
            break;

        default:
            /* a broken writer: the tail moved, anywhere near */
            r->tail += (int8_t) a;
            m.broken = 1;
            break;
        }
    }

    /* the reader empties the ring, in bounded steps */
    for (i = 0; i < MODEL + 2 && r->head != r->tail; i++) {
        reader(r, &m);
    }

    fuzz_assert(r->head == r->tail);

    free(r);

    return 0;
}
