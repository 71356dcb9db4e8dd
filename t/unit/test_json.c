/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_json.c, the admin JSON renderer.
 */


#include "tap.h"
#include "vpnws_json.h"
#include "vpnws_vnet.h"


#define nelem(a)  (sizeof(a) / sizeof((a)[0]))


/* render s[0..len) into an exactly sized buffer: ASan sees any overrun */
static char *
jstr(const void *s, size_t len)
{
    char    *buf, *end, *res;
    size_t   max;

    max = vpnws_json_string_max(len);
    buf = malloc(max ? max : 1);
    end = vpnws_json_string(buf, s, len);

    res = malloc((size_t) (end - buf) + 1);
    memcpy(res, buf, (size_t) (end - buf));
    res[end - buf] = '\0';
    free(buf);

    return res;
}


typedef struct {
    const char  *name;
    const char  *in;
    size_t       len;
    const char  *out;
} str_case_t;


static const str_case_t  str_cases[] = {
    { "empty", "", 0, "" },
    { "ASCII", "alice", 5, "alice" },
    { "space and punctuation", "a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~", 33,
      "a b!#$%&'()*+,-./:;<=>?@[]^_`{|}~" },
    { "double quote", "a\"b", 3, "a\\\"b" },
    { "backslash", "a\\b", 3, "a\\\\b" },
    { "slash stays", "CN=x/O=y", 8, "CN=x/O=y" },
    { "NUL", "a\0b", 3, "a\\u0000b" },
    { "newline, tab, CR", "\n\t\r", 3, "\\u000a\\u0009\\u000d" },
    { "0x1f", "\x1f", 1, "\\u001f" },
    { "DEL", "\x7f", 1, "\\u007f" },
    { "2-byte UTF-8 (e acute)", "caf\xc3\xa9", 5, "caf\xc3\xa9" },
    { "3-byte UTF-8 (euro)", "\xe2\x82\xac", 3, "\xe2\x82\xac" },
    { "4-byte UTF-8 (emoji)", "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },
    { "U+0080", "\xc2\x80", 2, "\xc2\x80" },
    { "U+07FF", "\xdf\xbf", 2, "\xdf\xbf" },
    { "U+0800", "\xe0\xa0\x80", 3, "\xe0\xa0\x80" },
    { "U+FFFF", "\xef\xbf\xbf", 3, "\xef\xbf\xbf" },
    { "U+10000", "\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80" },
    { "U+10FFFF", "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },
    { "lone continuation byte", "\x80", 1, "\\u0080" },
    { "Latin-1 e acute", "caf\xe9", 4, "caf\\u00e9" },
    { "0xff", "\xff", 1, "\\u00ff" },
    { "overlong NUL (c0 80)", "\xc0\x80", 2, "\\u00c0\\u0080" },
    { "overlong slash (c1 af)", "\xc1\xaf", 2, "\\u00c1\\u00af" },
    { "overlong 3-byte (e0 80 af)", "\xe0\x80\xaf", 3,
      "\\u00e0\\u0080\\u00af" },
    { "overlong 4-byte (f0 80 80 af)", "\xf0\x80\x80\xaf", 4,
      "\\u00f0\\u0080\\u0080\\u00af" },
    { "surrogate U+D800", "\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080" },
    { "surrogate U+DFFF", "\xed\xbf\xbf", 3, "\\u00ed\\u00bf\\u00bf" },
    { "U+D7FF is fine", "\xed\x9f\xbf", 3, "\xed\x9f\xbf" },
    { "above U+10FFFF (f4 90 80 80)", "\xf4\x90\x80\x80", 4,
      "\\u00f4\\u0090\\u0080\\u0080" },
    { "f5 lead", "\xf5\x80\x80\x80", 4, "\\u00f5\\u0080\\u0080\\u0080" },
    { "truncated 3-byte at the end", "a\xe2\x82", 3, "a\\u00e2\\u0082" },
    { "truncated 2-byte then ASCII", "\xc3" "a", 2, "\\u00c3a" },
    { "3-byte with a bad middle", "\xe2\x28\xa1", 3, "\\u00e2(\\u00a1" },
    { "valid after invalid", "\xff\xc3\xa9", 3, "\\u00ff\xc3\xa9" },
};


/* RFC 3629's table, written independently of the code under test */
static size_t
ref_utf8(const uint8_t *s, size_t len)
{
    uint8_t  c = s[0], lo = 0x80, hi = 0xbf;
    size_t   n, i;

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        return 0;
    }

    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


/* what vpnws_json_string should produce, by the reference */
static char *
ref_jstr(const uint8_t *s, size_t len)
{
    char    *out, *p;
    size_t   i, n;

    out = p = malloc(len * 6 + 1);

    for (i = 0; i < len; /* void */) {
        n = (s[i] >= 0x80) ? ref_utf8(s + i, len - i) : 0;

        if (n) {
            memcpy(p, s + i, n);
            p += n;
            i += n;

        } else if (s[i] == '"' || s[i] == '\\') {
            *p++ = '\\';
            *p++ = (char) s[i++];

        } else if (s[i] >= 0x20 && s[i] < 0x7f) {
            *p++ = (char) s[i++];

        } else {
            p += sprintf(p, "\\u%04x", s[i++]);
        }
    }

    *p = '\0';

    return out;
}


static void
test_string(void)
{
    int       fail;
    char     *got, *exp;
    size_t    i;
    uint8_t   b[4];
    uint32_t  v;

    for (i = 0; i < nelem(str_cases); i++) {
        got = jstr(str_cases[i].in, str_cases[i].len);
        is_str(got, str_cases[i].out, "string: %s", str_cases[i].name);
        free(got);
    }

    /* every 1- and 2-byte input, and many 3- and 4-byte ones */
    fail = 0;

    for (v = 0; v < 0x10000; v++) {
        b[0] = (uint8_t) (v >> 8);
        b[1] = (uint8_t) v;

        for (i = 1; i <= 2; i++) {
            got = jstr(b + 2 - i, i);
            exp = ref_jstr(b + 2 - i, i);

            if (strcmp(got, exp) != 0 && fail++ < 5) {
                diag("%02x %02x: got '%s', expected '%s'", b[0], b[1], got,
                     exp);
            }

            free(got);
            free(exp);
        }
    }

    ok(fail == 0, "every 1- and 2-byte string matches the RFC 3629 reference");

    fail = 0;

    for (v = 0; v < 0x1000000; v += 7) {
        b[0] = (uint8_t) (0xe0 | (v >> 20 & 0x1f));
        b[1] = (uint8_t) (v >> 12);
        b[2] = (uint8_t) (v >> 4);
        b[3] = (uint8_t) (0x80 | (v & 0x3f));

        got = jstr(b, 4);
        exp = ref_jstr(b, 4);

        if (strcmp(got, exp) != 0 && fail++ < 5) {
            diag("%02x %02x %02x %02x: got '%s', expected '%s'", b[0], b[1],
                 b[2], b[3], got, exp);
        }

        free(got);
        free(exp);
    }

    ok(fail == 0, "2.4M 4-byte strings led by e0..ff match the reference");

    is_int(vpnws_json_string_max(0), 0, "string_max(0)");
    is_int(vpnws_json_string_max(10), 60, "string_max(10): 6 per byte");
}


static void
test_peer(void)
{
    char                *buf, *end;
    size_t               max;
    vpnws_json_peer_t    p;
    static const uint8_t  mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
    static const uint8_t  macs[12] = { 0x52, 0x54, 0, 0, 0, 1,
                                       0x52, 0x54, 0, 0, 0, 0xab };

    memset(&p, 0, sizeof(p));
    p.id = 7;
    p.mac = mac;
    p.addr = "192.0.2.7";
    p.user = (const uint8_t *) "ali\"ce";
    p.user_len = 6;
    p.dn = (const uint8_t *) "CN=x";
    p.dn_len = 4;
    p.start = 1700000000;
    p.tx = 1;
    p.rx = 2;
    p.frames_in = 3;
    p.frames_out = 4;
    p.drops = 5;
    p.queued = 6;
    p.worker = -1;
    p.pid = 0;

    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    is_str(buf, "{\"id\":7,\"MAC\":\"02:00:00:00:00:0A\","
           "\"REMOTE_ADDR\":\"192.0.2.7\",\"REMOTE_USER\":\"ali\\\"ce\","
           "\"DN\":\"CN=x\",\"ts\":\"2023-11-14T22:13:20Z\",\"bridge\":0,"
           "\"macs\":[],\"offload\":\"\",\"unix\":1700000000,\"tx\":1,\"rx\":2,"
           "\"frames_in\":3,\"frames_out\":4,\"drops\":5,\"queued\":6}",
           "peer: the original format, extended");
    ok((size_t) (end - buf) < max, "peer: within peer_max");
    free(buf);

    p.mac = NULL;
    p.bridge = 1;
    p.macs = macs;
    p.nmacs = 2;
    p.worker = 3;
    p.pid = 4242;
    p.offload = VPNWS_OFFLOAD_ALL;
    p.user = NULL;
    p.user_len = 0;
    p.start = 0;

    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    is_str(buf, "{\"id\":7,\"MAC\":\"00:00:00:00:00:00\","
           "\"REMOTE_ADDR\":\"192.0.2.7\",\"REMOTE_USER\":\"\","
           "\"DN\":\"CN=x\",\"ts\":\"1970-01-01T00:00:00Z\",\"bridge\":1,"
           "\"macs\":[\"52:54:00:00:00:01\",\"52:54:00:00:00:AB\"],"
           "\"offload\":\"csum, tso4, tso6, ecn\",\"unix\":0,\"tx\":1,\"rx\":2,"
           "\"frames_in\":3,\"frames_out\":4,\"drops\":5,\"queued\":6,"
           "\"worker\":3,\"pid\":4242}",
           "peer: no MAC yet (zeros, a string as in the original), "
           "bridge with MACs, worker and pid");
    free(buf);

    /* the TCP congestion control of the peer's connection (the module) */
    p.congestion = "";
    buf = malloc(vpnws_json_peer_max(&p));
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    ok(strstr(buf, "congestion") == NULL, "peer: congestion \"\": none");
    free(buf);

    p.congestion = "cubic";
    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    ok(strstr(buf, "\"offload\":\"csum, tso4, tso6, ecn\","
                   "\"congestion\":\"cubic\",\"unix\":0,") != NULL,
       "peer: \"congestion\" after \"offload\"");
    ok((size_t) (end - buf) < max, "peer: with congestion, within peer_max");
    free(buf);

    p.congestion = "a\"b\001cdefghijklm";
    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    ok(strstr(buf, "\"congestion\":\"a\\\"b\\u0001cdefghijklm\"") != NULL,
       "peer: congestion escaped");
    ok((size_t) (end - buf) < max, "peer: escaped, within peer_max");
    free(buf);
    p.congestion = NULL;

    /* ids are 64 bits: past 2^32 and the largest one print whole */
    p.id = 4294967296ULL;
    buf = malloc(vpnws_json_peer_max(&p));
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    ok(strncmp(buf, "{\"id\":4294967296,", 17) == 0, "peer: id 2^32");
    free(buf);

    p.id = UINT64_MAX;
    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    *end = '\0';
    ok(strncmp(buf, "{\"id\":18446744073709551615,", 27) == 0
       && (size_t) (end - buf) < max, "peer: id 2^64 - 1, within peer_max");
    free(buf);
}


/* ?kill=ID: what the admin of module and daemon accept */
static void
test_id_parse(void)
{
    int        rc;
    size_t     i;
    uint64_t   id;

    static const struct {
        const char  *in;
        int          rc;
        uint64_t     id;
    } cases[] = {
        { "1", 0, 1 },
        { "42", 0, 42 },
        { "007", 0, 7 },
        { "4294967295", 0, 4294967295ULL },
        { "4294967296", 0, 4294967296ULL },
        { "18446744073709551615", 0, UINT64_MAX },
        { "018446744073709551615", 0, UINT64_MAX },
        { "18446744073709551616", -1, 0 },
        { "18446744073709551620", -1, 0 },
        { "99999999999999999999", -1, 0 },
        { "184467440737095516150", -1, 0 },
        { "0", -1, 0 },
        { "00", -1, 0 },
        { "", -1, 0 },
        { "-1", -1, 0 },
        { "+1", -1, 0 },
        { " 1", -1, 0 },
        { "1 ", -1, 0 },
        { "0x10", -1, 0 },
        { "1e3", -1, 0 },
        { "12a", -1, 0 },
        { "%31", -1, 0 },
    };

    for (i = 0; i < nelem(cases); i++) {
        id = 12345;
        rc = vpnws_json_id_parse((const uint8_t *) cases[i].in,
                                 strlen(cases[i].in), &id);
        ok(rc == cases[i].rc && (rc != 0 || id == cases[i].id),
           "id \"%s\": %s", cases[i].in, cases[i].rc ? "refused" : "taken");
    }

    /* a length, not a NUL, ends the id (a query string goes on after it) */
    rc = vpnws_json_id_parse((const uint8_t *) "123&x", 3, &id);
    ok(rc == 0 && id == 123, "id: the length ends it");
}


/* the longest a peer can get must fit peer_max, with a NUL after it */
static void
test_peer_max(void)
{
    int                  fail;
    char                *buf, *end, addr[64];
    size_t               i, max;
    uint8_t             *user, *macs;
    vpnws_json_peer_t    p;
    static const int64_t  starts[] = {
        0, -1, 1700000000, 253402300799LL, 253402300800LL,
        67767976233316800LL, INT64_MAX, INT64_MIN, -62135596800LL
    };

    user = malloc(300);
    memset(user, 0x01, 300);              /* 6 bytes each when escaped */
    macs = malloc(64 * 6);
    memset(macs, 0xab, 64 * 6);
    memset(addr, '"', sizeof(addr) - 1);
    addr[sizeof(addr) - 1] = '\0';

    fail = 0;

    for (i = 0; i < nelem(starts); i++) {
        memset(&p, 0, sizeof(p));
        p.id = UINT64_MAX;
        p.mac = macs;
        p.addr = addr;
        p.user = user;
        p.user_len = 300;
        p.dn = user;
        p.dn_len = 300;
        p.start = starts[i];
        p.bridge = 1;
        p.macs = macs;
        p.nmacs = 64;
        p.tx = p.rx = p.frames_in = p.frames_out = p.drops = p.queued
            = UINT64_MAX;
        p.worker = INT32_MAX;
        p.pid = INT32_MAX;

        max = vpnws_json_peer_max(&p);
        buf = malloc(max);
        end = vpnws_json_peer(buf, &p);

        if ((size_t) (end - buf) >= max) {
            diag("start %lld: %zu bytes, max %zu", (long long) starts[i],
                 (size_t) (end - buf), max);
            fail++;
        }

        free(buf);
    }

    ok(fail == 0, "every field at its largest (and odd timestamps):"
       " within peer_max");

    free(user);
    free(macs);
}


static void
test_drops(void)
{
    int        i;
    char      *buf, *end;
    size_t     max;
    uint64_t   drops[VPNWS_DROP_MAX];

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        drops[i] = (uint64_t) i;
    }

    max = vpnws_json_drops_max();
    buf = malloc(max);
    end = vpnws_json_drops(buf, drops);
    *end = '\0';
    is_str(buf, "\"drops\":{\"short\":0,\"src_invalid\":1,\"spoofed\":2,"
           "\"mac_taken\":3,\"bridge_limit\":4,\"table_full\":5,"
           "\"dst_invalid\":6,\"same_port\":7,\"broadcast_off\":8,"
           "\"multicast_off\":9,\"unknown_unicast\":10,\"isolated\":11,"
           "\"queue_full\":12,\"ipc_full\":13,\"flood_limit\":14,"
           "\"bridged_full\":15,\"dhcp_server\":16,\"router_adv\":17,"
           "\"arp_spoof\":18,\"ip_spoof\":19,\"unparsed\":20,\"bad_vnet\":21,"
           "\"rate_limit\":22}",
           "drops: every reason");
    free(buf);

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        drops[i] = UINT64_MAX;
    }

    buf = malloc(max);
    end = vpnws_json_drops(buf, drops);
    ok((size_t) (end - buf) < max, "drops: all UINT64_MAX within drops_max");
    free(buf);
}


