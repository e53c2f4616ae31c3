#!/usr/bin/env bash
# Builds `mustache`, the Logstash config grammar checker from github.com/breml/logstash-config,
# into .cache/engines/mustache/mustache. Logstash itself cannot be installed here, so this is
# what proves the pipelines under pipelines/logstash parse.
# shellcheck source=scripts/engines/lib.sh
source "$(dirname "$0")/lib.sh"

MODULE_DIR="$ENGINES_ROOT/test/stack/engines/mustache" # go.mod/go.sum pin v0.5.3 and its deps
OUT="$ENGINES_CACHE/mustache"
BIN="$OUT/mustache"

use_go
FP="$(fingerprint "$(go env GOVERSION)" "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" "$0")"

# A valid pipeline must pass and a broken one must fail, or the binary is no use.
verify() {
  local dir
  dir="$(mktemp -d)"
  printf 'input { stdin { } }\nfilter { mutate { add_tag => ["ok"] } }\noutput { stdout { } }\n' >"$dir/ok.conf"
  printf 'input { stdin { }\n' >"$dir/bad.conf"
  local ok=0
  "$BIN" check "$dir/ok.conf" >/dev/null 2>&1 || ok=1
  "$BIN" check "$dir/bad.conf" >/dev/null 2>&1 && ok=1
  rm -rf "$dir"
  return "$ok"
}

if marker_matches "$OUT" "$FP" && [ -x "$BIN" ] && verify; then
  step "mustache: cached"
  exit 0
fi

step "mustache: (re)building github.com/breml/logstash-config/cmd/mustache"
rm -rf "$OUT"
mkdir -p "$OUT"
(cd "$MODULE_DIR" && run mustache-build go build -trimpath -o "$OUT/mustache.tmp" github.com/breml/logstash-config/cmd/mustache)
mv -f "$OUT/mustache.tmp" "$BIN"
verify || die "mustache: built, but it does not tell a valid pipeline from a broken one"
write_marker "$OUT" "{\"fingerprint\": \"$FP\", \"binary\": \"$BIN\", \"version\": \"v0.5.3\"}"
step "mustache: ready"
