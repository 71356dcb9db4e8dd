/*
 * Copyright (C) 2026, the vpnws authors
 * SPDX-License-Identifier: BSD-2-Clause (see LICENSE)
 *
 * vpn-ws: the command line, setup and shutdown.
 */


#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "vpnwsd.h"
#include "vpnws_priv.h"


vpnwsd_t      vpnwsd;
volatile int  vpnwsd_quit;


static const char  vpnwsd_usage[] =
"usage: " VPNWSD_NAME " [options] <socket>\n"
"\n"
"A layer-2 switch for vpn-ws websocket peers behind a proxy that speaks\n"
"uwsgi (nginx: uwsgi_pass; the JSON control interface: uwsgi_modifier1 1)\n"
"or HTTP/1.1 (Apache: ProxyPass ... upgrade=websocket; its headers become\n"
"HTTP_ variables, nothing else unless --trust-header says so).\n"
"<socket> is a unix socket path (mode 0660: see --socket-group; a stale\n"
"socket file is replaced) or host:port for TCP.  It serves the websocket\n"
"handshakes and, unless --admin says otherwise, the admin requests (list\n"
"and kill peers).\n"
"\n"
"options:\n"
"  --tuntap DEV         a tap device as a port of the switch\n"
"  --bridge             the tap is a bridge: it learns MACs and receives\n"
"                       unknown unicast\n"
"  --exec CMD           run CMD with /bin/sh once the tap exists (before\n"
"                       privileges are dropped; $VPNWS_TAP is its name,\n"
"                       $VPNWS_SWITCH the socket)\n"
"  --no-broadcast       do not flood broadcast frames\n"
"  --no-multicast       do not flood multicast frames\n"
"  --isolation          peers reach only bridges and the tap, never each\n"
"                       other\n"
"  --max-frame N        largest ethernet frame in bytes (default 65664)\n"
"  --bridge-macs N      MACs a bridge port may learn (default 256)\n"
"  --mac-aging SECONDS  a MAC learned behind a bridge is forgotten after\n"
"                       this long without a frame from it (default 300)\n"
"  --max-peers N        peers at most (default 1024)\n"
"  --queue N            output queue bytes per peer (default 262144)\n"
"  --uid USER           run as USER (name or number) once the socket and\n"
"                       tap exist, with USER's groups only\n"
"  --gid GROUP          run as GROUP (default: USER's primary group; a\n"
"                       number with no passwd entry needs --gid)\n"
"  --policy             bridge mode only where the proxy grants it\n"
"                       (uwsgi_param VPNWS_BRIDGE on); without it and\n"
"                       without VPNWS_* variables a client may ask for\n"
"                       bridge mode, as with the original vpn-ws\n"
"  --rate SPEC          every peer's limit unless VPNWS_RATE says\n"
"                       otherwise: \"10m burst=1m flood=100\" (bytes/s)\n"
"  --peers-per-user N   peers one user (VPNWS_USER, else REMOTE_USER)\n"
"                       may have at once\n"
"  --socket-mode MODE   unix socket permissions, octal (default 0660;\n"
"                       0666, the original's, lets every local user join\n"
"                       the segment)\n"
"  --socket-owner USER  unix socket owner (default: the starting user)\n"
"  --socket-group GROUP unix socket group: the proxy's (Debian's nginx:\n"
"                       www-data); default: the starting user's group\n"
"  --admin PATH|off     the admin (list, kill) on its own unix socket PATH\n"
"                       (same owner, group and mode), or nowhere; either\n"
"                       way <socket> answers admin requests with 403\n"
"                       (default: on <socket>)\n"
"  --trust-header VAR=HEADER\n"
"                       a front end speaking HTTP (Apache mod_proxy_http):\n"
"                       the header HEADER it sets is the uwsgi variable\n"
"                       VAR, e.g. REMOTE_USER=X-Remote-User (up to 16)\n"
"  -v, --verbose        log more (twice: debug)\n"
"  -V, --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"exit codes: 0 stopped by SIGINT/SIGTERM, 1 internal error, 2 usage,\n"
"3 socket in use or unusable, 4 tap device, 5 --exec/--uid/--gid\n";


