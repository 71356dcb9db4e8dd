#!/usr/bin/perl

# The client against a scripted websocket server (perl, in namespace "s"):
# the request it sends, frames arriving with the 101, fragmented messages
# with a PING between the fragments, masking of everything it sends, the
# CLOSE handshake, protocol errors answered with CLOSE 1002, and a wrong
# Sec-WebSocket-Accept.  Frames reaching the tap are captured with a packet
# socket in the client's namespace.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64;
use Test::More;
use Time::HiRes qw(sleep time);
use E2E;

my $e = E2E->new();
my $d = $e->dir;

$e->ns($_) for qw(s a);
$e->uplink('a', 1);

my $server = $e->write_file('server.pl', <<'SERVER');
use strict;
use warnings;
use IO::Socket::IP;
use Digest::SHA qw(sha1_base64);
use Time::HiRes qw(time);
$| = 1;

my ($port, @modes) = @ARGV;
my $l = IO::Socket::IP->new(LocalPort => $port, Listen => 8, ReuseAddr => 1)
    or die "listen: $!";
print "READY\n";

sub eth {
    my ($p) = @_;
    return ("\xff" x 6) . "\x02\x99\x00\x00\x00\x01\x88\xb5" . $p;
}

sub frame {
    my ($b0, $p) = @_;
    my $n = length $p;
    my $h = chr($b0);
    $h .= $n < 126 ? chr($n) : $n < 65536 ? chr(126) . pack('n', $n)
        : chr(127) . pack('Q>', $n);
    return $h . $p;
}

# client frames for $secs or until $cb returns true
sub frames {
    my ($c, $secs, $cb) = @_;
    my $buf = '';
    my $end = time + $secs;
    while (time < $end) {
        my $rin = '';
        vec($rin, fileno($c), 1) = 1;
        next unless select(my $rout = $rin, undef, undef, 0.1);
        sysread($c, $buf, 65536, length $buf) or return 'eof';
        while (length $buf >= 2) {
            my ($b0, $b1) = unpack 'CC', $buf;
            my ($len, $off) = ($b1 & 0x7f, 2);
            if ($len == 126) {
                last if length $buf < 4;
                ($len, $off) = (unpack('n', substr $buf, 2, 2), 4);
            } elsif ($len == 127) {
                last if length $buf < 10;
                ($len, $off) = (unpack('Q>', substr $buf, 2, 8), 10);
            }
            my $masked = $b1 >> 7;
            my $need = $off + ($masked ? 4 : 0) + $len;
            last if length $buf < $need;
            my $mask = $masked ? substr($buf, $off, 4) : "\0\0\0\0";
            my $p = substr($buf, $off + ($masked ? 4 : 0), $len);
            $p ^= substr($mask x (int($len / 4) + 1), 0, $len);
            substr($buf, 0, $need, '');
            printf "FRAME op=%d masked=%d len=%d fin=%d\n", $b0 & 0x0f,
                $masked, $len, $b0 >> 7;
            return 'done' if $cb->($b0 & 0x0f, $p);
        }
    }
    return 'timeout';
}

