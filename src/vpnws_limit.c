/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: per-port rate limits (token buckets) and their parser.
 *
 * Buckets hold thousandths, so that rate * elapsed ms is exact: a byte
 * costs 1000 milli-bytes, a flooded frame 1000 milli-frames.
 */


#include <stdio.h>
#include <string.h>

#include "vpnws_limit.h"


#define VPNWS_LIMIT_IDLE_MAX    3600000     /* ms of refill counted at once */
#define VPNWS_LIMIT_QUANTUM     4096        /* smallest read after a pause */


static int
vpnws_limit_size(const char *s, size_t len, uint64_t max, uint64_t *v)
{
    size_t    i;
    uint64_t  n, scale;

    if (len == 0) {
        return -1;
    }

    scale = 1;

    switch (s[len - 1]) {
    case 'k': case 'K':
        scale = 1024;
        len--;
        break;
    case 'm': case 'M':
        scale = 1024 * 1024;
        len--;
        break;
    case 'g': case 'G':
        scale = 1024 * 1024 * 1024;
        len--;
        break;
    }

    if (len == 0 || len > 13) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    if (n > max / scale) {
        return -1;
    }

    *v = n * scale;

    return 0;
}


static int
vpnws_limit_word(const char *w, size_t len, const char *name)
{
    size_t  n;

    n = strlen(name);

    return len > n && memcmp(w, name, n) == 0;
}


int
vpnws_rate_parse(const char *s, size_t len, vpnws_rate_t *rate,
    const char **err)
{
    size_t       i, start, wlen;
    uint64_t     v;
    const char  *w;
    int          has_rate, has_burst;

    memset(rate, 0, sizeof(vpnws_rate_t));
    has_rate = 0;
    has_burst = 0;

    if (len == 3 && memcmp(s, "off", 3) == 0) {
        return 0;
    }

    for (i = 0; i < len; /* void */) {

        while (i < len && (s[i] == ' ' || s[i] == '\t')) {
            i++;
        }

        start = i;

        while (i < len && s[i] != ' ' && s[i] != '\t') {
            i++;
        }

        w = s + start;
        wlen = i - start;

        if (wlen == 0) {
            break;
        }

        if (vpnws_limit_word(w, wlen, "burst=")) {
            if (has_burst
                || vpnws_limit_size(w + 6, wlen - 6, VPNWS_RATE_MAX, &v) != 0
                || v < VPNWS_RATE_MIN)
            {
                *err = "burst= must be a size from 1k to 1024g";
                return -1;
            }

            rate->burst = v;
            has_burst = 1;

        } else if (vpnws_limit_word(w, wlen, "flood=")) {
            if (rate->flood
                || vpnws_limit_size(w + 6, wlen - 6, VPNWS_FLOOD_MAX, &v)
                   != 0
                || v == 0)
            {
                *err = "flood= must be a number of frames per second "
                       "from 1 to 1000000";
                return -1;
            }

            rate->flood = (uint32_t) v;
            rate->flood_burst = (uint32_t) v;

        } else {
            if (has_rate
                || vpnws_limit_size(w, wlen, VPNWS_RATE_MAX, &v) != 0
                || v < VPNWS_RATE_MIN)
            {
                *err = "the rate must be bytes per second from 1k to 1024g "
                       "(\"10m burst=1m flood=100\", or \"off\")";
                return -1;
            }

            rate->rate = v;
            has_rate = 1;
        }
    }

    if (has_burst && !has_rate) {
        *err = "burst= needs a rate";
        return -1;
    }

    if (has_rate && !has_burst) {
        /* an eighth of a second, enough for a TCP window to open */
        rate->burst = rate->rate / 8 > 65536 ? rate->rate / 8 : 65536;
    }

    return 0;
}


size_t
vpnws_rate_format(const vpnws_rate_t *rate, char *out)
{
    int  n;

    if (rate->rate == 0 && rate->flood == 0) {
        return (size_t) sprintf(out, "off");
    }

    n = 0;

    if (rate->rate) {
        n = sprintf(out, "%llu burst=%llu", (unsigned long long) rate->rate,
                    (unsigned long long) rate->burst);
    }

    if (rate->flood) {
        n += sprintf(out + n, "%sflood=%u", n ? " " : "",
                     (unsigned) rate->flood);
    }

    return (size_t) n;
}


