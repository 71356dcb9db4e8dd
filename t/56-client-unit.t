#!/usr/bin/perl

# vpn-ws-client parsers (URL, proxy selection, base64, HTTP response), the
# ASan/UBSan build of client/test_client.c; its TAP goes straight to prove.

use strict;
use warnings;

use FindBin;

my $build = $ENV{VPNWS_BUILD} || "$FindBin::Bin/../build";
my $bin = "$build/client-unit";

unless (-x $bin) {
    print "1..0 # SKIP $bin not built (run make)\n";
    exit 0;
}

$ENV{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=1';
exec $bin or die "exec $bin: $!";
