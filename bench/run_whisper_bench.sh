#!/usr/bin/env bash
# Whisper speech-to-text of mmserve beside whisper.cpp, in one run, on the whisper-tiny and
# whisper-base shapes (random weights: cost depends on shape, not values), 2 threads each:
#   1. single stream: real-time factor (processing seconds / audio seconds) of a 30 s and a
#      5 min recording: whisper.cpp's whisper-cli (its own timings: total minus model load)
#      vs one request to mmserve's POST /v1/audio/transcriptions (the request's wall time);
#   2. serving: audio seconds transcribed per wall second with 1, 4 and 16 concurrent
#      requests of 30 s each: whisper.cpp's whisper-server (one context behind a lock: it
#      serves one request at a time, as its users run it) vs mmserve's server;
#   3. a split of the 30 s request: decode ms per token and the rest per 30 s window
#      (mel, encoder, prompt pass, overheads): whisper.cpp's from its stage timings,
#      mmserve's from two requests differing only in tokens per window (MAX_TOKENS, SHORT_TOKENS).
# Ratios: mmserve RTF / whisper.cpp RTF (target <= 0.5) and mmserve throughput at 16 /
# whisper-server's at 16 (target >= 4).
#
#   bench/run_whisper_bench.sh                 (~10 min on 2 cores once whisper.cpp is built)
#   PEER_ONLY=1 bench/run_whisper_bench.sh     (whisper.cpp's side alone)
#
# Builds nothing of mmserve: it expects build/mmserve built by scripts/build.sh (or MMSERVE_BIN).
# NEEDS ../shared/peers/whisper.cpp (the pinned whisper.cpp v1.7.5-24 source, its build.sh,
# and whisper/assets/ for its converter) and ../shared/peers/openai-whisper (hf_to_openai.py);
# set PEERS where they live elsewhere. whisper.cpp is built from that source into
# bench/out/whisper.cpp-build (git-ignored; nothing of it is committed), once. Debian
# packages: python3-torch, python3-numpy, curl, cmake and a C++ compiler.
#
# Models: tools/make_random_whisper.py writes the Hugging Face folder (fp32, seed 0), which
# mmserve serves; hf_to_openai.py turns it into OpenAI's .pt and whisper.cpp's
# models/convert-pt-to-ggml.py into its ggml file: F16 matrices by default, as the ggml
# models whisper.cpp distributes (WCPP_TYPE=f32 for all-float32). mmserve runs each of
# PRECISIONS (--precision).
#
# EQUAL SETTINGS. Both sides: greedy (temperature 0, beam 1, best-of 1), no temperature
# fallback, no timestamps, language en given (no detection), no previous-text prompt,
# response_format json, THREADS threads, 16 kHz mono 16-bit WAV input.
#   whisper.cpp: whisper-cli -t 2 -l en -nt -nf -mc 0 -bs 1 -bo 1; whisper-server the same
#     flags plus -nc and the same per-request form fields (temperature=0, temperature_inc=0,
#     no_timestamps, no_context, max_context=0, beam_size=1, best_of=1).
#   mmserve: temperature=0 temperature_increment_on_fallback=0 without_timestamps=true
#     condition_on_previous_text=false language=en response_format=json
#     max_tokens_per_window=$MAX_TOKENS ignore_eot=true.
# whisper.cpp v1.7.5 can neither ignore end-of-text nor cap tokens per window: whisper_full
# decodes until end-of-text or n_text_ctx/2 - 4 = 220 sampled tokens per window
# (whisper_full_params.max_tokens exists but neither whisper-cli nor whisper-server sets it;
# whisper-cli's --suppress-regex could suppress "[_EOT_]" but whisper-server has no such
# option and the regex runs over the whole vocabulary at every step, which would slow it).
# With these random weights greedy decoding never picks end-of-text, so whisper.cpp decodes
# its maximum, 220 tokens per window; mmserve is asked for the same, MAX_TOKENS=220, with
# end-of-text ignored so its count cannot depend on the values either. The tokens each side
# decoded are printed (whisper.cpp's from its timings: one per decode run plus the first of
# each window; mmserve's where its answer reports them), with decode ms per token and the
# per-window rest, so a count that differs still compares fairly. Source not patched.
#
# Knobs (env): MMSERVE_BIN=build/mmserve THREADS=2 SHAPES="tiny base" PRECISIONS=bf16
#   WCPP_TYPE=f16 DURATIONS="30 300" STREAMS="1 4 16" MAX_TOKENS=220 SHORT_TOKENS=55
#   REPEATS=1 SERVE_AUDIO=30 SERVE_MIN_REQUESTS=4 PEER_ONLY=0 MMSERVE_MODEL_PARAMS=
#   ("key=value ..." parameters for the model's config.pbtxt) RESULTS=bench/out/whisper_results.jsonl
#   WHISPER_DIR=bench/out/whisper.cpp-build
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # Debian's, with python3-torch; another python3 may be first on PATH
OUT=bench/out
PEERS=${PEERS:-../shared/peers}
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"tiny base"}
PRECISIONS=${PRECISIONS:-bf16}
WCPP_TYPE=${WCPP_TYPE:-f16}
DURATIONS=${DURATIONS:-"30 300"}
STREAMS=${STREAMS:-"1 4 16"}
MAX_TOKENS=${MAX_TOKENS:-220}
SHORT_TOKENS=${SHORT_TOKENS:-55}
REPEATS=${REPEATS:-1}
SERVE_AUDIO=${SERVE_AUDIO:-30}
SERVE_MIN_REQUESTS=${SERVE_MIN_REQUESTS:-4}
PEER_ONLY=${PEER_ONLY:-0}
MMSERVE_MODEL_PARAMS=${MMSERVE_MODEL_PARAMS:-}
RESULTS=${RESULTS:-$OUT/whisper_results.jsonl}
WHISPER_DIR=${WHISPER_DIR:-$PWD/$OUT/whisper.cpp-build}
export OMP_NUM_THREADS=$THREADS

