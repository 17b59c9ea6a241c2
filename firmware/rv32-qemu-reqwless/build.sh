#!/usr/bin/env bash
# Builds rv32-qemu-reqwless for riscv32imc-unknown-none-elf (the ESP32-C3's ISA) with Debian's toolchain and
# prints the ELF's path. Environment (all required, `run.sh` sets them):
#   TLSPOST_FW_ROOT_DER    path of the DER root to pin (tlspost serve's CA)
#   TLSPOST_FW_HOST        host name (SNI, checked against the SANs)
#   TLSPOST_FW_BUILD_TIME  seconds since 1970: the validity floor (no SNTP in this test)
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src and lld (see firmware/proto-demo).
# The same recipe, size settings, profile and linker script as firmware/rv32-qemu/build.sh, so the
# figures compare.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target=riscv32imc-unknown-none-elf
: "${TLSPOST_FW_ROOT_DER:?set TLSPOST_FW_ROOT_DER to the DER root to pin}"
: "${TLSPOST_FW_HOST:?set TLSPOST_FW_HOST}"
: "${TLSPOST_FW_BUILD_TIME:=$(date +%s)}"
export TLSPOST_FW_ROOT_DER TLSPOST_FW_HOST TLSPOST_FW_BUILD_TIME

missing=()
[[ -x /usr/bin/rustc ]] || missing+=(rustc-web)
[[ -x /usr/bin/cargo ]] || missing+=(cargo-web)
[[ -d /usr/lib/rustlib/src/rust/library/core ]] || missing+=(rust-web-src)
command -v ld.lld >/dev/null || missing+=(lld)
if ((${#missing[@]})); then
  echo "rv32-qemu-reqwless: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi

export CARGO_TARGET_DIR="$here/target/release"
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
cd "$here"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="-C linker=ld.lld -C link-arg=-T$here/../rv32-qemu/link.x -Zunstable-options -Cpanic=immediate-abort" \
  /usr/bin/cargo build --quiet --locked --release \
  -Zbuild-std=core -Zbuild-std-features=optimize_for_size \
  --target "$target" >&2
echo "$CARGO_TARGET_DIR/$target/release/rv32-qemu-reqwless"
