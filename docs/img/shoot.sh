#!/bin/sh
# Regenerates the UI screenshots in docs/serve.md with headless Chromium (Debian `chromium`):
# starts the standalone capture server on free loopback ports with a fresh data directory, sends
# it a few device requests (an Arduino-style JSON POST, a binary upload, a chunked one), and shoots
# the list at 1280 and 375 px and a capture's page. Run from the repository's root:
#
#   docs/img/shoot.sh            # builds tlspost-serve first
#   SERVE=path/to/tlspost-serve docs/img/shoot.sh
set -eu
cd "$(dirname "$0")/../.."
out=docs/img
if [ -z "${SERVE:-}" ]; then
  cargo build -q -p tlspost-serve --bin tlspost-serve
  SERVE="$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/debug/tlspost-serve"
fi
data=$(mktemp -d)
profile=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=$(port); https=$(port)
"$SERVE" --http "127.0.0.1:$http" --https "127.0.0.1:$https" --name api.example.test --data "$data" >"$data/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data" "$profile"' EXIT
i=0
until curl -s -o /dev/null "http://127.0.0.1:$http/_tlspost/"; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat "$data/log"; exit 1; }; sleep 0.1
done
dev() { curl -s -o /dev/null --cacert "$data/ca.pem" --resolve "api.example.test:$https:127.0.0.1" "$@"; }
url="https://api.example.test:$https"
dev -H 'User-Agent: ESP32HTTPClient' -H 'Content-Type:' -H 'Accept:' \
  --data-binary '{"grant_type":"client_credentials","client_id":"dev-42","client_secret":"s3cr3t"}' "$url/oauth/token"
dev -H 'User-Agent: acme-sensor/1.4 (esp32)' -H 'Content-Type: application/json' \
  --data-binary '{"t":21.5,"rh":40}' "$url/v1/readings"
head -c 300 /dev/urandom >"$data/blob"
dev -H 'User-Agent: ESP8266HTTPClient' -H 'Content-Type: application/octet-stream' -X PUT \
  --data-binary "@$data/blob" "$url/v1/firmware/log"
dev -H 'User-Agent: acme-sensor/1.4 (esp32)' -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
  --data-binary '{"t":21.7,"rh":41}' "$url/v1/readings"
curl -s -o /dev/null -H 'Host: 192.168.1.20' -A 'arduino-WiFiClient/1.0' "http://127.0.0.1:$http/status"
shoot() { # width height file url
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --timeout=4000 --window-size="$1,$2" --screenshot="$out/$3" "$4" >/dev/null 2>&1
  echo "$out/$3"
}
shoot 1280 800 serve-list.png "http://127.0.0.1:$http/_tlspost/"
shoot 375 800 serve-list-375.png "http://127.0.0.1:$http/_tlspost/"
shoot 1280 1600 serve-capture.png "http://127.0.0.1:$http/_tlspost/captures/1"
shoot 375 1400 serve-capture-375.png "http://127.0.0.1:$http/_tlspost/captures/1"
