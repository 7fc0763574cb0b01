#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, into build-fuzz) and runs each one briefly on its
# seed corpus: every seed is replayed (so inputs that once crashed stay fixed) and then
# mutated for FUZZ_SECONDS. Any crash, sanitizer report or harness finding fails the run
# and leaves the input in $BUILD_DIR/fuzz-artifacts/. New inputs go to a scratch folder,
# never into fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-8}

BUILD_DIR=$BUILD_DIR BUILD_TYPE=RelWithDebInfo scripts/build.sh -DMMS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=$BUILD_DIR/fuzz-artifacts
mkdir -p "$artifacts"
failed=()
while read -r name; do
  [ -n "$name" ] || continue
  mkdir -p "$scratch/$name"
  log=$BUILD_DIR/fuzz-$name.log
  # The harness's dictionary, or its family's (kserve_json -> kserve.dict).
  dict=fuzz/dicts/$name.dict
  [ -f "$dict" ] || dict=fuzz/dicts/${name%_*}.dict
  dict_arg=()
  if [ -f "$dict" ]; then dict_arg=(-dict="$dict"); fi
  if "$BUILD_DIR/fuzz/${name}_fuzzer" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$artifacts/${name}-" "${dict_arg[@]}" "$scratch/$name" "fuzz/corpus/$name" >"$log" 2>&1; then
    echo "fuzz smoke: $name $(grep -Eo '^#[0-9]+[[:space:]]+DONE .*exec/s: [0-9]+' "$log" | tail -1 | awk '{print $1, $NF " exec/s"}')"
  else
    echo "fuzz smoke: $name FAILED; the log is $log:"
    tail -40 "$log"
    failed+=("$name")
  fi
done <"$BUILD_DIR/fuzzers.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke: failed: ${failed[*]} (inputs in $artifacts)"
  exit 1
fi
