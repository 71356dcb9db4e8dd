/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client unit tests (TAP for prove): URLs, credentials and their
 * redaction, proxy selection, base64, HTTP response parsing, the order of
 * several servers, --congestion on the connections it opens.  Table-driven;
 * run by t/56-client-unit.t.
 */


#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "vpnws_client.h"


static int  vpnws_test_n;
static int  vpnws_test_failed;


static int
vpnws_ok(int pass, const char *what, const char *arg)
{
    char    name[256];
    size_t  i;

    vpnws_test_n++;

    /* a test name stays on its line */
    for (i = 0; arg[i] && i < sizeof(name) - 1; i++) {
        name[i] = (arg[i] < 0x20) ? '?' : arg[i];
    }

    name[i] = '\0';

    printf("%s %d - %s %s\n", pass ? "ok" : "not ok", vpnws_test_n, what,
           name);

    if (!pass) {
        vpnws_test_failed++;
    }

    return pass;
}


typedef struct {
    const char  *text;
    int          proxy;
    const char  *host;         /* NULL: must fail */
    const char  *port;
    const char  *authority;
    const char  *path;
    const char  *userinfo;     /* decoded "user:pass", or NULL */
    int          tls;
    int          literal;
} vpnws_url_case_t;


static const vpnws_url_case_t  vpnws_url_cases[] = {
    { "ws://h/", 0, "h", "80", "h", "/", NULL, 0, 0 },
    { "wss://h", 0, "h", "443", "h", "/", NULL, 1, 0 },
    { "wss://h:443/p?q=1#frag", 0, "h", "443", "h", "/p?q=1", NULL, 1, 0 },
    { "ws://h:8080", 0, "h", "8080", "h:8080", "/", NULL, 0, 0 },
    { "ws://h:08080/x", 0, "h", "8080", "h:8080", "/x", NULL, 0, 0 },
    { "ws://h?x=1", 0, "h", "80", "h", "/?x=1", NULL, 0, 0 },
    { "ws://h#f", 0, "h", "80", "h", "/", NULL, 0, 0 },
    { "ws://[::1]:9/v", 0, "::1", "9", "[::1]:9", "/v", NULL, 0, 1 },
    { "wss://[fd00::1]/", 0, "fd00::1", "443", "[fd00::1]", "/", NULL, 1, 1 },
    { "ws://1.2.3.4/vpn", 0, "1.2.3.4", "80", "1.2.3.4", "/vpn", NULL, 0,
      1 },
    { "ws://vpn.example.com:80/a/b", 0, "vpn.example.com", "80",
      "vpn.example.com", "/a/b", NULL, 0, 0 },
    { "ws://u:p%40x@h/", 0, "h", "80", "h", "/", "u:p@x", 0, 0 },
    { "ws://u:p%3a%3Ax@h/", 0, "h", "80", "h", "/", "u:p::x", 0, 0 },
    { "ws://u@h/", 0, "h", "80", "h", "/", "u:", 0, 0 },
    { "ws://a@b:c@h/", 0, "h", "80", "h", "/", "a@b:c", 0, 0 },
    { "ws://:@h/", 0, "h", "80", "h", "/", ":", 0, 0 },
    { "ws://u:%4@h/", 0, "h", "80", "h", "/", "u:%4", 0, 0 },
    { "ws://u:%zz%@h/", 0, "h", "80", "h", "/", "u:%zz%", 0, 0 },
    { "ws://u:100%25@h/", 0, "h", "80", "h", "/", "u:100%", 0, 0 },
    { "ws://u:p@[::1]:1/", 0, "::1", "1", "[::1]:1", "/", "u:p", 0, 1 },
    { "http://proxy:3128", 1, "proxy", "3128", "proxy:3128", "/", NULL, 0,
      0 },
    { "http://proxy/", 1, "proxy", "1080", "proxy:1080", "/", NULL, 0, 0 },
    { "proxy:8080", 1, "proxy", "8080", "proxy:8080", "/", NULL, 0, 0 },
    { "http://pu:pp@proxy:1", 1, "proxy", "1", "proxy:1", "/", "pu:pp", 0,
      0 },

    { "http://h/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "wss:/h/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws:///x", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://u:p@/x", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:0/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:65536/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:123456/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:12a/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h:-1/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://[::1/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://[zz]/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://[::1]x/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://::1/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h x/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h\r\nX: y/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h/a b", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h/a\r\nX: y", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h/a\x01", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://h/a\x7f", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://u:secret@h:0/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "ws://u:%00@h/", 0, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { "https://proxy/", 1, NULL, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, 0 }
};


static void
vpnws_test_urls(void)
{
    int                       rc, pass;
    char                      err[VPNWS_ERRLEN], basic[256];
    vpnws_url_t               u;
    const vpnws_url_case_t   *c;

    for (c = vpnws_url_cases; c->text; c++) {
        rc = vpnws_url_parse(c->text, &u, c->proxy, err, sizeof(err));

        if (c->host == NULL) {
            vpnws_ok(rc == -1 && err[0] != '\0'
                     && strstr(err, "secret") == NULL, "URL rejected",
                     c->text);
            continue;
        }

        if (!vpnws_ok(rc == 0, "URL parsed", c->text)) {
            printf("# %s\n", err);
            continue;
        }

        pass = strcmp(u.host, c->host) == 0
               && strcmp(u.port, c->port) == 0
               && strcmp(u.authority, c->authority) == 0
               && strcmp(u.path, c->path) == 0
               && u.tls == c->tls && u.literal == c->literal;

        if (c->userinfo) {
            vpnws_base64((const uint8_t *) c->userinfo, strlen(c->userinfo),
                         basic);
            pass = pass && u.basic && strcmp(u.basic, basic) == 0;

        } else {
            pass = pass && u.basic == NULL;
        }

        if (!vpnws_ok(pass, "URL parts", c->text)) {
            printf("# host \"%s\" port \"%s\" authority \"%s\" path \"%s\" "
                   "tls %d literal %d basic \"%s\"\n", u.host, u.port,
                   u.authority, u.path, u.tls, u.literal,
                   u.basic ? u.basic : "(null)");
        }

        vpnws_url_free(&u);
    }
}


/* every message about a bad URL shows its credentials as "***" */
static void
vpnws_test_redaction(void)
{
    int     rc;
    char    err[VPNWS_ERRLEN], text[128];
    size_t  i;

    static const struct {
        const char  *url;
        int          proxy;
    } cases[] = {
        { "ftp://u:secret@h/", 0 },
        { "ws//u:secret@h/", 0 },
        { "wss:/u:secret@h/", 0 },
        { "u:secret@h", 0 },
        { "ws://u:secret@[::zz]/", 0 },
        { "ws://u:secret@[::1/", 0 },
        { "ws://u:secret@/", 0 },
        { "ws://u:secret@h x/", 0 },
        { "ws://u:secret@h:0/", 0 },
        { "ws://u:secret@h:1x/", 0 },
        { "ws://u:secret@h/a b", 0 },
        { "ws://u:se/cret@h/", 0 },
        { "ws://u:se#cret@h/", 0 },
        { "ws://u:s%00ecret@h/", 0 },
        { "ws://secret@h:99999/", 0 },
        { "https://u:secret@proxy/", 1 },
        { "http://u:secret@proxy:0/", 1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpnws_url_t  u;

        err[0] = '\0';
        rc = vpnws_url_parse(cases[i].url, &u, cases[i].proxy, err,
                             sizeof(err));

        if (!vpnws_ok(rc == -1 && strstr(err, "ecret") == NULL
                      && strstr(err, "***") != NULL,
                      "credentials redacted in", cases[i].url))
        {
            printf("# %s\n", err);
        }
    }

    /* the URL in argv, as ps shows it */
    snprintf(text, sizeof(text), "wss://alice:p%%40ss@h/vpn");
    vpnws_url_hide(text);
    vpnws_ok(strcmp(text, "wss://alice:******@h/vpn") == 0, "hidden in argv",
             text);

    snprintf(text, sizeof(text), "wss://alice@h/vpn@x");
    vpnws_url_hide(text);
    vpnws_ok(strcmp(text, "wss://alice@h/vpn@x") == 0, "nothing to hide in",
             text);

    vpnws_url_redact("ws://h/p", text, sizeof(text));
    vpnws_ok(strcmp(text, "ws://h/p") == 0, "no credentials shown as",
             text);
}


static int
vpnws_test_basic(vpnws_url_t *u, const char *cred)
{
    char  basic[256];

    vpnws_base64((const uint8_t *) cred, strlen(cred), basic);

    return u->basic && strcmp(u->basic, basic) == 0;
}


static const char *
vpnws_test_file(const char *content, mode_t mode)
{
    FILE               *f;
    static const char   path[] = "/tmp/vpnws-client-unit.auth";

    unlink(path);
    f = fopen(path, "w");

    if (f == NULL) {
        return NULL;
    }

    fputs(content, f);
    fclose(f);
    chmod(path, mode);

    return path;
}


/* --auth-file and $VPNWS_AUTH */
static void
vpnws_test_auth(void)
{
    int           rc;
    char          err[VPNWS_ERRLEN];
    size_t        i;
    const char   *file;
    vpnws_url_t   u;

    static const struct {
        const char  *url;
        const char  *content;
        mode_t       mode;
        const char  *cred;          /* NULL: refused, "": none */
        const char  *why;           /* in the error */
    } cases[] = {
        { "ws://h/", "bob:pw\n", 0600, "bob:pw", NULL },
        { "ws://h/", "bob:p:w\r\n", 0400, "bob:p:w", NULL },
        { "ws://h/", "bob:pw", 0600, "bob:pw", NULL },
        { "ws://alice@h/", "p:w@x\n", 0600, "alice:p:w@x", NULL },
        { "ws://a%40b@h/", "pw\n", 0600, "a@b:pw", NULL },
        { "ws://h/", "pw\n", 0600, NULL, "user:password" },
        { "ws://h/", "bob:pw\n", 0644, NULL, "chmod 600" },
        { "ws://h/", "bob:pw\n", 0640, NULL, "chmod 600" },
        { "ws://h/", "bob:pw\n", 0602, NULL, "chmod 600" },
        { "ws://h/", "", 0600, "", NULL },
        { "ws://h/", "\n", 0600, "", NULL },
        { "ws://alice@h/", "\r\n", 0600, "alice:", NULL },
        { "ws://h/", "bob:pw\nmore\n", 0600, NULL, "one line" },
        { "ws://u:pw@h/", "bob:pw\n", 0600, NULL, "one of them" },
    };

    unsetenv(VPNWS_AUTH_ENV);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        file = vpnws_test_file(cases[i].content, cases[i].mode);

        if (file == NULL || vpnws_url_parse(cases[i].url, &u, 0, err,
                                            sizeof(err)) != 0)
        {
            vpnws_ok(0, "auth-file setup", cases[i].url);
            continue;
        }

        err[0] = '\0';
        rc = vpnws_auth_load(&u, file, err, sizeof(err));

        if (cases[i].cred && cases[i].cred[0] == '\0') {
            vpnws_ok(rc == 0 && u.basic == NULL, "--auth-file empty:",
                     "no credentials");

        } else if (cases[i].cred) {
            vpnws_ok(rc == 0 && vpnws_test_basic(&u, cases[i].cred),
                     "--auth-file gives", cases[i].cred);

        } else if (!vpnws_ok(rc == -1 && strstr(err, cases[i].why)
                             && strstr(err, "pw") == NULL,
                             "--auth-file refused:", cases[i].why))
        {
            printf("# %s\n", err);
        }

        vpnws_url_free(&u);
    }

    err[0] = '\0';
    vpnws_url_parse("ws://h/", &u, 0, err, sizeof(err));
    rc = vpnws_auth_load(&u, "/tmp/vpnws-client-unit.none", err, sizeof(err));
    vpnws_ok(rc == -1 && strstr(err, "No such file"), "--auth-file",
             "missing");
    rc = vpnws_auth_load(&u, "/tmp", err, sizeof(err));
    vpnws_ok(rc == -1 && strstr(err, "not a regular file"), "--auth-file",
             "a directory");
    vpnws_url_free(&u);

    unlink("/tmp/vpnws-client-unit.auth");

    /* the environment: used without a password elsewhere, then cleared */
    setenv(VPNWS_AUTH_ENV, "carol:x", 1);
    vpnws_url_parse("ws://h/", &u, 0, err, sizeof(err));
    rc = vpnws_auth_load(&u, NULL, err, sizeof(err));
    vpnws_ok(rc == 0 && vpnws_test_basic(&u, "carol:x"), "$VPNWS_AUTH",
             "gives carol:x");
    vpnws_ok(getenv(VPNWS_AUTH_ENV) == NULL, "$VPNWS_AUTH", "cleared");
    vpnws_url_free(&u);

    setenv(VPNWS_AUTH_ENV, "x", 1);
    vpnws_url_parse("ws://dave@h/", &u, 0, err, sizeof(err));
    rc = vpnws_auth_load(&u, NULL, err, sizeof(err));
    vpnws_ok(rc == 0 && vpnws_test_basic(&u, "dave:x"), "$VPNWS_AUTH",
             "the password of the URL's user");
    vpnws_url_free(&u);

    setenv(VPNWS_AUTH_ENV, "carol:x", 1);
    vpnws_url_parse("ws://u:url@h/", &u, 0, err, sizeof(err));
    rc = vpnws_auth_load(&u, NULL, err, sizeof(err));
    vpnws_ok(rc == 0 && vpnws_test_basic(&u, "u:url")
             && getenv(VPNWS_AUTH_ENV) == NULL, "$VPNWS_AUTH",
             "ignored for a password in the URL");
    vpnws_url_free(&u);
}


static void
vpnws_test_no_proxy(void)
{
    size_t         i;
    char           err[VPNWS_ERRLEN];
    vpnws_conf_t   conf;

    static const struct {
        const char  *url;
        const char  *no_proxy;
        int          proxied;
    } cases[] = {
        { "ws://h.example.com/", NULL, 1 },
        { "ws://h.example.com/", "", 1 },
        { "ws://h.example.com/", "*", 0 },
        { "ws://h.example.com/", "example.com", 0 },
        { "ws://h.example.com/", ".example.com", 0 },
        { "ws://example.com/", ".example.com", 0 },
        { "ws://h.example.com/", "other.org, example.com:80", 0 },
        { "ws://h.example.com/", "ample.com", 1 },
        { "ws://H.EXAMPLE.COM/", "example.com", 0 },
        { "ws://10.0.0.1/", "10.0.0.1", 0 },
        { "ws://10.0.0.11/", "0.0.0.1", 1 },
        { "ws://[::1]/", "::1", 0 },
        { "ws://[::1]/", "[::1]:80", 0 },
        { "wss://h.example.com/", NULL, 0 },    /* only $http_proxy set */
    };

    setenv("http_proxy", "http://proxy:3128", 1);
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&conf, 0, sizeof(vpnws_conf_t));

        if (cases[i].no_proxy) {
            setenv("no_proxy", cases[i].no_proxy, 1);

        } else {
            unsetenv("no_proxy");
        }

        unsetenv("NO_PROXY");

        if (vpnws_url_parse(cases[i].url, &conf.url, 0, err, sizeof(err))
            != 0
            || vpnws_proxy_from_env(&conf, err, sizeof(err)) != 0)
        {
            vpnws_ok(0, "proxy selection", cases[i].url);
            continue;
        }

        vpnws_ok(conf.use_proxy == (unsigned) cases[i].proxied,
                 cases[i].proxied ? "proxied:" : "direct:", cases[i].url);

        free(conf.url.path);
        free(conf.proxy.path);
    }

    unsetenv("http_proxy");
    unsetenv("no_proxy");
}


