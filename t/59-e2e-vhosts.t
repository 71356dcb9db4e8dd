#!/usr/bin/perl

# vpnws end to end: name-based virtual hosts on one port, each with its own
# certificate chosen by SNI (the client verifies it against the name), one
# joining switch "red" by name, the other choosing the switch from the
# client certificate's subject (map $ssl_client_s_dn); an OU that names no
# switch is refused with 403.  Peers on one switch reach each other, never
# the other switch's.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();
my $d = $e->dir;

$e->ns($_) for qw(s a b c);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->uplink('c', 3);
$e->make_pki(san => 'DNS:localhost');

# the names, through the namespaces' own hosts file (ip netns exec mounts
# /etc/netns/NAME/hosts); removed at the end
my @etc;
for my $n (qw(a b c)) {
    my $k = { a => 1, b => 2, c => 3 }->{$n};
    my $dir = '/etc/netns/' . $e->nsname($n);
    mkdir '/etc/netns';
    mkdir $dir or die "mkdir $dir: $!";
    push @etc, $dir;
    open my $fh, '>', "$dir/hosts" or die;
    print $fh "127.0.0.1 localhost\n10.213.$k.1 vpn.red.test vpn.blue.test\n";
    close $fh;
}
END { for (@etc) { unlink "$_/hosts"; rmdir $_; } rmdir '/etc/netns'; }

# a server certificate per name, client certificates with an OU each
my $q = "2>>$d/openssl.log";
my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
my %certs = (
    red => ['/CN=vpn.red.test', "subjectAltName=DNS:vpn.red.test\n"],
    blue => ['/CN=vpn.blue.test', "subjectAltName=DNS:vpn.blue.test\n"],
    ann => ['/O=vpnws/OU=red/CN=ann', "extendedKeyUsage=clientAuth\n"],
    ben => ['/O=vpnws/OU=blue/CN=ben', "extendedKeyUsage=clientAuth\n"],
    gus => ['/O=vpnws/OU=green/CN=gus', "extendedKeyUsage=clientAuth\n"],
);
for my $name (sort keys %certs) {
    $e->write_file("$name.ext", $certs{$name}[1]);
    system("openssl req $ec -keyout $d/$name.key -out $d/$name.csr"
           . " -subj $certs{$name}[0] $q && openssl x509 -req -in"
           . " $d/$name.csr -CA $d/ca.crt -CAkey $d/ca.key -CAcreateserial"
           . " -days 2 -extfile $d/$name.ext -out $d/$name.crt $q") == 0
        or die "openssl: $name\n";
}

my $port = $E2E::PORT;
my $tls = $port + 3;

$e->nginx(workers => 2,
    server => 'location /status-red { vpnws_status red; }'
              . ' location /status-blue { vpnws_status blue; }',
    http => <<"EOF");
    vpnws_switch red size=1m;
    vpnws_switch blue size=1m;

    map \$ssl_client_s_dn \$dn_switch {
        default         none;
        ~OU=red(,|\$)    red;
        ~OU=blue(,|\$)   blue;
    }

    server {
        listen $tls ssl;
        server_name vpn.red.test;
        ssl_certificate $d/red.crt;
        ssl_certificate_key $d/red.key;
        ssl_client_certificate $d/ca.crt;
        ssl_verify_client on;
        location /vpn { vpnws red; vpnws_user \$ssl_client_s_dn; }
    }

    server {
        listen $tls ssl;
        server_name vpn.blue.test;
        ssl_certificate $d/blue.crt;
        ssl_certificate_key $d/blue.key;
        ssl_client_certificate $d/ca.crt;
        ssl_verify_client on;
        location /vpn { vpnws \$dn_switch; vpnws_user \$ssl_client_s_dn; }
    }
EOF

sub tls_client {
    my ($n, $who, $host, $addr, %o) = @_;
    return $e->client($n, addr => $addr, tap => $o{tap},
        args => ['--ca', "$d/ca.crt", '--crt', "$d/$who.crt",
                 '--key', "$d/$who.key"],
        url => "wss://$host:$tls/vpn");
}

sub users {
    my ($sw) = @_;
    my $r = $e->http_get("/status-$sw");
    $r =~ s/^.*?\r\n\r\n//s;
    my $st = eval { JSON::PP::decode_json($r) } || {};
    return join ',', sort map { ($_->{REMOTE_USER} =~ /CN=(\w+)/)[0] // '?' }
                          @{$st->{peers} || []};
}

# ann on red's name; ben on blue's name, switched by his OU; ann's
# certificate on blue's name, switched by her OU to red
my $a = tls_client('a', 'ann', 'vpn.red.test', '10.218.0.1/24');
my $b = tls_client('b', 'ben', 'vpn.blue.test', '10.218.0.2/24');
my $c = tls_client('c', 'ann', 'vpn.blue.test', '10.218.0.3/24');

ok($e->wait_log($_, qr/connected to wss:/), "client $_ connected over TLS")
    for $a, $b, $c;
ok($e->wait_ping('a', '10.218.0.3', 20),
   'red\'s vhost and OU=red on blue\'s vhost: one switch');
ok(!$e->wait_ping('a', '10.218.0.2', 3), 'blue\'s peer is not reached');
is(users('red'), 'ann,ann', 'status: red holds both of ann\'s peers');
is(users('blue'), 'ben', 'status: blue holds ben');

my $g = tls_client('c', 'gus', 'vpn.blue.test', '10.218.0.9/24',
                   tap => 'vpn9');
ok($e->wait_log($g, qr/403/), 'an OU that names no switch: 403');
like($e->read_file('error.log'), qr/"none" from "vpnws" is no vpnws_switch/,
     'and the log says which name');

is($e->stop_client($_), 0, 'client stopped on SIGTERM') for $a, $b, $c;
$e->stop_client($g);

$e->check_logs();

done_testing();
