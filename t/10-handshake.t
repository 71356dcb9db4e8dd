#!/usr/bin/perl

# vpnws: the websocket upgrade (DESIGN.md section 3): accepted handshakes,
# the original vpn-ws-client's handshake, every refusal with its status and
# its error-log line, and a first frame sent in the handshake's write.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse accept_key);

my $t = VpnwsTest->start_switch();

my $n = 0;

# two fresh peers exchange one frame: the worker still serves
sub serves {
    my ($what) = @_;

    $n++;
    my $ma = sprintf('02:aa:00:00:%02x:01', $n);
    my $mb = sprintf('02:aa:00:00:%02x:02', $n);

    my $a = $t->peer(mac => $ma);
    my $b = $t->peer(mac => $mb);

    my $ok = $a->ok && $b->ok;

    if ($ok) {
        $a->send_eth($mb, $ma, 0x0800, "after $what");
        my ($dst, $src, $type, $p) = eth_parse($b->recv_eth(3));
        $ok = defined $p && $p eq "after $what" && $src eq $ma;
    }

    $a->close(clean => 1);
    $b->close(clean => 1);

    ok($ok, "a normal peer is served after: $what");
}

my $refusals = 0;

sub refused {
    my ($ws, $status, $what) = @_;

    $refusals++;
    is($ws->status, $status, "$what: $status");
}


###############################################################################
# accepted

my $ws = $t->peer(mac => '02:00:00:00:00:01');

is($ws->status, 101, 'RFC 6455 upgrade: 101');
is($ws->header('sec-websocket-accept'), accept_key($ws->{key}),
   'Sec-WebSocket-Accept');