static void
vpnws_test_base64(void)
{
    size_t  i;
    char    out[32];

    static const char  *cases[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpnws_base64((const uint8_t *) cases[i][0], strlen(cases[i][0]), out);
        vpnws_ok(strcmp(out, cases[i][1]) == 0, "base64", cases[i][1]);
    }
}


static void
vpnws_test_http(void)
{
    size_t        i, len;
    char          line[256];
    const char   *v, *h;

    static const struct {
        const char  *text;
        int          status;
    } lines[] = {
        { "HTTP/1.1 101 Switching Protocols\r\n\r\n", 101 },
        { "HTTP/1.0 404 Not Found\r\n\r\n", 404 },
        { "HTTP/1.1 426 \r\n\r\n", 426 },
        { "HTTP/1.1 599 x\r\n\r\n", 599 },
        { "HTTP/2 200\r\n\r\n", -1 },
        { "HTTP/1.1 99 x\r\n\r\n", -1 },
        { "HTTP/1.1 1a1 x\r\n\r\n", -1 },
        { "HTTP/1.1 600 x\r\n\r\n", -1 },
        { "SSH-2.0-OpenSSH_9\r\n\r\n", -1 },
        { "\r\n\r\n", -1 },
    };

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        vpnws_ok(vpnws_http_status((const uint8_t *) lines[i].text,
                                   strlen(lines[i].text), line, sizeof(line))
                 == lines[i].status, "status line", line);
    }

    h = "HTTP/1.1 101 Upgrade: no\r\n"
        "X-Upgrade: wrong\r\n"
        "upgrade:   WebSocket  \r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "Empty:\r\n"
        "\r\n";

    v = vpnws_http_header((const uint8_t *) h, strlen(h), "Upgrade", &len);
    vpnws_ok(v && len == 9 && strncmp(v, "WebSocket", 9) == 0,
             "header", "Upgrade (case, spaces, not X-Upgrade, not status)");

    v = vpnws_http_header((const uint8_t *) h, strlen(h),
                          "Sec-WebSocket-Accept", &len);
    vpnws_ok(v && len == 28, "header", "Sec-WebSocket-Accept");

    v = vpnws_http_header((const uint8_t *) h, strlen(h), "Empty", &len);
    vpnws_ok(v && len == 0, "header", "empty value");

    v = vpnws_http_header((const uint8_t *) h, strlen(h), "Missing", &len);
    vpnws_ok(v == NULL, "header", "missing");

    v = vpnws_http_header((const uint8_t *) h, 30, "upgrade", &len);
    vpnws_ok(v == NULL, "header", "beyond the header length");
}


