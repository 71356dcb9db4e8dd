/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws-wake: what one wakeup costs on this machine, the baseline of the
 * ping figures of `make bench`.  Two processes bounce a byte over a pair
 * of pipes, one round every 10 ms (as the bench's pings), the parent on
 * CPU A and the child on CPU B; prints the round trip's p50, p99 and
 * maximum in microseconds.  A vpnws ping is a chain of such wakeups (ping,
 * client, nginx, client and back), so it can not be faster than this.
 *
 *   vpnws-wake ROUNDS CPU_A CPU_B
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>


static int
vpnws_wake_pin(int cpu)
{
    cpu_set_t  set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);

    return sched_setaffinity(0, sizeof(set), &set);
}


static double
vpnws_wake_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
vpnws_wake_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int      n, i, a, b, up[2], down[2];
    char     c;
    pid_t    pid;
    double  *rtt, t;

    if (argc != 4 || (n = atoi(argv[1])) < 1 || n > 1000000) {
        fprintf(stderr, "usage: vpnws-wake ROUNDS CPU_A CPU_B\n");
        return 2;
    }

    a = atoi(argv[2]);
    b = atoi(argv[3]);

    rtt = malloc(n * sizeof(double));

    if (rtt == NULL || pipe(up) != 0 || pipe(down) != 0) {
        perror("vpnws-wake");
        return 1;
    }

    pid = fork();

    if (pid == -1) {
        perror("vpnws-wake: fork");
        return 1;
    }

    if (pid == 0) {
        close(up[1]);
        close(down[0]);

        if (vpnws_wake_pin(b) != 0) {
            perror("vpnws-wake: sched_setaffinity");
            return 1;
        }

        while (read(up[0], &c, 1) == 1) {
            if (write(down[1], &c, 1) != 1) {
                return 1;
            }
        }

        return 0;
    }

    close(up[0]);
    close(down[1]);

    if (vpnws_wake_pin(a) != 0) {
        perror("vpnws-wake: sched_setaffinity");
        return 1;
    }

    for (i = 0; i < n; i++) {
        usleep(10000);
        t = vpnws_wake_now();

        if (write(up[1], "x", 1) != 1 || read(down[0], &c, 1) != 1) {
            perror("vpnws-wake");
            return 1;
        }

        rtt[i] = vpnws_wake_now() - t;
    }

    close(up[1]);
    waitpid(pid, NULL, 0);

    qsort(rtt, n, sizeof(double), vpnws_wake_cmp);

    i = n * 99 / 100;
    printf("%.0f %.0f %.0f\n", rtt[n / 2], rtt[i < n ? i : n - 1],
           rtt[n - 1]);

    return 0;
}
