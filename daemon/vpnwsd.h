/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the uwsgi fallback daemon.  Shared declarations of its files.
 *
 * One process, one epoll loop, one switch.  The switching rules, the
 * websocket codec, the uwsgi parser and the admin JSON are the core's
 * (src/); this directory holds only the host around them.
 */

#ifndef _VPNWSD_H_INCLUDED_
#define _VPNWSD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpnws_mac.h"
#include "vpnws_ws.h"
#include "vpnws_port.h"
#include "vpnws_switch.h"
#include "vpnws_version.h"
#include "vpnws_uwsgi.h"
#include "vpnws_upgrade.h"
#include "vpnws_policy.h"
#include "vpnws_http.h"


#define VPNWSD_NAME             "vpn-ws"
#define VPNWSD_VERSION          VPNWS_VERSION

/* exit codes: documented in --help */
#define VPNWSD_EXIT_OK          0   /* stopped by SIGINT or SIGTERM */
#define VPNWSD_EXIT_INTERNAL    1   /* out of memory, epoll */
#define VPNWSD_EXIT_USAGE       2   /* bad option or argument */
#define VPNWSD_EXIT_SOCKET      3   /* the socket is in use or unusable */
#define VPNWSD_EXIT_TAP         4   /* the tap device failed */
#define VPNWSD_EXIT_SETUP       5   /* --exec, --uid or --gid failed */

/* the core's vpnws_log_level_t, the same numbers, then debug */
#define VPNWSD_LOG_ERR          0
#define VPNWSD_LOG_WARN         1
#define VPNWSD_LOG_NOTICE       2
#define VPNWSD_LOG_INFO         3
#define VPNWSD_LOG_DEBUG        4

#define VPNWSD_UWSGI_MAX        16384   /* largest request packet accepted */
#define VPNWSD_REQUEST_TIMEOUT  5000    /* ms to send the whole packet */
#define VPNWSD_ADDR_LEN         64
#define VPNWSD_EVENTS           256
#define VPNWSD_TRUST_MAX        16      /* --trust-header options */


typedef enum {
    VPNWSD_LISTENER = 1,
    VPNWSD_REQUEST,             /* reading the uwsgi packet */
    VPNWSD_RESPONSE,            /* writing an HTTP response, then closing */
    VPNWSD_PEER,                /* a websocket port of the switch */
    VPNWSD_TAP                  /* the switch's tap device */
} vpnwsd_kind_e;


typedef struct vpnwsd_conn_s  vpnwsd_conn_t;

struct vpnwsd_conn_s {
    int                     fd;
    vpnwsd_kind_e           kind;
    uint32_t                events;     /* registered with epoll */
    unsigned                dead:1;     /* freed after this epoll round */
    unsigned                werr:1;     /* tap: a write error was logged */
    unsigned                pinged:1;
    unsigned                in_switch:1;    /* holds a port id and slot */
    unsigned                paused:1;   /* over its rate: not read */
    unsigned                granted:1;  /* bridge mode granted */
    unsigned                admin:1;    /* of (accepted on) --admin PATH */
    unsigned                stalled:1;  /* listener: accept4() failed */
    vpnwsd_conn_t          *all_next;   /* every connection */
    vpnwsd_conn_t          *all_prev;
    vpnwsd_conn_t          *port_next;  /* switch ports (peers, tap) */
    vpnwsd_conn_t          *port_prev;
    int64_t                 deadline;   /* ms, 0: none */
    int64_t                 last_rx;    /* ms */
    int64_t                 resume;     /* ms: read again (paused) */

    /* request and response */
    uint8_t                *req;        /* the uwsgi packet, then freed */
    size_t                  req_len;
    uint8_t                *resp;       /* VPNWSD_RESPONSE: what to write */
    size_t                  resp_pos;
    size_t                  resp_len;

    /* switch port */
    vpnws_port_state_t      state;
    vpnws_port_io_t         io;         /* a peer's frames in and out */
    int64_t                 start;      /* unix seconds */
    vpnws_port_stats_t      stats;      /* tx: the 101 response included */
    size_t                  tx_101;     /* its size, not a frame byte */
    char                    addr[VPNWSD_ADDR_LEN];
    uint8_t                *user;
    size_t                  user_len;
    uint8_t                *dn;
    size_t                  dn_len;
};


