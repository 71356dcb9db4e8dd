/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: an HTTP/1.x request head as a uwsgi packet (no I/O, no
 * allocation), for the daemon behind front ends that speak HTTP to it:
 * Apache's mod_proxy_http with "upgrade=websocket", whose mod_proxy_uwsgi
 * cannot carry a websocket.
 *
 * The packet has what a uwsgi proxy sends: REQUEST_METHOD, REQUEST_URI,
 * PATH_INFO, QUERY_STRING, SERVER_PROTOCOL, CONTENT_LENGTH, CONTENT_TYPE
 * and HTTP_<NAME> for each other header (upper case, '-' as '_'; names
 * with '_' are dropped, as nginx and Apache do, so that no header can pass
 * for another).  Only the syntax is checked here: what may upgrade is
 * vpnws_upgrade_check()'s, as for every other host.  Variables a proxy sets
 * itself (REMOTE_USER, HTTPS_DN, ...) come only from headers the operator
 * maps: a map entry turns the header of that name into that variable, and
 * a mapped header that appears twice is an error.
 */

#ifndef _VPNWS_HTTP_H_INCLUDED_
#define _VPNWS_HTTP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_HTTP_OK           1
#define VPNWS_HTTP_AGAIN        0
#define VPNWS_HTTP_ERROR        -1


typedef struct {
    const char         *var;        /* "REMOTE_USER" */
    const char         *header;     /* "X-Remote-User", any case */
} vpnws_http_map_t;


typedef struct {
    size_t              head_len;   /* bytes of the head, blank line too */
    size_t              len;        /* bytes of the packet written */
    int                 status;     /* after an error: 400 or 431 */
    const char         *error;      /* after an error: static text */
} vpnws_http_result_t;


/*
 * Convert the request head at buf[0..n) (n: every byte received so far)
 * into a uwsgi packet with modifier1 0 at out[0..max).  VPNWS_HTTP_AGAIN:
 * no blank line yet; VPNWS_HTTP_OK: res->head_len and res->len are set;
 * VPNWS_HTTP_ERROR: res->status and res->error say why.
 */
int vpnws_http_to_uwsgi(const uint8_t *buf, size_t n, uint8_t *out,
    size_t max, const vpnws_http_map_t *map, size_t nmap,
    vpnws_http_result_t *res);

/* 0 if name may be the variable of a map entry, else -1 */
int vpnws_http_map_var_valid(const char *name);

/* 0 if name may be the header of a map entry (an HTTP token), else -1 */
int vpnws_http_map_header_valid(const char *name);


#endif /* _VPNWS_HTTP_H_INCLUDED_ */
