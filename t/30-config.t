#!/usr/bin/perl

# vpnws: configuration errors: "nginx -t" fails with a message that names
# the problem; a good configuration passes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use VpnwsTest;

my $t = VpnwsTest->new()->has_module();

# a config: %%SWITCH%% lines in http, %%LOC%% lines in the location
sub conf {
    my (%o) = @_;

    my $switch = $o{switch} // 'vpnws_switch sw;';
    my $loc = $o{loc} // 'vpnws sw;';
    my $main = $o{main} // '';
    my $server = $o{server} // '';
    my $after = $o{after} // '';

    return <<"EOF";
%%TEST_GLOBALS%%
$main
events { }

http {
    %%TEST_GLOBALS_HTTP%%

    $switch

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        $server

        location /vpn {
            $loc
        }
    }

    $after
}
EOF
}

my $n = 0;

sub fails {
    my ($what, $re, %o) = @_;

    $n++;
    $t->write_file_expand("bad$n.conf", conf(%o));
    my ($rc, $out) = $t->test_config("bad$n.conf");

    isnt($rc, 0, "$what: nginx -t fails");
    like($out, $re, "$what: the message names it") or diag($out);
}

sub passes {
    my ($what, %o) = @_;

    $n++;
    $t->write_file_expand("good$n.conf", conf(%o));
    my ($rc, $out) = $t->test_config("good$n.conf");

    is($rc, 0, "$what: nginx -t passes") or diag($out);
}


passes('one switch');
passes('every parameter', switch => 'vpnws_switch sw size=2m peers=100 '
       . 'macs=1000 max_frame=9k queue=64k broadcast=off multicast=off '
       . 'isolation=on bridge_macs=16 tap_macs=500 mac_aging=10m timeout=30s'
       . ' ping=5s;');
passes('status location', loc => 'vpnws_status sw;');
passes('two switches', switch => 'vpnws_switch a; vpnws_switch b;',
       loc => 'vpnws b;');

fails('unknown switch', qr/unknown vpnws_switch "nosuch"/,
      loc => 'vpnws nosuch;');
fails('unknown switch in vpnws_status', qr/unknown vpnws_switch "nosuch"/,
      loc => 'vpnws_status nosuch;');
fails('switch defined after its use', qr/unknown vpnws_switch "late"/,
      loc => 'vpnws late;', after => 'vpnws_switch late;');
fails('duplicate switch', qr/duplicate vpnws_switch "a"/,
      switch => 'vpnws_switch a; vpnws_switch a;', loc => 'vpnws a;');
fails('size=10k', qr/size=10k/,
      switch => 'vpnws_switch sw size=10k;');
fails('peers=100000 size=1m', qr/too small/,
      switch => 'vpnws_switch sw peers=100000 size=1m;');
fails('unknown parameter', qr/unknown parameter "foo=1"/,
      switch => 'vpnws_switch sw foo=1;');
fails('broadcast=maybe', qr/invalid parameter "broadcast=maybe"/,
      switch => 'vpnws_switch sw broadcast=maybe;');
fails('multicast=1', qr/invalid parameter "multicast=1"/,
      switch => 'vpnws_switch sw multicast=1;');
fails('isolation=', qr/invalid parameter "isolation="/,
      switch => 'vpnws_switch sw isolation=;');
fails('peers=0', qr/invalid parameter "peers=0"/,
      switch => 'vpnws_switch sw peers=0;');
fails('tap_macs=0', qr/invalid parameter "tap_macs=0"/,
      switch => 'vpnws_switch sw tap_macs=0;');
fails('peers=lots', qr/invalid parameter "peers=lots"/,
      switch => 'vpnws_switch sw peers=lots;');
fails('max_frame=10', qr/invalid (parameter )?"max_frame=10"/,
      switch => 'vpnws_switch sw max_frame=10;');
fails('max_frame=2m', qr/invalid (parameter )?"max_frame=2m"/,
      switch => 'vpnws_switch sw max_frame=2m queue=8m;');
fails('mac_aging=0', qr/invalid parameter "mac_aging=0"/,
      switch => 'vpnws_switch sw mac_aging=0;');
fails('timeout=soon', qr/invalid parameter "timeout=soon"/,
      switch => 'vpnws_switch sw timeout=soon;');
fails('queue smaller than a frame', qr/queue/,
      switch => 'vpnws_switch sw max_frame=64k queue=16k;');
fails('macs < peers', qr/macs=10 is less than peers=100/,
      switch => 'vpnws_switch sw peers=100 macs=10;');
