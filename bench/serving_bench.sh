#!/usr/bin/env bash
# End to end: POST /predict throughput and latency of mmserve against a reference FastAPI +
# uvicorn + PyTorch server (bench/fastapi_server.py) on the same checkpoint folder, with the
# same image and labels, at 1, 8 and 32 concurrent clients (mmserve-loadgen, keep-alive,
# closed loop). Both servers run side by side; each level loads one, then the other.
#
#   bench/serving_bench.sh                       (~4 min with the defaults)
#
# Knobs (env): MMSERVE_BIN=build/mmserve LOADGEN_BIN=<MMSERVE_BIN's folder>/mmserve-loadgen
#   CLIENTS="1 8 32" REQUESTS=<per level; default max(48, 6 x clients)> REPEATS=3 THREADS=2
#   MMSERVE_PRECISIONS="fp32" (others are passed as `serve --precision P`; one this binary
#   refuses is skipped with a warning) MMSERVE_SERVE_ARGS="" (extra `mmserve serve` options)
#   MMSERVE_CACHE=off (mmserve's embedding cache: every request here carries the same image
#   and labels, so with the cache on mmserve would answer from it after the first; the
#   FastAPI server has none; MMSERVE_CACHE=on measures mmserve as it comes)
#   MODEL=bench/out/vit-b-32 MMSERVE_PORT=18130 (and the next ports for further precisions)
#   FASTAPI_PORT=18129 TORCH_BLAS_DIR=dir
# mmserve serves with its defaults (dynamic batching on) and --threads THREADS; the FastAPI
# server with THREADS PyTorch threads, one uvicorn worker, one model call at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch and python3-fastapi
OUT=bench/out
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
LOADGEN_BIN=${LOADGEN_BIN:-$(dirname "$MMSERVE_BIN")/mmserve-loadgen}
CLIENTS=${CLIENTS:-"1 8 32"}
REQUESTS=${REQUESTS:-}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
MMSERVE_PRECISIONS=${MMSERVE_PRECISIONS:-fp32}
MMSERVE_SERVE_ARGS=${MMSERVE_SERVE_ARGS:-}
MMSERVE_CACHE=${MMSERVE_CACHE:-off}
MODEL=${MODEL:-$OUT/vit-b-32}
MMSERVE_PORT=${MMSERVE_PORT:-18130}
FASTAPI_PORT=${FASTAPI_PORT:-18129}
RESULTS=${RESULTS:-$OUT/serving_results.jsonl}
IMAGE=${IMAGE:-tests/data/clip-reference/images/chelsea_q90.jpg}
TEXTS=${TEXTS:-'["a photo of a cat","a photo of a dog","a cup of coffee","a rocket on a launch pad"]'}
REPO=$OUT/serving-repo

die() { echo "serving_bench: $*" >&2; exit 1; }
warn() { echo "serving_bench: WARNING: $*" >&2; }

# Every process this script starts is recorded here and stopped by its PID on exit.
PIDS=()
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget_pid() { local keep=() p; for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

# ---- peers -------------------------------------------------------------------------------
[ -x "$MMSERVE_BIN" ] || die "no mmserve binary at $MMSERVE_BIN: cmake --build build --target mmserve (or set MMSERVE_BIN)"
[ -x "$LOADGEN_BIN" ] || die "no load generator at $LOADGEN_BIN: cmake --build build --target mmserve-loadgen"
command -v curl >/dev/null || die "curl is missing (scripts/setup.sh)"
$PY -c 'import torch, numpy, PIL, fastapi, uvicorn, multipart' 2>/dev/null ||
  die "FastAPI peer missing: $PY cannot import torch, numpy, PIL, fastapi, uvicorn and multipart" \
      "(MMSERVE_WITH_BENCH=1 scripts/setup.sh)"
# shellcheck source=bench/common.sh
. bench/common.sh
select_torch_blas || die "FastAPI peer: no tuned BLAS for PyTorch (see above)"
[ -f "$MODEL/model.safetensors" ] || [ "$MODEL" != "$OUT/vit-b-32" ] ||
  $PY tools/make_random_clip.py --out "$MODEL" --shape vit-b-32 --dtype f32 --seed 0
[ -f "$MODEL/model.safetensors" ] || die "no checkpoint at $MODEL"
[ -f "$IMAGE" ] || die "no image at $IMAGE"
# The embedding cache, where this mmserve has one: off unless MMSERVE_CACHE=on.
CACHE_ARGS=()
case $MMSERVE_CACHE in
  on) ;;
  off)
    if timeout 20 "$MMSERVE_BIN" serve --cache-bytes 0 --model-repository /nonexistent-dir 2>&1 | grep -q "unknown option --cache-bytes"; then
      echo "== this mmserve has no embedding cache"
    else
      CACHE_ARGS=(--cache-bytes 0)
    fi ;;
  *) die "MMSERVE_CACHE must be on or off" ;;
esac
mkdir -p "$REPO/clip"
ln -sfn "$(cd "$MODEL" && pwd)" "$REPO/clip/1"

# wait_ready NAME PID PORT LOG: polls /health until 200; fails if the process exits first.
# Returns 2 when the process exited with status 2 (it refused its options).
wait_ready() {
  local rc
  for _ in $(seq 1200); do
    curl -sf "127.0.0.1:$3/health" >/dev/null 2>&1 && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      rc=0; wait "$2" 2>/dev/null || rc=$?
      forget_pid "$2"
      [ $rc = 2 ] && return 2
      tail -5 "$4" >&2; die "$1 exited (status $rc) before it was ready; log: $4"
    fi
    sleep 0.1
  done
  tail -5 "$4" >&2; die "$1 not ready after 120 s; log: $4"
}

