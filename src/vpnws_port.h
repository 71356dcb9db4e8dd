/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: a websocket port's plumbing around the codec, for every host: the
 * partial frame carried over between reads, control frames, the bounded
 * output queue and its room, the Close frame, and the spare buffers the
 * ports of a switch take their queues and partial frames from.
 *
 * The host does the I/O (its send hook), the switching (its message hook)
 * and the events and timers; nothing here allocates per frame or copies a
 * frame more than once into a queue.
 */

#ifndef _VPNWS_PORT_H_INCLUDED_
#define _VPNWS_PORT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpnws_ws.h"
#include "vpnws_switch.h"


#define VPNWS_BUFS_KEEP         32      /* spares kept at least, per kind */
#define VPNWS_PORT_READ_ROUNDS  8       /* reads per event: fairness */
#define VPNWS_PORT_CLOSE_WAIT   2000    /* ms a Close frame may take */

/* vpnws_port_consume(), vpnws_port_flush() */
#define VPNWS_PORT_OK           0
#define VPNWS_PORT_AGAIN        1       /* flush: the socket is full */
#define VPNWS_PORT_ERROR        -1      /* flush: the send hook failed */
#define VPNWS_PORT_PROTOCOL     -2      /* consume: reader.code, .error */
#define VPNWS_PORT_PEER_CLOSE   -3      /* consume: the peer sent Close */
#define VPNWS_PORT_NOMEM        -4      /* consume: no buffer for a rest */
#define VPNWS_PORT_STOPPED      -5      /* consume: the message hook said */


typedef struct vpnws_port_io_s    vpnws_port_io_t;
typedef struct vpnws_port_link_s  vpnws_port_link_t;


struct vpnws_port_link_s {
    vpnws_port_link_t  *prev;
    vpnws_port_link_t  *next;
};


/* spare buffers of one size: a list threaded through the buffers */
typedef struct {
    void               *free;
    uint32_t            nfree;
    uint32_t            ports;      /* that draw from it: kept up to this */
    size_t              size;
} vpnws_bufs_t;


/* the spares of one switch */
typedef struct {
    vpnws_bufs_t        in;         /* partial and fragmented messages */
    vpnws_bufs_t        out;        /* output queues */
} vpnws_port_bufs_t;


typedef struct {
    /* a data message (text as binary), writable, for the port io (a
     * vpnws_port_io_t *, as the reader's ctx); -1 stops the reading */
    int               (*message)(void *io, uint8_t *data, size_t len);
    /* write buf[0..len): bytes written, 0 if it would block, -1 failed */
    ssize_t           (*send)(vpnws_port_io_t *io, const uint8_t *buf,
                              size_t len);
    /* a frame toward the port dropped: the switch's counter */
    void              (*drop)(vpnws_port_io_t *io, vpnws_drop_t reason);
    void             *(*alloc)(size_t size);
    void              (*free)(void *buf);
} vpnws_port_ops_t;


/* what every port of a host shares */
typedef struct {
    const vpnws_port_ops_t  *ops;
    vpnws_ws_handler_t  handler;    /* the reader's, from ops */
    uint8_t            *rbuf;       /* reads land here first */
    size_t              rbuf_size;
    vpnws_port_link_t   dirty;      /* ports with output to write */
} vpnws_port_host_t;


/* a port's counters, where the host's status reads them */
typedef struct {
    uint64_t            rx;         /* websocket bytes */
    uint64_t            tx;
    uint64_t            frames_in;
    uint64_t            frames_out;
    uint64_t            drops;      /* frames toward it dropped */
} vpnws_port_stats_t;


struct vpnws_port_io_s {
    vpnws_port_link_t   dirty;      /* in host->dirty */
    vpnws_port_host_t  *host;
    vpnws_port_bufs_t  *bufs;
    vpnws_port_state_t *state;
    vpnws_port_stats_t *stats;
    vpnws_ws_reader_t   reader;
    uint8_t            *in;         /* a partial frame, or NULL */
    size_t              in_len;
    uint8_t            *out;        /* the output queue, or NULL */
    size_t              out_pos;
    size_t              out_last;
    const char         *why;        /* after consume: the Close to send */
    uint16_t            reply;
    uint16_t            peer_code;  /* the code of the peer's Close */
    unsigned            is_dirty:1;
    unsigned            closing:1;  /* a Close is queued: write, then end */
    unsigned            error:1;    /* the send hook failed */
    unsigned            peer_closed:1;
};


/* the host's object around io (a peer, a connection) */
#define vpnws_port_data(io, type, field)                                      \
    ((type *) (void *) ((uint8_t *) (io) - offsetof(type, field)))


void vpnws_port_host_init(vpnws_port_host_t *host,
    const vpnws_port_ops_t *ops, uint8_t *rbuf, size_t rbuf_size);
void vpnws_port_bufs_init(vpnws_port_bufs_t *bufs, size_t in_size,
    size_t out_size);
/* the spares go back to the host's free() */
void vpnws_port_bufs_free(vpnws_port_bufs_t *bufs, const vpnws_port_ops_t *ops);