fails('a parameter without "="', qr/invalid parameter "broadcast"/,
      switch => 'vpnws_switch sw broadcast;');
fails('invalid switch name', qr/invalid switch name/,
      switch => 'vpnws_switch "a b";', loc => 'vpnws "a b";');
fails('vpnws_switch without a name', qr/invalid number of arguments/,
      switch => 'vpnws_switch;');
fails('vpnws_switch outside http', qr/"vpnws_switch" directive is not allowed/,
      main => 'vpnws_switch out;');
fails('vpnws_switch in server', qr/"vpnws_switch" directive is not allowed/,
      server => 'vpnws_switch srv;');
fails('vpnws in http', qr/"vpnws" directive is not allowed/,
      switch => 'vpnws_switch sw; vpnws sw;');
fails('vpnws twice in a location', qr/duplicate/,
      loc => 'vpnws sw; vpnws_status sw;');
fails('a zone name another module uses', qr/already used|shared|duplicate/,
      switch => 'vpnws_switch sw; limit_req_zone $binary_remote_addr '
      . 'zone=sw:1m rate=1r/s;');

# nginx itself starts and stops with the good config
$t->write_file_expand('nginx.conf', conf());
$t->run();
ok(scalar $t->worker_pids(), 'nginx runs with a vpnws_switch');

# the policy directives (issue 17)
passes('every policy directive', loc => 'vpnws sw; vpnws_bridge $arg_b; '
       . 'vpnws_mac $arg_m; vpnws_ip $arg_i; vpnws_user $remote_user; '
       . 'vpnws_rate 10m burst=1m flood=100; vpnws_peers_per_user 3;');
passes('vpnws with a variable', loc => 'vpnws $arg_sw;');
fails('vpnws $var and vpnws_status in one location', qr/is duplicate/,
      loc => 'vpnws $arg_sw; vpnws_status sw;');
fails('vpnws $var twice', qr/is duplicate/,
      loc => 'vpnws $arg_sw; vpnws $arg_x;');
passes('guards and bridged_macs', switch => 'vpnws_switch sw peers=10 '
       . 'macs=40 bridged_macs=30 dhcp_guard=on ra_guard=off ip_guard=on;');
fails('a constant vpnws_rate that does not parse',
      qr/invalid vpnws_rate "fast": the rate must be/,
      loc => 'vpnws sw; vpnws_rate fast;');
fails('vpnws_rate burst without a rate', qr/burst= needs a rate/,
      loc => 'vpnws sw; vpnws_rate burst=1m;');
fails('bridged_macs over macs - peers', qr/bridged_macs=31 leaves/,
      switch => 'vpnws_switch sw peers=10 macs=40 bridged_macs=31;');
fails('a guard neither on nor off', qr/dhcp_guard=maybe/,
      switch => 'vpnws_switch sw dhcp_guard=maybe;');
fails('vpnws_peers_per_user not a number', qr/"vpnws_peers_per_user" directive invalid number/,
      loc => 'vpnws sw; vpnws_peers_per_user many;');

# vpnws_congestion: a name the kernel could know, and knows (the message
# lists what it has)
passes('vpnws_congestion in http, server and location',
       switch => 'vpnws_switch sw; vpnws_congestion reno;',
       server => 'vpnws_congestion reno;',
       loc => 'vpnws sw; vpnws_congestion reno;');
fails('vpnws_congestion empty', qr/invalid vpnws_congestion "": empty/,
      loc => 'vpnws sw; vpnws_congestion "";');
fails('vpnws_congestion too long',
      qr/invalid vpnws_congestion "abcdefghijklmnop": longer than 15/,
      loc => 'vpnws sw; vpnws_congestion abcdefghijklmnop;');
fails('vpnws_congestion with a space',
      qr/invalid vpnws_congestion "cu bic": only a-z, 0-9, "_" and "-"/,
      loc => 'vpnws sw; vpnws_congestion "cu bic";');
fails('vpnws_congestion not on this kernel',
      qr/vpnws_congestion "nonexistent": not available on this kernel (?#
         )\(available: [^)]*\breno\b/,
      loc => 'vpnws sw; vpnws_congestion nonexistent;');
fails('vpnws_congestion twice', qr/"vpnws_congestion" directive is duplicate/,
      loc => 'vpnws sw; vpnws_congestion reno; vpnws_congestion reno;');
fails('vpnws_congestion without a name',
      qr/invalid number of arguments in "vpnws_congestion"/,
      loc => 'vpnws sw; vpnws_congestion;');

$t->done();
