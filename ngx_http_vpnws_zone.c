/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the vpnws_switch directive and the switch's shared zone
 * (MAC table, peer registry, counters).
 */


#include "ngx_http_vpnws.h"


static ngx_int_t ngx_http_vpnws_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_vpnws_switch_param(ngx_conf_t *cf,
    ngx_http_vpnws_switch_t *sw, ngx_str_t *value);
static char *ngx_http_vpnws_switch_policy(ngx_conf_t *cf,
    ngx_http_vpnws_switch_t *sw);
static int ngx_http_vpnws_alive(const vpnws_mac_entry_t *e);
static int ngx_http_vpnws_dead_match(const vpnws_mac_entry_t *e, void *data);
static void ngx_http_vpnws_expire_handler(ngx_event_t *ev);
static ngx_msec_t ngx_http_vpnws_expire_period(ngx_http_vpnws_switch_t *sw);


#define NGX_HTTP_VPNWS_DEFAULT_SIZE     (1024 * 1024)
#define NGX_HTTP_VPNWS_REAP_PERIOD      1000    /* ms: exited workers */


ngx_http_vpnws_switch_t *
ngx_http_vpnws_switch_find(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (sws[i]->name.len == name->len
            && ngx_strncmp(sws[i]->name.data, name->data, name->len) == 0)
        {
            return sws[i];
        }
    }

    return NULL;
}


