#!/usr/bin/env bash
# The tlspost-proto figures: firmware size and memory on RV32IMC (the ESP32-C3's ISA), and host
# instructions per 1 KB chunked response. Prints a Markdown section and appends it to
# bench/RESULTS.md, each figure beside the exact command that produced it, and records them in
# bench/figures.json (bench/figures.sh) as proto.*. Not a test: run by hand.
#
# Needs: the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc (firmware),
# valgrind (callgrind), binutils or llvm (size, nm); a host cargo for bench/proto-parse.
# Usage: bench/proto-figures.sh [N]   (N parses per callgrind run, default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
fw=firmware/proto-demo
results=bench/RESULTS.md
# shellcheck source=bench/figures.sh
. bench/figures.sh

for tool in qemu-system-riscv32 valgrind; do
  command -v "$tool" >/dev/null || { echo "proto-figures: $tool not found (Debian: qemu-system-misc, valgrind)" >&2; exit 1; }
done
if command -v llvm-size >/dev/null && command -v llvm-nm >/dev/null; then
  size_tool=llvm-size nm_tool=llvm-nm
else
  size_tool=size nm_tool=nm
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- firmware ---------------------------------------------------------------------------------
echo "building the firmware (with and without tlspost-proto)" >&2
elf="$("$fw/build.sh")"
base="$("$fw/build.sh" --baseline)"
rel() { realpath --relative-to=. "$1"; }
elf_rel="$(rel "$elf")" base_rel="$(rel "$base")"

section_size() { "$size_tool" -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
text="$(section_size "$elf" .text)"
rodata="$(section_size "$elf" .rodata)"
base_text="$(section_size "$base" .text)"
base_rodata="$(section_size "$base" .rodata)"
diff_text=$((text - base_text))
diff_rodata=$((rodata - base_rodata))

# Symbols (code only) whose demangled names belong to tlspost_proto or httparse. With LTO most of the
# decoders are inlined into the demo's `run`, so this is a lower bound; the baseline difference is
# the upper bound (it also counts the core routines only tlspost-proto needs, e.g. u64 division and
# the fmt code behind its error messages).
sym_sum() {
  "$nm_tool" -S -C --radix=d "$elf" | awk -v pat="$1" '
    NF >= 4 && ($3 == "t" || $3 == "T") {
      name = $4; for (i = 5; i <= NF; i++) name = name " " $i
      if (name ~ pat) s += $2 + 0
    }
    END { print s + 0 }'
}
sym_proto="$(sym_sum 'tlspost_proto')"
sym_httparse="$(sym_sum 'httparse')"
run_sym="$("$nm_tool" -S -C --radix=d "$elf" | awk '$4 ~ /with_proto::run$/ { print $2 + 0 }')"

qemu_cmd="qemu-system-riscv32 -machine virt -bios none -nographic -kernel $elf_rel"
timeout 60 qemu-system-riscv32 -machine virt -bios none -nographic -kernel "$elf" </dev/null >"$tmp/uart.txt" 2>&1
grep -qx DONE "$tmp/uart.txt" || { echo "proto-figures: the firmware did not finish:" >&2; cat "$tmp/uart.txt" >&2; exit 1; }
field() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$tmp/uart.txt"; }
peak="$(field 'peak stack bytes')"
region="$(field 'stack region bytes')"
exchange="$(field 'size_of::<Exchange>')"
heap="$(field 'heap bytes')"
timeout 60 qemu-system-riscv32 -machine virt -bios none -nographic -kernel "$base" </dev/null >"$tmp/base.txt" 2>&1
base_peak="$(sed -n 's/^peak stack bytes: \([0-9]*\)$/\1/p' "$tmp/base.txt")"
# No allocator is linked: no __rust_alloc, no malloc.
if "$nm_tool" "$elf" | grep -qE '__rust_alloc|__rdl_alloc|\bmalloc\b'; then
  alloc_syms=present
else
  alloc_syms=none
fi

# --- host: instructions per parse -------------------------------------------------------------
echo "building bench/proto-parse and running callgrind" >&2
(
  export CARGO_TARGET_DIR="$PWD/bench/proto-parse/target"
  cd bench/proto-parse && cargo build --quiet --release --locked
)
bin=bench/proto-parse/target/release/proto-parse
instr() { # MODE COUNT -> total instructions of the whole run
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$bin" "$1" "$2" >/dev/null 2>&1
  awk '/^totals:/ { print $2 }' "$tmp/cg.out"
}
declare -A per
for mode in proto proto-64 httparse-head httparse-chunked; do
  zero="$(instr "$mode" 0)"
  full="$(instr "$mode" "$n")"
  per[$mode]=$(((full - zero + n / 2) / n))
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- report -----------------------------------------------------------------------------------
rustc_fw="$(/usr/bin/rustc -V)"
rustc_host="$(rustc -V)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- "$fw" bench/proto-parse crates/tlspost-proto 2>/dev/null)" ]]; then
  commit="$commit, with uncommitted changes"
