#!/usr/bin/perl

# vpnws: behind a proxy: an nginx location that proxies websockets
# (proxy_http_version 1.1, Upgrade/Connection) to the vpnws location.
# Peers through the proxy and direct peers share the switch.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse accept_key);

my $t = VpnwsTest->new()->has(qw(vpnws proxy));

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%

events { }

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch sw;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /vpn {
            vpnws sw;
        }

        location /status {
            vpnws_status sw;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;

        location /vpn {
            proxy_pass http://127.0.0.1:%%PORT_8080%%;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header X-vpn-ws-MAC $http_x_vpn_ws_mac;
            proxy_read_timeout 1h;
        }
    }
}
EOF

$t->run();

sub payload { (eth_parse($_[0]))[3] }

my $direct = $t->peer_ok(mac => '02:00:00:00:0d:01');

my $proxied = $t->peer(port_name => 8081, mac => '02:00:00:00:0d:02');
is($proxied->status, 101, 'an upgrade through the proxy: 101');
is($proxied->header('sec-websocket-accept'), accept_key($proxied->{key}),
   'with the right Sec-WebSocket-Accept');

$direct->send_eth('02:00:00:00:0d:02', '02:00:00:00:0d:01', 0x0800, 'in');
is(payload($proxied->recv_eth(3)), 'in', 'direct peer to proxied peer');

$proxied->send_eth('02:00:00:00:0d:01', '02:00:00:00:0d:02', 0x0800, 'out');
is(payload($direct->recv_eth(3)), 'out', 'proxied peer to direct peer');

$proxied->send_ping('via proxy');
my ($op, $p) = $proxied->recv_frame(3);
is($p, 'via proxy', 'PING/PONG through the proxy');

# a conflict through the proxy is still a 409
my $dup = $t->peer(port_name => 8081, mac => '02:00:00:00:0d:01');
is($dup->status, 409, 'a MAC conflict through the proxy: 409');

# a big frame
my $big = VpnwsWS::eth_frame('02:00:00:00:0d:01', '02:00:00:00:0d:02',
                             0x88b5, 'z' x 50000);
$proxied->send_binary($big);
is($direct->recv_eth(3), $big, 'a 50 kB frame through the proxy');

$proxied->close(clean => 1);
$direct->close(clean => 1);

$t->done();
