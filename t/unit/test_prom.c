/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_prom.c, the Prometheus text exposition.
 */


#include <ctype.h>

#include "tap.h"
#include "vpnws_prom.h"
#include "vpnws_version.h"


static char *
render(const vpnws_stats_t *s, size_t *len)
{
    char    *buf, *end;
    size_t   max;

    max = vpnws_prom_max(s);
    buf = malloc(max + 1);
    end = vpnws_prom_render(buf, s);
    *len = (size_t) (end - buf);

    if (*len <= max) {
        *end = '\0';

    } else {
        buf[max] = '\0';
    }

    return buf;
}


/*
 * Every line is "# HELP m text", "# TYPE m counter|gauge" or a sample
 * "m{switch="...",reason="..."} 123"; every sample has HELP and TYPE
 * before it; returns the number of samples or -1.
 */
static int
check_format(const char *text, const char *name_escaped)
{
    int          samples;
    char         metric[128], typed[128];
    size_t       n, lab;
    const char  *p, *eol, *q;

    samples = 0;
    typed[0] = '\0';

    for (p = text; *p; p = eol + 1) {
        eol = strchr(p, '\n');

        if (eol == NULL) {
            diag("no newline at the end: '%s'", p);
            return -1;
        }

        if (strncmp(p, "# HELP ", 7) == 0) {
            continue;
        }

        if (strncmp(p, "# TYPE ", 7) == 0) {
            n = strcspn(p + 7, " ");
            memcpy(typed, p + 7, n);
            typed[n] = '\0';
            q = p + 7 + n + 1;

            if (strncmp(q, "counter\n", 8) != 0
                && strncmp(q, "gauge\n", 6) != 0)
            {
                diag("bad TYPE line: '%.*s'", (int) (eol - p), p);
                return -1;
            }

            continue;
        }

        n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
        memcpy(metric, p, n);
        metric[n] = '\0';

        if (n == 0 || strcmp(metric, typed) != 0) {
            diag("sample without its TYPE: '%.*s'", (int) (eol - p), p);
            return -1;
        }

        q = p + n;
        lab = strlen(name_escaped);

        if (strncmp(q, "{switch=\"", 9) != 0
            || strncmp(q + 9, name_escaped, lab) != 0 || q[9 + lab] != '"')
        {
            diag("bad labels: '%.*s'", (int) (eol - p), p);
            return -1;
        }

        q += 9 + lab + 1;

        if (strncmp(q, ",reason=\"", 9) == 0) {
            q += 9;
            q += strspn(q, "abcdefghijklmnopqrstuvwxyz_");

            if (*q++ != '"') {
                diag("bad reason: '%.*s'", (int) (eol - p), p);
                return -1;
            }

        } else if (strncmp(q, ",version=\"", 10) == 0) {
            q += 10;
            q += strspn(q, "0123456789abcdefghijklmnopqrstuvwxyz.+~-");

            if (*q++ != '"' || strcmp(metric, "vpnws_build_info") != 0) {
                diag("bad version: '%.*s'", (int) (eol - p), p);
                return -1;
            }
        }

        if (q[0] != '}' || q[1] != ' ' || !isdigit((unsigned char) q[2])
            || (size_t) (eol - q - 2) != strspn(q + 2, "0123456789"))
        {
            diag("bad value: '%.*s'", (int) (eol - p), p);
            return -1;
        }

        samples++;
    }

    return samples;
}


