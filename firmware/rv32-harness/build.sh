#!/usr/bin/env bash
# Builds rv32-harness for riscv32imc-unknown-none-elf (the ESP32-C3's ISA) with Debian's toolchain
# and prints the ELF's path. Nothing is pinned at build time: the jobs (roots, host name, clock,
# target) come from the host relay at run time, so one build serves every server.
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src and lld. The recipe and size
# settings are firmware/lib.sh's fw_build, the same for every firmware; the memory map is
# rv32-qemu's (RAM at 0x8000_0000, a 96 KiB painted stack that holds the TLS buffers), and so is
# the target directory: the same recipe and dependencies (core, embedded-tls, the verifier's
# crates), so after rv32-qemu only this crate is compiled (about 20 s instead of 2 minutes).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=rv32-harness
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"
fw_build "$here" "$here/../rv32-qemu/link.x" "$here/../rv32-qemu/target/release"
