#!/usr/bin/perl

# vpnws: the vpn-ws daemon's command line: --help, --version, usage
# errors (exit 2), the unix socket (mode 0660, a live one refused, a stale
# one replaced, removed at exit), TCP host:port, --uid/--gid, --tuntap
# with --exec, and the static build.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);

use Daemon;
use VpnwsTest;

Daemon::has_daemon();

my $BIN = $Daemon::BINARY;
my $STATIC = "$VpnwsTest::BUILD/vpn-ws-static";

my $t = VpnwsTest->new();
my $dir = $t->prefix;

# run the daemon to its end: (exit code, stdout + stderr)
sub run_cmd {
    my (@args) = @_;

    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        # a daemon that should have refused to start ends anyway
        alarm(10);
        exec($BIN, @args) or POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    return ($? >> 8, $out);
}


###############################################################################
# --help, --version, usage errors

my ($rc, $out) = run_cmd('--help');
is($rc, 0, '--help exits 0');

for my $opt (qw(--tuntap --bridge --exec --no-broadcast --no-multicast
                --isolation --max-frame --bridge-macs --max-peers --queue
                --uid --gid --socket-mode --socket-owner --socket-group
                --admin --verbose --version --help))
{
    like($out, qr/^\s+(-\w, )?\Q$opt\E\b/m, "--help lists $opt");
}

($rc, $out) = run_cmd('--version');
is($rc, 0, '--version exits 0');
like($out, qr/^vpn-ws \d+\.\d+\.\d+/, '--version prints the version');

for my $case ([['--frobnicate', "$dir/x.sock"],
               qr/unknown option "--frobnicate"/, 'an unknown option'],
              [['--max-frame'], qr/needs an argument/, 'a missing argument'],
              [['--max-frame', 'lots', "$dir/x.sock"], qr/invalid --max-frame/,
               'a bad number'],
              [['--max-frame', '10', "$dir/x.sock"], qr/invalid --max-frame/,
               'a frame shorter than a header'],
              [[], qr/socket argument is missing/, 'no socket'],
              [["$dir/x.sock", "$dir/y.sock"], qr/one socket argument/,
               'two sockets'],
              [['--bridge', "$dir/x.sock"], qr/--bridge needs --tuntap/,
               '--bridge without --tuntap'],
              [['--socket-mode', '999', "$dir/x.sock"],
               qr/invalid --socket-mode "999"/, 'a bad socket mode'],
              [['--socket-group', 'no-such-group-x', "$dir/x.sock"],
               qr/unknown group "no-such-group-x"/, 'an unknown group'],
              [['--socket-owner', 'no-such-user-x', "$dir/x.sock"],
               qr/unknown user "no-such-user-x"/, 'an unknown owner'],
              [['--admin', 'admin.sock', "$dir/x.sock"],
               qr/--admin "admin.sock": a unix socket path/,
               'an --admin that is no path'])
{
    my ($args, $re, $what) = @$case;

    ($rc, $out) = run_cmd(@$args);
    is($rc, 2, "$what: exit code 2");
    like($out, $re, "$what: says why");
}

ok(!-e "$dir/x.sock", 'usage errors create no socket');


###############################################################################
# the unix socket

my $sock = "$dir/vpn.sock";
my $d = Daemon->start($t, socket => $sock);

is((stat $sock)[2] & 07777, 0660, 'the socket has mode 0660: not '
   . 'world-writable');

($rc, $out) = run_cmd($sock);
is($rc, 3, 'a live socket: exit code 3');
like($out, qr/in use by a running server/, 'a live socket: says so');
ok($d->alive && -S $sock, 'the running daemon keeps its socket');

my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock);
ok($s, 'and still accepts');
close $s if $s;

is($d->stop(), 0, 'SIGTERM: exit code 0');
ok(!-e $sock, 'the socket file is removed at exit');

# a stale socket: bound, never unlinked
{
    my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $sock,
                                  Listen => 1) or die "bind $sock: $!\n";
    close $l;
}
ok(-S $sock, 'a stale socket file exists');

$d->run();
ok($d->alive, 'the daemon starts over a stale socket');
ok(scalar $d->log_lines(qr/replacing the stale socket/), 'and says so');
$d->stop();

