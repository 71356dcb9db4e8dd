package SwitchCases;

# vpnws: ONE set of switching-rule cases (DESIGN.md section 4), run against
# any switch that implements the target interface:
#
#   $target->name                 "module", "daemon"
#   $target->peer(%o)             a connected VpnwsWS peer (dies if refused)
#   $target->try_peer(%o)         a VpnwsWS, whatever the answer
#                                 (%o: mac => ..., bridge => 0|1)
#   $target->status               the admin JSON, decoded
#   $target->restart(%o)          the same switch with other settings:
#                                 broadcast, multicast, isolation (0|1),
#                                 bridge_macs (N), mac_aging (seconds);
#                                 every peer goes;
#                                 policy => 1: the grants come from the
#                                 request's query (?grant= ?mac= ?ip=
#                                 ?rate= ?user=, two peers per user) as
#                                 nginx variables (module) or uwsgi_param
#                                 VPNWS_* (daemon); defaults => 1: no
#                                 policy configured at all
#   $target->wait_log($re, $timeout, $n)   lines of the switch's log
#   $target->done                 stop it, its own end-of-test checks
#
# t/60-switch-daemon.t runs them against the uwsgi daemon behind nginx,
# t/61-switch-module.t against the nginx module (SwitchCases::Module).
#
# Proof of a drop: the sender's next frame (a marker) must be the next
# frame each receiver sees; one connection keeps its order end to end, so
# a dropped frame would have arrived before the marker.

use strict;
use warnings;

use FindBin;
use Test::More;
use Time::HiRes qw(sleep);

use VpnwsWS qw(eth_frame eth_parse);


my $T;
my $seq = 0;
my $before = {};

my $BC = 'ff:ff:ff:ff:ff:ff';


