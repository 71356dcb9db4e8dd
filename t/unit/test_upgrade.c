/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_upgrade.c, the websocket upgrade rules both
 * hosts apply, and the table of refusals.
 */


#include <strings.h>

#include "tap.h"
#include "vpnws_ws.h"
#include "vpnws_upgrade.h"
#include "vpnws_vnet.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))

#define KEY  "dGhlIHNhbXBsZSBub25jZQ=="


/* a request: name/value pairs, NULL ends; "=" names set method/version */
typedef struct {
    const char         *what;
    vpnws_refusal_t     expect;
    const char         *h[24];
} upgrade_case_t;


#define VALID  "Upgrade", "websocket", "Connection", "Upgrade",             \
               "Sec-WebSocket-Key", KEY, "Sec-WebSocket-Version", "13"

static const upgrade_case_t  cases[] = {
    { "valid", VPNWS_UPGRADE_OK, { VALID, NULL } },
    { "valid, no version header", VPNWS_UPGRADE_OK,
      { "Upgrade", "websocket", "Connection", "Upgrade",
        "Sec-WebSocket-Key", KEY, NULL } },
    { "tokens in lists, any case", VPNWS_UPGRADE_OK,
      { "upgrade", "WebSocket, foo", "CONNECTION", "keep-alive ,\tUpgrade",
        "sec-websocket-key", KEY, NULL } },
    { "Connection over two lines", VPNWS_UPGRADE_OK,
      { "Upgrade", "websocket", "Connection", "keep-alive",
        "Connection", "upgrade", "Sec-WebSocket-Key", KEY, NULL } },
    { "MAC and bridge off", VPNWS_UPGRADE_OK,
      { VALID, "X-vpn-ws-MAC", "02:00:00:00:00:01", "X-vpn-ws-bridge",
        "OFF", NULL } },
    { "bridge on", VPNWS_UPGRADE_OK,
      { VALID, "X-vpn-ws-bridge", "on", NULL } },
    { "Content-Length: 0", VPNWS_UPGRADE_OK,
      { VALID, "Content-Length", "0", NULL } },
    { "unknown headers ignored", VPNWS_UPGRADE_OK,
      { VALID, "Host", "x", "X-vpn-ws-MACs", "junk", "Upgrade-Insecure",
        "1", NULL } },

    { "POST", VPNWS_REFUSE_METHOD, { "=method", "POST", VALID, NULL } },
    { "get (methods are case-sensitive)", VPNWS_REFUSE_METHOD,
      { "=method", "get", VALID, NULL } },
    { "no method", VPNWS_REFUSE_METHOD, { "=method", NULL, VALID, NULL } },
    { "HTTP/1.0", VPNWS_REFUSE_HTTP_VERSION,
      { "=version", "HTTP/1.0", VALID, NULL } },
    { "HTTP/2.0", VPNWS_REFUSE_HTTP_VERSION,
      { "=version", "HTTP/2.0", VALID, NULL } },
    { "HTTP/3", VPNWS_REFUSE_HTTP_VERSION,
      { "=version", "HTTP/3", VALID, NULL } },
    { "a garbage protocol", VPNWS_REFUSE_HTTP_VERSION,
      { "=version", "SPDY/3", VALID, NULL } },
    { "no Upgrade", VPNWS_REFUSE_NO_UPGRADE,
      { "Connection", "Upgrade", "Sec-WebSocket-Key", KEY, NULL } },
    { "Upgrade: h2c", VPNWS_REFUSE_NO_UPGRADE,
      { "Upgrade", "h2c", "Connection", "Upgrade", "Sec-WebSocket-Key",
        KEY, NULL } },
    { "Upgrade: websockets (a longer token)", VPNWS_REFUSE_NO_UPGRADE,
      { "Upgrade", "websockets", "Connection", "Upgrade",
        "Sec-WebSocket-Key", KEY, NULL } },
    { "no Connection", VPNWS_REFUSE_NO_CONNECTION,
      { "Upgrade", "websocket", "Sec-WebSocket-Key", KEY, NULL } },
    { "Connection: keep-alive", VPNWS_REFUSE_NO_CONNECTION,
      { "Upgrade", "websocket", "Connection", "keep-alive",
        "Sec-WebSocket-Key", KEY, NULL } },
    { "version 8", VPNWS_REFUSE_WS_VERSION,
      { "Upgrade", "websocket", "Connection", "Upgrade",
        "Sec-WebSocket-Key", KEY, "Sec-WebSocket-Version", "8", NULL } },
    { "version 13 with a space", VPNWS_REFUSE_WS_VERSION,
      { "Upgrade", "websocket", "Connection", "Upgrade",
        "Sec-WebSocket-Key", KEY, "Sec-WebSocket-Version", "13 ", NULL } },
    { "no key", VPNWS_REFUSE_NO_KEY,
      { "Upgrade", "websocket", "Connection", "Upgrade", NULL } },
    { "key not base64", VPNWS_REFUSE_BAD_KEY,
      { "Upgrade", "websocket", "Connection", "Upgrade",
        "Sec-WebSocket-Key", "not base64!!!!!!!!!", NULL } },
    { "empty key", VPNWS_REFUSE_BAD_KEY,
      { "Upgrade", "websocket", "Connection", "Upgrade",
        "Sec-WebSocket-Key", "", NULL } },
    { "two keys", VPNWS_REFUSE_REPEATED,
      { VALID, "Sec-WebSocket-Key", KEY, NULL } },
    { "two MACs", VPNWS_REFUSE_REPEATED,
      { VALID, "X-vpn-ws-MAC", "02:00:00:00:00:01", "x-vpn-ws-mac",
        "02:00:00:00:00:02", NULL } },
    { "a body by length", VPNWS_REFUSE_BODY,
      { VALID, "Content-Length", "5", NULL } },
    { "a body by length 00010", VPNWS_REFUSE_BODY,
      { VALID, "Content-Length", "00010", NULL } },
    { "a chunked body", VPNWS_REFUSE_BODY,
      { VALID, "Transfer-Encoding", "chunked", NULL } },
    { "bridge maybe", VPNWS_REFUSE_BAD_BRIDGE,
      { VALID, "X-vpn-ws-bridge", "maybe", NULL } },
    { "bridge empty", VPNWS_REFUSE_BAD_BRIDGE,
      { VALID, "X-vpn-ws-bridge", "", NULL } },
    { "MAC short", VPNWS_REFUSE_BAD_MAC,
      { VALID, "X-vpn-ws-MAC", "02:00:00:00:00", NULL } },
    { "MAC garbage", VPNWS_REFUSE_BAD_MAC,
      { VALID, "X-vpn-ws-MAC", "zz:zz:zz:zz:zz:zz", NULL } },
    { "MAC multicast", VPNWS_REFUSE_MAC_NOT_UNICAST,
      { VALID, "X-vpn-ws-MAC", "01:00:5e:00:00:01", NULL } },
    { "MAC zero", VPNWS_REFUSE_MAC_NOT_UNICAST,
      { VALID, "X-vpn-ws-MAC", "00:00:00:00:00:00", NULL } },
    { "MAC broadcast", VPNWS_REFUSE_MAC_NOT_UNICAST,
      { VALID, "X-vpn-ws-MAC", "ff:ff:ff:ff:ff:ff", NULL } },
};


