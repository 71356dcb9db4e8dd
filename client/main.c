/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws-client: command line, tap setup, and the reconnect loop.
 *
 *   vpn-ws-client [options] <tap> <ws[s]://[user[:pass]@]host[:port]/path>...
 */


#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "vpnws_client.h"
#include "vpnws_hook.h"


static const char  vpnws_usage[] =
"usage: " VPNWS_CLIENT_NAME " [options] <tap> "
"<ws[s]://[user[:pass]@]host[:port]/path>...\n"
"\n"
"Connect the tap device <tap> (created, or attached if it exists) to a vpnws\n"
"switch over a websocket; reconnect forever, keeping the tap up.  With\n"
"several URLs (up to 16: the hosts of one segment), each failure moves on to\n"
"the next, so losing a host costs one reconnect.\n"
"\n"
"options (default in parentheses):\n"
"  --auth-file FILE    Basic auth \"user:password\" from FILE, mode 0600; the\n"
"                      password alone if the URL has \"user@\" ($VPNWS_AUTH)\n"
"  --exec CMD          sh -c CMD once the tap is up (none): $VPNWS_TAP is\n"
"                      the tap, $VPNWS_SWITCH the first URL (no password)\n"
"  --key FILE          client certificate key, PEM (the --crt file)\n"
"  --crt FILE          client certificate chain, PEM (none)\n"
"  --ca FILE           CA certificates that verify the server (system store)\n"
"  --no-verify         skip server certificate checks: INSECURE (verify)\n"
"  --bridge            bridge mode: X-vpn-ws-bridge: on, any source MAC (off)\n"
"  --mac MAC           set the tap MAC, like 02:aa:bb:cc:dd:ee (kernel's)\n"
"  --mtu N             set the tap MTU, 68..65518 (kernel's, 1500)\n"
"  --no-offload        plain frames: no IFF_VNET_HDR, no 64 KiB super-frames\n"
"                      on the tap or the wire (offload when the server agrees)\n"
"  --uid USER          run as USER (name or number) once the tap exists,\n"
"                      with USER's groups only (no change)\n"
"  --gid GROUP         run as GROUP (USER's primary group; needed for a\n"
"                      number with no passwd entry)\n"
"  --proxy URL         HTTP proxy http://[u:p@]host[:port], none ($*_proxy)\n"
"  --congestion ALG    TCP congestion control of the websocket's own\n"
"                      connection: cubic, reno, bbr, ... (the system's)\n"
"  --ping-interval S   PING after S idle seconds, 0: never (17)\n"
"  --timeout S         reconnect after S s of silence, 0: never (60)\n"
"  --random            try the URLs in random order (the order given)\n"
"  -v, --verbose       every attempt, backoff delays, TLS, counters (off)\n"
"  -q, --quiet         errors only (off)\n"
"  -V, --version       print the version and exit\n"
"  -h, --help          print this help and exit\n"
"\n"
"Without --proxy, $https_proxy (wss://) or $http_proxy (ws://) is used\n"
"unless $no_proxy names the host.  A password in the URL is visible to\n"
"local users (ps); --auth-file or $VPNWS_AUTH keep it out of argv.\n"
"Messages show credentials as \"***\".  Connecting and the handshakes may take\n"
"15 s, or --timeout if smaller.  --exec runs before --uid/--gid apply.\n"
"--congestion is checked at start and again after --uid/--gid: a user other\n"
"than root may take only net.ipv4.tcp_allowed_congestion_control.\n"
"\n"
"Failures that a retry can fix (DNS, refused or lost connections, HTTP\n"
"401/403/407/429/5xx, timeouts) are logged once and retried with\n"
"exponential backoff from 1 s to 30 s with jitter; with several URLs the\n"
"backoff grows once per round over all of them.  A TLS verification failure\n"
"or another HTTP refusal (404, 426, ...) is fatal on the first connection\n"
"only (from every URL, when there are several); once connected, everything\n"
"is retried.\n"
"\n"
"exit codes:\n"
"  0  stopped by SIGINT, SIGTERM or SIGHUP\n"
"  1  internal error (memory, epoll)\n"
"  2  bad option, argument or URL; --congestion not available or not\n"
"     permitted\n"
"  3  tap device: no /dev/net/tun permission, bad name, MAC, MTU\n"
"  4  --ca, --crt or --key unreadable or mismatched\n"
"  5  --exec failed, or --uid/--gid could not be applied\n"
"  6  server certificate rejected (first connection)\n"
"  7  server refused the websocket: 404, 426, ... (first connection)\n";


