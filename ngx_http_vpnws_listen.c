/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: vpnws_congestion on the listening sockets.  An accepted socket
 * starts with its listener's algorithm if that was set with setsockopt
 * (the kernel's tcp_ca_openreq_child), otherwise with the system's
 * default: switched later (the worker, before the 101), a connection that
 * started as bbr keeps bbr's internal pacing and loses much of its
 * throughput.  So the master sets the algorithm of a server's locations
 * on the listening sockets that serve it, once per cycle, and puts a
 * listener it set back to the system's default when a reload no longer
 * asks for it (nginx keeps the socket).
 *
 * nginx's own map from listen addresses to servers (cmcf->ports) lives in
 * the configuration's temporary pool and the one it builds for the
 * connections (ls->servers) names servers only through the server_name
 * hashes, so the map is copied at postconfiguration (merged, before
 * ngx_http_optimize_servers creates the listening sockets) and matched to
 * cycle->listening in init_module, the way ngx_http_init_listening binds:
 * an address with its own socket, or, without "bind", the port's
 * "*:port" socket if there is one.
 */


#include "ngx_http_vpnws.h"


static void ngx_http_vpnws_cc_join(ngx_http_vpnws_congestion_t **cc,
    ngx_http_vpnws_congestion_t **other, ngx_http_vpnws_congestion_t *add);
static void ngx_http_vpnws_cc_of(ngx_http_vpnws_main_conf_t *vmcf,
    ngx_http_core_srv_conf_t *cscf, ngx_http_vpnws_congestion_t **cc,
    ngx_http_vpnws_congestion_t **other);
static ngx_int_t ngx_http_vpnws_cc_addr(ngx_conf_t *cf,
    ngx_http_vpnws_main_conf_t *vmcf, ngx_http_conf_addr_t *addr);
static void ngx_http_vpnws_cc_listener(ngx_cycle_t *cycle,
    ngx_http_vpnws_main_conf_t *vmcf, ngx_http_vpnws_main_conf_t *old,
    ngx_listening_t *ls);
static ngx_uint_t ngx_http_vpnws_cc_serves(ngx_listening_t *ls,
    ngx_http_vpnws_cc_addr_t *ca);
static ngx_int_t ngx_http_vpnws_cc_set(ngx_cycle_t *cycle,
    ngx_listening_t *ls, const char *name);
static ngx_http_vpnws_main_conf_t *ngx_http_vpnws_cc_old(ngx_cycle_t *cycle);


/* from the merge: the location's algorithm, for its server{} */
ngx_int_t
ngx_http_vpnws_congestion_server(ngx_conf_t *cf,
    ngx_http_vpnws_congestion_t *cc)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_cc_server_t  *s;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_vpnws_main_conf_t  *vmcf;

    /* ngx_http_merge_servers points the context at the server merged */
    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpnws_module);

    s = vmcf->cc_servers.elts;

    for (i = 0; i < vmcf->cc_servers.nelts; i++) {
        if (s[i].cscf == cscf) {
            ngx_http_vpnws_cc_join(&s[i].cc, &s[i].other, cc);
            return NGX_OK;
        }
    }

    s = ngx_array_push(&vmcf->cc_servers);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->cscf = cscf;
    s->cc = cc;
    s->other = NULL;

    return NGX_OK;
}


/* postconfiguration: the listen addresses of those servers */
ngx_int_t
ngx_http_vpnws_congestion_addrs(ngx_conf_t *cf)
{
    ngx_uint_t                   p, a;
    ngx_http_conf_port_t        *port;
    ngx_http_conf_addr_t        *addr;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_vpnws_main_conf_t  *vmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpnws_module);

    if (cmcf->ports == NULL || vmcf->cc_servers.nelts == 0) {
        return NGX_OK;
    }

    port = cmcf->ports->elts;

    for (p = 0; p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {
            if (ngx_http_vpnws_cc_addr(cf, vmcf, &addr[a]) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_vpnws_cc_addr(ngx_conf_t *cf, ngx_http_vpnws_main_conf_t *vmcf,
    ngx_http_conf_addr_t *addr)
{
    ngx_uint_t                     s;
    ngx_http_vpnws_cc_addr_t      *ca;
    ngx_http_core_srv_conf_t     **cscfp;
    ngx_http_vpnws_congestion_t   *cc, *other;

    cc = NULL;
    other = NULL;
    cscfp = addr->servers.elts;

    for (s = 0; s < addr->servers.nelts; s++) {
        ngx_http_vpnws_cc_of(vmcf, cscfp[s], &cc, &other);
    }

    if (cc == NULL) {
        return NGX_OK;
    }

    ca = ngx_array_push(&vmcf->cc_addrs);
    if (ca == NULL) {
        return NGX_ERROR;
    }

    ca->sockaddr = ngx_palloc(cf->pool, addr->opt.socklen);
    if (ca->sockaddr == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ca->sockaddr, addr->opt.sockaddr, addr->opt.socklen);
    ca->socklen = addr->opt.socklen;
    ca->bind = addr->opt.bind;
    ca->cc = cc;
    ca->other = other;

    return NGX_OK;
}


/* init_module, in the master: every listening socket of the http{} */
void
ngx_http_vpnws_congestion_listen(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_listening_t             *ls;
    ngx_http_vpnws_main_conf_t  *vmcf, *old;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    if (vmcf == NULL) {
        return;
    }

    if (vpnws_tcp_congestion_default(vmcf->cc_default) != 0) {
        vmcf->cc_default[0] = '\0';
    }

    old = ngx_http_vpnws_cc_old(cycle);
    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].handler == ngx_http_init_connection) {
            ngx_http_vpnws_cc_listener(cycle, vmcf, old, &ls[i]);
        }
    }
}


