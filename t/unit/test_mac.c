/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_mac.c and the inline helpers of vpnws_mac.h.
 */


#include <ctype.h>

#include "tap.h"
#include "vpnws_mac.h"


typedef struct {
    const char  *in;
    int          rc;
    uint8_t      mac[VPNWS_MAC_LEN];
} mac_case_t;


static const mac_case_t  parse_cases[] = {
    { "00:00:00:00:00:00", 0, { 0, 0, 0, 0, 0, 0 } },
    { "ff:ff:ff:ff:ff:ff", 0, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
    { "FF:FF:FF:FF:FF:FF", 0, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
    { "aa:bb:cc:dd:ee:ff", 0, { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } },
    { "AA:BB:CC:DD:EE:FF", 0, { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } },
    { "aA:Bb:cC:Dd:eE:Ff", 0, { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } },
    { "01:23:45:67:89:ab", 0, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab } },
    { "01-23-45-67-89-AB", 0, { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab } },
    { "02-00-5e-10-00-01", 0, { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 } },
    { "33:33:00:00:00:01", 0, { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 } },

    /* mixed separators */
    { "01:23-45:67:89:ab", -1, { 0 } },
    { "01-23:45-67-89-ab", -1, { 0 } },
    { "01:23:45:67:89-ab", -1, { 0 } },
    /* other separators */
    { "01.23.45.67.89.ab", -1, { 0 } },
    { "01 23 45 67 89 ab", -1, { 0 } },
    { "01_23_45_67_89_ab", -1, { 0 } },
    /* not hex */
    { "g1:23:45:67:89:ab", -1, { 0 } },
    { "01:23:45:67:89:aG", -1, { 0 } },
    { "0x:23:45:67:89:ab", -1, { 0 } },
    { "01:23:45:67:89:a ", -1, { 0 } },
    { " 1:23:45:67:89:ab", -1, { 0 } },
    { "+1:23:45:67:89:ab", -1, { 0 } },
    { "01::3:45:67:89:ab", -1, { 0 } },
    /* wrong shape, right length */
    { "0123:45:67:89:abc", -1, { 0 } },
    { ":01:23:45:67:89:a", -1, { 0 } },
    { "012:3:45:67:89:ab", -1, { 0 } },
    { "0123456789abcdef0", -1, { 0 } },
    { "xxxxxxxxxxxxxxxxx", -1, { 0 } },
    { "::::::::::::::::::", -1, { 0 } },
    /* wrong length */
    { "", -1, { 0 } },
    { "0:1:2:3:4:5", -1, { 0 } },
    { "01:23:45:67:89:ab:", -1, { 0 } },
    { "01:23:45:67:89:abc", -1, { 0 } },
    { "001:23:45:67:89:ab", -1, { 0 } },
    { "0123456789ab", -1, { 0 } },
};


static int
ref_valid(const char *s)
{
    size_t  i;
    char    sep;

    sep = s[2];

    if (sep != ':' && sep != '-') {
        return 0;
    }

    for (i = 0; i < VPNWS_MAC_STR_LEN; i++) {
        if (i % 3 == 2) {
            if (s[i] != sep) {
                return 0;
            }

        } else if (!isxdigit((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


static void
test_parse_table(void)
{
    int       rc;
    size_t    i;
    uint8_t   mac[VPNWS_MAC_LEN];

    for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        memset(mac, 0x5a, sizeof(mac));
        rc = vpnws_mac_parse(parse_cases[i].in, strlen(parse_cases[i].in),
                             mac);
        is_int(rc, parse_cases[i].rc, "parse \"%s\" -> %d",
               parse_cases[i].in, parse_cases[i].rc);

        if (parse_cases[i].rc == 0) {
            is_mem(mac, parse_cases[i].mac, VPNWS_MAC_LEN,
                   "parse \"%s\" bytes", parse_cases[i].in);
        }
    }
}


static void
test_parse_truncated(void)
{
    int          fail;
    size_t       len;
    uint8_t      mac[VPNWS_MAC_LEN];
    const char  *good[] = { "aa:bb:cc:dd:ee:ff", "01-23-45-67-89-AB" };
    size_t       g;

    for (g = 0; g < 2; g++) {
        fail = 0;

        for (len = 0; len < VPNWS_MAC_STR_LEN; len++) {
            if (vpnws_mac_parse(good[g], len, mac) != -1) {
                diag("\"%.*s\" (len %zu) accepted", (int) len, good[g], len);
                fail++;
            }
        }

        ok(fail == 0, "\"%s\" truncated at every byte is refused", good[g]);
    }

    /* len counts, not the NUL: the 17 bytes of a longer buffer parse */
    is_int(vpnws_mac_parse("01:23:45:67:89:abXYZ", 17, mac), 0,
           "parse uses exactly len bytes (trailing garbage ignored)");
    is_int(vpnws_mac_parse("01:23:45:67:89:abX", 18, mac), -1,
           "18 bytes refused");
    is_int(vpnws_mac_parse("01:23:45:67:89:ab\0", 18, mac), -1,
           "17 bytes and a NUL counted in len refused");
}


/* every byte value at every position against a reference parser */
static void
test_parse_every_byte(void)
{
    int       rc, exp, fail;
    char      s[VPNWS_MAC_STR_LEN + 1];
    size_t    pos;
    unsigned  c, sepi;
    uint8_t   mac[VPNWS_MAC_LEN];
    const char  *base[] = { "a0:b1:c2:d3:e4:f5", "A0-B1-C2-D3-E4-F5" };

    for (sepi = 0; sepi < 2; sepi++) {
        fail = 0;

        for (pos = 0; pos < VPNWS_MAC_STR_LEN; pos++) {
            for (c = 0; c < 256; c++) {
                memcpy(s, base[sepi], sizeof(s));
                s[pos] = (char) c;

                exp = ref_valid(s) ? 0 : -1;
                rc = vpnws_mac_parse(s, VPNWS_MAC_STR_LEN, mac);

                if (rc != exp) {
                    if (fail++ < 5) {
                        diag("byte 0x%02x at %zu: got %d, expected %d", c,
                             pos, rc, exp);
                    }
                }
            }
        }

        ok(fail == 0, "every byte at every position of \"%s\" matches the"
           " reference parser", base[sepi]);
    }
}


static void
test_format(void)
{
    int          fail;
    char         out[VPNWS_MAC_STR_LEN + 2];
    size_t       i;
    unsigned     b;
    uint8_t      mac[VPNWS_MAC_LEN], back[VPNWS_MAC_LEN];
    static const struct {
        uint8_t      mac[VPNWS_MAC_LEN];
        const char  *text;
    } cases[] = {
        { { 0, 0, 0, 0, 0, 0 }, "00:00:00:00:00:00" },
        { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, "FF:FF:FF:FF:FF:FF" },
        { { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff }, "AA:BB:CC:DD:EE:FF" },
        { { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab }, "01:23:45:67:89:AB" },
        { { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a }, "02:00:5E:10:00:0A" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(out, 'Z', sizeof(out));
        vpnws_mac_format(cases[i].mac, out);
        is_str(out, cases[i].text, "format %s", cases[i].text);
        is_int(out[VPNWS_MAC_STR_LEN + 1], 'Z',
               "format %s writes exactly 18 bytes", cases[i].text);
    }

    /* round trip of every byte value at every position */
    fail = 0;

    for (i = 0; i < VPNWS_MAC_LEN; i++) {
        for (b = 0; b < 256; b++) {
            memset(mac, 0x42, sizeof(mac));
            mac[i] = (uint8_t) b;
            vpnws_mac_format(mac, out);

            if (strlen(out) != VPNWS_MAC_STR_LEN
                || vpnws_mac_parse(out, strlen(out), back) != 0
                || memcmp(mac, back, VPNWS_MAC_LEN) != 0)
            {
                fail++;
            }
        }
    }

    ok(fail == 0, "format/parse round trip of every byte at every position");
}


static void
test_predicates(void)
{
    static const struct {
        uint8_t  mac[VPNWS_MAC_LEN];
        int      zero, group, bcast;
    } cases[] = {
        { { 0, 0, 0, 0, 0, 0 }, 1, 0, 0 },
        { { 0, 0, 0, 0, 0, 1 }, 0, 0, 0 },
        { { 0x80, 0, 0, 0, 0, 0 }, 0, 0, 0 },
        { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0, 1, 1 },
        { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe }, 0, 1, 0 },
        { { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff }, 0, 0, 0 },
        { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, 0, 1, 0 },
        { { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }, 0, 1, 0 },
        { { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 }, 0, 1, 0 },
        { { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }, 0, 0, 0 },
        { { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 0, 0, 0 },
    };
    size_t   i;
    char     text[VPNWS_MAC_STR_LEN + 1];
    uint8_t  other[VPNWS_MAC_LEN];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpnws_mac_format(cases[i].mac, text);
        is_int(vpnws_mac_is_zero(cases[i].mac) != 0, cases[i].zero,
               "is_zero(%s)", text);
        is_int(vpnws_mac_is_group(cases[i].mac) != 0, cases[i].group,
               "is_group(%s)", text);
        is_int(vpnws_mac_is_broadcast(cases[i].mac) != 0, cases[i].bcast,
               "is_broadcast(%s)", text);
        ok(vpnws_mac_eq(cases[i].mac, cases[i].mac), "eq(%s, itself)", text);

        memcpy(other, cases[i].mac, VPNWS_MAC_LEN);
        other[i % VPNWS_MAC_LEN] ^= 0x10;
        ok(!vpnws_mac_eq(cases[i].mac, other), "!eq(%s, one bit off)", text);
    }
}


int
main(void)
{
    test_parse_table();
    test_parse_truncated();
    test_parse_every_byte();
    test_format();
    test_predicates();

    return done_testing();
}