char *
ngx_http_vpnws_switch_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_vpnws_main_conf_t *vmcf = conf;

    u_char                    ch;
    size_t                    size, need;
    ngx_str_t                *value, *name;
    ngx_uint_t                i;
    ngx_http_vpnws_switch_t  *sw, **swp;

    value = cf->args->elts;
    name = &value[1];

    if (name->len == 0 || name->len > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid switch name \"%V\"", name);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < name->len; i++) {
        ch = name->data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'
              || ch == '.'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid switch name \"%V\": use letters, "
                               "digits, \"_\", \"-\" and \".\"", name);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_vpnws_switch_find(cf, name)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate vpnws_switch \"%V\"", name);
        return NGX_CONF_ERROR;
    }

    sw = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_switch_t));
    if (sw == NULL) {
        return NGX_CONF_ERROR;
    }

    sw->name = *name;
    sw->index = vmcf->switches.nelts;
    sw->cycle = cf->cycle;
    sw->max_peers = VPNWS_DEFAULT_PEERS;
    sw->max_macs = NGX_CONF_UNSET_UINT;
    sw->tap_macs = NGX_CONF_UNSET_UINT;
    sw->queue = VPNWS_DEFAULT_QUEUE;
    sw->timeout = VPNWS_DEFAULT_IDLE;
    sw->ping = VPNWS_DEFAULT_PING;
    vpnws_switch_conf_default(&sw->conf);
    sw->offload = VPNWS_OFFLOAD_ALL;

    size = NGX_HTTP_VPNWS_DEFAULT_SIZE;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            size = ngx_parse_size(&(ngx_str_t) { value[i].len - 5,
                                                 value[i].data + 5 });

            if (size == (size_t) NGX_ERROR || size < 8 * ngx_pagesize) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "vpnws_switch \"%V\": invalid \"%V\": "
                                   "at least %uzk", name, &value[i],
                                   8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_http_vpnws_switch_param(cf, sw, &value[i]) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (sw->max_macs == NGX_CONF_UNSET_UINT) {
        sw->max_macs = vpnws_switch_default_macs((uint32_t) sw->max_peers);
    }

    if (sw->tap_macs == NGX_CONF_UNSET_UINT) {
        sw->tap_macs = vpnws_switch_tap_macs(&sw->conf,
                                             (uint32_t) sw->max_peers,
                                             (uint32_t) sw->max_macs);
    }

    if ((sw->tap_exec.len || sw->tap_bridge) && sw->tap_name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": tap_exec= and tap_bridge= "
                           "need tap=", name);
        return NGX_CONF_ERROR;
    }

    if (sw->max_macs < sw->max_peers) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": macs=%ui is less than "
                           "peers=%ui", name, sw->max_macs, sw->max_peers);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_vpnws_switch_policy(cf, sw) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* super-frames only where one fits */
    if (sw->conf.max_frame < VPNWS_VNET_FRAME_MAX) {
        sw->offload = 0;
    }

    if (sw->queue < ngx_http_vpnws_msg_max(sw) + VPNWS_WS_MAX_HLEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": queue=%uz cannot hold one "
                           "frame of max_frame=%uD", name, sw->queue,
                           sw->conf.max_frame);
        return NGX_CONF_ERROR;
    }

    /* the slab's own overhead is about one page descriptor per page */
    need = sizeof(ngx_http_vpnws_shctx_t)
           + sw->max_peers * (sizeof(ngx_http_vpnws_slot_t) + 128)
           + vpnws_mactab_size((uint32_t) sw->max_macs);
    need += need / 8 + 16 * ngx_pagesize;

    if (size < need) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": size=%uz is too small for "
                           "peers=%ui macs=%ui, need at least size=%uzk",
                           name, size, sw->max_peers, sw->max_macs,
                           need / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    sw->shm_zone = ngx_shared_memory_add(cf, name, size,
                                         &ngx_http_vpnws_module);
    if (sw->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (sw->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": the shared zone name is "
                           "already used by another module", name);
        return NGX_CONF_ERROR;
    }

    sw->shm_zone->init = ngx_http_vpnws_init_zone;
    sw->shm_zone->data = sw;

    swp = ngx_array_push(&vmcf->switches);
    if (swp == NULL) {
        return NGX_CONF_ERROR;
    }

    *swp = sw;

    if (sw->tap_name.len) {
        return ngx_http_vpnws_tap_configure(cf, sw);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpnws_parse_flag(ngx_str_t *v, unsigned *flag)
{
    if (v->len == 2 && ngx_strncmp(v->data, "on", 2) == 0) {
        *flag = 1;
        return NGX_OK;
    }

    if (v->len == 3 && ngx_strncmp(v->data, "off", 3) == 0) {
        *flag = 0;
        return NGX_OK;
    }

    return NGX_ERROR;
}


static char *
ngx_http_vpnws_switch_param(ngx_conf_t *cf, ngx_http_vpnws_switch_t *sw,
    ngx_str_t *value)
{
    u_char     *eq;
    ssize_t     size;
    unsigned    flag;
    ngx_int_t   n;
    ngx_str_t   key, v;
    ngx_uint_t  bit;

    eq = ngx_strlchr(value->data, value->data + value->len, '=');

    if (eq == NULL) {
        goto invalid;
    }

    key.data = value->data;
    key.len = eq - value->data;
    v.data = eq + 1;
    v.len = value->data + value->len - v.data;

#define is(name)  (key.len == sizeof(name) - 1                               \
                   && ngx_strncmp(key.data, name, key.len) == 0)

    if (is("bridged_macs")) {
        n = ngx_atoi(v.data, v.len);

        if (n < 0 || n > 10000000) {
            goto invalid;
        }

        sw->conf.bridged_macs = (uint32_t) n;
        return NGX_CONF_OK;
    }

    if (is("dhcp_guard") || is("ra_guard") || is("ip_guard")) {

        if (ngx_http_vpnws_parse_flag(&v, &flag) != NGX_OK) {
            goto invalid;
        }

        bit = is("dhcp_guard") ? VPNWS_GUARD_DHCP
              : is("ra_guard") ? VPNWS_GUARD_RA : VPNWS_GUARD_IP;

        sw->guards = flag ? (sw->guards | bit) : (sw->guards & ~bit);
        sw->guards_set |= bit;
        return NGX_CONF_OK;
    }

    if (is("peers") || is("macs") || is("bridge_macs") || is("tap_macs")) {
        n = ngx_atoi(v.data, v.len);

        if (n <= 0 || n > 10000000) {
            goto invalid;
        }

        if (is("peers")) {
            sw->max_peers = n;

        } else if (is("macs")) {
            sw->max_macs = n;

        } else if (is("tap_macs")) {
            sw->tap_macs = n;

        } else {
            sw->conf.bridge_macs = (uint32_t) n;
        }

        return NGX_CONF_OK;
    }

    if (is("max_frame") || is("queue")) {
        size = ngx_parse_size(&v);

        if (size == NGX_ERROR) {
            goto invalid;
        }

        if (is("max_frame")) {
            /* a tap frame is at most 64k; a worker channel message must
             * stay one allocation the kernel can make */
            if (size < VPNWS_ETH_HLEN || size > 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "vpnws_switch \"%V\": invalid \"%V\": "
                                   "14 to 1m", &sw->name, value);
                return NGX_CONF_ERROR;
            }

            sw->conf.max_frame = (uint32_t) size;

        } else {
            if (size > 64 * 1024 * 1024) {
                goto invalid;
            }

            sw->queue = size;
        }

        return NGX_CONF_OK;
    }

    if (is("mac_aging") || is("timeout") || is("ping")) {
        n = ngx_parse_time(&v, 0);

        if (n == NGX_ERROR) {
            goto invalid;
        }

        if (is("mac_aging")) {
            if (n < 1000) {
                goto invalid;
            }

            sw->conf.mac_aging = (uint32_t) (n / 1000);

        } else if (is("timeout")) {
            sw->timeout = (ngx_msec_t) n;

        } else {
            sw->ping = (ngx_msec_t) n;
        }

        return NGX_CONF_OK;
    }

    if (is("tap")) {
        if (v.len == 0 || v.len >= 16) {
            goto invalid;
        }

        sw->tap_name.data = ngx_pnalloc(cf->pool, v.len + 1);
        if (sw->tap_name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(sw->tap_name.data, v.data, v.len + 1);
        sw->tap_name.len = v.len;

        return NGX_CONF_OK;
    }

    if (is("tap_exec")) {
        if (v.len == 0) {
            goto invalid;
        }

        sw->tap_exec.data = ngx_pnalloc(cf->pool, v.len + 1);
        if (sw->tap_exec.data == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(sw->tap_exec.data, v.data, v.len + 1);
        sw->tap_exec.len = v.len;

        return NGX_CONF_OK;
    }

    if (is("broadcast") || is("multicast") || is("isolation")
        || is("tap_bridge") || is("offload"))
    {

        if (ngx_http_vpnws_parse_flag(&v, &flag) != NGX_OK) {
            goto invalid;
        }

        if (is("broadcast")) {
            sw->conf.broadcast = flag;

        } else if (is("multicast")) {
            sw->conf.multicast = flag;

        } else if (is("tap_bridge")) {
            sw->tap_bridge = flag;

        } else if (is("offload")) {
            sw->offload = flag ? VPNWS_OFFLOAD_ALL : 0;

        } else {
            sw->conf.isolation = flag;
        }

        return NGX_CONF_OK;
    }

#undef is

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "vpnws_switch \"%V\": unknown parameter \"%V\"",
                       &sw->name, value);
    return NGX_CONF_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "vpnws_switch \"%V\": invalid parameter \"%V\"",
                       &sw->name, value);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_vpnws_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_vpnws_switch_t  *osw = data;

    size_t                    len;
    void                     *mem;
    uint64_t                  seed;
    ngx_uint_t                i;
    ngx_slab_pool_t          *shpool;
    ngx_http_vpnws_switch_t  *sw;
    ngx_http_vpnws_shctx_t   *sh;

    sw = shm_zone->data;

    if (osw) {
        if (osw->max_peers != sw->max_peers
            || osw->max_macs != sw->max_macs)
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "vpnws_switch \"%V\": peers= and macs= cannot "
                          "change on reload; restart nginx or use another "
                          "switch name", &sw->name);
            return NGX_ERROR;
        }

        sw->shpool = osw->shpool;
        sw->sh = osw->sh;

        /* the generation changes in init_module: nginx may yet abandon
         * this cycle */

        return ngx_http_vpnws_prepare(sw->cycle);
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    sw->shpool = shpool;

    if (shm_zone->shm.exists) {
        sw->sh = shpool->data;
        return ngx_http_vpnws_prepare(sw->cycle);
    }

    len = sizeof(" in vpnws_switch \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        goto nomem;
    }

    ngx_sprintf(shpool->log_ctx, " in vpnws_switch \"%V\"%Z",
                &shm_zone->shm.name);

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_vpnws_shctx_t));
    if (sh == NULL) {
        goto nomem;
    }

    sw->sh = sh;
    shpool->data = sh;

    sh->slots = ngx_slab_calloc(shpool,
                                sw->max_peers * sizeof(ngx_http_vpnws_slot_t));
    if (sh->slots == NULL) {
        goto nomem;
    }

    mem = ngx_slab_alloc(shpool, vpnws_mactab_size((uint32_t) sw->max_macs));
    if (mem == NULL) {
        goto nomem;
    }

    sh->nslots = (uint32_t) sw->max_peers;

    for (i = 0; i < sw->max_peers; i++) {
        sh->slots[i].next_free = (i + 1 < sw->max_peers) ? i + 2 : 0;
    }

    sh->free_slot = 1;
    sh->next_id = 1;
    sh->gen = 1;

    seed = (uint64_t) ngx_random() << 32 ^ (uint64_t) ngx_random()
           ^ (uint64_t) ngx_time() ^ (uint64_t) (uintptr_t) sh;

    vpnws_mactab_init(&sh->table, mem, (uint32_t) sw->max_macs, seed);

    return ngx_http_vpnws_prepare(sw->cycle);

