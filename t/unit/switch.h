/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: a switch to run the rules on (test_switch.c and
 * test_policy.c): a MAC table, a context whose lock checks that every
 * table change happens under it, ports and MAC addresses.
 */

#ifndef _VPNWS_UNIT_SWITCH_H_INCLUDED_
#define _VPNWS_UNIT_SWITCH_H_INCLUDED_


#include <stdlib.h>
#include <string.h>

#include "vpnws_switch.h"


typedef struct {
    vpnws_switch_conf_t    conf;
    vpnws_mactab_t         tab;
    void                  *mem;
    vpnws_switch_ctx_t     ctx;
    vpnws_switch_cache_t   cache;
    /* lock discipline: every table change happens under the lock */
    int                    depth;
    uint64_t               version;
    int                    lock_errors;
    int                    locks;
} sw_t;


static TAP_UNUSED void
sw_lock(void *data)
{
    sw_t  *s = data;

    if (s->depth != 0 || s->tab.version != s->version) {
        s->lock_errors++;
    }

    s->depth++;
    s->locks++;
}


static TAP_UNUSED void
sw_unlock(void *data)
{
    sw_t  *s = data;

    if (s->depth != 1) {
        s->lock_errors++;
    }

    s->depth--;
    s->version = s->tab.version;
}


/* 1514-byte frames, floods on, no isolation, no cache, at host second
 * 1000 (msec 1000000) */
static TAP_UNUSED void
sw_init(sw_t *s, uint32_t capacity, uint32_t bridge_macs)
{
    memset(s, 0, sizeof(sw_t));

    s->conf.max_frame = 1514;
    s->conf.bridge_macs = bridge_macs;
    s->conf.mac_aging = 300;
    s->conf.broadcast = 1;
    s->conf.multicast = 1;

    s->mem = calloc(1, vpnws_mactab_size(capacity));
    if (s->mem == NULL) {
        abort();
    }

    vpnws_mactab_init(&s->tab, s->mem, capacity, 0x5eed);
    vpnws_switch_ctx_init(&s->ctx, &s->conf, &s->tab, 1000);

    s->ctx.msec = 1000000;
    s->ctx.gen = 1;
    s->ctx.owner = 100;
    s->ctx.lock = sw_lock;
    s->ctx.unlock = sw_unlock;
    s->ctx.lock_data = s;
}


static TAP_UNUSED void
sw_free(sw_t *s)
{
    free(s->mem);
    s->mem = NULL;
}


static TAP_UNUSED void
port_init(vpnws_port_state_t *p, uint32_t id, uint16_t flags)
{
    memset(p, 0, sizeof(vpnws_port_state_t));
    p->port.id = id;
    p->port.slot = id + 1000;
    p->port.worker = (uint16_t) (id % 4);
    p->port.flags = flags;
}


/* 02:42 and n */
static TAP_UNUSED void
mkmac(uint8_t *m, uint32_t n)
{
    m[0] = 0x02;
    m[1] = 0x42;
    m[2] = (uint8_t) (n >> 24);
    m[3] = (uint8_t) (n >> 16);
    m[4] = (uint8_t) (n >> 8);
    m[5] = (uint8_t) n;
}


#endif /* _VPNWS_UNIT_SWITCH_H_INCLUDED_ */
