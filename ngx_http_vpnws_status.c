/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the vpnws_status location: every peer of a switch on every
 * worker as JSON (DESIGN.md section 3), and ?kill=<id>.
 */


#include "ngx_http_vpnws.h"
#include "vpnws_json.h"
#include "vpnws_prom.h"


typedef struct {
    ngx_http_vpnws_slot_t   slot;
    uint8_t                *macs;
    uint32_t                nmacs;
} ngx_http_vpnws_status_peer_t;


static ngx_int_t ngx_http_vpnws_status_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
static ngx_int_t ngx_http_vpnws_status_kill(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_str_t *arg);
static ngx_int_t ngx_http_vpnws_status_kill_user(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_str_t *arg);
static ngx_int_t ngx_http_vpnws_status_not_allowed(ngx_http_request_t *r,
    ngx_uint_t kill);
static ngx_int_t ngx_http_vpnws_status_list(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw);
static ngx_int_t ngx_http_vpnws_status_prometheus(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw);
static ngx_int_t ngx_http_vpnws_status_send_type(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *data, size_t len);


ngx_int_t
ngx_http_vpnws_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc, kill, kill_user;
    ngx_str_t                   arg, user;
    ngx_http_vpnws_loc_conf_t  *vlcf;

    kill = ngx_http_arg(r, (u_char *) "kill", 4, &arg) == NGX_OK;
    kill_user = ngx_http_arg(r, (u_char *) "kill_user", 9, &user) == NGX_OK;

    /* a prefetch or a cross-site link must not cut peers: kills are POST */
    if (kill || kill_user
        ? r->method != NGX_HTTP_POST
        : !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return ngx_http_vpnws_status_not_allowed(r, kill || kill_user);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);

    if (kill) {
        return ngx_http_vpnws_status_kill(r, vlcf->status, &arg);
    }

    if (kill_user) {
        return ngx_http_vpnws_status_kill_user(r, vlcf->status, &user);
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &arg) == NGX_OK) {

        if (arg.len == 10
            && ngx_strncmp(arg.data, "prometheus", 10) == 0)
        {
            return ngx_http_vpnws_status_prometheus(r, vlcf->status);
        }

        if (!(arg.len == 4 && ngx_strncmp(arg.data, "json", 4) == 0)) {
            static u_char  bad[] = "{\"status\":\"error\",\"error\":"
                                   "\"format is json or prometheus\"}\n";

            return ngx_http_vpnws_status_send(r, NGX_HTTP_BAD_REQUEST, bad,
                                              sizeof(bad) - 1);
        }
    }

    return ngx_http_vpnws_status_list(r, vlcf->status);
}


static ngx_int_t
ngx_http_vpnws_status_kill(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw,
    ngx_str_t *arg)
{
    uint64_t                   id;
    ngx_uint_t                 i, found, worker, gen;
    ngx_http_vpnws_slot_t     *slot;
    ngx_http_vpnws_shctx_t    *sh;

    static u_char  ok[] = "{\"status\":\"ok\"}\n";
    static u_char  notfound[] = "{\"status\":\"not found\"}\n";
    static u_char  bad[] = "{\"status\":\"error\",\"error\":"
                           "\"kill needs a peer id\"}\n";
    static u_char  busy[] = "{\"status\":\"error\",\"error\":"
                            "\"peer is on a worker being replaced\"}\n";

    if (vpnws_json_id_parse(arg->data, arg->len, &id) != 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "vpnws_switch \"%V\": kill= needs a peer id, "
                      "1 to 18446744073709551615", &sw->name);
        return ngx_http_vpnws_status_send(r, NGX_HTTP_BAD_REQUEST, bad,
                                          sizeof(bad) - 1);
    }

    sh = sw->sh;
    found = 0;
    worker = 0;
    gen = 0;

    ngx_shmtx_lock(&sw->shpool->mutex);

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slots[i];

        if (slot->id == id) {
            found = 1;
            worker = slot->worker;
            gen = slot->gen;
            break;
        }
    }

    ngx_shmtx_unlock(&sw->shpool->mutex);

    if (!found) {
        return ngx_http_vpnws_status_send(r, NGX_HTTP_NOT_FOUND, notfound,
                                          sizeof(notfound) - 1);
    }

    if (gen != sw->gen
        || ngx_http_vpnws_kill(sw, worker, (uint32_t) i, id) != NGX_OK)
    {
        /* the tap is the switch's own; old workers are leaving anyway */
        return ngx_http_vpnws_status_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          busy, sizeof(busy) - 1);
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "vpnws_switch \"%V\": peer %uL killed", &sw->name, id);

    return ngx_http_vpnws_status_send(r, NGX_HTTP_OK, ok, sizeof(ok) - 1);
}


