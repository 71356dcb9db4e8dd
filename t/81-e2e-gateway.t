#!/usr/bin/perl

# vpnws end to end: gateway mode.  isolation=on keeps clients apart; the
# switch's tap holds the gateway address, and the server routes and
# masquerades (nftables) from the tap to a "world" namespace.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();

plan(skip_all => 'no nft(8)') unless -x '/usr/sbin/nft';

$e->ns('s');
$e->ns('a');
$e->ns('b');
$e->ns('w');
$e->uplink('a', 1);
$e->uplink('b', 2);

my $tap = substr('vg' . $e->nsname('t'), 0, 15);

# the world: a host behind the server that knows no route to the VPN
my ($s, $w) = ($e->nsname('s'), $e->nsname('w'));
system("ip link add tow netns $s type veth peer name eth0 netns $w") == 0
    or die "veth to the world namespace\n";
$e->sh('s', 'ip addr add 10.216.0.1/24 dev tow && ip link set tow up'
    . ' && sysctl -qw net.ipv4.ip_forward=1');
$e->sh('w', 'ip addr add 10.216.0.2/24 dev eth0 && ip link set eth0 up');

$e->sh('s', 'nft add table ip vpnnat'
    . " && nft 'add chain ip vpnnat post { type nat hook postrouting"
    . " priority 100 ; }'"
    . " && nft add rule ip vpnnat post ip saddr 10.215.0.0/24"
    . ' oifname tow masquerade');

$e->nginx(workers => 2,
    switch => "isolation=on tap=$tap "
              . '"tap_exec=ip addr add 10.215.0.1/24 dev $VPNWS_TAP"');

for my $n (['a', 1, 2], ['b', 2, 3]) {
    my ($ns, $k, $host) = @$n;
    $e->client($ns, url => "ws://10.213.$k.1:$E2E::PORT/vpn",
               args => ['--exec', "ip addr add 10.215.0.$host/24 dev "
                        . '$VPNWS_TAP && ip route add 10.216.0.0/24 via '
                        . '10.215.0.1']);
}

ok($e->wait_ping('a', '10.215.0.1', 20), 'client A reaches the gateway');
ok($e->wait_ping('b', '10.215.0.1', 20), 'client B reaches the gateway');
ok($e->wait_ping('a', '10.216.0.2', 10),
   'client A reaches the world host through the NAT');
ok($e->wait_ping('b', '10.216.0.2', 10),
   'client B reaches the world host through the NAT');

ok(!$e->wait_ping('a', '10.215.0.3', 3), 'client A cannot reach client B');
ok(!$e->wait_ping('b', '10.215.0.2', 3), 'client B cannot reach client A');

# ARP cannot cross; with B's MAC known, A's unicast is dropped by the switch
my ($bmac) = $e->sh('b', 'cat /sys/class/net/vpn0/address');
chomp $bmac;
$e->sh('a', "ip neigh replace 10.215.0.3 lladdr $bmac dev vpn0 nud permanent");
ok(!$e->wait_ping('a', '10.215.0.3', 3),
   'client A cannot reach client B even knowing its MAC');

my ($nft) = $e->sh('s', 'nft list table ip vpnnat', 1);
like($nft, qr/masquerade/, 'the masquerade rule is in place');

my $st = $e->status();
cmp_ok($st->{drops}{isolated} // 0, '>', 0,
       'frames between clients counted as isolated');

$e->check_logs();

done_testing();