enum {
    VPNWSD_OPT_TUNTAP = 256,
    VPNWSD_OPT_BRIDGE,
    VPNWSD_OPT_EXEC,
    VPNWSD_OPT_NO_BROADCAST,
    VPNWSD_OPT_NO_MULTICAST,
    VPNWSD_OPT_ISOLATION,
    VPNWSD_OPT_MAX_FRAME,
    VPNWSD_OPT_BRIDGE_MACS,
    VPNWSD_OPT_MAC_AGING,
    VPNWSD_OPT_MAX_PEERS,
    VPNWSD_OPT_QUEUE,
    VPNWSD_OPT_UID,
    VPNWSD_OPT_GID,
    VPNWSD_OPT_TRUST_HEADER,
    VPNWSD_OPT_POLICY,
    VPNWSD_OPT_RATE,
    VPNWSD_OPT_PEERS_PER_USER,
    VPNWSD_OPT_SOCKET_MODE,
    VPNWSD_OPT_SOCKET_OWNER,
    VPNWSD_OPT_SOCKET_GROUP,
    VPNWSD_OPT_ADMIN
};


static const struct option  vpnwsd_options[] = {
    { "tuntap",         required_argument, NULL, VPNWSD_OPT_TUNTAP },
    { "bridge",         no_argument,       NULL, VPNWSD_OPT_BRIDGE },
    { "exec",           required_argument, NULL, VPNWSD_OPT_EXEC },
    { "no-broadcast",   no_argument,       NULL, VPNWSD_OPT_NO_BROADCAST },
    { "no-multicast",   no_argument,       NULL, VPNWSD_OPT_NO_MULTICAST },
    { "isolation",      no_argument,       NULL, VPNWSD_OPT_ISOLATION },
    { "max-frame",      required_argument, NULL, VPNWSD_OPT_MAX_FRAME },
    { "bridge-macs",    required_argument, NULL, VPNWSD_OPT_BRIDGE_MACS },
    { "mac-aging",      required_argument, NULL, VPNWSD_OPT_MAC_AGING },
    { "max-peers",      required_argument, NULL, VPNWSD_OPT_MAX_PEERS },
    { "queue",          required_argument, NULL, VPNWSD_OPT_QUEUE },
    { "uid",            required_argument, NULL, VPNWSD_OPT_UID },
    { "gid",            required_argument, NULL, VPNWSD_OPT_GID },
    { "trust-header",   required_argument, NULL, VPNWSD_OPT_TRUST_HEADER },
    { "policy",         no_argument,       NULL, VPNWSD_OPT_POLICY },
    { "rate",           required_argument, NULL, VPNWSD_OPT_RATE },
    { "peers-per-user", required_argument, NULL, VPNWSD_OPT_PEERS_PER_USER },
    { "socket-mode",    required_argument, NULL, VPNWSD_OPT_SOCKET_MODE },
    { "socket-owner",   required_argument, NULL, VPNWSD_OPT_SOCKET_OWNER },
    { "socket-group",   required_argument, NULL, VPNWSD_OPT_SOCKET_GROUP },
    { "admin",          required_argument, NULL, VPNWSD_OPT_ADMIN },
    { "verbose",        no_argument,       NULL, 'v' },
    { "version",        no_argument,       NULL, 'V' },
    { "help",           no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 }
};


static void
vpnwsd_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, VPNWSD_NAME ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\ntry \"" VPNWSD_NAME " --help\"\n");
    exit(VPNWSD_EXIT_USAGE);
}


/* a decimal number with an optional k or m suffix, within [min, max] */
static uint64_t
vpnwsd_number(const char *name, const char *s, uint64_t min, uint64_t max)
{
    char      *end;
    uint64_t   n;

    errno = 0;
    n = strtoull(s, &end, 10);

    if (end == s || errno || s[0] == '-') {
        goto invalid;
    }

    if (*end == 'k' || *end == 'K') {
        n *= 1024;
        end++;

    } else if (*end == 'm' || *end == 'M') {
        n *= 1024 * 1024;
        end++;
    }

    if (*end != '\0' || n < min || n > max) {
        goto invalid;
    }

    return n;

invalid:

    fprintf(stderr, VPNWSD_NAME ": invalid %s \"%s\" (%llu..%llu)\n", name, s,
            (unsigned long long) min, (unsigned long long) max);
    exit(VPNWSD_EXIT_USAGE);
}


