#!/usr/bin/perl

# vpnws: reloads under traffic: 12 peers on 2 workers keep sending unicast
# and broadcast frames and reconnect (same MACs) whenever they are closed,
# like real clients, through 3 reloads.  No alerts, old workers exit, and
# the switch is whole afterwards.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse CLOSE);

my $N = 12;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

sub mac { sprintf('02:00:00:00:10:%02x', $_[0]) }

# connect or reconnect peer $i; undef while its MAC is still held
sub connect_peer {
    my ($i) = @_;

    my $ws = $t->peer(mac => mac($i));
    return $ws->ok ? $ws : undef;
}

my @p = map { connect_peer($_) } 0 .. $N - 1;
is(scalar(grep { defined } @p), $N, "$N peers");

my @old;
my @reload_at = (1, 2.5, 4);

my ($sent, $reconnects, $refused) = $t->churn(\@p, seconds => 6,
    connect => \&connect_peer, mac => \&mac,
    event => sub {
        return unless @reload_at && $_[0] >= $reload_at[0];
        shift @reload_at;
        push @old, $t->reload(workers => 2);
    });

diag("$sent frames sent, $reconnects reconnects, $refused refused "
     . "reconnects (MAC still held)");
ok($reconnects >= $N, 'peers were closed by the reloads and reconnected');

ok($t->wait_pids_gone(15, @old), 'all old workers exit');

# settle: every peer connected, then a full check
$_->close() for grep { defined } @p;
my $ok = 1;
my @q;
for my $i (0 .. $N - 1) {
    my $ws;
    for (1 .. 30) {
        last if $ws = connect_peer($i);
        select(undef, undef, undef, 0.1);
    }
    $ok = 0 unless $ws;
    push @q, $ws;
}
ok($ok, 'every MAC is free again after the peers closed');

SKIP: {
    skip 'peers missing', 1 unless $ok;

    $q[$_]->send_eth('ff:ff:ff:ff:ff:ff', mac($_), 0x0806, "b$_")
        for 0 .. $N - 1;
    my $got = VpnwsWS->collect(\@q, want => $N - 1, timeout => 5);
    is(scalar(grep { @$_ == $N - 1 } @$got), $N,
       'after the reloads, broadcasts reach every peer');
}

$_->close(clean => 1) for grep { defined } @q;

$t->done();
