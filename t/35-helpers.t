#!/usr/bin/perl

# nginx's cache manager and cache loader (any proxy_cache_path) run the
# module's init_process too, with ngx_worker 0: they must not join a switch
# (they once purged worker 0's live peers as a "dead predecessor" and read
# tap queue 0).  And the server tap's MACs belong to the master, which lives
# as long as the tap: never to a worker, which may die while the tap lives.
# The test runs in a network namespace of its own, with a real tap.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

VpnwsTest->enter_netns();

# no IPv6 chatter (router solicitations, MLD) from the tap
system('sysctl -qw net.ipv6.conf.default.disable_ipv6=1 '
       . 'net.ipv6.conf.all.disable_ipv6=1');

my $t = VpnwsTest->new()->has_module();
my $tap = "vt$$";
my $p = $t->prefix;

$t->write_file_expand('nginx.conf', $t->switch_conf(
    workers => 2,
    reuseport => 1,
    params => "tap=$tap",
    http => "    proxy_cache_path $p/cache keys_zone=c:1m;\n",
));
$t->run();

# kill -9 of a worker and of the cache manager: the master says so
$t->expect_alerts(qr/exited on signal 9/);

sub helper {
    my ($re) = @_;
    my ($pid) = grep { $t->_title($_) =~ $re }
        VpnwsTest::_children($t->master_pid);
    return $pid;
}

sub wait_helper {
    my ($re, $not) = @_;
    my $deadline = time() + 10;
    while (time() < $deadline) {
        my $pid = helper($re);
        return $pid if $pid && (!$not || $pid != $not);
        sleep(0.05);
    }
    return undef;
}

sub names {
    my $st = $t->status() || {};
    return join ' ', sort map { lc($_->{MAC} // '') . '/' . $_->{REMOTE_ADDR} }
        @{$st->{peers} || []};
}

my $A = '02:00:00:00:35:0a';
my $B = '02:00:00:00:35:0b';

my $a = $t->peer_ok(mac => $A);
my $b = $t->peer_ok(mac => $B);

my $before = names();
like($before, qr/\Q$A\E/, 'peer a listed');
like($before, qr/\Q$B\E/, 'peer b listed');
like($before, qr/tap:\Q$tap\E/, 'the tap is a port');

# the cache manager respawns: it must not purge, claim or read anything
my $cm = wait_helper(qr/cache manager/);
ok($cm, 'a cache manager runs');
kill 'KILL', $cm;
my $cm2 = wait_helper(qr/cache manager/, $cm);
ok($cm2, 'and was respawned');
sleep(0.5);

# the fds a process's epoll instances watch that are tap queues
sub polled_taps {
    my ($pid) = @_;
    my $n = 0;
    opendir(my $d, "/proc/$pid/fd") or return -1;
    for my $fd (grep { /^\d+$/ } readdir $d) {
        next unless (readlink("/proc/$pid/fd/$fd") // '') =~ /eventpoll/;
        open my $fh, '<', "/proc/$pid/fdinfo/$fd" or next;
        while (my $l = <$fh>) {
            next unless $l =~ /^tfd:\s*(\d+)/;
            $n++ if (readlink("/proc/$pid/fd/$1") // '') eq '/dev/net/tun';
        }
    }
    return $n;
}

is(polled_taps($cm2), 0, 'the cache manager polls no tap queue');
ok(polled_taps($_) > 0, "worker $_ polls its tap queue")
    for $t->worker_pids();

is(names(), $before, 'the peers survive a respawned cache manager');
is(scalar $t->error_log_lines(qr/removed \d+ peers/), 0,
   'nothing was purged');

$a->send_eth($B, $A, 0x0800, 'a to b');
ok($b->wait_payload('a to b'), 'a reaches b');
$b->send_eth($A, $B, 0x0800, 'b to a');
ok($a->wait_payload('b to a'), 'b reaches a');

my $x = $t->peer(mac => $A);
is($x->status, 409, 'a\'s MAC is still held');
$x->close();

# frames the kernel puts on the tap reach the peers: no helper reads a
# queue.  Many flows, so both queues carry some.
# (/sys is the root namespace's: ask ip)
my ($tmac) = `ip -o link show $tap` =~ m{link/ether ([0-9a-f:]{17})};
ok($tmac, "the tap's MAC: " . ($tmac // 'none'));

system("ip addr add 10.235.0.1/24 dev $tap") == 0 or die "ip addr\n";
system("ip neigh replace 10.235.0.10 lladdr $A dev $tap") == 0
    or die "ip neigh\n";

my $n = 40;
my $u = IO::Socket::INET->new(Proto => 'udp') or die "udp: $!\n";

for my $i (1 .. $n) {
    $u->send("flow $i", 0, Socket::pack_sockaddr_in(20000 + $i,
                                                   Socket::inet_aton('10.235.0.10')));
}

my %got;
my $deadline = time() + 5;
while (time() < $deadline && keys %got < $n) {
    my $f = $a->recv_eth(0.5) // next;
    my ($dst, $src, $type, $payload) = eth_parse($f);
    next unless $type == 0x0800 && lc $src eq $tmac;
    $got{$1} = 1 if $payload =~ /flow (\d+)$/;
}
is(scalar keys %got, $n, "every one of $n flows from the tap reached a");

# the tap's MAC, learned by both workers from its frames, stays the tap's
# when the worker that learned it last dies: it belongs to the master.
# (Worker 0 claims it at start; worker 1 learns it from its first frame.)
my %pid_of;
my @probes;
for (1 .. 16) {
    for my $sp (@{($t->status() || {})->{peers} || []}) {
        $pid_of{$sp->{worker}} = $sp->{pid} if defined $sp->{pid}
            && $sp->{REMOTE_ADDR} !~ /^tap:/;
    }
    last if defined $pid_of{1};
    push @probes, $t->peer_ok();
}
ok($pid_of{1}, 'worker 1 found');
$_->close() for @probes;

kill 'KILL', $pid_of{1};
ok($t->wait_pids_gone(5, $pid_of{1}), 'worker 1 killed');

my $deadline2 = time() + 10;
sleep(0.05) while $t->active_worker_pids() < 2 && time() < $deadline2;
is(scalar $t->active_worker_pids(), 2, 'and respawned');

my $y = $t->peer(mac => $tmac);
is($y->status, 409, 'the tap\'s MAC cannot be claimed after a worker that '
   . 'learned it died') or diag("got $y->{status}");
$y->close();

$a->close();
$b->close();

$t->done();
