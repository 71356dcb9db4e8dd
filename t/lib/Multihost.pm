package Multihost;

# Several vpnws hosts of one segment (README "Several hosts"), each a
# network namespace: an underlay namespace "u" holds a Linux bridge that
# every host and every client namespace joins with a veth (10.215.0.0/24:
# host $k is .$k, client $k is .(100+$k)).  On each host: bridge br0 with
# a VXLAN device (VNI 42, port 4789) and the switch's own tap (tap=,
# tap_bridge=on), and nginx with the module.  Clients reach any host over
# the underlay; the overlay is 10.214.0.0/24 on their taps (MTU 1450: the
# VXLAN overhead over an IPv4 underlay of 1500).
#
# Built on E2E.pm: the same names ("vwe<pid><letters>"), the same teardown
# of every namespace and process, even when the test dies.

use strict;
use warnings;

use parent 'E2E';

use File::Path qw(make_path);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our $MTU = 1450;

sub new {
    my ($class, %o) = @_;
    my $self = E2E::new($class, %o);

    $self->{hosts} = {};

    # hosts files a killed earlier run left behind
    for my $d (glob '/etc/netns/vwe*') {
        my ($pid) = $d =~ m{/vwe(\d+)} or next;
        next if kill 0, $pid;
        unlink "$d/hosts";
        rmdir $d;
    }

    $self->ns('u');
    $self->sh('u', 'ip link add ul type bridge && ip link set ul up');
    return $self;
}

# a veth from namespace $n into the underlay bridge, address 10.215.0.$k
sub underlay_link {
    my ($self, $n, $k) = @_;
    my ($u, $ns) = ($self->nsname('u'), $self->nsname($n));

    E2E::_run("ip link add p$n netns $u type veth peer name ul0 netns $ns");
    $self->sh('u', "ip link set p$n master ul && ip link set p$n up");
    $self->sh($n, "ip addr add 10.215.0.$k/24 dev ul0 && ip link set ul0 up");
}

sub vtep { return "10.215.0.$_[1]"; }

# host $h number $k: br0, vxlan0 and, unless $o{vxlan} is "none", the
# static flood list: $o{peers} (host numbers) get an all-zero fdb entry
# each; $o{learning} 0 turns VXLAN learning off (EVPN: BGP fills the fdb)
sub host {
    my ($self, $h, $k, %o) = @_;
    my $learn = (defined $o{learning} && !$o{learning}) ? ' nolearning' : '';

    $self->ns($h);
    $self->underlay_link($h, $k);
    $self->{hosts}{$h} = { k => $k };

    $self->sh($h, 'ip link add br0 type bridge'
        . ' && ip link set br0 addrgenmode none'
        . " && ip link add vxlan0 type vxlan id 42 local " . $self->vtep($k)
        . " dstport 4789$learn"
        . ' && ip link set vxlan0 master br0'
        . ' && ip link set vxlan0 addrgenmode none'
        . ' && ip link set vxlan0 up && ip link set br0 up');

    for my $p (@{$o{peers} || []}) {
        $self->sh($h, 'bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst '
            . $self->vtep($p));
    }
}

# FRR's zebra and bgpd on host $h, private to the test: config, pid,
# zserv and vty sockets in the host's directory, never the system service;
# iBGP (AS 65000) with the hosts numbered @{$o{peers}}, l2vpn evpn,
# advertise-all-vni; $o{reflector}: they are its route-reflector clients
sub frr_on {
    my ($self, $h, %o) = @_;
    my @peers = @{$o{peers}};
    my $k = $self->{hosts}{$h}{k};
    my $d = "$self->{dir}/$h/frr";

    make_path($d);
    my $neigh = join '', map { " neighbor " . $self->vtep($_)
                                . " remote-as 65000\n" } @peers;
    my $act = join '', map { "  neighbor " . $self->vtep($_)
                              . " activate\n"
                              . ($o{reflector}
                                 ? "  neighbor " . $self->vtep($_)
                                   . " route-reflector-client\n" : '') }
                       @peers;
    $self->write_file("$h/frr/zebra.conf", "hostname $h\n");
    $self->write_file("$h/frr/bgpd.conf", "hostname $h\n"
        . "router bgp 65000\n"
        . " bgp router-id " . $self->vtep($k) . "\n"
        . " no bgp default ipv4-unicast\n"
        . " timers bgp 3 9\n"
        . $neigh
        . " address-family l2vpn evpn\n"
        . $act
        . "  advertise-all-vni\n"
        . " exit-address-family\n");

    # the daemons drop to FRR's own user, as the packaged service does
    E2E::_run("chown -R frr:frr $d");
    chmod 0755, "$self->{dir}/$h";

    my $ns = $self->nsname($h);
    for my $daemon ('zebra', 'bgpd') {
        my @args = ('-d', '--vty_socket', $d,
                    '-z', "$d/zserv.api", '-f', "$d/$daemon.conf",
                    '-i', "$d/$daemon.pid", '--log', "file:$d/$daemon.log");
        my $out = `ip netns exec $ns /usr/lib/frr/$daemon @args 2>&1`;
        die "$daemon on $h: $out\n" . $self->read_file("$h/frr/$daemon.log")
            if $?;
        for (1 .. 50) {
            last if -S "$d/zserv.api" && -s "$d/$daemon.pid";
            sleep 0.1;
        }
    }
    $self->{hosts}{$h}{frr} = $d;
}

