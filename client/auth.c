/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: credentials out of argv.  --auth-file FILE or $VPNWS_AUTH
 * hold "user:password", or the password alone when the URL names the user
 * (wss://alice@host/vpn).  The file must be private, as ssh wants of keys;
 * an empty one gives no credentials.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vpnws_client.h"


int
vpnws_auth_set(vpnws_url_t *u, const char *text, size_t len,
    const char *from, char *err, size_t errlen)
{
    char    *cred, *basic;
    size_t   ulen, n;

    if (len == 0) {
        snprintf(err, errlen, "%s is empty", from);
        return -1;
    }

    if (memchr(text, '\0', len) || memchr(text, '\n', len)
        || memchr(text, '\r', len))
    {
        snprintf(err, errlen, "%s: one line expected, without NUL bytes",
                 from);
        return -1;
    }

    ulen = u->user ? strlen(u->user) + 1 : 0;

    if (ulen == 0 && memchr(text, ':', len) == NULL) {
        snprintf(err, errlen, "%s: \"user:password\" expected, or the "
                 "password alone with the user in the URL (ws://user@host/)",
                 from);
        return -1;
    }

    n = ulen + len;
    cred = malloc(n + 1);
    basic = malloc(4 * ((n + 2) / 3) + 1);

    if (cred == NULL || basic == NULL) {
        free(cred);
        free(basic);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (ulen) {
        memcpy(cred, u->user, ulen - 1);
        cred[ulen - 1] = ':';
    }

    memcpy(cred + ulen, text, len);

    vpnws_base64((uint8_t *) cred, n, basic);

    explicit_bzero(cred, n);
    free(cred);

    if (u->basic) {
        explicit_bzero(u->basic, strlen(u->basic));
        free(u->basic);
    }

    u->basic = basic;
    u->password = 1;

    return 0;
}


/* the file's content, if only its owner (or root) can read it */
static ssize_t
vpnws_auth_read(const char *file, char *buf, size_t size, char *err,
    size_t errlen)
{
    int          fd;
    ssize_t      n, len;
    struct stat  st;

    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd == -1) {
        snprintf(err, errlen, "--auth-file \"%s\": %s", file,
                 strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--auth-file \"%s\": not a regular file", file);
        goto failed;
    }

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "--auth-file \"%s\": mode %04o lets other "
                 "users read it; refusing it (chmod 600 it)", file,
                 (unsigned) (st.st_mode & 07777));
        goto failed;
    }

    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "--auth-file \"%s\": owned by uid %u, neither "
                 "root nor this user; refusing it", file,
                 (unsigned) st.st_uid);
        goto failed;
    }

    len = 0;

    while ((size_t) len < size
           && (n = read(fd, buf + len, size - len)) != 0)
    {
        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            snprintf(err, errlen, "--auth-file \"%s\": %s", file,
                     strerror(errno));
            goto failed;
        }

        len += n;
    }

    close(fd);

    if ((size_t) len == size) {
        snprintf(err, errlen, "--auth-file \"%s\": longer than %zu bytes",
                 file, size - 1);
        return -1;
    }

    /* one line; its end is not part of the password */
    if (len && buf[len - 1] == '\n') {
        len--;
    }

    if (len && buf[len - 1] == '\r') {
        len--;
    }

    return len;

failed:

    close(fd);

    return -1;
}


int
vpnws_auth_load(vpnws_url_t *u, const char *file, char *err, size_t errlen)
{
    int      rc;
    char    *env, buf[VPNWS_AUTH_MAX + 1], from[VPNWS_ERRLEN / 2];
    ssize_t  len;

    rc = 0;
    env = getenv(VPNWS_AUTH_ENV);

    if (file) {

        if (u->password) {
            snprintf(err, errlen, "a password in the URL and --auth-file: "
                     "give one of them");
            return -1;
        }

        len = vpnws_auth_read(file, buf, sizeof(buf), err, errlen);

        if (len == -1) {
            return -1;
        }

        snprintf(from, sizeof(from), "--auth-file \"%s\"", file);

        /* empty: no credentials (a unit's default credential) */
        rc = len ? vpnws_auth_set(u, buf, len, from, err, errlen) : 0;

        explicit_bzero(buf, sizeof(buf));

    } else if (env && *env && !u->password) {
        rc = vpnws_auth_set(u, env, strlen(env), "$" VPNWS_AUTH_ENV, err,
                            errlen);
    }

    if (env) {
        /* neither in /proc/PID/environ nor in the --exec command's */
        explicit_bzero(env, strlen(env));
        unsetenv(VPNWS_AUTH_ENV);
    }

    return rc;
}