enum {
    VPNWS_OPT_EXEC = 256,
    VPNWS_OPT_KEY,
    VPNWS_OPT_CRT,
    VPNWS_OPT_CA,
    VPNWS_OPT_NO_VERIFY,
    VPNWS_OPT_BRIDGE,
    VPNWS_OPT_MAC,
    VPNWS_OPT_MTU,
    VPNWS_OPT_UID,
    VPNWS_OPT_GID,
    VPNWS_OPT_PROXY,
    VPNWS_OPT_PING,
    VPNWS_OPT_TIMEOUT,
    VPNWS_OPT_AUTH_FILE,
    VPNWS_OPT_RANDOM,
    VPNWS_OPT_NO_OFFLOAD,
    VPNWS_OPT_CONGESTION
};


static const struct option  vpnws_options[] = {
    { "auth-file",      required_argument, NULL, VPNWS_OPT_AUTH_FILE },
    { "exec",           required_argument, NULL, VPNWS_OPT_EXEC },
    { "key",            required_argument, NULL, VPNWS_OPT_KEY },
    { "crt",            required_argument, NULL, VPNWS_OPT_CRT },
    { "ca",             required_argument, NULL, VPNWS_OPT_CA },
    { "no-verify",      no_argument,       NULL, VPNWS_OPT_NO_VERIFY },
    { "bridge",         no_argument,       NULL, VPNWS_OPT_BRIDGE },
    { "mac",            required_argument, NULL, VPNWS_OPT_MAC },
    { "mtu",            required_argument, NULL, VPNWS_OPT_MTU },
    { "no-offload",     no_argument,       NULL, VPNWS_OPT_NO_OFFLOAD },
    { "uid",            required_argument, NULL, VPNWS_OPT_UID },
    { "gid",            required_argument, NULL, VPNWS_OPT_GID },
    { "proxy",          required_argument, NULL, VPNWS_OPT_PROXY },
    { "congestion",     required_argument, NULL, VPNWS_OPT_CONGESTION },
    { "ping-interval",  required_argument, NULL, VPNWS_OPT_PING },
    { "timeout",        required_argument, NULL, VPNWS_OPT_TIMEOUT },
    { "random",         no_argument,       NULL, VPNWS_OPT_RANDOM },
    { "verbose",        no_argument,       NULL, 'v' },
    { "quiet",          no_argument,       NULL, 'q' },
    { "version",        no_argument,       NULL, 'V' },
    { "help",           no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 }
};


static void
vpnws_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));


static void
vpnws_die(int code, const char *fmt, ...)
{
    char     line[VPNWS_ERRLEN + 128];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    fprintf(stderr, VPNWS_CLIENT_NAME ": %s\n", line);

    exit(code);
}


static int
vpnws_number(const char *opt, const char *s, long min, long max)
{
    long   n;
    char  *end;

    errno = 0;
    n = strtol(s, &end, 10);

    if (errno || end == s || *end != '\0' || n < min || n > max) {
        vpnws_die(VPNWS_EXIT_USAGE, "%s \"%s\": a number from %ld to %ld "
                  "expected", opt, s, min, max);
    }

    return (int) n;
}


/* a URL of the command line and its proxy: --proxy, or the environment's */
static void
vpnws_parse_server(vpnws_conf_t *conf, char *text, const char *proxy)
{
    char             err[VPNWS_ERRLEN];
    vpnws_server_t  *srv;

    srv = &conf->servers[conf->nservers++];
    srv->text = text;

    if (vpnws_url_parse(text, &srv->url, 0, err, sizeof(err)) != 0) {
        vpnws_die(VPNWS_EXIT_USAGE, "%s", err);
    }

    vpnws_url_hide(text);

    if (proxy && strcmp(proxy, "none") != 0 && *proxy) {

        if (vpnws_url_parse(proxy, &srv->proxy, 1, err, sizeof(err)) != 0) {
            vpnws_die(VPNWS_EXIT_USAGE, "--proxy: %s", err);
        }

        srv->use_proxy = 1;
        return;
    }

    if (proxy != NULL) {
        return;
    }

    conf->url = srv->url;
    conf->use_proxy = 0;
    memset(&conf->proxy, 0, sizeof(vpnws_url_t));

    if (vpnws_proxy_from_env(conf, err, sizeof(err)) != 0) {
        vpnws_die(VPNWS_EXIT_USAGE, "proxy from the environment: %s", err);
    }

    srv->proxy = conf->proxy;
    srv->use_proxy = conf->use_proxy;
}


