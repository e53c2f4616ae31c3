#!/usr/bin/env bash
# Compose checks that need no Docker daemon: Debian's docker-compose (`config -q` validates and
# interpolates the file client-side) and dclint (npm devDependency, installed by `npm ci`).
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

if ! docker-compose version >/dev/null 2>&1; then
  step "compose: apt-get install docker-compose"
  apt_install docker-compose
  docker-compose version >/dev/null 2>&1 || die "compose: docker-compose installed, but does not run"
fi

DCLINT="$ENGINES_ROOT/node_modules/.bin/dclint"
"$DCLINT" --version >/dev/null 2>&1 || die "compose: dclint missing; run: npm ci"

step "compose: ready (docker-compose $(docker-compose version --short 2>/dev/null), dclint $("$DCLINT" --version))"
