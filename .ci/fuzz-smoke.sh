#!/usr/bin/env bash
# Runs every cargo-fuzz target briefly on the nightly toolchain: a smoke test, not a campaign.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-10}"
for target in $(cargo +nightly fuzz list); do
  echo "fuzz target $target: ${secs}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 3
done