/*
 * --auth-file or $VPNWS_AUTH, read once (the variable is wiped), holds the
 * credentials of every URL without a password of its own; those URLs must
 * name the same user, or none.
 */
static void
vpnws_parse_auth(vpnws_conf_t *conf)
{
    char          err[VPNWS_ERRLEN];
    unsigned      i, f, own;
    vpnws_url_t  *u, *first;

    for (f = 0; f < conf->nservers - 1; f++) {
        if (!conf->servers[f].url.password) {
            break;
        }
    }

    first = &conf->servers[f].url;
    own = first->password;

    if (vpnws_auth_load(first, conf->auth_file, err, sizeof(err)) != 0) {
        vpnws_die(VPNWS_EXIT_USAGE, "%s", err);
    }

    for (i = 0; i < conf->nservers; i++) {
        u = &conf->servers[i].url;

        if (u == first || (u->password && conf->auth_file == NULL)) {
            continue;
        }

        if (u->password) {
            vpnws_die(VPNWS_EXIT_USAGE, "a password in a URL and "
                      "--auth-file: give one of them");
        }

        if (own || first->basic == NULL) {
            continue;
        }

        if ((u->user == NULL) != (first->user == NULL)
            || (u->user && strcmp(u->user, first->user) != 0))
        {
            vpnws_die(VPNWS_EXIT_USAGE, "the URLs name different users: "
                      "--auth-file and $" VPNWS_AUTH_ENV " hold one "
                      "user's credentials");
        }

        u->basic = strdup(first->basic);

        if (u->basic == NULL) {
            vpnws_die(VPNWS_EXIT_INTERNAL, "out of memory");
        }

        u->password = 1;
    }
}


/* the next attempts go to server i */
static void
vpnws_use_server(vpnws_conf_t *conf, unsigned i)
{
    conf->url_text = conf->servers[i].text;
    conf->url = conf->servers[i].url;
    conf->proxy = conf->servers[i].proxy;
    conf->use_proxy = conf->servers[i].use_proxy;
}


static int
vpnws_any_tls(vpnws_conf_t *conf)
{
    unsigned  i;

    for (i = 0; i < conf->nservers; i++) {
        if (conf->servers[i].url.tls) {
            return 1;
        }
    }

    return 0;
}


