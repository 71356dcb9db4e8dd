/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: src/vpnws_tcp.c, the congestion control names, and
 * setting, reading back and probing them on real sockets of this kernel.
 */


#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "tap.h"
#include "vpnws_tcp.h"


typedef struct {
    const char  *name;
    size_t       len;
    int          valid;
} name_case_t;


#define N(s, v)  { s, sizeof(s) - 1, v }

static const name_case_t  name_cases[] = {
    N("reno", 1),
    N("cubic", 1),
    N("bbr", 1),
    N("dctcp", 1),
    N("a", 1),
    N("0", 1),
    N("x_y-1", 1),
    N("highspeed", 1),
    N("abcdefghijklmno", 1),            /* 15: the most the kernel keeps */

    N("", 0),
    N("abcdefghijklmnop", 0),           /* 16 */
    N("abcdefghijklmnopqrstuvwxyz", 0),
    N("cu bic", 0),
    N(" reno", 0),
    N("reno ", 0),
    N("reno\n", 0),
    N("Cubic", 0),
    N("RENO", 0),
    N("re.no", 0),
    N("re/no", 0),
    N("reno;", 0),
    N("\"reno\"", 0),
    N("re\tno", 0),
    N("re\xc3\xa9no", 0),
    N("re\0no", 0),                     /* a NUL inside */
};


static void
test_names(void)
{
    size_t       i;
    const char  *why;

    for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
        why = vpnws_tcp_congestion_check(name_cases[i].name,
                                         name_cases[i].len);

        ok((why == NULL) == name_cases[i].valid, "name %zu (%zu bytes) %s",
           i, name_cases[i].len, name_cases[i].valid ? "valid" : "refused");
    }

    is_str(vpnws_tcp_congestion_check("", 0), "empty",
           "empty: said so");
    is_str(vpnws_tcp_congestion_check("abcdefghijklmnop", 16),
           "longer than 15 characters", "16 bytes: said so");
    is_str(vpnws_tcp_congestion_check("cu bic", 6),
           "only a-z, 0-9, \"_\" and \"-\" may appear",
           "a space: said so");

    /* the length counts, not a NUL: a name cut short is checked as such */
    ok(vpnws_tcp_congestion_check("renox", 4) == NULL, "len 4 of \"renox\"");
}


/* a one-line file of /proc/sys, without its newline ("" if unreadable) */
static void
read_proc(const char *path, char *buf, size_t len)
{
    int      fd;
    ssize_t  n;

    fd = open(path, O_RDONLY);
    n = (fd == -1) ? -1 : read(fd, buf, len - 1);

    if (fd != -1) {
        close(fd);
    }

    n = n < 0 ? 0 : n;

    while (n > 0 && buf[n - 1] == '\n') {
        n--;
    }

    buf[n] = '\0';
}


static void
test_sockets(void)
{
    int   fd;
    char  name[VPNWS_TCP_CA_NAME_MAX], def[64];

    /* this namespace's default, as a new socket gets it */
    read_proc("/proc/sys/net/ipv4/tcp_congestion_control", def, sizeof(def));

    memset(name, 'x', sizeof(name));
    is_int(vpnws_tcp_congestion_default(name), 0, "the default is read");
    is_str(name, def, "the default: %s, as /proc/sys says", def);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    ok(fd != -1, "a TCP socket");

    memset(name, 'x', sizeof(name));
    is_int(vpnws_tcp_congestion_get(fd, name), 0, "get on a new socket");
    is_str(name, def, "a new socket has the default, %s", def);

    is_int(vpnws_tcp_congestion_set(fd, "reno"), 0, "set reno");
    memset(name, 'x', sizeof(name));
    is_int(vpnws_tcp_congestion_get(fd, name), 0, "get after set");
    is_str(name, "reno", "reads back reno, NUL-terminated");

    errno = 0;
    is_int(vpnws_tcp_congestion_set(fd, "nonexistent"), -1,
           "set nonexistent fails");
    is_int(errno, ENOENT, "with ENOENT");

    is_int(vpnws_tcp_congestion_get(fd, name), 0, "get after the failure");
    is_str(name, "reno", "the socket keeps reno");

    close(fd);

    errno = 0;
    is_int(vpnws_tcp_congestion_set(-1, "reno"), -1, "a bad fd fails");
    is_int(errno, EBADF, "with EBADF");
    is_int(vpnws_tcp_congestion_get(-1, name), -1, "get on a bad fd fails");

    is_int(vpnws_tcp_congestion_probe("reno"), 0, "probe reno: 0");
    is_int(vpnws_tcp_congestion_probe("nonexistent"), ENOENT,
           "probe nonexistent: ENOENT");
}


