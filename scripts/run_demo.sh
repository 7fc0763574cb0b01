#!/usr/bin/env bash
# Installs what is missing, builds, and serves a bundled demo model on port 8080:
#   bash scripts/run_demo.sh            the tiny CLIP (embeddings, /predict)
#   DEMO=llama bash scripts/run_demo.sh the tiny LLaMA (completions, chat, streaming)
# Both have random weights: their answers are deterministic but meaningless.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
repository=model_repository
if [ "${DEMO:-clip}" = llama ]; then
  # A repository folder of links to the reference LLaMA that the tests use.
  repository=build/demo_llama_repository
  rm -rf "$repository" && mkdir -p "$repository/llama/1"
  for f in "$PWD"/tests/data/llama-reference/model/*; do ln -s "$f" "$repository/llama/1/"; done
elif [ "${DEMO:-clip}" != clip ]; then
  echo "DEMO must be clip or llama" >&2
  exit 2
fi
exec build/mmserve serve --model-repository "$repository" --port "${PORT:-8080}" "$@"
