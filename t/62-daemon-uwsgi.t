#!/usr/bin/perl

# vpnws: the vpn-ws daemon's uwsgi side.  Malformed packets sent straight
# to its socket (truncated, lengths past the end, too many variables,
# oversized, garbage, a slow-loris) each close that connection with a log
# line and never disturb a peer pair switching through nginx meanwhile.
# Bad handshakes get an HTTP error and a log line; the admin interface
# (uwsgi_modifier1 1) lists and kills peers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use Daemon;
use VpnwsTest;

Daemon::has_daemon();
Daemon::prefer_asan();

my $target = Daemon::Target->new();
my $d = $target->daemon;
my $t = $target->t;

my $A = '02:00:00:00:06:0a';
my $B = '02:00:00:00:06:0b';

my $pair = $target->pair($A, $B);

sub uwsgi { Daemon::uwsgi_packet(@_) }

# send $bytes to the socket (then half-close if asked): the daemon closes
# the connection and logs a line matching $re
sub refused_packet {
    my ($what, $bytes, $re, %o) = @_;

    my $before = scalar $d->log_lines($re);

    my $s = $d->connect_raw();
    syswrite($s, $bytes) if length $bytes;
    shutdown($s, 1) if $o{half_close};

    ok(Daemon::wait_eof($s, $o{timeout} || 3), "$what: connection closed");
    close $s;

    my @l = $d->wait_log($re, 3, $before);
    ok(@l > $before, "$what: logged") or diag($d->log_text());

    $pair->ok($what);
}

my @upgrade = (HTTP_UPGRADE => 'websocket', HTTP_CONNECTION => 'Upgrade');
my $ok_vars = [REQUEST_METHOD => 'GET', @upgrade, HTTP_SEC_WEBSOCKET_KEY =>
               'dGhlIHNhbXBsZSBub25jZQ=='];

$pair->ok('at start');


###############################################################################
# malformed packets

refused_packet('truncated header', "\x00\x10",
               qr/closed after 2 bytes of a packet/, half_close => 1);

my $full = uwsgi(0, @$ok_vars);
refused_packet('truncated variables', substr($full, 0, length($full) - 5),
               qr/closed after \d+ bytes of a packet/, half_close => 1);

# a key length pointing past the end
my $body = pack('v', 200) . 'REQUEST_METHOD' . pack('v', 3) . 'GET';
refused_packet('key length past the end',
               pack('CvC', 0, length $body, 0) . $body,
               qr/invalid uwsgi packet: key length past the end/);

$body = pack('v', 14) . 'REQUEST_METHOD' . pack('v', 300) . 'GET';
refused_packet('value length past the end',
               pack('CvC', 0, length $body, 0) . $body,
               qr/invalid uwsgi packet: value length past the end/);

$body = pack('v', 14) . 'REQUEST_METHOD' . 'G';
refused_packet('value length cut in half',
               pack('CvC', 0, length $body, 0) . $body,
               qr/invalid uwsgi packet: truncated value length/);

$body = pack('v', 0) . pack('v', 0);
refused_packet('empty variable name', pack('CvC', 0, length $body, 0) . $body,
               qr/invalid uwsgi packet: empty variable name/);

refused_packet('too many variables',
               uwsgi(0, map { ("V$_" => 'x') } 1 .. 129),
               qr/invalid uwsgi packet: too many variables/);

# the header alone says it: no need to send the rest
refused_packet('oversized', pack('CvC', 0, 20000, 0),
               qr/invalid uwsgi packet: packet too big/);

# an HTTP request is one (t/68-daemon-http.t), here not an upgrade
refused_packet('an HTTP request, no upgrade', "GET /vpn HTTP/1.1\r\n\r\n",
               qr/refused websocket upgrade .*no "Upgrade: websocket"/);

refused_packet('garbage: a lower-case HTTP request', "get /vpn HTTP/1.1\r\n",
               qr/invalid uwsgi packet: packet too big/);

refused_packet('garbage: random bytes', "\x00\x05\x00\x00\xff\xff\xff\xff\xff",
               qr/invalid uwsgi packet: key length past the end/);

