package E2E;

# End-to-end helpers: network namespaces joined by veth pairs, nginx with
# the vpnws module in a namespace of its own, vpn-ws-client processes with
# real tap devices in others.  Everything is named "vwe<pid><letter>" and
# torn down in END (and on SIGINT/SIGTERM/die), so a failing test leaves
# nothing behind; namespaces of dead earlier runs are removed at start.
#
# Layout made by the tests: server namespace "s" has 10.213.N.1/24 and
# fd13:213:N::1/64 on a veth to client namespace N (10.213.N.2); the VPN
# overlay is 10.214.0.0/24 on the tap devices.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $BUILD = $ENV{VPNWS_BUILD} || "$ROOT/build";
our $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $PORT = 8080;

my @objects;

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { diag("caught SIG$sig, cleaning up"); exit 1; };
}

$SIG{ALRM} = sub { die "e2e test timed out (watchdog)\n"; };

sub new {
    my ($class, %opts) = @_;

    my $why = _cannot();
    plan(skip_all => $why) if $why;

    _reap_stale();

    my $self = bless {
        id      => "vwe$$",
        ns      => [],
        clients => {},
        seq     => 0,
        dir     => tempdir("vpnws-e2e-XXXXXX", TMPDIR => 1, CLEANUP => 1),
        allow   => [],
    }, $class;

    # nginx workers run as nobody and read the htpasswd file here
    chmod 0755, $self->{dir};

    push @objects, $self;
    alarm($opts{timeout} || 150);

    return $self;
}

sub _cannot {
    return 'end-to-end tests need root' if $> != 0;
    return 'no /dev/net/tun' unless -c '/dev/net/tun';
    return "no $NGINX" unless -x $NGINX;
    return 'no ip(8)' unless system('ip -V >/dev/null 2>&1') == 0;
    return "no $BUILD/ngx_http_vpnws_module.so (run make)"
        unless -f "$BUILD/ngx_http_vpnws_module.so";
    return "no $BUILD/vpn-ws-client (run make)"
        unless -x "$BUILD/vpn-ws-client";
    return 'cannot create network namespaces'
        if system("ip netns add vwe${$}probe 2>/dev/null") != 0;
    system("ip netns del vwe${$}probe");
    return undef;
}

sub _reap_stale {
    for my $line (`ip netns list 2>/dev/null`) {
        my ($ns) = $line =~ /^(vwe\d+[a-z]+)\b/ or next;
        my ($pid) = $ns =~ /^vwe(\d+)/;
        next if kill(0, $pid);
        _kill_ns($ns);
        system('ip', 'netns', 'del', $ns);
    }
}

sub _kill_ns {
    my ($ns) = @_;

    for my $sig ('TERM', 'KILL') {
        my @pids = grep { /^\d+$/ && $_ != $$ }
            map { chomp; $_ } `ip netns pids $ns 2>/dev/null`;
        last unless @pids;
        kill $sig, @pids;
        for (1 .. 20) {
            last unless grep { kill 0, $_ } @pids;
            sleep 0.1;
            1 while waitpid(-1, WNOHANG) > 0;
        }
    }
}

sub dir { $_[0]{dir} }

sub nsname { my ($self, $n) = @_; return "$self->{id}$n"; }

# a namespace with lo up; the letter is its short name in the test
sub ns {
    my ($self, $n) = @_;
    my $name = $self->nsname($n);

    _run("ip netns add $name");
    push @{$self->{ns}}, $name;
    $self->sh($n, 'ip link set lo up');
    $self->sh($n, 'sysctl -qw net.ipv6.conf.all.accept_dad=0');
    return $name;
}

# veth between server namespace "s" and client namespace $n, subnet $k
sub uplink {
    my ($self, $n, $k) = @_;
    my ($s, $c) = ($self->nsname('s'), $self->nsname($n));

    _run("ip link add to$n netns $s type veth peer name up0 netns $c");
    $self->sh('s', "ip addr add 10.213.$k.1/24 dev to$n"
        . " && ip addr add fd13:213:$k\::1/64 dev to$n nodad"
        . " && ip link set to$n up");
    $self->sh($n, "ip addr add 10.213.$k.2/24 dev up0"
        . " && ip addr add fd13:213:$k\::2/64 dev up0 nodad"
        . " && ip link set up0 up");
}

sub _run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "'$cmd' failed: $out" if $?;
    return $out;
}

# run a shell command in a namespace; dies on failure unless $ok_to_fail
sub sh {
    my ($self, $n, $cmd, $ok_to_fail) = @_;
    my $ns = $self->nsname($n);
    open(my $fh, '-|', 'ip', 'netns', 'exec', $ns, 'sh', '-c', "($cmd) 2>&1")
        or die "ip netns exec: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $rc = $? >> 8;
    die "[$n] '$cmd' failed: $out" if $rc && !$ok_to_fail;
    return wantarray ? ($out, $rc) : $out;
}