fi
cg="valgrind --tool=callgrind $bin MODE N  (N = $n and N = 0; per parse = (totals(N) - totals(0)) / N)"
report="$(cat <<MD

## tlspost-proto figures — $(date -u +%Y-%m-%d) (commit $commit)

Firmware: \`$fw\` for riscv32imc-unknown-none-elf, $rustc_fw, opt-level "z", LTO, codegen-units 1,
\`-Cpanic=immediate-abort\`, \`-Zbuild-std-features=optimize_for_size\` (see \`$fw/build.sh\`).
Host: $rustc_host, release + LTO, httparse without default features (as on the device), $(uname -m).

| figure | value | command |
|---|---|---|
| firmware \`.text\` | **$text bytes** ($(ratio "$text" 1024) KiB; target ≤ 16 KiB) | \`$fw/build.sh && $size_tool -A $elf_rel\` |
| firmware \`.rodata\` | $rodata bytes | same |
| baseline \`.text\` (same program, no tlspost-proto calls) | $base_text bytes (\`.rodata\` $base_rodata) | \`$fw/build.sh --baseline && $size_tool -A $base_rel\` |
| tlspost-proto's part of \`.text\`, by difference (upper bound) | **$diff_text bytes** (\`.rodata\` +$diff_rodata) | the two above |
| tlspost-proto's part, by symbols (lower bound) | $sym_proto bytes in \`tlspost_proto::*\` + $sym_httparse in \`httparse::*\`; the demo's \`run\`, into which LTO inlined the decoders, is $run_sym bytes | \`$nm_tool -S -C $elf_rel\`, code symbols summed by name |
| peak stack (painted stack, scanned after the exchange) | **$peak bytes** of $region (baseline program: $base_peak) | \`$qemu_cmd\` → \`peak stack bytes\` |
| heap | **$heap bytes**: no allocator linked (allocator symbols: $alloc_syms) | \`$nm_tool $elf_rel \| grep -E '__rust_alloc\|malloc'\` |
| \`size_of::<Exchange>()\` on RV32 | **$exchange bytes** | \`$qemu_cmd\` → \`size_of::<Exchange>\` |
| instructions per 1 KB chunked response, tlspost-proto, one piece | **${per[proto]}** | \`$cg\`, MODE = proto |
| same, fed 64 bytes at a time | ${per[proto-64]} | MODE = proto-64 |
| peer: httparse head only | ${per[httparse-head]} (tlspost-proto ÷ this: $(ratio "${per[proto]}" "${per[httparse-head]}")×) | MODE = httparse-head |
| peer: httparse head + hand-written de-chunker on \`httparse::parse_chunk_size\` | ${per[httparse-chunked]} (tlspost-proto ÷ this: $(ratio "${per[proto]}" "${per[httparse-chunked]}")×) | MODE = httparse-chunked |

The response (bench/proto-parse/src/main.rs): 1024 bytes, a 190-byte head with seven headers
(Cloudflare-like), 128-byte chunks (the first with an extension), last-chunk and one trailer; 764 body
bytes. Every parse's result is checked (status, body length, bytes on the first run).
tlspost-proto does more than the peers: framing rules (RFC 9112 §6.3), chunk extension and trailer
validation, overflow checks, reuse decision, and a state machine that accepts any split.
MD
)"
printf '%s\n' "$report"
printf '%s\n' "$report" >>"$results"
echo "appended to $results" >&2

figure proto.text_bytes "$text" B
figure proto.rodata_bytes "$rodata" B
figure proto.baseline_text_bytes "$base_text" B
figure proto.core_text_bytes "$diff_text" B
figure proto.core_symbol_bytes "$((sym_proto + sym_httparse))" B
figure proto.peak_stack "$peak" B
figure proto.baseline_peak_stack "$base_peak" B
figure proto.heap "$heap" B
figure proto.exchange_size "$exchange" B
figure proto.instructions "${per[proto]}" count
figure proto.instructions_64 "${per[proto-64]}" count
figure proto.httparse_head.instructions "${per[httparse-head]}" count
figure proto.httparse_chunked.instructions "${per[httparse-chunked]}" count
figure proto.instructions_ratio "$(ratio "${per[proto]}" "${per[httparse-chunked]}")" x
figure proto.instructions_ratio_head "$(ratio "${per[proto]}" "${per[httparse-head]}")" x
