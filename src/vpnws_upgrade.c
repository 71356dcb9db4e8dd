/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: validating the websocket upgrade, the same rules for every host.
 *
 * Upgrade: websocket and Connection: Upgrade are required everywhere
 * (RFC 6455 4.2.1): the original vpn-ws-client and ours send both, and a
 * front-end that tunnels websockets (nginx's uwsgi_pass, Apache's
 * mod_proxy_uwsgi) passes them on as HTTP_UPGRADE and HTTP_CONNECTION.
 */


#include <string.h>
#include <strings.h>

#include "vpnws_ws.h"
#include "vpnws_upgrade.h"
#include "vpnws_vnet.h"


typedef struct {
    const char     *http;           /* header name */
    const char     *cgi;            /* its CGI variable */
    size_t          offset;         /* of its vpnws_upgrade_value_t */
} vpnws_upgrade_field_t;


#define vpnws_field(http, cgi, field)                                        \
    { http, cgi, offsetof(vpnws_upgrade_in_t, field) }

static const vpnws_upgrade_field_t  vpnws_upgrade_fields[] = {
    vpnws_field("Upgrade", "HTTP_UPGRADE", upgrade),
    vpnws_field("Connection", "HTTP_CONNECTION", connection),
    vpnws_field("Sec-WebSocket-Key", "HTTP_SEC_WEBSOCKET_KEY", key),
    vpnws_field("Sec-WebSocket-Version", "HTTP_SEC_WEBSOCKET_VERSION",
                version),
    vpnws_field("Content-Length", "CONTENT_LENGTH", content_length),
    vpnws_field("Transfer-Encoding", "HTTP_TRANSFER_ENCODING",
                transfer_encoding),
    vpnws_field("X-vpn-ws-MAC", "HTTP_X_VPN_WS_MAC", mac),
    vpnws_field("X-vpn-ws-bridge", "HTTP_X_VPN_WS_BRIDGE", bridge),
    vpnws_field("X-vpn-ws-ready", "HTTP_X_VPN_WS_READY", ready),
    vpnws_field("X-vpn-ws-Offload", "HTTP_X_VPN_WS_OFFLOAD", offload),
    { NULL, NULL, 0 }
};


static const char * const  vpnws_hdr_426[] = {
    "Upgrade", "websocket", "Sec-WebSocket-Version", "13", NULL
};
static const char * const  vpnws_hdr_405[] = { "Allow", "GET", NULL };
static const char * const  vpnws_hdr_none[] = { NULL };


#define VPNWS_400  400, "400 Bad Request"
#define VPNWS_403  403, "403 Forbidden"
#define VPNWS_426  426, "426 Upgrade Required"
#define VPNWS_503  503, "503 Service Unavailable"

/* client faults at info, as nginx logs them; the operator's at error */
static const vpnws_refusal_info_t  vpnws_refusals[VPNWS_REFUSE_MAX] = {
    { 200, "200 OK", VPNWS_LOG_INFO, "accepted", vpnws_hdr_none },
    { 405, "405 Not Allowed", VPNWS_LOG_INFO,
      "only GET can open a websocket", vpnws_hdr_405 },
    { VPNWS_400, VPNWS_LOG_INFO, "websocket needs HTTP/1.1",
      vpnws_hdr_none },
    { VPNWS_426, VPNWS_LOG_INFO, "no \"Upgrade: websocket\" header",
      vpnws_hdr_426 },
    { VPNWS_400, VPNWS_LOG_INFO, "no \"Connection: Upgrade\" header",
      vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "a Sec-WebSocket-*, Content-Length or "
      "X-vpn-ws-* header is repeated", vpnws_hdr_none },
    { VPNWS_426, VPNWS_LOG_INFO, "unsupported Sec-WebSocket-Version",
      vpnws_hdr_426 },
    { VPNWS_400, VPNWS_LOG_INFO, "no Sec-WebSocket-Key header",
      vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "invalid Sec-WebSocket-Key",
      vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "a websocket upgrade has no body",
      vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "X-vpn-ws-bridge must be on or off",
      vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "invalid X-vpn-ws-MAC", vpnws_hdr_none },
    { VPNWS_400, VPNWS_LOG_INFO, "X-vpn-ws-MAC is not a unicast address",
      vpnws_hdr_none },
    { VPNWS_503, VPNWS_LOG_ERR, "the switch is full", vpnws_hdr_none },
    /* two clients configured with one MAC, or a reconnect too early */
    { 409, "409 Conflict", VPNWS_LOG_WARN,
      "X-vpn-ws-MAC is in use by another peer", vpnws_hdr_none },
    { VPNWS_503, VPNWS_LOG_ERR, "the MAC table is full", vpnws_hdr_none },
    /* a client asking for more than it was given: the operator's concern */
    { VPNWS_403, VPNWS_LOG_WARN, "bridge mode is not granted to this peer",
      vpnws_hdr_none },
    /* a bad value from the configuration's variables: the operator's */
    { VPNWS_403, VPNWS_LOG_ERR, "the bridge grant is neither on nor off",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR,
      "the MAC given to this peer is not a unicast MAC address",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_WARN,
      "X-vpn-ws-MAC differs from the MAC given to this peer",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR,
      "the IPv4 address given to this peer is not a dotted quad",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR, "the rate given to this peer is invalid",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR, "the user name is longer than 256 bytes",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR,
      "no user name, and peers are limited per user", vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_WARN, "too many peers for this user",
      vpnws_hdr_none },
    { VPNWS_403, VPNWS_LOG_ERR, "no such switch", vpnws_hdr_none },
    { 500, "500 Internal Server Error", VPNWS_LOG_ERR,
      "internal error (out of memory)", vpnws_hdr_none }
};


