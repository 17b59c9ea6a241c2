#!/usr/bin/env bash
# Forward mode's cost: `tlspost serve --upstream` (every request committed before it goes on and
# again when its response has ended) beside nginx `proxy_pass` with upstream keep-alive, both in front
# of the same origin (an nginx `return 200` on plain HTTP), both over HTTPS keep-alive from the client
# with the same certificate, one run, taking turns.
#
# 1. Rate under load: `wrk -t$THREADS -c$CONNECTIONS` POSTs through tlspost serve (`--sync normal`,
#    then `--sync full`) and through nginx, ROUNDS rounds; the ratio is the median of the per-round
#    ratios.
# 2. Added latency, one request at a time (`wrk -t1 -c1`): p50 and p99 through each server, minus the
#    same through a direct HTTPS connection to the origin (its own TLS listener, same certificate).
#
# Appends a section to bench/RESULTS.md (RESULTS= elsewhere; NO_RECORD=1: print only). Raw wrk output
# stays in the work directory while it runs; the table has every round.
#
# tlspost serve runs with --quiet: its terminal line is what nginx's access log is, and that is off
# (LINES=1: the lines on, written to a file). BIN=path: that tlspost binary instead of a release
# build of the working tree (to compare two builds, one run each, taking turns).
#
# Needs (Debian): wrk nginx curl python3. Bounded: ROUNDS (default 3) x 3 runs of DURATION (default 5)
# seconds, and 4 latency runs of LAT_DURATION (default 5) seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
LAT_DURATION=${LAT_DURATION:-5}
ROUNDS=${ROUNDS:-3}
RESULTS=${RESULTS:-bench/RESULTS.md}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# shellcheck source=bench/serve-common.sh
. bench/serve-common.sh
need wrk nginx curl python3

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/bench-serve}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p tlspost-cli --bin tlspost
  BIN="$CARGO_TARGET_DIR/release/tlspost"
fi
COMMIT=$(git rev-parse --short HEAD)
QUIET=--quiet
LINES_TEXT="terminal lines off (\`--quiet\`, as nginx's access log)"
if [ -n "${LINES:-}" ]; then
  QUIET=
  LINES_TEXT="terminal lines on, to a file"
fi

ORIGIN_HTTP=$(free_port)
ORIGIN_HTTPS=$(free_port)
PROXY=$(free_port)
declare -A CAP UIP SPID
for mode in normal full; do
  CAP[$mode]=$(free_port)
  UIP[$mode]=$(free_port)
done

# The capture servers first: the normal one makes the CA and certificate every server uses.
for mode in normal full; do
  mkdir -p "$WORK/$mode"
  [ "$mode" = normal ] || cp "$WORK/normal/"{ca.pem,ca.key,server.pem,server.key,server.names} "$WORK/$mode/" 2>/dev/null || true
  "$BIN" serve --data "$WORK/$mode" --http "127.0.0.1:${UIP[$mode]}" --https "127.0.0.1:${CAP[$mode]}" \
    --sync "$mode" $QUIET --upstream "http://127.0.0.1:$ORIGIN_HTTP" >"$WORK/$mode.log" 2>&1 &
  PIDS+=($!)
  SPID[$mode]=$!
  for _ in $(seq 100); do [ -s "$WORK/$mode/server.key" ] && break; sleep 0.1; done
done
CA="$WORK/normal/ca.pem"

start_nginx "
  upstream origin { server 127.0.0.1:$ORIGIN_HTTP; keepalive 64; }
  server {
    listen 127.0.0.1:$ORIGIN_HTTP;
    listen 127.0.0.1:$ORIGIN_HTTPS ssl;
    ssl_certificate $WORK/normal/server.pem;
    ssl_certificate_key $WORK/normal/server.key;
    location / { default_type application/json; return 200 '{\"ok\":1}'; }
  }
  server {
    listen 127.0.0.1:$PROXY ssl;
    ssl_certificate $WORK/normal/server.pem;
    ssl_certificate_key $WORK/normal/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
  }"
wait_https "$CA" "https://localhost:$ORIGIN_HTTPS/"
wait_https "$CA" "https://localhost:$PROXY/"
for mode in normal full; do wait_https "$WORK/$mode/ca.pem" "https://localhost:${CAP[$mode]}/ready"; done

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# CPU time (user + system, clock ticks) of a process, all its threads.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A latency line of wrk --latency (50% or 99%) in µs.
lat_us() {
  awk -v q="$2" '$1 == q {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : 1; printf "%.0f", v * f}' "$1"
}
url() {
  case $1 in
    normal | full) echo "https://localhost:${CAP[$1]}/api/telemetry" ;;
    nginx) echo "https://localhost:$PROXY/api/telemetry" ;;
    direct) echo "https://localhost:$ORIGIN_HTTPS/api/telemetry" ;;
  esac
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
  for who in normal full nginx; do
    echo "round $r/$ROUNDS: $who" >&2
    [ "$who" = nginx ] || t0=$(ticks "${SPID[$who]}")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$(url "$who")" >"$WORK/$who.$r.wrk"
    [ "$who" = nginx ] || echo $(($(ticks "${SPID[$who]}") - t0)) >"$WORK/$who.$r.ticks"
  done