sub write_file {
    my ($self, $name, $text) = @_;
    open my $fh, '>', "$self->{dir}/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
    return "$self->{dir}/$name";
}

sub read_file {
    my ($self, $path) = @_;
    $path = "$self->{dir}/$path" unless $path =~ m{^/};
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# the start of an nginx.conf up to the inside of http {}: files in $d
sub conf_head {
    my ($modules, $d, $workers) = @_;
    return <<"EOF";
$modules
pid $d/nginx.pid;
error_log $d/error.log info;
worker_processes $workers;
events { worker_connections 1024; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/client_body_temp;
    proxy_temp_path $d/proxy_temp;
    fastcgi_temp_path $d/fastcgi_temp;
    uwsgi_temp_path $d/uwsgi_temp;
    scgi_temp_path $d/scgi_temp;
EOF
}

# start nginx in namespace "s"; $server is the inside of the server block
# after the listen lines; %opts: workers, listen (extra listen params),
# ssl (1: listen ssl), http (extra http-level text), loc (more in /vpn),
# vpnws (the switch of /vpn: a name or a variable, office),
# grant (the bridge grant in /vpn, "vpnws_bridge on;"),
# switch (more vpnws_switch parameters), modules (the load_module line)
sub nginx {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my $workers = $o{workers} || 1;
    my $lp = $o{ssl} ? ' ssl' : '';
    $lp .= ' reuseport' if $workers > 1;
    my $http = $o{http} || '';
    my $server = $o{server} || '';
    my $loc = $o{loc} || '';
    # bridge mode granted unless the test brings its own policy
    my $grant = $o{grant} // 'vpnws_bridge on;';
    my $vpnws = $o{vpnws} // 'office';
    my $switch = $o{switch} || '';

    my $modules = $o{modules} || "load_module $BUILD/ngx_http_vpnws_module.so;";

    $self->write_file('nginx.conf', conf_head($modules, $d, $workers)
                                    . <<"EOF");
    vpnws_switch office size=1m $switch;
    $http
    server {
        listen $PORT$lp;
        listen [::]:$PORT$lp;
        $server
        location /vpn { vpnws $vpnws; $grant $loc }
        location /status { vpnws_status office; }
    }
}
EOF

    my $ns = $self->nsname('s');
    my $out = `ip netns exec $ns $NGINX -p $d/ -c $d/nginx.conf -e $d/error.log 2>&1`;
    die "nginx failed to start: $out\n" . $self->read_file('error.log') if $?;

    for (1 .. 50) {
        last if -s "$d/nginx.pid";
        sleep 0.1;
    }
    chomp(my $pid = $self->read_file('nginx.pid'));
    die "nginx wrote no pid\n" unless $pid;
    $self->{nginx} = $pid;

    # wait until all workers exist
    for (1 .. 50) {
        last if $self->workers >= $workers;
        sleep 0.1;
    }
    return $pid;
}

sub workers {
    my ($self) = @_;
    my $m = $self->{nginx} or return ();
    my @w = grep { /^\d+$/ } map { chomp; $_ } `pgrep -P $m 2>/dev/null`;
    return @w;
}

# the nginx pid serving the TCP connection from $addr (client side)
sub worker_of {
    my ($self, $addr) = @_;
    my $out = $self->sh('s', "ss -tnpH state established '( sport = :$PORT )'");
    for my $line (split /\n/, $out) {
        next unless $line =~ /\Q$addr\E/;
        return $1 if $line =~ /pid=(\d+)/;
    }
    return undef;
}

# a test PKI made with the openssl CLI: ca.crt, srv.{crt,key} for
# $o{san}, client-a.{crt,key}, and other-ca.crt (trusted by nobody)
sub make_pki {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my $san = $o{san} || 'DNS:localhost';
    my $q = "2>>$d/openssl.log";
    my $ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

    for my $ca ('ca', 'other-ca') {
        _run("openssl req -x509 $ec -keyout $d/$ca.key -out $d/$ca.crt"
            . " -days 2 -subj /CN=vpnws-test-$ca"
            . " -addext basicConstraints=critical,CA:TRUE"
            . " -addext keyUsage=critical,keyCertSign,cRLSign $q");
    }

    my %ext = (
        srv => "subjectAltName=$san\nextendedKeyUsage=serverAuth\n",
        'client-a' => "extendedKeyUsage=clientAuth\n",
    );

    for my $name (sort keys %ext) {
        $self->write_file("$name.ext", $ext{$name});
        _run("openssl req $ec -keyout $d/$name.key -out $d/$name.csr"
            . " -subj /O=vpnws/CN=$name $q");
        _run("openssl x509 -req -in $d/$name.csr -CA $d/ca.crt"
            . " -CAkey $d/ca.key -CAcreateserial -days 2"
            . " -extfile $d/$name.ext -out $d/$name.crt $q");
    }

    return $d;
}

# a small HTTP CONNECT proxy in namespace $n on $port; wants Basic
# credentials $auth ("user:pass") when given; logs to proxy.log
sub proxy {
    my ($self, $n, $port, $auth) = @_;
    my $script = $self->write_file('proxy.pl', <<'PROXY');
use strict;
use warnings;
use IO::Socket::IP;
use IO::Select;
use MIME::Base64;
$| = 1;
my ($port, $auth) = @ARGV;
my $l = IO::Socket::IP->new(LocalPort => $port, Listen => 16,
    ReuseAddr => 1, V6Only => 0) or die "listen: $!";
$SIG{CHLD} = 'IGNORE';
while (my $c = $l->accept) {
    next if fork;
    my $h = '';
    while ($h !~ /\r\n\r\n/) { sysread($c, $h, 4096, length $h) or exit; }
    my ($target) = $h =~ /^CONNECT (\S+) HTTP/ or exit;
    my ($cred) = $h =~ /^Proxy-Authorization: Basic (\S+)/mi;
    if ($auth && (!$cred || decode_base64($cred) ne $auth)) {
        print "407 $target\n";
        syswrite $c, "HTTP/1.1 407 Proxy Authentication Required\r\n"
            . "Proxy-Authenticate: Basic realm=p\r\nContent-Length: 0\r\n\r\n";
        exit;
    }
    my $s = IO::Socket::IP->new(PeerAddr => $target) or do {
        print "502 $target\n";
        syswrite $c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        exit;
    };
    print "200 $target\n";
    syswrite $c, "HTTP/1.1 200 Connection established\r\n\r\n";
    my $sel = IO::Select->new($c, $s);
    while (my @r = $sel->can_read) {
        for my $fh (@r) {
            my $n = sysread($fh, my $buf, 65536) or exit;
            syswrite(($fh == $c ? $s : $c), $buf) or exit;
        }
    }
    exit;
}
PROXY
    my $ns = $self->nsname($n);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$self->{dir}/proxy.log" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('ip', 'netns', 'exec', $ns, 'perl', $script, $port, $auth // '');
    }
    $self->{proxies}{$pid} = 1;
    sleep 0.5;
    return $pid;
}