/* close a peer on whichever worker holds it; the tap is not a peer */
ngx_int_t
ngx_http_vpnws_kill(ngx_http_vpnws_switch_t *sw, ngx_uint_t worker,
    uint32_t slot, uint64_t id)
{
    ngx_http_vpnws_ipc_hdr_t  hdr;

    if (worker == NGX_HTTP_VPNWS_TAP_WORKER) {
        return NGX_DECLINED;
    }

    if (worker == ngx_worker) {
        ngx_http_vpnws_peer_kill(sw, slot, id, VPNWS_WS_CLOSE_POLICY);
        ngx_http_vpnws_flush_dirty();
        return NGX_OK;
    }

    ngx_memzero(&hdr, sizeof(hdr));
    hdr.type = NGX_HTTP_VPNWS_IPC_KILL;
    hdr.sw = (uint16_t) sw->index;
    hdr.dst_slot = slot;
    hdr.dst_id = id;

    if (ngx_http_vpnws_ipc_send(worker, &hdr, NULL, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_vpnws_ipc_flush();

    return NGX_OK;
}


/* ?kill_user=NAME (URL-escaped): every peer of that identity */
static ngx_int_t
ngx_http_vpnws_status_kill_user(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_str_t *arg)
{
    u_char                  *dst, *src, *out;
    uint64_t                 ids[64];
    uint32_t                 slots[64];
    ngx_str_t                user;
    ngx_uint_t               i, k, n, start, killed, workers[64];
    ngx_http_vpnws_slot_t   *slot;
    ngx_http_vpnws_shctx_t  *sh;

    static u_char  notfound[] = "{\"status\":\"not found\"}\n";

    user.data = ngx_pnalloc(r->pool, arg->len + 1);
    if (user.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = user.data;
    src = arg->data;
    ngx_unescape_uri(&dst, &src, arg->len, 0);
    user.len = dst - user.data;

    sh = sw->sh;
    killed = 0;

    /* in rounds of 64: a kill must not run under the zone's lock */
    for (start = 0; start < sh->nslots; start = i) {
        n = 0;

        ngx_shmtx_lock(&sw->shpool->mutex);

        for (i = start; i < sh->nslots && n < 64; i++) {
            slot = &sh->slots[i];

            if (slot->id && slot->gen == sw->gen && slot->user
                && slot->user_len == user.len
                && ngx_memcmp(slot->user, user.data, user.len) == 0
                && slot->worker != NGX_HTTP_VPNWS_TAP_WORKER)
            {
                ids[n] = slot->id;
                slots[n] = (uint32_t) i;
                workers[n] = slot->worker;
                n++;
            }
        }

        ngx_shmtx_unlock(&sw->shpool->mutex);

        for (k = 0; k < n; k++) {
            if (ngx_http_vpnws_kill(sw, workers[k], slots[k], ids[k])
                == NGX_OK)
            {
                killed++;
            }
        }
    }

    if (killed == 0) {
        return ngx_http_vpnws_status_send(r, NGX_HTTP_NOT_FOUND, notfound,
                                          sizeof(notfound) - 1);
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "vpnws_switch \"%V\": %ui peers of user \"%V\" killed",
                  &sw->name, killed, &user);

    out = ngx_pnalloc(r->pool, 64);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_sprintf(out, "{\"status\":\"ok\",\"killed\":%ui}\n", killed)
        - out;

    return ngx_http_vpnws_status_send(r, NGX_HTTP_OK, out, n);
}


static ngx_int_t
ngx_http_vpnws_status_not_allowed(ngx_http_request_t *r, ngx_uint_t kill)
{
    ngx_table_elt_t  *h;

    static u_char  body[] = "{\"status\":\"error\",\"error\":"
                            "\"kill and kill_user need POST\"}\n";

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");

    if (kill) {
        ngx_str_set(&h->value, "POST");

    } else {
        ngx_str_set(&h->value, "GET, HEAD");
    }

    (void) ngx_http_discard_request_body(r);

    return ngx_http_vpnws_status_send(r, NGX_HTTP_NOT_ALLOWED, body,
                                      sizeof(body) - 1);
}


static ngx_int_t
ngx_http_vpnws_status_list(ngx_http_request_t *r, ngx_http_vpnws_switch_t *sw)
{
    size_t                         len;
    u_char                        *buf, *p;
    uint32_t                       i, k, n, local, remote, learned, *index;
    uint64_t                       drops[VPNWS_DROP_MAX];
    vpnws_json_peer_t              jp;
    vpnws_json_switch_t            js;
    vpnws_mac_entry_t             *e;
    vpnws_switch_ctx_t             ctx;
    ngx_http_vpnws_slot_t         *slot;
    ngx_http_vpnws_shctx_t        *sh;
    ngx_http_vpnws_status_peer_t  *peers, *sp;

    sh = sw->sh;

    index = ngx_pcalloc(r->pool, sh->nslots * sizeof(uint32_t));
    peers = ngx_pcalloc(r->pool,
                        sh->nslots * sizeof(ngx_http_vpnws_status_peer_t));
    if (index == NULL || peers == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_vpnws_switch_ctx(sw, &ctx);

    ngx_shmtx_lock(&sw->shpool->mutex);

    /* aged MACs are gone even if nothing looked them up yet */
    (void) vpnws_switch_expire(&ctx);

    n = 0;

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slots[i];

        if (slot->id == 0) {
            continue;
        }

        sp = &peers[n];
        sp->slot = *slot;
        index[i] = ++n;

        /* the strings may be freed once the lock is released */
        sp->slot.user = ngx_pnalloc(r->pool, slot->user_len + 1);
        sp->slot.dn = ngx_pnalloc(r->pool, slot->dn_len + 1);

        if (sp->slot.user == NULL || sp->slot.dn == NULL) {
            ngx_shmtx_unlock(&sw->shpool->mutex);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (slot->user_len) {
            ngx_memcpy(sp->slot.user, slot->user, slot->user_len);
        }

        if (slot->dn_len) {
            ngx_memcpy(sp->slot.dn, slot->dn, slot->dn_len);
        }
    }

    /* every MAC a peer owns: count, then collect */

    for (k = 0; k < sh->table.capacity; k++) {
        e = &sh->table.entries[k];

        if (e->port.id && e->port.slot < sh->nslots && index[e->port.slot]
            && peers[index[e->port.slot] - 1].slot.id == e->port.id)
        {
            peers[index[e->port.slot] - 1].nmacs++;
        }
    }

    for (i = 0; i < n; i++) {
        peers[i].macs = ngx_pnalloc(r->pool,
                                    peers[i].nmacs * VPNWS_MAC_LEN + 1);
        if (peers[i].macs == NULL) {
            ngx_shmtx_unlock(&sw->shpool->mutex);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        peers[i].nmacs = 0;
    }

    for (k = 0; k < sh->table.capacity; k++) {
        e = &sh->table.entries[k];

        if (e->port.id && e->port.slot < sh->nslots && index[e->port.slot]
            && peers[index[e->port.slot] - 1].slot.id == e->port.id)
        {
            sp = &peers[index[e->port.slot] - 1];
            ngx_memcpy(sp->macs + sp->nmacs * VPNWS_MAC_LEN, e->mac,
                       VPNWS_MAC_LEN);
            sp->nmacs++;
        }
    }

    k = sh->table.count;
    learned = sh->table.learned;

    /* several hosts: the MACs behind the tap are other hosts' stations */
    remote = 0;
    local = n;

    if (sh->tap_slot && index[sh->tap_slot - 1]) {
        remote = peers[index[sh->tap_slot - 1] - 1].nmacs;
        local--;
    }

    ngx_shmtx_unlock(&sw->shpool->mutex);

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        drops[i] = sh->drops[i];
    }

    ngx_memzero(&js, sizeof(vpnws_json_switch_t));
    js.name = sw->name.data;
    js.name_len = sw->name.len;
    js.peers_max = sw->max_peers;
    js.macs_used = k;
    js.macs_max = sw->max_macs;
    js.local_peers = local;
    js.remote_macs = remote;
    js.macs_bridged = learned;
    js.bridged_max = sw->conf.bridged_macs;
    js.super_frames = sh->super_frames;
    js.soft_segmented = sh->soft_segmented;
    js.drops = drops;

    len = vpnws_json_switch_max(&js);

    for (i = 0; i < n; i++) {
        peers[i].slot.addr[NGX_HTTP_VPNWS_ADDR_LEN - 1] = '\0';
        peers[i].slot.congestion[VPNWS_TCP_CA_NAME_MAX - 1] = '\0';
        jp.addr = (char *) peers[i].slot.addr;
        jp.congestion = peers[i].slot.congestion;
        jp.user_len = peers[i].slot.user_len;
        jp.dn_len = peers[i].slot.dn_len;
        jp.nmacs = peers[i].nmacs;
        jp.sw_len = sw->name.len;
        len += vpnws_json_peer_max(&jp) + 2;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = (u_char *) vpnws_json_switch_open((char *) buf, &js);

    for (i = 0; i < n; i++) {
        slot = &peers[i].slot;

        ngx_memzero(&jp, sizeof(jp));
        jp.id = slot->id;
        jp.mac = slot->has_mac ? slot->mac : NULL;
        jp.addr = (char *) slot->addr;
        jp.user = slot->user;
        jp.user_len = slot->user_len;
        jp.dn = slot->dn;
        jp.dn_len = slot->dn_len;
        jp.start = slot->start;
        jp.bridge = (slot->flags & VPNWS_PORT_BRIDGE) ? 1 : 0;
        jp.offload = slot->offload;
        jp.congestion = slot->congestion;
        jp.macs = peers[i].macs;
        jp.nmacs = peers[i].nmacs;
        jp.tx = slot->stats.tx;
        jp.rx = slot->stats.rx;
        jp.frames_in = slot->stats.frames_in;
        jp.frames_out = slot->stats.frames_out;
        jp.drops = slot->stats.drops;
        jp.queued = slot->queued;
        jp.worker = (slot->worker == NGX_HTTP_VPNWS_TAP_WORKER)
                    ? -1 : slot->worker;
        jp.pid = (int32_t) slot->pid;
        jp.rate = &slot->rate;
        jp.sw = sw->name.data;
        jp.sw_len = sw->name.len;
        jp.granted = slot->granted;
        jp.pinned = slot->pinned;

        if (i) {
            *p++ = ',';
        }

        p = (u_char *) vpnws_json_peer((char *) p, &jp);
    }

    p = (u_char *) vpnws_json_switch_close((char *) p);

    return ngx_http_vpnws_status_send(r, NGX_HTTP_OK, buf, p - buf);
}


static ngx_int_t
ngx_http_vpnws_status_prometheus(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw)
{
    u_char                  *buf, *p;
    uint32_t                 i;
    ngx_str_t                type;
    vpnws_stats_t            st;
    ngx_http_vpnws_slot_t   *slot;
    ngx_http_vpnws_shctx_t  *sh;

    sh = sw->sh;

    ngx_memzero(&st, sizeof(vpnws_stats_t));

    st.name = ngx_pnalloc(r->pool, sw->name.len + 1);
    if (st.name == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_cpystrn((u_char *) st.name, sw->name.data, sw->name.len + 1);

    st.peers_max = sw->max_peers;
    st.macs_max = sw->max_macs;

    ngx_shmtx_lock(&sw->shpool->mutex);

    for (i = 0; i < sh->nslots; i++) {
        slot = &sh->slots[i];

        if (slot->id == 0) {
            continue;
        }

        st.peers++;
        st.local_peers += (slot->flags & VPNWS_PORT_TAP) ? 0 : 1;
        st.bridges += (slot->flags & VPNWS_PORT_BRIDGE) ? 1 : 0;
        st.frames_in += slot->stats.frames_in;
        st.frames_out += slot->stats.frames_out;
        st.bytes_in += slot->stats.rx;
        st.bytes_out += slot->stats.tx;
    }

    st.macs = sh->table.count;

    if (sh->tap_slot) {
        st.remote_macs = vpnws_mactab_port_count(&sh->table,
                                                 sh->slots[sh->tap_slot - 1].id);
    }

    ngx_shmtx_unlock(&sw->shpool->mutex);

    st.frames_in += sh->frames_in;
    st.frames_out += sh->frames_out;
    st.bytes_in += sh->bytes_in;
    st.bytes_out += sh->bytes_out;

    for (i = 0; i < VPNWS_DROP_MAX; i++) {
        st.drops[i] = sh->drops[i];
    }

    st.super_frames = sh->super_frames;
    st.soft_segmented = sh->soft_segmented;

    if (sh->tap_slot) {
        st.has_tap = 1;
        st.tap_frames_in = sh->tap_frames_in;
        st.tap_frames_out = sh->tap_frames_out;
        st.tap_bytes_in = sh->tap_bytes_in;
        st.tap_bytes_out = sh->tap_bytes_out;
    }

    buf = ngx_pnalloc(r->pool, vpnws_prom_max(&st));
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = (u_char *) vpnws_prom_render((char *) buf, &st);

    ngx_str_set(&type, "text/plain; version=0.0.4");

    return ngx_http_vpnws_status_send_type(r, NGX_HTTP_OK, &type, buf,
                                           p - buf);
}


static ngx_int_t
ngx_http_vpnws_status_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_str_t  type;

    ngx_str_set(&type, "application/json");

    return ngx_http_vpnws_status_send_type(r, status, &type, data, len);
}


static ngx_int_t
ngx_http_vpnws_status_send_type(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
