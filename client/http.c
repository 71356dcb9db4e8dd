/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: the HTTP/1.1 websocket upgrade (RFC 6455 section 4.1).
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <poll.h>

#include <openssl/sha.h>

#include "vpnws_client.h"


size_t
vpnws_base64(const uint8_t *in, size_t len, char *out)
{
    static const char  tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789+/";
    char              *p;
    uint32_t           v;

    p = out;

    while (len >= 3) {
        v = (uint32_t) in[0] << 16 | (uint32_t) in[1] << 8 | in[2];
        *p++ = tab[v >> 18];
        *p++ = tab[(v >> 12) & 0x3f];
        *p++ = tab[(v >> 6) & 0x3f];
        *p++ = tab[v & 0x3f];
        in += 3;
        len -= 3;
    }

    if (len) {
        v = (uint32_t) in[0] << 16 | (len == 2 ? (uint32_t) in[1] << 8 : 0);
        *p++ = tab[v >> 18];
        *p++ = tab[(v >> 12) & 0x3f];
        *p++ = (len == 2) ? tab[(v >> 6) & 0x3f] : '=';
        *p++ = '=';
    }

    *p = '\0';

    return p - out;
}


/*
 * Read until the blank line that ends a response header.  *hlen is the
 * header size, *total what was read (bytes after the header belong to the
 * next protocol: websocket frames the server sent right away).
 */
int
vpnws_http_read_header(vpnws_conn_t *c, uint8_t *buf, size_t size,
    size_t *hlen, size_t *total, int64_t deadline, char *err, size_t errlen)
{
    int       rc;
    size_t    len;
    ssize_t   n;
    uint8_t  *end;

    len = 0;

    for ( ;; ) {
        n = vpnws_conn_read(c, buf + len, size - 1 - len, err, errlen);

        if (n == -1) {
            return VPNWS_RETRY;
        }

        if (n == 0) {
            snprintf(err, errlen, "connection closed before the response");
            return VPNWS_RETRY;
        }

        if (n == -2) {
            rc = vpnws_conn_wait(c, c->read_wants_write ? POLLOUT : POLLIN,
                                 deadline, err, errlen);

            if (rc != VPNWS_OK) {
                if (rc == VPNWS_RETRY) {
                    snprintf(err, errlen, "no response from the server");
                }

                return rc;
            }

            continue;
        }

        len += n;
        buf[len] = '\0';

        end = memmem(buf, len, "\r\n\r\n", 4);

        if (end) {
            *hlen = end + 4 - buf;
            *total = len;
            return VPNWS_OK;
        }

        if (len == size - 1) {
            snprintf(err, errlen, "response header too long");
            return VPNWS_RETRY;
        }
    }
}


/* the status code, and the status line (no CRLF) into line */
int
vpnws_http_status(const uint8_t *buf, size_t hlen, char *line,
    size_t linelen)
{
    size_t       len;
    const char  *p;

    p = (const char *) buf;
    len = strcspn(p, "\r\n");
    len = len < hlen ? len : hlen;

    snprintf(line, linelen, "%.*s", (int) len, p);

    if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9')
    {
        return -1;
    }

    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}


/* the value of the first header "name", spaces trimmed */
const char *
vpnws_http_header(const uint8_t *buf, size_t hlen, const char *name,
    size_t *len)
{
    size_t       nlen, llen;
    const char  *p, *end, *v;

    nlen = strlen(name);
    p = (const char *) buf;
    end = p + hlen;

    p = memchr(p, '\n', end - p);

    while (p && ++p < end) {
        llen = strcspn(p, "\r\n");

        if (llen > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            v = p + nlen + 1;
            llen -= nlen + 1;

            while (llen && (*v == ' ' || *v == '\t')) {
                v++;
                llen--;
            }

            while (llen && (v[llen - 1] == ' ' || v[llen - 1] == '\t')) {
                llen--;
            }

            *len = llen;
            return v;
        }

        p = memchr(p, '\n', end - p);
    }

    return NULL;
}


static int
vpnws_http_has_token(const char *v, size_t len, const char *token)
{
    size_t  tlen, i, n;

    tlen = strlen(token);

    for (i = 0; i < len; i += n + 1) {

        while (i < len && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }

        for (n = 0; i + n < len && v[i + n] != ','; n++) {
            /* void */
        }

        while (n && (v[i + n - 1] == ' ' || v[i + n - 1] == '\t')) {
            n--;
        }

        if (n == tlen && strncasecmp(v + i, token, n) == 0) {
            return 1;
        }

        while (i + n < len && v[i + n] != ',') {
            n++;
        }
    }

    return 0;
}


/*
 * nginx says why in the page title only ("400 No required SSL certificate
 * was sent"): append it when it adds something and came with the header.
 */
static void
vpnws_http_title(const uint8_t *body, size_t len, const char *line,
    char *err, size_t errlen)
{
    size_t       n, elen;
    const char  *t, *end;

    t = memmem(body, len, "<title>", 7);

    if (t == NULL) {
        return;
    }

    t += 7;
    end = memmem(t, len - (t - (const char *) body), "</title>", 8);

    if (end == NULL || end - t > 120 || end - t < 5) {
        return;
    }

    n = end - t;

    if (strstr(line, "Bad Request") == NULL || memchr(t, '<', n)
        || memchr(t, '\n', n))
    {
        /* only the vague 400s gain from it */
        return;
    }

    elen = strlen(err);
    snprintf(err + elen, errlen - elen, " (%.*s)", (int) n, t);
}