sub allow_alert {
    my ($self, $re) = @_;
    push @{$self->{allow}}, $re;
}

# start vpn-ws-client in namespace $n: %o: args (list), tap, url (or urls,
# a list), addr (overlay CIDR, set with --exec), asan, env (hash), bin
# (another binary), argv (the whole command line instead of those)
sub client {
    my ($self, $n, %o) = @_;
    my $bin = $o{bin} || "$BUILD/vpn-ws-client";
    if ($o{asan}) {
        if (-x "$BUILD/asan/vpn-ws-client") {
            $bin = "$BUILD/asan/vpn-ws-client";
        } else {
            diag("no $BUILD/asan/vpn-ws-client (needs clang): plain build");
        }
    }
    my @args = @{$o{args} || []};
    my $tap = $o{tap} || 'vpn0';

    push @args, '--exec', "ip addr add $o{addr} dev \$VPNWS_TAP" if $o{addr};

    my $log = "$self->{dir}/client-" . (++$self->{seq}) . "-$n.log";
    my $ns = $self->nsname($n);

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or die;
        open STDERR, '>&', \*STDOUT or die;
        delete @ENV{qw(http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
                       no_proxy NO_PROXY)};
        %ENV = (%ENV, %{$o{env} || {}});
        $ENV{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=0';
        my @argv = $o{argv} ? @{$o{argv}}
                   : ($bin, @args, $tap, $o{urls} ? @{$o{urls}} : $o{url});
        exec('ip', 'netns', 'exec', $ns, @argv) or die "exec: $!";
    }

    $self->{clients}{$pid} = { log => $log, ns => $n, asan => $o{asan} };
    return $pid;
}

sub client_log {
    my ($self, $pid) = @_;
    return $self->read_file($self->{clients}{$pid}{log});
}

# wait for a line in a client's log; returns true when seen
sub wait_log {
    my ($self, $pid, $re, $timeout) = @_;
    my $end = time + ($timeout || 10);
    while (time < $end) {
        return 1 if $self->client_log($pid) =~ $re;
        sleep 0.1;
    }
    return 0;
}

