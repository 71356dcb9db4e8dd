/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_http.c, an HTTP/1.x request head as a uwsgi
 * packet (what Apache's mod_proxy_http sends the daemon).
 */


#include "tap.h"
#include "vpnws_http.h"
#include "vpnws_uwsgi.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))


static const vpnws_http_map_t  map[] = {
    { "REMOTE_USER", "X-Remote-User" },
    { "HTTPS_DN", "x-client-dn" },
};


static uint8_t               out[VPNWS_UWSGI_MAX];
static vpnws_uwsgi_packet_t  pk;


/* convert s, then parse the packet back; the converter's return code */
static int
convert(const char *s, vpnws_http_result_t *res)
{
    int  rc;

    memset(out, 0xee, sizeof(out));

    rc = vpnws_http_to_uwsgi((const uint8_t *) s, strlen(s), out, sizeof(out),
                             map, nelem(map), res);

    if (rc == VPNWS_HTTP_OK
        && vpnws_uwsgi_parse(&pk, out, res->len, VPNWS_UWSGI_MAX)
           != VPNWS_UWSGI_OK)
    {
        return -100;
    }

    return rc;
}


static const char *
var(const char *name)
{
    static char                 text[1024];
    const vpnws_uwsgi_var_t    *v;

    v = vpnws_uwsgi_get(&pk, name);

    if (v == NULL) {
        return NULL;
    }

    memcpy(text, v->value, v->value_len);
    text[v->value_len] = '\0';

    return text;
}


static void
test_valid(void)
{
    int                   rc;
    const char           *req;
    vpnws_http_result_t   res;

    /* what Apache 2.4 sends with RequestHeader set and upgrade=websocket */
    req = "GET /vpn?a=1 HTTP/1.1\r\n"
          "Host: localhost\r\n"
          "X-Remote-User: alice\r\n"
          "X_Remote_User: eve\r\n"
          "x-client-dn:   CN=a,O=b  \r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "X-vpn-ws-MAC: 02:00:00:00:00:01\r\n"
          "Connection: Upgrade\r\n"
          "Upgrade: websocket\r\n"
          "\r\n"
          "\x82\x80";

    rc = convert(req, &res);
    is_int(rc, VPNWS_HTTP_OK, "an upgrade request converts");
    is_int((long long) res.head_len, (long long) strlen(req) - 2,
           "the head ends after the blank line (frames after it are left)");
    is_int(pk.modifier1, 0, "modifier1 0");
    is_int((long long) pk.len, (long long) res.len, "the packet's length");
    is_str(var("REQUEST_METHOD"), "GET", "REQUEST_METHOD");
    is_str(var("REQUEST_URI"), "/vpn?a=1", "REQUEST_URI");
    is_str(var("PATH_INFO"), "/vpn", "PATH_INFO");
    is_str(var("QUERY_STRING"), "a=1", "QUERY_STRING");
    is_str(var("SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL");
    is_str(var("HTTP_HOST"), "localhost", "HTTP_HOST");
    is_str(var("HTTP_SEC_WEBSOCKET_KEY"), "dGhlIHNhbXBsZSBub25jZQ==",
           "HTTP_SEC_WEBSOCKET_KEY");
    is_str(var("HTTP_X_VPN_WS_MAC"), "02:00:00:00:00:01",
           "mixed-case names in upper case, '-' as '_'");
    is_str(var("HTTP_UPGRADE"), "websocket", "HTTP_UPGRADE");
    is_str(var("REMOTE_USER"), "alice", "a mapped header: its variable");
    is_str(var("HTTPS_DN"), "CN=a,O=b",
           "map names in any case; the value trimmed");
    ok(var("HTTP_X_REMOTE_USER") == NULL,
       "a mapped header is not also an HTTP_ variable");
    is_int((long long) pk.nvars, 12, "no variable from X_Remote_User "
           "(names with '_' are dropped)");

    rc = convert("GET / HTTP/2.0\r\nContent-Length: 5\r\n"
                 "Content-Type: a/b\r\nTransfer-Encoding: chunked\r\n\r\n",
                 &res);
    is_int(rc, VPNWS_HTTP_OK, "another version, a body: for the rules");
    is_str(var("SERVER_PROTOCOL"), "HTTP/2.0", "SERVER_PROTOCOL HTTP/2.0");
    is_str(var("CONTENT_LENGTH"), "5", "CONTENT_LENGTH, as CGI names it");
    is_str(var("CONTENT_TYPE"), "a/b", "CONTENT_TYPE");
    is_str(var("HTTP_TRANSFER_ENCODING"), "chunked", "HTTP_TRANSFER_ENCODING");

    rc = convert("GET / HTTP/1.0\r\n\r\n", &res);
    is_int(rc, VPNWS_HTTP_OK, "no header at all");
    is_str(var("QUERY_STRING"), "", "an empty QUERY_STRING");
    is_str(var("SERVER_PROTOCOL"), "HTTP/1.0", "HTTP/1.0");
    ok(var("REMOTE_USER") == NULL, "no REMOTE_USER without its header");

    rc = convert("GET / HTTP/1.1\r\nHost: x\r\n", &res);
    is_int(rc, VPNWS_HTTP_AGAIN, "no blank line yet: again");
    rc = convert("GET / HTTP/1.1\r\nHost: x\r\n\r", &res);
    is_int(rc, VPNWS_HTTP_AGAIN, "half of the blank line: again");
    rc = convert("", &res);
    is_int(rc, VPNWS_HTTP_AGAIN, "nothing yet: again");
}


typedef struct {
    const char   *req;
    int           status;
    const char   *error;
    const char   *name;
} bad_case_t;


static const bad_case_t  bad_cases[] = {
    { "GET / HTTP/1.1\r\nX-Remote-User: a\r\nx-remote-user: b\r\n\r\n", 400,
      "a mapped header appears twice", "a mapped header twice" },
    { "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400,
      "obsolete header line folding", "obs-fold" },
    { "GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "invalid header name",
      "an empty header name" },
    { "GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400, "invalid header name",
      "a space in a header name" },
    { "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "invalid header name",
      "no colon" },
    { "GET / HTTP/1.1\r\nHost: a\001b\r\n\r\n", 400, "invalid header value",
      "a control character in a value" },
    { "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "invalid header value",
      "a bare CR in a value" },
    { "GET / HTTP/1.10\r\n\r\n", 400, "invalid request line",
      "HTTP/1.10" },
    { "GET / HTTP/1.x\r\n\r\n", 400, "invalid request line", "HTTP/1.x" },
    { "GET / FOO/1.1\r\n\r\n", 400, "invalid request line", "not HTTP" },
    { "GET /\r\n\r\n", 400, "invalid request target", "HTTP/0.9 form" },
    { "GET  / HTTP/1.1\r\n\r\n", 400, "invalid request target",
      "two spaces" },
    { " GET / HTTP/1.1\r\n\r\n", 400, "invalid request method",
      "a leading space" },
    { "G\x80T / HTTP/1.1\r\n\r\n", 400, "invalid request method",
      "a non-token method" },
    { "GET /a\001 HTTP/1.1\r\n\r\n", 400, "invalid request target",
      "a control character in the target" },
};


static void
test_invalid(void)
{
    size_t                i;
    vpnws_http_result_t   res;

    for (i = 0; i < nelem(bad_cases); i++) {
        is_int(convert(bad_cases[i].req, &res), VPNWS_HTTP_ERROR, "%s: error",
               bad_cases[i].name);
        is_int(res.status, bad_cases[i].status, "%s: status",
               bad_cases[i].name);
        is_str(res.error, bad_cases[i].error, "%s: reason",
               bad_cases[i].name);
    }
}


/* packets too big for uwsgi: 431, never a write past max */
static void
test_limits(void)
{
    int                   rc;
    size_t                i, n;
    static char           big[VPNWS_UWSGI_MAX * 2];
    static uint8_t        small[256];
    vpnws_http_result_t   res;

    n = (size_t) sprintf(big, "GET / HTTP/1.1\r\n");

    for (i = 0; i < VPNWS_UWSGI_MAX_VARS; i++) {
        n += (size_t) sprintf(big + n, "X-H%zu: v\r\n", i);
    }

    sprintf(big + n, "\r\n");

    is_int(convert(big, &res), VPNWS_HTTP_ERROR, "more headers than a "
           "uwsgi packet may have variables");
    is_int(res.status, 431, "431");

    n = (size_t) sprintf(big, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'a', 70000);
    sprintf(big + n + 70000, "\r\n\r\n");

    is_int(convert(big, &res), VPNWS_HTTP_ERROR, "a 70000-byte header");
    is_int(res.status, 431, "431");

    memset(small, 0xee, sizeof(small));
    n = (size_t) sprintf(big, "GET / HTTP/1.1\r\nHost: %060d\r\n\r\n", 1);
    rc = vpnws_http_to_uwsgi((const uint8_t *) big, n, small, 100, NULL, 0,
                             &res);
    is_int(rc, VPNWS_HTTP_ERROR, "a packet larger than the output buffer");
    ok(small[100] == 0xee && small[255] == 0xee,
       "nothing written past the output buffer");

    ok(vpnws_http_map_var_valid("REMOTE_USER") == 0, "REMOTE_USER may be "
       "mapped");
    ok(vpnws_http_map_var_valid("VPNWS_BRIDGE") == 0, "VPNWS_BRIDGE may be "
       "mapped");
    ok(vpnws_http_map_var_valid("HTTP_X") != 0, "HTTP_ names may not");
    ok(vpnws_http_map_var_valid("PATH_INFO") != 0, "nor the request's own");
    ok(vpnws_http_map_var_valid("remote_user") != 0, "nor lower case");
    ok(vpnws_http_map_var_valid("") != 0, "nor an empty name");
    ok(vpnws_http_map_var_valid("1A") != 0, "nor a leading digit");
    ok(vpnws_http_map_header_valid("X-Remote-User") == 0, "a header token");
    ok(vpnws_http_map_header_valid("X Remote") != 0, "not with a space");
    ok(vpnws_http_map_header_valid("") != 0, "not empty");
}


int
main(void)
{
    test_valid();
    test_invalid();
    test_limits();

    return done_testing();
}
