#!/usr/bin/env bash
# `systemd-analyze verify` of the units as shipped, strictly: verify exits 0 on warnings such as an
# unknown key, so any output at all fails. verify also insists that ExecStart's binary exists, and
# /usr/bin/flashline does not on a build machine: a copy points at the built binary (or /bin/true).
set -euo pipefail
cd "$(dirname "$0")"
command -v systemd-analyze >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }

units=(flashline.service 'media-flashline\x2dstick.mount')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "${units[@]}" "$tmp/"
bin=$(realpath -e "${FLASHLINE_BIN:-../target/release/flashline}" 2>/dev/null || echo /bin/true)
sed -i "s|^ExecStart=/usr/bin/flashline |ExecStart=$bin |" "$tmp/flashline.service"

rc=0
out=$(cd "$tmp" && systemd-analyze verify "${units[@]}" 2>&1) || rc=$?
if [[ $rc -ne 0 || -n $out ]]; then
    printf 'systemd-analyze verify failed (exit %s):\n%s\n' "$rc" "$out" >&2
    exit 1
fi
echo "systemd-analyze verify: ${units[*]}: ok (ExecStart checked against $bin)"
# The hardening score, for the log (lower is better; 3.2 when written).
(cd "$tmp" && systemd-analyze security --offline=true flashline.service 2>&1 | tail -n1) || true
