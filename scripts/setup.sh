#!/usr/bin/env bash
# Installs every Debian package mmserve needs to build, test and benchmark.
# Safe to run again; it only installs what is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl openssl
  # matrix products (oneDNN's CMake package needs the OpenCL headers at configure time)
  libdnnl-dev opencl-c-headers opencl-clhpp-headers ocl-icd-opencl-dev
  # HTTP and JSON: the server on Boost.Beast (header-only), httplib as the client of
  # `mmserve pull`, the load generator and the tests
  libboost-dev libcpp-httplib-dev nlohmann-json3-dev libssl-dev
  # image decoders
  libturbojpeg0-dev libspng-dev libpng-dev libwebp-dev libgif-dev
  # audio decoders and the resampler (FFmpeg's libraries; the speech family's uploads)
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  # zlib: transcripts' compression ratio (temperature fallback)
  zlib1g-dev
  # Unicode for the tokenizers; PCRE2 runs tokenizer.json's pre-tokenizer regexes
  libutf8proc-dev libpcre2-dev
  # metrics: the client library, and the Prometheus server the metrics test scrapes with
  prometheus-cpp-dev prometheus
  # the Redis cache level: the client library, and the server the cache tests run
  libhiredis-dev redis-server
  # the scale-out test puts nginx in front of several replicas
  nginx
  # tests
  libgtest-dev libgmock-dev
  # the libFuzzer harnesses (fuzz/): clang-14 and its fuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # the deployment files' test (tests/deploy/validate_manifests.py)
  python3-yaml yamllint
  # the chat-template test renders the same templates with Jinja itself (tests/template)
  python3-jinja2
  # constrained JSON decoding's test validates generated documents with jsonschema (tests/generation)
  python3-jsonschema
  # the LLaMA family's tiny-checkpoint tests compare with a float64 numpy forward (tests/models)
  python3-numpy
)
# Peers for the benchmarks only (bench/): PyTorch and numpy from Debian, with OpenBLAS
# so that PyTorch's fp32 matrix products do not fall back to the reference BLAS; onnx to
# export the towers for ONNX Runtime (whose npm package bench/ort installs on first use,
# with the Node.js and npm below); FastAPI, uvicorn, multipart forms and PIL for the
# reference server of bench/serving_bench.sh.
if [ "${MMSERVE_WITH_BENCH:-0}" = 1 ]; then
  PACKAGES+=(python3-torch python3-numpy libopenblas0-openmp python3-onnx
             python3-fastapi python3-uvicorn python3-multipart python3-pil
             python3-sentencepiece python3-tqdm)  # the last two: llama.cpp's GGUF converter (bench/run_llama_bench.sh)
fi
# Node.js and npm run the tests of the OpenAI client and the ONNX Runtime peer. A machine may
# already have a Node.js from elsewhere that bundles npm and conflicts with Debian's npm
# package: use it then.
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all packages present"
