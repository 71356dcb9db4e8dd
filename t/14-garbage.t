#!/usr/bin/perl

# vpnws: hostile and broken peers: random bytes after the upgrade, random
# frames, connections cut in the middle of a frame or of the handshake.
# The workers survive (no crash, no alert), MACs of cut peers are freed,
# and normal peers keep working.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1,
                                params => 'max_frame=4k');

my @workers = sort $t->worker_pids();

srand($ENV{TEST_VPNWS_SEED} // 42);
diag('seed ' . ($ENV{TEST_VPNWS_SEED} // 42));

sub rnd { join '', map { chr int rand 256 } 1 .. $_[0] }
sub mac { sprintf('02:00:00:00:0a:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

my $a = $t->peer_ok(mac => mac(0));
my $b = $t->peer_ok(mac => mac(1));

# random bytes after the upgrade
for my $i (1 .. 40) {
    my $ws = $t->peer_ok(mac => mac(10 + $i));
    $ws->send_raw(rnd(1 + int rand 3000), ignore_errors => 1);
    $ws->recv_frame(0.02);
    $ws->close();
}

# random frames: random opcodes, flags, masks and payloads
for my $i (1 .. 40) {
    my $ws = $t->peer_ok(mac => mac(60 + $i));
    for (1 .. 10) {
        my $op = int rand 16;
        my $f = VpnwsWS->build_frame($op, rnd(int rand 200),
                                     fin => int rand 2, rsv => int rand 8,
                                     mask => int rand 2);
        last unless eval { $ws->send_raw($f, ignore_errors => 1) };
    }
    $ws->recv_frame(0.02);
    $ws->close();
}

# random ethernet frames from bridges: random MACs, lengths
for my $i (1 .. 5) {
    my $ws = $t->peer_ok(bridge => 'on');
    $ws->send_binary(rnd(int rand 100)) for 1 .. 100;
    $ws->close(clean => 1);
}

# cut in the middle of a frame, of a fragmented message, of the handshake
for my $i (1 .. 10) {
    my $ws = $t->peer_ok(mac => mac(110 + $i));
    my $f = VpnwsWS->build_frame(2, eth_frame(mac(0), mac(110 + $i), 0x0800,
                                              'x' x 1000));
    $ws->send_raw(substr($f, 0, 1 + int rand(length($f) - 1)));
    $ws->close();

    $ws = $t->peer_ok(mac => mac(130 + $i));
    $ws->send_frame(2, substr($f, 0, 500), fin => 0);
    $ws->close();

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port, Proto => 'tcp');
    print $s "GET /vpn HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n";
    close $s;
}

# a second socket closing while the first one's frames are in flight
for my $i (1 .. 10) {
    my $x = $t->peer_ok(mac => mac(150 + $i));
    $a->send_eth(mac(150 + $i), mac(0), 0x0800, 'y' x 1000) for 1 .. 50;
    $x->close();
}

my @now = sort $t->worker_pids();
is("@now", "@workers", 'the workers survived');

# whatever the random frames flooded to them
VpnwsWS->collect([$a, $b], quiet => 0.3, timeout => 3);
ok(!$a->{eof} && !$b->{eof}, 'normal peers are still connected');

$a->send_eth(mac(1), mac(0), 0x0800, 'still');
is(payload($b->recv_eth(3)), 'still', 'normal peers still work');

# the MACs of the cut peers are free again
my $free = 0;
for my $i (1 .. 10) {
    for (1 .. 20) {
        my $ws = $t->peer(mac => mac(110 + $i));
        if ($ws->ok) {
            $free++;
            $ws->close(clean => 1);
            last;
        }
        select(undef, undef, undef, 0.1);
    }
}
is($free, 10, 'the MACs of peers cut mid-frame are free again');

my $st = $t->status;
is(scalar @{$st->{peers} || []}, 2, 'status: only the 2 normal peers left')
    or diag(join ' ', map { $_->{MAC} } @{$st->{peers} || []});

ok(!$t->error_log_lines(qr/\[(crit|alert|emerg)\]/),
   'no crit, alert or emerg');

$_->close(clean => 1) for $a, $b;

$t->done();
