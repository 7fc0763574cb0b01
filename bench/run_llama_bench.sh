#!/usr/bin/env bash
# LLaMA generation of mmserve beside llama.cpp, in one run, on the TinyLlama-1.1B shape
# (random weights: cost depends on shape, not values), with 2 threads each:
#   1. engine: prompt tokens/s at 128 and 512 tokens and single-stream generated tokens/s
#      (128 tokens) for mmserve fp32/bf16/int8 through its HTTP API, beside llama-bench
#      (pp128, pp512, tg128) on the same weights as GGUF F16, BF16 and Q8_0;
#   2. serving: total generated tokens/s and time to first token p50/p99 with 1, 4, 16 and
#      64 concurrent streams (128-token prompts, 64 generated tokens) through mmserve's
#      server and through llama-server with as many slots (-np), bf16 vs F16 and int8 vs Q8_0;
#   3. memory bandwidth (a 1 GiB copy, 2 threads) and the GB/s single-stream decoding reaches;
#   4. the bf16 matmul ceiling: oneDNN's bf16 matmul alone on the model's linear shapes with M =
#      each prompt length (mmserve-matmul-ceiling), against which mmserve's bf16 prompt
#      processing is held (its share of that GFLOP/s, target >= 50%).
#
#   bench/run_llama_bench.sh          (~25 min on 2 cores once the peers are built; see bench/README.md)
#
# NEEDS ../shared/peers/llama.cpp (the pinned llama.cpp source, its build.sh and convert.sh)
# and ../shared/llama-reference/model/tokenizer.model (the SentencePiece model the GGUF
# converter reads); set PEERS and TOKENIZER_MODEL where they live elsewhere. llama.cpp is
# built from that source into bench/out/llama.cpp-build (git-ignored; nothing of it is
# committed). Debian packages: python3-torch, python3-numpy, python3-sentencepiece (the
# converter), cmake and a C++ compiler.
#
# Both sides run the same settings: greedy (temperature 0), fixed prompt and output
# lengths, end-of-sequence ignored, prompts of random token ids different for every
# request (no prompt/prefix cache can help either side), THREADS threads.
#
# Knobs (env): MMSERVE_BIN=build/mmserve THREADS=2 MODEL=bench/out/tinyllama-bf16
#   MMSERVE_PRECISIONS="fp32 bf16 int8" GGUF_TYPES="F16 BF16 Q8_0"
#   SERVE_PAIRS="bf16:F16 int8:Q8_0" STREAMS="1 4 16 64" PROMPT_LENGTHS="128 512"
#   TG_TOKENS=128 SERVE_PROMPT=128 SERVE_GEN=64 PROMPT_REPEATS=2 DECODE_REPEATS=1
#   LLAMA_BENCH_REPEATS=2 SERVE_MIN_REQUESTS=4 BANDWIDTH_MIB=1024
#   CEILING_BIN=<MMSERVE_BIN's folder>/mmserve-matmul-ceiling (CEILING_BIN= skips step 4)
#   RESULTS=bench/out/llama_results.jsonl LLAMA_DIR=bench/out/llama.cpp-build
#   LLAMA_POLL= (llama.cpp's --poll 0..100 for llama-bench and llama-server; unset = its
#   default, 50: its threads spin between ops, which a busy machine punishes hard)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch; another python3 may be first on PATH
OUT=bench/out
PEERS=${PEERS:-../shared/peers}
TOKENIZER_MODEL=${TOKENIZER_MODEL:-../shared/llama-reference/model/tokenizer.model}
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
THREADS=${THREADS:-2}
MODEL=${MODEL:-$OUT/tinyllama-bf16}
MMSERVE_PRECISIONS=${MMSERVE_PRECISIONS:-"fp32 bf16 int8"}
GGUF_TYPES=${GGUF_TYPES:-"F16 BF16 Q8_0"}
SERVE_PAIRS=${SERVE_PAIRS:-"bf16:F16 int8:Q8_0"}
STREAMS=${STREAMS:-"1 4 16 64"}
PROMPT_LENGTHS=${PROMPT_LENGTHS:-"128 512"}
TG_TOKENS=${TG_TOKENS:-128}
SERVE_PROMPT=${SERVE_PROMPT:-128}
SERVE_GEN=${SERVE_GEN:-64}
PROMPT_REPEATS=${PROMPT_REPEATS:-2}
DECODE_REPEATS=${DECODE_REPEATS:-1}
LLAMA_BENCH_REPEATS=${LLAMA_BENCH_REPEATS:-2}
SERVE_MIN_REQUESTS=${SERVE_MIN_REQUESTS:-4}
BANDWIDTH_MIB=${BANDWIDTH_MIB:-1024}
CEILING_BIN=${CEILING_BIN-$(dirname "$MMSERVE_BIN")/mmserve-matmul-ceiling}
RESULTS=${RESULTS:-$OUT/llama_results.jsonl}
LLAMA_DIR=${LLAMA_DIR:-$PWD/$OUT/llama.cpp-build}
LLAMA_POLL=${LLAMA_POLL:-}
POLL_ARGS=()
[ -z "$LLAMA_POLL" ] || POLL_ARGS=(--poll "$LLAMA_POLL")
export OMP_NUM_THREADS=$THREADS

