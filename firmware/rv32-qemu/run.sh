#!/usr/bin/env bash
# End-to-end device proof: starts `tlspost serve` on ephemeral loopback ports, builds rv32-qemu
# with the server's CA compiled in as the only pinned root, runs it under QEMU with the UART
# bridged to the HTTPS listener, and checks both sides:
#   - the firmware verified the server, got `200` and the echo (with the SNI), printed DONE;
#   - the capture server stored exactly the bytes the firmware sent, with the SNI and
#     `Content-Type: application/json`;
#   - the same firmware with a foreign root pinned refuses the server, precisely.
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc curl openssl
# binutils, and the workspace's `tlspost` binary (built here with cargo unless TLSPOST_BIN points at
# one).
# Prints the firmware's figures (QEMU handshake time, peak stack) and `figure: NAME VALUE` lines
# (flash and static RAM from `size -A`, TLS buffers, peak stack) that bench/device-figures.sh
# collects. Exits non-zero on any problem.
#
# TLSPOST_FW_PKI=p384-chain (for bench/device-figures.sh): instead of serve's own P-256 CA and leaf,
# serve a chain shaped like Let's Encrypt's ECDSA one (firmware/lib.sh, fw_seed_pki).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=rv32-qemu
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"

pki="$(fw_pki_shape)"
fw_run_setup "$here/../.."
if [[ "$pki" == p384-chain ]]; then
  fw_seed_pki "$fw_work/data" p384-chain "tlspost capture server"
fi
fw_serve
if [[ "$pki" == p384-chain ]] && ! grep -q "$(sed -n 2p "$fw_work/data/int.pem")" "$fw_work/data/server.pem"; then
  echo "$fw_name: tlspost serve replaced the seeded chain; has the format of its server.names changed?" >&2
  exit 1
fi
fw_pin_and_run

sent="$(sed -n 's/^request-hex: //p' "$fw_work/fw.log")"
json="$(curl -s "http://127.0.0.1:$fw_http_port/_tlspost/api/captures/1")"
raw_b64="$(printf '%s' "$json" | sed -n 's/.*"raw":"\([^"]*\)".*/\1/p')"
stored="$(printf '%s' "$raw_b64" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
[[ -n "$sent" && "$sent" == "$stored" ]] || fw_fail "stored request differs from the bytes sent:
 sent:   $sent
 stored: $stored"
fw_check_capture "$json"

fw_check_foreign "TLS refused: unknown issuer"
fw_finish "TLS refused"
fw_figures
echo "$fw_name: OK (request stored byte for byte, SNI $fw_host, application/json)"
