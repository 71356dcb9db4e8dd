/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: frames between workers.
 *
 * One ring of shared memory (src/vpnws_ring.c) per worker number and an
 * eventfd, its doorbell, made by the master before fork (ipc_prepare()):
 * every other worker writes [header, frame] records into worker i's ring;
 * worker i alone reads them, in place, and hands each to its peers.  The
 * writers of one ring take turns under a lock word that holds the writer's
 * pid, so the lock of a writer that died can be taken over.  A writer rings
 * the doorbell only when the reader said it would wait for it (idle), once
 * per event handled (ngx_http_vpnws_ipc_flush()).  A full ring drops the
 * frame, counted as ipc_full: an ethernet switch drops under congestion; it
 * never queues without bound nor blocks.
 *
 * Frames cross with one copy into the ring and none out of it, where a
 * unix socket took an allocation and two kernel copies, and a busy reader
 * costs its writers no system call at all.
 */


#include <sys/eventfd.h>
#include <sys/mman.h>

#include "ngx_http_vpnws.h"
#include "vpnws_ring.h"


#define NGX_HTTP_VPNWS_IPC_FLUSH    65536    /* bytes handed to peers, then
                                                out to them */


typedef struct {
    ngx_uint_t                  n;
    size_t                      size;       /* of a ring's data: 2^k */
    size_t                      span;       /* of a ring and its header */
    size_t                      map;        /* length of the mapping */
    u_char                     *addr;       /* the rings, one after another */
    ngx_fd_t                   *doorbell;   /* eventfd per worker number */
} ngx_http_vpnws_ipc_t;


static void ngx_http_vpnws_ipc_cleanup(void *data);
static ngx_int_t ngx_http_vpnws_ipc_rings(ngx_cycle_t *cycle,
    ngx_http_vpnws_ipc_t *ipc);
static vpnws_ring_t *ngx_http_vpnws_ring(ngx_uint_t worker);
static void ngx_http_vpnws_ring_door(ngx_uint_t worker);
static void ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_vpnws_ring_drain(vpnws_ring_t *r, size_t *budget);


static ngx_http_vpnws_ipc_t   *ngx_http_vpnws_ipc;
static ngx_connection_t       *ngx_http_vpnws_ipc_conn;
static u_char                  ngx_http_vpnws_ipc_rung[
                                   NGX_HTTP_VPNWS_MAX_WORKERS];
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
 * master.  The rings belong to the new cycle until init_module publishes
 * them.
 */
ngx_int_t
ngx_http_vpnws_ipc_prepare(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
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

    ipc->doorbell = ngx_palloc(cycle->pool, ipc->n * sizeof(ngx_fd_t));
    if (ipc->doorbell == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ipc->n; i++) {
        ipc->doorbell[i] = NGX_INVALID_FILE;
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

    for (i = 0; i < ipc->n; i++) {
        ipc->doorbell[i] = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);

        if (ipc->doorbell[i] == NGX_INVALID_FILE) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "vpnws: eventfd() for worker %ui of %ui failed",
                          i, ipc->n);
            return NGX_ERROR;
        }
    }

    return ngx_http_vpnws_ipc_rings(cycle, ipc);
}


/* room for two of the largest records in each ring, and at least 4 MiB */
static ngx_int_t
ngx_http_vpnws_ipc_rings(ngx_cycle_t *cycle, ngx_http_vpnws_ipc_t *ipc)
{
    size_t                        max;
    ngx_uint_t                    i;
    ngx_http_vpnws_switch_t     **sws;
    ngx_http_vpnws_main_conf_t   *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;
    max = 0;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        max = ngx_max(max, ngx_http_vpnws_msg_max(sws[i]));
    }

    ipc->size = vpnws_ring_size(sizeof(ngx_http_vpnws_ipc_hdr_t) + max);
    ipc->span = vpnws_ring_span(ipc->size);
    ipc->map = ipc->n * ipc->span;

    ipc->addr = mmap(NULL, ipc->map, PROT_READ|PROT_WRITE,
                     MAP_ANON|MAP_SHARED, -1, 0);

    if (ipc->addr == MAP_FAILED) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "vpnws: mmap(MAP_ANON|MAP_SHARED, %uz) for the worker "
                      "rings failed", ipc->map);
        ipc->addr = NULL;
        return NGX_ERROR;
    }

    for (i = 0; i < ipc->n; i++) {
        vpnws_ring_init((vpnws_ring_t *) (ipc->addr + i * ipc->span));
    }

    return NGX_OK;
}