die() { echo "run_llama_bench: $*" >&2; exit 1; }
note() { echo "== $*"; }
mkdir -p "$OUT"

# ---- prerequisites, checked before any timing ---------------------------------------------
if [ ! -x "$PEERS/llama.cpp/build.sh" ] || [ ! -x "$PEERS/llama.cpp/convert.sh" ]; then
  die "this benchmark needs llama.cpp's pinned source and scripts in $PEERS/llama.cpp (build.sh, convert.sh," \
      "the source tarball): the folder ../shared/peers beside this checkout. It is not here, so there is" \
      "nothing to compare with; set PEERS=/path/to/peers if it lives elsewhere."
fi
[ -x "$MMSERVE_BIN" ] || die "no mmserve binary at $MMSERVE_BIN: cmake --build build --target mmserve (or set MMSERVE_BIN)"
[ -z "$CEILING_BIN" ] || [ -x "$CEILING_BIN" ] ||
  die "no matmul ceiling tool at $CEILING_BIN: cmake --build build --target mmserve-matmul-ceiling (or CEILING_BIN= to skip it)"
$PY -c 'import numpy' 2>/dev/null || die "$PY cannot import numpy (apt-get install python3-numpy)"
command -v curl >/dev/null || die "curl is needed to wait for the servers"

