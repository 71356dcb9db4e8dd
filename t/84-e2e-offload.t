#!/usr/bin/perl

# Offload clients against a server that does not negotiate offload (as an
# older server, the daemon or vpnws_switch offload=off): the
# client's tap hands over 64 KiB super-frames (IFF_VNET_HDR, TUNSETOFFLOAD)
# and the client cuts them into plain frames itself (src/vpnws_gso.c).
# A (offload) <-> B (--no-offload) through nginx, IPv4 and IPv6 over the
# tunnel: byte-exact file transfers both ways, every TCP frame B's tap
# receives has valid IP and TCP checksums, iperf3 both ways, pings of every
# size around the MTU; the counters show super-frames were cut.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;
use Offload;

my $e = E2E->new();

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->nginx(workers => 1, switch => 'offload=off');

my $port = $E2E::PORT;
my $o = Offload->new($e);

# A under ASan/UBSan: its tap reads, cuts and writes are checked
my $a = $e->client('a', asan => 1, addr => '10.214.0.1/24',
    args => ['-vv', '--mac', '02:84:00:00:00:01'],
    url => "ws://10.213.1.1:$port/vpn");
my $b = $e->client('b', addr => '10.214.0.2/24', args => ['-v',
    '--no-offload', '--mac', '02:84:00:00:00:02'],
    url => "ws://10.213.2.1:$port/vpn");

ok($e->wait_log($a, qr/connected to ws:/), 'offload client A connected');
ok($e->wait_log($b, qr/connected to ws:/), 'plain client B connected');
like($e->client_log($a), qr/tap vpn0 offloads: csum, tso4, tso6/,
    'A: the tap took checksum and TSO offloads');
like($e->client_log($a), qr/offload: off \(the server did not accept it\)/,
    'A: no offload from this server: segmenting in the client');
unlike($e->client_log($b), qr/offloads:/, 'B: --no-offload, no offloads');

$e->sh($_, 'ip addr add fd14:214::' . ($_ eq 'a' ? 1 : 2)
    . '/64 dev vpn0 nodad') for qw(a b);

ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B');

# B's tap receives what A cut: every TCP frame must check
my $c = $o->check_start('b', 'vpn0');
ok($o->transfer('a', 'b', '10.214.0.2', 24),
    '24 MiB A -> B (IPv4) arrive byte for byte');
my ($good, $bad, $v6, $seen) = $o->check_stop($c);
ok($seen > 500 && $bad == 0,
    "B's tap: $good IPv4 TCP frames with valid checksums, $bad bad");

$c = $o->check_start('b', 'vpn0');
ok($o->transfer('a', 'b', 'fd14:214::2', 8),
    '8 MiB A -> B (IPv6) arrive byte for byte');
($good, $bad, $v6, $seen) = $o->check_stop($c);
ok($v6 > 500 && $bad == 0,
    "B's tap: $v6 IPv6 TCP frames with valid checksums, $bad bad");

ok($o->transfer('b', 'a', '10.214.0.1', 16),
    '16 MiB B -> A arrive byte for byte (plain frames into a vnet tap)');

my ($mbps, $raw) = $e->iperf('a', 'b', '10.214.0.2', 2);
ok($mbps && $mbps > 10, 'iperf3 A -> B') or diag($raw);
diag(sprintf 'offload -> plain iperf3 %.0f Mbit/s', $mbps // 0);

($mbps, $raw) = $e->iperf('b', 'a', '10.214.0.1', 2);
ok($mbps && $mbps > 10, 'iperf3 B -> A') or diag($raw);
diag(sprintf 'plain -> offload iperf3 %.0f Mbit/s', $mbps // 0);

# every size around the MTU, both ways, unfragmented and fragmented
my @lost;
for my $size (1400 .. 1480) {
    for my $dir (['a', '10.214.0.2'], ['b', '10.214.0.1']) {
        my (undef, $rc) = $e->sh($dir->[0],
            "ping -n -c1 -W2 -s $size $dir->[1]", 1);
        push @lost, "$dir->[0]:$size" if $rc;
    }
}
ok(!@lost, 'pings of 1400..1480 bytes both ways') or diag("@lost");

is($e->stop_client($a), 0, 'A stops');
my ($cut) = $e->client_log($a) =~ /(\d+) cut here/;
ok($cut && $cut > 10, "A cut super-frames from its tap: " . ($cut // 0));
like($e->client_log($a), qr/, 0 bad virtio-net headers/,
    'A: no bad virtio-net headers from the tap');

$e->check_logs;

done_testing();
