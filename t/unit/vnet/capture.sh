#!/bin/sh
# vpnws: regenerate the kernel segmentation vectors in t/unit/vnet/ (root).
# 1. the synthetic cases of capture.c, in a private network namespace;
# 2. real super-frames: a TCP sender in namespace a sends to b over a veth
#    (TSO on), a packet socket with PACKET_VNET_HDR reads the first three
#    it hands the veth; each goes through the bridge of step 1 as well.
set -e
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../../.." && pwd)
bin=$(mktemp -d)
na=vcap$$a
nb=vcap$$b
cleanup() {
    ip netns pids $na 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns pids $nb 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del $na 2>/dev/null || true
    ip netns del $nb 2>/dev/null || true
    rm -rf "$bin"
}
trap cleanup EXIT
${CC:-cc} -D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/src" -o "$bin/capture" \
    "$dir/capture.c" "$root/src/vpnws_vnet.c"
uname -r > "$dir/KERNEL"

private() {
    unshare -n sh -c '
        echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
        echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
        exec "$@"' sh "$@"
}

private "$bin/capture" "$dir"

ip netns add $na
ip netns add $nb
ip link add vcx netns $na type veth peer name vcy netns $nb
ip -n $na addr add 10.9.0.1/24 dev vcx
ip -n $nb addr add 10.9.0.2/24 dev vcy
ip -n $na link set vcx up
ip -n $nb link set vcy up
ip netns exec $nb perl -MIO::Socket::INET -e '
    my $l = IO::Socket::INET->new(LocalPort => 5201, Listen => 1,
        ReuseAddr => 1) or die; my $c = $l->accept;
    1 while sysread($c, my $b, 65536);' &
ip netns exec $na "$bin/capture" sniff vcx "$bin/real.in" 3 > "$bin/sniff.out" &
sniffer=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -q READY "$bin/sniff.out" 2>/dev/null && break
    sleep 0.2
done
ip netns exec $na perl -MIO::Socket::INET -e '
    my $c = IO::Socket::INET->new("10.9.0.2:5201") or die;
    my $p = join "", map { chr(($_ * 7) & 0xff) } 0 .. 65535;
    syswrite($c, $p) for 1 .. 8; sleep 1;' &
wait $sniffer
private "$bin/capture" replay "$bin/real.in" "$dir" real
