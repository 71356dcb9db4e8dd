package VpnwsWS;

# vpnws: a blocking websocket peer for tests, with full control over the
# bytes it sends (bad input tests) and a timeout on every wait.

use strict;
use warnings;

use Digest::SHA qw(sha1_base64);
use Errno qw(EAGAIN EWOULDBLOCK EINTR EINPROGRESS);
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Socket qw(SOL_SOCKET SO_RCVBUF SO_SNDBUF IPPROTO_TCP TCP_NODELAY inet_aton
              pack_sockaddr_in);
use Time::HiRes qw(time sleep);

use constant {
    CONT => 0x0, TEXT => 0x1, BINARY => 0x2,
    CLOSE => 0x8, PING => 0x9, PONG => 0xa,
};

use Exporter qw(import);
our @EXPORT_OK = qw(mac_bin mac_str eth_frame eth_parse accept_key
                    CONT TEXT BINARY CLOSE PING PONG);

$SIG{PIPE} = 'IGNORE';

our $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';


###############################################################################
# helpers

# "aa:bb:cc:dd:ee:ff" (or 6 bytes) -> 6 bytes
sub mac_bin {
    my ($m) = @_;

    return $m if length $m == 6;
    my @b = split /[:-]/, $m;
    die "bad MAC $m\n" unless @b == 6;

    return pack('C6', map { hex } @b);
}


sub mac_str {
    my ($b) = @_;

    return join ':', map { sprintf '%02x', $_ } unpack('C6', $b);
}