nomem:

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "vpnws_switch \"%V\": size=%uz is too small for peers=%ui "
                  "macs=%ui", &sw->name, shm_zone->shm.size, sw->max_peers,
                  sw->max_macs);
    return NGX_ERROR;
}


/*
 * A peer id: 64 bits from 1, so never reused and never 0 (a free slot).
 * The caller holds the zone's mutex: ngx_atomic_t is 32 bits on i386 and
 * armhf, and every id is taken with a slot, under that mutex anyway.
 */
uint64_t
ngx_http_vpnws_next_id(ngx_http_vpnws_shctx_t *sh)
{
    return sh->next_id++;
}


ngx_http_vpnws_slot_t *
ngx_http_vpnws_slot_alloc(ngx_http_vpnws_switch_t *sw)
{
    ngx_http_vpnws_slot_t   *slot;
    ngx_http_vpnws_shctx_t  *sh;

    sh = sw->sh;

    ngx_shmtx_lock(&sw->shpool->mutex);

    if (sh->free_slot == 0) {
        ngx_shmtx_unlock(&sw->shpool->mutex);
        return NULL;
    }

    slot = &sh->slots[sh->free_slot - 1];
    sh->free_slot = slot->next_free;

    ngx_memzero(slot, sizeof(ngx_http_vpnws_slot_t));

    slot->id = ngx_http_vpnws_next_id(sh);
    slot->pid = ngx_pid;
    slot->gen = sw->gen;
    slot->worker = (uint16_t) ngx_worker;
    slot->start = ngx_time();

    ngx_shmtx_unlock(&sw->shpool->mutex);

    (void) ngx_atomic_fetch_add(&sh->peers, 1);
    (void) ngx_atomic_fetch_add(&sh->worker_peers[ngx_worker], 1);

    return slot;
}


