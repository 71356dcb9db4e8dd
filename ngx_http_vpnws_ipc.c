/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: frames between workers.
 *
 * One SOCK_SEQPACKET socketpair per worker number, made by the master in
 * init_module (before fork): worker i reads fds[i][0]; every other worker
 * sends to fds[i][1].  Frames for a worker are gathered while an event is
 * handled and go as one message of [header, frame] records when it ends
 * (ngx_http_vpnws_ipc_flush()); a full socket drops them (an ethernet
 * switch drops under congestion; it never queues without bound nor blocks).
 */


#include "ngx_http_vpnws.h"


#define NGX_HTTP_VPNWS_IPC_BUF      (4 * 1024 * 1024)
#define NGX_HTTP_VPNWS_IPC_BATCH    256
#define NGX_HTTP_VPNWS_IPC_GATHER   65536   /* bytes of records a message */


typedef struct {
    ngx_uint_t                  n;
    ngx_socket_t              (*fds)[2];
} ngx_http_vpnws_ipc_t;


/* records gathered for one worker */
typedef struct {
    u_char                     *buf;
    size_t                      len;
} ngx_http_vpnws_ipc_out_t;


static void ngx_http_vpnws_ipc_cleanup(void *data);
static void ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_vpnws_ipc_sendmsg(ngx_uint_t worker,
    struct iovec *iov, int niov);
static void ngx_http_vpnws_ipc_flush_worker(ngx_uint_t worker);
static void ngx_http_vpnws_ipc_dropped(u_char *buf, size_t len);


static ngx_http_vpnws_ipc_t   *ngx_http_vpnws_ipc;
static ngx_connection_t       *ngx_http_vpnws_ipc_conn;
static u_char                 *ngx_http_vpnws_ipc_buf;
static size_t                  ngx_http_vpnws_ipc_size;
static ngx_http_vpnws_ipc_out_t *ngx_http_vpnws_ipc_out;
static ngx_uint_t              ngx_http_vpnws_ipc_pending;


/* the worker processes a cycle will run */
ngx_uint_t
ngx_http_vpnws_ipc_count(ngx_cycle_t *cycle)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    return (ccf->master && ccf->worker_processes > 1)
           ? (ngx_uint_t) ccf->worker_processes : 1;
}


/*
 * While nginx sets the cycle up (from a switch's zone init), where a failure
 * fails a reload and keeps the old workers; init_module could only end the
 * master.  The sockets belong to the new cycle until init_module publishes
 * them.
 */
ngx_int_t
ngx_http_vpnws_ipc_prepare(ngx_cycle_t *cycle)
{
    int                          sz;
    size_t                       max;
    ngx_uint_t                   i, j;
    ngx_http_vpnws_switch_t    **sws;
    ngx_pool_cleanup_t          *cln;
    ngx_http_vpnws_ipc_t        *ipc;
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    ipc = ngx_pcalloc(cycle->pool, sizeof(ngx_http_vpnws_ipc_t));
    if (ipc == NULL) {
        return NGX_ERROR;
    }

    ipc->n = ngx_http_vpnws_ipc_count(cycle);

    if (ipc->n > NGX_HTTP_VPNWS_MAX_WORKERS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "vpnws: at most %d worker processes are supported",
                      NGX_HTTP_VPNWS_MAX_WORKERS);
        return NGX_ERROR;
    }

    ipc->fds = ngx_palloc(cycle->pool, ipc->n * sizeof(ngx_socket_t[2]));
    if (ipc->fds == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ipc->n; i++) {
        ipc->fds[i][0] = (ngx_socket_t) -1;
        ipc->fds[i][1] = (ngx_socket_t) -1;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_vpnws_ipc_cleanup;
    cln->data = ipc;

    vmcf->ipc = ipc;

    if (ipc->n == 1) {
        return NGX_OK;
    }

    /* a message is at most the socket buffer: room for two of the largest */

    sws = vmcf->switches.elts;
    max = 0;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        max = ngx_max(max, ngx_http_vpnws_msg_max(sws[i]));
    }

    sz = (int) ngx_max(NGX_HTTP_VPNWS_IPC_BUF,
                       2 * (max + sizeof(ngx_http_vpnws_ipc_hdr_t)) + 65536);

    for (i = 0; i < ipc->n; i++) {

        if (socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_NONBLOCK|SOCK_CLOEXEC, 0,
                       ipc->fds[i])
            == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "vpnws: socketpair(AF_UNIX, SOCK_SEQPACKET) for "
                          "worker %ui of %ui failed", i, ipc->n);
            return NGX_ERROR;
        }

        for (j = 0; j < 2; j++) {

            /* the master is root: FORCE passes net.core.[rw]mem_max */
            if (setsockopt(ipc->fds[i][j], SOL_SOCKET,
                           j ? SO_SNDBUFFORCE : SO_RCVBUFFORCE,
                           &sz, sizeof(int)) == -1)
            {
                (void) setsockopt(ipc->fds[i][j], SOL_SOCKET,
                                  j ? SO_SNDBUF : SO_RCVBUF, &sz, sizeof(int));
            }
        }
    }

    return NGX_OK;
}