sub eth_frame {
    my ($dst, $src, $type, $payload) = @_;

    return mac_bin($dst) . mac_bin($src) . pack('n', $type // 0x0800)
        . ($payload // '');
}


# (dst, src, ethertype, payload), MACs as lowercase strings
sub eth_parse {
    my ($f) = @_;

    return () unless defined $f && length $f >= 14;

    return (mac_str(substr $f, 0, 6), mac_str(substr $f, 6, 6),
            unpack('n', substr $f, 12, 2), substr($f, 14));
}


sub accept_key {
    my ($key) = @_;

    my $a = sha1_base64($key . $GUID);
    return $a . '=';
}


sub random_key {
    my ($n) = @_;

    return encode_base64(join('', map { chr int rand 256 } 1 .. ($n || 16)),
                         '');
}


###############################################################################
# connection and handshake

# VpnwsWS->connect(port => P, path => '/vpn', ...)
#   host, port, path    where to
#   tls                 1: IO::Socket::SSL, no verification
#   key                 Sec-WebSocket-Key (default: 16 random bytes)
#   version             Sec-WebSocket-Version (default 13; undef: none)
#   mac, bridge         X-vpn-ws-MAC, X-vpn-ws-bridge
#   original            1: behave as the original vpn-ws-client, which does
#                       not send "X-vpn-ws-ready: on" (our client does: it
#                       takes floods before it sent a frame)
#   headers             { name => value } or [ name => value, ... ] extra
#   method, http        GET, HTTP/1.1
#   no_upgrade, no_connection, no_key  leave those headers out
#   request             the whole request as raw bytes (overrides all)
#   extra               bytes sent in the same write right after the request
#   rcvbuf, sndbuf      socket buffer sizes, set before connect
#   timeout             for connect and the response (default 5 s)
# Returns the object whatever the status: ->{status}, ->header(name).
sub connect {
    my ($class, %o) = @_;

    my $self = bless {
        host => $o{host} || '127.0.0.1',
        port => $o{port},
        buf => '',
        eof => 0,
        timeout => $o{timeout} || 5,
        status => 0,
        reason => '',
        headers => {},
        frag => undef,
    }, $class;

    my $s = IO::Socket::INET->new(Proto => 'tcp')
        or die "socket: $!\n";

    # small frames written back to back must not wait for delayed ACKs
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
    setsockopt($s, SOL_SOCKET, SO_SNDBUF, $o{sndbuf}) if $o{sndbuf};

    my $addr = pack_sockaddr_in($self->{port}, inet_aton($self->{host}));
    $s->blocking(0);
    if (!CORE::connect($s, $addr) && $! != EINPROGRESS) {
        die "connect to $self->{host}:$self->{port}: $!\n";
    }
    if (!IO::Select->new($s)->can_write($self->{timeout})) {
        die "connect to $self->{host}:$self->{port}: timeout\n";
    }
    if (my $err = $s->sockopt(Socket::SO_ERROR())) {
        $! = $err;
        die "connect to $self->{host}:$self->{port}: $!\n";
    }

    if ($o{tls}) {
        require IO::Socket::SSL;
        $s->blocking(1);
        IO::Socket::SSL->start_SSL($s,
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_hostname => $o{sni} // 'localhost',
            Timeout => $self->{timeout},
            %{$o{ssl} || {}},
        ) or die "TLS handshake: $IO::Socket::SSL::SSL_ERROR\n";
        $s->blocking(0);
        $self->{tls} = 1;
    }

    $self->{sock} = $s;
    $self->{sel} = IO::Select->new($s);

    my $key = exists $o{key} ? $o{key} : random_key(16);
    $self->{key} = $key;

    my $req = $o{request};

    if (!defined $req) {
        my $method = $o{method} || 'GET';
        my $http = $o{http} || '1.1';
        my $path = $o{path} || '/vpn';

        my @h = (Host => 'localhost');
        push @h, Upgrade => 'websocket' unless $o{no_upgrade};
        push @h, Connection => 'Upgrade' unless $o{no_connection};
        push @h, 'Sec-WebSocket-Key' => $key
            unless $o{no_key} || !defined $key;

        my $version = exists $o{version} ? $o{version} : 13;
        push @h, 'Sec-WebSocket-Version' => $version if defined $version;
        push @h, 'X-vpn-ws-MAC' => $o{mac} if defined $o{mac};
        push @h, 'X-vpn-ws-ready' => 'on' unless $o{original};
        push @h, 'X-vpn-ws-bridge' => ($o{bridge} =~ /^\d+$/
                                       ? ($o{bridge} ? 'on' : 'off')
                                       : $o{bridge})
            if defined $o{bridge};

        my $extra = $o{headers} || [];
        $extra = [%$extra] if ref $extra eq 'HASH';
        push @h, @$extra;

        $req = "$method $path HTTP/$http\r\n";
        while (@h) {
            my ($k, $v) = splice @h, 0, 2;
            $req .= "$k: $v\r\n";
        }
        $req .= "\r\n";
    }

    $req .= $o{extra} if defined $o{extra};

    $self->send_raw($req);
    $self->_read_response();

    return $self;
}


sub _read_response {
    my ($self) = @_;

    my $deadline = time() + $self->{timeout};

    while ($self->{buf} !~ /\r\n\r\n/) {
        if (!$self->_fill($deadline)) {
            $self->{status} = 0;
            $self->{reason} = $self->{eof} ? 'connection closed'
                                           : 'timeout reading the response';
            return;
        }
    }

    my $i = index($self->{buf}, "\r\n\r\n");
    my $head = substr($self->{buf}, 0, $i);
    $self->{buf} = substr($self->{buf}, $i + 4);
    $self->{response_head} = $head;

    my ($line, @lines) = split /\r\n/, $head;
    if ($line =~ m{^HTTP/\d\.\d (\d{3})\s*(.*)$}) {
        $self->{status} = $1;
        $self->{reason} = $2;
    }

    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        next unless defined $v;
        push @{$self->{headers}{lc $k}}, $v;
    }

    return if $self->{status} == 101;

    # a refusal: read its body, bounded
    my $len = $self->header('content-length');
    while (defined $len && length $self->{buf} < $len) {
        last unless $self->_fill($deadline);
    }

    $self->{body} = $self->{buf};
    $self->{buf} = '';
}


# a response header (the first if repeated; all in list context)
sub header {
    my ($self, $name) = @_;

    my $v = $self->{headers}{lc $name} || [];

    return wantarray ? @$v : $v->[0];
}


sub status { $_[0]{status} }
sub ok { $_[0]{status} == 101 }
sub fh { $_[0]{sock} }


###############################################################################
# I/O

# read what is there into buf, waiting until $deadline; 0 on EOF or timeout
sub _fill {
    my ($self, $deadline) = @_;

    return 0 if $self->{eof};

    while (1) {
        my $left = $deadline - time();

        my $pending = $self->{tls} && $self->{sock}->pending();

        if (!$pending) {
            return 0 if $left <= 0;
            next unless $self->{sel}->can_read($left);
        }

        my $n = $self->{sock}->sysread($self->{buf}, 1 << 20,
                                       length $self->{buf});

        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            if ($self->{tls}
                && $IO::Socket::SSL::SSL_ERROR
                && $IO::Socket::SSL::SSL_ERROR
                   =~ /want_read|want_write|SSL wants/i)
            {
                next;
            }
            $self->{eof} = 1;
            $self->{error} = "$!";
            return 0;
        }

        if ($n == 0) {
            $self->{eof} = 1;
            return 0;
        }

        return 1;
    }
}


