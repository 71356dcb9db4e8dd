package FrontEnd;

# vpnws end to end: the vpn-ws daemon behind a front end other than nginx
# (Apache httpd, the uWSGI HTTP router), all in the server namespace "s"
# of an E2E object.  Each front end is a private instance: its own config,
# pid, logs and sockets in the test's directory, started in the foreground
# by a forked child so we own its pid; stop() sends the front end's own
# stop signal, waits, then SIGKILLs.  Nothing touches a system service.
# E2E's cleanup kills whatever is left in the namespaces.

use strict;
use warnings;

use JSON::PP;
use MIME::Base64;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use E2E;

my @objects;


# FrontEnd->new($e): namespaces s, a, b with uplinks 1 and 2
sub new {
    my ($class, $e) = @_;

    $e->ns($_) for qw(s a b);
    $e->uplink('a', 1);
    $e->uplink('b', 2);

    my $self = bless { e => $e, procs => {} }, $class;
    push @objects, $self;

    return $self;
}


sub e { $_[0]{e} }
sub socket_path { $_[0]{e}->dir . '/vpn.sock' }


# fork "ip netns exec s CMD..." with stdout/stderr into $log; the pid
sub spawn {
    my ($self, $name, $log, @cmd) = @_;

    my $e = $self->{e};
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$e->{dir}/$log" or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec('ip', 'netns', 'exec', $e->nsname('s'), @cmd)
            or POSIX::_exit(127);
    }

    $self->{procs}{$name} = { pid => $pid, log => $log };

    return $pid;
}


sub alive {
    my ($self, $name) = @_;

    my $p = $self->{procs}{$name} or return 0;
    return 0 if !$p->{pid} || waitpid($p->{pid}, WNOHANG) == $p->{pid};
    return 1;
}


# stop a process we spawned: $sig, up to $timeout s, then SIGKILL; its
# exit status (undef when it had to be killed)
sub stop {
    my ($self, $name, $sig, $timeout) = @_;

    my $p = $self->{procs}{$name} or return undef;
    my $pid = delete $p->{pid} or return $p->{status};

    kill($sig || 'TERM', $pid);

    my $end = time() + ($timeout || 5);

    while (time() < $end) {
        if (waitpid($pid, WNOHANG) == $pid) {
            return $p->{status} = $?;
        }
        sleep(0.05);
    }

    diag("$name did not stop on SIG" . ($sig || 'TERM') . ": killed");
    kill('KILL', $pid);
    waitpid($pid, 0);

    return $p->{status} = undef;
}


# the daemon in namespace s on our socket, logging to daemon.log
sub daemon {
    my ($self, @args) = @_;

    my $sock = $self->socket_path;

    # the socket is 0660: the front end's workers (nobody) are in its group
    $self->spawn('daemon', 'daemon.log', "$E2E::BUILD/vpn-ws", '-v',
                 '--socket-group', scalar((getpwnam('nobody'))[3]), @args,
                 $sock);

    for (1 .. 100) {
        last if -S $sock;
        die "vpn-ws exited:\n" . $self->{e}->read_file('daemon.log')
            unless $self->alive('daemon');
        sleep(0.05);
    }

    die "vpn-ws did not listen on $sock\n" unless -S $sock;
}


# a private Apache httpd in namespace s: the config is $conf after a
# prologue (ServerRoot, pid, logs, runtime dir in the test's directory,
# User nobody, the modules named by path from Debian's apache2-bin); runs
# in the foreground, logs in apache-error.log
our $APACHE = '/usr/sbin/apache2';
our $APACHE_MODULES = '/usr/lib/apache2/modules';

sub apache {
    my ($self, $conf, @modules) = @_;

    my $d = $self->{e}->dir;
    my $load = join '', map {
        "LoadModule ${_}_module $APACHE_MODULES/mod_$_.so\n"
    } 'mpm_event', @modules;

    $self->{e}->write_file('httpd.conf', <<"EOF" . $conf);
ServerRoot $d
DefaultRuntimeDir $d
PidFile $d/httpd.pid
Mutex file:$d default
ErrorLog $d/apache-error.log
LogLevel warn
ServerName localhost
User nobody
Group nogroup
$load
EOF

    $self->spawn('apache', 'apache.log', $APACHE, '-f', "$d/httpd.conf",
                 '-DFOREGROUND');
}


# wait until something in namespace s accepts on 127.0.0.1:$port
sub wait_port {
    my ($self, $port, $name, $timeout) = @_;

    my $end = time() + ($timeout || 10);

    while (time() < $end) {
        my (undef, $rc) = $self->{e}->sh('s',
            "perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new("
            . "q{127.0.0.1:$port})'", 1);
        return 1 if $rc == 0;
        return 0 if $name && !$self->alive($name);
        sleep(0.1);
    }

    return 0;
}


