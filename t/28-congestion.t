#!/usr/bin/perl

# vpnws: vpnws_congestion (README, "Directives"): a websocket's TCP
# connection gets the location's algorithm once the upgrade is granted, as
# ss(8) shows on nginx's end and the status reports per peer; inherited
# from server level; without the directive the system's default stays.
# Workers run unprivileged: an algorithm outside
# net.ipv4.tcp_allowed_congestion_control is logged once per worker, at
# error level with the fix, and the peers connect and switch anyway.
# Bad names fail "nginx -t" (t/30-config.t).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Congestion;
use VpnwsTest;
use VpnwsWS qw(eth_frame);

my $DEF = Congestion::default();
my $LIMITED = Congestion::restricted();
my ($MAC1, $MAC2, $MAC3) = map { "02:00:00:00:28:0$_" } 1 .. 3;

plan(skip_all => "the system's default is reno: set reno would show "
     . 'nothing') if $DEF eq 'reno';

my $t = VpnwsTest->new()->has_module();

# /vpn: reno; /plain: none; server 8081: reno at server level; /limited:
# what unprivileged workers may not take
my $limited = $LIMITED
    ? "location /limited { vpnws sw; vpnws_bridge on; "
      . "vpnws_congestion $LIMITED; }"
    : '';

$t->write_file_expand('nginx.conf', $t->switch_conf(
    policy => 'vpnws_bridge on; vpnws_congestion reno;',
    server => "location /plain { vpnws sw; vpnws_bridge on; }\n$limited",
    http => <<'EOF'));
    server {
        listen 127.0.0.1:%%PORT_8081%%;
        vpnws_congestion reno;
        location /vpn { vpnws sw; vpnws_bridge on; }
    }
EOF
$t->run();

# nginx's end of the connection from this peer
sub nginx_end {
    my ($ws, $port_name) = @_;
    my ($port, $peer) = ($t->port($port_name), $ws->fh->sockport);
    my $ss = `ss -tniH state established \\
              '( sport = :$port and dport = :$peer )'`;
    my @ca = Congestion::of($ss);
    return @ca == 1 ? $ca[0] : "@ca (" . scalar(@ca) . ' connections)';
}

sub status_ca {
    my ($mac) = @_;
    my $p = $t->status_peer($mac) or return 'no such peer';
    return $p->{congestion} // 'none';
}

my $a = $t->peer_ok(mac => $MAC1);
is(nginx_end($a), 'reno', 'vpnws_congestion reno: nginx\'s end uses reno');
is(status_ca($MAC1), 'reno', 'status: "congestion":"reno"');

my $b = $t->peer_ok(mac => $MAC2, path => '/plain');
is(nginx_end($b), $DEF, "no vpnws_congestion: the default, $DEF");
is(status_ca($MAC2), $DEF, "status: \"congestion\":\"$DEF\"");

my $c = $t->peer_ok(mac => $MAC3, port_name => 8081);
is(nginx_end($c, 8081), 'reno', 'set at server level: inherited');

my $f = eth_frame($MAC2, $MAC1, 0x88b5, 'x' x 64);
$a->send_binary($f);
is($b->recv_eth(3), $f, 'frames switch between reno and default peers');

# an algorithm the kernel has but lets only privileged users take
SKIP: {
    skip('every available algorithm is allowed to every user '
         . '(net.ipv4.tcp_allowed_congestion_control): no EPERM case', 7)
        unless $LIMITED;

    my @w = map { $t->peer_ok(mac => "02:00:00:00:28:1$_", path => '/limited')
                } 1 .. 2;
    ok(1, "vpnws_congestion $LIMITED (not allowed): two peers accepted");

    my $fix = "vpnws_congestion \"$LIMITED\": not permitted for the worker's"
        . ' user (add it to net.ipv4.tcp_allowed_congestion_control); the'
        . " connections of this worker keep the system's default";
    my $re = qr/\[error\] .*\Q$fix\E/;
    ok(scalar $t->wait_log($re, 3), 'error log: not permitted, and the fix');
    is(scalar(() = $t->error_log_lines(qr/not permitted for the worker/)), 1,
       'logged once for the worker, not per connection');

    is(nginx_end($w[0]), $DEF, "the connection keeps the default, $DEF");
    is(status_ca('02:00:00:00:28:11'), $DEF, 'and the status says so');

    $f = eth_frame('02:00:00:00:28:12', '02:00:00:00:28:11', 0x88b5,
                   'y' x 64);
    $w[0]->send_binary($f);
    is($w[1]->recv_eth(3), $f, 'the peers switch frames');

    $f = eth_frame($MAC1, '02:00:00:00:28:11', 0x88b5, 'z' x 64);
    $w[0]->send_binary($f);
    is($a->recv_eth(3), $f, 'to the reno peer too');
}

$t->done();
