#!/usr/bin/perl

# The Debian packages: make deb (dpkg-buildpackage, lintian without errors),
# installed with dpkg on this machine; a private nginx (own prefix, own
# port, never the system service) that loads the module the way Debian's
# does, through /etc/nginx/modules-enabled; the packaged client started as
# its systemd unit starts it (its config and credentials files), the
# password neither in /proc/PID/cmdline nor in the log; the units checked by
# systemd-analyze verify; the daemon started as its unit starts it, its
# socket reachable by the unit's group only; the man pages render without
# warnings.  Then the packages are purged and the system is as it was, also
# when a check fails.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Temp qw(tempdir);
use POSIX ();

my @PKGS = qw(libnginx-mod-http-vpnws vpn-ws-client vpn-ws);
my $ROOT = "$FindBin::Bin/..";
my $BUILD = $ENV{VPNWS_BUILD} || "$ROOT/build";
my $ENABLED = '/etc/nginx/modules-enabled/50-mod-http-vpnws.conf';
my $NAME = "vw$$";                      # the unit's instance and tap name
my $CONF = "/etc/vpn-ws-client/$NAME.conf";
my $AUTH = "/etc/vpn-ws-client/$NAME.auth";

plan(skip_all => 'needs root') if $> != 0;

# one run at a time on a machine (other checkouts run the suite too): the
# packages are the machine's, not this test's
use Fcntl qw(:flock);
open my $lock, '>', '/run/lock/vpnws-t90-deb.lock' or die "lock: $!";
{
    local $SIG{ALRM} = sub { die "t/90: another run holds the lock for 15 min\n" };
    alarm 900;
    flock($lock, LOCK_EX) or die "flock: $!";
    alarm 0;
}

# apt waits for the dpkg lock that an apt-get elsewhere may hold
my $APT = 'apt-get -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends';

sub installed {
    my ($p) = @_;
    my $s = `dpkg-query -W -f='\${Status}' $p 2>/dev/null`;
    return $s =~ /ok installed|config-files|half/;
}

# a run killed with SIGKILL left its packages (and this mark) behind
my $MARK = '/var/tmp/vpnws-t90-deb.installed';
if (-e $MARK) {
    my ($group_was) = `cat $MARK` =~ /had_group=(\d)/;
    system("$APT purge @PKGS >/dev/null 2>&1");
    system('delgroup --system --quiet vpn-ws >/dev/null 2>&1')
        if !$group_was;
    system('rm', '-rf', '/run/vpn-ws') if -e "$MARK.rundir";
    unlink $MARK, "$MARK.rundir";
    diag('purged what a killed earlier run had installed');
}

if (my @there = grep { installed($_) } @PKGS) {
    plan(skip_all => "@there already installed here: not touching them");
}

for my $tool (qw(dpkg-buildpackage dh_nginx scdoc lintian systemd-analyze)) {
    plan(skip_all => "no $tool (tools/ensure-deps test installs it)")
        if system("command -v $tool >/dev/null") != 0;
}

my $had_group = system('getent group vpn-ws >/dev/null') == 0;
my $had_rundir = -e '/run/vpn-ws';
my $daemon_pid;
my $nginx_pid_before = -e '/run/nginx.pid';
my @enabled_before = sort glob('/etc/nginx/modules-enabled/*');
my $installed_by_us = 0;

sub restore {
    if ($daemon_pid) {
        kill 'TERM', $daemon_pid;
        waitpid($daemon_pid, 0);
        $daemon_pid = undef;
    }
    system('rm', '-rf', '/run/vpn-ws') if !$had_rundir && -d '/run/vpn-ws';
    unlink "$MARK.rundir";
    unlink $CONF, $AUTH;
    if ($installed_by_us) {
        system("$APT purge @PKGS >/dev/null 2>&1");
        $installed_by_us = 0;
        unlink $MARK;
    }
    system('delgroup --system --quiet vpn-ws >/dev/null 2>&1')
        if !$had_group && system('getent group vpn-ws >/dev/null') == 0;
}

