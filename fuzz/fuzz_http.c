/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_http_to_uwsgi() on any bytes into an output buffer of
 * any size.  Input: 2 bytes of output size (0: VPNWS_UWSGI_MAX), then the
 * request head.  What it writes must parse as a uwsgi packet.
 */


#include "fuzz.h"
#include "vpnws_http.h"
#include "vpnws_uwsgi.h"


static const vpnws_http_map_t  map[] = {
    { "REMOTE_USER", "X-Remote-User" },
    { "HTTPS_DN", "X-DN" },
};

static uint8_t               out[VPNWS_UWSGI_MAX + 16];
static vpnws_uwsgi_packet_t  pk;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                max;
    uint8_t              *buf;
    fuzz_in_t             in;
    vpnws_http_result_t   res;

    in.p = data;
    in.n = size;

    max = fuzz_u16(&in);

    if (max == 0 || max > VPNWS_UWSGI_MAX) {
        max = VPNWS_UWSGI_MAX;
    }

    buf = malloc(in.n ? in.n : 1);
    memcpy(buf, in.p, in.n);
    memset(out, 0xee, sizeof(out));

    rc = vpnws_http_to_uwsgi(buf, in.n, out, max, map, 2, &res);

    switch (rc) {

    case VPNWS_HTTP_OK:
        fuzz_assert(res.error == NULL);
        fuzz_assert(res.head_len >= 4 && res.head_len <= in.n);
        fuzz_assert(memcmp(buf + res.head_len - 4, "\r\n\r\n", 4) == 0);
        fuzz_assert(res.len >= VPNWS_UWSGI_HLEN && res.len <= max);
        fuzz_assert(vpnws_uwsgi_parse(&pk, out, res.len, VPNWS_UWSGI_MAX)
                    == VPNWS_UWSGI_OK);
        fuzz_assert(pk.len == res.len && pk.modifier1 == 0);
        fuzz_assert(vpnws_uwsgi_get(&pk, "REQUEST_METHOD") != NULL);
        break;

    case VPNWS_HTTP_AGAIN:
        fuzz_assert(in.n < 4 || memmem(buf, in.n, "\r\n\r\n", 4) == NULL);
        break;

    case VPNWS_HTTP_ERROR:
        fuzz_assert(res.error != NULL);
        fuzz_assert(res.status == 400 || res.status == 431);
        break;

    default:
        fuzz_assert(0);
    }

    fuzz_assert(out[max] == 0xee);

    free(buf);

    return 0;
}
