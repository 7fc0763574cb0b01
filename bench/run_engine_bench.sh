#!/usr/bin/env bash
# Encoder throughput of mmserve beside PyTorch and ONNX Runtime, and against oneDNN's own
# matmul ceiling, in one run on one checkpoint (default: a random-weight ViT-B/32):
# image 224, text of 77 tokens and a short label, batch 1, 8 and 32.
#
#   bench/run_engine_bench.sh                       (~30 min with the defaults; see bench/README.md)
#
# Engines (ENGINES="mmserve pytorch onnxruntime ceiling"), each point its own process:
#   mmserve       `mmserve bench --precision P`, P in MMSERVE_PRECISIONS="fp32 bf16 int8"
#                 (a precision this binary refuses is skipped with a warning)
#   pytorch       bench/torch_clip.py, PYTORCH_PRECISIONS="fp32 bf16 int8"
#                 (eager fp32, autocast bfloat16, dynamic int8 nn.Linear)
#   onnxruntime   bench/ort/ort_clip.js on bench/export_onnx.py's graphs, ORT_PRECISIONS="fp32 int8"
#   ceiling       mmserve-matmul-ceiling: oneDNN matmul alone on the case's linear shapes
# Every point runs REPEATS times; engines alternate point by point (their order rotating
# between repeats), so that drift in the shared machine's load hits all alike. The figure
# of a point is the median over the repeats of each run's median call time.
#
# Knobs (env): MMSERVE_BIN=build/mmserve CEILING_BIN=<MMSERVE_BIN's folder>/mmserve-matmul-ceiling
#   THREADS=2 BATCHES="1 8 32" CASES="image-224 text-77 text-short" REPEATS=3
#   MIN_TIME=2 MIN_ITERS=3 (per point and run) CEILING_MIN_TIME=1 MODEL=bench/out/vit-b-32
#   ONNX_DIR=bench/out/onnx RESULTS=bench/out/engine_results.jsonl TORCH_BLAS_DIR=dir
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch; another python3 may be first on PATH
OUT=bench/out
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
CEILING_BIN=${CEILING_BIN:-$(dirname "$MMSERVE_BIN")/mmserve-matmul-ceiling}
ENGINES=${ENGINES:-"mmserve pytorch onnxruntime ceiling"}
MMSERVE_PRECISIONS=${MMSERVE_PRECISIONS:-"fp32 bf16 int8"}
PYTORCH_PRECISIONS=${PYTORCH_PRECISIONS:-"fp32 bf16 int8"}
ORT_PRECISIONS=${ORT_PRECISIONS:-"fp32 int8"}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-"1 8 32"}
REPEATS=${REPEATS:-3}
MIN_TIME=${MIN_TIME:-2}
MIN_ITERS=${MIN_ITERS:-3}
CEILING_MIN_TIME=${CEILING_MIN_TIME:-1}
MODEL=${MODEL:-$OUT/vit-b-32}
ONNX_DIR=${ONNX_DIR:-$OUT/onnx}
RESULTS=${RESULTS:-$OUT/engine_results.jsonl}
CEILING_RESULTS=${CEILING_RESULTS:-${RESULTS%.jsonl}.ceiling.jsonl}
export OMP_NUM_THREADS=$THREADS

die() { echo "run_engine_bench: $*" >&2; exit 1; }
warn() { echo "run_engine_bench: WARNING: $*" >&2; }
has() { [[ " $ENGINES " == *" $1 "* ]]; }
for e in $ENGINES; do
  case $e in mmserve|pytorch|onnxruntime|ceiling) ;; *) die "unknown engine \"$e\" in ENGINES (mmserve pytorch onnxruntime ceiling)";; esac
done
mkdir -p "$OUT"

# Every engine runs as a child of this script; an interrupted run stops the one in flight.
CHILD=
TMP=$(mktemp -d)
cleanup() {
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# run_child OUT ERR CMD...: runs CMD with stdout to OUT and stderr to ERR; returns its status.
run_child() {
  local out=$1 err=$2 rc=0
  shift 2
  "$@" >"$out" 2>"$err" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  return $rc
}

# ---- the checkpoint and each peer, checked before any timing ----------------------------
[ -f "$MODEL/config.json" ] || [ "$MODEL" != "$OUT/vit-b-32" ] ||
  $PY tools/make_random_clip.py --out "$MODEL" --shape vit-b-32 --dtype f32 --seed 0
[ -f "$MODEL/model.safetensors" ] || die "no checkpoint at $MODEL (tools/make_random_clip.py --out $MODEL --shape vit-b-32)"
IMAGE_SIZE=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["vision_config"]["image_size"])' "$MODEL/config.json")
CASES=${CASES:-"image-$IMAGE_SIZE text-77 text-short"}

if has mmserve && [ ! -x "$MMSERVE_BIN" ]; then
  die "no mmserve binary at $MMSERVE_BIN: cmake --build build --target mmserve (or set MMSERVE_BIN," \
      "or leave mmserve out of ENGINES)"