END { my $rc = $?; restore(); $? = $rc; }

# build: the same recipe as `make deb` (lintian errors fail it)
my $out = `make -s -C $ROOT BUILD=$BUILD deb 2>&1`;
is($?, 0, 'make deb: dpkg-buildpackage and lintian --fail-on error')
    or BAIL_OUT("make deb failed:\n$out");
my $lintian = `cat $BUILD/deb/lintian.log 2>/dev/null`;
unlike($lintian, qr/^E: /m, 'lintian: no errors') or diag($lintian);
diag("lintian: $_") for grep { /^[WI]: / } split /\n/, $lintian;

my %deb = map { $_ => (glob("$BUILD/deb/${_}_*.deb"))[0] } @PKGS;
ok(-f $deb{$_}, "$_ built") for @PKGS;

my $abi = `sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars`;
chomp $abi;
like(`dpkg-deb -f $deb{'libnginx-mod-http-vpnws'} Depends`, qr/\Q$abi\E/,
     "the module depends on $abi");

my ($version) = `sed -n '1s/.*(\\(.*\\)).*/\\1/p' $ROOT/debian/changelog`;
chomp $version;

# install
$installed_by_us = 1;
open my $mk, '>', $MARK or die "$MARK: $!";
print $mk 'had_group=', ($had_group ? 1 : 0), "\n";
close $mk;
$out = `$APT install $deb{'libnginx-mod-http-vpnws'} $deb{'vpn-ws-client'} $deb{'vpn-ws'} 2>&1`;
is($?, 0, 'the three packages installed (apt-get install ./*.deb)') or diag($out);
ok(-l $ENABLED && readlink($ENABLED)
   eq '/usr/share/nginx/modules-available/mod-http-vpnws.conf',
   'the module is enabled in /etc/nginx/modules-enabled');
is(-e '/run/nginx.pid' ? 1 : 0, $nginx_pid_before ? 1 : 0,
   'the system nginx was neither started nor stopped');
is(system('getent group vpn-ws >/dev/null'), 0, 'group vpn-ws exists');
like(`/usr/sbin/vpn-ws-client --version`, qr/^vpn-ws-client \Q$version\E /,
     "the client is version $version");
like(`/usr/sbin/vpn-ws --version`, qr/^vpn-ws \Q$version\E /,
     "the daemon is version $version");

for my $page ('vpn-ws-client', 'vpn-ws', 'ngx_http_vpnws_module') {
    my $file = `man -w $page 2>/dev/null`;
    chomp $file;
    ok($file =~ m{^/usr/share/man/}, "man $page: $file");
    my $warn = `MANWIDTH=80 man --warnings -l $file 2>&1 >/dev/null`;
    is($warn, '', "man $page renders without warnings");
}

# the units: as systemd reads them
my $udir = -f '/lib/systemd/system/vpn-ws.service' ? '/lib/systemd/system'
                                                   : '/usr/lib/systemd/system';
for my $unit ('vpn-ws.service', 'vpn-ws-client@.service') {
    $out = `systemd-analyze verify $udir/$unit 2>&1`;
    is($? >> 8, 0, "systemd-analyze verify $unit") or diag($out);
    is($out, '', "$unit: no complaints") or diag($out);
}

# a private nginx that loads what Debian's would: its prefix has the
# "modules" link of /usr/share/nginx, its config the modules-enabled include
use E2E;

my $e = E2E->new(timeout => 120);
my $d = $e->dir;
symlink('/usr/lib/nginx/modules', "$d/modules") or die "symlink: $!";

$e->ns($_) for qw(s a b);
$e->uplink('a', 1);
$e->uplink('b', 2);

my $password = "pw-$$-" . int(rand(1e9));
my $hash = `openssl passwd -apr1 '$password'`;
chomp $hash;
$e->write_file('htpasswd', "alice:$hash\n");
my $port = $E2E::PORT;

$e->nginx(modules => 'include /etc/nginx/modules-enabled/*.conf;',
    loc => "auth_basic vpn; auth_basic_user_file $d/htpasswd;");