void
vpnws_limit_init(vpnws_limit_t *l, const vpnws_rate_t *rate, uint64_t now)
{
    l->conf = *rate;
    l->bytes = (int64_t) rate->burst * 1000;
    l->floods = (int64_t) rate->flood_burst * 1000;
    l->last = now;
    l->out = (int64_t) rate->burst * 1000;
    l->out_last = now;
}


/* ms since *last, at most an hour's worth; *last moves to now */
static uint64_t
vpnws_limit_elapsed(uint64_t *last, uint64_t now)
{
    uint64_t  ms;

    if (now <= *last) {
        return 0;
    }

    ms = now - *last;
    *last = now;

    return ms > VPNWS_LIMIT_IDLE_MAX ? VPNWS_LIMIT_IDLE_MAX : ms;
}


/* per_ms thousandths a millisecond into *tokens, up to burst units */
static void
vpnws_limit_add(int64_t *tokens, uint64_t per_ms, uint64_t ms,
    uint64_t burst)
{
    *tokens += (int64_t) (per_ms * ms);

    if (*tokens > (int64_t) burst * 1000) {
        *tokens = (int64_t) burst * 1000;
    }
}


static void
vpnws_limit_refill(vpnws_limit_t *l, uint64_t now)
{
    uint64_t  ms;

    ms = vpnws_limit_elapsed(&l->last, now);

    if (ms) {
        vpnws_limit_add(&l->bytes, l->conf.rate, ms, l->conf.burst);
        vpnws_limit_add(&l->floods, l->conf.flood, ms, l->conf.flood_burst);
    }
}


/* resume reading once this many bytes may come: no storm of tiny reads */
static int64_t
vpnws_limit_quantum(const vpnws_limit_t *l)
{
    uint64_t  q;

    q = l->conf.rate / 100;

    if (q < VPNWS_LIMIT_QUANTUM) {
        q = VPNWS_LIMIT_QUANTUM;
    }

    if (q > l->conf.burst) {
        q = l->conf.burst;
    }

    return (int64_t) q * 1000;
}


size_t
vpnws_limit_room(vpnws_limit_t *l, uint64_t now, size_t want)
{
    vpnws_limit_refill(l, now);

    if (l->conf.flood) {

        if (l->floods < 1000) {
            return 0;
        }

        if (l->floods < 2000 && want > VPNWS_LIMIT_QUANTUM) {
            /* a storm's next flood: read a few frames, not a buffer full
             * of them only to drop all but one */
            want = VPNWS_LIMIT_QUANTUM;
        }
    }

    if (l->conf.rate == 0) {
        return want;
    }

    if (l->bytes < vpnws_limit_quantum(l)) {
        return 0;
    }

    return (uint64_t) (l->bytes / 1000) < want ? (size_t) (l->bytes / 1000)
                                               : want;
}


void
vpnws_limit_charge(vpnws_limit_t *l, size_t n)
{
    if (l->conf.rate) {
        l->bytes -= (int64_t) n * 1000;
    }
}


int
vpnws_limit_flood(vpnws_limit_t *l, uint64_t now)
{
    if (l->conf.flood == 0) {
        return 0;
    }

    vpnws_limit_refill(l, now);

    if (l->floods < 1000) {
        return -1;
    }

    l->floods -= 1000;

    return 0;
}


int
vpnws_limit_send(vpnws_limit_t *l, uint64_t now, size_t len)
{
    if (l->conf.rate == 0) {
        return 0;
    }

    vpnws_limit_add(&l->out, l->conf.rate,
                    vpnws_limit_elapsed(&l->out_last, now), l->conf.burst);

    if (l->out < 0) {
        return -1;
    }

    /* one frame may go into debt: a super-frame bigger than burst passes */
    l->out -= (int64_t) len * 1000;

    return 0;
}


static uint64_t
vpnws_limit_until(int64_t have, int64_t need, uint64_t per_ms)
{
    if (have >= need) {
        return 0;
    }

    return ((uint64_t) (need - have) + per_ms - 1) / per_ms;
}


uint64_t
vpnws_limit_wait(vpnws_limit_t *l, uint64_t now)
{
    uint64_t  b, f;

    vpnws_limit_refill(l, now);

    b = 0;
    f = 0;

    if (l->conf.rate) {
        b = vpnws_limit_until(l->bytes, vpnws_limit_quantum(l),
                              l->conf.rate);
    }

    if (l->conf.flood) {
        f = vpnws_limit_until(l->floods, 1000, l->conf.flood);
    }

    return b > f ? b : f;
}
