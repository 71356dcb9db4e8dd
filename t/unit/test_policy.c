/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_policy.c, src/vpnws_limit.c,
 * src/vpnws_guard.c and their rules in src/vpnws_switch.c.
 */


#include "tap.h"
#include "vpnws_policy.h"
#include "switch.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))
#define S(s)      s, sizeof(s) - 1


/* ---------------------------------------------------------------------- */
/* rates */


typedef struct {
    const char  *text;
    int          rc;
    uint64_t     rate;
    uint64_t     burst;
    uint32_t     flood;
} rate_case_t;


static const rate_case_t  rate_cases[] = {
    { "", 0, 0, 0, 0 },
    { "off", 0, 0, 0, 0 },
    { "10m", 0, 10485760, 1310720, 0 },
    { "10m burst=1m", 0, 10485760, 1048576, 0 },
    { "burst=1m 10M", 0, 10485760, 1048576, 0 },
    { "  100k\tflood=50 ", 0, 102400, 65536, 50 },
    { "flood=100", 0, 0, 0, 100 },
    { "1g burst=2g flood=1000000", 0, 1073741824, 2147483648ULL, 1000000 },
    { "1024g", 0, 1ULL << 40, 1ULL << 37, 0 },
    { "1025g", -1, 0, 0, 0 },
    { "1023", -1, 0, 0, 0 },
    { "1k", 0, 1024, 65536, 0 },
    { "10m burst=1023", -1, 0, 0, 0 },
    { "burst=1m", -1, 0, 0, 0 },
    { "10m 20m", -1, 0, 0, 0 },
    { "10m burst=1m burst=2m", -1, 0, 0, 0 },
    { "flood=0", -1, 0, 0, 0 },
    { "flood=1000001", -1, 0, 0, 0 },
    { "flood=10 flood=20", -1, 0, 0, 0 },
    { "flood=", -1, 0, 0, 0 },
    { "burst=", -1, 0, 0, 0 },
    { "10x", -1, 0, 0, 0 },
    { "m", -1, 0, 0, 0 },
    { "-10m", -1, 0, 0, 0 },
    { "99999999999999m", -1, 0, 0, 0 },
    { "18446744073709551617", -1, 0, 0, 0 },
    { "OFF", -1, 0, 0, 0 },
    { "10m,burst=1m", -1, 0, 0, 0 },
};


static void
test_rate_parse(void)
{
    size_t              i;
    const char         *err;
    vpnws_rate_t        r;
    const rate_case_t  *c;
    char                text[VPNWS_RATE_TEXT_LEN];
    vpnws_rate_t        back;

    for (i = 0; i < nelem(rate_cases); i++) {
        c = &rate_cases[i];
        err = NULL;

        if (c->rc == 0) {
            ok(vpnws_rate_parse(c->text, strlen(c->text), &r, &err) == 0
               && r.rate == c->rate && r.burst == c->burst
               && r.flood == c->flood && r.flood_burst == c->flood,
               "rate \"%s\": %llu burst=%llu flood=%u", c->text,
               (unsigned long long) c->rate, (unsigned long long) c->burst,
               c->flood);

            /* what status shows parses back to the same limits */
            (void) vpnws_rate_format(&r, text);
            ok(vpnws_rate_parse(text, strlen(text), &back, &err) == 0
               && memcmp(&back, &r, sizeof(r)) == 0,
               "rate \"%s\" formats as \"%s\", which parses back",
               c->text, text);

        } else {
            ok(vpnws_rate_parse(c->text, strlen(c->text), &r, &err) == -1
               && err != NULL, "rate \"%s\" refused: %s", c->text,
               err ? err : "(no reason)");
        }
    }
}


/* ---------------------------------------------------------------------- */
/* token buckets */


