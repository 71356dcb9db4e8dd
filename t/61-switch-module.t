#!/usr/bin/perl

# vpnws: the switching rules (DESIGN.md section 4) in the nginx module
# (vpnws_switch parameters): the same cases as t/60-switch-daemon.t, from
# t/lib/SwitchCases.pm.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use SwitchCases;

SwitchCases::run(SwitchCases::Module->new());