static int
vpnws_http_retryable(int status)
{
    /*
     * Credentials and access rules are fixed on the server, which may also
     * be overloaded or restarting: retry.  Other refusals mean a wrong URL
     * or not a vpnws server: retrying cannot help.
     */
    return status == 401 || status == 403 || status == 407 || status == 408
           || status == 429 || status >= 500;
}


int
vpnws_ws_handshake(vpnws_client_t *cl, int64_t deadline, char *err,
    size_t errlen)
{
    int            rc, status;
    char           req[2048], key[32], mac[VPNWS_MAC_STR_LEN + 1],
                   accept[64], line[256];
    char           input[64 + VPNWS_WS_GUID_LEN];
    char           offload[VPNWS_OFFLOAD_STR_LEN];
    size_t         len, hlen, total, ilen;
    uint8_t        raw[16], digest[SHA_DIGEST_LENGTH];
    const char    *v;
    vpnws_url_t   *u;

    u = &cl->conf->url;

    vpnws_random(raw, sizeof(raw));
    vpnws_base64(raw, sizeof(raw), key);
    vpnws_mac_format(cl->mac, mac);

    len = snprintf(req, sizeof(req),
                   "GET %s HTTP/1.1\r\n"
                   "Host: %s\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "X-vpn-ws-MAC: %s\r\n"
                   "X-vpn-ws-ready: on\r\n"
                   "%s"
                   "User-Agent: " VPNWS_CLIENT_NAME "/"
                       VPNWS_CLIENT_VERSION "\r\n",
                   u->path, u->authority, key, mac,
                   cl->conf->bridge ? "X-vpn-ws-bridge: on\r\n" : "");

    if (cl->tap_caps && len < sizeof(req)) {
        vpnws_offload_format(cl->tap_caps, offload);
        len += snprintf(req + len, sizeof(req) - len,
                        "X-vpn-ws-Offload: %s\r\n", offload);
    }

    if (u->basic && len < sizeof(req)) {
        len += snprintf(req + len, sizeof(req) - len,
                        "Authorization: Basic %s\r\n", u->basic);
    }

    if (len < sizeof(req)) {
        len += snprintf(req + len, sizeof(req) - len, "\r\n");
    }

    if (len >= sizeof(req)) {
        snprintf(err, errlen, "request too long");
        return VPNWS_FAIL_HTTP;
    }

    rc = vpnws_conn_write_all(&cl->conn, req, len, deadline, err, errlen);

    explicit_bzero(req, sizeof(req));

    if (rc != VPNWS_OK) {
        return rc;
    }

    rc = vpnws_http_read_header(&cl->conn, cl->in, VPNWS_HTTP_MAX, &hlen,
                                &total, deadline, err, errlen);

    if (rc != VPNWS_OK) {
        return rc;
    }

    status = vpnws_http_status(cl->in, hlen, line, sizeof(line));

    if (status != 101) {

        if (status == -1) {
            snprintf(err, errlen, "not an HTTP server: \"%.64s\"", line);
            return VPNWS_FAIL_HTTP;
        }

        snprintf(err, errlen, "server refused the websocket: \"%s\"", line);
        vpnws_http_title(cl->in + hlen, total - hlen, line, err, errlen);

        return vpnws_http_retryable(status) ? VPNWS_RETRY : VPNWS_FAIL_HTTP;
    }

    v = vpnws_http_header(cl->in, hlen, "Upgrade", &len);

    if (v == NULL || !vpnws_http_has_token(v, len, "websocket")) {
        snprintf(err, errlen, "101 without \"Upgrade: websocket\"");
        return VPNWS_FAIL_HTTP;
    }

    v = vpnws_http_header(cl->in, hlen, "Connection", &len);

    if (v == NULL || !vpnws_http_has_token(v, len, "upgrade")) {
        snprintf(err, errlen, "101 without \"Connection: Upgrade\"");
        return VPNWS_FAIL_HTTP;
    }

    ilen = vpnws_ws_accept_input(key, strlen(key), input);
    SHA1((uint8_t *) input, ilen, digest);
    vpnws_base64(digest, sizeof(digest), accept);

    v = vpnws_http_header(cl->in, hlen, "Sec-WebSocket-Accept", &len);

    if (v == NULL || len != strlen(accept) || memcmp(v, accept, len) != 0) {
        snprintf(err, errlen, "wrong Sec-WebSocket-Accept from the server");
        return VPNWS_FAIL_HTTP;
    }

    /* no answer: an old server or the daemon; plain frames as ever */
    v = vpnws_http_header(cl->in, hlen, "X-vpn-ws-Offload", &len);
    cl->offload = v ? vpnws_offload_parse(v, len) : 0;

    if (cl->offload & ~cl->tap_caps) {
        snprintf(err, errlen, "the server agreed to offloads it was not "
                 "offered: \"%.*s\"", (int) (len < 64 ? len : 64), v);
        return VPNWS_FAIL_HTTP;
    }

    /* frames sent together with the 101 */
    memmove(cl->in, cl->in + hlen, total - hlen);
    cl->in_len = total - hlen;

    return VPNWS_OK;
}
