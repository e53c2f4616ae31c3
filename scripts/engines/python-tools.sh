#!/usr/bin/env bash
# The Python tools of the stack tests, from PyPI, in a venv in the engines cache (never in the
# clone): pySigma + its Elasticsearch backend (test/stack/sigma-rules.test.ts converts the kit's
# Sigma rules with them) and ocsf-json-schema + jsonschema (test/stack/ocsf.test.ts validates the
# OCSF variant's events). Versions are pinned in python-tools/requirements.txt, dependencies
# included, installed with --no-deps and checked with `pip check`; pip's download cache lives in
# the engines cache too, so a warm run makes no network request at all.
#   .cache/engines/python-tools/venv/   the venv (bin/python)
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

REQS="$ENGINES_ROOT/scripts/engines/python-tools/requirements.txt"
VERIFY="$ENGINES_ROOT/scripts/engines/python-tools/verify.py"
OUT="$ENGINES_CACHE/python-tools"
VENV="$OUT/venv"
export PIP_CACHE_DIR="$ENGINES_CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's interpreter first (what a fresh CI machine has), then whatever python3 is on PATH.
PYTHON=""
for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    PYTHON="$candidate"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  step "python-tools: apt-get install python3"
  apt_install python3 python3-venv
  PYTHON=/usr/bin/python3
fi
PY_VERSION="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
FP="$(fingerprint "$PYTHON" "$PY_VERSION" "$REQS" "$VERIFY" "$0")"

verify() {
  "$VENV/bin/python" -m pip check >/dev/null 2>&1 && "$VENV/bin/python" "$VERIFY"
}

if marker_matches "$OUT" "$FP" && [ -x "$VENV/bin/python" ] && verify; then
  step "python-tools: cached (Python $PY_VERSION)"
  exit 0
fi

step "python-tools: (re)creating the venv with Python $PY_VERSION (log: $ENGINES_CACHE/logs/python-tools.log)"
rm -rf "$OUT"
mkdir -p "$OUT"
if ! "$PYTHON" -m venv "$VENV" >"$ENGINES_CACHE/logs/python-tools-venv.log" 2>&1; then
  # Debian splits ensurepip into python3-venv.
  step "python-tools: apt-get install python3-venv"
  apt_install python3-venv
  rm -rf "$VENV"
  run python-tools-venv "$PYTHON" -m venv "$VENV"
fi
run python-tools "$VENV/bin/python" -m pip install --no-deps --only-binary=:all: -r "$REQS"
verify || die "python-tools: installed, but pip check or the conversion/validation probe failed (run $VENV/bin/python $VERIFY)"
chmod -R a+rX "$OUT"
write_marker "$OUT" "{\"fingerprint\": \"$FP\", \"python\": \"$VENV/bin/python\", \"pythonVersion\": \"$PY_VERSION\"}"
step "python-tools: ready (Python $PY_VERSION; $VENV)"
