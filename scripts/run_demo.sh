#!/usr/bin/env bash
# Installs what is missing, builds, and serves the bundled demo model on port 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/mmserve serve --model-repository model_repository --port "${PORT:-8080}" "$@"
