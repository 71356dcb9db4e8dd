#!/usr/bin/perl

# vpnws: the vpn-ws daemon's HTTP/1.1 side, for front ends that proxy the
# websocket as HTTP (Apache's mod_proxy_http with upgrade=websocket; the
# e2e test is t/68-daemon-apache.t).  Straight to the socket: an upgrade
# with a frame in the same write, a head in pieces, identity only from the
# headers --trust-header names (a header with '_' never passes for one),
# rights (VPNWS_BRIDGE with --policy) likewise,
# malformed heads refused with a status and a log line while a peer pair
# keeps switching, and VPNWS_ADMIN, the admin interface for proxies that
# cannot set modifier1.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_base64);
use IO::Select;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use Daemon;
use VpnwsTest;

Daemon::has_daemon();
Daemon::prefer_asan();

my $target = Daemon::Target->new(args => [
    '--policy',
    '--trust-header', 'REMOTE_USER=X-Remote-User',
    '--trust-header', 'HTTPS_DN=X-Client-DN',
    '--trust-header', 'VPNWS_BRIDGE=X-Grant-Bridge']);
my $d = $target->daemon;

my $A = '02:00:00:00:06:1a';
my $B = '02:00:00:00:06:1b';

my $pair = $target->pair($A, $B);

my $KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

sub head {
    my (%h) = @_;

    my $line = delete $h{line} // 'GET /vpn HTTP/1.1';
    my $s = "$line\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Key: $KEY\r\n"
        . "Sec-WebSocket-Version: 13\r\n";
    $s .= "$_: $h{$_}\r\n" for sort keys %h;

    return $s . "\r\n";
}