# not a socket: never removed
my $file = "$dir/not-a-socket";
open my $fh, '>', $file or die "$file: $!\n";
print $fh "data\n";
close $fh;

($rc, $out) = run_cmd($file);
is($rc, 3, 'a regular file at the path: exit code 3');
like($out, qr/is not a socket/, 'a regular file: says so');
ok(-f $file && -s $file == 5, 'the file is left alone');


###############################################################################
# out of descriptors: accept pauses instead of spinning, then recovers

{
    my $dl = Daemon->start($t, socket => "$dir/nofile.sock",
                           log => "$dir/daemon-nofile.log",
                           wrap => ['sh', '-c', 'ulimit -n 16; exec "$@"',
                                    'sh']);

    my @c = map { $dl->connect_raw() } 1 .. 20;

    my @l = $dl->wait_log(qr/accept4\(\) failed: .*not accepting for a/, 3);
    ok(@l, 'out of descriptors: logged');

    my $cpu = sub {
        open my $fh, '<', '/proc/' . $dl->pid . '/stat' or return 0;
        my $st = <$fh>;
        close $fh;
        $st =~ s/^.*\)\s+//s;
        my @f = split ' ', $st;
        return $f[11] + $f[12];
    };

    my $before = $cpu->();
    sleep(1);
    ok($cpu->() - $before < 50, 'out of descriptors: no busy loop');

    close $_ for @c;

    my $answered = 0;
    my $deadline = time() + 10;

    while (!$answered && time() < $deadline) {
        my $s = $dl->connect_raw(1) or next;
        syswrite($s, Daemon::uwsgi_packet(1, REQUEST_METHOD => 'GET'));
        my $r = '';
        1 while sysread($s, $r, 65536, length $r);
        $answered = $r =~ m{^HTTP/1\.1 200 OK};
        sleep(0.2) unless $answered;
    }

    ok($answered, 'descriptors free again: served');
    is($dl->stop(), 0, 'exit code 0');
}


###############################################################################
# TCP

{
    my $port = $t->port('daemon_tcp');
    my $dt = Daemon->start($t, socket => "127.0.0.1:$port",
                           log => "$dir/daemon-tcp.log");

    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 3);
    ok($c, 'host:port listens on TCP');

    syswrite($c, Daemon::uwsgi_packet(1, REQUEST_METHOD => 'GET'));
    my $r = '';
    1 while sysread($c, $r, 65536, length $r);
    like($r, qr{^HTTP/1\.1 200 OK\r\n}, 'and answers the admin request');

    is($dt->stop(), 0, 'TCP: exit code 0 on SIGTERM');
}


###############################################################################
# --uid, --gid

