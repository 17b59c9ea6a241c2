#!/usr/bin/env bash
# The runtime proof of the ESP32-C3 firmware's application logic: starts `tlspost serve` on
# ephemeral loopback ports, builds rv32-app (firmware/tlspost-app's `post`, the code the board runs)
# with the server's CA as its only pinned root, runs it under QEMU with the UART bridged to the
# HTTPS listener, and checks both sides:
#   - the app printed its attempt, the verified handshake, `status: 200`, its timings and the echo
#     (with the SNI), and DONE;
#   - the capture server stored the request complete, with the SNI, `Content-Type:
#     application/json` and the app's JSON body;
#   - the same firmware with a foreign root pinned is refused on the first attempt and not retried.
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc curl openssl
# binutils, and the workspace's `tlspost` binary (built here unless TLSPOST_BIN points at one).
# Prints `figure: NAME VALUE` lines (flash and static RAM, TLS buffers, the app's buffers and future,
# peak stack). Exits non-zero on any problem.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fw_name=rv32-app
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"

fw_run_setup "$here/../.."
fw_serve
fw_pin_and_run

log="$fw_work/fw.log"
grep -q "^attempt 1: POST https://$fw_host:443/api/v1/readings$" "$log" || fw_fail "no attempt line"
grep -qE '^timings ms: connect [0-9]+, tls [0-9]+, send [0-9]+, first-byte [0-9]+, body [0-9]+, total [0-9]+$' "$log" ||
  fw_fail "no timings line"
grep -q '^attempt 2' "$log" && fw_fail "a 200 was followed by another attempt"

json="$(curl -s "http://127.0.0.1:$fw_http_port/_tlspost/api/captures/1")"
fw_check_capture "$json"
body_b64="$(printf '%s' '{"device":"rv32-app","t":21.5}' | base64 -w0)"
printf '%s' "$json" | grep -qF "$body_b64" || printf '%s' "$json" | grep -qF '{\"device\":\"rv32-app\",\"t\":21.5}' ||
  fw_fail "the capture does not hold the app's JSON body"

fw_check_foreign "attempt 1 failed: TLS handshake refused: unknown issuer"
grep -q '^not retried: trying again cannot change this$' "$fw_work/fw-foreign.log" ||
  fw_fail "foreign root: the refusal is not reported as final"
grep -q '^attempt 2' "$fw_work/fw-foreign.log" && fw_fail "foreign root: a refused certificate was retried"
fw_finish "attempt 1 failed: TLS handshake refused"
fw_figures "app_memory=app buffer bytes (Memory): " "app_future=app future bytes: "
echo "$fw_name: OK (tlspost-app's POST verified, stored with SNI $fw_host and application/json, foreign root refused once)"
