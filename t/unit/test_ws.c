/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_ws.c, the websocket codec.
 */


#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tap.h"
#include "vpnws_ws.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))


/* deterministic xorshift64* so a failure can be replayed */
static uint64_t  rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}


/* ---------------------------------------------------------------------- */
/* vpnws_ws_parse_header */


enum { OK = VPNWS_WS_OK, AGAIN = VPNWS_WS_AGAIN, ERR = VPNWS_WS_ERROR };

#define MK    0xde, 0xad, 0xbe, 0xef          /* a mask */
#define U64   UINT64_MAX

typedef struct {
    const char  *name;
    uint8_t      in[16];
    size_t       n;             /* bytes of in */
    uint64_t     max;           /* max_payload */
    int          rc;
    /* OK */
    uint64_t     len;
    size_t       hlen;
    int          opcode;
    int          fin;
    /* ERR: code, and fewest bytes that report it (fewer: AGAIN) */
    uint16_t     code;
    size_t       err_at;
} hdr_case_t;


static const hdr_case_t  hdr_cases[] = {
    /* 7-bit lengths */
    { "binary, empty", { 0x82, 0x00 }, 2, 1500, OK, 0, 2, 2, 1, 0, 0 },
    { "binary 1", { 0x82, 0x01 }, 2, 1500, OK, 1, 2, 2, 1, 0, 0 },
    { "binary 125", { 0x82, 0x7d }, 2, 1500, OK, 125, 2, 2, 1, 0, 0 },
    { "text 5", { 0x81, 0x05 }, 2, 1500, OK, 5, 2, 1, 1, 0, 0 },
    { "binary, no FIN", { 0x02, 0x05 }, 2, 1500, OK, 5, 2, 2, 0, 0, 0 },
    { "continuation", { 0x00, 0x05 }, 2, 1500, OK, 5, 2, 0, 0, 0, 0 },
    { "continuation, FIN", { 0x80, 0x05 }, 2, 1500, OK, 5, 2, 0, 1, 0, 0 },
    { "masked binary 5", { 0x82, 0x85, MK }, 6, 1500, OK, 5, 6, 2, 1, 0, 0 },
    { "masked empty", { 0x82, 0x80, MK }, 6, 1500, OK, 0, 6, 2, 1, 0, 0 },
    { "original client ping", { 0x89, 0x00 }, 2, 1500, OK, 0, 2, 9, 1,
      0, 0 },
    { "masked ping 125", { 0x89, 0xfd, MK }, 6, 1500, OK, 125, 6, 9, 1,
      0, 0 },
    { "pong", { 0x8a, 0x00 }, 2, 1500, OK, 0, 2, 10, 1, 0, 0 },
    { "close 2", { 0x88, 0x02 }, 2, 1500, OK, 2, 2, 8, 1, 0, 0 },

    /* 16-bit lengths */
    { "16-bit 126", { 0x82, 0x7e, 0x00, 0x7e }, 4, 1500, OK, 126, 4, 2, 1,
      0, 0 },
    { "16-bit 1500", { 0x82, 0x7e, 0x05, 0xdc }, 4, 1500, OK, 1500, 4, 2,
      1, 0, 0 },
    { "16-bit 65535", { 0x82, 0x7e, 0xff, 0xff }, 4, 65535, OK, 65535, 4,
      2, 1, 0, 0 },
    { "16-bit, not minimal", { 0x82, 0x7e, 0x00, 0x05 }, 4, 1500, OK, 5, 4,
      2, 1, 0, 0 },
    { "masked 16-bit 256", { 0x82, 0xfe, 0x01, 0x00, MK }, 8, 1500, OK,
      256, 8, 2, 1, 0, 0 },
    { "16-bit 1501 > max", { 0x82, 0x7e, 0x05, 0xdd }, 4, 1500, ERR, 0, 0,
      0, 0, VPNWS_WS_CLOSE_TOO_BIG, 4 },
    { "masked 16-bit > max", { 0x82, 0xfe, 0x05, 0xdd, MK }, 8, 1500, ERR,
      0, 0, 0, 0, VPNWS_WS_CLOSE_TOO_BIG, 8 },

    /* 64-bit lengths */
    { "64-bit 65536", { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 }, 10, U64, OK,
      65536, 10, 2, 1, 0, 0 },
    { "64-bit 2^32", { 0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0 }, 10, U64, OK,
      0x100000000ULL, 10, 2, 1, 0, 0 },
    { "64-bit 2^63-1", { 0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff }, 10, U64, OK, 0x7fffffffffffffffULL, 10, 2, 1, 0, 0 },
    { "masked 64-bit", { 0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x23, 0x45, MK }, 14,
      U64, OK, 0x12345, 14, 2, 1, 0, 0 },
    { "64-bit, not minimal", { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 7 }, 10,
      1500, OK, 7, 10, 2, 1, 0, 0 },
    { "64-bit with MSB", { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1 }, 10, U64,
      ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_PROTOCOL, 10 },
    { "64-bit all ones", { 0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff }, 10, U64, ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_PROTOCOL, 10 },
    { "masked 64-bit with MSB", { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1,
      MK }, 14, U64, ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_PROTOCOL, 14 },
    { "64-bit 65536 > max", { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 }, 10,
      65535, ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_TOO_BIG, 10 },
    { "64-bit 2^32+5 > max", { 0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 5 }, 10,
      1500, ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_TOO_BIG, 10 },

    /* max_payload boundaries */
    { "7-bit = max", { 0x82, 0x0a }, 2, 10, OK, 10, 2, 2, 1, 0, 0 },
    { "7-bit > max", { 0x82, 0x0b }, 2, 10, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_TOO_BIG, 2 },
    { "masked 7-bit > max", { 0x82, 0x8b, MK }, 6, 10, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_TOO_BIG, 6 },
    { "max 0, empty ok", { 0x82, 0x00 }, 2, 0, OK, 0, 2, 2, 1, 0, 0 },
    { "max 0, 1 byte", { 0x82, 0x01 }, 2, 0, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_TOO_BIG, 2 },

    /* RSV bits */
    { "RSV1", { 0xc2, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "RSV2", { 0xa2, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "RSV3", { 0x92, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "RSV all, masked 16-bit", { 0xf2, 0xfe, 0x01, 0x00, MK }, 8, 1500,
      ERR, 0, 0, 0, 0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "RSV1 on ping", { 0xc9, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },

    /* reserved opcodes */
    { "opcode 3", { 0x83, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 4", { 0x84, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 5", { 0x85, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 6", { 0x86, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 7, no FIN", { 0x07, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 0xb", { 0x8b, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 0xc", { 0x8c, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 0xd", { 0x8d, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 0xe", { 0x8e, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "opcode 0xf, masked", { 0x8f, 0x80, MK }, 6, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },

    /* control frames */
    { "ping 126 (16-bit)", { 0x89, 0x7e, 0x00, 0x7e }, 4, 1500, ERR, 0, 0,
      0, 0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "close 16-bit 5", { 0x88, 0x7e, 0x00, 0x05 }, 4, 1500, ERR, 0, 0, 0,
      0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "pong 64-bit", { 0x8a, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1 }, 10, 1500, ERR,
      0, 0, 0, 0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "masked ping 126", { 0x89, 0xfe, 0x00, 0x7e, MK }, 8, 1500, ERR, 0, 0,
      0, 0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "fragmented ping", { 0x09, 0x00 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "fragmented close", { 0x08, 0x02 }, 2, 1500, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "fragmented pong, masked", { 0x0a, 0x80, MK }, 6, 1500, ERR, 0, 0, 0,
      0, VPNWS_WS_CLOSE_PROTOCOL, 2 },
    { "ping 100 > max 50", { 0x89, 0x64 }, 2, 50, ERR, 0, 0, 0, 0,
      VPNWS_WS_CLOSE_TOO_BIG, 2 },
};


static void
test_parse_header(void)
{
    int                  rc, fail;
    size_t               i, k;
    uint16_t             code;
    const char          *error;
    vpnws_ws_frame_t     f;
    const hdr_case_t    *c;

    for (i = 0; i < nelem(hdr_cases); i++) {
        c = &hdr_cases[i];

        memset(&f, 0xa5, sizeof(f));
        code = 0;
        error = NULL;

        rc = vpnws_ws_parse_header(c->in, c->n, c->max, &f, &code, &error);

        if (c->rc == OK) {
            if (!is_int(rc, OK, "%s: OK", c->name)) {
                diag("    error: %s (%u)", error ? error : "-", code);
                continue;
            }

            ok(f.len == c->len && f.hlen == c->hlen && f.opcode == c->opcode
               && f.fin == c->fin && f.masked == (c->in[1] >> 7)
               && (!f.masked || memcmp(f.mask, c->in + c->hlen - 4, 4) == 0),
               "%s: len %llu hlen %zu opcode %d fin %d masked %d", c->name,
               (unsigned long long) c->len, c->hlen, c->opcode, c->fin,
               c->in[1] >> 7);

            if (f.len != c->len || f.hlen != c->hlen) {
                diag("    got len %llu hlen %zu opcode %d fin %d",
                     (unsigned long long) f.len, f.hlen, f.opcode, f.fin);
            }

            /* the payload need not be there yet; the header must */
            fail = 0;

            for (k = 0; k < c->hlen; k++) {
                if (vpnws_ws_parse_header(c->in, k, c->max, &f, &code, &error)
                    != AGAIN)
                {
                    diag("    %zu bytes: not AGAIN", k);
                    fail++;
                }
            }

            ok(fail == 0, "%s: truncated at every byte -> AGAIN", c->name);

        } else {
            ok(rc == ERR && code == c->code && error != NULL,
               "%s: error %u (%s)", c->name, c->code, error ? error : "-");

            if (rc != ERR || code != c->code) {
                diag("    got rc %d code %u", rc, code);
            }

            fail = 0;

            for (k = 0; k < c->n; k++) {
                code = 0;
                rc = vpnws_ws_parse_header(c->in, k, c->max, &f, &code,
                                           &error);

                if (k < c->err_at ? rc != AGAIN
                                  : (rc != ERR || code != c->code))
                {
                    diag("    %zu bytes: rc %d code %u", k, rc, code);
                    fail++;
                }
            }

            ok(fail == 0, "%s: AGAIN below %zu bytes, the error from then on",
               c->name, c->err_at);
        }
    }
}


/* every opcode, with and without FIN, against the RFC's rules */
static void
test_parse_opcodes(void)
{
    int                rc, exp, fail;
    uint8_t            in[2];
    unsigned           b0;
    uint16_t           code;
    const char        *error;
    vpnws_ws_frame_t   f;

    fail = 0;

    for (b0 = 0; b0 < 256; b0++) {
        in[0] = (uint8_t) b0;
        in[1] = 0x03;

        if (b0 & 0x70) {
            exp = ERR;

        } else {
            switch (b0 & 0x0f) {
            case 0: case 1: case 2:
                exp = OK;
                break;
            case 8: case 9: case 10:
                exp = (b0 & 0x80) ? OK : ERR;
                break;
            default:
                exp = ERR;
            }
        }

        code = 0;
        rc = vpnws_ws_parse_header(in, 2, 1500, &f, &code, &error);

        if (rc != exp || (rc == ERR && code != VPNWS_WS_CLOSE_PROTOCOL)) {
            diag("first byte 0x%02x: rc %d code %u, expected %d", b0, rc,
                 code, exp);
            fail++;
        }
    }

    ok(fail == 0, "all 256 first bytes: RSV, opcode and FIN rules");
}


/* ---------------------------------------------------------------------- */
/* a recording handler for vpnws_ws_read */


#define EV_MAX  64

typedef struct {
    int          type;          /* 'M' message, 'C' control */
    int          opcode;
    size_t       len;
    uint8_t     *data;
} event_t;


typedef struct {
    event_t      ev[EV_MAX];
    int          n;
    int          messages;
    int          stop_message;  /* this message (1-based) returns -1 */
    int          stop_control;  /* this opcode's control returns -1 */
    int          frag_fail;     /* frag_alloc returns NULL */
    size_t       frag_size;
    int          allocs;
    int          frees;
    uint8_t     *live;          /* the frag buffer out */
} rec_t;


static void
rec_log(rec_t *rc, int type, int opcode, const uint8_t *data, size_t len)
{
    event_t  *e;

    if (rc->n == EV_MAX) {
        return;
    }

    e = &rc->ev[rc->n++];
    e->type = type;
    e->opcode = opcode;
    e->len = len;
    e->data = malloc(len ? len : 1);

    if (len) {
        memcpy(e->data, data, len);
    }
}


static int
rec_message(void *ctx, uint8_t *data, size_t len)
{
    rec_t  *rc = ctx;

    rec_log(rc, 'M', 0, data, len);
    rc->messages++;

    /* the buffer is writable: the switch may rewrite a frame in place */
    if (len) {
        data[0] ^= 0;
    }

    return (rc->messages == rc->stop_message) ? -1 : 0;
}


static int
rec_control(void *ctx, int opcode, uint8_t *data, size_t len)
{
    rec_t  *rc = ctx;

    rec_log(rc, 'C', opcode, data, len);

    return (opcode == rc->stop_control) ? -1 : 0;
}


static uint8_t *
rec_frag_alloc(void *ctx)
{
    rec_t  *rc = ctx;

    if (rc->frag_fail) {
        return NULL;
    }

    if (rc->live != NULL) {
        diag("frag_alloc while a buffer is out");
    }

    rc->allocs++;
    /* exactly max_payload bytes: ASan catches any overrun */
    rc->live = malloc(rc->frag_size ? rc->frag_size : 1);

    return rc->live;
}


static void
rec_frag_free(void *ctx, uint8_t *buf)
{
    rec_t  *rc = ctx;

    if (buf != rc->live) {
        diag("frag_free of a buffer not handed out");
    }

    rc->frees++;
    rc->live = NULL;
    free(buf);
}


static const vpnws_ws_handler_t  rec_handler = {
    rec_message, rec_control, rec_frag_alloc, rec_frag_free
};


static void
rec_init(rec_t *rc, vpnws_ws_reader_t *r, uint64_t max)
{
    memset(rc, 0, sizeof(rec_t));
    memset(r, 0, sizeof(vpnws_ws_reader_t));
    r->max_payload = max;
    rc->frag_size = (size_t) max;
}


static void
rec_free(rec_t *rc, vpnws_ws_reader_t *r)
{
    int  i;

    vpnws_ws_reader_reset(r, &rec_handler, rc);

    for (i = 0; i < rc->n; i++) {
        free(rc->ev[i].data);
    }

    rc->n = 0;
}


/* a frame as a peer sends it; b0 = FIN | RSV | opcode */
static size_t
mk_frame(uint8_t *out, int b0, const void *payload, size_t len,
    const uint8_t *mask)
{
    size_t  n, i;

    out[0] = (uint8_t) b0;
    n = 2;

    if (len < 126) {
        out[1] = (uint8_t) len;

    } else if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t) (len >> 8);
        out[3] = (uint8_t) len;
        n = 4;

    } else {
        out[1] = 127;

        for (i = 0; i < 8; i++) {
            out[2 + i] = (uint8_t) ((uint64_t) len >> (56 - 8 * i));
        }

        n = 10;
    }

    if (mask) {
        out[1] |= 0x80;
        memcpy(out + n, mask, 4);
        n += 4;
    }

    for (i = 0; i < len; i++) {
        out[n + i] = ((const uint8_t *) payload)[i]
                     ^ (mask ? mask[i & 3] : 0);
    }

    return n + len;
}


typedef struct {
    int              type;
    int              opcode;
    const uint8_t   *data;
    size_t           len;
} expect_t;


static int
events_match(const rec_t *rc, const expect_t *exp, int nexp, const char *what)
{
    int  i;

    if (rc->n != nexp) {
        diag("%s: %d events, expected %d", what, rc->n, nexp);
        return 0;
    }

    for (i = 0; i < nexp; i++) {
        if (rc->ev[i].type != exp[i].type
            || rc->ev[i].opcode != exp[i].opcode
            || rc->ev[i].len != exp[i].len
            || (exp[i].len && memcmp(rc->ev[i].data, exp[i].data, exp[i].len)))
        {
            diag("%s: event %d is %c/%d/%zu, expected %c/%d/%zu", what, i,
                 rc->ev[i].type, rc->ev[i].opcode, rc->ev[i].len,
                 exp[i].type, exp[i].opcode, exp[i].len);
            return 0;
        }
    }

    return 1;
}


static const uint8_t  mask1[4] = { 0x37, 0xfa, 0x21, 0x3d };
static const uint8_t  mask2[4] = { 0x00, 0xff, 0x80, 0x01 };


/* ---------------------------------------------------------------------- */
/* vpnws_ws_read */


static void
test_read_basic(void)
{
    rec_t               rc;
    size_t              n, f1, f2, f3;
    ssize_t             got;
    uint8_t             buf[4096], pay[300];
    vpnws_ws_reader_t   r;
    expect_t            exp[4];

    for (n = 0; n < sizeof(pay); n++) {
        pay[n] = (uint8_t) (n * 7 + 1);
    }

    /* nothing */
    rec_init(&rc, &r, 1500);
    got = vpnws_ws_read(&r, buf, 0, &rec_handler, &rc);
    ok(got == 0 && rc.n == 0, "empty buffer: 0 consumed, no callback");
    rec_free(&rc, &r);

    /* several frames in one buffer, a partial last one */
    rec_init(&rc, &r, 1500);
    f1 = mk_frame(buf, 0x82, "hello", 5, mask1);
    f2 = f1 + mk_frame(buf + f1, 0x89, NULL, 0, NULL);
    f3 = f2 + mk_frame(buf + f2, 0x81, pay, 300, mask2);
    n = f3 + mk_frame(buf + f3, 0x82, pay, 200, mask1);

    got = vpnws_ws_read(&r, buf, n - 1, &rec_handler, &rc);
    is_int(got, f3, "three frames and a partial one: the three consumed");

    exp[0] = (expect_t) { 'M', 0, (const uint8_t *) "hello", 5 };
    exp[1] = (expect_t) { 'C', VPNWS_WS_OP_PING, NULL, 0 };
    exp[2] = (expect_t) { 'M', 0, pay, 300 };
    exp[3] = (expect_t) { 'M', 0, pay, 200 };
    ok(events_match(&rc, exp, 3, "three frames"),
       "masked binary, unmasked ping, masked text: unmasked and delivered");

    got = vpnws_ws_read(&r, buf + f3, n - f3, &rec_handler, &rc);
    is_int(got, n - f3, "the partial frame, completed, is consumed");
    ok(events_match(&rc, exp, 4, "fourth frame"), "and delivered");

    for (n = f3 + 1; n < f3 + 200 + 4 + 4; n++) {
        if (vpnws_ws_read(&r, buf + f3, n - f3, &rec_handler, &rc) != 0) {
            break;
        }
    }

    is_int(n, f3 + 200 + 4 + 4, "every partial length of a frame: 0");
    is_int(rc.n, 4, "and no callback");
    is_int(r.stopped, 0, "not stopped");
    ok(r.error == NULL, "no error");
    rec_free(&rc, &r);

    /* an empty data message */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x82, NULL, 0, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, NULL, 0 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "empty"),
       "empty masked binary message delivered with len 0");
    rec_free(&rc, &r);

    /* the biggest frame */
    rec_init(&rc, &r, 300);
    n = mk_frame(buf, 0x82, pay, 300, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, pay, 300 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "max"),
       "a frame of exactly max_payload is delivered");
    rec_free(&rc, &r);

    /* one byte more: 1009, even before the payload arrives */
    rec_init(&rc, &r, 299);
    n = mk_frame(buf, 0x82, pay, 300, mask1);
    got = vpnws_ws_read(&r, buf, 8, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_TOO_BIG && r.error && rc.n == 0,
       "max_payload + 1: -1, 1009 from the header alone");
    rec_free(&rc, &r);

    /* close frames from both ends */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x88, "\x03\xe8" "bye", 5, mask2);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'C', VPNWS_WS_OP_CLOSE,
                          (const uint8_t *) "\x03\xe8" "bye", 5 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "close"),
       "masked close: control callback with the unmasked payload");
    rec_free(&rc, &r);

    /* a protocol error after good frames: they were delivered */
    rec_init(&rc, &r, 1500);
    f1 = mk_frame(buf, 0x82, "abc", 3, mask1);
    n = f1 + mk_frame(buf + f1, 0xc2, "abc", 3, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, (const uint8_t *) "abc", 3 };
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && r.error
       && events_match(&rc, exp, 1, "rsv"),
       "RSV1 after a good frame: the frame delivered, then -1, 1002 (%s)",
       r.error ? r.error : "-");
    is_int(r.stopped, 0, "an error is not a stop");
    rec_free(&rc, &r);
}


static void
test_read_fragments(void)
{
    rec_t               rc;
    size_t              n;
    ssize_t             got;
    uint8_t             buf[4096], pay[2000];
    vpnws_ws_reader_t   r;
    expect_t            exp[4];

    for (n = 0; n < sizeof(pay); n++) {
        pay[n] = (uint8_t) (n * 13 + 5);
    }

    /* three fragments, a PING and a PONG between them */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x02, pay, 3, mask1);
    n += mk_frame(buf + n, 0x89, "p", 1, mask2);
    n += mk_frame(buf + n, 0x00, pay + 3, 3, NULL);
    n += mk_frame(buf + n, 0x8a, NULL, 0, mask1);
    n += mk_frame(buf + n, 0x80, pay + 6, 2, mask2);

    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'C', VPNWS_WS_OP_PING, (const uint8_t *) "p", 1 };
    exp[1] = (expect_t) { 'C', VPNWS_WS_OP_PONG, NULL, 0 };
    exp[2] = (expect_t) { 'M', 0, pay, 8 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 3, "fragments"),
       "fragments with PING and PONG between: controls first, then one"
       " reassembled message");
    ok(rc.allocs == 1 && rc.frees == 1 && r.frag == NULL && !r.frag_active,
       "one reassembly buffer taken and given back");
    rec_free(&rc, &r);

    /* the same, one frame per call */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x01, pay, 100, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == (ssize_t) n && rc.n == 0 && r.frag_active,
       "first text fragment alone: consumed, no message yet");
    n = mk_frame(buf, 0x00, pay + 100, 1000, mask2);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == (ssize_t) n && rc.n == 0, "middle fragment: no message yet");
    n = mk_frame(buf, 0x80, pay + 1100, 400, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, pay, 1500 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "3 calls"),
       "last fragment: a message of exactly max_payload (1500)");

    /* the reader is reusable afterwards */
    n = mk_frame(buf, 0x82, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[1] = (expect_t) { 'M', 0, pay, 10 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 2, "after"),
       "a plain message after a fragmented one");
    rec_free(&rc, &r);

    /* one byte too many across fragments */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x02, pay, 1000, mask1);
    n += mk_frame(buf + n, 0x80, pay, 501, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_TOO_BIG && r.error && rc.n == 0,
       "fragments summing to max_payload + 1: -1, 1009 (%s)",
       r.error ? r.error : "-");
    rec_free(&rc, &r);
    is_int(rc.frees, rc.allocs, "reader_reset gives the buffer back");

    /* fragments, each within max, many of them */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x02, pay, 100, mask1);

    for (got = 0; got < 14; got++) {
        n += mk_frame(buf + n, 0x00, pay + 100 + got * 100, 100, mask2);
    }

    n += mk_frame(buf + n, 0x80, NULL, 0, mask2);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, pay, 1500 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "16 fragments"),
       "16 fragments (last one empty) reassembled to 1500 bytes");
    rec_free(&rc, &r);

    /* continuation without a start */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x80, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && r.error && rc.n == 0
       && !r.stopped, "continuation without a start: -1, 1002 (%s)",
       r.error ? r.error : "-");
    rec_free(&rc, &r);

    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x00, pay, 10, NULL);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && rc.n == 0,
       "non-FIN continuation without a start: -1, 1002");
    rec_free(&rc, &r);

    /* a continuation after a complete message */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x82, pay, 10, mask1);
    n += mk_frame(buf + n, 0x80, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && rc.n == 1,
       "continuation after a complete message: -1, 1002");
    rec_free(&rc, &r);

    /* a new message inside a fragmented one */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x02, pay, 10, mask1);
    n += mk_frame(buf + n, 0x82, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && r.error && rc.n == 0,
       "new message inside a fragmented one: -1, 1002 (%s)",
       r.error ? r.error : "-");
    rec_free(&rc, &r);
    is_int(rc.frees, rc.allocs, "reader_reset gives the buffer back");

    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x01, pay, 10, mask1);
    n += mk_frame(buf + n, 0x02, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_PROTOCOL && rc.n == 0,
       "non-FIN message inside a fragmented one: -1, 1002");
    rec_free(&rc, &r);

    /* no memory for reassembly */
    rec_init(&rc, &r, 1500);
    rc.frag_fail = 1;
    n = mk_frame(buf, 0x02, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.code == VPNWS_WS_CLOSE_INTERNAL && r.error && rc.n == 0,
       "frag_alloc fails: -1, 1011 (%s)", r.error ? r.error : "-");
    rec_free(&rc, &r);

    /* a reassembly buffer the host handed over before: no frag_alloc */
    rec_init(&rc, &r, 1500);
    rc.live = malloc(1500);
    r.frag = rc.live;
    n = mk_frame(buf, 0x02, pay, 10, mask1);
    n += mk_frame(buf + n, 0x80, pay + 10, 5, mask2);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, pay, 15 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "preset")
       && rc.allocs == 0 && rc.frees == 1 && r.frag == NULL,
       "a preset reader->frag is used, then given back through frag_free");
    rec_free(&rc, &r);

    /* reset in the middle of a message */
    rec_init(&rc, &r, 1500);
    n = mk_frame(buf, 0x02, pay, 10, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    vpnws_ws_reader_reset(&r, &rec_handler, &rc);
    ok(got == (ssize_t) n && rc.allocs == 1 && rc.frees == 1 && r.frag == NULL
       && !r.frag_active, "reader_reset mid-message frees the buffer");
    n = mk_frame(buf, 0x82, pay, 4, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    exp[0] = (expect_t) { 'M', 0, pay, 4 };
    ok(got == (ssize_t) n && events_match(&rc, exp, 1, "after reset"),
       "after reset a new message is accepted");
    rec_free(&rc, &r);
}


static void
test_read_stop(void)
{
    rec_t               rc;
    size_t              n;
    ssize_t             got;
    uint8_t             buf[4096];
    vpnws_ws_reader_t   r;

    /* the message callback stops reading */
    rec_init(&rc, &r, 1500);
    rc.stop_message = 2;
    n = mk_frame(buf, 0x82, "one", 3, mask1);
    n += mk_frame(buf + n, 0x82, "two", 3, mask1);
    n += mk_frame(buf + n, 0x82, "three", 5, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.stopped && r.error == NULL && rc.n == 2,
       "message callback -1: read returns -1, stopped, nothing after it");
    rec_free(&rc, &r);

    /* a control callback stops reading (CLOSE) */
    rec_init(&rc, &r, 1500);
    rc.stop_control = VPNWS_WS_OP_CLOSE;
    n = mk_frame(buf, 0x89, "a", 1, mask1);
    n += mk_frame(buf + n, 0x88, "\x03\xe8", 2, mask1);
    n += mk_frame(buf + n, 0x82, "after", 5, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.stopped && r.error == NULL && rc.n == 2,
       "control callback -1 on CLOSE: -1, stopped, nothing after it");
    rec_free(&rc, &r);

    /* stop on a reassembled message: the buffer still goes back */
    rec_init(&rc, &r, 1500);
    rc.stop_message = 1;
    n = mk_frame(buf, 0x02, "ab", 2, mask1);
    n += mk_frame(buf + n, 0x80, "cd", 2, mask1);
    n += mk_frame(buf + n, 0x82, "ef", 2, mask1);
    got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);
    ok(got == -1 && r.stopped && r.error == NULL && rc.n == 1
       && rc.allocs == 1 && rc.frees == 1 && r.frag == NULL,
       "stop on a reassembled message: stopped, buffer freed");
    rec_free(&rc, &r);
}


