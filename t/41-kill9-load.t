#!/usr/bin/perl

# vpnws: workers killed (SIGKILL) under traffic: 12 peers on 2 workers keep
# sending unicast and broadcast frames and reconnect (same MACs) whenever
# they lose their connection, while 5 workers are killed.  Only the expected
# alerts, no stale MACs, and the switch is whole afterwards.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse CLOSE);

my $N = 12;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

$t->expect_alerts(qr/worker process \d+ exited on signal 9/,
                  qr/shared memory zone .* was locked by \d+/);

sub mac { sprintf('02:00:00:00:10:%02x', $_[0]) }

# connect or reconnect peer $i; undef while its MAC is still held
sub connect_peer {
    my ($i) = @_;

    my $ws = $t->peer(mac => mac($i));
    return $ws->ok ? $ws : undef;
}

my @p = map { connect_peer($_) } 0 .. $N - 1;
is(scalar(grep { defined } @p), $N, "$N peers");

my @old;
my @kill_at = (0.5, 1.5, 2.5, 3.5, 4.5);
my $killed = 0;

my ($sent, $reconnects, $refused) = $t->churn(\@p, seconds => 6,
    connect => \&connect_peer, mac => \&mac,
    event => sub {
        return unless @kill_at && $_[0] >= $kill_at[0];
        shift @kill_at;
        my @w = $t->active_worker_pids();
        my $victim = $w[int rand @w];
        push @old, $victim;
        kill 'KILL', $victim;
        $killed++;
    });

diag("$sent frames sent, $reconnects reconnects, $refused refused "
     . "reconnects (MAC still held)");
ok($reconnects > 0, 'peers of killed workers reconnected');

ok($t->wait_pids_gone(5, @old), "the $killed killed workers are gone");

my @w;
for (1 .. 100) {
    @w = $t->active_worker_pids();
    last if @w == 2 && !grep { my $w = $_; grep { $_ == $w } @old } @w;
    select(undef, undef, undef, 0.05);
}
is(scalar @w, 2, 'the master respawned them');

# settle: every peer connected, then a full check
$_->close() for grep { defined } @p;
my $ok = 1;
my @q;
for my $i (0 .. $N - 1) {
    my $ws;
    for (1 .. 30) {
        last if $ws = connect_peer($i);
        select(undef, undef, undef, 0.1);
    }
    $ok = 0 unless $ws;
    push @q, $ws;
}
ok($ok, 'every MAC is free again: no stale entries of killed workers');

SKIP: {
    skip 'peers missing', 1 unless $ok;

    $q[$_]->send_eth('ff:ff:ff:ff:ff:ff', mac($_), 0x0806, "b$_")
        for 0 .. $N - 1;
    my $got = VpnwsWS->collect(\@q, want => $N - 1, timeout => 5);
    is(scalar(grep { @$_ == $N - 1 } @$got), $N,
       'after the kills, broadcasts reach every peer');
    is(scalar @{($t->status || {})->{peers} || []}, $N,
       'status lists the live peers only');
}

$_->close(clean => 1) for grep { defined } @q;

$t->done();