like($e->read_file('error.log'), qr/vpnws/, 'nginx loaded the packaged module')
    or diag($e->read_file('error.log'));

# the unit's instance: its config file and its credentials file
open my $fh, '>', $CONF or die "$CONF: $!";
print $fh "URL=ws://alice\@10.213.1.1:$port/vpn\n"
        . "EXEC=ip addr add 10.214.0.1/24 dev $NAME\n"
        . "OPTIONS=--ping-interval 5 -v\n";
close $fh;
open $fh, '>', $AUTH or die "$AUTH: $!";
print $fh "$password\n";
close $fh;
chmod 0600, $AUTH;

# what systemd does: LoadCredential= copies the file (mode 0400) into
# $CREDENTIALS_DIRECTORY, EnvironmentFile= sets the variables, ExecStart=
# expands ${VAR} to one word, $VAR to its words and %i to the instance
my $creds = tempdir('vpnws-creds-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', $AUTH, "$creds/auth") == 0 or die;
chmod 0400, "$creds/auth";

my $unit = `cat $udir/vpn-ws-client\@.service`;
my %env = (CREDENTIALS_DIRECTORY => $creds);
for my $line ($unit =~ /^Environment=(.*)$/mg) {
    $env{$1} = $2 while $line =~ /(\w+)=(\S*)/g;
}
my ($envfile) = $unit =~ /^EnvironmentFile=(.*)$/m;
$envfile =~ s/%i/$NAME/g;
is($envfile, $CONF, "the unit reads $CONF");
my ($credfile) = $unit =~ /^LoadCredential=auth:(.*)$/m;
$credfile =~ s/%i/$NAME/g;
is($credfile, $AUTH, "the unit's credential is $AUTH");
for (split /\n/, `cat $CONF`) {
    $env{$1} = $2 if /^(\w+)=(.*)$/;
}
my ($exec) = $unit =~ /^ExecStart=(.*)$/m;
my @argv;
for my $w (split ' ', $exec) {
    $w =~ s/%i/$NAME/g;
    if ($w =~ /^\$(\w+)$/) {
        push @argv, split(' ', $env{$1} // '');
    } else {
        $w =~ s/\$\{(\w+)\}/$env{$1} \/\/ ''/ge;
        push @argv, $w;
    }
}
is($argv[0], '/usr/sbin/vpn-ws-client', 'ExecStart runs the packaged client');
ok(!grep({ /\Q$password\E/ } @argv), 'the password is not in ExecStart');

my $a = $e->client('a', argv => \@argv);
ok($e->wait_log($a, qr/connected to ws:/, 10), 'the unit-started client connects')
    or diag($e->client_log($a));

# a second packaged client, URL form, to ping across the switch
my $b = $e->client('b', bin => '/usr/sbin/vpn-ws-client',
    env => { VPNWS_AUTH => "alice:$password" },
    addr => '10.214.0.2/24', url => "ws://10.213.2.1:$port/vpn");
ok($e->wait_log($b, qr/connected to ws:/, 10), 'a second packaged client connects');
ok($e->wait_ping('a', '10.214.0.2', 10), 'they ping each other through the switch');

my $cmdline = do { local $/; open my $c, '<', "/proc/$a/cmdline"; <$c> // '' };
like($cmdline, qr{/usr/sbin/vpn-ws-client}, "/proc/$a/cmdline is the client");
unlike($cmdline, qr/\Q$password\E/, 'the password is not in /proc/PID/cmdline');
unlike($e->client_log($a) . $e->client_log($b), qr/\Q$password\E/,
       'nor in the logs');
my $st = $e->status;
is(scalar(grep { ($_->{REMOTE_USER} // '') eq 'alice' } @{$st->{peers} || []}),
   2, 'nginx authenticated both as alice');

is($e->stop_client($_), 0, 'stopped on SIGTERM') for $a, $b;
$e->check_logs;
$e->cleanup;

# the daemon as vpn-ws.service starts it: RuntimeDirectory /run/vpn-ws
# (mode 0750, group vpn-ws: Group=), VPNWS_OPTS from /etc/default/vpn-ws
SKIP: {
    skip '/run/vpn-ws exists: a vpn-ws runs here', 6 if $had_rundir;

    my $dunit = `cat $udir/vpn-ws.service`;
    my ($dexec) = $dunit =~ /^ExecStart=(.*)$/m;
    my ($group) = $dunit =~ /^Group=(.*)$/m;
    my ($rmode) = $dunit =~ /^RuntimeDirectoryMode=(.*)$/m;
    my ($opts) = `cat /etc/default/vpn-ws` =~ /^VPNWS_OPTS=(.*)$/m;
    my $gid = getgrnam($group);
    ok(defined $gid, "the unit's group $group exists");

    mkdir '/run/vpn-ws' or die "/run/vpn-ws: $!";
    if (open my $rm, '>', "$MARK.rundir") { close $rm }
    chown 0, $gid, '/run/vpn-ws';
    chmod oct($rmode), '/run/vpn-ws';

    my @dargv = map { $_ eq '$VPNWS_OPTS' ? split(' ', $opts // '') : $_ }
                split ' ', $dexec;
    $daemon_pid = fork() // die "fork: $!";
    if ($daemon_pid == 0) {
        open STDERR, '>', "$d/daemon.log";
        $) = "$gid $gid";
        $( = $gid;
        { exec(@dargv) }
        POSIX::_exit(127);      # no END blocks in a child
    }

    my $sock = '/run/vpn-ws/vpn.sock';
    for (1 .. 50) { last if -S $sock; select(undef, undef, undef, 0.1); }
    my @st = stat($sock);
    ok(@st && ($st[2] & 07777) == 0660 && $st[5] == $gid,
       sprintf('the socket: mode %04o, group %s', ($st[2] // 0) & 07777,
               scalar getgrgid($st[5] // 0) // '?'));

    # as the proxy: nobody, with and without the unit's group
    my $try = sub {
        my ($groups) = @_;
        my $pid = fork() // die;
        if ($pid == 0) {
            my $nobody = getpwnam('nobody');
            $) = $groups;
            $( = (split ' ', $groups)[0];
            $> = $< = $nobody;
            require IO::Socket::UNIX;
            POSIX::_exit(IO::Socket::UNIX->new(Peer => $sock) ? 0 : 1);
        }
        waitpid($pid, 0);
        return $? >> 8;
    };
    my $nogroup = getgrnam('nogroup');
    is($try->("$nogroup $nogroup"), 1, 'a user outside the group cannot connect');
    is($try->("$nogroup $nogroup $gid"), 0, "a member of $group (the proxy) can");

    kill 'TERM', $daemon_pid;
    waitpid($daemon_pid, 0);
    is($? >> 8, 0, 'the daemon stops on SIGTERM');
    $daemon_pid = undef;
    ok(!-e $sock, 'and removes its socket');
    rmdir '/run/vpn-ws';
    unlink "$MARK.rundir";
}

# purge: nothing of the packages stays
unlink $CONF, $AUTH;
$out = `$APT purge @PKGS 2>&1`;
is($?, 0, 'apt-get purge') or diag($out);
$installed_by_us = 0;
unlink $MARK;
ok(!installed($_), "$_ purged") for @PKGS;
ok(!-e $ENABLED && !-l $ENABLED, 'the modules-enabled link is gone');
is_deeply([sort glob('/etc/nginx/modules-enabled/*')], \@enabled_before,
          'modules-enabled as before');
ok(!-e '/etc/vpn-ws-client' && !-e '/usr/sbin/vpn-ws-client'
   && !-e '/etc/default/vpn-ws', 'no files left');
restore();
is(system('getent group vpn-ws >/dev/null') == 0 ? 1 : 0, $had_group ? 1 : 0,
   'group vpn-ws as before');
is(-e '/run/nginx.pid' ? 1 : 0, $nginx_pid_before ? 1 : 0,
   'the system nginx as before');

done_testing();
