#!/bin/sh
# mmdebstrap --customize-hook of image/build-image.sh: runs on the build host once every package is
# installed in ROOT. Usage: customize.sh ROOT DATA_DIR
set -eu
root=$1
data=$2
here=$(dirname "$0")

# The overlay again: fstab and hostname must win over what the packages wrote.
cp -a "$here/overlay/." "$root/"

# Boot settings. /etc/default/raspi-firmware is the package's conffile, so it can only be edited now.
# Explicit values, because the hook would otherwise look at the build host: its root device, its
# consoles, whether it is a Pi 4 (where the default cma=64M can keep the board from booting).
sed -i -e 's|^#\?ROOTPART=.*|ROOTPART=LABEL=RASPIROOT|' \
       -e 's|^#\?CMA=.*|CMA=0|' \
       -e 's|^#\?CONSOLES=.*|CONSOLES="tty0 ttyS1,115200"|' "$root/etc/default/raspi-firmware"

# The initramfs, once: build-image.sh replaced update-initramfs by /bin/true for the install (under
# qemu one run takes about 10 minutes, and dpkg would run it twice). Its raspi-firmware post-update
# hook then copies kernel, initrd and DTBs to /boot/firmware and writes config.txt and cmdline.txt.
rm "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
for k in "$root"/lib/modules/*; do
    chroot "$root" update-initramfs -c -k "$(basename "$k")"
done

# postinst enables it when systemd is already there; make sure either way.
chroot "$root" systemctl enable flashline.service

# /var/lib/flashline becomes the data partition: its content (the active bundle) moves out, the
# empty directory stays as the mount point.
cp -a "$root/var/lib/flashline/." "$data/"
find "$root/var/lib/flashline" -mindepth 1 -delete
rm -f "$root"/var/cache/apt/archives/*.deb
