#!/usr/bin/env bash
# The reqwless comparison, end to end: starts `tlspost serve` on ephemeral loopback ports, builds
# rv32-qemu-reqwless with the server's CA compiled in, runs it under QEMU with the UART bridged to
# the HTTPS listener, and checks both sides:
#   - the firmware got through the TLS handshake, printed `status: 200`, the echo (with the SNI)
#     and DONE;
#   - the capture server stored the request, with the SNI and `Content-Type: application/json`;
#   - the same firmware with a foreign CA refuses the server.
# Then prints the figures (`figure: NAME VALUE` lines: flash and static RAM from `size -A`, peak
# stack from the firmware) that bench/device-figures.sh collects. Exit 0 = pass.
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc curl openssl
# binutils, and the workspace's `tlspost` binary (built here with cargo unless TLSPOST_BIN points at
# one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=rv32-qemu-reqwless
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"

# embedded-tls 0.18's verifier (the one reqwless uses) compares the host name with the leaf's CN,
# not with its subjectAltNames, and `tlspost serve`'s own leaf has CN "tlspost capture server". So the
# data directory is seeded with a PKI of the same shape as firmware/rv32-qemu's run (P-256 CA -> P-256
# leaf; or with TLSPOST_FW_PKI=p384-chain, P-384 root -> P-384 intermediate -> P-256 leaf) whose leaf
# CN is the host name.
pki="$(fw_pki_shape)"
fw_run_setup "$here/../.."
if [[ "$pki" == serve ]]; then
  fw_seed_pki "$fw_work/data" p256 "$fw_host" "reqwless comparison CA"
else
  fw_seed_pki "$fw_work/data" p384-chain "$fw_host"
fi
fw_serve
if ! openssl x509 -in "$fw_work/data/server.pem" -noout -subject | grep -q "CN *= *$fw_host\$"; then
  echo "$fw_name: tlspost serve replaced the seeded leaf (CN $fw_host); has the format of its server.names changed?" >&2
  exit 1
fi
fw_pin_and_run
fw_check_capture "$(curl -s "http://127.0.0.1:$fw_http_port/_tlspost/api/captures/1")"

fw_check_foreign "TLS or connect failed"
fw_finish "TLS or connect failed"
fw_figures "future=request future bytes (on the stack, part of the peak): "
echo "$fw_name: OK (200 with the echo, SNI $fw_host, application/json stored)"
