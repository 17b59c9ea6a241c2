#!/usr/bin/env bash
# The ESP32-C3 firmware's memory figures, read from its ELF and its flashable image (both made by
# .ci/esp32c3.sh, which runs this): flash, static RAM, the heap the Wi-Fi driver allocates from,
# the report's buffers, and the size of each embassy task's future (its task pool in .bss).
#
#   bench/esp32c3-figures.sh [ELF [IMAGE]]   (defaults: firmware/esp32c3's release build)
#
# Prints `figure: NAME VALUE` lines (bytes) and a Markdown table for bench/RESULTS.md.
# Needs binutils (size, nm).
set -euo pipefail
cd "$(dirname "$0")/.."
elf="${1:-firmware/esp32c3/target/riscv32imc-unknown-none-elf/release/esp32c3}"
image="${2:-firmware/esp32c3/target/esp32c3.bin}"
[[ -f "$elf" ]] || { echo "esp32c3-figures: no ELF at $elf; run .ci/esp32c3.sh first" >&2; exit 1; }

sections="$(size -A "$elf")"
# sum SECTION...: the sizes of the named sections.
sum() {
  local total=0 s n
  for s in "$@"; do
    n="$(awk -v s="$s" '$1 == s { print $2 }' <<<"$sections")"
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
symbols="$(nm -S -C "$elf")"
# symbol PATTERN: the summed size of the .bss/.data symbols whose name matches PATTERN.
symbol() {
  local total=0 size
  for size in $(awk -v p="$1" '($3 == "b" || $3 == "B" || $3 == "d" || $3 == "D") && $0 ~ p { print $2 }' <<<"$symbols"); do
    total=$((total + 16#$size))
  done
  echo "$total"
}

flash_code=$(sum .text .trap .rwtext .rwtext.wifi)
flash_data=$(sum .rodata .rodata.wifi .data .data.wifi .flash.appdesc)
iram=$(sum .trap .rwtext .rwtext.wifi)
dram=$(sum .data .data.wifi .bss)
heap=$(symbol 'embassy_main_task.*::HEAP$')
image_bytes=0
[[ -f "$image" ]] && image_bytes=$(stat -c %s "$image")

fig() { echo "figure: $1 $2"; }
fig image "$image_bytes"
fig flash_code "$flash_code"
fig flash_data "$flash_data"
fig iram "$iram"
fig dram "$dram"
fig heap "$heap"
fig memory "$(symbol 'esp32c3::MEMORY$')"
fig socket "$(symbol 'esp32c3::SOCKET$')"
fig stack_resources "$(symbol 'esp32c3::RESOURCES$')"
for task in report wifi network; do
  fig "task_$task" "$(symbol "esp32c3::$task::POOL\$")"
done
fig task_main "$(symbol 'embassy_main::POOL$')"
