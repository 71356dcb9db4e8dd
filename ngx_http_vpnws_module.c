/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a layer-2 switch for websocket peers inside nginx.
 * Directives and module hooks.
 */


#include "ngx_http_vpnws.h"


static void *ngx_http_vpnws_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_vpnws_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_vpnws_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_vpnws(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_vpnws_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_vpnws_location(ngx_conf_t *cf,
    ngx_http_vpnws_loc_conf_t *vlcf, ngx_http_vpnws_switch_t **swp);
static char *ngx_http_vpnws_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_vpnws_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_vpnws_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_vpnws_init_process(ngx_cycle_t *cycle);
static void ngx_http_vpnws_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_vpnws_commands[] = {

    { ngx_string("vpnws_switch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_vpnws_switch_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpnws,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpnws_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws_bridge"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpnws_loc_conf_t, policy.bridge),
      NULL },

    { ngx_string("vpnws_mac"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpnws_loc_conf_t, policy.mac),
      NULL },

    { ngx_string("vpnws_ip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpnws_loc_conf_t, policy.ip),
      NULL },

    { ngx_string("vpnws_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpnws_loc_conf_t, policy.user),
      NULL },

    { ngx_string("vpnws_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_vpnws_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("vpnws_peers_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_vpnws_loc_conf_t, policy.peers_per_user),
      NULL },

    { ngx_string("vpnws_congestion"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_vpnws_congestion,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_vpnws_module_ctx = {
    ngx_http_vpnws_add_variables,          /* preconfiguration */
    ngx_http_vpnws_postconfiguration,      /* postconfiguration */

    ngx_http_vpnws_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_vpnws_create_loc_conf,        /* create location configuration */
    ngx_http_vpnws_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_vpnws_module = {
    NGX_MODULE_V1,
    &ngx_http_vpnws_module_ctx,            /* module context */
    ngx_http_vpnws_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_vpnws_init_module,            /* init module */
    ngx_http_vpnws_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_vpnws_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_vpnws_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&vmcf->switches, cf->pool, 4,
                       sizeof(ngx_http_vpnws_switch_t *))
        != NGX_OK
        || ngx_array_init(&vmcf->congestion, cf->pool, 2,
                          sizeof(ngx_http_vpnws_congestion_t *))
           != NGX_OK
        || ngx_array_init(&vmcf->cc_servers, cf->pool, 2,
                          sizeof(ngx_http_vpnws_cc_server_t))
           != NGX_OK
        || ngx_array_init(&vmcf->cc_addrs, cf->pool, 2,
                          sizeof(ngx_http_vpnws_cc_addr_t))
           != NGX_OK
        || ngx_array_init(&vmcf->cc_listening, cf->pool, 2,
                          sizeof(ngx_listening_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return vmcf;
}


static void *
ngx_http_vpnws_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_vpnws_loc_conf_t  *vlcf;

    vlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_loc_conf_t));
    if (vlcf == NULL) {
        return NULL;
    }

    ngx_http_vpnws_policy_create(&vlcf->policy);
    vlcf->congestion = NGX_CONF_UNSET_PTR;

    return vlcf;
}


static char *
ngx_http_vpnws_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_vpnws_loc_conf_t *prev = parent;
    ngx_http_vpnws_loc_conf_t *conf = child;

    /* content handlers are per location; the policy is inherited */
    ngx_http_vpnws_policy_merge(&prev->policy, &conf->policy);
    ngx_conf_merge_ptr_value(conf->congestion, prev->congestion, NULL);

    /* for the listening sockets of the server */
    if (conf->congestion
        && ngx_http_vpnws_congestion_server(cf, conf->congestion) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_vpnws_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_vpnws_policy_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_vpnws_congestion_addrs(cf);
}


/* "vpnws_rate 10m burst=1m flood=100": one value, checked if constant */
static char *
ngx_http_vpnws_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpnws_loc_conf_t *vlcf = conf;

    u_char        *p;
    ngx_str_t     *value, all;
    ngx_uint_t     i;
    const char    *err;
    vpnws_rate_t   rate;

    if (vlcf->policy.rate != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    all.len = cf->args->nelts - 2;

    for (i = 1; i < cf->args->nelts; i++) {
        all.len += value[i].len;
    }

    all.data = ngx_pnalloc(cf->pool, all.len);
    if (all.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = all.data;

    for (i = 1; i < cf->args->nelts; i++) {
        p = ngx_cpymem(p, value[i].data, value[i].len);

        if (i + 1 < cf->args->nelts) {
            *p++ = ' ';
        }
    }

    vlcf->policy.rate = ngx_http_vpnws_policy_compile(cf, &all);
    if (vlcf->policy.rate == NULL) {
        return NGX_CONF_ERROR;
    }

    if (vlcf->policy.rate->lengths == NULL
        && vpnws_rate_parse((char *) all.data, all.len, &rate, &err) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid vpnws_rate \"%V\": %s", &all, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_vpnws(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpnws_loc_conf_t *vlcf = conf;

    char                      *rv;
    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    if (vlcf->sw == NULL && vlcf->status == NULL
        && vlcf->policy.sw_name == NULL
        && ngx_http_script_variables_count(&value[1]))
    {
        rv = ngx_http_vpnws_policy_switch(cf, vlcf, &value[1]);

    } else {
        rv = ngx_http_vpnws_location(cf, vlcf, &vlcf->sw);
    }

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpnws_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_vpnws_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpnws_loc_conf_t *vlcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_http_vpnws_location(cf, vlcf, &vlcf->status);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_vpnws_status_handler;

    return NGX_CONF_OK;
}


/* the switch a vpnws or vpnws_status location names, into *swp */
static char *
ngx_http_vpnws_location(ngx_conf_t *cf, ngx_http_vpnws_loc_conf_t *vlcf,
    ngx_http_vpnws_switch_t **swp)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (vlcf->sw || vlcf->status || vlcf->policy.sw_name) {
        return "is duplicate: a location is either vpnws or vpnws_status";
    }

    *swp = ngx_http_vpnws_switch_find(cf, &value[1]);

    if (*swp == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown vpnws_switch \"%V\" (a vpnws_switch "
                           "must be defined in the http block before it is "
                           "used)", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * From the first switch zone's init: what can fail while nginx still may
 * abandon the cycle (a reload then fails with this log line and the old
 * workers go on); init_module runs once the cycle is committed and cannot
 * fail without ending the master.
 */
ngx_int_t
ngx_http_vpnws_prepare(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL || vmcf->prepared || ngx_test_config
        || ngx_process == NGX_PROCESS_SIGNALLER)
    {
        return NGX_OK;
    }

    vmcf->prepared = 1;

    if (ngx_http_vpnws_ipc_prepare(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_tap_prepare(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    ngx_http_vpnws_ipc_init_module(cycle);
    ngx_http_vpnws_congestion_listen(cycle);

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL) {
        return NGX_OK;
    }

    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        /*
         * the cycle is committed: ports of the old workers become
         * unreachable for the new ones (a reload nginx abandoned must not
         * do this: workers respawned in the old cycle would read it)
         */
        (void) ngx_atomic_fetch_add(&sws[i]->sh->gen, 1);

        ngx_http_vpnws_tap_init_module(cycle, sws[i]);

        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "vpnws/" VPNWS_VERSION ": switch \"%V\", %ui peers, "
                      "%ui MACs", &sws[i]->name, sws[i]->max_peers,
                      sws[i]->max_macs);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    /*
     * the cache manager and loader run init_process too (ngx_worker 0):
     * only workers are ports of a switch
     */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL || vmcf->switches.nelts == 0) {
        return NGX_OK;
    }

    sws = vmcf->switches.elts;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_switch_init_worker(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_vpnws_peer_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < vmcf->switches.nelts; i++) {
        if (ngx_http_vpnws_tap_init_process(cycle, sws[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_vpnws_ipc_init_process(cycle);
}


static void
ngx_http_vpnws_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf) {
        sws = vmcf->switches.elts;

        for (i = 0; i < vmcf->switches.nelts; i++) {
            ngx_http_vpnws_tap_exit_process(sws[i]);
        }
    }

    ngx_http_vpnws_ipc_exit_process(cycle);
}
