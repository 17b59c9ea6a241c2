#!/usr/bin/env bash
# tlspost post vs curl against the same nginx in one run: round trips and bytes on the wire per POST
# (fresh connection, kept-alive, resumed), counted from packet captures on loopback with tshark;
# max RSS of each client (/usr/bin/time -v); peak heap of the library (bench/client-heap).
#
# Needs: nginx-light, tshark, curl, openssl, GNU time (Debian packages); run as root (capture on lo).
# Usage: bench/client-figures.sh [--record]   (--record appends the table to bench/RESULTS.md;
#        BENCH_KEEP=DIR keeps the packet captures; BENCH_TICKETS=off makes nginx use stateful
#        TLS 1.3 tickets from its session cache instead of stateless ones)
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)
record=${1:-}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root_dir/target/client-release}
cargo build --release --locked -p tlspost-cli >/dev/null 2>&1 || cargo build --release --locked -p tlspost-cli
tlspost="$CARGO_TARGET_DIR/release/tlspost"
(cd bench/client-heap && CARGO_TARGET_DIR=target cargo build --release --quiet)
heap_bin=bench/client-heap/target/release/client-heap

work=$(mktemp -d)
cleanup() {
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp "$work"/*.pcap "$BENCH_KEEP"/ 2>/dev/null || true; fi
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  [ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

host=bench.tlspost.test
# PKI: EC P-256 root -> leaf for $host.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/root.key" 2>/dev/null
openssl req -x509 -new -key "$work/root.key" -subj "/CN=tlspost bench root" -days 30 -out "$work/root.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key" 2>/dev/null
openssl req -new -key "$work/leaf.key" -subj "/CN=$host" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$host" >"$work/ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -CAcreateserial \
  -days 30 -extfile "$work/ext" -out "$work/leaf.pem" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)))
cat >"$work/nginx.conf" <<EOF
daemon off;
master_process off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  ssl_protocols TLSv1.3;
  ssl_session_cache shared:bench:1m;
  ssl_session_tickets ${BENCH_TICKETS:-on};
  server {
    listen 127.0.0.1:$port ssl;
    server_name $host;
    ssl_certificate $work/leaf.pem;
    ssl_certificate_key $work/leaf.key;
    location / { default_type application/json; return 200 '{"access_token":"abc","expires_in":3600}'; }
  }
}
EOF
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.05
done

url="https://$host:$port/oauth/token"
json='{"grant_type":"client_credentials","client_id":"dev-42","client_secret":"s3cr3t"}'
tl=("$tlspost" post "$url" --json "$json" --cacert "$work/root.pem" --resolve "$host:$port:127.0.0.1")
cu=(curl -sS -o /dev/null --cacert "$work/root.pem" --resolve "$host:$port:127.0.0.1"
  -H "Content-Type: application/json" --data-binary "$json")

# capture NAME CMD...: runs CMD under a loopback capture; prints per TCP stream
# "stream rtts client_payload_bytes server_payload_bytes client_frame_bytes server_frame_bytes".
capture() {
  local name=$1
  shift
  tshark -q -i lo -f "tcp port $port" -w "$work/$name.pcap" 2>"$work/$name.tshark.log" &
  cap_pid=$!
  for _ in $(seq 100); do grep -q "Capturing on" "$work/$name.tshark.log" 2>/dev/null && break; sleep 0.05; done
  sleep 0.3
  "$@" >/dev/null 2>&1
  sleep 0.5
  kill -INT "$cap_pid"
  wait "$cap_pid" 2>/dev/null || true
  cap_pid=
  tshark -r "$work/$name.pcap" -T fields -e tcp.stream -e tcp.srcport -e tcp.len -e tcp.flags.syn -e frame.len 2>/dev/null |
    awk -v port="$port" '
      {
        s = $1; server = ($2 == port); len = $3 + 0; syn = ($4 == "1" || $4 == "True"); fl = $5 + 0
        seen[s] = 1
        if (server) { sb[s] += len; sf[s] += fl; if ((len > 0 || syn) && pending[s]) { rtt[s]++; pending[s] = 0 } }
        else { cb[s] += len; cf[s] += fl; if (len > 0 || syn) pending[s] = 1 }
      }
      END { for (s in seen) print s, rtt[s] + 0, cb[s] + 0, sb[s] + 0, cf[s] + 0, sf[s] + 0 }' | sort -n
}

declare -A R
measure() { # measure CLIENT CMD...  -> fills R[CLIENT.fresh|kept|resumed.*]
  local c=$1
  shift
  local fresh kept res
  fresh=$(capture "$c-fresh" "$@")
  read -r _ f_rtt f_cb f_sb f_cf f_sf <<<"$(echo "$fresh" | head -1)"
  R[$c.fresh]="$f_rtt $f_cb $f_sb $f_cf $f_sf"
  if [ "$c" = tlspost ]; then
    kept=$(capture "$c-kept" "$@" --repeat 2)
    res=$(capture "$c-resumed" "$@" --repeat 2 -H "Connection: close")
  else
    # "$@" already ends with the URL; one more makes two requests.
    kept=$(capture "$c-kept" "$@" "$url")
    res=$(capture "$c-resumed" "$@" -H "Connection: close" "$url")
  fi
  read -r _ k_rtt k_cb k_sb k_cf k_sf <<<"$(echo "$kept" | head -1)"
  R[$c.kept]="$((k_rtt - f_rtt)) $((k_cb - f_cb)) $((k_sb - f_sb)) $((k_cf - f_cf)) $((k_sf - f_sf))"
  R[$c.kept_streams]=$(echo "$kept" | wc -l)
  R[$c.resumed]=$(echo "$res" | sed -n 2p | cut -d' ' -f2-)
  R[$c.resumed_streams]=$(echo "$res" | wc -l)
}

measure tlspost "${tl[@]}"
measure curl "${cu[@]}" "$url"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
rss_tl=$(rss "${tl[@]}")
rss_cu=$(rss "${cu[@]}" "$url")
heap=$("$heap_bin" "$url" "$work/root.pem" "$host:$port:127.0.0.1" "$json")

row() { # row LABEL CLIENT KIND
  read -r rtt cb sb cf sf <<<"${R[$2.$3]}"
  echo "| $1 | $2 | **$rtt** | $cb | $sb | $((cb + sb)) | $((cf + sf)) |"
}
commit=$(git rev-parse --short HEAD)
table=$(
  cat <<EOF

## tlspost post vs curl: round trips, bytes, memory per POST — $(date -u +%Y-%m-%d) (commit $commit)

Same nginx ($(nginx -v 2>&1 | sed 's/.*: //'), TLS 1.3 only, \`ssl_session_tickets ${BENCH_TICKETS:-on}\` with a shared session cache, ECDSA P-256 leaf signed by a pinned root, \`return 200\` with a
40-byte JSON body), loopback, one run: \`bench/client-figures.sh\`. tlspost: release build of \`tlspost post\`;
curl: $(curl --version | head -1 | cut -d' ' -f1-2,4-5). Request: the same 81-byte JSON POST (curl with
\`-H "Content-Type: application/json" --data-binary\`). Round trips: per TCP stream, each time the client,
having sent a SYN or payload, waits for server payload (SYN-ACK counts). Bytes: TCP payload (TLS records)
per direction, and whole frames (with TCP/IP headers) both ways. Kept-alive = (two POSTs on one
connection) − (one POST); resumed = the second connection of two POSTs sent with \`Connection: close\`
(tlspost \`--repeat 2\`, curl two URLs).

| POST | client | round trips | client→server bytes | server→client bytes | payload total | frames total |
|---|---|---|---|---|---|---|
$(row fresh tlspost fresh)
$(row fresh curl fresh)
$(row kept-alive tlspost kept)
$(row kept-alive curl kept)
$(row resumed tlspost resumed)
$(row resumed curl resumed)

Connections opened: kept-alive run tlspost ${R[tlspost.kept_streams]}, curl ${R[curl.kept_streams]}; resumed run tlspost ${R[tlspost.resumed_streams]}, curl ${R[curl.resumed_streams]}.

| memory | value | command |
|---|---|---|
| tlspost post, max RSS | **${rss_tl} KB** | \`/usr/bin/time -v tlspost post URL --json … --cacert … --resolve …\` |
| curl, max RSS | **${rss_cu} KB** | \`/usr/bin/time -v curl … --data-binary … URL\` |
| library, peak heap of one fresh POST (client built with one pinned root) | **$(echo "$heap" | awk '/^client_peak_heap_bytes/ {print $2}') bytes** ($(echo "$heap" | awk '/^client_allocations/ {print $2}') allocations) | \`bench/client-heap\` (counting global allocator) |
| library, peak heap of a kept-alive POST | $(echo "$heap" | awk '/^kept_alive_post_peak_heap_bytes/ {print $2}') bytes | same |
| library, a client holding Mozilla's roots | $(echo "$heap" | awk '/^mozilla_roots_client_heap_bytes/ {print $2}') bytes | same |
| driver (\`tlspost::driver::exchange\`), heap | **$(echo "$heap" | awk '/^driver_allocations/ {print $2}') allocations** | same (in-memory transport, caller buffers) |
EOF
)
echo "$table"
if [ "$record" = "--record" ]; then
  echo "$table" >>bench/RESULTS.md
fi
