/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: an HTTP/1.x request head as a uwsgi packet.
 */


#include <string.h>
#include <strings.h>

#include "vpnws_http.h"
#include "vpnws_uwsgi.h"


#define VPNWS_HTTP_MAP_MAX  32      /* entries a map may have */


typedef struct {
    uint8_t            *buf;
    size_t              pos;
    size_t              max;
    uint32_t            nvars;
} vpnws_http_out_t;


#define vpnws_http_fail(code, text)                                           \
    do { res->status = (code); res->error = (text);                           \
         return VPNWS_HTTP_ERROR; } while (0)


/* RFC 9110 tchar */
static int
vpnws_http_tchar(uint8_t ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9'))
    {
        return 1;
    }

    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}


static const uint8_t *
vpnws_http_find(const uint8_t *p, const uint8_t *last, const char *s)
{
    size_t  len;

    len = strlen(s);

    for ( /* void */ ; (size_t) (last - p) >= len; p++) {
        if (memcmp(p, s, len) == 0) {
            return p;
        }
    }

    return NULL;
}


static void
vpnws_http_u16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t) (v & 0xff);
    p[1] = (uint8_t) ((v >> 8) & 0xff);
}


/*
 * One variable: prefix and key (with header = 1: upper case, '-' as '_'),
 * then the value.  -1 if it does not fit.
 */
static int
vpnws_http_put(vpnws_http_out_t *o, const char *prefix, const uint8_t *key,
    size_t klen, int header, const uint8_t *value, size_t vlen)
{
    size_t    plen, i;
    uint8_t  *p, ch;

    plen = strlen(prefix);

    if (o->nvars == VPNWS_UWSGI_MAX_VARS
        || plen + klen > 0xffff || vlen > 0xffff
        || o->max - o->pos < 4 + plen + klen + vlen)
    {
        return -1;
    }

    p = o->buf + o->pos;

    vpnws_http_u16(p, plen + klen);
    memcpy(p + 2, prefix, plen);

    for (i = 0; i < klen; i++) {
        ch = key[i];

        if (header) {
            ch = (ch == '-') ? '_' : (ch >= 'a' && ch <= 'z') ? ch - 32 : ch;
        }

        p[2 + plen + i] = ch;
    }

    vpnws_http_u16(p + 2 + plen + klen, vlen);
    memcpy(p + 4 + plen + klen, value, vlen);

    o->pos += 4 + plen + klen + vlen;
    o->nvars++;

    return 0;
}


#define vpnws_http_var(o, name, v, n)                                         \
    vpnws_http_put(o, "", (const uint8_t *) name, sizeof(name) - 1, 0, v, n)


/* "METHOD SP target SP HTTP/1.x": the five request variables */
static int
vpnws_http_request_line(vpnws_http_out_t *o, const uint8_t *p,
    const uint8_t *last, vpnws_http_result_t *res)
{
    const uint8_t  *method, *target, *query, *version;

    method = p;

    while (p < last && vpnws_http_tchar(*p)) {
        p++;
    }

    if (p == method || p == last || *p != ' ') {
        vpnws_http_fail(400, "invalid request method");
    }

    target = ++p;

    while (p < last && *p > ' ' && *p != 0x7f) {
        p++;
    }

    if (p == target || p == last || *p != ' ') {
        vpnws_http_fail(400, "invalid request target");
    }

    version = ++p;

    /* "HTTP/d.d": which versions may upgrade is vpnws_upgrade_check()'s */
    if (last - version != 8 || memcmp(version, "HTTP/", 5) != 0
        || version[5] < '0' || version[5] > '9' || version[6] != '.'
        || version[7] < '0' || version[7] > '9')
    {
        vpnws_http_fail(400, "invalid request line");
    }

    query = memchr(target, '?', (size_t) (version - 1 - target));

    if (vpnws_http_var(o, "REQUEST_METHOD", method,
                       (size_t) (target - 1 - method)) != 0
        || vpnws_http_var(o, "REQUEST_URI", target,
                          (size_t) (version - 1 - target)) != 0
        || vpnws_http_var(o, "PATH_INFO", target,
                          (size_t) ((query ? query : version - 1) - target))
           != 0
        || vpnws_http_var(o, "QUERY_STRING", query ? query + 1 : version,
                          query ? (size_t) (version - 2 - query) : 0) != 0
        || vpnws_http_var(o, "SERVER_PROTOCOL", version, 8) != 0)
    {
        vpnws_http_fail(431, "request too large for a uwsgi packet");
    }

    return VPNWS_HTTP_OK;
}


static int
vpnws_http_is(const uint8_t *name, size_t len, const char *s)
{
    return strlen(s) == len && strncasecmp((const char *) name, s, len) == 0;
}