static void
ngx_http_vpnws_cc_listener(ngx_cycle_t *cycle,
    ngx_http_vpnws_main_conf_t *vmcf, ngx_http_vpnws_main_conf_t *old,
    ngx_listening_t *ls)
{
    ngx_uint_t                    i;
    ngx_listening_t             **set;
    ngx_http_vpnws_cc_addr_t     *ca;
    ngx_http_vpnws_congestion_t  *cc, *other;

    cc = NULL;
    other = NULL;
    ca = vmcf->cc_addrs.elts;

    for (i = 0; i < vmcf->cc_addrs.nelts; i++) {
        if (ngx_http_vpnws_cc_serves(ls, &ca[i])) {
            ngx_http_vpnws_cc_join(&cc, &other, ca[i].cc);
            ngx_http_vpnws_cc_join(&cc, &other, ca[i].other);
        }
    }

    if (other) {
        /* with reuseport: one line for the address, not one per worker */
        if (ls->worker == 0) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "vpnws_congestion: the servers of %V ask for "
                          "\"%V\" and \"%V\": its listening socket keeps "
                          "the system's default, each connection gets its "
                          "location's algorithm after the accept",
                          &ls->addr_text, &cc->name, &other->name);
        }

        cc = NULL;
    }

    if (ngx_test_config || ls->fd == (ngx_socket_t) -1) {
        return;
    }

    if (cc) {
        if (ngx_http_vpnws_cc_set(cycle, ls, (char *) cc->name.data)
            == NGX_OK)
        {
            set = ngx_array_push(&vmcf->cc_listening);
            if (set != NULL) {
                *set = ls;
            }
        }

        return;
    }

    /* nginx kept a socket the previous cycle gave an algorithm */
    if (old && ls->previous
        && ngx_http_vpnws_congestion_listener(old, ls->previous)
        && vmcf->cc_default[0] != '\0')
    {
        (void) ngx_http_vpnws_cc_set(cycle, ls, vmcf->cc_default);
    }
}


/* does ls accept the connections of this address (ngx_http_init_listening) */
static ngx_uint_t
ngx_http_vpnws_cc_serves(ngx_listening_t *ls, ngx_http_vpnws_cc_addr_t *ca)
{
    if (ls->sockaddr->sa_family != ca->sockaddr->sa_family) {
        return 0;
    }

    if (ngx_cmp_sockaddr(ls->sockaddr, ls->socklen, ca->sockaddr,
                         ca->socklen, 1)
        == NGX_OK)
    {
        return 1;
    }

    /* an address without "bind" has no socket of its own beside "*:port" */
    return !ca->bind && ls->wildcard
           && ngx_inet_get_port(ls->sockaddr)
              == ngx_inet_get_port(ca->sockaddr);
}


static ngx_int_t
ngx_http_vpnws_cc_set(ngx_cycle_t *cycle, ngx_listening_t *ls,
    const char *name)
{
    if (vpnws_tcp_congestion_set(ls->fd, name) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "vpnws_congestion \"%s\": setsockopt(TCP_CONGESTION) "
                      "on the listening socket of %V failed", name,
                      &ls->addr_text);
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "vpnws_congestion \"%s\" on the listening socket of %V",
                   name, &ls->addr_text);

    return NGX_OK;
}


/* did this cycle's master give ls an algorithm */
ngx_uint_t
ngx_http_vpnws_congestion_listener(ngx_http_vpnws_main_conf_t *vmcf,
    ngx_listening_t *ls)
{
    ngx_uint_t         i;
    ngx_listening_t  **set;

    set = vmcf->cc_listening.elts;

    for (i = 0; i < vmcf->cc_listening.nelts; i++) {
        if (set[i] == ls) {
            return 1;
        }
    }

    return 0;
}


/*
 * The previous cycle's configuration of this module, if it had one: it
 * lives until init_module returns.  After a binary upgrade there is none.
 */
static ngx_http_vpnws_main_conf_t *
ngx_http_vpnws_cc_old(ngx_cycle_t *cycle)
{
    ngx_uint_t    i;
    ngx_cycle_t  *old;

    old = cycle->old_cycle;

    if (old == NULL || old->conf_ctx == NULL || old->modules == NULL) {
        return NULL;
    }

    /* the module's ctx_index means something there only if it was loaded */
    for (i = 0; i < old->modules_n; i++) {
        if (old->modules[i] == &ngx_http_vpnws_module) {
            return ngx_http_cycle_get_module_main_conf(old,
                                                       ngx_http_vpnws_module);
        }
    }

    return NULL;
}


static void
ngx_http_vpnws_cc_of(ngx_http_vpnws_main_conf_t *vmcf,
    ngx_http_core_srv_conf_t *cscf, ngx_http_vpnws_congestion_t **cc,
    ngx_http_vpnws_congestion_t **other)
{
    ngx_uint_t                   i;
    ngx_http_vpnws_cc_server_t  *s;

    s = vmcf->cc_servers.elts;

    for (i = 0; i < vmcf->cc_servers.nelts; i++) {
        if (s[i].cscf == cscf) {
            ngx_http_vpnws_cc_join(cc, other, s[i].cc);
            ngx_http_vpnws_cc_join(cc, other, s[i].other);
            return;
        }
    }
}


/* one algorithm in *cc, a second one in *other */
static void
ngx_http_vpnws_cc_join(ngx_http_vpnws_congestion_t **cc,
    ngx_http_vpnws_congestion_t **other, ngx_http_vpnws_congestion_t *add)
{
    if (add == NULL || add == *cc || add == *other) {
        return;
    }

    if (*cc == NULL) {
        *cc = add;

    } else if (*other == NULL) {
        *other = add;
    }
}
