package Congestion;

# TCP congestion control for the tests of --congestion and
# vpnws_congestion: what this kernel has and lets unprivileged users take,
# and what ss(8) says a connection uses.
#
#   my $def = Congestion::default();        # of this network namespace
#   my $alg = Congestion::restricted();     # available, not allowed; undef
#   my @ca = Congestion::of(`ss -tniH ...`); # one per connection listed

use strict;
use warnings;

my $SYS = '/proc/sys/net/ipv4';

sub _read {
    my ($name) = @_;
    open my $fh, '<', "$SYS/$name" or die "$SYS/$name: $!\n";
    my $v = <$fh> // '';
    close $fh;
    chomp $v;
    return $v;
}

# the default of the namespace this process is in (a new one copies the
# initial namespace's)
sub default { _read('tcp_congestion_control') }

sub available { split ' ', _read('tcp_available_congestion_control') }

sub allowed { split ' ', _read('tcp_allowed_congestion_control') }

# an algorithm root may set and other users may not (EPERM), or undef
sub restricted {
    my %ok = map { $_ => 1 } allowed();
    my ($alg) = grep { !$ok{$_} } available();
    return $alg;
}

# the algorithms of the connections in "ss -tni" output, in order: the
# first word of each info line that names an algorithm of this kernel
# (after flags like ts and sack); "?" where none is shown
sub of {
    my ($ss) = @_;
    my %known = map { $_ => 1 } available();
    my @ca;
    for my $line (split /\n/, $ss) {
        next unless $line =~ /^\s/;
        my ($alg) = grep { $known{$_} } split ' ', $line;
        push @ca, $alg // '?';
    }
    return @ca;
}

1;
