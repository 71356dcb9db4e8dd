/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: what each peer may do, from nginx variables: the vpnws_* policy
 * directives evaluated once at the upgrade, the decisions in the core
 * (src/vpnws_policy.c), the per-user peer count in the switch's zone.
 */


#include "ngx_http_vpnws.h"


static ngx_int_t ngx_http_vpnws_access_start(ngx_http_request_t *r);
static void ngx_http_vpnws_checked_user(ngx_http_request_t *r,
    vpnws_policy_value_t *v);
static ngx_http_vpnws_switch_t *ngx_http_vpnws_grant_switch(
    ngx_http_request_t *r, ngx_http_vpnws_loc_conf_t *vlcf);
static ngx_int_t ngx_http_vpnws_grant_values(ngx_http_request_t *r,
    ngx_http_vpnws_policy_conf_t *pc, vpnws_policy_in_t *in);
static ngx_int_t ngx_http_vpnws_value(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, vpnws_policy_value_t *v);
static void ngx_http_vpnws_grant_log(ngx_http_request_t *r,
    vpnws_policy_in_t *in, vpnws_policy_rc_t rc, const char *detail);
static ngx_uint_t ngx_http_vpnws_user_peers(ngx_http_vpnws_switch_t *sw,
    ngx_str_t *user);


void
ngx_http_vpnws_policy_create(ngx_http_vpnws_policy_conf_t *pc)
{
    pc->sw_name = NULL;
    pc->bridge = NGX_CONF_UNSET_PTR;
    pc->mac = NGX_CONF_UNSET_PTR;
    pc->ip = NGX_CONF_UNSET_PTR;
    pc->user = NGX_CONF_UNSET_PTR;
    pc->rate = NGX_CONF_UNSET_PTR;
    pc->peers_per_user = NGX_CONF_UNSET_UINT;
}


void
ngx_http_vpnws_policy_merge(ngx_http_vpnws_policy_conf_t *prev,
    ngx_http_vpnws_policy_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->bridge, prev->bridge, NULL);
    ngx_conf_merge_ptr_value(conf->mac, prev->mac, NULL);
    ngx_conf_merge_ptr_value(conf->ip, prev->ip, NULL);
    ngx_conf_merge_ptr_value(conf->user, prev->user, NULL);
    ngx_conf_merge_ptr_value(conf->rate, prev->rate, NULL);
    ngx_conf_merge_uint_value(conf->peers_per_user, prev->peers_per_user, 0);
}


/*
 * "vpnws $var": the switch is chosen per request.  A plain name is found
 * at configuration time by the caller.
 */
char *
ngx_http_vpnws_policy_switch(ngx_conf_t *cf, ngx_http_vpnws_loc_conf_t *vlcf,
    ngx_str_t *value)
{
    vlcf->policy.sw_name = ngx_http_vpnws_policy_compile(cf, value);

    return vlcf->policy.sw_name ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* a directive's value with variables, evaluated at each upgrade */
ngx_http_complex_value_t *
ngx_http_vpnws_policy_compile(ngx_conf_t *cf, ngx_str_t *value)
{
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        return NULL;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return cv;
}


/*
 * Who checked the user?  $remote_user is parsed from any Authorization
 * header, checked or not.  The first access handler forgets a user parsed
 * before the access phase; one parsed again by the time of the content
 * handler was parsed by an access module (auth_basic), and with satisfy
 * all every access module let the request pass.
 */
ngx_int_t
ngx_http_vpnws_policy_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* the phase runs its handlers from the last one pushed to the first */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_vpnws_access_start;

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_access_start(ngx_http_request_t *r)
{
    ngx_http_vpnws_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);

    if (r == r->main && (vlcf->sw || vlcf->policy.sw_name)) {
        ngx_str_null(&r->headers_in.user);
        ngx_str_null(&r->headers_in.passwd);
    }

    return NGX_DECLINED;
}


/* the user an access module checked, before any value parses it again */
static void
ngx_http_vpnws_checked_user(ngx_http_request_t *r, vpnws_policy_value_t *v)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ALL && r->headers_in.user.len) {
        v->data = (char *) r->headers_in.user.data;
        v->len = r->headers_in.user.len;
    }
}


/*
 * The decisions for this upgrade: what up asks for becomes what is
 * granted; a refusal's own line is the caller's, a bad value's here.
 */
vpnws_refusal_t
ngx_http_vpnws_grant(ngx_http_request_t *r, ngx_http_vpnws_loc_conf_t *vlcf,
    vpnws_upgrade_out_t *up, ngx_http_vpnws_grant_t *g)
{
    vpnws_policy_rc_t   rc;
    vpnws_policy_in_t   in;
    vpnws_policy_t     *p;

    ngx_memzero(g, sizeof(ngx_http_vpnws_grant_t));
    ngx_memzero(&in, sizeof(vpnws_policy_in_t));

    if (vlcf->policy.user == NULL) {
        ngx_http_vpnws_checked_user(r, &in.user);
    }

    g->sw = ngx_http_vpnws_grant_switch(r, vlcf);

    if (g->sw == NULL) {
        return VPNWS_REFUSE_NO_SWITCH;
    }

    in.want_bridge = up->bridge;
    in.want_mac = up->has_mac;
    in.need_user = vlcf->policy.peers_per_user ? 1 : 0;
    ngx_memcpy(in.mac, up->mac, VPNWS_MAC_LEN);

    if (ngx_http_vpnws_grant_values(r, &vlcf->policy, &in) != NGX_OK) {
        return VPNWS_REFUSE_INTERNAL;
    }

    p = &g->policy;
    rc = vpnws_policy_decide(&in, p);

    if (rc != VPNWS_POLICY_OK) {
        ngx_http_vpnws_grant_log(r, &in, rc, p->detail);
        return vpnws_policy_refusal(rc);
    }

    up->bridge = p->bridge;
    up->has_mac = p->has_mac;
    ngx_memcpy(up->mac, p->mac, VPNWS_MAC_LEN);

    g->user.data = (u_char *) p->user;
    g->user.len = p->user_len;

    return VPNWS_UPGRADE_OK;
}


