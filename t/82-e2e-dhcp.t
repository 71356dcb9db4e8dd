#!/usr/bin/perl

# vpnws end to end: DHCP over the VPN.  dnsmasq serves leases on the
# switch's own tap; two clients get addresses with dhclient (a script of
# ours applies the lease, nothing touches the host's files) and ping each
# other.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use E2E;

my $e = E2E->new();

plan(skip_all => 'no dnsmasq or dhclient')
    unless -x '/usr/sbin/dnsmasq' && -x '/usr/sbin/dhclient';

$e->ns('s');
$e->ns('a');
$e->ns('b');
$e->uplink('a', 1);
$e->uplink('b', 2);

my $d = $e->dir;
my $tap = substr('vd' . $e->nsname('t'), 0, 15);

$e->nginx(switch => "tap=$tap "
                    . '"tap_exec=ip addr add 10.217.0.1/24 dev $VPNWS_TAP"');

# dnsmasq as a DHCP server only (port=0: no DNS), files in our directory
my $s = $e->nsname('s');
my $dnsmasq = fork() // die "fork: $!";
if ($dnsmasq == 0) {
    open STDOUT, '>', "$d/dnsmasq.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec('ip', 'netns', 'exec', $s, '/usr/sbin/dnsmasq', '--keep-in-foreground',
         '--no-resolv', '--no-hosts', '--port=0', "--interface=$tap",
         '--bind-interfaces', '--dhcp-range=10.217.0.50,10.217.0.99,1h',
         "--dhcp-leasefile=$d/dnsmasq.leases", "--pid-file=$d/dnsmasq.pid",
         '--log-dhcp', '--log-facility=-') or die "exec: $!";
}

END { kill 'TERM', $dnsmasq if $dnsmasq; }

# applies a lease to the interface; dhclient-script would rewrite the
# host's resolv.conf, which namespaces share
# (dhclient runs it with a scrubbed environment: the paths are baked in)
$e->write_file('lease.sh', <<"EOF");
#!/bin/sh
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
    ip addr add "\$new_ip_address/24" dev "\$interface"
    echo "\$new_ip_address" > "$d/lease-\$(ip netns identify \$\$)"
    ;;
esac
exit 0
EOF
chmod 0755, "$d/lease.sh";

my %ip;
for my $n (['a', 1], ['b', 2]) {
    my ($ns, $k) = @$n;
    $e->client($ns, url => "ws://10.213.$k.1:$E2E::PORT/vpn");
}

for my $ns ('a', 'b') {
    my $ok = 0;
    for (1 .. 100) {
        my (undef, $rc) = $e->sh($ns, 'ip link show vpn0', 1);
        $ok = 1, last if $rc == 0;
        select undef, undef, undef, 0.1;
    }
    ok($ok, "client $ns: tap is up");

    my ($out, $rc) = $e->sh($ns, "timeout 30"
        . " dhclient -1 -v -sf $d/lease.sh -lf $d/dhclient-$ns.leases"
        . " -pf $d/dhclient-$ns.pid vpn0 2>&1; cat $d/dhclient-$ns.pid"
        . ' | xargs -r kill 2>/dev/null', 1);
    ($ip{$ns}) = $e->read_file('lease-' . $e->nsname($ns))
        =~ /^(10\.217\.0\.\d+)/;
    ok($ip{$ns}, "client $ns got a lease over the VPN")
        or diag($out . $e->read_file('dnsmasq.log'));
}

SKIP: {
    skip 'no leases', 2 unless $ip{a} && $ip{b};
    isnt($ip{a}, $ip{b}, 'two different addresses');
    ok($e->wait_ping('a', $ip{b}, 10), 'the clients ping each other');
}

like($e->read_file('dnsmasq.log'), qr/DHCPACK/, 'dnsmasq acknowledged');

$e->check_logs();

done_testing();