static void
vpnws_test_servers_order(void)
{
    int              pass;
    char             name[64];
    unsigned         i, step;
    vpnws_servers_t  s;

    static const struct {
        unsigned  n;
        unsigned  current;      /* after the i-th failure */
        unsigned  step;
    } seq[] = {
        /* one server: the backoff steps are the attempts, as always */
        { 1, 0, 1 }, { 1, 0, 2 }, { 1, 0, 3 },
        /* three: one round at step 1, then step 2, ... */
        { 3, 1, 1 }, { 3, 2, 1 }, { 3, 0, 1 }, { 3, 1, 2 }, { 3, 2, 2 },
        { 3, 0, 2 }, { 3, 1, 3 },
    };

    for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {

        if (i == 0 || seq[i].n != seq[i - 1].n) {
            vpnws_servers_start(&s, seq[i].n, 0);
            vpnws_ok(s.current == 0, "servers: in order, the first first", "");
        }

        step = vpnws_servers_failed(&s, 0);
        pass = s.current == seq[i].current && step == seq[i].step;

        snprintf(name, sizeof(name), "of %u, failure %u", seq[i].n, i);

        if (!vpnws_ok(pass, "servers: in order,", name)) {
            printf("# current %u step %u\n", s.current, step);
        }
    }

    /* a session that lasted: the next server at once, no backoff history */
    vpnws_servers_start(&s, 3, 0);
    (void) vpnws_servers_failed(&s, 0);
    (void) vpnws_servers_failed(&s, 0);
    (void) vpnws_servers_failed(&s, 0);
    step = vpnws_servers_failed(&s, 1);
    vpnws_ok(step == 1 && s.current == 1, "servers: a stable session resets",
             "the backoff and moves on");
}


