/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws: the exec hook.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                         /* close_range() */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vpnws_hook.h"


/*
 * glibc's signal() refuses the signals it reserves (32 up to SIGRTMIN), and
 * a parent may have left them ignored (GNU make's children have): reset
 * them with the system call.  An all-zero kernel sigaction is SIG_DFL with
 * no flags and an empty mask whatever the architecture's layout; the
 * kernel's sigset is 8 bytes, or 16 where it has 128 signals.
 */
static void
vpnws_hook_reserved_signals(void)
{
    int            s;
    unsigned long  act[8];

    memset(act, 0, sizeof(act));

    for (s = 32; s < SIGRTMIN; s++) {
        if (syscall(SYS_rt_sigaction, s, act, NULL, 8) == -1) {
            (void) syscall(SYS_rt_sigaction, s, act, NULL, 16);
        }
    }
}


/* in the child: nothing of the host's survives but the environment */
static void
vpnws_hook_child(const char *cmd, const char *tap, const char *sw)
{
    int       s, fd;
    sigset_t  set;

    for (s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            (void) signal(s, SIG_DFL);
        }
    }

    vpnws_hook_reserved_signals();

    sigemptyset(&set);
    (void) sigprocmask(SIG_SETMASK, &set, NULL);

    if ((tap && setenv("VPNWS_TAP", tap, 1) != 0)
        || (sw && setenv("VPNWS_SWITCH", sw, 1) != 0))
    {
        _exit(126);
    }

    /* nothing to read; sockets, taps and logs stay with the host */
    fd = open("/dev/null", O_RDONLY);

    if (fd > 0) {
        (void) dup2(fd, STDIN_FILENO);
    }

    if (close_range(3, ~0U, 0) == -1) {
        for (fd = 3; fd < 65536; fd++) {
            (void) close(fd);
        }
    }

    execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
    _exit(127);
}


int
vpnws_hook_run(const char *cmd, const char *tap, const char *sw, char *err,
    size_t errlen)
{
    int    status;
    pid_t  pid;

    fflush(NULL);

    pid = fork();

    if (pid == -1) {
        snprintf(err, errlen, "fork() failed: %s", strerror(errno));
        return -1;
    }

    if (pid == 0) {
        vpnws_hook_child(cmd, tap, sw);
    }

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            snprintf(err, errlen, "waitpid() failed: %s", strerror(errno));
            return -1;
        }
    }

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }

    if (WIFEXITED(status)) {
        snprintf(err, errlen, "\"%s\" exited with status %d%s", cmd,
                 WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? " (not found, or no /bin/sh)"
                                            : "");

    } else {
        snprintf(err, errlen, "\"%s\" was killed by signal %d", cmd,
                 WTERMSIG(status));
    }

    return -1;
}
