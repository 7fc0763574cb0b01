#!/usr/bin/env bash
# CPU throughput of mmserve fp32 vs PyTorch fp32 on a random-weight ViT-B/32 CLIP: the
# quick subset of bench/run_engine_bench.sh (which also runs bf16 and int8, ONNX Runtime
# and the matmul ceiling, and repeats every point). One run per point; raw JSON lines go
# to bench/out/results.jsonl; table last.
#
#   MMSERVE_BIN=build/mmserve bench/run_clip_bench.sh
# Knobs (env): THREADS=2 BATCHES="1 8 32" MIN_TIME=3 (s per point) REPEATS=1
#   PYTORCH_PRECISIONS="fp32" (add bf16 int8 for extra PyTorch rows), MMSERVE_PRECISIONS="fp32"
#   TORCH_BLAS_DIR=dir holding the libblas.so.3 PyTorch should use
set -euo pipefail
cd "$(dirname "$0")/.."
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
ENGINES="mmserve pytorch"
if [ ! -x "$MMSERVE_BIN" ]; then
  ENGINES=pytorch
  echo "WARNING: no mmserve binary at $MMSERVE_BIN (cmake --build build --target mmserve -j1): PyTorch only" >&2
fi
export MMSERVE_BIN ENGINES
export MMSERVE_PRECISIONS=${MMSERVE_PRECISIONS:-fp32}
export PYTORCH_PRECISIONS=${PYTORCH_PRECISIONS:-fp32}
export REPEATS=${REPEATS:-1}
export MIN_TIME=${MIN_TIME:-3}
export MIN_ITERS=${MIN_ITERS:-5}
export RESULTS=${RESULTS:-bench/out/results.jsonl}
exec bench/run_engine_bench.sh