static void
ngx_http_vpnws_slot_free_locked(ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot)
{
    ngx_http_vpnws_shctx_t  *sh;

    sh = sw->sh;

    (void) ngx_atomic_fetch_add(&sh->frames_in, slot->stats.frames_in);
    (void) ngx_atomic_fetch_add(&sh->frames_out, slot->stats.frames_out);
    (void) ngx_atomic_fetch_add(&sh->bytes_in, slot->stats.rx);
    (void) ngx_atomic_fetch_add(&sh->bytes_out, slot->stats.tx);
    (void) ngx_atomic_fetch_add(&sh->peers, -1);
    (void) ngx_atomic_fetch_add(&sh->worker_peers[slot->worker], -1);

    if (slot->flags & VPNWS_PORT_BRIDGE) {
        (void) ngx_atomic_fetch_add(&sh->bridges, -1);
    }

    if (slot->user) {
        ngx_slab_free_locked(sw->shpool, slot->user);
    }

    if (slot->dn) {
        ngx_slab_free_locked(sw->shpool, slot->dn);
    }

    slot->id = 0;
    slot->user = NULL;
    slot->dn = NULL;
    slot->next_free = sh->free_slot;
    sh->free_slot = (uint32_t) (slot - sh->slots) + 1;
}


void
ngx_http_vpnws_slot_free(ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot)
{
    ngx_shmtx_lock(&sw->shpool->mutex);
    ngx_http_vpnws_slot_free_locked(sw, slot);
    ngx_shmtx_unlock(&sw->shpool->mutex);
}


