#!/usr/bin/perl

# vpnws: the server decides what each peer may do (issue 17), from nginx
# variables: bridge grants (default off: 403), the switch per request
# (vpnws $var; an unknown name is 403), pinned MACs, the per-user limit, the
# identity an access module checked, and bad values from variables (403 and
# a log line naming the directive, never a 500 or a crash).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use MIME::Base64 qw(encode_base64);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->new();
$t->has_module();

# user "alice", password "secret"
$t->write_file('htpasswd', "alice:{PLAIN}secret\n");

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 256; }

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch sw isolation=on;
    vpnws_switch red;
    vpnws_switch blue;

    map $arg_grant $grant { default off; yes on; bad maybe; }
    map $arg_sw $sw { default nosuch; red red; blue blue; }
    map $arg_rate $rate { default ""; limited "1m flood=100"; fast fast; }

    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;

        # the defaults
        location /vpn { vpnws sw; }

        location /granted { vpnws sw; vpnws_bridge $grant; }

        location /pick { vpnws $sw; vpnws_user $arg_user; }

        location /values {
            vpnws red;
            vpnws_mac $arg_mac;
            vpnws_ip $arg_ip;
            vpnws_rate $rate;
            vpnws_bridge $grant;
        }

        location /users {
            vpnws blue;
            vpnws_user $arg_user;
            vpnws_peers_per_user 2;
        }

        location /basic {
            auth_basic "vpn";
            auth_basic_user_file %%PREFIX%%/htpasswd;
            vpnws blue;
        }

        location /unchecked { vpnws blue; }
        location /explicit { vpnws blue; vpnws_user $remote_user; }

        location /status { vpnws_status sw; }
        location /status-red { vpnws_status red; }
        location /status-blue { vpnws_status blue; }
    }
}
EOF

$t->run();

