package VpnwsTest;

# vpnws: a project-local nginx test harness in the style of nginx-tests'
# Test::Nginx.  One object is one nginx: a temporary prefix, a config with
# %%PLACEHOLDERS%% expanded, a master run in the foreground (daemon off) as
# our child, and a check for unexpected [alert]/[crit]/[emerg] lines at the
# end.  Whatever happens to the test (die, signal, timeout), the END block
# stops every nginx it started and kills leftover workers.
#
#   my $t = VpnwsTest->start_switch(params => 'max_frame=2k', workers => 2,
#                                   reuseport => 1);
#   my $a = $t->peer_ok(mac => '02:00:00:00:00:01');   # VpnwsWS, 101
#   my $st = $t->status;                                # decoded JSON
#   $t->done();                 # stop, "no alerts" tests, done_testing
#
# or by hand: new, has(qw(vpnws ssl)), write_file_expand('nginx.conf',
# $conf) with %%TEST_GLOBALS%%, %%TEST_GLOBALS_HTTP%%, %%PORT_8080%%,
# %%PREFIX%% (load_module is prepended unless %%LOAD_MODULE%% places it),
# run.
# Environment: VPNWS_BUILD (the module's directory), TEST_NGINX_BINARY,
# TEST_KEEP=1 (keep the prefix), TEST_VERBOSE_LOG=1 (print error.log),
# TEST_VPNWS_TIMEOUT (the per-file watchdog, seconds).

use strict;
use warnings;

use Cwd qw(abs_path);
use Fcntl qw(:flock O_RDWR O_CREAT);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More import => [qw(ok diag)];
use Time::HiRes qw(sleep time);

use VpnwsWS;

our $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $BUILD = $ENV{VPNWS_BUILD}
    || abs_path(dirname(abs_path(__FILE__)) . '/../../build');
our $MODULE = "$BUILD/ngx_http_vpnws_module.so";

my %LIVE;       # refaddr => object, for END
my $OWNER = $$;

$SIG{PIPE} = 'IGNORE';

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { diag("caught SIG$sig, cleaning up"); exit 1; };
}

# a watchdog: no test file may hang
$SIG{ALRM} = sub { die "test timed out (watchdog)\n"; };
alarm($ENV{TEST_VPNWS_TIMEOUT} || 300);

raise_nofile(8192);


sub new {
    my ($class, %opts) = @_;

    my $self = bless {
        prefix => tempdir('vpnws-test-XXXXXXXX', TMPDIR => 1,
                          CLEANUP => !$ENV{TEST_KEEP}),
        ports => {},
        locks => [],
        pid => undef,
        seen_pids => {},
        expected_alerts => [],
        files => {},
        done => 0,
    }, $class;

    chmod 0755, $self->{prefix};

    if ($ENV{TEST_KEEP}) {
        diag("TEST_KEEP: prefix $self->{prefix} is kept");
    }

    $LIVE{"$self"} = $self;

    return $self;
}


sub prefix { $_[0]{prefix} }


# skip the whole file when the module is not built (make builds it)
sub has_module {
    my ($self) = @_;

    Test::More::plan(skip_all => "module not built: $MODULE")
        unless -f $MODULE;
    Test::More::plan(skip_all => "no nginx binary: $NGINX")
        unless -x $NGINX;

    return $self;
}


# skip the whole file unless nginx has these: "vpnws" (the module), "ssl",
# "http_v2", "stream", or any http module name ("auth_request", "proxy")
sub has {
    my ($self, @features) = @_;

    my $v = `$NGINX -V 2>&1`;

    for my $f (@features) {
        my $ok;

        if ($f eq 'vpnws') {
            $self->has_module();
            next;

        } elsif ($f eq 'ssl') {
            $ok = $v =~ /--with-http_ssl_module/;

        } elsif ($f eq 'stream') {
            $ok = $v =~ /--with-stream\b/;

        } elsif ($f =~ /^(auth_request|http_v2|realip|sub|addition|dav|
                          gunzip|stub_status|secure_link|slice)$/x)
        {
            $ok = $v =~ /--with-http_${f}_module/ || $v =~ /--with-${f}_module/;

        } else {
            $ok = $v !~ /--without-http_${f}_module/;
        }

        Test::More::plan(skip_all => "nginx has no $f") unless $ok;
    }

    return $self;
}


