#!/usr/bin/perl

# vpnws end to end: the switch's own tap in bridge mode.  The server
# namespace has a Linux bridge br0 with a veth to a "LAN" namespace; nginx
# creates the tap (tap=, tap_bridge=on) and tap_exec puts it into br0.  Two
# clients in namespaces of their own reach the LAN host and each other.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();

$e->ns('s');
$e->ns('a');
$e->ns('b');
$e->ns('l');
$e->uplink('a', 1);
$e->uplink('b', 2);

my $tap = $e->nsname('t');
$tap =~ s/^vwe/vt/;
$tap = substr($tap, 0, 15);

# the LAN: br0 in the server namespace, a veth to the LAN host
$e->sh('s', 'ip link add br0 type bridge && ip link set br0 up');
my ($s, $l) = ($e->nsname('s'), $e->nsname('l'));
system("ip link add lan0 netns $s type veth peer name eth0 netns $l") == 0
    or die "veth to the LAN namespace\n";
$e->sh('s', 'ip link set lan0 master br0 && ip link set lan0 up');
$e->sh('l', 'ip addr add 10.214.0.100/24 dev eth0 && ip link set eth0 up');

my $hook = $e->dir . '/tap_exec.txt';
$e->nginx(workers => 2,
    switch => "tap=$tap tap_bridge=on "
              . '"tap_exec=ip link set $VPNWS_TAP master br0 && '
              . "exec >$hook && " . 'echo switch=$VPNWS_SWITCH && '
              . 'ls /proc/$$/fd"');

my $dev = `ip netns exec $s ip -d link show $tap 2>&1`;
like($dev, qr/master br0/, 'tap_exec put the tap into the bridge');

# the environment and descriptors of every host's exec hook
my $out = $e->read_file($hook);
like($out, qr/^switch=office$/m, 'tap_exec has $VPNWS_SWITCH');
is(join(' ', sort { $a <=> $b } grep { /^\d+$/ } split /\s+/,
        ($out =~ /\n(.*)/s)[0] // ''), '0 1 2',
   'tap_exec inherits descriptors 0-2 only (no listener, no tap queue)');
like($dev, qr/multi_queue numqueues 2/, 'a tap queue per worker');

my $st = $e->status();
my ($tp) = grep { ($_->{REMOTE_ADDR} // '') eq "tap:$tap" } @{$st->{peers}};
ok($tp && $tp->{bridge}, 'the tap is a bridge port in the status');

$e->client('a', url => "ws://10.213.1.1:$E2E::PORT/vpn",
           addr => '10.214.0.1/24');
$e->client('b', url => "ws://10.213.2.1:$E2E::PORT/vpn",
           addr => '10.214.0.2/24');

ok($e->wait_ping('a', '10.214.0.100', 20), 'client A reaches the LAN host');
ok($e->wait_ping('b', '10.214.0.100', 20), 'client B reaches the LAN host');
ok($e->wait_ping('a', '10.214.0.2', 10), 'client A reaches client B');
ok($e->wait_ping('l', '10.214.0.1', 10), 'the LAN host reaches client A');

$st = $e->status();
($tp) = grep { ($_->{REMOTE_ADDR} // '') eq "tap:$tap" } @{$st->{peers}};
ok($tp && grep({ $_ } @{$tp->{macs} || []}) >= 1,
   'the tap learned the LAN host\'s MAC');

$e->check_logs();

done_testing();
