/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpnws unit tests: a tiny TAP producer (Test Anything Protocol, as read
 * by prove).  One test program includes it once.
 */

#ifndef _VPNWS_UNIT_TAP_H_INCLUDED_
#define _VPNWS_UNIT_TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define TAP_UNUSED  __attribute__((unused))
#define TAP_FORMAT(f, a)  __attribute__((format(printf, f, a)))


static int  tap_planned = -1;
static int  tap_run;
static int  tap_failed;
static const char  *tap_todo;      /* non-NULL: failures are expected */


static TAP_UNUSED void
plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}


static TAP_UNUSED TAP_FORMAT(1, 2) void
diag(const char *fmt, ...)
{
    va_list  ap;

    fflush(stdout);
    fputs("# ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}


static TAP_UNUSED TAP_FORMAT(4, 0) int
tap_vok(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    tap_run++;

    printf("%s %d - ", pass ? "ok" : "not ok", tap_run);
    vprintf(fmt, ap);

    if (tap_todo) {
        printf(" # TODO %s", tap_todo);
    }

    printf("\n");
    fflush(stdout);

    if (!pass && !tap_todo) {
        tap_failed++;
        diag("  Failed test at %s line %d.", file, line);
    }

    return pass;
}


static TAP_UNUSED TAP_FORMAT(4, 5) int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    int      rc;
    va_list  ap;

    va_start(ap, fmt);
    rc = tap_vok(pass, file, line, fmt, ap);
    va_end(ap);

    return rc;
}


static TAP_UNUSED TAP_FORMAT(5, 6) int
tap_is_int(long long got, long long exp, const char *file, int line,
    const char *fmt, ...)
{
    int      rc;
    va_list  ap;

    va_start(ap, fmt);
    rc = tap_vok(got == exp, file, line, fmt, ap);
    va_end(ap);

    if (!rc) {
        diag("         got: %lld", got);
        diag("    expected: %lld", exp);
    }

    return rc;
}


static TAP_UNUSED TAP_FORMAT(5, 6) int
tap_is_str(const char *got, const char *exp, const char *file, int line,
    const char *fmt, ...)
{
    int      rc;
    va_list  ap;

    va_start(ap, fmt);
    rc = tap_vok(got != NULL && exp != NULL && strcmp(got, exp) == 0,
                 file, line, fmt, ap);
    va_end(ap);

    if (!rc) {
        diag("         got: '%s'", got ? got : "(null)");
        diag("    expected: '%s'", exp ? exp : "(null)");
    }

    return rc;
}


static TAP_UNUSED TAP_FORMAT(6, 7) int
tap_is_mem(const void *got, const void *exp, size_t n, const char *file,
    int line, const char *fmt, ...)
{
    int       rc;
    size_t    i;
    va_list   ap;

    va_start(ap, fmt);
    rc = tap_vok(memcmp(got, exp, n) == 0, file, line, fmt, ap);
    va_end(ap);

    if (!rc) {
        for (i = 0; i < n; i++) {
            if (((const unsigned char *) got)[i]
                != ((const unsigned char *) exp)[i])
            {
                diag("    first difference at byte %zu: got 0x%02x,"
                     " expected 0x%02x", i,
                     ((const unsigned char *) got)[i],
                     ((const unsigned char *) exp)[i]);
                break;
            }
        }
    }

    return rc;
}


/* nothing to test here (no root, no device): prove counts it skipped */
static TAP_UNUSED int
skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);

    return 0;
}


/* tests between todo_start() and todo_end() may fail: a known bug */
static TAP_UNUSED void
todo_start(const char *why)
{
    tap_todo = why;
}


static TAP_UNUSED void
todo_end(void)
{
    tap_todo = NULL;
}


/* the exit status of the test program */
static TAP_UNUSED int
done_testing(void)
{
    if (tap_planned < 0) {
        printf("1..%d\n", tap_run);

    } else if (tap_planned != tap_run) {
        diag("Looks like you planned %d tests but ran %d.", tap_planned,
             tap_run);
        fflush(stdout);
        return 255;
    }

    fflush(stdout);

    if (tap_failed) {
        diag("Looks like you failed %d test%s of %d.", tap_failed,
             tap_failed == 1 ? "" : "s", tap_run);
        return tap_failed < 254 ? tap_failed : 254;
    }

    return 0;
}


#define ok(cond, ...)                                                         \
    tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, exp, ...)                                                 \
    tap_is_int((long long) (got), (long long) (exp), __FILE__, __LINE__,      \
               __VA_ARGS__)

#define is_str(got, exp, ...)                                                 \
    tap_is_str((got), (exp), __FILE__, __LINE__, __VA_ARGS__)

#define is_mem(got, exp, n, ...)                                              \
    tap_is_mem((got), (exp), (n), __FILE__, __LINE__, __VA_ARGS__)


#endif /* _VPNWS_UNIT_TAP_H_INCLUDED_ */
