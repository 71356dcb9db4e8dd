#!/usr/bin/perl

# vpnws: a websocket lives for days: nothing may be allocated per frame
# (r->pool) or leak per connection.  100000 frames over one pair of
# connections and 2000 short-lived peers leave the worker's RSS and the
# switch's zone where they were.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $t = VpnwsTest->start_switch(params => 'peers=64');

my ($pid) = $t->worker_pids();

sub mac { sprintf('02:00:00:00:0e:%02x', $_[0]) }

my $a = $t->peer_ok(mac => mac(1));
my $b = $t->peer_ok(mac => mac(2));

sub exchange {
    my ($n) = @_;

    my $fa = VpnwsWS->build_frame(2, eth_frame(mac(2), mac(1), 0x0800,
                                               'a' x 100));
    my $fb = VpnwsWS->build_frame(2, eth_frame(mac(1), mac(2), 0x0800,
                                               'b' x 100));
    my ($ga, $gb) = (0, 0);

    for my $i (1 .. $n / 100) {
        $a->send_raw($fa x 100);
        $b->send_raw($fb x 100);

        # a window of 1000 frames in flight: the test is not the bottleneck
        my $deadline = time() + 10;
        while (($ga < 100 * $i - 1000 || $gb < 100 * $i - 1000)
               && time() < $deadline)
        {
            my $g = VpnwsWS->collect([$a, $b], timeout => 0.05);
            $ga += @{$g->[0]};
            $gb += @{$g->[1]};
        }
    }

    my $g = VpnwsWS->collect([$a, $b], quiet => 0.5, timeout => 20);
    $ga += @{$g->[0]};
    $gb += @{$g->[1]};

    return ($ga, $gb);
}

# warm up: pools, buffers, free lists reach their working size
my ($ga, $gb) = exchange(10000);
is("$ga $gb", '10000 10000', 'warm-up: 10000 frames each way');

for my $i (1 .. 200) {
    my $ws = $t->peer_ok(mac => mac(100 + $i % 50));
    $ws->send_eth(mac(1), mac(100 + $i % 50), 0x0800, 'hi');
    $ws->close(clean => 1);
}
VpnwsWS->collect([$a], quiet => 0.3, timeout => 5);

my $rss0 = $t->rss_kb($pid);
my $st0 = $t->status;

($ga, $gb) = exchange(100000);
is("$ga $gb", '100000 100000', '100000 frames each way');

my $rss1 = $t->rss_kb($pid);
diag("RSS after warm-up $rss0 kB, after 200000 frames $rss1 kB");
ok($rss1 - $rss0 < 1024, 'frames: RSS grew by ' . ($rss1 - $rss0)
   . ' kB (< 1 MB)');

for my $i (1 .. 2000) {
    my $ws = $t->peer_ok(mac => mac(100 + $i % 50));
    $ws->send_eth(mac(1), mac(100 + $i % 50), 0x0800, 'hi');
    $ws->send_eth('ff:ff:ff:ff:ff:ff', mac(100 + $i % 50), 0x0806, 'all');
    $ws->close(clean => $i % 2);
    VpnwsWS->collect([$a, $b], timeout => 0) if $i % 50 == 0;
}
VpnwsWS->collect([$a, $b], quiet => 0.5, timeout => 10);

# closed peers leave the worker on their own time: wait for the registry
my $st1;
for (1 .. 50) {
    $st1 = $t->status;
    last if @{$st1->{peers} || []} == 2;
    select(undef, undef, undef, 0.1);
}
is(scalar @{$st1->{peers} || []}, 2, 'after 2000 short-lived peers, '
   . '2 peers are left');
is($st1->{macs_used}, $st0->{macs_used}, 'and the MAC table holds '
   . "$st0->{macs_used} entries again");

my $rss2 = $t->rss_kb($pid);
diag("RSS after 2000 peers $rss2 kB");
ok($rss2 - $rss1 < 2048, 'connections: RSS grew by ' . ($rss2 - $rss1)
   . ' kB (< 2 MB)');

$a->send_eth(mac(2), mac(1), 0x0800, 'still');
is((eth_parse($b->recv_eth(3)))[3], 'still', 'the peers still talk');

$_->close(clean => 1) for $a, $b;

$t->done();