like($ws->header('upgrade') // '', qr/^websocket$/i, 'Upgrade: websocket');
like($ws->header('connection') // '', qr/\bupgrade\b/i, 'Connection: upgrade');
$ws->close(clean => 1);

# the original vpn-ws-client: 16-character key (10 bytes), no version
my $key = encode_base64('0123456789', '');
is(length $key, 16, 'original client key has 16 characters');

$ws = $t->peer(key => $key, version => undef);
is($ws->status, 101, 'original vpn-ws-client handshake: 101');
is($ws->header('sec-websocket-accept'), accept_key($key),
   'original client: Sec-WebSocket-Accept');
$ws->close(clean => 1);

# browsers send more than one Connection token
$ws = $t->peer(headers => [Connection => 'keep-alive, Upgrade'],
               no_connection => 1);
is($ws->status, 101, 'Connection: keep-alive, Upgrade: 101');
$ws->close(clean => 1);

# MAC spellings: upper case and dashes are the same address
$ws = $t->peer(mac => '02:AB:CD:00:00:01');
is($ws->status, 101, 'X-vpn-ws-MAC in upper case: 101');
refused($t->peer(mac => '02-ab-cd-00-00-01'), 409,
        'the same MAC with dashes is the same address');
my $st = $t->status_peer('02:ab:cd:00:00:01');
ok($st, 'status lists it') or diag(explain($t->status));
$ws->close(clean => 1);

serves('accepted handshakes');


###############################################################################
# refused

$ws = $t->peer(version => 8);
refused($ws, 426, 'Sec-WebSocket-Version: 8');
is($ws->header('sec-websocket-version'), '13',
   'version 8: Sec-WebSocket-Version: 13 in the answer');
serves('version 8');

$ws = $t->peer(method => 'POST', headers => ['Content-Length' => 0]);
refused($ws, 405, 'POST');
is($ws->header('allow'), 'GET', 'POST: Allow: GET');
serves('POST');

$ws = $t->peer(no_upgrade => 1, no_connection => 1, no_key => 1,
               version => undef);
refused($ws, 426, 'plain GET');
like($ws->header('upgrade') // '', qr/^websocket$/i,
     'plain GET: Upgrade: websocket in the answer');
serves('plain GET');

$ws = $t->peer(no_connection => 1);
refused($ws, 400, 'no Connection: Upgrade');
serves('no Connection: Upgrade');

$ws = $t->peer(no_key => 1);
refused($ws, 400, 'no Sec-WebSocket-Key');
serves('no key');

$ws = $t->peer(key => 'not*a*valid*key*base64*=');
refused($ws, 400, 'key with invalid characters');
serves('bad key characters');

$ws = $t->peer(key => encode_base64('short', ''));
refused($ws, 400, 'key too short');
serves('short key');

$ws = $t->peer(http => '1.0');
refused($ws, 400, 'HTTP/1.0');
serves('HTTP/1.0');

$ws = $t->peer(headers => ['Content-Length' => 5], extra => 'hello');
refused($ws, 400, 'a body (Content-Length: 5)');
serves('body');

$ws = $t->peer(mac => '02:00:00:00:00:41',
               headers => ['X-vpn-ws-MAC' => '02:00:00:00:00:42']);
refused($ws, 400, 'two X-vpn-ws-MAC headers');
serves('a repeated header');

$ws = $t->peer(key => 'dGhlIHNhbXBsZSBub25jZQ==',
               headers => ['Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==']);
refused($ws, 400, 'two Sec-WebSocket-Key headers');

for my $mac ('garbage', '01:00:5e:00:00:01', '00:00:00:00:00:00',
             'ff:ff:ff:ff:ff:ff', '02:00:00:00:00')
{
    $ws = $t->peer(mac => $mac);
    refused($ws, 400, "X-vpn-ws-MAC: $mac");
}
serves('invalid MACs');

$ws = $t->peer(bridge => 'maybe');
refused($ws, 400, 'X-vpn-ws-bridge: maybe');
serves('X-vpn-ws-bridge: maybe');

my $holder = $t->peer_ok(mac => '02:00:00:00:00:99');
$ws = $t->peer(mac => '02:00:00:00:00:99');
refused($ws, 409, 'a MAC another live peer holds');
$ws = $t->peer(mac => '02:00:00:00:00:99', bridge => 'off');
refused($ws, 409, 'a MAC another live peer holds, bridge off');
serves('MAC conflict');

# the holder still owns it: frames to it still reach it
my $other = $t->peer_ok(mac => '02:00:00:00:00:98');
$other->send_eth('02:00:00:00:00:99', '02:00:00:00:00:98', 0x0800, 'mine');
my @f = eth_parse($holder->recv_eth(3));
is($f[3], 'mine', 'the MAC holder keeps its MAC after the conflict');

# once the holder leaves, the MAC is free again
$holder->close(clean => 1);
my $ok = 0;
for (1 .. 20) {
    $ws = $t->peer(mac => '02:00:00:00:00:99');
    last if $ok = $ws->ok;
    $refusals++;
    select(undef, undef, undef, 0.1);
}
ok($ok, 'a MAC is free again once its holder closed');
$ws->close(clean => 1);
$other->close(clean => 1);

my @lines = $t->wait_log(qr/vpnws: refused websocket upgrade: /, 1);
for (1 .. 20) {
    last if @lines >= $refusals;
    select(undef, undef, undef, 0.1);
    @lines = $t->error_log_lines(qr/vpnws: refused websocket upgrade: /);
}
is(scalar @lines, $refusals, "an error-log line for each of the $refusals "
   . 'refusals') or diag(join "\n", @lines);

for my $re (qr/Version/i, qr/GET/, qr/Upgrade: websocket/i,
            qr/Connection/i, qr/Key/i, qr/HTTP\/1\.1/, qr/body/,
            qr/MAC/, qr/bridge/i, qr/in use/, qr/repeated/)
{
    ok(scalar(grep { $_ =~ $re } @lines), "a refusal line names $re");
}

# a client's fault is logged at info, as nginx logs client faults: a
# scanner cannot fill the error log; a MAC two peers want at warn
my @misfiled = grep { !(/in use/ ? /\[warn\]/ : /\[info\]/) } @lines;
is(scalar @misfiled, 0, 'client faults at [info], a MAC conflict at [warn]')
    or diag(join "\n", @misfiled);


###############################################################################
# a first frame in the handshake's write

my $b = $t->peer_ok(mac => '02:00:00:00:01:02');

my $frame = VpnwsWS->build_frame(2, VpnwsWS::eth_frame(
    '02:00:00:00:01:02', '02:00:00:00:01:01', 0x0800, 'early bird'));

my $a = $t->peer(mac => '02:00:00:00:01:01', extra => $frame);
is($a->status, 101, 'handshake with a frame in the same write: 101');

@f = eth_parse($b->recv_eth(3));
is($f[3], 'early bird', 'the frame sent with the handshake is switched');

# two frames and half of a third in the handshake's write
$frame = VpnwsWS->build_frame(2, VpnwsWS::eth_frame(
    '02:00:00:00:01:02', '02:00:00:00:01:03', 0x0800, 'one'))
    . VpnwsWS->build_frame(2, VpnwsWS::eth_frame(
    '02:00:00:00:01:02', '02:00:00:00:01:03', 0x0800, 'two'));
my $third = VpnwsWS->build_frame(2, VpnwsWS::eth_frame(
    '02:00:00:00:01:02', '02:00:00:00:01:03', 0x0800, 'three'));

my $c = $t->peer(mac => '02:00:00:00:01:03',
                 extra => $frame . substr($third, 0, 7));
is($c->status, 101, 'handshake with two and a half frames: 101');
$c->send_raw(substr($third, 7));

my @got = map { (eth_parse($b->recv_eth(3)))[3] // 'nothing' } 1 .. 3;
is("@got", 'one two three', 'frames after the handshake keep their order');

$_->close(clean => 1) for $a, $b, $c;

$t->done();
