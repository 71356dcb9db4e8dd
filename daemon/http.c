/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: front ends that speak HTTP/1.1 to the socket instead of uwsgi
 * (Apache's mod_proxy_http with upgrade=websocket: Apache's mod_proxy_uwsgi
 * cannot carry a websocket).  The request head becomes the uwsgi packet
 * that the rest of the daemon reads; --trust-header says which headers the
 * front end sets stand for REMOTE_USER, HTTPS_DN and the like.
 */


#include <stdlib.h>
#include <string.h>

#include "vpnwsd.h"
#include "vpnws_http.h"


static uint8_t  vpnwsd_http_packet[VPNWSD_UWSGI_MAX];


/* a malformed head: a client's fault, logged as the upgrade rules do */
static int
vpnwsd_http_refuse(vpnwsd_conn_t *c, int status, const char *reason)
{
    vpnwsd_log(VPNWSD_LOG_INFO, "refused HTTP request: %s", reason);
    vpnwsd_respond_status(c, status, status == 431
                                     ? "431 Request Header Fields Too Large"
                                     : "400 Bad Request", reason);

    return -1;
}


/* does the connection start like an HTTP request (a method's letter)? */
int
vpnwsd_http_is(vpnwsd_conn_t *c)
{
    return c->req_len > 0 && c->req[0] >= 'A' && c->req[0] <= 'Z';
}


/*
 * 1: c->req holds the uwsgi packet now (and the bytes after the head),
 * 0: the head is not complete, -1: refused (an error response is on its
 * way, or c is freed).
 */
int
vpnwsd_http_request(vpnwsd_conn_t *c)
{
    int                   rc;
    size_t                rest;
    uint8_t              *p;
    vpnws_http_result_t   res;

    rc = vpnws_http_to_uwsgi(c->req, c->req_len, vpnwsd_http_packet,
                             sizeof(vpnwsd_http_packet), vpnwsd.trust,
                             vpnwsd.ntrust, &res);

    if (rc == VPNWS_HTTP_AGAIN) {
        if (c->req_len < VPNWSD_UWSGI_MAX) {
            return 0;
        }

        return vpnwsd_http_refuse(c, 431, "request head too large");
    }

    if (rc == VPNWS_HTTP_ERROR) {
        return vpnwsd_http_refuse(c, res.status, res.error);
    }

    /* the first websocket frames may have come with the head */
    rest = c->req_len - res.head_len;

    p = malloc(res.len + rest + 1);
    if (p == NULL) {
        vpnwsd_log(VPNWSD_LOG_ERR, "no memory for a request");
        vpnwsd_conn_free(c);
        return -1;
    }

    memcpy(p, vpnwsd_http_packet, res.len);
    memcpy(p + res.len, c->req + res.head_len, rest);

    free(c->req);
    c->req = p;
    c->req_len = res.len + rest;

    return 1;
}


/* --trust-header VAR=Header */
int
vpnwsd_http_trust(const char *arg)
{
    char               *var;
    const char         *eq;
    vpnws_http_map_t   *m;

    if (vpnwsd.ntrust == VPNWSD_TRUST_MAX) {
        return -1;
    }

    eq = strchr(arg, '=');

    if (eq == NULL || vpnws_http_map_header_valid(eq + 1) != 0) {
        return -1;
    }

    var = strndup(arg, (size_t) (eq - arg));

    if (var == NULL || vpnws_http_map_var_valid(var) != 0) {
        free(var);
        return -1;
    }

    m = &vpnwsd.trust[vpnwsd.ntrust++];
    m->var = var;
    m->header = eq + 1;

    return 0;
}