# a vtysh command on host $h's FRR
sub vtysh {
    my ($self, $h, $cmd) = @_;
    my $d = $self->{hosts}{$h}{frr};
    return scalar $self->sh($h, "vtysh --vty_socket $d -c '$cmd'", 1);
}

# nginx with the module on host $h; %o: workers, switch (more parameters)
sub nginx_on {
    my ($self, $h, %o) = @_;
    my $d = "$self->{dir}/$h";
    my $workers = $o{workers} || 1;
    my $lp = $workers > 1 ? ' reuseport' : '';
    my $switch = $o{switch} || '';
    my $loc = $o{loc} || '';

    make_path($d);
    chmod 0755, $d;
    $self->write_file("$h/nginx.conf", E2E::conf_head(
        "load_module $E2E::BUILD/ngx_http_vpnws_module.so;", $d, $workers)
        . <<"EOF");
    vpnws_switch seg size=1m tap=vtap0 tap_bridge=on
        "tap_exec=ip link set \$VPNWS_TAP master br0 && ip link set \$VPNWS_TAP addrgenmode none" $switch;
    @{[ $o{http} // "" ]}
    server {
        listen $E2E::PORT$lp;
        location /vpn { vpnws seg; $loc }
        location /status { vpnws_status seg; }
    }
}
EOF

    unlink "$d/nginx.pid";
    my $ns = $self->nsname($h);
    my $out = `ip netns exec $ns $E2E::NGINX -p $d/ -c $d/nginx.conf -e $d/error.log 2>&1`;
    die "nginx on $h failed to start: $out\n"
        . $self->read_file("$h/error.log") if $?;

    for (1 .. 50) {
        last if -s "$d/nginx.pid";
        sleep 0.1;
    }
    chomp(my $pid = $self->read_file("$h/nginx.pid"));
    die "nginx on $h wrote no pid\n" unless $pid;
    $self->{hosts}{$h}{nginx} = $pid;

    for (1 .. 50) {
        my @w = grep { /^\d+$/ } map { chomp; $_ } `pgrep -P $pid 2>/dev/null`;
        last if @w >= $workers;
        sleep 0.1;
    }
    return $pid;
}

# stop host $h's nginx (QUIT: its peers get Close 1001), wait until gone
sub stop_nginx {
    my ($self, $h, $sig) = @_;
    my $pid = delete $self->{hosts}{$h}{nginx} or return;

    kill $sig || 'QUIT', $pid;
    for (1 .. 100) {
        last unless kill 0, $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid if kill 0, $pid;
}

sub url { my ($self, $h) = @_;
          return "ws://" . $self->vtep($self->{hosts}{$h}{k})
                 . ":$E2E::PORT/vpn"; }

sub mac { return sprintf('02:00:5e:00:00:%02x', $_[1]); }

# client $c (number $k) on the underlay, overlay address 10.214.0.$k,
# MAC 02:00:5e:00:00:$k; %o: urls (host names, default: [$h]), args
sub client_on {
    my ($self, $c, $k, %o) = @_;

    unless ($self->{client_ns}{$c}++) {
        $self->ns($c);
        $self->underlay_link($c, 100 + $k);
    }

    my @urls = map { $self->url($_) } @{$o{hosts}};

    return $self->client($c, urls => \@urls, tap => $o{tap} || 'vpn0',
        args => ['--mac', $o{mac} || $self->mac($k), '--mtu', $MTU,
                 @{$o{args} || []}],
        $o{noaddr} ? () : (addr => "10.214.0.$k/24"));
}

# the body of GET $path from host $h's nginx
sub host_get {
    my ($self, $h, $path) = @_;
    my $r = $self->http_get($path, $h);
    $r =~ s/^.*?\r\n\r\n//s;
    return $r;
}

# /etc/hosts of namespace $n (ip netns exec bind-mounts /etc/netns/NS/hosts);
# removed with the namespace
sub hosts_file {
    my ($self, $n, $text) = @_;
    my $d = "/etc/netns/" . $self->nsname($n);
    make_path($d);
    push @{$self->{etc_netns}}, $d;
    open my $fh, '>', "$d/hosts" or die "$d/hosts: $!";
    print $fh $text;
    close $fh;
}

sub host_status {
    my ($self, $h) = @_;
    my $r = $self->host_get($h, '/status');
    return eval { decode_json($r) } || { raw => $r };
}

# the bridge's forwarding table of host $h: MAC => [port, flags...]
sub fdb {
    my ($self, $h) = @_;
    my %t;
    for my $line (split /\n/, $self->sh($h, 'bridge fdb show')) {
        my ($mac, $dev) = $line =~ /^(\S+) dev (\S+)/ or next;
        push @{$t{lc $mac}}, $line;
    }
    return \%t;
}

# count UDP datagrams to port $port in each namespace of @ns for $secs;
# returns a sub that waits and gives { ns => { payload => count } }
sub listen_udp {
    my ($self, $port, $secs, @ns) = @_;
    my %files;
    my $script = 'use IO::Socket::INET; $| = 1; my $s = IO::Socket::INET->new('
        . 'LocalAddr => q{0.0.0.0}, LocalPort => $ARGV[0], Proto => q{udp},'
        . ' ReuseAddr => 1) or die $!; my %n; my $end = time + $ARGV[1];'
        . ' open my $o, q{>}, $ARGV[2] or die; syswrite $o, qq{ready\n};'
        . ' while (time < $end) { my $r = q{}; vec($r, fileno $s, 1) = 1;'
        . ' select($r, undef, undef, 0.2) or next; $s->recv(my $b, 2048);'
        . ' $n{$b}++ } print $o map { qq{$_ $n{$_}\n} } sort keys %n;'
        . ' close $o;';
    my @pids;
    for my $n (@ns) {
        my $f = "$self->{dir}/udp-$n.txt";
        unlink $f;
        $files{$n} = $f;
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            exec('ip', 'netns', 'exec', $self->nsname($n), 'perl', '-e',
                 $script, $port, $secs, $f);
            exit 127;
        }
        push @pids, $pid;
    }
    for my $n (@ns) {
        for (1 .. 50) {
            last if -s $files{$n};
            sleep 0.05;
        }
    }
    return sub {
        waitpid($_, 0) for @pids;
        my %r;
        for my $n (@ns) {
            my $text = $self->read_file($files{$n});
            for my $line (split /\n/, $text) {
                my ($p, $c) = $line =~ /^(\S+) (\d+)$/ or next;
                $r{$n}{$p} = $c;
            }
        }
        return \%r;
    };
}

# send UDP broadcasts "<tag>-<i>" from namespace $n to 10.214.0.255:$port
sub send_broadcasts {
    my ($self, $n, $port, $tag, $count) = @_;
    $self->sh($n, "perl -MIO::Socket::INET -e 'my \$s = IO::Socket::INET->new("
        . "PeerAddr => q{10.214.0.255}, PeerPort => $port, Proto => q{udp},"
        . " Broadcast => 1) or die \$!; for my \$i (1 .. $count) {"
        . " \$s->send(qq{$tag-\$i}) or die \$!; select(undef, undef, undef,"
        . " 0.05) }'");
}

sub check_logs {
    my ($self) = @_;
    $self->SUPER::check_logs(map { "$_/error.log" } sort keys %{$self->{hosts}});
}

# a broadcast from each client of %$num (name => overlay number) reaches
# each client exactly once
sub check_broadcasts {
    my ($self, $num) = @_;
    my @clients = sort keys %$num;
    my $wait = $self->listen_udp(5999, 4, @clients);

    for my $c (@clients) {
        $self->send_broadcasts($c, 5999, "from-$c", 5);
    }

    my $got = $wait->();

    for my $to (@clients) {
        for my $from (@clients) {
            my @counts = map { $got->{$to}{"from-$from-$_"} // 0 } 1 .. 5;
            is("@counts", '1 1 1 1 1',
               "$to got each broadcast of $from exactly once");
        }
    }
}

# iperf3 around the ring of clients of %$num, 2 s each
sub check_iperf {
    my ($self, $num) = @_;
    my @c = sort keys %$num;

    for my $i (0 .. $#c) {
        my ($from, $to) = ($c[$i], $c[($i + 1) % @c]);
        my ($mbps, $out) = $self->iperf($from, $to, "10.214.0.$num->{$to}", 2);
        ok($mbps && $mbps > 1, "iperf3 $from -> $to across hosts")
            or diag($out);
        diag(sprintf("iperf3 %s -> %s: %.0f Mbit/s", $from, $to, $mbps // 0));
    }
}

sub cleanup {
    my ($self) = @_;

    return if $self->{cleaned};

    for my $h (keys %{$self->{hosts} || {}}) {
        $self->stop_nginx($h);
    }

    if (!Test::More->builder->is_passing) {
        for my $f (glob "$self->{dir}/*/error.log") {
            diag("---- $f\n" . $self->read_file($f));
        }
    }

    $self->SUPER::cleanup();

    for my $d (@{$self->{etc_netns} || []}) {
        unlink "$d/hosts";
        rmdir $d;
    }
    rmdir '/etc/netns';
}

1;
