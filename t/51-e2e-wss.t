#!/usr/bin/perl

# End to end over wss://: a CA made by the test, the server certificate
# verified by the client (--ca) for an IP address and a host name (SNI),
# ping and TCP through the tunnel, and the fatal verification errors.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;

my $e = E2E->new();
my $d = $e->dir;

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);

# 10.213.2.1 is left out on purpose: B's name check must fail there
$e->make_pki(san => 'IP:10.213.1.1,IP:fd13:213:2::1,DNS:localhost');

$e->nginx(workers => 1, ssl => 1,
    http => q{log_format sni '$remote_addr sni=$ssl_server_name $request';},
    server => "ssl_certificate $d/srv.crt; ssl_certificate_key $d/srv.key;"
        . " access_log $d/sni.log sni;");

my $port = $E2E::PORT;

my $a = $e->client('a', addr => '10.214.0.1/24', args => ['--ca', "$d/ca.crt"],
    url => "wss://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24', args => ['--ca', "$d/ca.crt"],
    url => "wss://[fd13:213:2::1]:$port/vpn");

ok($e->wait_log($a, qr/connected to wss:/), 'A verified the server (IPv4)');
ok($e->wait_log($b, qr/connected to wss:/), 'B verified the server (IPv6)');

ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B over wss://');

my $rtt = $e->ping_rtt('a', '10.214.0.2', 20);
ok(defined $rtt, 'no loss over 20 pings');
diag(sprintf 'wss:// ping RTT %.3f ms (avg of 20)', $rtt // -1);

my ($mbps, $raw) = $e->iperf('a', 'b', '10.214.0.2', 3);
ok($mbps && $mbps > 1, 'iperf3 TCP A -> B over wss://') or diag($raw);
diag(sprintf 'wss:// iperf3 TCP throughput %.0f Mbit/s', $mbps // 0);

# records read ahead: B stopped while 40 pings come, each frame its own
# TLS record; woken, B reads them in one recv() and must deliver every one
# to its tap, not only those of one read batch (16) before it sleeps again
sub rx { $e->sh('b', 'cat /sys/class/net/vpn0/statistics/rx_packets') + 0 }
kill 'STOP', $b;
$e->sh('a', 'ping -c 40 -i 0.02 -W 1 -q 10.214.0.2', 1);
my $rx0 = rx();
kill 'CONT', $b;
my $got = 0;
for (1 .. 20) {
    $got = rx() - $rx0;
    last if $got >= 40;
    select(undef, undef, undef, 0.1);
}
ok($got >= 40, "40 frames buffered in TLS records all reach B's tap ($got)");

# a host name: hostname verification and SNI (a client in nginx's own
# namespace, where localhost is the server)
my $c = $e->client('s', addr => '10.214.0.3/24', args => ['--ca', "$d/ca.crt"],
    url => "wss://localhost:$port/vpn");
ok($e->wait_log($c, qr/connected to wss:\/\/localhost/),
    'C verified the server by name');
ok($e->wait_ping('s', '10.214.0.1', 10), 'C pings A');

# the access log line is written when a websocket ends
is($e->stop_client($c), 0, 'C stops');
is($e->stop_client($a), 0, 'A stops');
sleep 0.5;
like($e->read_file('sni.log'), qr/sni=localhost GET \/vpn/, 'C sent SNI');
like($e->read_file('sni.log'), qr/^10\.213\.1\.2 sni=- /m,
    'no SNI for an address literal');

# fatal on the first connection: exit code 6, the reason on one line
my $p = $e->client('b', tap => 'vpn9', args => ['--ca', "$d/ca.crt"],
    url => "wss://10.213.2.1:$port/vpn");
is($e->wait_exit($p, 10), 6, 'name mismatch: exit code 6');
like($e->client_log($p), qr/certificate of 10\.213\.2\.1 rejected/,
    'mismatch reported');

$p = $e->client('a', tap => 'vpn9', args => ['--ca', "$d/other-ca.crt"],
    url => "wss://10.213.1.1:$port/vpn");
is($e->wait_exit($p, 10), 6, 'unknown CA: exit code 6');
like($e->client_log($p), qr/rejected: unable to get local issuer/,
    'unknown CA reported with the reason');

$p = $e->client('a', tap => 'vpn9', args => ['--ca', "$d/nonexistent.crt"],
    url => "wss://10.213.1.1:$port/vpn");
is($e->wait_exit($p, 10), 4, 'unreadable --ca: exit code 4');
like($e->client_log($p), qr/--ca ".*": No such file/, 'and says why');

# --no-verify connects, and says loudly that it is insecure
$p = $e->client('b', tap => 'vpn9', args => ['--no-verify'],
    url => "wss://10.213.2.1:$port/vpn");
ok($e->wait_log($p, qr/connected to wss:/), '--no-verify connects');
like($e->client_log($p), qr/WARNING: --no-verify: .*NOT verified/,
    '--no-verify warns');
is($e->stop_client($p), 0, 'and stops on SIGTERM');

$e->check_logs;

done_testing();
