#!/usr/bin/env bash
# Soak: mixed valid and hostile traffic against one mmserve for a set time (bench/soak.py),
# with the server's RSS sampled every 10 s. Prints the report's summary: requests by kind
# and status, valid requests that got no answer, RSS after warm-up, its maximum and at the
# end. A flat RSS after warm-up means no request kind leaks.
#
#   bench/soak.sh                      (15 minutes on the demo model)
#
# Knobs (env): SECONDS_TO_RUN=900 WARMUP=60 CLIENTS=8 MMSERVE_BIN=build/mmserve
#   REPO=model_repository PORT=18150 SERVE_ARGS="--cache-bytes 8388608" (extra `mmserve serve` options)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${SECONDS_TO_RUN:-900}
WARMUP=${WARMUP:-60}
CLIENTS=${CLIENTS:-8}
MMSERVE_BIN=${MMSERVE_BIN:-build/mmserve}
REPO=${REPO:-model_repository}
PORT=${PORT:-18150}
# The embedding cache is capped small so that it fills during warm-up: a bounded cache
# growing to its cap is not a leak, and would hide one.
SERVE_ARGS=${SERVE_ARGS:---cache-bytes 8388608}
OUT=bench/out
mkdir -p "$OUT"
[ -x "$MMSERVE_BIN" ] || { echo "soak: no server binary at $MMSERVE_BIN (scripts/build.sh)" >&2; exit 1; }

# shellcheck disable=SC2086
"$MMSERVE_BIN" serve --model-repository "$REPO" --host 127.0.0.1 --port "$PORT" --threads 2 \
  --header-timeout-secs 2 --log-level warning $SERVE_ARGS 2>"$OUT/soak-server.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break
  sleep 0.2
done
echo "== soak: $SECONDS_TO_RUN s, $CLIENTS clients, server pid $SERVER on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
/usr/bin/python3 bench/soak.py --port "$PORT" --pid "$SERVER" --seconds "$SECONDS_TO_RUN" --warmup "$WARMUP" \
  --clients "$CLIENTS" > "$OUT/soak-report.json"
kill -0 "$SERVER" || { echo "soak: the server died" >&2; exit 1; }
/usr/bin/python3 - "$OUT/soak-report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for kind, statuses in sorted(r["counts"].items()):
    print(f"  {kind:24s} {statuses}")
print(f"  valid requests with no answer: {r['unanswered_valid']}")
print(f"  RSS after warm-up {r['rss_kb_after_warmup']} kB, max after warm-up {r['rss_kb_max_after_warmup']} kB, "
      f"end {r['rss_kb_end']} kB")
PY
