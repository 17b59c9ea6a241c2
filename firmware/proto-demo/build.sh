#!/usr/bin/env bash
# Builds proto-demo for riscv32imc-unknown-none-elf (the ESP32-C3's ISA) with Debian's toolchain and
# prints the path of the ELF. `--baseline` builds the variant without tlspost-proto calls (figures only).
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src (rustc at /usr/bin/rustc with the
# standard library sources, so `core` can be built for the target) and lld (ld.lld). The recipe and
# its size settings are firmware/lib.sh's fw_build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=proto-demo
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"

# Each variant gets its own target dir so switching between them does not rebuild `core`.
if [[ "${1:-}" == --baseline ]]; then
  fw_build "$here" "$here/link.x" "$here/target/baseline" --features baseline
else
  fw_build "$here" "$here/link.x" "$here/target/release"
fi
