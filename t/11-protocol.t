#!/usr/bin/perl

# vpnws: the websocket protocol after the upgrade (DESIGN.md section 3) in
# the nginx module: the same cases as t/65-daemon-protocol.t, from
# t/lib/ProtocolCases.pm.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use ProtocolCases;
use SwitchCases;

ProtocolCases::run(SwitchCases::Module->new(%ProtocolCases::SWITCH));
