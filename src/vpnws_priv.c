/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: --uid and --gid of the client and the daemon.
 */


#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpnws_priv.h"


/* a decimal id, or -1 */
static long long
vpnws_priv_number(const char *s)
{
    char          *end;
    unsigned long  n;

    if (*s < '0' || *s > '9') {
        return -1;
    }

    errno = 0;
    n = strtoul(s, &end, 10);

    if (*end != '\0' || errno != 0 || n >= UINT_MAX) {
        return -1;
    }

    return (long long) n;
}


static int
vpnws_priv_user(vpnws_priv_t *p, const char *user, char *err, size_t errlen)
{
    long long       n;
    struct passwd  *pw;

    pw = getpwnam(user);
    n = vpnws_priv_number(user);

    if (pw == NULL && n >= 0) {
        pw = getpwuid((uid_t) n);
    }

    if (pw == NULL) {
        if (n < 0) {
            snprintf(err, errlen, "--uid: unknown user \"%s\"", user);
            return -1;
        }

        /* a bare number: the operator names the group */
        p->uid = (uid_t) n;
        p->has_uid = 1;
        return 0;
    }

    if (strlen(pw->pw_name) >= sizeof(p->user)) {
        snprintf(err, errlen, "--uid \"%s\": user name too long", user);
        return -1;
    }

    p->uid = pw->pw_uid;
    p->has_uid = 1;
    strcpy(p->user, pw->pw_name);

    if (!p->has_gid) {
        p->gid = pw->pw_gid;
        p->has_gid = 1;
    }

    return 0;
}


int
vpnws_priv_parse(vpnws_priv_t *p, const char *user, const char *group,
    char *err, size_t errlen)
{
    long long      n;
    struct group  *gr;

    memset(p, 0, sizeof(vpnws_priv_t));

    if (group) {
        gr = getgrnam(group);
        n = vpnws_priv_number(group);

        if (gr) {
            p->gid = gr->gr_gid;

        } else if (n >= 0) {
            p->gid = (gid_t) n;

        } else {
            snprintf(err, errlen, "--gid: unknown group \"%s\"", group);
            return -1;
        }

        p->has_gid = 1;
    }

    if (user == NULL) {
        return 0;
    }

    if (vpnws_priv_user(p, user, err, errlen) != 0) {
        return -1;
    }

    if (!p->has_gid) {
        snprintf(err, errlen, "--uid %s has no passwd entry, so no group "
                 "of its own: give --gid as well", user);
        return -1;
    }

    return 0;
}


int
vpnws_priv_drop(const vpnws_priv_t *p, char *err, size_t errlen)
{
    if (!p->has_uid && !p->has_gid) {
        return 0;
    }

    /* root's supplementary groups never survive: USER's, or none */

    if (p->user[0]) {
        if (initgroups(p->user, p->gid) != 0) {
            snprintf(err, errlen, "initgroups(%s, %u) failed: %s", p->user,
                     (unsigned) p->gid, strerror(errno));
            return -1;
        }

    } else if (setgroups(0, NULL) != 0) {
        snprintf(err, errlen, "setgroups() failed: %s", strerror(errno));
        return -1;
    }

    if (setgid(p->gid) != 0) {
        snprintf(err, errlen, "setgid(%u) failed: %s", (unsigned) p->gid,
                 strerror(errno));
        return -1;
    }

    if (p->has_uid && setuid(p->uid) != 0) {
        snprintf(err, errlen, "setuid(%u) failed: %s", (unsigned) p->uid,
                 strerror(errno));
        return -1;
    }

    if (getgid() != p->gid || getegid() != p->gid
        || (p->has_uid && (getuid() != p->uid || geteuid() != p->uid)))
    {
        snprintf(err, errlen, "the ids did not change (uid %u gid %u)",
                 (unsigned) getuid(), (unsigned) getgid());
        return -1;
    }

    if (p->has_uid && p->uid != 0 && setuid(0) == 0) {
        snprintf(err, errlen, "root could be regained after setuid(%u)",
                 (unsigned) p->uid);
        return -1;
    }

    return 0;
}