static void
vpnws_parse_args(int argc, char **argv, vpnws_conf_t *conf)
{
    int          c;
    char        *proxy, err[VPNWS_ERRLEN];
    const char  *user, *group, *why;

    conf->ping_interval = VPNWS_PING_DEFAULT;
    conf->timeout = VPNWS_TIMEOUT_DEFAULT;

    user = NULL;
    group = NULL;
    proxy = NULL;

    opterr = 0;

    while ((c = getopt_long(argc, argv, "vqVh", vpnws_options, NULL)) != -1) {

        switch (c) {

        case VPNWS_OPT_AUTH_FILE:
            conf->auth_file = optarg;
            break;

        case VPNWS_OPT_EXEC:
            conf->exec = optarg;
            break;

        case VPNWS_OPT_KEY:
            conf->key = optarg;
            break;

        case VPNWS_OPT_CRT:
            conf->crt = optarg;
            break;

        case VPNWS_OPT_CA:
            conf->ca = optarg;
            break;

        case VPNWS_OPT_NO_VERIFY:
            conf->no_verify = 1;
            break;

        case VPNWS_OPT_BRIDGE:
            conf->bridge = 1;
            break;

        case VPNWS_OPT_MAC:

            if (vpnws_mac_parse(optarg, strlen(optarg), conf->mac) != 0
                || vpnws_mac_is_group(conf->mac)
                || vpnws_mac_is_zero(conf->mac))
            {
                vpnws_die(VPNWS_EXIT_USAGE, "--mac \"%s\": a unicast MAC "
                          "like 02:aa:bb:cc:dd:ee expected", optarg);
            }

            conf->has_mac = 1;
            break;

        case VPNWS_OPT_MTU:
            conf->mtu = vpnws_number("--mtu", optarg, 68,
                                     VPNWS_TAP_MAX_FRAME - 18);
            break;

        case VPNWS_OPT_NO_OFFLOAD:
            conf->no_offload = 1;
            break;

        case VPNWS_OPT_UID:
            user = optarg;
            break;

        case VPNWS_OPT_GID:
            group = optarg;
            break;

        case VPNWS_OPT_PROXY:
            proxy = optarg;
            break;

        case VPNWS_OPT_CONGESTION:
            why = vpnws_tcp_congestion_check(optarg, strlen(optarg));

            if (why) {
                vpnws_die(VPNWS_EXIT_USAGE, "--congestion \"%s\": %s; a "
                          "name like cubic, reno or bbr expected", optarg,
                          why);
            }

            conf->congestion = optarg;
            break;

        case VPNWS_OPT_PING:
            conf->ping_interval = vpnws_number("--ping-interval", optarg, 0,
                                               86400);
            break;

        case VPNWS_OPT_TIMEOUT:
            conf->timeout = vpnws_number("--timeout", optarg, 0, 86400);
            break;

        case VPNWS_OPT_RANDOM:
            conf->random = 1;
            break;

        case 'v':
            vpnws_verbosity++;
            break;

        case 'q':
            vpnws_verbosity = VPNWS_LOG_ERR;
            break;

        case 'V':
            printf(VPNWS_CLIENT_NAME " " VPNWS_CLIENT_VERSION " (vpnws, %s)\n",
                   OpenSSL_version(OPENSSL_VERSION));
            exit(VPNWS_EXIT_OK);

        case 'h':
            fputs(vpnws_usage, stdout);
            exit(VPNWS_EXIT_OK);

        default:

            if (optopt && optopt < 256) {
                vpnws_die(VPNWS_EXIT_USAGE, "unknown option \"-%c\"; "
                          "try --help", optopt);
            }

            vpnws_die(VPNWS_EXIT_USAGE, "bad option \"%s\"; try --help",
                      argv[optind - 1]);
        }
    }

    if (argc - optind < 2 || argc - optind > 1 + VPNWS_SERVERS_MAX) {
        vpnws_die(VPNWS_EXIT_USAGE, "%s; usage: " VPNWS_CLIENT_NAME
                  " [options] <tap> <ws[s]://[user[:pass]@]host[:port]/path>"
                  "...", argc - optind < 2 ? "missing arguments"
                                           : "more than 16 URLs");
    }

    conf->tap_name = argv[optind];

    if (*conf->tap_name == '\0'
        || strlen(conf->tap_name) >= VPNWS_TAP_NAME_LEN)
    {
        vpnws_die(VPNWS_EXIT_USAGE, "tap name \"%s\": 1 to %d characters "
                  "expected", conf->tap_name, VPNWS_TAP_NAME_LEN - 1);
    }

    for (optind++; optind < argc; optind++) {
        vpnws_parse_server(conf, argv[optind], proxy);
    }

    vpnws_parse_auth(conf);

    if (proxy) {
        /* parsed for every URL: hidden only now */
        vpnws_url_hide(proxy);
    }

    vpnws_use_server(conf, 0);

    if ((conf->ca || conf->crt || conf->key || conf->no_verify)
        && !vpnws_any_tls(conf))
    {
        vpnws_log(VPNWS_LOG_INFO, "TLS options ignored for a ws:// URL");
    }

    if (vpnws_priv_parse(&conf->priv, user, group, err, sizeof(err)) != 0) {
        vpnws_die(VPNWS_EXIT_USAGE, "%s", err);
    }
}


