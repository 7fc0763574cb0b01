#!/usr/bin/env bash
# The /predict targets, measured in one run and printed with their ratios: how much of a
# request's time and of the server's throughput the engine accounts for.
#
#   1 client:   p50 of /predict  <=  1.25 x (image tower at batch 1 + text tower at batch
#               L + one image's decode and preprocessing), L = the number of labels. The
#               decode time is the server's own (serve --profile's image_decode_preprocess).
#   N clients:  requests/s of /predict  >=  90% of the engine's rate for the same batch mix:
#               the batches the server ran (its towers' passes in serve --profile: images
#               and texts per pass), each timed alone by `mmserve bench`, per request.
#
# Engine times come from `mmserve bench` (the tower through its batcher, synthetic inputs;
# the text tower on "a photo of a dog"), request figures from mmserve-loadgen (keep-alive,
# closed loop), every request the same image and labels, the embedding cache off. One
# server per measurement, each with --profile (the decode time; the batch mix). Every
# figure is measured REPEATS times, engine and server in turn, and the table shows the
# medians (on a shared machine one engine run can be a third off the next).
#
#   bench/predict_targets.sh                    (~4 min with the defaults)
#
# Knobs (env): MMSERVE_BIN=build/mmserve LOADGEN_BIN=<its folder>/mmserve-loadgen
#   PRECISIONS="fp32 int8" THREADS=2 CLIENTS=32 REQUESTS_1=60 REQUESTS_N=<10 x CLIENTS> REPEATS=3
#   MODEL=bench/out/vit-b-32 PORT=18140 IMAGE=tests/data/clip-reference/images/chelsea_q90.jpg
#   TEXTS='["a photo of a cat","a photo of a dog"]' RESULTS=bench/out/predict_targets.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
OUT=bench/out
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
LOADGEN_BIN=${LOADGEN_BIN:-$(dirname "$MMSERVE_BIN")/mmserve-loadgen}
PRECISIONS=${PRECISIONS:-"fp32 int8"}
THREADS=${THREADS:-2}
CLIENTS=${CLIENTS:-32}
REQUESTS_1=${REQUESTS_1:-60}
REQUESTS_N=${REQUESTS_N:-$((CLIENTS * 10))}
REPEATS=${REPEATS:-3}
MODEL=${MODEL:-$OUT/vit-b-32}
PORT=${PORT:-18140}
IMAGE=${IMAGE:-tests/data/clip-reference/images/chelsea_q90.jpg}
TEXTS=${TEXTS:-'["a photo of a cat","a photo of a dog"]'}
RESULTS=${RESULTS:-$OUT/predict_targets.jsonl}
REPO=$OUT/predict-targets-repo

die() { echo "predict_targets: $*" >&2; exit 1; }

PID=
stop_server() {
  [ -n "$PID" ] || return 0
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

[ -x "$MMSERVE_BIN" ] || die "no mmserve binary at $MMSERVE_BIN: cmake --build build --target mmserve"
[ -x "$LOADGEN_BIN" ] || die "no load generator at $LOADGEN_BIN: cmake --build build --target mmserve-loadgen"
command -v curl >/dev/null || die "curl is missing (scripts/setup.sh)"
[ -f "$MODEL/model.safetensors" ] || [ "$MODEL" != "$OUT/vit-b-32" ] ||
  $PY tools/make_random_clip.py --out "$MODEL" --shape vit-b-32 --dtype f32 --seed 0
[ -f "$MODEL/model.safetensors" ] || die "no checkpoint at $MODEL"
[ -f "$IMAGE" ] || die "no image at $IMAGE"
LABELS=$($PY -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$TEXTS") || die "TEXTS is not a JSON list"
mkdir -p "$REPO/clip"
ln -sfn "$(cd "$MODEL" && pwd)" "$REPO/clip/1"
if curl -s -o /dev/null "127.0.0.1:$PORT/health" 2>/dev/null; then die "port $PORT is already in use (set PORT)"; fi

# engine PRECISION ENCODER BATCH [bench args]: the median ms of one batch through the tower.
engine() {
  local p=$1 enc=$2 batch=$3
  shift 3
  OMP_NUM_THREADS=$THREADS "$MMSERVE_BIN" bench --model "$MODEL" --encoder "$enc" --batch "$batch" \
    --precision "$p" --threads "$THREADS" "$@" 2>/dev/null | $PY -c 'import json, sys
print(json.loads([l for l in sys.stdin if l.startswith("{")][-1])["median_ms"])'
}

# start_server PRECISION LOG [serve args]
start_server() {
  local p=$1 log=$2
  shift 2
  "$MMSERVE_BIN" serve --model-repository "$REPO" --host 127.0.0.1 --port "$PORT" --threads "$THREADS" \
    --precision "$p" --cache-bytes 0 --log-level warning "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 1200); do
    curl -sf "127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
    kill -0 "$PID" 2>/dev/null || { tail -5 "$log" >&2; die "mmserve ($p) exited before it was ready; log: $log"; }
    sleep 0.1
  done
  die "mmserve ($p) not ready after 120 s; log: $log"
}

# loadgen CLIENTS REQUESTS: mmserve-loadgen's JSON report.
loadgen() {
  local report
  report=$("$LOADGEN_BIN" --port "$PORT" --clients "$1" --requests "$2" --image "$IMAGE" --texts "$TEXTS") ||
    die "mmserve-loadgen failed ($1 clients): $report"
  echo "$report" | grep '^{' | head -1
}

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) CPUs usable; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mmserve: $MMSERVE_BIN, --threads $THREADS, embedding cache off, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)"
echo "== model: $MODEL; image $IMAGE; $LABELS labels $TEXTS; $CLIENTS clients; $REPEATS runs"
: >"$RESULTS"
for run in $(seq "$REPEATS"); do
  for p in $PRECISIONS; do
    echo "== run $run, $p: 1 client"
    log=$OUT/predict-targets-$p-1.log
    start_server "$p" "$log" --profile
    "$LOADGEN_BIN" --port "$PORT" --clients 1 --requests 8 --image "$IMAGE" --texts "$TEXTS" >/dev/null  # warm-up
    one=$(loadgen 1 "$REQUESTS_1")
    stop_server  # the profile is printed at exit
    decode=$(sed -n 's/^ *op image_decode_preprocess *\([0-9.]*\) ms\/pass.*/\1/p' "$log" | head -1)
    [ -n "$decode" ] || die "no image_decode_preprocess line in $log (serve --profile)"

    echo "== run $run, $p: $CLIENTS clients"
    log=$OUT/predict-targets-$p-n.log
    start_server "$p" "$log" --profile
    loadgen 4 16 >/dev/null  # warm-up: buffers for the larger batches
    many=$(loadgen "$CLIENTS" "$REQUESTS_N")
    stop_server
    # The batch mix: every request's image and labels over the towers' passes (warm-up included).
    image_passes=$(sed -n 's/^mmserve profile: vision_model.encoder: \([0-9]*\) passes.*/\1/p' "$log")
    text_passes=$(sed -n 's/^mmserve profile: text_model.encoder: \([0-9]*\) passes.*/\1/p' "$log")
    if [ -z "$image_passes" ] || [ -z "$text_passes" ]; then die "no tower passes in $log (serve --profile)"; fi
    requests=$((16 + REQUESTS_N))
    image_n=$(((requests + image_passes / 2) / image_passes))
    text_n=$(((requests * LABELS + text_passes / 2) / text_passes))

    echo "== run $run, $p: engine (batches 1 and $image_n of images, $LABELS and $text_n of texts)"
    image_1=$(engine "$p" image 1)
    text_1=$(engine "$p" text "$LABELS" --text short)
    image_n_ms=$(engine "$p" image "$image_n")
    text_n_ms=$(engine "$p" text "$text_n" --text short)

    $PY - "$p" "$LABELS" "$CLIENTS" "$image_n" "$text_n" "$image_1" "$text_1" "$image_n_ms" "$text_n_ms" "$decode" \
      "$one" "$many" >>"$RESULTS" <<'PY'