sub payload_of {
    my ($ws, $timeout) = @_;

    my $f = $ws->recv_eth($timeout // 3);

    return undef unless defined $f;
    return (eth_parse($f))[3];
}


# the next frame $ws gets carries $payload
sub next_is {
    my ($ws, $payload, $what) = @_;

    my $got = payload_of($ws);

    return is($got, $payload, $what);
}


# a broadcast marker from $from: every @to gets it as its next frame, and
# $from does not get it back
sub bsync {
    my ($from, $src, $what, @to) = @_;

    $seq++;
    my $m = "sync $seq";
    $from->send_eth($BC, $src, 0x0800, $m);

    my $ok = 1;

    for my $ws (@to) {
        my $got = payload_of($ws);
        $ok = 0 unless defined $got && $got eq $m;
    }

    return ok($ok, "$what: the next frame every receiver sees is the "
              . "marker");
}


# a unicast marker from $from to each [ws, mac] in @to
sub usync {
    my ($from, $src, $what, @to) = @_;

    my $ok = 1;

    for my $dst (@to) {
        $seq++;
        my $m = "sync $seq";
        $from->send_eth($dst->[1], $src, 0x0800, $m);
        my $got = payload_of($dst->[0]);
        $ok = 0 unless defined $got && $got eq $m;
    }

    return ok($ok, "$what: the next frame is the marker");
}


sub drops_now {
    my $st = $T->status() || {};

    return $st->{drops} || {};
}


sub reset_drops {
    $before = drops_now();
}


# the drop counters grew by exactly %want since the last check
sub dropped {
    my ($what, %want) = @_;

    my $now = drops_now();
    my %delta = map { $_ => ($now->{$_} // 0) - ($before->{$_} // 0) }
        keys %$now;
    my %got = map { $_ => $delta{$_} } grep { $delta{$_} } keys %delta;

    $before = $now;

    my $ok = is_deeply(\%got, \%want, "$what: drop counters");
    diag(explain(\%got)) unless $ok;

    return $ok;
}


sub status_peer_by_id {
    my ($id) = @_;

    my $st = $T->status() || {};

    for my $p (@{$st->{peers} || []}) {
        return $p if $p->{id} == $id;
    }

    return undef;
}


sub status_peer_by_mac {
    my ($mac) = @_;

    my $st = $T->status() || {};

    for my $p (@{$st->{peers} || []}) {
        return $p if grep { lc $_ eq lc $mac } @{$p->{macs} || []};
    }

    return undef;
}


sub close_all {
    $_->close(clean => 1) for grep { defined } @_;
}


###############################################################################

sub run {
    my ($target) = @_;

    $T = $target;

    my $name = $T->name;

    note("switching cases against the $name");

    ordinary_peers();
    flooding();
    silent_peers();
    bridges();
    bridge_learning();
    bridge_limit();
    flood_switches();
    isolation();
    policy_defaults();
    policy();
    build_info();

    $T->done();

    done_testing();
}


# rules 1, 2, 4, 6 for ordinary peers
sub ordinary_peers {
    my $A = '02:00:00:00:00:0a';
    my $B = '02:00:00:00:00:0b';
    my $C = '02:00:00:00:00:0c';
    my $D = '02:00:00:00:00:0d';

    my $a = $T->peer(mac => $A);
    my $b = $T->peer(mac => $B);
    my $c = $T->peer(mac => $C);

    reset_drops();

    # 1. shorter than an ethernet header: dropped, the connection lives on
    $a->send_binary(substr(eth_frame($B, $A), 0, 12));
    $a->send_binary(substr(eth_frame($B, $A), 0, 13));
    $a->send_binary('');
    bsync($a, $A, 'short frames', $b, $c);
    dropped('short frames', short => 3);

    $a->send_binary(eth_frame($B, $A, 0x0800, ''));
    is(length(($b->recv_eth(3)) // ''), 14, 'a 14-byte frame passes');

    # 2. invalid sources; a peer without X-vpn-ws-MAC takes its first
    # valid source
    my $d = $T->peer();

    for my $src ('00:00:00:00:00:00', $BC, '01:00:5e:00:00:01',
                 '33:33:00:00:00:01', '03:00:00:00:00:01')
    {
        $d->send_eth($B, $src, 0x0800, "from $src");
    }

    bsync($d, $D, 'invalid sources, then a valid one', $a, $b, $c);
    dropped('invalid sources', src_invalid => 5);

    my $sp = status_peer_by_mac($D);
    ok($sp && lc($sp->{MAC} // '') eq $D,
       'a peer without X-vpn-ws-MAC owns its first valid source MAC');
    is_deeply([map { lc } @{$sp ? $sp->{macs} : []}], [$D],
              'and only that one') or diag(explain($sp));

    # anti-spoofing: the first MAC, and the announced one, are the only ones
    $d->send_eth($B, '02:00:00:00:00:ee', 0x0800, 'spoofed by d');
    $a->send_eth($B, '02:00:00:00:00:ef', 0x0800, 'spoofed by a');
    usync($d, $D, 'spoofed sources', [$b, $B]);
    usync($a, $A, 'spoofed sources', [$b, $B]);
    dropped('spoofed sources', spoofed => 2);

    # a spoofed MAC was not learned: frames to it reach nobody
    $b->send_eth('02:00:00:00:00:ef', $B, 0x0800, 'to a spoofed MAC');
    bsync($b, $B, 'to a spoofed MAC', $a, $c, $d);
    dropped('to a spoofed MAC without bridges', unknown_unicast => 1);

    # 2. takeover: refused at the handshake, and in frames
    my $x = $T->try_peer(mac => $A);
    is($x->status, 409, 'X-vpn-ws-MAC of a live peer: 409');
    $x->close();

    my $e = $T->peer();
    $e->send_eth($C, $A, 0x0800, "take $_") for 1 .. 3;
    usync($e, '02:00:00:00:00:0e', 'the taker, from a free MAC', [$c, $C]);
    dropped('takeover', mac_taken => 3);

    my @l = $T->wait_log(qr/which another peer owns/, 2);
    is(scalar @l, 1, 'a takeover is logged once') or diag(join "\n", @l);

    $b->send_eth($A, $B, 0x0800, 'to the owner');
    next_is($a, 'to the owner', 'the owner keeps its MAC');
    ok($e->expect_nothing(0.2), 'the taker receives nothing for that MAC');
    $e->close(clean => 1);

    # 4. destination zero or equal to the source
    $a->send_eth('00:00:00:00:00:00', $A, 0x0800, 'to zero');
    $a->send_eth($A, $A, 0x0800, 'to itself');
    bsync($a, $A, 'to zero, to itself', $b, $c, $d);
    dropped('invalid destinations', dst_invalid => 2);

    # 6. known unicast: to its owner only
    $a->send_eth($B, $A, 0x0800, 'private');
    next_is($b, 'private', 'unicast reaches its owner');
    bsync($a, $A, 'unicast', $b, $c, $d);

    # both ways at once, many frames: each connection keeps its order
    for my $i (1 .. 50) {
        $a->send_eth($B, $A, 0x0800, "a$i");
        $b->send_eth($A, $B, 0x0800, "b$i");
    }
    my $got = VpnwsWS->collect([$a, $b], want => 50, timeout => 5);
    is(join(' ', map { (eth_parse($_))[3] } @{$got->[1]}),
       join(' ', map { "a$_" } 1 .. 50), 'A to B: 50 frames in order');
    is(join(' ', map { (eth_parse($_))[3] } @{$got->[0]}),
       join(' ', map { "b$_" } 1 .. 50), 'B to A: 50 frames in order');

    # 6. unknown unicast without bridge ports: dropped
    $a->send_eth('02:00:00:00:99:99', $A, 0x0800, 'to nobody');
    bsync($a, $A, 'unknown unicast', $b, $c, $d);
    dropped('unknown unicast without bridges', unknown_unicast => 1);

    # the port left: frames to its MAC reach nobody, the MAC is free again
    $d->close(clean => 1);
    sleep(0.2);
    $a->send_eth($D, $A, 0x0800, 'to a peer that left');
    bsync($a, $A, 'to the MAC of a peer that left', $b, $c);
    dropped('to the MAC of a peer that left', unknown_unicast => 1);

    my $d2 = $T->peer(mac => $D);
    ok($d2->ok, 'the MAC of a peer that left can be taken');
    $a->send_eth($D, $A, 0x0800, 'to the new owner');
    next_is($d2, 'to the new owner', 'and reaches the new owner');

    my $sa = status_peer_by_mac($A);
    ok($sa && $sa->{rx} > 0 && $sa->{tx} > 0, 'status: rx and tx of a peer')
        or diag(explain($sa));

    my $st = $T->status() || {};
    my %ids = map { $_->{id} => 1 } @{$st->{peers} || []};
    is(scalar(keys %ids), scalar(@{$st->{peers} || []}),
       'peer ids are unique');

    close_all($a, $b, $c, $d2);
}


# rule 5: broadcast and multicast go to every other port, never back
sub flooding {
    my $A = '02:00:00:00:01:0a';
    my $B = '02:00:00:00:01:0b';
    my $C = '02:00:00:00:01:0c';

    my $M = '02:00:00:00:01:e1';

    my $a = $T->peer(mac => $A);
    my $b = $T->peer(mac => $B);
    my $c = $T->peer(mac => $C);
    my $r = $T->peer(bridge => 1);

    # the bridge learns a MAC: nothing below is unknown
    $r->send_eth($A, $M, 0x0800, 'hello');
    next_is($a, 'hello', 'a bridge behind which a host lives');

    reset_drops();

    for my $dst ($BC, '01:00:5e:00:00:fb', '33:33:00:00:00:01',
                 '03:00:00:00:00:01')
    {
        $a->send_eth($dst, $A, 0x0800, "group $dst");
        next_is($b, "group $dst", "$dst reaches every other peer (b)");
        next_is($c, "group $dst", "$dst reaches every other peer (c)");
        next_is($r, "group $dst", "$dst reaches every other peer (bridge)");
    }

    # the sender's next frame is someone else's marker: nothing came back
    bsync($b, $B, 'group frames never go back to the sender', $a, $c, $r);

    # from a bridge, with a learned source
    $r->send_eth($BC, $M, 0x0806, 'broadcast from a bridge');
    next_is($_, 'broadcast from a bridge', 'a bridge\'s broadcast reaches '
            . 'every peer') for $a, $b, $c;
    ok($r->expect_nothing(0.2), 'not the bridge itself');

    # many at once: each receiver gets each once, in order
    $a->send_eth($BC, $A, 0x0806, "b$_") for 1 .. 100;
    my $got = VpnwsWS->collect([$b, $c, $r], want => 100, timeout => 5);
    for my $i (0 .. 2) {
        is(join(' ', map { (eth_parse($_))[3] } @{$got->[$i]}),
           join(' ', map { "b$_" } 1 .. 100),
           "100 broadcasts arrive in order, once each (receiver $i)");
    }
    bsync($c, $C, 'none of the 100 comes back to the sender', $a);
    dropped('flooding');

    # a peer alone on the switch: flooding to nobody
    close_all($b, $c, $r);
    sleep(0.2);
    $a->send_eth($BC, $A, 0x0806, 'alone');
    ok($a->expect_nothing(0.3), 'a lone peer\'s broadcast does not come '
       . 'back');

    close_all($a);
}


# an original vpn-ws-client dies on a frame that arrives before its tap is
# up: a peer that did not say "X-vpn-ws-ready: on" hears no flood before
# its first frame; one that did (our client) hears them at once
sub silent_peers {
    my $A = '02:00:00:00:06:0a';
    my $O = '02:00:00:00:06:0b';
    my $R = '02:00:00:00:06:0c';
    my $B = '02:00:00:00:06:0d';

    my $a = $T->peer(mac => $A);
    my $o = $T->peer(mac => $O, original => 1);
    my $r = $T->peer(mac => $R);
    my $b = $T->peer(bridge => 1, original => 1);

    reset_drops();

    for my $dst ($BC, '01:00:5e:00:00:fb', '02:00:00:00:06:99') {
        $a->send_eth($dst, $A, 0x0800, "early $dst");
    }

    next_is($r, "early $BC", 'a ready peer hears a broadcast at once');
    next_is($r, 'early 01:00:5e:00:00:fb', 'and a multicast');
    ok($o->expect_nothing(0.5), 'a silent original peer hears no flood')
        or diag(explain($o->{unexpected}));
    ok($b->expect_nothing(0.1), 'a silent original bridge hears no '
       . 'flood and no unknown unicast');

    # its first frame: from then on it hears floods
    $o->send_eth($A, $O, 0x0800, 'tap is up');
    next_is($a, 'tap is up', 'the silent peer\'s first frame goes out');
    $b->send_eth($A, '02:00:00:00:06:e1', 0x0800, 'bridge is up');
    next_is($a, 'bridge is up', 'so does the silent bridge\'s');
    bsync($a, $A, 'after their first frame', $o, $r, $b);

    # known unicast is not a flood: it reaches a silent peer
    my $s = $T->peer(mac => '02:00:00:00:06:0e', original => 1);
    $a->send_eth('02:00:00:00:06:0e', $A, 0x0800, 'to you');
    next_is($s, 'to you', 'known unicast reaches a silent peer');

    close_all($a, $o, $r, $b, $s);
}


# rules 3 and 6: bridge ports learn; unknown unicast goes to bridges only
sub bridges {
    my $A = '02:00:00:00:02:0a';
    my $B = '02:00:00:00:02:0b';
    my $M1 = '02:00:00:00:02:e1';
    my $M2 = '02:00:00:00:02:e2';

    my $a = $T->peer(mac => $A);
    my $b = $T->peer(mac => $B);
    my $r = $T->peer(bridge => 1);
    my $s = $T->peer(bridge => 1);

    # the original lists a bridge's MAC as a string: zeros until its first
    # source MAC, then that one
    my @br = grep { $_->{bridge} } @{($T->status() || {})->{peers} || []};
    is_deeply([map { $_->{MAC} } @br], [('00:00:00:00:00:00') x 2],
              'status: a bridge\'s MAC is zeros before its first frame');

    reset_drops();

    # unknown unicast: to every bridge, to no ordinary peer
    $a->send_eth('02:00:00:00:02:99', $A, 0x0800, 'unknown');
    next_is($r, 'unknown', 'unknown unicast reaches a bridge');
    next_is($s, 'unknown', 'and every bridge');
    bsync($a, $A, 'unknown unicast', $b, $r, $s);

    # learning: frames to a MAC behind a bridge go to that bridge only
    $r->send_eth($A, $M1, 0x0800, 'from m1');
    next_is($a, 'from m1', 'a bridge sends from any MAC behind it');
    my $rp = status_peer_by_mac($M1);
    is(lc(($rp || {})->{MAC} // 'null'), $M1,
       'status: a bridge\'s MAC is the first source MAC it sent');
    $r->send_eth($A, $M2, 0x0800, 'from m2');
    next_is($a, 'from m2', 'and from another one');

    $a->send_eth($M1, $A, 0x0800, 'to m1');
    next_is($r, 'to m1', 'a learned MAC: to its bridge');
    bsync($a, $A, 'a learned MAC', $b, $r, $s);

    my $sp = status_peer_by_mac($M1);
    ok($sp && $sp->{bridge}, 'the status shows the bridge');
    is_deeply([sort map { lc } @{$sp ? $sp->{macs} : []}], [$M1, $M2],
              'with the MACs it learned');

    # a bridge cannot take a live peer's MAC
    $r->send_eth($B, $A, 0x0800, 'as a');
    usync($r, $M1, 'a bridge sending from a peer\'s MAC', [$b, $B]);
    dropped('bridge takeover', mac_taken => 1);

    $b->send_eth($A, $B, 0x0800, 'still a');
    next_is($a, 'still a', 'the peer keeps its MAC');

    # a station moves from one bridge to another
    $s->send_eth($A, $M1, 0x0800, 'm1 moved');
    next_is($a, 'm1 moved', 'a MAC moving between bridges');
    $a->send_eth($M1, $A, 0x0800, 'to moved m1');
    next_is($s, 'to moved m1', 'follows the station');
    bsync($a, $A, 'a moved MAC', $b, $r, $s);

    # unknown unicast from a bridge: to the other bridges only
    $r->send_eth('02:00:00:00:02:98', $M2, 0x0800, 'unknown from r');
    next_is($s, 'unknown from r', 'unknown unicast from a bridge reaches '
            . 'the other bridge');
    bsync($r, $M2, 'unknown unicast from a bridge', $a, $b, $s);
    ok($r->expect_nothing(0.2), 'not back to the bridge it came from');

    # the bridge left: its MACs go
    $s->close(clean => 1);
    $r->close(clean => 1);
    sleep(0.2);
    ok(!status_peer_by_mac($M2), 'a bridge that left owns no MAC');

    $a->send_eth($M2, $A, 0x0800, 'to a gone MAC');
    bsync($a, $A, 'to a MAC of a bridge that left', $b);
    dropped('after the bridges left', unknown_unicast => 1);

    close_all($a, $b);
}


# rules 3 and 6 at the default limits: many MACs behind one bridge, a
# frame back to its own port, MACs live behind a bridge stay its own
sub bridge_learning {
    my $A = '02:00:00:00:07:0a';
    my $C = '02:00:00:00:07:0c';
    my @L = map { sprintf('0a:00:00:00:07:%02x', $_) } 1 .. 50;

    my $a = $T->peer(mac => $A);
    my $c = $T->peer(mac => $C);
    my $r = $T->peer(bridge => 1);
    my $s = $T->peer(bridge => 1);

    reset_drops();

    $r->send_eth($A, $_, 0x0800, "from $_") for @L;
    my $got = VpnwsWS->collect([$a], want => 50, timeout => 5)->[0];
    is(join(' ', map { (eth_parse($_))[3] } @$got),
       join(' ', map { "from $_" } @L),
       'a bridge sends from 50 source MACs');
    bsync($a, $A, 'known unicast from a bridge: to its owner only',
          $c, $r, $s);

    $a->send_eth($_, $A, 0x0800, "to $_") for @L;
    $got = VpnwsWS->collect([$r], want => 50, timeout => 5)->[0];
    is(join(' ', map { (eth_parse($_))[3] } @$got),
       join(' ', map { "to $_" } @L),
       'frames to the 50 learned MACs reach the bridge');
    bsync($a, $A, 'learned MACs are known: not flooded to the other '
          . 'bridge nor to a peer', $c, $r, $s);

    my $sp = status_peer_by_mac($L[0]);
    is(scalar(grep { /^0a:00:00:00:07:/ } map { lc }
              @{$sp ? $sp->{macs} : []}), 50,
       'status lists the 50 learned MACs');
    is($sp && $sp->{bridge}, 1, 'status: "bridge":1');

    # to a MAC behind the port the frame came from
    $r->send_eth($L[1], $L[0], 0x0800, 'hairpin');
    usync($r, $L[0], 'a frame to a MAC behind its own port', [$a, $A]);
    bsync($a, $A, 'the hairpin frame went nowhere', $c, $r, $s);
    dropped('a frame to a MAC behind its own port', same_port => 1);

    # a MAC live behind a bridge is the bridge's: not announced, not taken
    my $x = $T->try_peer(mac => $L[2]);
    is($x->status, 409, 'announcing a MAC live behind a bridge: 409');
    $x->close();

    my $z = $T->peer();
    $z->send_eth($C, $L[3], 0x0800, 'as a host behind the bridge');
    usync($z, '02:00:00:00:07:0f', 'a first frame from a MAC live behind '
          . 'a bridge', [$c, $C]);
    dropped('a first frame from a MAC live behind a bridge', mac_taken => 1);
    $a->send_eth($L[3], $A, 0x0800, 'to the host');
    next_is($r, 'to the host', 'the bridge keeps it');
    $z->close(clean => 1);

    # a bridge that left: its MACs are unknown, flooded to the other bridge
    $r->close(clean => 1);
    sleep(0.2);
    $a->send_eth($L[5], $A, 0x0800, 'to a gone bridge');
    next_is($s, 'to a gone bridge', 'the MACs of a bridge that left are '
            . 'unknown: flooded to the other bridge');
    bsync($a, $A, 'to a MAC of a bridge that left', $c, $s);

    close_all($a, $c, $s);
}


# rule 3: the per-bridge limit; MACs behind a bridge age (mac_aging)
sub bridge_limit {
    $T->restart(bridge_macs => 2, mac_aging => 1);

    my $A = '02:00:00:00:03:0a';
    my @M = map { sprintf('02:00:00:00:03:e%d', $_) } 1 .. 3;

    my $a = $T->peer(mac => $A);
    my $r = $T->peer(bridge => 1);
    my $s = $T->peer(bridge => 1);

    reset_drops();

    $r->send_eth($A, $_, 0x0800, "from $_") for @M;
    next_is($a, "from $M[0]", 'first MAC of the bridge');
    next_is($a, "from $M[1]", 'second MAC of the bridge');
    usync($r, $M[0], 'a third MAC past bridge_macs=2', [$a, $A]);
    dropped('bridge limit', bridge_limit => 1);

    my $sp = status_peer_by_mac($M[0]);
    is_deeply([sort map { lc } @{$sp ? $sp->{macs} : []}], [@M[0, 1]],
              'the bridge holds 2 MACs');

    $a->send_eth($M[0], $A, 0x0800, 'known');
    next_is($r, 'known', 'a learned MAC reaches its bridge');
    bsync($a, $A, 'and no other bridge', $r, $s);

    # after 2.5 s of silence (mac_aging=1s) the MACs are gone
    sleep(2.5);
    $a->send_eth($M[1], $A, 0x0800, 'aged');
    next_is($r, 'aged', 'an aged MAC is unknown: to every bridge (r)');
    next_is($s, 'aged', 'an aged MAC is unknown: to every bridge (s)');
    ok(!status_peer_by_mac($M[0]) && !status_peer_by_mac($M[1]),
       'status: the aged MACs are not listed');

    # aging frees the bridge's quota (at the start of a second: the claim
    # below then falls within the second of the bridge's last frame from
    # that MAC, which must not matter)
    sleep(1.05 - (Time::HiRes::time() - int(Time::HiRes::time())));
    $r->send_eth($A, $M[2], 0x0800, 'third');
    next_is($a, 'third', 'after aging, a new MAC is learned');

    my $x = $T->try_peer(mac => $M[2]);
    is($x->status, 409, 'a MAC live behind a bridge cannot be announced');
    $x->close();
    $a->send_eth($M[2], $A, 0x0800, 'still behind the bridge');
    next_is($r, 'still behind the bridge', 'its frames still go to the '
            . 'bridge');

    # a host moved from behind the bridge to a peer of its own: once aged
    # the MAC can be announced, and the bridge cannot learn it back
    my $y = $T->try_peer(mac => $M[1]);
    is($y->status, 101, 'a MAC aged out behind a bridge can be announced');
    $a->send_eth($M[1], $A, 0x0800, 'moved');
    next_is($y, 'moved', 'its frames go to the new peer');
    bsync($a, $A, 'not to the bridges', $r, $s, $y);

    reset_drops();
    $r->send_eth($A, $M[1], 0x0800, 'I was there first');
    usync($r, $M[2], 'a frame from the moved host', [$a, $A]);
    dropped('the bridge cannot learn the moved MAC back', mac_taken => 1);

    # traffic keeps a learned MAC: it does not age while in use
    for (1 .. 5) {
        sleep(0.5);
        $r->send_eth($A, $M[2], 0x0800, 'keepalive');
        payload_of($a);
    }
    $a->send_eth($M[2], $A, 0x0800, 'still known');
    next_is($r, 'still known', 'a MAC in use for 2.5 s is still known');
    bsync($a, $A, 'so it is not flooded', $r, $s, $y);

    close_all($a, $r, $s, $y);
}


# rule 5: --no-broadcast, --no-multicast (broadcast=off, multicast=off)
sub flood_switches {
    my $A = '02:00:00:00:04:0a';
    my $B = '02:00:00:00:04:0b';
    my $MC = '01:00:5e:00:00:fb';

    $T->restart(broadcast => 0);

    my $a = $T->peer(mac => $A);
    my $b = $T->peer(mac => $B);
    my $r = $T->peer(bridge => 1);

    reset_drops();

    $a->send_eth($BC, $A, 0x0800, 'broadcast');
    for my $g ($MC, '33:33:00:00:00:01', '03:00:00:00:00:01') {
        $a->send_eth($g, $A, 0x0800, "multicast $g");
        next_is($_, "multicast $g", "broadcast off: $g still floods, "
                . 'broadcast does not') for $b, $r;
    }
    dropped('broadcast off', broadcast_off => 1);

    close_all($a, $b, $r);

    $T->restart(multicast => 0);

    $a = $T->peer(mac => $A);
    $b = $T->peer(mac => $B);

    reset_drops();

    $r = $T->peer(bridge => 1);

    $a->send_eth($MC, $A, 0x0800, 'multicast');
    $a->send_eth('33:33:00:00:00:01', $A, 0x86dd, 'ipv6 multicast');
    $a->send_eth('03:00:00:00:00:01', $A, 0x0800, 'other group');
    $a->send_eth($BC, $A, 0x0800, 'broadcast');
    next_is($_, 'broadcast', 'multicast off: broadcast still floods, '
            . 'multicast does not') for $b, $r;
    dropped('multicast off', multicast_off => 3);

    close_all($a, $b, $r);
}


# the build: its version in the status JSON and in vpnws_build_info, the
# metrics as promtool reads them
sub build_info {
    my $name = $T->name;
    my $h = "$FindBin::Bin/../src/vpnws_version.h";
    my ($ver) = `cat $h` =~ /VPNWS_VERSION\s+"([^"]+)"/;

    ok($ver, "$name: the version in src/vpnws_version.h");
    is($T->status->{version}, $ver, "$name: \"version\" in the status JSON");

    my $r = $T->t->http_get('/status?format=prometheus');
    my ($head, $prom) = split /\r\n\r\n/, $r, 2;
    like($head, qr{^Content-Type: text/plain; version=0\.0\.4}mi,
         "$name: prometheus content type");
    like($prom // '', qr/^vpnws_build_info\{switch="[^"]+",version="\Q$ver\E"\} 1$/m,
         "$name: vpnws_build_info") or diag($r);
    like($prom // '', qr/^vpnws_peers\{switch="[^"]+"\} \d+$/m,
         "$name: vpnws_peers");

    SKIP: {
        skip 'no promtool', 1 if system('command -v promtool >/dev/null');
        $T->t->write_file('metrics.txt', $prom // '');
        my $f = $T->t->prefix . '/metrics.txt';
        my $out = `promtool check metrics < $f 2>&1`;
        is($?, 0, "$name: promtool check metrics") or diag($out);
    }
}


# rule 7: isolation: peers reach bridges only
sub isolation {
    $T->restart(isolation => 1);

    my $A = '02:00:00:00:05:0a';
    my $B = '02:00:00:00:05:0b';
    my $M = '02:00:00:00:05:e1';

    my $a = $T->peer(mac => $A);
    my $b = $T->peer(mac => $B);
    my $r = $T->peer(bridge => 1);

    reset_drops();

    $a->send_eth($B, $A, 0x0800, 'to b');
    $a->send_eth($BC, $A, 0x0800, 'broadcast from a');
    next_is($r, 'broadcast from a', 'isolation: a broadcast reaches the '
            . 'bridge');
    dropped('isolation: peer to peer', isolated => 1);

    $r->send_eth($A, $M, 0x0800, 'gateway to a');
    next_is($a, 'gateway to a', 'isolation: the bridge reaches a peer');

    $a->send_eth($M, $A, 0x0800, 'a to gateway');
    next_is($r, 'a to gateway', 'isolation: a peer reaches the bridge');
    $b->send_eth($M, $B, 0x0800, 'b to gateway');
    next_is($r, 'b to gateway', 'isolation: every peer reaches the bridge');

    $r->send_eth($BC, $M, 0x0800, 'broadcast from the gateway');
    next_is($a, 'broadcast from the gateway', 'a bridge broadcast reaches '
            . 'peers (a)');

    # b got neither the unicast nor a's broadcast: its next frame is this
    next_is($b, 'broadcast from the gateway', 'and b, which saw nothing of '
            . 'a');
    ok($r->expect_nothing(0.2), 'isolation: not the bridge itself');

    # a peer's multicast and unknown unicast: to the bridge, not to peers;
    # nor a unicast the other way
    $b->send_eth($A, $B, 0x0800, 'to a');
    $b->send_eth($M, $B, 0x0800, 'after b to a');
    next_is($r, 'after b to a', 'isolation: the marker after b to a');
    $a->send_eth('33:33:00:00:00:01', $A, 0x86dd, 'multicast from a');
    next_is($r, 'multicast from a', 'isolation: a multicast reaches the '
            . 'bridge');
    $a->send_eth('02:00:00:00:05:99', $A, 0x0800, 'unknown from a');
    next_is($r, 'unknown from a', 'isolation: unknown unicast reaches the '
            . 'bridge');
    bsync($r, $M, 'isolation: the other peer saw neither', $a, $b);

    # bridges reach each other
    my $s = $T->peer(bridge => 1);
    $s->send_eth($M, '02:00:00:00:05:e2', 0x0800, 'bridge to bridge');
    next_is($r, 'bridge to bridge', 'isolation: bridge to bridge passes');

    dropped('isolation: the other way', isolated => 1);

    close_all($a, $b, $r, $s);
}


###############################################################################
# the nginx module as a target

# no policy configured: the module grants no bridge; the daemon, a drop-in
# for the original, lets the client ask, and says so in its log
sub policy_defaults {
    $T->restart(defaults => 1);

    my $br = $T->try_peer(bridge => 'on');

    if ($T->name eq 'module') {
        is($br->status, 403, 'defaults: no bridge grant, 403');
        ok(scalar $T->wait_log(qr/bridge mode is not granted/),
           'defaults: the refusal is logged');

    } else {
        is($br->status, 101, 'defaults: the original behaviour, a client '
           . 'may ask for bridge mode');
        ok(scalar $T->wait_log(qr/no --policy: a client may ask for bridge/),
           'defaults: the log says so at start');
    }

    $br->close(clean => 1) if $br->ok;
}


# the same grants from the server's variables in both hosts
sub policy {
    my $A = '02:00:00:00:17:0a';
    my $B = '02:00:00:00:17:0b';
    my $G = '02:00:00:00:17:01';
    my $P = '02:00:00:00:17:20';

    $T->restart(isolation => 1, policy => 1);

    is($T->try_peer(bridge => 'on')->status, 403,
       'policy: a bridge without the grant: 403');
    ok(scalar $T->wait_log(qr/bridge mode is not granted/),
       'policy: and a log line');

    my $a = $T->peer(mac => $A, path => '/vpn?user=al');
    my $br = $T->peer(bridge => 'on', path => '/vpn?grant=on&user=gw');
    $br->send_eth($BC, $G, 0x88b5, 'gateway');
    next_is($a, 'gateway', 'policy: a granted bridge works');
    is($T->try_peer(mac => $G, path => '/vpn?user=eve')->status, 409,
       'policy: nobody takes the MAC learned behind the bridge');

    # bad values from the server's variables
    for my $c (['mac=junk', qr/(vpnws_mac|VPNWS_MAC) value "junk" is invalid/],
               ['rate=fast', qr/(vpnws_rate|VPNWS_RATE) value "fast"/],
               ['grant=maybe', qr/(vpnws_bridge|VPNWS_BRIDGE) value "maybe"/],
               ['ip=10.0.0', qr/(vpnws_ip|VPNWS_IP) value "10.0.0"/])
    {
        my $r = $T->try_peer(path => "/vpn?$c->[0]");
        is($r->status, 403, "policy: $c->[0]: 403");
        ok(scalar $T->wait_log($c->[1]), "policy: $c->[0]: a log line");
    }

    # a pinned MAC: another announced one is refused, the pin is claimed
    is($T->try_peer(path => "/vpn?mac=$P", mac => $B)->status, 403,
       'policy: announcing another MAC than the pinned one: 403');
    my $p = $T->peer(path => "/vpn?mac=$P&user=pat");
    my $sp = SwitchCases::status_peer_by_mac($P);
    ok($sp && $sp->{id}, 'policy: the pinned MAC is the peer\'s at once');
    reset_drops();
    $p->send_eth($G, $B, 0x88b5, 'spoofed');
    $p->send_eth($G, $P, 0x88b5, 'pinned');
    next_is($br, 'pinned', 'policy: another source MAC is dropped');
    dropped('policy: another source MAC than the pinned one', spoofed => 1);

    # guards, on with isolation=on: a peer's DHCP offer goes nowhere
    my $udp = pack('nnnn', 67, 68, 8, 0);
    my $ip = pack('CCnnnCCn', 0x45, 0, 28, 0, 0, 64, 17, 0)
             . pack('C4', 10, 0, 0, 2) . pack('C4', 255, 255, 255, 255);
    reset_drops();
    $a->send_eth($BC, $A, 0x0800, $ip . $udp);
    $a->send_eth($G, $A, 0x88b5, 'after the offer');
    next_is($br, 'after the offer', 'policy: a peer\'s DHCP offer is dropped');
    dropped('policy: a DHCP offer of an ordinary peer', dhcp_server => 1);

    # a rate: the peer is slowed, not dropped (300 frames, 300 KB of
    # websocket bytes through 200k burst=64k take more than a second)
    my $R = '02:00:00:00:17:30';
    my $lim = $T->peer(path => '/vpn?user=rl&rate=200k&grant=on',
                       bridge => 'on');
    my $t0 = Time::HiRes::time();
    $lim->send_eth($A, $R, 0x88b5, 'r' x 1000) for 1 .. 300;
    my $got = VpnwsWS->collect([$a], want => 300, timeout => 10)->[0];
    my $took = Time::HiRes::time() - $t0;
    is(scalar @$got, 300, 'policy: a rate-limited peer loses nothing');
    ok($took > 0.9, sprintf('policy: 300 KB at 200k/s take %.2f s', $took));
    $t0 = Time::HiRes::time();
    $br->send_eth($A, $G, 0x88b5, 'f' x 1000) for 1 .. 300;
    $got = VpnwsWS->collect([$a], want => 300, timeout => 10)->[0];
    $took = Time::HiRes::time() - $t0;
    ok(@$got == 300 && $took < 0.6,
       sprintf('policy: an unlimited one, %.2f s', $took));

    # toward the limited peer the rate polices: a burst's worth arrives
    reset_drops();
    $br->send_eth($R, $G, 0x88b5, 't' x 1000) for 1 .. 300;
    $got = VpnwsWS->collect([$lim], quiet => 0.5, timeout => 5)->[0];
    my $n = scalar @$got;
    ok($n >= 60 && $n <= 100, "policy: 300 KB at once to a 200k peer: "
       . "$n frames arrive (64k of burst and what the rate adds)");
    dropped('policy: toward a limited peer', rate_limit => 300 - $n);

    # a flood polices the same (the module once wrote a flooded frame to
    # every plain peer at once, past its rate)
    sleep(0.5);
    reset_drops();
    $br->send_eth($BC, $G, 0x88b5, 'b' x 1000) for 1 .. 300;
    my $all = VpnwsWS->collect([$lim, $a, $p], quiet => 0.5, timeout => 5);
    $n = scalar @{$all->[0]};
    ok($n >= 60 && $n <= 130, "policy: a flood of 300 KB: $n frames reach "
       . "the 200k peer");
    ok(@{$all->[1]} == 300 && @{$all->[2]} == 300,
       'policy: every frame the others');
    dropped('policy: a flood toward a limited peer', rate_limit => 300 - $n);
    $lim->close(clean => 1);

    # two peers per user
    my @u = map { $T->peer(path => '/vpn?user=uma') } 1 .. 2;
    is($T->try_peer(path => '/vpn?user=uma')->status, 403,
       'policy: a third peer of one user: 403');
    ok(scalar $T->wait_log(qr/user "uma" has 2 peers/),
       'policy: and a log line');
    is($T->try_peer(path => '/vpn')->status, 403,
       'policy: no user with a per-user limit: 403');

    $_->close(clean => 1) for $br, $a, $p, @u;
}


package SwitchCases::Module;

use strict;
use warnings;

use VpnwsTest;


sub params {
    my (%o) = @_;

    my @p;

    push @p, 'broadcast=off' if defined $o{broadcast} && !$o{broadcast};
    push @p, 'multicast=off' if defined $o{multicast} && !$o{multicast};
    push @p, 'isolation=on' if $o{isolation};
    push @p, "bridge_macs=$o{bridge_macs}" if $o{bridge_macs};
    push @p, "mac_aging=$o{mac_aging}s" if $o{mac_aging};
    push @p, "max_frame=$o{max_frame}" if $o{max_frame};
    push @p, "queue=$o{queue}" if $o{queue};

    return join ' ', @p;
}


sub new {
    my ($class, %o) = @_;

    my $t = VpnwsTest->new();
    $t->has_module();

    my $self = bless { t => $t }, $class;

    $t->write_file_expand('nginx.conf', conf($t, %o));
    $t->run();

    return $self;
}


# the grants from the request's query, as an operator's map would give them
sub conf {
    my ($t, %o) = @_;

    my %c = (params => params(%o));

    $c{policy} = '' if $o{defaults};
    $c{policy} = 'vpnws_bridge $arg_grant; vpnws_mac $arg_mac; '
                 . 'vpnws_ip $arg_ip; vpnws_rate $arg_rate; '
                 . 'vpnws_user $arg_user; vpnws_peers_per_user 2;'
        if $o{policy};

    return $t->switch_conf(%c);
}


sub name { 'module' }
sub t { $_[0]{t} }


sub restart {
    my ($self, %o) = @_;

    my $t = $self->{t};

    $t->stop();
    $t->write_file_expand('nginx.conf', conf($t, %o));
    $t->run();

    return $self;
}


sub try_peer {
    my ($self, %o) = @_;

    return $self->{t}->peer(%o);
}


sub peer {
    my ($self, %o) = @_;

    return $self->{t}->peer_ok(%o);
}


sub status {
    my ($self) = @_;

    return $self->{t}->status();
}


sub wait_log {
    my ($self, $re, $timeout, $n) = @_;

    my $t = $self->{t};
    my $deadline = Time::HiRes::time() + ($timeout || 5);

    while (1) {
        my @l = $t->error_log_lines($re);
        return @l if @l > ($n // 0) || Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
}


sub done {
    my ($self) = @_;

    $self->{t}->done(no_done_testing => 1);
}


1;
