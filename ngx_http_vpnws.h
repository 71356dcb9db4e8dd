/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a layer-2 switch for websocket peers inside nginx.
 * Shared declarations of the module's files.
 */

#ifndef _NGX_HTTP_VPNWS_H_INCLUDED_
#define _NGX_HTTP_VPNWS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "vpnws_mac.h"
#include "vpnws_ws.h"
#include "vpnws_port.h"
#include "vpnws_switch.h"
#include "vpnws_upgrade.h"
#include "vpnws_vnet.h"
#include "vpnws_gso.h"
#include "vpnws_policy.h"
#include "vpnws_tcp.h"
#include "vpnws_version.h"


#define NGX_HTTP_VPNWS_MAX_WORKERS  NGX_MAX_PROCESSES
/* the core's vpnws_log_level_t as nginx's: ERR, WARN, NOTICE, INFO */
#define ngx_http_vpnws_log_level(l)  (NGX_LOG_ERR + (ngx_uint_t) (l))
#define NGX_HTTP_VPNWS_ADDR_LEN     NGX_SOCKADDR_STRLEN
#define NGX_HTTP_VPNWS_TAP_WORKER   0xffff  /* the tap: a port of every worker */


typedef struct ngx_http_vpnws_switch_s  ngx_http_vpnws_switch_t;
typedef struct ngx_http_vpnws_peer_s    ngx_http_vpnws_peer_t;


/* a peer as every worker sees it, in the switch's zone */
typedef struct {
    uint64_t                    id;         /* 0: free slot; under mutex */
    uint32_t                    next_free;  /* index + 1 */
    ngx_pid_t                   pid;
    uint32_t                    gen;
    uint16_t                    worker;
    uint16_t                    flags;      /* VPNWS_PORT_* */
    u_char                      mac[VPNWS_MAC_LEN];
    unsigned                    has_mac:1;
    uint8_t                     offload;    /* VPNWS_OFFLOAD_* agreed */
    time_t                      start;
    /* written by the owning worker only, read by status */
    vpnws_port_stats_t          stats;
    size_t                      queued;
    u_char                      addr[NGX_HTTP_VPNWS_ADDR_LEN];
    u_char                     *user;       /* slab strings, may be NULL */
    size_t                      user_len;
    u_char                     *dn;
    size_t                      dn_len;
    /* what the configuration granted, for the status */
    vpnws_rate_t                rate;
    unsigned                    granted:1;  /* bridge mode granted */
    unsigned                    pinned:1;   /* mac given, not chosen */
    /* the connection's TCP congestion control, "": not known */
    char                        congestion[VPNWS_TCP_CA_NAME_MAX];
} ngx_http_vpnws_slot_t;


/* the switch's shared zone */
typedef struct {
    uint64_t                    next_id;    /* under the mutex, see zone.c */
    ngx_atomic_t                gen;
    ngx_atomic_t                bridges;
    ngx_atomic_t                peers;
    ngx_atomic_t                drops[VPNWS_DROP_MAX];
    ngx_atomic_t                frames_in;  /* of peers that left */
    ngx_atomic_t                frames_out;
    ngx_atomic_t                bytes_in;
    ngx_atomic_t                bytes_out;
    uint32_t                    nslots;
    uint32_t                    free_slot;  /* index + 1 */
    uint32_t                    tap_slot;   /* index + 1, 0: no tap */
    ngx_atomic_t                tap_frames_in;
    ngx_atomic_t                tap_frames_out;
    ngx_atomic_t                tap_bytes_in;
    ngx_atomic_t                tap_bytes_out;
    ngx_atomic_t                super_frames;   /* carried as they are */
    ngx_atomic_t                soft_segmented; /* cut for a plain port */
    ngx_http_vpnws_slot_t      *slots;
    vpnws_mactab_t              table;
    ngx_atomic_t                worker_peers[NGX_HTTP_VPNWS_MAX_WORKERS];
} ngx_http_vpnws_shctx_t;


