# Shared by the firmwares' scripts (firmware/*/build.sh, firmware/*/run.sh, .ci/firmware.sh):
# sourced, never run. Each function names the firmware it works for in its messages ($fw_name).
#
# Build: fw_build (Debian's rustc for riscv32imc-unknown-none-elf, core built from source), fw_main
# (the whole of a build.sh that pins a root at build time).
# End to end (run.sh): fw_run_setup, fw_pki_shape, fw_seed_pki, fw_serve,
# fw_pin_and_run, fw_check_capture, fw_check_foreign, fw_finish, fw_figures.

fw_target=riscv32imc-unknown-none-elf
fw_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fw_host=device.tlspost.test

# fw_need_toolchain: exits when a Debian package the build needs is missing.
fw_need_toolchain() {
  local missing=()
  [[ -x /usr/bin/rustc ]] || missing+=(rustc-web)
  [[ -x /usr/bin/cargo ]] || missing+=(cargo-web)
  [[ -d /usr/lib/rustlib/src/rust/library/core ]] || missing+=(rust-web-src)
  command -v ld.lld >/dev/null || missing+=(lld)
  if ((${#missing[@]})); then
    echo "$fw_name: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
}

# fw_need_pin: the environment a pinned-root firmware is built with (run.sh sets it):
#   TLSPOST_FW_ROOT_DER    path of the DER root to pin (tlspost serve's CA)
#   TLSPOST_FW_HOST        host name (SNI, checked against the certificate)
#   TLSPOST_FW_BUILD_TIME  seconds since 1970: the validity floor (no SNTP in these tests); default now
fw_need_pin() {
  : "${TLSPOST_FW_ROOT_DER:?set TLSPOST_FW_ROOT_DER to the DER root to pin}"
  : "${TLSPOST_FW_HOST:?set TLSPOST_FW_HOST}"
  : "${TLSPOST_FW_BUILD_TIME:=$(date +%s)}"
  export TLSPOST_FW_ROOT_DER TLSPOST_FW_HOST TLSPOST_FW_BUILD_TIME
}

# fw_build DIR LINK_SCRIPT TARGET_DIR [CARGO_ARGS...]: builds the firmware project in DIR in release
# and prints its ELF's path: Debian's rustc with RUSTC_BOOTSTRAP=1 builds `core` for the target
# (-Zbuild-std=core) and ld.lld links with the memory map, plus three size settings:
#   -Zbuild-std-features=optimize_for_size  smaller `core` routines (fmt, slices)
#   -Zunstable-options -Cpanic=immediate-abort  a panic is a trap instruction: no messages or locations
#   each Cargo.toml's release profile: opt-level "z", lto, codegen-units 1, panic "abort".
fw_build() {
  local dir="$1" link="$2" target_dir="$3"
  shift 3
  fw_need_toolchain
  (
    export CARGO_TARGET_DIR="$target_dir"
    unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
    cd "$dir"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      RUSTFLAGS="-C linker=ld.lld -C link-arg=-T$link -Zunstable-options -Cpanic=immediate-abort" \
      /usr/bin/cargo build --quiet --locked --release \
      -Zbuild-std=core -Zbuild-std-features=optimize_for_size \
      --target "$fw_target" "$@" >&2
  )
  echo "$target_dir/$fw_target/release/$fw_name"
}

# fw_main NAME LINK_SCRIPT: the build of firmware/NAME, which pins its root at build time (the
# environment fw_need_pin checks), with fw_build, the memory map firmware/LINK_SCRIPT and the target
# directory firmware/NAME/target/release; prints the ELF's path. Its build.sh is this one call.
fw_main() {
  fw_name="$1"
  fw_need_pin
  fw_build "$fw_dir/$1" "$fw_dir/$2" "$fw_dir/$1/target/release"
}

# fw_build_rustls DIR LINK_SCRIPT TARGET_DIR [CARGO_ARGS...]: fw_build for the firmwares of
# tlspost-device's rustls backend: riscv32imac-unknown-none-elf (rustls' Arc needs atomic
# compare-and-swap), `alloc` built beside `core`, and ring's C compiled by clang-19 without a libc
# (its headers' own definitions: RING_CORE_NOSTDLIBINC). The same profile and size settings.
fw_build_rustls() {
  local dir="$1" link="$2" target_dir="$3"
  shift 3
  fw_need_toolchain
  command -v clang-19 >/dev/null || {
    echo "$fw_name: clang-19 not found (ring's C); apt-get install -y clang-19" >&2
    exit 1
  }
  (
    export CARGO_TARGET_DIR="$target_dir"
    unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_BUILD_RUSTFLAGS
    cd "$dir"
    CC_riscv32imac_unknown_none_elf=clang-19 AR_riscv32imac_unknown_none_elf=llvm-ar-19 \
      CFLAGS_riscv32imac_unknown_none_elf="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -g0" \
      RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      RUSTFLAGS="-C linker=ld.lld -C link-arg=-T$link -Zunstable-options -Cpanic=immediate-abort" \
      /usr/bin/cargo build --quiet --locked --release \
      -Zbuild-std=core,alloc -Zbuild-std-features=optimize_for_size \
      --target riscv32imac-unknown-none-elf "$@" >&2
  )
  echo "$target_dir/riscv32imac-unknown-none-elf/release/$fw_name"
}

# fw_run_setup ROOT: checks the tools an end-to-end run needs, finds (or builds) the `tlspost`
# binary (TLSPOST_BIN), makes the work directory $fw_work and stops what it started on exit.
fw_run_setup() {
  local root="$1" tool
  for tool in qemu-system-riscv32:qemu-system-misc curl:curl openssl:openssl size:binutils; do
    command -v "${tool%%:*}" >/dev/null || {
      echo "$fw_name: ${tool%%:*} not found; install the Debian package ${tool##*:}" >&2
      exit 1
    }
  done
  if [[ -z "${TLSPOST_BIN:-}" ]]; then
    (cd "$root" && cargo build --quiet --locked -p tlspost-cli >&2)
    TLSPOST_BIN="$(cd "$root" && cargo metadata --format-version 1 --no-deps |
      sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/tlspost"
  fi
  fw_work="$(mktemp -d)"
  fw_serve_pid=
  trap fw_cleanup EXIT
}

fw_cleanup() {
  local status=$?
  if [[ -n "$fw_serve_pid" ]]; then
    kill "$fw_serve_pid" 2>/dev/null || true
    wait "$fw_serve_pid" 2>/dev/null || true
  fi
  rm -rf "$fw_work"
  exit "$status"
}

# fw_pki_shape: TLSPOST_FW_PKI, checked: `serve` (default) or `p384-chain`.
fw_pki_shape() {
  local pki="${TLSPOST_FW_PKI:-serve}"
  case "$pki" in
  serve | p384-chain) echo "$pki" ;;
  *)
    echo "$fw_name: TLSPOST_FW_PKI is 'serve' (default) or 'p384-chain', not '$pki'" >&2
    return 1
    ;;
  esac
}

# fw_seed_pki DIR SHAPE LEAF_CN [CA_CN]: writes a CA and a leaf for $fw_host into DIR (a data
# directory for `tlspost serve`, which keeps a CA and leaf it finds there when the name list
# matches). SHAPE `p256`: P-256 CA (CA_CN) -> P-256 leaf, ECDSA-SHA256; `p384-chain`: Let's
# Encrypt's ECDSA shape, P-384 root -> P-384 intermediate -> P-256 leaf, both signatures
# P-384/SHA-384, so the peak stack covers P-384 path building.
fw_seed_pki() {
  local dir="$1" shape="$2" leaf_cn="$3" ca_cn="${4:-P-256 test root}"
  mkdir -p "$dir"
  (
    cd "$dir"
    local p256=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) p384=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384)
    local ca_ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:%s\nextendedKeyUsage=serverAuth\n' "$fw_host" >leaf.cnf
    openssl genpkey "${p256[@]}" -out server.key
    if [[ "$shape" == p256 ]]; then
      openssl genpkey "${p256[@]}" -out ca.key
      openssl req -x509 -new -key ca.key -subj "/CN=$ca_cn" -days 2 -out ca.pem "${ca_ext[@]}"
      openssl req -new -key server.key -subj "/CN=$leaf_cn" |
        openssl x509 -req -CA ca.pem -CAkey ca.key -days 2 -extfile leaf.cnf -out server.pem
    else
      openssl genpkey "${p384[@]}" -out ca.key
      openssl req -x509 -new -key ca.key -sha384 -subj "/CN=P-384 test root" -days 2 -out ca.pem "${ca_ext[@]}"
      openssl genpkey "${p384[@]}" -out int.key
      printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n' >int.cnf
      openssl req -new -key int.key -subj "/CN=P-384 test intermediate" |
        openssl x509 -req -sha384 -CA ca.pem -CAkey ca.key -days 2 -extfile int.cnf -out int.pem
      openssl req -new -key server.key -subj "/CN=$leaf_cn" |
        openssl x509 -req -sha384 -CA int.pem -CAkey int.key -days 2 -extfile leaf.cnf -out leaf.pem
      cat leaf.pem int.pem >server.pem
    fi
    printf 'localhost 127.0.0.1 ::1 %s' "$fw_host" >server.names
  ) 2>/dev/null
}

