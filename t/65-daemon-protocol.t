#!/usr/bin/perl

# vpnws: the websocket protocol after the 101 (DESIGN.md section 3) in the
# vpn-ws daemon behind nginx: the same cases as t/11-protocol.t, from
# t/lib/ProtocolCases.pm.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Daemon;
use ProtocolCases;

Daemon::has_daemon();

ProtocolCases::run(Daemon::Target->new(%ProtocolCases::SWITCH));
