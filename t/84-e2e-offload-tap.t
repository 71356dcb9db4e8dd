#!/usr/bin/perl

# Offload on the switch's own tap (tap=, IFF_VNET_HDR + TUNSETOFFLOAD): the
# host behind the tap (the server namespace, 10.214.0.254) and an offload
# client A exchange super-frames whole; a plain client C gets them cut by
# the switch.  Byte-exact transfers both ways, checksums on C's tap; a
# reload that would change offload= of the existing tap is refused.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;
use Offload;

my $e = E2E->new();

$e->ns($_) for qw(s a c);
$e->uplink('a', 1);
$e->uplink('c', 3);

my $tap = substr('vo' . $e->nsname('t'), 0, 15);
my $switch = "tap=$tap "
    . '"tap_exec=ip addr add 10.214.0.254/24 dev $VPNWS_TAP"';
$e->nginx(workers => 2, switch => $switch);

my $port = $E2E::PORT;
my $o = Offload->new($e);

my ($flags) = $e->sh('s', "cat /sys/class/net/$tap/tun_flags")
    =~ /(0x[0-9a-f]+)/;
ok(hex($flags // 0) & 0x4000,
    'the tap has IFF_VNET_HDR');

my $a = $e->client('a', addr => '10.214.0.1/24', args => ['-vv'],
    url => "ws://10.213.1.1:$port/vpn");
my $c = $e->client('c', addr => '10.214.0.3/24', args => ['--no-offload'],
    url => "ws://10.213.3.1:$port/vpn");

ok($e->wait_ping('a', '10.214.0.254', 20), 'A reaches the host');
ok($e->wait_ping('c', '10.214.0.254', 20), 'C reaches the host');

my $before = $e->status->{super_frames} // 0;
ok($o->transfer('s', 'a', '10.214.0.1', 24), 'host -> A 24 MiB exact');
ok($o->transfer('a', 's', '10.214.0.254', 24), 'A -> host 24 MiB exact');
my $st = $e->status;
ok($st->{super_frames} - $before > 100,
    'super-frames crossed the tap whole: '
    . ($st->{super_frames} - $before));

my $ck = $o->check_start('c', 'vpn0');
ok($o->transfer('s', 'c', '10.214.0.3', 16), 'host -> C 16 MiB exact');
my ($good, $bad) = $o->check_stop($ck);
ok($good > 500 && $bad == 0, "C's tap: $good frames cut, $bad bad");
ok($o->transfer('c', 's', '10.214.0.254', 8), 'C -> host 8 MiB exact');

my ($mbps, $raw) = $e->iperf('a', 's', '10.214.0.254', 2);
ok($mbps && $mbps > 10, 'iperf3 A -> host') or diag($raw);
diag(sprintf 'offload client -> host behind the tap %.0f Mbit/s', $mbps // 0);

# the flag is the device's: a reload may not flip it under the workers
my $conf = $e->read_file('nginx.conf');
$conf =~ s/(vpnws_switch office size=1m )/$1offload=off /;
$e->write_file('nginx.conf', $conf);
kill 'HUP', $e->{nginx};
my $log = '';
for (1 .. 50) {
    $log = $e->read_file('error.log');
    last if $log =~ /offload= of a tap cannot change/;
    select(undef, undef, undef, 0.1);
}
like($log,
    qr/tap=\S+ exists with virtio-net headers; offload= of a tap cannot/,
    'a reload with offload=off is refused, and says why');
$e->allow_alert(qr/offload= of a tap cannot change/);
ok($e->wait_ping('a', '10.214.0.254', 5), 'the running switch goes on');

$e->check_logs;

done_testing();
