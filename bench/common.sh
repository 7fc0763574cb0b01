# shellcheck shell=bash
# Shared by the bench/ scripts (sourced, not run): the PyTorch peer's BLAS.
#
# Debian's python3-torch runs fp32 nn.Linear and bmm on whatever libblas.so.3 the
# alternatives system selects; the netlib reference BLAS (~4 GFLOP/s, one thread) would make
# every ratio meaningless. `MMSERVE_WITH_BENCH=1 scripts/setup.sh` installs Debian's OpenBLAS
# (OpenMP build, the same libgomp as torch). select_torch_blas puts its folder first for the
# PyTorch processes (TORCH_BLAS_DIR overrides), sets TORCH_BLAS to the library PyTorch then
# loads, and fails when that is the reference BLAS. Needs PY (Debian's python3).
select_torch_blas() {
  local openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
  TORCH_BLAS_DIR=${TORCH_BLAS_DIR:-}
  if [ -z "$TORCH_BLAS_DIR" ] && [ -e "$openblas/libblas.so.3" ]; then TORCH_BLAS_DIR=$openblas; fi
  TORCH_BLAS=$(LD_LIBRARY_PATH=$TORCH_BLAS_DIR $PY -c \
    'import sys; sys.path.insert(0, "bench"); import torch_clip; print(torch_clip.loaded_blas())') || return 1
  if [[ $TORCH_BLAS == libblas.so* ]]; then
    echo "PyTorch would run on the reference BLAS: run MMSERVE_WITH_BENCH=1 scripts/setup.sh," \
         "or set TORCH_BLAS_DIR to a folder holding a tuned libblas.so.3" >&2
    return 1
  fi
  export TORCH_BLAS_DIR TORCH_BLAS
}