/* a user or group that has no name: a number, or a usage error */
static unsigned long
vpnwsd_numeric_id(const char *opt, const char *what, const char *arg)
{
    char           *end;
    unsigned long   n;

    errno = 0;
    n = strtoul(arg, &end, 10);

    if (end == arg || *end != '\0' || errno || arg[0] == '-') {
        fprintf(stderr, VPNWSD_NAME ": %s: unknown %s \"%s\"\n"
                "try \"" VPNWSD_NAME " --help\"\n", opt, what, arg);
        exit(VPNWSD_EXIT_USAGE);
    }

    return n;
}


/* --socket-mode, --socket-owner, --socket-group, --admin */
static void
vpnwsd_parse_socket(int ch, const char *arg)
{
    char           *end;
    unsigned long   n;
    struct group   *gr;
    struct passwd  *pw;

    switch (ch) {

    case VPNWSD_OPT_SOCKET_MODE:
        errno = 0;
        n = strtoul(arg, &end, 8);

        if (end == arg || *end != '\0' || errno || n > 0777) {
            vpnwsd_usage_error("invalid --socket-mode \"%s\" (octal, "
                               "0 to 0777)", arg);
        }

        vpnwsd.socket_mode = (mode_t) n;
        return;

    case VPNWSD_OPT_SOCKET_OWNER:
        pw = getpwnam(arg);
        vpnwsd.socket_uid = pw ? pw->pw_uid
                               : (uid_t) vpnwsd_numeric_id("--socket-owner",
                                                           "user", arg);
        return;

    case VPNWSD_OPT_SOCKET_GROUP:
        gr = getgrnam(arg);
        vpnwsd.socket_gid = gr ? gr->gr_gid
                               : (gid_t) vpnwsd_numeric_id("--socket-group",
                                                           "group", arg);
        return;

    default: /* VPNWSD_OPT_ADMIN */
        if (strcmp(arg, "off") == 0) {
            vpnwsd.admin_off = 1;
            vpnwsd.admin = NULL;
            return;
        }

        if (arg[0] != '/' && arg[0] != '.') {
            vpnwsd_usage_error("--admin \"%s\": a unix socket path (/... "
                               "or ./...) or off", arg);
        }

        vpnwsd.admin = arg;
        vpnwsd.admin_off = 0;
        return;
    }
}


