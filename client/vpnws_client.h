/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: shared declarations.
 */

#ifndef _VPNWS_CLIENT_H_INCLUDED_
#define _VPNWS_CLIENT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "vpnws_priv.h"
#include "vpnws_ws.h"
#include "vpnws_mac.h"
#include "vpnws_tap.h"
#include "vpnws_tcp.h"
#include "vpnws_vnet.h"
#include "vpnws_version.h"


#define VPNWS_CLIENT_VERSION    VPNWS_VERSION
#define VPNWS_CLIENT_NAME       "vpn-ws-client"

/* exit codes: documented in --help and README */
#define VPNWS_EXIT_OK           0   /* stopped by SIGINT/SIGTERM/SIGHUP */
#define VPNWS_EXIT_INTERNAL     1   /* out of memory, epoll, fork */
#define VPNWS_EXIT_USAGE        2   /* bad option, argument or URL */
#define VPNWS_EXIT_TAP          3   /* tap device: create, MAC, MTU, up */
#define VPNWS_EXIT_TLS_CONF     4   /* --ca, --crt or --key unusable */
#define VPNWS_EXIT_SETUP        5   /* --exec failed, --uid/--gid failed */
#define VPNWS_EXIT_TLS_VERIFY   6   /* server certificate rejected */
#define VPNWS_EXIT_HTTP         7   /* server refused the websocket */

/* results of connection steps */
#define VPNWS_OK                0
#define VPNWS_RETRY             -1  /* transient: back off, connect again */
#define VPNWS_QUIT              -2  /* a signal asked us to stop */
#define VPNWS_FAIL_VERIFY       -3  /* TLS verification: fatal at first */
#define VPNWS_FAIL_HTTP         -4  /* non-retryable HTTP answer */
#define VPNWS_FAIL_TAP          -5  /* the tap device failed */

#define VPNWS_LOG_ERR           0
#define VPNWS_LOG_INFO          1
#define VPNWS_LOG_DEBUG         2

#define VPNWS_ERRLEN            512
#define VPNWS_HOST_LEN          256
#define VPNWS_PING_DEFAULT      17
#define VPNWS_TIMEOUT_DEFAULT   60
#define VPNWS_CONNECT_TIMEOUT   15          /* connect + handshakes, s */
#define VPNWS_BACKOFF_MAX       30000       /* ms */
#define VPNWS_SESSION_STABLE    10000       /* ms up that resets backoff */
#define VPNWS_HTTP_MAX          8192        /* response header limit */
#define VPNWS_SERVERS_MAX       16          /* URLs on the command line */

#define VPNWS_IN_SIZE           (2 * (VPNWS_TAP_MAX_FRAME + 64))
#define VPNWS_OUT_SIZE          (4 * (VPNWS_TAP_MAX_FRAME + 64))
#define VPNWS_OUT_RESERVE       512         /* room kept for control frames */

/* a tap read or a message: a virtio-net header and a 64 KiB super-frame */
#define VPNWS_CLIENT_FRAME      (VPNWS_VNET_HLEN + VPNWS_VNET_FRAME_MAX)
/* room a super-frame cut here takes beyond its size: ~45 more headers */
#define VPNWS_SEG_SLACK         8192
#define VPNWS_TAP_PLACE_HLEN    8           /* 2 + 2 (length) + 4 (mask) */
#define VPNWS_TAP_PLACE_MOVE    4096        /* unsent bytes moved for it */


typedef struct {
    unsigned        tls:1;
    unsigned        ipv6:1;             /* host is an IPv6 literal */
    unsigned        literal:1;          /* host is an IP literal */
    unsigned        password:1;         /* "user:pass@", not "user@" */
    char            host[VPNWS_HOST_LEN];
    char            port[8];
    char            authority[VPNWS_HOST_LEN + 16];    /* Host: value */
    char           *path;               /* request target, "/" at least */
    char           *basic;              /* base64 "user:pass", or NULL */
    char           *user;               /* "user@" alone: the user */
} vpnws_url_t;


