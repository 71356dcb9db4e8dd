/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: ws[s]:// and proxy URLs.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "vpnws_client.h"


static int
vpnws_hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/*
 * percent-decode s[0..len) into out (len + 1 bytes).  A '%' that starts no
 * escape stays as it is: the original client sent user:pass undecoded, and
 * such passwords keep working.  -1 for %00, which Basic auth cannot carry.
 */
static int
vpnws_url_decode(const char *s, size_t len, char *out)
{
    int     hi, lo;
    size_t  i;

    for (i = 0; i < len; i++) {

        hi = (s[i] == '%' && i + 2 < len)
             ? vpnws_hexval((unsigned char) s[i + 1]) : -1;
        lo = (hi >= 0) ? vpnws_hexval((unsigned char) s[i + 2]) : -1;

        if (lo < 0) {
            *out++ = s[i];
            continue;
        }

        if (hi == 0 && lo == 0) {
            return -1;
        }

        *out++ = (char) (hi << 4 | lo);
        i += 2;
    }

    *out = '\0';

    return 0;
}


static int
vpnws_url_userinfo(const char *s, size_t len, vpnws_url_t *u)
{
    char    *plain, *colon;
    size_t   n;

    plain = malloc(len + 2);
    u->basic = malloc(4 * ((len + 3) / 3) + 1);

    if (plain == NULL || u->basic == NULL
        || vpnws_url_decode(s, len, plain) != 0)
    {
        free(plain);
        free(u->basic);
        u->basic = NULL;
        return -1;
    }

    n = strlen(plain);
    colon = memchr(plain, ':', n);

    if (colon == NULL) {
        /* "user@" alone: an empty password, as curl does */
        u->user = strdup(plain);
        plain[n++] = ':';

        if (u->user == NULL) {
            free(plain);
            return -1;
        }

    } else {
        u->password = 1;
    }

    vpnws_base64((uint8_t *) plain, n, u->basic);

    explicit_bzero(plain, n);
    free(plain);

    return 0;
}


/*
 * Where the credentials are in a URL: [start, at) before its last '@'.
 * Not only in the authority: a password with an unencoded '/' or '#' is
 * a malformed URL that must not show it either; a redaction may show too
 * little, never too much.
 */
static int
vpnws_url_userinfo_span(const char *text, size_t *start, size_t *at)
{
    const char  *auth, *last;

    last = strrchr(text, '@');

    if (last == NULL) {
        return 0;
    }

    auth = strstr(text, "://");
    auth = (auth && auth < last) ? auth + 3 : text;

    *start = auth - text;
    *at = last - text;

    return 1;
}


/* the URL as messages show it: "user:pass" replaced by "***" */
void
vpnws_url_redact(const char *text, char *out, size_t size)
{
    size_t  start, at;

    if (!vpnws_url_userinfo_span(text, &start, &at)) {
        snprintf(out, size, "%s", text);
        return;
    }

    snprintf(out, size, "%.*s***%s", (int) start, text, text + at);
}


/* overwrite the password of a URL in place (argv, as ps shows it) */
void
vpnws_url_hide(char *text)
{
    char    *colon;
    size_t   start, at;

    if (!vpnws_url_userinfo_span(text, &start, &at)) {
        return;
    }

    colon = memchr(text + start, ':', at - start);

    if (colon) {
        memset(colon + 1, '*', text + at - colon - 1);
    }
}


void
vpnws_url_free(vpnws_url_t *u)
{
    free(u->path);
    free(u->user);

    if (u->basic) {
        explicit_bzero(u->basic, strlen(u->basic));
        free(u->basic);
    }

    u->path = NULL;
    u->user = NULL;
    u->basic = NULL;
}


