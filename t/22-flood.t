#!/usr/bin/perl

# vpnws: broadcast and multicast flooding (DESIGN.md section 4 rule 5):
# every other port gets a flooded frame exactly once, the sender never;
# broadcast=off and multicast=off drop each kind alone.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $BCAST = 'ff:ff:ff:ff:ff:ff';
my %GROUP = (
    'IPv4 multicast' => '01:00:5e:00:00:fb',
    'IPv6 multicast' => '33:33:00:00:00:01',
    'other group address' => '03:00:00:00:00:01',
);

sub payload { (eth_parse($_[0]))[3] }

# start a switch with peers A, B, C and a bridge; returns ($t, peers)
sub setup {
    my ($params) = @_;

    my $t = VpnwsTest->start_switch(params => $params);

    my @p = map { $t->peer_ok(mac => "02:00:00:00:00:0$_") } 1 .. 3;
    my $br = $t->peer_ok(bridge => 'on');

    # the bridge gets a MAC, so that nothing is unknown
    $br->send_eth('02:00:00:00:00:01', '0a:00:00:00:00:01', 0x0800, 'hi');
    $p[0]->recv_eth(3);

    return ($t, @p, $br);
}

# $from floods $dst; which of @to get it (once each) and the sender not
sub flooded {
    my ($from, $from_mac, $dst, $what, @to) = @_;

    $from->send_eth($dst, $from_mac, 0x0806, $what);

    my $all = 1;
    for my $ws (@to) {
        my $p = payload($ws->recv_eth(3));
        $all = 0 unless defined $p && $p eq $what;
    }
    ok($all, "$what: every other port gets it");

    my $none = 1;
    for my $ws (@to) {
        $none = 0 unless $ws->expect_nothing(0.05);
    }
    ok($none && $from->expect_nothing(0.2),
       "$what: once each, never the sender");
}

sub not_flooded {
    my ($t, $from, $from_mac, $dst, $what, $reason, @to) = @_;

    my $before = $t->drops();

    $from->send_eth($dst, $from_mac, 0x0806, $what);
    $from->send_eth('02:00:00:00:00:02', $from_mac, 0x0800, 'marker');

    my $none = 1;
    for my $ws (@to) {
        my $p = payload($ws->recv_eth($ws == $to[0] ? 3 : 0.3));
        next if $ws == $to[0] && defined $p && $p eq 'marker';
        $none = 0 if defined $p;
    }
    ok($none, "$what: dropped");
    is(($t->drops()->{$reason} // 0) - ($before->{$reason} // 0), 1,
       "$what: counted as $reason");
}


###############################################################################

my ($t, $a, $b, $c, $br) = setup('');

flooded($a, '02:00:00:00:00:01', $BCAST, 'broadcast', $b, $c, $br);
for my $g (sort keys %GROUP) {
    flooded($a, '02:00:00:00:00:01', $GROUP{$g}, $g, $b, $c, $br);
}

# from a bridge, with a learned source
flooded($br, '0a:00:00:00:00:02', $BCAST, 'broadcast from a bridge',
        $a, $b, $c);

# many at once: order and count
$a->send_eth($BCAST, '02:00:00:00:00:01', 0x0806, "b$_") for 1 .. 100;
for my $ws ($b, $c, $br) {
    my @got = map { payload($ws->recv_eth(3)) // 'lost' } 1 .. 100;
    is("@got", join(' ', map { "b$_" } 1 .. 100),
       '100 broadcasts arrive in order, once each');
}
ok($a->expect_nothing(0.2), 'none comes back to the sender');

# a peer alone on the switch: flooding to nobody is fine
$_->close(clean => 1) for $b, $c, $br;
select(undef, undef, undef, 0.2);
$a->send_eth($BCAST, '02:00:00:00:00:01', 0x0806, 'alone');
ok($a->expect_nothing(0.3), 'a lone peer\'s broadcast does not come back');
$a->close(clean => 1);

$t->done(no_done_testing => 1);


###############################################################################

($t, $a, $b, $c, $br) = setup('broadcast=off');

not_flooded($t, $a, '02:00:00:00:00:01', $BCAST, 'broadcast=off: broadcast',
            'broadcast_off', $b, $c, $br);
for my $g (sort keys %GROUP) {
    flooded($a, '02:00:00:00:00:01', $GROUP{$g}, "broadcast=off: $g",
            $b, $c, $br);
}
$_->close(clean => 1) for $a, $b, $c, $br;

$t->done(no_done_testing => 1);


###############################################################################

($t, $a, $b, $c, $br) = setup('multicast=off');

flooded($a, '02:00:00:00:00:01', $BCAST, 'multicast=off: broadcast',
        $b, $c, $br);
for my $g (sort keys %GROUP) {
    not_flooded($t, $a, '02:00:00:00:00:01', $GROUP{$g}, "multicast=off: $g",
                'multicast_off', $b, $c, $br);
}
$_->close(clean => 1) for $a, $b, $c, $br;

$t->done();