/* header names -> CGI variable names: "X-vpn-ws-MAC" -> HTTP_X_VPN_WS_MAC */
static size_t
cgi_name(const char *name, char *out, size_t size)
{
    size_t  n, i;

    if (strcasecmp(name, "Content-Length") == 0) {
        return (size_t) snprintf(out, size, "CONTENT_LENGTH");
    }

    n = (size_t) snprintf(out, size, "HTTP_");

    for (i = 0; name[i] && n + 1 < size; i++) {
        out[n++] = name[i] == '-' ? '_'
                   : (name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32
                   : name[i];
    }

    out[n] = '\0';

    return n;
}


/* build the request as a host would: cgi 0 module, 1 daemon */
static vpnws_refusal_t
run(const upgrade_case_t *c, int cgi, vpnws_upgrade_out_t *out)
{
    size_t               i, n;
    const char          *method, *version, *name, *value;
    vpnws_upgrade_in_t   in;
    char                 var[64];

    memset(&in, 0, sizeof(vpnws_upgrade_in_t));

    method = "GET";
    version = "HTTP/1.1";

    for (i = 0; c->h[i]; i += 2) {

        name = c->h[i];
        value = c->h[i + 1];

        if (strcmp(name, "=method") == 0) {
            method = value;
            continue;
        }

        if (strcmp(name, "=version") == 0) {
            version = value;
            continue;
        }

        if (cgi) {
            n = cgi_name(name, var, sizeof(var));
            vpnws_upgrade_var(&in, var, n, value, strlen(value));

        } else {
            vpnws_upgrade_header(&in, name, strlen(name), value,
                                 strlen(value));
        }
    }

    if (cgi) {
        if (method) {
            vpnws_upgrade_var(&in, "REQUEST_METHOD", 14, method,
                              strlen(method));
        }

        vpnws_upgrade_var(&in, "SERVER_PROTOCOL", 15, version,
                          strlen(version));

    } else {
        if (method) {
            in.method.data = method;
            in.method.len = strlen(method);
            in.method.count = 1;
        }

        in.http_version = vpnws_upgrade_http_version(version,
                                                     strlen(version));
    }

    return vpnws_upgrade_check(&in, out);
}


static void
test_cases(void)
{
    int                   cgi;
    size_t                i;
    vpnws_refusal_t       rc;
    vpnws_upgrade_out_t   out;
    static const char    *host[] = { "headers", "uwsgi variables" };

    for (cgi = 0; cgi < 2; cgi++) {
        for (i = 0; i < nelem(cases); i++) {
            rc = run(&cases[i], cgi, &out);
            ok(rc == cases[i].expect, "%s, %s: %d (expected %d, %s)",
               cases[i].what, host[cgi], (int) rc, (int) cases[i].expect,
               vpnws_refusal_info(cases[i].expect)->reason);
        }
    }

    rc = run(&cases[4], 0, &out);
    ok(rc == VPNWS_UPGRADE_OK && out.has_mac && !out.bridge
       && out.mac[0] == 0x02 && out.mac[5] == 0x01,
       "the announced MAC is the result");

    rc = run(&cases[5], 1, &out);
    ok(rc == VPNWS_UPGRADE_OK && out.bridge && !out.has_mac,
       "bridge on is the result");
}


static void
test_cgi(void)
{
    vpnws_upgrade_in_t   in;
    vpnws_upgrade_out_t  out;

    /* nginx's uwsgi_params: an empty CONTENT_LENGTH means no body */
    memset(&in, 0, sizeof(vpnws_upgrade_in_t));
    vpnws_upgrade_var(&in, "REQUEST_METHOD", 14, "GET", 3);
    vpnws_upgrade_var(&in, "CONTENT_LENGTH", 14, "", 0);
    vpnws_upgrade_var(&in, "HTTP_UPGRADE", 12, "websocket", 9);
    vpnws_upgrade_var(&in, "HTTP_CONNECTION", 15, "upgrade", 7);
    vpnws_upgrade_var(&in, "HTTP_SEC_WEBSOCKET_KEY", 22, KEY, 24);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK,
       "uwsgi: empty CONTENT_LENGTH, no SERVER_PROTOCOL: accepted");

    ok(!out.ready, "no X-vpn-ws-ready: not ready (an original client)");

    vpnws_upgrade_var(&in, "http_x_vpn_ws_bridge", 20, "junk", 4);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK,
       "uwsgi: variable names are exact-case");

    vpnws_upgrade_var(&in, "HTTP_X_VPN_WS_READY", 19, "on", 2);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK && out.ready,
       "HTTP_X_VPN_WS_READY: on: ready");

    vpnws_upgrade_var(&in, "HTTP_X_VPN_WS_READY", 19, "on", 2);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK && !out.ready,
       "X-vpn-ws-ready twice: not ready");

    ok(out.offload == 0, "no X-vpn-ws-Offload: no offload");

    vpnws_upgrade_var(&in, "HTTP_X_VPN_WS_OFFLOAD", 21, "csum, tso4", 10);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK
       && out.offload == (VPNWS_OFFLOAD_CSUM | VPNWS_OFFLOAD_TSO4),
       "HTTP_X_VPN_WS_OFFLOAD: csum, tso4");

    vpnws_upgrade_header(&in, "x-VPN-ws-offload", 16, "csum", 4);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK && out.offload == 0,
       "X-vpn-ws-Offload twice: no offload, still accepted");

    /* "Content-Length:" with no digits is no length */
    memset(&in, 0, sizeof(vpnws_upgrade_in_t));
    in.method.data = "GET";
    in.method.len = 3;
    in.method.count = 1;
    vpnws_upgrade_header(&in, "Upgrade", 7, "websocket", 9);
    vpnws_upgrade_header(&in, "Connection", 10, "upgrade", 7);
    vpnws_upgrade_header(&in, "Sec-WebSocket-Key", 17, KEY, 24);
    vpnws_upgrade_header(&in, "Content-Length", 14, "", 0);
    ok(vpnws_upgrade_check(&in, &out) == VPNWS_REFUSE_BODY,
       "an empty Content-Length header: refused");
}


