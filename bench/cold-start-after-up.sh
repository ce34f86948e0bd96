#!/usr/bin/env bash
# The cold start a user sees first: `./dev.sh up`, one one-sentence job as soon as it says the stack
# is up, and the worker's cold-start line for it; N rounds (default 3), each a fresh stack.
# Usage: bench/cold-start-after-up.sh [N]   (from the repository root; ports as ./dev.sh uses them)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  ./dev.sh up >"$out" 2>&1 &
  up=$!
  for ((i = 0; i < 1200; i++)); do
    grep -q "stack is up" "$out" && break
    alive=$(kill -0 "$up" 2>/dev/null && echo yes || echo no)
    [[ $alive == yes ]] || { cat "$out" >&2; echo "./dev.sh up exited" >&2; exit 1; }
    sleep 0.1
  done
  # shellcheck disable=SC1091
  set -a; . .local/stack.env; set +a
  submit=$(curl -s -o /dev/null -w "%{http_code} in %{time_total} s" -X POST "$GATEWAY_URL/v1/jobs" \
    -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' \
    -d '{"model":"all-minilm-l6-v2","input":{"texts":["This is an example sentence"]}}')
  line=""
  for ((i = 0; i < 100; i++)); do
    line=$(grep -o "loaded in [0-9]* ms on [a-z]* (cold start; optimised-model cache: [A-Za-z]*)" .local/logs/worker.log || true)
    [[ -n $line ]] && break
    sleep 0.1
  done
  echo "round $r: submit $submit; ${line:-no cold-start line within 10 s}"
  kill -TERM "$up"
  wait "$up" || true
done
