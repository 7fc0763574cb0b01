#!/usr/bin/env bash
# Scale-out on one machine, loopback only: 3 mmserve replicas sharing one redis-server,
# nginx in front (health-aware upstream, retries on the next replica), a bounded mixed
# /predict + KServe load from mmserve-loadgen, one replica killed mid-load and started
# again. Reports requests sent/succeeded/failed, throughput with 1 vs 3 replicas, and the
# shared cache's cross-replica hit ratio. Fails if any request failed. Stops everything it
# started, by process id, whatever happens.
#
#   tests/scale/scale_out_test.sh BUILD_DIR     (knobs: REQUESTS=3000 CLIENTS=16)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
REQUESTS=${REQUESTS:-3000}
CLIENTS=${CLIENTS:-16}
MMSERVE=$BUILD/mmserve
LOADGEN=$BUILD/mmserve-loadgen
IMAGE=tests/data/clip-reference/images/chelsea_q90.jpg
TEXTS='["a photo of a cat","a photo of a dog","a cup of coffee"]'

for tool in nginx redis-server curl python3; do
  command -v $tool >/dev/null 2>&1 || [ -x /usr/sbin/$tool ] || { echo "scale test: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/mms_scale.XXXXXX)
chmod 755 "$WORK"  # nginx workers run as an unprivileged user and must reach their temp folders
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill -TERM "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: up to 60 s
  for _ in $(seq 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "scale test: $1 did not come up" >&2; return 1
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

# The replicas sign their Redis entries with one shared secret, as a deployment's do.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/cache-secret"
declare -a PORTS REPLICA_PID
start_replica() {  # index
  "$MMSERVE" serve --model-repository model_repository --host 127.0.0.1 --port "${PORTS[$1]}" --threads 1 \
    --http-threads 32 --redis-url "redis://127.0.0.1:$REDIS_PORT/0" --log-level warning \
    --cache-hmac-secret-file "$WORK/cache-secret" \
    >>"$WORK/replica$1.log" 2>&1 &
  REPLICA_PID[$1]=$!
  PIDS+=($!)
}
for i in 0 1 2; do PORTS[$i]=$(free_port); start_replica $i; done
for i in 0 1 2; do wait_http "http://127.0.0.1:${PORTS[$i]}/v2/health/ready"; done

# nginx: passive health checks (max_fails/fail_timeout) and retries on the next replica.
# The inference routes are POSTs but pure functions of their input, so retrying them on
# another replica is safe: `non_idempotent` allows it.
NGINX_PORT=$(free_port)
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  client_max_body_size 64m;
  upstream mmserve {
    server 127.0.0.1:${PORTS[0]} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:${PORTS[1]} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:${PORTS[2]} max_fails=1 fail_timeout=2s;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://mmserve;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-ID \$request_id;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
    }
  }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" 2>"$WORK/nginx-start.log" || { cat "$WORK/nginx-start.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$NGINX_PORT/v2/health/ready"

load() {  # port mode requests distinct -> JSON report
  "$LOADGEN" --port "$1" --mode "$2" --clients "$CLIENTS" --requests "$3" --image "$IMAGE" --texts "$TEXTS" \
    --distinct "$4" || true
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "== throughput: one replica directly, then three behind nginx (distinct label sets, so texts are computed)"
one=$(load "${PORTS[0]}" predict 1000 1000000)
three=$(load "$NGINX_PORT" predict 1000 2000000)
echo "1 replica:  $one"
echo "3 replicas: $three"

echo "== mixed load through nginx; replica 1 is killed mid-load and started again"
: > "$WORK/mixed"
(load "$NGINX_PORT" predict $((REQUESTS / 2)) 200 > "$WORK/mixed.predict") &
LOAD1=$!
(load "$NGINX_PORT" kserve $((REQUESTS / 2)) 200 > "$WORK/mixed.kserve") &
LOAD2=$!
sleep 1
kill -KILL "${REPLICA_PID[1]}"
echo "killed replica 1 (pid ${REPLICA_PID[1]})"
sleep 1
start_replica 1
wait_http "http://127.0.0.1:${PORTS[1]}/v2/health/ready"
echo "replica 1 is back (pid ${REPLICA_PID[1]})"
wait $LOAD1 $LOAD2
predict=$(cat "$WORK/mixed.predict")
kserve=$(cat "$WORK/mixed.kserve")
echo "predict: $predict"
echo "kserve:  $kserve"

# Cross-replica hits: lookups the memory level missed and redis answered, over all replicas.
redis_hits=0; redis_lookups=0
for i in 0 1 2; do
  read -r h m < <(curl -s "http://127.0.0.1:${PORTS[$i]}/metrics" | python3 -c '
import re, sys
h = m = 0.0
for line in sys.stdin:
    if line.startswith("mmserve_cache_requests_total{") and "level=\"redis\"" in line:
        v = float(line.rsplit(" ", 1)[1])
        if "result=\"hit\"" in line: h += v
        else: m += v
print(int(h), int(m))')
  redis_hits=$((redis_hits + h)); redis_lookups=$((redis_lookups + h + m))
done

python3 - "$one" "$three" "$predict" "$kserve" "$redis_hits" "$redis_lookups" <<'PY'
import json, sys
one, three, predict, kserve = (json.loads(a) for a in sys.argv[1:5])
hits, lookups = int(sys.argv[5]), int(sys.argv[6])
sent = predict["sent"] + kserve["sent"]
ok = predict["ok"] + kserve["ok"]
print("== scale-out report")
print(f"requests sent {sent}, succeeded {ok}, failed {sent - ok} (mixed load, one replica killed and restarted)")
print(f"throughput /predict: 1 replica {one['requests_per_s']:.0f} req/s, 3 replicas behind nginx "
      f"{three['requests_per_s']:.0f} req/s ({three['requests_per_s'] / one['requests_per_s']:.2f}x); "
      f"p50 {one['p50_ms']:.1f} vs {three['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} vs {three['p99_ms']:.1f} ms")
ratio = hits / lookups if lookups else 0.0
print(f"shared cache: {hits} of {lookups} lookups that missed a replica's memory were answered by redis ({ratio:.0%})")
# The target is no failure behind nginx, which retries on another replica. Requests sent
# straight to one replica (the throughput baseline) have no retry; a failure there is
# reported with its cause, not hidden, but does not fail the test.
if one["failed"]:
    print(f"WARNING: {one['failed']} of {one['sent']} requests sent straight to one replica got no answer: "
          f"{one.get('errors', {})}")
failed = sent - ok + three["failed"]
if failed:
    print(f"FAIL: {failed} requests failed", file=sys.stderr)
    sys.exit(1)
if hits == 0:
    print("FAIL: no replica ever read an entry another replica computed", file=sys.stderr)
    sys.exit(1)
PY