static void
test_versions(void)
{
    ok(vpnws_upgrade_http_version("HTTP/1.1", 8) == 1001, "HTTP/1.1");
    ok(vpnws_upgrade_http_version("HTTP/1.0", 8) == 1000, "HTTP/1.0");
    ok(vpnws_upgrade_http_version("HTTP/2.0", 8) == 2000, "HTTP/2.0");
    ok(vpnws_upgrade_http_version("HTTP/2", 6) == 2000, "HTTP/2");
    ok(vpnws_upgrade_http_version("HTTP/3", 6) == 3000, "HTTP/3");
    ok(vpnws_upgrade_http_version("HTTP/1.1", 7) == 1, "HTTP/1. garbage");
    ok(vpnws_upgrade_http_version("HTTP/", 5) == 1, "HTTP/ garbage");
    ok(vpnws_upgrade_http_version("HTTP/1.11", 9) == 1, "HTTP/1.11 garbage");
    ok(vpnws_upgrade_http_version("", 0) == 1, "empty: garbage");
}


static void
test_table(void)
{
    int                          bad;
    unsigned                     r;
    const vpnws_refusal_info_t  *ri;

    bad = 0;

    for (r = 1; r < VPNWS_REFUSE_MAX; r++) {
        ri = vpnws_refusal_info((vpnws_refusal_t) r);

        if (ri->status < 400 || ri->status > 599 || ri->reason == NULL
            || ri->status_line == NULL || ri->headers == NULL
            || (unsigned) atoi(ri->status_line) != ri->status
            || ri->level > VPNWS_LOG_INFO)
        {
            diag("refusal %u: bad entry", r);
            bad++;
        }
    }

    ok(bad == 0, "every refusal has a status, its line, a level, a reason");

    ri = vpnws_refusal_info(VPNWS_REFUSE_NO_UPGRADE);
    ok(ri->status == 426 && strcmp(ri->headers[0], "Upgrade") == 0
       && strcmp(ri->headers[3], "13") == 0 && ri->headers[4] == NULL,
       "426 names Upgrade: websocket and version 13");

    ri = vpnws_refusal_info(VPNWS_REFUSE_METHOD);
    ok(ri->status == 405 && strcmp(ri->headers[0], "Allow") == 0,
       "405 names Allow: GET");

    ok(vpnws_refusal_info(VPNWS_REFUSE_BAD_KEY)->level == VPNWS_LOG_INFO
       && vpnws_refusal_info(VPNWS_REFUSE_METHOD)->level == VPNWS_LOG_INFO,
       "client faults are logged at info");

    ok(vpnws_refusal_info(VPNWS_REFUSE_SWITCH_FULL)->level == VPNWS_LOG_ERR
       && vpnws_refusal_info(VPNWS_REFUSE_TABLE_FULL)->level == VPNWS_LOG_ERR,
       "a full switch or MAC table is logged at error");

    ok(vpnws_refusal_info((vpnws_refusal_t) 9999)->status == 500,
       "an out-of-range refusal reads as an internal error");
}


