/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the websocket's TCP connection: vpnws_congestion, checked at
 * configuration time and set once the upgrade is granted
 * (src/vpnws_tcp.c).
 */


#include "ngx_http_vpnws.h"
#include "vpnws_tcp.h"


static ngx_http_vpnws_congestion_t *ngx_http_vpnws_congestion_add(
    ngx_conf_t *cf, ngx_str_t *name);
static void ngx_http_vpnws_congestion_default(ngx_http_request_t *r);


/* "vpnws_congestion cubic;" */
char *
ngx_http_vpnws_congestion(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_vpnws_loc_conf_t *vlcf = conf;

    int          err;
    ngx_str_t   *value;
    const char  *why;
    char         msg[VPNWS_TCP_CA_ERRLEN];

    if (vlcf->congestion != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    why = vpnws_tcp_congestion_check((char *) value[1].data, value[1].len);

    if (why) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid vpnws_congestion \"%V\": %s; a TCP "
                           "congestion control like cubic, reno or bbr "
                           "expected", &value[1], why);
        return NGX_CONF_ERROR;
    }

    /*
     * as the master (root): loads the algorithm's module if need be; the
     * workers' permission shows at the first upgrade (EPERM is logged)
     */
    err = vpnws_tcp_congestion_probe((char *) value[1].data);

    if (err == ENOENT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_congestion \"%V\": %s", &value[1],
                           vpnws_tcp_congestion_error(err, "", msg,
                                                      sizeof(msg)));
        return NGX_CONF_ERROR;
    }

    vlcf->congestion = ngx_http_vpnws_congestion_add(cf, &value[1]);

    return vlcf->congestion ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* one entry per name: its "not permitted" is logged once per worker */
static ngx_http_vpnws_congestion_t *
ngx_http_vpnws_congestion_add(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                    i;
    ngx_http_vpnws_congestion_t  *cc, **ccp;
    ngx_http_vpnws_main_conf_t   *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_vpnws_module);
    ccp = vmcf->congestion.elts;

    for (i = 0; i < vmcf->congestion.nelts; i++) {
        if (ccp[i]->name.len == name->len
            && ngx_strncmp(ccp[i]->name.data, name->data, name->len) == 0)
        {
            return ccp[i];
        }
    }

    cc = ngx_pcalloc(cf->pool, sizeof(ngx_http_vpnws_congestion_t));
    ccp = ngx_array_push(&vmcf->congestion);

    if (cc == NULL || ccp == NULL) {
        return NULL;
    }

    /* the argument is NUL-terminated by the configuration parser */
    cc->name = *name;
    *ccp = cc;

    return cc;
}


/*
 * Once the upgrade is granted: the location's algorithm on the connection,
 * and the one in use for the status.  A failure leaves the system's default and the
 * connection goes on.
 */
void
ngx_http_vpnws_congestion_apply(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_http_vpnws_slot_t *slot)
{
    ngx_err_t                     err;
    ngx_connection_t             *c;
    ngx_http_vpnws_congestion_t  *cc;
    ngx_http_vpnws_loc_conf_t    *vlcf;
    char                          used[VPNWS_TCP_CA_NAME_MAX];
    char                          msg[VPNWS_TCP_CA_ERRLEN];

    c = r->connection;
    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_vpnws_module);
    cc = vlcf->congestion;

    if (cc == NULL) {
        ngx_http_vpnws_congestion_default(r);
    }

    if (cc && vpnws_tcp_congestion_set(c->fd, (char *) cc->name.data) != 0) {
        err = ngx_errno;

        if (err != NGX_EPERM) {
            ngx_log_error(NGX_LOG_INFO, c->log, err,
                          "vpnws_congestion \"%V\": setsockopt"
                          "(TCP_CONGESTION) failed", &cc->name);

        } else if (!cc->eperm_logged) {
            cc->eperm_logged = 1;
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "vpnws_congestion \"%V\": %s; the connections "
                          "of this worker keep the system's default",
                          &cc->name,
                          vpnws_tcp_congestion_error(err, "the worker's user",
                                                     msg, sizeof(msg)));
        }
    }

    if (vpnws_tcp_congestion_get(c->fd, used) != 0) {
        return;
    }

    ngx_shmtx_lock(&sw->shpool->mutex);
    ngx_memcpy(slot->congestion, used, VPNWS_TCP_CA_NAME_MAX);
    ngx_shmtx_unlock(&sw->shpool->mutex);
}


/*
 * A location without vpnws_congestion on a listener that has another
 * location's (ngx_http_vpnws_listen.c): the system's default, as without
 * the directive anywhere
 */
static void
ngx_http_vpnws_congestion_default(ngx_http_request_t *r)
{
    ngx_connection_t            *c;
    ngx_http_vpnws_main_conf_t  *vmcf;

    c = r->connection;
    vmcf = ngx_http_get_module_main_conf(r, ngx_http_vpnws_module);

    if (vmcf->cc_default[0] == '\0'
        || !ngx_http_vpnws_congestion_listener(vmcf, c->listening))
    {
        return;
    }

    if (vpnws_tcp_congestion_set(c->fd, vmcf->cc_default) != 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, ngx_errno,
                      "vpnws_congestion: setsockopt(TCP_CONGESTION) "
                      "\"%s\" (the system's default) failed",
                      vmcf->cc_default);
    }
}
