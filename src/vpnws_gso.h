/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: software segmentation of offloaded TCP super-frames, for ports
 * that did not negotiate offload.  The result is what the kernel's own
 * GSO gives a device without TSO and checksum offload: IP lengths, IPv4
 * ids (one more per segment) and header checksums, TCP sequence numbers,
 * FIN/PSH on the last segment only, CWR on the first only, TCP checksums.
 *
 * No allocation: each segment is built where the caller says (one buffer,
 * or its output queue) and handed to the caller's emit function before the
 * next one is built.  The headers come from a template made once a
 * super-frame, with the fixed parts of both checksums summed once.
 */

#ifndef _VPNWS_GSO_H_INCLUDED_
#define _VPNWS_GSO_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "vpnws_vnet.h"


/* 0 to go on, -1 to stop (the segmenter then returns -1) */
typedef int (*vpnws_gso_emit_pt)(void *ctx, uint8_t *seg, size_t len);

/* where the next frame of len bytes is built; NULL stops the segmenter */
typedef uint8_t *(*vpnws_gso_place_pt)(void *ctx, size_t len);


/* the buffer a checked frame needs: its headers plus one segment */
static inline size_t
vpnws_gso_buf_size(const vpnws_vnet_frame_t *f, size_t len)
{
    return f->gso ? (size_t) f->hlen + f->hdr.gso_size : len;
}


/*
 * Cut the checked frame f (len bytes, no virtio-net header) into plain
 * frames, each built in buf (size bytes, at least vpnws_gso_buf_size())
 * and passed to emit.  A frame that is not GSO is copied, its checksum
 * completed.  Returns the number of segments, or -1 (buffer too small,
 * or emit said stop).
 */
int vpnws_gso_segment(const vpnws_vnet_frame_t *f, const uint8_t *frame,
    size_t len, uint8_t *buf, size_t size, vpnws_gso_emit_pt emit, void *ctx);

/*
 * The same, each frame built where place says (straight into an output
 * queue: one copy of the payload), then passed to emit.  Returns the
 * number of frames, or -1 (place gave NULL, or emit said stop).
 */
int vpnws_gso_cut(const vpnws_vnet_frame_t *f, const uint8_t *frame,
    size_t len, vpnws_gso_place_pt place, vpnws_gso_emit_pt emit, void *ctx);


#endif /* _VPNWS_GSO_H_INCLUDED_ */
