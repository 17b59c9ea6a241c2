#!/usr/bin/env bash
# tlspost post vs curl against the same nginx in one run: round trips and bytes on the wire per POST
# (fresh connection, kept-alive, resumed), counted from packet captures on loopback with tshark;
# max RSS of each client (/usr/bin/time -v, the median of alternating runs) and the size of the
# tlspost binary; peak heap of the library (bench/client-heap). Every figure also goes to
# bench/figures.json (bench/figures.sh).
# nginx serves an ECDSA P-256 leaf + intermediate (root -> intermediate -> leaf, like a public CA);
# curl runs twice: with its default request head, and with the head tlspost sends.
#
# Needs: nginx-light, tshark, curl, openssl, GNU time (Debian packages); run as root (capture on lo).
# Usage: bench/client-figures.sh [--record]   (--record appends the table to bench/RESULTS.md;
#        BENCH_KEEP=DIR keeps the packet captures; BENCH_TICKETS=off makes nginx use stateful
#        TLS 1.3 tickets from its session cache instead of stateless ones; BENCH_RUNS=N captures
#        each case N times, 3 by default: round trips can differ with scheduling; BENCH_RSS_RUNS=N
#        measures each client's max RSS N times, taking turns, 5 by default). With BENCH_TICKETS=off
#        only the resumed ÷ fresh handshake ratios go to bench/figures.json, as client.stateful.*
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)
record=${1:-}
# shellcheck source=bench/figures.sh
. bench/figures.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root_dir/target/client-release}
cargo build --release --locked -p tlspost-cli >/dev/null 2>&1 || cargo build --release --locked -p tlspost-cli
tlspost="$CARGO_TARGET_DIR/release/tlspost"
# client-heap is its own workspace (its own lock file); built beside the CLI.
(cd bench/client-heap && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/client-heap" cargo build --release --locked --quiet)
heap_bin=$CARGO_TARGET_DIR/client-heap/release/client-heap

work=$(mktemp -d)
cleanup() {
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp "$work"/*.pcap "$BENCH_KEEP"/ 2>/dev/null || true; fi
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  [ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

host=bench.tlspost.test
# PKI like a public CA's, all ECDSA P-256 (like Cloudflare's edge certificates): root -> intermediate
# -> leaf for $host (SANs for the name and its wildcard, AIA, CRL distribution point, policy); nginx
# serves leaf + intermediate, the root is pinned by the clients.
ca_url=http://ca.tlspost.test
openssl ecparam -name prime256v1 -genkey -noout -out "$work/root.key" 2>/dev/null
openssl req -x509 -new -key "$work/root.key" -subj "/C=US/O=tlspost bench Trust/CN=tlspost bench Root E1" -days 3650 \
  -out "$work/root.pem" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/int.key" 2>/dev/null
openssl req -new -key "$work/int.key" -subj "/C=US/O=tlspost bench Trust/CN=tlspost bench Issuing E11" \
  -out "$work/int.csr" 2>/dev/null
cat >"$work/int.ext" <<EOF
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
authorityInfoAccess=caIssuers;URI:$ca_url/root-e1.der
crlDistributionPoints=URI:$ca_url/root-e1.crl
certificatePolicies=2.23.140.1.2.1
EOF
openssl x509 -req -in "$work/int.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -CAcreateserial \
  -days 1095 -extfile "$work/int.ext" -out "$work/int.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/leaf.key" 2>/dev/null
openssl req -new -key "$work/leaf.key" -subj "/CN=$host" -out "$work/leaf.csr" 2>/dev/null
cat >"$work/ext" <<EOF
subjectAltName=DNS:$host,DNS:*.$host
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
authorityInfoAccess=OCSP;URI:http://o.ca.tlspost.test,caIssuers;URI:$ca_url/e11.der
crlDistributionPoints=URI:$ca_url/e11.crl
certificatePolicies=2.23.140.1.2.1
EOF
openssl x509 -req -in "$work/leaf.csr" -CA "$work/int.pem" -CAkey "$work/int.key" -CAcreateserial \
  -days 90 -extfile "$work/ext" -out "$work/leaf.pem" 2>/dev/null
cat "$work/leaf.pem" "$work/int.pem" >"$work/chain.pem"
der_size() { openssl x509 -in "$1" -outform der | wc -c; }
leaf_der=$(der_size "$work/leaf.pem")
int_der=$(der_size "$work/int.pem")
root_der=$(der_size "$work/root.pem")

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
    ssl_certificate $work/chain.pem;
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
# curl sending the very head tlspost sends (same headers, other order): its User-Agent, Accept-Encoding:
# identity (a device cannot inflate gzip), no Accept, and Connection: keep-alive (added per run below).
tl_version=$("$tlspost" --version | awk '{print $2}')
cu_head=("${cu[@]}" -A "tlspost/$tl_version" -H "Accept-Encoding: identity" -H "Accept:")

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
  tshark -r "$work/$name.pcap" -d "tcp.port==$port,tls" -T fields -E separator=/t -e tcp.stream -e tcp.srcport \
    -e tcp.len -e tcp.flags.syn -e frame.len -e tls.record.opaque_type -e tls.handshake.type \
    -e tcp.analysis.retransmission 2>/dev/null |
    awk -F'\t' -v port="$port" '
      # A client segment that is only its TLS Finished (one encrypted record, maybe after a
      # ChangeCipherSpec) right after the ServerHello flight waits for nothing: what the server sends
      # next (session tickets) is unsolicited and ends no round trip. Retransmitted segments (a busy
      # machine delays an ACK past the loopback RTO) are not counted.
      $8 != "" { next }
      {
        s = $1; server = ($2 == port); len = $3 + 0; syn = ($4 == "1" || $4 == "True"); fl = $5 + 0
        seen[s] = 1
        if (server) {
          sb[s] += len; sf[s] += fl
          if ((len > 0 || syn) && pending[s]) { rtt[s]++; pending[s] = 0 }
          if ($7 ~ /(^|,)2(,|$)/) hello[s] = 1
        } else {
          cb[s] += len; cf[s] += fl
          if (len > 0 && hello[s] == 1) { hello[s] = 2; if (gsub(/23/, "", $6) <= 1) next }
          if (len > 0 || syn) pending[s] = 1
        }
      }
      END { for (s in seen) print s, rtt[s] + 0, cb[s] + 0, sb[s] + 0, cf[s] + 0, sf[s] + 0 }' | sort -n
}

declare -A R
runs=${BENCH_RUNS:-3}
# measure CLIENT CMD... -> fills R[CLIENT.fresh|kept|resumed] ("rtt cb sb cf sf", bytes from the first
# run) and R[CLIENT.KIND.rtts] (round trips of every run); curl CMDs end with the URL.
measure() {
  local c=$1
  shift
  local fresh kept res keep=() run
  [ "$c" = curl-head ] && keep=(-H "Connection: keep-alive")
  for run in $(seq "$runs"); do
    fresh=$(capture "$c-fresh-$run" "$@" "${keep[@]}")
    read -r _ f_rtt f_cb f_sb f_cf f_sf <<<"$(echo "$fresh" | head -1)"
    if [ "$c" = tlspost ]; then
      kept=$(capture "$c-kept-$run" "$@" --repeat 2)
      res=$(capture "$c-resumed-$run" "$@" --repeat 2 -H "Connection: close")
    else
      # "$@" already ends with the URL; one more makes two requests.
      kept=$(capture "$c-kept-$run" "$@" "${keep[@]}" "$url")
      res=$(capture "$c-resumed-$run" "$@" -H "Connection: close" "$url")
    fi
    read -r _ k_rtt k_cb k_sb k_cf k_sf <<<"$(echo "$kept" | head -1)"
    read -r r_rtt _ <<<"$(echo "$res" | sed -n 2p | cut -d' ' -f2-)"
    R[$c.fresh.rtts]+="$f_rtt "
    R[$c.kept2.rtts]+="$k_rtt "
    R[$c.resumed.rtts]+="$r_rtt "
    [ "$run" = 1 ] || continue
    R[$c.fresh]="$f_rtt $f_cb $f_sb $f_cf $f_sf"
    R[$c.kept]="$((k_rtt - f_rtt)) $((k_cb - f_cb)) $((k_sb - f_sb)) $((k_cf - f_cf)) $((k_sf - f_sf))"
    R[$c.kept_streams]=$(echo "$kept" | wc -l)
    R[$c.resumed]=$(echo "$res" | sed -n 2p | cut -d' ' -f2-)
    R[$c.resumed_streams]=$(echo "$res" | wc -l)
  done
}

measure tlspost "${tl[@]}"
measure curl "${cu[@]}" "$url"
measure curl-head "${cu_head[@]}" "$url"

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Max RSS: the clients take turns, BENCH_RSS_RUNS times each (a busy machine moves both alike);
# the median of each.
rss_runs=${BENCH_RSS_RUNS:-5}
rss_tl_all= rss_cu_all=
for _ in $(seq "$rss_runs"); do
  rss_tl_all+="$(rss "${tl[@]}") "
  rss_cu_all+="$(rss "${cu[@]}" "$url") "
done
rss_tl=$(echo "$rss_tl_all" | median)
rss_cu=$(echo "$rss_cu_all" | median)
bin_size=$(stat -c %s "$tlspost")
heap=$("$heap_bin" "$url" "$work/root.pem" "$host:$port:127.0.0.1" "$json")

minmax() { echo "$2" | tr ' ' '\n' | sed '/^$/d' | sort -n | if [ "$1" = min ]; then head -1; else tail -1; fi; }
row() { # row LABEL CLIENT KIND
  read -r _ cb sb cf sf <<<"${R[$2.$3]}"
  # Round trips: the fewest seen over the runs (scheduling can add an apparent wait, e.g. a request
  # that leaves after the server's unsolicited session tickets, but cannot hide a real one), with
  # the most seen when a run differed. Kept-alive: the fewest for two POSTs minus the fewest for one
  # (the apparent waits belong to the handshake, so no range is given for it).
  local rtt lo hi
  if [ "$3" = kept ]; then
    lo=$(($(minmax min "${R[$2.kept2.rtts]}") - $(minmax min "${R[$2.fresh.rtts]}")))
    hi=$lo
  else
    lo=$(minmax min "${R[$2.$3.rtts]}")
    hi=$(minmax max "${R[$2.$3.rtts]}")
  fi
  rtt="**$lo**"
  [ "$hi" = "$lo" ] || rtt="**$lo** (up to $hi)"
  local name=$2
  [ "$2" = curl-head ] && name="curl, tlspost's head"
  echo "| $1 | $name | $rtt | $cb | $sb | $((cb + sb)) | $((cf + sf)) |"
}
total() { read -r _ cb sb _ _ <<<"${R[$1.$2]}"; echo $((cb + sb)); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# ratios CLIENT: resumed ÷ fresh for the whole POST, and for the handshake alone (each minus the
# kept-alive POST, which is the request and response without any handshake).
ratios() {
  local f k r
  f=$(total "$1" fresh)
  k=$(total "$1" kept)
  r=$(total "$1" resumed)
  echo "whole POST $r ÷ $f = **$(ratio "$r" "$f")**, handshake alone $((r - k)) ÷ $((f - k)) = **$(ratio $((r - k)) $((f - k)))**"
}
commit=$(git rev-parse --short HEAD)
# The binaries are built from the working tree: say so when it differs from the commit.
if [ -n "$(git status --porcelain --untracked-files=no -- crates bench/client-heap Cargo.lock)" ]; then
  commit="$commit with uncommitted changes"
fi
table=$(
  cat <<EOF

## tlspost post vs curl: round trips, bytes, memory per POST — $(date -u +%Y-%m-%d) (commit $commit)

Same nginx ($(nginx -v 2>&1 | sed 's/.*: //'), TLS 1.3 only, \`ssl_session_tickets ${BENCH_TICKETS:-on}\` with a shared session
cache, \`return 200\` with a 40-byte JSON body), loopback, one invocation of
\`$( [ -n "${BENCH_TICKETS:-}" ] && echo "BENCH_TICKETS=$BENCH_TICKETS ")bench/client-figures.sh\` ($runs runs of every case). Chain: ECDSA P-256 throughout, root →
intermediate → leaf, served as leaf (${leaf_der} bytes DER: two SANs, AIA, CRL point, policy) + intermediate
(${int_der} bytes); the root (${root_der} bytes) is pinned by both clients (\`--cacert\`). tlspost: release build
of \`tlspost post\` $tl_version; curl: $(curl --version | head -1 | cut -d' ' -f1-2,4-5). Request: the same
81-byte JSON POST; curl with \`-H "Content-Type: application/json" --data-binary\` and its default head,
and again with tlspost's head (\`-A tlspost/$tl_version -H 'Accept-Encoding: identity' -H 'Connection: keep-alive'
-H 'Accept:'\`, "curl, tlspost's head").
Round trips: per TCP stream, each time the client, having sent a SYN or payload, waits for server
payload (SYN-ACK counts; a segment holding only the client's TLS Finished waits for nothing, so the
session tickets nginx sends after it end no round trip); the fewest seen in the $runs runs, and the most
when a run differed. Bytes: TCP payload (TLS records) per direction, and whole frames (with TCP/IP
headers; their count varies with delayed ACKs) both ways, from the first run; TCP retransmissions are
not counted. Kept-alive = (two POSTs on one connection) − (one POST); resumed = the second connection
of two POSTs sent with \`Connection: close\` (tlspost \`--repeat 2\`, curl two URLs).

| POST | client | round trips | client→server bytes | server→client bytes | payload total | frames total |
|---|---|---|---|---|---|---|
$(row fresh tlspost fresh)
$(row fresh curl fresh)
$(row fresh curl-head fresh)
$(row kept-alive tlspost kept)
$(row kept-alive curl kept)
$(row kept-alive curl-head kept)
$(row resumed tlspost resumed)
$(row resumed curl resumed)
$(row resumed curl-head resumed)

Connections opened: kept-alive run tlspost ${R[tlspost.kept_streams]}, curl ${R[curl.kept_streams]}, curl with tlspost's head ${R[curl-head.kept_streams]}; resumed run tlspost ${R[tlspost.resumed_streams]}, curl ${R[curl.resumed_streams]}, curl with tlspost's head ${R[curl-head.resumed_streams]}.

Resumed ÷ fresh payload bytes (target ≤ 0.5): tlspost $(ratios tlspost); curl $(ratios curl).

| memory | value | command |
|---|---|---|
| tlspost post, max RSS (median of $rss_runs, taking turns with curl) | **${rss_tl} KB** (runs: ${rss_tl_all% }) | \`/usr/bin/time -v tlspost post URL --json … --cacert … --resolve …\` |
| curl, max RSS (median of $rss_runs) | **${rss_cu} KB** (runs: ${rss_cu_all% }) | \`/usr/bin/time -v curl … --data-binary … URL\` |
| tlspost post ÷ curl, max RSS | **$(ratio "$rss_tl" "$rss_cu")** (target ≤ 1) | the two above |
| \`tlspost\` release binary | $bin_size bytes | \`stat -c %s\` on the binary measured (\`cargo build --release -p tlspost-cli\`) |
| library, peak heap of one fresh POST (client built with one pinned root) | **$(echo "$heap" | awk '/^client_peak_heap_bytes/ {print $2}') bytes** ($(echo "$heap" | awk '/^client_allocations/ {print $2}') allocations) | \`bench/client-heap\` (counting global allocator) |
| library, peak heap of a kept-alive POST | $(echo "$heap" | awk '/^kept_alive_post_peak_heap_bytes/ {print $2}') bytes | same |
| library, a client holding Mozilla's roots | $(echo "$heap" | awk '/^mozilla_roots_client_heap_bytes/ {print $2}') bytes | same |
| driver (\`tlspost::driver::exchange\`), heap | **$(echo "$heap" | awk '/^driver_allocations/ {print $2}') allocations** | same (in-memory transport, caller buffers) |
EOF
)
echo "$table"

# bench/figures.json: the same figures, by key.
rtt_min() { # CLIENT KIND: the round trips shown in the table (the fewest seen)
  if [ "$2" = kept ]; then
    echo $(($(minmax min "${R[$1.kept2.rtts]}") - $(minmax min "${R[$1.fresh.rtts]}")))
  else
    minmax min "${R[$1.$2.rtts]}"
  fi
}
handshake_ratio() { # CLIENT: resumed ÷ fresh, the handshake alone
  local f k r
  f=$(total "$1" fresh) k=$(total "$1" kept) r=$(total "$1" resumed)
  ratio $((r - k)) $((f - k))
}
if [ "${BENCH_TICKETS:-on}" = on ]; then
  for c in tlspost curl curl-head; do
    for kind in fresh kept resumed; do
      figure "client.${c/-/_}.rtt.$kind" "$(rtt_min "$c" "$kind")" count
      figure "client.${c/-/_}.bytes.$kind" "$(total "$c" "$kind")" B
    done
    figure "client.${c/-/_}.handshake_ratio" "$(handshake_ratio "$c")" ratio
  done
  figure client.post.max_rss "$rss_tl" KiB
  figure client.curl.max_rss "$rss_cu" KiB
  figure client.rss_ratio "$(ratio "$rss_tl" "$rss_cu")" ratio
  figure client.binary_size "$bin_size" B
  heap_figure() { echo "$heap" | awk -v k="$1" '$1 == k {print $2}'; }
  figure client.heap.fresh_peak "$(heap_figure client_peak_heap_bytes)" B
  figure client.heap.fresh_allocations "$(heap_figure client_allocations)" count
  figure client.heap.kept_peak "$(heap_figure kept_alive_post_peak_heap_bytes)" B
  figure client.heap.mozilla_roots "$(heap_figure mozilla_roots_client_heap_bytes)" B
  figure client.driver.allocations "$(heap_figure driver_allocations)" count
else
  # nginx with stateful tickets: only what differs from the default run.
  for c in tlspost curl; do
    figure "client.stateful.$c.handshake_ratio" "$(handshake_ratio "$c")" ratio
  done
fi

if [ "$record" = "--record" ]; then
  echo "$table" >>bench/RESULTS.md
fi
