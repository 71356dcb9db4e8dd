/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * libFuzzer: the admin JSON renderer.  Strings of any bytes must come out
 * as valid JSON string bodies in valid UTF-8 that decode back to the input
 * (invalid UTF-8 bytes as their Latin-1 characters), within
 * vpnws_json_string_max(); whole peers must fit vpnws_json_peer_max(); a
 * kill= id parses exactly when it is decimal from 1 to 2^64 - 1, and then
 * prints back as itself.  Input: 1 byte of mode, then the data.
 */


#include "fuzz.h"
#include "vpnws_json.h"


/* length of a valid UTF-8 sequence (RFC 3629) at s, or 0 */
static size_t
utf8_len(const uint8_t *s, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint8_t   c = s[0], lo = 0x80, hi = 0xbf;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *cp = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *cp = c & 0x0f;
        lo = (c == 0xe0) ? 0xa0 : 0x80;
        hi = (c == 0xed) ? 0x9f : 0xbf;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *cp = c & 0x07;
        lo = (c == 0xf0) ? 0x90 : 0x80;
        hi = (c == 0xf4) ? 0x8f : 0xbf;

    } else {
        return 0;
    }

    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf)) {
            return 0;
        }

        *cp = *cp << 6 | (s[i] & 0x3f);
    }

    return n;
}


static int
hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}


/* decode a JSON string body into code points; -1 if it is not one */
static long
decode(const uint8_t *s, size_t len, uint32_t *cps)
{
    int       h, k;
    size_t    i, n;
    uint32_t  cp;
    long      out;

    out = 0;

    for (i = 0; i < len; /* void */) {
        if (s[i] == '\\') {
            if (i + 1 >= len) {
                return -1;
            }

            switch (s[i + 1]) {
            case '"': case '\\': case '/':
                cps[out++] = s[i + 1];
                i += 2;
                continue;
            case 'b': cps[out++] = 8; i += 2; continue;
            case 'f': cps[out++] = 12; i += 2; continue;
            case 'n': cps[out++] = 10; i += 2; continue;
            case 'r': cps[out++] = 13; i += 2; continue;
            case 't': cps[out++] = 9; i += 2; continue;
            case 'u':
                if (i + 6 > len) {
                    return -1;
                }

                cp = 0;

                for (k = 0; k < 4; k++) {
                    h = hexval(s[i + 2 + k]);

                    if (h < 0) {
                        return -1;
                    }

                    cp = cp << 4 | (uint32_t) h;
                }

                if (cp >= 0xd800 && cp <= 0xdfff) {
                    return -1;          /* the renderer never needs pairs */
                }

                cps[out++] = cp;
                i += 6;
                continue;
            default:
                return -1;
            }
        }

        if (s[i] < 0x20 || s[i] == '"') {
            return -1;
        }

        n = utf8_len(s + i, len - i, &cp);

        if (n == 0) {
            return -1;
        }

        cps[out++] = cp;
        i += n;
    }

    return out;
}


static void
check_string(const uint8_t *in, size_t len)
{
    char      *buf, *end;
    long       n, k;
    size_t     i, max, m;
    uint32_t  *cps, cp;

    max = vpnws_json_string_max(len);
    buf = malloc(max ? max : 1);
    end = vpnws_json_string(buf, in, len);
    fuzz_assert(end >= buf && (size_t) (end - buf) <= max);

    cps = malloc((len + 1) * sizeof(uint32_t) * 6);
    n = decode((const uint8_t *) buf, (size_t) (end - buf), cps);
    fuzz_assert(n >= 0);

    /* decoding gives the input back, byte by byte or code point */
    k = 0;

    for (i = 0; i < len; /* void */) {
        m = (in[i] >= 0x80) ? utf8_len(in + i, len - i, &cp) : 0;

        if (m == 0) {
            cp = in[i];
            m = 1;
        }

        fuzz_assert(k < n && cps[k] == cp);
        k++;
        i += m;
    }

    fuzz_assert(k == n);

    free(cps);
    free(buf);
}


