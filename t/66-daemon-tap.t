#!/usr/bin/perl

# vpnws: the daemon's server tap (--tuntap) as a port of the switch, with
# and without --bridge.  The kernel's side of the tap is read and written
# through an AF_PACKET socket: what the switch writes to the tap arrives
# there, what is sent there comes out of the tap into the switch.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Socket qw(SOCK_RAW);
use Test::More;
use Time::HiRes qw(time);

use Daemon;
use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse mac_bin mac_str);

Daemon::has_daemon();

plan(skip_all => 'needs root and /dev/net/tun')
    if $> != 0 || !-c '/dev/net/tun';

my $AF_PACKET = 17;
my $ETH_P_ALL = 0x0003;
my $TYPE = 0x88b5;          # local experimental: the kernel never sends it

my $dev = 'vpnwst' . ($$ % 10000);

# the kernel side of the tap
sub packet_socket {
    my ($name) = @_;

    open my $fh, '<', "/sys/class/net/$name/ifindex"
        or die "no interface $name\n";
    my $index = <$fh>;
    close $fh;
    chomp $index;

    socket(my $s, $AF_PACKET, SOCK_RAW, unpack('n', pack('S', $ETH_P_ALL)))
        or die "AF_PACKET socket: $!\n";

    my $sll = pack('S n i S C C a8', $AF_PACKET, $ETH_P_ALL, $index, 0, 0, 0,
                   '');
    bind($s, $sll) or die "bind AF_PACKET: $!\n";

    return $s;
}

# the next frame of our ethertype on the tap, or undef
sub tap_recv {
    my ($s, $timeout) = @_;

    my $sel = IO::Select->new($s);
    my $deadline = time() + ($timeout // 3);

    while (time() < $deadline) {
        last unless $sel->can_read($deadline - time());
        my $f;
        recv($s, $f, 65536, 0) // last;
        next unless length $f >= 14;
        next unless unpack('n', substr($f, 12, 2)) == $TYPE;
        return $f;
    }

    return undef;
}

sub tap_mac {
    my ($name) = @_;

    open my $fh, '<', "/sys/class/net/$name/address" or return undef;
    my $m = <$fh>;
    close $fh;
    chomp $m;

    return lc $m;
}


###############################################################################
# a plain tap: it owns its own MAC

my $target = Daemon::Target->new(args => ['--tuntap', $dev]);

ok(-d "/sys/class/net/$dev", 'the tap exists');

my $ps = packet_socket($dev);
my $TAP = tap_mac($dev);

my $A = '02:00:00:00:08:0a';
my $B = '02:00:00:00:08:0b';
my $a = $target->peer(mac => $A);
my $b = $target->peer(mac => $B);

$a->send_eth('ff:ff:ff:ff:ff:ff', $A, $TYPE, 'broadcast to all');
my @f = eth_parse(tap_recv($ps));
is($f[3], 'broadcast to all', 'a broadcast reaches the tap');
is((eth_parse($b->recv_eth(3)))[3], 'broadcast to all', 'and the peer');

$a->send_eth($TAP, $A, $TYPE, 'to the tap');
@f = eth_parse(tap_recv($ps));
is($f[3], 'to the tap', 'unicast to the tap\'s MAC reaches the tap');

send($ps, eth_frame($A, $TAP, $TYPE, 'from the tap'), 0);
is((eth_parse($a->recv_eth(3)))[3], 'from the tap',
   'a frame from the tap reaches its peer');

send($ps, eth_frame($A, '02:00:00:00:08:ee', $TYPE, 'spoofed'), 0);
send($ps, eth_frame($A, $TAP, $TYPE, 'marker'), 0);
is((eth_parse($a->recv_eth(3)))[3], 'marker',
   'a plain tap sends from its own MAC only');

$a->send_eth('02:00:00:00:08:99', $A, $TYPE, 'unknown');
$a->send_eth($TAP, $A, $TYPE, 'marker 2');
is((eth_parse(tap_recv($ps)))[3], 'marker 2',
   'a plain tap gets no unknown unicast');

# the tap is a port among the peers, as in the module's status
sub tap_of {
    my ($st) = @_;
    my ($tp) = grep { ($_->{REMOTE_ADDR} // '') eq "tap:$dev" }
               @{$st->{peers} || []};
    return $tp || {};
}

my $st = $target->status() || {};
ok(tap_of($st)->{id}, 'the status shows the tap as a port "tap:NAME"')
    or diag(explain($st));
ok(tap_of($st)->{rx} > 0 && tap_of($st)->{tx} > 0, 'with its counters');
is(ref $st->{tap}, '', 'and nowhere else: one representation');
is($st->{local_peers}, 2, 'local_peers does not count the tap');

$a->close(clean => 1);
$b->close(clean => 1);


###############################################################################
# --bridge: the tap learns and takes unknown unicast

$target->restart(args => ['--tuntap', $dev, '--bridge']);
close $ps;
$ps = packet_socket($dev);

$a = $target->peer(mac => $A);

$a->send_eth('02:00:00:00:08:99', $A, $TYPE, 'unknown to the bridge');
is((eth_parse(tap_recv($ps)))[3], 'unknown to the bridge',
   'bridge tap: unknown unicast goes to the tap');

my $H = '02:00:00:00:08:e1';
send($ps, eth_frame($A, $H, $TYPE, 'from a host behind'), 0);
is((eth_parse($a->recv_eth(3)))[3], 'from a host behind',
   'bridge tap: frames from any MAC behind it');

$a->send_eth($H, $A, $TYPE, 'to the host behind');
is((eth_parse(tap_recv($ps)))[3], 'to the host behind',
   'bridge tap: a learned MAC goes to the tap');

$st = $target->status() || {};
is(tap_of($st)->{bridge}, 1, 'the status shows a bridge tap');

$a->close(clean => 1);
close $ps;

$target->done();

ok(!-d "/sys/class/net/$dev", 'the tap is gone with the daemon');

done_testing();