fi
if has ceiling && [ ! -x "$CEILING_BIN" ]; then
  die "no matmul ceiling tool at $CEILING_BIN: cmake --build build --target mmserve-matmul-ceiling" \
      "(or set CEILING_BIN, or leave ceiling out of ENGINES)"
fi

# shellcheck source=bench/common.sh
. bench/common.sh
if has pytorch; then
  $PY -c 'import torch, numpy' 2>/dev/null ||
    die "PyTorch peer missing: $PY cannot import torch and numpy (MMSERVE_WITH_BENCH=1 scripts/setup.sh," \
        "or leave pytorch out of ENGINES)"
  select_torch_blas || die "PyTorch peer: no tuned BLAS (see above)"
fi

if has onnxruntime; then
  command -v node >/dev/null || die "ONNX Runtime peer missing: no node (scripts/setup.sh installs Node.js)"
  if [ ! -f bench/ort/node_modules/onnxruntime-node/package.json ]; then
    command -v npm >/dev/null || die "ONNX Runtime peer missing: no npm to install bench/ort (scripts/setup.sh)"
    echo "== installing onnxruntime-node into bench/ort (the version its lock file pins; CPU library only)"
    # The package's install step would fetch CUDA libraries; the CPU library ships inside it.
    (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error) ||
      die "npm ci in bench/ort failed: the ONNX Runtime peer is missing"
  fi
  # Exported again when missing, older than the checkpoint, or exported from another folder.
  stale=0
  for f in vision text vision-int8 text-int8 reference.json; do
    [ "${f%.json}" != "$f" ] || f=$f.onnx
    if [ ! -f "$ONNX_DIR/$f" ] || [ "$MODEL/model.safetensors" -nt "$ONNX_DIR/$f" ]; then stale=1; fi
  done
  if [ $stale = 0 ] && ! $PY -c 'import json, os, sys
sys.exit(json.load(open(sys.argv[1]))["model"] != os.path.abspath(sys.argv[2]))' "$ONNX_DIR/reference.json" "$MODEL"; then
    stale=1
  fi
  if [ $stale = 1 ]; then
    echo "== exporting $MODEL to ONNX in $ONNX_DIR (fp32 and dynamic int8)"
    $PY bench/export_onnx.py --model "$MODEL" --out "$ONNX_DIR" 2> "$TMP/export.log" ||
      { grep -v -i warn "$TMP/export.log" | tail -5 >&2; die "bench/export_onnx.py failed (python3-onnx installed?)"; }
  fi
  echo "== ONNX Runtime vs PyTorch fp32 on one input (cosine of the embeddings):"
  node bench/ort/ort_clip.js --models "$ONNX_DIR" --threads "$THREADS" --check ||
    die "ONNX Runtime's outputs do not match PyTorch's (see the lines above)"
fi

# ---- what ran where ------------------------------------------------------------------------
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) CPUs usable, $THREADS threads per engine;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
if has mmserve || has ceiling; then
  echo "== mmserve: $MMSERVE_BIN, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)," \
       "oneDNN $(dpkg-query -W -f='${Version}' libdnnl2 2>/dev/null || echo '?'), $(c++ --version | head -1)"
fi
if has pytorch; then
  echo "== pytorch: $(LD_LIBRARY_PATH=$TORCH_BLAS_DIR $PY -c 'import platform, torch; print("torch", torch.__version__,
"python", platform.python_version())'), BLAS $TORCH_BLAS, OMP_NUM_THREADS=$THREADS, torch.set_num_threads($THREADS)"
fi
if has onnxruntime; then
  echo "== onnxruntime: onnxruntime-node $(node -p 'require("./bench/ort/node_modules/onnxruntime-node/package.json").version')," \
       "node $(node --version), CPU provider, intraOpNumThreads=$THREADS, graph optimisation all"
fi
echo "== model: $MODEL; cases: $CASES; batches: $BATCHES; $REPEATS runs per point, each >= ${MIN_TIME} s and" \
     ">= $MIN_ITERS calls after 2 warm-up calls"

# ---- measurement ---------------------------------------------------------------------------
# keep OUT CASE RUN WHAT: the JSON lines an engine printed, tagged with their case (when they
# lack one) and the run number, appended to $RESULTS, with a short line each on the terminal.
keep() {
  grep -q '^{' "$1" || { cat "$TMP/err" >&2; die "$4 printed no JSON line"; }
  grep '^{' "$1" | sed -e "/^{\"case\"/!s/^{/{\"case\":\"$2\",/" -e "s/^{/{\"run\":$3,/" | tee -a "${5:-$RESULTS}" |
    $PY bench/format_results.py --progress
}

