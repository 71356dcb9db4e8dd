#!/usr/bin/perl

# vpnws end to end, policy from an identity provider: auth_request to a
# backend in the same nginx (200 with headers, 401, 403) sets the user,
# the switch, the pinned MAC, the bridge grant and the rate through
# auth_request_set.  Real clients
# and taps: an ungranted --bridge fails with 403, a granted one works, a
# rate-limited peer's iperf3 lands within 10 % of its rate while an
# unlimited one is not held; with isolation=on the guards drop a peer's
# DHCP server, its router advertisements and its ARP for the gateway's
# address, counted by reason.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();
my $d = $e->dir;

plan(skip_all => 'no dnsmasq or dhclient')
    unless -x '/usr/sbin/dnsmasq' && -x '/usr/sbin/dhclient';

$e->ns($_) for qw(s a b c);
$e->uplink('a', 1);
$e->uplink('b', 2);
$e->uplink('c', 3);

my $hash = `openssl passwd -apr1 secret`;
chomp $hash;
$e->write_file('htpasswd', join '', map { "$_:$hash\n" }
               qw(alice bob carol mallory banned dave eve));
$e->write_file('ok.txt', '');

my $port = $E2E::PORT;
my $idp = $port + 2;
my $tap = substr('vp' . $e->nsname('t'), 0, 15);

