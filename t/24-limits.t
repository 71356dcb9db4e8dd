#!/usr/bin/perl

# vpnws: the switch's limits: peers=4 refuses a 5th peer with 503; with
# macs=6 bridges share the 2 entries ordinary peers do not need
# (bridged_full), so an announced MAC still gets in; both recover when
# peers leave.  Peer ids are never reused.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->start_switch(params => 'peers=4 macs=6');

sub mac { sprintf('02:00:00:00:09:%02x', $_[0]) }
sub lan { sprintf('0a:00:00:00:09:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

sub ids {
    my $st = $t->status;
    return map { $_->{id} } @{$st->{peers} || []};
}

# peers=4
my @p = map { $t->peer_ok(mac => mac($_)) } 1 .. 4;
my $fifth = $t->peer(mac => mac(5));
is($fifth->status, 503, 'peers=4: the 5th peer gets 503');
ok(scalar $t->wait_log(qr/is full/, 2), 'and a log line');
ok(scalar $t->wait_log(qr/\[error\] .*refused websocket upgrade: the switch is full/,
                       2), 'a full switch is refused at [error]: the operator acts');

my @first_ids = ids();
is(scalar @first_ids, 4, 'status: 4 peers');

$p[3]->close(clean => 1);
my $again;
for (1 .. 20) {
    $again = $t->peer(mac => mac(5));
    last if $again->ok;
    select(undef, undef, undef, 0.1);
}
is($again->status, 101, 'once one leaves, a new peer gets in');

my @second_ids = ids();
my ($new_id) = grep { my $i = $_; !grep { $_ == $i } @first_ids }
    @second_ids;
my $max_old = (sort { $b <=> $a } @first_ids)[0];
ok(defined $new_id && $new_id > $max_old, 'the new peer has a new id '
   . "($new_id > $max_old): ids are not reused");

$_->close(clean => 1) for @p[0 .. 2], $again;
select(undef, undef, undef, 0.3);

# macs=6 peers=4: bridges share macs - peers = 2 entries (bridged_macs),
# so that every ordinary peer finds its one
my $a = $t->peer_ok(mac => mac(1));
my $br = $t->peer_ok(bridge => 'on');

my $before = $t->drops();
$br->send_eth(mac(1), lan($_), 0x0800, "from $_") for 1 .. 8;
my $got = VpnwsWS->collect([$a], quiet => 0.5, timeout => 3)->[0];
my $full = ($t->drops()->{bridged_full} // 0)
           - ($before->{bridged_full} // 0);

is(scalar @$got, 2, 'macs=6 peers=4: the bridge learns 2 MACs');
is($full, 6, 'the other 6 frames are dropped as bridged_full');
is(join(' ', map { payload($_) } @$got), join(' ', map { "from $_" } 1 .. 2),
   'the first 2 passed');
is($t->status->{macs_bridged}, 2, 'status: macs_bridged 2');

my $b = $t->peer(mac => mac(2));
is($b->status, 101, 'an announced MAC still finds room: 101');

# a MAC already learned still works
$br->send_eth(mac(1), lan(1), 0x0800, 'known');
is(payload($a->recv_eth(3)), 'known', 'a learned MAC still passes');

# the bridge leaves: its entries go, another bridge learns again
$br->close(clean => 1);
my $br2;
for (1 .. 20) {
    select(undef, undef, undef, 0.1);
    next if ($t->status->{macs_bridged} // 1) != 0;
    $br2 = $t->peer_ok(bridge => 'on');
    last;
}
ok($br2, 'after the bridge left, its MACs are gone');
$br2->send_eth(mac(1), lan(7), 0x0800, 'room');
is(payload($a->recv_eth(3)), 'room', 'and a new bridge learns');

$_->close(clean => 1) for $a, $b, $br2;

$t->done();