# the client's exit status when it ended within $timeout, else undef
sub wait_exit {
    my ($self, $pid, $timeout) = @_;
    my $end = time + ($timeout || 5);
    while (time < $end) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{clients}{$pid}{status} = $?;
            return $? >> 8;
        }
        sleep 0.05;
    }
    return undef;
}

sub stop_client {
    my ($self, $pid) = @_;
    kill 'TERM', $pid;
    my $rc = $self->wait_exit($pid, 5);
    unless (defined $rc) {
        kill 'KILL', $pid;
        $rc = $self->wait_exit($pid, 2);
    }
    return $rc;
}

# ping until one answer or the timeout; true on success
sub wait_ping {
    my ($self, $n, $addr, $timeout) = @_;
    my $end = time + ($timeout || 10);
    while (time < $end) {
        my (undef, $rc) = $self->sh($n, "ping -n -c1 -W1 $addr", 1);
        return 1 if $rc == 0;
    }
    return 0;
}

# average RTT in ms of $count pings, undef on loss of all
sub ping_rtt {
    my ($self, $n, $addr, $count, $extra) = @_;
    $extra //= '';
    my ($out) = $self->sh($n, "ping -n -q -c$count -i0.05 -W2 $extra $addr", 1);
    return $1 if $out =~ m{= [\d.]+/([\d.]+)/};
    return undef;
}

# iperf3 from $from to $to_addr (server in namespace $to); Mbit/s
sub iperf {
    my ($self, $from, $to, $to_addr, $secs) = @_;
    $secs ||= 3;
    $self->sh($to, 'iperf3 -s -D -1 -p 5201 >/dev/null 2>&1');
    sleep 0.3;
    my ($out, $rc) = $self->sh($from,
        "iperf3 -c $to_addr -p 5201 -t $secs -J --connect-timeout 3000", 1);
    return (undef, $out) if $rc;
    my $j = eval { decode_json($out) } or return (undef, $out);
    my $bps = $j->{end}{sum_received}{bits_per_second} or return (undef, $out);
    return ($bps / 1e6, $out);
}

# GET a path from nginx inside namespace "s" (perl, no curl needed)
# the nginx of namespace $n (default "s")
sub http_get {
    my ($self, $path, $n) = @_;
    my $ns = $self->nsname($n // 's');
    my $script = 'use IO::Socket::INET; my $s = IO::Socket::INET->new('
        . "PeerAddr => q{127.0.0.1:$PORT}) or die; print \$s qq{GET $path"
        . ' HTTP/1.0\r\nHost: x\r\n\r\n}; local $/; print <$s>;';
    open(my $fh, '-|', 'ip', 'netns', 'exec', $ns, 'perl', '-e', $script)
        or die "ip netns exec: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub status {
    my ($self) = @_;
    my $r = $self->http_get('/status');
    $r =~ s/^.*?\r\n\r\n//s;
    return eval { decode_json($r) } || { raw => $r };
}

# end-of-test checks: no alerts in nginx's log, no sanitizer reports
# @logs: the nginx error logs (default error.log)
sub check_logs {
    my ($self, @logs) = @_;
    my @bad;
    for my $line (map { split /\n/, $self->read_file($_) }
                  @logs ? @logs : ('error.log'))
    {
        next unless $line =~ /\[(alert|emerg|crit)\]/;
        next if grep { $line =~ $_ } @{$self->{allow}};
        push @bad, $line;
    }
    ok(!@bad, 'no alerts in the nginx error log')
        or diag(join "\n", @bad);

    for my $pid (sort keys %{$self->{clients}}) {
        my $log = $self->client_log($pid);
        if ($log =~ /(AddressSanitizer|LeakSanitizer|runtime error:)/) {
            fail("sanitizer report in client $pid");
            diag($log);
        }
    }
}

sub cleanup {
    my ($self) = @_;

    return if $self->{cleaned}++;

    for my $pid (keys %{$self->{clients}}) {
        kill 'TERM', $pid;
    }
    for my $pid (keys %{$self->{clients}}) {
        next if defined $self->{clients}{$pid}{status};
        $self->wait_exit($pid, 3) // do { kill 'KILL', $pid; waitpid($pid, 0) };
    }

    if ($self->{nginx}) {
        kill 'QUIT', $self->{nginx};
        for (1 .. 30) {
            last unless kill 0, $self->{nginx};
            sleep 0.1;
        }
    }

    for my $ns (@{$self->{ns}}) {
        _kill_ns($ns);
        system('ip', 'netns', 'del', $ns);
    }

    if ($ENV{E2E_KEEP_LOGS} || !Test::More->builder->is_passing) {
        for my $f (glob "$self->{dir}/*.log") {
            diag("---- $f\n" . $self->read_file($f));
        }
    }
}

END {
    my $rc = $?;
    $_->cleanup for @objects;
    $? = $rc;
}

1;
