/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpnws_uwsgi_parse() on any bytes with any max.  Input: 2
 * bytes of max (0: VPNWS_UWSGI_MAX), then the packet.
 */


#include "fuzz.h"
#include "vpnws_uwsgi.h"


static vpnws_uwsgi_packet_t  pk, pk2;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int         rc, rc2;
    char        name[64];
    size_t      max, sum, k;
    uint8_t    *buf;
    uint32_t    i;
    fuzz_in_t   in;
    const vpnws_uwsgi_var_t  *v;

    in.p = data;
    in.n = size;

    max = fuzz_u16(&in);

    if (max == 0) {
        max = VPNWS_UWSGI_MAX;
    }

    buf = malloc(in.n ? in.n : 1);
    memcpy(buf, in.p, in.n);

    rc = vpnws_uwsgi_parse(&pk, buf, in.n, max);

    switch (rc) {

    case VPNWS_UWSGI_OK:
        fuzz_assert(pk.error == NULL);
        fuzz_assert(pk.len == VPNWS_UWSGI_HLEN + (size_t) pk.size);
        fuzz_assert(pk.len <= in.n && pk.len <= max);
        fuzz_assert(pk.size == (buf[1] | buf[2] << 8));
        fuzz_assert(pk.nvars <= VPNWS_UWSGI_MAX_VARS);

        sum = 0;

        for (i = 0; i < pk.nvars; i++) {
            v = &pk.vars[i];
            fuzz_assert(v->key_len > 0);
            fuzz_assert(v->key >= buf + VPNWS_UWSGI_HLEN + sum + 2);
            fuzz_assert(v->key + v->key_len + 2 == v->value);
            fuzz_assert(v->value + v->value_len <= buf + pk.len);
            sum += 2 + (size_t) v->key_len + 2 + v->value_len;
        }

        /* the variables tile the packet exactly */
        fuzz_assert(sum == pk.size);

        /* get() finds the first variable of each name */
        for (i = 0; i < pk.nvars; i++) {
            v = &pk.vars[i];

            if (v->key_len >= sizeof(name)
                || memchr(v->key, 0, v->key_len) != NULL)
            {
                continue;
            }

            memcpy(name, v->key, v->key_len);
            name[v->key_len] = '\0';
            fuzz_assert(vpnws_uwsgi_get(&pk, name) <= v);
            fuzz_assert(vpnws_uwsgi_get(&pk, name) != NULL);
        }

        /* every prefix waits for more; the packet alone parses the same */
        for (k = 0; k < pk.len; k += 1 + k / 16) {
            fuzz_assert(vpnws_uwsgi_parse(&pk2, buf, k, max)
                        == VPNWS_UWSGI_AGAIN);
        }

        rc2 = vpnws_uwsgi_parse(&pk2, buf, pk.len, max);
        fuzz_assert(rc2 == VPNWS_UWSGI_OK && pk2.nvars == pk.nvars);
        break;

    case VPNWS_UWSGI_AGAIN:
        fuzz_assert(pk.nvars == 0);
        fuzz_assert(in.n < VPNWS_UWSGI_HLEN
                    || in.n < VPNWS_UWSGI_HLEN + (size_t) (buf[1]
                                                         | buf[2] << 8));
        break;

    case VPNWS_UWSGI_ERROR:
        fuzz_assert(pk.error != NULL);
        fuzz_assert(in.n >= VPNWS_UWSGI_HLEN);
        break;

    default:
        fuzz_assert(0);
    }

    free(buf);

    return 0;
}
