#!/usr/bin/perl

# vpnws: vpnws_status across workers: JSON for every peer on every worker
# (valid for hostile user names), kill of peers wherever they live,
# Prometheus metrics checked by promtool, $vpnws_* variables in the access
# log, and the errors of the status location.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use MIME::Base64;

use VpnwsTest;
use VpnwsWS;

my $t = VpnwsTest->new();
$t->has_module();

# user names a basic-auth file can hold (no ':' and no newline)
my @users = (
    'alice',
    'quo"te',
    'back\\slash',
    "ctl\x01\x1f\x7f",
    "tab\there",
    "utf8-\xc3\xa9-\xf0\x9f\x98\x80",
    "latin1-\xff\xfe",
    '</script>{"x"=1}',
);

$t->write_file('htpasswd', join '', map { "$_:{PLAIN}secret\n" } @users);

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%
worker_processes 4;

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format vpn 'id=$vpnws_peer_id mac=$vpnws_mac rx=$vpnws_rx '
                   'tx=$vpnws_tx in=$vpnws_frames_in out=$vpnws_frames_out '
                   'drops=$vpnws_drops switch=$vpnws_switch '
                   'close=$vpnws_close_code';

    vpnws_switch sw size=1m;

    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;

        location /vpn {
            auth_basic "vpn";
            auth_basic_user_file %%PREFIX%%/htpasswd;
            access_log %%PREFIX%%/vpn.log vpn;
            vpnws sw;
            vpnws_bridge on;
        }

        location /status {
            vpnws_status sw;
        }
    }
}
EOF

$t->run();

sub auth {
    my ($user) = @_;
    return ['Authorization' => 'Basic ' . encode_base64("$user:secret", '')];
}

