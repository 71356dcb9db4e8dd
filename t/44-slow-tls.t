#!/usr/bin/perl

# wss://: a congested TLS receiver (it stops reading) under a broadcast
# flood.  Flooded frames are written from a buffer shared by every peer;
# when SSL_write() must be retried, the retry comes from the peer's own
# queue, another address: OpenSSL must accept that ("bad write retry"
# closed the peer once).  The peer lives, its stream stays intact.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;
use VpnwsWS qw(eth_frame eth_parse);

my $t = VpnwsTest->new()->has(qw(vpnws ssl));

plan(skip_all => 'no openssl') unless `openssl version 2>/dev/null`;

my $p = $t->prefix;

system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
       . " -keyout $p/server.key -out $p/server.crt >$p/openssl.log 2>&1")
    == 0 or BAIL_OUT("openssl: " . $t->read_file('openssl.log'));

$t->write_file_expand('nginx.conf', $t->switch_conf(params => 'queue=128k',
    server => '}
    server {
        listen 127.0.0.1:%%PORT_8443%% ssl;
        ssl_certificate %%PREFIX%%/server.crt;
        ssl_certificate_key %%PREFIX%%/server.key;

        location /vpn {
            vpnws sw;
        }'));
$t->run();

my $F = '02:00:00:00:44:0f';
my $S = '02:00:00:00:44:05';
my $R = '02:00:00:00:44:0e';

my $f = $t->peer_ok(mac => $F);
my $s = VpnwsWS->connect(port => $t->port(8443), tls => 1, mac => $S,
                         rcvbuf => 4096);
is($s->status, 101, 'a slow wss:// peer');
my $r = VpnwsWS->connect(port => $t->port(8443), tls => 1, mac => $R);
is($r->status, 101, 'a reading wss:// peer');

my $frame = VpnwsWS->build_frame(2, eth_frame('ff:ff:ff:ff:ff:ff', $F,
                                              0x88b5, 'f' x 1400));
my $got_r = 0;

for my $i (1 .. 3000) {
    $f->send_raw($frame);
    if ($i % 50 == 0) {
        my $g = VpnwsWS->collect([$r], timeout => 0);
        $got_r += @{$g->[0]};
    }
}

my $g = VpnwsWS->collect([$r], timeout => 2, want => 3000 - $got_r);
$got_r += @{$g->[0]};
ok($got_r > 2500, "the reading wss:// peer got $got_r of 3000");

my @bad = $t->error_log_lines(qr/bad write retry|SSL_write\(\) failed/);
ok(!@bad, 'no failed SSL_write()') or diag(join "\n", @bad[0 .. 2]);

my $st = $t->status() || {};
my ($sp) = grep { lc($_->{MAC} // '') eq $S } @{$st->{peers} || []};
ok($sp, 'the slow peer is still a peer');
ok(($sp || {})->{drops} > 0, 'whose drops are counted');

# it reads now: whole frames, then a marker
$f->send_eth($S, $F, 0x0800, 'marker');
my ($frames, $marker) = (0, 0);
my $deadline = time() + 15;
while (time() < $deadline) {
    my $e = $s->recv_eth(1) // last;
    my (undef, undef, undef, $payload) = eth_parse($e);
    if ($payload eq 'marker') {
        $marker = 1;
        last;
    }
    $frames++ if $payload eq 'f' x 1400;
}
ok($frames > 0, "the slow peer reads $frames intact frames");
ok($marker, 'and then the marker');

$_->close() for $f, $s, $r;

$t->done();