static int
vpnws_upgrade_is(const vpnws_upgrade_value_t *v, const char *text)
{
    size_t  len;

    len = strlen(text);

    return v->len == len && strncasecmp(v->data, text, len) == 0;
}


int
vpnws_upgrade_has_token(const char *p, size_t len, const char *token)
{
    size_t  tlen, i, start, end;

    tlen = strlen(token);

    for (i = 0; i < len; /* void */) {

        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ',')) {
            i++;
        }

        start = i;

        while (i < len && p[i] != ',') {
            i++;
        }

        end = i;

        while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
            end--;
        }

        if (end - start == tlen && strncasecmp(p + start, token, tlen) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
vpnws_upgrade_set(vpnws_upgrade_in_t *in, const vpnws_upgrade_field_t *f,
    const char *value, size_t len)
{
    vpnws_upgrade_value_t  *v;

    v = (vpnws_upgrade_value_t *) ((char *) in + f->offset);

    if (v->count++ == 0) {
        v->data = value;
        v->len = len;
    }

    /* a list header may come as several lines */

    if (v == &in->upgrade
        && vpnws_upgrade_has_token(value, len, "websocket"))
    {
        in->upgrade_websocket = 1;

    } else if (v == &in->connection
               && vpnws_upgrade_has_token(value, len, "upgrade"))
    {
        in->connection_upgrade = 1;
    }
}


void
vpnws_upgrade_header(vpnws_upgrade_in_t *in, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
    const vpnws_upgrade_field_t  *f;

    for (f = vpnws_upgrade_fields; f->http; f++) {

        if (strlen(f->http) == name_len
            && strncasecmp(f->http, name, name_len) == 0)
        {
            vpnws_upgrade_set(in, f, value, value_len);
            return;
        }
    }
}


void
vpnws_upgrade_var(vpnws_upgrade_in_t *in, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
    const vpnws_upgrade_field_t  *f;

#define vpnws_is_var(var)                                                    \
    (name_len == sizeof(var) - 1 && memcmp(name, var, name_len) == 0)

    if (vpnws_is_var("REQUEST_METHOD")) {
        if (in->method.count++ == 0) {
            in->method.data = value;
            in->method.len = value_len;
        }

        return;
    }

    if (vpnws_is_var("SERVER_PROTOCOL")) {
        in->http_version = vpnws_upgrade_http_version(value, value_len);
        return;
    }

#undef vpnws_is_var

    for (f = vpnws_upgrade_fields; f->cgi; f++) {

        if (strlen(f->cgi) == name_len && memcmp(f->cgi, name, name_len) == 0)
        {
            /* front-ends send an empty CONTENT_LENGTH without a body */
            if (value_len == 0 && f->offset
                                  == offsetof(vpnws_upgrade_in_t,
                                              content_length))
            {
                return;
            }

            vpnws_upgrade_set(in, f, value, value_len);
            return;
        }
    }
}


unsigned
vpnws_upgrade_http_version(const char *p, size_t len)
{
    unsigned  major, minor;

    if (len < 6 || memcmp(p, "HTTP/", 5) != 0
        || p[5] < '0' || p[5] > '9')
    {
        return 1;
    }

    major = (unsigned) (p[5] - '0');

    if (len == 6) {
        return VPNWS_HTTP_VERSION(major, 0);
    }

    if (len != 8 || p[6] != '.' || p[7] < '0' || p[7] > '9') {
        return 1;
    }

    minor = (unsigned) (p[7] - '0');

    return VPNWS_HTTP_VERSION(major, minor);
}


static int
vpnws_upgrade_has_body(const vpnws_upgrade_in_t *in)
{
    size_t  i;

    if (in->transfer_encoding.count) {
        return 1;
    }

    for (i = 0; i < in->content_length.len; i++) {
        if (in->content_length.data[i] != '0') {
            return 1;
        }
    }

    /* "Content-Length:" with nothing after it is no length */
    return in->content_length.count && in->content_length.len == 0;
}


vpnws_refusal_t
vpnws_upgrade_check(const vpnws_upgrade_in_t *in, vpnws_upgrade_out_t *out)
{
    memset(out, 0, sizeof(vpnws_upgrade_out_t));

    if (in->method.count != 1 || !(in->method.len == 3
                                   && memcmp(in->method.data, "GET", 3) == 0))
    {
        return VPNWS_REFUSE_METHOD;
    }

    if (in->http_version
        && (in->http_version < VPNWS_HTTP_VERSION(1, 1)
            || in->http_version >= VPNWS_HTTP_VERSION(2, 0)))
    {
        return VPNWS_REFUSE_HTTP_VERSION;
    }

    if (!in->upgrade_websocket) {
        return VPNWS_REFUSE_NO_UPGRADE;
    }

    if (!in->connection_upgrade) {
        return VPNWS_REFUSE_NO_CONNECTION;
    }

    if (in->key.count > 1 || in->version.count > 1 || in->mac.count > 1
        || in->bridge.count > 1 || in->content_length.count > 1)
    {
        return VPNWS_REFUSE_REPEATED;
    }

    if (in->version.count && !vpnws_upgrade_is(&in->version, "13")) {
        return VPNWS_REFUSE_WS_VERSION;
    }

    if (in->key.count == 0) {
        return VPNWS_REFUSE_NO_KEY;
    }

    if (vpnws_ws_key_valid(in->key.data, in->key.len) != 0) {
        return VPNWS_REFUSE_BAD_KEY;
    }

    if (vpnws_upgrade_has_body(in)) {
        return VPNWS_REFUSE_BODY;
    }

    if (in->bridge.count) {
        if (vpnws_upgrade_is(&in->bridge, "on")) {
            out->bridge = 1;

        } else if (!vpnws_upgrade_is(&in->bridge, "off")) {
            return VPNWS_REFUSE_BAD_BRIDGE;
        }
    }

    /* anything but "on" is the default: an original client */
    out->ready = in->ready.count == 1 && vpnws_upgrade_is(&in->ready, "on");

    /* what the peer can take; the host grants a part of it, or nothing */
    out->offload = (in->offload.count == 1)
                   ? vpnws_offload_parse(in->offload.data, in->offload.len)
                   : 0;

    if (in->mac.count) {
        if (vpnws_mac_parse(in->mac.data, in->mac.len, out->mac) != 0) {
            return VPNWS_REFUSE_BAD_MAC;
        }

        if (vpnws_mac_is_zero(out->mac) || vpnws_mac_is_group(out->mac)) {
            return VPNWS_REFUSE_MAC_NOT_UNICAST;
        }

        out->has_mac = 1;
    }

    return VPNWS_UPGRADE_OK;
}


const vpnws_refusal_info_t *
vpnws_refusal_info(vpnws_refusal_t r)
{
    if ((unsigned) r >= VPNWS_REFUSE_MAX) {
        r = VPNWS_REFUSE_INTERNAL;
    }

    return &vpnws_refusals[r];
}