static void
vpnws_test_servers_random(void)
{
    int              pass;
    unsigned         i, round, k, last, step, seen, starts;
    vpnws_servers_t  s;

    pass = 1;
    starts = 0;

    for (round = 0; round < 64; round++) {
        vpnws_servers_start(&s, 5, 1);
        starts |= 1u << s.current;
    }

    vpnws_ok(starts == 0x1f, "servers: random, any first server", "");

    vpnws_servers_start(&s, 5, 1);

    for (round = 0; round < 40 && pass; round++) {
        /* the round's first server is the current one: five in a row */
        seen = 1u << s.current;
        last = s.current;

        for (k = 1; k < 5; k++) {
            step = vpnws_servers_failed(&s, 0);

            if ((seen & (1u << s.current)) || step != round + 1) {
                pass = 0;
                printf("# round %u: server %u again, step %u\n", round,
                       s.current, step);
                break;
            }

            seen |= 1u << s.current;
            last = s.current;
        }

        if (!pass) {
            break;
        }

        step = vpnws_servers_failed(&s, 0);

        if (seen != 0x1f || s.current == last || step != round + 1) {
            pass = 0;
            printf("# round %u: seen %x, next %u after %u, step %u\n",
                   round, seen, s.current, last, step);
        }
    }

    vpnws_ok(pass, "servers: random, each once a round,",
             "never the one that just failed first");

    for (i = 0, pass = 1; i < 20; i++) {
        vpnws_servers_start(&s, 2, 1);
        last = s.current;
        (void) vpnws_servers_failed(&s, 1);
        pass = pass && s.current != last;
    }

    vpnws_ok(pass, "servers: random, a lost session moves on", "");

    vpnws_servers_start(&s, 1, 1);
    step = vpnws_servers_failed(&s, 0);
    step = vpnws_servers_failed(&s, 0);
    vpnws_ok(s.current == 0 && step == 2, "servers: random of one", "");
}


