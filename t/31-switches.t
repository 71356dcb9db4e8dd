#!/usr/bin/perl

# vpnws: several switches in one nginx are independent L2 segments: own MAC
# tables (the same MAC may live on each), own floods, own status.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->new()->has_module();

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%
worker_processes 2;

events { }

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch one;
    vpnws_switch two size=2m peers=64;

    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;

        location /one { vpnws one; }
        location /two { vpnws two; }
        location /status/one { vpnws_status one; }
        location /status/two { vpnws_status two; }
    }

    # another virtual host on the second switch
    server {
        listen 127.0.0.1:%%PORT_8081%% reuseport;

        location /vpn { vpnws two; }
    }
}
EOF

$t->run();

my $M1 = '02:00:00:00:00:01';
my $M2 = '02:00:00:00:00:02';
my $M3 = '02:00:00:00:00:03';
my $BCAST = 'ff:ff:ff:ff:ff:ff';

sub payload { (eth_parse($_[0]))[3] }

my $a1 = $t->peer_ok(path => '/one', mac => $M1);
my $b1 = $t->peer_ok(path => '/one', mac => $M2);
my $a2 = $t->peer_ok(path => '/two', mac => $M1);
my $b2 = $t->peer_ok(path => '/two', mac => $M2);
my $c2 = $t->peer_ok(port_name => 8081, path => '/vpn', mac => $M3);

ok(1, 'the same MAC is announced on two switches');

# a broadcast on one never reaches the other
$a1->send_eth($BCAST, $M1, 0x0806, 'bcast one');
is(payload($b1->recv_eth(3)), 'bcast one', 'broadcast on one reaches one');
ok($a2->expect_nothing(0.3) && $b2->expect_nothing(0.1)
   && $c2->expect_nothing(0.1), 'and nobody on two');

$c2->send_eth($BCAST, $M3, 0x0806, 'bcast two');
is(payload($a2->recv_eth(3)), 'bcast two', 'broadcast on two reaches A2');
is(payload($b2->recv_eth(3)), 'bcast two', 'broadcast on two reaches B2');
ok($a1->expect_nothing(0.3) && $b1->expect_nothing(0.1),
   'and nobody on one');

# unicast to the same MAC stays on its switch
$b1->send_eth($M1, $M2, 0x0800, 'on one');
$b2->send_eth($M1, $M2, 0x0800, 'on two');
is(payload($a1->recv_eth(3)), 'on one', 'unicast on one reaches A1');
is(payload($a2->recv_eth(3)), 'on two', 'unicast on two reaches A2');
ok($a1->expect_nothing(0.2) && $a2->expect_nothing(0.1),
   'each only its own');

# a MAC of two is unknown on one
my $before = $t->drops(uri => '/status/one');
$a1->send_eth($M3, $M1, 0x0800, 'to M3 on one');
$a1->send_eth($M2, $M1, 0x0800, 'marker');
is(payload($b1->recv_eth(3)), 'marker', 'marker on one');
ok($c2->expect_nothing(0.3), 'a MAC of switch two is unknown on one');
is(($t->drops(uri => '/status/one')->{unknown_unicast} // 0)
   - ($before->{unknown_unicast} // 0), 1, 'counted on one');

# each status lists its own peers
my $s1 = $t->status(uri => '/status/one');
my $s2 = $t->status(uri => '/status/two');
is(scalar @{$s1->{peers} || []}, 2, 'status of one: 2 peers');
is(scalar @{$s2->{peers} || []}, 3, 'status of two: 3 peers');
is_deeply([sort map { lc $_->{MAC} } @{$s2->{peers} || []}],
          [$M1, $M2, $M3], 'status of two: its MACs');

# a conflict on one does not involve two
my $x = $t->peer(path => '/one', mac => $M3);
is($x->status, 101, 'a MAC of two is free on one');
$x->close(clean => 1);
$x = $t->peer(path => '/two', mac => $M3);
is($x->status, 409, 'and taken on two');

$_->close(clean => 1) for $a1, $b1, $a2, $b2, $c2;

$t->done();
