/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the socket of the port layer's harnesses (t/unit/test_port.c,
 * fuzz/fuzz_port.c): a buffer that takes what its room allows now.
 */

#ifndef _VPNWS_PORT_WIRE_H_INCLUDED_
#define _VPNWS_PORT_WIRE_H_INCLUDED_


#include <stdint.h>
#include <string.h>
#include <sys/types.h>


typedef struct {
    uint8_t        *buf;
    size_t          len;
    size_t          room;       /* bytes the socket takes now */
    int             fail;       /* the send hook fails */
} port_wire_t;


/* a port's send hook on w: bytes taken, 0 when full, -1 when failing */
static inline ssize_t
port_wire_send(port_wire_t *w, const uint8_t *buf, size_t len)
{
    if (w->fail) {
        return -1;
    }

    if (len > w->room) {
        len = w->room;
    }

    memcpy(w->buf + w->len, buf, len);
    w->len += len;
    w->room -= len;

    return (ssize_t) len;
}


#endif /* _VPNWS_PORT_WIRE_H_INCLUDED_ */
