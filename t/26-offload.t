#!/usr/bin/perl

# vpnws: offload peers (README, "Offload").  X-vpn-ws-Offload is answered
# with what the switch grants (nothing with offload=off or a max_frame that
# cannot hold a super-frame); frames between offload and plain peers gain
# or lose the virtio-net header; a super-frame (the kernel vectors of
# t/unit/vnet) reaches an offload peer untouched and a plain peer as the
# kernel's own segments, byte for byte; one an offload peer cannot take
# whole (TSO6 not granted) is cut for it, also across workers (the worker
# channel carries the header); malformed headers are dropped and
# counted (bad_vnet) and the peer stays.  The daemon does not answer the
# header: its peers keep plain frames (the client falls back).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Daemon;
use VpnwsTest;
use VpnwsWS qw(eth_frame);

my $ALL = 'csum, tso4, tso6, ecn';
my $ZERO = "\0" x 10;
my ($MAC1, $MAC2) = ('02:00:00:00:00:01', '02:00:00:00:00:02');

# the kernel vectors: the input (header + super-frame) and its segments
sub vector {
    my ($name) = @_;
    open my $fh, '<', "$FindBin::Bin/unit/vnet/$name.hex" or die "$name: $!";
    my ($in, @out);
    while (<$fh>) {
        $in = pack('H*', $1) if /^in (\w+)/;
        push @out, pack('H*', $1) if /^out (\w+)/;
    }
    return ($in, @out);
}

sub drops {
    my ($t, $why) = @_;
    return $t->status->{drops}{$why} // -1;
}

{
    my $t = VpnwsTest->start_switch(params => 'offload=off');
    my $ws = $t->peer_ok(mac => $MAC1,
                         headers => { 'X-vpn-ws-Offload' => $ALL });
    ok(!defined $ws->header('X-vpn-ws-Offload'), 'offload=off: no answer');
    $t->done(no_done_testing => 1);
}

{
    my $t = VpnwsTest->start_switch(params => 'max_frame=9000');
    my $ws = $t->peer_ok(mac => $MAC1,
                         headers => { 'X-vpn-ws-Offload' => $ALL });
    ok(!defined $ws->header('X-vpn-ws-Offload'),
       'max_frame=9000: no room for a super-frame, no offload');
    $t->done(no_done_testing => 1);
}

my $t = VpnwsTest->start_switch();

my $a = $t->peer_ok(mac => $MAC1,
                    headers => { 'X-vpn-ws-Offload' => 'csum, tso4, x' });
is($a->header('X-vpn-ws-Offload'), 'csum, tso4',
   'the 101 grants what was asked, of what the switch has');

my $p = $t->peer_ok(mac => $MAC2);
ok(!defined $p->header('X-vpn-ws-Offload'), 'no request: no answer');

# plain peer <-> offload peer
my $f = eth_frame($MAC1, $MAC2, 0x88b5, 'x' x 100);
$p->send_binary($f);
is($a->recv_eth(3), $ZERO . $f, 'plain -> offload: behind a zero header');

$f = eth_frame($MAC2, $MAC1, 0x88b5, 'y' x 100);
$a->send_binary($ZERO . $f);
is($p->recv_eth(3), $f, 'offload -> plain: the header is gone');

