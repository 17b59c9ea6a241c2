#!/usr/bin/env bash
# Proves tlspost-device's rustls backend on RV32IMAC bare metal (issue 17): ONE firmware run under
# QEMU, its TCP connections relayed by tlspost-harness, six jobs, each a connection with a JSON
# POST; jobs 2, 4 and 6 go to the server of the job before and must resume from the firmware's one
# SessionSlot:
#   1, 2  tlspost serve (P-256 root -> P-256 leaf), TLS 1.3
#   3, 4  nginx with Let's Encrypt's ECDSA shape (P-384 root -> P-384 intermediate -> P-256 leaf),
#         TLS 1.3 (psk_dhe_ke from nginx's tickets)
#   5, 6  the same nginx on a TLS 1.2-only port (session ticket or id)
# The firmware's lines must say resumed=0 then resumed=1, status=200; the servers must agree:
# serve's captures say "resumed":false then true, nginx's access log $ssl_session_reused "." then
# "r" with the protocol each port allows.
#
# Needs what rv32-harness needs, clang-19 (ring) and nginx. Prints the firmware's console and its
# `figure:` lines (bench/device-figures.sh collects them). TLSPOST_HARNESS_ICOUNT=1 runs QEMU with
# `-icount shift=0`, which the handshake instruction counts need.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fw_name=rv32-rustls
# shellcheck source=firmware/lib.sh
. "$here/../lib.sh"
command -v nginx >/dev/null || {
  echo "$fw_name: nginx not found; install the Debian package nginx" >&2
  exit 1
}

fw_run_setup "$root"
nginx_pid=
stop_nginx() {
  if [[ -n "$nginx_pid" ]]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  fw_cleanup
}
trap stop_nginx EXIT

fw_seed_pki "$fw_work/data" p256 "rv32-rustls serve leaf"
openssl x509 -in "$fw_work/data/ca.pem" -outform der -out "$fw_work/ca.der"
fw_serve
fw_seed_pki "$fw_work/nginx" p384-chain "rv32-rustls nginx leaf"
openssl x509 -in "$fw_work/nginx/ca.pem" -outform der -out "$fw_work/nginx-ca.der"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
tls13="$(free_port)" tls12="$(free_port)"
n="$fw_work/nginx"
site() {
  printf '  server {\n    listen 127.0.0.1:%s ssl;\n    ssl_protocols %s;\n' "$1" "$2"
  printf '    ssl_certificate %s/server.pem;\n    ssl_certificate_key %s/server.key;\n' "$n" "$n"
  printf '    location / { default_type application/json; return 200 %s; }\n  }\n' "'{\"ok\":true}'"
}
cat >"$n/nginx.conf" <<CONF
daemon off;
master_process off;
pid $n/nginx.pid;
error_log $n/error.log info;
events { worker_connections 16; }
http {
  log_format reuse '\$server_port \$ssl_protocol \$ssl_session_reused \$request_method \$status';
  access_log $n/access.log reuse;
  ssl_session_cache shared:rv32:1m;
  client_body_temp_path $n/body; proxy_temp_path $n/proxy; fastcgi_temp_path $n/fastcgi;
  uwsgi_temp_path $n/uwsgi; scgi_temp_path $n/scgi;
$(site "$tls13" "TLSv1.2 TLSv1.3")
$(site "$tls12" "TLSv1.2")
}
CONF
nginx -p "$n" -c "$n/nginx.conf" -e "$n/error.log" &
nginx_pid=$!
for _ in $(seq 100); do
  [[ -s "$n/nginx.pid" ]] && break
  sleep 0.1
done

elf="$("$here/build.sh")"
size -A "$elf" >"$fw_work/size.txt"
relay="$(fw_harness_relay "$root")"
job() { echo "target=127.0.0.1:$1,host=$fw_host,root=$2,path=/api/v1/readings"; }
rc=0
"$relay" run "$elf" \
  "$(job "$fw_https_port" "$fw_work/ca.der")" "$(job "$fw_https_port" "$fw_work/ca.der")" \
  "$(job "$tls13" "$fw_work/nginx-ca.der")" "$(job "$tls13" "$fw_work/nginx-ca.der")" \
  "$(job "$tls12" "$fw_work/nginx-ca.der")" "$(job "$tls12" "$fw_work/nginx-ca.der")" \
  >"$fw_work/fw.log" 2>&1 || rc=$?
cat "$fw_work/fw.log"
((rc == 0)) || fw_fail "the relay or QEMU failed (status $rc)"

# The device's side: each pair full then resumed, with the version the server allows, and 200.
expect() {
  grep -q "^job $1 ok version=$2 resumed=$3 .* status=200 " "$fw_work/fw.log" ||
    fw_fail "job $1: expected version=$2 resumed=$3 status=200"
}
expect 1 1.3 0 && expect 2 1.3 1 && expect 3 1.3 0 && expect 4 1.3 1 && expect 5 1.2 0 && expect 6 1.2 1
grep -q '^DONE$' "$fw_work/fw.log" || fw_fail "DONE not printed"

# The servers' side. serve: two captures on its HTTPS port, the first full, the second resumed.
for id in 1 2; do
  json="$(curl -sf "http://127.0.0.1:$fw_http_port/_tlspost/api/captures/$id")" || fw_fail "serve has no capture $id"
  fw_check_capture "$json"
  want=false && ((id == 2)) && want=true
  printf '%s' "$json" | grep -q "\"resumed\":$want" || fw_fail "serve: capture $id's handshake is not resumed=$want"
done
# nginx: the access log, in order: a full and a resumed TLS 1.3, then the same in TLS 1.2.
want="$tls13 TLSv1.3 . POST 200;$tls13 TLSv1.3 r POST 200;$tls12 TLSv1.2 . POST 200;$tls12 TLSv1.2 r POST 200;"
got="$(tr '\n' ';' <"$n/access.log")"
[[ "$got" == "$want" ]] || fw_fail "nginx's access log: expected '$want', got '$got'"

if ((fw_bad)); then
  echo "--- tlspost serve log ---" >&2
  cat "$fw_work/serve.log" >&2
  exit 1
fi
for s in text rodata data bss; do
  echo "figure: $s $(awk -v s=".$s" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$fw_work/size.txt")"
done
for key in heap_arena="heap arena bytes: " heap_peak="heap peak bytes: " \
  peak_stack="peak stack bytes (TLS buffers included): "; do
  echo "figure: ${key%%=*} $(sed -n "s/^${key#*=}//p" "$fw_work/fw.log")"
done
for j in 3 4; do
  line="$(grep "^job $j ok" "$fw_work/fw.log")"
  for f in hs_rx hs_tx hs_instret heap_peak; do
    echo "figure: job${j}_$f $(printf '%s' "$line" | sed -n "s/.* $f=\([0-9]*\).*/\1/p")"
  done
done
echo "$fw_name: serve and nginx (TLS 1.3 and 1.2) each saw a full handshake, then a resumed one"