static void
test_render(void)
{
    int             i, n;
    char           *out;
    size_t          len;
    vpnws_stats_t   s;

    memset(&s, 0, sizeof(s));
    s.name = "main";
    s.peers = 3;
    s.local_peers = 2;
    s.peers_max = 1024;
    s.bridges = 1;
    s.macs = 5;
    s.macs_max = 4096;
    s.frames_in = 100;
    s.frames_out = 200;
    s.bytes_in = 3000;
    s.bytes_out = 4000;

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        s.drops[i] = (uint64_t) i * 10;
    }

    out = render(&s, &len);
    ok(len <= vpnws_prom_max(&s), "render within prom_max");

    ok(strstr(out, "# HELP vpnws_peers ") != NULL
       && strstr(out, "# TYPE vpnws_peers gauge\n") != NULL
       && strstr(out, "\nvpnws_peers{switch=\"main\"} 3\n") != NULL,
       "vpnws_peers: HELP, TYPE gauge, sample");
    ok(strstr(out, "\nvpnws_peers_max{switch=\"main\"} 1024\n") != NULL
       && strstr(out, "\nvpnws_bridge_peers{switch=\"main\"} 1\n") != NULL
       && strstr(out, "\nvpnws_mac_entries{switch=\"main\"} 5\n") != NULL
       && strstr(out, "\nvpnws_mac_capacity{switch=\"main\"} 4096\n") != NULL,
       "gauges: peers_max, bridge_peers, mac_entries, mac_capacity");
    ok(strstr(out, "# TYPE vpnws_local_peers gauge\n") != NULL
       && strstr(out, "\nvpnws_local_peers{switch=\"main\"} 2\n") != NULL,
       "gauge: local_peers");
    ok(strstr(out, "# TYPE vpnws_frames_received_total counter\n") != NULL
       && strstr(out, "\nvpnws_frames_received_total{switch=\"main\"} 100\n")
       && strstr(out, "\nvpnws_frames_sent_total{switch=\"main\"} 200\n")
       && strstr(out, "\nvpnws_received_bytes_total{switch=\"main\"} 3000\n")
       && strstr(out, "\nvpnws_sent_bytes_total{switch=\"main\"} 4000\n"),
       "counters: frames and bytes, _total");
    ok(strstr(out, "# TYPE vpnws_drops_total counter\n") != NULL
       && strstr(out, "\nvpnws_drops_total{switch=\"main\",reason=\"short\"}"
                 " 0\n")
       && strstr(out, "\nvpnws_drops_total{switch=\"main\",reason=\"spoofed\"}"
                 " 20\n")
       && strstr(out, "\nvpnws_drops_total{switch=\"main\","
                 "reason=\"ipc_full\"} 130\n"),
       "drops by reason");
    ok(strstr(out, "tap") == NULL, "no tap metrics without a tap");
    ok(strstr(out, "# TYPE vpnws_build_info gauge\n") != NULL
       && strstr(out, "\nvpnws_build_info{switch=\"main\",version=\""
                 VPNWS_VERSION "\"} 1\n") != NULL,
       "vpnws_build_info with the version");

    n = check_format(out, "main");
    is_int(n, 13 + VPNWS_DROP_MAX, "well-formed: 13 samples + one per drop"
           " reason");
    free(out);

    s.has_tap = 1;
    s.tap_frames_in = 7;
    s.tap_bytes_out = UINT64_MAX;
    s.remote_macs = 42;
    out = render(&s, &len);
    ok(strstr(out, "# TYPE vpnws_remote_macs gauge\n") != NULL
       && strstr(out, "\nvpnws_remote_macs{switch=\"main\"} 42\n") != NULL,
       "gauge: remote_macs, with a tap");
    ok(strstr(out, "\nvpnws_tap_frames_received_total{switch=\"main\"} 7\n")
       && strstr(out, "\nvpnws_tap_sent_bytes_total{switch=\"main\"}"
                 " 18446744073709551615\n"), "tap metrics with a tap");
    n = check_format(out, "main");
    is_int(n, 18 + VPNWS_DROP_MAX, "well-formed with the tap");
    free(out);
}


static void
test_escape(void)
{
    int             i;
    char           *out, *name;
    size_t          len;
    vpnws_stats_t   s;

    memset(&s, 0, sizeof(s));
    s.name = "a\"b\\c\nd";
    out = render(&s, &len);
    is_int(check_format(out, "a\\\"b\\\\c\\nd"), 13 + VPNWS_DROP_MAX,
           "a switch name with \", \\ and newline is escaped");
    free(out);

    /* the worst case: every byte escaped, every value 20 digits */
    name = malloc(1001);
    memset(name, '"', 1000);
    name[1000] = '\0';
    memset(&s, 0xff, sizeof(s));
    s.name = name;
    s.has_tap = 1;

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        s.drops[i] = UINT64_MAX;
    }

    out = render(&s, &len);
    ok(len <= vpnws_prom_max(&s), "1000 quotes, all values UINT64_MAX:"
       " %zu bytes within prom_max %zu", len, vpnws_prom_max(&s));
    free(out);

    s.name = "";
    out = render(&s, &len);
    ok(len <= vpnws_prom_max(&s) && check_format(out, "") > 0,
       "empty switch name: within prom_max, well-formed");
    free(out);
    free(name);
}


int
main(void)
{
    test_render();
    test_escape();

    return done_testing();
}
