/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: per-port rate limits, token buckets in host milliseconds.
 *
 * The byte bucket slows a port down: the host reads at most
 * vpnws_limit_room() bytes from its socket and stops reading for
 * vpnws_limit_wait() ms when it is empty, so the sender's TCP backs off.
 * The flood bucket counts broadcast, multicast and unknown unicast frames;
 * one over the limit is dropped, and the host pauses the port as well.
 * Toward the port the same rate polices: over rate and burst, frames drop.
 */

#ifndef _VPNWS_LIMIT_H_INCLUDED_
#define _VPNWS_LIMIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define VPNWS_RATE_MAX          ((uint64_t) 1 << 40)    /* bytes/s */
#define VPNWS_RATE_MIN          1024
#define VPNWS_FLOOD_MAX         1000000                 /* frames/s */
#define VPNWS_RATE_TEXT_LEN     64


typedef struct {
    uint64_t        rate;           /* bytes per second; 0: unlimited */
    uint64_t        burst;          /* bytes */
    uint32_t        flood;          /* flooded frames per second; 0: any */
    uint32_t        flood_burst;    /* frames */
} vpnws_rate_t;


typedef struct {
    vpnws_rate_t    conf;
    int64_t         bytes;          /* milli-bytes; below 0: debt */
    int64_t         floods;         /* milli-frames */
    uint64_t        last;           /* host msec of the last refill */
    int64_t         out;            /* milli-bytes toward the port */
    uint64_t        out_last;
} vpnws_limit_t;


/*
 * Parse "off", "" or "RATE [burst=SIZE] [flood=N]" in any order, sizes
 * with k/m/g suffixes (1024-based, bytes as in nginx's limit_rate).
 * 0 or -1 with *err naming the fault.
 */
int vpnws_rate_parse(const char *s, size_t len, vpnws_rate_t *rate,
    const char **err);

/* "10485760 burst=1048576 flood=100", "off"; out[VPNWS_RATE_TEXT_LEN] */
size_t vpnws_rate_format(const vpnws_rate_t *rate, char *out);

/* full buckets */
void vpnws_limit_init(vpnws_limit_t *l, const vpnws_rate_t *rate,
    uint64_t now);

/* 1 if any limit is set */
static inline int
vpnws_limit_on(const vpnws_limit_t *l)
{
    return l->conf.rate != 0 || l->conf.flood != 0;
}

/* bytes the host may read now, at most want; 0: pause the port */
size_t vpnws_limit_room(vpnws_limit_t *l, uint64_t now, size_t want);

/* n bytes were read */
void vpnws_limit_charge(vpnws_limit_t *l, size_t n);

/* a flooded frame: 0 to pass it, -1 to drop it */
int vpnws_limit_flood(vpnws_limit_t *l, uint64_t now);

/*
 * A frame of len bytes toward the port: 0 to send it (charged), -1 to drop
 * it: what others send to a peer cannot be slowed, only policed.
 */
int vpnws_limit_send(vpnws_limit_t *l, uint64_t now, size_t len);

/* ms until the port may be read again; 0: now */
uint64_t vpnws_limit_wait(vpnws_limit_t *l, uint64_t now);


#endif /* _VPNWS_LIMIT_H_INCLUDED_ */