/* a long stream with every kind of frame, fed in random pieces */

typedef struct {
    uint8_t    *wire;
    size_t      wire_len;
    expect_t    exp[16];
    int         nexp;
    uint8_t    *big;
} stream_t;


static void
stream_build(stream_t *s, int with_big)
{
    size_t    n, i;
    uint8_t  *w;

    memset(s, 0, sizeof(stream_t));
    s->big = malloc(70000);

    for (i = 0; i < 70000; i++) {
        s->big[i] = (uint8_t) (i * 31 + (i >> 8));
    }

    s->wire = w = malloc(80000);
    n = 0;

#define EXP(t, o, d, l)                                                       \
    s->exp[s->nexp++] = (expect_t) { t, o, (const uint8_t *) (d), l }

    n += mk_frame(w + n, 0x82, "hello", 5, mask1);
    EXP('M', 0, "hello", 5);
    n += mk_frame(w + n, 0x89, NULL, 0, NULL);
    EXP('C', VPNWS_WS_OP_PING, NULL, 0);
    n += mk_frame(w + n, 0x81, s->big, 200, mask2);
    EXP('M', 0, s->big, 200);
    n += mk_frame(w + n, 0x02, s->big + 1000, 10, mask1);
    n += mk_frame(w + n, 0x89, "x", 1, mask1);
    EXP('C', VPNWS_WS_OP_PING, "x", 1);
    n += mk_frame(w + n, 0x00, NULL, 0, NULL);
    n += mk_frame(w + n, 0x80, s->big + 1010, 300, mask2);
    EXP('M', 0, s->big + 1000, 310);

    if (with_big) {
        n += mk_frame(w + n, 0x82, s->big, 70000, mask1);
        EXP('M', 0, s->big, 70000);
    }

    n += mk_frame(w + n, 0x8a, s->big + 5, 125, mask1);
    EXP('C', VPNWS_WS_OP_PONG, s->big + 5, 125);
    n += mk_frame(w + n, 0x82, s->big + 77, 14, NULL);
    EXP('M', 0, s->big + 77, 14);
    n += mk_frame(w + n, 0x88, "\x03\xe8" "bye", 5, mask2);
    EXP('C', VPNWS_WS_OP_CLOSE, "\x03\xe8" "bye", 5);

#undef EXP

    s->wire_len = n;
}