SKIP: {
    skip 'not root', 22 if $> != 0;

    my $nobody = getpwnam('nobody');
    skip 'no user nobody', 22 unless defined $nobody;

    my $du = Daemon->start($t, socket => "$dir/uid.sock",
                           args => ['--uid', 'nobody', '--gid', 'nogroup'],
                           log => "$dir/daemon-uid.log");

    my ($uid, $gid);
    open my $st, '<', "/proc/" . $du->pid . "/status" or die;
    while (<$st>) {
        $uid = (split)[1] if /^Uid:/;
        $gid = (split)[1] if /^Gid:/;
    }
    close $st;

    is($uid, $nobody, '--uid nobody: runs as nobody');
    is($gid, scalar getgrnam('nogroup'), '--gid nogroup: runs as nogroup');

    my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM,
                                  Peer => "$dir/uid.sock");
    ok($c, 'and serves');

    $du->stop();

    ($rc, $out) = run_cmd('--uid', 'no-such-user-vpnws', "$dir/uid2.sock");
    is($rc, 5, 'an unknown user: exit code 5');
    like($out, qr/unknown user/, 'an unknown user: says so');
    unlink "$dir/uid.sock", "$dir/uid2.sock";

    # issue 15.9: a numeric --uid keeps no gid 0 and none of root's groups
    my $ng = join("\t", split ' ', `id -G nobody`);
    my $uid_runs = 0;

    for my $c (['--uid 65534', ['--uid', '65534'], $nobody,
                scalar((getpwnam('nobody'))[3]), $ng],
               ['--uid nobody', ['--uid', 'nobody'], $nobody,
                scalar((getpwnam('nobody'))[3]), $ng],
               ['--uid 54321 --gid 54322', ['--uid', 54321, '--gid', 54322],
                54321, 54322, ''])
    {
        my ($what, $args, $u, $g, $groups) = @$c;
        my $k = ++$uid_runs;
        my $hook = "$dir/hook-$k.txt";
        my $dn = Daemon->start($t, socket => "$dir/uid3.sock",
                               args => [@$args, '--exec', "exec > $hook; "
                                        . 'echo "switch=$VPNWS_SWITCH"; '
                                        . 'ls /proc/$$/fd'],
                               log => "$dir/daemon-uid3-$k.log");
        # the socket exists before the ids change; this line comes after
        $dn->wait_log(qr/listening on/, 5);
        my %s;
        open my $fh, '<', "/proc/" . $dn->pid . "/status" or die;
        %s = map { /^(\w+):\s*(.*?)\s*$/ ? ($1 => $2) : () } <$fh>;
        close $fh;
        is($s{Uid}, join("\t", ($u) x 4), "$what: every uid is $u");
        is($s{Gid}, join("\t", ($g) x 4), "$what: every gid is $g");
        is($s{Groups}, $groups, "$what: the user's groups, none of root's");
        $dn->stop();

        open $fh, '<', $hook or die "$hook: $!";
        my $h = do { local $/; <$fh> };
        close $fh;
        like($h, qr{^switch=\Q$dir/uid3.sock\E$}m,
             "$what: --exec has \$VPNWS_SWITCH");
        is(join(' ', sort grep { /^\d+$/ } split /\s+/,
                ($h =~ /\n(.*)/s)[0] // ''), '0 1 2',
           "$what: --exec inherits descriptors 0-2 only");
        unlink "$dir/uid3.sock";
    }

    ($rc, $out) = run_cmd('--uid', '54321', "$dir/uid4.sock");
    is($rc, 5, 'a uid without a passwd entry and no --gid: exit code 5');
    like($out, qr/54321 has no passwd entry.*--gid/, 'and says to give --gid');
    unlink "$dir/uid4.sock";
}


###############################################################################
# --tuntap, --exec

SKIP: {
    skip 'not root or no /dev/net/tun', 5 if $> != 0 || !-c '/dev/net/tun';

    my $name = 'vpnwst' . ($$ % 10000);

    ($rc, $out) = run_cmd('--tuntap', "t$name", '--exec', 'exit 3',
                          "$dir/tap2.sock");
    unlink "$dir/tap2.sock";
    skip 'this build has no tap support', 5 if $out =~ /no tap support/;
    is($rc, 5, 'a failing --exec: exit code 5');

    my $mark = "$dir/exec.out";

    my $dt = Daemon->start($t, socket => "$dir/tap.sock",
                           args => ['--tuntap', $name, '--exec',
                                    "echo \"\$VPNWS_TAP\" > $mark"],
                           log => "$dir/daemon-tap.log");
    # the socket comes first, the tap and --exec after it
    $dt->wait_log(qr/listening on/, 5);

    ok(-d "/sys/class/net/$name", '--tuntap creates the device');

    open my $m, '<', $mark;
    my $got = $m ? <$m> : '';
    chomp $got if defined $got;
    is($got, $name, '--exec ran with $VPNWS_TAP set');

    my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM,
                                  Peer => "$dir/tap.sock");
    syswrite($c, Daemon::uwsgi_packet(1, REQUEST_METHOD => 'GET'));
    my $r = '';
    1 while sysread($c, $r, 65536, length $r);
    like($r, qr/"REMOTE_ADDR":"tap:\Q$name\E"/,
         'the status shows the tap as a port');

    is($dt->stop(), 0, 'exit code 0');
}


###############################################################################
# the static build

SKIP: {
    skip "static build missing: $STATIC", 3 unless -x $STATIC;

    my $o = `$STATIC --version 2>&1`;
    is($? >> 8, 0, 'vpn-ws-static --version exits 0');
    like($o, qr/^vpn-ws \d+\.\d+\.\d+/, 'vpn-ws-static prints the version');

    my $ldd = `file $STATIC 2>&1`;
    like($ldd, qr/statically linked|static-pie/, 'vpn-ws-static is static')
        or diag($ldd);
}

done_testing();
