# Shared by bench/serve-wrk.sh and bench/serve-ab.sh (sourced): the tool check, a work directory
# cleaned up with the servers started, a free port, a wait for an HTTPS server, nginx, the request wrk sends, CPU ticks of a process.

# need TOOL...: exit 2 naming the first one missing.
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is missing (apt-get install $tool)" >&2; exit 2; }
  done
}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_https CA URL: waits up to 10 s until URL answers 2xx over TLS verified by CA; says so and
# fails if it does not.
wait_https() {
  for _ in $(seq 100); do
    curl -sf --cacert "$1" "$2" -o /dev/null && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): $2 did not answer within 10 s" >&2
  return 1
}

# start_nginx BLOCKS: nginx in $WORK/nginx (a worker per core, no access log, long keep-alive) with
# BLOCKS (its upstream and server blocks) inside `http`; its pid in NGX_PID and PIDS.
start_nginx() {
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  keepalive_requests 1000000;
$1
}
NGINX
  nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
  NGX_PID=$!
  PIDS+=($!)
}

# The POST every run sends: a small JSON body, as a device would.
cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"device":"esp32-c3","seq":42,"temp":21.5}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "tlspost-bench/1"
LUA
