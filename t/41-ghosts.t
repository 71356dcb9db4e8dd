#!/usr/bin/perl

# A worker of an older generation that dies while shutting down (kill -9
# during a reload) leaves no ghost peers: whatever a dead pid holds is
# purged, whatever its generation.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

$t->expect_alerts(qr/exited on signal 9/);

sub peer_info {
    my ($mac) = @_;
    for my $sp (@{($t->status() || {})->{peers} || []}) {
        return $sp if lc($sp->{MAC} // '') eq lc $mac;
    }
    return undef;
}

my $A = '02:00:00:00:41:0a';
my $a = $t->peer_ok(mac => $A);
my $pid = peer_info($A)->{pid};
ok($pid, "a's worker: $pid");

# the worker cannot take its shutdown signal while stopped; it dies with
# its peer still registered
kill 'STOP', $pid;
my @old = $t->reload();
kill 'KILL', $pid;
ok($t->wait_pids_gone(5, $pid), 'the old worker died shutting down');

my $deadline = time() + 5;
sleep(0.1) while peer_info($A) && time() < $deadline;
ok(!peer_info($A), 'its peer is not listed (no ghost)');
is(($t->status() || {})->{macs_used}, 0, 'and its MAC is gone');
ok(scalar $t->error_log_lines(qr/removed 1 peers and 1 MACs of 1 worker /),
   'the purge is logged');

my $b = $t->peer_ok(mac => $A);
ok($b->ok, 'the MAC can be taken again');

$a->close();
$b->close();

$t->done();
