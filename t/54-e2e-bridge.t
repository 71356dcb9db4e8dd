#!/usr/bin/perl

# End to end in bridge mode: client A (--bridge, ASan build) has its tap in
# a Linux bridge with a veth to a LAN host (namespace "l"); client B reaches
# that host through the switch, and the server learns the host's MAC.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use E2E;

my $e = E2E->new();

$e->ns($_) for qw(s a b l);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->nginx(workers => 1);

my $port = $E2E::PORT;
my ($lns, $ans) = ($e->nsname('l'), $e->nsname('a'));

# the LAN of A: br0 with a veth to host L
$e->sh('a', 'ip link add br0 type bridge && ip link set br0 up'
    . ' && ip addr add 10.214.0.1/24 dev br0');
system("ip link add lan0 netns $ans type veth peer name eth0 netns $lns") == 0
    or die 'veth to the LAN host';
$e->sh('a', 'ip link set lan0 master br0 && ip link set lan0 up');
$e->sh('l', 'ip link set eth0 address 02:13:00:00:00:50'
    . ' && ip addr add 10.214.0.50/24 dev eth0 && ip link set eth0 up');

my $a = $e->client('a', asan => 1,
    args => ['--bridge', '--exec', 'ip link set $VPNWS_TAP master br0'],
    url => "ws://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24',
    url => "ws://10.213.2.1:$port/vpn");

ok($e->wait_log($a, qr/connected to .*bridge\)/), 'bridge client connected');
ok($e->wait_log($b, qr/connected to/), 'B connected');

ok($e->wait_ping('b', '10.214.0.50', 15), 'B pings host L behind A');
ok($e->wait_ping('l', '10.214.0.2', 5), 'host L pings B');
ok($e->wait_ping('b', '10.214.0.1', 5), 'B pings A\'s bridge address');

my ($mbps, $raw) = $e->iperf('b', 'l', '10.214.0.50', 2);
ok($mbps && $mbps > 1, 'TCP from B to host L') or diag($raw);
diag(sprintf 'ws:// iperf3 B -> LAN host behind a bridge client %.0f Mbit/s',
    $mbps // 0);

my $st = $e->status;
my ($peer) = grep { $_->{bridge} } @{$st->{peers} || []};
ok($peer, 'the server marks A as a bridge') or diag(explain $st);
ok($peer && grep({ uc($_) eq '02:13:00:00:00:50' } @{$peer->{macs} || []}),
    'and learned host L\'s MAC behind it') or diag(explain $st);

# SIGTERM while frames stream in both directions: a busy tap and socket
# must not keep the signal from being seen
$e->sh('l', 'iperf3 -s -D -1 -p 5202 >/dev/null 2>&1');
sleep 0.3;
$e->sh('b', '(iperf3 -c 10.214.0.50 -p 5202 -t 6 --bidir >/dev/null 2>&1 &)');
sleep 1.5;
my $t0 = time;
is($e->stop_client($a), 0, 'bridge client (ASan) exits cleanly under load');
ok(time - $t0 < 2, sprintf('and at once (%.2f s)', time - $t0));

$e->check_logs;

done_testing();