# a super-frame for a plain peer: the kernel's own segments
my ($in, @segs) = vector('tcp4-basic');
$a->send_binary($in);
my @got = map { $p->recv_eth(3) // '' } @segs;
is(scalar(grep { $got[$_] eq $segs[$_] } 0 .. $#segs), scalar @segs,
   'TSO4 super-frame -> plain peer: ' . @segs . ' segments, byte-identical '
   . 'to the kernel\'s');
ok($p->expect_nothing(0.3), 'and nothing more');

# a frame that needs its checksum only: completed on the way
my ($csum, $done) = vector('csum-tcp4');
$a->send_binary($csum);
is($p->recv_eth(3), $done, 'NEEDS_CSUM frame -> plain peer: checksum '
   . 'completed as the kernel does');

# malformed headers: dropped, counted, the peer stays
my ($base) = vector('tcp4-opts');
my $bad_size = $base;
substr($bad_size, 4, 2) = "\0\0";                   # gso_size 0
my $bad_start = $base;
substr($bad_start, 6, 2) = pack('v', 30);           # csum_start not TCP
my $udp = $base;
substr($udp, 1, 1) = "\x03";                        # UFO
my $big = $base;
substr($big, 2, 2) = pack('v', 60000);              # hdr_len > frame

my $before = drops($t, 'bad_vnet');
$a->send_binary($_) for ($bad_size, $bad_start, $udp, $big);
$a->send_binary("\x01\x00\x00");                    # shorter than a header
$a->send_binary($ZERO . $f);
is($p->recv_eth(3), $f, 'after 5 malformed frames the peer still switches');
is(drops($t, 'bad_vnet') - $before, 4, 'bad_vnet counts 4 bad headers');
ok(scalar $t->wait_log(qr/peer \d+: frame dropped: bad gso_size/, 2),
   'and the log says why');

# an offload peer that takes the super-frame whole
$p->send_close(1000);
$p->recv_close(2);
sleep 0.3;
my $b = $t->peer_ok(mac => $MAC2, headers => { 'X-vpn-ws-Offload' => $ALL });
is($b->header('X-vpn-ws-Offload'), $ALL, 'B: everything granted');

$a->send_binary($in);
is($b->recv_eth(3), $in, 'TSO4 super-frame -> offload peer: untouched');

# B -> A: TSO6 and ECN were not granted to A: cut for it
my ($in6, @segs6) = vector('tcp6-ecn');
substr($in6, 10, 12) = substr($in6, 16, 6) . substr($in6, 10, 6);  # B -> A
$_ = substr($_, 6, 6) . substr($_, 0, 6) . substr($_, 12) for @segs6;
$b->send_binary($in6);
@got = map { $a->recv_eth(3) // '' } @segs6;
is(scalar(grep { $got[$_] eq $ZERO . $segs6[$_] } 0 .. $#segs6),
   scalar @segs6, 'TSO6+ECN super-frame -> peer without them: '
   . @segs6 . ' segments behind zero headers');

my $st = $t->status;
my ($pa) = grep { $_->{MAC} eq uc $MAC1 } @{$st->{peers}};
is($pa->{offload}, 'csum, tso4', 'status: the peer\'s offloads');
ok($st->{super_frames} >= 1 && $st->{soft_segmented} >= 2,
   "status: $st->{super_frames} super-frames whole, "
   . "$st->{soft_segmented} cut");

$t->done(no_done_testing => 1);

# across workers: A on one worker; a plain peer, then an offload peer with
# MAC2 on the other
{
    my $t2 = VpnwsTest->start_switch(workers => 2, reuseport => 1);
    my ($wa, $w);

    for (1 .. 50) {
        $wa = $t2->peer_ok(mac => $MAC1,
                           headers => { 'X-vpn-ws-Offload' => $ALL });
        $w = $t2->worker_of($wa);
        last if defined $w;
    }

    my ($other, @held);

    for my $ask ('', $ALL) {
        for (1 .. 100) {
            # the MAC of a peer just closed may still be held: 409, again
            my $q = $t2->peer(mac => $MAC2, $ask
                ? (headers => { 'X-vpn-ws-Offload' => $ask }) : ());
            if ($q->status != 101) {
                select(undef, undef, undef, 0.1);
                next;
            }
            if (($t2->worker_of($q) // $w) != $w) {
                $other = $q;
                last;
            }
            $q->send_close(1000);
            $q->recv_close(2);
            push @held, $q;
            select(undef, undef, undef, 0.05);
        }

        if (!$other) {
            fail('a peer on the other worker');
            last;
        }

        $wa->send_binary($in);

        if (!$ask) {
            @got = map { $other->recv_eth(3) // '' } @segs;
            is(scalar(grep { $got[$_] eq $segs[$_] } 0 .. $#segs),
               scalar @segs, 'across workers: plain peer gets the kernel\'s '
               . 'segments');
        } else {
            is($other->recv_eth(3), $in,
               'across workers: offload peer gets the super-frame whole');
        }

        $other->send_close(1000);
        $other->recv_close(2);
        undef $other;
        select(undef, undef, undef, 0.3);
    }

    $t2->done(no_done_testing => 1);
}

SKIP: {
    skip("daemon not built: $Daemon::BINARY", 3) unless -x $Daemon::BINARY;

    my $dt = Daemon::Target->new();
    my $da = $dt->peer(mac => $MAC1,
                       headers => { 'X-vpn-ws-Offload' => $ALL });
    ok(!defined $da->header('X-vpn-ws-Offload'),
       'daemon: no X-vpn-ws-Offload in its 101');
    my $db = $dt->peer(mac => $MAC2);
    my $pf = eth_frame($MAC2, $MAC1, 0x88b5, 'z' x 60);
    $da->send_binary($pf);
    is($db->recv_eth(3), $pf, 'daemon: plain frames both ways');
    $db->send_binary(eth_frame($MAC1, $MAC2, 0x88b5, 'w' x 60));
    is($da->recv_eth(3), eth_frame($MAC1, $MAC2, 0x88b5, 'w' x 60),
       'daemon: no header in front of frames to the peer that asked');
    $dt->done;
}

done_testing();
