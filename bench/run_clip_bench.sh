#!/usr/bin/env bash
# CPU throughput of mmserve vs PyTorch fp32 on a random-weight ViT-B/32 CLIP,
# side by side in one run: image 224 and text (77 tokens, short label) at
# batch 1, 8, 32. Raw JSON lines go to bench/out/results.jsonl; table last.
#
#   MMSERVE_BIN=build/mmserve bench/run_clip_bench.sh
# Knobs (env): THREADS=2 BATCHES="1 8 32" MIN_TIME=3 (s per point)
#   PYTORCH_PRECISIONS="fp32" (add bf16 int8 for extra PyTorch rows)
#   TORCH_BLAS_DIR=dir holding the libblas.so.3 PyTorch should use (see below)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch; another python3 may be first on PATH
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-"1 8 32"}
MIN_TIME=${MIN_TIME:-3}
PYTORCH_PRECISIONS=${PYTORCH_PRECISIONS:-fp32}
OUT=bench/out
MODEL=$OUT/vit-b-32
RESULTS=$OUT/results.jsonl
export OMP_NUM_THREADS=$THREADS

# Debian's python3-torch runs fp32 nn.Linear and bmm on whatever libblas.so.3 is
# selected; the netlib reference BLAS (~4 GFLOP/s, one thread) would make any ratio
# meaningless. `MMSERVE_WITH_BENCH=1 scripts/setup.sh` installs Debian's OpenBLAS (OpenMP
# build, the same libgomp as torch), which the alternatives system then selects; its
# folder is also put first for the PyTorch processes, in case another BLAS is selected.
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -z "${TORCH_BLAS_DIR:-}" ] && [ -e "$OPENBLAS_DIR/libblas.so.3" ]; then TORCH_BLAS_DIR=$OPENBLAS_DIR; fi
torch_blas() { LD_LIBRARY_PATH=${TORCH_BLAS_DIR:-} $PY -c \
  'import sys; sys.path.insert(0, "bench"); import torch_clip; print(torch_clip.loaded_blas())'; }
if [[ $(torch_blas) == libblas.so* ]]; then
  echo "PyTorch would run on the reference BLAS: run MMSERVE_WITH_BENCH=1 scripts/setup.sh," \
       "or set TORCH_BLAS_DIR to a folder holding a tuned libblas.so.3" >&2
  exit 1
fi
export TORCH_BLAS_DIR=${TORCH_BLAS_DIR:-}

if [ ! -f "$MODEL/model.safetensors" ]; then
  $PY tools/make_random_clip.py --out "$MODEL" --shape vit-b-32 --dtype f32 --seed 0
fi

HAVE_MMSERVE=1
if [ ! -x "$MMSERVE_BIN" ]; then
  HAVE_MMSERVE=0
  echo "WARNING: no mmserve binary at $MMSERVE_BIN (cmake -S . -B build-bench -G Ninja &&" \
       "cmake --build build-bench --target mmserve -j1; MMSERVE_BIN=build-bench/mmserve): PyTorch only" >&2
fi

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'); $(lscpu | sed -n 's/^CPU(s): *//p') CPUs" \
     "($(nproc) usable), $THREADS threads per engine; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mmserve: $MMSERVE_BIN, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)," \
     "oneDNN $(dpkg-query -W -f='${Version}' libdnnl2 2>/dev/null || echo '?'), $(c++ --version | head -1)"
echo "== pytorch: $(LD_LIBRARY_PATH=$TORCH_BLAS_DIR $PY -c 'import platform, numpy, torch, sys; sys.path.insert(0, "bench")
import torch_clip; print("torch", torch.__version__, "numpy", numpy.__version__, "python", platform.python_version(), "BLAS", torch_clip.loaded_blas())')"
echo "== model: $MODEL (ViT-B/32 shapes, random weights, fp32)"

# Tag each JSON line with its case, keep it, and show it as it comes.
keep() { grep '^{' | sed "s/^{/{\"case\":\"$1\",/" | tee -a "$RESULTS"; }

: > "$RESULTS"
for spec in "image image-224 -" "text text-77 77" "text text-short short"; do
  read -r enc case text <<< "$spec"
  for b in $BATCHES; do
    # Alternate engines per point so drift in the shared machine's load hits both alike.
    if [ $HAVE_MMSERVE = 1 ]; then
      "$MMSERVE_BIN" bench --model "$MODEL" --encoder $enc --batch $b $([ $text = - ] || echo --text $text) \
        --min-time "$MIN_TIME" --threads $THREADS --precision fp32 | keep $case ||
        { echo "mmserve bench failed or printed no JSON ($case, batch $b)" >&2; exit 1; }
    fi
    for p in $PYTORCH_PRECISIONS; do
      LD_LIBRARY_PATH=$TORCH_BLAS_DIR $PY bench/torch_clip.py --model "$MODEL" --bench --enc $enc --batches $b \
        --text-len $([ $text = - ] && echo 77 || echo $text) --precision $p --threads $THREADS --min-time "$MIN_TIME" | keep $case
    done
  done
done

echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are not comparable)"
echo
$PY bench/format_results.py "$RESULTS"
