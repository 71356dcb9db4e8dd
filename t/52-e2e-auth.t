#!/usr/bin/perl

# End to end with authentication done by nginx: Basic auth from the URL's
# user:password (percent-encoded), a wrong password retried with backoff,
# and TLS client certificates (ssl_verify_client on).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;

my $e = E2E->new();
my $d = $e->dir;

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->make_pki(san => 'IP:10.213.1.1,IP:10.213.2.1');

# alice's password has characters that must be percent-encoded in a URL
my $hash = `openssl passwd -apr1 'p\@ss:w0rd'`;
chomp $hash;
$e->write_file('htpasswd', "alice:$hash\n");

my $port = $E2E::PORT;
my $tls = $port + 1;

$e->nginx(workers => 1,
    loc => "auth_basic vpn; auth_basic_user_file $d/htpasswd;",
    server => 'location /closed { deny all; vpnws office; }',
    http => <<"EOF");
    server {
        listen $tls ssl;
        ssl_certificate $d/srv.crt;
        ssl_certificate_key $d/srv.key;
        ssl_client_certificate $d/ca.crt;
        ssl_verify_client on;
        location /vpn { vpnws office; }
    }
EOF

# Basic auth
my $a = $e->client('a', addr => '10.214.0.1/24',
    url => "ws://alice:p%40ss%3Aw0rd\@10.213.1.1:$port/vpn");
ok($e->wait_log($a, qr/connected to ws:/), 'Basic auth accepted');
unlike($e->client_log($a), qr/p\@ss|p%40ss/, 'the password is not logged');

my $st = $e->status;
is((grep { ($_->{REMOTE_USER} // '') eq 'alice' } @{$st->{peers} || []})
    ? 1 : 0, 1, 'the server knows the peer as alice') or diag(explain $st);

# a wrong password: one clear line, then retries with backoff, alive
my $w = $e->client('b', tap => 'vpn9', args => ['-v'],
    url => "ws://alice:wrong\@10.213.2.1:$port/vpn");
ok($e->wait_log($w, qr/"HTTP\/1\.1 401 Unauthorized"; retrying/),
    '401 reported with the status line');
sleep 4;
ok(!defined $e->wait_exit($w, 0.1), 'still retrying after a 401');
my $log = $e->client_log($w);
my @tries = $log =~ /next attempt in ([\d.]+) s/g;
ok(@tries >= 2 && @tries <= 4, scalar(@tries) . ' attempts in 4 s: backoff')
    or diag($log);
ok(@tries >= 2 && $tries[-1] >= 1, "delays grow: @tries");
is($e->stop_client($w), 0, 'stopped on SIGTERM');

# 403 (access rules): retried, the status line said once
$w = $e->client('b', tap => 'vpn9', url => "ws://10.213.2.1:$port/closed");
ok($e->wait_log($w, qr/"HTTP\/1\.1 403 Forbidden"; retrying/),
    '403 reported with the status line and retried');
sleep 2;
my @lines = $e->client_log($w) =~ /403/g;
is(scalar @lines, 1, '403 logged once');
is($e->stop_client($w), 0, 'stopped on SIGTERM');

# a client certificate: B connects with it, the server sees its DN
my $b = $e->client('b', addr => '10.214.0.2/24',
    args => ['--ca', "$d/ca.crt", '--crt', "$d/client-a.crt",
             '--key', "$d/client-a.key"],
    url => "wss://10.213.2.1:$tls/vpn");
ok($e->wait_log($b, qr/connected to wss:/), 'client certificate accepted');
ok($e->wait_ping('a', '10.214.0.2', 10),
    'Basic-auth peer pings the certificate peer');

$st = $e->status;
ok((grep { ($_->{DN} // '') =~ /client-a/ } @{$st->{peers} || []}),
    'the server shows the client DN') or diag(explain $st);

# no certificate: nginx answers 400, fatal on the first connection
my $n = $e->client('b', tap => 'vpn9', args => ['--ca', "$d/ca.crt"],
    url => "wss://10.213.2.1:$tls/vpn");
is($e->wait_exit($n, 10), 7, 'no client certificate: exit code 7');
like($e->client_log($n), qr/"HTTP\/1\.1 400 Bad Request" \(400 No required SSL certificate/,
    'and the status line says why');

# --key without --crt, a key that does not match: exit code 4
$n = $e->client('b', tap => 'vpn9', args => ['--key', "$d/client-a.key"],
    url => "wss://10.213.2.1:$tls/vpn");
is($e->wait_exit($n, 5), 4, '--key without --crt: exit code 4');
$n = $e->client('b', tap => 'vpn9',
    args => ['--crt', "$d/client-a.crt", '--key', "$d/srv.key"],
    url => "wss://10.213.2.1:$tls/vpn");
is($e->wait_exit($n, 5), 4, 'mismatched --key: exit code 4');

$e->check_logs;

done_testing();
