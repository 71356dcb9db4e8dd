/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: dropping root once the tap and the sockets exist, the same way in
 * the client and the daemon (--uid, --gid).
 */

#ifndef _VPNWS_PRIV_H_INCLUDED_
#define _VPNWS_PRIV_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>


#define VPNWS_PRIV_NAME_LEN     64


typedef struct {
    uid_t           uid;
    gid_t           gid;
    unsigned        has_uid:1;
    unsigned        has_gid:1;
    /* the passwd name of uid: its supplementary groups (initgroups) */
    char            user[VPNWS_PRIV_NAME_LEN];
} vpnws_priv_t;


/*
 * --uid USER (a name or a number) and --gid GROUP (a name or a number),
 * either NULL.  USER's primary group applies unless GROUP is given; a
 * number with no passwd entry needs GROUP (there is no group to take).
 * 0, or -1 with err filled.
 */
int vpnws_priv_parse(vpnws_priv_t *p, const char *user, const char *group,
    char *err, size_t errlen);

/*
 * Become p: supplementary groups (USER's, or none), then the gid, then the
 * uid; checks that every id changed and that root cannot be regained.
 * Nothing asked: nothing done.  0, or -1 with err filled.
 */
int vpnws_priv_drop(const vpnws_priv_t *p, char *err, size_t errlen);


#endif /* _VPNWS_PRIV_H_INCLUDED_ */
