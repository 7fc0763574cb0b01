#!/usr/bin/env bash
# Vision-language chat on the LLaVA-1.5 shape (random weights: cost depends on shape, not
# values): a ViT-L/14-336 tower + projector + a TinyLlama-1.1B-shaped language model by
# default (LANGUAGE=7b for the 7B one), 2 threads, one run:
#   mmserve, per precision, through its OpenAI chat API (bench/llava_bench_client.py):
#     first turn  = one 336 px image + a ~30-token question: time to first token, split into
#                   the image's part (fetch, decode, encode: the server's image_encode_ms)
#                   and the rest (prefill of the ~600 positions), then decode tokens/s;
#     second turn = the same image, the first answer and a new question (features cached,
#                   the first turn's prefill reused from the prefix cache).
#   llama.cpp (built from the pinned source): llama-llava-cli on the same LLaVA: the language
#     model as GGUF (F16 / Q8_0; random weights of the same shape), the vision tower and
#     projector as its "mmproj" GGUF written from our folder by bench/make_mmproj_gguf.py
#     (its own converter needs Python's transformers); its log's image encoding time +
#     prompt evaluation time is its time to first token (model loading excluded, as for
#     mmserve). It has no second turn (a command-line tool), so turn 2 is mmserve's alone.
#
#   bench/run_llava_bench.sh     (~15 min on 2 cores once the models exist; see bench/README.md)
#
# NEEDS ../shared/peers/llama.cpp (build.sh, convert.sh, the source) and
# ../shared/llama-reference/model/tokenizer.model (the GGUF converter's vocabulary), as
# bench/run_llama_bench.sh; Debian's python3-numpy, python3-torch, python3-sentencepiece.
#
# mmserve renders the original LLaVA conversation format (--chat-template
# tests/data/llava-reference/original_llava_chat.jinja), the one llama-llava-cli writes, so
# both sides prefill the same prompt.
#
# Knobs (env): MMSERVE_BIN=build/mmserve THREADS=2 LANGUAGE=tinyllama-1.1b PRECISIONS="bf16 int8"
#   GGUF_TYPES="F16 Q8_0" GEN=32 REPEATS=2 IMAGE=tests/data/clip-reference/images/astronaut.png
#   RESULTS=bench/out/llava_results.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
OUT=bench/out
PEERS=${PEERS:-../shared/peers}
TOKENIZER_MODEL=${TOKENIZER_MODEL:-../shared/llama-reference/model/tokenizer.model}
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
THREADS=${THREADS:-2}
LANGUAGE=${LANGUAGE:-tinyllama-1.1b}
PRECISIONS=${PRECISIONS:-"bf16 int8"}
GGUF_TYPES=${GGUF_TYPES:-"F16 Q8_0"}
GEN=${GEN:-32}
REPEATS=${REPEATS:-2}
IMAGE=${IMAGE:-tests/data/clip-reference/images/astronaut.png}
RESULTS=${RESULTS:-$OUT/llava_results.jsonl}
LLAMA_DIR=${LLAMA_DIR:-$PWD/$OUT/llama.cpp-build}
MODEL=$OUT/llava-$LANGUAGE-bf16
TEXT_MODEL=$OUT/llama-$LANGUAGE-bf16  # the language model's shape alone, for llama.cpp
export OMP_NUM_THREADS=$THREADS

die() { echo "run_llava_bench: $*" >&2; exit 1; }
note() { echo "== $*"; }
mkdir -p "$OUT"
[ -x "$PEERS/llama.cpp/build.sh" ] && [ -x "$PEERS/llama.cpp/convert.sh" ] ||
  die "needs llama.cpp's pinned source and scripts in $PEERS/llama.cpp (set PEERS)"
[ -x "$MMSERVE_BIN" ] || die "no mmserve binary at $MMSERVE_BIN"
[ -f "$IMAGE" ] || die "no image at $IMAGE"
$PY -c 'import numpy' 2>/dev/null || die "$PY cannot import numpy (apt-get install python3-numpy)"

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
trap 'stop_server; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

