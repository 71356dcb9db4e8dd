/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a switch's own tap device (vpnws_switch ... tap=NAME).
 *
 * The master (root) creates the device while it reads the configuration,
 * with IFF_MULTI_QUEUE: one queue per worker, opened before fork, so that
 * workers running as an unprivileged user read and write their own queue.
 * The tap is a port of every worker at once: frames for it are written to
 * the worker's own queue, never sent to another worker.
 */


/* ngx_config.h first: it sets _GNU_SOURCE, which nginx 1.26 needs */
#include "ngx_http_vpnws.h"

#include <net/if.h>
#include <sys/uio.h>

#include "vpnws_tap.h"
#include "vpnws_hook.h"


#define NGX_HTTP_VPNWS_TAP_BATCH    64


static void ngx_http_vpnws_tap_cleanup(void *data);
static ngx_int_t ngx_http_vpnws_tap_exec(ngx_log_t *log,
    ngx_http_vpnws_switch_t *sw);
static void ngx_http_vpnws_tap_read_handler(ngx_event_t *rev);
static void ngx_http_vpnws_tap_write_error(ngx_http_vpnws_switch_t *sw,
    ngx_err_t err);
static void ngx_http_vpnws_tap_frame(ngx_http_vpnws_switch_t *sw, u_char *p,
    size_t n);
static void ngx_http_vpnws_tap_out(ngx_http_vpnws_switch_t *sw,
    struct iovec *iov, int niov, size_t len);


static const u_char  ngx_http_vpnws_tap_zero[VPNWS_VNET_HLEN];


/* config time, in the master: create or attach, run tap_exec once */
char *
ngx_http_vpnws_tap_configure(ngx_conf_t *cf, ngx_http_vpnws_switch_t *sw)
{
    int                  fd, existed;
    ngx_err_t            e;
    ngx_pool_cleanup_t  *cln;
    char                 name[VPNWS_TAP_NAME_LEN], err[256];

    if (ngx_test_config || ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_CONF_OK;
    }

    sw->tap_fds = ngx_pcalloc(cf->pool,
                              NGX_HTTP_VPNWS_MAX_WORKERS * sizeof(int));
    if (sw->tap_fds == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memset(sw->tap_fds, 0xff, NGX_HTTP_VPNWS_MAX_WORKERS * sizeof(int));

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_vpnws_tap_cleanup;
    cln->data = sw;

    existed = if_nametoindex((char *) sw->tap_name.data) != 0;

    /* super-frames for the host too, when the switch carries them */
    sw->tap_vnet = (sw->offload != 0);

    if (existed
        && vpnws_tap_has_vnet_hdr((char *) sw->tap_name.data)
           == !sw->tap_vnet)
    {
        /* the flag is the device's: the running workers' queues share it */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": tap=%V exists %s virtio-net "
                           "headers; offload= of a tap cannot change while "
                           "it exists (restart nginx)", &sw->name,
                           &sw->tap_name, sw->tap_vnet ? "without" : "with");
        return NGX_CONF_ERROR;
    }

    fd = vpnws_tap_open((char *) sw->tap_name.data,
                        VPNWS_TAP_MULTI_QUEUE
                        | (sw->tap_vnet ? VPNWS_TAP_VNET_HDR : 0),
                        name, err, sizeof(err));

    if (fd == -1) {
        e = ngx_errno;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": tap=%V: %s%s",
                           &sw->name, &sw->tap_name, err,
                           (e == NGX_EPERM || e == NGX_EACCES
                            || e == NGX_ENOENT)
                           ? " (a tap device needs root and /dev/net/tun)"
                           : "");
        return NGX_CONF_ERROR;
    }

    sw->tap_fds[0] = fd;

    if (sw->tap_vnet
        && vpnws_tap_set_offload(fd, sw->offload, &sw->tap_offload, err,
                                 sizeof(err))
           != 0)
    {
        /* the header stays: frames are plain behind a zero one */
        ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                           "vpnws_switch \"%V\": tap=%V without offloads: %s",
                           &sw->name, &sw->tap_name, err);
    }

    if (vpnws_tap_up(name, err, sizeof(err)) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": tap=%V: %s", &sw->name,
                           &sw->tap_name, err);
        return NGX_CONF_ERROR;
    }

    if (!existed && sw->tap_exec.len
        && ngx_http_vpnws_tap_exec(cf->log, sw) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "vpnws_switch \"%V\": tap_exec failed",
                           &sw->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_vpnws_tap_cleanup(void *data)
{
    ngx_http_vpnws_switch_t *sw = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_VPNWS_MAX_WORKERS; i++) {
        if (sw->tap_fds[i] != -1) {
            (void) close(sw->tap_fds[i]);
            sw->tap_fds[i] = -1;
        }
    }
}


