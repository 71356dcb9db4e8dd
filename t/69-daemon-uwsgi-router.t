#!/usr/bin/perl

# vpnws end to end: the vpn-ws daemon behind the uWSGI HTTP router
# (Debian's uwsgi-core, "uwsgi --http ... --http-websockets --http-to
# SOCKET"), the second front end the original vpn-ws names.  Own clients
# with taps in namespaces: ping, 1400-byte ping, iperf3 TCP, the HTTPS
# router with client certificates (DN in the status), the admin interface
# through a router with --http-modifier1 1, what the router does with Basic
# credentials (it checks none), and a reconnect after the router restarts.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;
use FrontEnd;

my $UWSGI = '/usr/bin/uwsgi-core';

my $e = E2E->new(timeout => 120);

plan(skip_all => "no $UWSGI (uwsgi-core)") unless -x $UWSGI;
plan(skip_all => "no $E2E::BUILD/vpn-ws (run make)")
    unless -x "$E2E::BUILD/vpn-ws";
plan(skip_all => 'no http plugin of uwsgi-core')
    unless -f '/usr/lib/uwsgi/plugins/http_plugin.so';

my $f = FrontEnd->new($e);
my $d = $e->dir;
my $sock = $f->socket_path;
my $port = $E2E::PORT;
my ($tls, $admin) = ($port + 1, $port + 2);

$e->make_pki(san => 'IP:10.213.1.1,IP:10.213.2.1');

$f->daemon();

# one router for the clients (ws:// and wss:// with a client certificate
# required: "!" before the CA), as README's block; one on loopback for the
# admin interface
sub ini {
    my ($name, @lines) = @_;

    $e->write_file("$name.ini", join "\n", '[uwsgi]', 'plugin = http',
                   'master = true', 'die-on-term = true', 'uid = nobody',
                   'gid = nogroup', "http-to = $sock", @lines, '');

    $f->spawn($name, "$name.log", $UWSGI, '--ini', "$d/$name.ini");
}

sub router {
    ini('router', "http = 0.0.0.0:$port",
        "https = 0.0.0.0:$tls,$d/srv.crt,$d/srv.key,HIGH,!$d/ca.crt",
        'http-websockets = true');
    $f->wait_port($port, 'router') or die "the router does not listen:\n"
        . $e->read_file('router.log');
}

router();

ini('admin', "http = 127.0.0.1:$admin", 'http-modifier1 = 1');
$f->wait_port($admin, 'admin') or die "the admin router does not listen:\n"
    . $e->read_file('admin.log');

my %mac = (a => '02:13:00:00:00:01', b => '02:13:00:00:00:02');

for my $n (qw(a b)) {
    my $k = $n eq 'a' ? 1 : 2;
    $e->client($n, args => ['--mac', $mac{$n}], addr => "10.214.0.$k/24",
               url => "ws://10.213.$k.1:$port/vpn");
}

$f->traffic('uWSGI router');

# the admin interface: modifier1 1 is the router's --http-modifier1
my $st = $f->status($admin, '/status');
my $by = FrontEnd::peers_by_mac($st);
ok($by->{$mac{a}} && $by->{$mac{b}},
   'admin through a router with --http-modifier1 1 shows both peers')
    or diag(explain $st);
is($by->{$mac{a}}{REMOTE_ADDR}, '10.213.1.2',
   'REMOTE_ADDR is the client address the router saw');

# Basic credentials: the router checks none and sets no REMOTE_USER
my $c = $e->client('a', tap => 'vpn1', args => ['--mac', '02:13:00:00:00:03'],
                   url => "ws://alice:wrong\@10.213.1.1:$port/vpn");
ok($e->wait_log($c, qr/connected to ws:/),
   'the router lets any Basic credentials through (it has no auth)');
$st = $f->status($admin, '/status');
$by = FrontEnd::peers_by_mac($st);
is($by->{'02:13:00:00:00:03'}{REMOTE_USER} // '', '',
   'and the daemon gets no REMOTE_USER from it') or diag(explain $st);
$e->stop_client($c);

# client certificates: the HTTPS router verifies them and passes HTTPS_DN
$c = $e->client('a', tap => 'vpn1',
                args => ['--mac', '02:13:00:00:00:04', '--ca', "$d/ca.crt",
                         '--crt', "$d/client-a.crt", '--key', "$d/client-a.key"],
                url => "wss://10.213.1.1:$tls/vpn");
ok($e->wait_log($c, qr/connected to wss:/), 'wss:// with a client certificate');

$st = $f->status($admin, '/status');
$by = FrontEnd::peers_by_mac($st);
like($by->{'02:13:00:00:00:04'}{DN} // '', qr/CN\s*=\s*client-a/,
     'the certificate DN reaches the daemon (HTTPS_DN)') or diag(explain $st);
$e->stop_client($c);

my $n = $e->client('a', tap => 'vpn2', args => ['--mac', '02:13:00:00:00:05',
                   '--ca', "$d/ca.crt", '-v'],
                   url => "wss://10.213.1.1:$tls/vpn");
ok($e->wait_log($n, qr/retrying|error|fail/i, 10)
   && $e->client_log($n) !~ /connected to wss:/,
   'wss:// without a client certificate is refused');
$e->stop_client($n);

# the router restarts: the clients reconnect by themselves
$f->stop('router', 'INT', 10);
ok(!$f->alive('router'), 'the router stopped');
router();
ok($e->wait_ping('a', '10.214.0.2', 40), 'A reaches B after the restart');

$f->check_daemon_log();

$e->check_logs();

done_testing();