static void
vpnws_setup_tap(vpnws_client_t *cl)
{
    char           err[VPNWS_ERRLEN], mac[VPNWS_MAC_STR_LEN + 1];
    int            mtu;
    vpnws_conf_t  *conf;

    conf = cl->conf;

    cl->tap_vnet = !conf->no_offload;
    cl->tap = vpnws_tap_open(conf->tap_name,
                             cl->tap_vnet ? VPNWS_TAP_VNET_HDR : 0,
                             cl->ifname, err, sizeof(err));

    if (cl->tap == -1) {
        vpnws_die(VPNWS_EXIT_TAP, "tap \"%s\": %s", conf->tap_name, err);
    }

    if (conf->has_mac
        && vpnws_tap_set_mac(cl->ifname, conf->mac, err, sizeof(err)) != 0)
    {
        vpnws_die(VPNWS_EXIT_TAP, "--mac: %s", err);
    }

    if (conf->mtu
        && vpnws_tap_set_mtu(cl->ifname, conf->mtu, err, sizeof(err)) != 0)
    {
        vpnws_die(VPNWS_EXIT_TAP, "--mtu: %s", err);
    }

    if (vpnws_tap_get_mac(cl->ifname, cl->mac, err, sizeof(err)) != 0
        || vpnws_tap_get_mtu(cl->ifname, &mtu, err, sizeof(err)) != 0
        || vpnws_tap_up(cl->ifname, err, sizeof(err)) != 0)
    {
        vpnws_die(VPNWS_EXIT_TAP, "%s", err);
    }

    vpnws_offload_probe(cl);
    vpnws_mac_format(cl->mac, mac);

    vpnws_log(VPNWS_LOG_DEBUG, "tap %s up, MAC %s, MTU %d", cl->ifname, mac,
              mtu);
}


static void
vpnws_run_exec(vpnws_client_t *cl)
{
    char  err[VPNWS_ERRLEN], sw[VPNWS_ERRLEN];

    /* the switch it joins: the first server, credentials hidden */
    vpnws_url_redact(cl->conf->servers[0].text, sw, sizeof(sw));

    if (vpnws_hook_run(cl->conf->exec, cl->ifname, sw, err, sizeof(err))
        != 0)
    {
        vpnws_die(VPNWS_EXIT_SETUP, "--exec: %s", err);
    }
}


/*
 * --congestion on a throwaway socket: at start (as root it loads the
 * algorithm's module if need be), and after --uid/--gid, whether the user
 * may take it.  Every connection sets it again (conn.c).
 */
static void
vpnws_probe_congestion(vpnws_conf_t *conf)
{
    int   e;
    char  msg[VPNWS_TCP_CA_ERRLEN];

    if (conf->congestion == NULL) {
        return;
    }

    e = vpnws_tcp_congestion_probe(conf->congestion);

    if (e != 0) {
        vpnws_die(VPNWS_EXIT_USAGE, "--congestion %s: %s", conf->congestion,
                  vpnws_tcp_congestion_error(e, "this user", msg,
                                             sizeof(msg)));
    }
}


static void
vpnws_drop_privileges(vpnws_conf_t *conf)
{
    char  err[VPNWS_ERRLEN];

    if (vpnws_priv_drop(&conf->priv, err, sizeof(err)) != 0) {
        vpnws_die(VPNWS_EXIT_SETUP, "%s", err);
    }

    vpnws_log(VPNWS_LOG_DEBUG, "running as uid %u gid %u",
              (unsigned) getuid(), (unsigned) getgid());
}


static void
vpnws_setup_signals(void)
{
    sigset_t          block;
    struct sigaction  sa;

    memset(&sa, 0, sizeof(struct sigaction));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);

    if (sigprocmask(SIG_BLOCK, &block, NULL) != 0) {
        vpnws_die(VPNWS_EXIT_INTERNAL, "sigprocmask(): %s", strerror(errno));
    }

    vpnws_signal_fd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);

    if (vpnws_signal_fd == -1) {
        vpnws_die(VPNWS_EXIT_INTERNAL, "signalfd(): %s", strerror(errno));
    }
}


static int
vpnws_connect(vpnws_client_t *cl, char *err, size_t errlen)
{
    int            rc;
    int64_t        deadline, limit;
    vpnws_url_t   *to;
    vpnws_conf_t  *conf;

    conf = cl->conf;

    limit = VPNWS_CONNECT_TIMEOUT;

    if (conf->timeout && conf->timeout < limit) {
        limit = conf->timeout;
    }

    deadline = vpnws_now_ms() + limit * 1000;

    to = conf->use_proxy ? &conf->proxy : &conf->url;

    vpnws_log(VPNWS_LOG_DEBUG, "connecting to %s%s%s", to->authority,
              conf->use_proxy ? " (proxy) for " : "",
              conf->use_proxy ? conf->url.authority : "");

    rc = vpnws_conn_connect(&cl->conn, to->host, to->port, deadline, err,
                            errlen);

    if (rc == VPNWS_OK && conf->use_proxy) {
        rc = vpnws_proxy_connect(&cl->conn, conf, deadline, err, errlen);
    }

    if (rc == VPNWS_OK && conf->url.tls) {
        rc = vpnws_tls_connect(&cl->conn, cl->ssl_ctx, &conf->url, deadline,
                               err, errlen);
    }

    if (rc == VPNWS_OK) {
        rc = vpnws_ws_handshake(cl, deadline, err, errlen);
    }

    return rc;
}


