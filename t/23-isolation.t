#!/usr/bin/perl

# vpnws: isolation=on (DESIGN.md section 4 rule 7) across four nginx
# workers: ordinary peers reach only bridge ports, never each other, when
# the frames cross workers (the shared zone and the IPC between workers).
# Module-only: the daemon is one process.  The rule itself, with one
# worker and against the daemon too, is in t/lib/SwitchCases.pm
# (t/60-switch-daemon.t, t/61-switch-module.t).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $BCAST = 'ff:ff:ff:ff:ff:ff';
my $G = '0a:00:00:00:00:01';       # the gateway behind the bridge

sub payload { (eth_parse($_[0]))[3] }
sub mac { sprintf('02:00:00:00:0f:%02x', $_[0]) }

my $w = '4 workers';

my $t = VpnwsTest->start_switch(params => 'isolation=on', workers => 4,
                                reuseport => 1);

my $N = 8;
my @p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;
my $br = $t->peer_ok(bridge => 'on');
my ($a, $b) = @p[0, 1];

my %on = map { ($t->worker_of($_) // 0) => 1 } @p, $br;
ok(keys %on >= 2, "$w: peers on " . scalar(keys %on) . ' workers');

# the bridge reaches every peer (and so learns its gateway MAC)
$br->send_eth(mac($_), $G, 0x0800, "gw to $_") for 0 .. $N - 1;
my $got = VpnwsWS->collect(\@p, want => 1, timeout => 3);
is(scalar(grep { (payload($got->[$_][0]) // '') eq "gw to $_" }
          0 .. $N - 1), $N, "$w: the bridge reaches each peer");

# each peer reaches the bridge
for my $i (0 .. $N - 1) {
    $p[$i]->send_eth($G, mac($i), 0x0800, "to gw $i");
}
$got = VpnwsWS->collect([$br], want => $N, timeout => 3)->[0];
is(scalar @$got, $N, "$w: each peer reaches the bridge");

# peers do not reach each other: unicast, broadcast, multicast
my $before = $t->drops();
for my $i (0 .. $N - 1) {
    for my $j (0 .. $N - 1) {
        $p[$i]->send_eth(mac($j), mac($i), 0x0800, "$i to $j")
            if $i != $j;
    }
    $p[$i]->send_eth($BCAST, mac($i), 0x0806, "bcast $i");
    $p[$i]->send_eth('33:33:00:00:00:01', mac($i), 0x86dd, "mcast $i");
    $p[$i]->send_eth($G, mac($i), 0x0800, "marker $i");
}

$got = VpnwsWS->collect([$br], want => 3 * $N, timeout => 5)->[0];
my %seen = map { payload($_) => 1 } @$got;
is(scalar(grep { $seen{"bcast $_"} && $seen{"mcast $_"}
                 && $seen{"marker $_"} } 0 .. $N - 1), $N,
   "$w: broadcasts, multicasts and unicasts of peers reach the bridge");

my $leaks = VpnwsWS->collect(\@p, quiet => 0.5, timeout => 3);
my @leaked = map { payload($_) } map { @$_ } @$leaks;
is("@leaked", '', "$w: no peer gets anything from another peer");
is(($t->drops()->{isolated} // 0) - ($before->{isolated} // 0),
   $N * ($N - 1), "$w: the unicasts are counted as isolated");

# unknown unicast from a peer goes to the bridge, not to peers
$a->send_eth('0a:00:00:00:00:99', mac(0), 0x0800, 'unknown');
is(payload($br->recv_eth(3)), 'unknown', "$w: unknown unicast reaches "
   . 'the bridge');
ok($b->expect_nothing(0.3), "$w: not the other peer");

# the bridge's broadcast reaches every peer
$br->send_eth($BCAST, $G, 0x0806, 'gw bcast');
$got = VpnwsWS->collect(\@p, want => 1, timeout => 3);
is(scalar(grep { (payload($_->[0]) // '') eq 'gw bcast' } @$got), $N,
   "$w: the bridge's broadcast reaches every peer");
ok($br->expect_nothing(0.2), "$w: not the bridge itself");

# two bridges reach each other
my $br2 = $t->peer_ok(bridge => 'on');
$br2->send_eth($G, '0a:00:00:00:00:02', 0x0800, 'bridge to bridge');
is(payload($br->recv_eth(3)), 'bridge to bridge',
   "$w: bridge to bridge passes");

$_->close(clean => 1) for @p, $br, $br2;

$t->done();