static void
test_errors(void)
{
    char  buf[VPNWS_TCP_CA_ERRLEN], avail[512], want[600];

    read_proc("/proc/sys/net/ipv4/tcp_available_congestion_control", avail,
              sizeof(avail));

    snprintf(want, sizeof(want), "not available on this kernel "
             "(available: %s)", avail);
    is_str(vpnws_tcp_congestion_error(ENOENT, "x", buf, sizeof(buf)), want,
           "ENOENT: the kernel's list (%s)", avail);
    ok(strstr(avail, "reno") != NULL, "reno is in it");

    is_str(vpnws_tcp_congestion_error(EPERM, "the worker's user", buf,
                                      sizeof(buf)),
           "not permitted for the worker's user (add it to "
           "net.ipv4.tcp_allowed_congestion_control)", "EPERM: the fix");

    is_str(vpnws_tcp_congestion_error(EBADF, "x", buf, sizeof(buf)),
           "setsockopt(TCP_CONGESTION): Bad file descriptor",
           "other errors: the errno's text");

    /* a short buffer is cut, never overrun */
    memset(buf, 'z', sizeof(buf));
    vpnws_tcp_congestion_error(ENOENT, "x", buf, 10);
    is_str(buf, "not avail", "cut at a 10-byte buffer");
    ok(buf[10] == 'z', "nothing written past it");
}


/* an algorithm of the kernel that unprivileged users may not take */
static int
restricted(char *name, size_t len)
{
    char  avail[512], allowed[512], padded[520], *p, *save;

    read_proc("/proc/sys/net/ipv4/tcp_available_congestion_control", avail,
              sizeof(avail));
    read_proc("/proc/sys/net/ipv4/tcp_allowed_congestion_control", allowed,
              sizeof(allowed));

    snprintf(padded, sizeof(padded), " %s ", allowed);

    for (p = strtok_r(avail, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        snprintf(name, len, " %s ", p);

        if (strstr(padded, name) == NULL) {
            snprintf(name, len, "%s", p);
            return 1;
        }
    }

    return 0;
}


/* the probe's answer for an unprivileged user (nobody), from a child */
static int
probe_as_nobody(const char *name)
{
    int    status;
    pid_t  pid;

    pid = fork();

    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0
            || setuid(65534) != 0)
        {
            _exit(255);
        }

        _exit(vpnws_tcp_congestion_probe(name));
    }

    if (pid == -1 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }

    return WEXITSTATUS(status);
}


static void
test_unprivileged(void)
{
    char  name[VPNWS_TCP_CA_NAME_MAX + 2];

    if (geteuid() != 0) {
        diag("not root: the unprivileged probes are not run");
        return;
    }

    is_int(probe_as_nobody("reno"), 0, "nobody: probe reno: 0 (always "
           "allowed)");

    if (!restricted(name, sizeof(name))) {
        diag("every available algorithm is allowed: no EPERM case here");
        return;
    }

    is_int(vpnws_tcp_congestion_probe(name), 0, "root: probe %s: 0", name);
    is_int(probe_as_nobody(name), EPERM, "nobody: probe %s: EPERM", name);
}


int
main(void)
{
    test_names();
    test_sockets();
    test_errors();
    test_unprivileged();

    return done_testing();
}
