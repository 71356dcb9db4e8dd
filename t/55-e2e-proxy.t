#!/usr/bin/perl

# End to end through an HTTP CONNECT proxy (--proxy and $http_proxy, with
# proxy credentials, $no_proxy), the dead-server timeout with pings, an
# existing tap device, and dropping privileges with --uid.

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
$e->nginx(workers => 1);
$e->proxy('s', 3128, 'pu:p@ss');

my $port = $E2E::PORT;

# --proxy with credentials; an existing (persistent) tap; --uid nobody
$e->sh('a', 'ip tuntap add dev vpn5 mode tap');
my $a = $e->client('a', tap => 'vpn5', addr => '10.214.0.1/24',
    args => ['--proxy', 'http://pu:p%40ss@10.213.1.1:3128',
             '--uid', 'nobody', '--gid', '65534', '--mtu', '1400'],
    url => "ws://10.213.1.1:$port/vpn");

# $http_proxy from the environment; fast pings, short dead-server timeout
my $b = $e->client('b', addr => '10.214.0.2/24',
    env => { http_proxy => 'http://pu:p%40ss@10.213.2.1:3128' },
    args => ['--ping-interval', '1', '--timeout', '3'],
    url => "ws://10.213.2.1:$port/vpn");

ok($e->wait_log($a, qr/connected to .*tap vpn5/),
    'A connected through --proxy, on the existing tap');
ok($e->wait_log($b, qr/connected to/), 'B connected through $http_proxy');
ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B through the proxy');

my $plog = $e->read_file('proxy.log');
like($plog, qr/^200 10\.213\.1\.1:$port$/m, 'proxy: CONNECT from A');
like($plog, qr/^200 10\.213\.2\.1:$port$/m, 'proxy: CONNECT from B');

my $st = $e->read_file("/proc/$a/status");
like($st, qr/^Uid:\s+65534\s+65534\s+65534/m, '--uid nobody: user dropped');
like($st, qr/^Gid:\s+65534\s+65534\s+65534/m, '--gid 65534: group dropped');
like($st, qr/^Groups:\s*(65534\s*)?$/m, 'no supplementary group but nobody\'s');
like($e->sh('a', 'ip link show vpn5'), qr/mtu 1400/, '--mtu 1400');

# wrong proxy credentials: retried, one clear line
my $w = $e->client('a', tap => 'vpn9',
    args => ['--proxy', 'http://pu:nope@10.213.1.1:3128'],
    url => "ws://10.213.1.1:$port/vpn");
ok($e->wait_log($w,
    qr/proxy 10\.213\.1\.1:3128 refused CONNECT: "HTTP\/1\.1 407 Proxy Auth.*retrying/),
    'proxy 407 reported and retried');
is($e->stop_client($w), 0, 'stopped');

# $no_proxy: a dead proxy is not used for this host
$w = $e->client('b', tap => 'vpn9',
    env => { http_proxy => 'http://10.213.2.1:1', no_proxy => 'x.org,10.213.2.1' },
    url => "ws://10.213.2.1:$port/vpn");
ok($e->wait_log($w, qr/connected to/), '$no_proxy honoured');
is($e->stop_client($w), 0, 'stopped');

# a frozen server: B's pings go unanswered, it gives up after 3 s
my ($worker) = $e->workers;
kill 'STOP', $worker;
my $t0 = time;
ok($e->wait_log($b, qr/connection lost: nothing from the server for 3 s/, 8),
    'frozen server detected by the timeout');
diag(sprintf 'dead server detected after %.1f s', time - $t0);
kill 'CONT', $worker;
ok($e->wait_ping('b', '10.214.0.1', 20), 'traffic resumes after the thaw');

# the tap was kept while reconnecting: same device, same address
like($e->sh('b', 'ip addr show dev vpn0'), qr/<[^>]*\bUP\b.*10\.214\.0\.2\//s,
    'the tap stayed up with its address');

$e->check_logs;

done_testing();