/* one server URL of the command line, with the proxy that reaches it */
typedef struct {
    const char     *text;
    vpnws_url_t     url;
    vpnws_url_t     proxy;
    unsigned        use_proxy:1;
} vpnws_server_t;


/* which server comes next (servers.c) */
typedef struct {
    unsigned        n;
    unsigned        current;
    unsigned        failures;           /* in a row, since a stable session */
    uint32_t        tried;              /* random order: in this round */
    unsigned        random:1;
} vpnws_servers_t;


typedef struct {
    const char     *tap_name;
    const char     *url_text;
    vpnws_url_t     url;                /* the server being tried */
    vpnws_url_t     proxy;
    unsigned        use_proxy:1;
    unsigned        random:1;           /* --random */
    unsigned        nservers;
    vpnws_server_t  servers[VPNWS_SERVERS_MAX];
    unsigned        no_verify:1;
    unsigned        bridge:1;
    unsigned        has_mac:1;
    unsigned        no_offload:1;
    const char     *exec;
    const char     *key;
    const char     *crt;
    const char     *ca;
    const char     *auth_file;
    uint8_t         mac[VPNWS_MAC_LEN];
    int             mtu;
    vpnws_priv_t    priv;               /* --uid, --gid */
    int             ping_interval;      /* s, 0: never */
    int             timeout;            /* s, 0: never */
    const char     *congestion;         /* --congestion, NULL: default */
} vpnws_conf_t;


typedef struct {
    int             fd;
    SSL            *ssl;
    const char     *congestion;         /* of every socket, NULL: default */
    unsigned        read_wants_write:1;
    unsigned        write_wants_read:1;
} vpnws_conn_t;


typedef struct {
    vpnws_conf_t   *conf;
    int             tap;
    char            ifname[VPNWS_TAP_NAME_LEN];
    uint8_t         mac[VPNWS_MAC_LEN];
    SSL_CTX        *ssl_ctx;
    vpnws_conn_t    conn;

    uint8_t        *in;                 /* from the server */
    size_t          in_len;
    uint8_t        *out;                /* to the server, [out_pos, out_end) */
    size_t          out_pos;
    size_t          out_end;
    uint8_t        *frame;              /* one tap frame */
    uint8_t        *frag;               /* websocket reassembly */

    unsigned        tap_vnet:1;         /* IFF_VNET_HDR: header on reads */
    unsigned        tap_caps;           /* VPNWS_OFFLOAD_* the tap took */
    unsigned        offload;            /* agreed with the server, 0: none */

    vpnws_ws_reader_t  reader;

    uint8_t         masks[4096];        /* random masking keys */
    size_t          mask_pos;
    const uint8_t  *place_mask;         /* of the message vpnws_place() */
    size_t          place_len;          /* made room for: header, payload */

    unsigned        connected_once:1;
    unsigned        closing:1;
    uint32_t        fatal;              /* servers that refused for good */
    int             close_code;

    int64_t         last_rx;
    int64_t         last_tx;
    int64_t         last_ping;

    uint64_t        tx_frames;
    uint64_t        rx_frames;
    uint64_t        tap_drops;
    uint64_t        super_frames;       /* sent or received as they are */
    uint64_t        soft_segmented;     /* super-frames cut here */
    uint64_t        vnet_errors;        /* bad virtio-net headers dropped */
} vpnws_client_t;


extern volatile sig_atomic_t  vpnws_quit;
extern int                    vpnws_verbosity;
extern int                    vpnws_signal_fd;