import json, sys
p, labels, clients, image_batch, text_batch = sys.argv[1], *map(int, sys.argv[2:6])
image_1, text_1, image_n, text_n, decode = map(float, sys.argv[6:11])
one, many = json.loads(sys.argv[11]), json.loads(sys.argv[12])
print(json.dumps({"precision": p, "labels": labels, "clients": clients,
                  "batch_mix": {"images": image_batch, "texts": text_batch},
                  "engine_ms": {"image_b1": image_1, "text_bL": text_1, "image_mix": image_n, "text_mix": text_n},
                  "decode_ms": decode, "one_client": one, "n_clients": many}))
PY
  done
done

$PY - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by_precision = {}
for r in runs:
    by_precision.setdefault(r["precision"], []).append(r)
print()
print("/predict against the engine (engine: mmserve bench; requests: mmserve-loadgen); "
      "each figure the median of its runs; batches: images+texts per pass as the server ran them")
head = ["precision", "target", "measured", "bound", "ratio", "bar", "met"]
body = []
for p, rs in by_precision.items():
    med = lambda f: statistics.median(f(r) for r in rs)
    L, n = rs[0]["labels"], rs[0]["clients"]
    engine_1 = med(lambda r: r["engine_ms"]["image_b1"] + r["engine_ms"]["text_bL"])
    decode = med(lambda r: r["decode_ms"])
    bound = 1.25 * (engine_1 + decode)
    p50 = med(lambda r: r["one_client"]["p50_ms"])
    body.append([p, f"1 client p50 (engine {engine_1:.1f} + decode {decode:.1f} ms)", f"{p50:.1f} ms",
                 f"{bound:.1f} ms", f"{p50 / bound:.2f}", "<= 1.00", "met" if p50 <= bound else "NO"])
    # Per request: one image of an image batch, L texts of a text batch.
    per_request_ms = lambda r: (r["engine_ms"]["image_mix"] / r["batch_mix"]["images"] +
                                L * r["engine_ms"]["text_mix"] / r["batch_mix"]["texts"])
    engine_rate = med(lambda r: 1000.0 / per_request_ms(r))
    mix = "/".join(sorted({f"{r['batch_mix']['images']}+{r['batch_mix']['texts']}" for r in rs}))
    rate = med(lambda r: r["n_clients"]["requests_per_s"])
    failed = sum(r["n_clients"]["failed"] + r["one_client"]["failed"] for r in rs)
    body.append([p, f"{n} clients req/s (engine {engine_rate:.1f} req/s at batches {mix})", f"{rate:.1f}",
                 f"{0.9 * engine_rate:.1f}",
                 f"{rate / engine_rate:.2f}", ">= 0.90", "met" if rate >= 0.9 * engine_rate and failed == 0 else "NO"])
    if failed:
        body.append([p, f"{failed} requests failed", "", "", "", "0", "NO"])
w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
for x in [head] + body:
    print("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(x)))
PY
