#!/usr/bin/perl

# vpnws: with isolation=on the guards are on by default: an ordinary peer's
# DHCP server replies (IPv4 67->68, DHCPv6 547->546), IPv6 router
# advertisements, ARP for an address not its own and IPv4 from another
# source are dropped and counted by reason (status JSON and Prometheus);
# a granted bridge carries them.  A bridge flooding MACs cannot exhaust the
# table for ordinary peers (bridged_macs).  vpnws_rate flood= drops a
# peer's broadcast storm and counts it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse mac_bin);

my $t = VpnwsTest->new();
$t->has_module();

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%
worker_processes 1;
events { worker_connections 256; }

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch sw isolation=on peers=8 macs=40;
    vpnws_switch open;

    map $arg_grant $grant { default off; yes on; }

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /vpn { vpnws sw; vpnws_bridge $grant; vpnws_ip $arg_ip; }
        location /open { vpnws open; vpnws_bridge $grant; }
        location /storm { vpnws open; vpnws_rate "flood=50"; }
        location /status { vpnws_status sw; }
        location /status-open { vpnws_status open; }
    }
}
EOF

$t->run();

sub mac { sprintf('02:00:00:00:26:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

my $BC = 'ff:ff:ff:ff:ff:ff';

sub ip4 {
    my ($src, $proto, $sport, $dport) = @_;
    my $udp = pack('nnnn', $sport, $dport, 8 + 8, 0) . 'dhcpdata';
    return pack('CCnnnCCn', 0x45, 0, 20 + length $udp, 0, 0, 64, $proto, 0)
           . pack('C4', split /\./, $src) . pack('C4', 255, 255, 255, 255)
           . $udp;
}

sub ip6 {
    my ($next, $upper) = @_;
    return pack('NnCCa16a16', 0x60000000, length $upper, $next, 64,
                "\xfe\x80" . "\0" x 14, "\xff\x02" . "\0" x 13 . "\1")
           . $upper;
}

sub arp {
    my ($sha, $spa) = @_;
    return pack('nnCCn', 1, 0x0800, 6, 4, 2) . mac_bin($sha)
           . pack('C4', split /\./, $spa) . "\0" x 6 . pack('C4', 10, 0, 0, 9);
}

sub delta {
    my ($before, $uri) = @_;
    my $now = $t->drops(uri => $uri // '/status');
    return { map { $_ => ($now->{$_} // 0) - ($before->{$_} // 0) }
             keys %$now };
}

my $gw = $t->peer_ok(path => '/vpn?grant=yes', bridge => 'on');
my $a = $t->peer_ok(mac => mac(1));
my $b = $t->peer_ok(mac => mac(2));

# the peer's own address first: ARP, then IPv4 from it
$a->send_eth($BC, mac(1), 0x0806, arp(mac(1), '10.0.0.2'));
$a->send_eth($BC, mac(1), 0x0800, ip4('10.0.0.2', 1, 0, 0));
my $got = VpnwsWS->collect([$gw], want => 2, timeout => 3)->[0];
is(scalar @$got, 2, 'its own ARP and IPv4 reach the gateway');

my $before = $t->drops();
$a->send_eth($BC, mac(1), 0x0800, ip4('10.0.0.2', 17, 67, 68));
$a->send_eth($BC, mac(1), 0x86dd, ip6(17, pack('nnnn', 547, 546, 8, 0)));
$a->send_eth('33:33:00:00:00:01', mac(1), 0x86dd,
             ip6(58, pack('CCn', 134, 0, 0) . "\0" x 12));
$a->send_eth('33:33:00:00:00:01', mac(1), 0x86dd,
             ip6(0, pack('CC', 58, 0) . "\1\4\0\0\0\0"
                    . pack('CCn', 134, 0, 0) . "\0" x 12));
$a->send_eth($BC, mac(1), 0x0806, arp(mac(1), '10.0.0.1'));
$a->send_eth($BC, mac(1), 0x0806, arp(mac(7), '10.0.0.2'));
$a->send_eth($BC, mac(1), 0x0800, ip4('10.0.0.1', 1, 0, 0));
$a->send_eth($BC, mac(1), 0x88b5, 'marker');

$got = VpnwsWS->collect([$gw], want => 1, quiet => 0.5, timeout => 3)->[0];
is(join(',', map { payload($_) } @$got), 'marker',
   'of the guarded frames only the marker reaches the gateway');
my $d = delta($before);
is($d->{dhcp_server}, 2, 'DHCPv4 offer and DHCPv6 reply: dhcp_server 2');
is($d->{router_adv}, 2, 'two RAs (one behind hop-by-hop): router_adv 2');
is($d->{arp_spoof}, 2, 'ARP for the gateway\'s IP, ARP with another MAC');
is($d->{ip_spoof}, 1, 'IPv4 from the gateway\'s address: ip_spoof 1');

my $prom = $t->http_get('/status?format=prometheus');
like($prom, qr/vpnws_drops_total\{[^}]*reason="arp_spoof"[^}]*\} 2/,
     'Prometheus: arp_spoof counted');
like($prom, qr/reason="dhcp_server"/, 'Prometheus: dhcp_server');

# the gateway (a granted bridge) carries DHCP and RAs
$gw->send_eth($BC, mac(9), 0x0800, ip4('10.0.0.1', 17, 67, 68));
is(scalar @{VpnwsWS->collect([$a, $b], want => 2, timeout => 3)->[0]}, 1,
   'a bridge\'s DHCP offer reaches the peers');

# a pinned address from a variable
my $c = $t->peer_ok(path => '/vpn?ip=10.0.0.30', mac => mac(3));
$before = $t->drops();
$c->send_eth($BC, mac(3), 0x0806, arp(mac(3), '10.0.0.31'));
$c->send_eth($BC, mac(3), 0x0806, arp(mac(3), '10.0.0.30'));
$got = VpnwsWS->collect([$gw], want => 1, quiet => 0.3, timeout => 3)->[0];
is(scalar @$got, 1, 'vpnws_ip: only ARP for the pinned address passes');
is(delta($before)->{arp_spoof}, 1, 'the first one was arp_spoof');

# bridges flooding MACs: peers=8 macs=40, so bridges share 32
$before = $t->drops();
$gw->send_eth($BC, sprintf('0a:00:00:00:%02x:%02x', $_ >> 8, $_ & 255),
              0x88b5, "lan $_") for 1 .. 200;
select(undef, undef, undef, 0.5);
my $st = $t->status;
is($st->{bridged_max}, 32, 'status: bridged_max 32 (macs - peers)');
ok($st->{macs_bridged} <= 32, "at most 32 MACs behind bridges "
   . "($st->{macs_bridged})");
ok(delta($before)->{bridged_full} >= 200 - 32, 'the rest: bridged_full');
my @more = map { $t->peer(mac => mac(10 + $_)) } 1 .. 4;
is(scalar(grep { $_->ok } @more), 4,
   'ordinary peers still find room (8 peers in all)');
$_->close(clean => 1) for @more, $a, $b, $c, $gw;

# a broadcast storm, flood=50
my $storm = $t->peer_ok(path => '/storm', mac => mac(20));
my $calm = $t->peer_ok(path => '/open', mac => mac(21));
$before = $t->drops(uri => '/status-open');
$storm->send_eth($BC, mac(20), 0x88b5, "storm $_") for 1 .. 400;
$got = VpnwsWS->collect([$calm], quiet => 0.5, timeout => 5)->[0];
my $limited = delta($before, '/status-open')->{flood_limit} // 0;
ok(@$got >= 50 && @$got < 120,
   'flood=50: about one second\'s burst passes (' . scalar(@$got) . ')');
is(@$got + $limited, 400, "the rest is counted as flood_limit ($limited)");
$storm->send_eth(mac(21), mac(20), 0x88b5, 'unicast');
is(payload($calm->recv_eth(3)), 'unicast', 'its unicast still passes');
$_->close(clean => 1) for $storm, $calm;

$t->done();
