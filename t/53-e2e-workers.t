#!/usr/bin/perl

# End to end with 2 workers and reuseport: clients on any worker reach each
# other; the worker holding a client is SIGKILLed and the client reconnects
# with traffic resuming; a reload (Close 1001) moves clients to the new
# workers.  Client A is the ASan/UBSan build.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use E2E;

my $e = E2E->new();

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->nginx(workers => 2);

my $port = $E2E::PORT;

is(scalar(my @w = $e->workers), 2, 'two workers');

my $a = $e->client('a', asan => 1, addr => '10.214.0.1/24',
    url => "ws://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24', args => ['-v'],
    url => "ws://10.213.2.1:$port/vpn");

ok($e->wait_log($a, qr/connected to/), 'A connected');
ok($e->wait_log($b, qr/connected to/), 'B connected');
ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B');

my $wa = $e->worker_of('10.213.1.2');
my $wb = $e->worker_of('10.213.2.2');
ok($wa && $wb, "A on worker $wa, B on worker $wb");

# SIGKILL the worker holding A: its socket dies, nginx respawns a worker
$e->allow_alert(qr/worker process $wa exited on signal 9/);
kill 'KILL', $wa;
my $t0 = time;

ok($e->wait_log($a, qr/connection lost: .*\n(.*\n)*.*connected to/, 15),
    'A noticed the loss and reconnected');
ok($e->wait_ping('a', '10.214.0.2', 15), 'traffic resumes');
diag(sprintf 'worker killed -> ping through again in %.1f s', time - $t0);
isnt($e->worker_of('10.213.1.2'), $wa, 'A is on a live worker');
ok(!defined $e->wait_exit($a, 0.1), 'A kept running');

# a reload: old workers say Close 1001, clients reconnect to new ones
my @old = $e->workers;
kill 'HUP', $e->{nginx};
my $end = time + 10;
while (time < $end) {
    my %now = map { $_ => 1 } $e->workers;
    last unless grep { $now{$_} } @old;
    sleep 0.2;
}
ok($e->wait_log($b, qr/server closed the websocket \(1001, going away\)/,
    10), 'B got Close 1001 on reload');
ok($e->wait_ping('b', '10.214.0.1', 15), 'traffic resumes after reload');

my $st = $e->status;
is(scalar @{$st->{peers} || []}, 2, 'two peers after all that')
    or diag(explain $st);

is($e->stop_client($a), 0, 'A (ASan) exits cleanly');

$e->check_logs;

done_testing();
