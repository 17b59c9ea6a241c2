#!/usr/bin/env bash
# Throughput of `tlspost serve` persisting every request, against nginx answering a static 200,
# both over HTTPS keep-alive with the same certificate, same client (wrk), same machine, one run.
# The two servers take turns (ROUNDS rounds of one wrk run each), so a change in the machine's load
# during the run hits both; the ratio reported is the median of the per-round ratios.
# Appends the figures to bench/RESULTS.md and records them in bench/figures.json (bench/figures.sh;
# not for BIN= builds or NO_RECORD=1 runs; with SYNC=normal under serve.sync_normal.*).
#
# What runs is `tlspost serve` from a release build of the `tlspost` binary, the command the README
# and docs/serve.md quote; BIN= another build of it, or of the standalone `tlspost-serve`.
#
# SYNC=normal measures `--sync normal` (no fsync per commit) instead of the default `full`.
#
# Needs (Debian): wrk nginx curl python3. Bounded: ROUNDS (default 5) x 2 runs of DURATION seconds
# (default 10).
#
#   bench/serve-wrk.sh            # run and append to bench/RESULTS.md
#   NO_RECORD=1 bench/serve-wrk.sh  # run only
#   RESULTS=/tmp/serve.md bench/serve-wrk.sh  # append the section elsewhere
#   BIN=/tmp/old/tlspost NO_RECORD=1 bench/serve-wrk.sh  # another build (an absolute path):
#                # a tlspost* binary runs as `BIN serve`, but tlspost-serve* and others as given
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
SYNC=${SYNC:-full}
RESULTS=${RESULTS:-bench/RESULTS.md}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# shellcheck source=bench/serve-common.sh
. bench/serve-common.sh
# shellcheck source=bench/figures.sh
. bench/figures.sh
need wrk nginx curl python3

FIGURES=yes
[ -z "${NO_RECORD:-}" ] || FIGURES=
if [ -z "${BIN:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/bench-serve}
  cargo build --release --locked -q -p tlspost-cli --bin tlspost
  BIN="$CARGO_TARGET_DIR/release/tlspost"
else
  FIGURES=
fi
case $(basename "$BIN") in
  tlspost-serve*) SERVER=("$BIN") ;;
  tlspost*) SERVER=("$BIN" serve) ;;
  *) SERVER=("$BIN") ;;
esac
KEY=serve
[ "$SYNC" = full ] || KEY=serve.sync_$SYNC

CAP_PORT=$(free_port)
NGX_PORT=$(free_port)
HTTP_PORT=$(free_port)

"${SERVER[@]}" --data "$WORK/data" --http "127.0.0.1:$HTTP_PORT" --https "127.0.0.1:$CAP_PORT" --sync "$SYNC" >"$WORK/capture.log" 2>&1 &
CAP_PID=$!
PIDS+=($!)
wait_https "$WORK/data/ca.pem" "https://localhost:$CAP_PORT/ready"

start_nginx "  server {
    listen 127.0.0.1:$NGX_PORT ssl;
    ssl_certificate $WORK/data/server.pem;
    ssl_certificate_key $WORK/data/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { default_type application/json; return 200 '{\"ok\":1}'; }
  }"
wait_https "$WORK/data/ca.pem" "https://localhost:$NGX_PORT/"

run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$1"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }

# What `--sync full` waits for at every group commit: a synced write. 200 writes of 4 KiB with
# O_DSYNC in the data directory's file system, µs each, before and after the rounds (on a shared
# machine the disk's speed moves the server's rate far more than its CPU does).
sync_us() {
  python3 - "$WORK/dsync.probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DSYNC)
block = bytes(4096)
t = time.perf_counter()
for _ in range(200):
    os.write(fd, block)
print(f"{(time.perf_counter() - t) / 200 * 1e6:.1f}")
os.close(fd)
os.unlink(sys.argv[1])
PY
}
SYNC_BEFORE=$(sync_us)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU time (user + system, clock ticks) of a process and its children: the server's own cost per
# request, which depends less on what else the machine runs than requests per second do.
ticks() { for p in "$@" $(pgrep -P "$1" || true); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS: tlspost serve" >&2
  t0=$(ticks "$CAP_PID")
  run_wrk "https://localhost:$CAP_PORT/api/telemetry" >"$WORK/capture.$r.wrk"
  echo $(( $(ticks "$CAP_PID") - t0 )) >"$WORK/capture.$r.ticks"
  echo "round $r/$ROUNDS: nginx" >&2
  t0=$(ticks "$NGX_PID")
  run_wrk "https://localhost:$NGX_PORT/api/telemetry" >"$WORK/nginx.$r.wrk"
  echo $(( $(ticks "$NGX_PID") - t0 )) >"$WORK/nginx.$r.ticks"
done
HZ=$(getconf CLK_TCK)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SYNC_AFTER=$(sync_us)
SYNC_US=$(awk -v a="$SYNC_BEFORE" -v b="$SYNC_AFTER" 'BEGIN { printf "%.1f", (a + b) / 2 }')
STORED=$(curl -s "http://127.0.0.1:$HTTP_PORT/_tlspost/api/captures?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

# Per round: requests/s, p99 and requests of both; then medians.
ROWS=""
for r in $(seq "$ROUNDS"); do
  c="$WORK/capture.$r.wrk"; n="$WORK/nginx.$r.wrk"
  # µs of server CPU per request: ticks × 1e6 / HZ / requests.
  cus=$(awk -v t="$(cat "$WORK/capture.$r.ticks")" -v hz="$HZ" '/requests in/ {printf "%.1f", t * 1e6 / hz / $1}' "$c")
  nus=$(awk -v t="$(cat "$WORK/nginx.$r.ticks")" -v hz="$HZ" '/requests in/ {printf "%.1f", t * 1e6 / hz / $1}' "$n")
  ROWS+="$r $(rps "$c") $(p99 "$c") $(awk '/requests in/ {print $1}' "$c") $(rps "$n") $(p99 "$n") $cus $nus"$'\n'
done
SUMMARY=$(printf '%s' "$ROWS" | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
ratios = [float(r[1]) / float(r[4]) for r in rows]
med = lambda i: statistics.median(float(r[i]) for r in rows)
print(f"{med(1):.0f} {med(4):.0f} {statistics.median(ratios):.2f} {min(ratios):.2f} {max(ratios):.2f} {sum(int(r[3]) for r in rows)} {med(6):.1f} {med(7):.1f}")
')
read -r CAP_RPS NGX_RPS RATIO RMIN RMAX CAP_REQS CAP_US NGX_US <<<"$SUMMARY"

echo "$ROWS" | awk 'NF {printf "round %s: capture %s req/s p99 %s (%s requests, %s µs CPU each); nginx %s req/s p99 %s (%s µs CPU each)\n", $1, $2, $3, $4, $7, $5, $6, $8}'
echo "median: capture $CAP_RPS req/s ($CAP_US µs CPU each), nginx $NGX_RPS req/s ($NGX_US µs); ratio $RATIO (rounds $RMIN-$RMAX); $CAP_REQS requests captured, newest stored id $STORED; load $LOAD_BEFORE -> $LOAD_AFTER; a synced 4 KiB write $SYNC_BEFORE -> $SYNC_AFTER µs"

[ -n "${NO_RECORD:-}" ] && exit 0
if [ -n "$FIGURES" ]; then
  figure "$KEY.tlspost.rps_median" "$CAP_RPS" req/s
  figure "$KEY.nginx.rps_median" "$NGX_RPS" req/s
  figure "$KEY.rps_ratio_median" "$RATIO" ratio
  figure "$KEY.rps_ratio_min" "$RMIN" ratio
  figure "$KEY.rps_ratio_max" "$RMAX" ratio
  figure "$KEY.tlspost.cpu_us_median" "$CAP_US" µs
  figure "$KEY.nginx.cpu_us_median" "$NGX_US" µs
  figure "$KEY.rounds" "$ROUNDS" count
  figure "$KEY.disk_sync_us" "$SYNC_US" µs
fi
{
  echo
  echo "## tlspost serve vs nginx, HTTPS keep-alive POST — $(date -u +%Y-%m-%d) (commit $FIGURES_COMMIT)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), shared with the client (wrk); load average before/after: $LOAD_BEFORE / $LOAD_AFTER; a synced 4 KiB write (O_DSYNC, the data directory's file system) before/after: $SYNC_BEFORE / $SYNC_AFTER µs."
  echo "\`$(basename "$BIN")${SERVER[1]:+ ${SERVER[1]}}\`, release build: every request framed, linted and committed to SQLite (WAL, group commit, \`--sync $SYNC\`) before its response."
  echo "nginx $(nginx -v 2>&1 | cut -d/ -f2), worker_processes auto, \`return 200\`, same certificate (ECDSA P-256 from the capture server's CA)."
  echo "Each round runs \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s post.lua https://localhost:PORT/api/telemetry\` against tlspost serve, then against nginx."
  echo
  echo "| round | tlspost serve (persisting) req/s | p99 | server CPU per request | nginx static 200 req/s | p99 | nginx CPU per request | ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  echo "$ROWS" | awk 'NF {printf "| %s | %s | %s | %s µs | %s | %s | %s µs | %.2f |\n", $1, $2, $3, $7, $5, $6, $8, $2 / $5}'
  echo "| **median** | **$CAP_RPS** | | $CAP_US µs | **$NGX_RPS** | | $NGX_US µs | **$RATIO** (target ≥ 0.5) |"
  echo
  echo "Body: a 43-byte JSON object with Content-Type and User-Agent set. $CAP_REQS requests were captured in the tlspost runs (the store's newest id after them: $STORED). Reproduce: \`bench/serve-wrk.sh\`."
} >>"$RESULTS"
echo "appended to $RESULTS"
