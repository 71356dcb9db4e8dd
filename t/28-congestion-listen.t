#!/usr/bin/perl

# vpnws: vpnws_congestion on the listening sockets (README, "Directives"):
# the master gives a server's algorithm to the sockets it listens on, so an
# accepted connection starts with it (one switched from bbr after the
# accept keeps bbr's pacing); every socket of a reuseport address gets it;
# a location without the directive on such a socket still gets the
# system's default; an address whose servers ask for two algorithms keeps
# the default, with a warning naming both; a reload that drops the
# directive puts the socket nginx keeps back to the system's default.
#
# ss(8) shows no difference between a cubic connection switched from bbr
# and one cubic from the start on this kernel (both list pacing_rate; the
# kernel's sk_pacing_status is not exported), so the listeners' and the
# connections' algorithms are what is checked.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Congestion;
use VpnwsTest;

my $DEF = Congestion::default();
my $LIMITED = Congestion::restricted();
my ($ALG) = $LIMITED // grep { $_ ne $DEF && $_ ne 'reno' }
    Congestion::available();
$ALG //= 'reno' if $DEF ne 'reno';
plan(skip_all => "only $DEF is available: nothing to tell apart")
    unless $ALG;
my ($ALT) = grep { $_ ne $ALG } 'reno', Congestion::available();

my $t = VpnwsTest->new()->has_module();

# 8080 (reuseport, 2 workers): $ALG at server level; 8081: two locations,
# two algorithms; 8082: $ALG in /vpn, none in /plain
sub conf {
    my ($cc) = @_;
    my ($srv, $alt) = $cc
        ? ("vpnws_congestion $ALG;", "vpnws_congestion $ALT;")
        : ('', '');
    return $t->switch_conf(workers => 2, reuseport => 1, server => $srv,
                           http => <<"EOF");
    server {
        listen 127.0.0.1:%%PORT_8081%%;
        location /vpn { vpnws sw; vpnws_bridge on; $srv }
        location /alt { vpnws sw; vpnws_bridge on; $alt }
    }
    server {
        listen 127.0.0.1:%%PORT_8082%%;
        location /vpn { vpnws sw; vpnws_bridge on; $srv }
        location /plain { vpnws sw; vpnws_bridge on; }
    }
EOF
}

$t->write_file_expand('nginx.conf', conf(1));
$t->run();

# the algorithms of the listening sockets of a port, in one string
sub listeners {
    my ($name) = @_;
    my $port = $t->port($name);
    return join ' ', Congestion::of(scalar `ss -tlniH '( sport = :$port )'`);
}

# nginx's end of the connection from this peer
sub nginx_end {
    my ($ws, $name) = @_;
    my ($port, $peer) = ($t->port($name), $ws->fh->sockport);
    return join ' ', Congestion::of(scalar `ss -tniH state established \\
        '( sport = :$port and dport = :$peer )'`);
}

is(listeners(8080), "$ALG $ALG", "server-level $ALG: both reuseport "
   . 'listening sockets have it');
my $a = $t->peer_ok(mac => '02:00:00:00:28:21');
is(nginx_end($a, 8080), $ALG, "an accepted connection has $ALG");
is(($t->status_peer('02:00:00:00:28:21') // {})->{congestion}, $ALG,
   "status: \"congestion\":\"$ALG\"");
SKIP: {
    skip('no algorithm is kept from unprivileged users', 1) unless $LIMITED;
    is(scalar(() = $t->error_log_lines(qr/not permitted/)), 0,
       "$LIMITED, not allowed to the workers: in place from the listener, "
       . 'no error');
}

is(listeners(8081), $DEF, "$ALG and $ALT on one address: the listener "
   . "keeps $DEF");
my $p81 = $t->port(8081);
my $names = join '|', map { quotemeta } "\"$ALG\" and \"$ALT\"",
    "\"$ALT\" and \"$ALG\"";
my $warn = qr/\[warn\] .*vpnws_congestion: the servers of 127\.0\.0\.1:$p81 /
    . qr/ask for (?:$names): its listening socket keeps the system's default/;
is(scalar(() = $t->error_log_lines($warn)), 1, 'warned once, both names '
   . 'and the address');
my $c = $t->peer_ok(mac => '02:00:00:00:28:22', port_name => 8081,
                    path => '/alt');
is(nginx_end($c, 8081), $ALT, "the connection still gets its location's, "
   . $ALT);

is(listeners(8082), $ALG, "$ALG in one location: the listener has it");
my $d = $t->peer_ok(mac => '02:00:00:00:28:23', port_name => 8082,
                    path => '/plain');
is(nginx_end($d, 8082), $DEF, "a location without it: $DEF, the default");
my $e = $t->peer_ok(mac => '02:00:00:00:28:24', port_name => 8082);
is(nginx_end($e, 8082), $ALG, "the location with it: $ALG");

$t->write_file_expand('nginx.conf', conf(0));
my @old = $t->reload(workers => 2);

# an old worker still accepting would set its location's algorithm
for (1 .. 200) {
    last unless grep { kill(0, $_) } @old;
    select(undef, undef, undef, 0.05);
}
ok(!(grep { kill(0, $_) } @old), 'the old workers have exited');

is(listeners(8080), "$DEF $DEF", "reload without vpnws_congestion: the "
   . "kept sockets are back to $DEF");
is(listeners(8082), $DEF, 'on the other address too');
my $f = $t->peer_ok(mac => '02:00:00:00:28:25');
is(nginx_end($f, 8080), $DEF, "a new connection: $DEF");

$t->done();
