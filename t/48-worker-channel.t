#!/usr/bin/perl

# vpnws: the worker channel, by its behaviour only (frames received, the
# status JSON, the error log), whatever carries frames between workers.
# One switch on 2 workers (reuseport), peers placed on given workers:
#
#   1. unicast across workers, both ways at once, thousands of frames of
#      60 bytes to max_frame (every alignment, tens of MB: any ring of a
#      few MiB wraps many times): byte-exact, in order, none lost;
#   2. broadcast across workers: once to each other peer, byte-exact,
#      the largest size too, never back to the sender;
#   3. the receiving worker stopped (SIGSTOP): the sender's worker goes
#      on (two peers on it keep talking with normal latency), the status
#      (from the running worker) counts ipc_full drops and they grow;
#      after SIGCONT every frame sent is received or counted as a drop,
#      and A <-> B works again;
#   4. the receiving worker killed (SIGKILL) under a unicast flood: B
#      reconnects (same MAC) and gets A's frames again, both ways;
#   5. the sending worker killed mid-flow, 3 times: the receiving worker
#      (same pid) delivers nothing broken and gets frames from a new peer
#      on the respawned worker, both ways.
#
# Where a peer is: the status JSON, peers[].worker (its worker number) and
# peers[].pid (that worker's pid, checked against the master's children).
# A peer lands where the kernel's reuseport hash of its connection puts
# it; placing it on a given worker closes and reconnects it (a new source
# port, a new draw) at most 40 times.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);

use VpnwsTest;
use VpnwsWS qw(mac_bin);

my $MAX = 65664;                # max_frame, set in the config below
my $TYPE = 0x88b5;
my $WINDOW = 128 * 1024;        # paced flows: bytes in flight, < queue=256k

my %STOPPED;                    # pids we sent SIGSTOP, until SIGCONT

# never leave a stopped worker behind (runs before the harness' END)
END {
    kill('CONT', $_) for keys %STOPPED;
}

my $t = VpnwsTest->start_switch(workers => 2, reuseport => 1,
                                params => "max_frame=$MAX queue=256k");

$t->expect_alerts(qr/worker process \d+ exited on signal 9/,
                  qr/shared memory zone .* was locked by \d+/);

sub mac { sprintf('02:00:00:00:48:%02x', $_[0]) }


###############################################################################
# frames: [dst, src, 0x88b5, seq, tag, pattern derived from both]

my $PAT = do {
    my $x = 0x4801;
    join '', map { $x = ($x * 1103515245 + 12345) & 0x7fffffff;
                   chr(($x >> 16) & 0xff) } 1 .. 65536 + $MAX;
};

# sizes 60 .. max_frame: odd sequence numbers spread over the whole range
# (a prime step: every length, so records of every alignment), even ones
# small (60 .. 1500), every 53rd exactly max_frame
sub size_of {
    my ($seq) = @_;

    return $MAX if $seq % 53 == 0;
    return 60 + ($seq * 7919) % ($MAX - 59) if $seq % 2;
    return 60 + ($seq * 31) % 1441;
}

sub frame_of {
    my ($f, $seq) = @_;

    my $size = $f->{size} // size_of($seq);

    return $f->{hdr} . pack('NN', $seq, $f->{tag})
        . substr($PAT, ($seq * 251 + $f->{tag} * 4099) % 65536, $size - 22);
}

my $TAGS = 0;

