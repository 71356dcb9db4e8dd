/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: logging to stderr.  State changes are logged once: the
 * same line twice in a row (a retry failing the same way) is said only
 * with -v.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpnws_client.h"


int  vpnws_verbosity = VPNWS_LOG_INFO;

static char  vpnws_last_state[VPNWS_ERRLEN];


static void
vpnws_log_write(const char *line)
{
    fprintf(stderr, VPNWS_CLIENT_NAME ": %s\n", line);
}


void
vpnws_log(int level, const char *fmt, ...)
{
    char     line[VPNWS_ERRLEN + 128];
    va_list  args;

    if (level > vpnws_verbosity) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    vpnws_log_write(line);
}


void
vpnws_log_state(int level, const char *fmt, ...)
{
    char     line[VPNWS_ERRLEN];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    if (strcmp(line, vpnws_last_state) == 0) {
        level = VPNWS_LOG_DEBUG;
    }

    memcpy(vpnws_last_state, line, sizeof(line));

    if (level <= vpnws_verbosity) {
        vpnws_log_write(line);
    }
}


int64_t
vpnws_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