for my $mode (@modes) {
    my $c = $l->accept or die "accept: $!";
    my $req = '';
    while ($req !~ /\r\n\r\n/) {
        sysread($c, $req, 4096, length $req) or last;
    }
    my ($head) = split /\r\n\r\n/, $req, 2;
    my @lines = split /\r\n/, $head;
    print "REQ $lines[0]\n";
    print "HDR $_\n" for @lines[1 .. $#lines];

    my ($key) = $head =~ /^Sec-WebSocket-Key: *(\S+)/mi;
    my $accept = sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        . '=';
    $accept = 'dGhlIHNhbXBsZSBub25jZQ==' if $mode eq 'badaccept';
    my $resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n";

    if ($mode eq 'frames') {
        # a frame in the same segment as the 101
        syswrite $c, $resp . frame(0x82, eth('hello-1'));

        # a 3008-byte message in three fragments, a PING in between
        my $m = eth('hello-2-' . ('x' x 3000));
        syswrite $c, frame(0x01, substr($m, 0, 100)) . frame(0x89, 'p1')
            . frame(0x00, substr($m, 100, 1000)) . frame(0x80, substr($m, 1100));

        frames($c, 5, sub {
            my ($op, $p) = @_;
            print "PONG $p\n" if $op == 0xa;
            return $op == 0xa;
        });

        # the test makes the tap send an ARP request now (IPv6 MLD and
        # ND frames may come first)
        frames($c, 5, sub {
            my ($op, $p) = @_;
            return 0 unless $op == 0x2;
            printf "BINARY %d dst=%s\n", length $p, unpack('H12', $p);
            return unpack('H12', $p) eq 'ffffffffffff';
        });

        syswrite $c, frame(0x88, pack('n', 1001) . 'bye');
        frames($c, 3, sub {
            my ($op, $p) = @_;
            printf "CLOSE %d\n", unpack('n', $p) if $op == 0x8;
            return $op == 0x8;
        });

    } elsif ($mode eq 'badop') {
        syswrite $c, $resp . "\x83\x00";
        frames($c, 3, sub {
            my ($op, $p) = @_;
            printf "CLOSE %d %s\n", unpack('n', $p), substr($p, 2)
                if $op == 0x8;
            return $op == 0x8;
        });

    } elsif ($mode eq 'ping') {
        # an idle session: the client's keepalive PING (empty payload)
        syswrite $c, $resp;
        frames($c, 8, sub {
            my ($op, $p) = @_;
            printf "PING len=%d\n", length $p if $op == 0x9;
            return $op == 0x9;
        });

    } elsif ($mode eq '426') {
        syswrite $c, "HTTP/1.1 426 Upgrade Required\r\n"
            . "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n";
        sleep 1;

    } else {
        syswrite $c, $resp;
        sleep 1;
    }

    print "END $mode\n";
    close $c;
}
SERVER

my $capture = $e->write_file('capture.pl', <<'CAPTURE');
use strict;
use warnings;
$| = 1;
# AF_PACKET, SOCK_RAW, htons(ETH_P_ALL): every frame in this namespace
socket(my $s, 17, 3, unpack('S', pack('n', 3))) or die "socket: $!";
print "READY\n";
$SIG{ALRM} = sub { exit 0 };
alarm 30;
while (defined recv($s, my $buf, 65536, 0)) {
    next unless substr($buf, 12, 2) eq "\x88\xb5";
    printf "ETH len=%d %s\n", length($buf) - 14, substr($buf, 14, 8);
}
CAPTURE

sub bg {
    my ($n, $log, @cmd) = @_;
    my $pid = fork() // die;
    if ($pid == 0) {
        open STDOUT, '>', "$d/$log" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('ip', 'netns', 'exec', $e->nsname($n), @cmd) or die;
    }
    for (1 .. 50) {
        last if $e->read_file($log) =~ /READY/;
        sleep 0.1;
    }
    return $pid;
}

bg('s', 'server.log', 'perl', $server, 9000,
    qw(426 badaccept frames badop frames ping));
bg('a', 'capture.log', 'perl', $capture);

# 426 on the first connection: fatal, with the status line
my $p = $e->client('a', tap => 'vpn9', url => 'ws://10.213.1.1:9000/vpn');
is($e->wait_exit($p, 10), 7, 'HTTP 426: exit code 7');
like($e->client_log($p), qr/refused the websocket: "HTTP\/1\.1 426 Upgrade Required"/,
    'and the status line');

# a wrong Sec-WebSocket-Accept on the first connection: fatal
$p = $e->client('a', tap => 'vpn9', url => 'ws://10.213.1.1:9000/vpn');
is($e->wait_exit($p, 10), 7, 'wrong Sec-WebSocket-Accept: exit code 7');
like($e->client_log($p), qr/wrong Sec-WebSocket-Accept/, 'and says so');

my $c = $e->client('a', args => ['--mac', '02:13:00:00:00:0a', '--bridge'],
    addr => '10.215.9.1/24', url => 'ws://u:p%20w@10.213.1.1:9000/vpn?x=1');

my $log = sub { $e->read_file('server.log') };
my $until = sub {
    my ($re, $secs) = @_;
    my $end = time + $secs;
    while (time < $end) {
        return 1 if $log->() =~ $re;
        sleep 0.1;
    }
    return 0;
};

ok($until->(qr/^PONG/m, 15), 'first session up');
$e->sh('a', 'ping -c1 -W1 10.215.9.2', 1);
ok($until->(qr/END frames/, 15), 'first session done');

my $s = $log->();
my ($req) = $s =~ /^REQ (.*)$/m;
my %h;
my @blocks = split /^REQ /m, $s;
for (split /\n/, $blocks[3]) {
    $h{lc $1} = $2 if /^HDR ([^:]+): *(.*)$/;
}

is($req, 'GET /vpn HTTP/1.1', 'request line');
like($s, qr/^REQ GET \/vpn\?x=1 HTTP\/1\.1$/m, 'path with its query');
is($h{host}, '10.213.1.1:9000', 'Host');
is(lc $h{upgrade}, 'websocket', 'Upgrade');
is(lc $h{connection}, 'upgrade', 'Connection');
is($h{'sec-websocket-version'}, '13', 'Sec-WebSocket-Version');
is(length(decode_base64($h{'sec-websocket-key'} // '')), 16,
    'Sec-WebSocket-Key: 16 random bytes');
is(uc $h{'x-vpn-ws-mac'}, '02:13:00:00:00:0A', 'X-vpn-ws-MAC is the tap MAC');
is($h{'x-vpn-ws-bridge'}, 'on', 'X-vpn-ws-bridge');
is($h{'x-vpn-ws-ready'}, 'on', 'X-vpn-ws-ready: floods may come at once');
is($h{authorization}, 'Basic ' . encode_base64('u:p w', ''),
    'Authorization from the percent-decoded userinfo');

like($s, qr/^PONG p1$/m, 'PING between fragments answered with its payload');
like($s, qr/^CLOSE 1001$/m, 'CLOSE answered with its code');
unlike($s, qr/masked=0/, 'every client frame is masked');
like($s, qr/^BINARY 42 dst=ffffffffffff$/m,
    'a tap frame (ARP request) goes out as one BINARY message');

my $cap = $e->read_file('capture.log');
like($cap, qr/^ETH len=7 hello-1$/m, 'frame sent with the 101 reached the tap');
like($cap, qr/^ETH len=3008 hello-2-$/m,
    'fragmented 3022-byte frame reassembled onto the tap');

ok($until->(qr/END badop/, 10), 'reconnected after CLOSE');
like($log->(), qr/^CLOSE 1002 reserved opcode$/m,
    'reserved opcode: CLOSE 1002 with the reason');
ok($e->wait_log($c, qr/protocol error from the server: reserved opcode/),
    'client logs the protocol error');
ok($until->(qr/END frames\n(.*\n)*END badop\n(.*\n)*END frames/, 10),
    'and reconnects again');
ok(!defined $e->wait_exit($c, 0.1), 'client still running');
$e->stop_client($c);

# the keepalive PING from the sanitizer build: an empty payload once did
# memcpy(dst, NULL, 0), and UBSan aborted the client
my $k = $e->client('a', asan => 1, tap => 'vpn8',
    args => ['--ping-interval', '1'], url => 'ws://10.213.1.1:9000/vpn');
ok($until->(qr/^PING len=0$/m, 10), 'keepalive PING with no payload sent');
ok($until->(qr/END ping/, 10), 'idle session done');
ok(!defined $e->wait_exit($k, 0.5), 'sanitizer client still running')
    or diag($e->client_log($k));
$e->stop_client($k);

$e->check_logs;

done_testing();
