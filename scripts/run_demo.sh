#!/usr/bin/env bash
# Installs what is missing, builds, and serves a bundled demo model on port 8080:
#   bash scripts/run_demo.sh            the tiny CLIP (embeddings, /predict)
#   DEMO=llama bash scripts/run_demo.sh the tiny LLaMA (completions, chat, streaming)
#   DEMO=llava bash scripts/run_demo.sh the tiny LLaVA-1.5 (chat about images)
#   DEMO=whisper bash scripts/run_demo.sh the tiny Whisper (transcriptions, translations)
# All have random weights: their answers are deterministic but meaningless.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
repository=model_repository
demo=${DEMO:-clip}
if [ "$demo" = llama ] || [ "$demo" = llava ] || [ "$demo" = whisper ]; then
  # A repository folder of links to the reference model that the tests use.
  repository=build/demo_${demo}_repository
  rm -rf "$repository" && mkdir -p "$repository/$demo/1"
  for f in "$PWD/tests/data/$demo-reference/model"/*; do ln -s "$f" "$repository/$demo/1/"; done
elif [ "$demo" != clip ]; then
  echo "DEMO must be clip, llama, llava or whisper" >&2
  exit 2
fi
exec build/mmserve serve --model-repository "$repository" --port "${PORT:-8080}" "$@"
