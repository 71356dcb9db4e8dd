#!/usr/bin/perl

# vpnws: the websocket protocol after the upgrade (DESIGN.md section 3):
# control frames, fragmentation, text as binary, unmasked client frames,
# and the close codes of protocol errors and oversized frames.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse CONT TEXT BINARY CLOSE PING PONG);

my $t = VpnwsTest->start_switch(params => 'max_frame=2k');

my $RX = '02:00:00:00:00:01';
my $rx = $t->peer_ok(mac => $RX);

my $n = 0;

# a fresh sending peer with its own MAC
sub sender {
    $n++;
    my $mac = sprintf('02:00:00:00:01:%02x', $n);
    return ($t->peer_ok(mac => $mac, @_), $mac);
}

# a frame to $RX from $mac, $len bytes in all
sub frame_to_rx {
    my ($mac, $len, $fill) = @_;

    my $head = eth_frame($RX, $mac, 0x88b5, '');
    return $head . (($fill // 'x') x ($len - length $head));
}

# the peer was closed with $code: CLOSE $code, then EOF, and a log line
sub closed_with {
    my ($ws, $code, $what) = @_;

    my $got;
    my $deadline = time() + 3;

    while (time() < $deadline) {
        my ($op, $p) = $ws->recv_frame(3);
        last unless defined $op;
        if ($op == CLOSE) {
            $got = length $p >= 2 ? unpack('n', $p) : 1005;
            last;
        }
    }

    is($got, $code, "$what: CLOSE $code");
    ok($ws->wait_eof(3), "$what: then the connection ends");

    my @l = $t->wait_log(qr/vpnws: peer \d+: .*closing with $code/, 3);
    ok(@l, "$what: error-log line");
}


###############################################################################
# control frames

my ($ws, $mac) = sender();

$ws->send_ping('are you there');
my ($op, $p, $fin, $rsv, $masked) = $ws->recv_frame(3);
is($op, PONG, 'PING gets a PONG');
is($p, 'are you there', 'PONG carries the PING payload');
is($fin, 1, 'PONG has FIN');
is($masked, 0, 'server frames are not masked');

# the original client's keepalive: unmasked, empty
$ws->send_raw("\x89\x00");
($op, $p) = $ws->recv_frame(3);
is($op, PONG, 'unmasked empty PING (89 00) gets a PONG');
is($p, '', 'its PONG is empty');

$ws->send_frame(PONG, 'unsolicited');
($op) = $ws->recv_frame(0.5);
is($op, undef, 'PONG is ignored');

$ws->send_eth($RX, $mac, 0x0800, 'after pong');
is((eth_parse($rx->recv_eth(3)))[3], 'after pong',
   'the connection works after a PONG');

# a server frame is FIN BINARY, unmasked, one ethernet frame
($op, $p, $fin, $rsv, $masked) = $rx->recv_frame(0.3);
is($op, undef, 'one frame sent, one frame received');

$ws->send_eth($RX, $mac, 0x0800, 'shape');
($op, $p, $fin, $rsv, $masked) = $rx->recv_frame(3);
is($op, BINARY, 'server data frame: BINARY');
ok($fin && !$rsv && !$masked, 'server data frame: FIN, no RSV, unmasked');
is($p, eth_frame($RX, $mac, 0x0800, 'shape'), 'the ethernet frame, intact');

$ws->send_close(1000, 'bye');
($op, $p) = $ws->recv_frame(3);
is($op, CLOSE, 'CLOSE gets a CLOSE');
is(length $p >= 2 ? unpack('n', $p) : undef, 1000,
   'the CLOSE answer echoes 1000');
ok($ws->wait_eof(3), 'after CLOSE the connection ends');

# a CLOSE without a code
($ws, $mac) = sender();
$ws->send_frame(CLOSE, '');
($op) = $ws->recv_frame(3);
is($op, CLOSE, 'an empty CLOSE gets a CLOSE');
ok($ws->wait_eof(3), 'then the connection ends');


###############################################################################
# data frames

# fragmented: 3 fragments with a PING between them
($ws, $mac) = sender();
my $whole = frame_to_rx($mac, 300, 'f');
$ws->send_frame(BINARY, substr($whole, 0, 100), fin => 0);
$ws->send_frame(CONT, substr($whole, 100, 100), fin => 0);
$ws->send_ping('mid');
$ws->send_frame(CONT, substr($whole, 200), fin => 1);

($op, $p) = $ws->recv_frame(3);
is($op, PONG, 'a PING between fragments gets a PONG');
is($p, 'mid', 'with its payload');

($op, $p) = $rx->recv_frame(3);
is($op, BINARY, 'fragmented message arrives as one BINARY frame');
ok(defined $p && $p eq $whole, 'the fragments are reassembled in order')
    or diag('got ' . length($p // '') . ' bytes');
ok($rx->expect_nothing(0.3), 'and only once');

# fragments of one byte each
my $small = frame_to_rx($mac, 20, 's');
$ws->send_frame(BINARY, substr($small, 0, 1), fin => 0);
$ws->send_frame(CONT, substr($small, $_, 1), fin => 0) for 1 .. 18;
$ws->send_frame(CONT, substr($small, 19, 1), fin => 1);
is($rx->recv_eth(3), $small, 'a message in 20 one-byte fragments');

# TEXT is binary
$ws->send_frame(TEXT, frame_to_rx($mac, 64, 't'));
($op, $p) = $rx->recv_frame(3);
is($op, BINARY, 'TEXT message is forwarded as BINARY');
is($p, frame_to_rx($mac, 64, 't'), 'TEXT message payload intact');

# unmasked client data frames
$ws->send_frame(BINARY, frame_to_rx($mac, 80, 'u'), mask => 0);
is($rx->recv_eth(3), frame_to_rx($mac, 80, 'u'),
   'unmasked client data frame accepted');

# a frame split across writes, 1 byte at a time
my $bytes = VpnwsWS->build_frame(BINARY, frame_to_rx($mac, 200, 'b'));
for my $i (0 .. length($bytes) - 1) {
    $ws->send_raw(substr($bytes, $i, 1));
    select(undef, undef, undef, 0.001) if $i % 50 == 0;
}
is($rx->recv_eth(3), frame_to_rx($mac, 200, 'b'),
   'a frame written one byte at a time');

# the largest frame (max_frame=2k) passes
$ws->send_binary(frame_to_rx($mac, 2048, 'L'));
is($rx->recv_eth(3), frame_to_rx($mac, 2048, 'L'),
   'a frame of max_frame bytes passes');

$ws->close(clean => 1);


###############################################################################
# errors

($ws, $mac) = sender();
$ws->send_frame(0x3, 'reserved');
closed_with($ws, 1002, 'reserved opcode 0x3');

($ws, $mac) = sender();
$ws->send_frame(0xb, '');
closed_with($ws, 1002, 'reserved control opcode 0xb');

($ws, $mac) = sender();
$ws->send_frame(BINARY, frame_to_rx($mac, 60), rsv => 4);
closed_with($ws, 1002, 'RSV1 set');

($ws, $mac) = sender();
$ws->send_binary(frame_to_rx($mac, 3000));
closed_with($ws, 1009, 'frame larger than max_frame');
ok($rx->expect_nothing(0.3), 'the oversized frame is not forwarded');

($ws, $mac) = sender();
$ws->send_binary(frame_to_rx($mac, 2049));
closed_with($ws, 1009, 'frame of max_frame + 1 bytes');

# oversized as a whole only: 3 fragments of 1000 bytes
($ws, $mac) = sender();
my $big = frame_to_rx($mac, 3000, 'B');
$ws->send_frame(BINARY, substr($big, 0, 1000), fin => 0);
$ws->send_frame(CONT, substr($big, 1000, 1000), fin => 0);
$ws->send_frame(CONT, substr($big, 2000), fin => 1, ignore_errors => 1);
closed_with($ws, 1009, 'fragmented message larger than max_frame');

# a huge announced length must not make the server wait or allocate
($ws, $mac) = sender();
$ws->send_raw("\x82\xff" . pack('NN', 0x7fffffff, 0) . 'abcd');
closed_with($ws, 1009, '2^62 bytes announced');

($ws, $mac) = sender();
$ws->send_ping('p' x 126);
closed_with($ws, 1002, 'control frame of 126 bytes');

($ws, $mac) = sender();
$ws->send_frame(PING, 'x', fin => 0);
closed_with($ws, 1002, 'fragmented control frame');

($ws, $mac) = sender();
$ws->send_frame(CONT, frame_to_rx($mac, 60), fin => 1);
closed_with($ws, 1002, 'continuation without a start');

($ws, $mac) = sender();
$ws->send_frame(BINARY, frame_to_rx($mac, 60), fin => 0);
$ws->send_frame(BINARY, frame_to_rx($mac, 60), fin => 1);
closed_with($ws, 1002, 'a new message inside a fragmented one');

# after all that, the receiver and new peers still work
($ws, $mac) = sender();
$ws->send_eth($RX, $mac, 0x0800, 'still here');
is((eth_parse($rx->recv_eth(3)))[3], 'still here',
   'the switch works after protocol errors');
$ws->close(clean => 1);

ok($rx->expect_nothing(0.2), 'nothing else reached the receiver')
    or diag('unexpected: ' . join(' ', eth_parse($rx->{unexpected})));
$rx->close(clean => 1);

$t->done();