struct ngx_http_vpnws_switch_s {
    ngx_str_t                   name;
    ngx_uint_t                  index;
    ngx_cycle_t                *cycle;      /* the one being configured */
    ngx_shm_zone_t             *shm_zone;
    ngx_slab_pool_t            *shpool;
    ngx_http_vpnws_shctx_t     *sh;
    vpnws_switch_conf_t         conf;
    ngx_uint_t                  max_peers;
    ngx_uint_t                  max_macs;
    ngx_uint_t                  tap_macs;   /* the bridge tap's MAC limit */
    size_t                      queue;      /* output queue bytes per peer */
    ngx_msec_t                  timeout;    /* idle peer */
    ngx_msec_t                  ping;       /* server ping interval */
    ngx_str_t                   tap_name;   /* NUL-terminated; len 0: none */
    ngx_str_t                   tap_exec;   /* NUL-terminated */
    unsigned                    tap_bridge:1;
    unsigned                    offload;    /* VPNWS_OFFLOAD_* granted */
    ngx_uint_t                  guards;     /* VPNWS_GUARD_* */
    ngx_uint_t                  guards_set; /* set one by one */
    unsigned                    tap_vnet:1; /* the tap has IFF_VNET_HDR */
    unsigned                    tap_offload;    /* what TUNSETOFFLOAD took */
    int                        *tap_fds;    /* a queue per worker (master) */

    /* this worker's view */
    uint32_t                    gen;
    ngx_queue_t                 local;
    ngx_http_vpnws_peer_t     **by_slot;
    vpnws_switch_cache_t       *cache;      /* unicast destinations */
    ngx_connection_t           *tap_conn;   /* this worker's tap queue */
    vpnws_port_state_t          tap_state;
    u_char                     *tap_buf;
    time_t                      tap_werr_time; /* last logged write error */
    ngx_uint_t                  tap_werr;   /* write errors since then */
    ngx_event_t                 expire;     /* sweeps aged MACs, reaps */
    ngx_msec_t                  expired;    /* last sweep */
    ngx_connection_t            expire_conn;
    vpnws_port_bufs_t           bufs;       /* spare queues, partial frames */
};


struct ngx_http_vpnws_peer_s {
    ngx_queue_t                 queue;      /* in sw->local */
    vpnws_port_io_t             io;         /* frames in and out */
    ngx_http_request_t         *request;
    ngx_connection_t           *connection;
    ngx_http_vpnws_switch_t    *sw;
    ngx_http_vpnws_slot_t      *slot;
    vpnws_port_state_t          state;
    ngx_msec_t                  last_rx;
    uint16_t                    close_code;
    unsigned                    offload;    /* 0: plain frames */
    unsigned                    done:1;     /* finalized */
    unsigned                    paused:1;   /* rate: not reading */
    ngx_str_t                   user;       /* in r->pool: $vpnws_user */
    ngx_event_t                 resume;     /* rate: read again */
};


/* an algorithm of vpnws_congestion, one per name in the configuration */
typedef struct {
    ngx_str_t                   name;       /* NUL-terminated */
    unsigned                    eperm_logged:1; /* by this worker */
} ngx_http_vpnws_congestion_t;


/* a server{} whose locations ask for an algorithm */
typedef struct {
    ngx_http_core_srv_conf_t     *cscf;
    ngx_http_vpnws_congestion_t  *cc;
    ngx_http_vpnws_congestion_t  *other;    /* a second one */
} ngx_http_vpnws_cc_server_t;


/* a listen address of such servers (copied from cmcf->ports) */
typedef struct {
    struct sockaddr              *sockaddr;
    socklen_t                     socklen;
    unsigned                      bind:1;
    ngx_http_vpnws_congestion_t  *cc;
    ngx_http_vpnws_congestion_t  *other;
} ngx_http_vpnws_cc_addr_t;


typedef struct {
    ngx_array_t                 switches;   /* ngx_http_vpnws_switch_t * */
    ngx_array_t                 congestion; /* ngx_http_vpnws_congestion_t * */
    ngx_array_t                 cc_servers; /* ngx_http_vpnws_cc_server_t */
    ngx_array_t                 cc_addrs;   /* ngx_http_vpnws_cc_addr_t */
    ngx_array_t                 cc_listening; /* ngx_listening_t *, set */
    char                        cc_default[VPNWS_TCP_CA_NAME_MAX];
    void                       *ipc;        /* this cycle's worker rings */
    unsigned                    prepared:1;
} ngx_http_vpnws_main_conf_t;


/* the vpnws_* policy directives, evaluated once at the upgrade */
typedef struct {
    ngx_http_complex_value_t   *sw_name;    /* vpnws $var */
    ngx_http_complex_value_t   *bridge;
    ngx_http_complex_value_t   *mac;
    ngx_http_complex_value_t   *ip;
    ngx_http_complex_value_t   *user;
    ngx_http_complex_value_t   *rate;
    ngx_uint_t                  peers_per_user;
} ngx_http_vpnws_policy_conf_t;