static void
stream_free(stream_t *s)
{
    free(s->wire);
    free(s->big);
}


/* feed s in pieces like a connection: unconsumed bytes move to the front */
static int
stream_feed(const stream_t *s, const size_t *cuts, int ncuts, const char *what)
{
    int                 i, good;
    rec_t               rc;
    size_t              have, from, to;
    ssize_t             got;
    uint8_t            *buf;
    vpnws_ws_reader_t   r;

    buf = malloc(s->wire_len);
    rec_init(&rc, &r, 100000);
    have = 0;
    from = 0;
    good = 1;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : s->wire_len;
        memcpy(buf + have, s->wire + from, to - from);
        have += to - from;
        from = to;

        got = vpnws_ws_read(&r, buf, have, &rec_handler, &rc);

        if (got < 0 || (size_t) got > have) {
            diag("%s: read returned %zd (%s)", what, got,
                 r.error ? r.error : "-");
            good = 0;
            break;
        }

        memmove(buf, buf + got, have - (size_t) got);
        have -= (size_t) got;
    }

    if (good && have != 0) {
        diag("%s: %zu bytes left over", what, have);
        good = 0;
    }

    if (good) {
        good = events_match(&rc, s->exp, s->nexp, what);
    }

    if (good && (rc.allocs != 1 || rc.frees != 1)) {
        diag("%s: %d allocs, %d frees", what, rc.allocs, rc.frees);
        good = 0;
    }

    rec_free(&rc, &r);
    free(buf);

    return good;
}


