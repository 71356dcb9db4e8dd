/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the websocket upgrade request a peer joins with, validated once
 * for every host (the module from nginx's headers, the daemon from uwsgi
 * variables), and the one table of refusals: status, log level, reason.
 * No I/O, no allocation; values point into the host's buffers.
 */

#ifndef _VPNWS_UPGRADE_H_INCLUDED_
#define _VPNWS_UPGRADE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_mac.h"


/* log levels of the hosts' error logs, most severe first */
typedef enum {
    VPNWS_LOG_ERR = 0,          /* the operator must act */
    VPNWS_LOG_WARN,
    VPNWS_LOG_NOTICE,
    VPNWS_LOG_INFO              /* a client's fault: nginx logs it here */
} vpnws_log_level_t;

/* a peer's websocket protocol error (vpnws_ws_read()): its own fault */
#define VPNWS_LOG_PROTOCOL      VPNWS_LOG_INFO


typedef enum {
    VPNWS_UPGRADE_OK = 0,
    VPNWS_REFUSE_METHOD,            /* 405 not GET */
    VPNWS_REFUSE_HTTP_VERSION,      /* 400 not HTTP/1.1 (HTTP/2, HTTP/3) */
    VPNWS_REFUSE_NO_UPGRADE,        /* 426 no Upgrade: websocket */
    VPNWS_REFUSE_NO_CONNECTION,     /* 400 no Connection: Upgrade */
    VPNWS_REFUSE_REPEATED,          /* 400 a single-valued header twice */
    VPNWS_REFUSE_WS_VERSION,        /* 426 Sec-WebSocket-Version not 13 */
    VPNWS_REFUSE_NO_KEY,            /* 400 */
    VPNWS_REFUSE_BAD_KEY,           /* 400 */
    VPNWS_REFUSE_BODY,              /* 400 a request body */
    VPNWS_REFUSE_BAD_BRIDGE,        /* 400 X-vpn-ws-bridge not on/off */
    VPNWS_REFUSE_BAD_MAC,           /* 400 X-vpn-ws-MAC not a MAC */
    VPNWS_REFUSE_MAC_NOT_UNICAST,   /* 400 zero or group address */
    /* decided by the host when the peer joins its switch */
    VPNWS_REFUSE_SWITCH_FULL,       /* 503 every peer slot taken */
    VPNWS_REFUSE_MAC_TAKEN,         /* 409 another live peer has the MAC */
    VPNWS_REFUSE_TABLE_FULL,        /* 503 the MAC table is full */
    /* the server's policy (src/vpnws_policy.c): 403 */
    VPNWS_REFUSE_NOT_GRANTED,       /* bridge mode asked, not granted */
    VPNWS_REFUSE_POLICY_BRIDGE,     /* the grant is not on or off */
    VPNWS_REFUSE_POLICY_MAC,        /* the pinned MAC is no unicast MAC */
    VPNWS_REFUSE_MAC_DIFFERS,       /* X-vpn-ws-MAC is not the pinned one */
    VPNWS_REFUSE_POLICY_IP,         /* the pinned IPv4 is no dotted quad */
    VPNWS_REFUSE_POLICY_RATE,       /* the rate does not parse */
    VPNWS_REFUSE_POLICY_USER,       /* the user name is too long */
    VPNWS_REFUSE_NO_USER,           /* per-user limit and no user */
    VPNWS_REFUSE_USER_PEERS,        /* the user has its peers already */
    VPNWS_REFUSE_NO_SWITCH,         /* the switch named is no switch */
    VPNWS_REFUSE_INTERNAL,          /* 500 out of memory, SHA-1 */
    VPNWS_REFUSE_MAX
} vpnws_refusal_t;


typedef struct {
    uint16_t            status;         /* HTTP status */
    const char         *status_line;    /* "426 Upgrade Required" */
    uint8_t             level;          /* vpnws_log_level_t of its line */
    const char         *reason;         /* body and log text */
    /* extra response headers: name, value, ..., NULL */
    const char * const *headers;
} vpnws_refusal_info_t;


/* a header value as the host has it; data NULL: not given */
typedef struct {
    const char         *data;
    size_t              len;
    uint32_t            count;          /* times the header was given */
} vpnws_upgrade_value_t;


/*
 * The request.  Zero it, set method and http_version (or pass them as
 * REQUEST_METHOD and SERVER_PROTOCOL variables), then hand every header
 * to vpnws_upgrade_header() (HTTP names) or vpnws_upgrade_var() (CGI
 * names, as uwsgi carries them).
 */
typedef struct {
    vpnws_upgrade_value_t   method;
    unsigned                http_version;   /* 1001: HTTP/1.1; 0: unknown */
    vpnws_upgrade_value_t   upgrade;
    vpnws_upgrade_value_t   connection;
    vpnws_upgrade_value_t   key;
    vpnws_upgrade_value_t   version;
    vpnws_upgrade_value_t   content_length;
    vpnws_upgrade_value_t   transfer_encoding;
    vpnws_upgrade_value_t   mac;            /* X-vpn-ws-MAC */
    vpnws_upgrade_value_t   bridge;         /* X-vpn-ws-bridge */
    vpnws_upgrade_value_t   ready;          /* X-vpn-ws-ready */
    vpnws_upgrade_value_t   offload;        /* X-vpn-ws-Offload */
    unsigned                upgrade_websocket:1;    /* in any Upgrade */
    unsigned                connection_upgrade:1;   /* in any Connection */
    /* policy inputs (the host's grants, identity) follow here */
} vpnws_upgrade_in_t;


/* what a valid request asks for */
typedef struct {
    uint8_t                 mac[VPNWS_MAC_LEN];
    unsigned                has_mac:1;      /* X-vpn-ws-MAC given */
    unsigned                bridge:1;       /* X-vpn-ws-bridge: on */
    /* X-vpn-ws-ready: on: floods at once (vpnws_switch_join()) */
    unsigned                ready:1;
    /* X-vpn-ws-Offload: VPNWS_OFFLOAD_* the peer can take (vpnws_vnet.h) */
    unsigned                offload;
    /* policy results follow here */
} vpnws_upgrade_out_t;


#define VPNWS_HTTP_VERSION(major, minor)  ((major) * 1000 + (minor))


/* one request header (name any case); unknown names are ignored */
void vpnws_upgrade_header(vpnws_upgrade_in_t *in, const char *name,
    size_t name_len, const char *value, size_t value_len);

/* one CGI variable (REQUEST_METHOD, SERVER_PROTOCOL, HTTP_*, ...) */
void vpnws_upgrade_var(vpnws_upgrade_in_t *in, const char *name,
    size_t name_len, const char *value, size_t value_len);

/* 1001 for "HTTP/1.1", 2000 for "HTTP/2.0" or "HTTP/2", 1 for garbage */
unsigned vpnws_upgrade_http_version(const char *p, size_t len);

/* the rules (DESIGN.md section 2): VPNWS_UPGRADE_OK and out filled in,
 * or why the request is refused */
vpnws_refusal_t vpnws_upgrade_check(const vpnws_upgrade_in_t *in,
    vpnws_upgrade_out_t *out);

/* the status, level and text of a refusal (any value: never NULL) */
const vpnws_refusal_info_t *vpnws_refusal_info(vpnws_refusal_t r);

/* does the comma separated list p[0..len) hold token (any case)? 1 or 0 */
int vpnws_upgrade_has_token(const char *p, size_t len, const char *token);


#endif /* _VPNWS_UPGRADE_H_INCLUDED_ */
