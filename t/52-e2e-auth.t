#!/usr/bin/perl

# End to end with authentication done by nginx: Basic auth from the URL's
# user:password (percent-encoded), from --auth-file and $VPNWS_AUTH (never
# in argv nor in the log), a wrong password retried with backoff, and TLS
# client certificates (ssl_verify_client on).

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

# the URL form: the password is overwritten in argv once parsed
my $cmdline = sub {
    open my $fh, '<', "/proc/$_[0]/cmdline" or return '';
    local $/;
    my $c = <$fh> // '';
    $c =~ tr/\0/ /;
    return $c;
};
unlike($cmdline->($a), qr/p%40ss|w0rd/, 'URL password hidden in cmdline')
    or diag($cmdline->($a));

# --auth-file (the password alone: the URL names the user) and $VPNWS_AUTH
my $af = $e->write_file('alice.auth', "p\@ss:w0rd\n");
chmod 0600, $af;
my $f = $e->client('b', tap => 'vpn7', args => ['--auth-file', $af],
    url => "ws://alice\@10.213.2.1:$port/vpn");
ok($e->wait_log($f, qr/connected to ws:/), '--auth-file accepted');
my $v = $e->client('b', tap => 'vpn6', env => { VPNWS_AUTH => 'alice:p@ss:w0rd' },
    url => "ws://10.213.2.1:$port/vpn");
ok($e->wait_log($v, qr/connected to ws:/), '$VPNWS_AUTH accepted');
# several URLs: the first refuses, the second gets $VPNWS_AUTH's credentials
my $m = $e->client('b', tap => 'vpn5', env => { VPNWS_AUTH => 'alice:p@ss:w0rd' },
    urls => ["ws://10.213.2.1:1/vpn", "ws://10.213.2.1:$port/vpn"]);
ok($e->wait_log($m, qr{connected to ws://10\.213\.2\.1:$port/vpn}, 10),
   'several URLs: the next one, with the credentials of $VPNWS_AUTH');
$st = $e->status;
is(scalar(grep { ($_->{REMOTE_USER} // '') eq 'alice' } @{$st->{peers} || []}),
    4, 'four peers known as alice');
for my $pid ($f, $v, $m) {
    unlike($cmdline->($pid) . $e->client_log($pid), qr/p\@ss|w0rd/,
        "no password in cmdline and log of client $pid");
}
my $environ = do { local $/; open my $fh, '<', "/proc/$v/environ"; <$fh> // '' };
unlike($environ, qr/w0rd/, '$VPNWS_AUTH cleared from /proc/PID/environ');
is($e->stop_client($_), 0, 'stopped on SIGTERM') for $f, $v, $m;

chmod 0640, $af;
$f = $e->client('b', tap => 'vpn7', args => ['--auth-file', $af],
    url => "ws://alice\@10.213.2.1:$port/vpn");
is($e->wait_exit($f, 5), 2, 'a group-readable --auth-file: exit code 2');
like($e->client_log($f), qr/mode 0640 lets other users read it.*chmod 600/,
    'and the message says why');

# a bad URL: the message shows the credentials as ***
$f = $e->client('b', tap => 'vpn7',
    url => "ws://alice:p%40ss%3Aw0rd\@10.213.2.1:0/vpn");
is($e->wait_exit($f, 5), 2, 'a bad port: exit code 2');
like($e->client_log($f), qr{URL "ws://\*\*\*\@10\.213\.2\.1:0/vpn": bad port},
    'the URL is shown with *** for its credentials')
    or diag($e->client_log($f));

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
