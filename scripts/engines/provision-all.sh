#!/usr/bin/env bash
# Provisions every engine the stack tests use (or the ones named: elasticsearch otelcol
# mustache prometheus compose ruby mcp-registry). Idempotent and cached in .cache/engines/; re-run after
# `rm -rf .cache/engines/<engine>` (or the whole directory) to rebuild from scratch.
# Exits non-zero if any engine failed, after trying the others, so one run shows every problem.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(prometheus compose ruby mustache mcp-registry elasticsearch otelcol)

failed=()
summary=()
for engine in "${engines[@]}"; do
  script="$here/$engine.sh"
  [ -f "$script" ] || {
    echo "engines: unknown engine '$engine'" >&2
    failed+=("$engine")
    continue
  }
  start=$SECONDS
  if bash "$script"; then
    summary+=("$engine ok $((SECONDS - start))s")
  else
    summary+=("$engine FAILED $((SECONDS - start))s")
    failed+=("$engine")
  fi
done

echo "engines: summary: ${summary[*]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "engines: FAILED: ${failed[*]} (logs in .cache/engines/logs/)" >&2
  exit 1
fi
