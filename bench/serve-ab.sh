#!/usr/bin/env bash
# Compare builds of the capture server under the same load, taking turns: for each of ROUNDS
# rounds, one wrk run of DURATION seconds against each server. Prints requests/s and the server's
# CPU time per request (all its threads) per run, then the medians per server. A tlspost* binary
# runs as `BIN serve`, but tlspost-serve* and others as given. Records no figures in
# bench/figures.json: the builds compared are not the tree's (bench/serve-wrk.sh records those).
#
# On a shared machine a change of a few percent is invisible between two separate runs; taking
# turns makes both builds meet the same load. Use it to decide whether a change is worth keeping;
# `bench/serve-wrk.sh` gives the figures against nginx.
#
#   cargo build --release -p tlspost-serve && cp target/release/tlspost-serve /tmp/new
#   git stash; cargo build --release -p tlspost-serve && cp target/release/tlspost-serve /tmp/old; git stash pop
#   bench/serve-ab.sh /tmp/old /tmp/new
#   ARGS="--sync normal" bench/serve-ab.sh /tmp/old /tmp/new   # extra server options for every build
#
# Needs (Debian): wrk curl python3. Bounded: ROUNDS (default 4) x builds x DURATION (default 5) s.
set -euo pipefail

ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-5}
[ $# -ge 2 ] || { echo "usage: bench/serve-ab.sh SERVER_BINARY SERVER_BINARY..." >&2; exit 2; }
# The builds as absolute paths, before moving to the repository's top.
abs=()
for b in "$@"; do abs+=("$(readlink -f "$b")"); done
set -- "${abs[@]}"
cd "$(dirname "$0")/.."
# shellcheck source=bench/serve-common.sh
. bench/serve-common.sh
need wrk curl python3

PORTS=()
i=0
for bin in "$@"; do
  i=$((i + 1))
  port=$(free_port)
  # shellcheck disable=SC2086 # ARGS is a list of options
  case $(basename "$bin") in
    tlspost-serve*) server=("$bin") ;;
    tlspost*) server=("$bin" serve) ;;
    *) server=("$bin") ;;
  esac
  "${server[@]}" --data "$WORK/data$i" --http off --https "127.0.0.1:$port" ${ARGS:-} >"$WORK/log$i" 2>&1 &
  PIDS+=($!)
  PORTS+=("$port")
  wait_https "$WORK/data$i/ca.pem" "https://localhost:$port/ready"
done

# CPU ticks (user + system) of all of a process's threads.
ticks() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{s += $14 + $15} END {print s + 0}'; }
HZ=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  for i in $(seq $#); do
    pid=${PIDS[$((i - 1))]}
    t0=$(ticks "$pid")
    wrk -t2 -c32 -d"${DURATION}s" -s "$WORK/post.lua" "https://localhost:${PORTS[$((i - 1))]}/api/telemetry" >"$WORK/wrk"
    t1=$(ticks "$pid")
    n=$(awk '/requests in/ {print $1}' "$WORK/wrk")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk")
    cpu=$(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    echo "round $r: ${!i} $rps req/s, $cpu us CPU per request" >&2
    echo "$i $rps $cpu" >>"$WORK/rows"
  done
done
echo "medians over $ROUNDS rounds (requests/s, server CPU per request):"
i=0
for bin in "$@"; do
  i=$((i + 1))
  python3 - "$WORK/rows" "$i" "$bin" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split()[0] == sys.argv[2]]
print(f"  {sys.argv[3]}: {statistics.median(float(r[1]) for r in rows):.0f} req/s, "
      f"{statistics.median(float(r[2]) for r in rows):.1f} us")
PY
done
