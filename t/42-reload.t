#!/usr/bin/perl

# vpnws: reload (SIGHUP): peers on the old workers get Close 1001 at once,
# old workers exit even if peers never answer, the old peers' MACs are free
# for their reconnects, the new config applies, and no alerts.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

sub mac { sprintf('02:00:00:00:04:%02x', $_[0]) }
sub payload { (eth_parse($_[0]))[3] }

my $N = 8;
my @p = map { $t->peer_ok(mac => mac($_)) } 0 .. $N - 1;

$p[0]->send_eth(mac(1), mac(0), 0x0800, 'before');
is(payload($p[1]->recv_eth(3)), 'before', 'traffic before the reload');

my $start = time();
my @old = $t->reload(workers => 2);
is(scalar @old, 2, 'reload: 2 old workers, new ones started');

# every old peer gets Close 1001, promptly
my @codes = map { $_->recv_close(5) // 'none' } @p;
my $took = time() - $start;
is("@codes", join(' ', (1001) x $N), 'every peer gets Close 1001');
ok($took < 5, sprintf('within %.1f s of the reload', $took));

# half of them answer the close, half never do: all are closed anyway
for my $i (0 .. $N - 1) {
    $p[$i]->send_close(1001, '', ignore_errors => 1) if $i % 2;
}
my $eof = 1;
$eof &&= $_->wait_eof(10) for @p;
ok($eof, 'the server closes every old connection');

ok($t->wait_pids_gone(10, @old), 'the old workers exit within 10 s');

# the peers reconnect with the same MACs and work
@p = map { $t->peer(mac => mac($_)) } 0 .. $N - 1;
is(join(' ', map { $_->status } @p), join(' ', (101) x $N),
   'the peers reconnect with their MACs at once');

$p[0]->send_eth(mac(1), mac(0), 0x0800, 'after');
is(payload($p[1]->recv_eth(3)), 'after', 'unicast after the reload');

$p[2]->send_eth('ff:ff:ff:ff:ff:ff', mac(2), 0x0806, 'bcast');
my $got = VpnwsWS->collect([@p[0, 1, 3 .. $N - 1]], want => 1, timeout => 3);
is(scalar(grep { (payload($_->[0]) // '') eq 'bcast' } @$got), $N - 1,
   'broadcast after the reload reaches every other peer');

my $st = $t->status;
is(scalar @{$st->{peers} || []}, $N, 'status lists the new peers only');

# a reload that changes the switch: broadcast=off applies to new workers
$t->write_file_expand('nginx.conf',
    $t->switch_conf(workers => 2, reuseport => 1, params => 'broadcast=off'));
@old = $t->reload(workers => 2);
@codes = map { $_->recv_close(5) // 'none' } @p;
is("@codes", join(' ', (1001) x $N), 'second reload: Close 1001 again');
$_->close() for @p;
ok($t->wait_pids_gone(10, @old), 'second reload: old workers exit');

my $a = $t->peer_ok(mac => mac(0));
my $b = $t->peer_ok(mac => mac(1));
$a->send_eth('ff:ff:ff:ff:ff:ff', mac(0), 0x0806, 'bcast');
$a->send_eth(mac(1), mac(0), 0x0800, 'marker');
is(payload($b->recv_eth(3)), 'marker', 'after the second reload, unicast');
ok($b->expect_nothing(0.3), 'and broadcast=off applies');

# a reload that resizes the zone and adds a second switch
$t->write_file_expand('nginx.conf',
    $t->switch_conf(workers => 2, reuseport => 1,
                    params => 'size=2m peers=100',
                    http => '    vpnws_switch two;',
                    server => '        location /two { vpnws two; }'));
@old = $t->reload(workers => 2);
@codes = map { $_->recv_close(5) // 'none' } $a, $b;
is("@codes", '1001 1001', 'third reload (new zone size): Close 1001');
$_->close() for $a, $b;
ok($t->wait_pids_gone(10, @old), 'third reload: old workers exit');

$a = $t->peer_ok(mac => mac(0));
$b = $t->peer_ok(mac => mac(1));
my $c = $t->peer_ok(path => '/two', mac => mac(0));
my $d = $t->peer_ok(path => '/two', mac => mac(1));

$a->send_eth('ff:ff:ff:ff:ff:ff', mac(0), 0x0806, 'bcast');
is(payload($b->recv_eth(3)), 'bcast', 'the resized switch works');
$c->send_eth(mac(1), mac(0), 0x0800, 'two');
is(payload($d->recv_eth(3)), 'two', 'the added switch works');
ok($a->expect_nothing(0.2) && $b->expect_nothing(0.1), 'apart');
is($t->status->{peers_max}, 100, 'status: peers_max=100 after the reload');

# and a reload back to no vpnws at all
$t->write_file_expand('nginx.conf', <<'EOC');
%%TEST_GLOBALS%%
worker_processes 2;
events { }
http {
    %%TEST_GLOBALS_HTTP%%
    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;
        location / { return 200 "no vpn here"; }
    }
}
EOC
@old = $t->reload(workers => 2);
@codes = map { $_->recv_close(5) // 'none' } $a, $b, $c, $d;
is("@codes", '1001 1001 1001 1001', 'reload without vpnws: Close 1001');
$_->close() for $a, $b, $c, $d;
ok($t->wait_pids_gone(10, @old), 'and the old workers exit');
like($t->http_get('/'), qr/no vpn here/, 'the new config serves');

$t->done();