static void
test_limit(void)
{
    size_t         got, total;
    uint64_t       now, w;
    unsigned       i, passed;
    vpnws_rate_t   r;
    vpnws_limit_t  l;
    const char    *err;

    (void) vpnws_rate_parse(S("1m burst=100k"), &r, &err);
    vpnws_limit_init(&l, &r, 1000);

    ok(vpnws_limit_on(&l), "limit on with a rate");
    is_int(vpnws_limit_room(&l, 1000, 1 << 30), 102400,
           "a full bucket: burst bytes may come");
    vpnws_limit_charge(&l, 102400);
    is_int(vpnws_limit_room(&l, 1000, 65536), 0, "empty: pause");
    w = vpnws_limit_wait(&l, 1000);
    ok(w >= 9 && w <= 11, "wait until a 10 ms quantum is back (%llu ms)",
       (unsigned long long) w);
    is_int(vpnws_limit_room(&l, 1000 + w, 1 << 30) >= 10485, 1,
           "after the wait, a quantum may come");

    /* a sender that always has data gets the rate over 10 s, not more */
    vpnws_limit_init(&l, &r, 0);
    total = 0;

    for (now = 0; now <= 10000; now++) {
        got = vpnws_limit_room(&l, now, 1 << 20);
        vpnws_limit_charge(&l, got);
        total += got;
    }

    ok(total >= 10 * 1048576 && total <= 10 * 1048576 + 102400 + 1048,
       "10 s of reads at 1m burst=100k: %zu bytes", total);

    /* debt: a host that read more than room waits it off */
    vpnws_limit_init(&l, &r, 0);
    vpnws_limit_charge(&l, 102400 + 1048576);
    w = vpnws_limit_wait(&l, 0);
    ok(w >= 1000 && w <= 1011, "a second of debt waits a second (%llu)",
       (unsigned long long) w);

    /* the flood bucket: flood=100 passes 100 at once, then 1 per 10 ms */
    (void) vpnws_rate_parse(S("flood=100"), &r, &err);
    vpnws_limit_init(&l, &r, 5000);
    passed = 0;

    for (i = 0; i < 1000; i++) {
        passed += vpnws_limit_flood(&l, 5000) == 0;
    }

    is_int(passed, 100, "flood=100: a burst of 100 frames passes");
    is_int(vpnws_limit_room(&l, 5000, 100), 0,
           "an empty flood bucket pauses the port");
    is_int(vpnws_limit_wait(&l, 5000), 10, "for 10 ms");
    is_int(vpnws_limit_room(&l, 5010, 100), 100,
           "no byte rate: anything may come after it");
    is_int(vpnws_limit_room(&l, 5010, 65536), 4096,
           "but with one flood left, a few frames' worth, not a buffer");

    passed = 0;

    for (now = 5010; now < 6010; now++) {
        passed += vpnws_limit_flood(&l, now) == 0;
        passed += vpnws_limit_flood(&l, now) == 0;
    }

    ok(passed >= 99 && passed <= 101, "then 100 per second (%u)", passed);

    /* toward the port: policed, burst then the rate, one frame of debt */
    (void) vpnws_rate_parse(S("1m burst=100k"), &r, &err);
    vpnws_limit_init(&l, &r, 0);
    passed = 0;

    for (i = 0; i < 200; i++) {
        passed += vpnws_limit_send(&l, 0, 1000) == 0;
    }

    is_int(passed, 103, "send: 100k of burst, 1000-byte frames: 103 pass");
    total = 0;

    for (now = 1; now <= 10000; now++) {
        total += vpnws_limit_send(&l, now, 1000) == 0 ? 1000 : 0;
        total += vpnws_limit_send(&l, now, 1000) == 0 ? 1000 : 0;
    }

    ok(total >= 10 * 1048576 - 1000 && total <= 10 * 1048576 + 2000,
       "send: 10 s at 1m: %zu bytes pass", total);
    vpnws_limit_init(&l, &r, 0);
    ok(vpnws_limit_send(&l, 0, 1 << 20) == 0
       && vpnws_limit_send(&l, 0, 64) == -1,
       "send: a super-frame over burst passes once, then the debt drops");

    /* off: nothing limited, never paused */
    (void) vpnws_rate_parse(S("off"), &r, &err);
    vpnws_limit_init(&l, &r, 0);
    ok(!vpnws_limit_on(&l) && vpnws_limit_room(&l, 0, 12345) == 12345
       && vpnws_limit_flood(&l, 0) == 0 && vpnws_limit_wait(&l, 0) == 0
       && vpnws_limit_send(&l, 0, 1 << 30) == 0,
       "off limits nothing");

    /* a clock far ahead does not overflow the bucket */
    (void) vpnws_rate_parse(S("1024g flood=1000000"), &r, &err);
    vpnws_limit_init(&l, &r, 0);
    vpnws_limit_charge(&l, 1);
    ok(vpnws_limit_room(&l, UINT64_MAX / 2, SIZE_MAX) == (size_t) r.burst,
       "a year-long idle refills to burst, no overflow");
}


/* ---------------------------------------------------------------------- */
/* guards */