/* sleep, reading and dropping what the tap sends meanwhile */
static int
vpnws_backoff(vpnws_client_t *cl, int attempt)
{
    int64_t   delay, until, left;
    ssize_t   n;
    uint32_t  r;

    delay = VPNWS_BACKOFF_MAX;

    if (attempt < 16 && (1000LL << (attempt - 1)) < delay) {
        delay = 1000LL << (attempt - 1);
    }

    /* jitter: somewhere in [delay/2, delay], so clients spread out */
    vpnws_random(&r, sizeof(r));
    delay = delay / 2 + (int64_t) (r % (uint32_t) (delay / 2 + 1));

    vpnws_log(VPNWS_LOG_DEBUG, "next attempt in %.1f s", delay / 1000.0);

    until = vpnws_now_ms() + delay;

    for ( ;; ) {

        if (vpnws_quit) {
            return VPNWS_QUIT;
        }

        left = until - vpnws_now_ms();

        if (left <= 0) {
            return VPNWS_OK;
        }

        if (vpnws_signal_poll(cl->tap, POLLIN, (int) left) <= 0) {
            continue;
        }

        /* no server: old frames would only be stale when it is back */
        while ((n = read(cl->tap, cl->frame, VPNWS_CLIENT_FRAME)) > 0) {
            cl->tap_drops++;
        }

        if (n == 0) {
            /* a tap whose device is gone reads 0 for ever: do not spin */
            vpnws_die(VPNWS_EXIT_TAP, "read(tap %s): end of file (the device "
                      "was deleted)", cl->ifname);
        }

        if (n == -1 && errno != EAGAIN && errno != EINTR) {
            vpnws_die(VPNWS_EXIT_TAP, "read(tap %s): %s%s", cl->ifname,
                      strerror(errno),
                      errno == EBADFD ? " (the device was deleted)" : "");
        }
    }
}


/*
 * A refusal that a retry cannot fix, before the first connection: fatal
 * once every server has answered so (one misconfigured host of several
 * must not stop the client).
 */
static void
vpnws_fatal(vpnws_client_t *cl, vpnws_servers_t *s, int rc, const char *err)
{
    uint32_t  all;

    if (cl->connected_once
        || (rc != VPNWS_FAIL_VERIFY && rc != VPNWS_FAIL_HTTP))
    {
        return;
    }

    cl->fatal |= 1u << s->current;
    all = (s->n >= 32) ? 0xffffffff : (1u << s->n) - 1;

    if ((cl->fatal & all) == all) {
        vpnws_die(rc == VPNWS_FAIL_VERIFY ? VPNWS_EXIT_TLS_VERIFY
                                          : VPNWS_EXIT_HTTP, "%s", err);
    }
}