static void
test_read_splits(void)
{
    int        fail, i, k, ncuts;
    size_t     cut, cuts[64], *all;
    stream_t   s;

    stream_build(&s, 1);

    ok(stream_feed(&s, NULL, 0, "whole"), "the whole stream in one call");

    all = malloc(s.wire_len * sizeof(size_t));

    for (cut = 0; cut < s.wire_len; cut++) {
        all[cut] = cut;
    }

    ok(stream_feed(&s, all + 1, (int) s.wire_len - 1, "byte by byte"),
       "the stream byte by byte (%zu calls)", s.wire_len);
    free(all);

    fail = 0;

    for (i = 0; i < 300; i++) {
        ncuts = 1 + (int) (rng() % 40);
        cut = 0;

        for (k = 0; k < ncuts; k++) {
            /* mostly small steps near frame edges, sometimes big ones */
            cut += (rng() & 1) ? rng() % 20 : rng() % 8000;

            if (cut > s.wire_len) {
                cut = s.wire_len;
            }

            cuts[k] = cut;
        }

        if (!stream_feed(&s, cuts, ncuts, "random")) {
            fail++;
        }
    }

    ok(fail == 0, "300 random splits of the stream");
    stream_free(&s);

    /* every single split point of the stream without the big frame */
    stream_build(&s, 0);
    fail = 0;

    for (cut = 0; cut <= s.wire_len; cut++) {
        if (!stream_feed(&s, &cut, 1, "two pieces")) {
            fail++;
        }
    }

    ok(fail == 0, "every split point in two pieces (%zu)", s.wire_len + 1);
    stream_free(&s);
}