static ngx_int_t
ngx_http_vpnws_tap_exec(ngx_log_t *log, ngx_http_vpnws_switch_t *sw)
{
    char  err[NGX_MAX_ERROR_STR];

    /* the master's listeners and queues stay out of the command */
    if (vpnws_hook_run((char *) sw->tap_exec.data, (char *) sw->tap_name.data,
                       (char *) sw->name.data, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "vpnws_switch \"%V\": tap_exec %s", &sw->name, err);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "vpnws_switch \"%V\": tap_exec \"%V\" done", &sw->name,
                  &sw->tap_exec);

    return NGX_OK;
}


/* while the cycle is set up, in the master: a queue per worker */
ngx_int_t
ngx_http_vpnws_tap_prepare(ngx_cycle_t *cycle, ngx_http_vpnws_switch_t *sw)
{
    int         fd;
    ngx_uint_t  i, n;
    char        err[256];

    if (sw->tap_fds == NULL) {
        return NGX_OK;
    }

    n = ngx_http_vpnws_ipc_count(cycle);

    for (i = 1; i < n; i++) {
        fd = vpnws_tap_open((char *) sw->tap_name.data,
                            VPNWS_TAP_MULTI_QUEUE
                            | (sw->tap_vnet ? VPNWS_TAP_VNET_HDR : 0),
                            NULL, err, sizeof(err));
        if (fd == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "vpnws_switch \"%V\": tap=%V: queue %ui of %ui: %s",
                          &sw->name, &sw->tap_name, i, n, err);
            return NGX_ERROR;
        }

        sw->tap_fds[i] = fd;
    }

    return NGX_OK;
}


/*
 * init_module, in the master: the tap's slot.  Its pid is the master's,
 * which lives as long as the tap: the tap's MACs are owned by it, never by
 * a worker that may die.
 */
void
ngx_http_vpnws_tap_init_module(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw)
{
    ngx_http_vpnws_slot_t   *slot;
    ngx_http_vpnws_shctx_t  *sh;

    if (sw->tap_fds == NULL) {
        return;
    }

    sh = sw->sh;

    ngx_shmtx_lock(&sw->shpool->mutex);

    if (sh->tap_slot == 0) {

        if (sh->free_slot == 0) {
            ngx_shmtx_unlock(&sw->shpool->mutex);
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "vpnws_switch \"%V\": no slot left for the tap: "
                          "tap %V is not a port until the next reload",
                          &sw->name, &sw->tap_name);
            ngx_http_vpnws_tap_cleanup(sw);
            return;
        }

        slot = &sh->slots[sh->free_slot - 1];
        sh->free_slot = slot->next_free;
        sh->tap_slot = (uint32_t) (slot - sh->slots) + 1;

        ngx_memzero(slot, sizeof(ngx_http_vpnws_slot_t));
        slot->id = ngx_http_vpnws_next_id(sh);
        slot->start = ngx_time();

        (void) ngx_atomic_fetch_add(&sh->peers, 1);

    } else {
        slot = &sh->slots[sh->tap_slot - 1];

        if (slot->flags & VPNWS_PORT_BRIDGE) {
            (void) ngx_atomic_fetch_add(&sh->bridges, -1);
        }
    }

    slot->pid = ngx_pid;
    slot->gen = (uint32_t) sh->gen;
    slot->worker = NGX_HTTP_VPNWS_TAP_WORKER;
    slot->flags = VPNWS_PORT_TAP | (sw->tap_bridge ? VPNWS_PORT_BRIDGE : 0);

    if (sw->tap_bridge) {
        (void) ngx_atomic_fetch_add(&sh->bridges, 1);
    }

    (void) ngx_snprintf(slot->addr, NGX_HTTP_VPNWS_ADDR_LEN - 1, "tap:%V%Z",
                        &sw->tap_name);

    ngx_shmtx_unlock(&sw->shpool->mutex);
}


