#!/usr/bin/perl

# End to end: the TCP congestion control of the websocket's own
# connection.  vpn-ws-client --congestion reno and nginx's
# vpnws_congestion reno put reno on both ends (ss -tni in each namespace);
# a client without the option keeps its namespace's default; the option
# holds after a reconnect, over wss:// and through an HTTP proxy.  At
# start the client refuses bad names, an algorithm the kernel lacks, and,
# after --uid nobody, one only root may take (exit code 2, one line).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use Congestion;
use E2E;

my $e = E2E->new();

$e->ns($_) for qw(s a b c);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->uplink('c', 3);

my $d = $e->make_pki(san => 'IP:10.213.3.1');
my $port = $E2E::PORT;
my $tls = 8443;

# the namespaces' default: what a socket without the option gets
my $def = $e->sh('a', 'cat /proc/sys/net/ipv4/tcp_congestion_control');
chomp $def;
plan(skip_all => "the default is reno here: reno would show nothing")
    if $def eq 'reno';

# /vpn and the wss:// server: reno; /plain: the default
$e->nginx(workers => 1,
    loc => 'vpnws_congestion reno;',
    server => 'location /plain { vpnws office; vpnws_bridge on; }',
    http => "server { listen $tls ssl; ssl_certificate $d/srv.crt; "
        . "ssl_certificate_key $d/srv.key; vpnws_congestion reno; "
        . 'location /vpn { vpnws office; vpnws_bridge on; } }');
$e->proxy('s', 3128);

# the algorithms of the established connections ss selects in namespace $n
sub ca {
    my ($n, $filter) = @_;
    my @ca = Congestion::of(scalar $e->sh($n,
        "ss -tniH state established '( $filter )'"));
    return @ca == 1 ? $ca[0] : scalar(@ca) . " connections: @ca";
}

my $a = $e->client('a', addr => '10.214.0.1/24',
    args => ['--congestion', 'reno', '--mac', '02:13:00:00:00:01'],
    url => "ws://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24',
    args => ['--mac', '02:13:00:00:00:02'],
    url => "ws://10.213.2.1:$port/plain");

ok($e->wait_log($a, qr/connected to ws:/), 'A (--congestion reno) connected');
ok($e->wait_log($b, qr/connected to ws:/), 'B (no option) connected');
ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B');

is(ca('a', "dport = :$port"), 'reno', 'A\'s end of its websocket: reno');
is(ca('s', "sport = :$port and dst 10.213.1.2"), 'reno',
   'nginx\'s end (vpnws_congestion reno): reno');
is(ca('b', "dport = :$port"), $def, "B's end: the default, $def");
is(ca('s', "sport = :$port and dst 10.213.2.2"), $def,
   "nginx's end in /plain: the default, $def");

my ($pa) = grep { $_->{MAC} eq '02:13:00:00:00:01' }
    @{$e->status->{peers} || []};
is($pa && $pa->{congestion}, 'reno', 'status: A\'s "congestion" is reno');

# a reconnect sets it again: A's peer closed from the status location
my $post = 'use IO::Socket::INET; my $s = IO::Socket::INET->new(PeerAddr'
    . " => q{127.0.0.1:$port}) or die; print \$s qq{POST /status?kill="
    . ($pa ? $pa->{id} : 0) . ' HTTP/1.0\r\nHost: x\r\nContent-Length: 0'
    . '\r\n\r\n}; local $/; print <$s>;';
like(scalar $e->sh('s', "perl -e '$post'"), qr/^HTTP\/1\.1 200/,
     'A\'s peer closed through the status location');
ok($e->wait_log($a, qr/connected to ws:.*\n(?s:.*)connected to ws:/, 20),
   'A reconnected');
ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B again');
is(ca('a', "dport = :$port"), 'reno', 'the new connection: reno again');

# wss:// through an HTTP proxy: the client's socket is the one to the proxy
my $c = $e->client('c', addr => '10.214.0.3/24',
    args => ['--congestion', 'reno', '--ca', "$d/ca.crt",
             '--proxy', 'http://10.213.3.1:3128'],
    url => "wss://10.213.3.1:$tls/vpn");
ok($e->wait_log($c, qr/connected to wss:/), 'C connected over wss:// '
   . 'through the proxy');
ok($e->wait_ping('c', '10.214.0.2', 15), 'C pings B');
is(ca('c', 'dport = :3128'), 'reno', 'C\'s end, to the proxy: reno');
is(ca('s', "sport = :$tls"), 'reno', 'nginx\'s end of the wss:// '
   . 'connection (server level): reno');

# refused at start: one line, exit code 2, before any tap exists
my @bad = (
    ['', qr/--congestion "": empty; a name like cubic, reno or bbr expected/],
    ['abcdefghijklmnop', qr/--congestion "abcdefghijklmnop": longer than 15/],
    ['cu bic', qr/--congestion "cu bic": only a-z, 0-9, "_" and "-" may/],
    ['nonexistent', qr/--congestion nonexistent: not available on this (?#
                      )kernel \(available: [^)]*\breno\b[^)]*\)$/m],
);

for my $case (@bad) {
    my ($alg, $re) = @$case;
    my $p = $e->client('a', tap => 'vpn9', args => ['--congestion', $alg],
                       url => "ws://10.213.1.1:$port/vpn");
    is($e->wait_exit($p, 5), 2, "--congestion '$alg': exit code 2");
    my $log = $e->client_log($p);
    like($log, $re, "--congestion '$alg': the reason");
    is(scalar(() = $log =~ /\n/g), 1, "--congestion '$alg': one line");
}
unlike($e->sh('a', 'ip -o link'), qr/vpn9/, 'no tap was left behind');

SKIP: {
    my $limited = Congestion::restricted();
    skip('every available algorithm is allowed to every user: no EPERM '
         . 'case', 3) unless $limited;

    my $p = $e->client('a', tap => 'vpn9',
        args => ['--uid', 'nobody', '--congestion', $limited],
        url => "ws://10.213.1.1:$port/vpn");
    is($e->wait_exit($p, 5), 2, "--uid nobody --congestion $limited: "
       . 'exit code 2');
    my $fix = "--congestion $limited: not permitted for this user (add it"
        . ' to net.ipv4.tcp_allowed_congestion_control)';
    like($e->client_log($p), qr/\Q$fix\E/, 'and the fix');
    unlike($e->client_log($p), qr/connected to/, 'before connecting');
}

$e->check_logs();

done_testing();
