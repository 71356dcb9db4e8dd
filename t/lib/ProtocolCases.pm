package ProtocolCases;

# vpnws: the websocket protocol after the 101 (DESIGN.md section 3), written
# once and run against both hosts, as SwitchCases does for the switching
# rules: control frames, the shape of server frames, fragments, text as
# binary, unmasked client frames, split and batched writes, a first frame
# sent with the handshake, the close codes of protocol errors and oversized
# frames (logged at info: a client's fault), and a slow reader's queue.
#
#   ProtocolCases::run(SwitchCases::Module->new(%ProtocolCases::SWITCH));
#   ProtocolCases::run(Daemon::Target->new(%ProtocolCases::SWITCH));

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsWS qw(eth_frame eth_parse CONT TEXT BINARY CLOSE PING PONG);


# the switch both hosts run these cases on: max_frame 2k, queue 16k
our %SWITCH = (max_frame => '2k', queue => '16k');

my $RX = '02:00:00:00:07:01';

my ($target, $rx, $n);


my %logged;        # close lines of each code before the sender's errors


# a fresh sending peer with its own MAC
sub sender {
    $logged{$_} = log_count(close_line($_)) for 1002, 1009;
    $n++;
    my $mac = sprintf('02:00:00:00:07:%02x', 0x10 + $n);
    return ($target->peer(mac => $mac, @_), $mac);
}


# a frame to $RX from $mac, $len bytes in all
sub frame_to_rx {
    my ($mac, $len, $fill) = @_;

    my $head = eth_frame($RX, $mac, 0x88b5, '');
    return $head . (($fill // 'x') x ($len - length $head));
}


# lines of the host's log (nginx's error log, the daemon's stderr)
sub log_count {
    my ($re) = @_;

    return $target->can('daemon') ? scalar $target->daemon->log_lines($re)
                                  : scalar $target->t->error_log_lines($re);
}


sub log_lines {
    my ($re) = @_;

    return $target->can('daemon') ? $target->daemon->log_lines($re)
                                  : $target->t->error_log_lines($re);
}


sub close_line {
    my ($code) = @_;

    return qr/\[info\] .*peer \d+: .*closing with $code/;
}


# the peer was closed with $code: CLOSE $code, EOF, one line at info
sub closed_with {
    my ($ws, $code, $what) = @_;

    my $re = close_line($code);
    my $before = $logged{$code};

    is($ws->recv_close(3), $code, "$what: CLOSE $code");
    ok($ws->wait_eof(3), "$what: then the connection ends");

    my @l = $target->wait_log($re, 3, $before);
    ok(@l > $before, "$what: a log line at info (a client's fault)")
        or diag("before $before, now " . scalar(@l) . ": "
                . join("\n", log_lines(qr/closing with/)));
}


sub run {
    ($target) = @_;

    $n = 0;
    $rx = $target->peer(mac => $RX);

    my $name = $target->name;
    note("protocol cases: $name");

    control_frames();
    data_frames();
    errors();
    slow_reader();

    $rx->close(clean => 1);
    $target->done();

    done_testing();
}


sub control_frames {
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
    ($op) = $rx->recv_frame(0.3);
    is($op, undef, 'one frame sent, one frame received');

    $ws->send_eth($RX, $mac, 0x0800, 'shape');
    ($op, $p, $fin, $rsv, $masked) = $rx->recv_frame(3);
    is($op, BINARY, 'server data frame: BINARY');
    ok($fin && !$rsv && !$masked, 'server data frame: FIN, no RSV, unmasked');
    is($p, eth_frame($RX, $mac, 0x0800, 'shape'), 'the ethernet frame, intact');

    $ws->send_close(1000, 'bye');
    is($ws->recv_close(3), 1000, 'CLOSE gets a CLOSE echoing 1000');
    ok($ws->wait_eof(3), 'after CLOSE the connection ends');

    # a CLOSE without a code
    ($ws, $mac) = sender();
    $ws->send_frame(CLOSE, '');
    is($ws->recv_close(3), 1000, 'an empty CLOSE gets a CLOSE 1000');
    ok($ws->wait_eof(3), 'then the connection ends');
}


sub data_frames {
    my ($ws, $mac) = sender();
    my ($op, $p);

    # fragmented: 3 fragments with a PING between them
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
        sleep(0.001) if $i % 50 == 0;
    }
    is($rx->recv_eth(3), frame_to_rx($mac, 200, 'b'),
       'a frame written one byte at a time');

    # the largest frame (max_frame 2k) passes
    $ws->send_binary(frame_to_rx($mac, 2048, 'L'));
    is($rx->recv_eth(3), frame_to_rx($mac, 2048, 'L'),
       'a frame of max_frame bytes passes');

    # many frames in one write
    $ws->send_raw(join '', map {
        VpnwsWS->build_frame(BINARY, frame_to_rx($mac, 100, chr(65 + $_)))
    } 0 .. 19);
    my $all = 1;
    for my $i (0 .. 19) {
        $all = 0 unless ($rx->recv_eth(3) // '')
                        eq frame_to_rx($mac, 100, chr(65 + $i));
    }
    ok($all, '20 frames in one write arrive in order');

    $ws->close(clean => 1);

    # a first frame in the same write as the handshake
    my $m = '02:00:00:00:07:0f';
    my $first = VpnwsWS->build_frame(BINARY,
                                     eth_frame($RX, $m, 0x0800, 'early'));
    my $e = $target->peer(mac => $m, extra => $first);
    is((eth_parse($rx->recv_eth(3)))[3], 'early',
       'a frame sent with the handshake is switched');
    $e->close(clean => 1);
}


sub errors {
    my ($ws, $mac);

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

    ok($rx->expect_nothing(0.3), 'nothing of the errors reached the receiver')
        or diag('unexpected: ' . join(' ', eth_parse($rx->{unexpected})));

    # after all that, the receiver and new peers still work
    ($ws, $mac) = sender();
    $ws->send_eth($RX, $mac, 0x0800, 'still here');
    is((eth_parse($rx->recv_eth(3)))[3], 'still here',
       'the switch works after protocol errors');
    $ws->close(clean => 1);
}


# a slow reader: its queue (16k) fills, frames are dropped and counted,
# the sender and the others go on
sub slow_reader {
    my $SL = '02:00:00:00:07:05';
    my $slow = $target->peer(mac => $SL, rcvbuf => 4096);
    my ($fast, $fmac) = sender();

    my $frame = eth_frame($SL, $fmac, 0x88b5, 'z' x 1400);
    my $burst = VpnwsWS->build_frame(BINARY, $frame) x 50;

    # far more than the buffers of nginx, the sockets and the queue hold
    $fast->send_raw($burst) for 1 .. 40;

    $fast->send_eth($RX, $fmac, 0x0800, 'the sender goes on');
    is((eth_parse($rx->recv_eth(5)))[3], 'the sender goes on',
       'a slow reader does not block the sender');

    my $st = $target->status() || {};
    ok(($st->{drops}{queue_full} // 0) > 0, 'its frames are dropped and '
       . 'counted as queue_full') or diag(explain($st->{drops}));

    my ($ps) = grep { lc($_->{MAC} // '') eq $SL } @{$st->{peers} || []};
    ok($ps && $ps->{drops} > 0, 'the peer\'s own drop counter too');
    ok($ps && $ps->{queued} <= 16384, 'its queue stays within the 16k queue');

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


1;
