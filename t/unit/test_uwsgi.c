/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_uwsgi.c, the uwsgi request packet parser.
 */


#include "tap.h"
#include "vpnws_uwsgi.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))

#define OK     VPNWS_UWSGI_OK
#define AGAIN  VPNWS_UWSGI_AGAIN
#define ERR    VPNWS_UWSGI_ERROR


/* a packet builder: header then variables; returns the length */
typedef struct {
    uint8_t   b[VPNWS_UWSGI_MAX + 64];
    size_t    n;
} pkt_t;


static void
pkt_start(pkt_t *p, uint8_t m1, uint8_t m2)
{
    p->b[0] = m1;
    p->b[3] = m2;
    p->n = VPNWS_UWSGI_HLEN;
}


static void
pkt_u16(pkt_t *p, size_t v)
{
    p->b[p->n++] = (uint8_t) v;
    p->b[p->n++] = (uint8_t) (v >> 8);
}


static void
pkt_bytes(pkt_t *p, const void *s, size_t len)
{
    memcpy(p->b + p->n, s, len);
    p->n += len;
}


static void
pkt_var(pkt_t *p, const char *k, const char *v)
{
    pkt_u16(p, strlen(k));
    pkt_bytes(p, k, strlen(k));
    pkt_u16(p, strlen(v));
    pkt_bytes(p, v, strlen(v));
}


/* datasize from what was written */
static size_t
pkt_end(pkt_t *p)
{
    size_t  size = p->n - VPNWS_UWSGI_HLEN;

    p->b[1] = (uint8_t) size;
    p->b[2] = (uint8_t) (size >> 8);

    return p->n;
}


static int
var_is(const vpnws_uwsgi_packet_t *pk, const char *k, const char *v)
{
    const vpnws_uwsgi_var_t  *var;

    var = vpnws_uwsgi_get(pk, k);

    return var != NULL && var->value_len == strlen(v)
           && memcmp(var->value, v, var->value_len) == 0;
}


static void
test_valid(void)
{
    int                    rc, fail;
    pkt_t                  p;
    size_t                 n, k;
    vpnws_uwsgi_packet_t   pk;

    /* no variables */
    pkt_start(&p, 0, 0);
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.len == 4 && pk.size == 0 && pk.nvars == 0
       && pk.error == NULL, "header only: OK, len 4, no variables");

    /* a request as nginx's uwsgi_pass sends it */
    pkt_start(&p, 0, 0);
    pkt_var(&p, "REQUEST_METHOD", "GET");
    pkt_var(&p, "REQUEST_URI", "/vpn");
    pkt_var(&p, "HTTP_UPGRADE", "websocket");
    pkt_var(&p, "HTTP_SEC_WEBSOCKET_KEY", "dGhlIHNhbXBsZSBub25jZQ==");
    pkt_var(&p, "HTTP_X_VPN_WS_MAC", "02:00:00:00:00:0a");
    pkt_var(&p, "REMOTE_ADDR", "192.0.2.7");
    pkt_var(&p, "REMOTE_USER", "");
    pkt_var(&p, "PATH", "/a");
    n = pkt_end(&p);

    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.len == n && pk.size == n - 4 && pk.nvars == 8,
       "8 variables: OK, len %zu", n);
    ok(var_is(&pk, "REQUEST_METHOD", "GET")
       && var_is(&pk, "HTTP_SEC_WEBSOCKET_KEY", "dGhlIHNhbXBsZSBub25jZQ==")
       && var_is(&pk, "REMOTE_ADDR", "192.0.2.7"),
       "get() finds variables with their values");
    ok(var_is(&pk, "REMOTE_USER", ""), "an empty value");
    ok(vpnws_uwsgi_get(&pk, "request_method") == NULL,
       "get() is exact-case");
    ok(vpnws_uwsgi_get(&pk, "PATH_INFO") == NULL
       && vpnws_uwsgi_get(&pk, "PAT") == NULL && var_is(&pk, "PATH", "/a"),
       "get() matches whole names only");
    ok(vpnws_uwsgi_get(&pk, "") == NULL, "get(\"\") finds nothing");
    ok(pk.vars[0].key == p.b + 6 && pk.vars[0].value == p.b + 6 + 14 + 2,
       "variables point into the buffer");

    /* every truncation waits for more */
    fail = 0;

    for (k = 0; k < n; k++) {
        if (vpnws_uwsgi_parse(&pk, p.b, k, VPNWS_UWSGI_MAX) != AGAIN) {
            diag("%zu bytes: not AGAIN", k);
            fail++;
        }
    }

    ok(fail == 0, "truncated at every byte: AGAIN");

    /* bytes after the packet are left alone */
    memset(p.b + n, 0xee, 40);
    rc = vpnws_uwsgi_parse(&pk, p.b, n + 40, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.len == n && pk.nvars == 8,
       "trailing bytes: OK, len is the packet's");

    /* modifiers and the little-endian size */
    pkt_start(&p, 0x11, 0x22);
    pkt_var(&p, "K", "");
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.modifier1 == 0x11 && pk.modifier2 == 0x22 && pk.size == 5,
       "modifier1, modifier2, size");

    pkt_start(&p, 0, 0);
    pkt_var(&p, "X", "");
    pkt_u16(&p, 1);
    pkt_bytes(&p, "Y", 1);
    pkt_u16(&p, 249);
    memset(p.b + p.n, 'v', 249);
    p.n += 249;
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && p.b[1] == 0x03 && p.b[2] == 0x01 && pk.size == 0x103
       && pk.nvars == 2 && pk.vars[1].value_len == 249,
       "datasize 0x0103 read little-endian, value length 249");

    /* binary keys and values */
    pkt_start(&p, 0, 0);
    pkt_u16(&p, 3);
    pkt_bytes(&p, "\0\xff\n", 3);
    pkt_u16(&p, 2);
    pkt_bytes(&p, "\0\0", 2);
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.nvars == 1 && pk.vars[0].key_len == 3
       && pk.vars[0].value_len == 2, "binary key and value");

    /* the biggest packet */
    pkt_start(&p, 0, 0);
    pkt_u16(&p, 1);
    pkt_bytes(&p, "B", 1);
    pkt_u16(&p, 65535 - 5);
    memset(p.b + p.n, 'b', 65535 - 5);
    p.n += 65535 - 5;
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && n == VPNWS_UWSGI_MAX && pk.size == 65535
       && pk.vars[0].value_len == 65530, "datasize 65535: OK");
}


