package Daemon;

# vpnws: the vpn-ws daemon in tests.  One object is one daemon process
# (build/vpn-ws, or $ENV{TEST_VPNWS_DAEMON}, e.g. the ASan build) on a
# unix socket in a VpnwsTest prefix, its stderr in "daemon.log" there.
# Daemon::Target is the daemon behind Debian's nginx (uwsgi_pass), the
# shape SwitchCases drives.  Whatever happens to the test (die, signal,
# watchdog), the END block kills every daemon started and removes sockets.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);

use VpnwsTest;

our $BINARY = $ENV{TEST_VPNWS_DAEMON} || "$VpnwsTest::BUILD/vpn-ws";

my %LIVE;
my $OWNER = $$;


# skip the whole file when the daemon is not built (make builds it)
sub has_daemon {
    Test::More::plan(skip_all => "daemon not built: $BINARY")
        unless -x $BINARY;
}


# the daemon built with ASan + UBSan when there is one (a parser's
# robustness is best seen there), unless TEST_VPNWS_DAEMON names another
sub prefer_asan {
    $BINARY = "$VpnwsTest::BUILD/asan/vpn-ws"
        if !$ENV{TEST_VPNWS_DAEMON} && -x "$VpnwsTest::BUILD/asan/vpn-ws";
    Test::More::note("daemon: $BINARY");
}


# Daemon->start($t, args => [...], socket => path, log => path,
#               wrap => [command before the binary, e.g. a shell])
sub start {
    my ($class, $t, %o) = @_;

    my $self = bless {
        t => $t,
        socket => $o{socket} // $t->prefix . '/vpn.sock',
        log => $o{log} // $t->prefix . '/daemon.log',
        args => $o{args} || [],
        wrap => $o{wrap} || [],
        pid => undef,
    }, $class;

    $LIVE{"$self"} = $self;

    $self->run();

    return $self;
}


sub socket_path { $_[0]{socket} }
sub pid { $_[0]{pid} }


sub run {
    my ($self, %o) = @_;

    die "daemon already running\n" if $self->{pid};

    $self->{args} = $o{args} if $o{args};

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        # die with the test (PR_SET_PDEATHSIG)
        eval { syscall(157, 1, 9) } if $^O eq 'linux'
            && (POSIX::uname())[4] eq 'x86_64';

        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or POSIX::_exit(127);
        open STDERR, '>>', $self->{log} or POSIX::_exit(127);

        # the socket is 0660: the test's nginx workers (nobody) are in
        # its group, as an operator sets it up (a test's own options win)
        my @group = ('--socket-group', scalar((getpwnam('nobody'))[3]));

        exec(@{$self->{wrap}}, $BINARY, '-v', @group, @{$self->{args}},
             $self->{socket})
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    my $deadline = time() + 10;

    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            die "vpn-ws exited at start (status $?):\n" . $self->log_text();
        }

        my $s = $self->connect_raw(1);
        if ($s) {
            close $s;
            last;
        }

        die "vpn-ws did not listen within 10s:\n" . $self->log_text()
            if time() > $deadline;

        sleep(0.05);
    }

    return $self;
}


# SIGTERM, wait; the exit status (undef if it had to be killed)
sub stop {
    my ($self, %o) = @_;

    my $pid = $self->{pid} or return $self->{status};

    kill($o{signal} || 'TERM', $pid);

    my $deadline = time() + ($o{timeout} || 5);

    while (time() < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{status} = $?;
            $self->{pid} = undef;
            return $self->{status};
        }
        sleep(0.02);
    }

    kill('KILL', $pid);
    waitpid($pid, 0);
    $self->{pid} = undef;
    $self->{status} = undef;
    $self->{stop_failed} = 1;

    return undef;
}


sub restart {
    my ($self, %o) = @_;

    $self->stop();
    $self->run(%o);

    return $self;
}


sub alive {
    my ($self) = @_;

    return 0 unless $self->{pid};
    return 0 if waitpid($self->{pid}, WNOHANG) == $self->{pid};
    return kill(0, $self->{pid});
}


sub log_text {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return '';
    local $/;
    my $text = <$fh> // '';
    close $fh;

    return $text;
}


sub log_lines {
    my ($self, $re) = @_;

    my @l = split /\n/, $self->log_text();

    return defined $re ? grep { $_ =~ $re } @l : @l;
}


