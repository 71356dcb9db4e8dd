#!/usr/bin/perl

# End to end over ws://: two vpn-ws-clients in their own namespaces, real
# tap devices, ping and TCP through nginx; broadcast (ARP, broadcast ping),
# a 9000-byte MTU, an IPv6 server address, the status JSON, and the
# client's exit codes for errors a user can act on.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;

my $e = E2E->new();

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->nginx(workers => 1);

my $port = $E2E::PORT;

# B over an IPv6 server address
my $a = $e->client('a', addr => '10.214.0.1/24',
    args => ['--mac', '02:13:00:00:00:01'],
    url => "ws://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24',
    args => ['--mac', '02:13:00:00:00:02', '-v'],
    url => "ws://[fd13:213:2::1]:$port/vpn");

ok($e->wait_log($a, qr/connected to ws:/), 'client A connected');
ok($e->wait_log($b, qr/connected to ws:\/\/\[fd13:213:2::1\]/),
    'client B connected over IPv6');

ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B through nginx');

my $rtt = $e->ping_rtt('a', '10.214.0.2', 20);
ok(defined $rtt, 'no loss over 20 pings');
diag(sprintf 'ws:// ping RTT %.3f ms (avg of 20)', $rtt // -1);

# the neighbour entry came from a flooded ARP request and its reply
like($e->sh('a', 'ip neigh show 10.214.0.2 dev vpn0'),
    qr/02:13:00:00:00:02/i, 'ARP resolved B through the switch');

# broadcast IP: B answers a ping to the subnet broadcast address
$e->sh('b', 'sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0');
like(scalar $e->sh('a', 'ping -n -b -c2 -W2 10.214.0.255', 1),
    qr/from 10\.214\.0\.2/, 'broadcast ping reaches B');

# status JSON: two peers, their MACs
my $st = $e->status;
my @macs = sort map { $_->{MAC} // '' } @{$st->{peers} || []};
is_deeply(\@macs, ['02:13:00:00:00:01', '02:13:00:00:00:02'],
    'status shows both peers') or diag(explain $st);

# full-size frames on a 1500-MTU tap, then TCP throughput
is($e->ping_rtt('a', '10.214.0.2', 3, '-s 1472 -M do') ? 1 : 0, 1,
    '1500-byte IP packets pass unfragmented');

my ($mbps, $raw) = $e->iperf('a', 'b', '10.214.0.2', 3);
ok($mbps && $mbps > 1, 'iperf3 TCP A -> B over a 1500-MTU tap')
    or diag($raw);
diag(sprintf 'ws:// iperf3 TCP throughput %.0f Mbit/s', $mbps // 0);

# jumbo frames: the tap's MTU is what the client reads, not 1500
$e->sh($_, 'ip link set vpn0 mtu 9000') for qw(a b);
ok($e->ping_rtt('a', '10.214.0.2', 3, '-s 8972 -M do'),
    '9000-byte frames pass (no truncated tap reads)');
$e->sh($_, 'ip link set vpn0 mtu 1500') for qw(a b);

# errors a user can act on: one line each, distinct exit codes
my $p = $e->client('a', tap => 'vpn9', url => "ws://10.213.1.1:$port/nope");
is($e->wait_exit($p, 10), 7, 'HTTP 404: exit code 7');
like($e->client_log($p), qr/refused the websocket: "HTTP\/1\.1 404/,
    '404 reported with its status line');

$p = $e->client('a', tap => 'vpn9', url => 'http://10.213.1.1/');
is($e->wait_exit($p, 5), 2, 'bad URL: exit code 2');

$p = $e->client('a', tap => 'vpn9', args => ['--bogus'], url => 'ws://x/');
is($e->wait_exit($p, 5), 2, 'unknown option: exit code 2');

$p = $e->client('a', tap => 'vpn9', args => ['--uid', 'nobody'],
    url => 'ws://10.213.1.1:1/vpn');
ok($e->wait_log($p, qr/Connection refused; retrying/),
    'connection refused is retried');
sleep 3;
my @refused = $e->client_log($p) =~ /Connection refused/g;
is(scalar @refused, 1, 'the failure is logged once, not at every retry');
is($e->stop_client($p), 0, 'SIGTERM: exit code 0');

# --uid/--gid (issue 15.9): every id dropped, root's groups gone, with a
# name, a number with a passwd entry, and a number without one
sub proc_status {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return {};
    return { map { /^(\w+):\s*(.*?)\s*$/ ? ($1 => $2) : () } <$fh> };
}

# the groups a user has: what initgroups() gives it (root's never)
my $nobody_groups = join("\t", split ' ', `id -G nobody`);

for my $c (['--uid nobody', ['--uid', 'nobody'], 65534, 65534,
            $nobody_groups],
           ['--uid 65534', ['--uid', '65534'], 65534, 65534, $nobody_groups],
           ['--uid 54321 --gid 54322', ['--uid', 54321, '--gid', 54322],
            54321, 54322, ''])
{
    my ($what, $args, $uid, $gid, $groups) = @$c;
    my $hook = $e->dir . "/hook-$what.txt";
    $hook =~ s/ /_/g;
    $p = $e->client('a', tap => 'vpn9', url => 'ws://10.213.1.1:1/vpn',
                    args => [@$args, '--exec', "exec > $hook; "
                             . 'echo "tap=$VPNWS_TAP switch=$VPNWS_SWITCH"; '
                             . 'ls /proc/$$/fd']);
    ok($e->wait_log($p, qr/retrying/), "$what: running");
    my $st = proc_status($p);
    is($st->{Uid}, join("\t", ($uid) x 4), "$what: every uid is $uid");
    is($st->{Gid}, join("\t", ($gid) x 4), "$what: every gid is $gid");
    is($st->{Groups}, $groups, "$what: the user's groups, none of root's");
    is($e->stop_client($p), 0, "$what: stopped");

    my $out = $e->read_file($hook) // '';
    like($out, qr{^tap=vpn9 switch=ws://10\.213\.1\.1:1/vpn$}m,
         "$what: --exec has \$VPNWS_TAP and \$VPNWS_SWITCH");
    is(join(' ', sort grep { /^\d+$/ } split /\s+/,
            ($out =~ /\n(.*)/s)[0] // ''), '0 1 2',
       "$what: --exec inherits descriptors 0-2 only");
}

$p = $e->client('a', tap => 'vpn9', args => ['--uid', '54321'],
    url => 'ws://10.213.1.1:1/vpn');
is($e->wait_exit($p, 5), 2, 'a uid without a passwd entry and no --gid: '
   . 'exit code 2');
like($e->client_log($p), qr/54321 has no passwd entry.*--gid/,
     'and says to give --gid');

$p = $e->client('a', tap => 'vpn9', url => 'ws://no-such-host.invalid/vpn');
ok($e->wait_log($p, qr/cannot resolve "no-such-host\.invalid": .*; retrying/),
    'DNS failure reported and retried');
ok(!defined $e->wait_exit($p, 0.5), 'still running');
is($e->stop_client($p), 0, 'stopped');

# not root: no permission for /dev/net/tun
my ($out, $rc) = $e->sh('a', "setpriv --reuid=65534 --regid=65534 --clear-groups"
    . " $E2E::BUILD/vpn-ws-client vpn9 ws://10.213.1.1/vpn", 1);
is($rc, 3, 'no permission for /dev/net/tun: exit code 3');
like($out, qr/needs root or CAP_NET_ADMIN/, 'and says why');

is($e->stop_client($a), 0, 'client A exits cleanly on SIGTERM');

# the tap deleted under a connected client: exit code 3
$e->sh('b', 'ip link del vpn0');
is($e->wait_exit($b, 5), 3, 'tap deleted: exit code 3');
like($e->client_log($b), qr/read\(tap vpn0\): .*deleted/, 'and says so');

$e->check_logs;

done_testing();
