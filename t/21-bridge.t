#!/usr/bin/perl

# vpnws: bridge peers (X-vpn-ws-bridge: on, DESIGN.md section 4 rules 3, 4
# and 6): learning many source MACs, unknown unicast to bridges only, never
# back to the port a frame came from, the per-bridge limit and aging.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $A = '02:00:00:00:00:0a';
my $C = '02:00:00:00:00:0c';

sub lan { sprintf('0a:00:00:00:%02x:%02x', $_[0], $_[1]) }

sub payload { (eth_parse($_[0]))[3] }

sub status_macs {
    my ($t, $ws_mac_re) = @_;

    my $st = $t->status or return ();
    return map { lc } map { @{$_->{macs} || []} }
        grep { $_->{bridge} } @{$st->{peers}};
}


###############################################################################
# default limits: learning, unknown unicast, same port

my $t = VpnwsTest->start_switch();

my $a = $t->peer_ok(mac => $A);
my $c = $t->peer_ok(mac => $C);
my $br = $t->peer_ok(bridge => 'on');
my $br2 = $t->peer_ok(bridge => 'on');

# the bridge sends from 50 hosts behind it
for my $i (1 .. 50) {
    $br->send_eth($A, lan(1, $i), 0x0800, "from $i");
}
my @got = map { payload($a->recv_eth(3)) // 'lost' } 1 .. 50;
is("@got", join(' ', map { "from $_" } 1 .. 50),
   'a bridge peer may send from 50 source MACs');
ok($c->expect_nothing(0.2), 'known unicast from a bridge: owner only');

# frames to each of them reach the bridge, and only it
for my $i (1 .. 50) {
    $a->send_eth(lan(1, $i), $A, 0x0800, "to $i");
}
@got = map { payload($br->recv_eth(3)) // 'lost' } 1 .. 50;
is("@got", join(' ', map { "to $_" } 1 .. 50),
   'frames to the 50 learned MACs reach the bridge');
ok($br2->expect_nothing(0.3), 'a learned MAC is known: not flooded to the '
   . 'other bridge');
ok($c->expect_nothing(0.1), 'nor to an ordinary peer');

my @macs = status_macs($t);
is(scalar(grep { /^0a:00:00:00:01:/ } @macs), 50,
   'status lists the 50 learned MACs');

my $st = $t->status;
my ($bst) = grep { $_->{bridge} && @{$_->{macs} || []} } @{$st->{peers}};
ok($bst && $bst->{bridge} == 1, 'status: the bridge peer has "bridge":1');

# unknown unicast: to bridge peers only
$a->send_eth('0a:00:00:00:09:09', $A, 0x0800, 'who?');
is(payload($br->recv_eth(3)), 'who?', 'unknown unicast reaches bridge 1');
is(payload($br2->recv_eth(3)), 'who?', 'unknown unicast reaches bridge 2');
ok($c->expect_nothing(0.3), 'unknown unicast does not reach an ordinary '
   . 'peer');
ok($a->expect_nothing(0.1), 'nor its sender');

# from a bridge: unknown unicast goes to the other bridges, not back
$br->send_eth('0a:00:00:00:09:0a', lan(1, 1), 0x0800, 'who? (bridge)');
is(payload($br2->recv_eth(3)), 'who? (bridge)',
   'unknown unicast from a bridge reaches the other bridge');
ok($br->expect_nothing(0.3), 'not the bridge it came from');

# to a MAC behind the same port: dropped
my $before = $t->drops();
$br->send_eth(lan(1, 2), lan(1, 1), 0x0800, 'hairpin');
$br->send_eth($A, lan(1, 1), 0x0800, 'after hairpin');
is(payload($a->recv_eth(3)), 'after hairpin', 'marker after a hairpin frame');
ok($br->expect_nothing(0.3) && $br2->expect_nothing(0.1),
   'a frame to a MAC behind its own port is dropped');
is(($t->drops()->{same_port} // 0) - ($before->{same_port} // 0), 1,
   'counted as same_port');

# a MAC moves from one bridge to another (a host moved)
$br2->send_eth($A, lan(1, 5), 0x0800, 'moved');
is(payload($a->recv_eth(3)), 'moved', 'a host behind another bridge');
$a->send_eth(lan(1, 5), $A, 0x0800, 'where are you');
my $f2 = payload($br2->recv_eth(2)) // '';
my $f1 = payload($br->recv_eth(0.5)) // '';
ok($f2 eq 'where are you' && $f1 eq '',
   'a learned MAC follows the bridge it was last seen behind')
    or diag("bridge 1 got '$f1', bridge 2 got '$f2'");

# a bridge cannot take a MAC an ordinary peer announced
$before = $t->drops();
$br->send_eth($C, $A, 0x0800, 'I am A');
$br->send_eth($C, lan(1, 1), 0x0800, 'marker');
is(payload($c->recv_eth(3)), 'marker', 'marker after a takeover by a bridge');
ok($c->expect_nothing(0.2), 'a bridge cannot take an announced MAC');
is(($t->drops()->{mac_taken} // 0) - ($before->{mac_taken} // 0), 1,
   'counted as mac_taken');
$a->send_eth($C, $A, 0x0800, 'still A');
is(payload($c->recv_eth(3)), 'still A', 'the owner keeps its MAC');

# nor can an ordinary peer take a MAC live behind a bridge
my $z = $t->peer(mac => lan(1, 3));
is($z->status, 409, 'announcing a MAC live behind a bridge: 409');
$z = $t->peer_ok();
$before = $t->drops();
$z->send_eth($C, lan(1, 3), 0x0800, 'I am lan 1 3');
$z->send_eth($C, '02:00:00:00:00:0f', 0x0800, 'marker');
is(payload($c->recv_eth(3)), 'marker', 'marker after a frame from a MAC '
   . 'behind a bridge');
ok($c->expect_nothing(0.2), 'a first frame from a MAC live behind a bridge '
   . 'is dropped');
is(($t->drops()->{mac_taken} // 0) - ($before->{mac_taken} // 0), 1,
   'counted as mac_taken');
$a->send_eth(lan(1, 3), $A, 0x0800, 'to lan 1 3');
is(payload($br->recv_eth(3)), 'to lan 1 3', 'the bridge keeps it');
$z->close(clean => 1);

# a closed bridge's MACs are forgotten
$br->close(clean => 1);
select(undef, undef, undef, 0.3);
$a->send_eth(lan(1, 7), $A, 0x0800, 'to a gone bridge');
is(payload($br2->recv_eth(3)), 'to a gone bridge',
   'after a bridge closes, its MACs are unknown (flooded to bridges)');

$_->close(clean => 1) for $a, $c, $br2;
$t->done(no_done_testing => 1);


###############################################################################
# bridge_macs=2 mac_aging=1s

$t = VpnwsTest->start_switch(params => 'bridge_macs=2 mac_aging=1s');

$a = $t->peer_ok(mac => $A);
$br = $t->peer_ok(bridge => 'on');
$br2 = $t->peer_ok(bridge => 'on');

$before = $t->drops();
$br->send_eth($A, lan(2, $_), 0x0800, "from $_") for 1 .. 3;
is(payload($a->recv_eth(3)), 'from 1', 'bridge_macs=2: 1st MAC passes');
is(payload($a->recv_eth(3)), 'from 2', 'bridge_macs=2: 2nd MAC passes');
ok($a->expect_nothing(0.3), 'bridge_macs=2: the 3rd MAC is dropped');
is(($t->drops()->{bridge_limit} // 0) - ($before->{bridge_limit} // 0), 1,
   'counted as bridge_limit');

@macs = status_macs($t);
is_deeply([sort @macs], [lan(2, 1), lan(2, 2)],
          'status: the bridge holds 2 MACs') or diag("@macs");

# learned: a frame to it goes to that bridge only
$a->send_eth(lan(2, 1), $A, 0x0800, 'known');
is(payload($br->recv_eth(3)), 'known', 'a learned MAC reaches its bridge');
ok($br2->expect_nothing(0.3), 'and no other bridge');

# after 2.5 s of silence the MACs are aged out
select(undef, undef, undef, 2.5);
$a->send_eth(lan(2, 2), $A, 0x0800, 'aged');
is(payload($br->recv_eth(3)), 'aged', 'an aged MAC: unknown, to bridge 1');
is(payload($br2->recv_eth(3)), 'aged', 'an aged MAC: unknown, to bridge 2');

@macs = status_macs($t);
is(scalar @macs, 0, 'status: the aged MACs are not listed') or diag("@macs");

# aging frees the bridge's quota: a third MAC is learned now
# (at the start of a second: the claim below then happens within the
# second the bridge last sent from that MAC, which must not matter)
select(undef, undef, undef, 1.05 - (time() - int(time())));
$br->send_eth($A, lan(2, 3), 0x0800, 'third');
is(payload($a->recv_eth(3)), 'third', 'after aging, a new MAC is learned');

# a MAC live behind a bridge (a LAN's gateway, say) is the bridge's until
# it ages: a peer announcing it would capture the gateway's traffic
my $x = $t->peer(mac => lan(2, 3));
is($x->status, 409, 'a MAC live behind a bridge cannot be announced');
$a->send_eth(lan(2, 3), $A, 0x0800, 'still behind the bridge');
is(payload($br->recv_eth(3)), 'still behind the bridge',
   'its frames still go to the bridge');

$x->close(clean => 1);

# a host that moved from behind the bridge to its own peer: once aged, the
# MAC can be announced, and then the bridge cannot learn it back
my $y = $t->peer(mac => lan(2, 2));
is($y->status, 101, 'a MAC aged out behind a bridge can be announced');
$a->send_eth(lan(2, 2), $A, 0x0800, 'moved');
is(payload($y->recv_eth(3)), 'moved', 'its frames go to the new peer');
ok($br->expect_nothing(0.3) && $br2->expect_nothing(0.1),
   'not to the bridges');

$before = $t->drops();
$br->send_eth($A, lan(2, 2), 0x0800, 'I was there first');
$br->send_eth($A, lan(2, 1), 0x0800, 'marker');
is(payload($a->recv_eth(3)), 'marker', 'marker after a frame from the moved '
   . 'host');
ok($a->expect_nothing(0.2), 'the bridge cannot learn the MAC back');
is(($t->drops()->{mac_taken} // 0) - ($before->{mac_taken} // 0), 1,
   'counted as mac_taken');

# traffic refreshes a learned MAC: it does not age while in use
for (1 .. 5) {
    select(undef, undef, undef, 0.5);
    $br->send_eth($A, lan(2, 1), 0x0800, 'keepalive');
    $a->recv_eth(3);
}
$a->send_eth(lan(2, 1), $A, 0x0800, 'still known');
is(payload($br->recv_eth(3)), 'still known',
   'a MAC in use for 2.5 s is still known');
ok($br2->expect_nothing(0.3), 'so it is not flooded');

$_->close(clean => 1) for $a, $br, $br2, $y;

$t->done();