typedef struct {
    const char  *name;
    uint8_t      data[32];      /* the variables */
    size_t       n;
} bad_case_t;


static const bad_case_t  bad_cases[] = {
    { "one byte of key length", { 0x01 }, 1 },
    { "empty key", { 0x00, 0x00, 0x00, 0x00 }, 4 },
    { "empty key, nothing after", { 0x00, 0x00 }, 2 },
    { "key past the end", { 0x05, 0x00, 'A', 'B' }, 4 },
    { "key length 0xffff", { 0xff, 0xff, 'A' }, 3 },
    { "no value length", { 0x01, 0x00, 'A' }, 3 },
    { "one byte of value length", { 0x01, 0x00, 'A', 0x00 }, 4 },
    { "value past the end", { 0x01, 0x00, 'A', 0x02, 0x00, 'x' }, 6 },
    { "value length big-endian", { 0x01, 0x00, 'A', 0x00, 0x01, 'x' }, 6 },
    { "good then one byte", { 0x01, 0x00, 'A', 0x00, 0x00, 0x07 }, 6 },
    { "good then empty key", { 0x01, 0x00, 'A', 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00 }, 9 },
};


static void
test_invalid(void)
{
    int                    rc, fail;
    pkt_t                  p;
    size_t                 i, n, k;
    vpnws_uwsgi_packet_t   pk;

    for (i = 0; i < nelem(bad_cases); i++) {
        pkt_start(&p, 0, 0);
        pkt_bytes(&p, bad_cases[i].data, bad_cases[i].n);
        n = pkt_end(&p);

        rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
        ok(rc == ERR && pk.error != NULL, "%s: error (%s)",
           bad_cases[i].name, pk.error ? pk.error : "-");

        fail = 0;

        for (k = 0; k < n; k++) {
            if (vpnws_uwsgi_parse(&pk, p.b, k, VPNWS_UWSGI_MAX) != AGAIN) {
                fail++;
            }
        }

        ok(fail == 0, "%s: AGAIN until the packet is complete",
           bad_cases[i].name);
    }

    /* max: as soon as the header is in */
    pkt_start(&p, 0, 0);
    pkt_var(&p, "KEY", "value");
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, n);
    ok(rc == OK, "packet of exactly max bytes: OK");
    rc = vpnws_uwsgi_parse(&pk, p.b, 4, n - 1);
    ok(rc == ERR && pk.error != NULL,
       "max - 1: error from the header alone (%s)", pk.error ? pk.error : "-");
    rc = vpnws_uwsgi_parse(&pk, p.b, 3, n - 1);
    ok(rc == AGAIN, "max - 1 but only 3 bytes: AGAIN");
    rc = vpnws_uwsgi_parse(&pk, p.b, 4, 3);
    ok(rc == ERR, "max below the header size: error");

    /* variables: 128 fit, 129 do not */
    pkt_start(&p, 0, 0);

    for (i = 0; i < VPNWS_UWSGI_MAX_VARS; i++) {
        pkt_var(&p, "V", "");
    }

    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == OK && pk.nvars == VPNWS_UWSGI_MAX_VARS, "128 variables: OK");

    pkt_var(&p, "W", "");
    n = pkt_end(&p);
    rc = vpnws_uwsgi_parse(&pk, p.b, n, VPNWS_UWSGI_MAX);
    ok(rc == ERR && pk.error != NULL, "129 variables: error (%s)",
       pk.error ? pk.error : "-");

    /* an error does not leave stale variables behind for get() */
    ok(pk.nvars <= VPNWS_UWSGI_MAX_VARS, "nvars within bounds after error");
    rc = vpnws_uwsgi_parse(&pk, p.b, 2, VPNWS_UWSGI_MAX);
    ok(rc == AGAIN && pk.nvars == 0 && vpnws_uwsgi_get(&pk, "V") == NULL,
       "AGAIN resets the variables");
}


int
main(void)
{
    test_valid();
    test_invalid();

    return done_testing();
}
