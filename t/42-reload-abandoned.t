#!/usr/bin/perl

# Reloads that nginx abandons after the switch zones were set up: a listen
# socket that cannot be bound, and worker sockets or tap queues that
# cannot be made.  The reload fails with a log line, the master and the old
# workers go on, the switch's generation stays: a worker killed afterwards
# is respawned in the old cycle, its predecessor's peers are purged, and
# its own peers reach the others.  Runs in a network namespace of its own
# (the switch has a real tap).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

VpnwsTest->enter_netns();

my $t = VpnwsTest->new()->has_module();
my $tap = "vr$$";

sub conf {
    my (%o) = @_;
    return $t->switch_conf(workers => 2, reuseport => 1,
                           params => "tap=$tap tap_bridge=on", %o);
}

$t->write_file_expand('nginx.conf', conf());
$t->run();

$t->expect_alerts(qr/bind\(\) to 127\.0\.0\.1:\d+ failed/,
                  qr/still could not bind/, qr/exited on signal 9/,
                  qr/queue \d+ of 300/);

my $master = $t->master_pid;
my @workers = $t->worker_pids();

sub peer_info {
    my ($mac) = @_;
    for my $sp (@{($t->status() || {})->{peers} || []}) {
        return $sp if lc($sp->{MAC} // '') eq lc $mac;
    }
    return undef;
}

# a on one worker, b on the other
my ($a, $A, $b, $B);
my @spare;
for my $i (1 .. 24) {
    my $mac = sprintf('02:00:00:00:42:%02x', 0x40 + $i);
    my $ws = $t->peer_ok(mac => $mac);
    if (!$a) {
        ($a, $A) = ($ws, $mac);
    } elsif (peer_info($mac)->{pid} != peer_info($A)->{pid}) {
        ($b, $B) = ($ws, $mac);
        last;
    } else {
        push @spare, $ws;
    }
}
die "no peers on two workers\n" unless $b;
$_->close() for @spare;

###############################################################################
# 1. the bind fails after the zones were set up

my $port = $t->port(8081);
my $hold = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                 Listen => 1, ReuseAddr => 1)
    or die "listen $port: $!\n";

$t->write_file_expand('nginx.conf', conf(server => '}
    server {
        listen 127.0.0.1:%%PORT_8081%%;'));
$t->signal('HUP');

my $deadline = time() + 10;
sleep(0.1) until $t->error_log_lines(qr/still could not bind/)
    || time() > $deadline;
ok(scalar $t->error_log_lines(qr/still could not bind/),
   'reload 1 failed: the port is taken');
ok($t->pid_alive($master), 'the master lives');
is(join(' ', $t->active_worker_pids()), join(' ', @workers),
   'the old workers go on');

# a worker dies: the master respawns it in the old cycle
my $ia = peer_info($A);
my $dead = $ia->{pid};
kill 'KILL', $dead;
ok($t->wait_pids_gone(5, $dead), "a's worker killed");
undef $a;

$deadline = time() + 10;
sleep(0.05) until $t->active_worker_pids() == 2 || time() > $deadline;
my ($respawned) = grep { $_ != $dead && !grep { $_ == $dead } () }
    grep { my $p = $_; !grep { $_ == $p } @workers } $t->active_worker_pids();
ok($respawned, 'a worker was respawned');

$deadline = time() + 5;
sleep(0.1) while peer_info($A) && time() < $deadline;
ok(!peer_info($A), 'no ghost: the killed worker\'s peer is gone');
ok(peer_info($B), 'b, of the other worker, is listed');

# a peer of the respawned worker and b reach each other
my $c;
my @others;
for my $i (1 .. 24) {
    my $mac = sprintf('02:00:00:00:42:%02x', 0x20 + $i);
    my $ws = $t->peer_ok(mac => $mac);
    if ((peer_info($mac) || {})->{pid} == $respawned) {
        $c = [$ws, $mac];
        last;
    }
    push @others, $ws;
}
$_->close() for @others;

SKIP: {
    skip 'no connection landed on the respawned worker', 2 unless $c;

    my ($cw, $C) = @$c;
    $cw->send_eth($B, $C, 0x0800, 'c to b');
    ok($b->wait_payload('c to b'), 'a peer of the respawned worker reaches b');
    $b->send_eth($C, $B, 0x0800, 'b to c');
    ok($cw->wait_payload('b to c'), 'and b reaches it');
    $cw->close();
}

close $hold;

###############################################################################
# 2. init_module work that fails: 300 workers need 300 tap queues, a tap
# has at most 256.  That ended the master once.

$t->write_file_expand('nginx.conf', conf(workers => 300));
$t->signal('HUP');

$deadline = time() + 10;
sleep(0.1) until $t->error_log_lines(qr/queue \d+ of 300/)
    || !$t->pid_alive($master) || time() > $deadline;
ok(scalar $t->error_log_lines(qr/\[emerg\].*tap=\Q$tap\E: queue \d+ of 300/),
   'reload 2 failed with a log line');
sleep(0.5);
ok($t->pid_alive($master), 'the master lives');
is(scalar $t->active_worker_pids(), 2, 'two workers serve');

$b->send_eth('ff:ff:ff:ff:ff:ff', $B, 0x0800, 'still here');
my $d = $t->peer_ok(mac => '02:00:00:00:42:0d');
$d->send_eth($B, '02:00:00:00:42:0d', 0x0800, 'd to b');
ok($b->wait_payload('d to b'), 'the switch works');

# and a good reload after all that
$t->write_file_expand('nginx.conf', conf());
$_->close() for grep { defined } $b, $d;
my @old = $t->reload();
ok($t->wait_pids_gone(10, @old), 'a good reload: the old workers exit');
my $e = $t->peer_ok(mac => '02:00:00:00:42:0e');
my $f = $t->peer_ok(mac => '02:00:00:00:42:0f');
$e->send_eth('02:00:00:00:42:0f', '02:00:00:00:42:0e', 0x0800, 'e to f');
ok($f->wait_payload('e to f'), 'a good reload: new peers reach each other')
    or diag(explain($t->status()));

$_->close() for grep { defined } $e, $f;

$t->done();