done
for who in direct normal full nginx; do
  echo "latency: $who" >&2
  wrk -t1 -c1 -d"${LAT_DURATION}s" --latency -s "$WORK/post.lua" "$(url "$who")" >"$WORK/$who.lat"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
FORWARDED=$(curl -s "http://127.0.0.1:${UIP[normal]}/_tlspost/api/captures?limit=1&reveal=1" |
  python3 -c 'import json,sys; c=json.load(sys.stdin)[0]; u=c.get("upstream") or {}; print(c["id"], u.get("status"), u.get("complete"))')

ROWS=""
for r in $(seq "$ROUNDS"); do
  ROWS+="$r $(rps "$WORK/normal.$r.wrk") $(rps "$WORK/full.$r.wrk") $(rps "$WORK/nginx.$r.wrk")"$'\n'
done
read -r N_RPS F_RPS X_RPS N_RATIO F_RATIO <<<"$(printf '%s' "$ROWS" | python3 -c '
import statistics, sys
rows = [[float(x) for x in l.split()] for l in sys.stdin if l.strip()]
med = lambda i: statistics.median(r[i] for r in rows)
print(f"{med(1):.0f} {med(2):.0f} {med(3):.0f} {statistics.median(r[1]/r[3] for r in rows):.2f} {statistics.median(r[2]/r[3] for r in rows):.2f}")')"
# The command that reproduces this run (the settings that differ from the defaults).
REPRO=bench/serve-forward.sh
for v in LINES ROUNDS DURATION LAT_DURATION CONNECTIONS THREADS; do
  case "$v=${!v:-}" in
    ROUNDS=3 | DURATION=5 | LAT_DURATION=5 | CONNECTIONS=32 | THREADS=2 | LINES=) ;;
    *) REPRO="$v=${!v} $REPRO" ;;
  esac
done
# tlspost serve's CPU per request in µs (median over the rounds).
cpu_us() {
  for r in $(seq "$ROUNDS"); do
    echo "$(cat "$WORK/$1.$r.ticks") $(rps "$WORK/$1.$r.wrk")"
  done | python3 -c "
import os, statistics, sys
hz = os.sysconf('SC_CLK_TCK')
print(f'{statistics.median(float(t) / hz * 1e6 / (float(r) * $DURATION) for t, r in (l.split() for l in sys.stdin)):.1f}')"
}
declare -A P50 P99
for who in direct normal full nginx; do
  P50[$who]=$(lat_us "$WORK/$who.lat" 50%)
  P99[$who]=$(lat_us "$WORK/$who.lat" 99%)
done
added() { echo $(( ${1} - ${2} )); }

REPORT=$(
  echo
  echo "## tlspost serve --upstream vs nginx proxy_pass — $(date -u +%Y-%m-%d) (commit $COMMIT)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), shared with the client (wrk), the origin and other work; load average before/after: $LOAD_BEFORE / $LOAD_AFTER."
  echo "Origin: nginx \`return 200 '{\"ok\":1}'\` on plain HTTP. tlspost serve (release \`tlspost serve --upstream http://origin\`, $LINES_TEXT): each request committed to SQLite before it goes on and again when the response has ended; kept-alive upstream connections. nginx $(nginx -v 2>&1 | cut -d/ -f2): \`proxy_pass\` to an \`upstream\` with \`keepalive 64\`, access log off, worker_processes auto. Client to server: HTTPS keep-alive, the same certificate."
  echo
  echo "Rate: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s -s post.lua\` (a 43-byte JSON POST), taking turns each round."
  echo
  echo "| round | serve --sync normal req/s | serve --sync full req/s | nginx proxy_pass req/s | normal / nginx | full / nginx |"
  echo "|---|---|---|---|---|---|"
  printf '%s' "$ROWS" | awk 'NF {printf "| %s | %s | %s | %s | %.2f | %.2f |\n", $1, $2, $3, $4, $2 / $4, $3 / $4}'
  echo "| **median** | **$N_RPS** | **$F_RPS** | **$X_RPS** | **$N_RATIO** (goal ≥ 0.5) | **$F_RATIO** |"
  echo
  echo "tlspost serve's CPU per request (all its threads, from /proc, median of the rounds): --sync normal $(cpu_us normal) µs, --sync full $(cpu_us full) µs."
  echo
  echo "Latency one request at a time (\`wrk -t1 -c1 -d${LAT_DURATION}s --latency\`), µs; added = through the server minus direct to the origin over HTTPS:"
  echo
  echo "| path | p50 | p99 | added p50 | added p99 |"
  echo "|---|---|---|---|---|"
  echo "| direct to the origin | ${P50[direct]} | ${P99[direct]} | | |"
  for who in normal full nginx; do
    name="tlspost serve --sync $who"
    [ "$who" = nginx ] && name="nginx proxy_pass"
    echo "| $name | ${P50[$who]} | ${P99[$who]} | $(added "${P50[$who]}" "${P50[direct]}") | $(added "${P99[$who]}" "${P99[direct]}") |"
  done
  echo
  echo "Goal: added p50 ≤ 1000 µs with \`--sync normal\`. The newest capture of the normal run (id, upstream status, complete): $FORWARDED. Reproduce: \`$REPRO\`."
)
echo "$REPORT"
[ -n "${NO_RECORD:-}" ] && exit 0
echo "$REPORT" >>"$RESULTS"
echo "appended to $RESULTS"