port_free() {  # a server already answering there would be measured instead of ours
  if curl -s -o /dev/null "127.0.0.1:$1/health" 2>/dev/null; then
    die "port $1 is already in use by another process (set MMSERVE_PORT / FASTAPI_PORT)"
  fi
}

# Servers: "name precision port pid log"
SERVERS=()
start_mmserve() {  # precision port
  local log=$OUT/serving-mmserve-$1.log extra=() rc=0
  [ "$1" = fp32 ] || extra=(--precision "$1")
  port_free "$2"
  # shellcheck disable=SC2086  # MMSERVE_SERVE_ARGS is a list of options
  "$MMSERVE_BIN" serve --model-repository "$REPO" --host 127.0.0.1 --port "$2" --threads "$THREADS" \
    --log-level warning "${extra[@]}" "${CACHE_ARGS[@]}" $MMSERVE_SERVE_ARGS >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ready "mmserve ($1)" "$pid" "$2" "$log" || rc=$?
  if [ $rc = 2 ]; then
    warn "mmserve serve refuses ${extra[*]:-its options} ($(tail -1 "$log")): skipping mmserve $1"
    return 0
  fi
  SERVERS+=("mmserve $1 $2 $pid $log")
}
start_fastapi() {
  local log=$OUT/serving-fastapi.log
  port_free "$FASTAPI_PORT"
  LD_LIBRARY_PATH=$TORCH_BLAS_DIR OMP_NUM_THREADS=$THREADS $PY bench/fastapi_server.py --model "$MODEL" \
    --host 127.0.0.1 --port "$FASTAPI_PORT" --threads "$THREADS" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ready "FastAPI server" "$pid" "$FASTAPI_PORT" "$log"
  SERVERS+=("fastapi fp32 $FASTAPI_PORT $pid $log")
}

# loadgen PORT CLIENTS REQUESTS OUTFILE: the report, even when some requests failed.
loadgen() {
  local rc=0
  "$LOADGEN_BIN" --port "$1" --clients "$2" --requests "$3" --image "$IMAGE" --texts "$TEXTS" >"$4" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  grep -q '^{' "$4" || { cat "$4" >&2; die "mmserve-loadgen printed no report (port $1, $2 clients)"; }
  return 0
}

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) CPUs usable; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mmserve: $MMSERVE_BIN serve --threads $THREADS ${CACHE_ARGS[*]}${MMSERVE_SERVE_ARGS:+ $MMSERVE_SERVE_ARGS}" \
     "(dynamic batching on unless said otherwise; embedding cache $MMSERVE_CACHE)," \
     "git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)"
echo "== FastAPI: bench/fastapi_server.py, fastapi $($PY -c 'import fastapi; print(fastapi.__version__)')," \
     "uvicorn $($PY -c 'import uvicorn; print(uvicorn.__version__)'), torch $($PY -c 'import torch; print(torch.__version__)')" \
     "on $TORCH_BLAS, $THREADS threads, 1 worker"
echo "== model: $MODEL; image $IMAGE; texts $TEXTS; clients $CLIENTS; $REPEATS runs per level"

port=$MMSERVE_PORT
for p in $MMSERVE_PRECISIONS; do  # one server per precision, on successive ports
  start_mmserve "$p" "$port"
  port=$((port + 1))
  [ "$port" != "$FASTAPI_PORT" ] || port=$((port + 1))
done
start_fastapi
[ ${#SERVERS[@]} -gt 1 ] || die "only the FastAPI server is up: no mmserve precision to compare"
# One answer of each (the same model: the scores must agree), then a warm-up (buffers, kernel
# generation) outside the measurement.
: > "$OUT/serving-answers.jsonl"
for s in "${SERVERS[@]}"; do
  read -r name precision port _ log <<< "$s"
  answer=$(curl -sf -F "image=@$IMAGE" -F "texts=$TEXTS" "127.0.0.1:$port/predict") ||
    { tail -5 "$log" >&2; die "$name ($precision) did not answer /predict"; }
  echo "{\"server\":\"$name $precision\",\"answer\":$answer}" >> "$OUT/serving-answers.jsonl"
  loadgen "$port" 4 16 "$OUT/serving-warmup.json"
done
$PY - "$OUT/serving-answers.jsonl" <<'PY'
import json, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
ref = next(a for a in answers if a["server"].startswith("fastapi"))
want = {r["text"]: r["score"] for r in ref["answer"]["results"]}
for a in answers:
    got = {r["text"]: r["score"] for r in a["answer"]["results"]}
    top = a["answer"]["results"][0]
    diff = max(abs(got[t] - want[t]) for t in want)
    print(f"== {a['server']}: top label {top['text']!r} ({top['score']:.4f}); max |score - FastAPI's| {diff:.1e}")
PY

: > "$RESULTS"
for run in $(seq "$REPEATS"); do
  for c in $CLIENTS; do
    n=${REQUESTS:-$(( c * 6 > 48 ? c * 6 : 48 ))}
    for s in "${SERVERS[@]}"; do
      read -r name precision port _ _ <<< "$s"
      loadgen "$port" "$c" "$n" "$OUT/serving-last.json"
      line=$(grep '^{' "$OUT/serving-last.json" | head -1 |
             sed "s/^{/{\"server\":\"$name\",\"precision\":\"$precision\",\"run\":$run,\"requests\":$n,/")
      echo "$line" >> "$RESULTS"
      echo "$line" | $PY bench/format_serving.py --progress
    done
  done
done
for s in "${SERVERS[@]}"; do
  read -r _ _ _ pid _ <<< "$s"
  stop_pid "$pid"
  forget_pid "$pid"
done
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are not comparable)"
echo
$PY bench/format_serving.py "$RESULTS"
