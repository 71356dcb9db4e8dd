#!/usr/bin/perl

# Offload through the switch: two offload clients (A, B) and a plain one
# (C, --no-offload), through nginx with 1 and 2 workers over ws://, and 2
# over wss:// (verified TLS).  A <-> B carry
# 64 KiB super-frames untouched behind their virtio-net headers; frames from
# A for C are cut by the switch (src/vpnws_gso.c) and every TCP frame C's
# tap receives must have valid checksums; byte-exact transfers, IPv4 and
# IPv6, in every direction; iperf3; the counters show what happened.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use E2E;
use Offload;

for my $case ([1, 'ws'], [2, 'ws'], [2, 'wss']) {
    my ($workers, $scheme) = @$case;
    subtest "$scheme://, $workers worker(s)" => sub { run(@$case) };
}

done_testing();

sub run {
    my ($workers, $scheme) = @_;
    my $e = E2E->new();
    my $d = $e->dir;
    my @tls;

    $e->ns($_) for qw(s a b c);
    $e->uplink('a', 1);
    $e->uplink('b', 2);
    $e->uplink('c', 3);

    if ($scheme eq 'wss') {
        $e->make_pki(san => 'IP:10.213.1.1,IP:10.213.2.1,IP:10.213.3.1');
        @tls = ('--ca', "$d/ca.crt");
        $e->nginx(workers => $workers, ssl => 1,
            server => "ssl_certificate $d/srv.crt;"
                . " ssl_certificate_key $d/srv.key;");
    } else {
        $e->nginx(workers => $workers);
    }

    my $port = $E2E::PORT;
    my $o = Offload->new($e);
    my %cl;
    my %ip = (a => 1, b => 2, c => 3);

    my $start = sub {
        my ($n) = @_;
        # A under ASan/UBSan: its reads, writes and cuts are checked
        $cl{$n} = $e->client($n, asan => $n eq 'a',
            addr => "10.214.0.$ip{$n}/24",
            args => ['-vv', '--mac', "02:84:00:00:01:0$ip{$n}", @tls,
                     $n eq 'c' ? ('--no-offload') : ()],
            url => "$scheme://10.213.$ip{$n}.1:$port/vpn");
    };

    $start->($_) for qw(a b c);

    for my $n (qw(a b c)) {
        ok($e->wait_log($cl{$n}, qr/connected to $scheme:/), "$n connected");
    }

    place($e, \%cl, \%ip, $start, $scheme) if $workers == 2;

    for my $n (qw(a b c)) {
        $e->sh($n, "ip addr add fd14:214::$ip{$n}/64 dev vpn0 nodad");
    }

    like($e->client_log($cl{a}), qr/offload: csum, tso4, tso6(, ecn)?\n/,
        'A: the server agreed to offload');
    like($e->client_log($cl{b}), qr/offload: csum, tso4, tso6(, ecn)?\n/,
        'B: the server agreed to offload');

    ok($e->wait_ping('a', '10.214.0.2', 15), 'A pings B');
    ok($e->wait_ping('a', '10.214.0.3', 15), 'A pings C');

    ok($o->transfer('a', 'b', '10.214.0.2', 32), 'A -> B 32 MiB exact');
    ok($o->transfer('b', 'a', 'fd14:214::1', 16), 'B -> A 16 MiB IPv6 exact');

    my $c = $o->check_start('c', 'vpn0');
    ok($o->transfer('a', 'c', '10.214.0.3', 24), 'A -> C 24 MiB exact');
    my ($good, $bad) = $o->check_stop($c);
    ok($good > 500 && $bad == 0,
        "C's tap: $good TCP frames cut by the switch, $bad bad checksums");

    $c = $o->check_start('c', 'vpn0');
    ok($o->transfer('b', 'c', 'fd14:214::3', 8), 'B -> C 8 MiB IPv6 exact');
    (undef, $bad, my $v6) = $o->check_stop($c);
    ok($v6 > 300 && $bad == 0, "C's tap: $v6 IPv6 frames, $bad bad");

    ok($o->transfer('c', 'a', '10.214.0.1', 16), 'C -> A 16 MiB exact');

    my ($mbps, $raw) = $e->iperf('a', 'b', '10.214.0.2', 2);
    ok($mbps && $mbps > 10, 'iperf3 offload A -> offload B') or diag($raw);
    diag(sprintf "$scheme, $workers worker(s): offload -> offload %.0f Mbit/s",
        $mbps // 0);

    ($mbps, $raw) = $e->iperf('a', 'c', '10.214.0.3', 2);
    ok($mbps && $mbps > 10, 'iperf3 offload A -> plain C') or diag($raw);
    diag(sprintf "$scheme, $workers worker(s): offload -> plain %.0f Mbit/s",
        $mbps // 0);

    my @lost;
    for my $size (1400 .. 1480) {
        my (undef, $rc) = $e->sh('a', "ping -n -c1 -W2 -s $size 10.214.0.2",
            1);
        push @lost, $size if $rc;
    }
    ok(!@lost, 'A pings B with 1400..1480 bytes') or diag("@lost");

    for my $n (qw(a b)) {
        is($e->stop_client($cl{$n}), 0, "$n stops");
    }

    my ($sa) = $e->client_log($cl{a}) =~ /(\d+) super-frames/;
    my ($sb) = $e->client_log($cl{b}) =~ /(\d+) super-frames/;
    ok($sa && $sa > 50, "A sent and got super-frames whole: $sa");
    ok($sb && $sb > 50, "B got and sent super-frames whole: $sb");
    like($e->client_log($cl{a}), qr/ 0 cut here, 0 bad virtio/,
        'A cut nothing itself and got no bad headers');

    $e->check_logs;
    $e->cleanup;
}

# With two workers: A alone on one, B and C on the other, so that A <-> B
# (super-frames) and A <-> C (cut by the worker that holds C) both cross
# the worker channel.  The kernel's reuseport hash of each connection
# decides where a client lands; a restarted client gets a new source port
# and so a new draw (one chance in two each time, at most 16 restarts).
sub place {
    my ($e, $cl, $ip, $start, $scheme) = @_;
    my %w;

    for my $try (0 .. 16) {
        %w = map { $_ => $e->worker_of("10.213.$ip->{$_}.2") // '' }
            qw(a b c);
        last if $w{a} ne '' && $w{b} ne '' && $w{a} ne $w{b}
            && $w{b} eq $w{c};
        last if $try == 16;

        # C joins B first, then A leaves them
        my $n = ($w{b} ne '' && $w{b} ne $w{c}) ? 'c' : 'a';
        $e->stop_client($cl->{$n});
        $start->($n);
        $e->wait_log($cl->{$n}, qr/connected to $scheme:/);
    }

    ok($w{a} ne '' && $w{a} ne $w{b} && $w{b} eq $w{c},
        "A alone on worker $w{a}, B and C on worker $w{b}, $w{c}");
}