static const uint8_t  PEER[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t  OTHER[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t  BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t  IP_A[4] = { 10, 0, 0, 2 };
static const uint8_t  IP_GW[4] = { 10, 0, 0, 1 };
static const uint8_t  IP_0[4] = { 0, 0, 0, 0 };


typedef struct {
    uint8_t     b[256];
    size_t      len;
} frame_t;


static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}


static uint8_t *
eth(frame_t *f, const uint8_t *dst, unsigned type, unsigned tags)
{
    uint8_t  *p;

    memset(f, 0, sizeof(frame_t));
    memcpy(f->b, dst, 6);
    memcpy(f->b + 6, PEER, 6);
    p = f->b + 12;

    while (tags--) {
        put16(p, tags ? 0x88a8 : 0x8100);
        put16(p + 2, 42);
        p += 4;
    }

    put16(p, type);

    return p + 2;
}


static void
ip4(frame_t *f, const uint8_t *src, unsigned proto, unsigned sport,
    unsigned dport, unsigned tags, unsigned frag)
{
    uint8_t  *p;

    p = eth(f, BCAST, 0x0800, tags);
    p[0] = 0x45;
    put16(p + 6, frag);
    p[8] = 64;
    p[9] = (uint8_t) proto;
    memcpy(p + 12, src, 4);
    memset(p + 16, 0xff, 4);
    put16(p + 20, sport);
    put16(p + 22, dport);
    f->len = (size_t) (p - f->b) + 20 + 8 + 20;
}


static void
arp(frame_t *f, const uint8_t *sha, const uint8_t *spa)
{
    uint8_t  *p;

    p = eth(f, BCAST, 0x0806, 0);
    put16(p, 1);
    put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    put16(p + 6, 2);
    memcpy(p + 8, sha, 6);
    memcpy(p + 14, spa, 4);
    memcpy(p + 24, IP_A, 4);
    f->len = (size_t) (p - f->b) + 28;
}


/* IPv6 with the extension headers in exts (0-terminated), then upper */
static void
ip6(frame_t *f, const unsigned *exts, unsigned upper, unsigned a,
    unsigned b, unsigned frag_off)
{
    uint8_t   *p, *h, *next;
    unsigned   i;

    p = eth(f, BCAST, 0x86dd, 0);
    p[0] = 0x60;
    next = p + 6;
    h = p + 40;

    for (i = 0; exts && exts[i]; i++) {
        *next = (uint8_t) (exts[i] == 1000 ? 0 : exts[i]);
        next = h;

        if (exts[i] == 44) {
            put16(h + 2, frag_off << 3);
            h += 8;

        } else if (exts[i] == 51) {
            h[1] = 1;       /* (1 + 2) * 4 = 12 bytes */
            h += 12;

        } else {
            h[1] = 1;       /* (1 + 1) * 8 = 16 bytes */
            h += 16;
        }
    }

    *next = (uint8_t) upper;

    if (upper == 58) {
        h[0] = (uint8_t) a;
        h += 16;

    } else {
        put16(h, a);
        put16(h + 2, b);
        h += 8;
    }

    f->len = (size_t) (h - f->b);
}


#define ALL  (VPNWS_GUARD_DHCP | VPNWS_GUARD_RA | VPNWS_GUARD_IP)


static void
guard_is(unsigned guards, vpnws_guard_state_t *g, frame_t *f,
    vpnws_guard_verdict_t want, const char *name)
{
    size_t                 n;
    vpnws_guard_verdict_t  v;
    uint8_t                copy[256];
    vpnws_guard_state_t    gc;
    int                    bad;

    v = vpnws_guard_frame(guards, g, f->b, f->len);
    is_int(v, want, "guard: %s", name);

    /* the frame cut short at every byte: never read past it (ASan) */
    bad = 0;

    for (n = 0; n < f->len; n++) {
        gc = *g;
        memcpy(copy + sizeof(copy) - n, f->b, n);
        v = vpnws_guard_frame(guards, &gc, copy + sizeof(copy) - n, n);
        bad += (v > VPNWS_GUARD_UNPARSED);
    }

    is_int(bad, 0, "guard: %s, cut at every byte", name);
}


static void
test_guard(void)
{
    frame_t              f;
    vpnws_guard_state_t  g;
    uint8_t              ip[4];
    char                 text[VPNWS_GUARD_IP4_LEN];
    static const unsigned  hbh[] = { 1000, 0 };
    static const unsigned  many[] = { 1000, 60, 43, 51, 0 };
    static const unsigned  frag[] = { 44, 0 };
    static const unsigned  deep[] = { 60, 60, 60, 60, 60, 60, 60, 60, 60,
                                      0 };

    memset(&g, 0, sizeof(g));

    /* DHCP */
    ip4(&f, IP_0, 17, 68, 67, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "DHCP discover from 0.0.0.0");
    ok(!g.bound, "0.0.0.0 binds nothing");
    ip4(&f, IP_A, 17, 67, 68, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER, "DHCP offer 67->68");
    ok(g.bound && memcmp(g.ip4, IP_A, 4) == 0, "first source binds");
    guard_is(VPNWS_GUARD_IP | VPNWS_GUARD_RA, &g, &f, VPNWS_GUARD_PASS,
             "DHCP offer, dhcp guard off");
    ip4(&f, IP_A, 17, 67, 68, 1, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER, "DHCP offer in 802.1Q");
    ip4(&f, IP_A, 17, 67, 68, 2, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER, "DHCP offer in QinQ");
    ip4(&f, IP_A, 17, 67, 68, 3, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_UNPARSED, "three tags: unparsed");
    ip4(&f, IP_A, 17, 67, 68, 0, 0x2000);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER,
             "DHCP offer, first fragment (MF)");
    ip4(&f, IP_A, 17, 67, 68, 0, 0x0010);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "a later fragment: no ports");
    ip4(&f, IP_A, 6, 67, 68, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "TCP 67->68 is no DHCP");
    ip4(&f, IP_A, 17, 68, 67, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "DHCP request 68->67");
    ip4(&f, IP_A, 17, 67, 68, 0, 0);
    f.b[14] = 0x4f;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "IHL past the frame: junk");
    f.b[14] = 0x44;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "IHL below 5: junk");
    f.b[14] = 0x65;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS,
             "version 6 in an IPv4 frame: junk");

    /* IPv4 source */
    ip4(&f, IP_GW, 1, 0, 0, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_IP_SPOOF, "another IPv4 source");
    guard_is(VPNWS_GUARD_DHCP | VPNWS_GUARD_RA, &g, &f, VPNWS_GUARD_PASS,
             "another IPv4 source, ip guard off");
    ip4(&f, IP_A, 1, 0, 0, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "its own source");

    /* ARP */
    arp(&f, PEER, IP_A);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "ARP for its own address");
    arp(&f, PEER, IP_GW);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ARP_SPOOF, "ARP for the gateway's IP");
    arp(&f, OTHER, IP_A);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ARP_SPOOF, "ARP with another MAC");
    arp(&f, PEER, IP_0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "ARP probe from 0.0.0.0");
    arp(&f, PEER, IP_A);
    f.b[19] = 16;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "ARP with hlen 16: not ARP for IPv4");
    f.len = 14 + 27;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "ARP cut short: junk");
    guard_is(VPNWS_GUARD_DHCP, &g, &f, VPNWS_GUARD_PASS,
             "short ARP, ip guard off");

    memset(&g, 0, sizeof(g));
    arp(&f, PEER, IP_GW);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "an unbound peer's first ARP");
    ok(g.bound && memcmp(g.ip4, IP_GW, 4) == 0, "binds its address");

    /* IPv6 */
    ip6(&f, NULL, 58, 134, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ROUTER_ADV, "router advertisement");
    guard_is(VPNWS_GUARD_DHCP, &g, &f, VPNWS_GUARD_PASS, "RA, ra guard off");
    ip6(&f, NULL, 58, 133, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "router solicitation");
    ip6(&f, hbh, 58, 134, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ROUTER_ADV, "RA after hop-by-hop");
    ip6(&f, many, 58, 134, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ROUTER_ADV,
             "RA after hop-by-hop, dstopts, routing, AH");
    ip6(&f, frag, 58, 134, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_ROUTER_ADV, "RA in a first fragment");
    ip6(&f, frag, 58, 134, 0, 1);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "a later fragment");
    ip6(&f, deep, 58, 134, 0, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_UNPARSED, "nine extension headers");
    ip6(&f, many, 58, 134, 0, 0);
    f.len -= 16;
    guard_is(ALL, &g, &f, VPNWS_GUARD_UNPARSED,
             "a chain that ends past the frame");
    ip6(&f, NULL, 58, 134, 0, 0);
    f.b[14] = 0x45;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "version 4 in an IPv6 frame: junk");
    ip6(&f, NULL, 17, 547, 546, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER, "DHCPv6 547->546");
    ip6(&f, hbh, 17, 547, 546, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_DHCP_SERVER,
             "DHCPv6 after hop-by-hop");
    ip6(&f, NULL, 17, 546, 547, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "DHCPv6 solicit 546->547");
    ip6(&f, NULL, 6, 547, 546, 0);
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "TCP 547->546");
    ip6(&f, NULL, 58, 134, 0, 0);
    guard_is(VPNWS_GUARD_IP, &g, &f, VPNWS_GUARD_PASS,
             "IPv6: ip guard alone looks no further");

    eth(&f, BCAST, 0x88cc, 0);
    f.len = 60;
    guard_is(ALL, &g, &f, VPNWS_GUARD_PASS, "LLDP: not guarded");
    guard_is(0, &g, &f, VPNWS_GUARD_PASS, "no guards");

    /* dotted quads */
    ok(vpnws_guard_ip4_parse(S("10.0.0.2"), ip) == 0
       && memcmp(ip, IP_A, 4) == 0, "10.0.0.2");
    ok(vpnws_guard_ip4_parse(S("255.255.255.255"), ip) == 0
       && ip[3] == 255, "255.255.255.255");
    ok(vpnws_guard_ip4_parse(S("0.0.0.0"), ip) == 0, "0.0.0.0");
    ok(vpnws_guard_ip4_parse(S("256.0.0.1"), ip) == -1, "256.0.0.1 refused");
    ok(vpnws_guard_ip4_parse(S("10.0.0"), ip) == -1, "10.0.0 refused");
    ok(vpnws_guard_ip4_parse(S("10.0.0.1.2"), ip) == -1,
       "10.0.0.1.2 refused");
    ok(vpnws_guard_ip4_parse(S("10..0.1"), ip) == -1, "10..0.1 refused");
    ok(vpnws_guard_ip4_parse(S("010.0.0.1"), ip) == -1,
       "010.0.0.1 (octal?) refused");
    ok(vpnws_guard_ip4_parse(S("10.0.0.1 "), ip) == -1, "trailing space");
    ok(vpnws_guard_ip4_parse(S(""), ip) == -1, "empty refused");
    ok(vpnws_guard_ip4_parse(S("1000.0.0.1"), ip) == -1, "1000.0.0.1");
    vpnws_guard_ip4_format(IP_A, text);
    is_str(text, "10.0.0.2", "10.0.0.2 formatted");
}