/* a listener on 127.0.0.1 and its port, or -1 */
static int
vpnws_test_listener(char *port, size_t len)
{
    int                 fd;
    socklen_t           alen;
    struct sockaddr_in  sin;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sin, 0, sizeof(struct sockaddr_in));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    alen = sizeof(struct sockaddr_in);

    if (fd == -1 || bind(fd, (struct sockaddr *) &sin, alen) != 0
        || listen(fd, 8) != 0
        || getsockname(fd, (struct sockaddr *) &sin, &alen) != 0)
    {
        if (fd != -1) {
            close(fd);
        }

        return -1;
    }

    snprintf(port, len, "%u", (unsigned) ntohs(sin.sin_port));

    return fd;
}


static int
vpnws_test_connect(const char *congestion, const char *port, char *err,
    size_t errlen, char *used)
{
    int           rc;
    vpnws_conn_t  c;

    memset(&c, 0, sizeof(vpnws_conn_t));
    c.fd = -1;
    c.congestion = congestion;
    used[0] = '\0';

    rc = vpnws_conn_connect(&c, "127.0.0.1", port, vpnws_now_ms() + 3000,
                            err, errlen);

    if (rc == VPNWS_OK && vpnws_tcp_congestion_get(c.fd, used) != 0) {
        rc = -100;
    }

    if (rc != VPNWS_OK && c.fd != -1) {
        rc = -101;      /* a failed attempt must not keep its socket */
    }

    vpnws_conn_close(&c);

    return rc;
}