/* init_process: this worker's queue becomes a port of the switch */
ngx_int_t
ngx_http_vpnws_tap_init_process(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw)
{
    ngx_uint_t               i, w;
    ngx_connection_t        *c;
    vpnws_switch_ctx_t       ctx;
    ngx_http_vpnws_slot_t   *slot;
    uint8_t                  mac[VPNWS_MAC_LEN];
    char                     err[256];

    if (sw->tap_fds == NULL) {
        return NGX_OK;
    }

    w = (ngx_process == NGX_PROCESS_WORKER) ? ngx_worker : 0;

    for (i = 0; i < NGX_HTTP_VPNWS_MAX_WORKERS; i++) {
        if (i != w && sw->tap_fds[i] != -1) {
            (void) close(sw->tap_fds[i]);
            sw->tap_fds[i] = -1;
        }
    }

    if (sw->tap_fds[w] == -1) {
        return NGX_OK;
    }

    sw->tap_buf = ngx_palloc(cycle->pool, ngx_http_vpnws_msg_max(sw));
    if (sw->tap_buf == NULL) {
        return NGX_ERROR;
    }

    slot = &sw->sh->slots[sw->sh->tap_slot - 1];

    ngx_memzero(&sw->tap_state, sizeof(vpnws_port_state_t));
    sw->tap_state.port.id = slot->id;
    sw->tap_state.port.slot = sw->sh->tap_slot - 1;
    sw->tap_state.port.worker = NGX_HTTP_VPNWS_TAP_WORKER;
    sw->tap_state.port.flags = slot->flags;
    sw->tap_state.max_macs = (uint32_t) sw->tap_macs;

    c = ngx_get_connection(sw->tap_fds[w], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    /* ngx_close_connection() closes it from now on */
    sw->tap_fds[w] = -1;

    c->data = sw;
    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_http_vpnws_tap_read_handler;

    /* on shutdown the queue goes at once, so the new workers get it all */
    c->idle = 1;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) == NGX_ERROR) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    sw->tap_conn = c;

    if (w == 0 && !sw->tap_bridge
        && vpnws_tap_get_mac((char *) sw->tap_name.data, mac, err,
                             sizeof(err))
           == 0)
    {
        /* the host's own MAC is known before it sends anything */
        ngx_http_vpnws_switch_ctx(sw, &ctx);
        ctx.owner = (int32_t) slot->pid;

        ngx_shmtx_lock(&sw->shpool->mutex);
        if (vpnws_switch_claim(&ctx, &sw->tap_state, mac) == 0) {
            ngx_memcpy(slot->mac, mac, VPNWS_MAC_LEN);
            slot->has_mac = 1;
        }
        ngx_shmtx_unlock(&sw->shpool->mutex);
    }

    return NGX_OK;
}


void
ngx_http_vpnws_tap_exit_process(ngx_http_vpnws_switch_t *sw)
{
    if (sw->tap_conn) {
        ngx_close_connection(sw->tap_conn);
        sw->tap_conn = NULL;
    }
}


static void
ngx_http_vpnws_tap_read_handler(ngx_event_t *rev)
{
    ssize_t                   n;
    ngx_err_t                 err;
    ngx_uint_t                i;
    ngx_connection_t         *c;
    ngx_http_vpnws_slot_t    *slot;
    ngx_http_vpnws_switch_t  *sw;

    c = rev->data;
    sw = c->data;

    if (c->close) {
        ngx_http_vpnws_tap_exit_process(sw);
        return;
    }

    slot = &sw->sh->slots[sw->sh->tap_slot - 1];

    for (i = 0; i < NGX_HTTP_VPNWS_TAP_BATCH; i++) {

        n = read(c->fd, sw->tap_buf, ngx_http_vpnws_msg_max(sw));

        if (n == -1) {
            err = ngx_errno;

            if (err == NGX_EAGAIN) {
                break;
            }

            if (err == NGX_EINTR) {
                continue;
            }

            ngx_log_error(NGX_LOG_ALERT, c->log, err,
                          "vpnws_switch \"%V\": read() from tap %V failed",
                          &sw->name, &sw->tap_name);
            break;
        }

        (void) ngx_atomic_fetch_add(&sw->sh->tap_frames_in, 1);
        (void) ngx_atomic_fetch_add(&sw->sh->tap_bytes_in, n);

        ngx_http_vpnws_tap_frame(sw, sw->tap_buf, n);

        if (!slot->has_mac && sw->tap_state.has_mac) {
            ngx_memcpy(slot->mac, sw->tap_state.mac, VPNWS_MAC_LEN);
            slot->has_mac = 1;
        }
    }

    ngx_http_vpnws_flush_dirty();

    if (i == NGX_HTTP_VPNWS_TAP_BATCH) {
        /* the next cycle: a busy tap must not starve the worker */
        ngx_post_event(rev, &ngx_posted_next_events);
    }
}


/*
 * A station joined: announce it behind a bridge tap, so that the bridge
 * (and VXLAN, EVPN) of every host learns at once that it is here now.
 */