/* the cycle is committed: its sockets are the ones workers use */
void
ngx_http_vpnws_ipc_init_module(ngx_cycle_t *cycle)
{
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    ngx_http_vpnws_ipc = vmcf ? vmcf->ipc : NULL;
}


static void
ngx_http_vpnws_ipc_cleanup(void *data)
{
    ngx_http_vpnws_ipc_t  *ipc = data;

    ngx_uint_t  i, j;

    for (i = 0; i < ipc->n; i++) {
        for (j = 0; j < 2; j++) {
            if (ipc->fds[i][j] != (ngx_socket_t) -1) {
                (void) close(ipc->fds[i][j]);
                ipc->fds[i][j] = (ngx_socket_t) -1;
            }
        }
    }
}


ngx_uint_t
ngx_http_vpnws_ipc_workers(void)
{
    return ngx_http_vpnws_ipc ? ngx_http_vpnws_ipc->n : 1;
}


ngx_int_t
ngx_http_vpnws_ipc_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_socket_t                 fd;
    ngx_connection_t            *c;
    ngx_http_vpnws_ipc_t        *ipc;
    ngx_http_vpnws_switch_t    **sws;
    ngx_http_vpnws_main_conf_t  *vmcf;

    ipc = ngx_http_vpnws_ipc;

    if (ipc == NULL || ipc->n == 1) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER || ngx_worker >= ipc->n) {
        return NGX_OK;
    }

    /* keep our own receive end and every other worker's send end */

    for (i = 0; i < ipc->n; i++) {
        fd = ipc->fds[i][i == ngx_worker ? 1 : 0];

        if (fd != (ngx_socket_t) -1) {
            (void) close(fd);
            ipc->fds[i][i == ngx_worker ? 1 : 0] = (ngx_socket_t) -1;
        }
    }

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    ngx_http_vpnws_ipc_size = 0;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        ngx_http_vpnws_ipc_size = ngx_max(ngx_http_vpnws_ipc_size,
                                      ngx_http_vpnws_msg_max(sws[i]));
    }

    ngx_http_vpnws_ipc_size = ngx_max(ngx_http_vpnws_ipc_size
                                      + sizeof(ngx_http_vpnws_ipc_hdr_t),
                                      NGX_HTTP_VPNWS_IPC_GATHER);

    ngx_http_vpnws_ipc_out = ngx_pcalloc(cycle->pool,
                                 ipc->n * sizeof(ngx_http_vpnws_ipc_out_t));
    if (ngx_http_vpnws_ipc_out == NULL) {
        return NGX_ERROR;
    }

    ngx_http_vpnws_ipc_pending = 0;

    ngx_http_vpnws_ipc_buf = ngx_alloc(ngx_http_vpnws_ipc_size, cycle->log);
    if (ngx_http_vpnws_ipc_buf == NULL) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ipc->fds[ngx_worker][0], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->recv = ngx_recv;
    c->send = ngx_send;
    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_http_vpnws_ipc_read_handler;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) == NGX_ERROR) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    ngx_http_vpnws_ipc_conn = c;

    return NGX_OK;
}