/* ---------------------------------------------------------------------- */
/* vpnws_ws_mask */


static void
test_mask(void)
{
    int       fail;
    size_t    len, off, align, i;
    uint8_t   mask[4], ref[80], got[88], orig[80];

    fail = 0;

    for (len = 0; len <= 70; len++) {
        for (off = 0; off < 8; off++) {
            for (align = 0; align < 8; align++) {
                for (i = 0; i < 4; i++) {
                    mask[i] = (uint8_t) rng();
                }

                for (i = 0; i < len; i++) {
                    orig[i] = (uint8_t) rng();
                    ref[i] = orig[i] ^ mask[(off + i) & 3];
                }

                memset(got, 0xcc, sizeof(got));
                memcpy(got + align, orig, len);
                vpnws_ws_mask(got + align, len, mask, off);

                if (memcmp(got + align, ref, len) != 0) {
                    if (fail++ < 5) {
                        diag("len %zu offset %zu align %zu differs", len, off,
                             align);
                    }
                }

                for (i = 0; i < sizeof(got); i++) {
                    if ((i < align || i >= align + len) && got[i] != 0xcc) {
                        if (fail++ < 5) {
                            diag("len %zu offset %zu align %zu: byte %zu"
                                 " outside touched", len, off, align, i);
                        }
                    }
                }

                /* masking twice restores the payload */
                vpnws_ws_mask(got + align, len, mask, off);

                if (memcmp(got + align, orig, len) != 0) {
                    fail++;
                }
            }
        }
    }

    ok(fail == 0, "word-wise mask equals byte-wise for lengths 0..70,"
       " offsets 0..7, every alignment; masking twice is the identity");

    /* masking in two pieces with the offset equals masking at once */
    fail = 0;

    for (len = 0; len <= 70; len++) {
        for (off = 0; off <= len; off++) {
            for (i = 0; i < len; i++) {
                orig[i] = (uint8_t) rng();
                ref[i] = orig[i] ^ mask1[i & 3];
            }

            memcpy(got, orig, len);
            vpnws_ws_mask(got, off, mask1, 0);
            vpnws_ws_mask(got + off, len - off, mask1, off);

            if (memcmp(got, ref, len) != 0) {
                fail++;
            }
        }
    }

    ok(fail == 0, "masking in two pieces (second at its offset) equals one"
       " pass");
}