/* ---------------------------------------------------------------------- */
/* the decision at the upgrade */


typedef struct {
    const char         *name;
    unsigned            want_bridge;
    const char         *want_mac;
    const char         *bridge;     /* NULL: not configured */
    const char         *pin_mac;
    const char         *pin_ip;
    const char         *rate;
    const char         *user;
    unsigned            need_user;
    vpnws_policy_rc_t   rc;
    unsigned            bridge_out;
    unsigned            pinned;
    unsigned            has_mac;
} policy_case_t;


static const policy_case_t  policy_cases[] = {
    { "defaults", 0, NULL, "off", NULL, NULL, NULL, NULL, 0,
      VPNWS_POLICY_OK, 0, 0, 0 },
    { "bridge asked, not granted", 1, NULL, "off", NULL, NULL, NULL, NULL,
      0, VPNWS_POLICY_BRIDGE_DENIED, 0, 0, 0 },
    { "bridge asked, empty grant", 1, NULL, "", NULL, NULL, NULL, NULL,
      0, VPNWS_POLICY_BRIDGE_DENIED, 0, 0, 0 },
    { "bridge asked, granted", 1, NULL, "on", NULL, NULL, NULL, NULL, 0,
      VPNWS_POLICY_OK, 1, 0, 0 },
    { "bridge asked, granted by 1", 1, NULL, "1", NULL, NULL, NULL, NULL,
      0, VPNWS_POLICY_OK, 1, 0, 0 },
    { "bridge granted, not asked", 0, NULL, "yes", NULL, NULL, NULL, NULL,
      0, VPNWS_POLICY_OK, 0, 0, 0 },
    { "bridge grant garbage", 0, NULL, "maybe", NULL, NULL, NULL, NULL, 0,
      VPNWS_POLICY_BAD_BRIDGE, 0, 0, 0 },
    { "no bridge policy: the client decides", 1, NULL, NULL, NULL, NULL,
      NULL, NULL, 0, VPNWS_POLICY_OK, 1, 0, 0 },
    { "asked MAC", 0, "02:00:00:00:00:0a", "off", NULL, NULL, NULL, NULL, 0,
      VPNWS_POLICY_OK, 0, 0, 1 },
    { "pinned MAC", 0, NULL, "off", "02:00:00:00:00:0a", NULL, NULL, NULL,
      0, VPNWS_POLICY_OK, 0, 1, 1 },
    { "pinned MAC, the same asked", 0, "02:00:00:00:00:0a", "off",
      "02-00-00-00-00-0A", NULL, NULL, NULL, 0, VPNWS_POLICY_OK, 0, 1, 1 },
    { "pinned MAC, another asked", 0, "02:00:00:00:00:0b", "off",
      "02:00:00:00:00:0a", NULL, NULL, NULL, 0, VPNWS_POLICY_MAC_DIFFERS,
      0, 0, 0 },
    { "pinned MAC, empty: free choice", 0, "02:00:00:00:00:0b", "off", "",
      NULL, NULL, NULL, 0, VPNWS_POLICY_OK, 0, 0, 1 },
    { "pinned MAC not a MAC", 0, NULL, "off", "nonsense", NULL, NULL, NULL,
      0, VPNWS_POLICY_BAD_MAC, 0, 0, 0 },
    { "pinned MAC multicast", 0, NULL, "off", "01:00:5e:00:00:01", NULL,
      NULL, NULL, 0, VPNWS_POLICY_BAD_MAC, 0, 0, 0 },
    { "pinned MAC zero", 0, NULL, "off", "00:00:00:00:00:00", NULL, NULL,
      NULL, 0, VPNWS_POLICY_BAD_MAC, 0, 0, 0 },
    { "pinned MAC, a bridge: no pin", 1, NULL, "on", "02:00:00:00:00:0a",
      NULL, NULL, NULL, 0, VPNWS_POLICY_OK, 1, 0, 0 },
    { "pinned IP", 0, NULL, "off", NULL, "10.0.0.2", NULL, NULL, 0,
      VPNWS_POLICY_OK, 0, 0, 0 },
    { "pinned IP garbage", 0, NULL, "off", NULL, "10.0.0.x", NULL, NULL, 0,
      VPNWS_POLICY_BAD_IP, 0, 0, 0 },
    { "rate", 0, NULL, "off", NULL, NULL, "10m burst=1m", NULL, 0,
      VPNWS_POLICY_OK, 0, 0, 0 },
    { "rate garbage", 0, NULL, "off", NULL, NULL, "fast", NULL, 0,
      VPNWS_POLICY_BAD_RATE, 0, 0, 0 },
    { "user", 0, NULL, "off", NULL, NULL, NULL, "alice", 1,
      VPNWS_POLICY_OK, 0, 0, 0 },
    { "user with a control character: escaped where shown", 0, NULL, "off",
      NULL, NULL, NULL, "ali\nce", 0, VPNWS_POLICY_OK, 0, 0, 0 },
    { "empty user, per-user limit", 0, NULL, "off", NULL, NULL, NULL, "", 1,
      VPNWS_POLICY_NO_USER, 0, 0, 0 },
    { "no user, per-user limit", 0, NULL, "off", NULL, NULL, NULL, NULL, 1,
      VPNWS_POLICY_NO_USER, 0, 0, 0 },
    { "empty user, no limit", 0, NULL, "off", NULL, NULL, NULL, "", 0,
      VPNWS_POLICY_OK, 0, 0, 0 },
};