#define NGX_HTTP_VPNWS_REAP_PIDS    64


typedef struct {
    ngx_uint_t   n;
    ngx_pid_t    pid[NGX_HTTP_VPNWS_REAP_PIDS];
} ngx_http_vpnws_pids_t;


static ngx_uint_t
ngx_http_vpnws_pids_has(ngx_http_vpnws_pids_t *pids, ngx_pid_t pid)
{
    ngx_uint_t  i;

    for (i = 0; i < pids->n; i++) {
        if (pids->pid[i] == pid) {
            return 1;
        }
    }

    return 0;
}


static int
ngx_http_vpnws_dead_match(const vpnws_mac_entry_t *e, void *data)
{
    return ngx_http_vpnws_pids_has(data, (ngx_pid_t) e->owner);
}


/* the pids of peer slots that no longer run (a worker killed, of any
 * generation: a respawned one or one that died shutting down) */
static void
ngx_http_vpnws_dead_pids(ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_pids_t *dead)
{
    uint32_t                 i;
    ngx_pid_t                pid;
    ngx_http_vpnws_pids_t    alive;
    ngx_http_vpnws_shctx_t  *sh;

    sh = sw->sh;
    dead->n = 0;
    alive.n = 0;

    /* without the lock: a slot being filled in has pid 0 or a live one */

    for (i = 0; i < sh->nslots; i++) {
        pid = sh->slots[i].pid;

        if (sh->slots[i].id == 0 || pid <= 0 || pid == ngx_pid
            || i + 1 == sh->tap_slot
            || ngx_http_vpnws_pids_has(dead, pid)
            || ngx_http_vpnws_pids_has(&alive, pid))
        {
            continue;
        }

        if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            if (dead->n < NGX_HTTP_VPNWS_REAP_PIDS) {
                dead->pid[dead->n++] = pid;
            }

        } else if (alive.n < NGX_HTTP_VPNWS_REAP_PIDS) {
            alive.pid[alive.n++] = pid;
        }
    }
}


/* whatever a dead pid holds goes: its peers' slots and MACs */
static void
ngx_http_vpnws_reap(ngx_http_vpnws_switch_t *sw, ngx_log_t *log)
{
    uint32_t                 i, purged, slots;
    ngx_http_vpnws_slot_t   *slot;
    ngx_http_vpnws_pids_t    dead;
    ngx_http_vpnws_shctx_t  *sh;

    ngx_http_vpnws_dead_pids(sw, &dead);

    if (dead.n == 0) {
        return;
    }

    sh = sw->sh;

    ngx_shmtx_lock(&sw->shpool->mutex);

    purged = vpnws_mactab_purge(&sh->table, ngx_http_vpnws_dead_match,
                                &dead);
    slots = 0;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slots[i];

        if (slot->id && i + 1 != sh->tap_slot
            && ngx_http_vpnws_pids_has(&dead, slot->pid))
        {
            ngx_http_vpnws_slot_free_locked(sw, slot);
            slots++;
        }
    }

    ngx_shmtx_unlock(&sw->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "vpnws_switch \"%V\": removed %uD peers and %uD MACs of "
                  "%ui worker process%s that exited (pid %P%s)", &sw->name,
                  slots, purged, dead.n, dead.n == 1 ? "" : "es",
                  dead.pid[0], dead.n == 1 ? "" : ", ...");
}


