#!/usr/bin/perl

# The server tap: tap_exec runs with no inherited descriptors and a clean
# signal mask (at start and on a reload, where the master blocks signals
# and holds listening sockets), and a tap that refuses frames (it is down)
# gets one error line a second with a count, never one per frame.  Runs in
# a network namespace of its own.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use VpnwsTest;

VpnwsTest->enter_netns();

my $t = VpnwsTest->new()->has_module();
my $p = $t->prefix;
my ($tap, $tap2) = ("vx$$", "vy$$");

$t->write_file('hook.sh', <<"EOF");
#!/bin/sh
ls /proc/self/fd > $p/fds.\$VPNWS_TAP
grep -E '^Sig(Blk|Ign)' /proc/self/status > $p/sig.\$VPNWS_TAP
EOF
chmod 0755, "$p/hook.sh";

sub conf {
    my ($http) = @_;
    return $t->switch_conf(workers => 2, reuseport => 1,
                           params => "tap=$tap tap_exec=$p/hook.sh",
                           http => $http // '');
}

sub fds {
    my ($name) = @_;
    return join ' ', sort { $a <=> $b } split ' ',
        $t->read_file("fds.$name") // '';
}

$t->write_file_expand('nginx.conf', conf());
$t->run();

is(fds($tap), '0 1 2 3', 'tap_exec at start: stdin, stdout, stderr only '
   . '(3 is ls reading /proc/self/fd)');
like($t->read_file("sig.$tap"), qr/^SigBlk:\s*0+\nSigIgn:\s*0+$/m,
     'no signal blocked or ignored');

# a reload that adds a switch with a new tap
$t->write_file_expand('nginx.conf',
    conf("    vpnws_switch sw2 tap=$tap2 tap_exec=$p/hook.sh;\n"));
my @old = $t->reload();
ok($t->wait_pids_gone(10, @old), 'the old workers exit');

is(fds($tap2), '0 1 2 3', 'tap_exec on a reload: no listening socket, log '
   . 'or tap inherited');
like($t->read_file("sig.$tap2"), qr/^SigBlk:\s*0+\nSigIgn:\s*0+$/m,
     'no signal blocked or ignored on a reload either');

# a tap that is down refuses every frame written to it
system("ip link set $tap down") == 0 or die "ip link set down\n";

my $A = '02:00:00:00:36:0a';
my $a = $t->peer_ok(mac => $A);

for my $round (1 .. 3) {
    $a->send_eth('ff:ff:ff:ff:ff:ff', $A, 0x0800, "bc $_") for 1 .. 100;
    sleep(1.1);
}

my @l = $t->error_log_lines(qr/write\(\) to tap \Q$tap\E failed/);
ok(@l >= 1 && @l <= 4, 'tap write errors: ' . scalar(@l) . ' lines for 300 '
   . 'failed writes') or diag(join "\n", @l[0 .. ($#l < 5 ? $#l : 5)]);
my $n = 0;
$n += $_ for map { /failed, (\d+) frames? dropped/ ? $1 : 0 } @l;
ok($n >= 150 && $n <= 300, "the lines count them: $n");
like($l[0] // '', qr/\[error\].*\(5: Input\/output error\)/,
     'an error line with the reason');

$a->close();
$t->done();
