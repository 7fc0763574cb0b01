#!/usr/bin/env bash
# Dynamic batching under concurrent load: 32 clients each posting single images to
# /predict on a ViT-B/32-shaped model (random weights), with batching on and then off,
# against the same server binary. Prints both load reports, the batch sizes the server
# executed (from the KServe statistics endpoint) and the throughput ratio. The embedding
# cache is off: every request must reach the model for the comparison to mean anything.
#
#   bench/batching_bench.sh   (knobs: CLIENTS=32 REQUESTS=256 THREADS=2 PORT=18123 PRECISION=fp32)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CLIENTS=${CLIENTS:-32}
REQUESTS=${REQUESTS:-256}
THREADS=${THREADS:-2}
PORT=${PORT:-18123}
OUT=bench/out
REPO=$OUT/batching-repo
IMAGE=tests/data/clip-reference/images/chelsea_q90.jpg
TEXTS='["a photo of a cat","a photo of a dog","a cup of coffee","a rocket on a launch pad"]'

[ -f $OUT/vit-b-32/model.safetensors ] || /usr/bin/python3 tools/make_random_clip.py --out $OUT/vit-b-32 --shape vit-b-32
mkdir -p $REPO/clip
ln -sfn "$PWD/$OUT/vit-b-32" $REPO/clip/1

SERVER_PID=
stop_server() { if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; fi; }
trap stop_server EXIT

run_case() {  # $1 = on|off
  "$BUILD/mmserve" serve --model-repository $REPO --host 127.0.0.1 --port $PORT --threads $THREADS --cache-bytes 0 --precision "${PRECISION:-fp32}" \
    --dynamic-batching "$1" --max-batch-size 32 --max-queue-delay-us 5000 --log-level warning 2>$OUT/batching-server-$1.log &
  SERVER_PID=$!
  local ready=0
  for _ in $(seq 600); do curl -sf localhost:$PORT/v2/health/ready >/dev/null 2>&1 && { ready=1; break; }; sleep 0.1; done
  if [ $ready = 0 ]; then echo "server (batching $1) not ready after 60 s:" >&2; tail -5 $OUT/batching-server-$1.log >&2; exit 1; fi
  # Warm-up outside the measurement (first-touch of buffers, kernel generation).
  "$BUILD/mmserve-loadgen" --port $PORT --clients 4 --requests 8 --image $IMAGE --texts "$TEXTS" >/dev/null ||
    { echo "warm-up requests failed (batching $1); server log:" >&2; tail -5 $OUT/batching-server-$1.log >&2; exit 1; }
  local report
  # A failed request makes loadgen exit non-zero; the report still says how many, so keep it.
  report=$("$BUILD/mmserve-loadgen" --port $PORT --clients $CLIENTS --requests $REQUESTS --image $IMAGE --texts "$TEXTS") || true
  echo "batching $1: $report"
  echo "$report" > $OUT/batching-$1.json
  curl -s localhost:$PORT/v2/models/clip/stats > $OUT/batching-stats-$1.json || true
  stop_server
}

echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $CLIENTS clients, $REQUESTS requests, $THREADS compute threads"
run_case on
run_case off
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
on, off = (json.load(open(f"{out}/batching-{k}.json")) for k in ("on", "off"))
for k in ("on", "off"):
    try:
        stats = json.load(open(f"{out}/batching-stats-{k}.json"))["model_stats"][0]["batch_stats"]
        sizes = ", ".join(f"{b['batch_size']}x{b['compute_infer']['count']}" for b in stats)
    except Exception:
        sizes = "(stats unavailable)"
    print(f"batch sizes executed with batching {k}: {sizes}")
print(f"{'batching':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6}")
for k, r in (("on", on), ("off", off)):
    print(f"{k:>9} {r['requests_per_s']:8.1f} {r['p50_ms']:8.0f} {r['p99_ms']:8.0f} {r['failed']:6d}")
print(f"throughput ratio on/off: {on['requests_per_s'] / off['requests_per_s']:.2f}x")
PY
