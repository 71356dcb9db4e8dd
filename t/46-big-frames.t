#!/usr/bin/perl

# vpnws: frames as large as max_frame cross workers: unicast and flood of
# the largest frame with max_frame=64k (the default) and 1m, the largest
# the config accepts (the cross-worker channel must carry it); 8m is
# refused by nginx -t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

sub mac { sprintf('02:00:00:00:0b:%02x', $_[0]) }

{
    my $t = VpnwsTest->new();
    $t->has_module();
    $t->write_file_expand('nginx.conf',
        $t->switch_conf(params => 'max_frame=8m queue=24m size=2m'));
    my ($rc, $out) = $t->test_config();
    isnt($rc, 0, 'max_frame=8m: nginx -t fails');
    like($out, qr/invalid "max_frame=8m": 14 to 1m/, 'and says the range');
}

for my $case ([65536, ''], [1 << 20, 'max_frame=1m queue=4m'])
{
    my ($max, $params) = @$case;
    my $what = "max_frame=$max";

    my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1,
                                    params => $params);

    # two peers on each worker
    my %on;
    my $n = 0;
    while ($n < 100) {
        my $ws = $t->peer_ok(mac => mac($n));
        $ws->{mac} = mac($n++);
        push @{$on{$t->worker_of($ws)}}, $ws;
        last if keys %on == 2 && !grep { @$_ < 2 } values %on;
    }

    my ($w1, $w2) = values %on;
    my ($a, $b) = ($w1->[0], $w2->[0]);

    my $pattern = join '', map { chr(($_ * 7) & 0xff) } 0 .. 1020;
    my $payload = substr($pattern x (int($max / 1021) + 1), 0, $max - 14);
    my $frame = eth_frame($b->{mac}, $a->{mac}, 0x88b5, $payload);
    is(length $frame, $max, "$what: a frame of max_frame bytes");

    $a->send_binary($frame, timeout => 30);
    my $got = $b->recv_eth(10);
    ok(defined $got && $got eq $frame, "$what: unicast across workers")
        or diag('got ' . length($got // '') . ' bytes');

    # the same size flooded: to the other worker's peers and the local one
    my $bcast = eth_frame('ff:ff:ff:ff:ff:ff', $a->{mac}, 0x88b5, $payload);
    $a->send_binary($bcast, timeout => 30);

    my @to = (@$w1[1 .. $#$w1], @$w2);
    my $all = VpnwsWS->collect(\@to, want => 1, timeout => 10);
    my $ok = grep { @$_ == 1 && $_->[0] eq $bcast } @$all;
    is($ok, scalar @to, "$what: broadcast to " . scalar(@to)
       . ' peers on both workers');

    my $drops = $t->drops();
    is(($drops->{ipc_full} // 0) + ($drops->{queue_full} // 0), 0,
       "$what: no drops") or diag(explain($drops));

    $_->close(clean => 1) for map { @$_ } values %on;

    $t->done(no_done_testing => 1);
}

done_testing();
