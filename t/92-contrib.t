#!/usr/bin/perl

# contrib/: the alert rules pass promtool check rules and their own
# promtool test rules cases; the Grafana dashboard is valid JSON whose
# panels query only metrics vpnws exports (src/vpnws_prom.c), as do the
# rules.

use strict;
use warnings;

use FindBin;
use JSON::PP;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $RULES = "$ROOT/contrib/prometheus/vpnws-alerts.yml";

sub slurp { local (@ARGV, $/) = @_; return scalar <> // ''; }

# the metric names of the exporter
my %metrics = map { $_ => 1 } slurp("$ROOT/src/vpnws_prom.c") =~ /"(vpnws_\w+)/g;
cmp_ok(scalar keys %metrics, '>=', 10, 'src/vpnws_prom.c exports metrics');
ok($metrics{vpnws_build_info}, 'vpnws_build_info among them');

SKIP: {
    skip 'no promtool (tools/ensure-deps test)', 2
        if system('command -v promtool >/dev/null');
    my $out = `promtool check rules $RULES 2>&1`;
    is($?, 0, 'promtool check rules') or diag($out);
    $out = `cd $ROOT/contrib/prometheus && promtool test rules vpnws-alerts.test.yml 2>&1`;
    is($?, 0, 'promtool test rules: the alerts fire as their cases say')
        or diag($out);
}

my @rule_metrics = map { /\b(vpnws_\w+)/g } slurp($RULES) =~ /^\s*expr: (.*)$/mg;
cmp_ok(scalar @rule_metrics, '>=', 7, 'the rules query vpnws metrics');
my @unknown = grep { !$metrics{$_} } @rule_metrics;
is("@unknown", '', 'the rules name only exported metrics');

my $d = eval { decode_json(slurp("$ROOT/contrib/grafana/vpnws-dashboard.json")) };
ok($d, 'the dashboard is valid JSON') or diag($@);
my @panels = @{$d->{panels} || []};
cmp_ok(scalar @panels, '>=', 6, scalar(@panels) . ' panels');

my %used;
for my $p (@panels) {
    my @t = @{$p->{targets} || []};
    ok(@t && !grep({ !$_->{expr} } @t), "panel \"$p->{title}\" has queries");
    $used{$_}++ for map { $_->{expr} =~ /\b(vpnws_\w+)/g } @t;
}
@unknown = grep { !$metrics{$_} } sort keys %used;
is("@unknown", '', 'the dashboard queries only exported metrics');
ok($used{vpnws_peers} && $used{vpnws_drops_total},
   'it shows peers and drops');

done_testing();