void
ngx_http_vpnws_ipc_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_vpnws_ipc_conn) {
        ngx_close_connection(ngx_http_vpnws_ipc_conn);
        ngx_http_vpnws_ipc_conn = NULL;

        /* ngx_close_connection() closed our receive end */
        ngx_http_vpnws_ipc->fds[ngx_worker][0] = (ngx_socket_t) -1;
    }

    if (ngx_http_vpnws_ipc_buf) {
        ngx_free(ngx_http_vpnws_ipc_buf);
        ngx_http_vpnws_ipc_buf = NULL;
    }
}


ngx_int_t
ngx_http_vpnws_ipc_send(ngx_uint_t worker, ngx_http_vpnws_ipc_hdr_t *hdr,
    u_char *frame, size_t len)
{
    size_t                     rec;
    struct iovec               iov[2];
    ngx_http_vpnws_ipc_out_t  *o;

    if (ngx_http_vpnws_ipc == NULL || ngx_http_vpnws_ipc_out == NULL
        || worker >= ngx_http_vpnws_ipc->n
        || ngx_http_vpnws_ipc->fds[worker][1] == (ngx_socket_t) -1)
    {
        return NGX_DECLINED;
    }

    hdr->len = (uint32_t) len;
    rec = sizeof(ngx_http_vpnws_ipc_hdr_t) + len;
    o = &ngx_http_vpnws_ipc_out[worker];

    if (rec > NGX_HTTP_VPNWS_IPC_GATHER) {
        /* a big frame goes alone, after what was gathered before it */
        ngx_http_vpnws_ipc_flush_worker(worker);

        iov[0].iov_base = hdr;
        iov[0].iov_len = sizeof(ngx_http_vpnws_ipc_hdr_t);
        iov[1].iov_base = frame;
        iov[1].iov_len = len;

        return ngx_http_vpnws_ipc_sendmsg(worker, iov, 2);
    }

    if (o->buf == NULL) {
        o->buf = ngx_alloc(NGX_HTTP_VPNWS_IPC_GATHER, ngx_cycle->log);
        if (o->buf == NULL) {
            return NGX_AGAIN;
        }
    }

    if (o->len + rec > NGX_HTTP_VPNWS_IPC_GATHER) {
        ngx_http_vpnws_ipc_flush_worker(worker);
    }

    if (o->len == 0) {
        ngx_http_vpnws_ipc_pending++;
    }

    ngx_memcpy(o->buf + o->len, hdr, sizeof(ngx_http_vpnws_ipc_hdr_t));

    if (len) {
        /* a KILL has no frame: memcpy() from NULL is undefined */
        ngx_memcpy(o->buf + o->len + sizeof(ngx_http_vpnws_ipc_hdr_t),
                   frame, len);
    }
    o->len += rec;

    return NGX_OK;
}


void
ngx_http_vpnws_ipc_flush(void)
{
    ngx_uint_t  w;

    for (w = 0; ngx_http_vpnws_ipc_pending && w < ngx_http_vpnws_ipc->n; w++)
    {
        ngx_http_vpnws_ipc_flush_worker(w);
    }
}


static void
ngx_http_vpnws_ipc_flush_worker(ngx_uint_t worker)
{
    struct iovec               iov;
    ngx_http_vpnws_ipc_out_t  *o;

    o = &ngx_http_vpnws_ipc_out[worker];

    if (o->len == 0) {
        return;
    }

    iov.iov_base = o->buf;
    iov.iov_len = o->len;

    if (ngx_http_vpnws_ipc_sendmsg(worker, &iov, 1) != NGX_OK) {
        ngx_http_vpnws_ipc_dropped(o->buf, o->len);
    }

    o->len = 0;
    ngx_http_vpnws_ipc_pending--;
}