# wait until the log has more than $n lines matching $re; those lines
sub wait_log {
    my ($self, $re, $timeout, $n) = @_;

    $n //= 0;
    my $deadline = time() + ($timeout || 5);

    while (1) {
        my @l = $self->log_lines($re);
        return @l if @l > $n || time() > $deadline;
        sleep(0.05);
    }
}


# a raw connection to the daemon's socket (unix path or host:port)
sub connect_raw {
    my ($self, $may_fail) = @_;

    my $spec = $self->{socket};
    my $s;

    if ($spec =~ m{^[/.]} || $spec !~ /:/) {
        $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $spec);

    } else {
        $s = IO::Socket::INET->new(PeerAddr => $spec, Proto => 'tcp',
                                   Timeout => 3);
    }

    die "connect $spec: $!\n" unless $s || $may_fail;

    return $s;
}


# a uwsgi packet: modifier1, then vars as a list of key => value
sub uwsgi_packet {
    my ($modifier1, @vars) = @_;

    my $body = '';

    while (@vars) {
        my ($k, $v) = splice @vars, 0, 2;
        $body .= pack('v', length $k) . $k . pack('v', length $v) . $v;
    }

    return pack('CvC', $modifier1, length $body, 0) . $body;
}


# 1 if the server closes $s within $timeout (data before EOF is ignored)
sub wait_eof {
    my ($s, $timeout) = @_;

    my $sel = IO::Select->new($s);
    my $deadline = time() + ($timeout // 5);

    while (time() < $deadline) {
        next unless $sel->can_read($deadline - time());
        my $n = sysread($s, my $buf, 65536);
        return 1 if !defined $n || $n == 0;
    }

    return 0;
}


sub _cleanup {
    my ($self) = @_;

    return if $self->{cleaned}++;

    $self->stop(timeout => 3) if $self->{pid};
    unlink $self->{socket} if $self->{socket} =~ m{^/} && -S $self->{socket};

    delete $LIVE{"$self"};
}


sub DESTROY {
    my ($self) = @_;

    return unless $$ == $OWNER;
    $self->_cleanup();
}


END {
    if ($$ == $OWNER) {
        my $status = $?;
        $_->_cleanup() for values %LIVE;
        $? = $status;
    }
}


###############################################################################
# the daemon behind nginx: the target SwitchCases drives

package Daemon::Target;

use strict;
use warnings;

use VpnwsTest;


# nginx with /vpn and /status passed to the daemon's socket
sub nginx_conf {
    my ($t, $sock, %o) = @_;

    my $params = $o{params} // '';
    my $p = $t->prefix;
    my $port = $t->port();
    my $workers = $o{workers} || 1;
    my $reuseport = $workers > 1 ? ' reuseport' : '';

    return <<"EOF";
pid $p/nginx.pid;
error_log $p/error.log info;
worker_processes $workers;

events {
    worker_connections 1024;
}

http {
    access_log $p/access.log;
    client_body_temp_path $p/client_body_temp;
    proxy_temp_path $p/proxy_temp;
    fastcgi_temp_path $p/fastcgi_temp;
    uwsgi_temp_path $p/uwsgi_temp;
    scgi_temp_path $p/scgi_temp;

    server {
        listen 127.0.0.1:$port$reuseport;
        server_name localhost;

        location /vpn {
            include /etc/nginx/uwsgi_params;
            $params
            uwsgi_pass unix:$sock;
            uwsgi_read_timeout 1h;
            uwsgi_send_timeout 1h;
        }

        location /status {
            include /etc/nginx/uwsgi_params;
            uwsgi_modifier1 1;
            uwsgi_pass unix:$sock;
        }
    }
}
EOF
}


# options as SwitchCases passes them -> vpn-ws arguments
sub daemon_args {
    my (%o) = @_;

    my @a;

    push @a, '--no-broadcast' if defined $o{broadcast} && !$o{broadcast};
    push @a, '--no-multicast' if defined $o{multicast} && !$o{multicast};
    push @a, '--isolation' if $o{isolation};
    push @a, '--bridge-macs', $o{bridge_macs} if $o{bridge_macs};
    push @a, '--mac-aging', $o{mac_aging} if $o{mac_aging};
    push @a, '--max-frame', $o{max_frame} if $o{max_frame};
    push @a, '--queue', $o{queue} if $o{queue};
    push @a, '--peers-per-user', 2 if $o{policy};
    push @a, @{$o{args}} if $o{args};

    return @a;
}


# Daemon::Target->new(%options): nginx + daemon, both running; options as
# restart's, plus workers => N (nginx workers, reuseport)
sub new {
    my ($class, %o) = @_;

    my $t = VpnwsTest->new();

    Test::More::plan(skip_all => "no nginx binary: $VpnwsTest::NGINX")
        unless -x $VpnwsTest::NGINX;

    my $self = bless { t => $t }, $class;

    $self->{daemon} = Daemon->start($t, args => [daemon_args(%o)]);

    $t->write_file('nginx.conf',
                   nginx_conf($t, $self->{daemon}->socket_path,
                              workers => $o{workers}));
    $self->{workers} = $o{workers};
    $t->run();

    return $self;
}


sub name { 'daemon' }
sub t { $_[0]{t} }
sub daemon { $_[0]{daemon} }


# the grants from the request's query, passed as the VPNWS_* variables
my $POLICY = join ' ', map { "uwsgi_param VPNWS_$_->[0] \$arg_$_->[1];" }
             [BRIDGE => 'grant'], [MAC => 'mac'], [IP => 'ip'],
             [RATE => 'rate'], [USER => 'user'];


sub restart {
    my ($self, %o) = @_;

    my $t = $self->{t};
    my $params = $o{policy} ? $POLICY : '';

    if (($self->{params} // '') ne $params) {
        $t->stop();
        $t->write_file('nginx.conf',
                       nginx_conf($t, $self->{daemon}->socket_path,
                                  workers => $self->{workers},
                                  params => $params));
        $self->{params} = $params;
        $self->{daemon}->restart(args => [daemon_args(%o)]);
        $t->run();
        return $self;
    }

    $self->{daemon}->restart(args => [daemon_args(%o)]);

    return $self;
}


# a websocket peer through nginx, whatever the answer
sub try_peer {
    my ($self, %o) = @_;

    return $self->{t}->peer(%o);
}


sub peer {
    my ($self, %o) = @_;

    my $ws = $self->try_peer(%o);

    die "peer refused: $ws->{status} $ws->{reason}\n"
        . $self->{daemon}->log_text() unless $ws->{status} == 101;

    return $ws;
}


sub status {
    my ($self) = @_;

    return $self->{t}->status();
}


# the log line of the switch (the daemon's stderr)
sub wait_log {
    my ($self, $re, $timeout, $n) = @_;

    return $self->{daemon}->wait_log($re, $timeout, $n);
}


# two peers switching to each other while a test throws bad input at the
# daemon: $pair->ok($what) checks that they still do, both ways
sub pair {
    my ($self, $mac_a, $mac_b) = @_;

    return Daemon::Pair->new($self, $mac_a, $mac_b);
}


# stop both; the "no alerts" tests of nginx; the daemon's exit status
sub done {
    my ($self) = @_;

    my $status = $self->{daemon}->stop();

    Test::More::is($status, 0, 'vpn-ws exited 0 on SIGTERM')
        or Test::More::diag($self->{daemon}->log_text());

    my @bad = $self->{daemon}->log_lines(qr/AddressSanitizer|runtime error/);
    Test::More::ok(!@bad, 'no sanitizer reports in the daemon log')
        or Test::More::diag(join "\n", @bad);

    $self->{t}->done(no_done_testing => 1);
}



package Daemon::Pair;

use strict;
use warnings;

use Test::More ();

use VpnwsWS qw(eth_parse);


sub new {
    my ($class, $target, $mac_a, $mac_b) = @_;

    return bless {
        macs => [$mac_a, $mac_b],
        ws => [$target->peer(mac => $mac_a), $target->peer(mac => $mac_b)],
        n => 0,
    }, $class;
}


sub ok {
    my ($self, $what) = @_;

    my ($A, $B) = @{$self->{macs}};
    my ($a, $b) = @{$self->{ws}};
    my $n = ++$self->{n};

    $a->send_eth($B, $A, 0x0800, "a to b $n");
    $b->send_eth($A, $B, 0x0800, "b to a $n");

    my @fb = eth_parse($b->recv_eth(3));
    my @fa = eth_parse($a->recv_eth(3));

    return Test::More::ok(($fb[3] // '') eq "a to b $n"
                          && ($fa[3] // '') eq "b to a $n",
                          "$what: the peer pair still switches");
}


sub close {
    my ($self) = @_;

    $_->close(clean => 1) for @{$self->{ws}};
}


1;
