#!/usr/bin/perl

# vpnws: isolation=on (DESIGN.md section 4 rule 7): ordinary peers reach
# only bridge ports, never each other; bridges reach everybody.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->start_switch(params => 'isolation=on');

my $A = '02:00:00:00:00:0a';
my $B = '02:00:00:00:00:0b';
my $G = '0a:00:00:00:00:01';       # the gateway behind the bridge
my $BCAST = 'ff:ff:ff:ff:ff:ff';

sub payload { (eth_parse($_[0]))[3] }

my $a = $t->peer_ok(mac => $A);
my $b = $t->peer_ok(mac => $B);
my $br = $t->peer_ok(bridge => 'on');

# the bridge reaches a peer (and so learns its gateway MAC)
$br->send_eth($A, $G, 0x0800, 'gw to a');
is(payload($a->recv_eth(3)), 'gw to a', 'bridge to peer A: unicast passes');
$br->send_eth($B, $G, 0x0800, 'gw to b');
is(payload($b->recv_eth(3)), 'gw to b', 'bridge to peer B: unicast passes');

# a peer reaches the bridge
$a->send_eth($G, $A, 0x0800, 'a to gw');
is(payload($br->recv_eth(3)), 'a to gw', 'peer A to the bridge passes');

# peers do not reach each other
my $before = $t->drops();
$a->send_eth($B, $A, 0x0800, 'a to b');
$a->send_eth($G, $A, 0x0800, 'marker');
is(payload($br->recv_eth(3)), 'marker', 'marker after A to B');
ok($b->expect_nothing(0.3), 'peer A to peer B: dropped');
is(($t->drops()->{isolated} // 0) - ($before->{isolated} // 0), 1,
   'counted as isolated');

$b->send_eth($A, $B, 0x0800, 'b to a');
$b->send_eth($G, $B, 0x0800, 'marker');
is(payload($br->recv_eth(3)), 'marker', 'marker after B to A');
ok($a->expect_nothing(0.3), 'peer B to peer A: dropped');

# a peer's broadcast reaches the bridge only
$a->send_eth($BCAST, $A, 0x0806, 'who has');
is(payload($br->recv_eth(3)), 'who has', 'broadcast from a peer reaches the '
   . 'bridge');
ok($b->expect_nothing(0.3), 'but not the other peer');
ok($a->expect_nothing(0.1), 'nor its sender');

$a->send_eth('33:33:00:00:00:01', $A, 0x86dd, 'mcast');
is(payload($br->recv_eth(3)), 'mcast', 'multicast from a peer reaches the '
   . 'bridge');
ok($b->expect_nothing(0.3), 'but not the other peer');

# unknown unicast from a peer goes to the bridge
$a->send_eth('0a:00:00:00:00:99', $A, 0x0800, 'unknown');
is(payload($br->recv_eth(3)), 'unknown', 'unknown unicast reaches the bridge');
ok($b->expect_nothing(0.3), 'not the other peer');

# the bridge's broadcast reaches every peer
$br->send_eth($BCAST, $G, 0x0806, 'gw bcast');
is(payload($a->recv_eth(3)), 'gw bcast', 'bridge broadcast reaches A');
is(payload($b->recv_eth(3)), 'gw bcast', 'bridge broadcast reaches B');
ok($br->expect_nothing(0.2), 'not the bridge itself');

# two bridges reach each other
my $br2 = $t->peer_ok(bridge => 'on');
$br2->send_eth($G, '0a:00:00:00:00:02', 0x0800, 'bridge to bridge');
is(payload($br->recv_eth(3)), 'bridge to bridge', 'bridge to bridge passes');

$_->close(clean => 1) for $a, $b, $br, $br2;

$t->done();