CHILD=
SERVER=
TMP=$(mktemp -d)
stop_server() {
  if [ -n "$SERVER" ]; then
    kill -TERM "$SERVER" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=
  fi
}
cleanup() {
  stop_server
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note "llama.cpp: building the pinned source with $PEERS/llama.cpp/build.sh into $LLAMA_DIR (once)"
BIN=$("$PEERS/llama.cpp/build.sh" "$LLAMA_DIR" | tail -1) || die "llama.cpp's build failed (see the lines above)"
for b in llama-bench llama-server llama-quantize; do [ -x "$BIN/$b" ] || die "no $b in $BIN after the build"; done

if [ ! -f "$MODEL/model.safetensors" ]; then
  [ "$MODEL" = "$OUT/tinyllama-bf16" ] || die "no checkpoint at $MODEL"
  note "checkpoint: writing a random TinyLlama-1.1B-shaped bf16 checkpoint into $MODEL (2.2 GB, once, minutes)"
  $PY tools/make_random_llama.py --out "$MODEL" --shape tinyllama-1.1b --dtype bf16 --seed 0
fi

# The converter takes the vocabulary from tokenizer.model (SentencePiece; its other path
# needs the transformers package): a folder of links to the checkpoint plus that file.
gguf() { echo "$OUT/$(basename "$MODEL")-$1.gguf"; }
for t in $GGUF_TYPES; do
  f=$(gguf "$t")
  if [ -f "$f" ] && [ "$f" -nt "$MODEL/model.safetensors" ]; then continue; fi
  case $t in
    F16|BF16|F32)
      [ -f "$TOKENIZER_MODEL" ] || die "the GGUF converter needs a tokenizer.model: none at $TOKENIZER_MODEL (set TOKENIZER_MODEL)"
      $PY -c 'import torch, sentencepiece' 2>/dev/null ||
        die "the GGUF converter needs Debian's python3-torch and python3-sentencepiece (apt-get install them)"
      src=$OUT/gguf-src-$(basename "$MODEL")
      rm -rf "$src"; mkdir -p "$src"
      for x in "$MODEL"/*; do ln -s "$(realpath "$x")" "$src/"; done
      ln -sf "$(realpath "$TOKENIZER_MODEL")" "$src/tokenizer.model"
      note "GGUF: converting $MODEL to $t ($f, once)"
      lower=$(tr '[:upper:]' '[:lower:]' <<< "$t")
      "$PEERS/llama.cpp/convert.sh" "$src" "$f.tmp" "$lower" "$LLAMA_DIR" > "$TMP/convert.log" 2>&1 ||
        { tail -20 "$TMP/convert.log" >&2; die "convert.sh to $t failed"; }
      mv "$f.tmp" "$f" ;;
    *)
      base=$(gguf F16)
      [ -f "$base" ] || die "quantizing to $t needs the F16 GGUF: put F16 before $t in GGUF_TYPES"
      note "GGUF: quantizing $base to $t ($f, once)"
      "$BIN/llama-quantize" "$base" "$f.tmp" "$t" "$THREADS" > "$TMP/quantize.log" 2>&1 ||
        { tail -20 "$TMP/quantize.log" >&2; die "llama-quantize to $t failed"; }
      mv "$f.tmp" "$f" ;;
  esac
done

note "bandwidth tool: compiling bench/memory_bandwidth.cpp"
c++ -O3 -march=native -fopenmp bench/memory_bandwidth.cpp -o "$OUT/memory_bandwidth" || die "cannot compile bench/memory_bandwidth.cpp"

# ---- what ran where ------------------------------------------------------------------------
ISA=$(grep -o -w 'avx2\|avx512f\|avx512_bf16\|avx512_vnni\|avx_vnni\|amx_tile\|amx_bf16\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')
AMX="no AMX"
[[ $ISA == *amx_tile* ]] && AMX="AMX"
note "machine: $(lscpu | sed -n 's/^Model name: *//p'); ISA: ${ISA}($AMX); $(nproc) CPUs usable, $THREADS threads per engine;" \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
note "SHARED MACHINE: other people's builds and tests run beside this benchmark; load average now" \
     "$(cut -d' ' -f1-3 /proc/loadavg). Every figure is one small sample on a noisy machine: compare within this run, as ratios."
note "mmserve: $MMSERVE_BIN, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)," \
     "oneDNN $(dpkg-query -W -f='${Version}' libdnnl2 2>/dev/null || echo '?'), $(c++ --version | head -1)"
note "llama.cpp: $(basename "$(ls "$PEERS"/llama.cpp/llama.cpp-*.tar.* 2>/dev/null | head -1)") built with GGML_NATIVE=ON in $BIN;" \
     "--poll ${LLAMA_POLL:-50 (its default)}"
note "model: $MODEL (TinyLlama-1.1B shape, random bf16 weights); GGUF: $(for t in $GGUF_TYPES; do echo -n "$(gguf "$t") "; done)"
note "settings: greedy, ignore_eos, random-id prompts unique per request; prompt $PROMPT_LENGTHS tokens x $PROMPT_REPEATS" \
     "(+1 warm-up), decode $TG_TOKENS tokens x $DECODE_REPEATS, llama-bench -r $LLAMA_BENCH_REPEATS;" \
     "serving $STREAMS streams x ${SERVE_PROMPT}-token prompts x $SERVE_GEN tokens, >= $SERVE_MIN_REQUESTS requests per point." \
     "Repeat counts are small to keep the run near 25 minutes: single samples, medians of two at most."