static void
check_peer(fuzz_in_t *in)
{
    char                *buf, *end, *addr;
    size_t               max, alen, ulen, dlen, i;
    uint8_t              mac[6];
    vpnws_json_peer_t    p;

    memset(&p, 0, sizeof(p));
    p.id = (uint64_t) fuzz_u32(in) << 32 | fuzz_u32(in);
    p.start = (int64_t) ((uint64_t) fuzz_u32(in) << 32 | fuzz_u32(in));
    p.tx = (uint64_t) fuzz_u32(in) << 32 | fuzz_u32(in);
    p.rx = ~p.tx;
    p.frames_in = p.tx * 3;
    p.frames_out = p.rx / 3;
    p.drops = UINT64_MAX;
    p.queued = p.tx ^ 0x5555;
    p.worker = (int32_t) fuzz_u32(in);
    p.pid = (int32_t) fuzz_u32(in);
    p.bridge = fuzz_u8(in) & 1;

    for (i = 0; i < 6; i++) {
        mac[i] = fuzz_u8(in);
    }

    p.mac = (mac[0] & 2) ? mac : NULL;

    alen = fuzz_u8(in) % 64;
    ulen = fuzz_u8(in);
    dlen = fuzz_u8(in);

    alen = alen < in->n ? alen : in->n;
    addr = malloc(alen + 1);
    memcpy(addr, in->p, alen);
    addr[alen] = '\0';
    p.addr = addr;

    /* a congestion control name: NUL-terminated, at most 15 bytes */
    p.congestion = (mac[1] & 1) ? addr + (alen > 15 ? alen - 15 : 0) : NULL;

    p.user = in->p;
    p.user_len = ulen < in->n ? ulen : in->n;
    p.dn = in->p + in->n - (dlen < in->n ? dlen : in->n);
    p.dn_len = dlen < in->n ? dlen : in->n;
    p.macs = in->p;
    p.nmacs = (uint32_t) (in->n / 6);

    max = vpnws_json_peer_max(&p);
    buf = malloc(max);
    end = vpnws_json_peer(buf, &p);
    fuzz_assert(end > buf && (size_t) (end - buf) < max);
    fuzz_assert(buf[0] == '{' && end[-1] == '}');

    free(buf);
    free(addr);
}


static void
check_id(const uint8_t *s, size_t len)
{
    int        rc, valid;
    char       text[24];
    size_t     i, lead;
    uint64_t   id;

    static const char  max[] = "18446744073709551615";

    valid = len > 0;

    for (i = 0; i < len; i++) {
        valid = valid && s[i] >= '0' && s[i] <= '9';
    }

    for (lead = 0; lead < len && s[lead] == '0'; lead++) {
        /* void */
    }

    /* digits without leading zeros: 1 to 20 of them, 20 only up to max */
    valid = valid && lead < len
            && (len - lead < sizeof(max) - 1
                || (len - lead == sizeof(max) - 1
                    && memcmp(s + lead, max, sizeof(max) - 1) <= 0));

    id = 0;
    rc = vpnws_json_id_parse(s, len, &id);
    fuzz_assert(rc == 0 || rc == -1);
    fuzz_assert((rc == 0) == valid);

    if (rc == 0) {
        fuzz_assert(id != 0);
        snprintf(text, sizeof(text), "%llu", (unsigned long long) id);
        fuzz_assert(strlen(text) == len - lead
                    && memcmp(text, s + lead, len - lead) == 0);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t    *copy, mode;
    fuzz_in_t   in;

    in.p = data;
    in.n = size;

    mode = fuzz_u8(&in);

    if (mode & 1) {
        check_peer(&in);

    } else if (mode & 2) {
        check_id(in.p, in.n);

    } else {
        copy = malloc(in.n ? in.n : 1);
        memcpy(copy, in.p, in.n);
        check_string(copy, in.n);
        free(copy);
    }

    return 0;
}
