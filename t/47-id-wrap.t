#!/usr/bin/perl

# Peer ids are 64 bits and never reused while the switch lives (DESIGN.md
# section 3).  The test moves the zone's counter to 2^32 - 2 with gdb (the
# module carries its debug information) and connects peers across 2^32:
# each gets its own id, is listed, reached and killed by it (a 32-bit id
# would wrap to 0, a free slot).  Ids stay unique across a reload and a
# worker killed with SIGKILL; ?kill= takes every id up to 2^64 - 1 and
# refuses anything else with 400 and a log line.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;
use VpnwsWS qw(eth_parse);

plan(skip_all => 'no gdb') unless `gdb --version 2>/dev/null`;

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1);

$t->expect_alerts(qr/worker process \d+ exited on signal 9/,
                  qr/shared memory zone .* was locked by \d+/);

my ($w) = $t->worker_pids();

# the first switch's zone, from nginx's cycle
my $sh = '((ngx_http_vpnws_switch_t **) ((ngx_http_vpnws_main_conf_t *) '
    . '((ngx_http_conf_ctx_t *) (*(ngx_cycle_t **) &ngx_cycle)->conf_ctx'
    . '[ngx_http_module.index])->main_conf[ngx_http_vpnws_module.ctx_index])'
    . '->switches.elts)[0]->sh';
my $out = `gdb -p $w -batch -ex 'set var $sh->next_id = 4294967294' -ex 'print $sh->next_id' 2>&1`;
like($out, qr/= 4294967294$/m, 'the id counter is at 2^32 - 2')
    or diag($out);

my (%seen, $dup);

# every peer listed: MAC => id; counts an id seen on another MAC
sub ids {
    my $st = $t->status() || {};
    my %id;

    for my $p (@{$st->{peers} || []}) {
        my $mac = lc $p->{MAC};
        $id{$mac} = $p->{id};
        $dup++ if exists $seen{$p->{id}} && $seen{$p->{id}} ne $mac;
        $seen{$p->{id}} = $mac;
    }

    return %id;
}

sub mac { sprintf('02:00:00:00:47:%02x', $_[0]) }

my @mac = map { mac($_) } 1 .. 4;
my @p = map { $t->peer_ok(mac => $_) } @mac;

my %id = ids();
is(scalar(keys %id), 4, 'the four peers are listed');
is_deeply([map { $id{$_} } @mac],
          [4294967294, 4294967295, 4294967296, 4294967297],
          'their ids: 2^32 - 2 to 2^32 + 1, no wrap');

# the peers either side of 2^32 are distinct ports
$p[1]->send_eth($mac[2], $mac[1], 0x0800, 'across 2^32');
is((eth_parse($p[2]->recv_eth(3) // ''))[3], 'across 2^32',
   'the peer with id 2^32 - 1 reaches the one with id 2^32');
$p[3]->send_eth($mac[0], $mac[3], 0x0800, 'back');
is((eth_parse($p[0]->recv_eth(3) // ''))[3], 'back',
   'the peer with id 2^32 + 1 reaches the one with id 2^32 - 2');

for my $i (2, 3) {
    my $r = $t->http_post("/status?kill=$id{$mac[$i]}");
    like($r, qr/"status":"ok"/, "kill=$id{$mac[$i]}");
    is($p[$i]->recv_close(3), 1008, 'that peer is closed');
}

# ids are not taken again after a reload or a respawn
$t->reload();
push @p, map { $t->peer_ok(mac => mac($_)) } 5 .. 8;

my @old = $t->active_worker_pids();
kill('KILL', $old[0]);
$t->wait_pids_gone(10, $old[0]);

my $deadline = time() + 10;
sleep(0.1) while $t->active_worker_pids() != 2 && time() < $deadline;
my @now = $t->active_worker_pids();
is(scalar(@now), 2, 'the killed worker is respawned') or diag("workers: @now");

# peers until the respawned worker holds some
my %later;
for my $i (9 .. 40) {
    my $ws = $t->peer_ok(mac => mac($i));
    push @p, $ws;
    $later{$t->worker_of($ws)}++;
    last if keys %later == 2 && $i >= 12;
}
is(scalar(keys %later), 2, 'new peers on both workers, one respawned');

%id = ids();
my @after = grep { !/^02:00:00:00:47:0[1-4]$/ } keys %id;
ok(@after >= 4 && !(grep { $id{$_} <= 4294967297 } @after),
   'every later peer has an id above all earlier ones')
    or diag(explain(\%id));
ok(!$dup, 'no id was given to two peers');

# ?kill= takes 64-bit ids and nothing else
like($t->http_post('/status?kill=18446744073709551615'),
     qr/^HTTP\/1\.\d 404 .*"not found"/s, 'kill=2^64 - 1: a valid id, none '
     . 'such');

for my $bad ('18446744073709551616', '99999999999999999999999', '0', '-1',
             '0x10', 'abc', '', '12%20')
{
    like($t->http_post("/status?kill=$bad"), qr/^HTTP\/1\.\d 400 /,
         "kill=$bad: 400");
}

is(scalar($t->error_log_lines(qr/\[info\].*kill= needs a peer id, 1 to /)),
   8, 'each refused kill= logged');

$_->close() for @p;

$t->done();
