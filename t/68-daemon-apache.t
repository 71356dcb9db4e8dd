#!/usr/bin/perl

# vpnws end to end: the vpn-ws daemon behind Apache httpd 2.4 (Debian's
# apache2-bin, a private instance), the front end the original vpn-ws
# names first.  mod_proxy_uwsgi cannot carry a websocket (it drops the
# 101's Upgrade and Connection headers and never forwards the client's
# bytes), so the websocket goes through mod_proxy_http with
# "upgrade=websocket" to the daemon's socket, which speaks HTTP/1.1 too;
# Apache's auth reaches the daemon through headers Apache sets and the
# daemon trusts by --trust-header.  The admin interface goes through
# mod_proxy_uwsgi with SetEnv VPNWS_ADMIN on.  Own clients and taps: ping,
# 1400-byte ping, iperf3 TCP, Basic auth (a wrong password refused, a
# forged identity header overwritten), bridge mode granted by Apache's
# config (--policy), client certificates (DN), and a
# reconnect after Apache restarts.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;
use FrontEnd;

my $e = E2E->new(timeout => 120);

plan(skip_all => "no $FrontEnd::APACHE (apache2-bin)")
    unless -x $FrontEnd::APACHE;
plan(skip_all => "no $E2E::BUILD/vpn-ws (run make)")
    unless -x "$E2E::BUILD/vpn-ws";

my $f = FrontEnd->new($e);
my $d = $e->dir;
my $sock = $f->socket_path;
my $port = $E2E::PORT;
my $tls = $port + 1;

$e->make_pki(san => 'IP:10.213.1.1,IP:10.213.2.1');

for my $u (qw(alice bob)) {
    my $hash = `openssl passwd -apr1 'secret-$u'`;
    chomp $hash;
    open my $fh, '>>', "$d/htpasswd" or die;
    print $fh "$u:$hash\n";
    close $fh;
}

chmod 0644, "$d/htpasswd";

$f->daemon('--policy', '--trust-header', 'VPNWS_BRIDGE=X-vpnws-Bridge',
           '--trust-header', 'REMOTE_USER=X-vpnws-User',
           '--trust-header', 'HTTPS_DN=X-vpnws-DN',
           '--trust-header', 'REMOTE_ADDR=X-vpnws-Addr');

# README's configuration, with the test's paths and ports
my $conf = <<"EOF";
Listen $port
Listen $tls

# every request to the daemon: the identity Apache established, set here
# (never passed from the client)
RequestHeader set X-vpnws-User "expr=%{REMOTE_USER}"
RequestHeader set X-vpnws-DN "expr=%{SSL_CLIENT_S_DN}"
RequestHeader set X-vpnws-Addr "expr=%{REMOTE_ADDR}"
RequestHeader unset Authorization
RequestHeader set X-vpnws-Bridge off

<VirtualHost *:$port>
    <Location /vpn>
        AuthType Basic
        AuthName "VPN"
        AuthBasicProvider file
        AuthUserFile $d/htpasswd
        Require valid-user
        ProxyPass unix:$sock|http://localhost/vpn upgrade=websocket
    </Location>

    # bridge mode granted to bob only (the daemon runs with --policy)
    <Location /vpn-bridge>
        AuthType Basic
        AuthName "VPN"
        AuthBasicProvider file
        AuthUserFile $d/htpasswd
        Require user bob
        RequestHeader set X-vpnws-Bridge on
        ProxyPass unix:$sock|http://localhost/vpn upgrade=websocket
    </Location>

    <Location /vpn-status>
        Require local
        SetEnv VPNWS_ADMIN on
        ProxyPass unix:$sock|uwsgi://localhost/
    </Location>

    # for the tests only: what does not work, and no auth at all
    <Location /vpn-uwsgi>
        ProxyPass unix:$sock|uwsgi://localhost/ upgrade=websocket
    </Location>
    <Location /open>
        ProxyPass unix:$sock|http://localhost/open upgrade=websocket
    </Location>
</VirtualHost>

<VirtualHost *:$tls>
    SSLEngine on
    SSLCertificateFile $d/srv.crt
    SSLCertificateKeyFile $d/srv.key
    SSLCACertificateFile $d/ca.crt
    SSLVerifyClient require
    <Location /vpn>
        ProxyPass unix:$sock|http://localhost/vpn upgrade=websocket
    </Location>
</VirtualHost>
EOF

my @modules = qw(authz_core authn_core authn_file auth_basic authz_user
                 authz_host headers env ssl proxy proxy_http proxy_uwsgi);

sub apache {
    $f->apache($conf, @modules);
    $f->wait_port($port, 'apache') or die "Apache does not listen:\n"
        . $e->read_file('apache.log') . $e->read_file('apache-error.log');
}

apache();

# why not mod_proxy_uwsgi: the 101 reaches the client without Upgrade
my $r = $f->raw_ws('uwsgi-ws', 'a', "10.213.1.1:$port", '/vpn-uwsgi', {}, 1);
like($r, qr{^HTTP/1\.1 101}, 'mod_proxy_uwsgi passes the 101 on');
unlike($r, qr/^Upgrade:/mi, 'but without Upgrade (a hop-by-hop header to '
       . 'mod_proxy_uwsgi): no websocket through it');
$f->stop('uwsgi-ws', 'KILL');

my %mac = (a => '02:13:00:00:00:01', b => '02:13:00:00:00:02');
my %user = (a => 'alice', b => 'bob');