typedef struct {
    /* options */
    const char             *socket;
    const char             *tuntap;
    const char             *exec;
    const char             *uid;
    const char             *gid;
    const char             *admin;      /* NULL: on <socket>; a path */
    unsigned                admin_off:1;    /* --admin off */
    unsigned                bridge:1;   /* --bridge: the tap learns */
    mode_t                  socket_mode;
    uid_t                   socket_uid; /* (uid_t) -1: ours */
    gid_t                   socket_gid; /* (gid_t) -1: ours */
    int                     verbosity;
    size_t                  queue;      /* output queue bytes per peer */
    uint32_t                max_peers;
    uint32_t                max_macs;
    vpnws_http_map_t        trust[VPNWSD_TRUST_MAX];
    size_t                  ntrust;
    unsigned                policy:1;   /* --policy: bridges by grant */
    const char             *rate;       /* --rate, or NULL */
    uint32_t                peers_per_user;

    /* the switch */
    vpnws_switch_conf_t     conf;
    vpnws_mactab_t          table;
    void                   *table_mem;
    uint32_t                bridges;    /* bridge and tap-bridge ports */
    uint64_t                next_id;    /* peer ids: from 1, never reused */
    uint32_t                npeers;
    uint64_t                drops[VPNWS_DROP_MAX];
    vpnwsd_conn_t         **slots;      /* port.slot -> port */
    vpnwsd_conn_t          *ports;      /* list of switch ports */
    vpnwsd_conn_t          *tap;

    /* the loop */
    int                     epfd;
    int                     listen_fd;
    int                     admin_fd;   /* --admin PATH, or -1 */
    vpnwsd_conn_t          *all;
    vpnwsd_conn_t          *dead;
    int64_t                 now;        /* ms, monotonic */
    int64_t                 resume;     /* ms: the first paused port's */
    vpnws_port_host_t       host;       /* read buffer, flush list */
    vpnws_port_bufs_t       bufs;       /* spare queues, partial frames */
    char                    tap_name[32];
} vpnwsd_t;


extern vpnwsd_t                vpnwsd;
extern volatile int            vpnwsd_quit;


/* log.c */
void vpnwsd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int64_t vpnwsd_now_ms(void);

/* listen.c */
int vpnwsd_listen(const char *spec, int admin);
void vpnwsd_listen_cleanup(void);

/* loop.c */
int vpnwsd_loop_init(void);
int vpnwsd_loop_run(void);
int vpnwsd_conn_events(vpnwsd_conn_t *c, uint32_t events);
vpnwsd_conn_t *vpnwsd_conn_new(int fd, vpnwsd_kind_e kind);
void vpnwsd_conn_free(vpnwsd_conn_t *c);
void vpnwsd_respond(vpnwsd_conn_t *c, const char *line, const char *headers,
    const char *type, const char *body, size_t len, int head_only);
void vpnwsd_respond_error(vpnwsd_conn_t *c, const vpnws_refusal_info_t *ri);
void vpnwsd_respond_status(vpnwsd_conn_t *c, int status, const char *line,
    const char *reason);

/* http.c */
int vpnwsd_http_is(vpnwsd_conn_t *c);
int vpnwsd_http_request(vpnwsd_conn_t *c);
int vpnwsd_http_trust(const char *arg);

/* handshake.c */
void vpnwsd_handshake(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk);

/* peer.c */
int vpnwsd_peer_init(void);
int vpnwsd_peer_start(vpnwsd_conn_t *c, const uint8_t *data, size_t len);
int vpnwsd_peer_consume(vpnwsd_conn_t *c, size_t n);
void vpnwsd_peer_read(vpnwsd_conn_t *c);
void vpnwsd_peer_write(vpnwsd_conn_t *c);
void vpnwsd_peer_close(vpnwsd_conn_t *c, uint16_t code, const char *reason);
void vpnwsd_peer_gone(vpnwsd_conn_t *c);
void vpnwsd_peer_tick(vpnwsd_conn_t *c);
void vpnwsd_flush_dirty(void);
void vpnwsd_switch_ctx(vpnws_switch_ctx_t *ctx);
void vpnwsd_switch_expire(void);
void vpnwsd_switch_frame(vpnwsd_conn_t *src, uint8_t *frame, size_t len);
uint64_t vpnwsd_port_add(vpnwsd_conn_t *c);
void vpnwsd_port_remove(vpnwsd_conn_t *c);
vpnwsd_conn_t *vpnwsd_port_find(uint64_t id);

/* policy.c */
void vpnwsd_policy_init(void);
vpnws_refusal_t vpnwsd_policy(vpnws_uwsgi_packet_t *pk,
    vpnws_upgrade_out_t *up, vpnws_policy_t *p);

/* peer.c: rate limits */
void vpnwsd_peer_resume(void);

/* admin.c */
void vpnwsd_admin(vpnwsd_conn_t *c, vpnws_uwsgi_packet_t *pk);

/* prom.c */
void vpnwsd_admin_prometheus(vpnwsd_conn_t *c, int head_only);

/* tap.c */
int vpnwsd_tap_open(void);
int vpnwsd_tap_exec(void);
void vpnwsd_tap_read(vpnwsd_conn_t *c);
void vpnwsd_tap_write(vpnwsd_conn_t *c, const uint8_t *frame, size_t len);
void vpnwsd_tap_announce(vpnwsd_conn_t *src);
void vpnwsd_tap_close(void);


#endif /* _VPNWSD_H_INCLUDED_ */