sub plan {
    my ($self, $n) = @_;

    Test::More::plan(tests => $n);
    return $self;
}


# patterns of [alert]/[crit] lines a test expects (kill -9 and friends)
sub expect_alerts {
    my ($self, @re) = @_;

    push @{$self->{expected_alerts}}, @re;
    return $self;
}


###############################################################################
# ports

sub port {
    my ($self, $name) = @_;

    $name = 8080 unless defined $name;

    return $self->{ports}{$name} //= $self->_free_port();
}


sub _free_port {
    my ($self) = @_;

    # one lock file per port, held while we live: parallel runs (prove -j,
    # other checkouts) never share a port; the files stay, they are empty
    my $dir = ($ENV{TMPDIR} || '/tmp') . '/vpnws-test-ports';
    if (!-d $dir) {
        mkdir $dir;
        chmod 01777, $dir;      # any user's runs share it
    }

    # below the kernel's ephemeral range: between our probe and the
    # server's bind, another test's outgoing connection could take the port
    my ($low, $high) = (20000, 50000);
    if (open my $r, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        my ($eph) = split ' ', (<$r> // '');
        $high = $eph if $eph && $eph > $low + 4096 && $eph < $high;
        close $r;
    }

    for (1 .. 1000) {
        my $port = $low + int(rand($high - $low));
        my $lock = "$dir/$port.lock";

        sysopen(my $fh, $lock, O_RDWR | O_CREAT, 0666) or next;
        if (!flock($fh, LOCK_EX | LOCK_NB)) {
            close $fh;
            next;
        }

        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => $port,
            Proto => 'tcp',
            Listen => 1,
            ReuseAddr => 0,
        );

        if (!$s) {
            close $fh;
            next;
        }

        close $s;
        push @{$self->{locks}}, $fh;
        return $port;
    }

    die "no free port found\n";
}


###############################################################################
# files and config

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = "$self->{prefix}/$name";

    open my $fh, '>', $path or die "open $path: $!\n";
    print $fh $content;
    close $fh or die "close $path: $!\n";

    return $self;
}


sub write_file_expand {
    my ($self, $name, $content) = @_;

    my $p = $self->{prefix};

    my $globals = "pid $p/nginx.pid;\n"
        . "error_log $p/error.log info;\n";

    my $globals_http = "access_log $p/access.log;\n"
        . "client_body_temp_path $p/client_body_temp;\n"
        . "proxy_temp_path $p/proxy_temp;\n"
        . "fastcgi_temp_path $p/fastcgi_temp;\n"
        . "uwsgi_temp_path $p/uwsgi_temp;\n"
        . "scgi_temp_path $p/scgi_temp;\n";

    my $load = "load_module $MODULE;\n";

    # load_module must come before anything else in the main context
    if ($content !~ /%%LOAD_MODULE%%/ && $content !~ /^\s*load_module\b/m) {
        $content = "%%LOAD_MODULE%%\n" . $content;
    }

    $content =~ s/%%LOAD_MODULE%%/$load/g;
    $content =~ s/%%TEST_GLOBALS%%/$globals/g;
    $content =~ s/%%TEST_GLOBALS_HTTP%%/$globals_http/g;
    $content =~ s/%%PREFIX%%/$p/g;
    $content =~ s/%%BUILD%%/$BUILD/g;
    $content =~ s/%%PORT_(\w+)%%/$self->port($1)/ge;

    $self->{files}{$name} = $content;

    return $self->write_file($name, $content);
}


sub read_file {
    my ($self, $name) = @_;

    my $path = $name =~ m{^/} ? $name : "$self->{prefix}/$name";

    open my $fh, '<', $path or return '';
    local $/;
    my $content = <$fh>;
    close $fh;

    return $content;
}


