#!/usr/bin/perl

# vpnws: 200 concurrent peers on 2 workers and a broadcast storm: each peer
# sends 3 broadcasts, each peer gets every other peer's broadcasts exactly
# once, in bounded time; then all close cleanly and the switch is empty.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $N = 200;
my $K = 3;

VpnwsTest::raise_nofile(4 * $N);
my $limit = VpnwsTest::nofile_limit() // 0;
plan(skip_all => "the fd limit $limit is too low for $N peers")
    if $limit < 2 * $N;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1,
                                connections => 1024);

sub mac { sprintf('02:00:00:00:%02x:%02x', $_[0] >> 8, $_[0] & 0xff) }

my $start = time();
my @p;
for my $i (0 .. $N - 1) {
    my $ws = $t->peer(mac => mac($i));
    last unless $ws->ok;
    push @p, $ws;
}
is(scalar @p, $N, "$N peers connected");
diag(sprintf('%d peers connected in %.1f s', scalar @p, time() - $start));

my $st = $t->status;
is(scalar @{$st->{peers} || []}, $N, "status lists $N peers");
my %w = map { $_->{worker} // 'none' => 1 } @{$st->{peers} || []};
ok(keys %w >= 2, 'they sit on ' . scalar(keys %w) . ' workers');

$start = time();
for my $k (1 .. $K) {
    for my $i (0 .. $#p) {
        $p[$i]->send_eth('ff:ff:ff:ff:ff:ff', mac($i), 0x0806, "$i/$k");
    }
}

my $want = $K * ($N - 1);
my $got = VpnwsWS->collect(\@p, want => $want, timeout => 60);
my $took = time() - $start;
my $extra = VpnwsWS->collect(\@p, quiet => 0.5, timeout => 3);

diag(sprintf('%d broadcasts, %d deliveries in %.1f s', $K * $N,
             $K * $N * ($N - 1), $took));

my ($complete, $once, $bad) = (1, 1, 0);
for my $i (0 .. $#p) {
    my %seen;
    $seen{(eth_parse($_))[3] // 'bad'}++ for @{$got->[$i]}, @{$extra->[$i]};

    my $missing = 0;
    for my $j (0 .. $#p) {
        next if $j == $i;
        for my $k (1 .. $K) {
            $missing++ unless $seen{"$j/$k"};
        }
    }

    if ($missing) {
        $complete = 0;
        diag("peer $i missed $missing broadcasts") if $bad++ < 5;
    }

    if ($seen{"$i/1"} || grep { $_ != 1 } values %seen) {
        $once = 0;
        diag("peer $i got duplicates or its own") if $bad++ < 5;
    }
}

ok($complete, "every peer got the $want broadcasts of the others");
ok($once, 'exactly once each, never its own');
ok($took < 60, sprintf('in %.1f s', $took));

my $drops = $t->drops();
is(($drops->{queue_full} // 0) + ($drops->{ipc_full} // 0), 0,
   'no queue_full or ipc_full drops');

# all close cleanly: Close 1000 answered by Close
$_->send_close(1000, 'bye', ignore_errors => 1) for @p;
my $closed = 0;
for my $ws (@p) {
    my $code = $ws->recv_close(5);
    $closed++ if defined $code && $ws->wait_eof(5);
}
is($closed, $N, 'every peer closes cleanly');

my $left;
for (1 .. 30) {
    $left = scalar @{($t->status || {})->{peers} || []};
    last if $left == 0;
    select(undef, undef, undef, 0.1);
}
is($left, 0, 'the switch is empty after they left');

$t->done();
