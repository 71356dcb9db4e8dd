/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_ws_parse_header() on any bytes with any max_payload.
 * Input: 1 byte selects max_payload (0: no limit, else 4 more bytes give
 * it), the rest is the header.
 */


#include "fuzz.h"
#include "vpnws_ws.h"


static void
check_frame(const uint8_t *p, size_t n, uint64_t max,
    const vpnws_ws_frame_t *f)
{
    size_t    k, need;
    uint64_t  len7;

    len7 = p[1] & 0x7f;
    need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (f->masked ? 4 : 0);

    fuzz_assert(f->hlen == need && f->hlen <= n);
    fuzz_assert(f->hlen <= VPNWS_WS_MAX_HLEN);
    fuzz_assert(f->len <= max);
    fuzz_assert((p[0] & 0x70) == 0);
    fuzz_assert(f->fin == p[0] >> 7 && f->opcode == (p[0] & 0x0f));
    fuzz_assert(f->masked == p[1] >> 7);
    fuzz_assert(f->opcode <= 2 || (f->opcode >= 8 && f->opcode <= 10));

    if (f->opcode & 8) {
        fuzz_assert(f->fin && f->len <= VPNWS_WS_MAX_CONTROL);
    }

    if (f->masked) {
        fuzz_assert(memcmp(f->mask, p + f->hlen - 4, 4) == 0);
    }

    if (len7 < 126) {
        fuzz_assert(f->len == len7);

    } else {
        fuzz_assert(f->len < 0x8000000000000000ULL);
    }

    /* one byte less is never a header */
    for (k = 0; k < f->hlen; k++) {
        vpnws_ws_frame_t  g;
        uint16_t          code = 0;
        const char       *error = NULL;
        int               rc;

        rc = vpnws_ws_parse_header(p, k, max, &g, &code, &error);
        fuzz_assert(rc == VPNWS_WS_AGAIN);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                rc, rc2;
    uint8_t           *p;
    uint16_t           code, code2;
    uint64_t           max;
    fuzz_in_t          in;
    const char        *error, *error2;
    vpnws_ws_frame_t   f, f2;

    in.p = data;
    in.n = size;

    max = fuzz_u8(&in) ? fuzz_u32(&in) : UINT64_MAX;

    /* an exact copy: reads past the end are caught */
    p = malloc(in.n ? in.n : 1);
    memcpy(p, in.p, in.n);

    code = 0;
    error = NULL;
    rc = vpnws_ws_parse_header(p, in.n, max, &f, &code, &error);

    switch (rc) {

    case VPNWS_WS_OK:
        check_frame(p, in.n, max, &f);

        /* more bytes change nothing */
        rc2 = vpnws_ws_parse_header(p, f.hlen, max, &f2, &code2, &error2);
        fuzz_assert(rc2 == VPNWS_WS_OK && f2.len == f.len
                    && f2.hlen == f.hlen);
        break;

    case VPNWS_WS_AGAIN:
        fuzz_assert(in.n < VPNWS_WS_MAX_HLEN);
        break;

    case VPNWS_WS_ERROR:
        fuzz_assert(error != NULL);
        fuzz_assert(code == VPNWS_WS_CLOSE_PROTOCOL
                    || code == VPNWS_WS_CLOSE_TOO_BIG);
        fuzz_assert(in.n >= 2);
        break;

    default:
        fuzz_assert(0);
    }

    free(p);

    return 0;
}