static ngx_http_vpnws_switch_t *
ngx_http_vpnws_grant_switch(ngx_http_request_t *r,
    ngx_http_vpnws_loc_conf_t *vlcf)
{
    ngx_str_t                    name;
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    if (vlcf->sw) {
        return vlcf->sw;
    }

    if (ngx_http_complex_value(r, vlcf->policy.sw_name, &name) != NGX_OK) {
        return NULL;
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (sws[i]->name.len == name.len
            && ngx_strncmp(sws[i]->name.data, name.data, name.len) == 0)
        {
            return sws[i];
        }
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vpnws: \"%V\" from \"vpnws\" is no vpnws_switch",
                  &name);

    return NULL;
}


static ngx_int_t
ngx_http_vpnws_grant_values(ngx_http_request_t *r,
    ngx_http_vpnws_policy_conf_t *pc, vpnws_policy_in_t *in)
{
    if (pc->bridge == NULL) {
        /* the module's default: the server decides, and says no */
        in->bridge.data = "off";
        in->bridge.len = 3;

    } else if (ngx_http_vpnws_value(r, pc->bridge, &in->bridge) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_vpnws_value(r, pc->mac, &in->pin_mac) != NGX_OK
        || ngx_http_vpnws_value(r, pc->ip, &in->pin_ip) != NGX_OK
        || ngx_http_vpnws_value(r, pc->rate, &in->rate) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (pc->user) {
        return ngx_http_vpnws_value(r, pc->user, &in->user);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_value(ngx_http_request_t *r, ngx_http_complex_value_t *cv,
    vpnws_policy_value_t *v)
{
    ngx_str_t  s;

    v->data = NULL;
    v->len = 0;

    if (cv == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, cv, &s) != NGX_OK) {
        return NGX_ERROR;
    }

    v->data = s.len ? (char *) s.data : "";
    v->len = s.len;

    return NGX_OK;
}


static void
ngx_http_vpnws_grant_log(ngx_http_request_t *r, vpnws_policy_in_t *in,
    vpnws_policy_rc_t rc, const char *detail)
{
    ngx_str_t                    value;
    const vpnws_policy_value_t  *v;

    static const char  *names[VPNWS_POLICY_MAX] = {
        NULL, NULL, "vpnws_bridge", "vpnws_mac", NULL, "vpnws_ip",
        "vpnws_rate", "vpnws_user", NULL
    };

    v = vpnws_policy_bad_value(in, rc);

    if (v == NULL || v->data == NULL || names[rc] == NULL) {
        /* the refusal line names the reason */
        return;
    }

    /* at most 64 bytes of the value: it may be long or binary */
    value.data = (u_char *) v->data;
    value.len = ngx_min(v->len, 64);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "vpnws: %s value \"%V\"%s is invalid%s%s", names[rc],
                  &value, v->len > 64 ? "..." : "", detail ? ": " : "",
                  detail ? detail : "");
}


/*
 * The peer's seat: the per-user count and the slot's granted values, in
 * one critical section so that two workers cannot both see room.
 */
vpnws_refusal_t
ngx_http_vpnws_grant_seat(ngx_http_request_t *r,
    ngx_http_vpnws_loc_conf_t *vlcf, ngx_http_vpnws_grant_t *g,
    ngx_http_vpnws_slot_t *slot)
{
    ngx_uint_t                n, max;
    ngx_http_vpnws_switch_t  *sw;

    sw = g->sw;
    max = vlcf->policy.peers_per_user;

    slot->rate = g->policy.rate;
    slot->granted = g->policy.granted;
    slot->pinned = g->policy.pinned;

    ngx_shmtx_lock(&sw->shpool->mutex);

    if (max && g->user.len) {
        n = ngx_http_vpnws_user_peers(sw, &g->user);

        if (n >= max) {
            ngx_shmtx_unlock(&sw->shpool->mutex);

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "vpnws: user \"%V\" has %ui peers on vpnws_switch "
                          "\"%V\" already (vpnws_peers_per_user %ui)",
                          &g->user, n, &sw->name, max);

            return VPNWS_REFUSE_USER_PEERS;
        }
    }

    if (g->user.len) {
        slot->user = ngx_slab_alloc_locked(sw->shpool, g->user.len + 1);

        if (slot->user) {
            ngx_memcpy(slot->user, g->user.data, g->user.len);
            slot->user_len = g->user.len;
        }
    }

    ngx_shmtx_unlock(&sw->shpool->mutex);

    if (max && g->user.len && slot->user == NULL) {
        /* an uncounted peer would slip past the limit */
        return VPNWS_REFUSE_INTERNAL;
    }

    return VPNWS_UPGRADE_OK;
}


static ngx_uint_t
ngx_http_vpnws_user_peers(ngx_http_vpnws_switch_t *sw, ngx_str_t *user)
{
    uint32_t                i;
    ngx_uint_t              n;
    ngx_http_vpnws_slot_t  *s;

    n = 0;

    for (i = 0; i < sw->sh->nslots; i++) {
        s = &sw->sh->slots[i];

        if (s->id && s->user && s->user_len == user->len
            && ngx_memcmp(s->user, user->data, user->len) == 0)
        {
            n++;
        }
    }

    return n;
}
