#!/usr/bin/env bash
# The part of the image that can be tested without a Raspberry Pi: install the arm64 .deb into a
# minimal Debian bookworm arm64 root file system (mmdebstrap), with its maintainer scripts really
# running, then run the installed binary in that chroot under qemu-user emulation (binfmt_misc).
#
#   image/build-arm64.sh && image/test-rootfs.sh [path/to/flashline_*_arm64.deb]
#
# Needs root (chroot, mounts) and the Debian mirror. Not in .ci/run: see image/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
deb=$(realpath -e "${1:-$(cat "$TARGET_DIR/debian/arm64.latest")}")
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
root=${ROOTFS:-$TARGET_DIR/arm64-rootfs-test}
# Downloaded .debs are kept between runs (and shared with build-image.sh).
cache=$TARGET_DIR/arm64-apt-cache
t0=$SECONDS
step() { printf '\n== [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "tools"
pkgs=(mmdebstrap qemu-user-static binfmt-support arch-test)
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

step "binfmt_misc: arm64 executables run through qemu-aarch64-static"
# In a container nothing may have mounted binfmt_misc or registered qemu (no systemd to run
# systemd-binfmt). qemu-user-static registers with flag F: the kernel opens the interpreter now, so
# it also works inside the chroot, where /usr/libexec/qemu-binfmt does not exist.
[[ -e /proc/sys/fs/binfmt_misc/status ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || update-binfmts --enable qemu-aarch64
arch-test arm64   # "arm64: ok", or says why arm64 binaries cannot run here

step "mmdebstrap $SUITE arm64 + $(basename "$deb") -> $root"
rm -rf "$root"
mkdir -p "$cache"
# --variant=apt: Essential packages + apt; the .deb brings its own Depends (libc6, adduser).
# file-mirror-automount makes the local .deb visible to dpkg inside the chroot; eatmydata skips
# fsync, which is very slow under emulation; sync-in/-out keep the apt cache.
mmdebstrap --quiet --arch=arm64 --variant=apt --include="$deb" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    "$SUITE" "$root" "$MIRROR"
du -sh "$root"

step "checks"
version=$(chroot "$root" /usr/bin/flashline --version)
echo "chroot $root /usr/bin/flashline --version: $version"
[[ $version =~ ^flashline\ [0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "unexpected version: $version" >&2; exit 1; }
file -b "$root/usr/bin/flashline"
chroot "$root" dpkg-query -W -f='${Package} ${Version} ${Architecture} ${Status}\n' flashline
# What postinst did: the user with its groups, the active bundle, the data owned by the user.
chroot "$root" id flashline
active=$(readlink "$root/var/lib/flashline/bundles/active")
[[ $active == example-argon ]] || { echo "active bundle is '$active'" >&2; exit 1; }
owner=$(chroot "$root" stat -c %U /var/lib/flashline/bundles/example-argon/bundle.lock)
[[ $owner == flashline ]] || { echo "bundle owned by '$owner'" >&2; exit 1; }
[[ -L "$root/etc/systemd/system/multi-user.target.wants/flashline.service" ]] ||
    echo "note: service not enabled (no systemd in this minimal rootfs, as expected)"
# The arm64 binary doing real work, as the service user: check the packaged bundle's hashes, then
# flash a simulated Argon with it.
chroot "$root" setpriv --reuid=flashline --regid=flashline --init-groups \
    /usr/bin/flashline bundle verify /var/lib/flashline/bundles/active
chroot "$root" setpriv --reuid=flashline --regid=flashline --init-groups \
    /usr/bin/flashline flash --bundle /var/lib/flashline/bundles/active --sim
step "ok"
