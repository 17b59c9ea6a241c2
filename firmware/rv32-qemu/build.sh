#!/usr/bin/env bash
# Builds rv32-qemu for riscv32imc-unknown-none-elf (the ESP32-C3's ISA) with Debian's toolchain and
# prints the ELF's path. Environment: TLSPOST_FW_ROOT_DER, TLSPOST_FW_HOST, TLSPOST_FW_BUILD_TIME
# (firmware/lib.sh, fw_need_pin; `run.sh` sets them).
#
# Needs the Debian packages rustc-web, cargo-web, rust-web-src and lld. The recipe and size
# settings are firmware/lib.sh's fw_build, the same for every firmware.
set -euo pipefail
# shellcheck source=firmware/lib.sh
. "$(dirname "$0")/../lib.sh"
fw_main rv32-qemu rv32-qemu/link.x
