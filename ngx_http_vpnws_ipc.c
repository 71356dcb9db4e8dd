/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: frames between workers.
 *
 * One ring of shared memory per worker number and one eventfd, its
 * doorbell, made by the master before fork (ngx_http_vpnws_ipc_prepare()):
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


#define NGX_HTTP_VPNWS_IPC_RING     (4 * 1024 * 1024)   /* at least */
#define NGX_HTTP_VPNWS_IPC_FLUSH    65536    /* bytes handed to peers, then
                                                out to them */
#define NGX_HTTP_VPNWS_IPC_SPIN     1024     /* tries at a taken lock, */
#define NGX_HTTP_VPNWS_IPC_YIELD    128      /* then giving the CPU up */
#define NGX_HTTP_VPNWS_IPC_PAD      0xff     /* record type: skip to the end */


/* at the start of each ring, then its data: the three lines never shared */
typedef struct {
    ngx_atomic_t                head;       /* the reader's: next record */
    u_char                      pad1[NGX_CPU_CACHE_LINE
                                     - sizeof(ngx_atomic_t)];
    ngx_atomic_t                tail;       /* after the last, under lock */
    ngx_atomic_t                lock;       /* 0, or the writer's pid */
    u_char                      pad2[NGX_CPU_CACHE_LINE
                                     - 2 * sizeof(ngx_atomic_t)];
    ngx_atomic_t                idle;       /* the reader waits: ring */
    u_char                      pad3[NGX_CPU_CACHE_LINE
                                     - sizeof(ngx_atomic_t)];
} ngx_http_vpnws_ring_t;


typedef struct {
    ngx_uint_t                  n;
    size_t                      size;       /* of a ring's data: 2^k */
    size_t                      map;        /* length of the mapping */
    u_char                     *addr;       /* the rings, one after another */
    ngx_fd_t                   *doorbell;   /* eventfd per worker number */
} ngx_http_vpnws_ipc_t;


static void ngx_http_vpnws_ipc_cleanup(void *data);
static ngx_int_t ngx_http_vpnws_ipc_rings(ngx_cycle_t *cycle,
    ngx_http_vpnws_ipc_t *ipc);
static ngx_http_vpnws_ring_t *ngx_http_vpnws_ring(ngx_uint_t worker);
static ngx_int_t ngx_http_vpnws_ring_lock(ngx_http_vpnws_ring_t *r,
    ngx_uint_t worker);
static void ngx_http_vpnws_ring_door(ngx_uint_t worker);
static void ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_vpnws_ring_drain(ngx_http_vpnws_ring_t *r,
    size_t *budget);


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
    ngx_http_vpnws_ring_t        *r;
    ngx_http_vpnws_switch_t     **sws;
    ngx_http_vpnws_main_conf_t   *vmcf;

    vmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_vpnws_module);
    sws = vmcf->switches.elts;
    max = 0;

    for (i = 0; i < vmcf->switches.nelts; i++) {
        max = ngx_max(max, ngx_http_vpnws_msg_max(sws[i]));
    }

    max = ngx_align(sizeof(ngx_http_vpnws_ipc_hdr_t) + max, 8);

    for (ipc->size = NGX_HTTP_VPNWS_IPC_RING; ipc->size < 2 * max;
         ipc->size *= 2)
    {
        /* void */
    }

    ipc->map = ipc->n * (sizeof(ngx_http_vpnws_ring_t) + ipc->size);

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
        r = (ngx_http_vpnws_ring_t *)
                (ipc->addr + i * (sizeof(ngx_http_vpnws_ring_t) + ipc->size));

        /* until its reader looks, a writer rings */
        r->idle = 1;
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


static ngx_http_vpnws_ring_t *
ngx_http_vpnws_ring(ngx_uint_t worker)
{
    ngx_http_vpnws_ipc_t  *ipc = ngx_http_vpnws_ipc;

    return (ngx_http_vpnws_ring_t *)
               (ipc->addr + worker * (sizeof(ngx_http_vpnws_ring_t)
                                      + ipc->size));
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
 * One record into worker's ring: NGX_AGAIN if the ring is full (the caller
 * counts the drop); the doorbell waits for ngx_http_vpnws_ipc_flush().
 */
