/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: logging to stderr, one line an event, with a timestamp and a
 * level like nginx's error log.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpnwsd.h"


_Static_assert(VPNWSD_LOG_ERR == VPNWS_LOG_ERR
               && VPNWSD_LOG_WARN == VPNWS_LOG_WARN
               && VPNWSD_LOG_NOTICE == VPNWS_LOG_NOTICE
               && VPNWSD_LOG_INFO == VPNWS_LOG_INFO,
               "the daemon's levels are the core's");


static const char  *vpnwsd_levels[] = {
    "error", "warn", "notice", "info", "debug"
};


void
vpnwsd_log(int level, const char *fmt, ...)
{
    char        line[1024], ts[32];
    time_t      t;
    va_list     args;
    struct tm   tm;

    if (level > vpnwsd.verbosity) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    t = time(NULL);

    if (localtime_r(&t, &tm) == NULL
        || strftime(ts, sizeof(ts), "%Y/%m/%d %H:%M:%S", &tm) == 0)
    {
        ts[0] = '\0';
    }

    fprintf(stderr, "%s [%s] " VPNWSD_NAME ": %s\n", ts,
            vpnwsd_levels[level], line);
}


int64_t
vpnwsd_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
