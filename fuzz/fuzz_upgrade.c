/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: the upgrade rules on any request.  Input: a control byte
 * (bit 0: CGI variables, else headers), then records of a name and a
 * value, each a length byte and the bytes.  A name starting with '=' sets
 * the method; the rules must answer OK or a refusal from their table.
 */


#include "fuzz.h"
#include "vpnws_ws.h"
#include "vpnws_upgrade.h"


static size_t
fuzz_take(fuzz_in_t *in, const char **p)
{
    size_t  n;

    n = fuzz_u8(in);

    if (n > in->n) {
        n = in->n;
    }

    *p = (const char *) in->p;
    in->p += n;
    in->n -= n;

    return n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          cgi;
    size_t                       nlen, vlen;
    uint8_t                      mode;
    const char                  *name, *value;
    fuzz_in_t                    in;
    vpnws_refusal_t              rc;
    vpnws_upgrade_in_t           req;
    vpnws_upgrade_out_t          out;
    const vpnws_refusal_info_t  *ri;

    in.p = data;
    in.n = size;

    mode = fuzz_u8(&in);
    cgi = mode & 1;

    memset(&req, 0, sizeof(vpnws_upgrade_in_t));

    if (!cgi) {
        req.method.data = "GET";
        req.method.len = 3;
        req.method.count = 1;
        req.http_version = (mode & 2) ? 1001 : (unsigned) fuzz_u16(&in);
    }

    while (in.n) {
        nlen = fuzz_take(&in, &name);
        vlen = fuzz_take(&in, &value);

        if (cgi) {
            vpnws_upgrade_var(&req, name, nlen, value, vlen);

        } else {
            vpnws_upgrade_header(&req, name, nlen, value, vlen);
        }
    }

    rc = vpnws_upgrade_check(&req, &out);

    fuzz_assert((unsigned) rc < VPNWS_REFUSE_MAX);

    ri = vpnws_refusal_info(rc);
    fuzz_assert(ri->reason != NULL && ri->headers != NULL);

    if (rc == VPNWS_UPGRADE_OK) {
        fuzz_assert(req.upgrade_websocket && req.connection_upgrade);
        fuzz_assert(req.key.count == 1);
        fuzz_assert(vpnws_ws_key_valid(req.key.data, req.key.len) == 0);
        fuzz_assert(req.method.len == 3
                    && memcmp(req.method.data, "GET", 3) == 0);
        fuzz_assert(req.http_version == 0
                    || (req.http_version >= 1001 && req.http_version < 2000));
        fuzz_assert(!out.has_mac || (!vpnws_mac_is_zero(out.mac)
                                     && !vpnws_mac_is_group(out.mac)));
        fuzz_assert(req.transfer_encoding.count == 0);
    }

    return 0;
}
