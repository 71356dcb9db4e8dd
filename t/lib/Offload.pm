package Offload;

# Helpers of the offload e2e tests (t/84-e2e-offload*.t): a byte-exact TCP
# file transfer between two namespaces, and a packet-socket checker that
# verifies the IPv4 header and TCP checksums of every TCP frame a tap
# receives (so a wrong segment cannot hide behind TCP retransmits).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

my $CHECKER = <<'CHECK';
use strict;
use warnings;
$| = 1;
my ($dev) = @ARGV;
open my $fh, '<', "/sys/class/net/$dev/ifindex" or die "ifindex: $!";
chomp(my $ifindex = <$fh>);
# AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)
socket(my $s, 17, 3, unpack('S', pack('n', 3))) or die "socket: $!";
setsockopt($s, 1, 8, pack('i', 8 << 20));       # SO_RCVBUF
my ($ok, $bad, $seen, $v6) = (0, 0, 0, 0);
sub sum16 {
    my $sum = 0;
    $sum += $_ for unpack('n*', $_[0] . (length($_[0]) & 1 ? "\0" : ''));
    $sum = ($sum & 0xffff) + ($sum >> 16) while $sum >> 16;
    return $sum;
}
sub report { print "CHECKED ok=$ok bad=$bad v6=$v6 seen=$seen\n"; exit 0 }
$SIG{TERM} = \&report;
$SIG{ALRM} = \&report;
alarm 120;
print "READY\n";
while (defined(my $from = recv($s, my $buf, 70000, 0))) {
    my ($ifi, $type) = (unpack('x4 L x2 C', $from));
    next unless $ifi == $ifindex && $type != 4;     # not PACKET_OUTGOING
    my $et = unpack('n', substr($buf, 12, 2));
    my $off = 14;
    if ($et == 0x8100) { $et = unpack('n', substr($buf, 16, 2)); $off = 18 }
    my ($l4, $pseudo, $tcp);
    if ($et == 0x0800) {
        my $ihl = (ord(substr($buf, $off, 1)) & 15) * 4;
        my $tot = unpack('n', substr($buf, $off + 2, 2));
        next unless ord(substr($buf, $off + 9, 1)) == 6;
        $seen++;
        if (sum16(substr($buf, $off, $ihl)) != 0xffff
            || $tot != length($buf) - $off) { $bad++; next }
        $tcp = substr($buf, $off + $ihl, $tot - $ihl);
        $pseudo = substr($buf, $off + 12, 8) . pack('nn', 6, length $tcp);
    } elsif ($et == 0x86dd) {
        next unless ord(substr($buf, $off + 6, 1)) == 6;
        $seen++;
        $v6++;
        my $plen = unpack('n', substr($buf, $off + 4, 2));
        if ($plen != length($buf) - $off - 40) { $bad++; next }
        $tcp = substr($buf, $off + 40, $plen);
        $pseudo = substr($buf, $off + 8, 32) . pack('NN', length $tcp, 6);
    } else {
        next;
    }
    if (sum16($pseudo . $tcp) == 0xffff) { $ok++ } else { $bad++ }
    report() if $seen >= 4000;
}
CHECK

my $RECEIVER = <<'RECV';
use strict;
use warnings;
use IO::Socket::IP;
$| = 1;
my ($port, $out) = @ARGV;
my $l = IO::Socket::IP->new(LocalHost => '::', LocalPort => $port,
    Listen => 1, ReuseAddr => 1, V6Only => 0) or die "listen: $!";
print "READY\n";
$SIG{ALRM} = sub { die "receiver timed out\n" };
alarm 60;
my $c = $l->accept or die "accept: $!";
open my $fh, '>', $out or die "$out: $!";
binmode $fh;
my $n = 0;
while (my $r = sysread($c, my $buf, 1 << 16)) { print $fh $buf; $n += $r }
close $fh;
print "GOT $n\n";
RECV

my $SENDER = <<'SEND';
use strict;
use warnings;
use IO::Socket::IP;
my ($addr, $port, $in) = @ARGV;
my $c;
for (1 .. 30) {
    $c = IO::Socket::IP->new(PeerHost => $addr, PeerPort => $port) and last;
    select(undef, undef, undef, 0.2);
}
$c or die "connect: $!";
open my $fh, '<', $in or die "$in: $!";
binmode $fh;
while (my $r = sysread($fh, my $buf, 1 << 20)) {
    my $off = 0;
    while ($off < $r) {
        my $w = syswrite($c, $buf, $r - $off, $off) // die "write: $!";
        $off += $w;
    }
}
close $c;
SEND

sub new {
    my ($class, $e) = @_;
    my $self = bless { e => $e, n => 0, bg => [] }, $class;
    $self->{checker} = $e->write_file('check.pl', $CHECKER);
    $self->{receiver} = $e->write_file('recv.pl', $RECEIVER);
    $self->{sender} = $e->write_file('send.pl', $SENDER);
    return $self;
}

# a command in namespace $n in the background, its output in $log
sub bg {
    my ($self, $n, $log, @cmd) = @_;
    my $e = $self->{e};
    my $path = $e->dir . "/$log";
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $path or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('ip', 'netns', 'exec', $e->nsname($n), @cmd) or die;
    }
    push @{$self->{bg}}, $pid;
    for (1 .. 50) {
        last if $e->read_file($log) =~ /READY/;
        sleep 0.1;
    }
    return $pid;
}

# start the checksum checker on $dev in namespace $n
sub check_start {
    my ($self, $n, $dev) = @_;
    my $log = 'check-' . ++$self->{n} . '.log';
    my $pid = $self->bg($n, $log, 'perl', $self->{checker}, $dev);
    return [$pid, $log];
}

# stop it: (ok, bad, v6, seen)
sub check_stop {
    my ($self, $c) = @_;
    my ($pid, $log) = @$c;
    kill 'TERM', $pid;
    waitpid($pid, 0);
    my $out = $self->{e}->read_file($log);
    return $out =~ /CHECKED ok=(\d+) bad=(\d+) v6=(\d+) seen=(\d+)/
        ? ($1, $2, $3, $4) : (0, -1, 0, 0);
}

# $mb MiB of random bytes from namespace $from to $to_addr in $to over TCP;
# true when the receiver's copy has the same SHA-256
sub transfer {
    my ($self, $from, $to, $to_addr, $mb) = @_;
    my $e = $self->{e};
    my $d = $e->dir;
    my $k = ++$self->{n};
    my $port = 5300 + $k;
    my $in = "$d/xfer-$k.in";

    system("head -c ${mb}M /dev/urandom > $in") == 0 or die "urandom";
    my $pid = $self->bg($to, "recv-$k.log", 'perl', $self->{receiver},
        $port, "$d/xfer-$k.out");
    my (undef, $rc) = $e->sh($from,
        "timeout 60 perl $self->{sender} $to_addr $port $in", 1);
    waitpid($pid, 0);
    my $same = $rc == 0 && -s "$d/xfer-$k.out"
        && `sha256sum < $in` eq `sha256sum < $d/xfer-$k.out`;
    diag($e->read_file("recv-$k.log")) unless $same;
    unlink $in, "$d/xfer-$k.out";
    return $same;
}

sub DESTROY {
    my ($self) = @_;
    for my $pid (@{$self->{bg}}) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
}

1;