static ngx_int_t
ngx_http_vpnws_ipc_sendmsg(ngx_uint_t worker, struct iovec *iov, int niov)
{
    ssize_t        n;
    ngx_err_t      err;
    struct msghdr  msg;

    ngx_memzero(&msg, sizeof(struct msghdr));
    msg.msg_iov = iov;
    msg.msg_iovlen = niov;

    n = sendmsg(ngx_http_vpnws_ipc->fds[worker][1], &msg, MSG_DONTWAIT);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EPIPE || err == NGX_ECONNREFUSED
            || err == NGX_ECONNRESET)
        {
            /*
             * that worker has exited: a reload or a shutdown is under way
             * (ECONNRESET: it left messages unread)
             */
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, err,
                          "vpnws: sendmsg() to worker %ui failed", worker);

        } else if (err != NGX_EAGAIN && err != ENOBUFS) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, err,
                          "vpnws: sendmsg() to worker %ui failed", worker);
        }

        return NGX_AGAIN;
    }

    return NGX_OK;
}


/* a gathered message did not go: each frame counts as dropped */
static void
ngx_http_vpnws_ipc_dropped(u_char *buf, size_t len)
{
    size_t                        off;
    ngx_http_vpnws_switch_t     **sws;
    ngx_http_vpnws_ipc_hdr_t      hdr;
    ngx_http_vpnws_main_conf_t   *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_vpnws_module);
    sws = vmcf->switches.elts;

    for (off = 0; off + sizeof(hdr) <= len; off += sizeof(hdr) + hdr.len) {
        ngx_memcpy(&hdr, buf + off, sizeof(hdr));

        if (hdr.sw < vmcf->switches.nelts
            && hdr.type != NGX_HTTP_VPNWS_IPC_KILL)
        {
            ngx_http_vpnws_count_drop(sws[hdr.sw], VPNWS_DROP_IPC);
        }
    }
}


static void
ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev)
{
    size_t                     off;
    ssize_t                    n;
    ngx_err_t                  err;
    ngx_uint_t                 i;
    ngx_connection_t          *c;
    ngx_http_vpnws_ipc_hdr_t   hdr;

    c = rev->data;

    for (i = 0; i < NGX_HTTP_VPNWS_IPC_BATCH; i++) {

        n = recv(c->fd, ngx_http_vpnws_ipc_buf, ngx_http_vpnws_ipc_size,
                 MSG_DONTWAIT);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN) {
                break;
            }

            if (err == NGX_EINTR) {
                continue;
            }

            ngx_log_error(NGX_LOG_ALERT, c->log, err,
                          "vpnws: recv() from the worker channel failed");
            break;
        }

        if (n == 0) {
            /*
             * every sender is gone: only at exit; the handler may run once
             * more (posted, and ready from epoll): a second delete fails
             */
            if (rev->active) {
                (void) ngx_del_event(rev, NGX_READ_EVENT, 0);
            }

            break;
        }

        /* [header, frame] records, as ngx_http_vpnws_ipc_send() wrote */

        for (off = 0; off < (size_t) n; off += sizeof(hdr) + hdr.len) {

            if ((size_t) n - off < sizeof(hdr)) {
                goto bad;
            }

            ngx_memcpy(&hdr, ngx_http_vpnws_ipc_buf + off, sizeof(hdr));

            if (hdr.len > (size_t) n - off - sizeof(hdr)) {
                goto bad;
            }

            ngx_http_vpnws_deliver_ipc(&hdr,
                                       ngx_http_vpnws_ipc_buf + off
                                       + sizeof(hdr),
                                       hdr.len);
        }

        /*
         * out to the peers after each message, as after each read of a
         * peer: a burst of messages would otherwise overflow their queues
         */
        ngx_http_vpnws_flush_dirty();

        continue;

    bad:

        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "vpnws: malformed message of %z bytes on the worker "
                      "channel", n);
    }

    ngx_http_vpnws_flush_dirty();

    if (i == NGX_HTTP_VPNWS_IPC_BATCH) {
        /* more may wait: let the peers' events (and the cycle) run first */
        ngx_post_event(rev, &ngx_posted_next_events);
    }
}
