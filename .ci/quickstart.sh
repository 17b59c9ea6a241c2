#!/usr/bin/env bash
# The README's Quick start, run literally on this checkout: its first command exactly as printed
# (`cargo run -- serve`), then the README's curl request; the capture and its findings
# are checked through the JSON API, and the server is stopped by its pid.
#
# The quick start's server listens on its documented ports, 127.0.0.1:8080 and :8443; when another
# process holds one, this says so and fails (it never stops anything it did not start).
set -euo pipefail
cd "$(dirname "$0")/.."

# The first line of the Quick start's sh block, without its comment: the command as printed.
first="$(awk '/^## Quick start/{q=1} q&&/^```sh$/{getline; print; exit}' README.md)"
cmd="${first%%#*}"
cmd="${cmd%"${cmd##*[![:space:]]}"}"
if [[ "$cmd" != "cargo run -- serve" ]]; then
  echo "quickstart: the README's first command is now '$cmd'; update this check with it" >&2
  exit 1
fi
# The README's curl: the console block after the Quick start that starts with `$ curl`, with its
# continuation lines joined.
request="$(awk '/^\$ curl /{c=1} c{sub(/^\$ /,""); print; if ($0 !~ /\\$/) exit}' README.md | sed 's/\\$//' | tr '\n' ' ')"
if [[ "$request" != curl* ]]; then
  echo "quickstart: no \`\$ curl\` request found in the README" >&2
  exit 1
fi

for port in 8080 8443; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "quickstart: port $port on 127.0.0.1 is in use by another process; the README's server needs it. Free it (or skip this step) and run again" >&2
    exit 1
  fi
done

log="$(mktemp)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT

echo "quickstart: $cmd"
# `cargo run` execs the program, so this pid becomes the server's once it is built. 20 minutes
# covers a cold build on two cores.
timeout 1200 $cmd >"$log" 2>&1 &
pid=$!

deadline=$((SECONDS + 1200))
until grep -q '^tlspost serve: HTTPS on https://127.0.0.1:8443/' "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "quickstart: '$cmd' exited before serving:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ((SECONDS > deadline)); then
    echo "quickstart: '$cmd' did not serve within 20 minutes:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 1
done
grep '^tlspost serve:' "$log"

echo "quickstart: $request"
answer="$(eval "$request -sS")"
id="$(printf '%s' "$answer" | sed -n 's/^[{ ]*"id": *\([0-9][0-9]*\).*/\1/p' | head -n 1)"
if [[ -z "$id" ]]; then
  echo "quickstart: the answer names no capture id:" >&2
  printf '%s\n' "$answer" >&2
  exit 1
fi
capture="$(curl -sS "http://127.0.0.1:8080/_tlspost/api/captures/$id")"
for want in '"code":"TP301"' '"code":"TP304"' '["User-Agent","ESP32HTTPClient"]'; do
  if ! grep -qiF -- "$want" <<<"$capture"; then
    echo "quickstart: capture $id lacks $want; it is:" >&2
    printf '%s\n' "$capture" >&2
    exit 1
  fi
done
if grep -qiF '["Content-Type",' <<<"$capture"; then
  echo "quickstart: capture $id has a Content-Type, which the README's request does not send:" >&2
  printf '%s\n' "$capture" >&2
  exit 1
fi
echo "quickstart: capture $id recorded with findings TP301 and TP304, as the README says"