for my $n (qw(a b)) {
    my $k = $n eq 'a' ? 1 : 2;
    $e->client($n, args => ['--mac', $mac{$n}], addr => "10.214.0.$k/24",
               url => "ws://$user{$n}:secret-$user{$n}\@10.213.$k.1:$port/vpn");
}

$f->traffic('Apache');

# the admin interface through mod_proxy_uwsgi, Apache's users in it
my $st = $f->status($port, '/vpn-status');
my $by = FrontEnd::peers_by_mac($st);
is($by->{$mac{a}}{REMOTE_USER}, 'alice', 'status (VPNWS_ADMIN on): '
   . 'REMOTE_USER alice from Apache\'s Basic auth') or diag(explain $st);
is($by->{$mac{b}}{REMOTE_USER}, 'bob', 'and bob');
is($by->{$mac{a}}{REMOTE_ADDR}, '10.213.1.2', 'REMOTE_ADDR as Apache saw it');

my ($code) = $f->http($port, 'GET', '/vpn-status', ns => 'a',
                      addr => '10.213.1.1');
is($code, 403, 'the admin location refuses a client (Require local)');

# a wrong password: 401 from Apache, the client retries and never joins
my $w = $e->client('a', tap => 'vpn9', args => ['-v'],
                   url => "ws://alice:wrong\@10.213.1.1:$port/vpn");
ok($e->wait_log($w, qr/"HTTP\/1\.1 401 Unauthorized"; retrying/),
   'a wrong password: 401');
unlike($e->client_log($w), qr/connected to ws:/, 'and no connection');
$e->stop_client($w);

# the identity header from a client: Apache's RequestHeader set wins
$r = $f->raw_ws('forge', 'a', "10.213.1.1:$port", '/vpn',
                { 'Authorization' => 'Basic YWxpY2U6c2VjcmV0LWFsaWNl',
                  'X-vpnws-User' => 'mallory',
                  'X-vpn-ws-MAC' => '02:13:00:00:00:07' }, 10);
like($r, qr{^HTTP/1\.1 101}, 'a client sending its own X-vpnws-User joins');
$r = $f->raw_ws('forge-open', 'a', "10.213.1.1:$port", '/open',
                { 'X-vpnws-User' => 'mallory', 'X_vpnws_User' => 'eve',
                  'X-vpn-ws-MAC' => '02:13:00:00:00:08' }, 10);
like($r, qr{^HTTP/1\.1 101}, 'and without Basic auth');
$by = FrontEnd::peers_by_mac($f->status($port, '/vpn-status'));
is($by->{'02:13:00:00:00:07'}{REMOTE_USER}, 'alice',
   'but is known by the user Apache checked');
is($by->{'02:13:00:00:00:08'}{REMOTE_USER} // '', '',
   'or by none without auth (the header was overwritten with nothing)');
$f->stop($_, 'KILL') for qw(forge forge-open);

# a right from Apache's config: bridge mode where it grants it, only there
my %basic = (alice => 'Basic YWxpY2U6c2VjcmV0LWFsaWNl',
             bob => 'Basic Ym9iOnNlY3JldC1ib2I=');
$r = $f->raw_ws('bridge-bob', 'a', "10.213.1.1:$port", '/vpn-bridge',
                { 'Authorization' => $basic{bob}, 'X-vpn-ws-bridge' => 'on' },
                1);
like($r, qr{^HTTP/1\.1 101}, 'bridge mode where Apache grants it (bob)');
$r = $f->raw_ws('bridge-alice', 'a', "10.213.1.1:$port", '/vpn',
                { 'Authorization' => $basic{alice}, 'X-vpn-ws-bridge' => 'on',
                  'X-vpnws-Bridge' => 'on' }, 1);
like($r, qr{^HTTP/1\.1 403}, 'refused elsewhere, whatever the client sends');
$f->stop($_, 'KILL') for qw(bridge-bob bridge-alice);

# client certificates: Apache verifies them, the DN reaches the daemon
my $c = $e->client('a', tap => 'vpn1',
                   args => ['--mac', '02:13:00:00:00:04', '--ca', "$d/ca.crt",
                            '--crt', "$d/client-a.crt",
                            '--key', "$d/client-a.key"],
                   url => "wss://10.213.1.1:$tls/vpn");
ok($e->wait_log($c, qr/connected to wss:/), 'wss:// with a client certificate');
$by = FrontEnd::peers_by_mac($f->status($port, '/vpn-status'));
like($by->{'02:13:00:00:00:04'}{DN} // '', qr/CN=client-a/,
     'the certificate DN reaches the daemon') or diag(explain $by);
$e->stop_client($c);

$c = $e->client('a', tap => 'vpn2', args => ['--mac', '02:13:00:00:00:05',
                '--ca', "$d/ca.crt", '-v'], url => "wss://10.213.1.1:$tls/vpn");
ok($e->wait_log($c, qr/retrying|error|fail/i, 10)
   && $e->client_log($c) !~ /connected to wss:/,
   'wss:// without a client certificate is refused');
$e->stop_client($c);

# Apache restarts: the clients reconnect by themselves
$f->stop('apache', 'TERM', 15);
ok(!$f->alive('apache'), 'Apache stopped');
apache();
ok($e->wait_ping('a', '10.214.0.2', 40), 'A reaches B after the restart');

my @bad = grep { /:(crit|alert|emerg)\]/ }
          split /\n/, $e->read_file('apache-error.log');
ok(!@bad, 'no [crit]/[alert]/[emerg] in Apache\'s log') or diag(join "\n", @bad);

$f->check_daemon_log(qr/refused websocket upgrade|refused HTTP request/);

$e->check_logs();

done_testing();
