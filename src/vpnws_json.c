/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the admin JSON renderer.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpnws_json.h"
#include "vpnws_vnet.h"
#include "vpnws_version.h"


static const uint8_t  vpnws_json_zero_mac[VPNWS_MAC_LEN];


/* length of a valid UTF-8 sequence at s, or 0 */
static size_t
vpnws_json_utf8(const uint8_t *s, size_t len)
{
    size_t    n, i;
    uint32_t  c, min;

    if (s[0] < 0xc2 || s[0] > 0xf4) {
        return 0;
    }

    if (s[0] < 0xe0) {
        n = 2; c = s[0] & 0x1f; min = 0x80;

    } else if (s[0] < 0xf0) {
        n = 3; c = s[0] & 0x0f; min = 0x800;

    } else {
        n = 4; c = s[0] & 0x07; min = 0x10000;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = c << 6 | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


char *
vpnws_json_string(char *out, const uint8_t *s, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i, n;
    uint8_t            c;

    for (i = 0; i < len; /* void */) {
        c = s[i];

        if (c >= 0x80) {
            n = vpnws_json_utf8(s + i, len - i);

            if (n) {
                memcpy(out, s + i, n);
                out += n;
                i += n;
                continue;
            }

            /* not UTF-8: keep the byte as the Latin-1 character */

        } else if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char) c;
            i++;
            continue;

        } else if (c >= 0x20 && c != 0x7f) {
            *out++ = (char) c;
            i++;
            continue;
        }

        *out++ = '\\';
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = hex[c >> 4];
        *out++ = hex[c & 0x0f];
        i++;
    }

    return out;
}


size_t
vpnws_json_string_max(size_t len)
{
    return len * 6;
}


static char *
vpnws_json_mac(char *out, const uint8_t *mac)
{
    *out++ = '"';
    vpnws_mac_format(mac, out);
    out += VPNWS_MAC_STR_LEN;
    *out++ = '"';

    return out;
}


char *
vpnws_json_peer(char *out, const vpnws_json_peer_t *p)
{
    char       ts[32];
    uint32_t   i;
    time_t     t;
    struct tm  tm;

    t = (time_t) p->start;

    if (gmtime_r(&t, &tm) == NULL
        || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        ts[0] = '\0';
    }

    out += sprintf(out, "{\"id\":%llu,\"MAC\":", (unsigned long long) p->id);

    /* a string, always: tools written for the original parse it so */
    out = vpnws_json_mac(out, p->mac ? p->mac : vpnws_json_zero_mac);

    out += sprintf(out, ",\"REMOTE_ADDR\":\"");
    out = vpnws_json_string(out, (const uint8_t *) p->addr, strlen(p->addr));
    out += sprintf(out, "\",\"REMOTE_USER\":\"");
    out = vpnws_json_string(out, p->user, p->user_len);
    out += sprintf(out, "\",\"DN\":\"");
    out = vpnws_json_string(out, p->dn, p->dn_len);

    out += sprintf(out, "\",\"ts\":\"%s\",\"bridge\":%d,\"macs\":[",
                   ts, p->bridge ? 1 : 0);

    for (i = 0; i < p->nmacs; i++) {
        if (i) {
            *out++ = ',';
        }

        out = vpnws_json_mac(out, p->macs + (size_t) i * VPNWS_MAC_LEN);
    }

    out += sprintf(out, "],\"offload\":\"");
    out += vpnws_offload_format(p->offload, out);

    if (p->congestion && *p->congestion) {
        out += sprintf(out, "\",\"congestion\":\"");
        out = vpnws_json_string(out, (const uint8_t *) p->congestion,
                                strlen(p->congestion));
    }

    out += sprintf(out, "\",\"unix\":%lld,\"tx\":%llu,\"rx\":%llu,"
                   "\"frames_in\":%llu,\"frames_out\":%llu,\"drops\":%llu,"
                   "\"queued\":%llu",
                   (long long) p->start, (unsigned long long) p->tx,
                   (unsigned long long) p->rx,
                   (unsigned long long) p->frames_in,
                   (unsigned long long) p->frames_out,
                   (unsigned long long) p->drops,
                   (unsigned long long) p->queued);

    if (p->worker >= 0) {
        out += sprintf(out, ",\"worker\":%d", p->worker);
    }

    if (p->pid > 0) {
        out += sprintf(out, ",\"pid\":%d", p->pid);
    }

    if (p->rate) {
        out += sprintf(out, ",\"switch\":\"");
        out = vpnws_json_string(out, p->sw, p->sw_len);
        out += sprintf(out, "\",\"bridge_granted\":%d,\"pinned\":%d,"
                       "\"rate\":\"", p->granted ? 1 : 0, p->pinned ? 1 : 0);
        out += vpnws_rate_format(p->rate, out);
        *out++ = '"';
    }

    *out++ = '}';

    return out;
}