sub status {
    my ($query) = @_;
    my $q = $query // '';
    # kills are POST only (t/27-policy-status.t checks that GET is 405)
    my $r = $q =~ /kill/ ? $t->http_post("/status$q")
                         : $t->http_get("/status$q");
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    my ($code) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    return ($code // 0, $body // '', $head // '');
}

my $json = JSON::PP->new->utf8;   # strict: invalid UTF-8 makes it die

my $anon = $t->peer();
is($anon->status, 401, 'no credentials: 401 from auth_basic');

# 32 peers: the 8 users 4 times, spread over the workers by reuseport
my @peers;
for my $i (1 .. 32) {
    my $user = $users[$i % @users];
    my $mac = sprintf '02:00:00:00:01:%02x', $i;
    push @peers, [$t->peer_ok(mac => $mac, headers => auth($user)), $mac,
                  $user];
}

$peers[0][0]->send_eth($peers[1][1], $peers[0][1], 0x0800, 'x' x 100);
ok(defined $peers[1][0]->recv_eth(3), 'unicast between two peers');

my ($code, $body) = status();
is($code, 200, 'status: 200');

my $st = eval { $json->decode($body) };
ok($st, 'status: a strict JSON parser accepts it') or diag("$@\n$body");
$st ||= { peers => [] };
is($st->{status}, 'ok', 'status: "ok"');
is(scalar @{$st->{peers}}, 32, 'status: all 32 peers, whichever worker');

my %workers = map { $_->{worker} => 1 } @{$st->{peers}};
my %pids = map { $_->{pid} => 1 } @{$st->{peers}};
cmp_ok(scalar keys %workers, '>=', 2, 'peers sit on several workers')
    or diag(explain(\%workers));
is(scalar keys %pids, scalar keys %workers, 'one pid per worker');

my %by_mac = map { ($_->{MAC} // '') => $_ } @{$st->{peers}};

my $fields_ok = 1;
for my $p (@peers) {
    my $e = $by_mac{uc $p->[1]};
    my $want = $p->[2];

    # what a JSON reader must see: UTF-8 as is, other bytes as Latin-1
    my $expect = $want;
    $expect = join '', map { chr ord } split //, $want
        unless utf8::decode($expect);

    if (!$e || !defined $e->{REMOTE_USER} || $e->{REMOTE_USER} ne $expect) {
        $fields_ok = 0;
        diag("user of $p->[1]: got "
             . ($e ? JSON::PP->new->ascii->encode([$e->{REMOTE_USER}])
                   : 'no entry'));
    }

    for my $field (qw(id REMOTE_ADDR DN ts bridge macs unix tx rx frames_in
                      frames_out drops queued worker pid))
    {
        next if $e && exists $e->{$field};
        $fields_ok = 0;
        diag("$p->[1]: no $field");
    }
}
ok($fields_ok, 'every REMOTE_USER round-trips, every field is there');

my %ids = map { $_->{id} => 1 } @{$st->{peers}};
is(scalar keys %ids, 32, 'ids are unique');

my $pa = $by_mac{uc $peers[0][1]} || {};
cmp_ok($pa->{rx} // 0, '>', 100, 'rx counts the bytes the peer sent');
is_deeply($pa->{macs}, [uc $peers[0][1]], 'macs lists the peer\'s MAC');
ok(exists $st->{drops}{queue_full} && exists $st->{drops}{ipc_full},
   'switch-level drops by reason');

# Prometheus, checked by promtool (tools/ensure-deps test puts it on PATH)
my ($pcode, $prom, $phead) = status('?format=prometheus');
is($pcode, 200, 'prometheus: 200');
like($phead, qr{Content-Type: text/plain; version=0\.0\.4}i,
     'prometheus: content type');
like($prom, qr/^vpnws_peers\{switch="sw"\} 32$/m, 'prometheus: peers');
like($prom, qr/^vpnws_drops_total\{switch="sw",reason="queue_full"\} \d+$/m,
     'prometheus: drops by reason');
like($prom, qr/^vpnws_mac_capacity\{switch="sw"\} 4096$/m,
     'prometheus: MAC table capacity');

SKIP: {
    skip 'no promtool', 1 if system('command -v promtool >/dev/null');
    $t->write_file('metrics.txt', $prom);
    my $f = $t->prefix . '/metrics.txt';
    my $out = `promtool check metrics < $f 2>&1`;
    is($?, 0, 'promtool check metrics accepts it') or diag($out);
}

# the version at start, in the error log
my ($ver) = `cat $FindBin::Bin/../src/vpnws_version.h` =~ /VPNWS_VERSION\s+"([^"]+)"/;
ok($t->error_log_lines(qr/\[notice\].*vpnws\/\Q$ver\E: switch "sw", \d+ peers, \d+ MACs/),
   "the start says vpnws/$ver and the switch");

# errors of the status location
is((status('?kill=abc'))[0], 400, 'kill=abc: 400');
is((status('?kill=0'))[0], 400, 'kill=0: 400');
my ($nf, $nfbody) = status('?kill=999999');
is($nf, 404, 'kill of an unknown id: 404');
is(eval { $json->decode($nfbody)->{status} }, 'not found',
   'kill of an unknown id: {"status":"not found"}');
is((status('?format=xml'))[0], 400, 'format=xml: 400');

my $post = VpnwsWS->connect(port => $t->port('8080'), path => '/status',
    request => "POST /status HTTP/1.0\r\nHost: x\r\n"
               . "Content-Length: 0\r\n\r\n");
is($post->status, 405, 'POST to the status: 405');

# kill every peer: whichever worker serves a request, the peers of the
# other workers are killed across workers
my $killed = 0;
for my $p (@peers) {
    my $id = ($by_mac{uc $p->[1]} || {})->{id} // 0;
    my ($kc, $kb) = status("?kill=$id");
    my $reply = eval { $json->decode($kb) } || {};
    my $close = $p->[0]->recv_close(5) // 0;
    $killed++ if $kc == 200 && ($reply->{status} // '') eq 'ok'
                 && $close == 1008;
}
is($killed, 32, 'every peer killed with Close 1008, on every worker');

my $left = eval { $json->decode((status())[1]) } || { peers => [1] };
for (1 .. 50) {
    last unless @{$left->{peers}};
    select undef, undef, undef, 0.1;
    $left = eval { $json->decode((status())[1]) } || { peers => [1] };
}
is(scalar @{$left->{peers}}, 0, 'no peer left after the kills');

is((status("?kill=$pa->{id}"))[0], 404, 'a killed id is gone');

# a new peer gets a new id: ids are never reused
my $again = $t->peer_ok(mac => $peers[0][1], headers => auth('alice'));
my $st2 = eval { $json->decode((status())[1]) } || { peers => [{}] };
my ($max_old) = sort { $b <=> $a } keys %ids;
cmp_ok($st2->{peers}[0]{id} // 0, '>', $max_old, 'ids are not reused');
$again->send_close(1000);
$again->recv_close(3);

# the access log: one line per session, written when it ended
# (the 401 above is logged there too, with id=-)
my @lines;
for (1 .. 50) {
    @lines = grep { /^id=\d/ } split /\n/, $t->read_file('vpn.log');
    last if @lines >= 33;
    select undef, undef, undef, 0.1;
}
is(scalar @lines, 33, 'access log: a line per session');
my ($first) = grep { /mac=\Q$peers[0][1]\E /i } @lines;
like($first // '', qr/rx=\d+ tx=\d+ in=1 out=\d+ drops=0 switch=sw/,
     'access log: the session\'s counters');
like($first // '', qr/close=1008$/, 'access log: the close code of a kill');

$t->done();