: > "$RESULTS"

# ---- measurement ---------------------------------------------------------------------------
# keep FILE TAG: appends the JSON lines of FILE to $RESULTS, tagged with TAG's fields.
keep() {
  grep -q '^{' "$1" || die "no JSON line in $1"
  grep '^{' "$1" | $PY -c 'import json, sys
tag = json.loads(sys.argv[1])
for line in sys.stdin:
    j = json.loads(line); j.update(tag); print(json.dumps(j))' "$2" | tee -a "$RESULTS" |
    $PY bench/format_llama_results.py --progress
}
run_child() {  # OUT ERR CMD...
  local out=$1 err=$2 rc=0
  shift 2
  "$@" >"$out" 2>"$err" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  return $rc
}
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {  # URL LOG WHAT: up to 10 minutes (loading 2-4 GB and packing weights)
  for _ in $(seq 1200); do
    if ! kill -0 "$SERVER" 2>/dev/null; then tail -20 "$2" >&2; die "$3 exited while starting (log above)"; fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.5
  done
  tail -20 "$2" >&2
  die "$3 was not ready within 10 minutes"
}
client() {  # URL API TAG MODE ARGS...
  local url=$1 api=$2 tag=$3
  shift 3
  run_child "$TMP/out" "$TMP/err" $PY bench/llama_bench_client.py --url "$url" --api "$api" --model tinyllama "$@" ||
    { tail -5 "$TMP/err" >&2; die "client failed ($api $tag $*)"; }
  keep "$TMP/out" "$tag"
}

note "bandwidth: ${BANDWIDTH_MIB} MiB copy, $THREADS threads"
run_child "$TMP/out" "$TMP/err" "$OUT/memory_bandwidth" "$BANDWIDTH_MIB" 5 || die "memory_bandwidth failed"
keep "$TMP/out" '{"engine":"machine"}'

if [ -n "$CEILING_BIN" ] && [[ " $MMSERVE_PRECISIONS " == *" bf16 "* ]]; then
  note "matmul ceiling: oneDNN bf16 matmul alone on the model's linear shapes, M = $PROMPT_LENGTHS"
  CEILING_SHAPES=$($PY bench/format_llama_results.py --ceiling-args --model "$MODEL")
  for n in $PROMPT_LENGTHS; do
    run_child "$TMP/out" "$TMP/err" "$CEILING_BIN" --case "$(basename "$MODEL")-pp$n" --tokens "$n" $CEILING_SHAPES \
      --batches 1 --precisions bf16 --threads "$THREADS" --min-time 1 ||
      { tail -5 "$TMP/err" >&2; die "mmserve-matmul-ceiling failed (M = $n)"; }
    keep "$TMP/out" '{"engine":"ceiling","mode":"ceiling"}'
  done
fi

note "llama-bench: pp${PROMPT_LENGTHS// /,pp} and tg$TG_TOKENS, -t $THREADS -r $LLAMA_BENCH_REPEATS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
for t in $GGUF_TYPES; do
  run_child "$TMP/out" "$TMP/err" "$BIN/llama-bench" -m "$(gguf "$t")" -p "$(tr ' ' ',' <<< "$PROMPT_LENGTHS")" \
    -n "$TG_TOKENS" -t "$THREADS" -r "$LLAMA_BENCH_REPEATS" "${POLL_ARGS[@]}" -o jsonl ||
    { tail -5 "$TMP/err" >&2; die "llama-bench failed on $t"; }
  keep "$TMP/out" "{\"engine\":\"llama.cpp\",\"precision\":\"$t\",\"mode\":\"llama-bench\"}"
done

