#!/usr/bin/env bash
# The device proof: builds firmware/proto-demo (tlspost-proto on bare-metal RV32IMC, the ESP32-C3's
# ISA) with Debian's toolchain, runs it under QEMU's `virt` machine, and checks what it prints on the
# UART: the exact request bytes, the parsed status, body and connection reuse, and "DONE".
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc (.ci/setup installs
# them). Run from anywhere; exits non-zero on any build failure, timeout or mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
fw=firmware/proto-demo

if ! command -v qemu-system-riscv32 >/dev/null; then
  echo "firmware: qemu-system-riscv32 not found; install the Debian package qemu-system-misc" >&2
  exit 1
fi

# The workspace's `cargo fmt --all` does not reach the firmware projects (they are outside the workspace).
for project in proto-demo/src/main.rs rv32-qemu/src/main.rs rv32-qemu-reqwless/src/main.rs rv32-virt/src/lib.rs; do
  rustfmt --edition 2024 --config-path rustfmt.toml --check "firmware/$project"
done

echo "building $fw for riscv32imc-unknown-none-elf"
elf="$("$fw/build.sh")"

log="$(mktemp)"
trap 'rm -f "$log" "$log".*' EXIT

# -bios none: QEMU jumps straight to 0x8000_0000, where the linker script puts _start. The program
# powers the machine off itself (exit 0 on success, 1 on failure); the timeout catches a hang.
rc=0
timeout 60 qemu-system-riscv32 -machine virt -bios none -nographic -kernel "$elf" </dev/null >"$log" 2>&1 || rc=$?
if ((rc == 124)); then
  echo "firmware: QEMU did not power off within 60 s (the program hung); its output:" >&2
  cat "$log" >&2
  exit 1
fi

# check_output FILE QEMU_STATUS: prints every problem found; returns non-zero if there is one.
check_output() {
  local file="$1" status="$2" out expected req line bad=0
  out="$(cat "$file")"
  expected="$(cat "$fw/expected/request.http")"

  if ((status != 0)); then
    echo "QEMU exited with status $status (the program reported a failure)"
    bad=1
  fi

  # The request exactly as encoded (CR LF and all), between the markers the program prints.
  if [[ "$out" != *$'----- request -----\n'*$'\n----- end request -----\n'* ]]; then
    echo "the request markers are missing"
    bad=1
  else
    req="${out#*$'----- request -----\n'}"
    req="${req%%$'\n----- end request -----\n'*}"
    if [[ "$req" != "$expected" ]]; then
      echo "the encoded request differs from $fw/expected/request.http:"
      diff <(printf '%s' "$expected" | od -c) <(printf '%s' "$req" | od -c) | head -20 || true
      bad=1
    fi
  fi

  # Each expected line must appear as a whole line.
  while IFS= read -r line; do
    if ! grep -qxF -- "$line" "$file"; then
      echo "missing line: $line"
      bad=1
    fi
  done <"$fw/expected/lines.txt"

  for pattern in '^size_of::<Exchange>: [0-9]+$' '^peak stack bytes: [0-9]+$'; do
    if ! grep -qE -- "$pattern" "$file"; then
      echo "missing line matching: $pattern"
      bad=1
    fi
  done
  local peak region
  peak="$(sed -n 's/^peak stack bytes: \([0-9]*\)$/\1/p' "$file")"
  region="$(sed -n 's/^stack region bytes: \([0-9]*\)$/\1/p' "$file")"
  if [[ -n "$peak" && -n "$region" ]] && ! ((peak > 0 && peak < region)); then
    echo "peak stack $peak bytes is not inside the $region-byte stack region (overflow?)"
    bad=1
  fi

  if grep -qE '^(error:|TRAP|PANIC|FAILED)' "$file"; then
    echo "the program reported a failure:"
    grep -E '^(error:|TRAP|PANIC|FAILED)' "$file"
    bad=1
  fi
  if [[ "$(tail -n 1 "$file")" != DONE ]]; then
    echo "the last line is not DONE"
    bad=1
  fi
  return "$bad"
}

if ! problems="$(check_output "$log" "$rc")"; then
  echo "firmware: the device proof FAILED:" >&2
  printf '%s\n' "$problems" >&2
  echo "--- UART output ---" >&2
  cat "$log" >&2
  exit 1
fi

# The checker must catch a change: one byte of the request, a status, a lost DONE, a failing exit.
sed 's/^Content-Length: 84/Content-Length: 85/' "$log" >"$log.1"
sed 's/^status: 200 OK$/status: 201 OK/' "$log" >"$log.2"
sed '/^DONE$/d' "$log" >"$log.3"
for i in 1 2 3; do
  if check_output "$log.$i" 0 >/dev/null; then
    echo "firmware: the output check accepted a corrupted output ($i); the check itself is broken" >&2
    exit 1
  fi
done
if check_output "$log" 1 >/dev/null; then
  echo "firmware: the output check accepted a failing QEMU exit status; the check itself is broken" >&2
  exit 1
fi

grep -E '^(size_of|request bytes|peak stack bytes|heap bytes|status|reusable)' "$log"
echo "firmware: device proof passed (RV32IMC under QEMU)"