/* the envelope both hosts write around their ports */
static void
test_switch_envelope(void)
{
    char                 buf[4096], *p;
    uint64_t             drops[VPNWS_DROP_MAX];
    vpnws_json_switch_t  js;

    memset(drops, 0, sizeof(drops));
    drops[VPNWS_DROP_QUEUE_FULL] = 7;

    memset(&js, 0, sizeof(vpnws_json_switch_t));
    js.name = (const uint8_t *) "off\"ice";
    js.name_len = 7;
    js.peers_max = 1024;
    js.macs_used = 2;
    js.macs_max = 4096;
    js.local_peers = 1;
    js.drops = drops;

    p = vpnws_json_switch_open(buf, &js);
    p = vpnws_json_switch_close(p);
    *p = '\0';

    ok(strncmp(buf, "{\"status\":\"ok\",\"switch\":\"off\\\"ice\",", 32)
       == 0, "envelope: the original's status first, the name escaped");
    ok(strstr(buf, "\"peers_max\":1024,\"macs_used\":2,\"macs_max\":4096,")
       && strstr(buf, "\"local_peers\":1,") && strstr(buf, "\"queue_full\":7"),
       "envelope: the switch's numbers and its drops");
    ok(strlen(buf) > 12 && strcmp(buf + strlen(buf) - 12,
                                  "\"peers\":[]}\n") == 0,
       "envelope: the peers last, as in the original");
    ok((size_t) (p - buf) <= vpnws_json_switch_max(&js),
       "envelope: within vpnws_json_switch_max() (%zu <= %zu)",
       (size_t) (p - buf), vpnws_json_switch_max(&js));
}


int
main(void)
{
    test_string();
    test_peer();
    test_peer_max();
    test_id_parse();
    test_drops();
    test_switch_envelope();

    return done_testing();
}