static void
value(vpnws_policy_value_t *v, const char *s)
{
    v->data = s;
    v->len = s ? strlen(s) : 0;
}


static void
test_policy(void)
{
    size_t               i;
    char                 user[VPNWS_USER_MAX + 2];
    vpnws_policy_t       out;
    vpnws_policy_rc_t    rc;
    vpnws_policy_in_t    in;
    const policy_case_t *c;

    for (i = 0; i < nelem(policy_cases); i++) {
        c = &policy_cases[i];

        memset(&in, 0, sizeof(in));
        in.want_bridge = c->want_bridge;

        if (c->want_mac) {
            in.want_mac = 1;
            (void) vpnws_mac_parse(c->want_mac, strlen(c->want_mac), in.mac);
        }

        value(&in.bridge, c->bridge);
        value(&in.pin_mac, c->pin_mac);
        value(&in.pin_ip, c->pin_ip);
        value(&in.rate, c->rate);
        value(&in.user, c->user);
        in.need_user = c->need_user;

        rc = vpnws_policy_decide(&in, &out);

        ok(rc == c->rc && (rc != VPNWS_POLICY_OK
                           || (out.bridge == c->bridge_out
                               && out.pinned == c->pinned
                               && out.has_mac == c->has_mac)),
           "policy: %s: %s", c->name, vpnws_policy_reason(c->rc));

        if (rc != c->rc) {
            diag("    got: %s", vpnws_policy_reason(rc));
        }
    }

    memset(&in, 0, sizeof(in));
    value(&in.pin_ip, "192.0.2.7");
    value(&in.rate, "1m flood=10");
    value(&in.user, "CN=Alice Example,O=Example");
    ok(vpnws_policy_decide(&in, &out) == VPNWS_POLICY_OK && out.has_ip4
       && out.ip4[3] == 7 && out.rate.rate == 1048576 && out.rate.flood == 10
       && out.user_len == 26, "values reach the decision");

    memset(user, 'u', sizeof(user));
    ok(vpnws_policy_user_valid(user, VPNWS_USER_MAX) == 0,
       "a 256-byte user");
    ok(vpnws_policy_user_valid(user, VPNWS_USER_MAX + 1) == -1,
       "a 257-byte user refused");
    ok(vpnws_policy_user_valid(S("\xc3\xa9l\xc3\xa8ve")) == 0,
       "UTF-8 user");
    ok(vpnws_policy_user_valid(S("")) == -1, "an empty user is none");

    is_int(vpnws_policy_flag(S("ON")), 1, "flag ON");
    is_int(vpnws_policy_flag(S("True")), 1, "flag True");
    is_int(vpnws_policy_flag(S("")), 0, "flag empty");
    is_int(vpnws_policy_flag(S("No")), 0, "flag No");
    is_int(vpnws_policy_flag(S("onn")), -1, "flag onn");
    is_int(vpnws_policy_flag(S("o")), -1, "flag o");

    ok(vpnws_policy_is_config_fault(VPNWS_POLICY_BAD_MAC)
       && !vpnws_policy_is_config_fault(VPNWS_POLICY_BRIDGE_DENIED)
       && !vpnws_policy_is_config_fault(VPNWS_POLICY_MAC_DIFFERS),
       "bad values are the server's fault, asks the client's");
    is_str(vpnws_policy_reason(VPNWS_POLICY_MAX), "?", "reason out of range");
}


