#!/usr/bin/perl

# The man pages (man/*.scd, built by make man): they render without
# warnings; every option of vpn-ws-client --help and vpn-ws --help is in
# its page and the pages document no option the binaries lack; every
# directive of the module and every vpnws_switch parameter has its entry.

use strict;
use warnings;

use FindBin;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $BUILD = $ENV{VPNWS_BUILD} || "$ROOT/build";
my $MAN = "$BUILD/man";

for my $page ('vpn-ws-client.8', 'vpn-ws.8', 'ngx_http_vpnws_module.5') {
    plan(skip_all => "no $MAN/$page (make man; needs scdoc)")
        unless -f "$MAN/$page";
}

sub slurp { local (@ARGV, $/) = @_; return scalar <> // ''; }

for my $page (glob "$MAN/*.[58]") {
    my $warn = `MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l $page 2>&1 >/dev/null`;
    is($warn, '', "$page renders without warnings") or diag($warn);

    # groff without man's guessing (lintian) runs tbl only when told so
    my $text = slurp($page);
    ok($text !~ /^\.TS/m || $text =~ /\A'\\" t\n/,
       "$page: tables announced on its first line");
}

# the options of a --help: "-v, --verbose", "--exec CMD" at a line's start
sub help_options {
    my ($bin) = @_;
    my %o;
    for (split /\n/, `$bin --help`) {
        next unless /^\s+(-[\w-].*?)(?:\s{2,}|$)/;
        $o{$_} = 1 for $1 =~ /(?:^|[\s,])(--?[A-Za-z][\w-]*)/g;
    }
    return \%o;
}

# the options a page documents: "*--exec* _CMD_", "*-v*, *--verbose*"
sub page_options {
    my ($scd) = @_;
    my ($opts) = slurp($scd) =~ /^# OPTIONS\n(.*?)^# /ms;
    my %o;
    for (split /\n/, $opts // '') {
        next unless /^\*-/;
        $o{$_} = 1 for /\*(--?[A-Za-z][\w-]*)\*/g;
    }
    return \%o;
}

for my $prog (['vpn-ws-client', "$BUILD/vpn-ws-client"],
              ['vpn-ws', "$BUILD/vpn-ws"])
{
    my ($name, $bin) = @$prog;
    my $help = help_options($bin);
    my $page = page_options("$ROOT/man/$name.8.scd");
    my $text = `MANWIDTH=200 man -l $MAN/$name.8 2>/dev/null | col -b`;

    cmp_ok(scalar keys %$help, '>=', 10, "$name --help lists its options");

    my @missing = grep { !$page->{$_} } sort keys %$help;
    is("@missing", '', "$name(8) documents every option of --help");

    my @stale = grep { !$help->{$_} } sort keys %$page;
    is("@stale", '', "$name(8) documents no option --help lacks");

    like($text, qr/^\s+(?:-\w, )?\Q$_\E\b/m, "$name(8) renders $_")
        for sort keys %$help;
}

# the module: directives of its ngx_command_t arrays, switch parameters
my (%directives, %params);
for my $src (glob "$ROOT/ngx_http_vpnws_*.c") {
    my $c = slurp($src);
    while ($c =~ /ngx_command_t\s+\w+\[\]\s*=\s*\{(.*?)ngx_null_command/sg) {
        my $cmds = $1;
        $directives{$1} = 1 while $cmds =~ /ngx_string\("(\w+)"\)/g;
    }
}
my $zone = slurp("$ROOT/ngx_http_vpnws_zone.c");
$params{$1} = 1 while $zone =~ /\bis\("(\w+)"\)/g;
$params{$1} = 1 while $zone =~ /"(\w+)=", \d+\)/g;

cmp_ok(scalar keys %directives, '>=', 3, 'the module has directives');
cmp_ok(scalar keys %params, '>=', 10, 'vpnws_switch has parameters');

my $mod = slurp("$ROOT/man/ngx_http_vpnws_module.5.scd");
for my $d (sort keys %directives) {
    like($mod, qr/^## \Q$d\E\n\n\[\[ \*Syntax:\*\n:\[ \*\Q$d\E\*.*\n\|  \*Default:\*\n:  .+\n\|  \*Context:\*\n:  \w/m,
         "directive $d: a section with Syntax, Default and Context");
}
for my $p (sort keys %params) {
    like($mod, qr/^\*\Q$p\E\*=/m, "vpnws_switch parameter $p= documented");
}

done_testing();