# read until the response head is complete (or EOF); the head, the rest
sub response {
    my ($s, $timeout) = @_;

    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time() + ($timeout || 3);

    while ($buf !~ /\r\n\r\n/ && time() < $end) {
        last unless $sel->can_read($end - time());
        sysread($s, $buf, 65536, length $buf) or last;
    }

    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;

    return ($head // '', $rest // '');
}

# the admin JSON over a raw uwsgi request
sub status {
    my $s = $d->connect_raw();
    syswrite($s, Daemon::uwsgi_packet(1, REQUEST_METHOD => 'GET',
                                      QUERY_STRING => ''));
    local $/;
    my $r = <$s> // '';
    $r =~ s/^.*?\r\n\r\n//s;
    return eval { decode_json($r) } || { raw => $r };
}

sub peer_of {
    my ($mac) = @_;
    my ($p) = grep { lc($_->{MAC} // '') eq $mac } @{status()->{peers} || []};
    return $p || {};
}

# an upgrade with a masked PING in the same write: 101, then the PONG
my $s = $d->connect_raw();
syswrite($s, head('X-Remote-User' => 'alice', 'X_Remote_User' => 'eve',
                  'X-Client-DN' => 'CN=alice,O=vpnws',
                  'X-vpn-ws-MAC' => '02:00:00:00:06:01')
             . "\x89\x80abcd");
my ($h, $rest) = response($s);
like($h, qr{^HTTP/1\.1 101 }, 'an HTTP/1.1 upgrade on the socket: 101');
my $accept = sha1_base64($KEY . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=';
like($h, qr/^Sec-WebSocket-Accept: \Q$accept\E\r?$/m, 'the accept key');
if (length $rest < 2) {
    IO::Select->new($s)->can_read(2);
    sysread($s, $rest, 64, length $rest);
}
is(unpack('H4', $rest), '8a00', 'the PING sent with the head got its PONG');

my $p = peer_of('02:00:00:00:06:01');
is($p->{REMOTE_USER}, 'alice', 'REMOTE_USER from the trusted header');
is($p->{DN}, 'CN=alice,O=vpnws', 'DN from the trusted header');
close $s;

# a head in pieces, a header with '_' that would read as a trusted one
$s = $d->connect_raw();
my $req = head('X_Remote_User' => 'eve', 'X-vpn-ws-MAC' => '02:00:00:00:06:02');
for my $part (unpack '(a7)*', $req) {
    syswrite($s, $part);
    sleep(0.01);
}
($h) = response($s);
like($h, qr{^HTTP/1\.1 101 }, 'a head sent 7 bytes at a time: 101');
is(peer_of('02:00:00:00:06:02')->{REMOTE_USER} // '', '',
   'X_Remote_User is not X-Remote-User: no REMOTE_USER');
close $s;

$pair->ok('two HTTP peers came and went');

# rights too come only from trusted headers (--policy: bridge if granted)
for my $c ([ 'no grant', {}, 403 ],
           [ 'VPNWS_BRIDGE as a header', { 'VPNWS_BRIDGE' => 'on' }, 403 ],
           [ 'Vpnws-Bridge as a header', { 'Vpnws-Bridge' => 'on' }, 403 ],
           [ 'X-Grant-Bridge (trusted)', { 'X-Grant-Bridge' => 'on' }, 101 ]) {
    my ($what, $h, $status) = @$c;

    $s = $d->connect_raw();
    syswrite($s, head('X-vpn-ws-bridge' => 'on', %$h));
    my ($got) = response($s);
    like($got, qr{^HTTP/1\.1 $status }, "bridge asked, $what: $status");
    close $s;
}

# malformed heads (the converter's errors) and refused upgrades (the
# rules of src/vpnws_upgrade.c, as for uwsgi): status, log line; the pair
# lives on
my @bad = (
    [ 'HTTP/2.0', head(line => 'GET /vpn HTTP/2.0'), 400,
      qr/refused websocket upgrade .*websocket needs HTTP\/1\.1/ ],
    [ 'HTTP/1.x', head(line => 'GET /vpn HTTP/1.x'), 400,
      qr/refused HTTP request: invalid request line/ ],
    [ 'a trusted header twice', head('X-Remote-User' => 'a')
      =~ s/\r\n\r\n$/\r\nx-remote-user: b\r\n\r\n/r, 400,
      qr/refused HTTP request: a mapped header appears twice/ ],
    [ 'obs-fold', head('X-Foo' => 'a') =~ s/\r\n\r\n$/\r\n  b\r\n\r\n/r, 400,
      qr/refused HTTP request: obsolete header line folding/ ],
    [ 'a body', head('Content-Length' => 5) . 'xxxxx', 400,
      qr/refused websocket upgrade .*a websocket upgrade has no body/ ],
    [ 'a head over 16 KB', head('X-Big' => 'a' x 17000), 431,
      qr/refused HTTP request: request head too large/ ],
    [ 'a header name with a space', "GET / HTTP/1.1\r\nX Y: z\r\n\r\n", 400,
      qr/refused HTTP request: invalid header name/ ],
    [ 'not a websocket', "GET /vpn HTTP/1.1\r\nHost: x\r\n\r\n", 426,
      qr/refused websocket upgrade .*no "Upgrade: websocket"/ ],
    [ 'Vpnws-Admin from a client', "GET /vpn HTTP/1.1\r\nVpnws-Admin: on\r\n"
      . "VPNWS_ADMIN: on\r\n\r\n", 426,
      qr/refused websocket upgrade .*no "Upgrade: websocket"/ ],
);

for my $c (@bad) {
    my ($what, $bytes, $status, $re) = @$c;
    my $before = scalar $d->log_lines($re);

    $s = $d->connect_raw();
    syswrite($s, $bytes);
    ($h) = response($s);
    like($h, qr{^HTTP/1\.1 $status }, "$what: $status");
    ok(Daemon::wait_eof($s, 3), "$what: then closed");
    close $s;
    ok(scalar($d->wait_log($re, 3, $before)) > $before, "$what: logged")
        or diag($d->log_text());
}

$pair->ok('after the malformed heads');

# VPNWS_ADMIN: the admin interface on modifier1 0 (Apache: SetEnv)
$s = $d->connect_raw();
syswrite($s, Daemon::uwsgi_packet(0, REQUEST_METHOD => 'GET',
                                  QUERY_STRING => '', VPNWS_ADMIN => 'on'));
my $r = do { local $/; <$s> } // '';
like($r, qr{^HTTP/1\.1 200 .*"peers":\[}s, 'VPNWS_ADMIN on: the JSON status');
close $s;

$s = $d->connect_raw();
syswrite($s, Daemon::uwsgi_packet(0, REQUEST_METHOD => 'GET',
                                  VPNWS_ADMIN => 'yes'));
($h) = response($s);
like($h, qr{^HTTP/1\.1 400 }, 'VPNWS_ADMIN yes: 400');
ok(scalar $d->wait_log(qr/VPNWS_ADMIN is neither on nor off/, 3),
   'and a log line');
close $s;

$s = $d->connect_raw();
syswrite($s, Daemon::uwsgi_packet(0, REQUEST_METHOD => 'GET',
                                  VPNWS_ADMIN => 'off',
                                  SERVER_PROTOCOL => 'HTTP/1.1',
                                  HTTP_UPGRADE => 'websocket',
                                  HTTP_CONNECTION => 'Upgrade',
                                  HTTP_SEC_WEBSOCKET_KEY => $KEY));
($h) = response($s);
like($h, qr{^HTTP/1\.1 101 }, 'VPNWS_ADMIN off: a websocket');
close $s;

$pair->ok('at the end');

$target->done();

done_testing();