/* ---------------------------------------------------------------------- */
/* the rules in the switch */


static vpnws_decision_t
sw_frame(sw_t *s, vpnws_port_state_t *p, frame_t *f)
{
    vpnws_decision_t  d;

    vpnws_switch_frame(&s->ctx, p, f->b, f->len, &d);

    return d;
}


static vpnws_decision_t
sw_from(sw_t *s, vpnws_port_state_t *p, const uint8_t *src,
    const uint8_t *dst)
{
    frame_t  f;

    eth(&f, dst, 0x88b5, 0);
    memcpy(f.b + 6, src, 6);
    f.len = 60;

    return sw_frame(s, p, &f);
}


static void
test_switch_bridged_cap(void)
{
    sw_t                s;
    uint8_t             m[6];
    uint32_t            i, learned, full;
    vpnws_decision_t    d;
    vpnws_port_state_t  b1, b2, peer;

    /* macs=64 peers=16: bridges may hold 48 */
    sw_init(&s, 64, 1000);
    s.conf.bridged_macs = 48;
    s.ctx.bridges = 2;
    port_init(&b1, 1, VPNWS_PORT_BRIDGE);
    port_init(&b2, 2, VPNWS_PORT_BRIDGE);

    learned = 0;
    full = 0;

    for (i = 0; i < 200; i++) {
        mkmac(m, i);
        d = sw_from(&s, (i & 1) ? &b2 : &b1, m, BCAST);
        learned += d.action != VPNWS_FWD_DROP;
        full += d.action == VPNWS_FWD_DROP
                && d.reason == VPNWS_DROP_BRIDGED_FULL;
    }

    is_int(learned, 48, "two bridges flooding MACs learn 48 together");
    is_int(full, 152, "the rest dropped as bridged_full");
    is_int(s.tab.learned, 48, "the table counts 48 learned entries");

    for (i = 0; i < 16; i++) {
        port_init(&peer, 100 + i, 0);
        mkmac(m, 1000 + i);
        d = sw_from(&s, &peer, m, BCAST);
        ok(d.action == VPNWS_FWD_FLOOD, "ordinary peer %u finds a slot", i);
    }

    /* a station moving between bridges changes no count */
    mkmac(m, 0);
    d = sw_from(&s, &b2, m, BCAST);
    ok(d.action == VPNWS_FWD_FLOOD && s.tab.learned == 48,
       "a learned MAC moves to another bridge at the cap");

    /* aged MACs make room */
    s.ctx.now += 301;
    mkmac(m, 5000);
    d = sw_from(&s, &b1, m, BCAST);
    ok(d.action == VPNWS_FWD_FLOOD && s.tab.learned == 1,
       "once the learned ones aged, a bridge learns again");

    vpnws_switch_port_gone(&s.ctx, &b1);
    is_int(s.tab.learned, 0, "a bridge that left takes its count along");

    sw_free(&s);
}