sub mac { sprintf('02:00:00:00:25:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

sub peers_of {
    my ($uri) = @_;
    my $st = $t->status(uri => $uri) || {};
    return @{$st->{peers} || []};
}

sub by_mac {
    my ($uri, $mac) = @_;
    my ($p) = grep { ($_->{MAC} // '') eq uc $mac } peers_of($uri);
    return $p || {};
}

sub refused {
    my ($peer, $status, $body, $log, $name) = @_;
    is($peer->status, $status, "$name: $status");
    like($peer->{body} // '', $body, "$name: the body says why");
    ok(scalar $t->wait_log($log, 3), "$name: a log line") if $log;
}

###############################################################################
# bridge grants

refused($t->peer(bridge => 'on'), 403, qr/bridge mode is not granted/,
        qr/refused websocket upgrade: bridge mode is not granted/,
        'defaults, X-vpn-ws-bridge: on');

refused($t->peer(path => '/granted', bridge => 'on'), 403,
        qr/not granted/, undef, 'a variable that says off');

my $br = $t->peer_ok(path => '/granted?grant=yes', bridge => 'on');
my $gw = mac(1);
$br->send_eth('ff:ff:ff:ff:ff:ff', $gw, 0x88b5, 'gateway here');

my $p1 = $t->peer_ok(path => '/granted?grant=yes', mac => mac(2));
my ($st_br) = grep { $_->{bridge} } peers_of('/status');
ok($st_br && $st_br->{bridge_granted} == 1, 'status: the bridge is granted');
my $st_p1 = by_mac('/status', mac(2));
is($st_p1->{bridge_granted}, 1, 'status: a grant not asked for is shown');
is($st_p1->{bridge}, 0, 'but the peer is no bridge');

# an ungranted peer cannot take the MAC learned behind the bridge
my $thief = $t->peer(mac => $gw);
is($thief->status, 409, 'announcing the MAC learned behind a bridge: 409');

my $before = $t->drops();
my $p3 = $t->peer_ok(mac => mac(3));
$p3->send_eth(mac(9), $gw, 0x88b5, 'spoof');
select(undef, undef, undef, 0.3);
my $spoofed = ($t->drops()->{spoofed} // 0) - ($before->{spoofed} // 0);
is($spoofed, 1, 'sending from it is dropped as spoofed');
ok(!defined $br->recv_eth(0.3), 'the bridge never sees it');
$_->close(clean => 1) for $br, $p1, $p3;

###############################################################################
# vpnws $var

my $red = $t->peer_ok(path => '/pick?sw=red&user=r1', mac => mac(10));
my $blue = $t->peer_ok(path => '/pick?sw=blue&user=b1', mac => mac(11));
is(by_mac('/status-red', mac(10))->{REMOTE_USER}, 'r1',
   'vpnws $sw: red joins red');
is(by_mac('/status-blue', mac(11))->{REMOTE_USER}, 'b1', 'blue joins blue');
is(by_mac('/status-red', mac(10))->{switch}, 'red',
   'status: the peer\'s switch');
$red->send_eth(mac(11), mac(10), 0x88b5, 'across');
ok(!defined $blue->recv_eth(0.5), 'nothing crosses between the switches');

refused($t->peer(path => '/pick?sw=nosuch'), 403, qr/no such switch/,
        qr/"nosuch" from "vpnws" is no vpnws_switch/, 'an unknown switch');
$_->close(clean => 1) for $red, $blue;

###############################################################################
# bad values from variables

refused($t->peer(path => '/values?mac=nonsense'), 403,
        qr/MAC given to this peer is not a unicast/,
        qr/vpnws_mac value "nonsense" is invalid/, 'vpnws_mac nonsense');
refused($t->peer(path => '/values?mac=01:00:5e:00:00:01'), 403,
        qr/not a unicast/, qr/vpnws_mac value "01:00:5e:00:00:01"/,
        'vpnws_mac multicast');
refused($t->peer(path => '/values?rate=fast'), 403,
        qr/rate given to this peer is invalid/,
        qr/vpnws_rate value "fast" is invalid: the rate must be/,
        'vpnws_rate fast');
refused($t->peer(path => '/values?ip=10.0.0'), 403, qr/IPv4 address/,
        qr/vpnws_ip value "10.0.0" is invalid/, 'vpnws_ip 10.0.0');
refused($t->peer(path => '/values?grant=bad'), 403,
        qr/neither on nor off/, qr/vpnws_bridge value "maybe" is invalid/,
        'vpnws_bridge maybe');
refused($t->peer(path => '/users'), 403,
        qr/no user name, and peers are limited per user/,
        qr/refused websocket upgrade: no user name/,
        'no user with vpnws_peers_per_user');
refused($t->peer(path => '/users?user=' . ('u' x 300)), 403,
        qr/longer than 256/, qr/vpnws_user value "u{64}"\.\.\. is invalid/,
        'a 300-byte user');

###############################################################################
# pinned MAC, pinned IPv4, rate in the status

my $pin = mac(20);
my $pin_q = $pin;

refused($t->peer(path => "/values?mac=$pin_q", mac => mac(21)), 403,
        qr/differs from the MAC given/, qr/differs from the MAC given/,
        'announcing another MAC than the pinned one');

# a free choice of that MAC gives way to the peer it is pinned to
my $squat = $t->peer_ok(path => '/values', mac => $pin);
my $owner = $t->peer_ok(path => "/values?mac=$pin_q&ip=10.0.0.20"
                                . '&rate=limited');
is($squat->recv_close(3), 1008, 'a free choice of a pinned MAC: Close 1008');
ok(scalar $t->wait_log(qr/is given to this peer: closing peer/, 3),
   'and a log line says why');

my $so = by_mac('/status-red', $pin);
is($so->{pinned}, 1, 'status: pinned');
is($so->{rate}, '1048576 burst=131072 flood=100', 'status: the rate');

my $other = $t->peer_ok(path => '/values', mac => mac(22));
$owner->send_eth(mac(22), $pin, 0x88b5, 'from the pin');
is(payload($other->recv_eth(3)), 'from the pin', 'the pinned MAC works');
$before = $t->drops(uri => '/status-red');
$owner->send_eth(mac(22), mac(23), 0x88b5, 'from another');
select(undef, undef, undef, 0.3);
is(($t->drops(uri => '/status-red')->{spoofed} // 0)
   - ($before->{spoofed} // 0), 1, 'another source MAC: dropped, spoofed');
ok(!defined $other->recv_eth(0.3), 'and not delivered');
$_->close(clean => 1) for $owner, $other;

###############################################################################
# vpnws_peers_per_user 2

my @a = map { $t->peer_ok(path => '/users?user=alice', mac => mac(30 + $_)) }
        1 .. 2;
refused($t->peer(path => '/users?user=alice', mac => mac(33)), 403,
        qr/too many peers for this user/,
        qr/user "alice" has 2 peers on vpnws_switch "blue" already/,
        'a third peer of alice');
my $bob = $t->peer(path => '/users?user=bob', mac => mac(34));
is($bob->status, 101, 'bob is counted apart');
$a[0]->close(clean => 1);
my $again;
for (1 .. 30) {
    $again = $t->peer(path => '/users?user=alice', mac => mac(35));
    last if $again->ok;
    select(undef, undef, undef, 0.1);
}
is($again->status, 101, 'once one of alice\'s peers left, room again');
$_->close(clean => 1) for $a[1], $bob, $again;

###############################################################################
# who the user is

my $auth = 'Basic ' . encode_base64('alice:secret', '');
my $forged = 'Basic ' . encode_base64('root:whatever', '');

my $b1 = $t->peer_ok(path => '/basic', headers => { Authorization => $auth },
                     mac => mac(40));
my $b2 = $t->peer_ok(path => '/unchecked',
                     headers => { Authorization => $forged }, mac => mac(41));
my $b3 = $t->peer_ok(path => '/explicit',
                     headers => { Authorization => $forged }, mac => mac(42));
is(by_mac('/status-blue', mac(40))->{REMOTE_USER}, 'alice',
   'auth_basic checked it: the user is alice');
is(by_mac('/status-blue', mac(41))->{REMOTE_USER}, '',
   'an Authorization header nobody checked: no user');
is(by_mac('/status-blue', mac(42))->{REMOTE_USER}, 'root',
   'vpnws_user $remote_user: the operator said so');
$_->close(clean => 1) for $b1, $b2, $b3;

$t->done();