note "llama.cpp: building the pinned source into $LLAMA_DIR (once)"
BIN=$("$PEERS/llama.cpp/build.sh" "$LLAMA_DIR" | tail -1) || die "llama.cpp's build failed"

shape=$LANGUAGE
[ "$shape" = 7b ] && die "LANGUAGE=7b: tools/make_random_llama.py has no 7B shape for the llama.cpp side yet"
if [ ! -f "$MODEL/model.safetensors" ]; then
  note "checkpoint: writing a random LLaVA-1.5 ($LANGUAGE) bf16 checkpoint into $MODEL (once, minutes)"
  $PY tools/make_random_llava.py --out "$MODEL" --language "$LANGUAGE" --dtype bf16 --seed 0
fi
if [ ! -f "$TEXT_MODEL/model.safetensors" ]; then
  note "checkpoint: writing a random $shape LLaMA (bf16) for llama.cpp into $TEXT_MODEL (once)"
  $PY tools/make_random_llama.py --out "$TEXT_MODEL" --shape "$shape" --dtype bf16 --seed 0
fi
gguf() { echo "$OUT/$(basename "$TEXT_MODEL")-$1.gguf"; }
for t in $GGUF_TYPES; do
  f=$(gguf "$t")
  [ -f "$f" ] && continue
  if [ "$t" = F16 ] || [ "$t" = BF16 ]; then
    src=$OUT/gguf-src-$(basename "$TEXT_MODEL")
    rm -rf "$src"; mkdir -p "$src"
    for x in "$TEXT_MODEL"/*; do ln -s "$(realpath "$x")" "$src/"; done
    ln -sf "$(realpath "$TOKENIZER_MODEL")" "$src/tokenizer.model"
    note "GGUF: converting $TEXT_MODEL to $t (once)"
    "$PEERS/llama.cpp/convert.sh" "$src" "$f.tmp" "$(tr '[:upper:]' '[:lower:]' <<< "$t")" "$LLAMA_DIR" \
      > "$TMP/convert.log" 2>&1 || { tail -20 "$TMP/convert.log" >&2; die "convert.sh to $t failed"; }
  else
    [ -f "$(gguf F16)" ] || die "quantizing to $t needs the F16 GGUF first in GGUF_TYPES"
    note "GGUF: quantizing to $t (once)"
    "$BIN/llama-quantize" "$(gguf F16)" "$f.tmp" "$t" "$THREADS" > "$TMP/quantize.log" 2>&1 ||
      { tail -20 "$TMP/quantize.log" >&2; die "llama-quantize to $t failed"; }
  fi
  mv "$f.tmp" "$f"
done

ISA=$(grep -o -w 'avx2\|avx512f\|avx512_bf16\|avx512_vnni\|amx_tile\|amx_bf16\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')
note "machine: $(lscpu | sed -n 's/^Model name: *//p'); ISA: $ISA; $(nproc) CPUs, $THREADS threads per engine;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: compare within this run, as ratios)"
note "mmserve: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +dirty); model $MODEL" \
     "(ViT-L/14-336 + projector + $LANGUAGE, random bf16 weights); image $IMAGE; $GEN generated tokens; $REPEATS repeats + 1 warm-up"