static void
test_garbage(void)
{
    int                  bad;
    size_t               i, k;
    uint32_t             x;
    vpnws_refusal_t      rc;
    vpnws_upgrade_in_t   in;
    vpnws_upgrade_out_t  out;
    char                 v[40];

    static const char   *names[] = {
        "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "X-vpn-ws-MAC", "X-vpn-ws-bridge", "Content-Length"
    };

    /* every value truncated at every byte, and random bytes: no crash,
     * a refusal from the table or OK */
    bad = 0;
    x = 12345;

    for (i = 0; i < 2000; i++) {
        memset(&in, 0, sizeof(vpnws_upgrade_in_t));
        in.method.data = "GET";
        in.method.len = 3;
        in.method.count = 1;

        for (k = 0; k < nelem(names); k++) {
            size_t  j, n;

            x = x * 1103515245 + 12345;
            n = (x >> 16) % sizeof(v);

            for (j = 0; j < n; j++) {
                x = x * 1103515245 + 12345;
                v[j] = (char) (x >> 16);
            }

            vpnws_upgrade_header(&in, names[k], strlen(names[k]), v, n);
        }

        rc = vpnws_upgrade_check(&in, &out);

        if ((unsigned) rc >= VPNWS_REFUSE_MAX) {
            bad++;
        }
    }

    ok(bad == 0, "2000 garbage requests: each a refusal from the table");

    bad = 0;

    /* keys of 16 base64 characters and more pass (the original client) */
    for (k = 0; k < VPNWS_WS_KEY_MIN; k++) {
        memset(&in, 0, sizeof(vpnws_upgrade_in_t));
        in.method.data = "GET";
        in.method.len = 3;
        in.method.count = 1;
        vpnws_upgrade_header(&in, "Upgrade", 7, "websocket", k < 9 ? k : 9);
        vpnws_upgrade_header(&in, "Connection", 10, "upgrade", 7);
        vpnws_upgrade_header(&in, "Sec-WebSocket-Key", 17, KEY, k);

        if (vpnws_upgrade_check(&in, &out) == VPNWS_UPGRADE_OK) {
            bad++;
        }
    }

    ok(bad == 0, "a key cut below 16 characters, or Upgrade cut, is never accepted");
}


int
main(void)
{
    test_cases();
    test_cgi();
    test_versions();
    test_table();
    test_garbage();

    return done_testing();
}