# a flow of frames from one peer to one MAC (or broadcast), seen by @to
sub flow {
    my (%o) = @_;

    my $dst = $o{dst} // $o{to}[0]{mac};

    return {
        name => $o{name},
        from => $o{from},
        to => $o{to},
        tag => ++$TAGS,
        hdr => mac_bin($dst) . mac_bin($o{from}{mac}) . pack('n', $TYPE),
        next => $o{first} // 1,
        last => ($o{first} // 1) + $o{count} - 1,
        count => $o{count},
        window => $o{window},
        size => $o{size},
        sent => 0,
        sent_bytes => 0,
        cum => {},              # seq => bytes sent up to and with it
        rx => { map { $_ => { last => 0, n => 0, bad => 0, order => 0 } }
                0 .. $#{$o{to}} },
    };
}


###############################################################################
# the pump: send the flows (paced by a window or not) while reading every
# watched peer; each frame received is checked against its flow: the
# right receiver, byte-exact, its sequence number above the last one

sub pump {
    my (%o) = @_;

    my @flows = @{$o{flows}};
    my @watch = @{$o{watch}};
    my $quiet = $o{quiet} // 1;
    my $start = time();
    my $deadline = $start + ($o{timeout} // 30);
    my $last_rx = time();
    my %stray;

    my %byname = map { $_->{name} => $_ } @flows;
    my %bytag = map { $_->{tag} => $_ } @flows;
    my %widx = map { ("$watch[$_]" => $_) } 0 .. $#watch;

    for my $f (@flows) {
        $f->{to_idx} = { map { ($widx{"$f->{to}[$_]"} // die "unwatched")
                               => $_ } 0 .. $#{$f->{to}} };
    }

    my $check = sub {
        my ($wi, $data) = @_;

        my ($seq, $tag) = length $data >= 22
            ? unpack('NN', substr($data, 14, 8)) : (0, 0);
        my $f = $bytag{$tag};
        my $ri = $f ? $f->{to_idx}{$wi} : undef;

        if (!defined $ri) {
            $stray{$watch[$wi]{name}}++;
            return;
        }

        my $rx = $f->{rx}{$ri};

        if ($seq < $f->{next} - $f->{sent} || $seq >= $f->{next}
            || $data ne frame_of($f, $seq))
        {
            diag("$f->{name} to $watch[$wi]{name}: bad frame, seq $seq, "
                 . length($data) . " bytes") if $rx->{bad}++ < 3;
            return;
        }

        if ($seq <= $rx->{last}) {
            diag("$f->{name} to $watch[$wi]{name}: seq $seq after "
                 . "$rx->{last}") if $rx->{order}++ < 3;
            return;
        }

        $rx->{last} = $seq;
        $rx->{n}++;
        $last_rx = time();
    };

    my $sel = IO::Select->new();
    my %fileno;
    for my $i (0 .. $#watch) {
        next if !$watch[$i]{sock} || $watch[$i]{eof};
        $sel->add($watch[$i]{sock});
        $fileno{fileno $watch[$i]{sock}} = $i;
    }

    while (time() < $deadline) {
        my $sending = 0;

        for my $f (@flows) {
            next if $f->{dead} || $f->{next} > $f->{last};

            my $n = 0;

            while ($f->{next} <= $f->{last} && $n++ < 32) {
                if ($f->{window}) {
                    # acknowledged: what its slowest receiver has seen
                    my ($acked) = sort { $a <=> $b }
                        map { $f->{cum}{$_->{last}} // 0 } values %{$f->{rx}};

                    # a lost frame at the tail: give up waiting for it
                    $acked = $f->{sent_bytes}
                        if time() - $last_rx > $quiet
                           && time() - ($f->{last_send} // 0) > $quiet;

                    last if $f->{sent_bytes} - $acked >= $f->{window};
                }

                my $seq = $f->{next};
                my $bytes = frame_of($f, $seq);

                if (!eval { $f->{from}->send_raw(VpnwsWS->build_frame(2,
                                $bytes), timeout => 5); 1 })
                {
                    $f->{dead} = $@ || 'eof';
                    last;
                }

                $f->{sent}++;
                $f->{sent_bytes} += length $bytes;
                $f->{cum}{$seq} = $f->{sent_bytes};
                $f->{last_send} = time();
                $f->{next}++;
            }

            $sending = 1 unless $f->{dead} || $f->{next} > $f->{last};
        }

        # right after a burst: frames are on their way through nginx
        $o{after_send}->() if $o{after_send};

        for my $fh ($sel->can_read($sending ? 0.005 : 0.05)) {
            my $wi = $fileno{fileno $fh};
            my $ws = $watch[$wi];

            $sel->remove($fh) unless $ws->read_available();

            while (my ($op, $payload) = $ws->next_buffered_frame()) {
                if ($op == 2) {
                    $check->($wi, $payload);
                } elsif ($op == 9) {
                    $ws->send_frame(10, $payload, ignore_errors => 1);
                }
            }
        }

        next if $sending;

        # everything sent: until each receiver has all, or quiet
        my $all = 1;
        for my $f (@flows) {
            $all = 0 if grep { $_->{last} < $f->{last} } values %{$f->{rx}};
        }
        last if $all && !$o{drain};
        last if time() - $last_rx > $quiet;
        last unless $sel->count();
    }

    return { stray => \%stray, took => time() - $start };
}

# received frames of a flow (by all receivers), bad, out of order
sub rx_sum {
    my ($f, $what) = @_;

    my $s = 0;
    $s += $_->{$what} for values %{$f->{rx}};

    return $s;
}

sub flows_ok {
    my ($what, @flows) = @_;

    for my $f (@flows) {
        my @r = map { $f->{rx}{$_} } sort keys %{$f->{rx}};
        my $got = join ',', map { $_->{n} } @r;

        ok(!$f->{dead} && !grep({ $_->{n} != $f->{count} } @r),
           "$what: $f->{name}: $f->{count} frames sent, received $got")
            or diag($f->{dead} // '');
        ok(!grep({ $_->{bad} || $_->{order} } @r),
           "$what: $f->{name}: byte-exact, in order, once");
    }
}


###############################################################################
# where peers are

sub status_ok {
    for (1 .. 30) {
        my $st = eval { $t->status(timeout => 0.5) };
        return $st if $st && ref $st->{peers} eq 'ARRAY';
        sleep(0.05);
    }

    return undef;
}

# (worker number, pid) of a peer by the status JSON
sub where {
    my ($mac) = @_;

    for (1 .. 10) {
        my $st = status_ok() or last;
        my ($p) = grep { lc($_->{MAC} // '') eq $mac } @{$st->{peers}};
        return ($p->{worker}, $p->{pid}) if $p && defined $p->{worker};
        sleep(0.05);
    }

    return (undef, undef);
}

sub drops_now {
    my $st = status_ok() or return (undef, undef);

    return (($st->{drops} || {})->{ipc_full} // 0,
            ($st->{drops} || {})->{queue_full} // 0);
}

# connect with this MAC, retrying while it is still held
sub connect_mac {
    my ($mac) = @_;

    for (1 .. 100) {
        my $ws = eval { $t->peer(mac => $mac) };
        return $ws if $ws && $ws->ok;
        sleep(0.05);
    }

    return undef;
}

# a peer with this MAC on a worker that $want->($worker) accepts
sub place {
    my ($name, $mac, $want) = @_;

    for my $try (1 .. 40) {
        my $ws = connect_mac($mac) or last;
        my ($w, $pid) = where($mac);

        if (defined $w && $want->($w)) {
            @$ws{qw(name mac worker pid tries)} = ($name, $mac, $w, $pid,
                                                  $try);
            return $ws;
        }

        $ws->close(clean => 1);
    }

    return undef;
}

sub placed_ok {
    my ($ws, $name, $where) = @_;

    ok($ws, "$name placed $where"
       . ($ws ? " (worker $ws->{worker}, pid $ws->{pid}, "
                . "$ws->{tries} tries)" : '')) or die "$name not placed\n";
}

sub proc_state {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/stat" or return '';
    my $s = <$fh> // '';
    $s =~ s/^.*\)\s+//s;

    return substr($s, 0, 1);
}

# the workers after a kill: two, none of @dead; returns their pids
sub wait_respawn {
    my (@dead) = @_;

    my %dead = map { $_ => 1 } @dead;
    my @w;

    $t->wait_pids_gone(5, @dead);

    for (1 .. 200) {
        @w = grep { !$dead{$_} } $t->active_worker_pids();
        last if @w == 2;
        sleep(0.05);
    }

    return @w;
}

# round trips C -> D -> C of a small frame; their times
sub ping_pong {
    my ($c, $d, $n, $seq) = @_;

    my @rtt;

    for my $i (1 .. $n) {
        my $t0 = time();
        my $p = "pp $seq $i";

        $c->send_eth($d->{mac}, $c->{mac}, 0x0800, $p);
        my $got = $d->recv_eth(3) // '';
        last unless substr($got, 14) eq $p;

        $d->send_eth($c->{mac}, $d->{mac}, 0x0800, "re $p");
        $got = $c->recv_eth(3) // '';
        last unless substr($got, 14) eq "re $p";

        push @rtt, time() - $t0;
    }

    return @rtt;
}


###############################################################################
# placement: A, C, D on worker 0, B, E on worker 1

my $T0 = time();

my $A = place('A', mac(0x0a), sub { $_[0] == 0 });
placed_ok($A, 'A', 'on worker 0');
my $B = place('B', mac(0x0b), sub { $_[0] == 1 });
placed_ok($B, 'B', 'on worker 1');
my $C = place('C', mac(0x0c), sub { $_[0] == 0 });
placed_ok($C, 'C', 'on worker 0');
my $D = place('D', mac(0x0d), sub { $_[0] == 0 });
placed_ok($D, 'D', 'on worker 0');
my $E = place('E', mac(0x0e), sub { $_[0] == 1 });
placed_ok($E, 'E', 'on worker 1');

my %wpid = map { $_ => 1 } $t->worker_pids();
ok($A->{pid} != $B->{pid} && $wpid{$A->{pid}} && $wpid{$B->{pid}},
   "the status' pids are the master's two workers ($A->{pid}, $B->{pid})");

my @all = ($A, $B, $C, $D, $E);


###############################################################################
# 1. unicast across workers, both ways at once

{
    my ($ipc0, $qf0) = drops_now();

    my $ab = flow(name => 'A->B', from => $A, to => [$B], count => 3000,
                  window => $WINDOW);
    my $ba = flow(name => 'B->A', from => $B, to => [$A], count => 3000,
                  window => $WINDOW);

    my $r = pump(flows => [$ab, $ba], watch => \@all, timeout => 25);

    diag(sprintf('1: %.1f + %.1f MB in %.2f s', $ab->{sent_bytes} / 1e6,
                 $ba->{sent_bytes} / 1e6, $r->{took}));

    flows_ok('1 unicast', $ab, $ba);
    ok(!%{$r->{stray}}, '1: no frame reached another peer')
        or diag(explain($r->{stray}));

    my ($ipc, $qf) = drops_now();
    is(($ipc - $ipc0) . ' ' . ($qf - $qf0), '0 0',
       '1: no ipc_full, no queue_full drops');
}


###############################################################################
# 2. broadcast across workers

{
    my ($ipc0, $qf0) = drops_now();

    my $bc = flow(name => 'A->all', from => $A, to => [$B, $E, $C, $D],
                  dst => 'ff:ff:ff:ff:ff:ff', count => 600, first => 5001,
                  window => $WINDOW);

    my $r = pump(flows => [$bc], watch => \@all, timeout => 20);

    diag(sprintf('2: %d frames, %.1f MB in %.2f s', $bc->{sent},
                 $bc->{sent_bytes} / 1e6, $r->{took}));

    flows_ok('2 broadcast', $bc);
    ok(!%{$r->{stray}}, '2: nothing back to the sender')
        or diag(explain($r->{stray}));
    ok(scalar(grep { size_of($_) == $MAX } 5001 .. 5600) > 5,
       '2: max_frame broadcasts among them');

    my ($ipc, $qf) = drops_now();
    is(($ipc - $ipc0) . ' ' . ($qf - $qf0), '0 0',
       '2: no ipc_full, no queue_full drops');
}


###############################################################################
# 3. the receiving worker stopped

{
    my $pid = $B->{pid};
    my ($ipc0, $qf0) = drops_now();

    # every size, 4 MiB a burst, until the status counts drops (the
    # channel is full), then 3 more bursts
    my $ab = flow(name => 'A->B stopped', from => $A, to => [$B],
                  count => 100000, first => 100001);

    ok(kill('STOP', $pid), "3: SIGSTOP B's worker $pid");
    $STOPPED{$pid} = 1;

    my $stopped = 0;
    for (1 .. 100) {
        last if $stopped = proc_state($pid) eq 'T';
        sleep(0.02);
    }
    ok($stopped, '3: it is stopped');

    # A sends; C and D on A's worker talk between its bursts
    my (@rtt, @ipc);
    my $pp = 0;
    my $blocked = '';
    my $full;

    for my $burst (1 .. 64) {
        my $end = $ab->{sent_bytes} + 4 * 1024 * 1024;

        for (my $i = 1; $ab->{sent_bytes} < $end; $i++) {
            my $seq = $ab->{next}++;
            my $bytes = frame_of($ab, $seq);

            if (!eval { $A->send_raw(VpnwsWS->build_frame(2, $bytes),
                                     timeout => 5); 1 })
            {
                $blocked = $@;
                last;
            }

            $ab->{sent}++;
            $ab->{sent_bytes} += length $bytes;

            # one lost round trip is enough (each waits 3 s)
            push @rtt, ping_pong($C, $D, 1, $pp++)
                if $i % 64 == 0 && @rtt == $pp;
        }

        last if $blocked;

        # the status is the running worker's (the stopped one answers
        # nothing: status_ok() retries on another connection)
        my ($ipc) = drops_now();
        push @ipc, $ipc // -1;

        # A's worker does not answer: no use going on
        last if !defined $ipc || @rtt < $pp;

        $full //= $burst if $ipc[-1] > $ipc0;
        last if defined $full && $burst == $full + 3;
    }

    # and once more with the channel full, before SIGCONT
    push @rtt, ping_pong($C, $D, 1, $pp++) if @rtt == $pp;

    # what is not sent is not a part of the flow
    $ab->{last} = $ab->{next} - 1;
    $ab->{count} = $ab->{sent};

    ok(!$blocked, "3: A's worker reads A all along") or diag($blocked);
    diag(sprintf('3: %.1f MB sent to the stopped worker, ipc_full %s',
                 $ab->{sent_bytes} / 1e6, join(' -> ', $ipc0, @ipc)));

    ok(defined $full, '3: the status counts ipc_full drops'
       . (defined $full ? " after $full bursts of 4 MiB" : ''));
    ok(defined $full && @ipc == $full + 3
       && !grep({ $ipc[$_] <= $ipc[$_ - 1] } $full .. $#ipc),
       '3: and they grow with each burst after');

    my @s = sort { $a <=> $b } @rtt;
    diag(sprintf('3: C <-> D round trips: %d, median %.1f ms, max %.1f ms',
                 scalar @s, 1000 * ($s[@s / 2] // 0), 1000 * ($s[-1] // 0)));
    ok(@s == $pp, "3: C <-> D on A's worker: all $pp round trips");
    ok(@s && $s[-1] < 1, '3: none slower than 1 s');

    ok(kill('CONT', $pid), "3: SIGCONT B's worker");
    delete $STOPPED{$pid};

    # its backlog, then the switch is whole again: both ways, paced
    my $r = pump(flows => [$ab], watch => \@all, timeout => 20, quiet => 1,
                 drain => 1);

    my $got = rx_sum($ab, 'n');
    my ($ipc1, $qf1) = drops_now();
    my $dropped = ($ipc1 - $ipc0) + ($qf1 - $qf0);

    diag("3: after SIGCONT B got $got of $ab->{sent}; ipc_full "
         . ($ipc1 - $ipc0) . ', queue_full ' . ($qf1 - $qf0));
    ok(!rx_sum($ab, 'bad') && !rx_sum($ab, 'order'),
       '3: what B got is byte-exact, in order');
    is($got + $dropped, $ab->{sent},
       '3: every frame sent was received or counted as dropped');

    my $ab2 = flow(name => 'A->B resumed', from => $A, to => [$B],
                   count => 300, first => 20001, window => $WINDOW);
    my $ba2 = flow(name => 'B->A resumed', from => $B, to => [$A],
                   count => 300, first => 20001, window => $WINDOW);

    $r = pump(flows => [$ab2, $ba2], watch => \@all, timeout => 20);
    flows_ok('3 resumed', $ab2, $ba2);
    ok(!%{$r->{stray}}, '3: no stray frames') or diag(explain($r->{stray}));

    my ($ipc2, $qf2) = drops_now();
    is(($ipc2 - $ipc1) . ' ' . ($qf2 - $qf1), '0 0',
       '3: resumed: no drops');
}


###############################################################################
# 4. the receiving worker killed under a unicast flood

# the switch must be whole before a case (else its checks only time out)
sub whole {
    my ($x, $y) = @_;

    for my $d ([$x, $y], [$y, $x]) {
        my ($from, $to) = @$d;
        $from->send_eth($to->{mac}, $from->{mac}, 0x0800, 'whole?');
        return 0 unless $to->wait_payload('whole?', 3);
    }

    return 1;
}

SKIP: {
    ok(whole($A, $B), '4: A <-> B before') or skip 'the switch is broken', 1;

    my $pid = $B->{pid};
    my $apid = $A->{pid};

    my $ab = flow(name => 'A->B killed', from => $A, to => [$B],
                  count => 1500, first => 30001);
    my $killed = 0;

    my $r = pump(flows => [$ab], watch => [$A, $B], timeout => 15,
                 quiet => 0.5,
        after_send => sub {
            return if $killed || $ab->{sent} < 500;
            $killed = kill('KILL', $pid);
        });

    ok($killed, "4: B's worker $pid killed after 500 of A's frames");
    ok(!$ab->{dead}, "4: A sent all $ab->{sent} frames")
        or diag($ab->{dead});
    ok(!rx_sum($ab, 'bad') && !rx_sum($ab, 'order'),
       '4: B got ' . rx_sum($ab, 'n') . ' of them, byte-exact, in order');
    ok($B->wait_eof(3), '4: B lost its connection');

    my @w = wait_respawn($pid);
    is(scalar @w, 2, '4: the master respawned the worker');
    ok(scalar(grep { $_ == $apid } @w), "4: A's worker is the same");

    $B->close();
    $B = place('B', mac(0x0b), sub { $_[0] != $A->{worker} });
    placed_ok($B, 'B', "again, not on A's worker");
    $all[1] = $B;

    my ($ipc0, $qf0) = drops_now();

    my $ab2 = flow(name => 'A->B', from => $A, to => [$B], count => 300,
                   first => 40001, window => $WINDOW);
    my $ba2 = flow(name => 'B->A', from => $B, to => [$A], count => 300,
                   first => 40001, window => $WINDOW);

    $r = pump(flows => [$ab2, $ba2], watch => [$A, $B], timeout => 20);
    flows_ok('4 after the kill', $ab2, $ba2);
    ok(!%{$r->{stray}}, '4: no stray frames') or diag(explain($r->{stray}));

    my ($ipc, $qf) = drops_now();
    is(($ipc - $ipc0) . ' ' . ($qf - $qf0), '0 0', '4: no drops');
}


###############################################################################
# 5. the sending worker killed mid-flow, 3 times

SKIP: {
    ok(whole($A, $B), '5: A <-> B before') or skip 'the switch is broken', 1;

    my $bpid = $B->{pid};
    my $S = $A;

    for my $round (1 .. 3) {
        my $pid = $S->{pid};

        my $sb = flow(name => "$S->{name}->B", from => $S, to => [$B],
                      count => 2000, first => 50001 + 10000 * $round);
        my $killed = 0;

        pump(flows => [$sb], watch => [$S, $B], timeout => 15, quiet => 0.5,
            after_send => sub {
                return if $killed || $sb->{sent} < 400 + 100 * $round;
                $killed = kill('KILL', $pid);
            });

        ok($killed, "5.$round: $S->{name}'s worker $pid killed after "
           . "$sb->{sent} frames");
        ok(!rx_sum($sb, 'bad') && !rx_sum($sb, 'order'),
           "5.$round: B got " . rx_sum($sb, 'n') . ' of them, byte-exact, '
           . 'in order');

        my @w = wait_respawn($pid);
        is(scalar @w, 2, "5.$round: the master respawned the worker");
        ok(scalar(grep { $_ == $bpid } @w) && !$B->{eof},
           "5.$round: B's worker is the same, B still connected");

        $S->close();
        $S = place("A$round", mac(0x50 + $round),
                   sub { $_[0] != $B->{worker} });
        placed_ok($S, "A$round", 'on the respawned worker');
    }

    my ($ipc0, $qf0) = drops_now();

    my $sb = flow(name => "$S->{name}->B", from => $S, to => [$B],
                  count => 300, first => 90001, window => $WINDOW);
    my $bs = flow(name => "B->$S->{name}", from => $B, to => [$S],
                  count => 300, first => 90001, window => $WINDOW);

    my $r = pump(flows => [$sb, $bs], watch => [$S, $B], timeout => 20);
    flows_ok('5 after the kills', $sb, $bs);
    ok(!%{$r->{stray}}, '5: no stray frames') or diag(explain($r->{stray}));

    my ($ipc, $qf) = drops_now();
    is(($ipc - $ipc0) . ' ' . ($qf - $qf0), '0 0', '5: no drops');

    my ($w, $pid) = where($B->{mac});
    is($pid, $bpid, "5: B is still on worker pid $bpid");

    $A = $S;
}

diag(sprintf('total %.1f s', time() - $T0));

$_->close(clean => 1) for grep { $_->{sock} && !$_->{eof} } $A, $B, $C, $D,
    $E;

$t->done();