refused_packet('unknown modifier1', uwsgi(5, @$ok_vars),
               qr/modifier1 5 is neither 0/);

# random packets: each answered or closed, the daemon lives on
{
    srand(62);
    my $closed = 0;

    for my $i (1 .. 300) {
        my $body = '';
        for (1 .. int(rand(6))) {
            my $k = join "", map { chr(65 + int rand 26) } 0 .. int rand 20;
            my $v = join '', map { chr(int rand 256) } 0 .. int rand 40;
            my $kl = rand() < 0.1 ? int rand 65536 : length $k;
            my $vl = rand() < 0.1 ? int rand 65536 : length $v;
            $body .= pack('v', $kl) . $k . pack('v', $vl) . $v;
        }
        $body = substr($body, 0, int rand length $body) if rand() < 0.2;
        my $m1 = rand() < 0.7 ? int rand 3 : int rand 256;
        my $size = rand() < 0.1 ? int rand 65536 : length $body;

        my $s = $d->connect_raw();
        syswrite($s, pack('CvC', $m1, $size, int rand 256) . $body);
        shutdown($s, 1);
        $closed += Daemon::wait_eof($s, 3);
        close $s;
    }

    is($closed, 300, '300 random packets: every connection ends');
    ok($d->alive, 'the daemon lives on');
    $pair->ok('after random packets');
}

# slow-loris: a partial packet is closed after the request timeout, and
# the peers switch meanwhile
{
    my $before = scalar $d->log_lines(qr/no complete packet within/);
    my $start = time();

    my @slow = map { $d->connect_raw() } 1 .. 5;
    syswrite($_, substr($full, 0, 7)) for @slow;

    $pair->ok('while slow-loris connections wait');

    my $closed = 0;
    $closed += Daemon::wait_eof($_, 10) for @slow;
    is($closed, 5, 'slow-loris: every partial packet is closed');
    my $took = time() - $start;
    ok($took >= 4 && $took < 9, 'slow-loris: after the request timeout')
        or diag("took $took s");

    my @l = $d->wait_log(qr/no complete packet within/, 3, $before + 4);
    is(scalar(@l) - $before, 5, 'slow-loris: logged for each');

    $pair->ok('after the slow-loris');
}


###############################################################################
# bad handshakes, straight to the socket: an HTTP error and a log line

sub handshake_direct {
    my (@vars) = @_;

    my $s = $d->connect_raw();
    syswrite($s, uwsgi(0, @vars));

    my $r = '';
    my $sel = IO::Select->new($s);
    my $deadline = time() + 3;

    while (time() < $deadline) {
        last unless $sel->can_read($deadline - time());
        my $got = sysread($s, $r, 65536, length $r);
        last unless $got;
    }

    close $s;

    return $r;
}

sub refused_handshake {
    my ($what, $status, $re, @vars) = @_;

    my $before = scalar $d->log_lines($re);
    my $r = handshake_direct(@vars);

    like($r, qr{^HTTP/1\.1 $status }, "$what: $status");
    like($r, qr{\r\nContent-Length: \d+\r\n}, "$what: a complete response");

    my @l = $d->wait_log($re, 3, $before);
    ok(@l > $before, "$what: logged");

    return $r;
}

refused_handshake('no key', 400, qr/refused .*no Sec-WebSocket-Key/,
                  REQUEST_METHOD => 'GET', @upgrade);
refused_handshake('bad key', 400, qr/refused .*invalid Sec-WebSocket-Key/,
                  REQUEST_METHOD => 'GET', @upgrade,
                  HTTP_SEC_WEBSOCKET_KEY => 'not base64!!!!!!!!!');

# the module's rules (src/vpnws_upgrade.c): Upgrade and Connection are
# required, as nginx's uwsgi_pass passes them on
my $r426 = refused_handshake('no HTTP_UPGRADE', 426,
                             qr/\[info\] .*refused .*no "Upgrade: websocket"/,
                             REQUEST_METHOD => 'GET',
                             HTTP_CONNECTION => 'Upgrade',
                             HTTP_SEC_WEBSOCKET_KEY =>
                                 'dGhlIHNhbXBsZSBub25jZQ==');