# a config with one switch "sw": /vpn and /status on PORT_8080
sub switch_conf {
    my ($self, %o) = @_;

    my $params = $o{params} // '';
    my $workers = $o{workers} // 1;
    my $conns = $o{connections} // 1024;
    my $reuseport = $o{reuseport} ? ' reuseport' : '';
    my $http = $o{http} // '';
    my $server = $o{server} // '';
    # suites of switching rules ask for bridge mode freely; the policy
    # suites (t/25-* .. t/29-*) pass their own, or '' for the defaults
    my $policy = $o{policy} // 'vpnws_bridge on;';

    return <<"EOF";
%%TEST_GLOBALS%%
worker_processes $workers;
worker_shutdown_timeout 10s;

events {
    worker_connections $conns;
}

http {
    %%TEST_GLOBALS_HTTP%%

    vpnws_switch sw $params;
$http
    server {
        listen 127.0.0.1:%%PORT_8080%%$reuseport;
        server_name localhost;

        location /vpn {
            vpnws sw;
            $policy
        }

        location /status {
            vpnws_status sw;
        }
$server
    }
}
EOF
}


# new + has_module + config with one switch + run, in one call
sub start_switch {
    my ($class, %o) = @_;

    my $t = ref $class ? $class : $class->new();

    $t->has_module();
    $t->plan($o{plan}) if $o{plan};
    $t->write_file_expand('nginx.conf', $t->switch_conf(%o));
    $t->run();

    return $t;
}


###############################################################################
# process control

sub test_config {
    my ($self, $name) = @_;

    $name //= 'nginx.conf';

    my $p = $self->{prefix};
    local $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_PRELOAD}
        if $ENV{TEST_NGINX_PRELOAD};
    my $out = `$NGINX -t -p $p/ -c $name -e $p/error-t.log 2>&1`;
    my $rc = $? >> 8;

    return ($rc, $out);
}


sub run {
    my ($self, %o) = @_;

    die "nginx already running\n" if $self->{pid};

    my $p = $self->{prefix};
    my $name = $o{conf} || 'nginx.conf';

    my $pid = fork();
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        # let the master die with us (SIGTERM: fast shutdown of workers too)
        eval { syscall(157, 1, 15) } if $^O eq 'linux'
            && (POSIX::uname())[4] eq 'x86_64';

        open STDOUT, '>>', "$p/stderr" or POSIX::_exit(127);
        open STDERR, '>>', "$p/stderr" or POSIX::_exit(127);

        # a sanitizer build of the module needs its runtime in nginx
        $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_PRELOAD}
            if $ENV{TEST_NGINX_PRELOAD};

        exec($NGINX, '-p', "$p/", '-c', $name, '-e', "$p/error.log",
             '-g', 'daemon off; master_process on;')
            or POSIX::_exit(127);
    }

    $self->{pid} = $pid;

    # ready: the master is alive, the port answers and workers exist
    my $deadline = time() + 10;
    # the ports this config listens on
    my $conf = $self->{files}{$name} // $self->read_file($name);
    my @ports = grep { $conf =~ /\blisten\s+(\S+:)?$_\b/ }
        values %{$self->{ports}};
    # every worker, not just the first one, before a test counts them
    my ($nworkers) = $conf =~ /^\s*worker_processes\s+(\d+)\s*;/m;
    $nworkers ||= 1;

    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $rc = $?;
            $self->{pid} = undef;
            die "nginx exited at start (status $rc):\n"
                . $self->read_file('stderr') . $self->read_file('error.log');
        }

        my $up = 1;
        for my $port (@ports) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port,
                                          Proto => 'tcp');
            if (!$s) {
                $up = 0;
                last;
            }
            close $s;
        }

        last if $up && $self->worker_pids() >= $nworkers;

        if (time() > $deadline) {
            die "nginx did not start listening within 10s:\n"
                . $self->read_file('error.log');
        }

        sleep(0.05);
    }

    $self->worker_pids();   # remember them

    return $self;
}


sub master_pid { $_[0]{pid} }


sub _children {
    my ($ppid) = @_;

    my @pids;

    opendir(my $d, '/proc') or return ();

    for my $pid (readdir $d) {
        next unless $pid =~ /^\d+$/;

        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh>;
        close $fh;

        next unless defined $stat;
        # pid (comm) state ppid ...; comm may hold spaces
        $stat =~ s/^.*\)\s+//s;
        my (undef, $parent) = split /\s+/, $stat;

        push @pids, $pid + 0 if $parent == $ppid;
    }

    closedir $d;

    return sort { $a <=> $b } @pids;
}


# the master's children (workers, old workers still shutting down)
sub worker_pids {
    my ($self) = @_;

    return () unless $self->{pid};

    my @pids = grep { $self->_title($_) =~ /worker process/ }
        _children($self->{pid});

    $self->{seen_pids}{$_} = 1 for @pids;

    return @pids;
}