die() { echo "run_whisper_bench: $*" >&2; exit 1; }
note() { echo "== $*"; }
mkdir -p "$OUT"

# ---- prerequisites, checked before any timing ---------------------------------------------
if [ ! -x "$PEERS/whisper.cpp/build.sh" ] || [ ! -f "$PEERS/openai-whisper/hf_to_openai.py" ]; then
  die "this benchmark needs whisper.cpp's pinned source and build.sh in $PEERS/whisper.cpp and" \
      "$PEERS/openai-whisper/hf_to_openai.py: the folder ../shared/peers beside this checkout. It is not" \
      "here, so there is nothing to compare with; set PEERS=/path/to/peers if it lives elsewhere."
fi
[ -d "$PEERS/whisper.cpp/whisper/assets" ] || die "no $PEERS/whisper.cpp/whisper/assets (whisper.cpp's converter reads it)"
if [ "$PEER_ONLY" != 1 ]; then
  [ -x "$MMSERVE_BIN" ] || die "no mmserve binary at $MMSERVE_BIN: scripts/build.sh (or set MMSERVE_BIN; PEER_ONLY=1 for whisper.cpp alone)"
fi
$PY -c 'import numpy, torch' 2>/dev/null || die "$PY cannot import numpy and torch (apt-get install python3-numpy python3-torch)"
command -v curl >/dev/null || die "curl is needed to wait for the servers"
case $WCPP_TYPE in f16|f32) ;; *) die "WCPP_TYPE must be f16 or f32" ;; esac

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

note "whisper.cpp: building the pinned source with $PEERS/whisper.cpp/build.sh into $WHISPER_DIR (once)"
BIN=$(nice -n 10 "$PEERS/whisper.cpp/build.sh" "$WHISPER_DIR" | tail -1) || die "whisper.cpp's build failed (see the lines above)"
for b in whisper-cli whisper-server; do [ -x "$BIN/$b" ] || die "no $b in $BIN after the build"; done