REFUSED=" "
mmserve_point() {  # case batch precision run
  [[ $REFUSED == *" $3 "* ]] && return 0
  local args
  case $1 in
    image-*) args=(--encoder image) ;;
    text-77) args=(--encoder text --text 77) ;;
    text-short) args=(--encoder text --text short) ;;
  esac
  local rc=0
  run_child "$TMP/out" "$TMP/err" "$MMSERVE_BIN" bench --model "$MODEL" "${args[@]}" --batch "$2" --precision "$3" \
    --threads "$THREADS" --min-time "$MIN_TIME" --min-iters "$MIN_ITERS" || rc=$?
  if [ $rc = 2 ] && grep -qi precision "$TMP/err"; then
    warn "mmserve refuses --precision $3 ($(tail -1 "$TMP/err")): skipping mmserve $3"
    REFUSED+="$3 "
    return 0
  fi
  [ $rc = 0 ] || { cat "$TMP/err" >&2; die "mmserve bench failed ($1, batch $2, $3, exit $rc)"; }
  # mmserve reports the precision that ran; where it fell back (no kernel on this CPU), say so.
  if ! grep -q "\"precision\":\"$3\"" "$TMP/out"; then
    warn "mmserve bench was asked for --precision $3 but ran $(grep -o '"precision":"[a-z0-9]*"' "$TMP/out" | head -1)" \
         "($(tail -1 "$TMP/err")): skipping mmserve $3"
    REFUSED+="$3 "
    return 0
  fi
  keep "$TMP/out" "$1" "$4" "mmserve bench ($1, batch $2, $3)"
}

pytorch_point() {  # case batch precision run
  local enc=text len=77
  case $1 in image-*) enc=image ;; text-short) len=short ;; esac
  run_child "$TMP/out" "$TMP/err" env LD_LIBRARY_PATH="$TORCH_BLAS_DIR" $PY bench/torch_clip.py --model "$MODEL" \
    --bench --enc $enc --batches "$2" --text-len $len --precision "$3" --threads "$THREADS" \
    --min-time "$MIN_TIME" --min-iters "$MIN_ITERS" || { tail -5 "$TMP/err" >&2; die "PyTorch failed ($1, batch $2, $3)"; }
  keep "$TMP/out" "$1" "$4" "PyTorch ($1, batch $2, $3)"
}

ort_point() {  # case batch precision run
  run_child "$TMP/out" "$TMP/err" node bench/ort/ort_clip.js --models "$ONNX_DIR" --case "$1" --batches "$2" \
    --precision "$3" --threads "$THREADS" --min-time "$MIN_TIME" --min-iters "$MIN_ITERS" ||
    { tail -5 "$TMP/err" >&2; die "ONNX Runtime failed ($1, batch $2, $3)"; }
  keep "$TMP/out" "$1" "$4" "ONNX Runtime ($1, batch $2, $3)"
}

ceiling_case() {  # case run: every batch and mmserve precision of the case, on its linear shapes
  local shapes precisions
  shapes=$($PY bench/clip_flops.py --model "$MODEL" --case "$1" --ceiling-args)
  precisions=$(tr -s ' ' ',' <<< "$MMSERVE_PRECISIONS")
  # shellcheck disable=SC2086  # $shapes is "--tokens T --shapes ..."
  run_child "$TMP/out" "$TMP/err" "$CEILING_BIN" --case "$1" $shapes --batches "$(tr -s ' ' ',' <<< "$BATCHES")" \
    --precisions "$precisions" --threads "$THREADS" --min-time "$CEILING_MIN_TIME" ||
    { tail -5 "$TMP/err" >&2; die "mmserve-matmul-ceiling failed ($1)"; }
  keep "$TMP/out" "$1" "$2" "mmserve-matmul-ceiling ($1)" "$CEILING_RESULTS"
}

# The points of one (case, batch): every engine and precision, in an order rotated by run.
POINTS=()
if has mmserve; then for p in $MMSERVE_PRECISIONS; do POINTS+=("mmserve_point $p"); done; fi
if has pytorch; then for p in $PYTORCH_PRECISIONS; do POINTS+=("pytorch_point $p"); done; fi
if has onnxruntime; then for p in $ORT_PRECISIONS; do POINTS+=("ort_point $p"); done; fi

: > "$RESULTS"
: > "$CEILING_RESULTS"
for run in $(seq "$REPEATS"); do
  echo "== run $run of $REPEATS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for c in $CASES; do
    if has ceiling; then ceiling_case "$c" "$run"; fi
    for b in $BATCHES; do
      n=${#POINTS[@]}
      for ((i = 0; i < n; i++)); do
        read -r fn precision <<< "${POINTS[(i + run - 1) % n]}"
        $fn "$c" "$b" "$precision" "$run"
      done
    done
  done
done
[ "$REFUSED" = " " ] || warn "this mmserve refused or fell back from --precision$REFUSED(skipped)"

echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are not comparable)"
echo
$PY bench/format_results.py "$RESULTS" --ceiling "$CEILING_RESULTS" --model "$MODEL"