void
ngx_http_vpnws_tap_announce(ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *src)
{
    size_t   n;
    uint8_t  frame[VPNWS_ANNOUNCE_LEN];

    if (sw->tap_conn == NULL) {
        return;
    }

    n = vpnws_switch_announce(src, sw->tap_state.port.flags, frame);

    if (n) {
        ngx_http_vpnws_tap_write(sw, frame, n);
    }
}


/* one line a second at most, with the failures it stands for */
static void
ngx_http_vpnws_tap_write_error(ngx_http_vpnws_switch_t *sw, ngx_err_t err)
{
    sw->tap_werr++;

    if (sw->tap_werr_time == ngx_time()) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, sw->tap_conn->log, err,
                  "vpnws_switch \"%V\": write() to tap %V failed, %ui "
                  "frame%s dropped since the last such line",
                  &sw->name, &sw->tap_name, sw->tap_werr,
                  sw->tap_werr == 1 ? "" : "s");

    sw->tap_werr = 0;
    sw->tap_werr_time = ngx_time();
}


/* n bytes read from the tap: a frame, behind its header with IFF_VNET_HDR */
static void
ngx_http_vpnws_tap_frame(ngx_http_vpnws_switch_t *sw, u_char *p, size_t n)
{
    vpnws_vnet_hdr_t    h;
    vpnws_vnet_err_t    e;
    vpnws_vnet_frame_t  vf;

    if (!sw->tap_vnet) {
        ngx_http_vpnws_switch_frame(sw, &sw->tap_state, p, n, NULL);
        return;
    }

    if (n < VPNWS_VNET_HLEN) {
        ngx_http_vpnws_count_drop(sw, VPNWS_DROP_SHORT);
        return;
    }

    vpnws_vnet_hdr_read(&h, p);
    e = vpnws_vnet_check(&vf, &h, p + VPNWS_VNET_HLEN, n - VPNWS_VNET_HLEN);

    if (e != VPNWS_VNET_OK) {
        ngx_http_vpnws_count_drop(sw, e == VPNWS_VNET_ESHORT
                                      ? VPNWS_DROP_SHORT : VPNWS_DROP_VNET);
        return;
    }

    p += VPNWS_VNET_HLEN;
    n -= VPNWS_VNET_HLEN;

    if (!vf.gso) {
        vpnws_vnet_csum_complete(&vf, p, n);
    }

    ngx_http_vpnws_switch_frame(sw, &sw->tap_state, p, n,
                                vf.gso ? &vf : NULL);
}


/* a plain frame for the tap: into this worker's own queue, or dropped */
void
ngx_http_vpnws_tap_write(ngx_http_vpnws_switch_t *sw, u_char *frame,
    size_t len)
{
    int           niov;
    struct iovec  iov[2];

    niov = 0;

    if (sw->tap_vnet) {
        iov[0].iov_base = (void *) ngx_http_vpnws_tap_zero;
        iov[0].iov_len = VPNWS_VNET_HLEN;
        niov++;
    }

    iov[niov].iov_base = frame;
    iov[niov].iov_len = len;
    niov++;

    ngx_http_vpnws_tap_out(sw, iov, niov, len);
}


/* a super-frame behind its virtio-net header, for a tap that takes it */
void
ngx_http_vpnws_tap_write_vnet(ngx_http_vpnws_switch_t *sw, u_char *msg,
    size_t len)
{
    struct iovec  iov[1];

    iov[0].iov_base = msg;
    iov[0].iov_len = len;

    ngx_http_vpnws_tap_out(sw, iov, 1, len - VPNWS_VNET_HLEN);
}


static void
ngx_http_vpnws_tap_out(ngx_http_vpnws_switch_t *sw, struct iovec *iov,
    int niov, size_t len)
{
    ssize_t    n;
    ngx_err_t  err;

    if (sw->tap_conn == NULL) {
        ngx_http_vpnws_count_drop(sw, VPNWS_DROP_QUEUE_FULL);
        return;
    }

    n = writev(sw->tap_conn->fd, iov, niov);

    if (n == -1) {
        err = ngx_errno;

        if (err != NGX_EAGAIN && err != ENOBUFS) {
            ngx_http_vpnws_tap_write_error(sw, err);
        }

        ngx_http_vpnws_count_drop(sw, VPNWS_DROP_QUEUE_FULL);
        return;
    }

    (void) ngx_atomic_fetch_add(&sw->sh->tap_frames_out, 1);
    (void) ngx_atomic_fetch_add(&sw->sh->tap_bytes_out, len);
}