int
main(int argc, char **argv)
{
    int              rc, stable;
    char             err[VPNWS_ERRLEN], mac[VPNWS_MAC_STR_LEN + 1];
    int64_t          start;
    unsigned         i, step;
    vpnws_conf_t     conf;
    vpnws_client_t   cl;
    vpnws_servers_t  servers;

    memset(&conf, 0, sizeof(vpnws_conf_t));
    memset(&cl, 0, sizeof(vpnws_client_t));

    vpnws_parse_args(argc, argv, &conf);
    vpnws_probe_congestion(&conf);

    cl.conf = &conf;
    cl.conn.fd = -1;
    cl.conn.congestion = conf.congestion;
    cl.mask_pos = sizeof(cl.masks);

    if (vpnws_any_tls(&conf)) {
        cl.ssl_ctx = vpnws_tls_ctx(&conf, err, sizeof(err));

        if (cl.ssl_ctx == NULL) {
            vpnws_die(VPNWS_EXIT_TLS_CONF, "TLS: %s", err);
        }

        if (conf.no_verify) {
            vpnws_log(VPNWS_LOG_ERR, "WARNING: --no-verify: the server "
                      "certificate is NOT verified; anyone on the path can "
                      "read and change this VPN's traffic");
        }
    }

    cl.in = malloc(VPNWS_IN_SIZE);
    cl.out = malloc(VPNWS_OUT_SIZE);
    cl.frame = malloc(VPNWS_CLIENT_FRAME);
    cl.frag = malloc(VPNWS_CLIENT_FRAME);

    if (cl.in == NULL || cl.out == NULL || cl.frame == NULL
        || cl.frag == NULL)
    {
        vpnws_die(VPNWS_EXIT_INTERNAL, "out of memory");
    }

    vpnws_setup_tap(&cl);

    if (conf.exec) {
        vpnws_run_exec(&cl);
    }

    vpnws_drop_privileges(&conf);

    if (conf.priv.has_uid || conf.priv.has_gid) {
        vpnws_probe_congestion(&conf);
    }

    vpnws_setup_signals();

    vpnws_mac_format(cl.mac, mac);

    vpnws_servers_start(&servers, conf.nservers, conf.random);

    for ( ;; ) {
        vpnws_use_server(&conf, servers.current);
        stable = 0;

        rc = vpnws_connect(&cl, err, sizeof(err));

        if (rc == VPNWS_OK) {
            vpnws_log_state(VPNWS_LOG_INFO, "connected to %s://%s%s "
                            "(tap %s, MAC %s%s)",
                            conf.url.tls ? "wss" : "ws", conf.url.authority,
                            conf.url.path, cl.ifname, mac,
                            conf.bridge ? ", bridge" : "");

            cl.connected_once = 1;
            start = vpnws_now_ms();

            rc = vpnws_session(&cl, err, sizeof(err));

            /* a server that accepts and drops at once keeps backing off */
            stable = vpnws_now_ms() - start >= VPNWS_SESSION_STABLE;

            vpnws_log(VPNWS_LOG_DEBUG, "session: %llu frames out, %llu in, "
                      "%llu dropped at the tap, %llu super-frames, %llu cut "
                      "here, %llu bad virtio-net headers",
                      (unsigned long long) cl.tx_frames,
                      (unsigned long long) cl.rx_frames,
                      (unsigned long long) cl.tap_drops,
                      (unsigned long long) cl.super_frames,
                      (unsigned long long) cl.soft_segmented,
                      (unsigned long long) cl.vnet_errors);

            vpnws_conn_close(&cl.conn);

            if (rc == VPNWS_FAIL_TAP) {
                vpnws_die(VPNWS_EXIT_TAP, "%s", err);
            }

            if (rc != VPNWS_QUIT) {
                vpnws_log_state(VPNWS_LOG_INFO, "connection lost: %s; "
                                "reconnecting", err);
            }

        } else {
            vpnws_conn_close(&cl.conn);

            vpnws_fatal(&cl, &servers, rc, err);

            if (rc != VPNWS_QUIT && conf.nservers > 1) {
                vpnws_log_state(VPNWS_LOG_INFO, "%s://%s%s: %s; trying the "
                                "next server", conf.url.tls ? "wss" : "ws",
                                conf.url.authority, conf.url.path, err);

            } else if (rc != VPNWS_QUIT) {
                vpnws_log_state(VPNWS_LOG_INFO, "%s; retrying with backoff",
                                err);
            }
        }

        if (rc == VPNWS_QUIT) {
            break;
        }

        step = vpnws_servers_failed(&servers, stable);

        if (vpnws_backoff(&cl, (int) step) == VPNWS_QUIT) {
            break;
        }
    }

    vpnws_log(VPNWS_LOG_INFO, "exiting on a signal");

    /* for leak checkers: everything else is freed by the kernel anyway */
    free(cl.in);
    free(cl.out);
    free(cl.frame);
    free(cl.frag);
    for (i = 0; i < conf.nservers; i++) {
        vpnws_url_free(&conf.servers[i].url);
        vpnws_url_free(&conf.servers[i].proxy);
    }

    SSL_CTX_free(cl.ssl_ctx);
    close(cl.tap);
    close(vpnws_signal_fd);

    return VPNWS_EXIT_OK;
}