/* the decisions for one upgrade */
typedef struct {
    ngx_http_vpnws_switch_t    *sw;
    vpnws_policy_t              policy;
    ngx_str_t                   user;
} ngx_http_vpnws_grant_t;


typedef struct {
    ngx_http_vpnws_switch_t    *sw;         /* vpnws */
    ngx_http_vpnws_switch_t    *status;     /* vpnws_status */
    ngx_http_vpnws_policy_conf_t  policy;
    ngx_http_vpnws_congestion_t  *congestion;   /* NULL: the system's */
} ngx_http_vpnws_loc_conf_t;


typedef enum {
    NGX_HTTP_VPNWS_IPC_UNICAST = 1,
    NGX_HTTP_VPNWS_IPC_FLOOD,
    NGX_HTTP_VPNWS_IPC_BRIDGES,
    NGX_HTTP_VPNWS_IPC_KILL
} ngx_http_vpnws_ipc_type_e;


/* ngx_http_vpnws_ipc_hdr_t flags: a virtio-net header leads the frame */
#define NGX_HTTP_VPNWS_IPC_F_VNET   0x01

typedef struct {
    uint8_t                     type;
    uint8_t                     flags;
    uint16_t                    sw;         /* switch index */
    uint32_t                    dst_slot;
    uint32_t                    len;        /* the frame after the header */
    uint64_t                    dst_id;
    vpnws_port_t                src;
} ngx_http_vpnws_ipc_hdr_t;


extern ngx_module_t  ngx_http_vpnws_module;


/* zone */
char *ngx_http_vpnws_switch_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_vpnws_switch_t *ngx_http_vpnws_switch_find(ngx_conf_t *cf,
    ngx_str_t *name);
uint64_t ngx_http_vpnws_next_id(ngx_http_vpnws_shctx_t *sh);
ngx_http_vpnws_slot_t *ngx_http_vpnws_slot_alloc(ngx_http_vpnws_switch_t *sw);
void ngx_http_vpnws_slot_free(ngx_http_vpnws_switch_t *sw,
    ngx_http_vpnws_slot_t *slot);
ngx_int_t ngx_http_vpnws_switch_init_worker(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw);
ngx_int_t ngx_http_vpnws_prepare(ngx_cycle_t *cycle);
void ngx_http_vpnws_switch_ctx(ngx_http_vpnws_switch_t *sw,
    vpnws_switch_ctx_t *ctx);
void ngx_http_vpnws_count_drop(ngx_http_vpnws_switch_t *sw,
    vpnws_drop_t reason);

/* ipc */
ngx_uint_t ngx_http_vpnws_ipc_count(ngx_cycle_t *cycle);
ngx_int_t ngx_http_vpnws_ipc_prepare(ngx_cycle_t *cycle);
void ngx_http_vpnws_ipc_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_vpnws_ipc_init_process(ngx_cycle_t *cycle);
void ngx_http_vpnws_ipc_exit_process(ngx_cycle_t *cycle);
ngx_uint_t ngx_http_vpnws_ipc_workers(void);
ngx_int_t ngx_http_vpnws_ipc_send(ngx_uint_t worker,
    ngx_http_vpnws_ipc_hdr_t *hdr, u_char *frame, size_t len);
void ngx_http_vpnws_ipc_flush(void);

/* peer */
ngx_int_t ngx_http_vpnws_peer_start(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_http_vpnws_slot_t *slot,
    vpnws_port_state_t *state, unsigned offload);
void ngx_http_vpnws_peer_kill(ngx_http_vpnws_switch_t *sw, uint32_t slot,
    uint64_t id, uint16_t code);
ngx_int_t ngx_http_vpnws_peer_init_process(ngx_cycle_t *cycle);

/* output */
extern vpnws_port_host_t  ngx_http_vpnws_ports;

ngx_int_t ngx_http_vpnws_output_init(ngx_cycle_t *cycle, size_t max);
int ngx_http_vpnws_on_message(void *io, uint8_t *data, size_t len);
void ngx_http_vpnws_send(ngx_http_vpnws_peer_t *p, u_char *data,
    size_t size, size_t len);
void ngx_http_vpnws_output(ngx_http_vpnws_peer_t *p, u_char *frame,
    size_t len, vpnws_vnet_frame_t *gso);
void ngx_http_vpnws_flush(ngx_http_vpnws_peer_t *p);
void ngx_http_vpnws_flush_dirty(void);

