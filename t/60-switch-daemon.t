#!/usr/bin/perl

# vpnws: the switching rules (DESIGN.md section 4) in the vpn-ws daemon
# behind Debian's nginx (uwsgi_pass, the admin via uwsgi_modifier1 1):
# the same cases as t/61-switch-module.t, from t/lib/SwitchCases.pm.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Daemon;
use SwitchCases;

Daemon::has_daemon();

SwitchCases::run(Daemon::Target->new());