# mmserve: one server per precision; engine figures, then the serving points of its pair.
REPO=$OUT/llama-repo
rm -rf "$REPO"; mkdir -p "$REPO/tinyllama/1"
for x in "$MODEL"/*; do ln -s "$(realpath "$x")" "$REPO/tinyllama/1/"; done
MAX_STREAMS=$(tr ' ' '\n' <<< "$STREAMS" | sort -n | tail -1)
# KV cache (float32 in every precision): every stream's prompt + output at once, twice over.
cat > "$REPO/tinyllama/config.pbtxt" <<EOF
name: "tinyllama"
parameters { key: "kv_cache_mb" value: { string_value: "1536" } }
parameters { key: "max_running_sequences" value: { string_value: "$MAX_STREAMS" } }
parameters { key: "max_tokens_per_step" value: { string_value: "512" } }
EOF
pair_of() { for p in $SERVE_PAIRS; do [ "${p%%:*}" = "$1" ] && echo "${p#*:}"; done; return 0; }

for prec in $MMSERVE_PRECISIONS; do
  port=$(free_port)
  note "mmserve $prec: starting (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$MMSERVE_BIN" serve --model-repository "$REPO" --host 127.0.0.1 --port "$port" --threads "$THREADS" \
    --precision "$prec" > "$OUT/mmserve-$prec.log" 2>&1 &
  SERVER=$!
  wait_ready "http://127.0.0.1:$port/v2/models/tinyllama/ready" "$OUT/mmserve-$prec.log" "mmserve $prec"
  ran=$(grep -o '"precision":"[a-z0-9]*"' "$OUT/mmserve-$prec.log" | head -1 || true)
  note "mmserve $prec: loaded in $(grep -o '"load_ms":[0-9]*' "$OUT/mmserve-$prec.log" | head -1 | cut -d: -f2) ms"
  [ "$ran" = "\"precision\":\"$prec\"" ] || echo "run_llama_bench: WARNING: mmserve was asked for $prec and logged $ran" >&2
  url=http://127.0.0.1:$port
  tag="{\"engine\":\"mmserve\",\"precision\":\"$prec\"}"
  for n in $PROMPT_LENGTHS; do client "$url" mmserve "$tag" prompt --tokens "$n" --repeats "$PROMPT_REPEATS"; done
  client "$url" mmserve "$tag" decode --tokens "$TG_TOKENS" --repeats "$DECODE_REPEATS"
  if [ -n "$(pair_of "$prec")" ]; then
    for s in $STREAMS; do
      client "$url" mmserve "$tag" serve --streams "$s" --prompt-tokens "$SERVE_PROMPT" --gen-tokens "$SERVE_GEN" \
        --min-requests "$SERVE_MIN_REQUESTS"
    done
  fi
  stop_server
done

# llama-server: one server per type and stream count (-np slots, each with room for one request).
for pair in $SERVE_PAIRS; do
  t=${pair#*:}
  for s in $STREAMS; do
    port=$(free_port)
    note "llama-server $t -np $s: starting (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "$BIN/llama-server" -m "$(gguf "$t")" --host 127.0.0.1 --port "$port" -t "$THREADS" -tb "$THREADS" \
      -np "$s" -c $((s * (SERVE_PROMPT + SERVE_GEN + 64))) "${POLL_ARGS[@]}" > "$OUT/llama-server-$t-$s.log" 2>&1 &
    SERVER=$!
    wait_ready "http://127.0.0.1:$port/health" "$OUT/llama-server-$t-$s.log" "llama-server $t"
    client "http://127.0.0.1:$port" llamacpp "{\"engine\":\"llama.cpp\",\"precision\":\"$t\"}" serve --streams "$s" \
      --prompt-tokens "$SERVE_PROMPT" --gen-tokens "$SERVE_GEN" --min-requests "$SERVE_MIN_REQUESTS"
    stop_server
  done
done

note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are not comparable between runs)"
echo
$PY bench/format_llama_results.py "$RESULTS" --model "$MODEL" --pairs "$SERVE_PAIRS"
