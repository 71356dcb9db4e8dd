#!/usr/bin/perl

# vpnws: the websocket protocol after the 101 in the vpn-ws daemon behind
# nginx (DESIGN.md section 3): control frames, server frame shape,
# fragments, text as binary, unmasked client frames, split writes, close
# codes of protocol errors and oversized frames, a first frame sent with
# the handshake, and a slow reader's queue dropping and counting.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Socket qw(SOL_SOCKET SO_RCVBUF);
use Test::More;
use Time::HiRes qw(sleep time);

use Daemon;
use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse CONT TEXT BINARY CLOSE PING PONG);

Daemon::has_daemon();

my $target = Daemon::Target->new(max_frame => '2k',
                                 args => ['--queue', '16k']);
my $d = $target->daemon;

my $RX = '02:00:00:00:07:01';
my $rx = $target->peer(mac => $RX);

my $n = 0;

my %logged;

sub sender {
    $logged{$_} = scalar $d->log_lines(qr/peer \d+: .*closing with $_/)
        for 1002, 1009;
    $n++;
    my $mac = sprintf('02:00:00:00:07:%02x', 0x10 + $n);
    return ($target->peer(mac => $mac, @_), $mac);
}

sub frame_to_rx {
    my ($mac, $len, $fill) = @_;

    my $head = eth_frame($RX, $mac, 0x88b5, '');
    return $head . (($fill // 'x') x ($len - length $head));
}

sub closed_with {
    my ($ws, $code, $what) = @_;

    my $before = $logged{$code};

    is($ws->recv_close(3), $code, "$what: CLOSE $code");
    ok($ws->wait_eof(3), "$what: then the connection ends");

    my @l = $d->wait_log(qr/peer \d+: .*closing with $code/, 3, $before);
    ok(@l > $before, "$what: log line");
}


###############################################################################
# control frames and the shape of server frames

my ($ws, $mac) = sender();

$ws->send_ping('are you there');
my ($op, $p, $fin, $rsv, $masked) = $ws->recv_frame(3);
is($op, PONG, 'PING gets a PONG');
is($p, 'are you there', 'PONG carries the PING payload');
ok($fin && !$masked, 'PONG: FIN, unmasked');

$ws->send_raw("\x89\x00");
($op, $p) = $ws->recv_frame(3);
ok($op == PONG && $p eq '', 'the original client\'s 89 00 gets an empty PONG');

$ws->send_frame(PONG, 'unsolicited');
$ws->send_eth($RX, $mac, 0x0800, 'shape');
($op, $p, $fin, $rsv, $masked) = $rx->recv_frame(3);
is($op, BINARY, 'server data frame: BINARY');
ok($fin && !$rsv && !$masked, 'server data frame: FIN, no RSV, unmasked');
is($p, eth_frame($RX, $mac, 0x0800, 'shape'), 'the ethernet frame, intact');
($op) = $ws->recv_frame(0.3);
is($op, undef, 'a PONG is ignored');

$ws->send_close(1000, 'bye');
is($ws->recv_close(3), 1000, 'CLOSE gets a CLOSE echoing 1000');
ok($ws->wait_eof(3), 'after CLOSE the connection ends');

($ws, $mac) = sender();
$ws->send_frame(CLOSE, '');
is($ws->recv_close(3), 1000, 'an empty CLOSE gets a CLOSE 1000');


###############################################################################
# data frames

($ws, $mac) = sender();

my $whole = frame_to_rx($mac, 300, 'f');
$ws->send_frame(BINARY, substr($whole, 0, 100), fin => 0);
$ws->send_frame(CONT, substr($whole, 100, 100), fin => 0);
$ws->send_ping('mid');
$ws->send_frame(CONT, substr($whole, 200), fin => 1);

($op, $p) = $ws->recv_frame(3);
ok($op == PONG && $p eq 'mid', 'a PING between fragments gets its PONG');
is($rx->recv_eth(3), $whole, 'fragments are reassembled into one frame');

$ws->send_frame(TEXT, frame_to_rx($mac, 64, 't'));
($op, $p) = $rx->recv_frame(3);
ok($op == BINARY && $p eq frame_to_rx($mac, 64, 't'),
   'TEXT is forwarded as BINARY');

$ws->send_frame(BINARY, frame_to_rx($mac, 80, 'u'), mask => 0);
is($rx->recv_eth(3), frame_to_rx($mac, 80, 'u'),
   'an unmasked client frame is accepted');

my $bytes = VpnwsWS->build_frame(BINARY, frame_to_rx($mac, 200, 'b'));
for my $i (0 .. length($bytes) - 1) {
    $ws->send_raw(substr($bytes, $i, 1));
    sleep(0.001) if $i % 50 == 0;
}
is($rx->recv_eth(3), frame_to_rx($mac, 200, 'b'),
   'a frame written one byte at a time');

$ws->send_binary(frame_to_rx($mac, 2048, 'L'));
is($rx->recv_eth(3), frame_to_rx($mac, 2048, 'L'),
   'a frame of --max-frame bytes passes');

# many frames in one write
$ws->send_raw(join '', map {
    VpnwsWS->build_frame(BINARY, frame_to_rx($mac, 100, chr(65 + $_)))
} 0 .. 19);
my $all = 1;
for my $i (0 .. 19) {
    $all = 0 unless ($rx->recv_eth(3) // '') eq frame_to_rx($mac, 100,
                                                             chr(65 + $i));
}
ok($all, '20 frames in one write arrive in order');

$ws->close(clean => 1);

# a first frame in the same write as the handshake
{
    my $m = '02:00:00:00:07:0f';
    my $first = VpnwsWS->build_frame(BINARY,
                                     eth_frame($RX, $m, 0x0800, 'early'));
    my $e = $target->peer(mac => $m, extra => $first);
    is((eth_parse($rx->recv_eth(3)))[3], 'early',
       'a frame sent with the handshake is switched');
    $e->close(clean => 1);
}


###############################################################################
# errors

($ws, $mac) = sender();
$ws->send_frame(0x3, 'reserved');
closed_with($ws, 1002, 'reserved opcode');

($ws, $mac) = sender();
$ws->send_frame(BINARY, frame_to_rx($mac, 60), rsv => 4);
closed_with($ws, 1002, 'RSV1 set');

($ws, $mac) = sender();
$ws->send_binary(frame_to_rx($mac, 2049));
closed_with($ws, 1009, 'a frame of --max-frame + 1 bytes');

($ws, $mac) = sender();
my $big = frame_to_rx($mac, 3000, 'B');
$ws->send_frame(BINARY, substr($big, 0, 1000), fin => 0);
$ws->send_frame(CONT, substr($big, 1000, 1000), fin => 0);
$ws->send_frame(CONT, substr($big, 2000), fin => 1, ignore_errors => 1);
closed_with($ws, 1009, 'a fragmented message larger than --max-frame');

($ws, $mac) = sender();
$ws->send_raw("\x82\xff" . pack('NN', 0x7fffffff, 0) . 'abcd');
closed_with($ws, 1009, '2^62 bytes announced');

($ws, $mac) = sender();
$ws->send_frame(CONT, frame_to_rx($mac, 60), fin => 1);
closed_with($ws, 1002, 'a continuation without a start');

ok($rx->expect_nothing(0.3), 'nothing of the errors reached the receiver');


###############################################################################
# a slow reader: its queue (--queue 16k) fills, frames are dropped and
# counted, the sender and the others go on

{
    my $SL = '02:00:00:00:07:05';
    my $slow = $target->peer(mac => $SL, rcvbuf => 4096);
    my ($fast, $fmac) = sender();

    my $frame = eth_frame($SL, $fmac, 0x88b5, 'z' x 1400);
    my $burst = VpnwsWS->build_frame(BINARY, $frame) x 50;

    # far more than nginx's buffers, the sockets' and the queue hold
    $fast->send_raw($burst) for 1 .. 40;

    $fast->send_eth($RX, $fmac, 0x0800, 'the sender goes on');
    is((eth_parse($rx->recv_eth(5)))[3], 'the sender goes on',
       'a slow reader does not block the sender');

    my $st = $target->status() || {};
    ok(($st->{drops}{queue_full} // 0) > 0, 'its frames are dropped and '
       . 'counted as queue_full') or diag(explain($st->{drops}));

    my ($ps) = grep { lc($_->{MAC} // '') eq $SL } @{$st->{peers} || []};
    ok($ps && $ps->{drops} > 0, 'the peer\'s own drop counter too');
    ok($ps && $ps->{queued} <= 16384, 'its queue stays within --queue');

    # now it reads: it gets frames, then the switch goes on normally
    my $got = 0;
    while (defined(my $f = $slow->recv_eth(1))) {
        $got++;
    }
    ok($got > 0 && $got < 2000, "the slow reader gets some ($got) of 2000");

    $fast->send_eth($SL, $fmac, 0x0800, 'after');
    my $last;
    while (defined(my $f = $slow->recv_eth(2))) {
        $last = (eth_parse($f))[3];
        last if $last eq 'after';
    }
    is($last, 'after', 'once it reads again, it gets new frames');

    $slow->close(clean => 1);
    $fast->close(clean => 1);
}

$rx->close(clean => 1);

$target->done();

done_testing();
