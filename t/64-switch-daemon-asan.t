#!/usr/bin/perl

# vpnws: the switching cases of t/60-switch-daemon.t against the daemon's
# ASan + UBSan build (make builds it for nginx-test): no report allowed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Daemon;
use SwitchCases;
use VpnwsTest;

$Daemon::BINARY = $ENV{TEST_VPNWS_DAEMON}
    || "$VpnwsTest::BUILD/asan/vpn-ws";

Daemon::has_daemon();

$ENV{ASAN_OPTIONS} //= 'detect_leaks=1:abort_on_error=1';
$ENV{UBSAN_OPTIONS} //= 'print_stacktrace=1:halt_on_error=1';

SwitchCases::run(Daemon::Target->new());