/* the cycle is committed: its rings are the ones workers use */
void
ngx_http_vpnws_ipc_init_module(ngx_cycle_t *cycle)
{
    ngx_http_vpnws_main_conf_t  *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);

    ngx_http_vpnws_ipc = vmcf ? vmcf->ipc : NULL;
}


/* in the master: the workers keep their own copies */
static void
ngx_http_vpnws_ipc_cleanup(void *data)
{
    ngx_http_vpnws_ipc_t  *ipc = data;

    ngx_uint_t  i;

    for (i = 0; i < ipc->n; i++) {
        if (ipc->doorbell[i] != NGX_INVALID_FILE) {
            (void) close(ipc->doorbell[i]);
            ipc->doorbell[i] = NGX_INVALID_FILE;
        }
    }

    if (ipc->addr) {
        (void) munmap(ipc->addr, ipc->map);
        ipc->addr = NULL;
    }
}


ngx_uint_t
ngx_http_vpnws_ipc_workers(void)
{
    return ngx_http_vpnws_ipc ? ngx_http_vpnws_ipc->n : 1;
}


static vpnws_ring_t *
ngx_http_vpnws_ring(ngx_uint_t worker)
{
    return (vpnws_ring_t *) (ngx_http_vpnws_ipc->addr
                             + worker * ngx_http_vpnws_ipc->span);
}


ngx_int_t
ngx_http_vpnws_ipc_init_process(ngx_cycle_t *cycle)
{
    ngx_connection_t      *c;
    ngx_http_vpnws_ipc_t  *ipc;

    ipc = ngx_http_vpnws_ipc;

    if (ipc == NULL || ipc->n == 1) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER || ngx_worker >= ipc->n) {
        return NGX_OK;
    }

    ngx_memzero(ngx_http_vpnws_ipc_rung, sizeof(ngx_http_vpnws_ipc_rung));
    ngx_http_vpnws_ipc_pending = 0;

    c = ngx_get_connection(ipc->doorbell[ngx_worker], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->log = cycle->log;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->read->handler = ngx_http_vpnws_ipc_read_handler;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) == NGX_ERROR) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    ngx_http_vpnws_ipc_conn = c;

    /* what a predecessor of this number left unread (it died) goes first */
    ngx_post_event(c->read, &ngx_posted_events);

    return NGX_OK;
}


void
ngx_http_vpnws_ipc_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_vpnws_ipc_conn) {
        ngx_close_connection(ngx_http_vpnws_ipc_conn);
        ngx_http_vpnws_ipc_conn = NULL;

        /* ngx_close_connection() closed our doorbell */
        ngx_http_vpnws_ipc->doorbell[ngx_worker] = NGX_INVALID_FILE;
    }
}


/*
 * One record into worker's ring: NGX_AGAIN if the ring is full or its lock
 * was not had (the caller counts the drop); the doorbell waits for
 * ngx_http_vpnws_ipc_flush().
 */
ngx_int_t
ngx_http_vpnws_ipc_send(ngx_uint_t worker, ngx_http_vpnws_ipc_hdr_t *hdr,
    u_char *frame, size_t len)
{
    int            rc;
    uint64_t       dead;
    vpnws_ring_t  *r;

    if (ngx_http_vpnws_ipc_conn == NULL || worker >= ngx_http_vpnws_ipc->n
        || worker == ngx_worker)
    {
        return NGX_DECLINED;
    }

    hdr->len = (uint32_t) len;
    r = ngx_http_vpnws_ring(worker);

    rc = vpnws_ring_lock(r, (uint64_t) ngx_pid, &dead);

    if (rc == VPNWS_RING_BUSY) {
        return NGX_AGAIN;
    }

    if (rc == VPNWS_RING_TAKEN) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpnws: took over the lock of worker %ui's ring from "
                      "exited process %P", worker, (ngx_pid_t) dead);
    }

    rc = vpnws_ring_put(r, ngx_http_vpnws_ipc->size, hdr,
                        sizeof(ngx_http_vpnws_ipc_hdr_t), frame, len);

    vpnws_ring_unlock(r);

    if (rc != VPNWS_RING_OK) {
        return NGX_AGAIN;
    }

    if (!ngx_http_vpnws_ipc_rung[worker]) {
        ngx_http_vpnws_ipc_rung[worker] = 1;
        ngx_http_vpnws_ipc_pending++;
    }

    return NGX_OK;
}


