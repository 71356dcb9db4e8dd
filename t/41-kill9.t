#!/usr/bin/perl

# vpnws: a worker killed with SIGKILL leaves no stale MACs: a new peer can
# announce a dead peer's MAC and gets its frames, frames to other dead MACs
# are unknown again (they reach the bridge, nothing swallows them), peers
# on the other worker and on the respawned worker keep working.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

$t->expect_alerts(qr/worker process \d+ exited on signal 9/,
                  qr/shared memory zone .* was locked by \d+/);

sub mac { sprintf('02:00:00:00:02:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

# peers until both workers hold at least two, one bridge on each
my (%on, %macof, @all);
my $n = 0;

while ($n < 200) {
    my $ws = $t->peer_ok(mac => mac($n));
    my $pid = $t->worker_of($ws);
    $macof{$ws} = mac($n);
    push @{$on{$pid}}, $ws;
    push @all, $ws;
    $n++;
    last if keys %on == 2 && !grep { @$_ < 2 } values %on;
}

is(scalar keys %on, 2, 'peers on both workers');

my ($victim_pid, $other_pid) = keys %on;
my @dead = @{$on{$victim_pid}};
my @live = @{$on{$other_pid}};

# a bridge on the surviving worker
my $br;
for (1 .. 50) {
    my $ws = $t->peer_ok(bridge => 'on');
    if ($t->worker_of($ws) == $other_pid) {
        $br = $ws;
        last;
    }
    $ws->close(clean => 1);
}
ok($br, 'a bridge peer on the surviving worker');
$br->send_eth($macof{$live[0]}, '0a:00:00:00:00:01', 0x0800, 'hello');
is(payload($live[0]->recv_eth(3)), 'hello', 'the bridge is known');

# a bridge on the victim, with a host behind it
my $vbr;
for (1 .. 50) {
    my $ws = $t->peer_ok(bridge => 'on');
    if ($t->worker_of($ws) == $victim_pid) {
        $vbr = $ws;
        last;
    }
    $ws->close(clean => 1);
}
ok($vbr, 'a bridge peer on the victim worker');
$vbr->send_eth($macof{$live[0]}, '0a:00:00:00:00:99', 0x0800, 'behind');
is(payload($live[0]->recv_eth(3)), 'behind', 'the victim bridge\'s host is '
   . 'known');
$live[0]->send_eth('0a:00:00:00:00:99', $macof{$live[0]}, 0x0800, 'known');
is(payload($vbr->recv_eth(3)), 'known', 'frames to it reach the victim '
   . 'bridge');
ok($br->expect_nothing(0.3), 'and not the other bridge');
push @dead, $vbr;

# before: traffic to a peer on the victim works
$live[0]->send_eth($macof{$dead[0]}, $macof{$live[0]}, 0x0800, 'before');
is(payload($dead[0]->recv_eth(3)), 'before', 'cross-worker unicast before');

kill 'KILL', $victim_pid;
ok($t->wait_pids_gone(5, $victim_pid), 'the worker is killed');

my $eof = 1;
$eof &&= $_->wait_eof(3) for @dead;
ok($eof, 'its peers lose their connections');

# the master respawns it
my @new;
for (1 .. 100) {
    @new = grep { $_ != $other_pid && $_ != $victim_pid }
        $t->active_worker_pids();
    last if @new;
    select(undef, undef, undef, 0.05);
}
is(scalar @new, 1, 'the master respawned the worker');

# a new peer takes a dead peer's MAC and gets its frames
my $dmac = $macof{$dead[0]};
my $heir = $t->peer(mac => $dmac);
is($heir->status, 101, 'a dead peer\'s MAC can be announced again');

$live[0]->send_eth($dmac, $macof{$live[0]}, 0x0800, 'to the heir');
is(payload($heir->recv_eth(3)), 'to the heir', 'frames to it reach the new '
   . 'peer');
ok($br->expect_nothing(0.3), 'and not the bridge');

$heir->send_eth($macof{$live[1]}, $dmac, 0x0800, 'from the heir');
is(payload($live[1]->recv_eth(3)), 'from the heir', 'the new peer sends');

# another dead MAC, not taken again: unknown, so it reaches the bridge
my $dmac2 = $macof{$dead[1]};
$live[0]->send_eth($dmac2, $macof{$live[0]}, 0x0800, 'to the dead');
is(payload($br->recv_eth(3)), 'to the dead',
   'a dead peer\'s MAC is unknown: its frames reach the bridge');

# the dead bridge's learned host is unknown: flooded to the live bridge
$live[0]->send_eth('0a:00:00:00:00:99', $macof{$live[0]}, 0x0800, 'orphan');
is(payload($br->recv_eth(3)), 'orphan',
   'a MAC learned by a dead bridge is unknown: it reaches the live bridge');

# survivors keep working
$live[0]->send_eth($macof{$live[1]}, $macof{$live[0]}, 0x0800, 'alive');
is(payload($live[1]->recv_eth(3)), 'alive', 'peers on the other worker '
   . 'still talk');

$live[1]->send_eth('ff:ff:ff:ff:ff:ff', $macof{$live[1]}, 0x0806, 'all');
my $got = VpnwsWS->collect([$live[0], $heir, $br], want => 1, timeout => 3);
is(join(',', map { payload($_->[0]) // 'lost' } @$got), 'all,all,all',
   'a broadcast reaches the survivors and the new peer');

# peers land on the respawned worker and work there
my $fresh;
for my $i (1 .. 100) {
    my $ws = $t->peer_ok(mac => sprintf('02:00:00:00:03:%02x', $i));
    if (($t->worker_of($ws) // 0) == $new[0]) {
        $fresh = $ws;
        $macof{$ws} = sprintf('02:00:00:00:03:%02x', $i);
        last;
    }
    push @all, $ws;
}
ok($fresh, 'a peer on the respawned worker');
$fresh->send_eth($macof{$live[0]}, $macof{$fresh}, 0x0800, 'from new');
is(payload($live[0]->recv_eth(3)), 'from new', 'respawned worker to the '
   . 'other');
$live[0]->send_eth($macof{$fresh}, $macof{$live[0]}, 0x0800, 'to new');
is(payload($fresh->recv_eth(3)), 'to new', 'the other to the respawned '
   . 'worker');

# status forgets the dead peers
my $st;
my %dead_macs = map { lc $macof{$_} => 1 }
    grep { defined $macof{$_} } @dead[1 .. $#dead];
for (1 .. 20) {
    $st = $t->status;
    last unless grep { $dead_macs{lc($_->{MAC} // '')} } @{$st->{peers}};
    select(undef, undef, undef, 0.1);
}
ok(!grep({ $dead_macs{lc($_->{MAC} // '')} } @{$st->{peers} || []}),
   'status does not list the dead peers') or diag(explain($st));
is(scalar(grep { $_->{bridge} } @{$st->{peers} || []}), 1,
   'status lists the live bridge only');

$_->close(clean => 1) for @live, $heir, $br, $fresh;

$t->done();