# fw_serve: starts `tlspost serve` on ephemeral loopback ports with the data directory
# $fw_work/data; sets $fw_http_port and $fw_https_port from its banner.
fw_serve() {
  "$TLSPOST_BIN" serve --http 127.0.0.1:0 --https 127.0.0.1:0 --data "$fw_work/data" --name "$fw_host" \
    >"$fw_work/serve.log" 2>&1 &
  fw_serve_pid=$!
  fw_http_port= fw_https_port=
  for _ in $(seq 200); do
    fw_http_port="$(sed -n 's|^tlspost serve: HTTP  on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$fw_work/serve.log")"
    fw_https_port="$(sed -n 's|^tlspost serve: HTTPS on https://127.0.0.1:\([0-9]*\)/.*|\1|p' "$fw_work/serve.log")"
    [[ -n "$fw_http_port" && -n "$fw_https_port" ]] && return 0
    kill -0 "$fw_serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$fw_name: tlspost serve did not start:" >&2
  cat "$fw_work/serve.log" >&2
  exit 1
}

# fw_build_pinned DER WHAT: builds the firmware (its build.sh beside the calling run.sh, in $here)
# with DER pinned and prints the ELF's path.
fw_build_pinned() {
  echo "building firmware/$fw_name with $2 pinned" >&2
  TLSPOST_FW_ROOT_DER="$1" TLSPOST_FW_HOST="$fw_host" "$here/build.sh"
}