like($r426, qr/\r\nUpgrade: websocket\r\n/, '426 names Upgrade: websocket');
refused_handshake('no HTTP_CONNECTION', 400,
                  qr/\[info\] .*refused .*no "Connection: Upgrade"/,
                  REQUEST_METHOD => 'GET', HTTP_UPGRADE => 'websocket',
                  HTTP_SEC_WEBSOCKET_KEY => 'dGhlIHNhbXBsZSBub25jZQ==');
refused_handshake('HTTP/2.0', 400, qr/refused .*needs HTTP\/1\.1/,
                  @$ok_vars, SERVER_PROTOCOL => 'HTTP/2.0');
refused_handshake('HTTP/3.0', 400, qr/refused .*needs HTTP\/1\.1/,
                  @$ok_vars, SERVER_PROTOCOL => 'HTTP/3.0');
refused_handshake('a body', 400, qr/refused .*has no body/,
                  @$ok_vars, CONTENT_LENGTH => '5');
refused_handshake('two MAC variables', 400, qr/refused .*repeated/,
                  @$ok_vars, HTTP_X_VPN_WS_MAC => '02:00:00:00:06:01',
                  HTTP_X_VPN_WS_MAC => '02:00:00:00:06:02');
refused_handshake('bad MAC', 400, qr/refused .*invalid X-vpn-ws-MAC/,
                  @$ok_vars, HTTP_X_VPN_WS_MAC => '02:00:00:00:00');
refused_handshake('multicast MAC', 400, qr/refused .*not a unicast/,
                  @$ok_vars, HTTP_X_VPN_WS_MAC => '01:00:5e:00:00:01');
refused_handshake('MAC in use', 409,
                  qr/\[warn\] .*refused .*in use by another peer/,
                  @$ok_vars, HTTP_X_VPN_WS_MAC => $A);
refused_handshake('bad bridge value', 400, qr/refused .*must be on or off/,
                  @$ok_vars, HTTP_X_VPN_WS_BRIDGE => 'yes');
refused_handshake('POST', 405, qr/refused .*only GET/,
                  REQUEST_METHOD => 'POST', @upgrade,
                  HTTP_SEC_WEBSOCKET_KEY => 'dGhlIHNhbXBsZSBub25jZQ==');
my $r = refused_handshake('version 8', 426,
                          qr/refused .*unsupported Sec-WebSocket-Version/,
                          @$ok_vars, HTTP_SEC_WEBSOCKET_VERSION => '8');
like($r, qr/\r\nSec-WebSocket-Version: 13\r\n/, '426 names version 13');