ngx_int_t
ngx_http_vpnws_switch_init_worker(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw)
{
    ngx_http_vpnws_shctx_t  *sh;

    sh = sw->sh;
    sw->gen = (uint32_t) sh->gen;

    ngx_queue_init(&sw->local);

    sw->by_slot = ngx_pcalloc(cycle->pool,
                              sw->max_peers * sizeof(ngx_http_vpnws_peer_t *));
    if (sw->by_slot == NULL) {
        return NGX_ERROR;
    }

    sw->cache = ngx_pcalloc(cycle->pool, sizeof(vpnws_switch_cache_t));
    if (sw->cache == NULL) {
        return NGX_ERROR;
    }

    if (ngx_worker == 0) {
        /*
         * one worker sweeps aged MACs, so the table never fills with them,
         * and reaps what exited workers left
         */
        sw->expire.handler = ngx_http_vpnws_expire_handler;
        sw->expire.data = &sw->expire_conn;
        sw->expire.log = cycle->log;
        sw->expire.cancelable = 1;
        sw->expire_conn.fd = (ngx_socket_t) -1;
        sw->expire_conn.data = sw;

        ngx_add_timer(&sw->expire, NGX_HTTP_VPNWS_REAP_PERIOD);
    }

    /* a predecessor that died (kill -9), or anyone else's ghosts */
    ngx_http_vpnws_reap(sw, cycle->log);

    return NGX_OK;
}


static ngx_msec_t
ngx_http_vpnws_expire_period(ngx_http_vpnws_switch_t *sw)
{
    return ngx_max(1000, sw->conf.mac_aging * 1000 / 4);
}


static void
ngx_http_vpnws_expire_handler(ngx_event_t *ev)
{
    ngx_msec_t                now;
    ngx_connection_t         *c;
    vpnws_switch_ctx_t        ctx;
    ngx_http_vpnws_switch_t  *sw;

    c = ev->data;
    sw = c->data;

    if (ngx_exiting) {
        return;
    }

    ngx_http_vpnws_reap(sw, ev->log);

    now = ngx_current_msec;

    if (now - sw->expired >= ngx_http_vpnws_expire_period(sw)) {
        sw->expired = now;

        ngx_http_vpnws_switch_ctx(sw, &ctx);

        ngx_shmtx_lock(&sw->shpool->mutex);
        (void) vpnws_switch_expire(&ctx);
        ngx_shmtx_unlock(&sw->shpool->mutex);
    }

    ngx_add_timer(ev, NGX_HTTP_VPNWS_REAP_PERIOD);
}


static int
ngx_http_vpnws_alive(const vpnws_mac_entry_t *e)
{
    if (e->owner == ngx_pid) {
        return 1;
    }

    return !(kill(e->owner, 0) == -1 && ngx_errno == NGX_ESRCH);
}


static void
ngx_http_vpnws_lock(void *data)
{
    ngx_shmtx_lock(data);
}


static void
ngx_http_vpnws_unlock(void *data)
{
    ngx_shmtx_unlock(data);
}


void
ngx_http_vpnws_switch_ctx(ngx_http_vpnws_switch_t *sw,
    vpnws_switch_ctx_t *ctx)
{
    /* monotonic: a clock stepped back must not age every MAC at once */
    vpnws_switch_ctx_init(ctx, &sw->conf, &sw->sh->table,
                          (uint32_t) (ngx_current_msec / 1000));
    ctx->msec = ngx_current_msec;
    ctx->gen = sw->gen;
    ctx->owner = (int32_t) ngx_pid;
    ctx->bridges = (uint32_t) sw->sh->bridges;
    ctx->alive = ngx_http_vpnws_alive;
    ctx->lock = ngx_http_vpnws_lock;
    ctx->unlock = ngx_http_vpnws_unlock;
    ctx->lock_data = &sw->shpool->mutex;
    ctx->cache = sw->cache;
}


void
ngx_http_vpnws_count_drop(ngx_http_vpnws_switch_t *sw, vpnws_drop_t reason)
{
    (void) ngx_atomic_fetch_add(&sw->sh->drops[reason], 1);
}


/* the defaults that follow from the other parameters: the core's */
static char *
ngx_http_vpnws_switch_policy(ngx_conf_t *cf, ngx_http_vpnws_switch_t *sw)
{
    if (vpnws_switch_conf_finish(&sw->conf, (uint32_t) sw->max_peers,
                                 (uint32_t) sw->max_macs,
                                 (unsigned) sw->guards,
                                 (unsigned) sw->guards_set)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": bridged_macs=%uD leaves "
                           "ordinary peers less than peers=%ui entries "
                           "(at most macs - peers = %ui)", &sw->name,
                           sw->conf.bridged_macs, sw->max_peers,
                           sw->max_macs - sw->max_peers);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
