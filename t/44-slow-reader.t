#!/usr/bin/perl

# vpnws: a peer that never reads must not slow the others down nor make
# nginx buffer without bound: while two peers exchange 20000 broadcast
# frames, the two get (nearly) all of them, the worker's RSS stays bounded,
# the slow peer's drops are counted, and it still works once it reads.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $FRAMES = 10000;        # per sender
my $SIZE = 1000;

sub run_case {
    my (%o) = @_;

    my $what = $o{what};
    my $t = VpnwsTest->start_switch(workers => $o{workers},
                                    reuseport => $o{workers} > 1,
                                    params => 'queue=128k');

    my $A = '02:00:00:00:06:0a';
    my $B = '02:00:00:00:06:0b';
    my $S = '02:00:00:00:06:05';

    my $a = $t->peer_ok(mac => $A);
    my $b = $t->peer_ok(mac => $B);
    my $s = $t->peer_ok(mac => $S, rcvbuf => 4096);

    my %rss = map { $_ => $t->rss_kb($_) } $t->worker_pids();

    my $fa = VpnwsWS->build_frame(2, eth_frame('ff:ff:ff:ff:ff:ff', $A,
                                               0x88b5, 'a' x $SIZE));
    my $fb = VpnwsWS->build_frame(2, eth_frame('ff:ff:ff:ff:ff:ff', $B,
                                               0x88b5, 'b' x $SIZE));

    my ($got_a, $got_b) = (0, 0);
    my $count = sub {
        my $g = VpnwsWS->collect([$a, $b], timeout => $_[0] // 0,
                                 want => $_[1]);
        $got_a += @{$g->[0]};
        $got_b += @{$g->[1]};
    };

    my $start = time();

    for my $i (1 .. $FRAMES) {
        $a->send_raw($fa);
        $b->send_raw($fb);
        $count->(0) if $i % 20 == 0;
    }

    # the rest, until both have everything or 20 s passed
    my $deadline = time() + 20;
    while (time() < $deadline && ($got_a < $FRAMES || $got_b < $FRAMES)) {
        my $before = $got_a + $got_b;
        $count->(0.5);
        last if $got_a + $got_b == $before;
    }

    my $took = time() - $start;
    diag(sprintf('%s: %d + %d of %d frames in %.1f s', $what, $got_a,
                 $got_b, 2 * $FRAMES, $took));

    ok($got_a >= 0.99 * $FRAMES && $got_a <= $FRAMES,
       "$what: peer A got $got_a of $FRAMES frames");
    ok($got_b >= 0.99 * $FRAMES && $got_b <= $FRAMES,
       "$what: peer B got $got_b of $FRAMES frames");

    my $grew = 0;
    for my $pid (keys %rss) {
        my $now = $t->rss_kb($pid) // 0;
        diag("$what: worker $pid RSS $rss{$pid} kB -> $now kB");
        $grew = $now - $rss{$pid} if $now - $rss{$pid} > $grew;
    }
    ok($grew < 16 * 1024, "$what: worker RSS grew by $grew kB (< 16 MB)");

    my $st = $t->status;
    my ($sp) = grep { lc($_->{MAC} // '') eq $S } @{$st->{peers} || []};
    my $qf = ($st->{drops} || {})->{queue_full} // 0;
    my $ipc = ($st->{drops} || {})->{ipc_full} // 0;

    ok($sp, "$what: the slow peer is still connected");
    if ($sp && defined $sp->{drops}) {
        ok($sp->{drops} > 0, "$what: status counts $sp->{drops} drops for "
           . 'the slow peer');
    } else {
        ok($qf > 0, "$what: status counts $qf queue_full drops");
    }
    ok($qf + $ipc > 0, "$what: queue_full $qf, ipc_full $ipc");
    ok(!$sp || !defined $sp->{queued} || $sp->{queued} <= 128 * 1024,
       "$what: the slow peer's queue is bounded ("
       . ($sp->{queued} // '?') . ' bytes)');

    # the slow peer reads now: it drains and then gets new frames
    $a->send_eth($S, $A, 0x0800, 'marker');
    my ($marker, $n) = (0, 0);
    $deadline = time() + 20;
    while (time() < $deadline) {
        my $f = $s->recv_eth(2);
        last unless defined $f;
        $n++;
        if ((eth_parse($f))[3] eq 'marker') {
            $marker = 1;
            last;
        }
    }
    ok($marker, "$what: once it reads, the slow peer gets new frames "
       . "(after $n queued ones)");

    $_->close(clean => 1) for $a, $b, $s;

    return $t;
}

my $t = run_case(what => '1 worker', workers => 1);
$t->done(no_done_testing => 1);

$t = run_case(what => '2 workers', workers => 2);
$t->done();