# read whatever is available now without waiting; 0 on EOF
sub read_available {
    my ($self) = @_;

    return 0 if $self->{eof};

    while (1) {
        my $n = $self->{sock}->sysread($self->{buf}, 1 << 20,
                                       length $self->{buf});
        if (!defined $n) {
            return 1 if $! == EAGAIN || $! == EWOULDBLOCK;
            next if $! == EINTR;
            if ($self->{tls} && ($IO::Socket::SSL::SSL_ERROR // '')
                =~ /want_read|want_write|SSL wants/i)
            {
                return 1;
            }
            $self->{eof} = 1;
            return 0;
        }
        if ($n == 0) {
            $self->{eof} = 1;
            return 0;
        }
        return 1 if $n < (1 << 20)
            && !($self->{tls} && $self->{sock}->pending());
    }
}


sub send_raw {
    my ($self, $bytes, %o) = @_;

    my $deadline = time() + ($o{timeout} || 10);
    my $off = 0;

    while ($off < length $bytes) {
        my $n = $self->{sock}->syswrite($bytes, length($bytes) - $off, $off);

        if (defined $n) {
            $off += $n;
            next;
        }

        if ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR
            || ($self->{tls} && ($IO::Socket::SSL::SSL_ERROR // '')
                =~ /want_read|want_write|SSL wants/i))
        {
            my $left = $deadline - time();
            die "send: timeout, the server does not read\n" if $left <= 0;
            IO::Select->new($self->{sock})->can_write($left);
            next;
        }

        die "send: $!\n" unless $o{ignore_errors};
        return 0;
    }

    return 1;
}


# try to send without blocking; returns bytes written (0 if would block)
sub send_nonblock {
    my ($self, $bytes) = @_;

    my $n = $self->{sock}->syswrite($bytes);

    return $n if defined $n;
    return 0 if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
    die "send: $!\n";
}


###############################################################################
# frames

# the bytes of one frame; mask => 1 (default), fin => 1 (default),
# rsv => 0..7, len => announced payload length (default: real length),
# len_bits => 7, 16 or 64: the length's encoding (default: the shortest)
sub build_frame {
    my ($class, $opcode, $payload, %o) = @_;

    $payload //= '';

    my $fin = exists $o{fin} ? $o{fin} : 1;
    my $mask = exists $o{mask} ? $o{mask} : 1;
    my $rsv = $o{rsv} || 0;
    my $len = defined $o{len} ? $o{len} : length $payload;

    my $b0 = ($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($opcode & 0x0f);
    my $m = $mask ? 0x80 : 0;
    my $hdr;

    my $bits = $o{len_bits} || ($len < 126 ? 7 : $len < 65536 ? 16 : 64);

    if ($bits == 7) {
        $hdr = pack('CC', $b0, $m | $len);
    } elsif ($bits == 16) {
        $hdr = pack('CCn', $b0, $m | 126, $len);
    } else {
        $hdr = pack('CCNN', $b0, $m | 127, int($len / 2**32), $len % 2**32);
    }

    if ($mask) {
        my $key = defined $o{key} ? $o{key}
                                  : pack('N', int rand 2**32);
        my $k = substr($key x (int(length($payload) / 4) + 1), 0,
                       length $payload);
        return $hdr . $key . ($payload ^ $k);
    }

    return $hdr . $payload;
}


sub send_frame {
    my ($self, $opcode, $payload, %o) = @_;

    return $self->send_raw(ref($self)->build_frame($opcode, $payload, %o),
                           %o);
}


sub send_binary {
    my ($self, $payload, %o) = @_;

    return $self->send_frame(BINARY, $payload, %o);
}


# a BINARY frame with an ethernet frame; MACs as strings or 6 bytes
sub send_eth {
    my ($self, $dst, $src, $type, $payload, %o) = @_;

    return $self->send_frame(BINARY, eth_frame($dst, $src, $type, $payload),
                             %o);
}


sub send_ping {
    my ($self, $payload, %o) = @_;

    return $self->send_frame(PING, $payload, %o);
}


sub send_close {
    my ($self, $code, $reason, %o) = @_;

    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';

    return $self->send_frame(CLOSE, $p, %o);
}


# parse one frame from buf: (opcode, payload, fin, rsv, masked) or ()
sub _parse {
    my ($self) = @_;

    my $b = \$self->{buf};
    my $have = length $$b;

    return () if $have < 2;

    my ($b0, $b1) = unpack('CC', $$b);
    my $len = $b1 & 0x7f;
    my $masked = $b1 & 0x80;
    my $off = 2;

    if ($len == 126) {
        return () if $have < 4;
        $len = unpack('n', substr($$b, 2, 2));
        $off = 4;
    } elsif ($len == 127) {
        return () if $have < 10;
        my ($hi, $lo) = unpack('NN', substr($$b, 2, 8));
        $len = $hi * 2**32 + $lo;
        $off = 10;
    }

    my $key;
    if ($masked) {
        return () if $have < $off + 4;
        $key = substr($$b, $off, 4);
        $off += 4;
    }

    return () if $have < $off + $len;

    my $payload = substr($$b, $off, $len);
    substr($$b, 0, $off + $len) = '';

    if ($masked) {
        $payload ^= substr($key x (int($len / 4) + 1), 0, $len);
    }

    $self->{frames_in}++;

    return ($b0 & 0x0f, $payload, ($b0 & 0x80) ? 1 : 0, ($b0 >> 4) & 7,
            $masked ? 1 : 0);
}


# the next frame already read, without waiting
sub next_buffered_frame {
    my ($self) = @_;

    return $self->_parse();
}


# (opcode, payload, fin, rsv, masked); () on timeout or EOF (->{eof});
# in scalar context the opcode, or undef
sub recv_frame {
    my ($self, $timeout) = @_;

    my $deadline = time() + ($timeout // $self->{timeout});

    while (1) {
        my @f = $self->_parse();
        if (@f) {
            $self->{last_masked} = $f[4];
            return wantarray ? @f : $f[0];
        }
        return wantarray ? () : undef unless $self->_fill($deadline);
    }
}


# the next data message's payload; answers pings, skips pongs; undef on
# timeout, EOF or CLOSE (->{closed} holds the close code then)
sub recv_eth {
    my ($self, $timeout) = @_;

    my $deadline = time() + ($timeout // $self->{timeout});

    while (1) {
        my $left = $deadline - time();
        $left = 0 if $left < 0;

        my ($op, $payload) = $self->recv_frame($left);

        return undef unless defined $op;

        if ($op == BINARY || $op == TEXT) {
            return $payload;
        }

        if ($op == PING) {
            $self->send_frame(PONG, $payload, ignore_errors => 1);
            next;
        }

        if ($op == CLOSE) {
            $self->{closed} = length $payload >= 2
                ? unpack('n', $payload) : 1005;
            return undef;
        }

        # PONG, anything else
        return undef if time() >= $deadline;
    }
}


# 1 once a frame with this ethernet payload arrives within $timeout
# (default 3 s); the frames before it are skipped (a tap sends its own)
sub wait_payload {
    my ($self, $want, $timeout) = @_;

    my $deadline = time() + ($timeout // 3);

    while (time() < $deadline) {
        my $f = $self->recv_eth(0.5) // next;
        return 1 if (eth_parse($f))[3] eq $want;
    }

    return 0;
}


# 1 if no data message arrives within $timeout (pings are ignored)
sub expect_nothing {
    my ($self, $timeout) = @_;

    my $f = $self->recv_eth($timeout // 0.5);

    if (defined $f) {
        $self->{unexpected} = $f;
        return 0;
    }

    return 1;
}


# wait for a CLOSE frame: its code (1005 if none), or undef
sub recv_close {
    my ($self, $timeout) = @_;

    my $deadline = time() + ($timeout // $self->{timeout});

    while (1) {
        my $left = $deadline - time();
        $left = 0 if $left < 0;

        my ($op, $payload) = $self->recv_frame($left);
        return undef unless defined $op;

        if ($op == CLOSE) {
            $self->{close_payload} = $payload;
            return length $payload >= 2 ? unpack('n', $payload) : 1005;
        }
    }
}


# 1 if the server closes the TCP connection within $timeout
sub wait_eof {
    my ($self, $timeout) = @_;

    my $deadline = time() + ($timeout // $self->{timeout});

    while (!$self->{eof}) {
        $self->{buf} = '';
        last unless $self->_fill($deadline);
    }

    return $self->{eof} ? 1 : 0;
}


# read from many peers at once.  Returns an array ref: per peer, an array
# ref of the data payloads it got (pings are answered, CLOSE codes kept
# in ->{closed}).  want => N: until every peer has N (or timeout);
# quiet => S: until nothing arrived for S seconds (or timeout).
sub collect {
    my ($class, $peers, %o) = @_;

    my $want = $o{want};
    my $quiet = $o{quiet};
    my $deadline = time() + ($o{timeout} // 10);
    my $last = time();

    my @got = map { [] } @$peers;
    my %idx;
    my $sel = IO::Select->new();

    for my $i (0 .. $#$peers) {
        my $p = $peers->[$i];
        next unless $p->{sock} && !$p->{eof};
        $idx{fileno $p->{sock}} = $i;
        $sel->add($p->{sock});
    }

    my $drain = sub {
        my ($i) = @_;
        my $p = $peers->[$i];

        while (my ($op, $payload) = $p->_parse()) {
            $last = time();
            if ($op == BINARY || $op == TEXT) {
                push @{$got[$i]}, $payload;
            } elsif ($op == PING) {
                $p->send_frame(PONG, $payload, ignore_errors => 1);
            } elsif ($op == CLOSE) {
                $p->{closed} = length $payload >= 2
                    ? unpack('n', $payload) : 1005;
            }
        }
    };

    $drain->($_) for 0 .. $#$peers;

    while (1) {
        if (defined $want) {
            last unless grep { @{$got[$_]} < $want } 0 .. $#$peers;
        }

        my $now = time();
        last if defined $quiet && $now - $last >= $quiet;
        last unless $sel->count();

        my $wait = $deadline - $now;
        if (defined $quiet && $quiet - ($now - $last) < $wait) {
            $wait = $quiet - ($now - $last);
        }
        $wait = 0 if $wait < 0;

        # at least one look, even with no time left
        my @ready = $sel->can_read($wait);
        last if !@ready && time() >= $deadline;

        for my $fh (@ready) {
            my $i = $idx{fileno $fh};
            my $p = $peers->[$i];

            if (!$p->read_available()) {
                $sel->remove($fh);
            }

            $drain->($i);
        }
    }

    return \@got;
}


sub close {
    my ($self, %o) = @_;

    return unless $self->{sock};

    if ($o{clean}) {
        $self->send_close(1000, '', ignore_errors => 1);
        $self->recv_close($o{timeout} // 2);
    }

    CORE::close($self->{sock});
    $self->{sock} = undef;
    $self->{eof} = 1;
}


sub DESTROY {
    my ($self) = @_;

    CORE::close($self->{sock}) if $self->{sock};
}


1;
