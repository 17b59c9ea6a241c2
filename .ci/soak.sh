#!/usr/bin/env bash
# The flakiness proof: the whole test suite N times in a row (default 20) while the machine is busy
# with a clean release build beside it, started and stopped by pid. Prints each run's result and a
# summary; exits non-zero if any run failed. Not part of .ci/test (it takes N times as long).
#
# Usage: .ci/soak.sh [N]        logs of failed runs are kept in target/soak/
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
out=target/soak
mkdir -p "$out"

cargo test --workspace --locked --no-run -q 2>/dev/null || cargo test --workspace --locked --no-run

load_dir="$(mktemp -d)"
load_pid=""
stop_load() {
  if [[ -n "$load_pid" ]]; then
    # The loop's process group: the loop and the cargo/rustc it runs.
    kill -TERM -- "-$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  rm -rf "$load_dir"
}
trap stop_load EXIT
# A clean release build of the CLI, again and again, in its own target directory and process group.
set -m
(while true; do rm -rf "$load_dir/target"; CARGO_TARGET_DIR="$load_dir/target" cargo build --release --locked -q -p tlspost-cli >/dev/null 2>&1 || true; done) &
load_pid=$!
set +m

failed=0
for ((i = 1; i <= runs; i++)); do
  start=$SECONDS
  if cargo test --workspace --locked --no-fail-fast -q >"$out/run-$i.log" 2>&1; then
    echo "run $i/$runs: ok ($((SECONDS - start)) s, load average $(cut -d' ' -f1 /proc/loadavg))"
    rm -f "$out/run-$i.log"
  else
    failed=$((failed + 1))
    echo "run $i/$runs: FAILED ($((SECONDS - start)) s); log: $out/run-$i.log"
    grep -E '^(test .* FAILED|failures:|---- )' "$out/run-$i.log" | head -20 || true
  fi
done
echo "soak: $failed of $runs runs failed"
((failed == 0))