/* ---------------------------------------------------------------------- */
/* vpnws_ws_header and vpnws_ws_close_frame */


static void
test_header(void)
{
    int                rc, fail;
    size_t             hlen, i, m, o;
    uint8_t            out[VPNWS_WS_MAX_HLEN + 2];
    uint16_t           code;
    const char        *error;
    vpnws_ws_frame_t   f;
    static const uint64_t  lens[] = {
        0, 1, 124, 125, 126, 127, 255, 256, 1500, 65534, 65535, 65536,
        65537, 0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL
    };
    static const int  ops[] = {
        VPNWS_WS_OP_BINARY, VPNWS_WS_OP_TEXT, VPNWS_WS_OP_CONT,
        VPNWS_WS_OP_CLOSE, VPNWS_WS_OP_PING, VPNWS_WS_OP_PONG
    };
    static const struct {
        int          op;
        uint64_t     len;
        int          masked;
        size_t       n;
        uint8_t      bytes[VPNWS_WS_MAX_HLEN];
    } vec[] = {
        { 2, 5, 0, 2, { 0x82, 0x05 } },
        { 2, 125, 0, 2, { 0x82, 0x7d } },
        { 2, 126, 0, 4, { 0x82, 0x7e, 0x00, 0x7e } },
        { 2, 65535, 0, 4, { 0x82, 0x7e, 0xff, 0xff } },
        { 2, 65536, 0, 10, { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 } },
        { 1, 5, 1, 6, { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d } },
        { 9, 0, 0, 2, { 0x89, 0x00 } },
        { 10, 0, 1, 6, { 0x8a, 0x80, 0x37, 0xfa, 0x21, 0x3d } },
        { 2, 1500, 1, 8, { 0x82, 0xfe, 0x05, 0xdc, 0x37, 0xfa, 0x21, 0x3d } },
        { 2, 0x0102030405060708ULL, 1, 14, { 0x82, 0xff, 1, 2, 3, 4, 5, 6, 7,
          8, 0x37, 0xfa, 0x21, 0x3d } },
    };

    for (i = 0; i < nelem(vec); i++) {
        memset(out, 0xee, sizeof(out));
        hlen = vpnws_ws_header(out, vec[i].op, vec[i].len,
                               vec[i].masked ? mask1 : NULL);
        ok(hlen == vec[i].n && memcmp(out, vec[i].bytes, hlen) == 0
           && out[hlen] == 0xee,
           "header op %d len %llu%s: %zu known bytes", vec[i].op,
           (unsigned long long) vec[i].len, vec[i].masked ? " masked" : "",
           vec[i].n);
    }

    fail = 0;

    for (o = 0; o < nelem(ops); o++) {
        for (i = 0; i < nelem(lens); i++) {
            if ((ops[o] & 8) && lens[i] > VPNWS_WS_MAX_CONTROL) {
                continue;
            }

            for (m = 0; m < 2; m++) {
                hlen = vpnws_ws_header(out, ops[o], lens[i],
                                       m ? mask2 : NULL);
                rc = vpnws_ws_parse_header(out, hlen, UINT64_MAX, &f, &code,
                                           &error);

                if (rc != OK || f.hlen != hlen || f.len != lens[i]
                    || f.opcode != ops[o] || !f.fin || f.masked != m
                    || (m && memcmp(f.mask, mask2, 4) != 0)
                    || hlen > VPNWS_WS_MAX_HLEN)
                {
                    if (fail++ < 5) {
                        diag("op %d len %llu masked %zu: rc %d", ops[o],
                             (unsigned long long) lens[i], m, rc);
                    }
                }

                /* and one byte less is not a header yet */
                if (vpnws_ws_parse_header(out, hlen - 1, UINT64_MAX, &f,
                                          &code, &error) != AGAIN)
                {
                    fail++;
                }
            }
        }
    }

    ok(fail == 0, "vpnws_ws_header round-trips through the parser for every"
       " opcode, length form and mask");
}


