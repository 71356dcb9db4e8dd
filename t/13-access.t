#!/usr/bin/perl

# vpnws: nginx's access modules run before the upgrade (auth_basic, deny),
# wss:// with and without a client certificate, and the status shows
# REMOTE_USER and DN; ws:// and wss:// peers share one switch.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->new()->has(qw(vpnws ssl auth_basic access limit_conn));

plan(skip_all => 'no openssl') unless `openssl version 2>/dev/null`;

my $p = $t->prefix;

for my $name ('server', 'client') {
    my $cn = $name eq 'server' ? 'localhost' : 'peer-one';
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$cn"
           . " -keyout $p/$name.key -out $p/$name.crt >$p/openssl.log 2>&1")
        == 0 or BAIL_OUT("openssl: " . $t->read_file('openssl.log'));
}

$t->write_file('htpasswd', "alice:{PLAIN}secret\n");

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%

events { }

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch sw;

    limit_conn_zone $binary_remote_addr zone=perip:1m;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /vpn {
            auth_basic "vpn";
            auth_basic_user_file %%PREFIX%%/htpasswd;
            vpnws sw;
        }

        location /denied {
            deny all;
            vpnws sw;
        }

        location /open {
            vpnws sw;
        }

        location /limited {
            limit_conn perip 2;
            vpnws sw;
        }

        location /status {
            vpnws_status sw;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8443%% ssl;

        ssl_certificate %%PREFIX%%/server.crt;
        ssl_certificate_key %%PREFIX%%/server.key;
        ssl_verify_client optional_no_ca;

        location /vpn {
            vpnws sw;
        }
    }
}
EOF

$t->run();

sub basic { ('Authorization' => 'Basic ' . encode_base64($_[0], '')) }
sub payload { (eth_parse($_[0]))[3] }

my $ws = $t->peer(mac => '02:00:00:00:08:01');
is($ws->status, 401, 'auth_basic: no credentials: 401');

$ws = $t->peer(mac => '02:00:00:00:08:01',
               headers => [basic('alice:wrong')]);
is($ws->status, 401, 'auth_basic: a wrong password: 401');

my $alice = $t->peer(mac => '02:00:00:00:08:01',
                     headers => [basic('alice:secret')]);
is($alice->status, 101, 'auth_basic: the right password: 101');

$ws = $t->peer(path => '/denied', mac => '02:00:00:00:08:02');
is($ws->status, 403, 'deny all: 403');

is(scalar $t->error_log_lines(qr/refused websocket upgrade/), 0,
   'those refusals are nginx\'s own, not the module\'s');

# limit_conn counts websockets for their whole life, and frees them
my @lim = map { $t->peer(path => '/limited', mac => "02:00:00:00:08:1$_") }
    1 .. 3;
is(join(' ', map { $_->status } @lim), '101 101 503',
   'limit_conn 2: the third websocket gets 503');
$lim[0]->close(clean => 1);
$lim[1]->close();
my $ok = 0;
for (1 .. 20) {
    my @two = map { $t->peer(path => '/limited', mac => "02:00:00:00:08:2$_") }
        1 .. 2;
    $ok = ($two[0]->ok && $two[1]->ok);
    $_->close(clean => 1) for @two;
    last if $ok;
    select(undef, undef, undef, 0.1);
}
ok($ok, 'limit_conn: closed websockets free their slots (clean and abrupt)');

# wss://, without and with a client certificate
my $anon = VpnwsWS->connect(port => $t->port(8443), tls => 1,
                            mac => '02:00:00:00:08:03');
is($anon->status, 101, 'wss:// without a client certificate: 101');

my $cert = VpnwsWS->connect(port => $t->port(8443), tls => 1,
                            mac => '02:00:00:00:08:04',
                            ssl => { SSL_cert_file => "$p/client.crt",
                                     SSL_key_file => "$p/client.key" });
is($cert->status, 101, 'wss:// with a client certificate: 101');

my $st = $t->status;
my %by = map { lc $_->{MAC} => $_ } @{$st->{peers} || []};

is($by{'02:00:00:00:08:01'}{REMOTE_USER}, 'alice', 'status: REMOTE_USER');
is($by{'02:00:00:00:08:03'}{REMOTE_USER}, '', 'status: no REMOTE_USER');
like($by{'02:00:00:00:08:04'}{DN} // '', qr/CN=peer-one/, 'status: DN');
is($by{'02:00:00:00:08:03'}{DN} // '', '', 'status: no DN without a '
   . 'certificate');

# ws:// and wss:// peers on one switch
$alice->send_eth('02:00:00:00:08:04', '02:00:00:00:08:01', 0x0800, 'to tls');
is(payload($cert->recv_eth(3)), 'to tls', 'ws:// to wss://');

$cert->send_eth('02:00:00:00:08:01', '02:00:00:00:08:04', 0x0800, 'from tls');
is(payload($alice->recv_eth(3)), 'from tls', 'wss:// to ws://');

$anon->send_eth('ff:ff:ff:ff:ff:ff', '02:00:00:00:08:03', 0x0806, 'bcast');
is(payload($alice->recv_eth(3)), 'bcast', 'wss:// broadcast reaches ws://');
is(payload($cert->recv_eth(3)), 'bcast', 'and wss://');

# a big frame over TLS
$anon->send_binary(VpnwsWS::eth_frame('02:00:00:00:08:04', '02:00:00:00:08:03',
                                      0x88b5, 'T' x 60000));
is(length($cert->recv_eth(5) // ''), 60014, 'a 60 kB frame over wss://');

$anon->send_ping('tls ping');
my ($op, $pl) = $anon->recv_frame(3);
is($pl, 'tls ping', 'PING/PONG over wss://');

$_->close(clean => 1) for $alice, $anon, $cert;

$t->done();