/* after an event: ring the doorbells of the readers that wait for one */
void
ngx_http_vpnws_ipc_flush(void)
{
    ngx_uint_t  w;

    for (w = 0; ngx_http_vpnws_ipc_pending && w < ngx_http_vpnws_ipc->n; w++)
    {
        if (!ngx_http_vpnws_ipc_rung[w]) {
            continue;
        }

        ngx_http_vpnws_ipc_rung[w] = 0;
        ngx_http_vpnws_ipc_pending--;

        if (vpnws_ring_wake(ngx_http_vpnws_ring(w))) {
            ngx_http_vpnws_ring_door(w);
        }
    }
}


static void
ngx_http_vpnws_ring_door(ngx_uint_t worker)
{
    uint64_t  one;

    one = 1;

    if (write(ngx_http_vpnws_ipc->doorbell[worker], &one, sizeof(one))
        != (ssize_t) sizeof(one))
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "vpnws: write() to the doorbell of worker %ui failed",
                      worker);
    }
}


/*
 * Our ring: the records in place, then the peers' queues out after each
 * NGX_HTTP_VPNWS_IPC_FLUSH bytes; at most a ring's worth a run, then the
 * cycle goes on first.
 */
static void
ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev)
{
    size_t             budget;
    uint64_t           rings;
    vpnws_ring_t      *r;
    ngx_connection_t  *c;

    c = rev->data;

    if (read(c->fd, &rings, sizeof(rings)) == -1 && ngx_errno != NGX_EAGAIN) {
        ngx_log_error(NGX_LOG_ALERT, c->log, ngx_errno,
                      "vpnws: read() from the worker doorbell failed");
    }

    r = ngx_http_vpnws_ring(ngx_worker);
    budget = ngx_http_vpnws_ipc->size;

    do {
        if (ngx_http_vpnws_ring_drain(r, &budget) != NGX_OK) {
            ngx_http_vpnws_flush_dirty();
            ngx_post_event(rev, &ngx_posted_next_events);
            return;
        }

        ngx_http_vpnws_flush_dirty();

    } while (!vpnws_ring_wait(r));
}


/* NGX_AGAIN: the budget ran out with records left */
static ngx_int_t
ngx_http_vpnws_ring_drain(vpnws_ring_t *r, size_t *budget)
{
    int                        rc;
    size_t                     out;
    vpnws_ring_rec_t           rec;
    ngx_http_vpnws_ipc_hdr_t   hdr;

    out = 0;

    for ( ;; ) {

        if (*budget == 0) {
            return NGX_AGAIN;
        }

        rc = vpnws_ring_get(r, ngx_http_vpnws_ipc->size, &rec);

        if (rc == VPNWS_RING_EMPTY) {
            return NGX_OK;
        }

        if (rc == VPNWS_RING_OK
            && rec.len >= sizeof(ngx_http_vpnws_ipc_hdr_t))
        {
            ngx_memcpy(&hdr, rec.data, sizeof(ngx_http_vpnws_ipc_hdr_t));
        }

        if (rc != VPNWS_RING_OK
            || rec.len < sizeof(ngx_http_vpnws_ipc_hdr_t)
            || hdr.len != rec.len - sizeof(ngx_http_vpnws_ipc_hdr_t))
        {
            /* a writer broke it: one of ours, with a bug */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "vpnws: malformed record in the worker ring: "
                          "%uz bytes dropped", rec.len);

            if (rc == VPNWS_RING_OK) {
                vpnws_ring_done(r, &rec);
            }

            *budget -= ngx_min(*budget, rec.len);
            continue;
        }

        ngx_http_vpnws_deliver_ipc(&hdr,
                                   rec.data + sizeof(ngx_http_vpnws_ipc_hdr_t),
                                   hdr.len);

        /* the record is copied out: its room is the writers' again */
        vpnws_ring_done(r, &rec);

        *budget -= ngx_min(*budget, rec.len);
        out += rec.len;

        if (out >= NGX_HTTP_VPNWS_IPC_FLUSH) {
            /* out to the peers: a burst would overflow their queues */
            ngx_http_vpnws_flush_dirty();
            out = 0;
        }
    }
}
