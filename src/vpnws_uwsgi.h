/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the uwsgi request packet (no I/O, no allocation).
 *
 * A packet is a 4-byte header (modifier1, datasize as little-endian 16
 * bits, modifier2) and datasize bytes of variables, each a little-endian
 * 16-bit key length, the key, a 16-bit value length and the value.  The
 * parsed variables point into the caller's buffer.
 */

#ifndef _VPNWS_UWSGI_H_INCLUDED_
#define _VPNWS_UWSGI_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_UWSGI_HLEN        4
#define VPNWS_UWSGI_MAX_VARS    128
#define VPNWS_UWSGI_MAX         (VPNWS_UWSGI_HLEN + 65535)

#define VPNWS_UWSGI_OK          1
#define VPNWS_UWSGI_AGAIN       0
#define VPNWS_UWSGI_ERROR       -1


typedef struct {
    const uint8_t      *key;
    const uint8_t      *value;
    uint16_t            key_len;
    uint16_t            value_len;
} vpnws_uwsgi_var_t;


typedef struct {
    uint8_t             modifier1;
    uint8_t             modifier2;
    uint16_t            size;           /* datasize: bytes of variables */
    size_t              len;            /* the whole packet, header too */
    uint32_t            nvars;
    const char         *error;          /* static text after an error */
    vpnws_uwsgi_var_t   vars[VPNWS_UWSGI_MAX_VARS];
} vpnws_uwsgi_packet_t;


/*
 * Parse the packet at buf[0..n), n counting every byte received so far
 * (bytes after the packet are left alone).  VPNWS_UWSGI_AGAIN: the packet
 * is not complete yet; VPNWS_UWSGI_OK: pk is filled and pk->len says where
 * the packet ends; VPNWS_UWSGI_ERROR: pk->error says why.  A packet longer
 * than max bytes (header included) fails as soon as its header is in.
 */
int vpnws_uwsgi_parse(vpnws_uwsgi_packet_t *pk, const uint8_t *buf, size_t n,
    size_t max);

/* the variable called name (NUL-terminated, exact case), or NULL */
const vpnws_uwsgi_var_t *vpnws_uwsgi_get(const vpnws_uwsgi_packet_t *pk,
    const char *name);


#endif /* _VPNWS_UWSGI_H_INCLUDED_ */