static void
vpnwsd_parse(int argc, char **argv)
{
    int            ch;
    const char    *err;
    vpnws_rate_t   rate;

    vpnwsd.verbosity = VPNWSD_LOG_NOTICE;
    vpnwsd.queue = VPNWS_DEFAULT_QUEUE;
    vpnwsd.max_peers = VPNWS_DEFAULT_PEERS;
    vpnws_switch_conf_default(&vpnwsd.conf);
    vpnwsd.socket_mode = 0660;
    vpnwsd.socket_uid = (uid_t) -1;
    vpnwsd.socket_gid = (gid_t) -1;
    vpnwsd.admin_fd = -1;

    opterr = 0;

    while ((ch = getopt_long(argc, argv, ":vVh", vpnwsd_options, NULL))
           != -1)
    {
        switch (ch) {

        case VPNWSD_OPT_TUNTAP:
            vpnwsd.tuntap = optarg;
            break;

        case VPNWSD_OPT_BRIDGE:
            vpnwsd.bridge = 1;
            break;

        case VPNWSD_OPT_EXEC:
            vpnwsd.exec = optarg;
            break;

        case VPNWSD_OPT_NO_BROADCAST:
            vpnwsd.conf.broadcast = 0;
            break;

        case VPNWSD_OPT_NO_MULTICAST:
            vpnwsd.conf.multicast = 0;
            break;

        case VPNWSD_OPT_ISOLATION:
            vpnwsd.conf.isolation = 1;
            break;

        case VPNWSD_OPT_MAX_FRAME:
            vpnwsd.conf.max_frame = (uint32_t) vpnwsd_number("--max-frame",
                                        optarg, VPNWS_ETH_HLEN,
                                        16 * 1024 * 1024);
            break;

        case VPNWSD_OPT_BRIDGE_MACS:
            vpnwsd.conf.bridge_macs = (uint32_t) vpnwsd_number(
                                          "--bridge-macs", optarg, 1,
                                          1000000);
            break;

        case VPNWSD_OPT_MAC_AGING:
            vpnwsd.conf.mac_aging = (uint32_t) vpnwsd_number("--mac-aging",
                                        optarg, 1, 86400);
            break;

        case VPNWSD_OPT_MAX_PEERS:
            vpnwsd.max_peers = (uint32_t) vpnwsd_number("--max-peers",
                                                        optarg, 1, 1000000);
            break;

        case VPNWSD_OPT_QUEUE:
            vpnwsd.queue = (size_t) vpnwsd_number("--queue", optarg, 1024,
                                                  1024 * 1024 * 1024);
            break;

        case VPNWSD_OPT_UID:
            vpnwsd.uid = optarg;
            break;

        case VPNWSD_OPT_GID:
            vpnwsd.gid = optarg;
            break;

        case VPNWSD_OPT_TRUST_HEADER:
            if (vpnwsd_http_trust(optarg) != 0) {
                vpnwsd_usage_error("invalid --trust-header \"%s\" (VAR=HEADER"
                                   ", VAR in upper case and not HTTP_..., "
                                   "16 at most)", optarg);
            }
            break;

        case VPNWSD_OPT_POLICY:
            vpnwsd.policy = 1;
            break;

        case VPNWSD_OPT_RATE:
            if (vpnws_rate_parse(optarg, strlen(optarg), &rate, &err) != 0) {
                vpnwsd_usage_error("invalid --rate: %s", err);
            }

            vpnwsd.rate = optarg;
            break;

        case VPNWSD_OPT_PEERS_PER_USER:
            vpnwsd.peers_per_user = (uint32_t) vpnwsd_number(
                                        "--peers-per-user", optarg, 1,
                                        1000000);
            break;

        case VPNWSD_OPT_SOCKET_MODE:
        case VPNWSD_OPT_SOCKET_OWNER:
        case VPNWSD_OPT_SOCKET_GROUP:
        case VPNWSD_OPT_ADMIN:
            vpnwsd_parse_socket(ch, optarg);
            break;

        case 'v':
            if (vpnwsd.verbosity < VPNWSD_LOG_DEBUG) {
                vpnwsd.verbosity++;
            }
            break;

        case 'V':
            printf(VPNWSD_NAME " " VPNWSD_VERSION " (vpnws, %s)\n",
                   OpenSSL_version(OPENSSL_VERSION));
            exit(VPNWSD_EXIT_OK);

        case 'h':
            fputs(vpnwsd_usage, stdout);
            exit(VPNWSD_EXIT_OK);

        case ':':
            vpnwsd_usage_error("option \"%s\" needs an argument",
                               argv[optind - 1]);
            break;

        default:
            vpnwsd_usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }

    if (optind != argc - 1) {
        vpnwsd_usage_error("%s", optind >= argc
                                 ? "the socket argument is missing"
                                 : "one socket argument only");
    }

    vpnwsd.socket = argv[optind];

    if (vpnwsd.socket[0] == '\0') {
        vpnwsd_usage_error("%s", "the socket argument is empty");
    }

    if (vpnwsd.bridge && vpnwsd.tuntap == NULL) {
        vpnwsd_usage_error("%s", "--bridge needs --tuntap");
    }

    if (vpnwsd.queue < vpnwsd.conf.max_frame + VPNWS_WS_MAX_HLEN) {
        vpnwsd_usage_error("%s", "--queue cannot hold one frame of "
                           "--max-frame");
    }

    vpnwsd.max_macs = vpnws_switch_default_macs(vpnwsd.max_peers);

    /* no guard is set one by one: they follow --isolation */
    (void) vpnws_switch_conf_finish(&vpnwsd.conf, vpnwsd.max_peers,
                                    vpnwsd.max_macs, 0, 0);
}


static int
vpnwsd_drop_privileges(void)
{
    char          err[256];
    vpnws_priv_t  priv;

    if (vpnws_priv_parse(&priv, vpnwsd.uid, vpnwsd.gid, err, sizeof(err))
        != 0
        || vpnws_priv_drop(&priv, err, sizeof(err)) != 0)
    {
        vpnwsd_log(VPNWSD_LOG_ERR, "%s", err);
        return -1;
    }

    return 0;
}


/* a websocket is a descriptor for days: take every one we may have */
static void
vpnwsd_raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}


