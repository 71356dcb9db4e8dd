#!/usr/bin/perl

# vpnws end to end: one segment over three hosts with BGP EVPN (README
# "Several hosts", the FRR variant).  Each host is a namespace with nginx
# and the module, the switch's tap in bridge mode in br0 with a VXLAN
# device that learns nothing itself: FRR's zebra and bgpd, run privately
# in each namespace, fill the flood lists (type-3 routes) and the MAC
# tables (type-2 routes from what each bridge learned on its tap).  Host
# A is the route reflector, B and C its clients.  The same checks as the
# static variant, and each bridge shows the other hosts' clients learned
# through BGP.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

BEGIN {
    plan(skip_all => 'no FRR (/usr/lib/frr/bgpd): apt-get install frr')
        unless -x '/usr/lib/frr/bgpd' && -x '/usr/lib/frr/zebra';
}

use Multihost;

my $m = Multihost->new(timeout => 90);

my %k = (ha => 1, hb => 2, hc => 3);
my @hosts = sort keys %k;

for my $h (@hosts) {
    $m->host($h, $k{$h}, learning => 0);
}

$m->frr_on('ha', peers => [2, 3], reflector => 1);
$m->frr_on('hb', peers => [1]);
$m->frr_on('hc', peers => [1]);

$m->nginx_on($_) for @hosts;

my %client = (ca => 'ha', cb => 'hb', cc => 'hc');
my %num = (ca => 1, cb => 2, cc => 3);
my @clients = sort keys %client;

for my $c (@clients) {
    $m->ns($c);
    $m->underlay_link($c, 100 + $num{$c});
    $m->{client_ns}{$c} = 1;
    # no IPv6 chatter: the bridges learn the clients from the announce
    $m->sh($c, 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1'
           . ' net.ipv6.conf.default.disable_ipv6=1');
    $m->client_on($c, $num{$c}, hosts => [$client{$c}]);
}

# BGP sessions up, every host's VNI 42 knows both other VTEPs
my $end = time + 30;
my %vteps;
while (time < $end) {
    %vteps = map { $_ => ($m->vtysh($_, 'show evpn vni 42')
                          =~ /Remote VTEPs for this VNI:\s*\n((?:\s+\S+.*\n)+)/
                          ? $1 : '') } @hosts;
    last unless grep { (() = $vteps{$_} =~ /10\.215\.0\.\d/g) < 2 } @hosts;
    sleep 0.5;
}
for my $h (@hosts) {
    is(scalar(() = $vteps{$h} =~ /10\.215\.0\.\d/g), 2,
       "$h: EVPN knows the two other VTEPs (type-3 routes)")
        or diag($m->vtysh($h, 'show bgp l2vpn evpn summary'));
}

# each bridge: the other hosts' clients learned through BGP (extern_learn,
# the VXLAN entry pointing at the right host), before any ping
sub bgp_learned {
    my ($h) = @_;
    my %dst;
    for my $line (split /\n/, $m->sh($h, 'bridge fdb show dev vxlan0')) {
        $dst{lc $1} = $2
            if $line =~ /^(\S+) dst (\S+) self extern_learn/;
    }
    return \%dst;
}

$end = time + 20;
my %learned;
while (time < $end) {
    %learned = map { $_ => bgp_learned($_) } @hosts;
    last unless grep { keys(%{$learned{$_}}) < 2 } @hosts;
    sleep 0.5;
}
for my $h (@hosts) {
    for my $c (grep { $client{$_} ne $h } @clients) {
        is($learned{$h}{$m->mac($num{$c})} // '',
           $m->vtep($k{$client{$c}}),
           "$h: $c learned through BGP, behind host $client{$c}'s VTEP");
    }
}
like($m->vtysh('hb', 'show evpn mac vni 42'),
     qr/\Q@{[ $m->mac(3) ]}\E\s+remote\s+10\.215\.0\.3/i,
     'hb: FRR shows cc as a remote MAC of host C (through the reflector)');

for my $from (@clients) {
    for my $to (@clients) {
        next if $from eq $to;
        ok($m->wait_ping($from, "10.214.0.$num{$to}", 10),
           "$from reaches $to across hosts");
    }
}

$m->check_broadcasts(\%num);

$m->check_iperf(\%num);

for my $h (@hosts) {
    my $st = $m->host_status($h);
    is($st->{local_peers}, 1, "$h: status local_peers 1");
    ok(($st->{remote_macs} // 0) >= 2, "$h: status remote_macs >= 2");
}

$m->check_logs();

done_testing();
