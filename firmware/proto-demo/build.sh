#!/usr/bin/env bash
# Builds proto-demo for riscv32imc-unknown-none-elf (the ESP32-C3's ISA) with Debian's toolchain and
# prints the path of the ELF. `--baseline` builds the variant without tlspost-proto calls (figures only).
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src (rustc 1.96 at /usr/bin/rustc with the
# standard library sources, so `core` can be built for the target) and lld (ld.lld).
#
# The recipe is REFERENCE.md's, plus three size settings:
#   -Zbuild-std-features=optimize_for_size  smaller `core` routines (fmt, slices)
#   -Zunstable-options -Cpanic=immediate-abort  a panic is a trap instruction: no messages or locations
#   Cargo.toml's release profile: opt-level "z", lto, codegen-units 1, panic "abort".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target=riscv32imc-unknown-none-elf

features=()
name=release
if [[ "${1:-}" == --baseline ]]; then
  features=(--features baseline)
  name=baseline
fi

missing=()
[[ -x /usr/bin/rustc ]] || missing+=(rustc-web)
[[ -x /usr/bin/cargo ]] || missing+=(cargo-web)
[[ -d /usr/lib/rustlib/src/rust/library/core ]] || missing+=(rust-web-src)
command -v ld.lld >/dev/null || missing+=(lld)
if ((${#missing[@]})); then
  echo "proto-demo: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 1
fi

# Each variant gets its own target dir so switching between them does not rebuild `core`.
export CARGO_TARGET_DIR="$here/target/$name"
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
cd "$here"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="-C linker=ld.lld -C link-arg=-T$here/link.x -Zunstable-options -Cpanic=immediate-abort" \
  /usr/bin/cargo build --quiet --locked --release \
  -Zbuild-std=core -Zbuild-std-features=optimize_for_size \
  --target "$target" "${features[@]}" >&2
echo "$CARGO_TARGET_DIR/$target/release/proto-demo"
