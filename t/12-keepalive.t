#!/usr/bin/perl

# vpnws: keepalive (ping=1s timeout=3s): the server pings idle peers; a peer
# that answers, or that sends the original client's "89 00" pings, stays;
# a silent peer gets Close 1001 after the timeout, with a log line.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_parse CLOSE PING PONG);

my $t = VpnwsTest->start_switch(params => 'ping=1s timeout=3s');

my $answers = $t->peer_ok(mac => '02:00:00:00:07:01');
my $silent = $t->peer_ok(mac => '02:00:00:00:07:02');
my $oldping = $t->peer_ok(mac => '02:00:00:00:07:03');

my $start = time();
my %pings = (answers => 0, silent => 0, oldping => 0);
my %close;
my $next_oldping = $start;

while (time() - $start < 6) {
    if (time() >= $next_oldping) {
        $oldping->send_raw("\x89\x00");     # unmasked, empty
        $next_oldping += 1;
    }

    my %who = (answers => $answers, silent => $silent, oldping => $oldping);

    for my $name (sort keys %who) {
        my $ws = $who{$name};
        next if $ws->{eof};

        while (my ($op, $p) = $ws->recv_frame(0.02)) {
            if ($op == PING) {
                $pings{$name}++;
                $ws->send_frame(PONG, $p) if $name eq 'answers';
            } elsif ($op == CLOSE) {
                $close{$name} //= [time() - $start,
                                   length $p >= 2 ? unpack('n', $p) : 1005];
            }
        }
    }
}

ok($pings{answers} >= 3, "the server pings an idle peer ($pings{answers} "
   . 'pings in 6 s)');
ok($pings{silent} >= 1, "and a silent one ($pings{silent} pings)");
ok(!$close{answers}, 'a peer that answers pings stays');
ok(!$close{oldping}, 'a peer that sends "89 00" every second stays');

ok($close{silent}, 'a silent peer is closed');
is($close{silent} && $close{silent}[1], 1001, 'with Close 1001');
my $at = $close{silent} ? $close{silent}[0] : 0;
ok($at >= 2.5 && $at < 5.5, sprintf('after %.1f s (timeout=3s)', $at));
ok($silent->wait_eof(3), 'and its connection ends');
ok(scalar $t->wait_log(qr/vpnws: peer \d+ idle for \d+ ms, closing/, 2),
   'the idle close is logged');

# the survivors still work
$answers->send_eth('02:00:00:00:07:03', '02:00:00:00:07:01', 0x0800, 'hi');
is((eth_parse($oldping->recv_eth(3)))[3], 'hi', 'the survivors still talk');

$_->close(clean => 1) for $answers, $oldping;

$t->done();