/* the largest message: a frame behind a virtio-net header */
#define ngx_http_vpnws_msg_max(sw)  ((sw)->conf.max_frame + VPNWS_VNET_HLEN)
#define ngx_http_vpnws_in_size(sw)  (ngx_http_vpnws_msg_max(sw)               \
                                     + VPNWS_WS_MAX_HLEN)
#define ngx_http_vpnws_peer(io)                                              \
    vpnws_port_data(io, ngx_http_vpnws_peer_t, io)

/* forward */
ngx_int_t ngx_http_vpnws_forward_init(ngx_cycle_t *cycle, size_t max_frame);
void ngx_http_vpnws_switch_frame(ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *src, u_char *frame, size_t len,
    vpnws_vnet_frame_t *gso);
ngx_int_t ngx_http_vpnws_segment(ngx_http_vpnws_switch_t *sw,
    vpnws_vnet_frame_t *gso, u_char *frame, size_t len,
    vpnws_gso_place_pt place, vpnws_gso_emit_pt emit, void *ctx);
void ngx_http_vpnws_deliver_ipc(ngx_http_vpnws_ipc_hdr_t *hdr, u_char *frame,
    size_t len);

/* tap */
char *ngx_http_vpnws_tap_configure(ngx_conf_t *cf,
    ngx_http_vpnws_switch_t *sw);
ngx_int_t ngx_http_vpnws_tap_prepare(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw);
void ngx_http_vpnws_tap_init_module(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw);
ngx_int_t ngx_http_vpnws_tap_init_process(ngx_cycle_t *cycle,
    ngx_http_vpnws_switch_t *sw);
void ngx_http_vpnws_tap_exit_process(ngx_http_vpnws_switch_t *sw);
void ngx_http_vpnws_tap_write(ngx_http_vpnws_switch_t *sw, u_char *frame,
    size_t len);
void ngx_http_vpnws_tap_write_vnet(ngx_http_vpnws_switch_t *sw, u_char *msg,
    size_t len);
void ngx_http_vpnws_tap_announce(ngx_http_vpnws_switch_t *sw,
    vpnws_port_state_t *src);

/* policy */
void ngx_http_vpnws_policy_create(ngx_http_vpnws_policy_conf_t *pc);
void ngx_http_vpnws_policy_merge(ngx_http_vpnws_policy_conf_t *prev,
    ngx_http_vpnws_policy_conf_t *conf);
ngx_int_t ngx_http_vpnws_policy_init(ngx_conf_t *cf);
char *ngx_http_vpnws_policy_switch(ngx_conf_t *cf,
    ngx_http_vpnws_loc_conf_t *vlcf, ngx_str_t *value);
ngx_http_complex_value_t *ngx_http_vpnws_policy_compile(ngx_conf_t *cf,
    ngx_str_t *value);
vpnws_refusal_t ngx_http_vpnws_grant(ngx_http_request_t *r,
    ngx_http_vpnws_loc_conf_t *vlcf, vpnws_upgrade_out_t *up,
    ngx_http_vpnws_grant_t *g);
vpnws_refusal_t ngx_http_vpnws_grant_seat(ngx_http_request_t *r,
    ngx_http_vpnws_loc_conf_t *vlcf, ngx_http_vpnws_grant_t *g,
    ngx_http_vpnws_slot_t *slot);

/* variables */
ngx_int_t ngx_http_vpnws_add_variables(ngx_conf_t *cf);

/* status */
ngx_int_t ngx_http_vpnws_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_vpnws_kill(ngx_http_vpnws_switch_t *sw, ngx_uint_t worker,
    uint32_t slot, uint64_t id);

/* upgrade */
ngx_int_t ngx_http_vpnws_handler(ngx_http_request_t *r);

/* tcp */
char *ngx_http_vpnws_congestion(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_vpnws_congestion_apply(ngx_http_request_t *r,
    ngx_http_vpnws_switch_t *sw, ngx_http_vpnws_slot_t *slot);

/* listen */
ngx_int_t ngx_http_vpnws_congestion_server(ngx_conf_t *cf,
    ngx_http_vpnws_congestion_t *cc);
ngx_int_t ngx_http_vpnws_congestion_addrs(ngx_conf_t *cf);
void ngx_http_vpnws_congestion_listen(ngx_cycle_t *cycle);
ngx_uint_t ngx_http_vpnws_congestion_listener(
    ngx_http_vpnws_main_conf_t *vmcf, ngx_listening_t *ls);


#endif /* _NGX_HTTP_VPNWS_H_INCLUDED_ */