# an HTTP/1.0 request to 127.0.0.1:$port inside namespace s (or to
# $h{addr}:$port from namespace $h{ns}): (status, headers, body)
sub http {
    my ($self, $port, $method, $path, %h) = @_;

    my $head = "$method $path HTTP/1.0\r\nHost: localhost\r\n";
    $head .= "Authorization: Basic " . encode_base64($h{auth}, '') . "\r\n"
        if defined $h{auth};
    $head .= "$_: $h{headers}{$_}\r\n" for sort keys %{$h{headers} || {}};
    $head .= "\r\n";

    my $script = 'use IO::Socket::INET; my $s = IO::Socket::INET->new('
        . 'PeerAddr => $ARGV[0], Timeout => 5) or die "connect: $!\n";'
        . ' print $s pack("H*", $ARGV[1]); local $/; print <$s>;';

    open(my $fh, '-|', 'ip', 'netns', 'exec',
         $self->{e}->nsname($h{ns} // 's'), 'perl', '-e', $script,
         ($h{addr} // '127.0.0.1') . ":$port", unpack('H*', $head))
        or die "ip netns exec: $!";
    local $/;
    my $r = <$fh> // '';
    close $fh;

    my ($top, $body) = split /\r\n\r\n/, $r, 2;
    my ($status) = ($top // '') =~ m{^HTTP/1\.\d (\d{3})};

    return ($status // 0, $top // '', $body // '');
}


# a websocket handshake from namespace $n to $addr:$port$path with extra
# headers, held open for $secs; the response head lands in $name.log
sub raw_ws {
    my ($self, $name, $n, $hostport, $path, $headers, $secs) = @_;

    my $head = "GET $path HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    $head .= "$_: $headers->{$_}\r\n" for sort keys %$headers;
    $head .= "\r\n";

    my $script = 'use IO::Socket::INET; $| = 1; my $s = IO::Socket::INET->new('
        . 'PeerAddr => $ARGV[0], Timeout => 5) or die "connect: $!\n";'
        . ' print $s pack("H*", $ARGV[1]); my $r = "";'
        . ' while ($r !~ /\r\n\r\n/) { sysread($s, $r, 4096, length $r)'
        . ' or last } print $r; sleep $ARGV[2];';

    my $e = $self->{e};
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>', "$e->{dir}/$name.log" or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec('ip', 'netns', 'exec', $e->nsname($n), 'perl', '-e', $script,
             $hostport, unpack('H*', $head), $secs || 10)
            or POSIX::_exit(127);
    }

    $self->{procs}{$name} = { pid => $pid, log => "$name.log" };

    my $end = time() + 5;
    sleep(0.05) while time() < $end && $e->read_file("$name.log") !~ /\r\n\r\n/;

    return $e->read_file("$name.log");
}


# the daemon's JSON status through a front end's admin location
sub status {
    my ($self, $port, $path, %h) = @_;

    my (undef, undef, $body) = $self->http($port, 'GET', $path, %h);

    return eval { decode_json($body) } || { raw => $body };
}


# the peers of a status, by MAC
sub peers_by_mac {
    my ($st) = @_;

    return { map { (($_->{MAC} // '') => $_) } @{$st->{peers} || []} };
}


# what every front end must carry: clients in a and b with fixed MACs
# reach each other: ping, a 1400-byte ping, iperf3 TCP.  The Mbit/s.
sub traffic {
    my ($self, $what) = @_;

    my $e = $self->{e};

    ok($e->wait_ping('a', '10.214.0.2', 20), "$what: A pings B");

    ok(defined $e->ping_rtt('a', '10.214.0.2', 5, '-s 1400 -M do'),
       "$what: 1400-byte pings pass unfragmented");

    my ($mbps, $raw) = $e->iperf('a', 'b', '10.214.0.2', 2);
    ok($mbps && $mbps > 1, "$what: iperf3 TCP A -> B") or diag($raw);
    diag(sprintf '%s: iperf3 TCP %.0f Mbit/s', $what, $mbps // 0);

    return $mbps;
}


# the daemon log has no errors and no sanitizer reports
sub check_daemon_log {
    my ($self, $allow) = @_;

    my @bad = grep { /\[(error|alert|crit)\]|AddressSanitizer|runtime error/
                     && !($allow && /$allow/) }
              split /\n/, $self->{e}->read_file('daemon.log');

    ok(!@bad, 'no unexpected errors in the daemon log')
        or diag(join "\n", @bad);
}


sub cleanup {
    my ($self) = @_;

    return if $self->{cleaned}++;

    for my $name (sort keys %{$self->{procs}}) {
        $self->stop($name, $name eq 'daemon' ? 'TERM' : 'KILL', 3)
            if $self->{procs}{$name}{pid};
    }
}


END {
    my $rc = $?;
    $_->cleanup for @objects;
    $? = $rc;
}


1;