static int
vpnws_url_parse_parts(const char *text, vpnws_url_t *u, int proxy, char *err,
    size_t errlen)
{
    char            shown[VPNWS_ERRLEN / 2];
    size_t          len, hlen, i;
    const char     *p, *auth, *end, *at, *host, *hend, *port;
    unsigned char   addr[16];

    memset(u, 0, sizeof(vpnws_url_t));

    vpnws_url_redact(text, shown, sizeof(shown));

    p = text;

    if (proxy) {

        if (strncmp(p, "http://", 7) == 0) {
            p += 7;

        } else if (strstr(p, "://") != NULL) {
            snprintf(err, errlen, "proxy \"%s\": only http:// proxies are "
                     "supported", shown);
            return -1;
        }

    } else if (strncmp(p, "ws://", 5) == 0) {
        p += 5;

    } else if (strncmp(p, "wss://", 6) == 0) {
        p += 6;
        u->tls = 1;

    } else {
        snprintf(err, errlen, "URL \"%s\": must start with ws:// or wss://",
                 shown);
        return -1;
    }

    auth = p;
    end = auth + strcspn(auth, "/?#");

    for (at = NULL, p = auth; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }

    if (at) {

        if (vpnws_url_userinfo(auth, at - auth, u) != 0) {
            snprintf(err, errlen, "URL \"%s\": bad user:password", shown);
            return -1;
        }

        auth = at + 1;
    }

    if (*auth == '[') {
        host = auth + 1;
        hend = memchr(host, ']', end - host);

        if (hend == NULL) {
            snprintf(err, errlen, "URL \"%s\": missing ']'", shown);
            return -1;
        }

        p = hend + 1;
        u->ipv6 = 1;

    } else {
        host = auth;
        hend = memchr(host, ':', end - host);
        hend = hend ? hend : end;
        p = hend;
    }

    hlen = hend - host;

    if (hlen == 0 || hlen >= VPNWS_HOST_LEN) {
        snprintf(err, errlen, "URL \"%s\": bad host", shown);
        return -1;
    }

    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';

    if (strspn(u->host, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%")
        != hlen)
    {
        snprintf(err, errlen, "URL \"%s\": bad host \"%s\"", shown, u->host);
        return -1;
    }

    if (u->ipv6) {

        if (inet_pton(AF_INET6, u->host, addr) != 1) {
            snprintf(err, errlen, "URL \"%s\": bad IPv6 address \"%s\"",
                     shown, u->host);
            return -1;
        }

        u->literal = 1;

    } else if (strchr(u->host, ':') != NULL) {
        snprintf(err, errlen, "URL \"%s\": IPv6 addresses need [brackets]",
                 shown);
        return -1;

    } else if (inet_pton(AF_INET, u->host, addr) == 1) {
        u->literal = 1;
    }

    if (p < end) {

        if (*p != ':') {
            snprintf(err, errlen, "URL \"%s\": garbage after the host", shown);
            return -1;
        }

        port = p + 1;
        len = end - port;

        if (len == 0 || len > 5 || strspn(port, "0123456789") < len
            || atoi(port) < 1 || atoi(port) > 65535)
        {
            snprintf(err, errlen, "URL \"%s\": bad port", shown);
            return -1;
        }

        snprintf(u->port, sizeof(u->port), "%d", atoi(port));

    } else {
        strcpy(u->port, proxy ? "1080" : u->tls ? "443" : "80");
    }

    if (u->ipv6) {
        snprintf(u->authority, sizeof(u->authority), "[%s]", u->host);

    } else {
        snprintf(u->authority, sizeof(u->authority), "%s", u->host);
    }

    if (proxy || strcmp(u->port, u->tls ? "443" : "80") != 0) {
        len = strlen(u->authority);
        snprintf(u->authority + len, sizeof(u->authority) - len, ":%s",
                 u->port);
    }

    /* the request target: path and query, never the fragment */
    len = strcspn(end, "#");

    for (i = 0; i < len; i++) {

        if ((unsigned char) end[i] <= 0x20 || end[i] == 0x7f) {
            snprintf(err, errlen, "URL \"%s\": spaces or control "
                     "characters in the path", shown);
            return -1;
        }
    }

    u->path = malloc(len + 2);

    if (u->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (len == 0 || end[0] != '/') {
        u->path[0] = '/';
        memcpy(u->path + 1, end, len);
        u->path[len + 1] = '\0';

    } else {
        memcpy(u->path, end, len);
        u->path[len] = '\0';
    }

    return 0;
}


int
vpnws_url_parse(const char *text, vpnws_url_t *u, int proxy, char *err,
    size_t errlen)
{
    if (vpnws_url_parse_parts(text, u, proxy, err, errlen) == 0) {
        return 0;
    }

    vpnws_url_free(u);

    return -1;
}


static int
vpnws_no_proxy(const char *host)
{
    char        *list, *item, *save, *c;
    size_t       hlen, ilen;
    const char  *env;
    int          match;

    env = getenv("no_proxy");

    if (env == NULL) {
        env = getenv("NO_PROXY");
    }

    if (env == NULL || *env == '\0') {
        return 0;
    }

    list = strdup(env);

    if (list == NULL) {
        return 0;
    }

    hlen = strlen(host);
    match = 0;

    for (item = strtok_r(list, ", ", &save);
         item && !match;
         item = strtok_r(NULL, ", ", &save))
    {
        if (strcmp(item, "*") == 0) {
            match = 1;
            break;
        }

        if (item[0] == '[') {
            /* "[::1]:8080" */
            item++;
            item[strcspn(item, "]")] = '\0';

        } else {
            c = strchr(item, ':');

            if (c && strchr(c + 1, ':') == NULL) {
                /* "host:port", but not a bare IPv6 address */
                *c = '\0';
            }
        }

        if (item[0] == '.') {
            item++;
        }

        ilen = strlen(item);

        if (ilen == 0 || ilen > hlen) {
            continue;
        }

        if (strcasecmp(host + hlen - ilen, item) == 0
            && (ilen == hlen || host[hlen - ilen - 1] == '.'))
        {
            match = 1;
        }
    }

    free(list);

    return match;
}


int
vpnws_proxy_from_env(vpnws_conf_t *conf, char *err, size_t errlen)
{
    const char  *env;

    if (conf->url.tls) {
        env = getenv("https_proxy");
        env = env ? env : getenv("HTTPS_PROXY");

    } else {
        env = getenv("http_proxy");
        env = env ? env : getenv("HTTP_PROXY");
    }

    if (env == NULL || *env == '\0' || vpnws_no_proxy(conf->url.host)) {
        return 0;
    }

    if (vpnws_url_parse(env, &conf->proxy, 1, err, errlen) != 0) {
        return -1;
    }

    conf->use_proxy = 1;

    return 0;
}
