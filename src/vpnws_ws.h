/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: RFC 6455 websocket codec (no I/O).
 */

#ifndef _VPNWS_WS_H_INCLUDED_
#define _VPNWS_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define VPNWS_WS_OP_CONT        0x0
#define VPNWS_WS_OP_TEXT        0x1
#define VPNWS_WS_OP_BINARY      0x2
#define VPNWS_WS_OP_CLOSE       0x8
#define VPNWS_WS_OP_PING        0x9
#define VPNWS_WS_OP_PONG        0xa

#define VPNWS_WS_CLOSE_NORMAL       1000
#define VPNWS_WS_CLOSE_GOING_AWAY   1001
#define VPNWS_WS_CLOSE_PROTOCOL     1002
#define VPNWS_WS_CLOSE_NO_STATUS    1005
#define VPNWS_WS_CLOSE_POLICY       1008
#define VPNWS_WS_CLOSE_TOO_BIG      1009
#define VPNWS_WS_CLOSE_INTERNAL     1011

#define VPNWS_WS_MAX_HLEN       14      /* 2 + 8 (length) + 4 (mask) */
#define VPNWS_WS_MAX_CONTROL    125
#define VPNWS_WS_CLOSE_FRAME    (2 + VPNWS_WS_MAX_CONTROL + 4)

#define VPNWS_WS_GUID           "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define VPNWS_WS_GUID_LEN       (sizeof(VPNWS_WS_GUID) - 1)
#define VPNWS_WS_KEY_MIN        16      /* the original vpn-ws-client */
#define VPNWS_WS_KEY_MAX        64

#define VPNWS_WS_OK             1
#define VPNWS_WS_AGAIN          0
#define VPNWS_WS_ERROR          -1


typedef struct {
    uint64_t        len;            /* payload length */
    size_t          hlen;           /* header length, mask included */
    uint8_t         opcode;
    uint8_t         fin;
    uint8_t         masked;
    uint8_t         mask[4];
} vpnws_ws_frame_t;


typedef struct {
    /* a complete data message (text is treated as binary); writable */
    int           (*message)(void *ctx, uint8_t *data, size_t len);
    /* PING, PONG or CLOSE, payload unmasked; return -1 to stop reading */
    int           (*control)(void *ctx, int opcode, uint8_t *data, size_t len);
    /* a buffer of max_payload bytes for a fragmented message, or NULL */
    uint8_t      *(*frag_alloc)(void *ctx);
    void          (*frag_free)(void *ctx, uint8_t *buf);
} vpnws_ws_handler_t;


typedef struct {
    uint64_t        max_payload;
    uint8_t        *frag;           /* reassembly buffer, NULL when idle */
    size_t          frag_len;
    unsigned        frag_active:1;
    unsigned        stopped:1;      /* a callback asked to stop */
    uint16_t        code;           /* close code after an error */
    const char     *error;          /* static text after an error */
} vpnws_ws_reader_t;


/*
 * Parse one frame header at p[0..n).  VPNWS_WS_OK: f is filled (the payload
 * may still be incomplete); VPNWS_WS_AGAIN: more bytes needed;
 * VPNWS_WS_ERROR: *code and *error say why.
 */
int vpnws_ws_parse_header(const uint8_t *p, size_t n, uint64_t max_payload,
    vpnws_ws_frame_t *f, uint16_t *code, const char **error);

/*
 * Consume every complete frame in buf[0..n): payloads are unmasked in
 * place, fragments reassembled, callbacks run.  Returns the bytes consumed
 * (a partial frame stays for the next call), or -1 after a protocol error
 * (r->code, r->error) or when a callback stopped it (r->stopped).
 */
ssize_t vpnws_ws_read(vpnws_ws_reader_t *r, uint8_t *buf, size_t n,
    const vpnws_ws_handler_t *h, void *ctx);

/* drop a half-assembled message (connection end) */
void vpnws_ws_reader_reset(vpnws_ws_reader_t *r, const vpnws_ws_handler_t *h,
    void *ctx);

/* XOR p[0..n) with mask, starting at mask phase (offset & 3) */
void vpnws_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4],
    size_t offset);

/* write a FIN frame header into out[VPNWS_WS_MAX_HLEN]; returns its size */
size_t vpnws_ws_header(uint8_t *out, int opcode, uint64_t len,
    const uint8_t *mask);

/* the size of an unmasked frame header for a payload of len bytes */
static inline size_t
vpnws_ws_hlen(uint64_t len)
{
    return (len < 126) ? 2 : (len < 65536) ? 4 : 10;
}

/* a complete CLOSE frame (masked when mask != NULL) into out */
size_t vpnws_ws_close_frame(uint8_t *out, uint16_t code, const char *reason,
    const uint8_t *mask);

/* the code a CLOSE payload carries (1005 without one) */
uint16_t vpnws_ws_close_code(const uint8_t *data, size_t len);

/* the code to answer a CLOSE with: the peer's; 1000 to an empty one; 1002
 * to a malformed one (one byte, a code no endpoint may send) */
uint16_t vpnws_ws_close_reply(const uint8_t *data, size_t len);

/* Sec-WebSocket-Key: base64 text of VPNWS_WS_KEY_MIN..MAX bytes; 0 or -1 */
int vpnws_ws_key_valid(const char *key, size_t len);

/* key + GUID into out (len + VPNWS_WS_GUID_LEN bytes); SHA-1 + base64 of it
 * is Sec-WebSocket-Accept */
size_t vpnws_ws_accept_input(const char *key, size_t len, char *out);


#endif /* _VPNWS_WS_H_INCLUDED_ */
