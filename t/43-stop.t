#!/usr/bin/perl

# vpnws: graceful stop (SIGQUIT): every peer gets Close 1001 and nginx
# exits even if peers never answer; fast stop (SIGTERM) closes everything;
# neither leaves an alert.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

sub mac { sprintf('02:00:00:00:05:%02x', $_[0]) }

my $N = 8;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);
my @p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;

$p[0]->send_eth(mac(1), mac(0), 0x0800, 'before');
is((eth_parse($p[1]->recv_eth(3)))[3], 'before', 'traffic before the stop');

my $start = time();
$t->signal('QUIT');

my @codes = map { $_->recv_close(5) // 'none' } @p;
is("@codes", join(' ', (1001) x $N), 'QUIT: every peer gets Close 1001');
ok(time() - $start < 5, 'promptly');

# half answer, half never do
$p[$_]->send_close(1001, "", ignore_errors => 1)
    for grep { $_ % 2 } 0 .. $N - 1;

my $eof = 1;
$eof &&= $_->wait_eof(10) for @p;
ok($eof, 'QUIT: every connection is closed');
ok($t->wait_exit(10), 'QUIT: nginx exits within 10 s');

$t->done(no_done_testing => 1);


$t = VpnwsTest->start_switch(workers => 2, reuseport => 1);
@p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;

$t->signal('TERM');
$eof = 1;
$eof &&= $_->wait_eof(5) for @p;
ok($eof, 'TERM: every connection is closed');
ok($t->wait_exit(10), 'TERM: nginx exits');

$t->done();