# ---- models and audio (once) ---------------------------------------------------------------
hf_dir() { echo "$OUT/whisper-$1-random"; }
ggml_of() { echo "$OUT/whisper-$1-random-ggml-$WCPP_TYPE.bin"; }
for s in $SHAPES; do
  hf=$(hf_dir "$s")
  if [ ! -f "$hf/model.safetensors" ]; then
    note "checkpoint: writing a random whisper-$s-shaped fp32 checkpoint into $hf (once)"
    $PY tools/make_random_whisper.py --out "$hf" --shape "$s" --seed 0
  fi
  g=$(ggml_of "$s")
  if [ -f "$g" ] && [ "$g" -nt "$hf/model.safetensors" ]; then continue; fi
  note "ggml: converting $hf to whisper.cpp's format ($WCPP_TYPE, $g, once)"
  $PY "$PEERS/openai-whisper/hf_to_openai.py" "$hf" "$TMP/model.pt" > "$TMP/convert.log" 2>&1 ||
    { tail -20 "$TMP/convert.log" >&2; die "hf_to_openai.py failed on $hf"; }
  extra=()
  if [ "$WCPP_TYPE" = f16 ]; then
    # The converter writes 2-D tensors as F16 without converting them: give it a float16 .pt.
    $PY bench/whisper_bench_prep.py half "$TMP/model.pt" "$TMP/model.pt" || die "cannot halve $TMP/model.pt"
  else
    extra=(use-f32)  # any 4th argument: everything float32
  fi
  rm -rf "$TMP/ggml"; mkdir -p "$TMP/ggml"
  $PY "$WHISPER_DIR/models/convert-pt-to-ggml.py" "$TMP/model.pt" "$PEERS/whisper.cpp" "$TMP/ggml" "${extra[@]}" \
    > "$TMP/convert.log" 2>&1 || { tail -20 "$TMP/convert.log" >&2; die "convert-pt-to-ggml.py failed on $hf"; }
  mv "$TMP/ggml/ggml-model.bin" "$g"
  rm -f "$TMP/model.pt"
done
audio_of() { echo "$OUT/whisper-${1}s.wav"; }
for d in $DURATIONS $SERVE_AUDIO; do
  [ -f "$(audio_of "$d")" ] || $PY bench/whisper_bench_prep.py audio "$(audio_of "$d")" "$d" || die "cannot write $(audio_of "$d")"
done

# ---- what ran where ------------------------------------------------------------------------
ISA=$(grep -o -w 'avx2\|avx512f\|avx512_bf16\|avx512_vnni\|avx_vnni\|amx_tile\|amx_bf16\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')
note "machine: $(lscpu | sed -n 's/^Model name: *//p'); ISA: ${ISA}(avx512_bf16: $([[ $ISA == *avx512_bf16* ]] && echo yes || echo no)," \
     "AMX: $([[ $ISA == *amx_tile* ]] && echo yes || echo no)); $(nproc) CPUs usable, $THREADS threads per engine;" \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
note "SHARED MACHINE: other people's builds and tests run beside this benchmark; load average now" \
     "$(cut -d' ' -f1-3 /proc/loadavg). Every figure is one small sample on a noisy machine: compare within this run, as ratios."
if [ "$PEER_ONLY" != 1 ]; then
  note "mmserve: $MMSERVE_BIN, git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src CMakeLists.txt || echo +dirty)," \
       "oneDNN $(dpkg-query -W -f='${Version}' libdnnl2 2>/dev/null || echo '?'), $(c++ --version | head -1); precisions: $PRECISIONS"
fi
note "whisper.cpp: $(basename "$(ls "$PEERS"/whisper.cpp/whisper.cpp-*.tar.* 2>/dev/null | head -1)") built with GGML_NATIVE=ON in $BIN;" \
     "ggml weights $WCPP_TYPE"