static void
test_switch_pinned(void)
{
    sw_t                s;
    int                 rc;
    vpnws_port_t        gone;
    vpnws_decision_t    d;
    vpnws_port_state_t  tap, free_peer, pinned, pinned2, plain;

    sw_init(&s, 64, 1000);
    s.ctx.bridges = 1;
    port_init(&tap, 1, VPNWS_PORT_BRIDGE | VPNWS_PORT_TAP);

    /* the gateway's MAC is learned behind the tap */
    d = sw_from(&s, &tap, OTHER, BCAST);
    ok(d.action == VPNWS_FWD_FLOOD, "the tap learns the gateway's MAC");

    port_init(&plain, 2, 0);
    ok(vpnws_switch_claim(&s.ctx, &plain, OTHER) == -1,
       "an ordinary peer cannot claim a MAC learned behind the tap");
    d = sw_from(&s, &plain, OTHER, BCAST);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_MAC_TAKEN,
       "nor send from it");

    port_init(&pinned, 3, 0);
    pinned.pinned = 1;
    rc = vpnws_switch_claim_pinned(&s.ctx, &pinned, OTHER, &gone);
    ok(rc == 0, "a peer given that MAC by the server takes it");

    d = sw_from(&s, &tap, OTHER, BCAST);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_MAC_TAKEN,
       "then the tap cannot take it back");
    is_int(s.tab.learned, 0, "the learned count follows");

    /* a free choice holds against free choices, not against a pin */
    port_init(&free_peer, 4, 0);
    ok(vpnws_switch_claim(&s.ctx, &free_peer, PEER) == 0,
       "a free choice claims a MAC");
    port_init(&plain, 5, 0);
    ok(vpnws_switch_claim(&s.ctx, &plain, PEER) == -1,
       "another free choice cannot take it");

    port_init(&pinned2, 6, 0);
    pinned2.pinned = 1;
    memset(&gone, 0, sizeof(gone));
    rc = vpnws_switch_claim_pinned(&s.ctx, &pinned2, PEER, &gone);
    ok(rc == 1 && gone.id == 4,
       "a pinned peer takes its MAC from a free choice, which must go");

    port_init(&plain, 7, 0);
    plain.pinned = 1;
    ok(vpnws_switch_claim_pinned(&s.ctx, &plain, PEER, NULL) == -1,
       "a second pin of the same MAC gets -1 while the first lives");

    vpnws_switch_port_gone(&s.ctx, &free_peer);
    ok(vpnws_mactab_find(&s.tab, PEER) != NULL
       && vpnws_mactab_find(&s.tab, PEER)->port.id == 6,
       "the displaced port leaving keeps the pinned owner");

    sw_free(&s);
}


