#!/usr/bin/perl

# A websocket needs HTTP/1.1: an upgrade request over HTTP/2 (h2c, prior
# knowledge) gets 400 and a log line, as HTTP/3 would (RFC 8441 and 9220
# are not supported; Debian's nginx 1.22 has no HTTP/3 to test with, the
# core's rule is tested in t/unit/test_upgrade.c).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use IO::Select;
use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;

my $t = VpnwsTest->new()->has(qw(vpnws http_v2));

$t->write_file_expand('nginx.conf', $t->switch_conf(server => '}
    server {
        listen 127.0.0.1:%%PORT_8081%% http2;

        location /vpn {
            vpnws sw;
        }'));
$t->run();

# HPACK: a literal header field without indexing, new name
sub lit {
    my ($k, $v) = @_;
    return "\x00" . chr(length $k) . $k . chr(length $v) . $v;
}

sub frame {
    my ($type, $flags, $stream, $payload) = @_;
    return substr(pack('N', length $payload), 1) . chr($type) . chr($flags)
        . pack('N', $stream) . $payload;
}

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8081),
                              Proto => 'tcp', Timeout => 5)
    or die "connect: $!\n";

my $block = lit(':method', 'GET') . lit(':scheme', 'http')
    . lit(':path', '/vpn') . lit(':authority', 'localhost')
    . lit('sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==')
    . lit('sec-websocket-version', '13');

$s->syswrite("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . frame(4, 0, 0, '')
             . frame(1, 0x5, 1, $block));

# the response HEADERS on stream 1: its first field is :status
my ($buf, $status) = ('', undef);
my $sel = IO::Select->new($s);
my $deadline = time() + 5;

while (!defined $status && time() < $deadline) {
    last unless $sel->can_read($deadline - time());
    last unless sysread($s, $buf, 65536, length $buf);

    while (length $buf >= 9) {
        my $len = unpack('N', "\0" . substr($buf, 0, 3));
        my $type = ord(substr($buf, 3, 1));
        my $stream = unpack('N', substr($buf, 5, 4)) & 0x7fffffff;
        last if length $buf < 9 + $len;
        my $payload = substr($buf, 9, $len);
        substr($buf, 0, 9 + $len, '');
        if ($type == 1 && $stream == 1) {
            # static table (RFC 7541): 0x8c is ":status: 400", 0x88 "200"
            $status = ord(substr($payload, 0, 1));
        }
    }
}

is(sprintf('%#x', $status // 0), '0x8c', 'an upgrade over HTTP/2: 400');
ok(scalar $t->error_log_lines(
       qr/refused websocket upgrade: websocket needs HTTP\/1\.1/),
   'and a log line says why');
is(scalar @{($t->status() || {})->{peers} || []}, 0, 'no peer joined');

$t->done();
