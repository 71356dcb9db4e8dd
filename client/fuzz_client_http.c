/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: vpn-ws-client HTTP response parsing (status line, headers).
 */


#include <stdlib.h>
#include <string.h>

#include "vpnws_client.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            status;
    char           line[256];
    size_t         len;
    uint8_t       *buf;
    const char    *v;

    /* as vpnws_http_read_header() leaves it: NUL-terminated */
    buf = malloc(size + 1);

    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);
    buf[size] = '\0';

    status = vpnws_http_status(buf, size, line, sizeof(line));

    if (status != -1 && (status < 100 || status > 599)) {
        abort();
    }

    v = vpnws_http_header(buf, size, "Sec-WebSocket-Accept", &len);

    if (v && ((const uint8_t *) v < buf
              || (const uint8_t *) v + len > buf + size))
    {
        abort();
    }

    (void) vpnws_http_header(buf, size, "Upgrade", &len);

    free(buf);

    return 0;
}