# workers that are not shutting down
sub active_worker_pids {
    my ($self) = @_;

    return grep { $self->_title($_) !~ /shutting down/ } $self->worker_pids();
}


sub _title {
    my ($self, $pid) = @_;

    open my $fh, '<', "/proc/$pid/cmdline" or return '';
    local $/;
    my $t = <$fh> // '';
    close $fh;
    $t =~ s/\0+/ /g;

    return $t;
}


sub pid_alive {
    my ($self, $pid) = @_;

    return 0 unless kill(0, $pid);

    # a zombie is gone for our purposes
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    close $fh;
    $stat =~ s/^.*\)\s+//s;

    return $stat !~ /^Z/;
}


# wait until none of @pids runs; 1 if so within $timeout
sub wait_pids_gone {
    my ($self, $timeout, @pids) = @_;

    my $deadline = time() + $timeout;

    while (time() < $deadline) {
        $self->_reap();
        return 1 unless grep { $self->pid_alive($_) } @pids;
        sleep(0.05);
    }

    return 0;
}


sub _reap {
    my ($self) = @_;

    return unless $self->{pid};

    if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
        $self->{exit_status} = $?;
        $self->{pid} = undef;
    }
}


sub signal {
    my ($self, $sig) = @_;

    die "nginx is not running\n" unless $self->{pid};
    $self->worker_pids();

    kill($sig, $self->{pid});

    return $self;
}


# HUP, then wait until new workers run; returns the old workers' pids
sub reload {
    my ($self, %o) = @_;

    my %old = map { $_ => 1 } $self->worker_pids();
    my $want = $o{workers} || scalar(keys %old) || 1;

    $self->signal('HUP');

    my $deadline = time() + ($o{timeout} || 10);

    while (time() < $deadline) {
        my @new = grep { !$old{$_} } $self->active_worker_pids();
        return sort { $a <=> $b } keys %old if @new >= $want;
        sleep(0.05);
    }

    die "reload: no new workers within 10s:\n" . $self->read_file('error.log');
}


# wait for the master to exit; 1 if it did within $timeout
sub wait_exit {
    my ($self, $timeout) = @_;

    my $deadline = time() + $timeout;

    while ($self->{pid} && time() < $deadline) {
        $self->_reap();
        last unless $self->{pid};
        sleep(0.05);
    }

    return $self->{pid} ? 0 : 1;
}


sub stop {
    my ($self, %o) = @_;

    my $timeout = $o{timeout} || 15;

    if ($self->{pid}) {
        $self->worker_pids();
        kill('QUIT', $self->{pid});

        if (!$self->wait_exit($timeout)) {
            $self->{stop_failed} = "nginx did not exit within ${timeout}s "
                . "of QUIT";
            kill('TERM', $self->{pid});

            if (!$self->wait_exit(5)) {
                kill('KILL', $self->{pid});
                $self->wait_exit(5);
            }
        }
    }

    $self->_kill_leftovers();

    return $self;
}


sub _kill_leftovers {
    my ($self) = @_;

    my @left = grep { $self->pid_alive($_) } keys %{$self->{seen_pids}};

    if (@left) {
        $self->{leftovers} = [@left];
        kill('KILL', @left);
        $self->wait_pids_gone(5, @left);
    }
}


###############################################################################
# the error log

sub error_log_lines {
    my ($self, $re) = @_;

    my @lines = split /\n/, $self->read_file('error.log');

    return defined $re ? grep { $_ =~ $re } @lines : @lines;
}


sub unexpected_alerts {
    my ($self) = @_;

    my @alerts = $self->error_log_lines(qr/\[(alert|crit|emerg)\]/);
    my @exp = @{$self->{expected_alerts}};

    return grep {
        my $l = $_;
        !grep { $l =~ $_ } @exp;
    } @alerts;
}


# wait until the error log matches $re; returns the matching lines
sub wait_log {
    my ($self, $re, $timeout) = @_;

    my $deadline = time() + ($timeout || 5);

    while (1) {
        my @l = $self->error_log_lines($re);
        return @l if @l || time() > $deadline;
        sleep(0.05);
    }
}


