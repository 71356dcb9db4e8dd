/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: fixed-capacity MAC table in caller-provided memory.
 *
 * Chained hash: buckets hold entry index + 1; free entries form a list.
 * An entry with port.id == 0 is free.
 */


#include <string.h>

#include "vpnws_switch.h"


static uint32_t
vpnws_mactab_hash(const vpnws_mactab_t *t, const uint8_t *mac)
{
    uint64_t  k;

    k = (uint64_t) mac[0] | (uint64_t) mac[1] << 8 | (uint64_t) mac[2] << 16
        | (uint64_t) mac[3] << 24 | (uint64_t) mac[4] << 32
        | (uint64_t) mac[5] << 40;

    k ^= t->seed;
    k *= 0x9e3779b97f4a7c15ULL;
    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 32;

    return (uint32_t) k & (t->nbuckets - 1);
}


static uint32_t
vpnws_mactab_buckets(uint32_t capacity)
{
    uint32_t  n;

    n = 16;

    while (n < capacity && n < 0x40000000) {
        n <<= 1;
    }

    return n;
}


size_t
vpnws_mactab_size(uint32_t capacity)
{
    return vpnws_mactab_buckets(capacity) * sizeof(uint32_t)
           + (size_t) capacity * sizeof(vpnws_mac_entry_t);
}


void
vpnws_mactab_init(vpnws_mactab_t *t, void *mem, uint32_t capacity,
    uint64_t seed)
{
    uint32_t  i;

    t->version = 0;
    t->swept = 0;
    t->nbuckets = vpnws_mactab_buckets(capacity);
    t->capacity = capacity;
    t->count = 0;
    t->learned = 0;
    t->seed = seed;
    t->entries = mem;
    t->buckets = (uint32_t *) (t->entries + capacity);

    memset(t->buckets, 0, t->nbuckets * sizeof(uint32_t));
    memset(t->entries, 0, (size_t) capacity * sizeof(vpnws_mac_entry_t));

    for (i = 0; i < capacity; i++) {
        t->entries[i].next = (i + 1 < capacity) ? i + 2 : 0;
    }

    t->free = capacity ? 1 : 0;
}


vpnws_mac_entry_t *
vpnws_mactab_find(vpnws_mactab_t *t, const uint8_t *mac)
{
    uint32_t            i;
    vpnws_mac_entry_t  *e;

    for (i = t->buckets[vpnws_mactab_hash(t, mac)]; i; i = e->next) {
        e = &t->entries[i - 1];

        if (vpnws_mac_eq(e->mac, mac)) {
            return e;
        }
    }

    return NULL;
}


vpnws_mac_entry_t *
vpnws_mactab_insert(vpnws_mactab_t *t, const uint8_t *mac)
{
    uint32_t            i, b;
    vpnws_mac_entry_t  *e;

    i = t->free;

    if (i == 0) {
        return NULL;
    }

    e = &t->entries[i - 1];
    t->free = e->next;

    b = vpnws_mactab_hash(t, mac);

    memset(e, 0, sizeof(vpnws_mac_entry_t));
    memcpy(e->mac, mac, VPNWS_MAC_LEN);
    e->next = t->buckets[b];
    t->buckets[b] = i;
    t->count++;
    __atomic_store_n(&t->version, t->version + 1, __ATOMIC_RELEASE);

    return e;
}


void
vpnws_mactab_remove(vpnws_mactab_t *t, vpnws_mac_entry_t *e)
{
    uint32_t  i, *link;

    i = (uint32_t) (e - t->entries) + 1;

    for (link = &t->buckets[vpnws_mactab_hash(t, e->mac)];
         *link;
         link = &t->entries[*link - 1].next)
    {
        if (*link == i) {
            *link = e->next;

            if (e->flags & VPNWS_ENTRY_LEARNED) {
                t->learned--;
            }

            memset(e, 0, sizeof(vpnws_mac_entry_t));
            e->next = t->free;
            t->free = i;
            t->count--;
            __atomic_store_n(&t->version, t->version + 1, __ATOMIC_RELEASE);
            return;
        }
    }
}


uint32_t
vpnws_mactab_port_count(const vpnws_mactab_t *t, uint64_t id)
{
    uint32_t  i, n;

    n = 0;

    for (i = 0; i < t->capacity; i++) {
        n += (t->entries[i].port.id == id && id != 0);
    }

    return n;
}


uint32_t
vpnws_mactab_purge(vpnws_mactab_t *t,
    int (*match)(const vpnws_mac_entry_t *e, void *data), void *data)
{
    uint32_t            i, n;
    vpnws_mac_entry_t  *e;

    n = 0;

    for (i = 0; i < t->capacity; i++) {
        e = &t->entries[i];

        if (e->port.id != 0 && match(e, data)) {
            vpnws_mactab_remove(t, e);
            n++;
        }
    }

    return n;
}
