#!/usr/bin/perl

# vpnws: 200 peers on the vpn-ws daemon behind nginx with 4 workers
# (one switch whatever the worker): every one joins, a broadcast reaches
# all but its sender, unicast between any two, the status lists them all
# with unique ids, and all leave cleanly.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Daemon;
use VpnwsWS qw(eth_parse);

Daemon::has_daemon();

my $N = 200;

# several nginx workers, one switch: the daemon's
my $target = Daemon::Target->new(workers => 4);

my @mac = map { sprintf('02:00:00:01:%02x:%02x', $_ >> 8, $_ & 0xff) }
    1 .. $N;
my @ws = map { $target->peer(mac => $mac[$_]) } 0 .. $N - 1;

is(scalar(grep { $_->ok } @ws), $N, "$N peers joined");

$ws[0]->send_eth('ff:ff:ff:ff:ff:ff', $mac[0], 0x0800, 'to everyone');

my $got = 0;
for my $i (1 .. $N - 1) {
    my @f = eth_parse($ws[$i]->recv_eth(5));
    $got++ if ($f[3] // '') eq 'to everyone';
}
is($got, $N - 1, 'a broadcast reaches every other peer');
ok($ws[0]->expect_nothing(0.3), 'but not its sender');

my $ok = 0;
for my $i (1 .. 20) {
    my ($x, $y) = (int(rand($N)), int(rand($N)));
    next if $x == $y && ++$ok;
    $ws[$x]->send_eth($mac[$y], $mac[$x], 0x0800, "$x to $y");
    my @f = eth_parse($ws[$y]->recv_eth(3));
    $ok++ if ($f[3] // '') eq "$x to $y";
}
is($ok, 20, 'unicast between random pairs');

my $st = $target->status() || {};
my %ids = map { $_->{id} => 1 } @{$st->{peers} || []};
is(scalar keys %ids, $N, "the status lists $N peers with unique ids");
is($st->{macs_used}, $N, "and $N MACs");

$_->close(clean => 1) for @ws;

$st = $target->status() || {};
is(scalar @{$st->{peers} || []}, 0, 'all left');
is($st->{macs_used}, 0, 'their MACs are free');

$target->done();

done_testing();