size_t
vpnws_json_peer_max(const vpnws_json_peer_t *p)
{
    return 512 + 64 + VPNWS_RATE_TEXT_LEN + VPNWS_OFFLOAD_STR_LEN
           + vpnws_json_string_max(p->sw_len)
           + vpnws_json_string_max(strlen(p->addr))
           + vpnws_json_string_max(p->user_len)
           + vpnws_json_string_max(p->dn_len)
           + (p->congestion ? 16 + vpnws_json_string_max(strlen(p->congestion))
                            : 0)
           + (size_t) p->nmacs * (VPNWS_MAC_STR_LEN + 3);
}


char *
vpnws_json_drops(char *out, const uint64_t drops[VPNWS_DROP_MAX])
{
    int  i;

    out += sprintf(out, "\"drops\":{");

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        out += sprintf(out, "%s\"%s\":%llu", i ? "," : "",
                       vpnws_drop_name((vpnws_drop_t) i),
                       (unsigned long long) drops[i]);
    }

    *out++ = '}';

    return out;
}


size_t
vpnws_json_drops_max(void)
{
    return 16 + VPNWS_DROP_MAX * 48;
}


char *
vpnws_json_switch_open(char *out, const vpnws_json_switch_t *s)
{
    out += sprintf(out, "{\"status\":\"ok\",\"switch\":\"");
    out = vpnws_json_string(out, s->name, s->name_len);
    out += sprintf(out, "\",\"version\":\"" VPNWS_VERSION "\","
                   "\"peers_max\":%llu,\"macs_used\":%llu,\"macs_max\":%llu,"
                   "\"local_peers\":%llu,\"remote_macs\":%llu,"
                   "\"macs_bridged\":%llu,\"bridged_max\":%llu,",
                   (unsigned long long) s->peers_max,
                   (unsigned long long) s->macs_used,
                   (unsigned long long) s->macs_max,
                   (unsigned long long) s->local_peers,
                   (unsigned long long) s->remote_macs,
                   (unsigned long long) s->macs_bridged,
                   (unsigned long long) s->bridged_max);

    out = vpnws_json_drops(out, s->drops);

    out += sprintf(out, ",\"super_frames\":%llu,\"soft_segmented\":%llu,"
                   "\"peers\":[",
                   (unsigned long long) s->super_frames,
                   (unsigned long long) s->soft_segmented);

    return out;
}


size_t
vpnws_json_switch_max(const vpnws_json_switch_t *s)
{
    return 512 + sizeof(VPNWS_VERSION) + vpnws_json_string_max(s->name_len)
           + vpnws_json_drops_max();
}


char *
vpnws_json_switch_close(char *out)
{
    memcpy(out, "]}\n", 3);

    return out + 3;
}


int
vpnws_json_id_parse(const uint8_t *s, size_t len, uint64_t *id)
{
    size_t    i;
    uint64_t  n, d;

    if (len == 0) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        d = (uint64_t) (s[i] - '0');

        if (n > (UINT64_MAX - d) / 10) {
            return -1;
        }

        n = n * 10 + d;
    }

    if (n == 0) {
        return -1;
    }

    *id = n;

    return 0;
}