void *vpnws_bufs_get(vpnws_bufs_t *b, const vpnws_port_ops_t *ops);
void vpnws_bufs_put(vpnws_bufs_t *b, const vpnws_port_ops_t *ops, void *buf);

/* a new port: no queue, nothing read, reader for max_payload */
void vpnws_port_init(vpnws_port_io_t *io, vpnws_port_host_t *host,
    vpnws_port_bufs_t *bufs, vpnws_port_state_t *state,
    vpnws_port_stats_t *stats, uint64_t max_payload);
/* the port is gone: its buffers back, a half message dropped */
void vpnws_port_release(vpnws_port_io_t *io);

/*
 * Where the next read goes: after the partial frame, or in the shared read
 * buffer; *room is how much, at most what the port's rate allows at now
 * (0: none, pause the port).
 */
uint8_t *vpnws_port_rbuf(vpnws_port_io_t *io, uint64_t now, size_t *room);

/*
 * n bytes were read where vpnws_port_rbuf() said: every complete frame goes
 * to the hooks, a partial one is kept.  VPNWS_PORT_OK, or a reason to close
 * the port with io->reply and io->why (PROTOCOL, PEER_CLOSE, NOMEM), or
 * STOPPED.
 */
int vpnws_port_consume(vpnws_port_io_t *io, size_t n);

/* room for size more bytes at the end of the queue; NULL: full.  The
 * caller writes there and adds what it wrote to io->out_last. */
uint8_t *vpnws_port_room(vpnws_port_io_t *io, size_t size);

/* a frame toward the port could not be queued: count it */
void vpnws_port_dropped(vpnws_port_io_t *io, vpnws_drop_t reason);

/*
 * Queue one FIN frame of opcode whose payload is pre[0..plen) and
 * data[0..len) (pre may be NULL): 0, or -1 when it is closing or full
 * (counted).  A BINARY frame counts in frames_out.
 */
int vpnws_port_frame(vpnws_port_io_t *io, int opcode, const uint8_t *pre,
    size_t plen, const uint8_t *data, size_t len);

/* vpnws_port_police() for a port with a rate */
int vpnws_port_over_rate(vpnws_port_io_t *io, uint64_t now, size_t len);

/* an ethernet frame toward the port, policed, queued: 0 or -1 */
int vpnws_port_output(vpnws_port_io_t *io, uint64_t now, const uint8_t *frame,
    size_t len);

/*
 * A framed message (a flooded frame framed once), not policed: written at
 * once when nothing waits before it, the rest queued.  0, 1 dropped
 * (counted), -1 the port failed (io->error: a torn frame, or the hook).
 */
int vpnws_port_send(vpnws_port_io_t *io, const uint8_t *msg, size_t size);

/* write out the queue: VPNWS_PORT_OK (empty, buffer returned), AGAIN,
 * ERROR (io->error) */
int vpnws_port_flush(vpnws_port_io_t *io);

/* queue a Close frame and stop queueing anything else; -1 if closing */
int vpnws_port_close(vpnws_port_io_t *io, uint16_t code, const char *reason);


/* a frame of len bytes toward the port: 0, or -1 over its rate (counted;
 * what others send a peer cannot be slowed, only policed) */
static inline int
vpnws_port_police(vpnws_port_io_t *io, uint64_t now, size_t len)
{
    if (!vpnws_limit_on(&io->state->limit)) {
        return 0;
    }

    return vpnws_port_over_rate(io, now, len);
}


static inline int
vpnws_port_queue(vpnws_port_io_t *io, const uint8_t *data, size_t len,
    int opcode)
{
    return vpnws_port_frame(io, opcode, NULL, 0, data, len);
}


static inline size_t
vpnws_port_queued(const vpnws_port_io_t *io)
{
    return io->out ? io->out_last - io->out_pos : 0;
}


static inline void
vpnws_port_undirty(vpnws_port_io_t *io)
{
    if (io->is_dirty) {
        io->dirty.prev->next = io->dirty.next;
        io->dirty.next->prev = io->dirty.prev;
        io->is_dirty = 0;
    }
}


static inline void
vpnws_port_mark(vpnws_port_io_t *io)
{
    vpnws_port_link_t  *head;

    if (!io->is_dirty) {
        io->is_dirty = 1;
        head = &io->host->dirty;
        io->dirty.next = head;
        io->dirty.prev = head->prev;
        head->prev->next = &io->dirty;
        head->prev = &io->dirty;
    }
}


/* the first port with output to write, out of the list; NULL: none */
static inline vpnws_port_io_t *
vpnws_port_dirty_next(vpnws_port_host_t *host)
{
    vpnws_port_io_t  *io;

    if (host->dirty.next == &host->dirty) {
        return NULL;
    }

    io = vpnws_port_data(host->dirty.next, vpnws_port_io_t, dirty);
    vpnws_port_undirty(io);

    return io;
}


#endif /* _VPNWS_PORT_H_INCLUDED_ */
