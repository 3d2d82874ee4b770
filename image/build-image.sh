#!/usr/bin/env bash
# Builds a bootable Raspberry Pi (3, 4, 400; arm64) SD-card image of the station from Debian
# packages only: Debian bookworm arm64, Debian's kernel (linux-image-arm64) and Raspberry Pi boot
# firmware (raspi-firmware), and the flashline .deb. See image/README.md.
#
#   image/build-arm64.sh && image/build-image.sh [flashline_*_arm64.deb]
#   -> target/image/flashline-<version>-arm64.img   (dd it to the SD card)
#
# No loop devices or mounts: mmdebstrap assembles the root directory (maintainer scripts run under
# qemu-user), then mkfs.ext4 -d / mtools fill each partition from a directory and the partitions are
# copied into the disk image at their offsets. Root is needed for the chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
deb=$(realpath -e "${1:-$(cat "$TARGET_DIR/debian/arm64.latest")}")
SUITE=${SUITE:-bookworm}
# For an image that can be rebuilt bit for bit later, pin the packages too:
# MIRROR=http://snapshot.debian.org/archive/debian/20261101T000000Z (and keep SOURCE_DATE_EPOCH).
MIRROR=${MIRROR:-http://deb.debian.org/debian}
OUT=${OUT:-$TARGET_DIR/image}
BOOT_MB=${BOOT_MB:-256}     # kernel, initrd, firmware, DTBs (~90 MB used)
ROOT_MB=${ROOT_MB:-1024}    # read-only system (~500 MB used)
DATA_MB=${DATA_MB:-512}     # /var/lib/flashline: bundles, records.db
# Timestamps in the file systems come from the commit, not from the build machine's clock.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
version=$(dpkg-deb --field "$deb" Version)
img=$OUT/flashline-$version-arm64.img
work=$OUT/work
root=$work/rootfs
cache=$TARGET_DIR/arm64-apt-cache
t0=$SECONDS
step() { printf '\n== [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "tools"
pkgs=(mmdebstrap qemu-user-static binfmt-support arch-test dosfstools mtools e2fsprogs fdisk)
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
# arm64 maintainer scripts run through qemu-aarch64-static (see image/test-rootfs.sh).
[[ -e /proc/sys/fs/binfmt_misc/status ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || update-binfmts --enable qemu-aarch64
arch-test arm64

step "mmdebstrap $SUITE arm64 -> $root"
rm -rf "$work"
mkdir -p "$work/data" "$cache"
# minbase + what a headless appliance needs to boot. raspi-firmware is in non-free-firmware.
# The overlay goes in first: raspi-firmware's hooks read /etc/default/raspi-* (config.txt, cmdline).
# update-initramfs is /bin/true during the install; image/customize.sh runs it once at the end, sets
# the boot parameters, enables the service and moves /var/lib/flashline out to the data partition.
mmdebstrap --quiet --arch=arm64 --variant=minbase --components=main,non-free-firmware \
    --include=systemd-sysv,udev,kmod,initramfs-tools,linux-image-arm64,raspi-firmware \
    --include=dosfstools,e2fsprogs,i2c-tools \
    --include="$deb" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    --setup-hook="sync-in '$repo/image/overlay' /" \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
    --essential-hook='ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    --customize-hook="'$repo/image/customize.sh' \"\$1\" '$work/data'" \
    "$SUITE" "$root" "$MIRROR"

step "checks"
test -L "$root/etc/systemd/system/multi-user.target.wants/flashline.service"
grep -qx 'dtparam=i2c_arm=on' "$root/boot/firmware/config.txt"
grep -q 'root=LABEL=RASPIROOT rw .* ro$' "$root/boot/firmware/cmdline.txt"   # the last ro/rw wins
test -s "$root/boot/firmware/$(sed -n 's/^initramfs \([^ ]*\).*/\1/p' "$root/boot/firmware/config.txt")"
test "$(readlink "$work/data/bundles/active")" = example-argon
echo "config.txt:   $(grep -v '^#' "$root/boot/firmware/config.txt" | grep . | tr '\n' ' ')"
echo "cmdline.txt:  $(cat "$root/boot/firmware/cmdline.txt")"
echo "flashline:    $(chroot "$root" /usr/bin/flashline --version)"
du -sh "$root/boot/firmware" "$root" "$work/data"

step "partitions"
# Toward the same image from the same inputs: no file newer than SOURCE_DATE_EPOCH, fixed volume
# IDs and UUIDs (--invariant: fixed FAT serial and times).
find "$root" "$work/data" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
mkfs.vfat -C -n RASPIFIRM --invariant "$work/boot.img" $((BOOT_MB * 1024)) >/dev/null
mcopy -s -p -m -i "$work/boot.img" "$root"/boot/firmware/* ::/
rm -rf "$root"/boot/firmware/*   # now only the mount point
seed=hash_seed=8d4f3b49-6c5e-4e0b-9b1f-6e6c1a5e0001
mkfs.ext4 -q -L RASPIROOT -U 8d4f3b49-6c5e-4e0b-9b1f-6e6c1a5e0002 -E root_owner=0:0,$seed \
    -d "$root" "$work/root.img" "${ROOT_MB}M"
# The data partition's top directory is /var/lib/flashline itself: the service user's.
owner=$(chroot "$root" id -u flashline):$(chroot "$root" id -g flashline)
mkfs.ext4 -q -L FLDATA -U 8d4f3b49-6c5e-4e0b-9b1f-6e6c1a5e0003 -E root_owner=$owner,$seed \
    -d "$work/data" "$work/data.img" "${DATA_MB}M"

# Each file system as the Pi's fsck will see it.
fsck.vfat -n "$work/boot.img" | tail -n1
e2fsck -fn "$work/root.img" | tail -n1
e2fsck -fn "$work/data.img" | tail -n1

step "disk image $img"
# MBR (the Pi 3's boot ROM reads no GPT): FAT32 firmware partition first, then root, then data.
rm -f "$img"
truncate -s $((4 + BOOT_MB + ROOT_MB + DATA_MB + 1))M "$img"
sfdisk --quiet "$img" <<EOF
label: dos
label-id: 0x464c4e31
start=4MiB, size=${BOOT_MB}MiB, type=c, bootable
size=${ROOT_MB}MiB, type=83
size=${DATA_MB}MiB, type=83
EOF
off=4
for p in boot root data; do
    mb=$(( $(stat -c %s "$work/$p.img") / 1048576 ))
    dd if="$work/$p.img" of="$img" bs=1M seek="$off" conv=notrunc,sparse status=none
    off=$((off + mb))
done
sfdisk --list "$img"
ls -l "$img"
sha256sum "$img" | tee "$img.sha256"
step "done: $img"