: > "$RESULTS"

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for p in $PRECISIONS; do
  port=$(free_port)
  repo=$TMP/repo-$p
  mkdir -p "$repo/llava"
  ln -s "$(realpath "$MODEL")" "$repo/llava/1"
  note "mmserve $p: loading"
  "$MMSERVE_BIN" serve --model-repository "$repo" --host 127.0.0.1 --port "$port" --threads "$THREADS" \
    --precision "$p" --kv-cache-mb 512 --max-tokens-per-step 512 \
    --chat-template tests/data/llava-reference/original_llava_chat.jinja > "$TMP/server-$p.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1200); do
    kill -0 "$SERVER" 2>/dev/null || { tail -20 "$TMP/server-$p.log" >&2; die "mmserve exited while loading"; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/models/llava/ready" || true)" = 200 ] && break
    sleep 0.5
  done
  $PY bench/llava_bench_client.py --url "http://127.0.0.1:$port" --image "$IMAGE" --server-log "$TMP/server-$p.log" \
    --gen "$GEN" --repeats "$REPEATS" > "$TMP/mmserve-$p.jsonl" || die "the client failed against mmserve $p"
  $PY -c 'import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line); j.update({"engine": "mmserve", "precision": sys.argv[2]}); print(json.dumps(j))' \
    "$TMP/mmserve-$p.jsonl" "$p" | tee -a "$RESULTS"
  stop_server
done

# llama.cpp's own LLaVA path: llama-llava-cli with the language model's GGUF and the
# vision tower + projector as its "mmproj" GGUF (written from the same LLaVA folder by
# bench/make_mmproj_gguf.py, since llama.cpp's converter needs Python's transformers). Its
# log gives the image's encoding time, the prompt's evaluation time and the decode rate.
MMPROJ=$OUT/$(basename "$MODEL")-mmproj-f16.gguf
if [ ! -f "$MMPROJ" ] || [ "$MODEL/model.safetensors" -nt "$MMPROJ" ]; then
  note "GGUF: writing llama.cpp's mmproj file for the vision tower and projector ($MMPROJ, once)"
  $PY bench/make_mmproj_gguf.py --model "$MODEL" --gguf-py "$LLAMA_DIR/gguf-py" --out "$MMPROJ.tmp" ||
    die "make_mmproj_gguf.py failed"
  mv "$MMPROJ.tmp" "$MMPROJ"
fi
question=$($PY -c 'import sys; sys.path.insert(0, "bench"); import llava_bench_client as c; print(c.QUESTIONS[0])')
for t in $GGUF_TYPES; do
  for r in $(seq 0 "$REPEATS"); do  # run 0 warms the page cache up
    note "llama-llava-cli $t (run $r): the image + the question, $GEN tokens, -t $THREADS"
    "$BIN/llama-llava-cli" -m "$(gguf "$t")" --mmproj "$MMPROJ" --image "$IMAGE" -p "$question" -n "$GEN"       -t "$THREADS" --temp 0 -c 2048 --ignore-eos --log-file "$TMP/llava-cli.log" > "$TMP/llava-cli.out" 2>&1 ||
      { tail -5 "$TMP/llava-cli.out" >&2; die "llama-llava-cli failed"; }
    # The timings land partly in the log file, partly on the console (its logger's buffering).
    cat "$TMP/llava-cli.log" "$TMP/llava-cli.out" > "$TMP/llava-cli.all"
    $PY - "$TMP/llava-cli.all" "$t" "$r" <<'PYEOF' | tee -a "$RESULTS"
import json, re, sys
log = open(sys.argv[1], errors="replace").read()
encode = re.search(r"image encoded in\s+([\d.]+) ms", log)
prompt = re.search(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens", log)
decode = re.search(r"\beval time =\s+([\d.]+) ms /\s+(\d+) runs", log)
if not (encode and prompt and decode):
    sys.exit("llama-llava-cli's log lacks its timings")
e, p = float(encode.group(1)), float(prompt.group(1))
print(json.dumps({"engine": "llama.cpp", "precision": sys.argv[2], "warmup": sys.argv[3] == "0", "turn": 1,
                  "ttft_ms": round(e + p, 1), "image_encode_ms": e, "prefill_ms": p,
                  "prompt_tokens": int(prompt.group(2)),
                  "decode_tok_s": round(int(decode.group(2)) / float(decode.group(1)) * 1000, 2)}))
PYEOF
  done
done

$PY bench/format_llava_results.py "$RESULTS"