static void
test_close_frame(void)
{
    rec_t               rc;
    char                longr[300];
    size_t              n;
    ssize_t             got;
    uint8_t             buf[VPNWS_WS_CLOSE_FRAME + 16];
    uint8_t             expect[VPNWS_WS_MAX_CONTROL];
    vpnws_ws_reader_t   r;
    expect_t            exp[1];
    static const struct {
        uint16_t     code;
        const char  *reason;
    } cases[] = {
        { VPNWS_WS_CLOSE_NORMAL, NULL },
        { VPNWS_WS_CLOSE_NORMAL, "" },
        { VPNWS_WS_CLOSE_GOING_AWAY, "server going down" },
        { VPNWS_WS_CLOSE_PROTOCOL, "reserved opcode" },
        { VPNWS_WS_CLOSE_TOO_BIG, "frame too big" },
        { 4999, "x" },
    };
    size_t   i, m, rlen;

    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';

    for (i = 0; i <= nelem(cases); i++) {
        for (m = 0; m < 2; m++) {
            const char  *reason;
            uint16_t     code;

            if (i < nelem(cases)) {
                reason = cases[i].reason;
                code = cases[i].code;

            } else {
                reason = longr;
                code = VPNWS_WS_CLOSE_POLICY;
            }

            rlen = reason ? strlen(reason) : 0;

            if (rlen > VPNWS_WS_MAX_CONTROL - 2) {
                rlen = VPNWS_WS_MAX_CONTROL - 2;
            }

            memset(buf, 0xee, sizeof(buf));
            n = vpnws_ws_close_frame(buf, code, reason, m ? mask1 : NULL);

            rec_init(&rc, &r, 1500);
            got = vpnws_ws_read(&r, buf, n, &rec_handler, &rc);

            expect[0] = (uint8_t) (code >> 8);
            expect[1] = (uint8_t) code;
            memcpy(expect + 2, reason ? reason : "", rlen);
            exp[0] = (expect_t) { 'C', VPNWS_WS_OP_CLOSE, expect, 2 + rlen };

            ok(got == (ssize_t) n && n <= VPNWS_WS_CLOSE_FRAME
               && buf[n] == 0xee && events_match(&rc, exp, 1, "close"),
               "close frame %u \"%.20s%s\"%s round-trips (%zu bytes)", code,
               reason ? reason : "(null)", rlen > 20 ? "..." : "",
               m ? " masked" : "", n);
            rec_free(&rc, &r);
        }
    }

    n = vpnws_ws_close_frame(buf, 1000, longr, mask1);
    is_int(n, VPNWS_WS_CLOSE_FRAME, "a masked close with a long reason"
           " fills VPNWS_WS_CLOSE_FRAME exactly");
}