/* an algorithm root may take and other users may not, or "" */
static void
vpnws_test_restricted(char *name, size_t len)
{
    FILE  *f;
    char   avail[512], allowed[520], word[64], *p, *save;

    name[0] = '\0';
    avail[0] = '\0';
    strcpy(allowed, " ");

    f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
    if (f) {
        if (fgets(avail, sizeof(avail), f) == NULL) {
            avail[0] = '\0';
        }
        fclose(f);
    }

    f = fopen("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "r");
    if (f) {
        if (fgets(allowed + 1, sizeof(allowed) - 2, f) == NULL) {
            allowed[1] = '\0';
        }
        fclose(f);
    }

    allowed[strcspn(allowed, "\n")] = '\0';
    strcat(allowed, " ");

    for (p = strtok_r(avail, " \n", &save); p;
         p = strtok_r(NULL, " \n", &save))
    {
        snprintf(word, sizeof(word), " %s ", p);

        if (strstr(allowed, word) == NULL) {
            snprintf(name, len, "%s", p);
            return;
        }
    }
}


/* every connection attempt sets --congestion; a failure is a retry */
static void
vpnws_test_congestion(void)
{
    int    l, rc, status;
    char   port[8], err[VPNWS_ERRLEN], used[VPNWS_TCP_CA_NAME_MAX];
    char   limited[VPNWS_TCP_CA_NAME_MAX];
    pid_t  pid;

    static const char  unknown[] = "--congestion nonexistent: not "
                                   "available on this kernel (available: ";

    l = vpnws_test_listener(port, sizeof(port));

    if (!vpnws_ok(l != -1, "congestion: a listener on 127.0.0.1", port)) {
        return;
    }

    rc = vpnws_test_connect("reno", port, err, sizeof(err), used);
    vpnws_ok(rc == VPNWS_OK && strcmp(used, "reno") == 0,
             "congestion: reno on the connection, read back:", used);

    rc = vpnws_test_connect(NULL, port, err, sizeof(err), used);
    vpnws_ok(rc == VPNWS_OK && used[0],
             "congestion: none asked, the system's:", used);

    rc = vpnws_test_connect("nonexistent", port, err, sizeof(err), used);
    vpnws_ok(rc == VPNWS_RETRY
             && strncmp(err, unknown, sizeof(unknown) - 1) == 0,
             "congestion: unknown, a retry with the reason:", err);

    vpnws_test_restricted(limited, sizeof(limited));

    if (geteuid() != 0 || limited[0] == '\0') {
        printf("# not root, or every algorithm is allowed: no EPERM case\n");
        close(l);
        return;
    }

    /* what a reconnect after --uid meets */
    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0
            || setuid(65534) != 0)
        {
            _exit(2);
        }

        rc = vpnws_test_connect(limited, port, err, sizeof(err), used);
        printf("# as nobody: %s\n", err);
        fflush(stdout);

        _exit(rc == VPNWS_RETRY && strstr(err, "not permitted for this user "
                                          "(add it to net.ipv4.tcp_allowed_"
                                          "congestion_control)") ? 0 : 1);
    }

    status = -1;
    (void) waitpid(pid, &status, 0);

    vpnws_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "congestion: not permitted after --uid, a retry with the fix:",
             limited);

    close(l);
}


int
main(void)
{
    vpnws_test_urls();
    vpnws_test_redaction();
    vpnws_test_auth();
    vpnws_test_no_proxy();
    vpnws_test_base64();
    vpnws_test_http();
    vpnws_test_servers_order();
    vpnws_test_servers_random();
    vpnws_test_congestion();

    printf("1..%d\n", vpnws_test_n);

    return vpnws_test_failed ? 1 : 0;
}
