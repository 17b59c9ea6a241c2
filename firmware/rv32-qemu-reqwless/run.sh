#!/usr/bin/env bash
# The reqwless comparison, end to end: starts `tlspost serve` on ephemeral loopback ports, builds
# rv32-qemu-reqwless with the server's CA compiled in, runs it under QEMU with the UART bridged to
# the HTTPS listener, and checks both sides:
#   - the firmware got through the TLS handshake, printed `status: 200`, the echo (with the SNI)
#     and DONE;
#   - the capture server stored the request, with the SNI and `Content-Type: application/json`;
#   - the same firmware with a foreign CA refuses the server.
# Then prints the figures (`figure: NAME VALUE` lines: flash and static RAM from `size -A`, peak
# stack from the firmware) that bench/device-figures.sh collects. Exit 0 = pass.
#
# Needs the Debian packages rustc-web cargo-web rust-web-src lld qemu-system-misc curl openssl
# binutils, and the workspace's `tlspost` binary (built here with cargo unless TLSPOST_BIN points at
# one).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name=rv32-qemu-reqwless
host=device.tlspost.test

for tool in qemu-system-riscv32:qemu-system-misc curl:curl openssl:openssl size:binutils; do
  command -v "${tool%%:*}" >/dev/null || { echo "$name: ${tool%%:*} not found; install the Debian package ${tool##*:}" >&2; exit 1; }
done

if [[ -z "${TLSPOST_BIN:-}" ]]; then
  (cd "$root" && cargo build --quiet --locked -p tlspost-cli >&2)
  TLSPOST_BIN="$(cd "$root" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/tlspost"
fi

work="$(mktemp -d)"
serve_pid=
cleanup() {
  local status=$?
  if [[ -n "$serve_pid" ]]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# embedded-tls 0.18's verifier (the one reqwless uses) compares the host name with the leaf's CN,
# not with its subjectAltNames, and `tlspost serve`'s own leaf has CN "tlspost capture server". So the
# data directory is seeded with a PKI of the same shape as firmware/rv32-qemu's run (P-256 CA -> P-256
# leaf, ECDSA-SHA256; or with TLSPOST_FW_PKI=p384-chain, P-384 root -> P-384 intermediate -> P-256
# leaf, signatures P-384/SHA-384) whose leaf CN is the host name; serve keeps a CA and leaf it finds
# there when the name list matches.
pki="${TLSPOST_FW_PKI:-serve}"
case "$pki" in
serve | p384-chain) ;;
*) echo "$name: TLSPOST_FW_PKI is 'serve' (default) or 'p384-chain', not '$pki'" >&2; exit 1 ;;
esac
mkdir -p "$work/data"
(
  cd "$work/data"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:%s\nextendedKeyUsage=serverAuth\n' "$host" >ext.cnf
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
  if [[ "$pki" == serve ]]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=reqwless comparison CA" -days 2 -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -new -key server.key -subj "/CN=$host" |
      openssl x509 -req -CA ca.pem -CAkey ca.key -days 2 -extfile ext.cnf -out server.pem
  else
    p384=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384)
    openssl genpkey "${p384[@]}" -out ca.key
    openssl req -x509 -new -key ca.key -sha384 -subj "/CN=P-384 test root" -days 2 -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl genpkey "${p384[@]}" -out int.key
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n' >int.cnf
    openssl req -new -key int.key -subj "/CN=P-384 test intermediate" |
      openssl x509 -req -sha384 -CA ca.pem -CAkey ca.key -days 2 -extfile int.cnf -out int.pem
    openssl req -new -key server.key -subj "/CN=$host" |
      openssl x509 -req -sha384 -CA int.pem -CAkey int.key -days 2 -extfile ext.cnf -out leaf.pem
    cat leaf.pem int.pem >server.pem
  fi
  printf 'localhost 127.0.0.1 ::1 %s' "$host" >server.names
) 2>/dev/null

"$TLSPOST_BIN" serve --http 127.0.0.1:0 --https 127.0.0.1:0 --data "$work/data" --name "$host" \
  >"$work/serve.log" 2>&1 &
