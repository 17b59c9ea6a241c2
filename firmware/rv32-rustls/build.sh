#!/usr/bin/env bash
# Builds rv32-rustls for riscv32imac-unknown-none-elf (the ESP32-C6/H2 class: rustls needs atomic
# compare-and-swap) with Debian's toolchain and prints the ELF's path. Nothing is pinned at build
# time: the jobs come from the host relay at run time.
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src, lld and clang-19 (ring's C). The
# recipe and size settings are firmware/lib.sh's fw_build, with `alloc` built beside `core`; the
# memory map is this directory's link.x.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=rv32-rustls
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"
fw_build_rustls "$here" "$here/link.x" "$here/target"
