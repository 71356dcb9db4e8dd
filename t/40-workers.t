#!/usr/bin/perl

# vpnws: one switch over 4 workers (listen ... reuseport): peers sit on
# different workers, a broadcast reaches every other peer exactly once,
# unicast crosses workers both ways, status sees every peer.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $N = 24;

my $t = VpnwsTest->start_switch(workers => 4, reuseport => 1);

is(scalar $t->worker_pids(), 4, '4 workers');

sub mac { sprintf('02:00:00:00:01:%02x', $_[0]) }

my @p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;

# where the peers are: by the status' "worker" and by their sockets
my $st = $t->status;
my %worker = map { lc $_->{MAC} => $_->{worker} } @{$st->{peers} || []};
is(scalar keys %worker, $N, "status lists the $N peers");

my %workers = map { ($_ // 'none') => 1 } values %worker;
ok(keys %workers >= 2, 'status: the peers sit on '
   . scalar(keys %workers) . ' workers') or diag(explain($st));

my %pids = map { ($t->worker_of($_) // 'none') => 1 } @p;
ok(!$pids{none} && keys %pids >= 2, 'sockets: the peers sit on '
   . scalar(keys %pids) . ' worker processes') or diag(explain(\%pids));

# status answers the same whichever worker takes the request
my $same = 1;
for (1 .. 10) {
    my $s = $t->status;
    $same = 0 unless $s && @{$s->{peers} || []} == $N;
}
ok($same, 'every worker\'s status sees all peers');


###############################################################################
# broadcast: each peer sends one, each gets N - 1, once each

for my $i (0 .. $N - 1) {
    $p[$i]->send_eth('ff:ff:ff:ff:ff:ff', mac($i), 0x0806, "bcast $i");
}

my $got = VpnwsWS->collect(\@p, want => $N - 1, timeout => 10);
my $extra = VpnwsWS->collect(\@p, quiet => 0.5, timeout => 2);

my ($ok, $once) = (1, 1);
for my $i (0 .. $N - 1) {
    my %seen;
    $seen{(eth_parse($_))[3]}++ for @{$got->[$i]}, @{$extra->[$i]};

    my @want = map { "bcast $_" } grep { $_ != $i } 0 .. $N - 1;
    if (grep { !$seen{$_} } @want) {
        $ok = 0;
        diag("peer $i missed: "
             . join(', ', grep { !$seen{$_} } @want));
    }
    if (grep { $_ != 1 } values %seen) {
        $once = 0;
        diag("peer $i got: " . join(', ', map { "$_ x$seen{$_}" }
                                    sort keys %seen));
    }
}
ok($ok, "every broadcast reaches the $N - 1 other peers across workers");
ok($once, 'exactly once each, never the sender');


###############################################################################
# unicast: every peer to every other, both ways across workers

for my $i (0 .. $N - 1) {
    for my $j (0 .. $N - 1) {
        next if $i == $j;
        $p[$i]->send_eth(mac($j), mac($i), 0x0800, "$i to $j");
    }
}

$got = VpnwsWS->collect(\@p, want => $N - 1, timeout => 10);
$extra = VpnwsWS->collect(\@p, quiet => 0.5, timeout => 2);

($ok, $once) = (1, 1);
my $cross = 0;
for my $j (0 .. $N - 1) {
    my %seen;
    for my $f (@{$got->[$j]}, @{$extra->[$j]}) {
        my ($dst, $src, $type, $payload) = eth_parse($f);
        $seen{$payload}++;
        $once = 0 unless $dst eq mac($j);
    }
    for my $i (0 .. $N - 1) {
        next if $i == $j;
        if (!$seen{"$i to $j"}) {
            $ok = 0;
            diag("$i to $j lost (workers $worker{mac($i)} to "
                 . "$worker{mac($j)})");
        }
        $cross++ if $seen{"$i to $j"}
            && $worker{mac($i)} != $worker{mac($j)};
    }
    $once = 0 if grep { $_ != 1 } values %seen;
    $once = 0 if keys %seen != $N - 1;
}
ok($ok, 'unicast between every pair of peers arrives');
ok($once, 'each at its destination only, once');
ok($cross > 0, "$cross of them crossed workers");

# ordering across workers: 200 frames from one peer to one on another worker
my ($x) = grep { $worker{mac($_)} != $worker{mac(0)} } 1 .. $N - 1;
SKIP: {
    skip 'all peers on one worker', 1 unless defined $x;

    $p[0]->send_eth(mac($x), mac(0), 0x0800, "seq $_") for 1 .. 200;
    my @seq = map { (eth_parse($p[$x]->recv_eth(3)))[3] // 'lost' } 1 .. 200;
    is("@seq", join(' ', map { "seq $_" } 1 .. 200),
       '200 frames across workers arrive in order');
}

$_->close(clean => 1) for @p;

# peers leave the registry when they close
my $left;
for (1 .. 20) {
    $left = scalar @{($t->status || {})->{peers} || []};
    last if $left == 0;
    select(undef, undef, undef, 0.1);
}
is($left, 0, 'status: no peers after they closed');

$t->done();