# fw_qemu ELF LOG: runs ELF under QEMU with the UART bridged to serve's HTTPS listener and the
# console on semihosting, output to LOG; returns QEMU's status (124: timeout).
fw_qemu() {
  timeout 120 qemu-system-riscv32 -machine virt -bios none -display none -monitor none \
    -serial "tcp:127.0.0.1:$fw_https_port" -semihosting-config enable=on,target=native \
    -kernel "$1" </dev/null >"$2" 2>&1
}

fw_bad=0
fw_fail() {
  echo "$fw_name: $*" >&2
  fw_bad=1
}

# fw_check_post LOG STATUS: the firmware verified the server, got 200 and the echo (with the SNI),
# printed DONE, and QEMU exited with 0.
fw_check_post() {
  local log="$1"
  (($2 == 0)) || fw_fail "QEMU exited with status $2 (124: timeout)"
  grep -q "^TLS 1.3 handshake ok, server verified for $fw_host" "$log" || fw_fail "no verified handshake"
  grep -q '^status: 200$' "$log" || fw_fail "status 200 not printed"
  grep -q "\"sni\": \"$fw_host\"" "$log" || fw_fail "the echo does not show the SNI"
  grep -q '^DONE$' "$log" || fw_fail "DONE not printed"
}

# fw_check_capture JSON: the capture server stored the request complete, with the SNI and
# `Content-Type: application/json`.
fw_check_capture() {
  printf '%s' "$1" | grep -q "\"sni\":\"$fw_host\"" || fw_fail "capture has no SNI $fw_host"
  printf '%s' "$1" | grep -q '\["Content-Type","application/json"\]' ||
    fw_fail "capture has no Content-Type: application/json"
  printf '%s' "$1" | grep -q '"complete":true' || fw_fail "capture not complete"
}

