#!/usr/bin/perl

# vpnws: kills cut peers only by POST (a browser prefetch or a cross-site
# link must not): GET and HEAD of ?kill= and ?kill_user= get 405 with
# "Allow: POST"; POST ?kill_user=NAME closes every peer of that identity on
# every worker; $vpnws_user names it in the access log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;

my $t = VpnwsTest->new();
$t->has_module();

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%
worker_processes 2;
events { worker_connections 256; }

http {
    %%TEST_GLOBALS_HTTP%%

    log_format vpn 'user=$vpnws_user id=$vpnws_peer_id';
    vpnws_switch sw;

    server {
        listen 127.0.0.1:%%PORT_8080%% reuseport;

        location /vpn {
            vpnws sw;
            vpnws_user $arg_user;
            access_log %%PREFIX%%/vpn.log vpn;
        }

        location /status { vpnws_status sw; }
    }
}
EOF

$t->run();

sub mac { sprintf('02:00:00:00:27:%02x', $_[0]) }

sub req {
    my ($method, $q) = @_;
    my $r = $t->http_get("/status$q", method => $method);
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    my ($code) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my ($allow) = ($head // '') =~ m{^Allow: (.*?)\r?$}mi;
    return ($code // 0, $allow // '', $body // '');
}

# peers of two users, spread over both workers by reuseport
my @carol = map { $t->peer_ok(path => '/vpn?user=carol', mac => mac($_)) }
            1 .. 4;
my $dave = $t->peer_ok(path => '/vpn?user=dave.x', mac => mac(9));
my $st = $t->status;
my ($id) = map { $_->{id} } grep { $_->{REMOTE_USER} eq 'carol' }
           @{$st->{peers}};

for my $m (qw(GET HEAD)) {
    my ($code, $allow) = req($m, "?kill=$id");
    is($code, 405, "$m ?kill=: 405");
    is($allow, 'POST', "$m ?kill=: Allow: POST");
    ($code, $allow) = req($m, '?kill_user=carol');
    is($code, 405, "$m ?kill_user=: 405");
}

is(scalar @{$t->status->{peers}}, 5, 'nobody was cut');
is((req('POST', ''))[0], 405, 'POST without a kill: 405');
is((req('POST', ''))[1], 'GET, HEAD', 'Allow: GET, HEAD');

my ($code, undef, $body) = req('POST', "?kill=$id");
is($code, 200, 'POST ?kill=: 200');
my ($victim) = grep { $_->{id} } @carol;

($code, undef, $body) = req('POST', '?kill_user=carol');
is($code, 200, 'POST ?kill_user=carol: 200');
like($body, qr/"killed":[34]/, "killed counts the peers ($body)");
is(scalar(grep { ($_->recv_close(3) // 0) == 1008 } @carol), 4,
   'every peer of carol gets Close 1008, on both workers');

my @left;
for (1 .. 30) {
    @left = @{$t->status->{peers}};
    last if @left == 1;
    select(undef, undef, undef, 0.1);
}
is(join(',', map { $_->{REMOTE_USER} } @left), 'dave.x', 'dave stays');

($code) = req('POST', '?kill_user=nobody');
is($code, 404, 'kill_user of nobody: 404');
($code, undef, $body) = req('POST', '?kill_user=dave%2Ex');
like($body, qr/"killed":1/, 'a URL-escaped user name');
is($dave->recv_close(3), 1008, 'dave is cut');

my $log = '';
for (1 .. 30) {
    $log = $t->read_file('vpn.log') // '';
    last if $log =~ /user=dave.x/;
    select(undef, undef, undef, 0.1);
}
like($log, qr/^user=carol id=\d+$/m, '$vpnws_user in the access log');
like($log, qr/^user=dave\.x id=\d+$/m, 'and dave');

$t->done();