# stop nginx, then the "no alerts" tests; call instead of done_testing
sub done {
    my ($self, %o) = @_;

    $self->stop();
    $self->{done} = 1;

    my @bad = $self->unexpected_alerts();
    ok(!@bad, 'no unexpected alerts in error.log')
        or diag(join "\n", @bad);

    ok(!$self->{stop_failed} && !$self->{leftovers},
       'nginx exited on QUIT, no leftover processes')
        or diag($self->{stop_failed} // '',
                " leftovers: @{$self->{leftovers} || []}");

    delete $LIVE{"$self"};

    Test::More::done_testing() unless $o{no_done_testing}
        || Test::More->builder->has_plan;

    return $self;
}


sub _cleanup {
    my ($self) = @_;

    return if $self->{cleaned}++;

    $self->stop(timeout => 5) if $self->{pid} || %{$self->{seen_pids}};

    if (!$self->{done}) {
        my @bad = $self->unexpected_alerts();
        diag("unexpected alerts in error.log:\n" . join("\n", @bad)) if @bad;
    }

    if (!$self->{done} || $ENV{TEST_VERBOSE_LOG}) {
        if ($ENV{TEST_VERBOSE_LOG} || !Test::More->builder->is_passing) {
            diag("error.log:\n" . $self->read_file('error.log'));
        }
    }

    delete $LIVE{"$self"};
}


sub DESTROY {
    my ($self) = @_;

    # may run while perl exits after a die: keep its exit status
    local ($?, $!, $@);

    return unless $$ == $OWNER;
    $self->_cleanup();
}


my $NETNS;

END {
    if ($$ == $OWNER) {
        my $status = $?;
        $_->_cleanup() for values %LIVE;
        system('ip', 'netns', 'del', $NETNS) if $NETNS;
        $? = $status;
    }
}


# move this test (and every nginx it starts) into a network namespace of
# its own, named after its pid, with lo up: for tests with tap devices.
# Skips the file where that cannot be done (not root, no ip, not x86_64).
sub enter_netns {
    my ($class) = @_;

    Test::More::plan(skip_all => 'a network namespace needs root')
        if $> != 0;
    Test::More::plan(skip_all => 'setns() is called for x86_64 linux only')
        unless $^O eq 'linux' && (POSIX::uname())[4] eq 'x86_64';

    my $ns = "vpnws-t$$";

    system('ip', 'netns', 'add', $ns) == 0
        or Test::More::plan(skip_all => "ip netns add $ns failed");
    $NETNS = $ns;

    open my $fh, '<', "/run/netns/$ns" or die "/run/netns/$ns: $!\n";
    syscall(308, fileno($fh), 0x40000000) == 0      # setns(CLONE_NEWNET)
        or die "setns($ns): $!\n";
    close $fh;

    system('ip', 'link', 'set', 'lo', 'up') == 0 or die "lo up failed\n";

    return $ns;
}


###############################################################################
# helpers for tests

# a websocket peer on /vpn; options as VpnwsWS->connect
sub peer {
    my ($self, %o) = @_;

    my $ws = VpnwsWS->connect(
        port => $self->port($o{port_name}),
        path => $o{path} // '/vpn',
        %o,
    );

    return $ws;
}


# a peer that must be accepted (dies otherwise)
sub peer_ok {
    my ($self, %o) = @_;

    my $ws = $self->peer(%o);

    die "peer refused: $ws->{status} $ws->{reason}\n"
        . $self->read_file('error.log') unless $ws->{status} == 101;

    return $ws;
}


sub http_get {
    my ($self, $uri, %o) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->port($o{port_name}),
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!\n";

    my $method = $o{method} || 'GET';
    my $len = $method eq 'POST' ? "Content-Length: 0\r\n" : '';
    my $host = $o{host} || 'localhost';

    $s->syswrite("$method $uri HTTP/1.0\r\nHost: $host\r\n$len\r\n");

    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time() + ($o{timeout} || 5);

    while (time() < $deadline) {
        last unless $sel->can_read($deadline - time());
        my $n = $s->sysread($buf, 65536, length $buf);
        last unless $n;
    }

    close $s;

    return $buf;
}


# a kill through the status location: POST, as it must be
sub http_post {
    my ($self, $uri, %o) = @_;

    return $self->http_get($uri, %o, method => 'POST');
}