ngx_int_t
ngx_http_vpnws_ipc_send(ngx_uint_t worker, ngx_http_vpnws_ipc_hdr_t *hdr,
    u_char *frame, size_t len)
{
    size_t                  need, off, skip, size;
    u_char                 *data;
    ngx_atomic_uint_t       head, tail;
    ngx_http_vpnws_ring_t  *r;

    if (ngx_http_vpnws_ipc_conn == NULL || worker >= ngx_http_vpnws_ipc->n
        || worker == ngx_worker)
    {
        return NGX_DECLINED;
    }

    size = ngx_http_vpnws_ipc->size;
    need = ngx_align(sizeof(ngx_http_vpnws_ipc_hdr_t) + len, 8);

    if (2 * need > size) {
        /* the ring holds two of the largest message a switch allows */
        return NGX_DECLINED;
    }

    hdr->len = (uint32_t) len;
    r = ngx_http_vpnws_ring(worker);
    data = (u_char *) (r + 1);

    if (ngx_http_vpnws_ring_lock(r, worker) != NGX_OK) {
        return NGX_AGAIN;
    }

    tail = r->tail;
    head = r->head;
    ngx_memory_barrier();

    /* a record never wraps: the rest of the ring is skipped */
    off = tail & (size - 1);
    skip = (size - off < need) ? size - off : 0;

    if (tail + skip + need - head > size) {
        ngx_memory_barrier();
        ngx_unlock(&r->lock);
        return NGX_AGAIN;
    }

    if (skip >= sizeof(ngx_http_vpnws_ipc_hdr_t)) {
        /* shorter than a header, the reader skips it on its own */
        ((ngx_http_vpnws_ipc_hdr_t *) (data + off))->type =
                                                   NGX_HTTP_VPNWS_IPC_PAD;
        ((ngx_http_vpnws_ipc_hdr_t *) (data + off))->len =
                         (uint32_t) (skip - sizeof(ngx_http_vpnws_ipc_hdr_t));
    }

    off = (tail + skip) & (size - 1);

    ngx_memcpy(data + off, hdr, sizeof(ngx_http_vpnws_ipc_hdr_t));

    if (len) {
        /* a KILL has no frame: memcpy() from NULL is undefined */
        ngx_memcpy(data + off + sizeof(ngx_http_vpnws_ipc_hdr_t), frame, len);
    }

    /* the record before its tail, the tail before the lock */
    ngx_memory_barrier();
    r->tail = tail + skip + need;
    ngx_memory_barrier();
    ngx_unlock(&r->lock);

    if (!ngx_http_vpnws_ipc_rung[worker]) {
        ngx_http_vpnws_ipc_rung[worker] = 1;
        ngx_http_vpnws_ipc_pending++;
    }

    return NGX_OK;
}


/*
 * The lock of worker's ring, for a while: a writer copies one frame under
 * it, so a wait is short unless the holder lost its CPU (then ours is given
 * up, for it) or died: a writer that died holding it (kill(pid, 0) says
 * ESRCH) left the ring whole, as its tail moves only after the copy, and
 * its lock is taken over.  NGX_BUSY: the caller drops the frame.
 */
