#!/usr/bin/perl

# vpnws: reloads that change worker_processes (2 -> 4 -> 1 -> 3): the
# cross-worker channels follow, every pair of peers reaches each other
# after each reload, broadcasts arrive once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $N = 16;

sub mac { sprintf('02:00:00:00:0c:%02x', $_[0]) }

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

sub mesh {
    my ($what) = @_;

    my @p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;
    my %w = map { ($t->worker_of($_) // 0) => 1 } @p;

    for my $i (0 .. $N - 1) {
        for my $j (0 .. $N - 1) {
            $p[$i]->send_eth(mac($j), mac($i), 0x0800, "$i>$j") if $i != $j;
        }
        $p[$i]->send_eth('ff:ff:ff:ff:ff:ff', mac($i), 0x0806, "b$i");
    }

    my $got = VpnwsWS->collect(\@p, want => 2 * ($N - 1), timeout => 10);
    my $extra = VpnwsWS->collect(\@p, quiet => 0.3, timeout => 1);

    my $ok = 1;
    for my $j (0 .. $N - 1) {
        my %seen;
        $seen{(eth_parse($_))[3]}++ for @{$got->[$j]}, @{$extra->[$j]};
        my @want = map { ("$_>$j", "b$_") } grep { $_ != $j } 0 .. $N - 1;
        $ok = 0 if grep { ($seen{$_} // 0) != 1 } @want;
        $ok = 0 if keys %seen != @want;
    }

    ok($ok, "$what: $N peers on " . scalar(keys %w) . ' workers, full mesh '
       . 'and broadcasts, once each');

    return @p;
}

my @p = mesh('2 workers');

for my $n (4, 1, 3) {
    $t->write_file_expand('nginx.conf',
        $t->switch_conf(workers => $n, reuseport => 1));
    my @old = $t->reload(workers => $n);
    my @codes = map { $_->recv_close(5) // 'none' } @p;
    is("@codes", join(' ', (1001) x $N), "reload to $n workers: Close 1001");
    $_->close() for @p;
    ok($t->wait_pids_gone(10, @old), "reload to $n workers: old ones exit");
    is(scalar $t->active_worker_pids(), $n, "$n workers run");

    @p = mesh("$n workers");
}

$_->close(clean => 1) for @p;

$t->done();
