#!/usr/bin/perl

# vpnws end to end: the same bridge setup as t/80-e2e-tap-bridge.t, against
# the uwsgi daemon behind nginx (uwsgi_pass): vpn-ws --tuntap --bridge puts
# its tap into a Linux bridge with a veth to a "LAN" namespace; two clients
# reach the LAN host and each other.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();

my $daemon_bin = "$E2E::BUILD/vpn-ws";
plan(skip_all => "no $daemon_bin (run make)") unless -x $daemon_bin;

$e->ns('s');
$e->ns('a');
$e->ns('b');
$e->ns('l');
$e->uplink('a', 1);
$e->uplink('b', 2);

my $d = $e->dir;
my $tap = substr('vu' . $e->nsname('t'), 0, 15);
my ($s, $l) = ($e->nsname('s'), $e->nsname('l'));

$e->sh('s', 'ip link add br0 type bridge && ip link set br0 up');
system("ip link add lan0 netns $s type veth peer name eth0 netns $l") == 0
    or die "veth to the LAN namespace\n";
$e->sh('s', 'ip link set lan0 master br0 && ip link set lan0 up');
$e->sh('l', 'ip addr add 10.218.0.100/24 dev eth0 && ip link set eth0 up');

# the daemon in the server namespace, its socket in our directory
my $daemon = fork() // die "fork: $!";
if ($daemon == 0) {
    open STDOUT, '>', "$d/daemon.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    # the socket is 0660: nginx's workers (nobody) are in its group
    exec('ip', 'netns', 'exec', $s, $daemon_bin, '--tuntap', $tap, '--bridge',
         '--exec', 'ip link set $VPNWS_TAP master br0',
         '--socket-group', scalar((getpwnam('nobody'))[3]), "$d/vpn.sock")
        or die "exec: $!";
}

END { if ($daemon) { kill 'TERM', $daemon; waitpid($daemon, 0); } }

for (1 .. 50) {
    last if -S "$d/vpn.sock";
    select undef, undef, undef, 0.1;
}
ok(-S "$d/vpn.sock", 'the daemon listens') or diag($e->read_file('daemon.log'));

$e->nginx(server => "location /dvpn { include /etc/nginx/uwsgi_params;"
                    . " uwsgi_pass unix:$d/vpn.sock;"
                    . " uwsgi_read_timeout 1h; }"
                    . " location = /dstatus { include /etc/nginx/uwsgi_params;"
                    . " uwsgi_modifier1 1; uwsgi_pass unix:$d/vpn.sock; }");

my $dev = `ip netns exec $s ip -d link show $tap 2>&1`;
like($dev, qr/master br0/, '--exec put the tap into the bridge');

$e->client('a', url => "ws://10.213.1.1:$E2E::PORT/dvpn",
           addr => '10.218.0.1/24');
$e->client('b', url => "ws://10.213.2.1:$E2E::PORT/dvpn",
           addr => '10.218.0.2/24');

ok($e->wait_ping('a', '10.218.0.100', 20), 'client A reaches the LAN host');
ok($e->wait_ping('b', '10.218.0.100', 20), 'client B reaches the LAN host');
ok($e->wait_ping('a', '10.218.0.2', 10), 'client A reaches client B');
ok($e->wait_ping('l', '10.218.0.1', 10), 'the LAN host reaches client A');

# the status tells the local peers from the MACs behind the tap
my $st = eval { JSON::PP::decode_json(($e->http_get('/dstatus')
                                       =~ /\r\n\r\n(.*)$/s)[0]) } || {};
is($st->{local_peers}, 2, 'status: two local peers (the tap not counted)');
ok(($st->{remote_macs} // 0) >= 1,
   'status: the LAN host is behind the tap (remote_macs)')
    or diag(explain($st));

unlike($e->read_file('daemon.log'), qr/ERROR|AddressSanitizer/,
       'no errors in the daemon log');

$e->check_logs();

done_testing();
