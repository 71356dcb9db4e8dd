#!/usr/bin/perl

# vpnws end to end: one segment over three hosts (README "Several hosts",
# the static VXLAN variant).  Each host is a namespace with nginx and the
# module, the switch's tap in bridge mode in br0 with a VXLAN device whose
# flood list names the two other hosts; a client on each host.  Every pair
# pings and runs iperf3 across hosts; a broadcast from each client reaches
# every other client exactly once and nothing loops; the status of each
# host tells its local peers from the MACs behind its tap.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Multihost;

my $m = Multihost->new(timeout => 90);

my %k = (ha => 1, hb => 2, hc => 3);
my @hosts = sort keys %k;

for my $h (@hosts) {
    $m->host($h, $k{$h}, peers => [grep { $_ != $k{$h} } values %k]);
}

# host A with two workers: floods cross its worker channels as well
$m->nginx_on('ha', workers => 2);
# host B: its tap learns the other hosts' stations beyond bridge_macs=1
$m->nginx_on('hb', switch => 'bridge_macs=1');
$m->nginx_on('hc');

my %client = (ca => 'ha', cb => 'hb', cc => 'hc');
my %num = (ca => 1, cb => 2, cc => 3);
my @clients = sort keys %client;

for my $c (grep { $_ ne 'cc' } @clients) {
    $m->client_on($c, $num{$c}, hosts => [$client{$c}]);
}

# cc by a name with two addresses: its own (refused) first, then host C's
$m->ns('cc');
$m->underlay_link('cc', 103);
$m->{client_ns}{cc} = 1;
$m->hosts_file('cc', "10.215.0.103 seg.test\n10.215.0.3 seg.test\n");
like($m->sh('cc', 'getent ahostsv4 seg.test | grep STREAM'),
     qr/^10\.215\.0\.103 .*\n10\.215\.0\.3 /s,
     'seg.test: two addresses, the refusing one first');
$m->client('cc', tap => 'vpn0', addr => '10.214.0.3/24',
    args => ['-v', '--mac', $m->mac(3), '--mtu', $Multihost::MTU],
    url => "ws://seg.test:$E2E::PORT/vpn");

for my $c (@clients) {
    ok($m->wait_log((grep { $m->{clients}{$_}{ns} eq $c }
                     keys %{$m->{clients}})[0], qr/connected to/, 10),
       "client $c connected to its host");
}
my ($ccpid) = grep { $m->{clients}{$_}{ns} eq 'cc' } keys %{$m->{clients}};
like($m->client_log($ccpid),
     qr{TCP connected to 10\.215\.0\.3 port.*connected to ws://seg\.test:}s,
     'a name with several addresses: the next address after a refusal');

for my $from (@clients) {
    for my $to (@clients) {
        next if $from eq $to;
        ok($m->wait_ping($from, "10.214.0.$num{$to}", 15),
           "$from reaches $to across hosts");
    }
}

# the bridges learned the clients of the other hosts behind VXLAN
for my $h (@hosts) {
    my $fdb = $m->fdb($h);
    for my $c (@clients) {
        my $mac = $m->mac($num{$c});
        my $want = $client{$c} eq $h ? 'vtap0' : 'vxlan0';
        ok(grep({ /dev $want/ } @{$fdb->{$mac} || []}),
           "$h: bridge has $c ($mac) on $want");
    }
}

# the status of each host: one local peer, the other clients behind the tap
for my $h (@hosts) {
    my $st = $m->host_status($h);
    my @local = grep { ($_->{REMOTE_ADDR} // '') !~ /^tap:/ }
                @{$st->{peers} || []};
    my ($tap) = grep { ($_->{REMOTE_ADDR} // '') =~ /^tap:/ }
                @{$st->{peers} || []};
    is(scalar @local, 1, "$h: one local peer");
    my %behind = map { lc($_) => 1 } @{$tap->{macs} || []};
    my @remote = grep { $client{$_} ne $h } @clients;
    is(scalar(grep { $behind{$m->mac($num{$_})} } @remote), 2,
       "$h: the other hosts' clients are behind the tap");
    is($st->{local_peers}, 1, "$h: status local_peers 1");
    is($st->{remote_macs}, scalar(keys %behind),
       "$h: status remote_macs: the MACs behind the tap");
    # the metrics against a status taken on either side of them with the
    # same count: a station behind the tap may be learned or age out
    # between two requests (at most 5 tries for a quiet moment)
    my ($prom, $n);
    for my $try (1 .. 5) {
        $prom = $m->host_get($h, '/status?format=prometheus');
        $n = $m->host_status($h)->{remote_macs};
        last if $n == $st->{remote_macs};
        $st->{remote_macs} = $n;
    }
    like($prom, qr/^vpnws_local_peers\{switch="seg"\} 1$/m,
         "$h: metric vpnws_local_peers");
    like($prom, qr/^vpnws_remote_macs\{switch="seg"\} \Q$n\E$/m,
         "$h: metric vpnws_remote_macs");
}

# a broadcast from each client reaches each client exactly once
$m->check_broadcasts(\%num);

# nothing loops: the underlay carries no more frames once all is quiet
my $before = $m->sh('u', 'cat /sys/class/net/ul/statistics/rx_packets');
sleep 1;
my $after = $m->sh('u', 'cat /sys/class/net/ul/statistics/rx_packets');
cmp_ok($after - $before, '<', 50, 'the underlay is quiet (no loop)');

$m->check_iperf(\%num);

$m->check_logs();

done_testing();