static void
test_close_codes(void)
{
    size_t  i;
    static const struct {
        const char  *payload;
        size_t       len;
        uint16_t     code;
    } codes[] = {
        { "", 0, VPNWS_WS_CLOSE_NO_STATUS },
        { "\x03", 1, VPNWS_WS_CLOSE_NO_STATUS },
        { "\x03\xe8", 2, 1000 },
        { "\x03\xe9" "going away", 12, 1001 },
        { "\x0f\xa0", 2, 4000 },
        { "\xff\xff", 2, 65535 },
        { "\x00\x00", 2, 0 },
    };
    static const struct {
        uint16_t  code;
        uint16_t  reply;
    } replies[] = {
        { 1000, 1000 }, { 1001, 1001 }, { 1002, 1002 }, { 1003, 1003 },
        { 1007, 1007 }, { 1008, 1008 }, { 1009, 1009 }, { 1010, 1010 },
        { 1011, 1011 }, { 1012, 1012 }, { 1013, 1013 }, { 1014, 1014 },
        { 3000, 3000 }, { 3999, 3999 }, { 4000, 4000 }, { 4999, 4999 },
        /* reserved, or never on the wire (RFC 6455 7.4.1): malformed */
        { 1004, 1002 }, { 1005, 1002 }, { 1006, 1002 }, { 1015, 1002 },
        { 1016, 1002 }, { 1100, 1002 }, { 2000, 1002 }, { 2999, 1002 },
        /* out of range */
        { 0, 1002 }, { 999, 1002 }, { 5000, 1002 }, { 65535, 1002 },
    };
    uint8_t  p[3];

    for (i = 0; i < nelem(codes); i++) {
        is_int(vpnws_ws_close_code((const uint8_t *) codes[i].payload,
                                   codes[i].len),
               codes[i].code, "close_code of %zu payload bytes: %u",
               codes[i].len, codes[i].code);
    }

    is_int(vpnws_ws_close_reply((const uint8_t *) "", 0), 1000,
           "close_reply to an empty CLOSE: 1000");
    is_int(vpnws_ws_close_reply((const uint8_t *) "\x03", 1), 1002,
           "close_reply to a one-byte CLOSE: 1002");

    for (i = 0; i < nelem(replies); i++) {
        p[0] = (uint8_t) (replies[i].code >> 8);
        p[1] = (uint8_t) replies[i].code;
        p[2] = 'x';
        is_int(vpnws_ws_close_reply(p, 2 + (i & 1)), replies[i].reply,
               "close_reply to %u: %u", replies[i].code, replies[i].reply);
    }
}


/* ---------------------------------------------------------------------- */
/* handshake helpers */


static void
test_key_valid(void)
{
    size_t  i;
    char    k[80];
    static const struct {
        const char  *key;
        int          rc;
    } cases[] = {
        { "dGhlIHNhbXBsZSBub25jZQ==", 0 },      /* RFC 6455 1.3 */
        { "x3JJHMbDL1EzLkh9GBhXDw==", 0 },      /* RFC 6455 4.1 style */
        { "AQIDBAUGBwgJAA==", 0 },              /* the original client: */
        { "q83vASNFZ4mrzQ==", 0 },              /* base64 of 10 bytes */
        { "AAAAAAAAAAAAAA==", 0 },
        { "////////////////", 0 },
        { "++++++++++++++++", 0 },
        { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          0 },                                  /* 64: the maximum */
        { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          -1 },                                 /* 65 */
        { "AQIDBAUGBwgJA==", -1 },              /* 15 */
        { "", -1 },
        { "dGhlIHNhbXBsZSBub25jZQ=", 0 },       /* one '=' is fine */
        { "dGhlIHNhbXBsZSBub25jZ===", -1 },     /* three '=' */
        { "dGhlIHNhbXBsZSBub2=5jZQ", -1 },      /* '=' inside */
        { "=dGhlIHNhbXBsZSBub25jZQ", -1 },
        { "dGhlIHNhbXBsZSBub25jZQ =", -1 },     /* space */
        { "dGhlIHNhbXBsZSBub25jZQ-_", -1 },     /* base64url */
        { "dGhlIHNhbXBsZSBub25jZQ\r\n", -1 },
        { "dGhlIHNhbXBs\0ZSBub25jZQ==", -1 },
        { "dGhlIHNhbXBsZSBub25jZQ:)", -1 },
    };

    for (i = 0; i < nelem(cases); i++) {
        /* the 0 byte case needs its real length */
        size_t  len = (i == nelem(cases) - 2) ? 24 : strlen(cases[i].key);

        char    shown[80];
        size_t  k;

        for (k = 0; k < len && k < sizeof(shown) - 1; k++) {
            shown[k] = (cases[i].key[k] >= 0x20 && cases[i].key[k] < 0x7f)
                       ? cases[i].key[k] : '?';
        }

        shown[k] = '\0';

        is_int(vpnws_ws_key_valid(cases[i].key, len), cases[i].rc,
               "key \"%s\" (%zu) -> %d", shown, len, cases[i].rc);
    }

    /* the key is exactly len bytes: no NUL needed, trailing bytes ignored */
    memcpy(k, "dGhlIHNhbXBsZSBub25jZQ==garbage!", 32);
    is_int(vpnws_ws_key_valid(k, 24), 0, "key of a longer buffer, len 24");
}


static void
test_accept(void)
{
    char           in[VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN + 1];
    char           b64[64];
    size_t         n;
    unsigned char  md[SHA_DIGEST_LENGTH];
    const char    *key = "dGhlIHNhbXBsZSBub25jZQ==";

    memset(in, 0, sizeof(in));
    n = vpnws_ws_accept_input(key, strlen(key), in);
    is_int(n, 24 + 36, "accept input is key + GUID long");
    is_str(in, "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
           "accept input is key then GUID");

    SHA1((const unsigned char *) in, n, md);
    EVP_EncodeBlock((unsigned char *) b64, md, SHA_DIGEST_LENGTH);
    /* RFC 6455 section 1.3 */
    is_str(b64, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
           "SHA-1 + base64 gives RFC 6455's Sec-WebSocket-Accept");

    /* the original client's 16-character key */
    memset(in, 0, sizeof(in));
    n = vpnws_ws_accept_input("AQIDBAUGBwgJAA==", 16, in);
    is_int(n, 16 + 36, "16-character key: 52 bytes of input");
    is_str(in, "AQIDBAUGBwgJAA==258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
           "16-character key + GUID");

    /* the longest key fits the documented buffer */
    memset(in, 'Z', sizeof(in));
    memset(b64, 'A', VPNWS_WS_KEY_MAX);
    n = vpnws_ws_accept_input(b64, VPNWS_WS_KEY_MAX, in);
    ok(n == VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN
       && in[VPNWS_WS_KEY_MAX + VPNWS_WS_GUID_LEN] == 'Z',
       "64-character key: exactly key + GUID bytes written");
}


int
main(void)
{
    test_parse_header();
    test_parse_opcodes();
    test_read_basic();
    test_read_fragments();
    test_read_stop();
    test_read_splits();
    test_mask();
    test_header();
    test_close_frame();
    test_close_codes();
    test_key_valid();
    test_accept();

    return done_testing();
}
