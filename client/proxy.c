/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: tunnel through an HTTP proxy with CONNECT (RFC 9110 9.3.6).
 */


#include <stdio.h>
#include <string.h>

#include "vpnws_client.h"


int
vpnws_proxy_connect(vpnws_conn_t *c, vpnws_conf_t *conf, int64_t deadline,
    char *err, size_t errlen)
{
    int           rc, status;
    char          req[1024], line[256];
    size_t        len, hlen, total;
    uint8_t       resp[VPNWS_HTTP_MAX];
    vpnws_url_t  *u;

    u = &conf->url;

    /* the target always with its port: "host:443", "[::1]:80" */
    len = snprintf(req, sizeof(req),
                   "CONNECT %s%s%s:%s HTTP/1.1\r\n"
                   "Host: %s%s%s:%s\r\n",
                   u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "", u->port,
                   u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "", u->port);

    if (conf->proxy.basic && len < sizeof(req)) {
        len += snprintf(req + len, sizeof(req) - len,
                        "Proxy-Authorization: Basic %s\r\n",
                        conf->proxy.basic);
    }

    if (len < sizeof(req)) {
        len += snprintf(req + len, sizeof(req) - len, "\r\n");
    }

    if (len >= sizeof(req)) {
        snprintf(err, errlen, "proxy request too long");
        return VPNWS_FAIL_HTTP;
    }

    rc = vpnws_conn_write_all(c, req, len, deadline, err, errlen);

    explicit_bzero(req, sizeof(req));

    if (rc != VPNWS_OK) {
        return rc;
    }

    rc = vpnws_http_read_header(c, resp, sizeof(resp), &hlen, &total,
                                deadline, err, errlen);

    if (rc != VPNWS_OK) {
        len = strlen(err);
        snprintf(err + len, errlen - len, " (proxy %s)",
                 conf->proxy.authority);
        return rc;
    }

    status = vpnws_http_status(resp, hlen, line, sizeof(line));

    if (status / 100 != 2) {
        snprintf(err, errlen, "proxy %s refused CONNECT: \"%s\"",
                 conf->proxy.authority, line);
        return VPNWS_RETRY;
    }

    if (total != hlen) {
        /* the server speaks first only after our TLS or HTTP request */
        snprintf(err, errlen, "proxy %s sent data after its answer",
                 conf->proxy.authority);
        return VPNWS_RETRY;
    }

    vpnws_log(VPNWS_LOG_DEBUG, "proxy %s: \"%s\"", conf->proxy.authority,
              line);

    return VPNWS_OK;
}