static ngx_int_t
ngx_http_vpnws_ring_lock(ngx_http_vpnws_ring_t *r, ngx_uint_t worker)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  pid;

    for (i = 0; i < NGX_HTTP_VPNWS_IPC_SPIN + NGX_HTTP_VPNWS_IPC_YIELD; i++) {

        if (r->lock == 0 && ngx_atomic_cmp_set(&r->lock, 0, ngx_pid)) {
            return NGX_OK;
        }

        if (i < NGX_HTTP_VPNWS_IPC_SPIN) {
            ngx_cpu_pause();

        } else {
            /* more workers than CPUs: the writer may wait for ours */
            ngx_sched_yield();
        }
    }

    pid = r->lock;

    if (pid != 0
        && (kill((ngx_pid_t) pid, 0) == 0 || ngx_errno != ESRCH))
    {
        return NGX_BUSY;
    }

    if (!ngx_atomic_cmp_set(&r->lock, pid, ngx_pid)) {
        return NGX_BUSY;
    }

    if (pid) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "vpnws: took over the lock of worker %ui's ring from "
                      "exited process %P", worker, (ngx_pid_t) pid);
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

        /* a full barrier: the tail written before idle is read */
        if (ngx_atomic_cmp_set(&ngx_http_vpnws_ring(w)->idle, 1, 0)) {
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
 * cycle goes on first.  Idle before the last look: a writer either sees it
 * and rings, or wrote before the look.
 */
static void
ngx_http_vpnws_ipc_read_handler(ngx_event_t *rev)
{
    size_t                  budget;
    uint64_t                rings;
    ngx_connection_t       *c;
    ngx_http_vpnws_ring_t  *r;

    c = rev->data;

    if (read(c->fd, &rings, sizeof(rings)) == -1 && ngx_errno != NGX_EAGAIN) {
        ngx_log_error(NGX_LOG_ALERT, c->log, ngx_errno,
                      "vpnws: read() from the worker doorbell failed");
    }

    r = ngx_http_vpnws_ring(ngx_worker);
    budget = ngx_http_vpnws_ipc->size;

    for ( ;; ) {
        if (ngx_http_vpnws_ring_drain(r, &budget) != NGX_OK) {
            ngx_http_vpnws_flush_dirty();
            ngx_post_event(rev, &ngx_posted_next_events);
            return;
        }

        ngx_http_vpnws_flush_dirty();

        (void) ngx_atomic_cmp_set(&r->idle, 0, 1);

        if (r->tail == r->head) {
            return;
        }
    }
}


/* NGX_AGAIN: the budget ran out with records left */
static ngx_int_t
ngx_http_vpnws_ring_drain(ngx_http_vpnws_ring_t *r, size_t *budget)
{
    size_t                     size, off, rest, need, out;
    u_char                    *data;
    ngx_atomic_uint_t          head, tail;
    ngx_http_vpnws_ipc_hdr_t   hdr;

    size = ngx_http_vpnws_ipc->size;
    data = (u_char *) (r + 1);
    out = 0;

    head = r->head;
    tail = r->tail;
    ngx_memory_barrier();

    while (head != tail) {

        if (*budget == 0) {
            return NGX_AGAIN;
        }

        off = head & (size - 1);
        rest = size - off;

        if (rest < sizeof(ngx_http_vpnws_ipc_hdr_t)) {
            head += rest;
            continue;
        }

        ngx_memcpy(&hdr, data + off, sizeof(ngx_http_vpnws_ipc_hdr_t));

        need = ngx_align(sizeof(ngx_http_vpnws_ipc_hdr_t) + hdr.len, 8);

        if (hdr.len > rest - sizeof(ngx_http_vpnws_ipc_hdr_t)
            || (hdr.type == NGX_HTTP_VPNWS_IPC_PAD ? rest : need)
               > tail - head)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "vpnws: malformed record of %uD bytes in the "
                          "worker ring: %uA bytes dropped", hdr.len,
                          tail - head);
            head = tail;
            break;
        }

        if (hdr.type == NGX_HTTP_VPNWS_IPC_PAD) {
            head += rest;
            continue;
        }

        ngx_http_vpnws_deliver_ipc(&hdr,
                                   data + off
                                   + sizeof(ngx_http_vpnws_ipc_hdr_t),
                                   hdr.len);

        /* the record is copied out: its room is the writers' again */
        head += need;
        ngx_memory_barrier();
        r->head = head;

        *budget -= ngx_min(*budget, need);
        out += need;

        if (out >= NGX_HTTP_VPNWS_IPC_FLUSH) {
            /* out to the peers: a burst would overflow their queues */
            ngx_http_vpnws_flush_dirty();
            out = 0;
        }
    }

    ngx_memory_barrier();
    r->head = head;

    return NGX_OK;
}
