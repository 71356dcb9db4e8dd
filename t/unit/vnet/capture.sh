#!/bin/sh
# vpnws: regenerate the kernel segmentation vectors in t/unit/vnet/ (root).
# The capture runs in a private network namespace that dies with it.
set -e
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../../.." && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
${CC:-cc} -D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/src" -o "$bin/capture" \
    "$dir/capture.c" "$root/src/vpnws_vnet.c"
uname -r > "$dir/KERNEL"
exec unshare -n sh -c '
    echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
    exec "$0" "$1"' "$bin/capture" "$dir"
