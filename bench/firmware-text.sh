#!/usr/bin/env bash
# The firmwares' code size at two commits, measured in one run: builds firmware/proto-demo,
# firmware/rv32-qemu and firmware/rv32-qemu-reqwless at BASE (in a temporary git worktree) and in this
# checkout, with the same recipe (each firmware's build.sh) and the same pinned root, and prints their
# `.text` sizes (`size -A`) side by side. Exit status 1 when a firmware's `.text` grew.
#
# Usage: bench/firmware-text.sh BASE        (BASE: any commit, e.g. the one before a refactor)
#
# Needs what the build scripts need: the Debian packages rustc-web cargo-web rust-web-src lld
# binutils openssl git.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
base="${1:?usage: bench/firmware-text.sh BASE}"
work="$(mktemp -d)"
cleanup() {
  git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null 2>&1

# One throwaway P-256 root for every build: the pinned root changes .rodata, never .text.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=size-root \
  -keyout "$work/key.pem" -outform DER -out "$work/root.der" 2>/dev/null
export TLSPOST_FW_ROOT_DER="$work/root.der" TLSPOST_FW_HOST=size.test TLSPOST_FW_BUILD_TIME=1700000000

text_of() { size -A "$1" | awk '$1 == ".text" { print $2 }'; }

grew=0
printf '%-22s %12s %12s %8s\n' firmware "base .text" "this .text" change
for fw in proto-demo rv32-qemu rv32-qemu-reqwless; do
  [[ -x "$root/firmware/$fw/build.sh" ]] || continue
  b=0
  if [[ -x "$work/base/firmware/$fw/build.sh" ]]; then
    b="$(text_of "$("$work/base/firmware/$fw/build.sh")")"
  fi
  t="$(text_of "$("$root/firmware/$fw/build.sh")")"
  printf '%-22s %12s %12s %+8d\n' "$fw" "$b" "$t" $((t - b))
  if ((b > 0 && t > b)); then grew=1; fi
done
exit "$grew"
