#!/usr/bin/env bash
# Cross-builds flashline for the Raspberry Pi (Debian arm64 / aarch64) on a Debian x86_64 machine
# and packages it as a .deb with cargo-deb. No Docker needed (CI has none): Debian's cross gcc links
# the Rust binary and compiles the vendored libusb C code.
#
#   image/build-arm64.sh            # -> target/debian/flashline_<version>-1_arm64.deb
#
# Installs what it needs when missing (as root, apt + rustup + cargo install), so it runs the same on a
# fresh CI machine and on a developer's. CARGO_TARGET_DIR defaults to ./target so the host and cross
# builds share one dependency cache.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
t0=$SECONDS
step() { printf '\n== [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "toolchain"
# dpkg-dev: dpkg-shlibdeps, which cargo-deb uses for `depends = "$auto"`. file: the ELF check below.
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu dpkg-dev file)
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
# cargo-deb is compiled from crates.io (~1-2 min on 2 cores) the first time only.
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo deb --version

# Cargo links with the cross gcc; the cc crate (libusb1-sys, vendored) compiles C with it; cargo-deb
# strips with the matching binutils (it would otherwise run the host's x86 `strip` and fail).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export STRIP_aarch64_linux_gnu=aarch64-linux-gnu-strip
export OBJCOPY_aarch64_linux_gnu=aarch64-linux-gnu-objcopy

step "cargo build --release --target $TARGET"
cargo build --release --locked --target "$TARGET"

bin="$CARGO_TARGET_DIR/$TARGET/release/flashline"
step "check $bin"
info=$(file -b "$bin")
echo "$info"
# Fail loudly if a misconfigured linker produced a host binary.
[[ $info == *"ELF 64-bit LSB"*"ARM aarch64"* ]] || { echo "not an aarch64 ELF: $info" >&2; exit 1; }

step "cargo deb --target $TARGET"
# --no-build: the binary above is what gets packaged; cargo-deb maps the `target/release/...` asset
# paths in Cargo.toml to $CARGO_TARGET_DIR/$TARGET/release/ itself.
out=$(cargo deb --locked --no-build --target "$TARGET" --output "$CARGO_TARGET_DIR/debian")
deb=$(printf '%s\n' "$out" | tail -n1)
[[ -f $deb ]] || { echo "cargo deb did not report a .deb: $out" >&2; exit 1; }

step "package $deb"
stat -c %s "$deb" | awk '{ printf "size: %s bytes (%.1f MiB)\n", $1, $1 / 1048576 }'
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
# The file list, unescaped (tar's default listing doubles the backslash of \x2d).
files=$(dpkg-deb --fsys-tarfile "$deb" | tar -t --quoting-style=literal)
dpkg-deb --fsys-tarfile "$deb" | tar -tv --quoting-style=literal | awk '{ print $1, $3, $6 }'
arch=$(dpkg-deb --field "$deb" Architecture)
[[ $arch == arm64 ]] || { echo "Architecture is $arch, not arm64" >&2; exit 1; }
# Every path the service and the image rely on must be in the package.
for p in ./usr/bin/flashline ./lib/systemd/system/flashline.service \
         './lib/systemd/system/media-flashline\x2dstick.mount' ./lib/udev/rules.d/50-particle.rules \
         ./lib/udev/rules.d/60-flashline-stick.rules ./etc/flashline/station.toml \
         ./usr/share/flashline/bundles/example-argon/bundle.lock; do
    grep -qxF -- "$p" <<<"$files" || { echo "missing in .deb: $p" >&2; exit 1; }
done
# For scripts that run after this one (image/test-rootfs.sh, image/build-image.sh).
echo "$deb" > "$CARGO_TARGET_DIR/debian/arm64.latest"
step "done: $deb"