static void
vpnwsd_signal(int signo)
{
    (void) signo;
    vpnwsd_quit = 1;
}


static int
vpnwsd_signals(void)
{
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;

    if (sigaction(SIGPIPE, &sa, NULL) == -1) {
        return -1;
    }

    /* no SA_RESTART: epoll_wait returns EINTR */
    sa.sa_handler = vpnwsd_signal;

    if (sigaction(SIGINT, &sa, NULL) == -1
        || sigaction(SIGTERM, &sa, NULL) == -1)
    {
        return -1;
    }

    return 0;
}


/* Close 1001 to every peer, one try each: clients reconnect at once */
static void
vpnwsd_shutdown(void)
{
    vpnwsd_conn_t  *c, *next;

    for (c = vpnwsd.ports; c; c = next) {
        next = c->port_next;

        if (c->kind == VPNWSD_PEER) {
            vpnwsd_peer_close(c, VPNWS_WS_CLOSE_GOING_AWAY,
                              "server shutting down");
        }
    }

    vpnwsd_flush_dirty();

    while (vpnwsd.all) {
        vpnwsd_conn_free(vpnwsd.all);
    }
}


int
main(int argc, char **argv)
{
    int  rc;

    vpnwsd_parse(argc, argv);
    vpnwsd_raise_nofile();

    if (vpnwsd_signals() != 0) {
        vpnwsd_log(VPNWSD_LOG_ERR, "sigaction() failed: %s",
                   strerror(errno));
        return VPNWSD_EXIT_INTERNAL;
    }

    if (vpnwsd_peer_init() != 0) {
        return VPNWSD_EXIT_INTERNAL;
    }

    vpnwsd.listen_fd = vpnwsd_listen(vpnwsd.socket, 0);

    if (vpnwsd.listen_fd == -1) {
        return VPNWSD_EXIT_SOCKET;
    }

    if (vpnwsd.admin) {
        vpnwsd.admin_fd = vpnwsd_listen(vpnwsd.admin, 1);

        if (vpnwsd.admin_fd == -1) {
            vpnwsd_listen_cleanup();
            return VPNWSD_EXIT_SOCKET;
        }
    }

    rc = VPNWSD_EXIT_INTERNAL;

    if (vpnwsd_loop_init() != 0) {
        goto done;
    }

    if (vpnwsd.tuntap && vpnwsd_tap_open() != 0) {
        rc = VPNWSD_EXIT_TAP;
        goto done;
    }

    if (vpnwsd.exec && vpnwsd_tap_exec() != 0) {
        rc = VPNWSD_EXIT_SETUP;
        goto done;
    }

    if (vpnwsd_drop_privileges() != 0) {
        rc = VPNWSD_EXIT_SETUP;
        goto done;
    }

    vpnwsd_log(VPNWSD_LOG_NOTICE, VPNWSD_NAME " " VPNWSD_VERSION
               " listening on %s (pid %d)", vpnwsd.socket, (int) getpid());
    vpnwsd_policy_init();

    if (vpnwsd.admin || vpnwsd.admin_off) {
        vpnwsd_log(VPNWSD_LOG_NOTICE, "admin interface: %s",
                   vpnwsd.admin ? vpnwsd.admin : "off");
    }

    if (vpnwsd_loop_run() != 0) {
        goto done;
    }

    rc = (vpnwsd_quit == 2) ? VPNWSD_EXIT_TAP : VPNWSD_EXIT_OK;

    vpnwsd_log(VPNWSD_LOG_NOTICE, "exiting");

done:

    vpnwsd_shutdown();
    vpnwsd_listen_cleanup();

    return rc;
}