# the identity provider: checks the password, names the grants
$e->nginx(workers => 2, grant => '', vpnws => '$vpn_switch',
    switch => "isolation=on tap=$tap "
              . '"tap_exec=ip addr add 10.217.0.1/24 dev $VPNWS_TAP"',
    http => <<"EOF",
    map \$remote_user \$idp_bridge { default off; bob on; }
    map \$remote_user \$idp_rate { default ""; alice "2m burst=256k"; }
    map \$remote_user \$idp_switch { default office; eve lab; }
    map \$remote_user \$idp_mac { default ""; dave 02:00:00:00:58:0d; }
    vpnws_switch lab size=1m;
    server {
        listen 127.0.0.1:$idp;
        location /check {
            if (\$remote_user = banned) { return 403; }
            auth_basic idp;
            auth_basic_user_file $d/htpasswd;
            add_header X-Vpn-User \$remote_user always;
            add_header X-Vpn-Bridge \$idp_bridge always;
            add_header X-Vpn-Rate \$idp_rate always;
            add_header X-Vpn-Switch \$idp_switch always;
            add_header X-Vpn-Mac \$idp_mac always;
            alias $d/ok.txt;
        }
    }
EOF
    server => <<"EOF",
        location /status-lab { vpnws_status lab; }
        location = /auth {
            internal;
            proxy_pass http://127.0.0.1:$idp/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }
EOF
    loc => 'auth_request /auth;'
           . ' auth_request_set $vpn_user $upstream_http_x_vpn_user;'
           . ' auth_request_set $vpn_bridge $upstream_http_x_vpn_bridge;'
           . ' auth_request_set $vpn_rate $upstream_http_x_vpn_rate;'
           . ' auth_request_set $vpn_switch $upstream_http_x_vpn_switch;'
           . ' auth_request_set $vpn_mac $upstream_http_x_vpn_mac;'
           . ' vpnws_user $vpn_user; vpnws_bridge $vpn_bridge;'
           . ' vpnws_rate $vpn_rate; vpnws_mac $vpn_mac;');

sub url { my ($user, $k) = @_; "ws://$user:secret\@10.213.$k.1:$port/vpn" }

sub peer_of {
    my ($user) = @_;
    my ($p) = grep { ($_->{REMOTE_USER} // '') eq $user }
              @{$e->status->{peers} || []};
    return $p;
}

my $alice = $e->client('a', url => url('alice', 1), addr => '10.217.0.2/24');
my $carol = $e->client('c', url => url('carol', 3), addr => '10.217.0.3/24');
my $bob = $e->client('b', url => url('bob', 2), args => ['--bridge'],
                     addr => '10.217.0.4/24');

ok($e->wait_ping('a', '10.217.0.1', 20), 'alice reaches the gateway');
ok($e->wait_ping('c', '10.217.0.1', 20), 'carol reaches the gateway');
ok($e->wait_ping('b', '10.217.0.1', 20), 'bob, a granted bridge, too');

my $pa = peer_of('alice') || {};
is($pa->{rate}, '2097152 burst=262144', 'the IdP\'s rate for alice');
is(peer_of('bob') && peer_of('bob')->{bridge}, 1, 'bob is a bridge');
is(peer_of('carol') && peer_of('carol')->{rate}, 'off', 'carol unlimited');

# the IdP says no, the grant is not there
my $m = $e->client('c', tap => 'vpn8', url => url('mallory', 3),
                   args => ['--bridge']);
ok($e->wait_log($m, qr/403/), 'mallory\'s --bridge: 403, clearly');
my $nb = $e->client('c', tap => 'vpn7', url => url('banned', 3));
ok($e->wait_log($nb, qr/403/), 'the IdP answers 403: 403');
my $wp = $e->client('c', tap => 'vpn6',
                    url => "ws://alice:wrong\@10.213.3.1:$port/vpn");
ok($e->wait_log($wp, qr/401/), 'a wrong password at the IdP: 401');

# the IdP's switch: eve joins lab, not office
my $eve = $e->client('c', tap => 'vpn5', url => url('eve', 3),
                     addr => '10.219.0.5/24');
ok($e->wait_log($eve, qr/connected to ws:/), 'eve connected');
my $lab = $e->http_get('/status-lab');
like($lab, qr/"REMOTE_USER":"eve"/, 'the IdP\'s switch: eve is on lab');
ok(!peer_of('eve'), 'and not on office');

# the IdP pins dave's MAC; his client announces its tap's: 403, clearly
my $dv = $e->client('c', tap => 'vpn4', url => url('dave', 3));
ok($e->wait_log($dv, qr/403/), 'a MAC pinned by the IdP, another tap MAC:'
   . ' 403');
like($e->read_file('error.log'),
     qr/X-vpn-ws-MAC differs from the MAC given to this peer/,
     'and the log says why');
$e->stop_client($_) for $m, $nb, $wp, $eve, $dv;
like($e->read_file('error.log'),
     qr/refused websocket upgrade: bridge mode is not granted/,
     'the refusal is in the error log');

# the rate: 2 MiB/s of websocket bytes is 16.8 Mbit/s; TCP in the tunnel
# carries ~95 % of it as payload
my $rate = 2 * 1048576 * 8 / 1e6;
my ($mbit, $out) = $e->iperf('a', 's', '10.217.0.1', 5);
ok(defined $mbit, 'iperf3 through the limited peer') or diag($out);
$mbit //= 0;
diag(sprintf 'rate-limited peer: %.1f Mbit/s for a %.1f Mbit/s limit',
     $mbit, $rate);
ok($mbit >= 0.9 * $rate && $mbit <= 1.1 * $rate,
   'within 10 % of the configured rate');
my ($free) = $e->iperf('c', 's', '10.217.0.1', 2);
$free //= 0;
diag(sprintf 'unlimited peer: %.1f Mbit/s', $free);
ok($free > 3 * $rate, 'an unlimited peer is not held to it');

# guards: alice runs a DHCP server and sends router advertisements
$e->sh('a', 'ip addr add fd17::2/64 dev vpn0 nodad');
my $a_ns = $e->nsname('a');
my $dnsmasq = fork() // die "fork: $!";
if ($dnsmasq == 0) {
    open STDOUT, '>', "$d/rogue.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec('ip', 'netns', 'exec', $a_ns, '/usr/sbin/dnsmasq',
         '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=0',
         '--interface=vpn0', '--bind-interfaces',
         '--dhcp-range=10.217.0.50,10.217.0.99,1h',
         '--dhcp-range=::,constructor:vpn0,ra-only', '--enable-ra',
         "--dhcp-leasefile=$d/rogue.leases", "--pid-file=$d/rogue.pid",
         '--log-dhcp', '--log-facility=-') or die "exec: $!";
}
END { kill 'TERM', $dnsmasq if $dnsmasq; }

my $before = $e->status->{drops};
# bob, the bridge, asks for a lease: alice's offers must not reach it
$e->sh('b', "timeout 6 /usr/sbin/dhclient -d -1 -sf /bin/true"
            . " -lf $d/b.leases -pf $d/b.pid vpn0 >$d/dhclient.log 2>&1", 1);

# alice claims the gateway's address (ARP and IPv4 from it)
$e->sh('a', 'ip addr add 10.217.0.1/32 dev vpn0 nodad'
            . ' && ping -n -c2 -W1 -I 10.217.0.1 10.217.0.4', 1);

my $after = $e->status->{drops};
my %got = map { $_ => ($after->{$_} // 0) - ($before->{$_} // 0) }
          qw(dhcp_server router_adv arp_spoof ip_spoof);
diag(join ' ', map { "$_=$got{$_}" } sort keys %got);
like($e->read_file('rogue.log'), qr/DHCPOFFER/, 'the rogue server offered');
ok($got{dhcp_server} > 0, 'its offers were dropped as dhcp_server');
unlike($e->read_file('dhclient.log') // '', qr/DHCPOFFER|bound to/,
       'bob got no offer');
ok($got{router_adv} > 0, 'its router advertisements: router_adv');
ok($got{arp_spoof} + $got{ip_spoof} > 0,
   'its ARP and IPv4 from the gateway\'s address: arp_spoof/ip_spoof');
my ($neigh) = $e->sh('b', 'ip neigh show 10.217.0.1', 1);
my ($amac) = $e->sh('a', 'cat /sys/class/net/vpn0/address');
chomp $amac;
unlike($neigh // '', qr/\Q$amac\E/i, 'bob never learned alice for it');

kill 'TERM', $dnsmasq;
waitpid($dnsmasq, 0);
$dnsmasq = 0;
is($e->stop_client($_), 0, 'client stopped on SIGTERM')
    for $alice, $bob, $carol;

$e->check_logs();

done_testing();
