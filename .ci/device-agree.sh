#!/usr/bin/env bash
# The proof that `tlspost doctor --device tlspost` says what the device does (issue 15, item 4):
# five servers from the test kit (one nginx: a good P-256 chain, TLS 1.2 only, an RSA leaf, a
# P-384 chain, a Certificate message over 16,384 bytes), doctor's tlspost profile on each, and ONE
# run of ONE firmware build (firmware/rv32-harness under QEMU, its jobs and TCP connections relayed
# by tlspost-harness) against all five. Prints a table; fails unless, for every server, both say
# the same pass/fail and the same cause, and that is what the server was built to show.
# Then, with the same build, the 4 KB-fragment run of issue 17 (`tlspost-harness fragment`: nginx
# honours max_fragment_length and the POST passes through a 4,352-byte read buffer; a Certificate
# message over one fragment and `tlspost serve`, which ignores the extension, each fail with their
# own typed cause; the servers' largest records checked), about 2 s more.
#
# The servers and QEMU are started and stopped by pid by tlspost-harness (the test kit's fixtures;
# QEMU under `timeout`). Needs what .ci/firmware.sh needs, and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
fw_name=rv32-harness
# shellcheck source=firmware/lib.sh
. firmware/lib.sh

command -v qemu-system-riscv32 >/dev/null || {
  echo "device-agree: qemu-system-riscv32 not found; install the Debian package qemu-system-misc" >&2
  exit 1
}
# The workspace's `cargo fmt --all` does not reach the firmware projects.
rustfmt --edition 2024 --config-path rustfmt.toml --check firmware/rv32-harness/src/*.rs firmware/rv32-virt/src/relay.rs

started=$SECONDS
elf="$(firmware/rv32-harness/build.sh)"
relay="$(fw_harness_relay .)"
built=$SECONDS
"$relay" agree "$elf"
"$relay" fragment "$elf"
echo "device-agree: built in $((built - started)) s, checked in $((SECONDS - built)) s"
