/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws fuzz targets: helpers shared by the libFuzzer harnesses.
 */

#ifndef _VPNWS_FUZZ_H_INCLUDED_
#define _VPNWS_FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* an invariant that does not hold: report and crash for libFuzzer */
#define fuzz_assert(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)


/*
 * The harness's own checking code: still under ASan and UBSan, but without
 * coverage feedback (its comparisons, run after every step, cost most of
 * the time and tell libFuzzer nothing about the code under test).
 */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_CHECKER  __attribute__((noinline, no_sanitize("coverage")))
#else
#define FUZZ_CHECKER
#endif


/* the input as a stream of control bytes; zeros once it runs out */
typedef struct {
    const uint8_t  *p;
    size_t          n;
} fuzz_in_t;


static inline uint8_t
fuzz_u8(fuzz_in_t *in)
{
    uint8_t  c;

    if (in->n == 0) {
        return 0;
    }

    c = *in->p++;
    in->n--;

    return c;
}


static inline uint16_t
fuzz_u16(fuzz_in_t *in)
{
    uint16_t  v;

    v = fuzz_u8(in);

    return (uint16_t) (v << 8 | fuzz_u8(in));
}


static inline uint32_t
fuzz_u32(fuzz_in_t *in)
{
    uint32_t  v;

    v = fuzz_u16(in);

    return v << 16 | fuzz_u16(in);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#endif /* _VPNWS_FUZZ_H_INCLUDED_ */