# accepted straight from the socket: the 101 with the RFC 6455 example,
# and the identity variables in the status
{
    my $s = $d->connect_raw();
    syswrite($s, uwsgi(0, @$ok_vars, HTTP_X_VPN_WS_MAC => '02:00:00:00:06:0c',
                       REMOTE_ADDR => '192.0.2.7', REMOTE_USER => 'alice',
                       HTTPS_DN => 'CN=alice,O="x\\y"'));

    my $r = '';
    my $sel = IO::Select->new($s);
    my $deadline = time() + 3;
    while ($r !~ /\r\n\r\n/ && time() < $deadline) {
        last unless $sel->can_read($deadline - time());
        last unless sysread($s, $r, 65536, length $r);
    }

    like($r, qr{^HTTP/1\.1 101 Switching Protocols\r\n},
         'a direct handshake: 101');
    like($r, qr{\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n},
         'with the right Sec-WebSocket-Accept');

    my ($pd) = grep { lc($_->{MAC} // '') eq '02:00:00:00:06:0c' }
        @{($target->status() || {})->{peers} || []};
    is($pd && $pd->{REMOTE_ADDR}, '192.0.2.7', 'status: REMOTE_ADDR');
    is($pd && $pd->{REMOTE_USER}, 'alice', 'status: REMOTE_USER');
    is($pd && $pd->{DN}, 'CN=alice,O="x\\y"', 'status: HTTPS_DN, escaped');

    close $s;
}

$pair->ok('after the bad handshakes');


###############################################################################
# the admin interface: through nginx (uwsgi_modifier1 1) and direct

my $st = $target->status();
is($st && $st->{status}, 'ok', 'admin through nginx: status ok');

my ($pa) = grep { lc($_->{MAC} // '') eq $A } @{$st->{peers} || []};
ok($pa, 'admin: the peer is listed');
is($pa && $pa->{REMOTE_ADDR}, '127.0.0.1', 'admin: REMOTE_ADDR');
ok($pa && $pa->{rx} > 0 && $pa->{tx} > 0 && $pa->{frames_in} > 0,
   'admin: counters');

sub admin_get {
    my ($uri, $method) = @_;

    # kills are POST only (a GET of one is 405, below)
    $method //= $uri =~ /kill/ ? 'POST' : 'GET';
    my $raw = $t->http_get($uri, method => $method);
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($code) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    my $json = eval { JSON::PP->new->decode($body // '') };

    return ($code // 0, $json, $head // '');
}

my ($code, $json, $head) = admin_get('/status');
like($head, qr{\r\nContent-Type: application/json}i,
     'admin: Content-Type application/json');

($code, $json) = admin_get('/status?kill=1', 'GET');
is($code, 405, 'admin: GET of a kill is 405');
($code, $json) = admin_get('/status?kill=1', 'HEAD');
is($code, 405, 'admin: HEAD of a kill is 405');

($code, $json) = admin_get('/status?kill=abc');
is($code, 400, 'admin: kill=abc is 400');

# ids are 64 bits: the largest is an id (of no peer), one more is not
for my $id ('4294967296', '18446744073709551615') {
    ($code, $json) = admin_get("/status?kill=$id");
    is($code, 404, "admin: kill=$id is a valid id, of no peer: 404");
}

my $refused = scalar $d->log_lines(qr/admin: invalid query "kill=/);

for my $id ('18446744073709551616', '0', '-1', '') {
    ($code, $json) = admin_get("/status?kill=$id");
    is($code, 400, "admin: kill=$id is 400");
}

$d->wait_log(qr/admin: invalid query "kill=/, 3, $refused + 3);
is(scalar $d->log_lines(qr/admin: invalid query "kill=/) - $refused, 4,
   'admin: each refused kill= logged');

($code, $json) = admin_get('/status?kill=999999');
is($code, 404, 'admin: kill of an unknown id is 404');
is($json && $json->{status}, 'not found', 'admin: {"status":"not found"}');

my $c = $target->peer(mac => '02:00:00:00:06:0d');
my ($pc) = grep { lc($_->{MAC} // '') eq '02:00:00:00:06:0d' }
    @{($target->status() || {})->{peers} || []};

($code, $json) = admin_get("/status?kill=$pc->{id}");
is($code, 200, 'admin: kill of a peer is 200');
is($json && $json->{status}, 'ok', 'admin: {"status":"ok"}');
is($c->recv_close(3), 1008, 'the killed peer gets Close 1008');
ok($c->wait_eof(3), 'and its connection ends');

($code, $json) = admin_get("/status?kill=$pc->{id}");
is($code, 404, 'admin: a killed peer is gone');

# ids are never reused
my $c2 = $target->peer(mac => '02:00:00:00:06:0d');
my ($pc2) = grep { lc($_->{MAC} // '') eq '02:00:00:00:06:0d' }
    @{($target->status() || {})->{peers} || []};
ok($pc2 && $pc2->{id} > $pc->{id}, 'a new peer gets a new id');
$c2->close(clean => 1);

# direct, with the original uwsgi variables
my $s = $d->connect_raw();
syswrite($s, uwsgi(1, REQUEST_METHOD => 'GET', QUERY_STRING => ''));
my $raw = '';
1 while sysread($s, $raw, 65536, length $raw);
close $s;
like($raw, qr{^HTTP/1\.1 200 OK\r\n.*\r\n\r\n\{"status":"ok"}s,
     'admin straight from the socket');

$pair->ok('after the admin requests');

$pair->close();

$target->done();

done_testing();