static void
test_switch_guards(void)
{
    sw_t                s;
    unsigned            i, passed, limited;
    frame_t             f;
    vpnws_rate_t        r;
    const char         *err;
    vpnws_decision_t    d;
    vpnws_port_state_t  peer, bridge;

    sw_init(&s, 64, 1000);
    s.conf.isolation = 1;
    s.conf.dhcp_guard = 1;
    s.conf.ra_guard = 1;
    s.conf.ip_guard = 1;
    s.ctx.bridges = 1;
    port_init(&peer, 1, 0);
    port_init(&bridge, 2, VPNWS_PORT_BRIDGE);

    ip4(&f, IP_A, 17, 67, 68, 0, 0);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_DHCP_SERVER,
       "a peer's DHCP offer: dropped as dhcp_server");
    ip6(&f, NULL, 58, 134, 0, 0);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_ROUTER_ADV,
       "a peer's RA: router_adv");
    arp(&f, PEER, IP_GW);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_ARP_SPOOF,
       "ARP for the gateway after using 10.0.0.2: arp_spoof");
    ip4(&f, IP_GW, 1, 0, 0, 0, 0);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_IP_SPOOF,
       "IPv4 from the gateway's address: ip_spoof");
    arp(&f, PEER, IP_A);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_FLOOD, "its own ARP floods");

    ip4(&f, IP_A, 17, 67, 68, 0, 0);
    memcpy(f.b + 6, OTHER, 6);
    d = sw_frame(&s, &bridge, &f);
    ok(d.action == VPNWS_FWD_FLOOD, "a bridge carries a LAN's DHCP server");

    /* flood limit */
    (void) vpnws_rate_parse(S("flood=10"), &r, &err);
    vpnws_limit_init(&peer.limit, &r, s.ctx.msec);
    passed = 0;
    limited = 0;

    for (i = 0; i < 100; i++) {
        arp(&f, PEER, IP_A);
        d = sw_frame(&s, &peer, &f);
        passed += d.action == VPNWS_FWD_FLOOD;
        limited += d.action == VPNWS_FWD_DROP
                   && d.reason == VPNWS_DROP_FLOOD_LIMIT;
    }

    ok(passed == 10 && limited == 90,
       "flood=10: 10 broadcasts pass, 90 dropped as flood_limit (%u, %u)",
       passed, limited);

    ip4(&f, IP_A, 6, 1, 2, 0, 0);
    memcpy(f.b, OTHER, 6);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_UNICAST && d.dst.id == 2,
       "known unicast to the bridge is no flood: passes the empty bucket");
    f.b[5] = 0x77;
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_DROP && d.reason == VPNWS_DROP_FLOOD_LIMIT,
       "unknown unicast is a flood: flood_limit");

    s.ctx.msec += 1000;
    arp(&f, PEER, IP_A);
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_FLOOD, "a second later floods pass again");

    s.conf.dhcp_guard = 0;
    s.conf.ra_guard = 0;
    s.conf.ip_guard = 0;
    ip4(&f, IP_GW, 17, 67, 68, 0, 0);
    s.ctx.msec += 1000;
    d = sw_frame(&s, &peer, &f);
    ok(d.action == VPNWS_FWD_FLOOD, "guards off: anything goes");

    for (i = VPNWS_DROP_FLOOD_LIMIT; i < VPNWS_DROP_MAX; i++) {
        ok(strcmp(vpnws_drop_name(i), "?") != 0, "drop reason %u: %s", i,
           vpnws_drop_name(i));
    }

    sw_free(&s);
}


int
main(void)
{
    test_rate_parse();
    test_limit();
    test_guard();
    test_policy();
    test_switch_bridged_cap();
    test_switch_pinned();
    test_switch_guards();

    return done_testing();
}
