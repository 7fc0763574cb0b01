#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the release build runs the whole
# suite (unit, golden and integration tests against the real server); a second build
# with AddressSanitizer and UndefinedBehaviorSanitizer runs the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== release build: all tests"
# The official openai npm client, for the test that runs it against the server (its lock file pins it).
(cd tests/integration/openai_client && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
# Hugging Face's tokenizers (npm binding), the reference for the tokenizer.json tests (tests/text/hf_reference).
(cd tests/text/hf_reference && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600

echo "== ASan + UBSan build: unit tests"
# Only the unit-test executables (and the tokenizer's reference tool): the server binaries
# and the integration tests, which run only in the release build, are not compiled again.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMS_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$(nproc)" --target base_tests engine_tests io_tests text_tests media_tests \
  models_tests template_tests generation_tests runtime_tests api_tests speech_tests hf_tokenize_cli
# oneDNN and OpenMP keep caches for the life of the process; leak checking would report them.
# (*_NOT_BUILT: the placeholders CMake registers for the executables not built here.)
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 900 -LE integration -E '_NOT_BUILT$'

echo "== fuzz smoke"
# Each parser's libFuzzer harness, built with clang into build-fuzz, replays its seed
# corpus and mutates it for a few seconds (fuzz/README.md).
fuzz/smoke.sh

echo "== ThreadSanitizer build: concurrency tests"
# Only the concurrent parts (batcher, breaker, in-process cache, rate limiter, generation
# engine) and their
# tests, as a project of their own (tests/tsan/): no oneDNN or OpenMP, whose runtime TSan
# misreads. halt_on_error makes the first race fail its test.
cmake -S tests/tsan -B build-tsan -G Ninja >/dev/null
cmake --build build-tsan -j "$(nproc)"
ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" --timeout 300