note "models: $(for s in $SHAPES; do echo -n "$(hf_dir "$s") (+ $(ggml_of "$s")) "; done)(random weights, seed 0)"
note "settings: greedy, no fallback, no timestamps, language en, no previous-text prompt; $MAX_TOKENS tokens per 30 s window" \
     "(whisper.cpp: its maximum, never end-of-text with these weights; mmserve: max_tokens_per_window=$MAX_TOKENS ignore_eot=true);" \
     "single-stream audio ${DURATIONS// / s, } s x $REPEATS; serving ${SERVE_AUDIO} s requests at ${STREAMS// /, } concurrent," \
     ">= $SERVE_MIN_REQUESTS requests per point. whisper.cpp RTF = its timings' total minus load; mmserve RTF = request wall time."
: > "$RESULTS"

# ---- measurement ---------------------------------------------------------------------------
# keep FILE TAG: appends the JSON lines of FILE to $RESULTS, tagged with TAG's fields, and shows them.
keep() {
  grep -q '^{' "$1" || die "no JSON line in $1"
  grep '^{' "$1" | $PY -c 'import json, sys
tag = json.loads(sys.argv[1])
for line in sys.stdin:
    j = json.loads(line); j.update(tag); print(json.dumps(j))' "$2" | tee -a "$RESULTS" | sed 's/^/   /'
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
wait_ready() {  # URL LOG WHAT: up to 5 minutes
  for _ in $(seq 600); do
    if ! kill -0 "$SERVER" 2>/dev/null; then tail -20 "$2" >&2; die "$3 exited while starting (log above)"; fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.5
  done
  tail -20 "$2" >&2
  die "$3 was not ready within 5 minutes"
}
# mmclient LOG URL TAG REPEATS CLIENT-ARGS...: a single-stream mmserve measurement, its
# record merged with the stage timings mmserve logged for those requests (when it logs them).
mmclient() {
  local log=$1 url=$2 tag=$3 n=$4
  shift 4
  run_child "$TMP/out" "$TMP/err" $PY bench/whisper_bench_client.py --url "$url" --api mmserve "$@" ||
    { tail -5 "$TMP/err" >&2; die "client failed (mmserve $tag $*)"; }
  sleep 0.3  # the server writes its request line after answering
  fields=$($PY bench/whisper_bench_format.py parse-mmserve-log "$log" "$n")
  keep "$TMP/out" "$($PY -c 'import json, sys; a = json.loads(sys.argv[1]); a.update(json.loads(sys.argv[2])); print(json.dumps(a))' "$tag" "$fields")"
}
client() {  # URL API TAG CLIENT-ARGS...
  local url=$1 api=$2 tag=$3
  shift 3
  run_child "$TMP/out" "$TMP/err" $PY bench/whisper_bench_client.py --url "$url" --api "$api" "$@" ||
    { tail -5 "$TMP/err" >&2; die "client failed ($api $tag $*)"; }
  keep "$TMP/out" "$tag"
}
requests_for() { local n=$1; [ "$n" -ge "$SERVE_MIN_REQUESTS" ] && echo "$n" || echo "$SERVE_MIN_REQUESTS"; }
WCPP_FLAGS=(-t "$THREADS" -l en -nt -nf -mc 0 -bs 1 -bo 1)

for s in $SHAPES; do
  g=$(ggml_of "$s")
  wtag="{\"engine\":\"whisper.cpp\",\"shape\":\"$s\",\"precision\":\"$WCPP_TYPE\"}"

  # whisper-cli: a fresh process per run; its timings exclude the model load.
  for d in $DURATIONS; do
    for r in $(seq "$REPEATS"); do
      note "whisper-cli $s: ${d} s audio, run $r/$REPEATS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      t0=$(date +%s%N)
      run_child "$TMP/cli.out" "$TMP/cli.err" "$BIN/whisper-cli" -m "$g" -f "$(audio_of "$d")" "${WCPP_FLAGS[@]}" ||
        { tail -5 "$TMP/cli.err" >&2; die "whisper-cli failed on $s ${d} s"; }
      wall=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
      $PY bench/whisper_bench_format.py parse-cli "$TMP/cli.err" "$d" "$wall" > "$TMP/out"
      keep "$TMP/out" "$wtag"
    done
  done

  # whisper-server: one context behind a lock, so one server serves every stream count.
  port=$(free_port)
  note "whisper-server $s: starting (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BIN/whisper-server" -m "$g" "${WCPP_FLAGS[@]}" -p 1 -nc --host 127.0.0.1 --port "$port" > "$OUT/whisper-server-$s.log" 2>&1 &
  SERVER=$!
  wait_ready "http://127.0.0.1:$port/health" "$OUT/whisper-server-$s.log" "whisper-server"
  warm=1
  for n in $STREAMS; do
    note "whisper-server $s: $n concurrent x $(requests_for "$n") requests of ${SERVE_AUDIO} s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    client "http://127.0.0.1:$port" whispercpp "$wtag" --audio "$(audio_of "$SERVE_AUDIO")" --warmup "$warm" \
      serve --streams "$n" --requests "$(requests_for "$n")"
    warm=0
  done
  stop_server

  [ "$PEER_ONLY" = 1 ] && continue

  # mmserve: one server per precision, the checkpoint folder linked into a model repository.
  REPO=$OUT/whisper-repo-$s
  rm -rf "$REPO"; mkdir -p "$REPO/whisper/1"
  for x in "$(hf_dir "$s")"/*; do ln -s "$(realpath "$x")" "$REPO/whisper/1/"; done
  {
    echo 'name: "whisper"'
    for kv in $MMSERVE_MODEL_PARAMS; do
      echo "parameters { key: \"${kv%%=*}\" value: { string_value: \"${kv#*=}\" } }"
    done
  } > "$REPO/whisper/config.pbtxt"
  for prec in $PRECISIONS; do
    port=$(free_port)
    note "mmserve $s $prec: starting (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    mlog=$OUT/mmserve-whisper-$s-$prec.log
    "$MMSERVE_BIN" serve --model-repository "$REPO" --host 127.0.0.1 --port "$port" --threads "$THREADS" \
      --precision "$prec" > "$mlog" 2>&1 &
    SERVER=$!
    wait_ready "http://127.0.0.1:$port/v2/models/whisper/ready" "$mlog" "mmserve $s $prec"
    url=http://127.0.0.1:$port
    mtag="{\"engine\":\"mmserve\",\"shape\":\"$s\",\"precision\":\"$prec\"}"
    warm=1
    for d in $DURATIONS; do
      note "mmserve $s $prec: ${d} s audio, 1 request x $REPEATS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      mmclient "$mlog" "$url" "$mtag" "$REPEATS" --audio "$(audio_of "$d")" --max-tokens "$MAX_TOKENS" --warmup "$warm" \
        single --repeats "$REPEATS"
      warm=0
    done
    d0=$(tr ' ' '\n' <<< "$DURATIONS" | sort -n | head -1)
    if [ "$SHORT_TOKENS" != "$MAX_TOKENS" ]; then
      note "mmserve $s $prec: ${d0} s audio with $SHORT_TOKENS tokens per window (the decode/encode split)"
      mmclient "$mlog" "$url" "$mtag" "$REPEATS" --audio "$(audio_of "$d0")" --max-tokens "$SHORT_TOKENS" --warmup 0 \
        single --repeats "$REPEATS"
    fi
    for n in $STREAMS; do
      note "mmserve $s $prec: $n concurrent x $(requests_for "$n") requests of ${SERVE_AUDIO} s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      client "$url" mmserve "$mtag" --audio "$(audio_of "$SERVE_AUDIO")" --max-tokens "$MAX_TOKENS" --warmup 0 \
        serve --streams "$n" --requests "$(requests_for "$n")"
    done
    stop_server
  done
done

note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are not comparable between runs)"
echo
$PY bench/whisper_bench_format.py table "$RESULTS" --max-tokens "$MAX_TOKENS" --short-tokens "$SHORT_TOKENS"
