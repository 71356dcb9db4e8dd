/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the uwsgi request packet.
 */


#include <string.h>

#include "vpnws_uwsgi.h"


#define vpnws_uwsgi_le16(p)  ((uint16_t) ((p)[0] | (p)[1] << 8))

#define vpnws_uwsgi_fail(e)                                                   \
    do { pk->error = (e); return VPNWS_UWSGI_ERROR; } while (0)


int
vpnws_uwsgi_parse(vpnws_uwsgi_packet_t *pk, const uint8_t *buf, size_t n,
    size_t max)
{
    size_t              pos, end;
    uint16_t            klen, vlen;
    vpnws_uwsgi_var_t  *v;

    pk->nvars = 0;
    pk->error = NULL;

    if (n < VPNWS_UWSGI_HLEN) {
        return VPNWS_UWSGI_AGAIN;
    }

    pk->modifier1 = buf[0];
    pk->size = vpnws_uwsgi_le16(buf + 1);
    pk->modifier2 = buf[3];
    pk->len = VPNWS_UWSGI_HLEN + (size_t) pk->size;

    if (pk->len > max) {
        vpnws_uwsgi_fail("packet too big");
    }

    if (n < pk->len) {
        return VPNWS_UWSGI_AGAIN;
    }

    pos = VPNWS_UWSGI_HLEN;
    end = pk->len;

    while (pos < end) {

        if (end - pos < 2) {
            vpnws_uwsgi_fail("truncated key length");
        }

        klen = vpnws_uwsgi_le16(buf + pos);
        pos += 2;

        if (klen == 0) {
            vpnws_uwsgi_fail("empty variable name");
        }

        if (klen > end - pos) {
            vpnws_uwsgi_fail("key length past the end of the packet");
        }

        if (end - pos - klen < 2) {
            vpnws_uwsgi_fail("truncated value length");
        }

        vlen = vpnws_uwsgi_le16(buf + pos + klen);

        if (vlen > end - pos - klen - 2) {
            vpnws_uwsgi_fail("value length past the end of the packet");
        }

        if (pk->nvars == VPNWS_UWSGI_MAX_VARS) {
            vpnws_uwsgi_fail("too many variables");
        }

        v = &pk->vars[pk->nvars++];
        v->key = buf + pos;
        v->key_len = klen;
        v->value = buf + pos + klen + 2;
        v->value_len = vlen;

        pos += (size_t) klen + 2 + vlen;
    }

    return VPNWS_UWSGI_OK;
}


const vpnws_uwsgi_var_t *
vpnws_uwsgi_get(const vpnws_uwsgi_packet_t *pk, const char *name)
{
    size_t    len;
    uint32_t  i;

    len = strlen(name);

    for (i = 0; i < pk->nvars; i++) {
        if (pk->vars[i].key_len == len
            && memcmp(pk->vars[i].key, name, len) == 0)
        {
            return &pk->vars[i];
        }
    }

    return NULL;
}
