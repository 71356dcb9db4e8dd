#!/usr/bin/perl

# The daemon's unix socket is not world-writable: mode 0660 by default,
# --socket-mode, --socket-owner and --socket-group set it (for the admin
# socket too); the admin (list, kill) can live on its own socket (--admin
# PATH) or nowhere (--admin off), and then <socket> refuses admin requests
# with 403 while websockets go on.  The original's command line (just a
# socket) keeps working.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Test::More;

use Daemon;
use VpnwsTest;

Daemon::has_daemon();

plan(skip_all => 'needs root (socket owners, another user)') if $> != 0;

my $t = VpnwsTest->new();
my $dir = $t->prefix;
my ($nobody_uid, $nobody_gid) = (getpwnam('nobody'))[2, 3];

# as user nobody (group nogroup only): can it connect to $path?  (errno)
sub connect_as_nobody {
    my ($path) = @_;

    my $pid = fork() // die "fork: $!\n";

    if ($pid == 0) {
        POSIX::setgroups($nobody_gid) if defined &POSIX::setgroups;
        $( = $) = "$nobody_gid $nobody_gid";
        POSIX::setgid($nobody_gid);
        POSIX::setuid($nobody_uid) or POSIX::_exit(100);
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path);
        POSIX::_exit($s ? 0 : ($! + 0));
    }

    waitpid($pid, 0);
    return $? >> 8;
}

# a uwsgi request straight to a socket: (status code, body)
sub uwsgi_get {
    my ($path, $modifier1, @vars) = @_;

    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
        or return (0, "connect: $!");
    $s->syswrite(Daemon::uwsgi_packet($modifier1, REQUEST_METHOD => 'GET',
                                      REQUEST_URI => '/status',
                                      PATH_INFO => '/status',
                                      QUERY_STRING => '', @vars));
    my $buf = '';
    while (1) {
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    my ($code) = $buf =~ m{^HTTP/1\.\d (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $buf, 2;
    return ($code // 0, $body // '');
}

my $handshake = Daemon::uwsgi_packet(0, REQUEST_METHOD => 'GET',
    REQUEST_URI => '/vpn', SERVER_PROTOCOL => 'HTTP/1.1',
    HTTP_UPGRADE => 'websocket', HTTP_CONNECTION => 'Upgrade',
    HTTP_SEC_WEBSOCKET_KEY => 'dGhlIHNhbXBsZSBub25jZQ==',
    HTTP_SEC_WEBSOCKET_VERSION => '13', REMOTE_ADDR => '192.0.2.1');

sub joins {
    my ($path) = @_;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
        or return 0;
    $s->syswrite($handshake);
    sysread($s, my $buf, 4096);
    return ($buf // '') =~ m{^HTTP/1\.1 101 } ? $s : 0;
}

###############################################################################
# the original command line: vpn-ws <socket>, default permissions

my $sock = "$dir/a.sock";
my $d = Daemon->start($t, socket => $sock, args => ['--socket-group', '0']);

my @st = stat $sock;
is($st[2] & 07777, 0660, 'default mode 0660');
is($st[4], 0, 'owner: the starting user');
is($st[5], 0, 'group: as --socket-group says');
is(connect_as_nobody($sock), POSIX::EACCES,
   'another local user cannot connect');
ok(joins($sock), 'a websocket joins');
my ($code, $body) = uwsgi_get($sock, 1);
is($code, 200, 'the admin is on <socket> by default (modifier1 1)');
$d->stop();

###############################################################################
# --socket-mode, --socket-owner, --socket-group

$d = Daemon->start($t, socket => $sock,
                   args => ['--socket-owner', 'nobody', '--socket-group',
                            'nogroup', '--socket-mode', '0640']);
@st = stat $sock;
is($st[2] & 07777, 0640, '--socket-mode 0640');
is($st[4], $nobody_uid, '--socket-owner nobody');
is($st[5], (getgrnam('nogroup'))[2], '--socket-group nogroup');
$d->stop();

$d = Daemon->start($t, socket => $sock,
                   args => ['--socket-group', '0', '--socket-mode', '666']);
is((stat $sock)[2] & 07777, 0666, '--socket-mode 666: the original\'s');
is(connect_as_nobody($sock), 0, 'which every local user can connect to');
$d->stop();

###############################################################################
# --admin off

$d = Daemon->start($t, socket => $sock, args => ['--admin', 'off']);
($code, $body) = uwsgi_get($sock, 1);
is($code, 403, '--admin off: an admin request (modifier1 1) gets 403');
($code) = uwsgi_get($sock, 0, VPNWS_ADMIN => 'on');
is($code, 403, 'and so does VPNWS_ADMIN on');
ok($d->log_text() =~ /refused an admin request .*off/,
   'and a log line says why');
ok(joins($sock), 'websockets still join');
$d->stop();

###############################################################################
# --admin PATH

my $admin = "$dir/admin.sock";
$d = Daemon->start($t, socket => $sock,
                   args => ['--admin', $admin, '--socket-mode', '0600']);
ok(-S $admin, 'the admin socket exists');
is((stat $admin)[2] & 07777, 0600, 'with the socket options');
my $peer = joins($sock);
ok($peer, 'a websocket joins <socket>');
($code, $body) = uwsgi_get($admin, 0);
is($code, 200, 'the admin answers on its own socket (any modifier1)');
my $st = eval { JSON::PP->new->decode($body) } || {};
is(scalar @{$st->{peers} || []}, 1, 'and lists the peer');
($code) = uwsgi_get($sock, 1);
is($code, 403, '<socket> refuses admin requests');
my $id = $st->{peers}[0]{id};
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $admin);
$s->syswrite(Daemon::uwsgi_packet(0, REQUEST_METHOD => 'POST',
                                  PATH_INFO => '/status',
                                  QUERY_STRING => "kill=$id"));
sysread($s, my $kbuf, 4096);
like($kbuf // '', qr{^HTTP/1\.1 200}, 'kill on the admin socket')
    or diag($kbuf);
ok(Daemon::wait_eof($peer, 3), 'the peer is gone');
$d->stop();
ok(!-e $admin, 'the admin socket is removed at exit');

done_testing();