# the status location's JSON, decoded (undef if not JSON)
sub status {
    my ($self, %o) = @_;

    my $r = $self->http_get($o{uri} || '/status', %o);
    my ($head, $body) = split /\r\n\r\n/, $r, 2;

    return undef unless defined $body;
    return eval { JSON::PP->new->decode($body) };
}


# the status entry of the peer with this MAC (any case, with colons)
sub status_peer {
    my ($self, $mac, %o) = @_;

    my $st = $self->status(%o) or return undef;

    for my $p (@{$st->{peers} || []}) {
        return $p if defined $p->{MAC} && lc $p->{MAC} eq lc $mac;
    }

    return undef;
}


# the switch's drop counters { reason => count } (empty if none shown)
sub drops {
    my ($self, %o) = @_;

    my $st = $self->status(%o) or return {};

    return $st->{drops} if ref $st->{drops} eq 'HASH';
    return {};
}


# the pid of the nginx process that holds this websocket's connection
sub worker_of {
    my ($self, $ws) = @_;

    my $lport = $ws->{sock}->sockport();
    my $rport = $ws->{sock}->peerport();
    my $inode;

    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (my $l = <$fh>) {
            my @c = split ' ', $l;
            next unless @c > 9 && $c[1] =~ /:([0-9A-F]{4})$/i;
            next unless hex($1) == $rport;
            next unless $c[2] =~ /:([0-9A-F]{4})$/i && hex($1) == $lport;
            $inode = $c[9];
        }
        close $fh;
        last if $inode;
    }

    return undef unless $inode;

    for my $pid ($self->worker_pids()) {
        opendir(my $d, "/proc/$pid/fd") or next;
        for my $fd (readdir $d) {
            my $l = readlink("/proc/$pid/fd/$fd") // next;
            return $pid if $l eq "socket:[$inode]";
        }
        closedir $d;
    }

    return undef;
}


sub rss_kb {
    my ($self, $pid) = @_;

    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (my $l = <$fh>) {
        return $1 if $l =~ /^VmRSS:\s+(\d+)/;
    }

    return undef;
}


# traffic among the peers in @$p (peer $i sends from $mac->($i)) for
# $o{seconds}, while $o{event}->($elapsed) disrupts nginx; closed peers are
# replaced with $o{connect}->($i) (undef: refused, retried next round).
# Returns ($sent, $reconnects, $refused).
sub churn {
    my ($self, $p, %o) = @_;

    my ($sent, $reconnects, $refused) = (0, 0, 0);
    my $n = @$p;
    my $start = time();

    while (time() - $start < $o{seconds}) {
        $o{event}->(time() - $start) if $o{event};

        for my $i (0 .. $n - 1) {
            my $ws = $p->[$i];

            if (!$ws || $ws->{eof} || $ws->{closed}) {
                $ws->close() if $ws;
                $p->[$i] = $ws = $o{connect}->($i);
                if ($ws) {
                    $reconnects++;
                } else {
                    $refused++;
                    next;
                }
            }

            my $j = ($i + 1 + int rand($n - 1)) % $n;
            my $dst = rand() < 0.2 ? 'ff:ff:ff:ff:ff:ff' : $o{mac}->($j);
            eval {
                $ws->send_eth($dst, $o{mac}->($i), 0x0800,
                              'x' x int rand 1400, timeout => 2);
                $sent++;
            };
            $ws->{eof} = 1 if $@;
        }

        # read whatever arrived, notice closes
        VpnwsWS->collect([grep { defined } @$p], timeout => 0.01);
    }

    return ($sent, $reconnects, $refused);
}


# raise RLIMIT_NOFILE (prlimit64 on x86_64 linux; else leave it)
sub raise_nofile {
    my ($want) = @_;

    return unless $^O eq 'linux' && (POSIX::uname())[4] eq 'x86_64';

    my $old = "\0" x 16;
    return if syscall(302, 0, 7, 0, $old) != 0;     # prlimit64 NOFILE

    my ($cur, $max) = unpack('QQ', $old);
    return if $cur >= $want;

    my $new = pack('QQ', ($max < $want ? $max : $want), $max);
    syscall(302, 0, 7, $new, 0);
}


sub nofile_limit {
    open my $fh, '<', '/proc/self/limits' or return undef;
    while (my $l = <$fh>) {
        return $1 if $l =~ /^Max open files\s+(\d+)/;
    }
    return undef;
}


1;
