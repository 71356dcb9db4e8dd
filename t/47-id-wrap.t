#!/usr/bin/perl

# Peer ids are 32 bits and 0 marks a free slot: when the counter wraps,
# id 0 is skipped.  The test moves the zone's counter to 2^32 - 2 with gdb
# (the module carries its debug information) and connects peers across the
# wrap: none gets id 0, every one is listed, reached and killed by its id.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;
use VpnwsWS qw(eth_parse);

plan(skip_all => 'no gdb') unless `gdb --version 2>/dev/null`;

my $t = VpnwsTest->start_switch();
my ($w) = $t->worker_pids();

# the first switch's zone, from nginx's cycle
my $sh = '((ngx_http_vpnws_switch_t **) ((ngx_http_vpnws_main_conf_t *) '
    . '((ngx_http_conf_ctx_t *) (*(ngx_cycle_t **) &ngx_cycle)->conf_ctx'
    . '[ngx_http_module.index])->main_conf[ngx_http_vpnws_module.ctx_index])'
    . '->switches.elts)[0]->sh';
my $out = `gdb -p $w -batch -ex 'set var $sh->next_id = 4294967294' -ex 'print $sh->next_id' 2>&1`;
like($out, qr/= 4294967294$/m, 'the id counter is at 2^32 - 2')
    or diag($out);

my @mac = map { sprintf('02:00:00:00:47:%02x', $_) } 1 .. 4;
my @p = map { $t->peer_ok(mac => $_) } @mac;

my $st = $t->status() || {};
my %id = map { lc $_->{MAC} => $_->{id} } @{$st->{peers} || []};
is(scalar(keys %id), 4, 'the four peers are listed');
is_deeply([map { $id{$_} } @mac], [4294967294, 4294967295, 1, 2],
          'their ids: 2^32 - 2, 2^32 - 1, then 1 (0 skipped)');

# the peers either side of the wrap are distinct ports
$p[1]->send_eth($mac[2], $mac[1], 0x0800, 'across the wrap');
is((eth_parse($p[2]->recv_eth(3) // ''))[3], 'across the wrap',
   'the peer with id 2^32 - 1 reaches the one with id 1');

for my $i (1, 2) {
    my $r = $t->http_post("/status?kill=$id{$mac[$i]}");
    like($r, qr/"status":"ok"/, "kill=$id{$mac[$i]}");
    is($p[$i]->recv_close(3), 1008, 'that peer is closed');
}

$_->close() for @p;

$t->done();