/* one "Name: value" line at p[0..last) */
static int
vpnws_http_header(vpnws_http_out_t *o, const uint8_t *p, const uint8_t *last,
    const vpnws_http_map_t *map, size_t nmap, uint32_t *seen,
    vpnws_http_result_t *res)
{
    size_t          nlen, i;
    const char     *prefix;
    const uint8_t  *name, *value, *end;

    name = p;

    while (p < last && vpnws_http_tchar(*p)) {
        p++;
    }

    if (p == last || *p != ':') {
        vpnws_http_fail(400, (p == name && p < last && (*p == ' ' || *p == '\t'))
                             ? "obsolete header line folding"
                             : "invalid header name");
    }

    if (p == name) {
        vpnws_http_fail(400, "invalid header name");
    }

    nlen = (size_t) (p - name);

    for (value = p + 1; value < last && (*value == ' ' || *value == '\t');
         value++)
    {
        /* void */
    }

    for (end = last; end > value && (end[-1] == ' ' || end[-1] == '\t');
         end--)
    {
        /* void */
    }

    for (p = value; p < end; p++) {
        if ((*p < ' ' && *p != '\t') || *p == 0x7f) {
            vpnws_http_fail(400, "invalid header value");
        }
    }

    for (i = 0; i < nmap; i++) {
        if (!vpnws_http_is(name, nlen, map[i].header)) {
            continue;
        }

        if (*seen & (1u << i)) {
            vpnws_http_fail(400, "a mapped header appears twice");
        }

        *seen |= 1u << i;

        if (vpnws_http_put(o, "", (const uint8_t *) map[i].var,
                           strlen(map[i].var), 0, value,
                           (size_t) (end - value)) != 0)
        {
            vpnws_http_fail(431, "request too large for a uwsgi packet");
        }

        return VPNWS_HTTP_OK;
    }

    if (memchr(name, '_', nlen) != NULL) {
        return VPNWS_HTTP_OK;
    }

    /* CGI names these two without HTTP_ (a body is refused by the rules) */
    prefix = (vpnws_http_is(name, nlen, "Content-Length")
              || vpnws_http_is(name, nlen, "Content-Type")) ? "" : "HTTP_";

    if (vpnws_http_put(o, prefix, name, nlen, 1, value,
                       (size_t) (end - value)) != 0)
    {
        vpnws_http_fail(431, "too many or too large header fields");
    }

    return VPNWS_HTTP_OK;
}


int
vpnws_http_to_uwsgi(const uint8_t *buf, size_t n, uint8_t *out, size_t max,
    const vpnws_http_map_t *map, size_t nmap, vpnws_http_result_t *res)
{
    uint32_t           seen;
    const uint8_t     *p, *eol, *blank, *last;
    vpnws_http_out_t   o;

    res->status = 0;
    res->error = NULL;
    res->len = 0;

    last = buf + n;
    blank = vpnws_http_find(buf, last, "\r\n\r\n");

    if (blank == NULL) {
        return VPNWS_HTTP_AGAIN;
    }

    res->head_len = (size_t) (blank + 4 - buf);

    if (nmap > VPNWS_HTTP_MAP_MAX || max < VPNWS_UWSGI_HLEN) {
        vpnws_http_fail(400, "invalid header map");
    }

    o.buf = out;
    o.pos = VPNWS_UWSGI_HLEN;
    o.max = max < VPNWS_UWSGI_MAX ? max : VPNWS_UWSGI_MAX;
    o.nvars = 0;

    /* the request line ends at the first CRLF, at blank at the latest */
    eol = vpnws_http_find(buf, blank + 2, "\r\n");

    if (vpnws_http_request_line(&o, buf, eol, res) != VPNWS_HTTP_OK) {
        return VPNWS_HTTP_ERROR;
    }

    seen = 0;

    for (p = eol + 2; p < blank + 2; p = eol + 2) {
        eol = vpnws_http_find(p, blank + 2, "\r\n");

        if (vpnws_http_header(&o, p, eol, map, nmap, &seen, res)
            != VPNWS_HTTP_OK)
        {
            return VPNWS_HTTP_ERROR;
        }
    }

    out[0] = 0;
    vpnws_http_u16(out + 1, o.pos - VPNWS_UWSGI_HLEN);
    out[3] = 0;

    res->len = o.pos;

    return VPNWS_HTTP_OK;
}


int
vpnws_http_map_var_valid(const char *name)
{
    static const char  *own[] = {
        "REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING",
        "SERVER_PROTOCOL"
    };

    size_t  i;

    if (name[0] == '\0' || strncmp(name, "HTTP_", 5) == 0) {
        return -1;
    }

    for (i = 0; name[i]; i++) {
        if (!((name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'
              || (i > 0 && name[i] >= '0' && name[i] <= '9')))
        {
            return -1;
        }
    }

    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if (strcmp(name, own[i]) == 0) {
            return -1;
        }
    }

    return 0;
}


int
vpnws_http_map_header_valid(const char *name)
{
    size_t  i;

    for (i = 0; name[i]; i++) {
        if (!vpnws_http_tchar((uint8_t) name[i])) {
            return -1;
        }
    }

    return i > 0 ? 0 : -1;
}
