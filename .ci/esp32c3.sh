#!/usr/bin/env bash
# Builds firmware/esp32c3 for riscv32imc-unknown-none-elf with Debian's toolchain (docs/device.md,
# "Build: the Debian route": these are its steps), makes the flashable image with espflash, and
# prints its memory figures (bench/esp32c3-figures.sh). No radio emulator exists here: this proves
# it compiles and links; firmware/rv32-app/run.sh runs its application logic under QEMU.
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld-22 binutils, and for espflash's
# first build libudev-dev and pkg-config (.ci/setup installs them). espflash is installed once into
# firmware/esp32c3/target/tools (git-ignored, kept between runs), as is the build's target dir.
# CI has no internet: the pinned root is the ISRG Root X2 kept in firmware/esp32c3/roots/.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=firmware/esp32c3
tools="$fw/target/tools"
espflash_version=4.7.0

for need in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library/core ld.lld-22 size nm; do
  [[ -e "$need" ]] || command -v "$need" >/dev/null || {
    echo "esp32c3: $need not found; run .ci/setup (Debian packages rustc-web cargo-web rust-web-src lld-22 binutils)" >&2
    exit 1
  }
done
rustfmt --edition 2024 --config-path rustfmt.toml --check "$fw/build.rs" "$fw/src/main.rs" "$fw/src/net.rs" "$fw/src/clock.rs"

if [[ "$("$tools/bin/espflash" --version 2>/dev/null)" != "espflash $espflash_version" ]]; then
  echo "esp32c3: installing espflash $espflash_version into $tools (once)"
  RUSTC=/usr/bin/rustc /usr/bin/cargo install --quiet --locked "espflash@$espflash_version" \
    --no-default-features --features cli --root "$tools" --target-dir "$tools/build"
fi
# `--tools`: only the install above (.ci/test starts it early, beside the workspace's tests).
if [[ "${1:-}" == --tools ]]; then
  exit 0
fi

if [[ -z "${TLSPOST_BIN:-}" ]]; then
  cargo build --quiet --locked -p tlspost-cli
  TLSPOST_BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/tlspost"
fi
"$TLSPOST_BIN" certs --file "$fw/roots/isrg-root-x2.pem" --format rust -o "$fw/src/roots.rs" >/dev/null

echo "esp32c3: building (Debian's rustc, core and alloc from source, linked by lld-22)"
(
  cd "$fw"
  unset CARGO_TARGET_DIR CARGO_ENCODED_RUSTFLAGS RUSTFLAGS
  export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_RISCV32IMC_UNKNOWN_NONE_ELF_LINKER=ld.lld-22
  export TLSPOST_SSID=ci-network TLSPOST_PASSWORD=ci-password TLSPOST_URL=https://192.168.1.20:8443/api/v1/readings
  /usr/bin/cargo build --quiet --locked --release -Zbuild-std=core,alloc
)
elf="$fw/target/riscv32imc-unknown-none-elf/release/esp32c3"
image="$fw/target/esp32c3.bin"
"$tools/bin/espflash" save-image --chip esp32c3 "$elf" "$image"
[[ -s "$image" ]] || { echo "esp32c3: espflash wrote no image" >&2; exit 1; }
bench/esp32c3-figures.sh "$elf" "$image"
echo "esp32c3: built and imaged ($image)"
