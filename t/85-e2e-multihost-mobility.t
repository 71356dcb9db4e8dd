#!/usr/bin/perl

# vpnws end to end: MAC mobility between the hosts of one segment (static
# VXLAN, README "Several hosts").  Alice's MAC is pinned to her by the
# servers' policy (vpnws_mac from a map of $remote_user); her client knows
# two hosts.  She moves by choice (old host forgets her at once, the new one
# lets her take her MAC over from its tap) and because her host's nginx
# stops (her client moves on to the next URL, pings through her resume
# within 5 s).  Mallory, without a grant, can take her MAC on no host.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use Multihost;

my $m = Multihost->new(timeout => 90);

my %k = (ha => 1, hb => 2, hc => 3);
my @hosts = sort keys %k;

for my $h (@hosts) {
    $m->host($h, $k{$h}, peers => [grep { $_ != $k{$h} } values %k]);
}

my $d = $m->dir;
my $htpasswd = '';
for my $u (qw(alice carol mallory)) {
    chomp(my $hash = `openssl passwd -apr1 pw-$u`);
    $htpasswd .= "$u:$hash\n";
}
$m->write_file('htpasswd', $htpasswd);

my ($alice_mac, $carol_mac) = ($m->mac(1), $m->mac(3));

for my $h (@hosts) {
    $m->nginx_on($h,
        http => "map \$remote_user \$vpn_mac { alice $alice_mac;"
                . " carol $carol_mac; default \"\"; }",
        loc => "auth_basic seg; auth_basic_user_file $d/htpasswd;"
               . ' vpnws_mac $vpn_mac;');
}

sub url_of {
    my ($h, $user) = @_;
    my $u = $m->url($h);
    $u =~ s{^ws://}{ws://$user:pw-$user\@};
    return $u;
}

# the clients make no traffic of their own (no IPv6): only the switch's
# announce tells the bridges where a station is
for my $c (qw(ca cc cm)) {
    $m->ns($c);
    $m->underlay_link($c, 100 + ord(substr($c, 1)) - 96);
    $m->sh($c, 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1'
           . ' net.ipv6.conf.default.disable_ipv6=1');
    $m->{client_ns}{$c} = 1;
}

my $alice = $m->client('ca', tap => 'vpn0', addr => '10.214.0.1/24',
    args => ['--mac', $alice_mac, '--mtu', $Multihost::MTU],
    urls => [url_of('ha', 'alice'), url_of('hb', 'alice')]);
my $carol = $m->client('cc', tap => 'vpn0', addr => '10.214.0.3/24',
    args => ['--mac', $carol_mac, '--mtu', $Multihost::MTU],
    urls => [url_of('hc', 'carol')]);

ok($m->wait_log($alice, qr{connected to ws://10\.215\.0\.1:}, 10),
   'alice on host A (her first URL)');
ok($m->wait_log($carol, qr/connected to/, 10), 'carol on host C');
ok($m->wait_ping('cc', '10.214.0.1', 15), 'carol reaches alice across hosts');

sub fdb_dst {
    my ($h, $mac) = @_;
    my $out = $m->sh($h, "bridge fdb show dev vxlan0 | grep -i '^$mac dst'", 1);
    return $out =~ /dst (\S+)/ ? $1 : '';
}

sub mallory {
    my ($h) = @_;
    my $pid = $m->client('cm', tap => 'vpn0',
        args => ['--mac', $alice_mac, '--mtu', $Multihost::MTU],
        urls => [url_of($h, 'mallory')]);
    my $rc = $m->wait_exit($pid, 10);
    my $log = $m->client_log($pid);
    $m->stop_client($pid) unless defined $rc;
    return ($rc, $log);
}

my ($rc, $log) = mallory('hc');
is($rc, 7, 'mallory cannot take alice\'s MAC on host C (from behind its tap)');
like($log, qr/409/, '... 409 Conflict') or diag($log);

# alice moves by choice: host A forgets her at once, host B takes her in
$m->stop_client($alice);
my ($st, $gone);
for (1 .. 10) {
    $st = $m->host_status('ha');
    last if ($gone = !grep({ lc($_->{MAC} // '') eq $alice_mac }
                           @{$st->{peers}}));
    sleep 0.1;
}
ok($gone, 'host A forgot alice at once (her peer closed)');

$alice = $m->client('ca', tap => 'vpn0', addr => '10.214.0.1/24',
    args => ['--mac', $alice_mac, '--mtu', $Multihost::MTU],
    urls => [url_of('hb', 'alice'), url_of('ha', 'alice')]);
ok($m->wait_log($alice, qr{connected to ws://10\.215\.0\.2:}, 10),
   'alice takes her MAC over from the tap of host B (pinned to her)');

my $t0 = time;
my $moved = 0;
while (time - $t0 < 3) {
    last if ($moved = fdb_dst('hc', $alice_mac) eq '10.215.0.2');
    sleep 0.1;
}
ok($moved, 'the announce moved her in host C\'s VXLAN table at once');

$t0 = time;
ok($m->wait_ping('cc', '10.214.0.1', 5), 'carol reaches alice on host B');
diag(sprintf('moved by choice: ping through after %.1f s', time - $t0));

$st = $m->host_status('ha');
my ($tap) = grep { ($_->{REMOTE_ADDR} // '') =~ /^tap:/ } @{$st->{peers}};
ok(grep({ lc($_) eq $alice_mac } @{$tap->{macs} || []}),
   'host A has her behind its tap now');

($rc, $log) = mallory('hb');
is($rc, 7, 'mallory cannot take alice\'s MAC on host B (a live peer\'s)');

# host B's nginx stops: alice moves on to her next URL, host A
$t0 = time;
$m->stop_nginx('hb');
ok($m->wait_log($alice, qr{(?s)connection lost.*connected to ws://10\.215\.0\.1:},
                5 - (time - $t0)),
   'host B stopped: alice reconnected to her next URL (host A)');
ok($m->wait_ping('cc', '10.214.0.1', 5 - (time - $t0)),
   'carol reaches alice again within 5 s of the stop');
diag(sprintf('host stopped: ping through after %.1f s', time - $t0));

($rc, $log) = mallory('hc');
is($rc, 7, 'mallory still cannot take alice\'s MAC on host C');

$m->check_logs();

done_testing();