# fw_pin_and_run: pins serve's CA ($fw_work/ca.der), builds the firmware with it (its `size -A` in
# $fw_work/size.txt), runs it (output in $fw_work/fw.log, shown) and checks the POST.
fw_pin_and_run() {
  local elf rc=0
  openssl x509 -in "$fw_work/data/ca.pem" -outform der -out "$fw_work/ca.der"
  elf="$(fw_build_pinned "$fw_work/ca.der" "the capture server's CA")"
  size -A "$elf" >"$fw_work/size.txt"
  fw_qemu "$elf" "$fw_work/fw.log" || rc=$?
  cat "$fw_work/fw.log"
  fw_check_post "$fw_work/fw.log" "$rc"
}

# fw_check_foreign LINE: the firmware built with a self-signed root that is not the capture
# server's CA makes QEMU exit with 1 and prints a line starting with LINE.
fw_check_foreign() {
  local elf rc=0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=not the capture CA" \
    -days 2 -keyout "$fw_work/foreign.key" -outform der -out "$fw_work/foreign.der" 2>/dev/null
  elf="$(fw_build_pinned "$fw_work/foreign.der" "a foreign root")"
  fw_qemu "$elf" "$fw_work/fw-foreign.log" || rc=$?
  ((rc == 1)) || fw_fail "foreign root: QEMU exited with $rc, expected 1 (refused)"
  grep -q "^$1" "$fw_work/fw-foreign.log" || {
    fw_fail "foreign root: no '$1'"
    cat "$fw_work/fw-foreign.log" >&2
  }
}

# fw_finish REFUSED_LINE: on a failed check prints serve's log and exits 1; else says how the foreign
# root was refused.
fw_finish() {
  if ((fw_bad)); then
    echo "--- tlspost serve log ---" >&2
    cat "$fw_work/serve.log" >&2
    exit 1
  fi
  echo "$fw_name: foreign root refused: $(grep "^$1" "$fw_work/fw-foreign.log")"
}

# fw_figures [NAME=LABEL...]: the `figure: NAME VALUE` lines bench/device-figures.sh collects:
# flash and static RAM from `size -A`, the pinned root's size, the TLS buffers and the peak stack,
# and each NAME read from the firmware's line that starts with LABEL.
fw_figures() {
  local s pair
  for s in text rodata data bss; do
    echo "figure: $s $(awk -v s=".$s" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }' "$fw_work/size.txt")"
  done
  echo "figure: root_der $(stat -c %s "$fw_work/ca.der")"
  for pair in "tls_buffers=TLS buffer bytes (read + write): " "$@" \
    "peak_stack=peak stack bytes (TLS buffers included): "; do
    echo "figure: ${pair%%=*} $(sed -n "s/^${pair#*=}//p" "$fw_work/fw.log")"
  done
}

# fw_harness_relay ROOT: builds the host relay of the relay firmwares (the workspace's
# tlspost-harness: runs such a firmware under QEMU, hands it its jobs, opens its TCP connections;
# firmware/rv32-harness/README.md) and prints its path.
fw_harness_relay() {
  local root="$1"
  (cd "$root" && cargo build --quiet --locked -p tlspost-harness >&2)
  echo "$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/tlspost-harness"
}