/* log.c */
void vpnws_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vpnws_log_state(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int64_t vpnws_now_ms(void);

/* url.c */
int vpnws_url_parse(const char *text, vpnws_url_t *u, int proxy, char *err,
    size_t errlen);
int vpnws_proxy_from_env(vpnws_conf_t *conf, char *err, size_t errlen);
void vpnws_url_redact(const char *text, char *out, size_t size);
void vpnws_url_hide(char *text);
void vpnws_url_free(vpnws_url_t *u);

/* auth.c */
#define VPNWS_AUTH_ENV          "VPNWS_AUTH"
#define VPNWS_AUTH_MAX          4096

int vpnws_auth_load(vpnws_url_t *u, const char *file, char *err,
    size_t errlen);
int vpnws_auth_set(vpnws_url_t *u, const char *text, size_t len,
    const char *from, char *err, size_t errlen);

/* conn.c: plain or TLS stream; n, 0 on EOF, -1 (err) or -2 again */
int vpnws_conn_connect(vpnws_conn_t *c, const char *host, const char *port,
    int64_t deadline, char *err, size_t errlen);
ssize_t vpnws_conn_read(vpnws_conn_t *c, void *buf, size_t len, char *err,
    size_t errlen);
ssize_t vpnws_conn_write(vpnws_conn_t *c, const void *buf, size_t len,
    char *err, size_t errlen);
int vpnws_conn_write_all(vpnws_conn_t *c, const void *buf, size_t len,
    int64_t deadline, char *err, size_t errlen);
int vpnws_conn_wait(vpnws_conn_t *c, short events, int64_t deadline,
    char *err, size_t errlen);
int vpnws_signal_poll(int fd, short events, int timeout);
void vpnws_signal_read(void);
void vpnws_conn_close(vpnws_conn_t *c);

/* tls.c */
SSL_CTX *vpnws_tls_ctx(vpnws_conf_t *conf, char *err, size_t errlen);
int vpnws_tls_connect(vpnws_conn_t *c, SSL_CTX *ctx, vpnws_url_t *u,
    int64_t deadline, char *err, size_t errlen);
void vpnws_tls_error(const char *what, char *err, size_t errlen);

/* http.c */
int vpnws_http_read_header(vpnws_conn_t *c, uint8_t *buf, size_t size,
    size_t *hlen, size_t *total, int64_t deadline, char *err, size_t errlen);
int vpnws_http_status(const uint8_t *buf, size_t hlen, char *line,
    size_t linelen);
const char *vpnws_http_header(const uint8_t *buf, size_t hlen,
    const char *name, size_t *len);
int vpnws_ws_handshake(vpnws_client_t *cl, int64_t deadline, char *err,
    size_t errlen);
size_t vpnws_base64(const uint8_t *in, size_t len, char *out);

/* proxy.c */
int vpnws_proxy_connect(vpnws_conn_t *c, vpnws_conf_t *conf,
    int64_t deadline, char *err, size_t errlen);

/* servers.c */
void vpnws_servers_start(vpnws_servers_t *s, unsigned n, unsigned random);
/* the current server failed or its session ended: move on; the backoff step */
unsigned vpnws_servers_failed(vpnws_servers_t *s, int stable);

/* loop.c */
int vpnws_session(vpnws_client_t *cl, char *err, size_t errlen);
uint8_t *vpnws_place(vpnws_client_t *cl, int opcode, size_t len);
void vpnws_commit(vpnws_client_t *cl, uint8_t *data, size_t len);
uint8_t *vpnws_tap_place(vpnws_client_t *cl);
void vpnws_send_placed(vpnws_client_t *cl, uint8_t *data, size_t len);
int vpnws_send(vpnws_client_t *cl, int opcode, const uint8_t *data,
    size_t len);
size_t vpnws_out_free(vpnws_client_t *cl);

/* offload.c */
void vpnws_offload_probe(vpnws_client_t *cl);
int vpnws_offload_start(vpnws_client_t *cl, char *err, size_t errlen);
void vpnws_offload_from_tap(vpnws_client_t *cl, uint8_t *p, size_t n);
void vpnws_offload_to_tap(vpnws_client_t *cl, uint8_t *data, size_t len);
void vpnws_random(void *buf, size_t len);


#endif /* _VPNWS_CLIENT_H_INCLUDED_ */