serve_pid=$!
http_port= https_port=
for _ in $(seq 200); do
  http_port="$(sed -n 's|^tlspost serve: HTTP  on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/serve.log")"
  https_port="$(sed -n 's|^tlspost serve: HTTPS on https://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/serve.log")"
  [[ -n "$http_port" && -n "$https_port" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$http_port" || -z "$https_port" ]]; then
  echo "$name: tlspost serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1
fi

if ! openssl x509 -in "$work/data/server.pem" -noout -subject | grep -q "CN *= *$host\$"; then
  echo "$name: tlspost serve replaced the seeded leaf (CN $host); has the format of its server.names changed?" >&2
  exit 1
fi
openssl x509 -in "$work/data/ca.pem" -outform der -out "$work/ca.der"
echo "building firmware/$name with the capture server's CA pinned" >&2
elf="$(TLSPOST_FW_ROOT_DER="$work/ca.der" TLSPOST_FW_HOST="$host" "$here/build.sh")"
size -A "$elf" >"$work/size.txt"

qemu() {
  timeout 120 qemu-system-riscv32 -machine virt -bios none -display none -monitor none \
    -serial "tcp:127.0.0.1:$https_port" -semihosting-config enable=on,target=native \
    -kernel "$1" </dev/null
}
rc=0
qemu "$elf" >"$work/fw.log" 2>&1 || rc=$?
cat "$work/fw.log"

bad=0
fail() { echo "$name: $*" >&2; bad=1; }
((rc == 0)) || fail "QEMU exited with status $rc (124: timeout)"
grep -q '^TLS 1.3 handshake ok, server verified for '"$host" "$work/fw.log" || fail "no verified handshake"
grep -q '^status: 200$' "$work/fw.log" || fail "status 200 not printed"
grep -q "\"sni\": \"$host\"" "$work/fw.log" || fail "the echo does not show the SNI"
grep -q '^DONE$' "$work/fw.log" || fail "DONE not printed"

json="$(curl -s "http://127.0.0.1:$http_port/_tlspost/api/captures/1")"
printf '%s' "$json" | grep -q "\"sni\":\"$host\"" || fail "capture has no SNI $host"
printf '%s' "$json" | grep -q '\["Content-Type","application/json"\]' || fail "capture has no Content-Type: application/json"
printf '%s' "$json" | grep -q '"complete":true' || fail "capture not complete"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=not the capture CA" \
  -days 2 -keyout "$work/foreign.key" -outform der -out "$work/foreign.der" 2>/dev/null
echo "building firmware/$name with a foreign root pinned" >&2
foreign="$(TLSPOST_FW_ROOT_DER="$work/foreign.der" TLSPOST_FW_HOST="$host" "$here/build.sh")"
rc=0
qemu "$foreign" >"$work/fw-foreign.log" 2>&1 || rc=$?
((rc == 1)) || fail "foreign root: QEMU exited with $rc, expected 1 (refused)"
grep -q '^TLS or connect failed' "$work/fw-foreign.log" || {
  fail "foreign root: no 'TLS or connect failed'"; cat "$work/fw-foreign.log" >&2; }

if ((bad)); then
  echo "--- tlspost serve log ---" >&2; cat "$work/serve.log" >&2
  exit 1
fi
echo "$name: foreign root refused: $(grep '^TLS or connect failed' "$work/fw-foreign.log")"
section() { awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$work/size.txt"; }
echo "figure: text $(section .text)"
echo "figure: rodata $(section .rodata)"
echo "figure: data $(section .data)"
echo "figure: bss $(section .bss)"
echo "figure: root_der $(stat -c %s "$work/ca.der")"
echo "figure: tls_buffers $(sed -n 's/^TLS buffer bytes (read + write): //p' "$work/fw.log")"
echo "figure: future $(sed -n 's/^request future bytes (on the stack, part of the peak): //p' "$work/fw.log")"
echo "figure: peak_stack $(sed -n 's/^peak stack bytes (TLS buffers included): //p' "$work/fw.log")"
echo "$name: OK (200 with the echo, SNI $host, application/json stored)"
