/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the exec hook (--exec, tap_exec=): a shell command run once the
 * tap exists, with the same environment in every host.
 */

#ifndef _VPNWS_HOOK_H_INCLUDED_
#define _VPNWS_HOOK_H_INCLUDED_


#include <stddef.h>


/*
 * Run "/bin/sh -c cmd" and wait for it.  Its environment is the caller's
 * plus VPNWS_TAP=tap and VPNWS_SWITCH=sw (either NULL: not set); it gets
 * stdin from /dev/null, stdout and stderr, no other descriptor, a clean
 * signal mask and default dispositions.
 * 0: it exited with 0; -1: err says what went wrong or how it ended.
 */
int vpnws_hook_run(const char *cmd, const char *tap, const char *sw,
    char *err, size_t errlen);


#endif /* _VPNWS_HOOK_H_INCLUDED_ */
