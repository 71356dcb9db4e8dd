#!/usr/bin/perl

# vpnws: the switching rules of DESIGN.md section 4 for ordinary peers,
# one block per rule.  Every dropped frame is followed by a frame that
# must arrive: it proves the drop (the order of one connection is kept)
# and that the connection lives on; the drop counters are checked too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $t = VpnwsTest->start_switch();

my $A = '02:00:00:00:00:0a';
my $B = '02:00:00:00:00:0b';
my $C = '02:00:00:00:00:0c';

my $a = $t->peer_ok(mac => $A);
my $b = $t->peer_ok(mac => $B);
my $c = $t->peer_ok(mac => $C);

my $seq = 0;

# $from sends a marker to $to_mac (as $src); $to must get exactly it
sub marker {
    my ($from, $src, $to, $to_mac, $what) = @_;

    $seq++;
    $from->send_eth($to_mac, $src, 0x0800, "marker $seq");
    my @f = eth_parse($to->recv_eth(3));

    return is($f[3], "marker $seq", "$what: the next frame arrives");
}

# counter deltas
my $before = $t->drops();

sub dropped {
    my ($reason, $n, $what) = @_;

    my $now = $t->drops();
    is(($now->{$reason} // 0) - ($before->{$reason} // 0), $n,
       "$what: counted as $reason");
    $before = $now;
}


###############################################################################
# 1. shorter than an ethernet header

$a->send_binary(eth_frame($B, $A, 0x0800, '') =~ s/..$//sr);     # 12 bytes
$a->send_binary(substr(eth_frame($B, $A), 0, 13));
$a->send_binary('');
marker($a, $A, $b, $B, 'frames of 12, 13 and 0 bytes');
ok($b->expect_nothing(0.2), 'short frames are dropped');
dropped('short', 3, 'short frames');

# exactly 14 bytes is a frame
$a->send_binary(eth_frame($B, $A, 0x0800, ''));
is(length($b->recv_eth(3) // ''), 14, 'a 14-byte frame passes');


###############################################################################
# 2. source MAC: invalid, owned, spoofed

my ($d, $dmac);
$d = $t->peer_ok();      # no X-vpn-ws-MAC: learns from its first frame

for my $src ('00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01',
             '33:33:00:00:00:01', '03:00:00:00:00:01')
{
    $d->send_eth($B, $src, 0x0800, "from $src");
}
$dmac = '02:00:00:00:00:0d';
marker($d, $dmac, $b, $B, 'invalid sources then a valid one');
ok($b->expect_nothing(0.2), 'zero, broadcast and multicast sources dropped');
dropped('src_invalid', 5, 'invalid sources');

my $st = $t->status_peer($dmac);
ok($st, 'a peer without X-vpn-ws-MAC takes its first valid source MAC');
is_deeply([map { lc } @{$st ? $st->{macs} : []}], [$dmac],
          'and only that one')
    or diag(explain($st));

# the first MAC is kept: another source is spoofing
$d->send_eth($B, '02:00:00:00:00:ee', 0x0800, 'spoofed');
marker($d, $dmac, $b, $B, 'spoofed source');
ok($b->expect_nothing(0.2), 'a second source MAC of a non-bridge peer is '
   . 'dropped');
dropped('spoofed', 1, 'second source');

# the announced MAC is the only one
$a->send_eth($B, '02:00:00:00:00:ef', 0x0800, 'spoofed');
marker($a, $A, $b, $B, 'spoofed source of an announced peer');
ok($b->expect_nothing(0.2), 'a source other than X-vpn-ws-MAC is dropped');
dropped('spoofed', 1, 'not the announced MAC');

# frames to the spoofed MAC reach nobody: it was not learned
$b->send_eth('02:00:00:00:00:ef', $B, 0x0800, 'to spoofed');
marker($b, $B, $a, $A, 'to a spoofed MAC');
ok($a->expect_nothing(0.2) && $c->expect_nothing(0.2)
   && $d->expect_nothing(0.2), 'a spoofed MAC is not learned');
dropped('unknown_unicast', 1, 'to a spoofed MAC without bridges');

# takeover: a fresh peer sends from a MAC another peer owns
my $e = $t->peer_ok();
$e->send_eth($C, $A, 0x0800, "take $_") for 1 .. 3;
marker($b, $B, $a, $A, 'after a takeover attempt, the owner');
ok($c->expect_nothing(0.2), 'frames from a MAC another peer owns dropped');
dropped('mac_taken', 3, 'takeover');

my @l = $t->wait_log(qr/which another peer owns/, 2);
is(scalar @l, 1, 'a takeover is logged once') or diag(join "\n", @l);

marker($c, $C, $a, $A, 'after a takeover attempt, the owner still');
$c->send_eth($A, $C, 0x0800, 'x');
my @f = eth_parse($a->recv_eth(3));
is($f[3], 'x', 'the owner keeps receiving');
ok($e->expect_nothing(0.2), 'the taker receives nothing for that MAC');

my $EM = '02:00:00:00:00:0e';
marker($e, $EM, $b, $B, 'the taker may still take a free MAC');
$e->close(clean => 1);


###############################################################################
# 4. destination zero or equal to the source

$a->send_eth('00:00:00:00:00:00', $A, 0x0800, 'to zero');
$a->send_eth($A, $A, 0x0800, 'to itself');
marker($a, $A, $b, $B, 'to zero, to itself');
ok($a->expect_nothing(0.2) && $c->expect_nothing(0.2),
   'frames to zero and to the source are dropped');
dropped('dst_invalid', 2, 'zero, self');


###############################################################################
# 6. known unicast goes to its owner only

$a->send_eth($B, $A, 0x0800, 'private');
is((eth_parse($b->recv_eth(3)))[3], 'private', 'unicast reaches its owner');
ok($c->expect_nothing(0.3) && $d->expect_nothing(0.1)
   && $a->expect_nothing(0.1), 'nobody else sees it');

# both ways, many frames, order kept
for my $i (1 .. 50) {
    $a->send_eth($B, $A, 0x0800, "a$i");
    $b->send_eth($A, $B, 0x0800, "b$i");
}
my (@ga, @gb);
for (1 .. 50) {
    push @gb, (eth_parse($b->recv_eth(3)))[3] // 'lost';
    push @ga, (eth_parse($a->recv_eth(3)))[3] // 'lost';
}
is("@gb", join(' ', map { "a$_" } 1 .. 50), 'A to B: 50 frames in order');
is("@ga", join(' ', map { "b$_" } 1 .. 50), 'B to A: 50 frames in order');

# unknown unicast without a bridge: dropped
$a->send_eth('02:00:00:00:00:99', $A, 0x0800, 'to nobody');
marker($a, $A, $b, $B, 'unknown unicast');
ok($b->expect_nothing(0.2) && $c->expect_nothing(0.2)
   && $d->expect_nothing(0.2), 'unknown unicast without bridges is dropped');
dropped('unknown_unicast', 1, 'unknown unicast');

# a closed peer's MAC becomes unknown
$c->close(clean => 1);
select(undef, undef, undef, 0.3);
$a->send_eth($C, $A, 0x0800, 'to the closed');
marker($a, $A, $b, $B, 'to a closed peer');
dropped('unknown_unicast', 1, 'to the MAC of a closed peer');

# the status counts what went through
$st = $t->status_peer($A);
ok($st && $st->{rx} > 0 && $st->{tx} > 0, 'status: rx and tx of a peer');

$_->close(clean => 1) for $a, $b, $d;

$t->done();
